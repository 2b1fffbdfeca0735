/**
 * Supervision figures for a period: on-time completion, cases by status, materials handed in
 * against those the items require (and how many were reused or fetched instead), delivery
 * latency and failures per department, dead letters, and the department systems' health.
 *
 * Every figure is aggregated by the database (counts, sums, `percentile_cont`), so the cost does
 * not grow with the number of cases on this side; only a row per item, department or dead letter
 * comes back. Periods are China Standard Time dates, both ends included.
 */
import { sql } from 'drizzle-orm';
import type { DepartmentMetricsRecorder } from '../../adapters/sdk/metrics.js';
import { type Queryable, reportRows } from '../db/client.js';
import { type DepartmentCallLedger, departmentCallFigures } from '../departments/call-ledger.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { departmentView } from '../departments/status.js';
import { addDays } from '../materials/dates.js';
import { ApiError, message } from '../platform/errors.js';
import { type FieldProblem, fieldProblem } from '../platform/field-problems.js';
import { type SupervisionScope, caseInScope } from './scope.js';

export interface SummaryPeriod {
  /** First day, `YYYY-MM-DD` (China Standard Time). */
  from: string;
  /** Last day, included. */
  to: string;
}

export interface MaterialFigures {
  /** Cases accepted in the period. */
  cases: number;
  /** Materials their items require (optional ones not counted). */
  required: number;
  /** Handed in by the applicant for the case. */
  handedIn: number;
  /** Already on file and reused. */
  reused: number;
  /** Supplied by a department through the certificate flow. */
  fetched: number;
  /** Accepted missing, to be supplied later (容缺). */
  deferred: number;
  /** handedIn / cases, two decimals; null without cases. */
  averageHandedInPerCase: number | null;
}

export interface DepartmentDeliveries {
  department: string;
  /** Deliveries written in the period (one per department of each case submitted). */
  total: number;
  delivered: number;
  pending: number;
  dead: number;
  /** Needed more than one attempt. */
  retried: number;
  /** Submission → the department's acknowledgement, of those delivered in the period. */
  latencyMs: { delivered: number; p50: number | null; p95: number | null };
}

export interface DeadLetter {
  deliveryId: string;
  caseNumber: string;
  department: string;
  attempts: number;
  /** The error code of the last attempt only: the message may quote the department. */
  lastErrorCode: string | null;
  createdAt: string;
  deadAt: string | null;
}

export type CaseStatusName =
  | 'open'
  | 'submitted'
  | 'in_progress'
  | 'awaiting_applicant'
  | 'completed'
  | 'rejected'
  | 'partially_rejected';

export interface AwaitingDocument {
  caseNumber: string;
  itemCode: string;
  /** The department the item's result certificate comes from: who to chase. */
  department: string | null;
  completedOn: string | null;
}

export interface SupervisionSummary {
  period: SummaryPeriod;
  completion: {
    /** Cases finished (completed or rejected) in the period. */
    concluded: number;
    completed: number;
    rejected: number;
    onTime: number;
    late: number;
    /** onTime / concluded, four decimals; null when nothing was concluded. */
    onTimeRate: number | null;
  };
  /** Cases opened in the period, by their current status. */
  casesByStatus: Record<CaseStatusName, number>;
  materials: MaterialFigures & { byItem: (MaterialFigures & { itemCode: string; itemName: string })[] };
  deliveries: Omit<DepartmentDeliveries, 'department' | 'latencyMs'> & { byDepartment: DepartmentDeliveries[] };
  /** Every delivery dead-lettered now, whatever the period: each needs someone to act. */
  deadLetters: { total: number; items: DeadLetter[] };
  /** Electronic results of completed cases still waiting for the issuing department's document, whatever the period. */
  resultsAwaitingDocument: { total: number; items: AwaitingDocument[] };
  /**
   * The department systems: their breaker as the registry sees it now, their calls and errors over
   * the period from the database (they survive restarts), the latency of the recent calls of this
   * process.
   */
  departments: {
    code: string;
    name: string;
    breakerState: 'closed' | 'open' | 'half_open';
    calls: number;
    errors: number;
    errorsByKind: Record<string, number>;
    lastError: { kind: string; at: string } | null;
    latencyMs: { p50: number | null; p99: number | null; window: number };
  }[];
}

