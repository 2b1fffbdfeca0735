/**
 * Deadline warnings for supervisors: accepted cases that have used a configured share of their
 * promised working days (`approaching`) or passed their due date (`overdue`), and materials
 * accepted missing (容缺) that were not supplied by their own due date, and the follow-ups of bad
 * ratings (差评) a centre has not answered by their due date (gateway/ratings).
 *
 * Time is counted the way the case's deadline is: in working days after the acceptance day, with
 * the working days the clock stood still (补正, awaiting the applicant) left out. While a case
 * awaits the applicant its clock is stopped, so its position is read on the day it stopped: it
 * neither uses time nor becomes overdue until it runs again (then its due date moves by the days
 * it stood, see cases/status.ts).
 *
 * Days of a year whose holidays are not loaded yet count by the weekday rule alone, as the cases'
 * own provisional due dates do (calendar/provisional.ts); warnings that depend on such days say
 * so (`provisional`), and the answer lists the years (`provisionalYears`).
 *
 * `today` is a parameter, not the wall clock, so the figures for any day can be computed and tested.
 */
import { sql } from 'drizzle-orm';
import { type SupervisionScope, caseInScope } from './scope.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears } from '../calendar/provisional.js';
import { type Queryable, reportRows } from '../db/client.js';
import { type MaskedRepresentative, maskRepresentative } from '../centres/representatives.js';

export type WarningLevel = 'approaching' | 'overdue';

/** Statuses of accepted cases whose clock runs or has stopped (not open, not finished). */
export const UNFINISHED_STATUSES = ['submitted', 'in_progress', 'awaiting_applicant'] as const;
export type UnfinishedStatus = (typeof UNFINISHED_STATUSES)[number];

/** What the deadline of an accepted case depends on (the columns of `cases`). */
export interface CaseClock {
  acceptedOn: string;
  promisedDays: number;
  /** Already moved by `pausedWorkingDays`; a stop in progress is not in it yet. */
  dueOn: string;
  /** Set while the clock is stopped: the day it stopped. */
  pausedOn: string | null;
  /** Working days of earlier stops, all finished. */
  pausedWorkingDays: number;
}

export interface DeadlinePosition {
  /** The day the clock reads: today, or the day it stopped. */
  clockDay: string;
  /** Working days of the promised time used, stops left out. */
  workingDaysUsed: number;
  /** `workingDaysUsed / promisedDays` (1 for an item promised on the day). */
  shareUsed: number;
  /** Working days from the clock day up to the due date; negative: working days past it. */
  workingDaysLeft: number;
  /** The clock day is after the due date. */
  overdue: boolean;
}

/** Where an accepted case stands against its promised due date on `today`. */
export function deadlinePosition(calendar: WorkingCalendar, clock: CaseClock, today: string): DeadlinePosition {
  const clockDay = clock.pausedOn !== null && clock.pausedOn < today ? clock.pausedOn : today;
  const workingDaysUsed = Math.max(
    0,
    calendar.workingDaysBetween(clock.acceptedOn, clockDay) - clock.pausedWorkingDays,
  );
  const overdue = clockDay > clock.dueOn;
  const workingDaysLeft = overdue
    ? 0 - calendar.workingDaysBetween(clock.dueOn, clockDay)
    : calendar.workingDaysBetween(clockDay, clock.dueOn);
  const shareUsed = clock.promisedDays > 0 ? workingDaysUsed / clock.promisedDays : 1;
  return { clockDay, workingDaysUsed, shareUsed, workingDaysLeft, overdue };
}

/** Shares are compared with this slack so that 4/5 counts as 0.8 whatever the float rounding. */
const SHARE_EPSILON = 1e-9;

export function warningLevelOf(position: DeadlinePosition, warningShare: number): WarningLevel | null {
  if (position.overdue) return 'overdue';
  return position.shareUsed >= warningShare - SHARE_EPSILON ? 'approaching' : null;
}

export interface WarningDepartment {
  code: string;
  /** The delivery to the department: pending, delivered or dead (dead-lettered). */
  delivery: 'pending' | 'delivered' | 'dead' | 'held' | 'refused' | 'cancelled';
  /** The department's own status of its part, once it reported one. */
  departmentStatus: string | null;
  /** The department's chief representative at the case's centre, masked; null: none, so no SMS warning. */
  representative: MaskedRepresentative | null;
  /** The SMS warnings sent to the representative about this part (notifications/supervision-warnings.ts). */
  warned: { at: string; level: WarningLevel; representative: MaskedRepresentative }[];
}

