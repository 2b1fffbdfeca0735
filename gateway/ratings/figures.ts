/**
 * Figures of the ratings for supervision — count, average score, share of 差评 and how the
 * follow-ups went — per centre, department, window, operator or item; and the monthly rankings
 * 群众满意窗口 (the windows people are most satisfied with) and 为民服务标兵 (the operators), from
 * the average rating, the on-time completion rate and the volume. The formula, with a worked
 * example, is in docs/ratings.md; change both together.
 *
 * A rating counts where its case was handled when it was rated, for the window and operator that
 * opened the case (copied into the rating, see ratings.ts). No comment and no applicant appears here.
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Queryable, reportRows } from '../db/client.js';
import { type SupervisionScope, caseInScope } from '../supervision/scope.js';
import { BAD_RATING_MAX_SCORE } from './ratings.js';

export const RATING_GROUPINGS = ['centre', 'department', 'window', 'operator', 'item'] as const;
export type RatingGrouping = (typeof RATING_GROUPINGS)[number];

export interface FollowUpFigures {
  /** 差评 with a follow-up. */
  total: number;
  answeredOnTime: number;
  answeredLate: number;
  /** Not answered, due date not passed. */
  open: number;
  /** Not answered, past the due date. */
  overdue: number;
  /** answeredOnTime / (answered + overdue), four decimals; null when none was due or answered. */
  onTimeRate: number | null;
}

export interface RatingFigures {
  ratings: number;
  /** Two decimals; null without ratings. */
  averageScore: number | null;
  badRatings: number;
  /** badRatings / ratings, four decimals; null without ratings. */
  badShare: number | null;
  followUps: FollowUpFigures;
}

export interface RatingFiguresRow extends RatingFigures {
  /** The centre, department, window client, operator or item code. */
  key: string;
  /** Its name where the gateway knows one (a department's is not). */
  name: string | null;
  /** The operator's centre (an operator id is per centre); null otherwise. */
  centreCode: string | null;
}

export interface RatingFiguresAnswer {
  by: RatingGrouping;
  period: { from: string; to: string };
  today: string;
  totals: RatingFigures;
  rows: RatingFiguresRow[];
}

const rounded = (value: number, places: number): number => Math.round(value * 10 ** places) / 10 ** places;

interface SumsRow {
  key: string | null;
  name: string | null;
  centre_code: string | null;
  ratings: unknown;
  score_sum: unknown;
  bad: unknown;
  follow_ups: unknown;
  answered_on_time: unknown;
  answered_late: unknown;
  open: unknown;
  overdue: unknown;
}

const EMPTY_SUMS: SumsRow = {
  key: null,
  name: null,
  centre_code: null,
  ratings: 0,
  score_sum: 0,
  bad: 0,
  follow_ups: 0,
  answered_on_time: 0,
  answered_late: 0,
  open: 0,
  overdue: 0,
};

function figuresOf(row: SumsRow): RatingFigures {
  const ratings = Number(row.ratings ?? 0);
  const bad = Number(row.bad ?? 0);
  const answeredOnTime = Number(row.answered_on_time ?? 0);
  const answeredLate = Number(row.answered_late ?? 0);
  const overdue = Number(row.overdue ?? 0);
  const due = answeredOnTime + answeredLate + overdue;
  return {
    ratings,
    averageScore: ratings > 0 ? rounded(Number(row.score_sum ?? 0) / ratings, 2) : null,
    badRatings: bad,
    badShare: ratings > 0 ? rounded(bad / ratings, 4) : null,
    followUps: {
      total: Number(row.follow_ups ?? 0),
      answeredOnTime,
      answeredLate,
      open: Number(row.open ?? 0),
      overdue,
      onTimeRate: due > 0 ? rounded(answeredOnTime / due, 4) : null,
    },
  };
}

/** The key, name and centre columns of each grouping, and what it joins. */
const GROUPING_SQL: Record<RatingGrouping, { select: SQL; from: SQL; groupBy: SQL }> = {
  centre: {
    select: sql`r.centre_code as key, ce.name as name, null::text as centre_code`,
    from: sql`left join centres ce on ce.code = r.centre_code`,
    groupBy: sql`r.centre_code, ce.name`,
  },
  department: {
    select: sql`d.code as key, null::text as name, null::text as centre_code`,
    from: sql`cross join lateral jsonb_array_elements_text(r.departments) as d(code)`,
    groupBy: sql`d.code`,
  },
  window: {
    select: sql`r.client_id as key, cl.name as name, null::text as centre_code`,
    from: sql`left join clients cl on cl.id = r.client_id`,
    groupBy: sql`r.client_id, cl.name`,
  },
  operator: {
    select: sql`r.operator_id as key, op.name as name, r.accepting_centre_code as centre_code`,
    from: sql`left join operators op on op.centre_code = r.accepting_centre_code and op.operator_id = r.operator_id`,
    groupBy: sql`r.accepting_centre_code, r.operator_id, op.name`,
  },
  item: {
    select: sql`r.item_code as key, it.name_zh as name, null::text as centre_code`,
    from: sql`left join items it on it.code = r.item_code`,
    groupBy: sql`r.item_code, it.name_zh`,
  },
};

