/**
 * Writing audit entries. Every access to personal data calls `recordAudit` with the same
 * transaction that performs the access: if the entry cannot be written the transaction fails and
 * so does the access (fail closed). Entries are written unsealed; the sealer chains them later.
 */
import { newRandomId } from '../platform/random-ids.js';
import type { Principal } from '../auth/principal.js';
import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/client.js';
import { auditEntries } from '../db/schema.js';
import { reusableStatement } from '../db/statements.js';

export type AuditOutcome = 'allowed' | 'denied' | 'not_found' | 'failed';

export interface AuditEntryInput {
  /** The calling client; `applicant` for a citizen looking up their own case without credentials. */
  actor: Pick<Principal, 'clientId'> & { kind: Principal['kind'] | 'applicant' };
  /** The person at the window or desk, when the calling system says who it is. */
  operatorId?: string | null;
  /** The service centre the actor acts at (a window's centre). */
  centreCode?: string | null;
  /** What was done, as `capability.verb`, e.g. `subject.read`, `audit.verify`. */
  action: string;
  /** Whose data: a subject id, never the identifier itself. */
  subjectRef?: string | null;
  /** Which personal-data fields were disclosed. */
  fields?: string[];
  /** Which material types were disclosed. */
  materialTypes?: string[];
  purpose?: string | null;
  caseRef?: string | null;
  outcome: AuditOutcome;
  requestId?: string | null;
}

export function newAuditEntryId(): string {
  return newRandomId('aud');
}

const placeholder = sql.placeholder;

/** An audit entry as written: its id and time drawn, every column given. */
export type AuditEntryValues = Required<
  Omit<typeof auditEntries.$inferInsert, 'id' | 'chainSeq' | 'prevHash' | 'entryHash' | 'sealedAt'>
>;

/**
 * The audit entry insert's values as placeholders named as in `AuditEntryValues`: for statements
 * that write the entry together with the rows of the access it records (a data-modifying CTE).
 */
export const auditEntryPlaceholders = {
  entryId: placeholder('entryId'),
  occurredAt: placeholder('occurredAt'),
  actorClientId: placeholder('actorClientId'),
  actorKind: placeholder('actorKind'),
  operatorId: placeholder('operatorId'),
  centreCode: placeholder('centreCode'),
  action: placeholder('action'),
  subjectRef: placeholder('subjectRef'),
  fields: placeholder('fields'),
  materialTypes: placeholder('materialTypes'),
  purpose: placeholder('purpose'),
  caseRef: placeholder('caseRef'),
  outcome: placeholder('outcome'),
  requestId: placeholder('requestId'),
};

// The one statement every audited access runs: built once (gateway/db/statements.ts).
const insertAuditEntry = reusableStatement<AuditEntryValues, unknown>((on) =>
  on.insert(auditEntries).values(auditEntryPlaceholders).prepare('insert_audit_entry'),
);

/** What `recordAudit` writes for `input`, for a statement that writes it with other rows. */
export function auditEntryValues(input: AuditEntryInput): AuditEntryValues {
  return {
    entryId: newAuditEntryId(),
    occurredAt: new Date(),
    actorClientId: input.actor.clientId,
    actorKind: input.actor.kind,
    operatorId: input.operatorId ?? null,
    centreCode: input.centreCode ?? null,
    action: input.action,
    subjectRef: input.subjectRef ?? null,
    fields: input.fields ?? [],
    materialTypes: input.materialTypes ?? [],
    purpose: input.purpose ?? null,
    caseRef: input.caseRef ?? null,
    outcome: input.outcome,
    requestId: input.requestId ?? null,
  };
}

export async function recordAudit(tx: Queryable, input: AuditEntryInput): Promise<string> {
  const values = auditEntryValues(input);
  await insertAuditEntry(tx, values);
  return values.entryId;
}
