/**
 * The supervision page's trends, up to a given day (the last day of the period shown, today by
 * default): cases accepted and concluded per day over 30 days, the on-time rate per week over 12
 * weeks (Monday to Sunday), and the cases overdue on each of the 30 days. Computed by the
 * database from the cases alone, so they are the same after a restart and on every instance, and
 * never read the wall clock: the day is passed in.
 *
 * "Overdue on day d": accepted by d, due before d, not concluded by d, and not waiting for the
 * applicant since d or earlier (a stopped clock moves the due date when it restarts). It is the
 * deadline warning of that day judged by calendar dates; the warnings table of the page counts
 * working days and is the authority for today.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, reportRows } from '../db/client.js';
import { addDays } from '../materials/dates.js';
import { type SupervisionScope, caseInScope } from './scope.js';

export const TREND_DAYS = 30;
export const TREND_WEEKS = 12;

export interface DayTrend {
  day: string;
  accepted: number;
  concluded: number;
  /** Open past their due date on that day. */
  overdue: number;
}

export interface WeekTrend {
  /** The Monday the week starts on. */
  weekStart: string;
  /** The Sunday it ends on (the last week may be cut short by the day the trends run to). */
  weekEnd: string;
  concluded: number;
  onTime: number;
  /** onTime / concluded, four decimals; null without concluded cases. */
  onTimeRate: number | null;
}

export interface SupervisionTrends {
  /** The last day the trends cover. */
  until: string;
  days: DayTrend[];
  weeks: WeekTrend[];
}

/** The Monday of the ISO week `day` lies in. */
export function mondayOf(day: string): string {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return addDays(day, -((weekday + 6) % 7));
}

const CONCLUDED = sql`c.status in ('completed', 'rejected', 'partially_rejected')`;

export async function supervisionTrends(
  db: Queryable,
  scope: SupervisionScope | null,
  until: string,
): Promise<SupervisionTrends> {
  const firstDay = addDays(until, -(TREND_DAYS - 1));
  const firstWeek = addDays(mondayOf(until), -7 * (TREND_WEEKS - 1));

  const accepted = await reportRows<{ day: string; cases: unknown }>(
    db,
    sql`
      select c.accepted_on::text as day, count(*)::int as cases
        from cases c
       where ${caseInScope(scope)} and c.accepted_on between ${firstDay}::date and ${until}::date
       group by c.accepted_on`,
  );
  const concluded = await reportRows<{ day: string; cases: unknown }>(
    db,
    sql`
      select c.completed_on::text as day, count(*)::int as cases
        from cases c
       where ${caseInScope(scope)} and ${CONCLUDED} and c.completed_on between ${firstDay}::date and ${until}::date
       group by c.completed_on`,
  );
  const overdue = await reportRows<{ day: string; cases: unknown }>(
    db,
    sql`
      select g.day::date::text as day, count(c.id)::int as cases
        from generate_series(${firstDay}::date, ${until}::date, interval '1 day') as g(day)
        left join cases c
          on ${caseInScope(scope)}
         and c.accepted_on <= g.day and c.due_on < g.day
         and (c.completed_on is null or c.completed_on > g.day)
         and (c.paused_on is null or c.paused_on > g.day)
       group by g.day
       order by g.day`,
  );
  const weekly = await reportRows<{ week: string; concluded: unknown; on_time: unknown }>(
    db,
    sql`
      select date_trunc('week', c.completed_on)::date::text as week, count(*)::int as concluded,
             count(*) filter (where c.due_on is not null and c.completed_on <= c.due_on)::int as on_time
        from cases c
       where ${caseInScope(scope)} and ${CONCLUDED} and c.completed_on between ${firstWeek}::date and ${until}::date
       group by 1`,
  );

  const byDay = (rows: { day: string; cases: unknown }[]) => new Map(rows.map((row) => [row.day, Number(row.cases)]));
  const acceptedOn = byDay(accepted);
  const concludedOn = byDay(concluded);
  const overdueOn = byDay(overdue);
  const days: DayTrend[] = [];
  for (let index = 0; index < TREND_DAYS; index += 1) {
    const day = addDays(firstDay, index);
    days.push({
      day,
      accepted: acceptedOn.get(day) ?? 0,
      concluded: concludedOn.get(day) ?? 0,
      overdue: overdueOn.get(day) ?? 0,
    });
  }
  const weeks: WeekTrend[] = [];
  for (let index = 0; index < TREND_WEEKS; index += 1) {
    const weekStart = addDays(firstWeek, 7 * index);
    const row = weekly.find((entry) => entry.week === weekStart);
    const weekConcluded = Number(row?.concluded ?? 0);
    const onTime = Number(row?.on_time ?? 0);
    const sunday = addDays(weekStart, 6);
    weeks.push({
      weekStart,
      weekEnd: sunday < until ? sunday : until,
      concluded: weekConcluded,
      onTime,
      onTimeRate: weekConcluded > 0 ? Math.round((onTime / weekConcluded) * 10_000) / 10_000 : null,
    });
  }
  return { until, days, weeks };
}