function measures(today: string): SQL {
  return sql`count(*)::int as ratings, coalesce(sum(r.score), 0)::int as score_sum,
    count(*) filter (where r.score <= ${BAD_RATING_MAX_SCORE})::int as bad,
    count(*) filter (where r.follow_up_status is not null)::int as follow_ups,
    count(*) filter (where r.follow_up_status = 'answered'
                       and r.follow_up_answered_on <= r.follow_up_due_on)::int as answered_on_time,
    count(*) filter (where r.follow_up_status = 'answered'
                       and r.follow_up_answered_on > r.follow_up_due_on)::int as answered_late,
    count(*) filter (where r.follow_up_status = 'open' and r.follow_up_due_on >= ${today}::date)::int as open,
    count(*) filter (where r.follow_up_status = 'open' and r.follow_up_due_on < ${today}::date)::int as overdue`;
}

/** The figures of the ratings given in `period` within `scope` (null: the whole province), grouped `by`. */
export async function ratingFigures(
  db: Queryable,
  scope: SupervisionScope | null,
  period: { from: string; to: string },
  by: RatingGrouping,
  today: string,
): Promise<RatingFiguresAnswer> {
  const where = sql`${caseInScope(scope, 'r')} and r.rated_on between ${period.from}::date and ${period.to}::date`;
  const grouping = GROUPING_SQL[by];
  const rows = await reportRows<SumsRow>(
    db,
    sql`select ${grouping.select}, ${measures(today)}
          from case_ratings r ${grouping.from}
         where ${where}
         group by ${grouping.groupBy}`,
  );
  const [totals] = await reportRows<SumsRow>(
    db,
    sql`select null::text as key, null::text as name, null::text as centre_code, ${measures(today)}
          from case_ratings r
         where ${where}`,
  );
  const sortKey = (row: RatingFiguresRow): string => `${row.centreCode ?? ''}/${row.key}`;
  return {
    by,
    period,
    today,
    totals: figuresOf(totals ?? EMPTY_SUMS),
    rows: rows
      .filter((row) => row.key !== null)
      .map((row) => ({ key: row.key as string, name: row.name, centreCode: row.centre_code, ...figuresOf(row) }))
      // Most ratings first, then by key: the same order on every read.
      .sort((a, b) => b.ratings - a.ratings || sortKey(a).localeCompare(sortKey(b))),
  };
}

// --- Monthly rankings ---------------------------------------------------------------------------

/** Weights of the ranking points (out of 100); docs/ratings.md explains them with an example. */
export const RANKING_WEIGHTS = { rating: 60, onTime: 30, volume: 10 } as const;

export interface RankedEntry {
  rank: number;
  /** The window client id, or the operator id. */
  id: string;
  name: string | null;
  /** The operator's centre; null for a window. */
  centreCode: string | null;
  ratings: number;
  averageScore: number;
  /** Cases concluded in the month: completed or rejected, accepted by this window or operator. */
  volume: number;
  onTime: number;
  /** onTime / volume, four decimals; 0 without concluded cases. */
  onTimeRate: number;
  /** 60·(average − 1)/4 + 30·onTimeRate + 10·volume/highest volume, two decimals. */
  points: number;
}

export interface RankingList {
  ranked: RankedEntry[];
  /** Windows or operators rated in the month but fewer than the minimum times. */
  unranked: number;
}

export interface Rankings {
  month: string;
  period: { from: string; to: string };
  minimumRatings: number;
  weights: typeof RANKING_WEIGHTS;
  /** 群众满意窗口 */
  satisfiedWindows: RankingList;
  /** 为民服务标兵 */
  serviceStars: RankingList;
}

interface CandidateRow {
  centre_code: string | null;
  id: string | null;
  name: string | null;
  ratings: unknown;
  score_sum: unknown;
  volume: unknown;
  on_time: unknown;
}

