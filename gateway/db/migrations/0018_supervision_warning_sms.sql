CREATE TABLE "centre_representatives" (
	"centre_code" text NOT NULL,
	"department_code" text NOT NULL,
	"name" text NOT NULL,
	"mobile" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "centre_representatives_centre_code_department_code_pk" PRIMARY KEY("centre_code","department_code")
);
--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "event_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "recipient_kind" text DEFAULT 'applicant' NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "warning_key" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "warning" jsonb;--> statement-breakpoint
ALTER TABLE "centre_representatives" ADD CONSTRAINT "centre_representatives_centre_code_centres_code_fk" FOREIGN KEY ("centre_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_warning_key" ON "notifications" USING btree ("warning_key");