export interface SummaryServices {
  departments: DepartmentRegistry;
  departmentMetrics: DepartmentMetricsRecorder;
  departmentCalls: DepartmentCallLedger;
}

/**
 * The periods the summary answers for. Dates outside these years are typing mistakes or probes
 * (`0001-01-01` has no instant PostgreSQL can store once shifted to UTC), and a year and a day
 * covers any annual report, leap years included, while bounding what one request makes the
 * database aggregate.
 */
export const PERIOD_LIMITS = { earliest: '2000-01-01', latest: '2099-12-31', maxDays: 366 } as const;

const daysBetween = (from: string, to: string): number =>
  (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

/** Refuses a period that is not one the summary answers for, naming the limits (400 validation_failed). */
export function checkPeriod(period: SummaryPeriod): void {
  const { earliest, latest, maxDays } = PERIOD_LIMITS;
  const errors: FieldProblem[] = [];
  for (const end of ['from', 'to'] as const) {
    if (period[end] < earliest || period[end] > latest)
      errors.push(
        fieldProblem(end, `dates run from ${earliest} to ${latest}`, `日期须在 ${earliest} 至 ${latest} 之间`),
      );
  }
  if (period.from > period.to)
    errors.push(
      fieldProblem('from', `${period.from} is after ${period.to}`, `起始日 ${period.from} 晚于截止日 ${period.to}`),
    );
  else if (daysBetween(period.from, period.to) + 1 > maxDays)
    errors.push(
      fieldProblem(
        'to',
        `a period spans at most ${maxDays} days, both ends included`,
        `统计期最长 ${maxDays} 天（含首尾两天）`,
      ),
    );
  if (errors.length > 0) {
    throw new ApiError('validation_failed', message('supervision.period_invalid', { earliest, latest, maxDays }), {
      errors,
      limits: { ...PERIOD_LIMITS },
    });
  }
}

/** Dead letters listed in full; the total counts them all. */
export const DEAD_LETTER_LIST_LIMIT = 100;

const CHINA_MIDNIGHT = 'T00:00:00+08:00';

/** The instants a period of China Standard Time dates covers: [start, end). */
export function periodInstants(period: SummaryPeriod): { start: Date; end: Date } {
  return {
    start: new Date(`${period.from}${CHINA_MIDNIGHT}`),
    end: new Date(`${addDays(period.to, 1)}${CHINA_MIDNIGHT}`),
  };
}

const count = (value: unknown): number => Number(value ?? 0);
const rounded = (value: number | null | undefined, places: number): number | null =>
  value === null || value === undefined || !Number.isFinite(Number(value))
    ? null
    : Math.round(Number(value) * 10 ** places) / 10 ** places;

function materialFigures(row: {
  cases: unknown;
  required: unknown;
  handed_in: unknown;
  reused: unknown;
  fetched: unknown;
  deferred: unknown;
}): MaterialFigures {
  const cases = count(row.cases);
  const handedIn = count(row.handed_in);
  return {
    cases,
    required: count(row.required),
    handedIn,
    reused: count(row.reused),
    fetched: count(row.fetched),
    deferred: count(row.deferred),
    averageHandedInPerCase: cases > 0 ? rounded(handedIn / cases, 2) : null,
  };
}

/** `department_rejected (PSB …): …` → `department_rejected`. */
function errorCodeOf(lastError: string | null): string | null {
  return lastError === null ? null : (/^[a-z][a-z0-9_]*/.exec(lastError)?.[0] ?? null);
}

const isoOf = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

export async function supervisionSummary(
  db: Queryable,
  services: SummaryServices,
  period: SummaryPeriod,
  scope: SupervisionScope | null = null,
): Promise<SupervisionSummary> {
  checkPeriod(period);
  const { start, end } = periodInstants(period);

  const [completion] = await reportRows<{ completed: unknown; rejected: unknown; on_time: unknown }>(
    db,
    sql`
      select count(*) filter (where status = 'completed')::int as completed,
             -- A joint case some department refused counts as refused, also when others completed their part.
             count(*) filter (where status in ('rejected', 'partially_rejected'))::int as rejected,
             count(*) filter (where due_on is not null and completed_on <= due_on)::int as on_time
        from cases c
       where ${caseInScope(scope)} and status in ('completed', 'rejected', 'partially_rejected')
         and completed_on between ${period.from}::date and ${period.to}::date`,
  );
  const completed = count(completion?.completed);
  const rejected = count(completion?.rejected);
  const onTime = count(completion?.on_time);
  const concluded = completed + rejected;

  const statusRows = await reportRows<{ status: CaseStatusName; cases: unknown }>(
    db,
    sql`
      select status::text as status, count(*)::int as cases
        from cases c
       where ${caseInScope(scope)} and opened_at >= ${start.toISOString()}::timestamptz and opened_at < ${end.toISOString()}::timestamptz
       group by status`,
  );
  const casesByStatus: Record<CaseStatusName, number> = {
    open: 0,
    submitted: 0,
    in_progress: 0,
    awaiting_applicant: 0,
    completed: 0,
    rejected: 0,
    partially_rejected: 0,
  };
  for (const row of statusRows) casesByStatus[row.status] = count(row.cases);

  const itemRows = await reportRows<{
    item_code: string;
    item_name: string;
    cases: unknown;
    required: unknown;
    handed_in: unknown;
    reused: unknown;
    fetched: unknown;
    deferred: unknown;
  }>(
    db,
    sql`
      select c.item_code, i.name as item_name, count(*)::int as cases,
             sum(c.materials_required)::int as required, sum(c.materials_handed_in)::int as handed_in,
             sum(c.materials_reused)::int as reused, sum(c.materials_fetched)::int as fetched,
             sum(c.materials_deferred)::int as deferred
        from cases c
        join items i on i.code = c.item_code
       where ${caseInScope(scope)} and c.accepted_on between ${period.from}::date and ${period.to}::date
       group by c.item_code, i.name
       order by c.item_code`,
  );
  const byItem = itemRows.map((row) => ({ itemCode: row.item_code, itemName: row.item_name, ...materialFigures(row) }));
  const sum = (pick: (figures: MaterialFigures) => number) => byItem.reduce((total, item) => total + pick(item), 0);
  const materials = {
    ...materialFigures({
      cases: sum((item) => item.cases),
      required: sum((item) => item.required),
      handed_in: sum((item) => item.handedIn),
      reused: sum((item) => item.reused),
      fetched: sum((item) => item.fetched),
      deferred: sum((item) => item.deferred),
    }),
    byItem,
  };

  const deliveryRows = await reportRows<{
    department_code: string;
    total: unknown;
    delivered: unknown;
    pending: unknown;
    dead: unknown;
    retried: unknown;
  }>(
    db,
    sql`
      select department_code, count(*)::int as total,
             count(*) filter (where status = 'delivered')::int as delivered,
             count(*) filter (where status = 'pending')::int as pending,
             count(*) filter (where status = 'dead')::int as dead,
             count(*) filter (where attempts > 1)::int as retried
        from deliveries d
       where d.created_at >= ${start.toISOString()}::timestamptz and d.created_at < ${end.toISOString()}::timestamptz
         and ${scope === null ? sql`true` : sql`exists (select 1 from cases c where c.id = d.case_id and ${caseInScope(scope)})`}
       group by department_code`,
  );
  const latencyRows = await reportRows<{
    department_code: string;
    delivered: unknown;
    p50: number | null;
    p95: number | null;
  }>(
    db,
    sql`
      select d.department_code, count(*)::int as delivered,
             percentile_cont(0.5) within group (order by extract(epoch from (d.delivered_at - c.submitted_at)))::float8 * 1000 as p50,
             percentile_cont(0.95) within group (order by extract(epoch from (d.delivered_at - c.submitted_at)))::float8 * 1000 as p95
        from deliveries d
        join cases c on c.id = d.case_id
       where ${caseInScope(scope)} and d.status = 'delivered' and c.submitted_at is not null
         and d.delivered_at >= ${start.toISOString()}::timestamptz and d.delivered_at < ${end.toISOString()}::timestamptz
       group by d.department_code`,
  );
  const departmentCodes = [
    ...new Set([...deliveryRows.map((row) => row.department_code), ...latencyRows.map((row) => row.department_code)]),
  ].sort();
  const byDepartment: DepartmentDeliveries[] = departmentCodes.map((department) => {
    const figures = deliveryRows.find((row) => row.department_code === department);
    const latency = latencyRows.find((row) => row.department_code === department);
    return {
      department,
      total: count(figures?.total),
      delivered: count(figures?.delivered),
      pending: count(figures?.pending),
      dead: count(figures?.dead),
      retried: count(figures?.retried),
      latencyMs: { delivered: count(latency?.delivered), p50: rounded(latency?.p50, 0), p95: rounded(latency?.p95, 0) },
    };
  });
  const total = (pick: (entry: DepartmentDeliveries) => number) =>
    byDepartment.reduce((sum, entry) => sum + pick(entry), 0);

  const deadRows = await reportRows<{
    id: string;
    case_number: string;
    department_code: string;
    attempts: unknown;
    last_error: string | null;
    created_at: Date | string;
    dead_at: Date | string | null;
    total: unknown;
  }>(
    db,
    sql`
      select d.id, c.case_number, d.department_code, d.attempts, d.last_error, d.created_at, d.dead_at, count(*) over ()::int as total
        from deliveries d
        join cases c on c.id = d.case_id
       where ${caseInScope(scope)} and d.status = 'dead'
       order by d.dead_at desc nulls last, d.id
       limit ${DEAD_LETTER_LIST_LIMIT}::integer`,
  );

  const awaitingRows = await reportRows<{
    case_number: string;
    item_code: string;
    department: string | null;
    completed_on: string | null;
    total: unknown;
  }>(
    db,
    sql`
      select c.case_number, c.item_code, i.result_certificate->>'department' as department,
             c.completed_on::text as completed_on, count(*) over ()::int as total
        from case_results r
        join cases c on c.id = r.case_id
        join items i on i.code = c.item_code
       where ${caseInScope(scope)} and r.status = 'awaiting_document'
       order by c.completed_at nulls last, c.case_number
       limit ${DEAD_LETTER_LIST_LIMIT}::integer`,
  );

  await services.departmentCalls.flush();
  const calls = await departmentCallFigures(db, period);

  return {
    period,
    completion: {
      concluded,
      completed,
      rejected,
      onTime,
      late: concluded - onTime,
      onTimeRate: concluded > 0 ? rounded(onTime / concluded, 4) : null,
    },
    casesByStatus,
    materials,
    deliveries: {
      total: total((entry) => entry.total),
      delivered: total((entry) => entry.delivered),
      pending: total((entry) => entry.pending),
      dead: total((entry) => entry.dead),
      retried: total((entry) => entry.retried),
      byDepartment,
    },
    deadLetters: {
      total: count(deadRows[0]?.total),
      items: deadRows.map((row) => ({
        deliveryId: row.id,
        caseNumber: row.case_number,
        department: row.department_code,
        attempts: count(row.attempts),
        lastErrorCode: errorCodeOf(row.last_error),
        createdAt: isoOf(row.created_at) ?? '',
        deadAt: isoOf(row.dead_at),
      })),
    },
    resultsAwaitingDocument: {
      total: count(awaitingRows[0]?.total),
      items: awaitingRows.map((row) => ({
        caseNumber: row.case_number,
        itemCode: row.item_code,
        department: row.department,
        completedOn: row.completed_on,
      })),
    },
    departments: services.departments.list().map((department) => {
      const view = departmentView(department, services.departmentMetrics);
      const figures = calls.get(department.code);
      return {
        code: view.code,
        name: view.name,
        breakerState: view.breakerState,
        calls: figures?.calls ?? 0,
        errors: figures?.errors ?? 0,
        errorsByKind: figures?.errorsByKind ?? {},
        lastError: figures?.lastError ?? null,
        latencyMs: view.latencyMs,
      };
    }),
  };
}
