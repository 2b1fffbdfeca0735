/**
 * Supervision by centre: which part of the tree a supervisor sees, and the figures of a centre's
 * subtree — per centre (each rolled up over the centres below it), per window system and per
 * operator. A case counts where it is handled now (its current centre); windows and operators
 * count the cases they accepted among those.
 *
 * One aggregate statement over the cases of the subtree accepted in the period (grouping sets by
 * centre, window and operator); the roll-up up the tree is done here over at most a row per
 * centre. bench/centres.ts measures it on 1,000 centres and 2,000,000 cases.
 */
import { sql } from 'drizzle-orm';
import type { CentreDirectory, CentreRow } from '../access/reference-data.js';
import { type Queryable, reportRows } from '../db/client.js';
import { type SupervisionScope, caseInScope } from './scope.js';
import { type SummaryPeriod, checkPeriod } from './summary.js';

export interface CentreFigures {
  /** Cases accepted in the period. */
  accepted: number;
  /** Of those, concluded (completed or rejected). */
  concluded: number;
  onTime: number;
  /** onTime / concluded, four decimals; null without concluded cases. */
  onTimeRate: number | null;
  /** Concluded after the due date, or still open past it today. */
  overdue: number;
  /** Calendar days from acceptance to conclusion, on average, one decimal; null without concluded cases. */
  averageHandlingDays: number | null;
  materialsHandedIn: number;
  materialsReused: number;
  /** Transfers and escalations of these cases. */
  transfers: number;
}

export interface CentreStatistics {
  centre: SupervisionScope;
  period: SummaryPeriod;
  today: string;
  totals: CentreFigures;
  /** Every centre of the subtree, each rolled up over its own subtree, the root first. */
  centres: (CentreFigures & { code: string; name: string; level: CentreRow['level']; parentCode: string | null })[];
  /** Window systems, by the cases they accepted. */
  windows: (CentreFigures & { clientId: string })[];
  /** Operators, by the cases they accepted (an operator id is per centre). */
  operators: (CentreFigures & { centreCode: string | null; operatorId: string })[];
}

interface Sums {
  accepted: number;
  concluded: number;
  onTime: number;
  overdue: number;
  handlingDays: number;
  handedIn: number;
  reused: number;
  transfers: number;
}

const ZERO: Sums = {
  accepted: 0,
  concluded: 0,
  onTime: 0,
  overdue: 0,
  handlingDays: 0,
  handedIn: 0,
  reused: 0,
  transfers: 0,
};
const add = (a: Sums, b: Sums): Sums => ({
  accepted: a.accepted + b.accepted,
  concluded: a.concluded + b.concluded,
  onTime: a.onTime + b.onTime,
  overdue: a.overdue + b.overdue,
  handlingDays: a.handlingDays + b.handlingDays,
  handedIn: a.handedIn + b.handedIn,
  reused: a.reused + b.reused,
  transfers: a.transfers + b.transfers,
});
const rounded = (value: number, places: number): number => Math.round(value * 10 ** places) / 10 ** places;

function figures(sums: Sums): CentreFigures {
  return {
    accepted: sums.accepted,
    concluded: sums.concluded,
    onTime: sums.onTime,
    onTimeRate: sums.concluded > 0 ? rounded(sums.onTime / sums.concluded, 4) : null,
    overdue: sums.overdue,
    averageHandlingDays: sums.concluded > 0 ? rounded(sums.handlingDays / sums.concluded, 1) : null,
    materialsHandedIn: sums.handedIn,
    materialsReused: sums.reused,
    transfers: sums.transfers,
  };
}

interface GroupRow {
  by: 'centre' | 'window' | 'operator' | 'all';
  centre_code: string | null;
  client_id: string | null;
  accepting_centre_code: string | null;
  operator_id: string | null;
  accepted: unknown;
  concluded: unknown;
  on_time: unknown;
  overdue: unknown;
  handling_days: unknown;
  handed_in: unknown;
  reused: unknown;
  transfers: unknown;
}

