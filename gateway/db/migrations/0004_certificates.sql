CREATE TABLE "certificate_revocations" (
	"id" text PRIMARY KEY NOT NULL,
	"department_code" text NOT NULL,
	"certificate_type" text NOT NULL,
	"certificate_number" text NOT NULL,
	"reason" text NOT NULL,
	"reported_by" text NOT NULL,
	"materials_revoked" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "certificates" (
	"material_id" text PRIMARY KEY NOT NULL,
	"subject_id" text NOT NULL,
	"certificate_type" text NOT NULL,
	"certificate_number" text NOT NULL,
	"department_code" text NOT NULL,
	"contract_resource" text,
	"contract_version" text,
	"metadata" jsonb NOT NULL,
	"fetched_at" timestamp with time zone NOT NULL,
	"checked_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "material_types" ADD COLUMN "fresh_for_seconds" integer;--> statement-breakpoint
ALTER TABLE "material_types" ADD COLUMN "stale_grace_seconds" integer;--> statement-breakpoint
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_material_id_materials_id_fk" FOREIGN KEY ("material_id") REFERENCES "public"."materials"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "certificate_revocations_number_idx" ON "certificate_revocations" USING btree ("department_code","certificate_type","certificate_number");--> statement-breakpoint
CREATE INDEX "certificate_revocations_time_idx" ON "certificate_revocations" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "certificates_subject_type_idx" ON "certificates" USING btree ("subject_id","certificate_type","checked_at");--> statement-breakpoint
CREATE INDEX "certificates_number_idx" ON "certificates" USING btree ("department_code","certificate_type","certificate_number");--> statement-breakpoint
-- Freshness of the certificate types the seed catalogue already holds (new databases get the same values from the seed).
UPDATE "material_types" SET "fresh_for_seconds" = 604800, "stale_grace_seconds" = 7776000 WHERE "code" = 'resident_id_card' AND "fresh_for_seconds" IS NULL;--> statement-breakpoint
UPDATE "material_types" SET "fresh_for_seconds" = 2592000, "stale_grace_seconds" = 7776000 WHERE "code" = 'household_register' AND "fresh_for_seconds" IS NULL;--> statement-breakpoint
UPDATE "material_types" SET "fresh_for_seconds" = 86400, "stale_grace_seconds" = 2592000 WHERE "code" = 'business_licence' AND "fresh_for_seconds" IS NULL;--> statement-breakpoint
UPDATE "material_types" SET "fresh_for_seconds" = 86400 WHERE "code" = 'real_estate_certificate' AND "fresh_for_seconds" IS NULL;
