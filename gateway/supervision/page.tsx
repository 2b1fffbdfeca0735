/**
 * The supervision page, rendered on the server with Hono JSX: the warnings, the on-time rate,
 * materials handed in against those required (a bar chart in inline SVG), the departments'
 * health and delivery latency, and the dead letters. No script and no external file: the one
 * style sheet is inline and allowed by a per-response nonce in the Content-Security-Policy, and
 * the charts are drawn with SVG attributes, which that policy does not restrict.
 */
import type { FC } from 'hono/jsx';
import type {
  CaseDeadlineWarning,
  DeferredMaterialWarning,
  SupervisionWarnings,
  WarningDepartment,
} from './warnings.js';
import type { CaseStatusName, MaterialFigures, SupervisionSummary } from './summary.js';
import type { CentreStatistics } from './centre-statistics.js';
import type { RankingList, Rankings, RatingFiguresAnswer } from '../ratings/figures.js';
import type { Language } from '../platform/language.js';
import { type PageMessageKey, pageText } from './page-messages.js';
import { type PageFigures, type PageTableId, STATUS_LABELS, departmentCodes } from './page-tables.js';
import { CasesPerDayChart, OnTimePerWeekChart, OverduePerDayChart, type TrendLinks } from './trend-charts.js';
import type { SupervisionTrends } from './trends.js';
import type { CaseList } from './case-list.js';

/**
 * What the page shows: the figures (page-tables.ts: also what the exports write), who is looking,
 * and the nonce of its style sheet. The language is Accept-Language's or ?lang='s.
 */
export interface SupervisionPageData extends PageFigures {
  viewer: string;
  /** Nonce of the inline style sheet. */
  nonce: string;
}

/** The query a case list or export link carries: the page's period, centre and language, and its own filter. */
export type LinkQuery = Readonly<Record<string, string | number | undefined>>;

/** Where the page's figures lead: the cases behind them, and each table as a file. */
export interface PageLinks {
  cases(filter: LinkQuery): string;
  exportTable(table: PageTableId | 'all', format: 'csv' | 'xlsx'): string;
}

export function pageLinks(data: {
  summary: SupervisionSummary;
  centres: CentreStatistics | null;
  language: Language;
}): PageLinks {
  const base = (extra: LinkQuery): string => {
    const query = new URLSearchParams({ from: data.summary.period.from, to: data.summary.period.to });
    if (data.centres) query.set('centre', data.centres.centre.code);
    for (const [name, value] of Object.entries(extra)) if (value !== undefined) query.set(name, String(value));
    query.set('lang', data.language);
    return query.toString();
  };
  return {
    cases: (filter) => `/supervision/cases?${base(filter)}`,
    exportTable: (table, format) => `/supervision/export?${base({ table, format })}`,
  };
}

/** The page's texts in one language: `text(key, values)`. */
type Texts = (key: PageMessageKey, values?: Readonly<Record<string, string | number>>) => string;
const textsIn =
  (language: Language): Texts =>
  (key, values) =>
    pageText(language, key, values);

