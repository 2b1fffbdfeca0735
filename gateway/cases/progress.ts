/**
 * Applicant progress: a citizen looks up their case with the case number and a second factor —
 * the last four characters of their identifier — without any client credentials. A wrong number
 * and a wrong factor get the same 404; failures are counted per case number in the database, so a
 * case number is locked for a while after a few wrong guesses however many addresses or instances
 * the guesses come from. The answer carries no personal data: the item, the status, the dates, the
 * departments' progress and the timeline's milestones.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Database } from '../db/client.js';
import {
  caseEvents,
  caseMaterials,
  centres,
  certificates,
  deliveries,
  materialTypes,
  materials,
} from '../db/schema.js';
import { requireItem } from '../items/catalogue.js';
import { ApiError, message } from '../platform/errors.js';
import { maskPersonalText } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
import { chinaToday } from '../materials/dates.js';
import { namesInCase } from './names.js';
import { type ApplicantRatingView, applicantRatingView, findRating, isRateable } from '../ratings/ratings.js';
import { type ProgressLookup, type ProofStore, proveCase } from './proof.js';
import type { CertificateMetadata } from '../../adapters/sdk/types.js';
import type { KeyStore } from '../auth/keys.js';
import type { EnvelopeCache } from '../certificates/envelope.js';
import { certificateClaimsOf } from '../certificates/fetch.js';
import { materialLabel } from '../certificates/store.js';
import type { Queryable } from '../db/client.js';
import type { BlobStore } from '../materials/blob-store.js';
import {
  type ApplicantCertificate,
  type ApplicantResultView,
  RESULT_DOCUMENT_PATH,
  applicantResultView,
  findResult,
} from '../results/results.js';

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
  departments: {
    department: string;
    delivered: boolean;
    status: string | null;
    reason: string | null;
    stage: number;
    withdrawn: boolean;
  }[];
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
  'result_issued',
  'result_awaiting_document',
  'rated',
  'rating_answered',
]);

export interface LookupLimits {
  maxFailures: number;
  lockMs: number;
}

/** The look-up's proof (proof.ts), shared by the look-up, the rating and the result download. */
async function provenCase(
  store: ProofStore,
  limits: LookupLimits,
  lookup: ProgressLookup,
  requestId: string,
  now: Date,
  action: string,
) {
  return (await proveCase(store, limits, lookup, requestId, now, action)).caseRow;
}