const sumsOf = (row: GroupRow): Sums => ({
  accepted: Number(row.accepted ?? 0),
  concluded: Number(row.concluded ?? 0),
  onTime: Number(row.on_time ?? 0),
  overdue: Number(row.overdue ?? 0),
  handlingDays: Number(row.handling_days ?? 0),
  handedIn: Number(row.handed_in ?? 0),
  reused: Number(row.reused ?? 0),
  transfers: Number(row.transfers ?? 0),
});

/** The figures of `scope`'s subtree for the cases accepted in `period`; overdue is judged at `today`. */
export async function centreStatistics(
  db: Queryable,
  directory: CentreDirectory,
  scope: SupervisionScope,
  period: SummaryPeriod,
  today: string,
): Promise<CentreStatistics> {
  checkPeriod(period);
  const rows = await reportRows<GroupRow>(
    db,
    sql`
      select case when grouping(c.centre_code) = 0 then 'centre'
                  when grouping(c.client_id) = 0 then 'window'
                  when grouping(c.operator_id) = 0 then 'operator' else 'all' end as by,
             c.centre_code, c.client_id, c.accepting_centre_code, c.operator_id,
             count(*)::int as accepted,
             count(*) filter (where c.status in ('completed', 'rejected', 'partially_rejected'))::int as concluded,
             count(*) filter (where c.status in ('completed', 'rejected', 'partially_rejected') and c.completed_on <= c.due_on)::int as on_time,
             count(*) filter (where (c.status in ('completed', 'rejected', 'partially_rejected') and c.completed_on > c.due_on)
                                 or (c.status not in ('completed', 'rejected', 'partially_rejected') and c.due_on < ${today}::date))::int as overdue,
             coalesce(sum(c.completed_on - c.accepted_on) filter (where c.status in ('completed', 'rejected', 'partially_rejected')), 0)::int as handling_days,
             coalesce(sum(c.materials_handed_in), 0)::int as handed_in,
             coalesce(sum(c.materials_reused), 0)::int as reused,
             coalesce(sum(c.transfers), 0)::int as transfers
        from cases c
       where ${caseInScope(scope)}
         and c.accepted_on between ${period.from}::date and ${period.to}::date
       group by grouping sets ((c.centre_code), (c.client_id), (c.accepting_centre_code, c.operator_id), ())`,
  );

  const own = new Map<string, Sums>();
  for (const row of rows) if (row.by === 'centre' && row.centre_code !== null) own.set(row.centre_code, sumsOf(row));
  const members = [...directory.centres.values()]
    .filter((centre) => centre.path.startsWith(scope.path))
    .sort((a, b) => a.path.localeCompare(b.path));
  // Each centre's figures over its own subtree: its cases are added to it and every centre above it.
  const rolledUp = new Map<string, Sums>();
  for (const [code, sums] of own) {
    for (const above of (directory.centres.get(code)?.path ?? '').split('/'))
      if (above !== '') rolledUp.set(above, add(rolledUp.get(above) ?? ZERO, sums));
  }
  const rolled = members.map((centre) => ({
    code: centre.code,
    name: centre.name,
    level: centre.level,
    parentCode: centre.parentCode,
    ...figures(rolledUp.get(centre.code) ?? ZERO),
  }));
  const total = rows.find((row) => row.by === 'all');
  return {
    centre: scope,
    period,
    today,
    totals: figures(total ? sumsOf(total) : ZERO),
    centres: rolled,
    windows: rows
      .filter((row) => row.by === 'window' && row.client_id !== null)
      .map((row) => ({ clientId: row.client_id as string, ...figures(sumsOf(row)) }))
      .sort((a, b) => a.clientId.localeCompare(b.clientId)),
    operators: rows
      .filter((row) => row.by === 'operator' && row.operator_id !== null)
      .map((row) => ({
        centreCode: row.accepting_centre_code,
        operatorId: row.operator_id as string,
        ...figures(sumsOf(row)),
      }))
      .sort((a, b) => `${a.centreCode}${a.operatorId}`.localeCompare(`${b.centreCode}${b.operatorId}`)),
  };
}
