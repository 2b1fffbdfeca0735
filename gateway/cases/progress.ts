/**
 * Applicant progress: a citizen looks up their case with the case number and a second factor —
 * the last four characters of their identifier — without any client credentials. A wrong number
 * and a wrong factor get the same 404; failures are counted per case number in the database, so a
 * case number is locked for a while after a few wrong guesses however many addresses or instances
 * the guesses come from. The answer carries no personal data: the item, the status, the dates, the
 * departments' progress and the timeline's milestones.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Database } from '../db/client.js';
import { caseEvents, caseMaterials, centres, deliveries } from '../db/schema.js';
import { requireItem } from '../items/catalogue.js';
import { chinaToday } from '../materials/dates.js';
import { type ApplicantRatingView, applicantRatingView, findRating, isRateable } from '../ratings/ratings.js';
import { type ApplicantResultView, applicantResultView, findResult } from '../results/results.js';
import { type ProgressLookup, proveCase } from './proof.js';

export type { ProgressLookup } from './proof.js';

export interface CaseProgress {
  caseNumber: string;
  item: { code: string; name: string; nameZh: string };
  status: string;
  acceptedOn: string | null;
  dueOn: string | null;
  completedOn: string | null;
  clockStopped: boolean;
  /** Where the case is handled now, and where it was accepted (null: a window of no centre). */
  centre: { code: string; name: string; address: string; openingHours: string } | null;
  acceptedAt: { code: string; name: string } | null;
  /**
   * Each department's part: `reason` is the department's own words when it refused its part or
   * waits for the applicant (补正) — what the applicant needs to know, verbatim.
   */
  departments: { department: string; delivered: boolean; status: string | null; reason: string | null; stage: number; withdrawn: boolean }[];
  /** Materials accepted missing (容缺) that the applicant still has to bring, with their due dates. */
  toSupply: { requirementCode: string; name: string; dueOn: string | null }[];
  timeline: { at: string; kind: string; department: string | null; status: string | null }[];
  /** How the result reaches the applicant, with the pick-up code while it waits (only here); null: a case opened before results. */
  result: ApplicantResultView | null;
  /** The applicant's rating (好差评) and the centre's follow-up of a 差评; null: not rated. */
  rating: ApplicantRatingView | null;
  /** Whether the case can be rated now (completed, not rated yet): `POST /v1/progress/rating`. */
  canRate: boolean;
}

/** Timeline kinds an applicant sees; internal ones (attempt failures and the like) stay internal. */
const PUBLIC_EVENT_KINDS = new Set([
  'opened',
  'submitted',
  'transferred',
  'escalated',
  'delivered',
  'department_status',
  'department_refused',
  'stage_started',
  'clock_stopped',
  'clock_restarted',
  'completed',
  'rejected',
  'partially_rejected',
  'material_supplied',
  'result_ready',
  'result_collected',
  'result_shipped',
  'result_delivered',
  'rated',
  'rating_answered',
]);

export async function lookUpProgress(db: Database, limits: { maxFailures: number; lockMs: number }, lookup: ProgressLookup, requestId: string, now = new Date()): Promise<CaseProgress> {
  const { caseRow } = await proveCase(db, limits, lookup, requestId, now, 'case.progress_lookup');
  return db.transaction(async (tx) => {
    const item = await requireItem(tx, caseRow.itemCode);
    const deliveryRows = await tx.select().from(deliveries).where(eq(deliveries.caseId, caseRow.id)).orderBy(asc(deliveries.stage), asc(deliveries.departmentCode));
    const deferred = await tx.select().from(caseMaterials).where(and(eq(caseMaterials.caseId, caseRow.id), eq(caseMaterials.resolution, 'deferred')));
    const events = await tx.select().from(caseEvents).where(eq(caseEvents.caseId, caseRow.id)).orderBy(asc(caseEvents.occurredAt), asc(caseEvents.id));
    const centreCodes = [caseRow.centreCode, caseRow.acceptingCentreCode].filter((code): code is string => code !== null);
    const centreRows = centreCodes.length === 0 ? [] : await tx.select().from(centres).where(inArray(centres.code, centreCodes));
    const resultRow = await findResult(tx, caseRow.id);
    const ratingRow = await findRating(tx, caseRow.id);
    const current = centreRows.find((centre) => centre.code === caseRow.centreCode);
    const accepting = centreRows.find((centre) => centre.code === caseRow.acceptingCentreCode);
    await recordAudit(tx, {
      actor: { clientId: 'applicant', kind: 'applicant' },
      action: 'case.progress_lookup',
      subjectRef: caseRow.subjectId,
      fields: ['case_status', ...(resultRow ? ['result'] : []), ...(ratingRow ? ['rating'] : [])],
      caseRef: caseRow.caseNumber,
      outcome: 'allowed',
      requestId,
    });
    return {
      caseNumber: caseRow.caseNumber,
      item: { code: item.code, name: item.name, nameZh: item.nameZh },
      status: caseRow.status,
      acceptedOn: caseRow.acceptedOn,
      dueOn: caseRow.dueOn,
      completedOn: caseRow.completedOn,
      clockStopped: caseRow.pausedOn !== null,
      centre: current ? { code: current.code, name: current.name, address: current.address, openingHours: current.openingHours } : null,
      acceptedAt: accepting ? { code: accepting.code, name: accepting.name } : null,
      departments: deliveryRows.map((delivery) => ({
        department: delivery.departmentCode,
        delivered: delivery.status === 'delivered' || delivery.status === 'refused',
        status: delivery.departmentStatus,
        reason: delivery.departmentStatus === 'rejected' || delivery.departmentStatus === 'awaiting_applicant' ? delivery.departmentMessage : null,
        stage: delivery.stage,
        withdrawn: delivery.status === 'cancelled' || delivery.cancelStatus === 'cancelled' || delivery.cancelStatus === 'handled',
      })),
      toSupply: deferred.map((entry) => ({
        requirementCode: entry.requirementCode,
        name: item.materials.find((requirement) => requirement.requirementCode === entry.requirementCode)?.name ?? entry.requirementCode,
        dueOn: entry.dueOn,
      })),
      timeline: events
        .filter((event) => PUBLIC_EVENT_KINDS.has(event.kind))
        .map((event) => ({
          at: event.occurredAt.toISOString(),
          kind: event.kind,
          department: event.departmentCode,
          status: typeof event.detail['status'] === 'string' ? event.detail['status'] : null,
        })),
      result: resultRow
        ? applicantResultView(resultRow, current ? { code: current.code, name: current.name, address: current.address, openingHours: current.openingHours } : null)
        : null,
      rating: ratingRow ? applicantRatingView(ratingRow, chinaToday(now)) : null,
      canRate: isRateable(caseRow.status, ratingRow !== undefined),
    };
  });
}
