ALTER TABLE "case_materials" DROP CONSTRAINT "case_materials_case_id_requirement_code_pk";--> statement-breakpoint
ALTER TABLE "case_parties" DROP CONSTRAINT "case_parties_case_id_role_pk";--> statement-breakpoint
ALTER TABLE "case_parties" ADD CONSTRAINT "case_parties_case_id_role_subject_id_pk" PRIMARY KEY("case_id","role","subject_id");--> statement-breakpoint
ALTER TABLE "case_materials" ADD COLUMN "party_subject_id" text;--> statement-breakpoint
ALTER TABLE "case_parties" ADD COLUMN "position" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "case_materials" ADD CONSTRAINT "case_materials_party_subject_id_subjects_id_fk" FOREIGN KEY ("party_subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "case_materials" ADD CONSTRAINT "case_materials_case_requirement_party_key" UNIQUE NULLS NOT DISTINCT("case_id","requirement_code","party_subject_id");--> statement-breakpoint
-- A party's requirement rows name whose they are (issue 17: two buyers, each with an ID card); until now a role had one subject.
UPDATE "case_materials" AS cm SET "party_subject_id" = cp."subject_id"
  FROM "cases" AS c, "item_materials" AS im, "case_parties" AS cp
 WHERE c."id" = cm."case_id" AND im."item_code" = c."item_code" AND im."requirement_code" = cm."requirement_code"
   AND im."party" <> 'applicant' AND cp."case_id" = cm."case_id" AND cp."role" = im."party";
