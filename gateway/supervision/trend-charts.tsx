/**
 * The trends of the supervision page as inline SVG drawn on the server: no script, no chart
 * library, nothing the page's Content-Security-Policy has to allow. Each chart scales to its
 * container (a viewBox and `width: 100%`), names itself to assistive technology (`role="img"`,
 * `<title>` and `<desc>` saying what it shows and its totals) and is followed by its figures as a
 * table, where every figure links to the cases behind it, as do the chart's bars and points.
 */
import type { FC } from 'hono/jsx';
import type { PageMessageKey } from './page-messages.js';
import type { SupervisionTrends } from './trends.js';

type Texts = (key: PageMessageKey, values?: Readonly<Record<string, string | number>>) => string;

/** The drawing area in viewBox units; the SVG is scaled to the width it is given. */
const VIEW = { width: 480, height: 200, left: 34, right: 8, top: 10, bottom: 30 };
const PLOT = {
  width: VIEW.width - VIEW.left - VIEW.right,
  height: VIEW.height - VIEW.top - VIEW.bottom,
};

/** A round top for the y axis: 1, 2, 5 × 10ⁿ at or above the largest value. */
export function axisTop(largest: number): number {
  if (largest <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(largest));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= largest) return step * magnitude;
  return 10 * magnitude;
}

const yOf = (value: number, top: number): number =>
  Math.round((VIEW.top + PLOT.height - (value / top) * PLOT.height) * 10) / 10;
const slotOf = (index: number, count: number): { x: number; width: number } => {
  const width = PLOT.width / count;
  return { x: VIEW.left + index * width, width };
};
const round1 = (value: number): number => Math.round(value * 10) / 10;
/** `2026-06-17` → `06-17`. */
const shortDay = (day: string): string => day.slice(5);

/** Gridlines at 0, half-way (when a count there is whole, or always for rates) and the top. */
const Axis: FC<{ top: number; format: (value: number) => string; counts: boolean }> = ({ top, format, counts }) => (
  <g class="axis">
    {(counts && top % 2 !== 0 ? [0, top] : [0, top / 2, top]).map((value) => (
      <>
        <line
          x1={VIEW.left}
          x2={VIEW.width - VIEW.right}
          y1={yOf(value, top)}
          y2={yOf(value, top)}
          stroke="#e5e7eb"
          stroke-width="1"
        />
        <text x={VIEW.left - 4} y={yOf(value, top) + 4} text-anchor="end">
          {format(value)}
        </text>
      </>
    ))}
  </g>
);

/** Labels under every `every`-th slot counted back from the last, which is always labelled. */
const XLabels: FC<{ labels: string[]; every: number }> = ({ labels, every }) => (
  <g class="x-labels">
    {labels.map((label, index) =>
      (labels.length - 1 - index) % every === 0 ? (
        <text
          x={round1(slotOf(index, labels.length).x + slotOf(index, labels.length).width / 2)}
          y={VIEW.height - VIEW.bottom + 14}
          text-anchor="middle"
        >
          {label}
        </text>
      ) : null,
    )}
  </g>
);

interface ChartFrameProps {
  id: string;
  title: string;
  description: string;
  children?: unknown;
}

const ChartFrame: FC<ChartFrameProps> = ({ id, title, description, children }) => (
  <svg
    id={id}
    class="trend-chart"
    role="img"
    aria-labelledby={`${id}-title ${id}-desc`}
    viewBox={`0 0 ${VIEW.width} ${VIEW.height}`}
    width="100%"
    preserveAspectRatio="xMidYMid meet"
  >
    <title id={`${id}-title`}>{title}</title>
    <desc id={`${id}-desc`}>{description}</desc>
    {children}
  </svg>
);

export interface TrendLinks {
  /** The cases accepted on a day. */
  acceptedOn: (day: string) => string;
  /** The cases concluded between two days. */
  concludedBetween: (from: string, to: string) => string;
  /** The cases overdue on a day. */
  overdueOn: (day: string) => string;
}

interface ChartProps {
  trends: SupervisionTrends;
  links: TrendLinks;
  t: Texts;
}

