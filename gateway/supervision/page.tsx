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

export interface SupervisionPageData {
  today: string;
  viewer: string;
  summary: SupervisionSummary;
  warnings: SupervisionWarnings;
  /** The figures per centre of the subtree shown; null for the whole province. */
  centres: CentreStatistics | null;
  /** Satisfaction ratings (好差评) of the period per centre, and the rankings of the month of the period's last day. */
  ratings: RatingFiguresAnswer;
  rankings: Rankings;
  /** Nonce of the inline style sheet. */
  nonce: string;
}

/** The policy of every response of the page; `nonce` admits its one style element. */
export function supervisionPagePolicy(nonce: string | null): string {
  const styles = nonce === null ? "style-src 'none'" : `style-src 'nonce-${nonce}'`;
  return `default-src 'none'; ${styles}; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

const STYLE = `
.scroll { overflow-x: auto; }
.depth-1 { padding-left: 1.2rem; } .depth-2 { padding-left: 2.4rem; } .depth-3 { padding-left: 3.6rem; } .depth-4 { padding-left: 4.8rem; }
:root { color-scheme: light; font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; color: #1f2937; }
body { margin: 0; background: #f3f4f6; }
header { background: #1e3a5f; color: #fff; padding: 1rem 2rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; justify-content: space-between; }
header h1 { margin: 0; font-size: 1.5rem; }
header p { margin: 0; opacity: .85; }
header form { display: flex; gap: .5rem; align-items: center; }
header input, header button { font: inherit; padding: .2rem .4rem; }
main { padding: 1rem 2rem 3rem; display: grid; gap: 1.25rem; }
section { background: #fff; border-radius: 8px; padding: 1rem 1.25rem; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
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
.swatch.required { background: #9ca3af; } .swatch.handed_in { background: #dc2626; } .swatch.reused { background: #16a34a; } .swatch.fetched { background: #2563eb; }
svg text { font-size: 12px; fill: #1f2937; }
`;

const STATUS_LABELS: Record<CaseStatusName, string> = {
  open: 'Open',
  submitted: 'Submitted',
  in_progress: 'In progress',
  awaiting_applicant: 'Awaiting applicant (clock stopped)',
  completed: 'Completed',
  rejected: 'Rejected',
  partially_rejected: 'Partly rejected (a department refused its part)',
};

const percent = (share: number | null): string => (share === null ? '—' : `${(share * 100).toFixed(1)}%`);
const milliseconds = (value: number | null): string =>
  value === null ? '—' : value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${value} ms`;

function daysLeftText(workingDaysLeft: number): string {
  if (workingDaysLeft > 0) return `${workingDaysLeft} left`;
  if (workingDaysLeft === 0) return 'due today';
  return `${-workingDaysLeft} over`;
}

const Departments: FC<{ departments: WarningDepartment[] }> = ({ departments }) => (
  <>
    {departments.map((department, index) => (
      <>
        {index > 0 ? ', ' : ''}
        {department.code} <span class="note">({department.departmentStatus ?? department.delivery})</span>
      </>
    ))}
  </>
);

const CaseWarningRow: FC<{ warning: CaseDeadlineWarning }> = ({ warning }) => (
  <tr class={`level-${warning.level}`} data-level={warning.level} data-case={warning.caseNumber}>
    <td class="level">{warning.level === 'overdue' ? 'Overdue' : 'Approaching'}</td>
    <td>{warning.caseNumber}</td>
    <td>{warning.itemName}</td>
    <td>{STATUS_LABELS[warning.status]}</td>
    <td class="date">{warning.acceptedOn}</td>
    <td class="date">{warning.dueOn}</td>
    <td class="number">{`${warning.workingDaysUsed} of ${warning.promisedDays} (${percent(warning.shareUsed)})`}</td>
    <td class="number">{`${warning.level === 'overdue' && warning.workingDaysLeft === 0 ? 'past due' : daysLeftText(warning.workingDaysLeft)}${warning.provisional ? ' *' : ''}`}</td>
    <td>
      <Departments departments={warning.departments} />
    </td>
  </tr>
);

const DeferredWarningRow: FC<{ warning: DeferredMaterialWarning }> = ({ warning }) => (
  <tr
    class="level-overdue"
    data-level="overdue"
    data-case={warning.caseNumber}
    data-requirement={warning.requirementCode}
  >
    <td class="level">Overdue</td>
    <td>{warning.caseNumber}</td>
    <td>{warning.itemName}</td>
    <td>{warning.requirementName}</td>
    <td class="date">{warning.dueOn}</td>
    <td class="number">{`${warning.workingDaysOver === 0 ? 'past due' : `${warning.workingDaysOver} over`}${warning.provisional ? ' *' : ''}`}</td>
  </tr>
);

const WarningsSection: FC<{ warnings: SupervisionWarnings }> = ({ warnings }) => {
  const years = warnings.provisionalYears.join(', ');
  return (
    <section aria-labelledby="warnings-heading">
      <h2 id="warnings-heading">Deadline warnings</h2>
      <p>
        A case warns when it has used {percent(warnings.warningShare)} of its promised working days, and is overdue
        after its due date. The clock of a case awaiting the applicant is stopped.
      </p>
      {warnings.provisionalYears.length > 0 ? (
        <p class="notice" id="provisional-notice">
          {`The holidays of ${years} are not loaded: its days count by weekday alone, so the figures marked * are provisional. An administrator loads them with PUT /v1/calendar/years/{year}.`}
        </p>
      ) : null}
      {warnings.cases.length === 0 ? (
        <p class="empty">No case is close to or past its deadline.</p>
      ) : (
        <table id="case-warnings">
          <thead>
            <tr>
              <th>Level</th>
              <th>Case</th>
              <th>Item</th>
              <th>Status</th>
              <th>Accepted</th>
              <th>Due</th>
              <th class="number">Working days used</th>
              <th class="number">Working days</th>
              <th>Departments</th>
            </tr>
          </thead>
          <tbody>
            {warnings.cases.map((warning) => (
              <CaseWarningRow warning={warning} />
            ))}
          </tbody>
        </table>
      )}
      <h3>Materials accepted missing (容缺) and not supplied in time</h3>
      {warnings.deferredMaterials.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <table id="deferred-warnings">
          <thead>
            <tr>
              <th>Level</th>
              <th>Case</th>
              <th>Item</th>
              <th>Material</th>
              <th>Due</th>
              <th class="number">Working days</th>
            </tr>
          </thead>
          <tbody>
            {warnings.deferredMaterials.map((warning) => (
              <DeferredWarningRow warning={warning} />
            ))}
          </tbody>
        </table>
      )}
      <h3>Refused joint cases to withdraw by hand (联办件退回，需人工撤件)</h3>
      {warnings.cancellations.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <table id="cancellation-warnings">
          <thead>
            <tr>
              <th>Case</th>
              <th>Item</th>
              <th>Withdraw from</th>
              <th>Refused by</th>
              <th>Since</th>
            </tr>
          </thead>
          <tbody>
            {warnings.cancellations.map((warning) => (
              <tr>
                <td>{warning.caseNumber}</td>
                <td>{warning.itemName}</td>
                <td>{`${warning.department}${warning.departmentReference ? ` (${warning.departmentReference})` : ''}`}</td>
                <td>
                  {warning.refusedBy
                    .map((refusal) => `${refusal.department}${refusal.message ? `: ${refusal.message}` : ''}`)
                    .join('; ')}
                </td>
                <td>{warning.since ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
};

const BAR_KINDS = [
  { key: 'required', label: 'Required', pick: (figures: MaterialFigures) => figures.required },
  { key: 'handed_in', label: 'Handed in', pick: (figures: MaterialFigures) => figures.handedIn },
  { key: 'reused', label: 'Reused', pick: (figures: MaterialFigures) => figures.reused },
  { key: 'fetched', label: 'Fetched', pick: (figures: MaterialFigures) => figures.fetched },
] as const;

const CHART = { titleHeight: 20, kindWidth: 80, barArea: 420, barHeight: 14, gap: 3, groupGap: 12, valueWidth: 40 };

/** One group per item (and one for all items): its name, then four bars scaled to the largest figure. */
const MaterialsChart: FC<{ materials: SupervisionSummary['materials'] }> = ({ materials }) => {
  const groups = [
    { key: 'total', name: 'All items', figures: materials as MaterialFigures },
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
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
    >
      <title id="materials-chart-title">Materials required, handed in, reused and fetched, per item</title>
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
                    {kind.label}
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
                    <title>{`${group.name}: ${kind.label} ${value}`}</title>
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

const MaterialsSection: FC<{ materials: SupervisionSummary['materials'] }> = ({ materials }) => {
  const notHandedIn = materials.required > 0 ? 1 - materials.handedIn / materials.required : null;
  return (
    <section aria-labelledby="materials-heading">
      <h2 id="materials-heading">Materials: handed in versus required</h2>
      <p id="materials-figures">
        {`${materials.cases} cases accepted: ${materials.handedIn} materials handed in of ${materials.required} required; ${materials.reused} reused, ${materials.fetched} fetched from departments, ${materials.deferred} accepted missing. `}
        {`Handed in per case: ${materials.averageHandedInPerCase ?? '—'}. Not asked of the applicant: ${percent(notHandedIn)}.`}
      </p>
      <div class="legend">
        {BAR_KINDS.map((kind) => (
          <span>
            <span class={`swatch ${kind.key}`}></span>
            {kind.label}
          </span>
        ))}
      </div>
      {materials.cases === 0 ? (
        <p class="empty">No case was accepted in this period.</p>
      ) : (
        <MaterialsChart materials={materials} />
      )}
    </section>
  );
};

const DepartmentsSection: FC<{ summary: SupervisionSummary }> = ({ summary }) => {
  const codes = [
    ...new Set([
      ...summary.departments.map((department) => department.code),
      ...summary.deliveries.byDepartment.map((entry) => entry.department),
    ]),
  ].sort();
  return (
    <section aria-labelledby="departments-heading">
      <h2 id="departments-heading">Departments</h2>
      <table id="departments">
        <thead>
          <tr>
            <th>Department</th>
            <th>Breaker</th>
            <th class="number">Calls</th>
            <th class="number">Errors</th>
            <th class="number">Delivered</th>
            <th class="number">Pending</th>
            <th class="number">Dead</th>
            <th class="number">Retried</th>
            <th class="number">Delivery p50</th>
            <th class="number">Delivery p95</th>
          </tr>
        </thead>
        <tbody>
          {codes.map((code) => {
            const health = summary.departments.find((department) => department.code === code);
            const deliveries = summary.deliveries.byDepartment.find((entry) => entry.department === code);
            return (
              <tr data-department={code}>
                <td>{health ? `${code} — ${health.name}` : `${code} (not configured)`}</td>
                <td class={health ? `breaker-${health.breakerState}` : ''}>
                  {health ? health.breakerState.replace('_', '-') : '—'}
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
      {codes.length === 0 ? <p class="empty">No department system is configured.</p> : null}
    </section>
  );
};

const DeadLettersSection: FC<{ deadLetters: SupervisionSummary['deadLetters'] }> = ({ deadLetters }) => (
  <section aria-labelledby="dead-letters-heading">
    <h2 id="dead-letters-heading">Dead letters</h2>
    {deadLetters.total === 0 ? (
      <p class="empty">No delivery is dead-lettered.</p>
    ) : (
      <>
        <p>
          {`${deadLetters.total === 1 ? '1 delivery' : `${deadLetters.total} deliveries`} could not be delivered and ${deadLetters.total === 1 ? 'waits' : 'wait'} for an administrator (POST /v1/deliveries/{id}/retry once the cause is fixed).`}
          {deadLetters.total > deadLetters.items.length ? ` The newest ${deadLetters.items.length} are listed.` : ''}
        </p>
        <table id="dead-letters">
          <thead>
            <tr>
              <th>Delivery</th>
              <th>Case</th>
              <th>Department</th>
              <th class="number">Attempts</th>
              <th>Last error</th>
              <th>Dead since</th>
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
      </>
    )}
  </section>
);

const SupervisionPage: FC<{ data: SupervisionPageData }> = ({ data }) => {
  const { summary, warnings } = data;
  const { completion } = summary;
  const { counts } = warnings;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Supervision — onewindow</title>
        {/* A constant, and text inside <style> is not unescaped: so it goes in raw. */}
        <style nonce={data.nonce} dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <div>
            <h1>Supervision</h1>
            <p>{`Today ${data.today} (China Standard Time) · signed in as ${data.viewer}`}</p>
          </div>
          <form method="get" action="/supervision">
            <label>
              From <input type="date" name="from" value={summary.period.from} required />
            </label>
            <label>
              to <input type="date" name="to" value={summary.period.to} required />
            </label>
            <label>
              Centre{' '}
              <input
                type="text"
                name="centre"
                inputmode="numeric"
                pattern="[1-8][0-9]{8}"
                size={10}
                value={data.centres?.centre.code ?? ''}
              />
            </label>
            <button type="submit">Show</button>
          </form>
        </header>
        <main>
          <section class="cards" aria-label="Figures at a glance">
            <div class="card" id="on-time">
              <div class="label">On-time completion</div>
              <div class="value">{percent(completion.onTimeRate)}</div>
              <div class="note">{`${completion.onTime} of ${completion.concluded} cases concluded ${summary.period.from} – ${summary.period.to} on time`}</div>
            </div>
            <div class={`card ${counts.overdue > 0 ? 'bad' : ''}`} id="overdue-count">
              <div class="label">Overdue cases</div>
              <div class="value">{String(counts.overdue)}</div>
              <div class="note">{`${counts.deferredMaterialsOverdue} deferred material${counts.deferredMaterialsOverdue === 1 ? '' : 's'} overdue`}</div>
            </div>
            <div class={`card ${counts.approaching > 0 ? 'warn' : ''}`} id="approaching-count">
              <div class="label">Approaching their deadline</div>
              <div class="value">{String(counts.approaching)}</div>
            </div>
            <div class="card" id="handed-in">
              <div class="label">Handed in per case</div>
              <div class="value">
                {summary.materials.averageHandedInPerCase === null
                  ? '—'
                  : String(summary.materials.averageHandedInPerCase)}
              </div>
              <div class="note">{`${summary.materials.handedIn} of ${summary.materials.required} required materials`}</div>
            </div>
            <div class={`card ${summary.deadLetters.total > 0 ? 'bad' : ''}`} id="dead-letter-count">
              <div class="label">Dead letters</div>
              <div class="value">{String(summary.deadLetters.total)}</div>
              <div class="note">{`${summary.deliveries.retried} ${summary.deliveries.retried === 1 ? 'delivery' : 'deliveries'} needed retries`}</div>
            </div>
          </section>
          {data.centres ? <CentresSection statistics={data.centres} /> : null}
          <WarningsSection warnings={warnings} />
          <RatingsSection ratings={data.ratings} rankings={data.rankings} warnings={warnings} />
          <MaterialsSection materials={summary.materials} />
          <DepartmentsSection summary={summary} />
          <DeadLettersSection deadLetters={summary.deadLetters} />
          <section aria-labelledby="status-heading">
            <h2 id="status-heading">Cases opened in the period, by status</h2>
            <table id="cases-by-status">
              <tbody>
                {(Object.keys(STATUS_LABELS) as CaseStatusName[]).map((status) => (
                  <tr data-status={status}>
                    <th>{STATUS_LABELS[status]}</th>
                    <td class="number">{String(summary.casesByStatus[status])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </main>
      </body>
    </html>
  );
};

const LEVEL_INDENT: Record<string, number> = { province: 0, city: 1, county: 2, town: 3, village: 4 };

/** The subtree's centres, each rolled up over the centres below it; a link narrows the page to one. */
const CentresSection: FC<{ statistics: CentreStatistics }> = ({ statistics }) => {
  const rootIndent = LEVEL_INDENT[statistics.centre.level] ?? 0;
  return (
    <section aria-labelledby="centres-heading">
      <h2 id="centres-heading">{`Centres: ${statistics.centre.name} and below`}</h2>
      <div class="scroll">
        <table id="centres">
          <thead>
            <tr>
              <th>Centre</th>
              <th class="number">Accepted</th>
              <th class="number">On time</th>
              <th class="number">Overdue</th>
              <th class="number">Avg. days</th>
              <th class="number">Handed in</th>
              <th class="number">Reused</th>
              <th class="number">Transfers</th>
            </tr>
          </thead>
          <tbody>
            {statistics.centres.map((centre) => (
              <tr data-centre={centre.code}>
                <th class={`depth-${Math.max(0, (LEVEL_INDENT[centre.level] ?? 0) - rootIndent)}`}>
                  <a
                    href={`/supervision?from=${statistics.period.from}&to=${statistics.period.to}&centre=${centre.code}`}
                  >
                    {centre.name}
                  </a>{' '}
                  <span class="note">{centre.code}</span>
                </th>
                <td class="number">{String(centre.accepted)}</td>
                <td class="number">{percent(centre.onTimeRate)}</td>
                <td class="number">{String(centre.overdue)}</td>
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
}

const RankingTable: FC<RankingTableProps> = ({ id, list, minimumRatings, operators }) =>
  list.ranked.length === 0 ? (
    <p class="empty">
      {`暂无达到${minimumRatings}条评价的${operators ? '工作人员' : '窗口'}。 `}
      {`No ${operators ? 'operator' : 'window'} has ${minimumRatings} ratings this month.`}
    </p>
  ) : (
    <table id={id}>
      <thead>
        <tr>
          <th class="number">名次 Rank</th>
          <th>{operators ? '工作人员 Operator' : '窗口 Window'}</th>
          <th class="number">评价 Ratings</th>
          <th class="number">平均分 Average</th>
          <th class="number">按时率 On time</th>
          <th class="number">办结量 Volume</th>
          <th class="number">得分 Points</th>
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
  );

/** 好差评: the period's figures per centre, the 差评 follow-ups past due, and the month's rankings. */
interface RatingsSectionProps {
  ratings: RatingFiguresAnswer;
  rankings: Rankings;
  warnings: SupervisionWarnings;
}

const RatingsSection: FC<RatingsSectionProps> = ({ ratings, rankings, warnings }) => {
  const { totals } = ratings;
  const average = score(totals.averageScore);
  const badShare = percent(totals.badShare);
  const followUpsOnTime = percent(totals.followUps.onTimeRate);
  const { rating: ratingWeight, onTime: onTimeWeight, volume: volumeWeight } = rankings.weights;
  return (
    <section aria-labelledby="ratings-heading">
      <h2 id="ratings-heading">满意度评价（好差评） · Satisfaction ratings</h2>
      <p id="ratings-totals">
        {`${ratings.period.from} – ${ratings.period.to}：${totals.ratings} 条评价，平均 ${average} 分，`}
        {`差评 ${totals.badRatings} 条（${badShare}），回访按时率 ${followUpsOnTime}。`}
        <br />
        <span class="note">
          {`${totals.ratings} ratings, average ${average}, ${totals.badRatings} bad (${badShare}), `}
          {`follow-ups answered on time ${followUpsOnTime}.`}
        </span>
      </p>
      {ratings.rows.length === 0 ? null : (
        <div class="scroll">
          <table id="ratings-by-centre">
            <thead>
              <tr>
                <th>中心 Centre</th>
                <th class="number">评价 Ratings</th>
                <th class="number">平均分 Average</th>
                <th class="number">差评 Bad</th>
                <th class="number">差评率 Bad share</th>
                <th class="number">回访按时 Answered on time</th>
                <th class="number">回访超期 Overdue</th>
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
      <h3>差评回访超期 · Follow-ups of bad ratings past due</h3>
      {warnings.ratingFollowUps.length === 0 ? (
        <p class="empty">无 · None</p>
      ) : (
        <table id="rating-follow-ups">
          <thead>
            <tr>
              <th>办件 Case</th>
              <th>事项 Item</th>
              <th>中心 Centre</th>
              <th class="number">评分 Score</th>
              <th>应答复 Due</th>
              <th class="number">超期 Over</th>
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
                  {`${warning.workingDaysOver} 个工作日 working days${warning.provisional ? ' *' : ''}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{`${rankings.month} 群众满意窗口 · Most satisfying windows`}</h3>
      <RankingTable
        id="satisfied-windows"
        list={rankings.satisfiedWindows}
        minimumRatings={rankings.minimumRatings}
        operators={false}
      />
      <h3>{`${rankings.month} 为民服务标兵 · Service stars`}</h3>
      <RankingTable
        id="service-stars"
        list={rankings.serviceStars}
        minimumRatings={rankings.minimumRatings}
        operators
      />
      <p class="note">
        {`得分 = ${ratingWeight}×(平均分−1)/4 + ${onTimeWeight}×按时率 + ${volumeWeight}×办结量/最高办结量；`}
        {`每月至少 ${rankings.minimumRatings} 条评价方可参评。 `}
        {`Points = ${ratingWeight}·(average − 1)/4 + ${onTimeWeight}·on-time rate + `}
        {`${volumeWeight}·volume/highest volume; `}
        {`ranked with at least ${rankings.minimumRatings} ratings in the month.`}
      </p>
    </section>
  );
};

const RefusalPage: FC<{ title: string; detail: string }> = ({ title, detail }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>{`${title} — onewindow supervision`}</title>
    </head>
    <body>
      <h1>{title}</h1>
      <p>{detail}</p>
    </body>
  </html>
);

async function documentOf(node: ReturnType<FC>): Promise<string> {
  const rendered = await node;
  return `<!doctype html>${String(rendered ?? '')}`;
}

export function renderSupervisionPage(data: SupervisionPageData): Promise<string> {
  return documentOf(<SupervisionPage data={data} />);
}

/** The page a browser shows when the viewer has not signed in (or the sign-in failed). */
export function renderRefusalPage(title: string, detail: string): Promise<string> {
  return documentOf(<RefusalPage title={title} detail={detail} />);
}
