/**
 * Audit entries of personal-data access, written by the service that performs the access in the
 * same transaction (fail closed). A disclosure names the policy decision that allowed it, so no
 * service can record (and so perform) an access the policy was not asked about; a refusal is
 * written in a transaction of its own, since the refused work is rolled back.
 */
import { type AuditEntryInput, recordAudit } from '../audit/record.js';
import type { Queryable } from '../db/client.js';
import { ApiError } from '../platform/errors.js';
import type { AccessContext, AllowedDecision, RequestAccess } from './context.js';

/** Who acts, why and where: what an audit entry of an access records about the caller. */
type Actor = Pick<AccessContext, 'principal' | 'purpose' | 'requestId'> & { access?: RequestAccess };

export interface Disclosure {
  /** The policy's yes for this access. */
  decision: AllowedDecision;
  action: string;
  subjectId: string;
  fields: string[];
  materialTypes?: string[];
  /** The case this access serves, when the route knows it better than the caller's header. */
  caseRef?: string | null;
}

/** The audit entry of an allowed disclosure (for `auditAccess`, or a statement that writes it with the access's rows). */
export function disclosureEntry(context: Actor, disclosure: Disclosure): AuditEntryInput {
  return {
    actor: context.principal,
    operatorId: context.purpose.operatorId,
    centreCode: context.access?.actingCentre() ?? null,
    action: disclosure.action,
    subjectRef: disclosure.subjectId,
    fields: disclosure.fields,
    materialTypes: [...new Set(disclosure.materialTypes ?? [])].sort(),
    purpose: context.purpose.purpose,
    caseRef: disclosure.caseRef === undefined ? context.purpose.caseRef : disclosure.caseRef,
    outcome: 'allowed',
    requestId: context.requestId,
  };
}

/** Records an allowed disclosure of a subject's data in the transaction that performs it. */
export async function auditAccess(tx: Queryable, context: Actor, disclosure: Disclosure): Promise<void> {
  await recordAudit(tx, disclosureEntry(context, disclosure));
}

export interface Refusal {
  action: string;
  subjectId: string | null;
  /** `allowed` only for a decision recorded before work that runs outside any transaction. */
  outcome: 'denied' | 'not_found' | 'allowed';
  fields?: string[];
  materialTypes?: string[];
  caseRef?: string | null;
}

/** Records a refused access (or a decision ahead of work outside a transaction) in its own transaction. */
export async function auditRefusal(context: Actor & Pick<AccessContext, 'db'>, refusal: Refusal): Promise<void> {
  await context.db.transaction(async (tx) => {
    await recordAudit(tx, {
      actor: context.principal,
      operatorId: context.purpose.operatorId,
      centreCode: context.access?.actingCentre() ?? null,
      action: refusal.action,
      subjectRef: refusal.subjectId,
      fields: refusal.fields ?? [],
      materialTypes: refusal.materialTypes ?? [],
      purpose: context.purpose.purpose,
      caseRef: refusal.caseRef === undefined ? context.purpose.caseRef : refusal.caseRef,
      outcome: refusal.outcome,
      requestId: context.requestId,
    });
  });
}

/**
 * Runs a service function's work and, when it ends in a refusal (403, or the 404 that hides what
 * the caller may not see), records the refusal: every refused request for personal data is on
 * the record, and on the subject's own access log when the subject is known.
 */
export async function auditRefusals<T>(
  context: Actor & Pick<AccessContext, 'db'>,
  refusal: Omit<Refusal, 'outcome'>,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      await auditRefusal(context, {
        ...refusal,
        outcome: error.status === 404 ? 'not_found' : 'denied',
        fields: [...(refusal.fields ?? []), `refused:${error.code}`],
      });
    }
    throw error;
  }
}