export async function lookUpProgress(
  { db, protection }: ProofStore,
  limits: LookupLimits,
  lookup: ProgressLookup,
  requestId: string,
  now = new Date(),
): Promise<CaseProgress> {
  const caseRow = await provenCase({ db, protection }, limits, lookup, requestId, now, 'case.progress_lookup');
  return db.transaction(async (tx) => {
    const item = await requireItem(tx, caseRow.itemCode);
    const deliveryRows = await tx
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, caseRow.id))
      .orderBy(asc(deliveries.stage), asc(deliveries.departmentCode));
    const deferred = await tx
      .select()
      .from(caseMaterials)
      .where(and(eq(caseMaterials.caseId, caseRow.id), eq(caseMaterials.resolution, 'deferred')));
    const events = await tx
      .select()
      .from(caseEvents)
      .where(eq(caseEvents.caseId, caseRow.id))
      .orderBy(asc(caseEvents.occurredAt), asc(caseEvents.id));
    const centreCodes = [caseRow.centreCode, caseRow.acceptingCentreCode].filter(
      (code): code is string => code !== null,
    );
    const centreRows =
      centreCodes.length === 0 ? [] : await tx.select().from(centres).where(inArray(centres.code, centreCodes));
    const resultRow = await findResult(tx, caseRow.id);
    const ratingRow = await findRating(tx, caseRow.id);
    const issued =
      resultRow?.method === 'electronic' && resultRow.status === 'issued' && resultRow.materialId !== null
        ? await issuedCertificate(tx, resultRow.materialId)
        : null;
    // Whoever holds the proof reads the look-up: a department's words, the courier's remark and the
    // centre's answer keep their meaning but not the case's names (「张三、李梅请…」 → 「张*、李*请…」).
    const quotes =
      deliveryRows.some((delivery) => delivery.departmentMessage !== null) ||
      Boolean(resultRow?.lastRoute) ||
      Boolean(ratingRow?.followUpAnswer);
    const names = quotes ? await namesInCase(tx, protection, caseRow.id) : [];
    const masked = (text: string | null) => (text === null ? null : maskPersonalText(text, names));
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
      centre: current
        ? { code: current.code, name: current.name, address: current.address, openingHours: current.openingHours }
        : null,
      acceptedAt: accepting ? { code: accepting.code, name: accepting.name } : null,
      departments: deliveryRows.map((delivery) => ({
        department: delivery.departmentCode,
        delivered: delivery.status === 'delivered' || delivery.status === 'refused',
        status: delivery.departmentStatus,
        reason:
          delivery.departmentStatus === 'rejected' || delivery.departmentStatus === 'awaiting_applicant'
            ? masked(delivery.departmentMessage)
            : null,
        stage: delivery.stage,
        withdrawn:
          delivery.status === 'cancelled' ||
          delivery.cancelStatus === 'cancelled' ||
          delivery.cancelStatus === 'handled',
      })),
      toSupply: deferred.map((entry) => ({
        requirementCode: entry.requirementCode,
        name:
          item.materials.find((requirement) => requirement.requirementCode === entry.requirementCode)?.name ??
          entry.requirementCode,
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
        ? applicantResultView(
            resultRow,
            current
              ? { code: current.code, name: current.name, address: current.address, openingHours: current.openingHours }
              : null,
            (issued && applicantCertificate(issued, resultRow.readyAt)) || null,
            caseRow.contactMobile !== null,
            names,
          )
        : null,
      rating: ratingRow ? applicantRatingView(ratingRow, chinaToday(now), names) : null,
      canRate: isRateable(caseRow.status, ratingRow !== undefined),
    };
  });
}

/** The issued certificate behind an electronic result, with its material and type. */
async function issuedCertificate(tx: Queryable, materialId: string) {
  const [row] = await tx
    .select({ certificate: certificates, material: materials, typeName: materialTypes.nameZh })
    .from(certificates)
    .innerJoin(materials, eq(materials.id, certificates.materialId))
    .innerJoin(materialTypes, eq(materialTypes.code, materials.typeCode))
    .where(eq(certificates.materialId, materialId));
  return row ?? null;
}

function applicantCertificate(
  issued: NonNullable<Awaited<ReturnType<typeof issuedCertificate>>>,
  readyAt: Date | null,
): ApplicantCertificate {
  const metadata = issued.certificate.metadata as unknown as CertificateMetadata;
  const revoked = issued.material.status === 'revoked';
  return {
    certificateType: issued.certificate.certificateType,
    typeName: issued.typeName,
    // The look-up carries no personal data: a number that is an identifier is masked.
    certificateNumber: materialLabel({
      certificateNumber: metadata.certificateNumber,
      holderIdentifier: metadata.holderIdentifier,
    }),
    issuingAuthority: metadata.issuingAuthority,
    issueDate: metadata.issueDate,
    issuedAt: readyAt?.toISOString() ?? null,
    revoked,
    download: revoked ? null : { method: 'POST', path: RESULT_DOCUMENT_PATH },
  };
}

export interface ResultDocumentServices {
  db: Database;
  protection: DataProtection;
  blobStore: BlobStore;
  keys: KeyStore;
  envelopes: EnvelopeCache;
  issuer: string;
}

