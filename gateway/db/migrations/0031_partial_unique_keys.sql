DROP INDEX "audit_entries_chain_seq_key";--> statement-breakpoint
DROP INDEX "case_events_external_key";--> statement-breakpoint
CREATE UNIQUE INDEX "audit_entries_chain_seq_key" ON "audit_entries" USING btree ("chain_seq") WHERE "audit_entries"."chain_seq" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "case_events_external_key" ON "case_events" USING btree ("department_code","external_event_id") WHERE "case_events"."external_event_id" is not null;