/**
 * A case's result on its way to the applicant. The window records the delivery method when it
 * opens the case (`recordResultChoice`, in the opening's transaction); the transaction that
 * settles the case as completed or partially rejected prepares the result (`prepareResult`): a
 * pick-up code for the window. Two views: the window's (no pick-up code, the address masked) and
 * the applicant's in the progress look-up (the code, and how to collect in Chinese and English).
 */
import { randomInt } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client.js';
import { caseEvents, caseResults } from '../db/schema.js';
import { reusableStatement, valuePlaceholder } from '../db/statements.js';
import { maskName } from '../identity/identifiers.js';
import { maskMobile } from '../notifications/mobile.js';
import { ApiError, message } from '../platform/errors.js';
import { maskIdentifiersInNote, maskPersonalText } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
import type { ResultDeliveryChoice, ResultDeliveryMethod, ResultStatus } from './methods.js';

export type CaseResultRow = typeof caseResults.$inferSelect;

// Built once: every case open writes its result row and every case view reads it.
const insertResultChoice = reusableStatement<
  { caseId: string; method: ResultDeliveryMethod; address: CaseResultRow['address'] },
  CaseResultRow[]
>((on) =>
  on
    .insert(caseResults)
    .values({
      caseId: valuePlaceholder<string>('caseId'),
      method: valuePlaceholder<ResultDeliveryMethod>('method'),
      address: valuePlaceholder<CaseResultRow['address']>('address'),
    })
    .returning()
    .prepare('insert_result_choice'),
);

const selectResult = reusableStatement<{ caseId: string }, CaseResultRow[]>((on) =>
  on
    .select()
    .from(caseResults)
    .where(eq(caseResults.caseId, sql.placeholder('caseId')))
    .prepare('select_case_result'),
);

/** Wrong pick-up codes before collection is locked, and for how long. */
export const PICKUP_MAX_FAILURES = 5;
export const PICKUP_LOCK_MS = 30 * 60_000;

/** A result choice checked against the item, ready to be stored with the new case. */
export interface CheckedResultChoice {
  caseId: string;
  method: ResultDeliveryMethod;
  address: CaseResultRow['address'];
}

/**
 * Checks the window's choice against what the item offers. No choice: the item's first method
 * (window pickup for every seed item). Throws when the item does not offer the method or the
 * address does not fit it — before the opening writes anything.
 */
export function checkResultChoice(
  protection: DataProtection,
  item: { code: string; resultDeliveries: readonly ResultDeliveryMethod[] },
  caseId: string,
  choice: ResultDeliveryChoice | undefined,
): CheckedResultChoice {
  const method = choice?.method ?? item.resultDeliveries[0] ?? 'window_pickup';
  if (!item.resultDeliveries.includes(method)) {
    throw new ApiError(
      'result_delivery_not_offered',
      message('result.delivery_not_offered', {
        itemCode: item.code,
        offered: item.resultDeliveries.join(', '),
        method,
      }),
      {
        method,
        offered: [...item.resultDeliveries],
      },
    );
  }
  if (method === 'express' && choice?.address === undefined)
    throw new ApiError('result_delivery_address_required', message('result.address_required'), { method });
  if (method !== 'express' && choice?.address !== undefined)
    throw new ApiError('result_delivery_address_not_applicable', message('result.address_not_applicable', { method }), {
      method,
    });
  // The recipient's name, mobile and street address: sealed at rest when data protection is on.
  const address = choice?.address === undefined ? null : protection.sealJson('case_results.address', choice.address);
  return { caseId, method, address };
}

/**
 * The row `recordResultChoice` stores for `checked`, as a read would answer it (`address`: the
 * choice's address as given, which a read opens back to). For statements that write it with the
 * case (`insertOpenedCase`): no column of the row the window sees has a default that the
 * database decides.
 */
