CREATE TYPE "public"."centre_level" AS ENUM('province', 'city', 'county', 'town', 'village');--> statement-breakpoint
CREATE TYPE "public"."operator_role" AS ENUM('acceptance_clerk', 'back_office_approver', 'centre_director', 'supervisor');--> statement-breakpoint
CREATE TABLE "centre_items" (
	"centre_code" text NOT NULL,
	"item_code" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"promised_days" integer,
	"notes" text DEFAULT '' NOT NULL,
	"fees" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "centre_items_centre_code_item_code_pk" PRIMARY KEY("centre_code","item_code")
);
--> statement-breakpoint
CREATE TABLE "centres" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"level" "centre_level" NOT NULL,
	"parent_code" text,
	"path" text NOT NULL,
	"address" text DEFAULT '' NOT NULL,
	"opening_hours" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "client_centres" (
	"client_id" text NOT NULL,
	"centre_code" text NOT NULL,
	CONSTRAINT "client_centres_client_id_centre_code_pk" PRIMARY KEY("client_id","centre_code")
);
--> statement-breakpoint
CREATE TABLE "operators" (
	"centre_code" text NOT NULL,
	"operator_id" text NOT NULL,
	"name" text NOT NULL,
	"role" "operator_role" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone,
	CONSTRAINT "operators_centre_code_operator_id_pk" PRIMARY KEY("centre_code","operator_id")
);
--> statement-breakpoint
ALTER TABLE "audit_entries" ADD COLUMN "centre_code" text;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "accepting_centre_code" text;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "centre_code" text;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "transfers" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "deciding_level" text;--> statement-breakpoint
ALTER TABLE "centre_items" ADD CONSTRAINT "centre_items_centre_code_centres_code_fk" FOREIGN KEY ("centre_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "centre_items" ADD CONSTRAINT "centre_items_item_code_items_code_fk" FOREIGN KEY ("item_code") REFERENCES "public"."items"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "client_centres" ADD CONSTRAINT "client_centres_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "client_centres" ADD CONSTRAINT "client_centres_centre_code_centres_code_fk" FOREIGN KEY ("centre_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operators" ADD CONSTRAINT "operators_centre_code_centres_code_fk" FOREIGN KEY ("centre_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "centres_path_idx" ON "centres" USING btree ("path" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "centres_parent_idx" ON "centres" USING btree ("parent_code");--> statement-breakpoint
CREATE INDEX "cases_centre_accepted_idx" ON "cases" USING btree ("centre_code","accepted_on");--> statement-breakpoint
CREATE INDEX "cases_accepting_centre_idx" ON "cases" USING btree ("accepting_centre_code","accepted_on");--> statement-breakpoint
ALTER TABLE "centres" ADD CONSTRAINT "centres_parent_code_centres_code_fk" FOREIGN KEY ("parent_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cases" ADD CONSTRAINT "cases_centre_code_centres_code_fk" FOREIGN KEY ("centre_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cases" ADD CONSTRAINT "cases_accepting_centre_code_centres_code_fk" FOREIGN KEY ("accepting_centre_code") REFERENCES "public"."centres"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Centres, who serves where, operators and centre items are reference data: every instance keeps
-- them in memory and reloads on the same notification as the grants (migration 0009).
CREATE TRIGGER "centres_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "centres" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();--> statement-breakpoint
CREATE TRIGGER "client_centres_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "client_centres" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();--> statement-breakpoint
CREATE TRIGGER "operators_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "operators" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();--> statement-breakpoint
CREATE TRIGGER "centre_items_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "centre_items" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();
