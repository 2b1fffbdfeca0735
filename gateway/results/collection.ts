/**
 * Handing over the result at the window (窗口领取): the applicant says the pick-up code from their
 * SMS or the progress look-up, the window types it, the gateway compares. The window never sees
 * the code, so a result is handed over only to someone who has it. Wrong codes are counted on the
 * result; the fifth locks collection for a while (someone guessing), and every try, right or
 * wrong, is on the applicant's access log.
 */
import { timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AccessContext } from '../access/context.js';
import { auditAccess } from '../access/audit.js';
import { recordAudit } from '../audit/record.js';
import { auditCaseRefusals, visibleCase } from '../cases/cases.js';
import { caseEvents, caseResults } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { PICKUP_LOCK_MS, PICKUP_MAX_FAILURES, type WindowResultView, windowResultView } from './results.js';

export interface CollectionAnswer {
  caseNumber: string;
  result: WindowResultView;
}

function sameCode(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A wrong code: counted (and the lock set) in a transaction that commits, then refused. */
type Outcome = { collected: CollectionAnswer } | { refused: ApiError };

export async function collectResult(
  context: AccessContext,
  caseId: string,
  input: { pickupCode: string },
  now: Date,
): Promise<CollectionAnswer> {
  const outcome = await auditCaseRefusals(context, 'case.result_collect', () =>
    context.db.transaction(async (tx): Promise<Outcome> => {
      const visible = await visibleCase(tx, context, caseId, 'case.change', { lock: true });
      const { row } = visible;
      const [result] = await tx.select().from(caseResults).where(eq(caseResults.caseId, caseId)).for('update');
      if (result?.method !== 'window_pickup') {
        const detail = result
          ? message('result.delivered_otherwise', { caseNumber: row.caseNumber, method: result.method })
          : message('result.not_through_gateway', { caseNumber: row.caseNumber });
        throw new ApiError('result_not_for_pickup', detail, { method: result?.method ?? null });
      }
      if (result.status === 'collected') {
        const when = result.collectedAt?.toISOString();
        const detail = message('result.already_collected', { caseNumber: row.caseNumber, when: when ?? 'earlier' });
        throw new ApiError('result_already_collected', detail, { collectedAt: when ?? null });
      }
      if (result.status !== 'ready_for_pickup' || result.pickupCode === null) {
        const detail = message('result.not_ready', { caseNumber: row.caseNumber, status: row.status });
        throw new ApiError('result_not_ready', detail, { caseStatus: row.status });
      }
      if (result.pickupLockedUntil !== null && result.pickupLockedUntil.getTime() > now.getTime()) {
        const retryAfter = Math.max(1, Math.ceil((result.pickupLockedUntil.getTime() - now.getTime()) / 1000));
        const until = result.pickupLockedUntil.toISOString();
        const detail = message('result.pickup_locked', { failures: PICKUP_MAX_FAILURES, until });
        throw new ApiError(
          'pickup_code_locked',
          detail,
          { retryAfterSeconds: retryAfter },
          { headers: { 'Retry-After': String(retryAfter) } },
        );
      }
      // A lock that has run out starts the count afresh.
      const failuresSoFar = result.pickupLockedUntil === null ? result.pickupFailures : 0;
      if (!sameCode(result.pickupCode, input.pickupCode)) {
        const failures = failuresSoFar + 1;
        const lockedUntil = failures >= PICKUP_MAX_FAILURES ? new Date(now.getTime() + PICKUP_LOCK_MS) : null;
        await tx
          .update(caseResults)
          .set({ pickupFailures: failures, pickupLockedUntil: lockedUntil, updatedAt: now })
          .where(eq(caseResults.caseId, caseId));
        await recordAudit(tx, {
          actor: visible.context.principal,
          operatorId: visible.context.purpose.operatorId,
          centreCode: visible.context.access?.actingCentre() ?? null,
          action: 'case.result_collect',
          subjectRef: row.subjectId,
          fields: ['result', 'refused:pickup_code_mismatch'],
          purpose: visible.context.purpose.purpose,
          caseRef: row.caseNumber,
          outcome: 'denied',
          requestId: visible.context.requestId,
        });
        return {
          refused: new ApiError(
            'pickup_code_mismatch',
            message('result.pickup_code_mismatch', {
              caseNumber: row.caseNumber,
              failures,
              maxFailures: PICKUP_MAX_FAILURES,
            }),
            {
              failures,
              remainingTries: Math.max(0, PICKUP_MAX_FAILURES - failures),
            },
          ),
        };
      }
      const collectedBy = visible.context.purpose.operatorId ?? visible.context.principal.clientId;
      const [updated] = await tx
        .update(caseResults)
        .set({
          status: 'collected',
          collectedAt: now,
          collectedBy,
          pickupFailures: 0,
          pickupLockedUntil: null,
          updatedAt: now,
        })
        .where(eq(caseResults.caseId, caseId))
        .returning();
      if (!updated) throw new Error('update returned no row');
      await tx.insert(caseEvents).values({
        caseId,
        kind: 'result_collected',
        detail: { method: 'window_pickup', by: collectedBy },
        occurredAt: now,
      });
      await auditAccess(tx, visible.context, {
        decision: visible.decision,
        action: 'case.result_collect',
        subjectId: row.subjectId,
        fields: ['result'],
      });
      return { collected: { caseNumber: row.caseNumber, result: windowResultView(updated) } };
    }),
  );
  if ('refused' in outcome) throw outcome.refused;
  return outcome.collected;
}
