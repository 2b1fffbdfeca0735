ALTER TABLE "contract_versions" ALTER COLUMN "document" DROP NOT NULL;--> statement-breakpoint
-- A document equal to its JSON source is stored once, in source_text.
UPDATE "contract_versions" SET "document" = NULL WHERE "source_format" = 'json' AND "document" = "source_text";
