-- Published documents as JSON text (issue 18): nothing queries inside them, and embedded PGlite parsed a 2 MiB jsonb document on the gateway's thread at every publication.
ALTER TABLE "contract_versions" ALTER COLUMN "document" SET DATA TYPE text USING "document"::text;
