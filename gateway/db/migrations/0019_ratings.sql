CREATE TABLE "case_ratings" (
	"id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"case_number" text NOT NULL,
	"score" integer NOT NULL,
	"comment" text,
	"centre_code" text,
	"accepting_centre_code" text,
	"item_code" text NOT NULL,
	"departments" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"client_id" text NOT NULL,
	"operator_id" text,
	"completed_on" date NOT NULL,
	"on_time" boolean NOT NULL,
	"rated_at" timestamp with time zone NOT NULL,
	"rated_on" date NOT NULL,
	"follow_up_status" text,
	"follow_up_due_on" date,
	"follow_up_answer" text,
	"follow_up_contacted" boolean,
	"follow_up_answered_by" text,
	"follow_up_operator_id" text,
	"follow_up_answered_at" timestamp with time zone,
	"follow_up_answered_on" date
);
--> statement-breakpoint
ALTER TABLE "case_ratings" ADD CONSTRAINT "case_ratings_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "case_ratings_case_key" ON "case_ratings" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "case_ratings_centre_rated_idx" ON "case_ratings" USING btree ("centre_code","rated_on");--> statement-breakpoint
CREATE INDEX "case_ratings_follow_up_idx" ON "case_ratings" USING btree ("follow_up_status","follow_up_due_on") WHERE follow_up_status is not null;