/**
 * Tokens for a citizen's own data tracker. A window system mints one only at the applicant's own
 * request and with the applicant present: the identity document they hand over must match the
 * subject, and their identity must have been verified against the population register — earlier
 * in the same case, or now, in this request. Without that, any window that had once resolved a
 * subject could read the subject's access log in the subject's name.
 */
import { and, arrayContains, desc, eq } from 'drizzle-orm';
import { auditAccess, auditRefusals } from '../access/audit.js';
import { auditEntries } from '../db/schema.js';
import { ApiError, type Message, message } from '../platform/errors.js';
import { rateLimited } from '../platform/rate-limit.js';
import type { SharedLimiter } from '../platform/shared-limits.js';
import { parseSubjectIdentifier } from './identifiers.js';
import { normaliseName, requireSubject } from './subjects.js';
import { type VerificationContext, verifySubjectIdentity } from './verification.js';

const ACTION = 'subject.tracker_token.issue';

export interface PresentedIdentity {
  /** The ID number on the document the applicant presents. */
  identifier: string;
  name: string;
}

function presenceUnproven(detail: Message): ApiError {
  return new ApiError('presence_unproven', detail);
}

/** Whether this client verified the subject's identity with a match earlier in this case. */
async function verifiedInCase(context: VerificationContext, subjectId: string, caseRef: string): Promise<boolean> {
  const [entry] = await context.db
    .select({ id: auditEntries.id })
    .from(auditEntries)
    .where(
      and(
        eq(auditEntries.action, 'subject.identity_verification'),
        eq(auditEntries.subjectRef, subjectId),
        eq(auditEntries.actorClientId, context.principal.clientId),
        eq(auditEntries.caseRef, caseRef),
        eq(auditEntries.outcome, 'allowed'),
        arrayContains(auditEntries.fields, ['result:match']),
      ),
    )
    .orderBy(desc(auditEntries.id))
    .limit(1);
  return entry !== undefined;
}

/**
 * Document mismatches one client may present for one subject per `PRESENCE_FAILURE_WINDOW_MS`
 * before its checks of that subject are refused (429) until the window ends. The comparison says
 * whether a guess is right, so without a bound a window that sees a subject masked (「110105********002X」,
 * 「张*」) could try birth dates until one matches (review 16).
 */
export const PRESENCE_FAILURES_PER_SUBJECT = 5;
export const PRESENCE_FAILURE_WINDOW_MS = 24 * 3600_000;

export async function issueTrackerToken<Token>(
  context: VerificationContext,
  subjectId: string,
  presented: PresentedIdentity,
  mint: (subjectId: string) => Promise<Token>,
  presenceFailures: SharedLimiter,
): Promise<Token> {
  return auditRefusals(context, { action: ACTION, subjectId }, async () => {
    const decision = await context.access.require(
      context.db,
      'access_log.issue',
      { kind: 'access_log', subjectId },
      message('subject.not_found'),
    );
    const subject = await requireSubject(context.db, context.access.protection, subjectId);
    if (subject.kind !== 'person') {
      throw new ApiError('identity_verification_not_applicable', message('identity.access_log_persons_only'));
    }
    const failureKey = `${context.principal.clientId}\n${subject.id}`;
    const lockedFor = await presenceFailures.blocked(failureKey);
    if (lockedFor !== null)
      throw rateLimited(lockedFor, message('identity.presence_checks_exhausted', { seconds: lockedFor }));
    const parsed = parseSubjectIdentifier('resident_id', presented.identifier);
    if (
      !parsed.ok ||
      parsed.value !== subject.identifier ||
      normaliseName(presented.name) !== normaliseName(subject.name)
    ) {
      await presenceFailures.take(failureKey);
      throw presenceUnproven(message('identity.document_mismatch'));
    }
    let how: string;
    if (context.purpose.caseRef !== null && (await verifiedInCase(context, subject.id, context.purpose.caseRef))) {
      how = 'verified:case';
    } else {
      const verification = await verifySubjectIdentity(context, subject.id, {});
      if (verification.outcome !== 'match')
        throw presenceUnproven(message('identity.register_not_verified', { outcome: verification.outcome }));
      how = 'verified:now';
    }
    const token = await mint(subject.id);
    await context.db.transaction((tx) =>
      auditAccess(tx, context, { decision, action: ACTION, subjectId: subject.id, fields: ['access_log', how] }),
    );
    return token;
  });
}
