ALTER TABLE "item_materials" ADD COLUMN "form_reference" text;--> statement-breakpoint
ALTER TABLE "item_materials" ADD COLUMN "blocking_restrictions" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
-- The seeded transfer binds its title requirement to the form's certificate number and refuses a seized, objected or pre-noticed flat (issue 17).
UPDATE "item_materials" SET "form_reference" = 'certificateNo', "blocking_restrictions" = '{seizure,objection,pre_notice}'::text[] WHERE "item_code" = 'real_estate_transfer' AND "requirement_code" = 'title';--> statement-breakpoint
UPDATE "item_materials" SET "form_reference" = 'certificateNo' WHERE "item_code" IN ('real_estate_mortgage_cancellation', 'household_move_in') AND 'real_estate_certificate' = ANY("accepted_types");
