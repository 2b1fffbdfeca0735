/**
 * Every table of the supervision page as plain rows (`ExportTable`), in the page's language: what
 * the CSV and XLSX exports write. Built from the same figures as the page, so an export never says
 * more than the page does: case numbers, item and centre names, counts; the chief representatives
 * masked; no applicant.
 *
 * Rates are percentages with one decimal (83.3, not 0.8333), as on the page; "—" on the page is an
 * empty cell here.
 */
import type { CentreStatistics } from './centre-statistics.js';
import type { CaseList } from './case-list.js';
import type { ExportCell, ExportTable } from './export.js';
import type { Rankings, RankingList, RatingFiguresAnswer } from '../ratings/figures.js';
import type { Language } from '../platform/language.js';
import { type PageMessageKey, pageText } from './page-messages.js';
import type { CaseStatusName, SupervisionSummary } from './summary.js';
import type { SupervisionTrends } from './trends.js';
import type { SupervisionWarnings, WarningDepartment } from './warnings.js';

/** The figures the page shows (and exports). */
export interface PageFigures {
  today: string;
  summary: SupervisionSummary;
  warnings: SupervisionWarnings;
  /** The figures per centre of the subtree shown; null for the whole province. */
  centres: CentreStatistics | null;
  ratings: RatingFiguresAnswer;
  rankings: Rankings;
  trends: SupervisionTrends;
  language: Language;
}

export const STATUS_LABELS: Record<CaseStatusName, PageMessageKey> = {
  open: 'statusOpen',
  submitted: 'statusSubmitted',
  in_progress: 'statusInProgress',
  awaiting_applicant: 'statusAwaitingApplicant',
  completed: 'statusCompleted',
  rejected: 'statusRejected',
  partially_rejected: 'statusPartiallyRejected',
};

const BREAKER_LABELS: Record<string, PageMessageKey> = {
  closed: 'breakerClosed',
  half_open: 'breakerHalfOpen',
  open: 'breakerOpen',
};

/** The ids of the page's tables, in page order: the `table` values the export accepts. */
export const PAGE_TABLE_IDS = [
  'trend-days',
  'trend-weeks',
  'centres',
  'case-warnings',
  'deferred-warnings',
  'cancellation-warnings',
  'ratings-by-centre',
  'rating-follow-ups',
  'satisfied-windows',
  'service-stars',
  'materials-by-item',
  'departments',
  'dead-letters',
  'cases-by-status',
] as const;
export type PageTableId = (typeof PAGE_TABLE_IDS)[number];

/** 0.8333 → 83.3 (percent, one decimal); null stays null. */
export const percentFigure = (share: number | null): number | null =>
  share === null ? null : Math.round(share * 1000) / 10;

type Texts = (key: PageMessageKey, values?: Readonly<Record<string, string | number>>) => string;

const withPercent = (header: string): string => `${header} (%)`;

function departmentsCell(t: Texts, departments: WarningDepartment[]): string {
  return departments
    .map((department) => {
      const standing =
        department.departmentStatus !== null && department.departmentStatus in STATUS_LABELS
          ? t(STATUS_LABELS[department.departmentStatus as CaseStatusName])
          : (department.departmentStatus ?? department.delivery);
      const representative = department.representative
        ? ` ${department.representative.name} ${department.representative.mobile}`
        : '';
      return `${department.code} (${standing})${representative}`;
    })
    .join('; ');
}

function rankingTable(id: string, title: string, list: RankingList, operators: boolean, t: Texts): ExportTable {
  return {
    id,
    title,
    columns: [
      t('columnRank'),
      t(operators ? 'columnOperator' : 'columnWindow'),
      'ID',
      t('columnCentre'),
      t('columnRatings'),
      t('columnAverage'),
      withPercent(t('columnOnTime')),
      t('columnVolume'),
      t('columnPoints'),
    ],
    rows: list.ranked.map((entry) => [
      entry.rank,
      entry.name ?? entry.id,
      entry.id,
      entry.centreCode,
      entry.ratings,
      entry.averageScore,
      percentFigure(entry.onTimeRate),
      entry.volume,
      Math.round(entry.points * 100) / 100,
    ]),
  };
}

