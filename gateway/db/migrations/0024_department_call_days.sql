CREATE TABLE "department_call_days" (
	"department_code" text NOT NULL,
	"day" date NOT NULL,
	"outcome" text NOT NULL,
	"calls" bigint NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "department_call_days_department_code_day_outcome_pk" PRIMARY KEY("department_code","day","outcome")
);
--> statement-breakpoint
CREATE INDEX "department_call_days_day_idx" ON "department_call_days" USING btree ("day");