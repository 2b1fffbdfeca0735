/**
 * Satisfaction ratings (好差评): after a case completes, its applicant rates it — a score from 1 to
 * 5 and a comment — through the progress look-up, with the same proof of the case (number and the
 * last four characters of their identifier) and the same count of wrong guesses. Once per case.
 *
 * A 差评 (score ≤ 2) opens a follow-up (回访) that the centre of the case must answer within
 * RATING_FOLLOW_UP_WORKING_DAYS working days; past that day it is overdue and shows among the
 * supervision warnings. Directors and supervisors of the centre (and of the centres above, who
 * only read) list the ratings with the comments masked, and every listed comment is on the
 * applicant's access log.
 *
 * What the figures and rankings need (centre, item, departments, window, operator, on time) is
 * copied from the case when it is rated: see figures.ts.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gte, isNotNull, lt, sql } from 'drizzle-orm';
import type { CentreDirectory } from '../access/reference-data.js';
import type { AccessContext } from '../access/context.js';
import { refusal } from '../access/context.js';
import { auditAccess, auditRefusals } from '../access/audit.js';
import { recordAudit } from '../audit/record.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { withProvisionalYears } from '../calendar/provisional.js';
import { requireCentre } from '../centres/centres.js';
import { namesOfCases } from '../cases/names.js';
import { type ProgressLookup, type ProofStore, proveCase } from '../cases/proof.js';
import type { Queryable } from '../db/client.js';
import { caseEvents, caseRatings, cases, centres, deliveries } from '../db/schema.js';
import { chinaToday } from '../materials/dates.js';
import { ApiError, bilingualError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { maskPersonalText } from '../platform/identifier-masking.js';

/** Scores at or below this are a 差评 and open a follow-up. */
export const BAD_RATING_MAX_SCORE = 2;
export const COMMENT_MAX_LENGTH = 500;
export const FOLLOW_UP_ANSWER_MAX_LENGTH = 1000;

export type RatingRow = typeof caseRatings.$inferSelect;
export type FollowUpState = 'open' | 'overdue' | 'answered';

export interface RatingSettings {
  /** PROGRESS_MAX_FAILURES and the lock: the look-up's own count of wrong guesses. */
  limits: { maxFailures: number; lockMs: number };
  /** RATING_FOLLOW_UP_WORKING_DAYS. */
  followUpWorkingDays: number;
}

export interface RatingInput extends ProgressLookup {
  score: number;
  comment?: string | undefined;
}

export interface FollowUpView {
  state: FollowUpState;
  dueOn: string;
  /** The centre's answer, once given. */
  answer: string | null;
  contacted: boolean | null;
  answeredAt: string | null;
}

/** What the applicant sees of their rating in the look-up: no comment is echoed to whoever has the proof. */
export interface ApplicantRatingView {
  score: number;
  ratedAt: string;
  hasComment: boolean;
  followUp: FollowUpView | null;
}

export interface RatingReceipt extends ApplicantRatingView {
  caseNumber: string;
  message: { zh: string; en: string };
}

/** How the applicant reads a case's status (the refusal of a rating names it). */
export const newRatingId = (): string => `rat_${randomBytes(12).toString('base64url')}`;

/** Open, overdue (open past its due date on `today`) or answered; null: no follow-up (a good rating). */
export function followUpState(
  row: Pick<RatingRow, 'followUpStatus' | 'followUpDueOn'>,
  today: string,
): FollowUpState | null {
  if (row.followUpStatus === null || row.followUpDueOn === null) return null;
  if (row.followUpStatus === 'answered') return 'answered';
  return today > row.followUpDueOn ? 'overdue' : 'open';
}

/** `names`: the case's names, masked in the centre's answer as in a comment (「已电话联系张*本人」). */
function followUpView(row: RatingRow, today: string, names: readonly string[] = []): FollowUpView | null {
  const state = followUpState(row, today);
  if (state === null || row.followUpDueOn === null) return null;
  return {
    state,
    dueOn: row.followUpDueOn,
    // The centre's words to the applicant may quote a number or name them: shown as the comment is.
    answer: row.followUpAnswer === null ? null : maskPersonalText(row.followUpAnswer, names),
    contacted: row.followUpContacted,
    answeredAt: row.followUpAnsweredAt?.toISOString() ?? null,
  };
}