/** The policy of every response of the page; `nonce` admits its one style element. */
export function supervisionPagePolicy(nonce: string | null): string {
  const styles = nonce === null ? "style-src 'none'" : `style-src 'nonce-${nonce}'`;
  return `default-src 'none'; ${styles}; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

const STYLE = `
.scroll { overflow-x: auto; max-width: 100%; }
#materials-chart { display: block; width: 100%; max-width: 540px; height: auto; }
.language-switch { color: #fff; }
.depth-1 { padding-left: 1.2rem; } .depth-2 { padding-left: 2.4rem; } .depth-3 { padding-left: 3.6rem; } .depth-4 { padding-left: 4.8rem; }
:root { color-scheme: light; font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; color: #1f2937; }
body { margin: 0; background: #f3f4f6; }
header { background: #1e3a5f; color: #fff; padding: 1rem 2rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; justify-content: space-between; }
header h1 { margin: 0; font-size: 1.5rem; }
header p { margin: 0; opacity: .85; }
header form { display: flex; gap: .5rem; align-items: center; }
header input, header button { font: inherit; padding: .2rem .4rem; }
main { padding: 1rem 2rem 3rem; display: grid; grid-template-columns: minmax(0, 1fr); gap: 1.25rem; }
section { min-width: 0; background: #fff; border-radius: 8px; padding: 1rem 1.25rem; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { margin: 0 0 .75rem; font-size: 1.15rem; }
h3 { margin: 1rem 0 .5rem; font-size: 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: 1rem; background: none; box-shadow: none; padding: 0; }
.card { background: #fff; border-radius: 8px; padding: .9rem 1.1rem; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.card .label { font-size: .85rem; color: #4b5563; }
.card .value { font-size: 1.8rem; font-weight: 600; margin: .2rem 0; }
.card .note { font-size: .8rem; color: #6b7280; }
.card.bad .value { color: #b91c1c; }
.card.warn .value { color: #b45309; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; }
tr.level-overdue { background: #fee2e2; }
tr.level-overdue .level { color: #b91c1c; font-weight: 700; }
tr.level-approaching { background: #fef3c7; }
tr.level-approaching .level { color: #92400e; font-weight: 700; }
.empty { color: #6b7280; font-style: italic; }
.notice { background: #fff7ed; border-left: 4px solid #f97316; padding: .5rem .75rem; }
.breaker-closed { color: #15803d; font-weight: 600; }
.breaker-half_open { color: #b45309; font-weight: 600; }
.breaker-open { color: #b91c1c; font-weight: 700; }
.legend { display: flex; gap: 1rem; font-size: .85rem; margin: .25rem 0 .5rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; border-radius: 2px; }
.exports { font-size: .85rem; margin: -.25rem 0 .5rem; display: flex; flex-wrap: wrap; gap: .75rem; }
.exports a, td a, th a { color: #1d4ed8; }
.trend-grid figure { margin: 0; min-width: 0; }
.trend-grid figcaption { font-weight: 600; font-size: .95rem; margin-bottom: .25rem; }
.swatch.accepted { background: #60a5fa; } .swatch.concluded { background: #15803d; }
.trend-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 1rem; }
.trend-chart { display: block; width: 100%; height: auto; }
.trend-chart text { font-size: 11px; }
.trend-chart a:hover rect, .trend-chart a:focus rect { opacity: .75; }
details summary { cursor: pointer; color: #1d4ed8; font-size: .85rem; margin: .25rem 0; }
.card a.drill { color: inherit; text-decoration: none; }
.card a.drill:hover .value, .card a.drill:focus .value { text-decoration: underline; }
.pager { display: flex; gap: 1rem; align-items: center; margin-top: .75rem; }
.swatch.required { background: #9ca3af; } .swatch.handed_in { background: #dc2626; } .swatch.reused { background: #16a34a; } .swatch.fetched { background: #2563eb; }
svg text { font-size: 12px; fill: #1f2937; }
/* A phone: two cards a row, less padding; headers stay on one line and their table scrolls. */
@media (max-width: 600px) {
  header { padding: .75rem 1rem; }
  header h1 { font-size: 1.25rem; }
  header form { flex-wrap: wrap; }
  main { padding: .75rem .5rem 2rem; gap: .75rem; }
  section { padding: .75rem; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .5rem; }
  .card .value { font-size: 1.4rem; }
  table { font-size: .85rem; }
  th { white-space: nowrap; }
  #cases-by-status th { white-space: normal; }
}
`;

const BREAKER_LABELS: Record<string, PageMessageKey> = {
  closed: 'breakerClosed',
  half_open: 'breakerHalfOpen',
  open: 'breakerOpen',
};

const percent = (share: number | null): string => (share === null ? '—' : `${(share * 100).toFixed(1)}%`);
const milliseconds = (value: number | null): string =>
  value === null ? '—' : value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${value} ms`;

function daysLeftText(t: Texts, workingDaysLeft: number): string {
  if (workingDaysLeft > 0) return t('daysLeft', { days: workingDaysLeft });
  if (workingDaysLeft === 0) return t('dueToday');
  return t('daysOver', { days: -workingDaysLeft });
}

const DELIVERY_LABELS: Record<WarningDepartment['delivery'], PageMessageKey> = {
  pending: 'deliveryPending',
  delivered: 'deliveryDelivered',
  dead: 'deliveryDead',
  held: 'deliveryHeld',
  refused: 'deliveryRefused',
  cancelled: 'deliveryCancelled',
};

/** Where a department stands: its own status when it is one of ours, else how far the delivery got. */
function departmentStanding(t: Texts, department: WarningDepartment): string {
  const status = department.departmentStatus;
  if (status === null) return t(DELIVERY_LABELS[department.delivery]);
  return status in STATUS_LABELS ? t(STATUS_LABELS[status as CaseStatusName]) : status;
}

const Departments: FC<{ departments: WarningDepartment[]; t: Texts }> = ({ departments, t }) => (
  <>
    {departments.map((department, index) => (
      <>
        {index > 0 ? ', ' : ''}
        {department.code} <span class="note">({departmentStanding(t, department)})</span>
      </>
    ))}
  </>
);

const CaseWarningRow: FC<{ warning: CaseDeadlineWarning; t: Texts }> = ({ warning, t }) => (
  <tr class={`level-${warning.level}`} data-level={warning.level} data-case={warning.caseNumber}>
    <td class="level">{t(warning.level === 'overdue' ? 'levelOverdue' : 'levelApproaching')}</td>
    <td>{warning.caseNumber}</td>
    <td>{warning.itemName}</td>
    <td>{t(STATUS_LABELS[warning.status])}</td>
    <td class="date">{warning.acceptedOn}</td>
    <td class="date">{warning.dueOn}</td>
    <td class="number">
      {t('daysUsed', {
        used: warning.workingDaysUsed,
        promised: warning.promisedDays,
        share: percent(warning.shareUsed),
      })}
    </td>
    <td class="number">
      {`${warning.level === 'overdue' && warning.workingDaysLeft === 0 ? t('pastDue') : daysLeftText(t, warning.workingDaysLeft)}${warning.provisional ? ' *' : ''}`}
    </td>
    <td>
      <Departments departments={warning.departments} t={t} />
    </td>
  </tr>
);

const DeferredWarningRow: FC<{ warning: DeferredMaterialWarning; t: Texts }> = ({ warning, t }) => (
  <tr
    class="level-overdue"
    data-level="overdue"
    data-case={warning.caseNumber}
    data-requirement={warning.requirementCode}
  >
    <td class="level">{t('levelOverdue')}</td>
    <td>{warning.caseNumber}</td>
    <td>{warning.itemName}</td>
    <td>{warning.requirementName}</td>
    <td class="date">{warning.dueOn}</td>
    <td class="number">
      {`${warning.workingDaysOver === 0 ? t('pastDue') : t('daysOver', { days: warning.workingDaysOver })}${warning.provisional ? ' *' : ''}`}
    </td>
  </tr>
);

/** "CSV · Excel" under a table's heading: the table as the page shows it, as a file. */
const ExportLinks: FC<{ links: PageLinks; table: PageTableId; title: string; t: Texts }> = ({
  links,
  table,
  title,
  t,
}) => (
  <nav class="exports" aria-label={t('exportLabel', { table: title })}>
    <a href={links.exportTable(table, 'csv')} data-export={`${table}.csv`} download>
      {t('exportCsv')}
    </a>
    <a href={links.exportTable(table, 'xlsx')} data-export={`${table}.xlsx`} download>
      {t('exportXlsx')}
    </a>
  </nav>
);

const percentOrDash = (share: number | null): string => (share === null ? '—' : `${(share * 100).toFixed(1)}%`);

/** Cases per day, on-time rate per week and overdue cases per day: charts, then their figures as tables. */
const TrendsSection: FC<{ trends: SupervisionTrends; links: PageLinks; t: Texts }> = ({ trends, links, t }) => {
  const trendLinks: TrendLinks = {
    acceptedOn: (day) => links.cases({ basis: 'accepted', from: day, to: day }),
    concludedBetween: (from, to) => links.cases({ basis: 'concluded', from, to }),
    overdueOn: (day) => links.cases({ overdueOn: day }),
  };
  const firstDay = trends.days[0]?.day ?? trends.until;
  return (
    <section aria-labelledby="trends-heading">
      <h2 id="trends-heading">{t('trendsHeading')}</h2>
      <div class="trend-grid">
        <figure>
          <figcaption>{t('casesPerDayTitle', { from: firstDay, until: trends.until })}</figcaption>
          <p class="legend" aria-hidden="true">
            <span>
              <span class="swatch accepted"></span>
              {t('seriesAccepted')}
            </span>
            <span>
              <span class="swatch concluded"></span>
              {t('seriesConcluded')}
            </span>
          </p>
          <CasesPerDayChart trends={trends} links={trendLinks} t={t} />
          <ExportLinks
            links={links}
            table="trend-days"
            title={t('casesPerDayTitle', { from: firstDay, until: trends.until })}
            t={t}
          />
        </figure>
        <figure>
          <figcaption>{t('onTimePerWeekTitle', { weeks: trends.weeks.length })}</figcaption>
          <OnTimePerWeekChart trends={trends} links={trendLinks} t={t} />
          <ExportLinks
            links={links}
            table="trend-weeks"
            title={t('onTimePerWeekTitle', { weeks: trends.weeks.length })}
            t={t}
          />
        </figure>
        <figure>
          <figcaption>{t('overduePerDayTitle', { from: firstDay, until: trends.until })}</figcaption>
          <OverduePerDayChart trends={trends} links={trendLinks} t={t} />
          <ExportLinks
            links={links}
            table="trend-days"
            title={t('overduePerDayTitle', { from: firstDay, until: trends.until })}
            t={t}
          />
        </figure>
      </div>
      <details>
        <summary>{t('showFigures')}</summary>
        <div class="scroll">
          <table id="trend-days">
            <caption>{t('casesPerDayTitle', { from: firstDay, until: trends.until })}</caption>
            <thead>
              <tr>
                <th>{t('columnDay')}</th>
                <th class="number">{t('seriesAccepted')}</th>
                <th class="number">{t('seriesConcluded')}</th>
                <th class="number">{t('columnOverdueOnDay')}</th>
              </tr>
            </thead>
            <tbody>
              {trends.days.map((day) => (
                <tr data-day={day.day}>
                  <td class="date">{day.day}</td>
                  <td class="number">
                    <a href={trendLinks.acceptedOn(day.day)}>{String(day.accepted)}</a>
                  </td>
                  <td class="number">
                    <a href={trendLinks.concludedBetween(day.day, day.day)}>{String(day.concluded)}</a>
                  </td>
                  <td class="number">
                    <a href={trendLinks.overdueOn(day.day)}>{String(day.overdue)}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <table id="trend-weeks">
            <caption>{t('onTimePerWeekTitle', { weeks: trends.weeks.length })}</caption>
            <thead>
              <tr>
                <th>{t('columnWeek')}</th>
                <th class="number">{t('columnConcluded')}</th>
                <th class="number">{t('columnOnTimeCount')}</th>
                <th class="number">{t('columnOnTimeRate')}</th>
              </tr>
            </thead>
            <tbody>
              {trends.weeks.map((week) => (
                <tr data-week={week.weekStart}>
                  <td class="date">{`${week.weekStart} – ${week.weekEnd}`}</td>
                  <td class="number">
                    <a href={trendLinks.concludedBetween(week.weekStart, week.weekEnd)}>{String(week.concluded)}</a>
                  </td>
                  <td class="number">{String(week.onTime)}</td>
                  <td class="number">{percentOrDash(week.onTimeRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
};

const WarningsSection: FC<{ warnings: SupervisionWarnings; links: PageLinks; t: Texts }> = ({ warnings, links, t }) => {
  const years = warnings.provisionalYears.join(', ');
  return (
    <section aria-labelledby="warnings-heading">
      <h2 id="warnings-heading">{t('warningsHeading')}</h2>
      <ExportLinks links={links} table="case-warnings" title={t('warningsHeading')} t={t} />
      <p>{t('warningsExplanation', { share: percent(warnings.warningShare) })}</p>
      {warnings.provisionalYears.length > 0 ? (
        <p class="notice" id="provisional-notice">
          {t('provisionalNotice', { years })}
        </p>
      ) : null}
      {warnings.cases.length === 0 ? (
        <p class="empty">{t('noCaseWarnings')}</p>
      ) : (
        <div class="scroll">
          <table id="case-warnings">
            <thead>
              <tr>
                <th>{t('columnLevel')}</th>
                <th>{t('columnCase')}</th>
                <th>{t('columnItem')}</th>
                <th>{t('columnStatus')}</th>
                <th>{t('columnAccepted')}</th>
                <th>{t('columnDue')}</th>
                <th class="number">{t('columnDaysUsed')}</th>
                <th class="number">{t('columnDaysLeft')}</th>
                <th>{t('columnDepartments')}</th>
              </tr>
            </thead>
            <tbody>
              {warnings.cases.map((warning) => (
                <CaseWarningRow warning={warning} t={t} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>{t('deferredHeading')}</h3>
      <ExportLinks links={links} table="deferred-warnings" title={t('deferredHeading')} t={t} />
      {warnings.deferredMaterials.length === 0 ? (
        <p class="empty">{t('none')}</p>
      ) : (
        <div class="scroll">
          <table id="deferred-warnings">
            <thead>
              <tr>
                <th>{t('columnLevel')}</th>
                <th>{t('columnCase')}</th>
                <th>{t('columnItem')}</th>
                <th>{t('columnMaterial')}</th>
                <th>{t('columnDue')}</th>
                <th class="number">{t('columnDaysLeft')}</th>
              </tr>
            </thead>
            <tbody>
              {warnings.deferredMaterials.map((warning) => (
                <DeferredWarningRow warning={warning} t={t} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>{t('cancellationsHeading')}</h3>
      <ExportLinks links={links} table="cancellation-warnings" title={t('cancellationsHeading')} t={t} />
      {warnings.cancellations.length === 0 ? (
        <p class="empty">{t('none')}</p>
      ) : (
        <div class="scroll">
          <table id="cancellation-warnings">
            <thead>
              <tr>
                <th>{t('columnCase')}</th>
                <th>{t('columnItem')}</th>
                <th>{t('columnWithdrawFrom')}</th>
                <th>{t('columnRefusedBy')}</th>
                <th>{t('columnSince')}</th>
              </tr>
            </thead>
            <tbody>
              {warnings.cancellations.map((warning) => (
                <tr>
                  <td>{warning.caseNumber}</td>
                  <td>{warning.itemName}</td>
                  <td>{`${warning.department}${warning.departmentReference ? ` (${warning.departmentReference})` : ''}`}</td>
                  <td>{warning.refusedBy.map((refusal) => refusal.department).join('; ')}</td>
                  <td>{warning.since ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
};

const BAR_KINDS = [
  { key: 'required', label: 'barRequired', pick: (figures: MaterialFigures) => figures.required },
  { key: 'handed_in', label: 'barHandedIn', pick: (figures: MaterialFigures) => figures.handedIn },
  { key: 'reused', label: 'barReused', pick: (figures: MaterialFigures) => figures.reused },
  { key: 'fetched', label: 'barFetched', pick: (figures: MaterialFigures) => figures.fetched },
] as const;

const CHART = { titleHeight: 20, kindWidth: 80, barArea: 420, barHeight: 14, gap: 3, groupGap: 12, valueWidth: 40 };

/** One group per item (and one for all items): its name, then four bars scaled to the largest figure. */
const MaterialsChart: FC<{ materials: SupervisionSummary['materials']; t: Texts }> = ({ materials, t }) => {
  const groups = [
    { key: 'total', name: t('allItems'), figures: materials as MaterialFigures },
    ...materials.byItem.map((item) => ({ key: item.itemCode, name: item.itemName, figures: item as MaterialFigures })),
  ];
  const largest = Math.max(1, ...groups.flatMap((group) => BAR_KINDS.map((kind) => kind.pick(group.figures))));
  const groupHeight = CHART.titleHeight + BAR_KINDS.length * (CHART.barHeight + CHART.gap) + CHART.groupGap;
  const width = CHART.kindWidth + CHART.barArea + CHART.valueWidth;
  const height = groups.length * groupHeight;
  const fills: Record<(typeof BAR_KINDS)[number]['key'], string> = {
    required: '#9ca3af',
    handed_in: '#dc2626',
    reused: '#16a34a',
    fetched: '#2563eb',
  };
  return (
    <svg
      id="materials-chart"
      role="img"
      aria-labelledby="materials-chart-title"
      width="100%"
      viewBox={`0 0 ${width} ${height}`}
    >
      <title id="materials-chart-title">{t('chartTitle')}</title>
      {groups.map((group, groupIndex) => {
        const top = groupIndex * groupHeight;
        return (
          <g data-item={group.key}>
            <text x="0" y={top + 14} font-weight="600">
              {group.name}
            </text>
            {BAR_KINDS.map((kind, index) => {
              const value = kind.pick(group.figures);
              const y = top + CHART.titleHeight + index * (CHART.barHeight + CHART.gap);
              const barWidth = Math.round((value / largest) * CHART.barArea);
              return (
                <>
                  <text x="0" y={y + CHART.barHeight - 3}>
                    {t(kind.label)}
                  </text>
                  <rect
                    data-bar={kind.key}
                    data-value={String(value)}
                    x={CHART.kindWidth}
                    y={y}
                    height={CHART.barHeight}
                    width={barWidth}
                    fill={fills[kind.key]}
                  >
                    <title>{`${group.name}: ${t(kind.label)} ${value}`}</title>
                  </rect>
                  <text x={CHART.kindWidth + barWidth + 4} y={y + CHART.barHeight - 3}>
                    {String(value)}
                  </text>
                </>
              );
            })}
          </g>
        );
      })}
    </svg>
  );
};

const MaterialsSection: FC<{ materials: SupervisionSummary['materials']; links: PageLinks; t: Texts }> = ({
  materials,
  links,
  t,
}) => {
  const notHandedIn = materials.required > 0 ? 1 - materials.handedIn / materials.required : null;
  return (
    <section aria-labelledby="materials-heading">
      <h2 id="materials-heading">{t('materialsHeading')}</h2>
      <ExportLinks links={links} table="materials-by-item" title={t('materialsHeading')} t={t} />
      <p id="materials-figures">
        {t('materialsFigures', {
          cases: materials.cases,
          handedIn: materials.handedIn,
          required: materials.required,
          reused: materials.reused,
          fetched: materials.fetched,
          deferred: materials.deferred,
        })}
        {t('materialsPerCase', { perCase: materials.averageHandedInPerCase ?? '—', share: percent(notHandedIn) })}
      </p>
      <div class="legend">
        {BAR_KINDS.map((kind) => (
          <span>
            <span class={`swatch ${kind.key}`}></span>
            {t(kind.label)}
          </span>
        ))}
      </div>
      {materials.cases === 0 ? (
        <p class="empty">{t('noCaseAccepted')}</p>
      ) : (
        <MaterialsChart materials={materials} t={t} />
      )}
    </section>
  );
};

const DepartmentsSection: FC<{ summary: SupervisionSummary; links: PageLinks; t: Texts }> = ({ summary, links, t }) => {
  const codes = departmentCodes(summary);
  return (
    <section aria-labelledby="departments-heading">
      <h2 id="departments-heading">{t('departmentsHeading')}</h2>
      <ExportLinks links={links} table="departments" title={t('departmentsHeading')} t={t} />
      <div class="scroll">
        <table id="departments">
          <thead>
            <tr>
              <th>{t('columnDepartment')}</th>
              <th>{t('columnBreaker')}</th>
              <th class="number">{t('columnCalls')}</th>
              <th class="number">{t('columnErrors')}</th>
              <th class="number">{t('columnDelivered')}</th>
              <th class="number">{t('columnPending')}</th>
              <th class="number">{t('columnDead')}</th>
              <th class="number">{t('columnRetried')}</th>
              <th class="number">{t('columnLatencyP50')}</th>
              <th class="number">{t('columnLatencyP95')}</th>
            </tr>
          </thead>
          <tbody>
            {codes.map((code) => {
              const health = summary.departments.find((department) => department.code === code);
              const deliveries = summary.deliveries.byDepartment.find((entry) => entry.department === code);
              return (
                <tr data-department={code}>
                  <td>
                    <a href={links.cases({ basis: 'opened', department: code })}>
                      {health ? `${code} — ${health.name}` : t('notConfigured', { code })}
                    </a>
                  </td>
                  <td class={health ? `breaker-${health.breakerState}` : ''}>
                    {health ? breakerLabel(t, health.breakerState) : '—'}
                  </td>
                  <td class="number">{health ? String(health.calls) : '—'}</td>
                  <td class="number">{health ? String(health.errors) : '—'}</td>
                  <td class="number">{String(deliveries?.delivered ?? 0)}</td>
                  <td class="number">{String(deliveries?.pending ?? 0)}</td>
                  <td class="number">{String(deliveries?.dead ?? 0)}</td>
                  <td class="number">{String(deliveries?.retried ?? 0)}</td>
                  <td class="number">{milliseconds(deliveries?.latencyMs.p50 ?? null)}</td>
                  <td class="number">{milliseconds(deliveries?.latencyMs.p95 ?? null)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {codes.length === 0 ? <p class="empty">{t('noDepartments')}</p> : null}
    </section>
  );
};

const DeadLettersSection: FC<{ deadLetters: SupervisionSummary['deadLetters']; links: PageLinks; t: Texts }> = ({
  deadLetters,
  links,
  t,
}) => (
  <section aria-labelledby="dead-letters-heading">
    <h2 id="dead-letters-heading">{t('deadLettersHeading')}</h2>
    <ExportLinks links={links} table="dead-letters" title={t('deadLettersHeading')} t={t} />
    {deadLetters.total === 0 ? (
      <p class="empty">{t('noDeadLetters')}</p>
    ) : (
      <>
        <p>
          {t('deadLettersExplanation', { count: deadLetters.total })}
          {deadLetters.total > deadLetters.items.length
            ? t('deadLettersNewest', { count: deadLetters.items.length })
            : ''}
        </p>
        <div class="scroll">
          <table id="dead-letters">
            <thead>
              <tr>
                <th>{t('columnDelivery')}</th>
                <th>{t('columnCase')}</th>
                <th>{t('columnDepartment')}</th>
                <th class="number">{t('columnAttempts')}</th>
                <th>{t('columnLastError')}</th>
                <th>{t('columnDeadSince')}</th>
              </tr>
            </thead>
            <tbody>
              {deadLetters.items.map((letter) => (
                <tr data-delivery={letter.deliveryId}>
                  <td>{letter.deliveryId}</td>
                  <td>{letter.caseNumber}</td>
                  <td>{letter.department}</td>
                  <td class="number">{String(letter.attempts)}</td>
                  <td>{letter.lastErrorCode ?? '—'}</td>
                  <td>{letter.deadAt ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    )}
  </section>
);

function breakerLabel(t: Texts, state: string): string {
  const key = BREAKER_LABELS[state];
  return key ? t(key) : state;
}

/** The same view in the other language: the period and centre kept, `lang` switched. */
function otherLanguageHref(data: SupervisionPageData): string {
  const other: Language = data.language === 'zh-CN' ? 'en' : 'zh-CN';
  const query = new URLSearchParams({ from: data.summary.period.from, to: data.summary.period.to });
  if (data.centres) query.set('centre', data.centres.centre.code);
  query.set('lang', other);
  return `/supervision?${query.toString()}`;
}

const SupervisionPage: FC<{ data: SupervisionPageData }> = ({ data }) => {
  const { summary, warnings } = data;
  const { completion } = summary;
  const { counts } = warnings;
  const t = textsIn(data.language);
  const otherLanguage: Language = data.language === 'zh-CN' ? 'en' : 'zh-CN';
  const links = pageLinks(data);
  return (
    <html lang={data.language}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{t('pageTitle')}</title>
        {/* A constant, and text inside <style> is not unescaped: so it goes in raw. */}
        <style nonce={data.nonce} dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <div>
            <h1>{t('heading')}</h1>
            <p>{t('todayAndViewer', { today: data.today, viewer: data.viewer })}</p>
          </div>
          <form method="get" action="/supervision">
            <label>
              {t('periodFrom')} <input type="date" name="from" value={summary.period.from} required />
            </label>
            <label>
              {t('periodTo')} <input type="date" name="to" value={summary.period.to} required />
            </label>
            <label>
              {t('periodCentre')}{' '}
              <input
                type="text"
                name="centre"
                inputmode="numeric"
                pattern="[1-8][0-9]{8}"
                size={10}
                value={data.centres?.centre.code ?? ''}
              />
            </label>
            <input type="hidden" name="lang" value={data.language} />
            <button type="submit">{t('periodShow')}</button>
          </form>
          <a class="language-switch" id="language-switch" href={otherLanguageHref(data)} hreflang={otherLanguage}>
            {t('switchLanguage')}
          </a>
          <a class="language-switch" id="export-all" href={links.exportTable('all', 'xlsx')} download>
            {t('exportAll')}
          </a>
        </header>
        <main>
          <section class="cards" aria-label={t('figuresAtAGlance')}>
            <div class="card" id="on-time">
              <div class="label">{t('onTimeLabel')}</div>
              <a class="drill" href={links.cases({ basis: 'concluded' })} title={t('viewCases')}>
                <div class="value">{percent(completion.onTimeRate)}</div>
              </a>
              <div class="note">
                {t('onTimeNote', {
                  onTime: completion.onTime,
                  concluded: completion.concluded,
                  from: summary.period.from,
                  to: summary.period.to,
                })}
              </div>
            </div>
            <div class={`card ${counts.overdue > 0 ? 'bad' : ''}`} id="overdue-count">
              <div class="label">{t('overdueLabel')}</div>
              <a class="drill" href={links.cases({ overdueOn: data.today })} title={t('viewCases')}>
                <div class="value">{String(counts.overdue)}</div>
              </a>
              <div class="note">{t('deferredOverdueNote', { count: counts.deferredMaterialsOverdue })}</div>
            </div>
            <div class={`card ${counts.approaching > 0 ? 'warn' : ''}`} id="approaching-count">
              <div class="label">{t('approachingLabel')}</div>
              <a class="drill" href="#case-warnings" title={t('warningsHeading')}>
                <div class="value">{String(counts.approaching)}</div>
              </a>
            </div>
            <div class="card" id="handed-in">
              <div class="label">{t('handedInLabel')}</div>
              <a class="drill" href={links.cases({ basis: 'accepted' })} title={t('viewCases')}>
                <div class="value">
                  {summary.materials.averageHandedInPerCase === null
                    ? '—'
                    : String(summary.materials.averageHandedInPerCase)}
                </div>
              </a>
              <div class="note">
                {t('handedInNote', { handedIn: summary.materials.handedIn, required: summary.materials.required })}
              </div>
            </div>
            <div class={`card ${summary.deadLetters.total > 0 ? 'bad' : ''}`} id="dead-letter-count">
              <div class="label">{t('deadLetterLabel')}</div>
              <a class="drill" href="#dead-letters-heading" title={t('deadLettersHeading')}>
                <div class="value">{String(summary.deadLetters.total)}</div>
              </a>
              <div class="note">{t('retriedNote', { count: summary.deliveries.retried })}</div>
            </div>
          </section>
          <TrendsSection trends={data.trends} links={links} t={t} />
          {data.centres ? <CentresSection statistics={data.centres} links={links} t={t} /> : null}
          <WarningsSection warnings={warnings} links={links} t={t} />
          <RatingsSection ratings={data.ratings} rankings={data.rankings} warnings={warnings} links={links} t={t} />
          <MaterialsSection materials={summary.materials} links={links} t={t} />
          <DepartmentsSection summary={summary} links={links} t={t} />
          <DeadLettersSection deadLetters={summary.deadLetters} links={links} t={t} />
          <section aria-labelledby="status-heading">
            <h2 id="status-heading">{t('statusHeading')}</h2>
            <ExportLinks links={links} table="cases-by-status" title={t('statusHeading')} t={t} />
            <div class="scroll">
              <table id="cases-by-status">
                <tbody>
                  {(Object.keys(STATUS_LABELS) as CaseStatusName[]).map((status) => (
                    <tr data-status={status}>
                      <th>{t(STATUS_LABELS[status])}</th>
                      <td class="number">
                        <a href={links.cases({ basis: 'opened', status })}>{String(summary.casesByStatus[status])}</a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </main>
      </body>
    </html>
  );
};

/** The page narrowed to one centre of the subtree (its period and language kept). */
function narrowedHref(links: PageLinks, centre: string): string {
  return links.cases({ centre }).replace('/supervision/cases?', '/supervision?');
}

const LEVEL_INDENT: Record<string, number> = { province: 0, city: 1, county: 2, town: 3, village: 4 };

/** The subtree's centres, each rolled up over the centres below it; a link narrows the page to one. */
const CentresSection: FC<{ statistics: CentreStatistics; links: PageLinks; t: Texts }> = ({ statistics, links, t }) => {
  const rootIndent = LEVEL_INDENT[statistics.centre.level] ?? 0;
  return (
    <section aria-labelledby="centres-heading">
      <h2 id="centres-heading">{t('centresHeading', { name: statistics.centre.name })}</h2>
      <ExportLinks links={links} table="centres" title={t('centresHeading', { name: statistics.centre.name })} t={t} />
      <div class="scroll">
        <table id="centres">
          <thead>
            <tr>
              <th>{t('columnCentre')}</th>
              <th class="number">{t('columnCentreAccepted')}</th>
              <th class="number">{t('columnOnTime')}</th>
              <th class="number">{t('columnOverdue')}</th>
              <th class="number">{t('columnAverageDays')}</th>
              <th class="number">{t('columnHandedIn')}</th>
              <th class="number">{t('columnReused')}</th>
              <th class="number">{t('columnTransfers')}</th>
            </tr>
          </thead>
          <tbody>
            {statistics.centres.map((centre) => (
              <tr data-centre={centre.code}>
                <th class={`depth-${Math.max(0, (LEVEL_INDENT[centre.level] ?? 0) - rootIndent)}`}>
                  <a href={narrowedHref(links, centre.code)}>{centre.name}</a> <span class="note">{centre.code}</span>
                </th>
                <td class="number">
                  <a href={links.cases({ basis: 'accepted', centre: centre.code })}>{String(centre.accepted)}</a>
                </td>
                <td class="number">{percent(centre.onTimeRate)}</td>
                <td class="number">
                  <a href={links.cases({ basis: 'accepted', centre: centre.code, outcome: 'overdue' })}>
                    {String(centre.overdue)}
                  </a>
                </td>
                <td class="number">{centre.averageHandlingDays === null ? '—' : String(centre.averageHandlingDays)}</td>
                <td class="number">{String(centre.materialsHandedIn)}</td>
                <td class="number">{String(centre.materialsReused)}</td>
                <td class="number">{String(centre.transfers)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};

const score = (value: number | null): string => (value === null ? '—' : value.toFixed(2));

/** A month's ranking (群众满意窗口 or 为民服务标兵): the first ten. */
interface RankingTableProps {
  id: string;
  list: RankingList;
  minimumRatings: number;
  operators: boolean;
  t: Texts;
}

const RankingTable: FC<RankingTableProps> = ({ id, list, minimumRatings, operators, t }) =>
  list.ranked.length === 0 ? (
    <p class="empty">{t(operators ? 'noRankedOperator' : 'noRankedWindow', { minimum: minimumRatings })}</p>
  ) : (
    <div class="scroll">
      <table id={id}>
        <thead>
          <tr>
            <th class="number">{t('columnRank')}</th>
            <th>{t(operators ? 'columnOperator' : 'columnWindow')}</th>
            <th class="number">{t('columnRatings')}</th>
            <th class="number">{t('columnAverage')}</th>
            <th class="number">{t('columnOnTime')}</th>
            <th class="number">{t('columnVolume')}</th>
            <th class="number">{t('columnPoints')}</th>
          </tr>
        </thead>
        <tbody>
          {list.ranked.slice(0, 10).map((entry) => (
            <tr data-rank={String(entry.rank)} data-id={entry.id}>
              <td class="number">{String(entry.rank)}</td>
              <td>
                {entry.name ?? entry.id}{' '}
                <span class="note">{operators && entry.centreCode ? `${entry.centreCode}/${entry.id}` : entry.id}</span>
              </td>
              <td class="number">{String(entry.ratings)}</td>
              <td class="number">{score(entry.averageScore)}</td>
              <td class="number">{percent(entry.onTimeRate)}</td>
              <td class="number">{String(entry.volume)}</td>
              <td class="number">{entry.points.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );

/** 好差评: the period's figures per centre, the 差评 follow-ups past due, and the month's rankings. */
interface RatingsSectionProps {
  links: PageLinks;
  ratings: RatingFiguresAnswer;
  rankings: Rankings;
  warnings: SupervisionWarnings;
  t: Texts;
}

const RatingsSection: FC<RatingsSectionProps> = ({ ratings, rankings, warnings, links, t }) => {
  const { totals } = ratings;
  const { rating: ratingWeight, onTime: onTimeWeight, volume: volumeWeight } = rankings.weights;
  return (
    <section aria-labelledby="ratings-heading">
      <h2 id="ratings-heading">{t('ratingsHeading')}</h2>
      <ExportLinks links={links} table="ratings-by-centre" title={t('ratingsHeading')} t={t} />
      <p id="ratings-totals">
        {t('ratingsTotals', {
          from: ratings.period.from,
          to: ratings.period.to,
          ratings: totals.ratings,
          average: score(totals.averageScore),
          bad: totals.badRatings,
          badShare: percent(totals.badShare),
          followUps: percent(totals.followUps.onTimeRate),
        })}
      </p>
      {ratings.rows.length === 0 ? null : (
        <div class="scroll">
          <table id="ratings-by-centre">
            <thead>
              <tr>
                <th>{t('columnCentre')}</th>
                <th class="number">{t('columnRatings')}</th>
                <th class="number">{t('columnAverage')}</th>
                <th class="number">{t('columnBad')}</th>
                <th class="number">{t('columnBadShare')}</th>
                <th class="number">{t('columnAnsweredOnTime')}</th>
                <th class="number">{t('columnFollowUpsOverdue')}</th>
              </tr>
            </thead>
            <tbody>
              {ratings.rows.map((row) => (
                <tr data-centre={row.key}>
                  <th>
                    {row.name ?? row.key} <span class="note">{row.key}</span>
                  </th>
                  <td class="number">{String(row.ratings)}</td>
                  <td class="number">{score(row.averageScore)}</td>
                  <td class="number">{String(row.badRatings)}</td>
                  <td class="number">{percent(row.badShare)}</td>
                  <td class="number">{String(row.followUps.answeredOnTime)}</td>
                  <td class="number">{String(row.followUps.overdue)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>{t('followUpsHeading')}</h3>
      <ExportLinks links={links} table="rating-follow-ups" title={t('followUpsHeading')} t={t} />
      {warnings.ratingFollowUps.length === 0 ? (
        <p class="empty">{t('none')}</p>
      ) : (
        <div class="scroll">
          <table id="rating-follow-ups">
            <thead>
              <tr>
                <th>{t('columnCase')}</th>
                <th>{t('columnItem')}</th>
                <th>{t('columnCentre')}</th>
                <th class="number">{t('columnScore')}</th>
                <th>{t('columnAnswerDue')}</th>
                <th class="number">{t('columnOver')}</th>
              </tr>
            </thead>
            <tbody>
              {warnings.ratingFollowUps.map((warning) => (
                <tr class="level-overdue" data-level="overdue" data-rating={warning.ratingId}>
                  <td>{warning.caseNumber}</td>
                  <td>{warning.itemName}</td>
                  <td>{warning.centreName ?? warning.centreCode ?? '—'}</td>
                  <td class="number">{String(warning.score)}</td>
                  <td class="date">{warning.dueOn}</td>
                  <td class="number">
                    {`${t('workingDaysOver', { days: warning.workingDaysOver })}${warning.provisional ? ' *' : ''}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>{t('satisfiedWindowsHeading', { month: rankings.month })}</h3>
      <ExportLinks
        links={links}
        table="satisfied-windows"
        title={t('satisfiedWindowsHeading', { month: rankings.month })}
        t={t}
      />
      <RankingTable
        id="satisfied-windows"
        list={rankings.satisfiedWindows}
        minimumRatings={rankings.minimumRatings}
        operators={false}
        t={t}
      />
      <h3>{t('serviceStarsHeading', { month: rankings.month })}</h3>
      <ExportLinks
        links={links}
        table="service-stars"
        title={t('serviceStarsHeading', { month: rankings.month })}
        t={t}
      />
      <RankingTable
        id="service-stars"
        list={rankings.serviceStars}
        minimumRatings={rankings.minimumRatings}
        operators
        t={t}
      />
      <p class="note">
        {t('rankingFormula', {
          rating: ratingWeight,
          onTime: onTimeWeight,
          volume: volumeWeight,
          minimum: rankings.minimumRatings,
        })}
      </p>
    </section>
  );
};

const RefusalPage: FC<{ title: string; detail: string; language: Language }> = ({ title, detail, language }) => (
  <html lang={language}>
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{pageText(language, 'refusalTitleSuffix', { title })}</title>
    </head>
    <body>
      <h1>{title}</h1>
      <p>{detail}</p>
    </body>
  </html>
);

export interface CaseListPageData {
  list: CaseList;
  /** What the list is, in words: "Cases · accepted 2026-06-01 to 2026-06-17 · …". */
  description: string;
  /** The same list on another page, or as a file, or the supervision page it came from. */
  pageHref: (page: number) => string;
  exportHref: (format: 'csv' | 'xlsx') => string;
  backHref: string;
  viewer: string;
  today: string;
  nonce: string;
  language: Language;
}

/** The cases behind a figure: a page of them, masked, with links to the other pages and the exports. */
const CaseListPage: FC<{ data: CaseListPageData }> = ({ data }) => {
  const t = textsIn(data.language);
  const { list } = data;
  const page = list.filter.page;
  return (
    <html lang={data.language}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${t('caseListTitle')} — ${t('pageTitle')}`}</title>
        <style nonce={data.nonce} dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <div>
            <h1>{t('caseListTitle')}</h1>
            <p>{t('todayAndViewer', { today: data.today, viewer: data.viewer })}</p>
          </div>
          <a class="language-switch" id="back" href={data.backHref}>
            {t('backToSupervision')}
          </a>
        </header>
        <main>
          <section aria-labelledby="case-list-heading">
            <h2 id="case-list-heading">{data.description}</h2>
            <p id="case-list-total">
              {t('caseListTotal', { total: list.total, page, pages: list.pages })} · {t('caseListMasked')}
            </p>
            <nav class="exports" aria-label={t('exportLabel', { table: t('caseListTitle') })}>
              <a href={data.exportHref('csv')} data-export="cases.csv" download>
                {t('exportCsv')}
              </a>
              <a href={data.exportHref('xlsx')} data-export="cases.xlsx" download>
                {t('exportXlsx')}
              </a>
            </nav>
            {list.items.length === 0 ? (
              <p class="empty">{t('noCases')}</p>
            ) : (
              <div class="scroll">
                <table id="cases">
                  <thead>
                    <tr>
                      <th>{t('columnCase')}</th>
                      <th>{t('columnItem')}</th>
                      <th>{t('columnStatus')}</th>
                      <th>{t('columnCentre')}</th>
                      <th>{t('columnApplicant')}</th>
                      <th>{t('columnAccepted')}</th>
                      <th>{t('columnDue')}</th>
                      <th>{t('columnCompleted')}</th>
                      <th>{t('columnDepartments')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.items.map((entry) => (
                      <tr data-case={entry.caseNumber}>
                        <td>{entry.caseNumber}</td>
                        <td>{entry.itemName}</td>
                        <td>{t(STATUS_LABELS[entry.status])}</td>
                        <td>{entry.centreName ?? entry.centreCode ?? '—'}</td>
                        <td>{entry.applicant}</td>
                        <td class="date">{entry.acceptedOn ?? '—'}</td>
                        <td class="date">{entry.dueOn ?? '—'}</td>
                        <td class="date">{entry.completedOn ?? '—'}</td>
                        <td>{entry.departments.join(', ') || '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <nav class="pager" aria-label={t('caseListTotal', { total: list.total, page, pages: list.pages })}>
              {page > 1 ? (
                <a href={data.pageHref(page - 1)} rel="prev" id="previous-page">
                  {t('previousPage')}
                </a>
              ) : null}
              {page < list.pages ? (
                <a href={data.pageHref(page + 1)} rel="next" id="next-page">
                  {t('nextPage')}
                </a>
              ) : null}
            </nav>
          </section>
        </main>
      </body>
    </html>
  );
};

export function renderCaseListPage(data: CaseListPageData): Promise<string> {
  return documentOf(<CaseListPage data={data} />);
}

async function documentOf(node: ReturnType<FC>): Promise<string> {
  const rendered = await node;
  return `<!doctype html>${String(rendered ?? '')}`;
}

export function renderSupervisionPage(data: SupervisionPageData): Promise<string> {
  return documentOf(<SupervisionPage data={data} />);
}

/** The page a browser shows when the viewer has not signed in (or the sign-in failed), in `language`. */
export function renderSignInRefusalPage(language: Language, status: number, code: string): Promise<string> {
  const title = pageText(language, 'signInRequired');
  const detail = pageText(language, 'signInDetail', { status, code });
  return documentOf(<RefusalPage title={title} detail={detail} language={language} />);
}
