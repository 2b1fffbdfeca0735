/**
 * Electronic results (电子证照), end to end on PGlite with the department simulators and a fixed
 * clock: the AMR registry approves an establishment and answers the status poll with the licence
 * it issued; the gateway stores it once as an issued certificate material of the new enterprise,
 * signs it like any certificate, texts the applicant and shows it in the progress look-up, where
 * the applicant downloads it with the look-up's proof (and not without). A later case of the
 * enterprise reuses the licence without asking AMR. A bad document refuses the completion and
 * writes nothing; a completion without one leaves the result awaiting it; the catalogue offers
 * electronic only for items that declare their result.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, count, eq } from 'drizzle-orm';
import { decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { licenceDocument } from '../adapters/amr-enterprise/licence-document.js';
import { issuedCreditCode, startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  type RunningSmsSimulator,
  startSmsGatewaySimulator,
} from '../adapters/sms-gateway/simulator.js';
import {
  auditEntries,
  caseEvents,
  caseResults,
  cases,
  certificates,
  deliveries,
  materials,
  subjects,
} from '../gateway/db/schema.js';
import {
  defaultTemplateCode,
  notificationLanguages,
  notificationTemplates,
  templateIds,
} from '../gateway/notifications/templates.js';
import type { Clock } from '../gateway/platform/clock.js';
import { generateSm2PrivateKey } from '../adapters/sdk/helpers/sm2.js';
import { certificatePem, selfSignedSm2Certificate } from '../gateway/seals/certificate.js';
import { inspectPdf } from '../gateway/seals/pdf-appearance.js';
import { makeSeal, signWithSeal } from '../gateway/seals/seal.js';
import { supervisionSummary } from '../gateway/supervision/summary.js';
import { pdfDocument } from './fixtures/documents.js';
import { opensslVerifySeal } from './support/openssl-seal.js';
import { opensslVersion } from './support/openssl-sm2.js';
import { type TestGateway, bearer, createTestGateway, problemOf, caseWindow, ok, windowCaller } from './harness.js';
import { openSubjectValues } from '../gateway/identity/subjects.js';
import { verifyOffline } from './support/offline-verify.js';
import { simulatedDepartmentsJson } from './support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const MOBILE = '13912345670';
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const establishmentForm = {
  companyName: '西安未央晨星咨询有限公司',
  registeredCapital: '100万元人民币',
  businessScope: '企业管理咨询',
};
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };
const approvedTemplates = Object.fromEntries(
  templateIds.flatMap((id) =>
    notificationLanguages.map((language) => [
      defaultTemplateCode(id, language),
      notificationTemplates[id].text[language],
    ]),
  ),
);

/** The gateway's clock and the registry's: a Friday morning; the registry's moves on to approve. */
const instant = new Date('2026-12-18T02:00:00.000Z').getTime();
const clock: Clock = { now: () => new Date(instant) };
let registryInstant = instant;
/** AMR's own electronic seal (its certificate is trusted by the gateway through SEAL_TRUSTED_CERTIFICATES). */
const amrSealKey = generateSm2PrivateKey();
const amrSealCertificate = selfSignedSm2Certificate(amrSealKey, {
  organisation: '西安市未央区市场监督管理局',
  commonName: '西安市未央区市场监督管理局电子印章',
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2031-01-01T00:00:00Z'),
});
const amrSeal = makeSeal(
  {
    vid: 'amr-test',
    esID: 'amr-0001',
    type: 1,
    name: '西安市未央区市场监督管理局',
    certs: [amrSealCertificate],
    createDate: new Date('2026-01-01T00:00:00Z'),
    validStart: new Date('2026-01-01T00:00:00Z'),
    validEnd: new Date('2031-01-01T00:00:00Z'),
    picture: { type: 'PNG', data: Buffer.from('89504e470d0a1a0a', 'hex'), widthMm: 40, heightMm: 40 },
  },
  { key: amrSealKey, cert: amrSealCertificate },
);
const amrSealCertificateFile = join(mkdtempSync(join(tmpdir(), 'amr-seal-')), 'amr-seal.crt.pem');
writeFileSync(amrSealCertificateFile, certificatePem(amrSealCertificate));
/** AMR's seal over `bytes`, base64, as it would send it with the document. */
const amrSealOver = (bytes: Uint8Array) =>
  signWithSeal(bytes, amrSeal, { key: amrSealKey, cert: amrSealCertificate }, new Date(instant)).toString('base64');

