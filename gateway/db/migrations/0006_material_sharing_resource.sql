ALTER TABLE "materials" ADD COLUMN "sharing_resource" text;--> statement-breakpoint
-- Materials fetched before this column existed are governed by the contract they were fetched under.
UPDATE "materials" SET "sharing_resource" = "certificates"."contract_resource" FROM "certificates" WHERE "certificates"."material_id" = "materials"."id";
