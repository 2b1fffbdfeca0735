/**
 * Department status of a case, from a pushed callback or from polling the adapter, applied the
 * same way: the delivery's department status moves (never backwards in time, never out of a final
 * state), the event joins the case timeline, and the case status follows from all its deliveries —
 * a joint case completes when every department has completed; any department refusing rejects
 * it (or, where the item allows it, leaves it `partially_rejected`) and voids the others' parts;
 * a staged item's next stage starts when the one before has completed; any department waiting
 * for the applicant (补正) stops the clock until none is, and the working days it stood still are
 * added to the due dates.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { DepartmentCaseStatus } from '../../adapters/sdk/types.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears } from '../calendar/provisional.js';
import { departmentProvider } from '../certificates/store.js';
import type { Queryable } from '../db/client.js';
import { caseEvents, cases, deliveries, items } from '../db/schema.js';
import { chinaToday } from '../materials/dates.js';
import { ApiError, message } from '../platform/errors.js';
import { maskPersonalText } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
import { type ReceivedResultCertificate, recordResultCertificate } from '../results/electronic.js';
import { prepareResult } from '../results/results.js';

export type CaseRow = typeof cases.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;
export type CaseStatus = CaseRow['status'];

const FINAL_DEPARTMENT_STATUSES: ReadonlySet<string> = new Set(['completed', 'rejected']);

export function isFinalDepartmentStatus(status: string | null): boolean {
  return status !== null && FINAL_DEPARTMENT_STATUSES.has(status);
}

export interface DepartmentStatusUpdate {
  caseId: string;
  departmentCode: string;
  status: DepartmentCaseStatus;
  occurredAt: Date;
  message?: string | null;
  source: 'callback' | 'poll';
  /** The department's id of a pushed event; a second use is a replay. */
  externalEventId?: string | null;
  /** With `completed`: the result document the department issued, its bytes already stored (results/electronic.ts). */
  resultCertificate?: ReceivedResultCertificate | null;
  /** For the holder's access log when a result document is recorded. */
  requestId?: string | null;
}

export interface AppliedStatus {
  caseStatus: CaseStatus;
  /** False when the update changed nothing (same status again from a poll). */
  changed: boolean;
}

/** What the case outcome is decided from, per delivery. */
export interface DeliveryState {
  status: DeliveryRow['status'];
  departmentStatus: string | null;
}

/**
 * The case status that follows from its deliveries. A refusal (a `rejected` status, or a
 * submission the department refused outright) rejects the whole case, unless the item lets its
 * departments' parts stand alone (`allowsPartial`): then the case runs on until the others are
 * final and ends `partially_rejected` when one of them completed. A delivery held for a later
 * stage counts as not done.
 */
export function caseStatusFrom(states: readonly DeliveryState[], allowsPartial = false): CaseStatus {
  const statuses = states
    .filter((state) => state.status !== 'cancelled')
    .map((state) => (state.status === 'refused' ? 'rejected' : state.departmentStatus));
  if (statuses.some((status) => status === 'rejected')) {
    if (!allowsPartial) return 'rejected';
    const others = statuses.filter((status) => status !== 'rejected');
    if (others.length === 0) return 'rejected';
    if (others.every((status) => status === 'completed')) return 'partially_rejected';
    return others.some((status) => status === 'awaiting_applicant') ? 'awaiting_applicant' : 'in_progress';
  }
  if (statuses.length > 0 && statuses.every((status) => status === 'completed')) return 'completed';
  if (statuses.some((status) => status === 'awaiting_applicant')) return 'awaiting_applicant';
  if (statuses.some((status) => status !== null)) return 'in_progress';
  return 'submitted';
}

export function isFinalCaseStatus(status: CaseStatus): boolean {
  return status === 'completed' || status === 'rejected' || status === 'partially_rejected';
}

/** Due dates after the clock stood still for `pausedWorkingDays` in all. */
export function dueDates(
  calendar: WorkingCalendar,
  acceptedOn: string,
  promisedDays: number,
  statutoryDays: number,
  pausedWorkingDays: number,
) {
  return {
    dueOn: calendar.addWorkingDays(acceptedOn, promisedDays + pausedWorkingDays),
    statutoryDueOn: calendar.addWorkingDays(acceptedOn, statutoryDays + pausedWorkingDays),
  };
}

/**
 * Applies one department status update inside the caller's transaction. Throws
 * `callback_replayed`, `callback_stale` or `case_already_final` for a callback that must be
 * refused; a poll that brings nothing new returns `changed: false`.
 */
