/**
 * Applicant progress: a citizen looks up their case with the case number and a second factor —
 * the last four characters of their identifier — without any client credentials. A wrong number
 * and a wrong factor get the same 404; failures are counted per case number in the database, so a
 * case number is locked for a while after a few wrong guesses however many addresses or instances
 * the guesses come from. The answer carries no personal data: the item, the status, the dates, the
 * departments' progress and the timeline's milestones.
 */
import { timingSafeEqual } from 'node:crypto';
import { and, asc, count, eq, gte, inArray, min } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Database } from '../db/client.js';
import { caseEvents, caseMaterials, cases, centres, deliveries, progressLookupFailures, subjects } from '../db/schema.js';
import { requireItem } from '../items/catalogue.js';
import { ApiError } from '../platform/errors.js';
import { type ApplicantResultView, applicantResultView, findResult } from '../results/results.js';

export interface ProgressLookup {
  caseNumber: string;
  /** The last four characters of the applicant's ID number or credit code. */
  check: string;
}

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
]);

function sameCheck(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toUpperCase());
  const b = Buffer.from(given.toUpperCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

const notFound = () => new ApiError('not_found', { 'zh-CN': '没有与此办件编号和核对信息相符的办件。', en: 'No case matches this number and check.' });

export async function lookUpProgress(db: Database, limits: { maxFailures: number; lockMs: number }, lookup: ProgressLookup, requestId: string, now = new Date()): Promise<CaseProgress> {
  const since = new Date(now.getTime() - limits.lockMs);
  const [failures] = await db
    .select({ failures: count(), first: min(progressLookupFailures.occurredAt) })
    .from(progressLookupFailures)
    .where(and(eq(progressLookupFailures.caseNumber, lookup.caseNumber), gte(progressLookupFailures.occurredAt, since)));
  if (failures && failures.failures >= limits.maxFailures) {
    const unlocksAt = (failures.first ?? now).getTime() + limits.lockMs;
    const retryAfter = Math.max(1, Math.ceil((unlocksAt - now.getTime()) / 1000));
    const minutes = Math.ceil(retryAfter / 60);
    const detail = { 'zh-CN': `此办件编号查询错误次数过多，请 ${minutes} 分钟后再试。`, en: `Too many wrong look-ups of this case number; try again in ${minutes} min.` };
    throw new ApiError('rate_limited', detail, { retryAfterSeconds: retryAfter }, { headers: { 'Retry-After': String(retryAfter) } });
  }

  const [row] = await db
    .select({ caseRow: cases, identifier: subjects.identifier })
    .from(cases)
    .innerJoin(subjects, eq(subjects.id, cases.subjectId))
    .where(eq(cases.caseNumber, lookup.caseNumber));
  if (!row || !sameCheck(row.identifier.slice(-4), lookup.check)) {
    await db.transaction(async (tx) => {
      await tx.insert(progressLookupFailures).values({ caseNumber: lookup.caseNumber, occurredAt: now });
      // A wrong check on a real case is someone trying the applicant's case: on their access log.
      if (row) {
        await recordAudit(tx, {
          actor: { clientId: 'applicant', kind: 'applicant' },
          action: 'case.progress_lookup',
          subjectRef: row.caseRow.subjectId,
          fields: ['case_status', 'refused:wrong_check'],
          caseRef: row.caseRow.caseNumber,
          outcome: 'denied',
          requestId,
        });
      }
    });
    throw notFound();
  }
  const { caseRow } = row;
  return db.transaction(async (tx) => {
    const item = await requireItem(tx, caseRow.itemCode);
    const deliveryRows = await tx.select().from(deliveries).where(eq(deliveries.caseId, caseRow.id)).orderBy(asc(deliveries.stage), asc(deliveries.departmentCode));
    const deferred = await tx.select().from(caseMaterials).where(and(eq(caseMaterials.caseId, caseRow.id), eq(caseMaterials.resolution, 'deferred')));
    const events = await tx.select().from(caseEvents).where(eq(caseEvents.caseId, caseRow.id)).orderBy(asc(caseEvents.occurredAt), asc(caseEvents.id));
    const centreCodes = [caseRow.centreCode, caseRow.acceptingCentreCode].filter((code): code is string => code !== null);
    const centreRows = centreCodes.length === 0 ? [] : await tx.select().from(centres).where(inArray(centres.code, centreCodes));
    const resultRow = await findResult(tx, caseRow.id);
    const current = centreRows.find((centre) => centre.code === caseRow.centreCode);
    const accepting = centreRows.find((centre) => centre.code === caseRow.acceptingCentreCode);
    await recordAudit(tx, {
      actor: { clientId: 'applicant', kind: 'applicant' },
      action: 'case.progress_lookup',
      subjectRef: caseRow.subjectId,
      fields: resultRow ? ['case_status', 'result'] : ['case_status'],
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
    };
  });
}
