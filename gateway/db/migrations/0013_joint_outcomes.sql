ALTER TYPE "public"."case_status" ADD VALUE 'partially_rejected';--> statement-breakpoint
ALTER TYPE "public"."delivery_status" ADD VALUE 'held';--> statement-breakpoint
ALTER TYPE "public"."delivery_status" ADD VALUE 'refused';--> statement-breakpoint
ALTER TYPE "public"."delivery_status" ADD VALUE 'cancelled';--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "stage" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "department_message" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "cancel_status" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "stages" jsonb;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "allows_partial" boolean DEFAULT false NOT NULL;