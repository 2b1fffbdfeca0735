CREATE TYPE "public"."access_request_status" AS ENUM('pending', 'approved', 'denied');--> statement-breakpoint
CREATE TYPE "public"."sharing_type" AS ENUM('unconditional', 'conditional', 'not_shared');--> statement-breakpoint
CREATE TABLE "access_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"resource_code" text NOT NULL,
	"client_id" text NOT NULL,
	"purpose" text NOT NULL,
	"legal_basis" text NOT NULL,
	"expires_at" timestamp with time zone,
	"status" "access_request_status" DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by_client_id" text,
	"decision_reason" text
);
--> statement-breakpoint
CREATE TABLE "contract_resources" (
	"resource_code" text PRIMARY KEY NOT NULL,
	"department_code" text NOT NULL,
	"title" text NOT NULL,
	"sharing_type" "sharing_type" NOT NULL,
	"latest_version" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contract_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"resource_code" text NOT NULL,
	"version" text NOT NULL,
	"seq" integer NOT NULL,
	"openapi_version" text NOT NULL,
	"document" jsonb NOT NULL,
	"source_text" text NOT NULL,
	"source_format" text NOT NULL,
	"source_sha256" text NOT NULL,
	"catalogue" jsonb NOT NULL,
	"changes" jsonb NOT NULL,
	"published_by_client_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "access_requests" ADD CONSTRAINT "access_requests_resource_code_contract_resources_resource_code_fk" FOREIGN KEY ("resource_code") REFERENCES "public"."contract_resources"("resource_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "access_requests" ADD CONSTRAINT "access_requests_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contract_versions" ADD CONSTRAINT "contract_versions_resource_code_contract_resources_resource_code_fk" FOREIGN KEY ("resource_code") REFERENCES "public"."contract_resources"("resource_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_requests_client_resource_idx" ON "access_requests" USING btree ("client_id","resource_code");--> statement-breakpoint
CREATE INDEX "access_requests_resource_idx" ON "access_requests" USING btree ("resource_code","created_at");--> statement-breakpoint
CREATE INDEX "contract_resources_department_idx" ON "contract_resources" USING btree ("department_code");--> statement-breakpoint
CREATE UNIQUE INDEX "contract_versions_resource_version_key" ON "contract_versions" USING btree ("resource_code","version");--> statement-breakpoint
CREATE UNIQUE INDEX "contract_versions_resource_seq_key" ON "contract_versions" USING btree ("resource_code","seq");