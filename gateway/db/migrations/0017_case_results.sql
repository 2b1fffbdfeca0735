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
	"carrier" text,
	"tracking_number" text,
	"last_route" jsonb,
	"routes_checked_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "result_deliveries" text[] DEFAULT '{window_pickup}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "case_results" ADD CONSTRAINT "case_results_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "case_results_status_idx" ON "case_results" USING btree ("status");--> statement-breakpoint
CREATE INDEX "case_results_due_idx" ON "case_results" USING btree ("next_attempt_at") WHERE next_attempt_at is not null;