export function resultChoiceRow(
  checked: CheckedResultChoice,
  address: CaseResultRow['address'],
  at: Date,
): CaseResultRow {
  return {
    caseId: checked.caseId,
    method: checked.method,
    status: 'preparing',
    address,
    pickupCode: null,
    pickupFailures: 0,
    pickupLockedUntil: null,
    readyAt: null,
    collectedAt: null,
    collectedBy: null,
    carrier: null,
    trackingNumber: null,
    lastRoute: null,
    routesCheckedAt: null,
    deliveredAt: null,
    materialId: null,
    attempts: 0,
    nextAttemptAt: null,
    leaseOwner: null,
    leaseUntil: null,
    lastError: null,
    createdAt: at,
    updatedAt: at,
  };
}

/** Stores the checked choice with the new case (in the opening's transaction); answers the stored row. */
export function recordResultChoice(tx: Queryable, checked: CheckedResultChoice): Promise<CaseResultRow> {
  return insertResultChoice(tx, checked).then(([row]) => {
    if (!row) throw new Error('insert returned no row');
    return row;
  });
}

/** Six random digits, leading zeros kept: said at the window, typed on a keypad. */
export function newPickupCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * Prepares the result of a case that has just completed (or partially completed), inside the
 * transaction that settles it, so a completed case always has its result under way. A pick-up
 * result gets its code and is ready at once; the timeline says so (`result_ready`, which also
 * tells the applicant by SMS). A case opened before results existed has no row and is left alone.
 */
export async function prepareResult(tx: Queryable, caseId: string, at: Date): Promise<void> {
  const [result] = await tx.select().from(caseResults).where(eq(caseResults.caseId, caseId)).for('update');
  if (!result) return;
  if (result.method === 'electronic') {
    await issueElectronicResult(tx, result, at);
    return;
  }
  if (result.status !== 'preparing') return;
  if (result.method === 'express') {
    // The courier worker makes the waybill after this commits (results/courier.ts), due at once.
    await tx
      .update(caseResults)
      .set({ readyAt: at, nextAttemptAt: sql`now()`, updatedAt: new Date() })
      .where(eq(caseResults.caseId, caseId));
    return;
  }
  if (result.method !== 'window_pickup') return;
  await tx
    .update(caseResults)
    .set({ status: 'ready_for_pickup', pickupCode: newPickupCode(), readyAt: at, updatedAt: new Date() })
    .where(eq(caseResults.caseId, caseId));
  // The code itself never goes on the timeline: windows read the timeline.
  await tx
    .insert(caseEvents)
    .values({ caseId, kind: 'result_ready', detail: { method: result.method }, occurredAt: at });
}

/**
 * An electronic result at completion (or when its document arrives after completion): issued when
 * the department handed over its document, otherwise waiting for it, visible to the window and
 * supervision. Settles once: an issued result stays issued.
 */
async function issueElectronicResult(tx: Queryable, result: CaseResultRow, at: Date): Promise<void> {
  if (result.status !== 'preparing' && result.status !== 'awaiting_document') return;
  if (result.materialId === null) {
    if (result.status === 'awaiting_document') return;
    await tx
      .update(caseResults)
      .set({ status: 'awaiting_document', updatedAt: new Date() })
      .where(eq(caseResults.caseId, result.caseId));
    await tx.insert(caseEvents).values({
      caseId: result.caseId,
      kind: 'result_awaiting_document',
      detail: { method: 'electronic' },
      occurredAt: at,
    });
    return;
  }
  await tx
    .update(caseResults)
    .set({ status: 'issued', readyAt: at, updatedAt: new Date() })
    .where(eq(caseResults.caseId, result.caseId));
  await tx.insert(caseEvents).values({
    caseId: result.caseId,
    kind: 'result_issued',
    detail: { method: 'electronic', materialId: result.materialId },
    occurredAt: at,
  });
}

export async function findResult(tx: Queryable, caseId: string): Promise<CaseResultRow | null> {
  const [row] = await selectResult(tx, { caseId });
  return row ?? null;
}

export interface MaskedAddress {
  province: string;
  city: string;
  district: string;
  detail: string;
  recipientName: string;
  recipientMobile: string;
}