/** `names`: the case's names, masked in the centre's answer (the look-up carries no personal data). */
export function applicantRatingView(row: RatingRow, today: string, names: readonly string[] = []): ApplicantRatingView {
  return {
    score: row.score,
    ratedAt: row.ratedAt.toISOString(),
    hasComment: row.comment !== null,
    followUp: followUpView(row, today, names),
  };
}

export async function findRating(db: Queryable, caseId: string): Promise<RatingRow | undefined> {
  const [row] = await db.select().from(caseRatings).where(eq(caseRatings.caseId, caseId));
  return row;
}

/** A case can be rated once it completed, and only once. */
export const isRateable = (status: string, rated: boolean): boolean => status === 'completed' && !rated;

/**
 * The applicant rates their completed case. Refusals write nothing but what the look-up writes
 * for a wrong proof (the count of wrong guesses and the entry on the applicant's access log).
 */
export async function rateCase(
  { db, protection }: ProofStore,
  calendar: WorkingCalendar,
  settings: RatingSettings,
  input: RatingInput,
  requestId: string,
  now: Date,
): Promise<RatingReceipt> {
  const proof = { caseNumber: input.caseNumber, check: input.check };
  const { caseRow } = await proveCase({ db, protection }, settings.limits, proof, requestId, now, 'case.rating');
  return db.transaction(async (tx) => {
    // The case row locked: two ratings sent at once are one rating and one `rating_exists`.
    const [locked] = await tx.select().from(cases).where(eq(cases.id, caseRow.id)).for('update');
    if (locked?.status !== 'completed' || locked.completedOn === null) {
      const status = locked?.status ?? caseRow.status;
      throw bilingualError(
        'case_not_rateable',
        message('rating.case_not_rateable', { caseNumber: caseRow.caseNumber, status }),
        { caseStatus: status },
      );
    }
    if (await findRating(tx, locked.id)) {
      throw bilingualError('rating_exists', message('rating.exists', { caseNumber: locked.caseNumber }));
    }
    const departmentRows = await tx
      .selectDistinct({ code: deliveries.departmentCode })
      .from(deliveries)
      .where(eq(deliveries.caseId, locked.id))
      .orderBy(asc(deliveries.departmentCode));
    const ratedOn = chinaToday(now);
    const bad = input.score <= BAD_RATING_MAX_SCORE;
    // A calendar year not loaded yet counts by weekday, as provisional due dates do: never a refusal.
    const followUpDueOn = bad
      ? withProvisionalYears(calendar).addWorkingDays(ratedOn, settings.followUpWorkingDays)
      : null;
    const comment = input.comment?.trim() ? input.comment.trim() : null;
    const [row] = await tx
      .insert(caseRatings)
      .values({
        id: newRatingId(),
        caseId: locked.id,
        caseNumber: locked.caseNumber,
        score: input.score,
        comment,
        centreCode: locked.centreCode,
        acceptingCentreCode: locked.acceptingCentreCode,
        itemCode: locked.itemCode,
        departments: departmentRows.map((department) => department.code),
        clientId: locked.clientId,
        operatorId: locked.operatorId,
        completedOn: locked.completedOn,
        onTime: locked.dueOn === null || locked.completedOn <= locked.dueOn,
        ratedAt: now,
        ratedOn,
        followUpStatus: bad ? 'open' : null,
        followUpDueOn,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await tx
      .insert(caseEvents)
      .values({ caseId: locked.id, kind: 'rated', detail: { score: input.score, followUpDueOn }, occurredAt: now });
    await recordAudit(tx, {
      actor: { clientId: 'applicant', kind: 'applicant' },
      action: 'case.rating',
      subjectRef: locked.subjectId,
      fields: comment === null ? ['rating'] : ['rating', 'rating_comment'],
      caseRef: locked.caseNumber,
      outcome: 'allowed',
      requestId,
    });
    const thanks = bad
      ? {
          zh: `感谢您的评价。服务中心将在${followUpDueOn}前回访并答复您反映的问题。`,
          en: `Thank you for your rating. The service centre will follow it up and answer you by ${followUpDueOn}.`,
        }
      : { zh: '感谢您的评价。', en: 'Thank you for your rating.' };
    return { caseNumber: locked.caseNumber, ...applicantRatingView(row, ratedOn), message: thanks };
  });
}

// --- The centre's side: listing ratings and answering follow-ups --------------------------------

export interface CentreRatingView {
  id: string;
  caseNumber: string;
  score: number;
  /** Masked (identifiers, mobile numbers); null: none given. */
  comment: string | null;
  centreCode: string | null;
  centreName: string | null;
  itemCode: string;
  departments: string[];
  windowClientId: string;
  operatorId: string | null;
  completedOn: string;
  onTime: boolean;
  ratedAt: string;
  followUp: (FollowUpView & { answeredBy: string | null }) | null;
}

/**
 * `names`: the case's applicant and parties, masked in the comment wherever the applicant repeats
 * them (「我是张三丰，…」 → 「我是张**，…」): the comment is read by the centre and the centres above
 * for supervision, who need what went wrong, not who wrote it.
 */
function centreRatingView(
  row: RatingRow,
  centreName: string | null,
  today: string,
  names: readonly string[] = [],
): CentreRatingView {
  const followUp = followUpView(row, today, names);
  return {
    id: row.id,
    caseNumber: row.caseNumber,
    score: row.score,
    comment: row.comment === null ? null : maskPersonalText(row.comment, names),
    centreCode: row.centreCode,
    centreName,
    itemCode: row.itemCode,
    departments: row.departments,
    windowClientId: row.clientId,
    operatorId: row.operatorId,
    completedOn: row.completedOn,
    onTime: row.onTime,
    ratedAt: row.ratedAt.toISOString(),
    followUp: followUp === null ? null : { ...followUp, answeredBy: row.followUpOperatorId ?? row.followUpAnsweredBy },
  };
}

export interface RatingListQuery {
  /** A centre at or below the caller's; default: the caller's own. */
  centre?: string | undefined;
  /** Only follow-ups in this state; default: every rating. */
  status?: FollowUpState | undefined;
}

/** The most ratings one answer lists (newest first). */
export const RATING_LIST_LIMIT = 200;

/** The ratings of a centre's subtree, newest first, each comment disclosed on its applicant's access log. */
export async function listRatings(
  context: AccessContext,
  directory: CentreDirectory,
  query: RatingListQuery,
  today: string,
): Promise<{ centre: string; ratings: CentreRatingView[] }> {
  return auditRefusals(context, { action: 'rating.read', subjectId: null }, async () => {
    const facts = await context.access.grantFacts(context.db);
    const centreCode = query.centre ?? facts.centres.own[0];
    if (centreCode === undefined) {
      throw new ApiError('validation_failed', message('rating.centre_required'), {
        errors: [fieldProblem('centre', 'required for a window of no centre', '未隶属任何服务中心的窗口须指定中心')],
      });
    }
    // The policy first: a centre outside the caller's tree is answered alike whether it exists or not.
    const decision = await context.access.decide(context.db, 'rating.read', { kind: 'rating', centreCode });
    if (!decision.allowed) throw refusal(decision, { kind: 'rating', centreCode }, message('rating.centre_not_yours'));
    const centre = requireCentre(directory, centreCode);
    const stateCondition =
      query.status === 'answered'
        ? eq(caseRatings.followUpStatus, 'answered')
        : query.status === 'open'
          ? and(eq(caseRatings.followUpStatus, 'open'), gte(caseRatings.followUpDueOn, today))
          : query.status === 'overdue'
            ? and(eq(caseRatings.followUpStatus, 'open'), lt(caseRatings.followUpDueOn, today))
            : undefined;
    return context.db.transaction(async (tx) => {
      const rows = await tx
        .select({ rating: caseRatings, centreName: centres.name, subjectId: cases.subjectId })
        .from(caseRatings)
        .innerJoin(cases, eq(cases.id, caseRatings.caseId))
        .innerJoin(centres, eq(centres.code, caseRatings.centreCode))
        .where(and(isNotNull(caseRatings.centreCode), sql`${centres.path} like ${`${centre.path}%`}`, stateCondition))
        .orderBy(desc(caseRatings.ratedAt), asc(caseRatings.id))
        .limit(RATING_LIST_LIMIT);
      // Every comment and answer to the applicant shown is on their access log, in the transaction that read it.
      const personal = (rating: RatingRow) => rating.comment !== null || rating.followUpAnswer !== null;
      for (const row of rows) {
        if (!personal(row.rating)) continue;
        await auditAccess(tx, context, {
          decision,
          action: 'rating.read',
          subjectId: row.subjectId,
          fields: [
            ...(row.rating.comment === null ? [] : ['rating_comment']),
            ...(row.rating.followUpAnswer === null ? [] : ['rating_follow_up']),
          ],
          caseRef: row.rating.caseNumber,
        });
      }
      if (!rows.some((row) => personal(row.rating))) {
        // Nothing personal disclosed; the read itself is still on the record (who looked at which centre).
        await recordAudit(tx, {
          actor: context.principal,
          operatorId: context.purpose.operatorId,
          centreCode,
          action: 'rating.read',
          fields: ['ratings'],
          purpose: context.purpose.purpose,
          outcome: 'allowed',
          requestId: context.requestId,
        });
      }
      const names = await namesOfCases(
        tx,
        context.access.protection,
        rows.flatMap((row) => (personal(row.rating) ? [row.rating.caseId] : [])),
      );
      return {
        centre: centreCode,
        ratings: rows.map((row) =>
          centreRatingView(row.rating, row.centreName, today, names.get(row.rating.caseId) ?? []),
        ),
      };
    });
  });
}

export interface FollowUpInput {
  /** The centre's answer to the applicant, in Chinese. */
  answer: string;
  /** Whether the centre reached the applicant (by telephone, in person). */
  contacted: boolean;
}

/** The centre answers the follow-up of a 差评. A rating of another centre is answered like one that does not exist. */
export async function answerFollowUp(
  context: AccessContext,
  ratingId: string,
  input: FollowUpInput,
  now: Date,
): Promise<CentreRatingView> {
  // Filled in once the rating is read: a refused try at someone's rating is on their access log.
  const refused: { action: string; subjectId: string | null } = { action: 'rating.follow_up', subjectId: null };
  return auditRefusals(context, refused, () =>
    context.db.transaction(async (tx) => {
      const [found] = await tx
        .select({ rating: caseRatings, subjectId: cases.subjectId })
        .from(caseRatings)
        .innerJoin(cases, eq(cases.id, caseRatings.caseId))
        .where(eq(caseRatings.id, ratingId))
        .for('update', { of: caseRatings });
      const notFoundDetail = message('rating.not_found');
      if (!found) throw new ApiError('not_found', notFoundDetail);
      refused.subjectId = found.subjectId;
      const resource = { kind: 'rating', centreCode: found.rating.centreCode } as const;
      const decision = await context.access.decide(tx, 'rating.follow_up', resource);
      if (!decision.allowed) throw refusal(decision, resource, notFoundDetail);
      if (found.rating.followUpStatus !== 'open') {
        throw bilingualError(
          'rating_follow_up_not_open',
          found.rating.followUpStatus === 'answered'
            ? message('rating.follow_up_answered')
            : message('rating.follow_up_not_bad'),
          { followUpStatus: found.rating.followUpStatus },
        );
      }
      const [updated] = await tx
        .update(caseRatings)
        .set({
          followUpStatus: 'answered',
          followUpAnswer: input.answer.trim(),
          followUpContacted: input.contacted,
          followUpAnsweredBy: context.principal.clientId,
          followUpOperatorId: context.purpose.operatorId,
          followUpAnsweredAt: now,
          followUpAnsweredOn: chinaToday(now),
        })
        .where(eq(caseRatings.id, ratingId))
        .returning();
      if (!updated) throw new Error('update returned no row');
      const onTime = chinaToday(now) <= (updated.followUpDueOn ?? '');
      const detail = { contacted: input.contacted, onTime };
      await tx.insert(caseEvents).values({ caseId: updated.caseId, kind: 'rating_answered', detail, occurredAt: now });
      await auditAccess(tx, context, {
        decision,
        action: 'rating.follow_up',
        subjectId: found.subjectId,
        fields: ['rating_comment', 'rating_follow_up'],
        caseRef: updated.caseNumber,
      });
      const [centre] =
        updated.centreCode === null
          ? []
          : await tx.select({ name: centres.name }).from(centres).where(eq(centres.code, updated.centreCode));
      const names = await namesOfCases(tx, context.access.protection, [updated.caseId]);
      return centreRatingView(updated, centre?.name ?? null, chinaToday(now), names.get(updated.caseId));
    }),
  );
}
