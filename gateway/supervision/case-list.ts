/**
 * The cases behind a supervision figure (drill-down): the cases of the scope's subtree accepted,
 * opened or concluded in a period, narrowed by status, department, outcome against the due date,
 * or "overdue on day d" (as the trends count it), a page at a time. An applicant who is a person is
 * named masked (`张**`); no identifier, mobile or form content is read.
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Queryable, reportRows } from '../db/client.js';
import { maskName } from '../identity/identifiers.js';
import { openSubjectName } from '../identity/subjects.js';
import type { DataProtection } from '../protection/data-protection.js';
import { type SupervisionScope, caseInScope } from './scope.js';
import { type CaseStatusName, type SummaryPeriod, checkPeriod, periodInstants } from './summary.js';

/** Which date of a case puts it in the period. */
export const CASE_LIST_BASES = ['accepted', 'opened', 'concluded'] as const;
export type CaseListBasis = (typeof CASE_LIST_BASES)[number];

export const CASE_LIST_OUTCOMES = ['on_time', 'late', 'overdue'] as const;
export type CaseListOutcome = (typeof CASE_LIST_OUTCOMES)[number];

export const CASE_STATUSES = [
  'open',
  'submitted',
  'in_progress',
  'awaiting_applicant',
  'completed',
  'rejected',
  'partially_rejected',
] as const satisfies readonly CaseStatusName[];

export const CASE_LIST_PAGE_SIZE = 50;

export interface CaseListFilter {
  period: SummaryPeriod;
  basis: CaseListBasis;
  status?: CaseStatusName | undefined;
  /** Cases with a delivery to this department. */
  department?: string | undefined;
  /**
   * on_time / late: concluded by / after the due date (late includes no due date); overdue:
   * concluded late, or still open past the due date on `today`.
   */
  outcome?: CaseListOutcome | undefined;
  /** Only cases overdue on this day (the trend "overdue per day"); the period is then ignored. */
  overdueOn?: string | undefined;
  /** 1-based. */
  page: number;
}

export interface CaseListEntry {
  caseNumber: string;
  itemCode: string;
  itemName: string;
  status: CaseStatusName;
  centreCode: string | null;
  centreName: string | null;
  /** The applicant's name, masked when a person. */
  applicant: string;
  openedOn: string;
  acceptedOn: string | null;
  dueOn: string | null;
  completedOn: string | null;
  departments: string[];
}

export interface CaseList {
  filter: CaseListFilter;
  total: number;
  pageSize: number;
  pages: number;
  items: CaseListEntry[];
  /** Whose cases the page shows (persons only), for their access logs; never rendered. */
  applicants: { subjectId: string; caseNumber: string }[];
}

const CONCLUDED = sql`c.status in ('completed', 'rejected', 'partially_rejected')`;

function conditions(filter: CaseListFilter, scope: SupervisionScope | null, today: string): SQL {
  const parts: SQL[] = [caseInScope(scope)];
  if (filter.overdueOn !== undefined) {
    const day = filter.overdueOn;
    parts.push(
      sql`c.accepted_on <= ${day}::date and c.due_on < ${day}::date and (c.completed_on is null or c.completed_on > ${day}::date) and (c.paused_on is null or c.paused_on > ${day}::date)`,
    );
  } else if (filter.basis === 'accepted') {
    parts.push(sql`c.accepted_on between ${filter.period.from}::date and ${filter.period.to}::date`);
  } else if (filter.basis === 'concluded') {
    parts.push(sql`${CONCLUDED} and c.completed_on between ${filter.period.from}::date and ${filter.period.to}::date`);
  } else {
    const { start, end } = periodInstants(filter.period);
    parts.push(
      sql`c.opened_at >= ${start.toISOString()}::timestamptz and c.opened_at < ${end.toISOString()}::timestamptz`,
    );
  }
  if (filter.status !== undefined) parts.push(sql`c.status = ${filter.status}`);
  if (filter.department !== undefined)
    parts.push(
      sql`exists (select 1 from deliveries d where d.case_id = c.id and d.department_code = ${filter.department})`,
    );
  if (filter.outcome === 'on_time')
    parts.push(sql`${CONCLUDED} and c.due_on is not null and c.completed_on <= c.due_on`);
  else if (filter.outcome === 'late') parts.push(sql`${CONCLUDED} and (c.due_on is null or c.completed_on > c.due_on)`);
  else if (filter.outcome === 'overdue')
    parts.push(sql`((${CONCLUDED} and c.completed_on > c.due_on) or (not ${CONCLUDED} and c.due_on < ${today}::date))`);
  return sql.join(parts, sql` and `);
}

