CREATE TABLE "case_results" (
	"case_id" text PRIMARY KEY NOT NULL,
	"method" text NOT NULL,
	"status" text DEFAULT 'preparing' NOT NULL,
	"address" jsonb,
	"pickup_code" text,
	"pickup_failures" integer DEFAULT 0 NOT NULL,
	"pickup_locked_until" timestamp with time zone,
	"ready_at" timestamp with time zone,
	"collected_at" timestamp with time zone,
	"collected_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "result_deliveries" text[] DEFAULT '{window_pickup}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "case_results" ADD CONSTRAINT "case_results_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "case_results_status_idx" ON "case_results" USING btree ("status");