/** The first and last day of a `YYYY-MM` month. */
export function monthPeriod(month: string): { from: string; to: string } {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(year, monthNumber, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

/**
 * Ranked entries: at least `minimumRatings` ratings; points as RANKING_WEIGHTS say; ties broken by
 * the higher average rating, then more ratings, then more volume, then the id (so the order never
 * depends on the database's).
 */
export function rank(candidates: readonly CandidateRow[], minimumRatings: number): RankingList {
  const eligible = candidates.filter((row) => row.id !== null && Number(row.ratings) >= minimumRatings);
  const highestVolume = Math.max(0, ...eligible.map((row) => Number(row.volume ?? 0)));
  const entries = eligible.map((row) => {
    const ratings = Number(row.ratings);
    const average = Number(row.score_sum) / ratings;
    const volume = Number(row.volume ?? 0);
    const onTime = Number(row.on_time ?? 0);
    const onTimeRate = volume > 0 ? onTime / volume : 0;
    const volumeShare = highestVolume > 0 ? volume / highestVolume : 0;
    const points =
      (RANKING_WEIGHTS.rating * (average - 1)) / 4 +
      RANKING_WEIGHTS.onTime * onTimeRate +
      RANKING_WEIGHTS.volume * volumeShare;
    return {
      rank: 0,
      id: row.id as string,
      name: row.name,
      centreCode: row.centre_code,
      ratings,
      averageScore: rounded(average, 2),
      volume,
      onTime,
      onTimeRate: rounded(onTimeRate, 4),
      points: rounded(points, 2),
      // Exact average for the tie-break: sums compared crosswise, no float rounding.
      scoreSum: Number(row.score_sum),
    };
  });
  entries.sort(
    (a, b) =>
      b.points - a.points ||
      b.scoreSum * a.ratings - a.scoreSum * b.ratings ||
      b.ratings - a.ratings ||
      b.volume - a.volume ||
      `${a.centreCode ?? ''}/${a.id}`.localeCompare(`${b.centreCode ?? ''}/${b.id}`),
  );
  return {
    ranked: entries.map(({ scoreSum: _scoreSum, ...entry }, index) => ({ ...entry, rank: index + 1 })),
    unranked: candidates.filter((row) => row.id !== null).length - eligible.length,
  };
}

/** The month's rankings within `scope` (null: the whole province). */
export async function monthlyRankings(
  db: Queryable,
  scope: SupervisionScope | null,
  month: string,
  minimumRatings: number,
): Promise<Rankings> {
  const period = monthPeriod(month);
  const ratingsIn = sql`${caseInScope(scope, 'r')} and r.rated_on between ${period.from}::date and ${period.to}::date`;
  const concludedIn = sql`${caseInScope(scope, 'c')} and c.status in ('completed', 'rejected', 'partially_rejected')
                          and c.completed_on between ${period.from}::date and ${period.to}::date`;
  const onTime = sql`count(*) filter (where c.due_on is null or c.completed_on <= c.due_on)::int`;
  const windows = await reportRows<CandidateRow>(
    db,
    sql`with rated as (select r.client_id, count(*)::int as ratings, sum(r.score)::int as score_sum
                         from case_ratings r where ${ratingsIn} group by r.client_id),
             concluded as (select c.client_id, count(*)::int as volume, ${onTime} as on_time
                             from cases c where ${concludedIn} group by c.client_id)
        select null::text as centre_code, rated.client_id as id, cl.name, rated.ratings, rated.score_sum,
               coalesce(concluded.volume, 0) as volume, coalesce(concluded.on_time, 0) as on_time
          from rated
          left join concluded on concluded.client_id = rated.client_id
          left join clients cl on cl.id = rated.client_id`,
  );
  const operators = await reportRows<CandidateRow>(
    db,
    sql`with rated as (select r.accepting_centre_code as centre_code, r.operator_id,
                              count(*)::int as ratings, sum(r.score)::int as score_sum
                         from case_ratings r
                        where ${ratingsIn} and r.operator_id is not null
                        group by r.accepting_centre_code, r.operator_id),
             concluded as (select c.accepting_centre_code as centre_code, c.operator_id,
                                  count(*)::int as volume, ${onTime} as on_time
                             from cases c
                            where ${concludedIn} and c.operator_id is not null
                            group by c.accepting_centre_code, c.operator_id)
        select rated.centre_code, rated.operator_id as id, op.name, rated.ratings, rated.score_sum,
               coalesce(concluded.volume, 0) as volume, coalesce(concluded.on_time, 0) as on_time
          from rated
          left join concluded on concluded.centre_code is not distinct from rated.centre_code
                             and concluded.operator_id = rated.operator_id
          left join operators op on op.centre_code = rated.centre_code and op.operator_id = rated.operator_id`,
  );
  return {
    month,
    period,
    minimumRatings,
    weights: RANKING_WEIGHTS,
    satisfiedWindows: rank(windows, minimumRatings),
    serviceStars: rank(operators, minimumRatings),
  };
}