/** A page of the cases matching `filter` within `scope`, newest acceptance first; `today` judges "overdue". */
export async function supervisionCases(
  db: Queryable,
  protection: DataProtection,
  scope: SupervisionScope | null,
  filter: CaseListFilter,
  today: string,
  pageSize = CASE_LIST_PAGE_SIZE,
): Promise<CaseList> {
  checkPeriod(filter.period);
  const where = conditions(filter, scope, today);
  const offset = (filter.page - 1) * pageSize;
  const rows = await reportRows<{
    case_number: string;
    item_code: string;
    item_name: string;
    status: CaseStatusName;
    centre_code: string | null;
    centre_name: string | null;
    subject_kind: string;
    subject_id: string;
    subject_name: string;
    opened_at: Date | string;
    accepted_on: string | null;
    due_on: string | null;
    completed_on: string | null;
    departments: string[] | string | null;
    total: unknown;
  }>(
    db,
    sql`
      select c.case_number, c.item_code, i.name as item_name, c.status::text as status,
             c.centre_code, ce.name as centre_name, s.kind::text as subject_kind, s.id as subject_id, s.name as subject_name,
             c.opened_at, c.accepted_on::text as accepted_on, c.due_on::text as due_on,
             c.completed_on::text as completed_on,
             array(select distinct d.department_code from deliveries d where d.case_id = c.id order by 1) as departments,
             count(*) over ()::int as total
        from cases c
        join items i on i.code = c.item_code
        join subjects s on s.id = c.subject_id
        left join centres ce on ce.code = c.centre_code
       where ${where}
       order by c.accepted_on desc nulls last, c.opened_at desc, c.case_number
       limit ${pageSize}::integer offset ${offset}::integer`,
  );
  let total = Number(rows[0]?.total ?? 0);
  if (rows.length === 0 && offset > 0) {
    // Past the last page: still say how many there are.
    const [counted] = await reportRows<{ total: unknown }>(
      db,
      sql`select count(*)::int as total from cases c where ${where}`,
    );
    total = Number(counted?.total ?? 0);
  }
  return {
    filter,
    total,
    pageSize,
    pages: Math.max(1, Math.ceil(total / pageSize)),
    applicants: rows
      .filter((row) => row.subject_kind === 'person')
      .map((row) => ({ subjectId: row.subject_id, caseNumber: row.case_number })),
    items: await Promise.all(
      rows.map(async (row) => {
        const subjectName = await openSubjectName(protection, row.subject_id, row.subject_name);
        return {
          caseNumber: row.case_number,
          itemCode: row.item_code,
          itemName: row.item_name,
          status: row.status,
          centreCode: row.centre_code,
          centreName: row.centre_name,
          applicant: row.subject_kind === 'person' ? maskName(subjectName) : subjectName,
          openedOn: new Date(new Date(row.opened_at).getTime() + 8 * 3_600_000).toISOString().slice(0, 10),
          acceptedOn: row.accepted_on,
          dueOn: row.due_on,
          completedOn: row.completed_on,
          departments: Array.isArray(row.departments)
            ? row.departments
            : typeof row.departments === 'string'
              ? row.departments
                  .replace(/^\{|\}$/g, '')
                  .split(',')
                  .filter(Boolean)
              : [],
        };
      }),
    ),
  };
}
