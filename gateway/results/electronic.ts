/**
 * Electronic results (电子证照). A department that completes a case may hand over the document it
 * issued (a new 营业执照, a new 不动产权证书) with its completion, in a status callback or in the
 * answer to a status poll. The gateway then
 *
 * 1. checks it before anything is written (the item declares this certificate type from this
 *    department as its result; a real PDF or OFD; dates and holders well-formed) — a bad document
 *    refuses the whole completion, so a case is never half-completed;
 * 2. stores its bytes once (content-addressed) and records it as an `issued` certificate material
 *    of its holder, in the same tables as fetched certificates, so a later case of the holder
 *    reuses it and no department is asked again;
 * 3. links it to the case's result: when the case completes with method `electronic`, the result
 *    becomes `issued` (timeline `result_issued`, which texts the applicant). A case that completes
 *    electronic without a document waits as `awaiting_document` (timeline
 *    `result_awaiting_document`, on the window's and supervision's view) until the department sends
 *    it with a repeated completion.
 */
import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { CertificateMetadata, ResultCertificate } from '../../adapters/sdk/types.js';
import { recordAudit } from '../audit/record.js';
import { insertCertificateMaterial, departmentProvider } from '../certificates/store.js';
import { type Queryable, rowsOf } from '../db/client.js';
import {
  caseEvents,
  caseParties,
  caseResults,
  cases,
  items,
  materialTypes,
  materials,
  subjects,
} from '../db/schema.js';
import { parseSubjectIdentifier } from '../identity/identifiers.js';
import { newSubjectId, normaliseName, openSubjectValues, storedSubjectValues } from '../identity/subjects.js';
import type { BlobStore } from '../materials/blob-store.js';
import { lockContent } from '../materials/materials.js';
import { detectMediaType } from '../materials/media-type.js';
import { ApiError, message } from '../platform/errors.js';
import { bilingualCheck } from '../platform/field-problems.js';
import type { DataProtection } from '../protection/data-protection.js';
import type { GatewaySeal } from '../seals/gateway-seal.js';
import { addSealAppearance } from '../seals/pdf-appearance.js';
import { SealProblem } from '../seals/seal.js';

/** Largest result document taken (a licence or title certificate is a few hundred KB). */
export const RESULT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DAY_TEXT = bilingualCheck('YYYY-MM-DD', '日期格式为 YYYY-MM-DD');

/** The result document as a department sends it in a status callback (JSON, the bytes in base64). */
export const ResultCertificateInputSchema = z
  .object({
    certificateType: z
      .string()
      .regex(/^[a-z][a-z0-9_]{1,63}$/)
      .openapi({ description: 'Gateway material-type code', example: 'business_licence' }),
    certificateNumber: z.string().trim().min(1).max(64).openapi({ example: '91610113MA6U000015' }),
    issuingAuthority: z.string().trim().min(2).max(100).openapi({ example: '西安市未央区市场监督管理局' }),
    issueDate: z.string().regex(DAY, DAY_TEXT),
    validFrom: z.string().regex(DAY, DAY_TEXT).optional().openapi({ description: 'Default: the issue date' }),
    validUntil: z
      .string()
      .regex(DAY, DAY_TEXT)
      .nullable()
      .optional()
      .openapi({ description: 'Null or absent: no end' }),
    location: z
      .string()
      .trim()
      .min(2)
      .max(200)
      .optional()
      .openapi({ description: 'The object of a certificate about a thing (坐落)' }),
    holders: z
      .array(
        z
          .object({
            name: z.string().trim().min(1).max(100),
            identifier: z
              .string()
              .trim()
              .regex(
                /^[0-9A-Za-z]{18}$/,
                bilingualCheck(
                  'a resident ID number or unified social credit code',
                  '应为 18 位居民身份证号码或统一社会信用代码',
                ),
              )
              .openapi({ example: '11010519491231002X' }),
          })
          .strict(),
      )
      .min(1)
      .max(20)
      .openapi({ description: 'The holder first (whose file it joins), then any co-holders' }),
    document: z
      .object({
        mediaType: z.enum(['application/pdf', 'application/ofd']),
        contentBase64: z
          .string()
          .min(8)
          .max(Math.ceil(RESULT_DOCUMENT_MAX_BYTES / 3) * 4)
          .openapi({ description: 'The issued document, base64 (RFC 4648 §4)' }),
        sealBase64: z
          .string()
          .min(8)
          .max(256 * 1024)
          .optional()
          .openapi({
            description:
              "The department's own electronic seal over the document: a GB/T 38540-2020 SES_Signature (DER, base64), SM2/SM3, by a certificate in the gateway's SEAL_TRUSTED_CERTIFICATES. Verified on receipt (a seal that does not verify refuses the completion); the document is then kept exactly as sent, without the gateway's stamp",
          }),
      })
      .strict(),
  })
  .strict()
  .openapi('ResultCertificateInput', {
    description: 'The result document a department issued at completion (电子证照); only with status completed',
  });
