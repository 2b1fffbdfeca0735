CREATE TABLE "case_parties" (
	"case_id" text NOT NULL,
	"role" text NOT NULL,
	"subject_id" text NOT NULL,
	CONSTRAINT "case_parties_case_id_role_pk" PRIMARY KEY("case_id","role")
);
--> statement-breakpoint
ALTER TABLE "item_materials" ADD COLUMN "party" text DEFAULT 'applicant' NOT NULL;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "parties" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "case_parties" ADD CONSTRAINT "case_parties_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "case_parties" ADD CONSTRAINT "case_parties_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "case_parties_subject_idx" ON "case_parties" USING btree ("subject_id");--> statement-breakpoint
-- The seeded transfer names its buyer and an agent as parties, with their own requirements (issue 17).
UPDATE "items" SET "parties" = '[{"role":"counterparty","name":"Buyer (transferee)","nameZh":"买受人（受让人）","required":false,"formField":"transferee"},{"role":"agent","name":"Agent acting for the seller","nameZh":"代办人","required":false}]'::jsonb WHERE "code" = 'real_estate_transfer';--> statement-breakpoint
INSERT INTO "item_materials" ("item_code", "requirement_code", "name", "position", "accepted_types", "optional", "party")
SELECT 'real_estate_transfer', r.code, r.name, r.position, r.types, false, r.party
  FROM (VALUES ('buyer_identity', 'Identity of the buyer', 5, ARRAY['resident_id_card'], 'counterparty'),
               ('agent_identity', 'Identity of the agent', 6, ARRAY['resident_id_card'], 'agent'),
               ('power_of_attorney', 'Power of attorney for the agent', 7, ARRAY['power_of_attorney'], 'agent')) AS r(code, name, position, types, party)
 WHERE EXISTS (SELECT 1 FROM "items" WHERE "code" = 'real_estate_transfer')
ON CONFLICT DO NOTHING;
