/**
 * Baselines of the cached certificate fetch (`npm run bench:certificates`, part a): the gateway's
 * `POST /v1/subjects/{subjectId}/certificates` answered from the stored copy, written by hand.
 * Two modes:
 *
 * - one select (default): the least code that can answer — hono, a jose ES256 check of the bearer
 *   token with the `certificates:read` scope, the purpose header, and ONE select of the subject's
 *   newest valid stored certificate of each asked type (the rows `readAndAudit` reads), answered
 *   as JSON. No audit entry, no grant check, no signature, no schema validation.
 * - same work (BASELINE_SAME_WORK=true): what issue 15 counts as the work of a cached fetch, still
 *   by hand — the same token check (with the token cache) and purpose check, then ONE transaction
 *   holding the select and ONE insert into the gateway's own `audit_entries` table of the row the
 *   gateway writes for each certificate it serves (action, fields and material type as the gateway
 *   recorded them, handed over in BASELINE_AUDIT_ACTION / BASELINE_AUDIT_FIELDS; actor from the
 *   token; purpose, case and operator from the headers; a request id), and ONE ES256 signature per
 *   answered certificate: a compact JWS over the certificate, its content digest and its source,
 *   shaped like the gateway's envelope, with a P-256 key of its own (public key at
 *   `/.well-known/jwks.json`). It signs on every request; the gateway keeps envelopes it has signed
 *   (one signature per certificate version and view), so here the baseline does a little more.
 *
 * PostgreSQL (DATABASE_URL, DATABASE_POOL_SIZE): the gateway's own database, same pool size; the
 * audit rows land in the gateway's table and are sealed by the gateway's sealer like its own.
 * PGlite (BASELINE_PGLITE_ROWS, JSON): an in-memory PGlite of its own (an embedded database
 * belongs to one process), migrated with the gateway's migrations, seeded with its material types
 * and holding copies of the gateway's certificate rows, so the statements run over the same schema
 * and indexes.
 *
 * Environment: see certificates-shared.ts, plus the variables above.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { CompactSign, type JWK, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import postgres from 'postgres';
import { openDatabase } from '../../gateway/db/client.js';
import { certificates, materials, subjects } from '../../gateway/db/schema.js';
import { applySeedMaterialTypes } from '../../gateway/materials/catalogue.js';
import {
  type TokenHolder,
  createCallerCheck,
  hasPurpose,
  requestedTypes,
  serveUntilStopped,
} from './certificates-shared.js';
import { requiredEnv, settingsFromEnv } from './shared.js';

/** One stored certificate joined with its material, as both drivers return it. */
interface StoredRow {
  material_id: string;
  certificate_type: string;
  certificate_number: string;
  department_code: string;
  contract_resource: string | null;
  contract_version: string | null;
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

/** The audit entry of one served certificate, in the columns of `audit_entries`. */
interface AuditRow {
  actor: TokenHolder;
  operatorId: string | null;
  subjectId: string;
  purpose: string | null;
  caseRef: string | null;
  requestId: string;
  /** One entry per served certificate type, each with its own id. */
  entries: { entryId: string; typeCode: string }[];
}

const SELECT_STORED = `
  select c.material_id, c.certificate_type, c.certificate_number, c.department_code, c.contract_resource, c.contract_version,
         c.metadata, c.fetched_at, c.checked_at, m.status, m.content_sha256, m.media_type, m.content_size
    from certificates c join materials m on m.id = c.material_id
   where c.subject_id = $1 and c.certificate_type = any($2) and m.status = 'valid'
   order by c.checked_at desc`;

// One statement for any number of served types: the entries' ids and types travel as two arrays.
const INSERT_AUDIT = `
  insert into audit_entries (entry_id, occurred_at, actor_client_id, actor_kind, operator_id, action, subject_ref, fields, material_types, purpose, case_ref, outcome, request_id)
  select e.entry_id, $3::timestamptz, $4, $5, $6, $7, $8, $9::text[], array[e.type_code], $10, $11, 'allowed', $12
    from unnest($1::text[], $2::text[]) as e(entry_id, type_code)`;

interface Store {
  /** The select alone. */
  select: (subjectId: string, types: string[]) => Promise<StoredRow[]>;
  /** The select and the audit entries `audit` makes of its rows (null: none), in one transaction. */
  selectAndAudit: (
    subjectId: string,
    types: string[],
    audit: (rows: StoredRow[]) => AuditRow | null,
  ) => Promise<StoredRow[]>;
  close: () => Promise<void>;
}

function auditParameters(row: AuditRow, action: string, fields: string[]): unknown[] {
  return [
    row.entries.map((entry) => entry.entryId),
    row.entries.map((entry) => entry.typeCode),
    new Date().toISOString(),
    row.actor.clientId,
    row.actor.kind,
    row.operatorId,
    action,
    row.subjectId,
    fields,
    row.purpose,
    row.caseRef,
    row.requestId,
  ];
}

async function pgliteStore(rows: CopiedCertificate[], action: string, fields: string[]): Promise<Store> {
  const handle = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
  await handle.migrate();
  // The catalogue the gateway seeds at start: materials reference their type.
  await applySeedMaterialTypes(handle.db);
  const { pglite } = handle;
  if (!pglite) throw new Error('baseline: the PGlite handle has no client');
  for (const row of rows) {
    await handle.db
      .insert(subjects)
      .values({
        id: row.subjectId,
        kind: 'person',
        identifierType: 'resident_id',
        identifier: row.subjectId,
        identifierLookup: row.subjectId,
        name: 'bench',
        createdByClientId: 'bench',
      })
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
  // The raw client, not drizzle: the gateway does the same for its hot PGlite reads.
  return {
    select: async (subjectId, types) => (await pglite.query<StoredRow>(SELECT_STORED, [subjectId, types])).rows,
    selectAndAudit: (subjectId, types, audit) =>
      pglite.transaction(async (tx) => {
        const found = (await tx.query<StoredRow>(SELECT_STORED, [subjectId, types])).rows;
        const entry = audit(found);
        if (entry) await tx.query(INSERT_AUDIT, auditParameters(entry, action, fields));
        return found;
      }),
    close: () => handle.close(),
  };
}

function postgresStore(url: string, poolSize: number, action: string, fields: string[]): Store {
  const sql = postgres(url, { max: poolSize, connect_timeout: 5, onnotice: () => {} });
  // Prepared and cached per connection by the driver (prepare: true is the default).
  return {
    select: (subjectId, types) => sql.unsafe<StoredRow[]>(SELECT_STORED, [subjectId, types], { prepare: true }),
    selectAndAudit: async (subjectId, types, audit) =>
      (await sql.begin(async (tx) => {
        const found = await tx.unsafe<StoredRow[]>(SELECT_STORED, [subjectId, types], { prepare: true });
        const entry = audit(found);
        // postgres' parameter types are wider than what it accepts at run time; these are text, text[] and null.
        if (entry)
          await tx.unsafe(INSERT_AUDIT, auditParameters(entry, action, fields) as postgres.ParameterOrJSON<never>[], {
            prepare: true,
          });
        return [...found];
      })) as StoredRow[],
    close: () => sql.end({ timeout: 2 }),
  };
}

/** Signs certificate envelopes with a P-256 key of this process, as the gateway signs with its own. */
async function createEnvelopeSigner(
  issuer: string,
): Promise<{ sign: (claims: object) => Promise<string>; jwks: { keys: JWK[] } }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const header = { alg: 'ES256', kid, typ: 'onewindow-certificate+jws' };
  const encoder = new TextEncoder();
  return {
    sign: (claims) =>
      new CompactSign(encoder.encode(JSON.stringify({ iss: issuer, iat: Math.floor(Date.now() / 1000), ...claims })))
        .setProtectedHeader(header)
        .sign(privateKey),
    jwks: { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] },
  };
}

