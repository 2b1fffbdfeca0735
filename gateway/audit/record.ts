/**
 * Writing audit entries. Every access to personal data calls `recordAudit` with the same
 * transaction that performs the access: if the entry cannot be written the transaction fails and
 * so does the access (fail closed). Entries are written unsealed; the sealer chains them later.
 */
import { maskIdentifiersInNote, maskPersonalText } from '../platform/identifier-masking.js';
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

type AuditEntryColumns = Required<
  Omit<typeof auditEntries.$inferInsert, 'id' | 'chainSeq' | 'prevHash' | 'entryHash' | 'sealedAt'>
>;

/**
 * An audit entry as written (its id and time drawn, every column given), under placeholder names
 * of its own (`audit…`): a statement that writes it with other rows (a data-modifying CTE) takes
 * them beside the other rows' values without a clash (a case has a centre code too).
 */
export type AuditEntryValues = {
  [Column in keyof AuditEntryColumns as `audit${Capitalize<Column>}`]: AuditEntryColumns[Column];
};

/** The audit entry insert's values as placeholders (`AuditEntryValues`). */
export const auditEntryPlaceholders = {
  entryId: placeholder('auditEntryId'),
  occurredAt: placeholder('auditOccurredAt'),
  actorClientId: placeholder('auditActorClientId'),
  actorKind: placeholder('auditActorKind'),
  operatorId: placeholder('auditOperatorId'),
  centreCode: placeholder('auditCentreCode'),
  action: placeholder('auditAction'),
  subjectRef: placeholder('auditSubjectRef'),
  fields: placeholder('auditFields'),
  materialTypes: placeholder('auditMaterialTypes'),
  purpose: placeholder('auditPurpose'),
  caseRef: placeholder('auditCaseRef'),
  outcome: placeholder('auditOutcome'),
  requestId: placeholder('auditRequestId'),
};

// The one statement every audited access runs: built once (gateway/db/statements.ts).
const insertAuditEntry = reusableStatement<AuditEntryValues, unknown>((on) =>
  on.insert(auditEntries).values(auditEntryPlaceholders).prepare('insert_audit_entry'),
);

/**
 * What `recordAudit` writes for `input`, for a statement that writes it with other rows. Spread it
 * last into their values (keys added after a spread of this many cost ~50 µs: V8 turns the object
 * into a dictionary).
 */
export function auditEntryValues(input: AuditEntryInput): AuditEntryValues {
  return {
    auditEntryId: newAuditEntryId(),
    auditOccurredAt: new Date(),
    auditActorClientId: input.actor.clientId,
    auditActorKind: input.actor.kind,
    // Both are the calling system's own words: one that used an ID number as its reference must
    // not hand it to every reader of the log (an auditor reads the whole chain without a purpose).
    auditOperatorId: maskIdentifiersInNote(input.operatorId ?? null),
    auditCentreCode: input.centreCode ?? null,
    auditAction: input.action,
    auditSubjectRef: input.subjectRef ?? null,
    // A field may carry another system's words too (a department's event id): masked the same way.
    auditFields: input.fields ? input.fields.map((field) => maskPersonalText(field)) : [],
    auditMaterialTypes: input.materialTypes ?? [],
    auditPurpose: input.purpose ?? null,
    auditCaseRef: maskIdentifiersInNote(input.caseRef ?? null),
    auditOutcome: input.outcome,
    auditRequestId: input.requestId ?? null,
  };
}

/** Rows per insert of `recordAuditMany`: well under PostgreSQL's 65,535 parameters (14 a row). */
const AUDIT_ROWS_PER_INSERT = 1000;

/**
 * Many entries in as few statements as rows allow (a list that shows many people's cases writes
 * one entry on each person's record): in `tx`, so they stand or fall with the answer.
 */
export async function recordAuditMany(tx: Queryable, inputs: readonly AuditEntryInput[]): Promise<void> {
  for (let start = 0; start < inputs.length; start += AUDIT_ROWS_PER_INSERT) {
    const rows = inputs.slice(start, start + AUDIT_ROWS_PER_INSERT).map((input) => {
      const values = auditEntryValues(input);
      return {
        entryId: values.auditEntryId,
        occurredAt: values.auditOccurredAt,
        actorClientId: values.auditActorClientId,
        actorKind: values.auditActorKind,
        operatorId: values.auditOperatorId,
        centreCode: values.auditCentreCode,
        action: values.auditAction,
        subjectRef: values.auditSubjectRef,
        fields: values.auditFields,
        materialTypes: values.auditMaterialTypes,
        purpose: values.auditPurpose,
        caseRef: values.auditCaseRef,
        outcome: values.auditOutcome,
        requestId: values.auditRequestId,
      };
    });
    await tx.insert(auditEntries).values(rows);
  }
}

export async function recordAudit(tx: Queryable, input: AuditEntryInput): Promise<string> {
  const values = auditEntryValues(input);
  await insertAuditEntry(tx, values);
  return values.auditEntryId;
}