export async function applyDepartmentStatus(
  tx: Queryable,
  protection: DataProtection,
  calendar: WorkingCalendar,
  statutoryDays: number,
  update: DepartmentStatusUpdate,
): Promise<AppliedStatus> {
  const [caseRow] = await tx.select().from(cases).where(eq(cases.id, update.caseId)).for('update');
  if (!caseRow) throw new ApiError('callback_unknown_case', message('case.not_found'));
  const [delivery] = await tx
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.caseId, update.caseId), eq(deliveries.departmentCode, update.departmentCode)))
    .for('update');
  if (!delivery)
    throw new ApiError(
      'callback_wrong_department',
      message('callback.not_delivered_to', { caseNumber: caseRow.caseNumber, department: update.departmentCode }),
    );
  if (delivery.status === 'dead') {
    throw new ApiError(
      'callback_wrong_department',
      message('callback.delivery_failed', {
        caseNumber: caseRow.caseNumber,
        department: update.departmentCode,
        lastError: delivery.lastError ?? 'dead-lettered',
      }),
    );
  }

  // A part withdrawn after another department refused the case (cancelled in the department's
  // system, by its cancel or by hand) is over: a later status, or a result document, from it
  // would be filed on a case that no longer has that part.
  if (delivery.status === 'cancelled' || delivery.cancelStatus === 'cancelled' || delivery.cancelStatus === 'handled') {
    if (update.source === 'poll') return { caseStatus: caseRow.status, changed: false };
    throw new ApiError(
      'case_already_final',
      message('callback.part_withdrawn', { department: update.departmentCode, caseNumber: caseRow.caseNumber }),
    );
  }

  if (update.externalEventId) {
    const [seen] = await tx
      .select({ id: caseEvents.id })
      .from(caseEvents)
      .where(
        and(
          eq(caseEvents.departmentCode, update.departmentCode),
          eq(caseEvents.externalEventId, update.externalEventId),
        ),
      );
    if (seen)
      throw new ApiError('callback_replayed', message('callback.replayed', { eventId: update.externalEventId }), {
        eventId: update.externalEventId,
      });
  }
  const unchanged = delivery.departmentStatus === update.status;
  if (update.source === 'poll' && unchanged) return { caseStatus: caseRow.status, changed: false };
  if (isFinalDepartmentStatus(delivery.departmentStatus) && !unchanged) {
    if (update.source === 'poll') return { caseStatus: caseRow.status, changed: false };
    throw new ApiError(
      'case_already_final',
      message('callback.already_final', {
        department: update.departmentCode,
        status: delivery.departmentStatus ?? '',
        caseNumber: caseRow.caseNumber,
      }),
    );
  }
  if (delivery.departmentUpdatedAt && update.occurredAt.getTime() < delivery.departmentUpdatedAt.getTime()) {
    if (update.source === 'poll') return { caseStatus: caseRow.status, changed: false };
    throw new ApiError(
      'callback_stale',
      message('callback.older_than_last', { lastAppliedAt: delivery.departmentUpdatedAt.toISOString() }),
    );
  }
  const resultCertificate = update.resultCertificate ?? null;
  if (resultCertificate && update.status !== 'completed') {
    throw new ApiError(
      'result_certificate_invalid',
      message('callback.result_only_on_completion', { status: update.status }),
      { problem: 'not completed' },
    );
  }

  const departmentMessage = update.message ? maskPersonalText(update.message) : null;
  await tx
    .update(deliveries)
    .set({
      departmentStatus: update.status,
      departmentUpdatedAt: update.occurredAt,
      // The department's own words (a refusal's reason, a 补正 request), kept but for anything
      // shaped like an identifier (a co-owner's ID number quoted in a reason): windows, the
      // applicant's look-up and other departments see this text.
      ...(departmentMessage ? { departmentMessage } : {}),
      // A part the department itself refused needs no withdrawing.
      ...(update.status === 'rejected' && delivery.cancelStatus === 'pending' ? { cancelStatus: null } : {}),
      ...(update.source === 'poll' ? { lastPolledAt: new Date() } : {}),
    })
    .where(eq(deliveries.id, delivery.id));
  await tx.insert(caseEvents).values({
    caseId: caseRow.id,
    kind: 'department_status',
    departmentCode: update.departmentCode,
    externalEventId: update.externalEventId ?? null,
    detail: {
      status: update.status,
      source: update.source,
      ...(departmentMessage ? { message: departmentMessage } : {}),
    },
    occurredAt: update.occurredAt,
  });

  if (resultCertificate) {
    const actor = { clientId: departmentProvider(update.departmentCode), kind: 'department' as const };
    await recordResultCertificate(
      tx,
      protection,
      { caseId: caseRow.id, departmentCode: update.departmentCode, actor, requestId: update.requestId ?? null },
      resultCertificate,
      update.occurredAt,
    );
  }
  const next = await settleCase(tx, calendar, statutoryDays, caseRow, update.occurredAt);
  // A document sent after the case completed (a repeated completion) issues a result waiting for it.
  if (resultCertificate && (next === 'completed' || next === 'partially_rejected'))
    await prepareResult(tx, caseRow.id, update.occurredAt);
  return { caseStatus: next, changed: true };
}

