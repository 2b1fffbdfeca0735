ALTER TABLE "signing_keys" ADD COLUMN "sealed_private_key" text;--> statement-breakpoint
-- Keys from before sealing lose their clear private half below and can no longer sign: retire them.
UPDATE "signing_keys" SET "retired_at" = now(), "publish_until" = now() WHERE "retired_at" IS NULL;--> statement-breakpoint
ALTER TABLE "signing_keys" DROP COLUMN "private_jwk";
