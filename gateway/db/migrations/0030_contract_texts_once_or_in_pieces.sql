-- Contract texts stored once, and large ones in pieces (issue 18): embedded PGlite writes a row on the gateway's thread.
CREATE TABLE "contract_version_texts" (
	"version_id" text NOT NULL,
	"part" text NOT NULL,
	"seq" integer NOT NULL,
	"piece" text NOT NULL,
	CONSTRAINT "contract_version_texts_version_id_part_seq_pk" PRIMARY KEY("version_id","part","seq")
);
--> statement-breakpoint
ALTER TABLE "contract_versions" ALTER COLUMN "document" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "contract_versions" ALTER COLUMN "source_text" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "contract_version_texts" ADD CONSTRAINT "contract_version_texts_version_id_contract_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."contract_versions"("id") ON DELETE no action ON UPDATE no action;