/**
 * A department refused the submission itself (a business refusal at delivery, e.g. 该不动产已被查封):
 * its delivery is final as `refused` with the department's reason verbatim, and the case settles
 * as if the department had reported `rejected`. Inside the caller's transaction.
 */
export async function recordDepartmentRefusal(
  tx: Queryable,
  calendar: WorkingCalendar,
  refusal: {
    deliveryId: string;
    caseId: string;
    departmentCode: string;
    code: string | null;
    message: string | null;
    lastError: string;
    at: Date;
  },
): Promise<CaseStatus> {
  const [caseRow] = await tx.select().from(cases).where(eq(cases.id, refusal.caseId)).for('update');
  if (!caseRow) throw new Error(`delivery ${refusal.deliveryId} has no case`);
  const [item] = await tx
    .select({ statutoryDays: items.statutoryDays })
    .from(items)
    .where(eq(items.code, caseRow.itemCode));
  await tx
    .update(deliveries)
    .set({
      status: 'refused',
      departmentStatus: 'rejected',
      departmentUpdatedAt: refusal.at,
      departmentMessage: refusal.message,
      lastError: refusal.lastError,
      leaseOwner: null,
      leaseUntil: null,
      cancelStatus: null,
    })
    .where(eq(deliveries.id, refusal.deliveryId));
  await tx.insert(caseEvents).values({
    caseId: caseRow.id,
    kind: 'department_refused',
    departmentCode: refusal.departmentCode,
    detail: {
      ...(refusal.code ? { code: refusal.code } : {}),
      ...(refusal.message ? { message: refusal.message } : {}),
    },
    occurredAt: refusal.at,
  });
  return settleCase(tx, calendar, item?.statutoryDays ?? 0, caseRow, refusal.at);
}

/**
 * The case's status from all its deliveries, and what follows from it: a refused case voids the
 * other departments' parts (not yet sent: cancelled; sent and still running: to be told, which
 * the delivery worker does through the department's cancel or by a supervision warning); a
 * completed stage of a staged item releases the next one.
 */
async function settleCase(
  tx: Queryable,
  calendar: WorkingCalendar,
  statutoryDays: number,
  caseRow: CaseRow,
  at: Date,
): Promise<CaseStatus> {
  const [rules] = await tx
    .select({ allowsPartial: items.allowsPartial, kind: items.kind })
    .from(items)
    .where(eq(items.code, caseRow.itemCode));
  const all = await tx
    .select()
    .from(deliveries)
    .where(eq(deliveries.caseId, caseRow.id))
    .orderBy(asc(deliveries.stage), asc(deliveries.departmentCode));
  // An immediate case (即办件) was decided at the window: the departments' statuses are their record of it.
  if (rules?.kind === 'immediate' && isFinalCaseStatus(caseRow.status)) return caseRow.status;
  const next = caseStatusFrom(all, rules?.allowsPartial ?? false);
  const events: { kind: string; detail: Record<string, unknown> }[] = [];
  if (next === 'rejected') {
    // An attempt in flight (leased) may still arrive: it is told afterwards, like a delivered part.
    const inFlight = (delivery: DeliveryRow) =>
      delivery.status === 'pending' && delivery.leaseUntil !== null && delivery.leaseUntil.getTime() > Date.now();
    // A dead-lettered part never reached its department either (review 21): cancelled, so no
    // requeue sends the refused case afterwards.
    const unsent = all.filter(
      (delivery) =>
        delivery.status === 'held' ||
        delivery.status === 'dead' ||
        (delivery.status === 'pending' && !inFlight(delivery)),
    );
    const running = all.filter(
      (delivery) =>
        ((delivery.status === 'delivered' && !isFinalDepartmentStatus(delivery.departmentStatus)) ||
          inFlight(delivery)) &&
        delivery.cancelStatus === null,
    );
    if (unsent.length > 0) {
      await tx
        .update(deliveries)
        .set({ status: 'cancelled', cancelledAt: at, leaseOwner: null, leaseUntil: null })
        .where(
          inArray(
            deliveries.id,
            unsent.map((delivery) => delivery.id),
          ),
        );
    }
    if (running.length > 0) {
      // next_attempt_at paces the withdrawal attempts of a delivered part (it is not delivered again).
      await tx
        .update(deliveries)
        .set({ cancelStatus: 'pending', nextAttemptAt: sql`now()` })
        .where(
          inArray(
            deliveries.id,
            running.map((delivery) => delivery.id),
          ),
        );
    }
    if (unsent.length > 0 || running.length > 0) {
      const refusedBy = all
        .filter((delivery) => delivery.status === 'refused' || delivery.departmentStatus === 'rejected')
        .map((delivery) => delivery.departmentCode);
      events.push({
        kind: 'joint_refusal',
        detail: {
          refusedBy,
          notSent: unsent.map((delivery) => delivery.departmentCode),
          toCancel: running.map((delivery) => delivery.departmentCode),
        },
      });
    }
  } else if (!isFinalCaseStatus(next)) {
    const released = nextStage(all);
    if (released.length > 0) {
      await tx
        .update(deliveries)
        .set({ status: 'pending', nextAttemptAt: sql`now()` })
        .where(
          inArray(
            deliveries.id,
            released.map((delivery) => delivery.id),
          ),
        );
      events.push({
        kind: 'stage_started',
        detail: { stage: released[0]!.stage, departments: released.map((delivery) => delivery.departmentCode) },
      });
    }
  }
  if (events.length > 0)
    await tx
      .insert(caseEvents)
      .values(events.map((event) => ({ caseId: caseRow.id, kind: event.kind, detail: event.detail, occurredAt: at })));
  await moveCase(tx, withProvisionalYears(calendar), statutoryDays, caseRow, next, at);
  return next;
}