/** Bars: accepted per day; line and dots: concluded per day. */
export const CasesPerDayChart: FC<ChartProps> = ({ trends, links, t }) => {
  const { days } = trends;
  const top = axisTop(Math.max(...days.map((day) => Math.max(day.accepted, day.concluded))));
  const accepted = days.reduce((sum, day) => sum + day.accepted, 0);
  const concluded = days.reduce((sum, day) => sum + day.concluded, 0);
  const centre = (index: number) => round1(slotOf(index, days.length).x + slotOf(index, days.length).width / 2);
  return (
    <ChartFrame
      id="chart-cases-per-day"
      title={t('casesPerDayTitle', { from: days[0]?.day ?? trends.until, until: trends.until })}
      description={t('casesPerDayDescription', { accepted, concluded })}
    >
      <Axis top={top} format={(value) => String(value)} counts />
      {days.map((day, index) => {
        const slot = slotOf(index, days.length);
        const y = yOf(day.accepted, top);
        return (
          <a href={links.acceptedOn(day.day)} data-day={day.day}>
            <rect
              class="bar-accepted"
              data-value={String(day.accepted)}
              x={round1(slot.x + slot.width * 0.15)}
              y={y}
              width={round1(slot.width * 0.7)}
              height={round1(VIEW.top + PLOT.height - y)}
              fill="#60a5fa"
            >
              <title>{`${day.day} ${t('seriesAccepted')} ${day.accepted} · ${t('seriesConcluded')} ${day.concluded}`}</title>
            </rect>
          </a>
        );
      })}
      <polyline
        class="line-concluded"
        fill="none"
        stroke="#15803d"
        stroke-width="2"
        points={days.map((day, index) => `${centre(index)},${yOf(day.concluded, top)}`).join(' ')}
      />
      {days.map((day, index) => (
        <circle
          cx={centre(index)}
          cy={yOf(day.concluded, top)}
          r="2.5"
          fill="#15803d"
          data-concluded={String(day.concluded)}
        />
      ))}
      <XLabels labels={days.map((day) => shortDay(day.day))} every={7} />
    </ChartFrame>
  );
};

/** Dots joined by a line: the share concluded on time each week; no dot for a week without concluded cases. */
export const OnTimePerWeekChart: FC<ChartProps> = ({ trends, links, t }) => {
  const { weeks } = trends;
  const centre = (index: number) => round1(slotOf(index, weeks.length).x + slotOf(index, weeks.length).width / 2);
  const segments: string[][] = [];
  let current: string[] = [];
  weeks.forEach((week, index) => {
    if (week.onTimeRate === null) {
      if (current.length > 0) segments.push(current);
      current = [];
    } else current.push(`${centre(index)},${yOf(week.onTimeRate, 1)}`);
  });
  if (current.length > 0) segments.push(current);
  return (
    <ChartFrame
      id="chart-on-time-per-week"
      title={t('onTimePerWeekTitle', { weeks: weeks.length })}
      description={t('onTimePerWeekDescription')}
    >
      <Axis top={1} format={(value) => `${Math.round(value * 100)}%`} counts={false} />
      {segments.map((points) => (
        <polyline fill="none" stroke="#1e3a5f" stroke-width="2" points={points.join(' ')} />
      ))}
      {weeks.map((week, index) =>
        week.onTimeRate === null ? null : (
          <a href={links.concludedBetween(week.weekStart, week.weekEnd)} data-week={week.weekStart}>
            <circle
              class="point-on-time"
              data-value={String(week.onTimeRate)}
              cx={centre(index)}
              cy={yOf(week.onTimeRate, 1)}
              r="4.5"
              fill={week.onTimeRate < 0.9 ? '#b91c1c' : '#1e3a5f'}
            >
              <title>{`${week.weekStart} – ${week.weekEnd}: ${(week.onTimeRate * 100).toFixed(1)}% (${week.onTime}/${week.concluded})`}</title>
            </circle>
          </a>
        ),
      )}
      <XLabels labels={weeks.map((week) => shortDay(week.weekStart))} every={3} />
    </ChartFrame>
  );
};

/** Bars: the cases overdue on each day. */
export const OverduePerDayChart: FC<ChartProps> = ({ trends, links, t }) => {
  const { days } = trends;
  const highest = Math.max(0, ...days.map((day) => day.overdue));
  const top = axisTop(highest);
  return (
    <ChartFrame
      id="chart-overdue-per-day"
      title={t('overduePerDayTitle', { from: days[0]?.day ?? trends.until, until: trends.until })}
      description={t('overduePerDayDescription', { highest })}
    >
      <Axis top={top} format={(value) => String(value)} counts />
      {days.map((day, index) => {
        const slot = slotOf(index, days.length);
        const y = yOf(day.overdue, top);
        return (
          <a href={links.overdueOn(day.day)} data-day={day.day}>
            <rect
              class="bar-overdue"
              data-value={String(day.overdue)}
              x={round1(slot.x + slot.width * 0.15)}
              y={y}
              width={round1(slot.width * 0.7)}
              height={round1(VIEW.top + PLOT.height - y)}
              fill="#dc2626"
            >
              <title>{`${day.day}: ${day.overdue}`}</title>
            </rect>
          </a>
        );
      })}
      <XLabels labels={days.map((day) => shortDay(day.day))} every={7} />
    </ChartFrame>
  );
};
