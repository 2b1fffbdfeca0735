CREATE TABLE "data_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"purpose" text NOT NULL,
	"algorithm" text NOT NULL,
	"kek_id" text NOT NULL,
	"wrap_algorithm" text NOT NULL,
	"wrapped_key" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "subjects_identifier_key";--> statement-breakpoint
ALTER TABLE "subjects" ADD COLUMN "identifier_lookup" text;--> statement-breakpoint
UPDATE "subjects" SET "identifier_lookup" = "identifier";--> statement-breakpoint
ALTER TABLE "subjects" ALTER COLUMN "identifier_lookup" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "data_keys_one_active" ON "data_keys" USING btree ("purpose","algorithm") WHERE "data_keys"."active";--> statement-breakpoint
CREATE UNIQUE INDEX "data_keys_one_index" ON "data_keys" USING btree ("purpose") WHERE "data_keys"."purpose" = 'index';--> statement-breakpoint
CREATE UNIQUE INDEX "subjects_identifier_lookup_key" ON "subjects" USING btree ("identifier_type","identifier_lookup");