CREATE TYPE "public"."client_kind" AS ENUM('window', 'department', 'integrator', 'auditor', 'admin');--> statement-breakpoint
CREATE TABLE "audit_checkpoints" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"head_hash" text NOT NULL,
	"signature" text NOT NULL,
	"kid" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"entry_id" text NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"actor_client_id" text NOT NULL,
	"actor_kind" text NOT NULL,
	"operator_id" text,
	"action" text NOT NULL,
	"subject_ref" text,
	"fields" text[] DEFAULT '{}'::text[] NOT NULL,
	"material_types" text[] DEFAULT '{}'::text[] NOT NULL,
	"purpose" text,
	"case_ref" text,
	"outcome" text NOT NULL,
	"request_id" text,
	"chain_seq" bigint,
	"prev_hash" text,
	"entry_hash" text,
	"sealed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "clients" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" "client_kind" NOT NULL,
	"scopes" text[] NOT NULL,
	"department_code" text,
	"secret_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"private_jwk" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	"publish_until" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "audit_entries_entry_id_key" ON "audit_entries" USING btree ("entry_id");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_entries_chain_seq_key" ON "audit_entries" USING btree ("chain_seq");--> statement-breakpoint
CREATE INDEX "audit_entries_unsealed_idx" ON "audit_entries" USING btree ("id") WHERE "audit_entries"."chain_seq" is null;--> statement-breakpoint
CREATE INDEX "audit_entries_subject_idx" ON "audit_entries" USING btree ("subject_ref","occurred_at");