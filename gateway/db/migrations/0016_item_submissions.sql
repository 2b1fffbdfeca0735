ALTER TABLE "items" ADD COLUMN "submissions" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- The seeded items name the submission type of each department (issue 17): the mortgage cancellation goes to NRB as a mortgage cancellation, no longer as a transfer.
UPDATE "items" SET "submissions" = '{"AMR":"enterprise_establishment"}'::jsonb WHERE "code" = 'enterprise_establishment';--> statement-breakpoint
UPDATE "items" SET "submissions" = '{"NRB":"transfer_registration","PSB":"household_move_in"}'::jsonb WHERE "code" = 'real_estate_transfer';--> statement-breakpoint
UPDATE "items" SET "submissions" = '{"PSB":"household_move_in"}'::jsonb WHERE "code" = 'household_move_in';--> statement-breakpoint
UPDATE "items" SET "submissions" = '{"AMR":"business_licence_reissue"}'::jsonb WHERE "code" = 'business_licence_reissue';--> statement-breakpoint
UPDATE "items" SET "submissions" = '{"NRB":"mortgage_cancellation"}'::jsonb WHERE "code" = 'real_estate_mortgage_cancellation';--> statement-breakpoint
-- Its form asks for the mortgagee and the reason instead of a transfer reason, unless an administrator changed it.
UPDATE "items" SET "form_schema" = '{"type":"object","required":["certificateNo"],"additionalProperties":true,"properties":{"certificateNo":{"type":"string","minLength":4,"maxLength":64},"mortgagee":{"type":"string","minLength":1,"maxLength":200},"cancellationReason":{"type":"string","enum":["debt_repaid","mortgagee_waiver","realised","other"]}}}'::jsonb WHERE "code" = 'real_estate_mortgage_cancellation' AND "form_schema" = '{"type":"object","required":["certificateNo"],"additionalProperties":true,"properties":{"certificateNo":{"type":"string","minLength":4,"maxLength":64},"transferReason":{"type":"string","maxLength":40}}}'::jsonb;
