/**
 * The hot path of a certificate fetch in one statement: the subject, the newest valid stored copy
 * of each type asked for, and the audit entries of what will be answered from those copies (and of
 * the types refused), written atomically with the read. The access policy has decided before
 * (from memory); the statement records exactly what the caller then receives, in one round trip
 * instead of a transaction's five.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { AccessContext } from '../access/context.js';
import type { Decision } from '../access/policy.js';
import type { DatabaseHandle } from '../db/client.js';
import { openSubjectValues } from '../identity/subjects.js';
import { openSealedJson } from '../db/sealed-json.js';
import { maskIdentifiersInNote } from '../platform/identifier-masking.js';
import type { CertificateRow } from './store.js';

export interface StoredCopy {
  certificate: CertificateRow;
  material: {
    id: string;
    subjectId: string;
    status: 'valid';
    contentSha256: string;
    contentSm3: string | null;
    mediaType: string;
    contentSize: number;
  };
}

export interface StoredRead {
  subject: {
    id: string;
    kind: 'person' | 'organisation';
    identifierType: string;
    identifier: string;
    name: string;
  } | null;
  /** The newest valid stored copy per type. */
  stored: Map<string, StoredCopy>;
}

/** What the statement needs to know of each type asked for. */
export interface PlannedType {
  type: { code: string; subjectKind: 'person' | 'organisation' | null; freshForSeconds: number | null };
  resourceCode: string | null;
  access: Decision;
}

interface AuditPlan {
  type_code: string;
  /** Served (and recorded) when the copy was confirmed after this instant; null: a refusal, recorded as such. */
  fresh_after_ms: number | null;
  entry_id: string;
  action: string;
  fields: string[];
  outcome: 'allowed' | 'denied';
}

interface Row {
  subject_id: string | null;
  subject_kind: 'person' | 'organisation' | null;
  identifier_type: string | null;
  identifier: string | null;
  name: string | null;
  material_id: string | null;
  certificate_type: string | null;
  certificate_number: string | null;
  department_code: string | null;
  contract_resource: string | null;
  contract_version: string | null;
  metadata: Record<string, unknown> | string | null;
  fetched_ms: number | string | null;
  checked_ms: number | string | null;
  content_sha256: string | null;
  content_sm3: string | null;
  media_type: string | null;
  content_size: number | string | null;
}

function auditEntryId(): string {
  // The same form as recordAudit's ids (aud_ + 16 base64url characters), drawn from the cached UUID pool.
  return `aud_${Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url').slice(0, 16)}`;
}

/**
 * `numbers`: per type, the one certificate meant (by its number); a stored copy of another number
 * of that type is neither served nor recorded.
 */