/** The street address keeps its first two characters: enough to recognise, not to find. */
function maskAddress(address: NonNullable<CaseResultRow['address']>): MaskedAddress {
  const detail = [...address.detail];
  return {
    province: address.province,
    city: address.city,
    district: address.district,
    detail: detail.slice(0, 2).join('') + '*'.repeat(Math.max(0, detail.length - 2)),
    recipientName: maskName(address.recipientName),
    recipientMobile: maskMobile(address.recipientMobile),
  };
}

/** What the window sees of the result: never the pick-up code (the applicant says it). */
export interface WindowResultView {
  method: ResultDeliveryMethod;
  status: ResultStatus;
  address: MaskedAddress | null;
  readyAt: string | null;
  collectedAt: string | null;
  /** Wrong codes since the last right one, and until when collection is locked. */
  pickupFailures: number;
  pickupLockedUntil: string | null;
  /** Express: the carrier and tracking number once the waybill is made, the newest route node, 签收. */
  carrier: string | null;
  trackingNumber: string | null;
  lastRoute: { at: string; place: string; remark: string; state: string } | null;
  deliveredAt: string | null;
  /** Express: why the waybill could not be made yet (or for good, when no retry is due). */
  courierError: string | null;
  /** The certificate material the department issued as the result (electronic), once received. */
  materialId: string | null;
}

export function windowResultView(row: CaseResultRow): WindowResultView {
  return {
    method: row.method as ResultDeliveryMethod,
    status: row.status as ResultStatus,
    address: row.address ? maskAddress(row.address) : null,
    readyAt: row.readyAt?.toISOString() ?? null,
    collectedAt: row.collectedAt?.toISOString() ?? null,
    pickupFailures: row.pickupFailures,
    pickupLockedUntil: row.pickupLockedUntil?.toISOString() ?? null,
    carrier: row.carrier,
    trackingNumber: row.trackingNumber,
    // The carrier's words pass on masked: a remark often names who signed, with a number.
    lastRoute: row.lastRoute ? { ...row.lastRoute, remark: maskPersonalText(row.lastRoute.remark) } : null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    courierError: maskIdentifiersInNote(row.lastError),
    materialId: row.materialId,
  };
}

export interface CollectionCentre {
  code: string;
  name: string;
  address: string;
  openingHours: string;
}

/** What the applicant sees of the result in the progress look-up. */
export interface ApplicantResultView {
  method: ResultDeliveryMethod;
  status: ResultStatus;
  /**
   * Only while the result waits at the window, and only for a case whose applicant gave no mobile
   * number: otherwise the SMS is the code's one channel, so knowing the case number and the last
   * four characters of the identifier (as the window that opened the case does) does not give it.
   */
  pickupCode: string | null;
  carrier: string | null;
  trackingNumber: string | null;
  lastRoute: string | null;
  materialId: string | null;
  /** Where to collect a window pick-up (the centre handling the case). */
  collectAt: CollectionCentre | null;
  /** Electronic, once issued: what the certificate is (its number masked) and where to download it. */
  certificate: ApplicantCertificate | null;
  howToCollect: { zh: string; en: string };
}

/** The electronic result as the applicant sees it: enough to recognise it; the rest is in the document. */
export interface ApplicantCertificate {
  certificateType: string;
  typeName: string;
  certificateNumber: string;
  issuingAuthority: string;
  issueDate: string;
  issuedAt: string | null;
  /** The issuing department revoked it since: it is not served (null download). */
  revoked: boolean;
  /** POST it with the look-up's case number and check; null once revoked. */
  download: { method: 'POST'; path: string } | null;
}

export const RESULT_DOCUMENT_PATH = '/v1/progress/result/document';