/** As the database hands a department over: the representative unmasked, times as text. */
interface StoredWarningDepartment extends Omit<WarningDepartment, 'representative' | 'warned'> {
  representative: { name: string; mobile: string } | null;
  warned: { at: string; level: WarningLevel; representative: MaskedRepresentative }[] | null;
}

export interface CaseDeadlineWarning {
  kind: 'case_deadline';
  level: WarningLevel;
  caseNumber: string;
  itemCode: string;
  itemName: string;
  status: UnfinishedStatus;
  acceptedOn: string;
  promisedDays: number;
  dueOn: string;
  clockStopped: boolean;
  /** Counted partly by the weekday rule: a year involved has no holidays loaded. */
  provisional: boolean;
  workingDaysUsed: number;
  shareUsed: number;
  workingDaysLeft: number;
  departments: WarningDepartment[];
}

export interface DeferredMaterialWarning {
  kind: 'deferred_material';
  level: 'overdue';
  caseNumber: string;
  itemCode: string;
  itemName: string;
  status: string;
  requirementCode: string;
  requirementName: string;
  /** The last day the applicant could supply it. */
  dueOn: string;
  /** Working days past that day (0 when only non-working days have passed). */
  workingDaysOver: number;
  provisional: boolean;
  departments: WarningDepartment[];
}

/**
 * A department's part of a refused joint case that could not be withdrawn through its system
 * (it offers no cancel, or had already finished): someone must withdraw it there by hand.
 */
export interface CancellationWarning {
  kind: 'cancel_by_hand';
  level: 'overdue';
  caseNumber: string;
  itemCode: string;
  itemName: string;
  deliveryId: string;
  /** The department to withdraw the case from. */
  department: string;
  departmentReference: string | null;
  /**
   * The departments that refused the case. Their words are not here: a refusal reason may name
   * the applicant and their address, and warnings carry no personal data (the case itself, read
   * for supervision, shows them masked).
   */
  refusedBy: { department: string }[];
  /** When the case was refused (its conclusion). */
  since: string | null;
}

/**
 * The follow-up of a bad rating (差评) the centre has not answered by its due date (gateway/ratings):
 * the centre must call the applicant back and answer.
 */
export interface RatingFollowUpWarning {
  kind: 'rating_follow_up';
  level: 'overdue';
  ratingId: string;
  caseNumber: string;
  itemCode: string;
  itemName: string;
  score: number;
  centreCode: string | null;
  centreName: string | null;
  ratedOn: string;
  dueOn: string;
  /** Working days past the due date (0 when only non-working days have passed). */
  workingDaysOver: number;
  provisional: boolean;
}

export interface SupervisionWarnings {
  today: string;
  warningShare: number;
  /** Years the figures touch whose holidays are not loaded: their days count by weekday alone. */
  provisionalYears: number[];
  counts: {
    overdue: number;
    approaching: number;
    deferredMaterialsOverdue: number;
    cancellationsByHand: number;
    ratingFollowUpsOverdue: number;
  };
  cases: CaseDeadlineWarning[];
  deferredMaterials: DeferredMaterialWarning[];
  cancellations: CancellationWarning[];
  ratingFollowUps: RatingFollowUpWarning[];
}

export interface WarningOptions {
  /** China Standard Time date the warnings are computed for. */
  today: string;
  /** Share of the promised days (0–1] at which a case is approaching its deadline. */
  warningShare: number;
  /** Only the cases handled within this centre's subtree (null or absent: the whole province). */
  scope?: SupervisionScope | null;
}

interface CandidateRow {
  case_number: string;
  item_code: string;
  item_name: string;
  status: UnfinishedStatus;
  accepted_on: string;
  promised_days: number;
  due_on: string;
  paused_on: string | null;
  paused_working_days: number;
  departments: StoredWarningDepartment[] | string | null;
}

interface DeferredRow {
  case_number: string;
  item_code: string;
  item_name: string;
  status: string;
  requirement_code: string;
  requirement_name: string | null;
  due_on: string;
  departments: StoredWarningDepartment[] | string | null;
}

/** `json_agg` arrives parsed from both drivers, but stay safe if a driver hands back text. */
function departmentsOf(value: StoredWarningDepartment[] | string | null): WarningDepartment[] {
  if (value === null) return [];
  const stored = typeof value === 'string' ? (JSON.parse(value) as StoredWarningDepartment[]) : value;
  return stored.map((department) => ({
    ...department,
    representative: department.representative === null ? null : maskRepresentative(department.representative),
    warned: (department.warned ?? []).map((warning) => ({ ...warning, at: new Date(warning.at).toISOString() })),
  }));
}