export type ResultCertificateInput = z.infer<typeof ResultCertificateInputSchema>;

function invalid(problem: string): ApiError {
  return new ApiError('result_certificate_invalid', message('result.document_not_accepted', { problem }), { problem });
}

/** The department's own seal signature sent with the document (callbacks only), DER. */
export function departmentSealFromInput(input: ResultCertificateInput): Buffer | undefined {
  const text = input.document.sealBase64;
  if (text === undefined) return undefined;
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw invalid('document.sealBase64 is not base64');
  return Buffer.from(text, 'base64');
}

/** The callback's JSON as the SDK's result certificate (the one shape the poll path has too). */
export function resultCertificateFromInput(input: ResultCertificateInput): ResultCertificate {
  const text = input.document.contentBase64;
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw invalid('document.contentBase64 is not base64');
  const [holder] = input.holders;
  if (!holder) throw invalid('no holder');
  return {
    metadata: {
      certificateType: input.certificateType,
      certificateNumber: input.certificateNumber,
      holderName: holder.name,
      holderIdentifier: holder.identifier,
      issuingAuthority: input.issuingAuthority,
      issueDate: input.issueDate,
      validFrom: input.validFrom ?? input.issueDate,
      validUntil: input.validUntil ?? null,
      ...(input.location === undefined ? {} : { location: input.location }),
      ...(input.holders.length > 1
        ? { holders: input.holders.map((entry) => ({ name: entry.name, identifier: entry.identifier })) }
        : {}),
    },
    document: { mediaType: input.document.mediaType, bytes: new Uint8Array(Buffer.from(text, 'base64')) },
  };
}