function howToCollect(
  row: CaseResultRow,
  centre: CollectionCentre | null,
  shownCode: string | null,
): { zh: string; en: string } {
  const place = centre
    ? {
        zh: `${centre.name}（${centre.address}${centre.openingHours ? `，${centre.openingHours}` : ''}）`,
        en: `${centre.name} (${centre.address}${centre.openingHours ? `, ${centre.openingHours}` : ''})`,
      }
    : { zh: '受理窗口', en: 'the service window' };
  switch (row.status) {
    case 'ready_for_pickup':
      return shownCode === null
        ? {
            zh: `请携带本人有效身份证件到${place.zh}，向窗口出示短信中的取件码领取办理结果。`,
            en: `Collect the result at ${place.en}: bring your identity document and give the pick-up code from the SMS at the window.`,
          }
        : {
            zh: `请携带本人有效身份证件到${place.zh}，向窗口出示取件码${shownCode}领取办理结果。`,
            en: `Collect the result at ${place.en}: bring your identity document and give the pick-up code ${shownCode} at the window.`,
          };
    case 'collected':
      return { zh: '办理结果已领取。', en: 'The result has been collected.' };
    case 'shipped':
      return {
        zh: `办理结果已交${row.carrier ?? '快递公司'}寄出，运单号${row.trackingNumber ?? ''}，可在快递公司查询物流；签收时请核对本人身份。`,
        en: `The result has been sent by ${row.carrier ?? 'courier'}, tracking number ${row.trackingNumber ?? ''}; track it with the carrier, and sign for it in person.`,
      };
    case 'delivered':
      return {
        zh: `办理结果已签收（${row.carrier ?? ''}运单号${row.trackingNumber ?? ''}）。`,
        en: `The result has been delivered (${row.carrier ?? 'courier'} tracking number ${row.trackingNumber ?? ''}).`,
      };
    case 'issued':
      return {
        zh: '办理结果已签发为电子证照，可凭受理编号和证件号码后四位在办件进度查询中下载（附政务服务平台签名，可验真）。',
        en: 'The result has been issued as an electronic certificate: download it from the progress look-up with the case number and the last 4 characters of your identifier (signed by the gateway, verifiable).',
      };
    case 'awaiting_document':
      return {
        zh: '已办结，电子证照正在制作中，签发后短信告知；如有疑问请咨询受理窗口。',
        en: 'The case is completed; the electronic certificate is being prepared and an SMS will tell you when it is issued. Ask the service window if in doubt.',
      };
    default:
      if (row.method === 'electronic')
        return {
          zh: '办结后办理结果将签发为电子证照，届时短信告知，可在办件进度查询中下载。',
          en: 'Once completed, the result is issued as an electronic certificate; an SMS will tell you, and you can download it from the progress look-up.',
        };
      if (row.method === 'express')
        return {
          zh: '办结后办理结果将邮寄到您登记的地址，届时短信告知快递公司和运单号。',
          en: 'Once completed, the result is sent by courier to the address you gave; an SMS will tell you the carrier and tracking number.',
        };
      return {
        zh: `办结后凭短信中的取件码到${place.zh}领取办理结果。`,
        en: `Once completed, collect the result at ${place.en} with the pick-up code sent to you by SMS.`,
      };
  }
}

/**
 * The result as the applicant's look-up shows it. `codeSentBySms`: the applicant gave a mobile
 * number, so the pick-up code went to them by SMS and is not shown here (see `pickupCode`).
 * `names`: the case's names, masked in the courier's remark (「签收人：张*」).
 */
export function applicantResultView(
  row: CaseResultRow,
  centre: CollectionCentre | null,
  certificate: ApplicantCertificate | null,
  codeSentBySms: boolean,
  names: readonly string[] = [],
): ApplicantResultView {
  const shownCode = row.status === 'ready_for_pickup' && !codeSentBySms ? row.pickupCode : null;
  return {
    method: row.method as ResultDeliveryMethod,
    status: row.status as ResultStatus,
    pickupCode: shownCode,
    carrier: row.carrier,
    trackingNumber: row.trackingNumber,
    lastRoute: row.lastRoute
      ? `${maskPersonalText(row.lastRoute.remark, names)}（${row.lastRoute.place}，${row.lastRoute.at}）`
      : null,
    materialId: row.method === 'electronic' && row.status === 'issued' ? row.materialId : null,
    collectAt: row.method === 'window_pickup' ? centre : null,
    certificate: row.method === 'electronic' && row.status === 'issued' ? certificate : null,
    howToCollect: howToCollect(row, centre, shownCode),
  };
}