/** The page's tables, each with its heading and column headers in `figures.language`. */
export function pageTables(figures: PageFigures): ExportTable[] {
  const t: Texts = (key, values) => pageText(figures.language, key, values);
  const { summary, warnings, trends } = figures;
  const tables: Record<PageTableId, ExportTable | null> = {
    'trend-days': {
      id: 'trend-days',
      title: t('casesPerDayTitle', { from: trends.days[0]?.day ?? trends.until, until: trends.until }),
      columns: [t('columnDay'), t('seriesAccepted'), t('seriesConcluded'), t('columnOverdueOnDay')],
      rows: trends.days.map((day) => [day.day, day.accepted, day.concluded, day.overdue]),
    },
    'trend-weeks': {
      id: 'trend-weeks',
      title: t('onTimePerWeekTitle', { weeks: trends.weeks.length }),
      columns: [t('columnWeek'), t('columnConcluded'), t('columnOnTimeCount'), withPercent(t('columnOnTimeRate'))],
      rows: trends.weeks.map((week) => [
        `${week.weekStart} – ${week.weekEnd}`,
        week.concluded,
        week.onTime,
        percentFigure(week.onTimeRate),
      ]),
    },
    centres: figures.centres
      ? {
          id: 'centres',
          title: t('centresHeading', { name: figures.centres.centre.name }),
          columns: [
            t('columnCentre'),
            'ID',
            t('columnCentreAccepted'),
            withPercent(t('columnOnTime')),
            t('columnOverdue'),
            t('columnAverageDays'),
            t('columnHandedIn'),
            t('columnReused'),
            t('columnTransfers'),
          ],
          rows: figures.centres.centres.map((centre) => [
            centre.name,
            centre.code,
            centre.accepted,
            percentFigure(centre.onTimeRate),
            centre.overdue,
            centre.averageHandlingDays,
            centre.materialsHandedIn,
            centre.materialsReused,
            centre.transfers,
          ]),
        }
      : null,
    'case-warnings': {
      id: 'case-warnings',
      title: t('warningsHeading'),
      columns: [
        t('columnLevel'),
        t('columnCase'),
        t('columnItem'),
        t('columnStatus'),
        t('columnAccepted'),
        t('columnDue'),
        t('columnDaysUsed'),
        t('columnDaysLeft'),
        t('columnDepartments'),
      ],
      rows: warnings.cases.map((warning) => [
        t(warning.level === 'overdue' ? 'levelOverdue' : 'levelApproaching'),
        warning.caseNumber,
        warning.itemName,
        t(STATUS_LABELS[warning.status]),
        warning.acceptedOn,
        warning.dueOn,
        warning.workingDaysUsed,
        warning.workingDaysLeft,
        departmentsCell(t, warning.departments),
      ]),
    },
    'deferred-warnings': {
      id: 'deferred-warnings',
      title: t('deferredHeading'),
      columns: [t('columnCase'), t('columnItem'), t('columnMaterial'), t('columnDue'), t('columnOver')],
      rows: warnings.deferredMaterials.map((warning) => [
        warning.caseNumber,
        warning.itemName,
        warning.requirementName,
        warning.dueOn,
        warning.workingDaysOver,
      ]),
    },
    'cancellation-warnings': {
      id: 'cancellation-warnings',
      title: t('cancellationsHeading'),
      columns: [t('columnCase'), t('columnItem'), t('columnWithdrawFrom'), t('columnRefusedBy'), t('columnSince')],
      rows: warnings.cancellations.map((warning) => [
        warning.caseNumber,
        warning.itemName,
        `${warning.department}${warning.departmentReference ? ` (${warning.departmentReference})` : ''}`,
        warning.refusedBy.map((refusal) => refusal.department).join('; '),
        warning.since,
      ]),
    },
    'ratings-by-centre': {
      id: 'ratings-by-centre',
      title: t('ratingsHeading'),
      columns: [
        t('columnCentre'),
        'ID',
        t('columnRatings'),
        t('columnAverage'),
        t('columnBad'),
        withPercent(t('columnBadShare')),
        t('columnAnsweredOnTime'),
        t('columnFollowUpsOverdue'),
      ],
      rows: figures.ratings.rows.map((row) => [
        row.name ?? row.key,
        row.key,
        row.ratings,
        row.averageScore,
        row.badRatings,
        percentFigure(row.badShare),
        row.followUps.answeredOnTime,
        row.followUps.overdue,
      ]),
    },
    'rating-follow-ups': {
      id: 'rating-follow-ups',
      title: t('followUpsHeading'),
      columns: [
        t('columnCase'),
        t('columnItem'),
        t('columnCentre'),
        t('columnScore'),
        t('columnAnswerDue'),
        t('columnOver'),
      ],
      rows: warnings.ratingFollowUps.map((warning) => [
        warning.caseNumber,
        warning.itemName,
        warning.centreName ?? warning.centreCode,
        warning.score,
        warning.dueOn,
        warning.workingDaysOver,
      ]),
    },
    'satisfied-windows': rankingTable(
      'satisfied-windows',
      t('satisfiedWindowsHeading', { month: figures.rankings.month }),
      figures.rankings.satisfiedWindows,
      false,
      t,
    ),
    'service-stars': rankingTable(
      'service-stars',
      t('serviceStarsHeading', { month: figures.rankings.month }),
      figures.rankings.serviceStars,
      true,
      t,
    ),
    'materials-by-item': {
      id: 'materials-by-item',
      title: t('materialsHeading'),
      columns: [
        t('columnItem'),
        'ID',
        t('columnCases'),
        t('barRequired'),
        t('barHandedIn'),
        t('barReused'),
        t('barFetched'),
        t('columnDeferred'),
      ],
      rows: [
        ...summary.materials.byItem.map((item): ExportCell[] => [
          item.itemName,
          item.itemCode,
          item.cases,
          item.required,
          item.handedIn,
          item.reused,
          item.fetched,
          item.deferred,
        ]),
        [
          t('allItems'),
          null,
          summary.materials.cases,
          summary.materials.required,
          summary.materials.handedIn,
          summary.materials.reused,
          summary.materials.fetched,
          summary.materials.deferred,
        ],
      ],
    },
    departments: {
      id: 'departments',
      title: t('departmentsHeading'),
      columns: [
        t('columnDepartment'),
        'ID',
        t('columnBreaker'),
        t('columnCalls'),
        t('columnErrors'),
        t('columnDelivered'),
        t('columnPending'),
        t('columnDead'),
        t('columnRetried'),
        `${t('columnLatencyP50')} (ms)`,
        `${t('columnLatencyP95')} (ms)`,
      ],
      rows: departmentCodes(summary).map((code) => {
        const health = summary.departments.find((department) => department.code === code);
        const deliveries = summary.deliveries.byDepartment.find((entry) => entry.department === code);
        const breaker = health ? BREAKER_LABELS[health.breakerState] : undefined;
        return [
          health?.name ?? null,
          code,
          breaker ? t(breaker) : null,
          health ? health.calls : null,
          health ? health.errors : null,
          deliveries?.delivered ?? 0,
          deliveries?.pending ?? 0,
          deliveries?.dead ?? 0,
          deliveries?.retried ?? 0,
          deliveries?.latencyMs.p50 ?? null,
          deliveries?.latencyMs.p95 ?? null,
        ];
      }),
    },
    'dead-letters': {
      id: 'dead-letters',
      title: t('deadLettersHeading'),
      columns: [
        t('columnDelivery'),
        t('columnCase'),
        t('columnDepartment'),
        t('columnAttempts'),
        t('columnLastError'),
        t('columnDeadSince'),
      ],
      rows: summary.deadLetters.items.map((letter) => [
        letter.deliveryId,
        letter.caseNumber,
        letter.department,
        letter.attempts,
        letter.lastErrorCode,
        letter.deadAt,
      ]),
    },
    'cases-by-status': {
      id: 'cases-by-status',
      title: t('statusHeading'),
      columns: [t('columnStatus'), t('columnCases')],
      rows: (Object.keys(STATUS_LABELS) as CaseStatusName[]).map((status) => [
        t(STATUS_LABELS[status]),
        summary.casesByStatus[status],
      ]),
    },
  };
  return PAGE_TABLE_IDS.map((id) => tables[id]).filter((table): table is ExportTable => table !== null);
}

/** The departments the page lists: those configured and those with deliveries in the period. */
export function departmentCodes(summary: SupervisionSummary): string[] {
  return [
    ...new Set([
      ...summary.departments.map((department) => department.code),
      ...summary.deliveries.byDepartment.map((entry) => entry.department),
    ]),
  ].sort();
}

/** The case list as a table (its export). */
export function caseListTable(list: CaseList, language: Language, title: string): ExportTable {
  const t: Texts = (key, values) => pageText(language, key, values);
  return {
    id: 'cases',
    title,
    columns: [
      t('columnCase'),
      t('columnItem'),
      t('columnStatus'),
      t('columnCentre'),
      t('columnApplicant'),
      t('columnOpened'),
      t('columnAccepted'),
      t('columnDue'),
      t('columnCompleted'),
      t('columnDepartments'),
    ],
    rows: list.items.map((entry) => [
      entry.caseNumber,
      entry.itemName,
      t(STATUS_LABELS[entry.status]),
      entry.centreName ?? entry.centreCode,
      entry.applicant,
      entry.openedOn,
      entry.acceptedOn,
      entry.dueOn,
      entry.completedOn,
      entry.departments.join(', '),
    ]),
  };
}