function isDay(value: string): boolean {
  if (!DAY.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

function identifierTypeOf(identifier: string): 'resident_id' | 'credit_code' | null {
  if (parseSubjectIdentifier('resident_id', identifier).ok) return 'resident_id';
  if (parseSubjectIdentifier('credit_code', identifier).ok) return 'credit_code';
  return null;
}

/** A result document received and its bytes stored (content-addressed), not yet recorded. */
export interface ReceivedResultCertificate {
  metadata: CertificateMetadata;
  /**
   * The resource the issuing department shares this type through (`sharingResourceOf`): the issued
   * document is read by others under those terms, as the same certificate fetched or uploaded would
   * be (review 8). Null when the department publishes none for the type.
   */
  sharingResource: string | null;
  content: { sha256: string; size: number; mediaType: string };
  /** The gateway's seal signature (SES_Signature, DER) over the document, when it seals results. */
  sealSignature?: Buffer;
  /** The department's own seal signature over the document, verified. */
  departmentSealSignature?: Buffer;
}

/** The gateway seal results are sealed with, and the clock that dates the sealing. */
export interface ResultSealing {
  seal: GatewaySeal;
  now: () => Date;
}

/**
 * Checks what can be checked without the database (form, dates, holders, the document's own
 * bytes), then stores the bytes. Throws `result_certificate_invalid` before storing anything.
 * Content without a material referencing it (a completion refused later) is left to the
 * blob store's clean-up, like an abandoned upload.
 */
export async function receiveResultCertificate(
  blobStore: BlobStore,
  result: ResultCertificate,
  sharingResource: string | null,
  sealing?: ResultSealing,
  departmentSeal?: Buffer,
): Promise<ReceivedResultCertificate> {
  const { metadata, document } = result;
  for (const [field, value] of [
    ['issueDate', metadata.issueDate],
    ['validFrom', metadata.validFrom],
  ] as const) {
    if (!isDay(value)) throw invalid(`${field} is not a calendar date`);
  }
  if (metadata.validUntil !== null && (!isDay(metadata.validUntil) || metadata.validUntil < metadata.validFrom)) {
    throw invalid('validUntil is not a date on or after validFrom');
  }
  const holders = metadata.holders ?? [{ name: metadata.holderName, identifier: metadata.holderIdentifier }];
  for (const holder of holders) {
    if (normaliseName(holder.name) === '') throw invalid('a holder has no name');
    if (identifierTypeOf(holder.identifier.toUpperCase()) === null) {
      throw invalid('a holder identifier is neither a valid resident ID number nor a valid credit code');
    }
  }
  if (document.bytes.byteLength === 0 || document.bytes.byteLength > RESULT_DOCUMENT_MAX_BYTES) {
    throw invalid(`the document is empty or larger than ${RESULT_DOCUMENT_MAX_BYTES} bytes`);
  }
  const detected = detectMediaType(document.bytes.subarray(0, 4096));
  if (!detected || detected.mediaType !== document.mediaType) {
    throw invalid(`the document is not the ${document.mediaType} it claims to be`);
  }
  if (departmentSeal) {
    // Checked against the bytes as sent; trusted are the certificates of SEAL_TRUSTED_CERTIFICATES.
    if (!sealing) throw invalid('a department seal came, and this gateway verifies none');
    try {
      sealing.seal.verify(document.bytes, departmentSeal, sealing.now());
    } catch (error) {
      if (error instanceof SealProblem)
        throw invalid(`the department's seal does not verify (${error.code}: ${error.problem})`);
      throw error;
    }
  }
  // A PDF the gateway seals shows the seal: an incremental update stamps its last page, the
  // department's file left intact as the first part. A PDF that cannot be updated that way
  // (object streams, encryption) is kept as sent and sealed without an appearance, and so is one
  // that came with the department's own seal, which covers the bytes as sent.
  const appearance =
    sealing && !departmentSeal && document.mediaType === 'application/pdf'
      ? addSealAppearance(document.bytes, sealing.seal.name)
      : undefined;
  const bytes: Uint8Array = appearance ?? document.bytes;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const put = await blobStore.put(
    (async function* () {
      yield bytes;
    })(),
    { maxBytes: bytes.byteLength, expectedSha256: sha256 },
  );
  // The gateway's seal over the very bytes stored (dataHash = SM3 of them); propertyInfo says what
  // they are in ASCII (IA5String), without the holder's identifiers.
  const sealSignature = sealing?.seal.sign(
    bytes,
    sealing.now(),
    `type=${metadata.certificateType};mediaType=${document.mediaType};size=${bytes.byteLength}`,
  );
  return {
    metadata: { ...metadata, holderIdentifier: metadata.holderIdentifier.toUpperCase(), status: 'valid' },
    content: { sha256: put.sha256, size: put.size, mediaType: document.mediaType },
    sharingResource,
    ...(sealSignature ? { sealSignature } : {}),
    ...(departmentSeal ? { departmentSealSignature: departmentSeal } : {}),
  };
}

/**
 * The subject whose file the certificate joins: its holder — the applicant, a party of the case,
 * or a subject already known by that identifier; otherwise a new subject, created from the
 * issuing department's own record (a newly established enterprise has no subject yet).
 */
async function holderSubject(
  tx: Queryable,
  protection: DataProtection,
  caseRow: typeof cases.$inferSelect,
  metadata: CertificateMetadata,
  department: string,
): Promise<typeof subjects.$inferSelect> {
  const identifierType = identifierTypeOf(metadata.holderIdentifier);
  if (identifierType === null) throw invalid('the holder identifier is not valid');
  const [applicantRow] = await tx.select().from(subjects).where(eq(subjects.id, caseRow.subjectId));
  const applicant = applicantRow && (await openSubjectValues(protection, applicantRow.id, applicantRow));
  if (applicant && applicant.identifier.toUpperCase() === metadata.holderIdentifier) return applicant;
  const parties = await tx
    .select({ subject: subjects })
    .from(caseParties)
    .innerJoin(subjects, eq(subjects.id, caseParties.subjectId))
    .where(eq(caseParties.caseId, caseRow.id));
  for (const entry of parties) {
    const party = await openSubjectValues(protection, entry.subject.id, entry.subject);
    if (party.identifier.toUpperCase() === metadata.holderIdentifier) return party;
  }
  await tx
    .insert(subjects)
    .values(
      storedSubjectValues(protection, {
        id: newSubjectId(),
        kind: identifierType === 'resident_id' ? 'person' : 'organisation',
        identifierType,
        identifier: metadata.holderIdentifier,
        name: normaliseName(metadata.holderName),
        createdByClientId: departmentProvider(department),
      }),
    )
    .onConflictDoNothing();
  const [known] = await tx
    .select()
    .from(subjects)
    .where(
      and(
        eq(subjects.identifierType, identifierType),
        inArray(subjects.identifierLookup, protection.lookupsOf(identifierType, metadata.holderIdentifier)),
      ),
    )
    .limit(1);
  if (!known) throw new Error('subject insert returned no row');
  return openSubjectValues(protection, known.id, known);
}

/**
 * Records a received result document inside the transaction that applies the department's
 * completion: checks it is the item's declared result from this department, stores it as an issued
 * certificate material of its holder, links it to the case's result, and writes the holder's
 * access-log entry. Throws `result_certificate_invalid` (the transaction then writes nothing). An
 * item that declares no result certificate keeps no document: null, and an internal timeline note.
 */
export async function recordResultCertificate(
  tx: Queryable,
  protection: DataProtection,
  input: {
    caseId: string;
    departmentCode: string;
    actor: { clientId: string; kind: 'department' };
    requestId: string | null;
  },
  received: ReceivedResultCertificate,
  at: Date,
): Promise<{ materialId: string; subjectId: string } | null> {
  const [caseRow] = await tx.select().from(cases).where(eq(cases.id, input.caseId));
  if (!caseRow) throw new Error(`case ${input.caseId} is gone`);
  const [item] = await tx
    .select({ code: items.code, resultCertificate: items.resultCertificate })
    .from(items)
    .where(eq(items.code, caseRow.itemCode));
  const declared = item?.resultCertificate ?? null;
  const { metadata, content } = received;
  if (declared === null) {
    // Not refused: a registry that always sends its documents must not block completions of an item
    // whose result nobody declared (a database from before electronic results). Noted, not kept.
    await tx.insert(caseEvents).values({
      caseId: caseRow.id,
      kind: 'result_document_not_declared',
      departmentCode: input.departmentCode,
      detail: { certificateType: metadata.certificateType },
      occurredAt: at,
    });
    return null;
  }
  if (declared.certificateType !== metadata.certificateType || declared.department !== input.departmentCode) {
    const expected = `a ${declared.certificateType} issued by ${declared.department}`;
    throw invalid(
      `item ${caseRow.itemCode} results in ${expected}, not a ${metadata.certificateType} from ${input.departmentCode}`,
    );
  }
  const [type] = await tx.select().from(materialTypes).where(eq(materialTypes.code, metadata.certificateType));
  if (!type) throw invalid(`unknown certificate type ${metadata.certificateType}`);
  if (!type.allowedMediaTypes.includes(content.mediaType)) {
    throw invalid(`${type.code} is not kept as ${content.mediaType}`);
  }
  const holder = await holderSubject(tx, protection, caseRow, metadata, input.departmentCode);
  if (type.subjectKind !== null && type.subjectKind !== holder.kind) {
    const owner = type.subjectKind === 'person' ? 'a person' : 'an organisation';
    throw invalid(`a ${type.code} belongs to ${owner}, and its holder is not one`);
  }

  await lockContent(tx, content.sha256);
  const stored = await insertCertificateMaterial(
    tx,
    protection,
    { provenance: 'issued', operatorId: null, caseRef: caseRow.caseNumber },
    holder.id,
    {
      type,
      department: input.departmentCode,
      contractResource: received.sharingResource,
      contractVersion: null,
      metadata,
      content,
    },
    at,
  );
  if (received.sealSignature || received.departmentSealSignature) {
    await tx
      .update(materials)
      .set({
        sealSignature: received.sealSignature?.toString('base64') ?? null,
        departmentSealSignature: received.departmentSealSignature?.toString('base64') ?? null,
      })
      .where(eq(materials.id, stored.material.id));
  }
  await tx
    .update(caseResults)
    .set({ materialId: stored.material.id, updatedAt: new Date() })
    .where(eq(caseResults.caseId, caseRow.id));
  await tx.insert(caseEvents).values({
    caseId: caseRow.id,
    kind: 'result_document_received',
    departmentCode: input.departmentCode,
    detail: { certificateType: metadata.certificateType, materialId: stored.material.id },
    occurredAt: at,
  });
  // The holder's access log shows who put a certificate into their file, for which case.
  await recordAudit(tx, {
    actor: input.actor,
    action: 'certificate.issue',
    subjectRef: holder.id,
    fields: ['certificate', 'content'],
    materialTypes: [metadata.certificateType],
    caseRef: caseRow.caseNumber,
    outcome: 'allowed',
    requestId: input.requestId,
  });
  return { materialId: stored.material.id, subjectId: holder.id };
}

/** What `shareIssuedResultsUnderTerms` needs of the department registry. */
export interface IssuingDepartments {
  list(): readonly { code: string; adapter: { certificateTypes?: readonly string[] | undefined } }[];
  sharingResourceOf(departmentCode: string, certificateType: string): string | null;
}

/**
 * Issued results stored before review 8 carry no sharing resource, so the policy let every window
 * read them. At start each gets the resource its department shares the type through, as a result
 * received now does. One statement; only rows still without a resource are touched.
 */
export async function shareIssuedResultsUnderTerms(db: Queryable, departments: IssuingDepartments): Promise<number> {
  const terms = departments.list().flatMap((department) =>
    (department.adapter.certificateTypes ?? []).flatMap((type) => {
      const resource = departments.sharingResourceOf(department.code, type);
      return resource === null ? [] : [{ department: department.code, type, resource }];
    }),
  );
  if (terms.length === 0) return 0;
  const updated = await db.execute(sql`
    update materials as m
       set sharing_resource = t.resource
      from jsonb_to_recordset(${JSON.stringify(terms)}::jsonb) as t(department text, type text, resource text)
     where m.provenance = 'issued' and m.sharing_resource is null
       and m.department_code = t.department and m.type_code = t.type
    returning m.id`);
  return rowsOf<{ id: string }>(updated).length;
}
