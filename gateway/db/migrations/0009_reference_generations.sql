CREATE TABLE "reference_generations" (
	"name" text PRIMARY KEY NOT NULL,
	"generation" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO "reference_generations" ("name", "generation") VALUES ('reference', 0);--> statement-breakpoint
-- Any write to the reference data, by any path, bumps the counter and tells every listening
-- instance (the NOTIFY is delivered when the writing transaction commits).
CREATE FUNCTION "onewindow_reference_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  next_generation bigint;
BEGIN
  UPDATE "reference_generations" SET "generation" = "generation" + 1 WHERE "name" = 'reference' RETURNING "generation" INTO next_generation;
  PERFORM pg_notify('onewindow_reference', next_generation::text);
  RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "contract_resources_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "contract_resources" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();--> statement-breakpoint
CREATE TRIGGER "access_requests_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "access_requests" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();--> statement-breakpoint
CREATE TRIGGER "material_type_grants_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "material_type_grants" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();
--> statement-breakpoint
CREATE TRIGGER "material_types_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "material_types" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();
--> statement-breakpoint
CREATE TRIGGER "items_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "items" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();--> statement-breakpoint
CREATE TRIGGER "item_materials_reference_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "item_materials" FOR EACH STATEMENT EXECUTE FUNCTION "onewindow_reference_changed"();
