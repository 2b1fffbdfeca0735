ALTER TABLE "materials" ADD COLUMN "seal_signature" text;--> statement-breakpoint
ALTER TABLE "materials" ADD COLUMN "department_seal_signature" text;