/**
 * Baseline of the cached certificate fetch (`npm run bench:certificates`, part a): the gateway's
 * `POST /v1/subjects/{subjectId}/certificates` answered from the stored copy, written by hand as
 * the least code that can answer it — hono, a jose ES256 check of the bearer token with the
 * `certificates:read` scope, the purpose header, and ONE select of the subject's newest valid
 * stored certificate of each asked type (the statement `findStoredCertificates` runs), answered
 * as JSON. No audit entry, no grant check, no signature, no schema validation.
 *
 * PostgreSQL (DATABASE_URL, DATABASE_POOL_SIZE): the gateway's own database, same pool size.
 * PGlite (BASELINE_PGLITE_ROWS, JSON): an in-memory PGlite of its own (an embedded database
 * belongs to one process), migrated with the gateway's migrations, seeded with its material types
 * and holding copies of the gateway's certificate rows, so the select runs over the same schema and indexes.
 *
 * Environment: see certificates-shared.ts, plus the database variables above.
 */
import { Hono } from 'hono';
import postgres from 'postgres';
import { openDatabase } from '../../gateway/db/client.js';
import { certificates, materials, subjects } from '../../gateway/db/schema.js';
import { applySeedMaterialTypes } from '../../gateway/materials/catalogue.js';
import { createTokenCheck, hasPurpose, requestedTypes, serveUntilStopped } from './certificates-shared.js';
import { requiredEnv, settingsFromEnv } from './shared.js';

/** One stored certificate joined with its material, as both drivers return it. */
interface StoredRow {
  material_id: string;
  certificate_type: string;
  certificate_number: string;
  department_code: string;
  metadata: Record<string, unknown>;
  fetched_at: Date | string;
  checked_at: Date | string;
  status: string;
  content_sha256: string;
  media_type: string;
  content_size: number | string;
}

/** A certificate row handed over by the benchmark for the PGlite baseline. */
export interface CopiedCertificate {
  subjectId: string;
  materialId: string;
  certificateType: string;
  certificateNumber: string;
  departmentCode: string;
  metadata: Record<string, unknown>;
  fetchedAt: string;
  checkedAt: string;
  sha256: string;
  size: number;
  mediaType: string;
  validFrom: string;
  validUntil: string | null;
}

const SELECT_STORED = `
  select c.material_id, c.certificate_type, c.certificate_number, c.department_code, c.metadata, c.fetched_at, c.checked_at,
         m.status, m.content_sha256, m.media_type, m.content_size
    from certificates c join materials m on m.id = c.material_id
   where c.subject_id = $1 and c.certificate_type = any($2) and m.status = 'valid'
   order by c.checked_at desc`;

async function pgliteStore(rows: CopiedCertificate[]): Promise<{ select: (subjectId: string, types: string[]) => Promise<StoredRow[]>; close: () => Promise<void> }> {
  const handle = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
  await handle.migrate();
  // The catalogue the gateway seeds at start: materials reference their type.
  await applySeedMaterialTypes(handle.db);
  const { pglite } = handle;
  if (!pglite) throw new Error('baseline: the PGlite handle has no client');
  for (const row of rows) {
    await handle.db
      .insert(subjects)
      .values({ id: row.subjectId, kind: 'person', identifierType: 'resident_id', identifier: row.subjectId, name: 'bench', createdByClientId: 'bench' })
      .onConflictDoNothing();
    await handle.db.insert(materials).values({
      id: row.materialId,
      subjectId: row.subjectId,
      typeCode: row.certificateType,
      contentSha256: row.sha256,
      contentSize: row.size,
      mediaType: row.mediaType,
      provenance: 'fetched',
      providedByClientId: `department:${row.departmentCode}`,
      departmentCode: row.departmentCode,
      sourceRef: row.certificateNumber,
      validFrom: row.validFrom,
      validUntil: row.validUntil,
    });
    await handle.db.insert(certificates).values({
      materialId: row.materialId,
      subjectId: row.subjectId,
      certificateType: row.certificateType,
      certificateNumber: row.certificateNumber,
      departmentCode: row.departmentCode,
      metadata: row.metadata,
      fetchedAt: new Date(row.fetchedAt),
      checkedAt: new Date(row.checkedAt),
    });
  }
  return {
    // The raw client, not drizzle: the gateway does the same for its hot PGlite reads.
    select: async (subjectId, types) => (await pglite.query<StoredRow>(SELECT_STORED, [subjectId, types])).rows,
    close: () => handle.close(),
  };
}

function postgresStore(url: string, poolSize: number): { select: (subjectId: string, types: string[]) => Promise<StoredRow[]>; close: () => Promise<void> } {
  const sql = postgres(url, { max: poolSize, connect_timeout: 5, onnotice: () => {} });
  return {
    // Prepared and cached per connection by the driver (prepare: true is the default).
    select: (subjectId, types) => sql.unsafe<StoredRow[]>(SELECT_STORED, [subjectId, types], { prepare: true }),
    close: () => sql.end({ timeout: 2 }),
  };
}

const settings = settingsFromEnv();
const copied = process.env.BASELINE_PGLITE_ROWS;
const store = copied ? await pgliteStore(JSON.parse(copied) as CopiedCertificate[]) : postgresStore(requiredEnv('DATABASE_URL'), Number(requiredEnv('DATABASE_POOL_SIZE')));
// Fail at start, not on the first request, if the database is unreachable.
await store.select('sub_none', ['none']);
const checkToken = await createTokenCheck(settings, 'certificates:read');

const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/v1/subjects/:subjectId/certificates', async (c) => {
  const refused = await checkToken(c.req.header('authorization'));
  if (refused) return c.json({ code: refused.code }, refused.status);
  if (!hasPurpose((name) => c.req.header(name))) return c.json({ code: 'purpose_required' }, 400);
  const types = requestedTypes(await c.req.json().catch(() => null));
  if (!types) return c.json({ code: 'validation_failed' }, 400);
  const subjectId = c.req.param('subjectId');
  const newest = new Map<string, StoredRow>();
  for (const row of await store.select(subjectId, types)) if (!newest.has(row.certificate_type)) newest.set(row.certificate_type, row);
  return c.json({
    subjectId,
    results: types.map((type) => {
      const row = newest.get(type);
      if (!row) return { certificateType: type, status: 'not_found', source: null };
      return {
        certificateType: type,
        status: 'ok',
        department: row.department_code,
        source: 'stored',
        certificate: row.metadata,
        material: { id: row.material_id, status: row.status, content: { sha256: row.content_sha256, mediaType: row.media_type, size: Number(row.content_size) } },
        fetchedAt: iso(row.fetched_at),
        checkedAt: iso(row.checked_at),
      };
    }),
  });
});

await serveUntilStopped(app, settings, store.close);