export async function readAndAudit(
  context: AccessContext,
  database: Pick<DatabaseHandle, 'prepared'>,
  subjectId: string,
  plans: readonly PlannedType[],
  options: { refresh: boolean; at: Date; numbers?: Readonly<Record<string, string>> },
): Promise<StoredRead> {
  const audits: AuditPlan[] = [];
  for (const plan of plans) {
    const code = plan.type.code;
    if (!plan.access.allowed) {
      audits.push({
        type_code: code,
        fresh_after_ms: null,
        entry_id: auditEntryId(),
        action: 'certificate.fetch',
        fields: [`resource:${plan.resourceCode}`, `refused:${plan.access.reason}`],
        outcome: 'denied',
      });
    } else if (!options.refresh && plan.type.freshForSeconds !== null) {
      const freshAfter = options.at.getTime() - plan.type.freshForSeconds * 1000;
      audits.push({
        type_code: code,
        fresh_after_ms: freshAfter,
        entry_id: auditEntryId(),
        action: 'certificate.serve',
        fields: ['certificate', 'content', `grant:${plan.access.grantId ?? 'unconditional'}`],
        outcome: 'allowed',
      });
    }
  }
  // Arrays travel as JSON text: drizzle's sql template spreads a JS array into a list.
  // A request that mixes types of persons and organisations fails whatever the subject is: then nothing is served or recorded as served.
  const kinds = [...new Set(plans.flatMap((plan) => (plan.type.subjectKind === null ? [] : [plan.type.subjectKind])))];
  const types = plans.map((plan) => plan.type.code);
  const { principal, purpose, requestId } = context;
  // Numbers are stored as their lookup (a blind index when data protection is on): matched in every stored form.
  const numberLookups = JSON.stringify(
    Object.fromEntries(
      Object.entries(options.numbers ?? {}).map(([type, number]) => [
        type,
        context.access.protection.certificateNumberLookups(type, number),
      ]),
    ),
  );
  const rows = await database.prepared<Row>(sql`
    with subject as (
      select id, kind::text as kind, identifier_type, identifier, name from subjects where id = ${subjectId}
    ), stored as (
      select distinct on (c.certificate_type)
             c.material_id, c.certificate_type, c.certificate_number, c.department_code, c.contract_resource, c.contract_version,
             c.metadata, (extract(epoch from c.fetched_at) * 1000)::float8 as fetched_ms, (extract(epoch from c.checked_at) * 1000)::float8 as checked_ms,
             m.content_sha256, m.content_sm3, m.media_type, m.content_size::float8 as content_size
        from certificates c join materials m on m.id = c.material_id
       where c.subject_id = ${subjectId} and c.certificate_type = any(array(select jsonb_array_elements_text(${JSON.stringify(types)}::jsonb))) and m.status = 'valid'
         and ((${numberLookups}::jsonb -> c.certificate_type) is null
              or c.certificate_number = any(array(select jsonb_array_elements_text(${numberLookups}::jsonb -> c.certificate_type))))
       order by c.certificate_type, c.checked_at desc
    ), planned as (
      select * from jsonb_to_recordset(${JSON.stringify(audits)}::jsonb)
        as p(type_code text, fresh_after_ms float8, entry_id text, action text, fields text[], outcome text)
    ), audited as (
      insert into audit_entries (entry_id, occurred_at, actor_client_id, actor_kind, operator_id, centre_code, action, subject_ref, fields, material_types, purpose, case_ref, outcome, request_id)
      select p.entry_id, ${options.at.toISOString()}::timestamptz, ${principal.clientId}, ${principal.kind}, ${maskIdentifiersInNote(purpose.operatorId)}, ${context.access.actingCentre()}, p.action, ${subjectId},
             p.fields, array[p.type_code], ${purpose.purpose}, ${maskIdentifiersInNote(purpose.caseRef)}, p.outcome, ${requestId}
        from planned p
       where exists (select 1 from subject where subject.kind = all(array(select jsonb_array_elements_text(${JSON.stringify(kinds)}::jsonb))))
         and (p.fresh_after_ms is null
              or exists (select 1 from stored s where s.certificate_type = p.type_code and s.checked_ms > p.fresh_after_ms))
      returning 1
    )
    select (select count(*) from audited) as audited, subject.id as subject_id, subject.kind as subject_kind, subject.identifier_type, subject.identifier, subject.name, stored.*
      from subject left join stored on true`);
  const first = rows[0];
  if (
    !first?.subject_id ||
    !first.subject_kind ||
    first.identifier_type === null ||
    first.identifier === null ||
    first.name === null
  )
    return { subject: null, stored: new Map() };
  const stored = new Map<string, StoredCopy>();
  for (const row of rows) {
    if (row.material_id === null || row.certificate_type === null) continue;
    // Read past drizzle's column decoder: opened here when sealed (gateway/db/sealed-json.ts).
    const metadata = openSealedJson(
      'certificates.metadata',
      typeof row.metadata === 'string' ? JSON.parse(row.metadata) : (row.metadata ?? {}),
    ) as Record<string, unknown>;
    stored.set(row.certificate_type, {
      certificate: {
        materialId: row.material_id,
        subjectId,
        certificateType: row.certificate_type,
        // The column holds the number's lookup; the number itself is the metadata's.
        certificateNumber: typeof metadata.certificateNumber === 'string' ? metadata.certificateNumber : '',
        departmentCode: row.department_code ?? '',
        contractResource: row.contract_resource,
        contractVersion: row.contract_version,
        metadata,
        fetchedAt: new Date(Number(row.fetched_ms)),
        checkedAt: new Date(Number(row.checked_ms)),
      },
      material: {
        id: row.material_id,
        subjectId,
        status: 'valid',
        contentSha256: row.content_sha256 ?? '',
        contentSm3: row.content_sm3,
        mediaType: row.media_type ?? '',
        contentSize: Number(row.content_size),
      },
    });
  }
  const opened = await openSubjectValues(context.access.protection, first.subject_id, {
    identifier: first.identifier,
    name: first.name,
  });
  return {
    subject: {
      id: first.subject_id,
      kind: first.subject_kind,
      identifierType: first.identifier_type,
      identifier: opened.identifier,
      name: opened.name,
    },
    stored,
  };
}