const settings = settingsFromEnv();
const sameWork = process.env.BASELINE_SAME_WORK === 'true';
const auditAction = sameWork ? requiredEnv('BASELINE_AUDIT_ACTION') : '';
const auditFields = sameWork ? (JSON.parse(requiredEnv('BASELINE_AUDIT_FIELDS')) as string[]) : [];
const copied = process.env.BASELINE_PGLITE_ROWS;
const store = copied
  ? await pgliteStore(JSON.parse(copied) as CopiedCertificate[], auditAction, auditFields)
  : postgresStore(requiredEnv('DATABASE_URL'), Number(requiredEnv('DATABASE_POOL_SIZE')), auditAction, auditFields);
// Fail at start, not on the first request, if the database is unreachable.
await store.select('sub_none', ['none']);
const checkCaller = await createCallerCheck(settings, 'certificates:read');
const signer = sameWork ? await createEnvelopeSigner(settings.issuer) : undefined;

const iso = (value: Date | string): string =>
  value instanceof Date ? value.toISOString() : new Date(value).toISOString();
// The same forms as the gateway's ids (gateway/audit/record.ts, gateway/platform/request-context.ts).
const auditEntryId = (): string => `aud_${randomBytes(12).toString('base64url')}`;
const requestId = (): string => `req_${randomUUID().replaceAll('-', '')}`;