/** The offline seal check runs where an OpenSSL command line is installed. */
const withOpenssl = (await opensslVersion()) !== undefined;

let psb: RunningSimulator;
let amr: RunningSimulator;
let nrb: RunningSimulator;
let sms: RunningSmsSimulator;
let gw: TestGateway;
let windowToken: string;
let amrToken: string;
let adminToken: string;
let zhangSan: string;

interface CaseBody {
  id: string;
  caseNumber: string;
  status: string;
  result: { method: string; status: string; materialId: string | null } | null;
}
interface ApplicantCertificateBody {
  certificateType: string;
  typeName: string;
  certificateNumber: string;
  issuingAuthority: string;
  issueDate: string;
  issuedAt: string | null;
  download: { method: string; path: string };
}
interface ProgressBody {
  status: string;
  result: {
    method: string;
    status: string;
    materialId: string | null;
    certificate: ApplicantCertificateBody | null;
    howToCollect: { zh: string; en: string };
  } | null;
  timeline: { kind: string }[];
}
interface DocumentBody {
  caseNumber: string;
  fileName: string;
  mediaType: string;
  size: number;
  sha256: string;
  contentBase64: string;
  envelope: string;
  seal: string | null;
  departmentSeal: string | null;
  certificate: ApplicantCertificateBody;
}

const call = windowCaller(
  () => gw,
  () => windowToken,
);

function publicPost(path: string, body: unknown): Promise<Response> {
  return gw.request(path, { method: 'POST', headers: json, body: JSON.stringify(body) });
}

const proofOf = (caseNumber: string, check = ZHANG_SAN.identifier.slice(-4)) => ({ caseNumber, check });

let submissions = 0;
let eventSequence = 0;

