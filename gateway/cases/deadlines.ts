/**
 * Due dates after the working-day calendar changes: when an administrator loads a year (the next
 * year's holidays are published, or a year is corrected), the due dates of every case still
 * running are computed again from its acceptance date, its time limits and the working days its
 * clock stood still. A changed date goes on the case's timeline.
 */
import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears } from '../calendar/provisional.js';
import type { Database } from '../db/client.js';
import { caseEvents, cases, items } from '../db/schema.js';
import { dueDates } from './status.js';

export async function recomputeDueDates(db: Database, calendar: WorkingCalendar): Promise<{ changed: number }> {
  const deadlines = withProvisionalYears(calendar);
  return db.transaction(async (tx) => {
    const running = await tx
      .select({ caseRow: cases, statutoryDays: items.statutoryDays })
      .from(cases)
      .innerJoin(items, eq(items.code, cases.itemCode))
      .where(
        and(inArray(cases.status, ['submitted', 'in_progress', 'awaiting_applicant']), isNotNull(cases.acceptedOn)),
      )
      .for('update', { of: cases });
    let changed = 0;
    for (const { caseRow, statutoryDays } of running) {
      if (caseRow.acceptedOn === null) continue;
      const due = dueDates(
        deadlines,
        caseRow.acceptedOn,
        caseRow.promisedDays,
        statutoryDays,
        caseRow.pausedWorkingDays,
      );
      if (due.dueOn === caseRow.dueOn && due.statutoryDueOn === caseRow.statutoryDueOn) continue;
      await tx
        .update(cases)
        .set({ ...due, updatedAt: new Date() })
        .where(eq(cases.id, caseRow.id));
      await tx.insert(caseEvents).values({
        caseId: caseRow.id,
        kind: 'due_dates_recomputed',
        detail: { from: { dueOn: caseRow.dueOn, statutoryDueOn: caseRow.statutoryDueOn }, to: due },
      });
      changed += 1;
    }
    return { changed };
  });
}
