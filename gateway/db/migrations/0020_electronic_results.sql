ALTER TABLE "case_results" ADD COLUMN "material_id" text;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "result_certificate" jsonb;--> statement-breakpoint
ALTER TABLE "case_results" ADD CONSTRAINT "case_results_material_id_materials_id_fk" FOREIGN KEY ("material_id") REFERENCES "public"."materials"("id") ON DELETE no action ON UPDATE no action;