/** An establishment case delivered electronically, opened with the applicant's mobile and submitted. */
async function submittedElectronicCase(): Promise<CaseBody> {
  const opened = await ok<CaseBody>(
    await call('/v1/cases', {
      body: {
        itemCode: 'enterprise_establishment',
        subjectId: zhangSan,
        contact: { mobile: MOBILE },
        resultDelivery: { method: 'electronic' },
      },
    }),
    201,
  );
  submissions += 1;
  return ok<CaseBody>(
    await call(`/v1/cases/${opened.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': `ecert-submit-${submissions}` },
    }),
  );
}

/** AMR pushes a status of its part, a second after its last event, with a result document when given. */
function push(caseNumber: string, status: string, resultCertificate?: unknown): Promise<Response> {
  eventSequence += 1;
  const occurredAt = new Date(instant + eventSequence * 1000).toISOString();
  return call('/v1/case-status-callbacks', {
    body: {
      caseNumber,
      eventId: `ecert-amr-${eventSequence}`,
      status,
      occurredAt,
      ...(resultCertificate === undefined ? {} : { resultCertificate }),
    },
    token: amrToken,
    headers: { 'Accept-Language': 'en' },
  });
}

/** The licence with AMR's own seal over `sealed`'s document (by default its own). */
function withAmrSeal<T extends { document: { mediaType: string; contentBase64: string } }>(
  licence: T,
  sealed: { document: { contentBase64: string } } = licence,
): T & { document: { sealBase64: string } } {
  const sealBase64 = amrSealOver(Buffer.from(sealed.document.contentBase64, 'base64'));
  return { ...licence, document: { ...licence.document, sealBase64 } };
}

/** A licence document as a department would push it, for a new enterprise with this credit code. */
function pushedLicence(creditCode: string, overrides: Record<string, unknown> = {}) {
  const pdf = licenceDocument({
    tyshxydm: creditCode,
    qymc: '西安未央星河商贸有限公司',
    qylx: '有限责任公司（自然人投资或控股）',
    fddbr: '张三',
    zczb: '50万元人民币',
    clrq: '20261218',
    yyqxz: '长期',
    zs: '陕西省西安市未央区凤城八路109号',
    djjg: '西安市未央区市场监督管理局',
    fzrq: '20261218',
    djzt: '存续',
  });
  return {
    certificateType: 'business_licence',
    certificateNumber: creditCode,
    issuingAuthority: '西安市未央区市场监督管理局',
    issueDate: '2026-12-18',
    holders: [{ name: '西安未央星河商贸有限公司', identifier: creditCode }],
    document: { mediaType: 'application/pdf', contentBase64: Buffer.from(pdf).toString('base64') },
    ...overrides,
  };
}

async function rowCounts(): Promise<Record<string, number>> {
  const [materialCount] = await gw.services.db.select({ n: count() }).from(materials);
  const [certificateCount] = await gw.services.db.select({ n: count() }).from(certificates);
  const [subjectCount] = await gw.services.db.select({ n: count() }).from(subjects);
  const [eventCount] = await gw.services.db.select({ n: count() }).from(caseEvents);
  return {
    materials: materialCount?.n ?? 0,
    certificates: certificateCount?.n ?? 0,
    subjects: subjectCount?.n ?? 0,
    events: eventCount?.n ?? 0,
  };
}

const resultOf = async (caseId: string) =>
  (await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, caseId)))[0];

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator({ now: () => new Date(registryInstant) });
  nrb = await startNrbRealEstateSimulator();
  sms = await startSmsGatewaySimulator({ templates: approvedTemplates });
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: nrb.url }, tuning),
      NOTIFICATIONS_JSON: JSON.stringify({
        adapter: 'sms-gateway',
        baseUrl: sms.url,
        options: { appKey: SMS_DEMO_APP_KEY, appSecret: { $env: 'TEST_SMS_SECRET' }, signName: SMS_DEMO_SIGN_NAME },
        tuning,
        delivery: {
          maxAttempts: 3,
          backoffBaseMs: 10,
          backoffMaxMs: 20,
          platformLimitBackoffMs: 0,
          pollIntervalMs: 50,
        },
        receipts: { pollIntervalMs: 0 },
      }),
      TEST_SMS_SECRET: SMS_DEMO_APP_SECRET,
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      SEAL_TRUSTED_CERTIFICATES: amrSealCertificateFile,
      DELIVERY_WORKER: 'false',
      NOTIFICATION_WORKER: 'false',
      COURIER_WORKER: 'false',
    },
    { clock },
  );
  await gw.services.notifications.worker!.collectOnce();
  const window = await caseWindow(gw);
  windowToken = window.token;
  amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
  adminToken = await gw.tokenFor('admin');
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;

  // The item's materials, collected once: every later case of Zhang San reuses them.
  const first = await ok<CaseBody>(
    await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
    201,
  );
  await ok(await call(`/v1/cases/${first.id}/certificates`, { body: {} }));
  const uploaded = await gw.request(
    `/v1/subjects/${zhangSan}/materials?typeCode=articles_of_association&fileName=articles.pdf`,
    {
      method: 'POST',
      headers: bearer(windowToken, { ...purpose, 'content-type': 'application/pdf' }),
      body: Buffer.from(pdfDocument('articles')),
    },
  );
  await ok(
    await call(`/v1/cases/${first.id}/materials`, {
      body: { requirementCode: 'articles', materialId: (await ok<{ id: string }>(uploaded, 201)).id },
    }),
  );
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close(), sms?.close()]);
});

describe('the catalogue', () => {
  it('offers electronic delivery for the establishment, whose result is the licence AMR issues', async () => {
    const item = await ok<{ resultDeliveries: string[]; resultCertificate: unknown }>(
      await call('/v1/items/enterprise_establishment', { token: adminToken }),
    );
    expect(item.resultDeliveries).toEqual(['window_pickup', 'electronic']);
    expect(item.resultCertificate).toEqual({ certificateType: 'business_licence', department: 'AMR' });
  });

  it('refuses electronic for an item that declares no result certificate, or names another department, with 422 item_invalid', async () => {
    const { code: _code, ...body } = await ok<Record<string, unknown>>(
      await call('/v1/items/household_move_in', { token: adminToken }),
    );
    const undeclared = await problemOf(
      await call('/v1/items/household_move_in', {
        method: 'PUT',
        body: { ...body, resultDeliveries: ['window_pickup', 'electronic'] },
        token: adminToken,
      }),
    );
    expect(undeclared.code).toBe('item_invalid');
    expect(undeclared['problems']).toContain(
      'electronic result delivery (电子证照) needs resultCertificate: the certificate type the result is and the department that issues it',
    );
    const stranger = await call('/v1/items/household_move_in', {
      method: 'PUT',
      body: {
        ...body,
        resultDeliveries: ['electronic'],
        resultCertificate: { certificateType: 'household_register', department: 'NRB' },
      },
      token: adminToken,
    });
    expect(stranger.status).toBe(422);
    expect((await problemOf(stranger))['problems']).toContain(
      'resultCertificate names NRB, not a department of the item',
    );
    expect(
      (await ok<{ resultDeliveries: string[] }>(await call('/v1/items/household_move_in', { token: adminToken })))
        .resultDeliveries,
    ).toEqual(['window_pickup']);
  });
});

describe('a result issued by the registry', () => {
  let issuedCase: CaseBody;
  let creditCode: string;

  it('comes with the status poll that reports the approval: stored once as an issued certificate of the new enterprise', async () => {
    issuedCase = await submittedElectronicCase();
    expect(issuedCase.result).toMatchObject({ method: 'electronic', status: 'preparing', materialId: null });
    expect(await gw.services.deliveryWorker.runOnce()).toBe(1);
    // The registry approves three steps later; the delivery is due a status query now.
    registryInstant = instant + 3 * 60_000;
    await gw.services.db.update(deliveries).set({ lastPolledAt: null }).where(eq(deliveries.caseId, issuedCase.id));
    expect(await gw.services.deliveryWorker.pollStatusesOnce()).toBe(1);

    const result = await resultOf(issuedCase.id);
    expect(result).toMatchObject({
      method: 'electronic',
      status: 'issued',
      materialId: expect.stringMatching(/^mat_/),
      readyAt: expect.any(Date),
    });
    creditCode = issuedCreditCode(1);
    const [stored] = await gw.services.db
      .select({ material: materials, certificate: certificates, subject: subjects })
      .from(materials)
      .innerJoin(certificates, eq(certificates.materialId, materials.id))
      .innerJoin(subjects, eq(subjects.id, materials.subjectId))
      .where(eq(materials.id, result!.materialId!));
    expect(stored?.material).toMatchObject({
      provenance: 'issued',
      typeCode: 'business_licence',
      status: 'valid',
      departmentCode: 'AMR',
      caseRef: issuedCase.caseNumber,
      mediaType: 'application/pdf',
    });
    // As stored: the number as its lookup, the subject's values sealed when DATA_PROTECTION is on.
    const protection = gw.services.access.protection;
    expect(stored?.certificate).toMatchObject({
      certificateType: 'business_licence',
      certificateNumber: protection.certificateNumberLookup('business_licence', creditCode),
      departmentCode: 'AMR',
      metadata: expect.objectContaining({ certificateNumber: creditCode }),
    });
    if (!stored) throw new Error('nothing stored');
    expect(await openSubjectValues(protection, stored.subject.id, stored.subject)).toMatchObject({
      kind: 'organisation',
      identifierType: 'credit_code',
      identifier: creditCode,
      name: establishmentForm.companyName,
    });
    const view = await ok<CaseBody>(await call(`/v1/cases/${issuedCase.id}`));
    expect(view).toMatchObject({
      status: 'completed',
      result: { method: 'electronic', status: 'issued', materialId: result!.materialId },
    });
    const kinds = (await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, issuedCase.id))).map(
      (event) => event.kind,
    );
    expect(kinds).toEqual(expect.arrayContaining(['result_document_received', 'completed', 'result_issued']));
    const issuing = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'certificate.issue'), eq(auditEntries.subjectRef, stored!.subject.id)));
    expect(issuing).toHaveLength(1);
  });

  it('texts the applicant once: issued and where to download, nothing about the holder', async () => {
    const worker = gw.services.notifications.worker!;
    for (let round = 0; round < 2; round += 1) {
      await worker.collectOnce();
      await worker.collectOnce();
      await worker.sendOnce();
    }
    const texts = sms
      .messages()
      .filter((message) => message.phoneNumber === MOBILE)
      .map((message) => message.text);
    const issuedText = `【${SMS_DEMO_SIGN_NAME}】您的企业设立登记（受理编号${issuedCase.caseNumber}）已办结，电子证照已签发，请凭受理编号和证件号码后四位在办件进度查询中下载。`;
    expect(texts.filter((text) => text.includes('电子证照'))).toEqual([issuedText]);
    // The completion itself sends nothing more: the issued message says completed.
    expect(texts.filter((text) => text.includes(issuedCase.caseNumber) && text.includes('已办结'))).toHaveLength(1);
    for (const text of texts) expect(text).not.toContain(creditCode);
  });

  it('shows in the progress look-up with the number masked and how to download', async () => {
    const progress = await ok<ProgressBody>(await publicPost('/v1/progress', proofOf(issuedCase.caseNumber)));
    expect(progress.result).toMatchObject({
      method: 'electronic',
      status: 'issued',
      certificate: {
        certificateType: 'business_licence',
        typeName: '营业执照',
        issuingAuthority: '西安市未央区市场监督管理局',
        issueDate: '2026-12-18',
        download: { method: 'POST', path: '/v1/progress/result/document' },
      },
    });
    expect(progress.result?.certificate?.certificateNumber).not.toBe(creditCode);
    expect(progress.result?.certificate?.certificateNumber).toMatch(/\*/);
    expect(progress.result?.howToCollect.zh).toContain('下载');
    expect(progress.timeline.map((event) => event.kind)).toContain('result_issued');
  });

  it('downloads with the proof: the very document, with an envelope that verifies against the JWKS', async () => {
    const response = await publicPost('/v1/progress/result/document', proofOf(issuedCase.caseNumber));
    expect(response.headers.get('cache-control')).toBe('no-store');
    const document = await ok<DocumentBody>(response);
    const bytes = Buffer.from(document.contentBase64, 'base64');
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const [stored] = await gw.services.db
      .select()
      .from(materials)
      .where(eq(materials.id, (await resultOf(issuedCase.id))!.materialId!));
    expect(document).toMatchObject({
      caseNumber: issuedCase.caseNumber,
      mediaType: 'application/pdf',
      size: bytes.byteLength,
      sha256: stored!.contentSha256,
    });
    const jwks = (await (await gw.request('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    expect(decodeProtectedHeader(document.envelope)).toMatchObject({
      alg: gw.config.signing.alg,
      typ: 'onewindow-certificate+jws',
    });
    const claims = (await verifyOffline(document.envelope, jwks)) as unknown as {
      materialId: string;
      content: { sha256: string };
      certificate: { certificateNumber: string; holderIdentifier: string };
    };
    expect(claims.materialId).toBe(stored!.id);
    expect(claims.content.sha256).toBe(createHashHex(bytes));
    expect(claims.certificate.holderIdentifier).not.toBe(creditCode);
    const verified = await ok<{ valid: boolean; currentStatus: string }>(
      await call('/v1/certificates/verify', { body: { envelope: document.envelope } }),
    );
    expect(verified).toMatchObject({ valid: true, currentStatus: 'valid' });
    const reads = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.result_download'),
          eq(auditEntries.caseRef, issuedCase.caseNumber),
          eq(auditEntries.outcome, 'allowed'),
        ),
      );
    expect(reads.map((entry) => entry.subjectRef).sort()).toEqual([zhangSan, stored!.subjectId].sort());
  });

  it('carries the gateway’s electronic seal (GB/T 38540), verified by the endpoint and refused on a changed document', async () => {
    const document = await ok<DocumentBody>(
      await publicPost('/v1/progress/result/document', proofOf(issuedCase.caseNumber)),
    );
    expect(document.seal).toEqual(expect.any(String));
    const gatewaySeal = await ok<{ certificatePem: string; sealBase64: string; seal: { name: string; esID: string } }>(
      await gw.request('/v1/seals/gateway'),
    );
    expect(gatewaySeal.seal.name).toBe('某某市政务服务中心电子印章');
    const verified = await ok<{
      valid: boolean;
      signedAt: string;
      dataHash: string;
      propertyInfo: string;
      seal: { name: string; esID: string };
    }>(await publicPost('/v1/seals/verify', { documentBase64: document.contentBase64, sealBase64: document.seal }));
    const bytes = Buffer.from(document.contentBase64, 'base64');
    expect(verified).toMatchObject({
      valid: true,
      signedAt: new Date(instant).toISOString(),
      dataHash: createHash('sm3').update(bytes).digest('hex'),
      propertyInfo: `type=business_licence;mediaType=application/pdf;size=${bytes.byteLength}`,
      seal: { name: '某某市政务服务中心电子印章', esID: gatewaySeal.seal.esID },
    });
    // The PDF shows the seal: an incremental update stamps the last page; the registry's file is
    // the first part, unchanged (a complete PDF without the stamp).
    expect(inspectPdf(bytes)).toMatchObject({ lastPageAnnots: 1 });
    expect(bytes.toString('latin1')).toContain('/Subtype /Stamp');
    const registryPart = bytes.subarray(0, bytes.indexOf('%%EOF\n') + '%%EOF\n'.length);
    expect(inspectPdf(registryPart)).toMatchObject({ lastPageAnnots: 0 });
    expect(registryPart.toString('latin1')).toContain('/BaseFont /STSong-Light');
    // The seal signature names neither the holder nor the certificate number.
    const sealText = Buffer.from(document.seal ?? '', 'base64').toString('latin1');
    expect(sealText).not.toContain(creditCode);

    const changed = Buffer.from(bytes);
    changed[changed.length - 10] = (changed[changed.length - 10] as number) ^ 1;
    const refused = await publicPost('/v1/seals/verify', {
      documentBase64: changed.toString('base64'),
      sealBase64: document.seal,
    });
    expect([refused.status, (await problemOf(refused)).code]).toEqual([422, 'seal_document_mismatch']);
    const garbage = await publicPost('/v1/seals/verify', {
      documentBase64: document.contentBase64,
      sealBase64: Buffer.from('not a seal').toString('base64'),
    });
    expect([garbage.status, (await problemOf(garbage)).code]).toEqual([422, 'seal_malformed']);
  });

  it.runIf(withOpenssl)('has a seal OpenSSL alone verifies, following the documented steps', async () => {
    const document = await ok<DocumentBody>(
      await publicPost('/v1/progress/result/document', proofOf(issuedCase.caseNumber)),
    );
    const report = await opensslVerifySeal(
      Buffer.from(document.contentBase64, 'base64'),
      Buffer.from(document.seal ?? '', 'base64'),
    );
    expect(report, report.output).toMatchObject({
      signatureVerified: true,
      documentMatches: true,
      makerSignatureVerified: true,
      certificateVerified: true,
    });
  });

  it('does not download without the proof: a wrong check is 404, counted, and on the applicant’s access log', async () => {
    const wrong = await publicPost('/v1/progress/result/document', proofOf(issuedCase.caseNumber, '0000'));
    expect([wrong.status, (await problemOf(wrong)).code]).toEqual([404, 'not_found']);
    const denied = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.result_download'),
          eq(auditEntries.outcome, 'denied'),
          eq(auditEntries.subjectRef, zhangSan),
        ),
      );
    expect(denied).toHaveLength(1);
    const unknown = await publicPost('/v1/progress/result/document', proofOf('OW20261218999999'));
    expect(unknown.status).toBe(404);
  });

  it('is reused by a later case of its holder: the reissue case finds the licence on file, AMR is not asked', async () => {
    const enterprise = await ok<{ id: string }>(
      await call('/v1/subjects/resolve', {
        body: { identifierType: 'credit_code', identifier: creditCode, name: establishmentForm.companyName },
        headers: purpose,
      }),
    );
    const [stored] = await gw.services.db
      .select()
      .from(materials)
      .where(eq(materials.id, (await resultOf(issuedCase.id))!.materialId!));
    expect(enterprise.id).toBe(stored!.subjectId);
    const asked = amr.requestCount();
    const reissue = await ok<{
      id: string;
      notice: {
        entries: { requirementCode: string; state: string; material: { id: string; provenance: string } | null }[];
      };
    }>(await call('/v1/cases', { body: { itemCode: 'business_licence_reissue', subjectId: enterprise.id } }), 201);
    const licence = reissue.notice.entries.find((entry) => entry.requirementCode === 'licence');
    expect(licence).toMatchObject({ state: 'reused', material: { id: stored!.id, provenance: 'issued' } });
    expect(amr.requestCount()).toBe(asked);
  });
});

describe('a result document pushed in a status callback', () => {
  it('is refused when it is not a PDF, or not the item’s result, or comes without completion: 422, nothing written', async () => {
    const pending = await submittedElectronicCase();
    const before = await rowCounts();
    const notPdf = pushedLicence(issuedCreditCode(7), {
      document: {
        mediaType: 'application/pdf',
        contentBase64: Buffer.from('这不是PDF文件，只是文字。').toString('base64'),
      },
    });
    const refusals: [unknown, string, string][] = [
      [notPdf, 'completed', 'not the application/pdf it claims to be'],
      [
        pushedLicence(issuedCreditCode(7), { certificateType: 'real_estate_certificate' }),
        'completed',
        'results in a business_licence issued by AMR',
      ],
      [{ ...pushedLicence(issuedCreditCode(7)), validUntil: '2020-01-01' }, 'completed', 'validUntil'],
      [pushedLicence('91610112MA6U00000X'), 'completed', 'holder identifier'],
      [pushedLicence(issuedCreditCode(7)), 'in_progress', 'not with in_progress'],
      [
        pushedLicence(issuedCreditCode(7), {
          document: { mediaType: 'application/pdf', contentBase64: '%%%not-base64%%%' },
        }),
        'completed',
        'not base64',
      ],
      [
        // AMR's seal, but over another licence.
        withAmrSeal(pushedLicence(issuedCreditCode(7)), pushedLicence(issuedCreditCode(8))),
        'completed',
        "the department's seal does not verify (seal_document_mismatch",
      ],
    ];
    for (const [document, status, says] of refusals) {
      const refused = await push(pending.caseNumber, status, document);
      expect(refused.status, says).toBe(422);
      const problem = await problemOf(refused);
      expect(problem.code).toBe('result_certificate_invalid');
      expect(problem.detail).toContain(says);
    }
    const bad = await push(pending.caseNumber, 'completed', { ...pushedLicence(issuedCreditCode(7)), holders: [] });
    expect([bad.status, (await problemOf(bad)).code]).toEqual([400, 'validation_failed']);
    expect(await rowCounts()).toEqual(before);
    const [caseRow] = await gw.services.db.select().from(cases).where(eq(cases.id, pending.id));
    expect(caseRow?.status).toBe('submitted');
    expect(await resultOf(pending.id)).toMatchObject({ status: 'preparing', materialId: null });
    const [delivery] = await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, pending.id));
    expect(delivery?.departmentStatus).toBeNull();
  });

  it('keeps a department’s own seal: verified on receipt, the document stored exactly as sent, both seals verify', async () => {
    const sealedCase = await submittedElectronicCase();
    const licence = withAmrSeal(pushedLicence(issuedCreditCode(43)));
    const sent = Buffer.from(licence.document.contentBase64, 'base64');
    await ok(await push(sealedCase.caseNumber, 'completed', licence));
    const document = await ok<DocumentBody>(
      await publicPost('/v1/progress/result/document', proofOf(sealedCase.caseNumber)),
    );
    expect(Buffer.from(document.contentBase64, 'base64').equals(sent)).toBe(true);
    expect(document.departmentSeal).toBe(licence.document.sealBase64);
    const departments = await ok<{ signer: { subject: string }; seal: { name: string } }>(
      await publicPost('/v1/seals/verify', {
        documentBase64: document.contentBase64,
        sealBase64: document.departmentSeal,
      }),
    );
    expect(departments.seal.name).toBe('西安市未央区市场监督管理局');
    expect(departments.signer.subject).toContain('西安市未央区市场监督管理局电子印章');
    const gateways = await ok<{ seal: { name: string } }>(
      await publicPost('/v1/seals/verify', { documentBase64: document.contentBase64, sealBase64: document.seal }),
    );
    expect(gateways.seal.name).toBe('某某市政务服务中心电子印章');
  });

  it('is awaited when the completion brings none, and issues the result when a repeated completion brings it', async () => {
    const waiting = await submittedElectronicCase();
    expect((await ok<{ caseStatus: string }>(await push(waiting.caseNumber, 'completed'))).caseStatus).toBe(
      'completed',
    );
    expect(await resultOf(waiting.id)).toMatchObject({ status: 'awaiting_document', materialId: null });
    const progress = await ok<ProgressBody>(await publicPost('/v1/progress', proofOf(waiting.caseNumber)));
    expect(progress.result).toMatchObject({ status: 'awaiting_document', certificate: null });
    const early = await publicPost('/v1/progress/result/document', proofOf(waiting.caseNumber));
    expect([early.status, (await problemOf(early)).code]).toEqual([409, 'result_document_not_available']);
    const december = { from: '2026-12-01', to: '2026-12-31' };
    const supervised = await supervisionSummary(gw.services.db, gw.services, december);
    expect(supervised.resultsAwaitingDocument.items).toContainEqual({
      caseNumber: waiting.caseNumber,
      itemCode: 'enterprise_establishment',
      department: 'AMR',
      completedOn: '2026-12-18',
    });

    const creditCode = issuedCreditCode(42);
    expect(
      (await ok<{ caseStatus: string }>(await push(waiting.caseNumber, 'completed', pushedLicence(creditCode))))
        .caseStatus,
    ).toBe('completed');
    const issued = await resultOf(waiting.id);
    expect(issued).toMatchObject({ status: 'issued', materialId: expect.stringMatching(/^mat_/) });
    const kinds = (await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, waiting.id))).map(
      (event) => event.kind,
    );
    expect(kinds.filter((kind) => kind === 'result_issued')).toHaveLength(1);
    expect(kinds).toContain('result_awaiting_document');
    const after = await supervisionSummary(gw.services.db, gw.services, december);
    expect(after.resultsAwaitingDocument.items.map((item) => item.caseNumber)).not.toContain(waiting.caseNumber);
    const document = await ok<DocumentBody>(
      await publicPost('/v1/progress/result/document', proofOf(waiting.caseNumber)),
    );
    expect(document.certificate).toMatchObject({ certificateType: 'business_licence', issueDate: '2026-12-18' });
    // Pushed in a status callback, it is sealed and stamped the same way as one answered to a poll.
    expect(inspectPdf(Buffer.from(document.contentBase64, 'base64'))).toMatchObject({ lastPageAnnots: 1 });
    const sealed = await publicPost('/v1/seals/verify', {
      documentBase64: document.contentBase64,
      sealBase64: document.seal,
    });
    expect(await ok<{ valid: boolean }>(sealed)).toMatchObject({ valid: true });

    // AMR revokes the licence (issued to the wrong holder, say): the look-up says so, and the
    // document is not handed out again (review 22's suspicion: it still was, with a fresh envelope).
    await ok(
      await gw.request('/v1/certificates/revocations', {
        method: 'POST',
        headers: bearer(amrToken, { 'content-type': 'application/json' }),
        body: JSON.stringify({
          certificateType: 'business_licence',
          certificateNumber: creditCode,
          reason: '登记错误',
        }),
      }),
      201,
    );
    const revoked = await ok<ProgressBody>(await publicPost('/v1/progress', proofOf(waiting.caseNumber)));
    expect(revoked.result?.certificate).toMatchObject({ revoked: true, download: null });
    const refused = await publicPost('/v1/progress/result/document', proofOf(waiting.caseNumber));
    const problem = await problemOf(refused);
    expect([refused.status, problem.code]).toEqual([409, 'result_document_revoked']);
  });

  it('is stored for a window pick-up case too (the holder’s file), but the result stays a pick-up', async () => {
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
      201,
    );
    submissions += 1;
    await ok(
      await call(`/v1/cases/${opened.id}/submit`, {
        body: { form: establishmentForm },
        headers: { 'idempotency-key': `ecert-submit-${submissions}` },
      }),
    );
    await ok(await push(opened.caseNumber, 'completed', pushedLicence(issuedCreditCode(43))));
    expect(await resultOf(opened.id)).toMatchObject({
      method: 'window_pickup',
      status: 'ready_for_pickup',
      materialId: expect.stringMatching(/^mat_/),
    });
    const progress = await ok<ProgressBody>(await publicPost('/v1/progress', proofOf(opened.caseNumber)));
    expect(progress.result).toMatchObject({ method: 'window_pickup', materialId: null, certificate: null });
    const refused = await publicPost('/v1/progress/result/document', proofOf(opened.caseNumber));
    expect([refused.status, (await problemOf(refused)).code]).toEqual([409, 'result_document_not_available']);
  });
});

describe('an item that declares no result certificate', () => {
  it('completes when its department sends a document anyway, keeping none (a note on the timeline)', async () => {
    const { code: _code, ...body } = await ok<Record<string, unknown>>(
      await call('/v1/items/enterprise_establishment', { token: adminToken }),
    );
    await ok(
      await call('/v1/items/enterprise_establishment', {
        method: 'PUT',
        body: { ...body, resultDeliveries: ['window_pickup'], resultCertificate: null },
        token: adminToken,
      }),
    );
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
      201,
    );
    submissions += 1;
    await ok(
      await call(`/v1/cases/${opened.id}/submit`, {
        body: { form: establishmentForm },
        headers: { 'idempotency-key': `ecert-submit-${submissions}` },
      }),
    );
    const before = await rowCounts();
    expect(
      (
        await ok<{ caseStatus: string }>(
          await push(opened.caseNumber, 'completed', pushedLicence(issuedCreditCode(44))),
        )
      ).caseStatus,
    ).toBe('completed');
    const after = await rowCounts();
    expect([after.materials, after.certificates]).toEqual([before.materials, before.certificates]);
    expect(await resultOf(opened.id)).toMatchObject({
      method: 'window_pickup',
      status: 'ready_for_pickup',
      materialId: null,
    });
    const notes = await gw.services.db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, opened.id), eq(caseEvents.kind, 'result_document_not_declared')));
    expect(notes.map((note) => note.detail)).toEqual([{ certificateType: 'business_licence' }]);
  });
});

function createHashHex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