function newestPerType(rows: StoredRow[]): Map<string, StoredRow> {
  const newest = new Map<string, StoredRow>();
  for (const row of rows) if (!newest.has(row.certificate_type)) newest.set(row.certificate_type, row);
  return newest;
}

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
if (signer) app.get('/.well-known/jwks.json', (c) => c.json(signer.jwks));
app.post('/v1/subjects/:subjectId/certificates', async (c) => {
  const caller = await checkCaller(c.req.header('authorization'));
  if ('code' in caller) return c.json({ code: caller.code }, caller.status);
  if (!hasPurpose((name) => c.req.header(name))) return c.json({ code: 'purpose_required' }, 400);
  const types = requestedTypes(await c.req.json().catch(() => null));
  if (!types) return c.json({ code: 'validation_failed' }, 400);
  const subjectId = c.req.param('subjectId');
  const rows = signer
    ? await store.selectAndAudit(subjectId, types, (found) => {
        const served = [...newestPerType(found).keys()];
        if (served.length === 0) return null;
        return {
          actor: caller,
          operatorId: c.req.header('onewindow-operator') ?? null,
          subjectId,
          purpose: c.req.header('onewindow-purpose') ?? null,
          caseRef: c.req.header('onewindow-case-ref') ?? null,
          requestId: requestId(),
          entries: served.map((typeCode) => ({ entryId: auditEntryId(), typeCode })),
        };
      })
    : await store.select(subjectId, types);
  const newest = newestPerType(rows);
  const results = await Promise.all(
    types.map(async (type) => {
      const row = newest.get(type);
      if (!row) return { certificateType: type, status: 'not_found', source: null };
      const content = { sha256: row.content_sha256, mediaType: row.media_type, size: Number(row.content_size) };
      const source = {
        department: row.department_code,
        contractResource: row.contract_resource,
        contractVersion: row.contract_version,
        fetchedAt: iso(row.fetched_at),
        checkedAt: iso(row.checked_at),
      };
      return {
        certificateType: type,
        status: 'ok',
        department: row.department_code,
        source: 'stored',
        certificate: row.metadata,
        material: { id: row.material_id, status: row.status, content },
        fetchedAt: source.fetchedAt,
        checkedAt: source.checkedAt,
        ...(signer
          ? {
              envelope: await signer.sign({
                materialId: row.material_id,
                subjectId,
                certificate: row.metadata,
                content,
                source,
                stale: false,
              }),
            }
          : {}),
      };
    }),
  );
  return c.json({ subjectId, results });
});

await serveUntilStopped(app, settings, store.close);