export interface ResultDocument {
  caseNumber: string;
  fileName: string;
  mediaType: string;
  size: number;
  sha256: string;
  contentBase64: string;
  /** The gateway's compact JWS over the certificate and the document's digest (verify against the JWKS). */
  envelope: string;
  /**
   * The gateway's electronic seal over the document (GB/T 38540 SES_Signature, DER, base64): verify at
   * POST /v1/seals/verify or offline with OpenSSL; null for a result stored before seals.
   */
  seal: string | null;
  /** The issuing department's own seal over the document (SES_Signature, DER, base64), when it sent one. */
  departmentSeal: string | null;
  certificate: ApplicantCertificate;
}

/**
 * The applicant downloads their electronic result with the look-up's proof (no credentials): the
 * document and the gateway's signed envelope, its holder's details masked in the envelope. Audited
 * on the holder's and the applicant's access logs as a read of the certificate.
 */
export async function downloadResultDocument(
  services: ResultDocumentServices,
  limits: LookupLimits,
  lookup: ProgressLookup,
  requestId: string,
  now = new Date(),
): Promise<ResultDocument> {
  const caseRow = await provenCase(services, limits, lookup, requestId, now, 'case.result_download');
  const resultRow = await findResult(services.db, caseRow.id);
  if (resultRow?.method !== 'electronic' || resultRow.status !== 'issued' || resultRow.materialId === null) {
    throw new ApiError(
      'result_document_not_available',
      message('result.no_electronic_document', {
        caseNumber: caseRow.caseNumber,
        electronic: resultRow?.method === 'electronic' ? 'yes' : 'no',
      }),
      {
        method: resultRow?.method ?? null,
        status: resultRow?.status ?? null,
      },
    );
  }
  const issued = await issuedCertificate(services.db, resultRow.materialId);
  if (!issued) throw new Error(`result material ${resultRow.materialId} has no certificate`);
  // A result its department revoked since (issued to the wrong holder, say) is not handed out again.
  if (issued.material.status === 'revoked')
    throw new ApiError(
      'result_document_revoked',
      message('result.document_revoked', { caseNumber: caseRow.caseNumber, typeName: issued.typeName }),
    );
  const chunks: Uint8Array[] = [];
  const stream = await services.blobStore.get(issued.material.contentSha256);
  if (!stream) throw new Error(`content of result material ${issued.material.id} is missing`);
  for await (const chunk of stream) chunks.push(chunk);
  // The envelope always carries the SM3 digest; a result stored without one gets it from its bytes.
  const material = {
    ...issued.material,
    contentSm3: issued.material.contentSm3 ?? createHash('sm3').update(Buffer.concat(chunks)).digest('hex'),
  };
  const claims = certificateClaimsOf({ certificate: issued.certificate, material }, services.issuer, {
    stale: false,
    unmask: false,
  });
  const envelope = await services.envelopes.sign(services.keys, claims, now);
  const fields = ['result', 'certificate', 'content'];
  await services.db.transaction(async (tx) => {
    const entry = {
      actor: { clientId: 'applicant', kind: 'applicant' as const },
      action: 'case.result_download',
      fields,
      materialTypes: [issued.certificate.certificateType],
      caseRef: caseRow.caseNumber,
      outcome: 'allowed' as const,
      requestId,
    };
    await recordAudit(tx, { ...entry, subjectRef: caseRow.subjectId });
    if (issued.material.subjectId !== caseRow.subjectId)
      await recordAudit(tx, { ...entry, subjectRef: issued.material.subjectId });
  });
  return {
    caseNumber: caseRow.caseNumber,
    fileName: issued.material.fileName ?? `${issued.certificate.certificateType}.pdf`,
    mediaType: issued.material.mediaType,
    size: issued.material.contentSize,
    sha256: issued.material.contentSha256,
    contentBase64: Buffer.concat(chunks).toString('base64'),
    envelope,
    seal: issued.material.sealSignature ?? null,
    departmentSeal: issued.material.departmentSealSignature ?? null,
    certificate: applicantCertificate(issued, resultRow.readyAt),
  };
}
