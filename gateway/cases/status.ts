/**
 * Department status of a case, from a pushed callback or from polling the adapter, applied the
 * same way: the delivery's department status moves (never backwards in time, never out of a final
 * state), the event joins the case timeline, and the case status follows from all its deliveries —
 * a joint case completes when every department has completed; any department rejecting rejects
 * it; any department waiting for the applicant (补正) stops the clock until none is, and the
 * working days it stood still are added to the due dates.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { DepartmentCaseStatus } from '../../adapters/sdk/types.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears } from '../calendar/provisional.js';
import type { Queryable } from '../db/client.js';
import { caseEvents, cases, deliveries } from '../db/schema.js';
import { chinaToday } from '../materials/dates.js';
import { ApiError } from '../platform/errors.js';

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
}

export interface AppliedStatus {
  caseStatus: CaseStatus;
  /** False when the update changed nothing (same status again from a poll). */
  changed: boolean;
}

/** The case status that follows from its deliveries' department statuses. */
export function caseStatusFrom(departmentStatuses: readonly (string | null)[]): CaseStatus {
  if (departmentStatuses.some((status) => status === 'rejected')) return 'rejected';
  if (departmentStatuses.length > 0 && departmentStatuses.every((status) => status === 'completed')) return 'completed';
  if (departmentStatuses.some((status) => status === 'awaiting_applicant')) return 'awaiting_applicant';
  if (departmentStatuses.some((status) => status !== null)) return 'in_progress';
  return 'submitted';
}

/** Due dates after the clock stood still for `pausedWorkingDays` in all. */
export function dueDates(calendar: WorkingCalendar, acceptedOn: string, promisedDays: number, statutoryDays: number, pausedWorkingDays: number) {
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
export async function applyDepartmentStatus(tx: Queryable, calendar: WorkingCalendar, statutoryDays: number, update: DepartmentStatusUpdate): Promise<AppliedStatus> {
  const [caseRow] = await tx.select().from(cases).where(eq(cases.id, update.caseId)).for('update');
  if (!caseRow) throw new ApiError('callback_unknown_case', 'No such case.');
  const [delivery] = await tx
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.caseId, update.caseId), eq(deliveries.departmentCode, update.departmentCode)))
    .for('update');
  if (!delivery) throw new ApiError('callback_wrong_department', `Case ${caseRow.caseNumber} was not delivered to ${update.departmentCode}.`);
  if (delivery.status === 'dead') {
    throw new ApiError('callback_wrong_department', `Case ${caseRow.caseNumber} never reached ${update.departmentCode}: its delivery failed (${delivery.lastError ?? 'dead-lettered'}).`);
  }

  if (update.externalEventId) {
    const [seen] = await tx
      .select({ id: caseEvents.id })
      .from(caseEvents)
      .where(and(eq(caseEvents.departmentCode, update.departmentCode), eq(caseEvents.externalEventId, update.externalEventId)));
    if (seen) throw new ApiError('callback_replayed', `Event ${update.externalEventId} was already received.`, { eventId: update.externalEventId });
  }
  const unchanged = delivery.departmentStatus === update.status;
  if (update.source === 'poll' && unchanged) return { caseStatus: caseRow.status, changed: false };
  if (isFinalDepartmentStatus(delivery.departmentStatus) && !unchanged) {
    if (update.source === 'poll') return { caseStatus: caseRow.status, changed: false };
    throw new ApiError('case_already_final', `${update.departmentCode} already reported ${delivery.departmentStatus} for case ${caseRow.caseNumber}.`);
  }
  if (delivery.departmentUpdatedAt && update.occurredAt.getTime() < delivery.departmentUpdatedAt.getTime()) {
    if (update.source === 'poll') return { caseStatus: caseRow.status, changed: false };
    throw new ApiError('callback_stale', `The event is older than the last status applied (${delivery.departmentUpdatedAt.toISOString()}).`);
  }

  await tx
    .update(deliveries)
    .set({ departmentStatus: update.status, departmentUpdatedAt: update.occurredAt, ...(update.source === 'poll' ? { lastPolledAt: new Date() } : {}) })
    .where(eq(deliveries.id, delivery.id));
  await tx.insert(caseEvents).values({
    caseId: caseRow.id,
    kind: 'department_status',
    departmentCode: update.departmentCode,
    externalEventId: update.externalEventId ?? null,
    detail: { status: update.status, source: update.source, ...(update.message ? { message: update.message } : {}) },
    occurredAt: update.occurredAt,
  });

  const all = await tx.select({ departmentCode: deliveries.departmentCode, departmentStatus: deliveries.departmentStatus }).from(deliveries).where(eq(deliveries.caseId, caseRow.id)).orderBy(asc(deliveries.departmentCode));
  const next = caseStatusFrom(all.map((entry) => entry.departmentStatus));
  await moveCase(tx, withProvisionalYears(calendar), statutoryDays, caseRow, next, update.occurredAt);
  return { caseStatus: next, changed: true };
}

/** Moves a case to `next`, stopping or restarting its clock and closing it when final. */
async function moveCase(tx: Queryable, calendar: WorkingCalendar, statutoryDays: number, caseRow: CaseRow, next: CaseStatus, at: Date): Promise<void> {
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
    if (caseRow.acceptedOn) Object.assign(changes, dueDates(calendar, caseRow.acceptedOn, caseRow.promisedDays, statutoryDays, pausedWorkingDays));
    events.push({ kind: 'clock_restarted', detail: { on: today, workingDaysStopped: stood, dueOn: changes.dueOn ?? caseRow.dueOn } });
  }
  if ((next === 'completed' || next === 'rejected') && caseRow.completedAt === null) {
    changes.completedAt = at;
    changes.completedOn = today;
    const dueOn = changes.dueOn ?? caseRow.dueOn;
    events.push({ kind: next, detail: { on: today, dueOn, onTime: dueOn !== null && today <= dueOn } });
  }
  if (next === caseRow.status && events.length === 0) return;
  await tx.update(cases).set(changes).where(eq(cases.id, caseRow.id));
  if (events.length > 0) await tx.insert(caseEvents).values(events.map((event) => ({ caseId: caseRow.id, kind: event.kind, detail: event.detail, occurredAt: at })));
}
