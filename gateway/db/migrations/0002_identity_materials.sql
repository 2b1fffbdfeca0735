CREATE TYPE "public"."material_status" AS ENUM('valid', 'revoked', 'superseded');--> statement-breakpoint
CREATE TYPE "public"."provenance_kind" AS ENUM('handed_in', 'fetched', 'issued');--> statement-breakpoint
CREATE TYPE "public"."subject_kind" AS ENUM('person', 'organisation');--> statement-breakpoint
CREATE TABLE "material_type_grants" (
	"type_code" text NOT NULL,
	"client_id" text NOT NULL,
	"granted_by_client_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "material_type_grants_type_code_client_id_pk" PRIMARY KEY("type_code","client_id")
);
--> statement-breakpoint
CREATE TABLE "material_types" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"name_zh" text NOT NULL,
	"subject_kind" "subject_kind",
	"allowed_media_types" text[] NOT NULL,
	"default_validity_days" integer,
	"issuing_department" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "materials" (
	"id" text PRIMARY KEY NOT NULL,
	"subject_id" text NOT NULL,
	"type_code" text NOT NULL,
	"content_sha256" text NOT NULL,
	"content_sm3" text,
	"content_size" bigint NOT NULL,
	"media_type" text NOT NULL,
	"file_name" text,
	"provenance" "provenance_kind" NOT NULL,
	"provided_by_client_id" text NOT NULL,
	"operator_id" text,
	"department_code" text,
	"source_ref" text,
	"case_ref" text,
	"valid_from" date NOT NULL,
	"valid_until" date,
	"status" "material_status" DEFAULT 'valid' NOT NULL,
	"supersedes_id" text,
	"superseded_by_id" text,
	"revoked_at" timestamp with time zone,
	"revoked_reason" text,
	"revoked_by_client_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subject_links" (
	"id" text PRIMARY KEY NOT NULL,
	"subject_id" text NOT NULL,
	"department_code" text NOT NULL,
	"identifier_type" text NOT NULL,
	"value" text NOT NULL,
	"source" text NOT NULL,
	"linked_by_client_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subjects" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" "subject_kind" NOT NULL,
	"identifier_type" text NOT NULL,
	"identifier" text NOT NULL,
	"name" text NOT NULL,
	"created_by_client_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "material_type_grants" ADD CONSTRAINT "material_type_grants_type_code_material_types_code_fk" FOREIGN KEY ("type_code") REFERENCES "public"."material_types"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "material_type_grants" ADD CONSTRAINT "material_type_grants_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "materials" ADD CONSTRAINT "materials_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "materials" ADD CONSTRAINT "materials_type_code_material_types_code_fk" FOREIGN KEY ("type_code") REFERENCES "public"."material_types"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subject_links" ADD CONSTRAINT "subject_links_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "materials_subject_type_idx" ON "materials" USING btree ("subject_id","type_code","valid_from");--> statement-breakpoint
CREATE INDEX "materials_content_idx" ON "materials" USING btree ("content_sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "materials_supersedes_key" ON "materials" USING btree ("supersedes_id");--> statement-breakpoint
CREATE UNIQUE INDEX "subject_links_department_value_key" ON "subject_links" USING btree ("department_code","identifier_type","value");--> statement-breakpoint
CREATE INDEX "subject_links_subject_idx" ON "subject_links" USING btree ("subject_id");--> statement-breakpoint
CREATE UNIQUE INDEX "subjects_identifier_key" ON "subjects" USING btree ("identifier_type","identifier");