/** The held deliveries of the next stage, once every delivery of the stages before it has completed. */
function nextStage(all: readonly DeliveryRow[]): DeliveryRow[] {
  const held = all.filter((delivery) => delivery.status === 'held');
  if (held.length === 0) return [];
  const stage = Math.min(...held.map((delivery) => delivery.stage));
  const before = all.filter((delivery) => delivery.stage < stage);
  if (!before.every((delivery) => delivery.departmentStatus === 'completed')) return [];
  return held.filter((delivery) => delivery.stage === stage);
}

/** Moves a case to `next`, stopping or restarting its clock and closing it when final. */
async function moveCase(
  tx: Queryable,
  calendar: WorkingCalendar,
  statutoryDays: number,
  caseRow: CaseRow,
  next: CaseStatus,
  at: Date,
): Promise<void> {
  const today = chinaToday(at);
  const changes: Partial<typeof cases.$inferInsert> = { status: next, updatedAt: new Date() };
  const events: { kind: string; detail: Record<string, unknown> }[] = [];
  let pausedWorkingDays = caseRow.pausedWorkingDays;

  if (next === 'awaiting_applicant' && caseRow.pausedOn === null) {
    changes.pausedOn = today;
    events.push({ kind: 'clock_stopped', detail: { on: today } });
  }
  if (next !== 'awaiting_applicant' && caseRow.pausedOn !== null) {
    const stood = calendar.workingDaysBetween(caseRow.pausedOn, today);
    pausedWorkingDays += stood;
    changes.pausedOn = null;
    changes.pausedWorkingDays = pausedWorkingDays;
    if (caseRow.acceptedOn)
      Object.assign(
        changes,
        dueDates(calendar, caseRow.acceptedOn, caseRow.promisedDays, statutoryDays, pausedWorkingDays),
      );
    events.push({
      kind: 'clock_restarted',
      detail: { on: today, workingDaysStopped: stood, dueOn: changes.dueOn ?? caseRow.dueOn },
    });
  }
  if (isFinalCaseStatus(next) && caseRow.completedAt === null) {
    changes.completedAt = at;
    changes.completedOn = today;
    const dueOn = changes.dueOn ?? caseRow.dueOn;
    events.push({ kind: next, detail: { on: today, dueOn, onTime: dueOn !== null && today <= dueOn } });
  }
  if (next === caseRow.status && events.length === 0) return;
  await tx.update(cases).set(changes).where(eq(cases.id, caseRow.id));
  if (events.length > 0)
    await tx
      .insert(caseEvents)
      .values(events.map((event) => ({ caseId: caseRow.id, kind: event.kind, detail: event.detail, occurredAt: at })));
  // A result exists to hand over: prepared in this transaction, so no completed case lacks one.
  if ((next === 'completed' || next === 'partially_rejected') && caseRow.completedAt === null)
    await prepareResult(tx, caseRow.id, at);
}