const departmentsOfCase = sql`coalesce((
  select json_agg(json_build_object('code', d.department_code, 'delivery', d.status, 'departmentStatus', d.department_status,
           'representative', (select json_build_object('name', r.name, 'mobile', r.mobile) from centre_representatives r
                               where r.centre_code = c.centre_code and r.department_code = d.department_code),
           'warned', (select json_agg(json_build_object('at', e.occurred_at, 'level', e.detail->>'level', 'representative', e.detail->'representative') order by e.id)
                        from case_events e where e.case_id = c.id and e.kind = 'supervision_warning_sent' and e.department_code = d.department_code))
           order by d.department_code)
    from deliveries d where d.case_id = c.id), '[]'::json)`;

/**
 * The current warnings. The database returns only cases that can possibly warn — overdue by
 * date, or accepted at least share × promised calendar days ago (a working day is a calendar
 * day, so fewer calendar days cannot hold enough working days) — and the calendar decides the rest.
 */
export async function supervisionWarnings(
  db: Queryable,
  loadedCalendar: WorkingCalendar,
  options: WarningOptions,
): Promise<SupervisionWarnings> {
  const { today, warningShare } = options;
  const scope = options.scope ?? null;
  const calendar = withProvisionalYears(loadedCalendar);
  const provisionalYears = new Set<number>();
  /** Whether counting between the two days needs a year that is not loaded (and notes the years). */
  const provisionalBetween = (from: string, to: string): boolean => {
    const years = from <= to ? calendar.provisionalYears(from, to) : calendar.provisionalYears(to, from);
    for (const year of years) provisionalYears.add(year);
    return years.length > 0;
  };
  const candidates = await reportRows<CandidateRow>(
    db,
    sql`
      select c.case_number, c.item_code, i.name as item_name, c.status::text as status,
             c.accepted_on::text as accepted_on, c.promised_days, c.due_on::text as due_on,
             c.paused_on::text as paused_on, c.paused_working_days, ${departmentsOfCase} as departments
        from cases c
        join items i on i.code = c.item_code
       where ${caseInScope(scope)} and c.status in ('submitted', 'in_progress', 'awaiting_applicant')
         and c.accepted_on is not null and c.due_on is not null
         and (c.due_on < ${today}::date
              or c.accepted_on <= ${today}::date - floor(${warningShare}::float8 * c.promised_days)::int)`,
  );

  const cases: CaseDeadlineWarning[] = [];
  for (const row of candidates) {
    const clock: CaseClock = {
      acceptedOn: row.accepted_on,
      promisedDays: Number(row.promised_days),
      dueOn: row.due_on,
      pausedOn: row.paused_on,
      pausedWorkingDays: Number(row.paused_working_days),
    };
    const position = deadlinePosition(calendar, clock, today);
    const level = warningLevelOf(position, warningShare);
    if (level === null) continue;
    cases.push({
      kind: 'case_deadline',
      level,
      caseNumber: row.case_number,
      itemCode: row.item_code,
      itemName: row.item_name,
      status: row.status,
      acceptedOn: clock.acceptedOn,
      promisedDays: clock.promisedDays,
      dueOn: clock.dueOn,
      clockStopped: clock.pausedOn !== null,
      provisional: provisionalBetween(
        clock.acceptedOn,
        position.clockDay > clock.dueOn ? position.clockDay : clock.dueOn,
      ),
      workingDaysUsed: position.workingDaysUsed,
      shareUsed: Math.round(position.shareUsed * 1000) / 1000,
      workingDaysLeft: position.workingDaysLeft,
      departments: departmentsOf(row.departments),
    });
  }
  // Overdue first, the longest overdue on top; then the least time left.
  cases.sort((a, b) =>
    a.level === b.level
      ? a.workingDaysLeft - b.workingDaysLeft ||
        a.dueOn.localeCompare(b.dueOn) ||
        a.caseNumber.localeCompare(b.caseNumber)
      : a.level === 'overdue'
        ? -1
        : 1,
  );

  const deferredRows = await reportRows<DeferredRow>(
    db,
    sql`
      select c.case_number, c.item_code, i.name as item_name, c.status::text as status,
             cm.requirement_code, im.name as requirement_name, cm.due_on::text as due_on,
             ${departmentsOfCase} as departments
        from case_materials cm
        join cases c on c.id = cm.case_id
        join items i on i.code = c.item_code
        left join item_materials im on im.item_code = c.item_code and im.requirement_code = cm.requirement_code
       where ${caseInScope(scope)} and cm.resolution = 'deferred'
         and cm.due_on < ${today}::date
         and c.status <> 'rejected'
       order by cm.due_on, c.case_number, cm.requirement_code`,
  );
  const deferredMaterials: DeferredMaterialWarning[] = deferredRows.map((row) => ({
    kind: 'deferred_material',
    level: 'overdue',
    caseNumber: row.case_number,
    itemCode: row.item_code,
    itemName: row.item_name,
    status: row.status,
    requirementCode: row.requirement_code,
    requirementName: row.requirement_name ?? row.requirement_code,
    dueOn: row.due_on,
    workingDaysOver: calendar.workingDaysBetween(row.due_on, today),
    provisional: provisionalBetween(row.due_on, today),
    departments: departmentsOf(row.departments),
  }));

  const cancellationRows = await reportRows<{
    case_number: string;
    item_code: string;
    item_name: string;
    delivery_id: string;
    department_code: string;
    department_reference: string | null;
    completed_at: Date | string | null;
    refused_by: { department: string }[] | string | null;
  }>(
    db,
    sql`
      select c.case_number, c.item_code, i.name as item_name, d.id as delivery_id, d.department_code, d.department_reference, c.completed_at,
             coalesce((select json_agg(json_build_object('department', r.department_code) order by r.department_code)
                         from deliveries r where r.case_id = c.id and r.department_status = 'rejected'), '[]'::json) as refused_by
        from deliveries d
        join cases c on c.id = d.case_id
        join items i on i.code = c.item_code
       where ${caseInScope(scope)} and d.cancel_status = 'manual'
       order by c.completed_at nulls last, c.case_number, d.department_code`,
  );
  const cancellations: CancellationWarning[] = cancellationRows.map((row) => ({
    kind: 'cancel_by_hand',
    level: 'overdue',
    caseNumber: row.case_number,
    itemCode: row.item_code,
    itemName: row.item_name,
    deliveryId: row.delivery_id,
    department: row.department_code,
    departmentReference: row.department_reference,
    refusedBy:
      typeof row.refused_by === 'string'
        ? (JSON.parse(row.refused_by) as CancellationWarning['refusedBy'])
        : (row.refused_by ?? []),
    since: row.completed_at === null ? null : new Date(row.completed_at).toISOString(),
  }));

  const followUpRows = await reportRows<{
    id: string;
    case_number: string;
    item_code: string;
    item_name: string;
    score: number;
    centre_code: string | null;
    centre_name: string | null;
    rated_on: string;
    due_on: string;
  }>(
    db,
    sql`
      select r.id, r.case_number, r.item_code, i.name as item_name, r.score, r.centre_code, ce.name as centre_name,
             r.rated_on::text as rated_on, r.follow_up_due_on::text as due_on
        from case_ratings r
        join items i on i.code = r.item_code
        left join centres ce on ce.code = r.centre_code
       where ${caseInScope(scope, 'r')} and r.follow_up_status = 'open' and r.follow_up_due_on < ${today}::date
       order by r.follow_up_due_on, r.case_number`,
  );
  const ratingFollowUps: RatingFollowUpWarning[] = followUpRows.map((row) => ({
    kind: 'rating_follow_up',
    level: 'overdue',
    ratingId: row.id,
    caseNumber: row.case_number,
    itemCode: row.item_code,
    itemName: row.item_name,
    score: Number(row.score),
    centreCode: row.centre_code,
    centreName: row.centre_name,
    ratedOn: row.rated_on,
    dueOn: row.due_on,
    workingDaysOver: calendar.workingDaysBetween(row.due_on, today),
    provisional: provisionalBetween(row.due_on, today),
  }));

  return {
    today,
    warningShare,
    provisionalYears: [...provisionalYears].sort((a, b) => a - b),
    counts: {
      overdue: cases.filter((warning) => warning.level === 'overdue').length,
      approaching: cases.filter((warning) => warning.level === 'approaching').length,
      deferredMaterialsOverdue: deferredMaterials.length,
      cancellationsByHand: cancellations.length,
      ratingFollowUpsOverdue: ratingFollowUps.length,
    },
    cases,
    deferredMaterials,
    cancellations,
    ratingFollowUps,
  };
}
