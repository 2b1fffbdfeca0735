/**
 * The window flow for certificates end to end, against real department simulators on loopback:
 * fetch in parallel under one deadline, stored once and reused while fresh, stale copies only
 * where the policy allows, grants and purposes, a department answering about the wrong subject,
 * the gateway's signature (checked here with node:crypto alone, not jose, as an outside verifier
 * would), the verify endpoint, and revocations.
 */
import { createHash, createPublicKey, verify as verifySignature, type JsonWebKey } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { CompactSign, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { seededEnterprises } from '../adapters/amr-enterprise/seed.js';
import { PSB_UNKNOWN_ID_NUMBER } from '../adapters/psb-population/seed.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { accessRequests, auditEntries, certificates, materials } from '../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';
import { rowTampering } from './support/blob-tampering.js';
import { verifyOffline } from './support/offline-verify.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const WANG_JIANGUO = { identifier: '320102197807120033', name: '王建国' };

let psb: RunningSimulator;
let amr: RunningSimulator;
let gw: TestGateway;
let windowToken: string;
let windowClientId: string;
let psbDepartmentToken: string;
let zhangSan: string;

const json = { 'content-type': 'application/json' };
const forCase = (caseRef: string) => ({ 'onewindow-purpose': 'case_acceptance', 'onewindow-case-ref': caseRef });

interface Answer {
  certificateType: string;
  status: string;
  department: string | null;
  source: string | null;
  stale: boolean;
  certificate: Record<string, string | null> | null;
  material: { id: string; status: string; content: { sha256: string; mediaType: string; size: number } } | null;
  envelope: string | null;
  error: { code: string; message: string } | null;
}

function departmentsJson(psbUrl: string, amrUrl: string): string {
  return JSON.stringify([
    {
      code: 'PSB',
      name: 'Population registry',
      adapter: 'psb-population',
      baseUrl: psbUrl,
      options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
      // One quick retry and a breaker that does not open during these tests.
      tuning: { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
    },
    {
      code: 'AMR',
      name: 'Enterprise registry',
      adapter: 'amr-enterprise',
      baseUrl: amrUrl,
      options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
      tuning: { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
    },
  ]);
}

async function resolve(person: { identifier: string; name: string }, identifierType = 'resident_id'): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...forCase('RESOLVE'), ...json }),
    body: JSON.stringify({ identifierType, identifier: person.identifier, name: person.name }),
  });
  expect(response.status).toBeLessThan(300);
  return ((await response.json()) as { id: string }).id;
}

function fetchRequest(
  subjectId: string,
  body: unknown,
  headers: Record<string, string> = forCase('CASE-1'),
  token = windowToken,
): Promise<Response> {
  return gw.request(`/v1/subjects/${subjectId}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...headers, ...json }),
    body: JSON.stringify(body),
  });
}

async function fetchCertificates(
  subjectId: string,
  body: unknown,
  headers?: Record<string, string>,
): Promise<Answer[]> {
  const response = await fetchRequest(subjectId, body, headers);
  if (response.status !== 200) throw new Error(`fetch answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { results: Answer[] }).results;
}

function byType(answers: Answer[], type: string): Answer {
  const answer = answers.find((candidate) => candidate.certificateType === type);
  if (!answer) throw new Error(`no answer for ${type}`);
  return answer;
}

async function grant(resourceCode: string, clientId: string): Promise<void> {
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: `acr_test_${resourceCode}_${clientId}`,
    resourceCode,
    clientId,
    purpose: 'fetch certificates at the window',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_test_department',
  });
}

async function certificateMaterials(subjectId: string, type: string) {
  return gw.services.db
    .select()
    .from(materials)
    .where(and(eq(materials.subjectId, subjectId), eq(materials.typeCode, type)));
}

function verifyEnvelope(envelope: string): Promise<Response> {
  return gw.request('/v1/certificates/verify', { method: 'POST', headers: json, body: JSON.stringify({ envelope }) });
}

/** Ages every stored certificate of a type, as if it had last been confirmed `days` ago. */
async function age(subjectId: string, type: string, days: number): Promise<void> {
  await gw.services.db
    .update(certificates)
    .set({ checkedAt: sql`now() - make_interval(days => ${days})` })
    .where(and(eq(certificates.subjectId, subjectId), eq(certificates.certificateType, type)));
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: departmentsJson(psb.url, amr.url),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  const window = await gw.createClient('window');
  windowClientId = window.client.id;
  windowToken = (
    await gw.services.tokens.issue(window.client, [
      'subjects:read',
      'subjects:write',
      'certificates:read',
      'materials:read',
    ])
  ).accessToken;
  psbDepartmentToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
  await grant('psb.population', windowClientId);
  await grant('amr.enterprise', windowClientId);
  zhangSan = await resolve(ZHANG_SAN);
});

afterAll(async () => {
  await gw?.close();
  await psb?.close();
  await amr?.close();
});

beforeEach(() => {
  psb.setFault(null);
  amr.setFault(null);
});

describe('fetching certificates', () => {
  it('fetches from the department, stores each certificate once as a material with provenance, and signs the answer', async () => {
    const answers = await fetchCertificates(zhangSan, { types: ['resident_id_card', 'household_register'] });
    for (const type of ['resident_id_card', 'household_register']) {
      const answer = byType(answers, type);
      expect(answer).toMatchObject({
        status: 'ok',
        department: 'PSB',
        source: 'department',
        stale: false,
        error: null,
      });
      expect(answer.envelope).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      // Masked by default: first character of the name, first 6 and last 4 of the number.
      expect(answer.certificate).toMatchObject({
        certificateType: type,
        holderName: '张*',
        holderIdentifier: '110105********002X',
        status: 'valid',
      });
      const [material, ...others] = await certificateMaterials(zhangSan, type);
      expect(others).toEqual([]);
      expect(material).toMatchObject({
        provenance: 'fetched',
        departmentCode: 'PSB',
        providedByClientId: 'department:PSB',
        caseRef: 'CASE-1',
        status: 'valid',
      });
      expect(material?.contentSha256).toBe(answer.material?.content.sha256);
    }
    const [record] = await gw.services.db
      .select()
      .from(certificates)
      .where(and(eq(certificates.subjectId, zhangSan), eq(certificates.certificateType, 'resident_id_card')));
    expect(record).toMatchObject({
      departmentCode: 'PSB',
      contractResource: 'psb.population',
      certificateNumber: expect.any(String),
    });
    expect(record?.contractVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(record?.metadata).toMatchObject({
      holderIdentifier: ZHANG_SAN.identifier,
      issuingAuthority: expect.any(String),
      issueDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
  });

  it('serves the same certificate for a second case from the stored copy: no department call, still one material', async () => {
    const callsBefore = psb.requestCount();
    const first = byType(
      await fetchCertificates(zhangSan, { types: ['household_register'] }, forCase('CASE-1')),
      'household_register',
    );
    const second = byType(
      await fetchCertificates(zhangSan, { types: ['household_register'] }, forCase('CASE-2')),
      'household_register',
    );
    expect(second).toMatchObject({ status: 'ok', source: 'stored', stale: false });
    expect(second.material?.id).toBe(first.material?.id);
    expect(psb.requestCount()).toBe(callsBefore);
    expect(await certificateMaterials(zhangSan, 'household_register')).toHaveLength(1);
    const served = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'certificate.serve'),
          eq(auditEntries.subjectRef, zhangSan),
          eq(auditEntries.caseRef, 'CASE-2'),
        ),
      );
    expect(served).toHaveLength(1);
    expect(served[0]).toMatchObject({ purpose: 'case_acceptance', outcome: 'allowed' });
  });

  it('asks again once the copy is no longer fresh, or when asked to refresh, and keeps one material for an unchanged certificate', async () => {
    const before = byType(await fetchCertificates(zhangSan, { types: ['resident_id_card'] }), 'resident_id_card');
    await age(zhangSan, 'resident_id_card', 8); // fresh for 7 days
    const callsBefore = psb.requestCount();
    const again = byType(await fetchCertificates(zhangSan, { types: ['resident_id_card'] }), 'resident_id_card');
    expect(again).toMatchObject({ status: 'ok', source: 'department' });
    expect(psb.requestCount()).toBeGreaterThan(callsBefore);
    expect(again.material?.id).toBe(before.material?.id);
    const refreshed = byType(
      await fetchCertificates(zhangSan, { types: ['resident_id_card'], refresh: true }),
      'resident_id_card',
    );
    expect(refreshed).toMatchObject({ status: 'ok', source: 'department' });
    expect(await certificateMaterials(zhangSan, 'resident_id_card')).toHaveLength(1);
  });

  it('a refresh that brings the stored rendition again repairs a stored copy found corrupt', async () => {
    const stored = byType(await fetchCertificates(zhangSan, { types: ['household_register'] }), 'household_register');
    const material = stored.material!;
    const contentUrl = `/v1/subjects/${zhangSan}/materials/${material.id}/content`;
    const download = () => gw.request(contentUrl, { headers: bearer(windowToken, forCase('CASE-1')) });
    await rowTampering(gw.services.db).flipByte(material.content.sha256, 100);
    await expect((await download()).arrayBuffer()).rejects.toThrow();
    expect((await problemOf(await download())).code).toBe('content_corrupted');

    const refreshed = byType(
      await fetchCertificates(zhangSan, { types: ['household_register'], refresh: true }),
      'household_register',
    );
    expect(refreshed).toMatchObject({ status: 'ok', source: 'department' });
    expect(refreshed.material?.content.sha256).toBe(material.content.sha256);
    const repaired = await download();
    expect(repaired.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await repaired.arrayBuffer()))
        .digest('hex'),
    ).toBe(material.content.sha256);
  });

  it('answers not_found per type without failing the others', async () => {
    const stranger = await resolve({ identifier: PSB_UNKNOWN_ID_NUMBER, name: '无名' });
    const answers = await fetchCertificates(stranger, { types: ['resident_id_card'] });
    expect(byType(answers, 'resident_id_card')).toMatchObject({
      status: 'not_found',
      department: 'PSB',
      envelope: null,
      material: null,
    });
    expect(await certificateMaterials(stranger, 'resident_id_card')).toEqual([]);
  });

  it('fetches an organisation certificate from its own department', async () => {
    const enterprise = seededEnterprises[0]!;
    const organisation = await resolve({ identifier: enterprise.tyshxydm, name: enterprise.qymc }, 'credit_code');
    const answer = byType(await fetchCertificates(organisation, { types: ['business_licence'] }), 'business_licence');
    expect(answer).toMatchObject({ status: 'ok', department: 'AMR', source: 'department' });
    expect(answer.certificate?.['holderName']).toBe(enterprise.qymc.charAt(0) + '*'.repeat(enterprise.qymc.length - 1));
  });
});

describe('departments that are slow, down or wrong', () => {
  it('gives up on a slow department at the deadline and says it was unavailable', async () => {
    const wang = await resolve(WANG_JIANGUO);
    psb.setFault({ kind: 'delay', delayMs: 3000 });
    const answers = await fetchCertificates(wang, {
      types: ['resident_id_card', 'household_register'],
      deadlineMs: 300,
    });
    for (const answer of answers) {
      expect(answer).toMatchObject({
        status: 'department_unavailable',
        department: 'PSB',
        material: null,
        envelope: null,
      });
      expect(answer.error?.code).toBe('department_timeout');
    }
    expect(await certificateMaterials(wang, 'resident_id_card')).toEqual([]);
  });

  it('serves a stale copy, marked stale, when the department is down and the policy allows it', async () => {
    await fetchCertificates(zhangSan, { types: ['household_register'] });
    await age(zhangSan, 'household_register', 40); // fresh 30 days, grace 90
    psb.setFault({ kind: 'http_5xx' });
    const answer = byType(await fetchCertificates(zhangSan, { types: ['household_register'] }), 'household_register');
    expect(answer).toMatchObject({ status: 'ok', source: 'stored', stale: true });
    expect(answer.error?.code).toMatch(/^department_/);
    const verification = (await (await verifyEnvelope(answer.envelope!)).json()) as { claims: { stale: boolean } };
    expect(verification.claims.stale).toBe(true);
    const staleServed = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'certificate.serve_stale'), eq(auditEntries.subjectRef, zhangSan)));
    expect(staleServed.length).toBeGreaterThan(0);
  });

  it('on refresh, falls back to a copy that is still fresh when the department cannot answer (not marked stale)', async () => {
    const fresh = byType(
      await fetchCertificates(zhangSan, { types: ['resident_id_card'], refresh: true }),
      'resident_id_card',
    );
    expect(fresh.source).toBe('department');
    psb.setFault({ kind: 'http_5xx' });
    const answer = byType(
      await fetchCertificates(zhangSan, { types: ['resident_id_card'], refresh: true }),
      'resident_id_card',
    );
    expect(answer).toMatchObject({ status: 'ok', source: 'stored', stale: false });
    expect(answer.material?.id).toBe(fresh.material?.id);
    expect(answer.error?.code).toMatch(/^department_/);
  });

  it('serves nothing once a copy is past its grace period', async () => {
    await age(zhangSan, 'household_register', 120);
    psb.setFault({ kind: 'reset' });
    const answer = byType(await fetchCertificates(zhangSan, { types: ['household_register'] }), 'household_register');
    expect(answer).toMatchObject({ status: 'department_unavailable', material: null, envelope: null, stale: false });
  });

  it('refuses and stores nothing when the department answers about a different person', async () => {
    const wang = await resolve(WANG_JIANGUO);
    psb.setFault({ kind: 'wrong_subject' });
    const answer = byType(await fetchCertificates(wang, { types: ['resident_id_card'] }), 'resident_id_card');
    expect(answer).toMatchObject({ status: 'department_error', material: null, envelope: null });
    expect(answer.error?.code).toBe('department_wrong_subject');
    expect(await certificateMaterials(wang, 'resident_id_card')).toEqual([]);
    const failed = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'certificate.fetch'),
          eq(auditEntries.subjectRef, wang),
          eq(auditEntries.outcome, 'failed'),
        ),
      );
    expect(failed.length).toBeGreaterThan(0);
  });

  it('refuses and stores nothing when the answer violates the contract', async () => {
    const wang = await resolve(WANG_JIANGUO);
    psb.setFault({ kind: 'malformed' });
    const answer = byType(await fetchCertificates(wang, { types: ['household_register'] }), 'household_register');
    expect(answer.status).toBe('department_error');
    expect(answer.error?.code).toMatch(/^department_(contract_violation|malformed_response)$/);
    expect(await certificateMaterials(wang, 'household_register')).toEqual([]);
  });
});

describe('bad requests', () => {
  it('needs a purpose', async () => {
    const response = await fetchRequest(zhangSan, { types: ['resident_id_card'] }, {});
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('purpose_required');
  });

  it('refuses unknown certificate types and types for the other kind of subject, naming them', async () => {
    const unknown = await fetchRequest(zhangSan, { types: ['resident_id_card', 'marriage_certificate'] });
    expect(unknown.status).toBe(422);
    expect(await problemOf(unknown)).toMatchObject({
      code: 'unknown_certificate_type',
      unknown: ['marriage_certificate'],
    });
    const wrongKind = await fetchRequest(zhangSan, { types: ['business_licence'] });
    expect(wrongKind.status).toBe(422);
    expect((await problemOf(wrongKind)).code).toBe('certificate_type_not_for_subject');
  });

  it('validates the body and the subject id', async () => {
    for (const body of [
      { types: [] },
      { types: ['resident_id_card'], extra: 1 },
      { types: ['Resident ID'] },
      { types: ['resident_id_card'], deadlineMs: 5 },
      {},
    ]) {
      const response = await fetchRequest(zhangSan, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    const missing = await fetchRequest('sub_doesnotexist0000000000', { types: ['resident_id_card'] });
    expect([400, 404]).toContain(missing.status);
  });

  it('answers denied, and asks nobody, for a conditional resource without a grant', async () => {
    const other = await gw.createClient('window');
    const token = (await gw.services.tokens.issue(other.client, ['certificates:read'])).accessToken;
    const callsBefore = psb.requestCount();
    const response = await fetchRequest(zhangSan, { types: ['resident_id_card'] }, forCase('CASE-9'), token);
    expect(response.status).toBe(200);
    const answer = byType(((await response.json()) as { results: Answer[] }).results, 'resident_id_card');
    expect(answer).toMatchObject({ status: 'denied', material: null, envelope: null, certificate: null });
    expect(answer.error?.code).toBe('resource_grant_required');
    expect(psb.requestCount()).toBe(callsBefore);
  });

  it('needs certificates:read', async () => {
    const token = (await gw.services.tokens.issue((await gw.createClient('window')).client, ['subjects:read']))
      .accessToken;
    expect((await fetchRequest(zhangSan, { types: ['resident_id_card'] }, forCase('CASE-1'), token)).status).toBe(403);
    expect(
      (
        await gw.request(`/v1/subjects/${zhangSan}/certificates`, {
          method: 'POST',
          headers: json,
          body: '{"types":["resident_id_card"]}',
        })
      ).status,
    ).toBe(401);
  });
});

describe('the gateway signature', () => {
  async function freshEnvelope(): Promise<{ envelope: string; answer: Answer }> {
    const answer = byType(await fetchCertificates(zhangSan, { types: ['resident_id_card'] }), 'resident_id_card');
    return { envelope: answer.envelope!, answer };
  }

  it('verifies offline against the published JWKS with nothing but node:crypto', async () => {
    const { envelope, answer } = await freshEnvelope();
    const [headerPart, payloadPart, signaturePart] = envelope.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as {
      alg: string;
      kid: string;
      typ: string;
    };
    expect(header).toMatchObject({ alg: gw.config.signing.alg, typ: 'onewindow-certificate+jws' });
    const jwks = (await (await gw.request('/.well-known/jwks.json')).json()) as {
      keys: (JsonWebKey & { kid: string })[];
    };
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    expect(jwk).toBeDefined();
    if (header.alg === 'SM2SM3') {
      // The suite's SM2 pass: node:crypto cannot take an SM2 JWK; OpenSSL's command line verifies it.
      await verifyOffline(envelope, jwks as { keys: JWK[] });
    } else {
      const publicKey = createPublicKey({ key: jwk!, format: 'jwk' });
      const signed = Buffer.from(`${headerPart}.${payloadPart}`);
      const signature = Buffer.from(signaturePart, 'base64url');
      expect(verifySignature('sha256', signed, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    }
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: gw.config.issuer,
      materialId: answer.material!.id,
      subjectId: zhangSan,
      content: answer.material!.content,
      certificate: answer.certificate!,
    });
    // The download is the document the signature names.
    const download = await gw.request(`/v1/subjects/${zhangSan}/materials/${answer.material!.id}/content`, {
      headers: bearer(windowToken, forCase('CASE-1')),
    });
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(answer.material!.content.sha256);
  });

  it('the verify endpoint accepts an untouched envelope and refuses altered, forged and malformed ones with their own codes', async () => {
    const { envelope } = await freshEnvelope();
    const good = await verifyEnvelope(envelope);
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({
      valid: true,
      signature: 'valid',
      currentStatus: 'valid',
      revocation: null,
    });

    const [headerPart, payloadPart, signaturePart] = envelope.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as {
      certificate: Record<string, string>;
    };
    claims.certificate['validUntil'] = '2099-12-31';
    const altered = `${headerPart}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signaturePart}`;
    expect(await problemOf(await verifyEnvelope(altered))).toMatchObject({
      code: 'envelope_signature_invalid',
      status: 422,
    });

    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { kid: string };
    const foreign = await generateKeyPair('ES256');
    const forgedSameKid = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'onewindow-certificate+jws' })
      .sign(foreign.privateKey);
    expect((await problemOf(await verifyEnvelope(forgedSameKid))).code).toBe('envelope_signature_invalid');
    const forgedOtherKid = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256', kid: 'not-ours', typ: 'onewindow-certificate+jws' })
      .sign(foreign.privateKey);
    expect((await problemOf(await verifyEnvelope(forgedOtherKid))).code).toBe('envelope_unknown_key');

    // An access token is signed by the same key but is not a certificate.
    expect((await problemOf(await verifyEnvelope(windowToken))).code).toBe('envelope_malformed');
    expect((await problemOf(await verifyEnvelope('not a jws'))).code).toBe('envelope_malformed');
    expect((await verifyEnvelope('')).status).toBe(400);
  });
});

describe('revocation', () => {
  it('a department revokes its certificate: the material is revoked, never served as valid again, and verification says so', async () => {
    const answer = byType(
      await fetchCertificates(zhangSan, { types: ['household_register'], refresh: true }),
      'household_register',
    );
    const certificateNumber = answer.certificate!['certificateNumber']!;
    const since = new Date(Date.now() - 1000).toISOString();

    const pushed = await gw.request('/v1/certificates/revocations', {
      method: 'POST',
      headers: bearer(psbDepartmentToken, json),
      body: JSON.stringify({
        certificateType: 'household_register',
        certificateNumber,
        reason: 'Household moved out of the district',
      }),
    });
    expect(pushed.status).toBe(201);
    expect(await pushed.json()).toMatchObject({ department: 'PSB', certificateNumber, materialsRevoked: 1 });

    const [material] = await gw.services.db.select().from(materials).where(eq(materials.id, answer.material!.id));
    expect(material).toMatchObject({ status: 'revoked', revokedReason: 'Household moved out of the district' });

    const verification = await (await verifyEnvelope(answer.envelope!)).json();
    expect(verification).toMatchObject({
      valid: false,
      currentStatus: 'revoked',
      revocation: { reason: 'Household moved out of the district' },
    });

    // The registry still says "valid" (it has not caught up): the gateway keeps it revoked.
    const after = byType(await fetchCertificates(zhangSan, { types: ['household_register'] }), 'household_register');
    expect(after).toMatchObject({ status: 'revoked', envelope: null });
    expect(after.certificate?.['status']).toBe('revoked');

    const feed = await gw.request(`/v1/certificates/revocations?since=${encodeURIComponent(since)}&department=PSB`, {
      headers: bearer(windowToken),
    });
    expect(feed.status).toBe(200);
    const { items } = (await feed.json()) as { items: { certificateNumber: string }[] };
    expect(items.map((item) => item.certificateNumber)).toContain(certificateNumber);
  });

  it('masks a revoked ID card’s number (the holder’s ID number) and any ID number in the reason, for every caller', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const pushed = await gw.request('/v1/certificates/revocations', {
      method: 'POST',
      headers: bearer(psbDepartmentToken, json),
      body: JSON.stringify({
        certificateType: 'resident_id_card',
        certificateNumber: '11010519491231002X',
        reason: 'Card reported lost (replaced by 11010519491231002X)',
      }),
    });
    expect(pushed.status).toBe(201);
    const feedAs = async (token: string) => {
      const feed = await gw.request(`/v1/certificates/revocations?since=${encodeURIComponent(since)}&department=PSB`, {
        headers: bearer(token),
      });
      return (
        (await feed.json()) as { items: { certificateType: string; certificateNumber: string; reason: string }[] }
      ).items
        .filter((item) => item.certificateType === 'resident_id_card')
        .map((item) => [item.certificateNumber, item.reason]);
    };
    const masked = [['110105********002X', 'Card reported lost (replaced by 110105********002X)']];
    expect(await feedAs(await gw.tokenFor('window', ['certificates:read']))).toEqual(masked);
    // The feed is read without a purpose or a subject: no door to an ID number, whatever the scopes.
    expect(await feedAs(await gw.tokenFor('window', ['certificates:read', 'subjects:unmask']))).toEqual(masked);
  });

  it('only the issuing department may revoke', async () => {
    const body = JSON.stringify({ certificateType: 'household_register', certificateNumber: 'HJ0', reason: 'x' });
    const amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
    expect(
      (
        await problemOf(
          await gw.request('/v1/certificates/revocations', { method: 'POST', headers: bearer(amrToken, json), body }),
        )
      ).code,
    ).toBe('forbidden');
    expect(
      (await gw.request('/v1/certificates/revocations', { method: 'POST', headers: bearer(windowToken, json), body }))
        .status,
    ).toBe(403);
    const unknownType = await gw.request('/v1/certificates/revocations', {
      method: 'POST',
      headers: bearer(psbDepartmentToken, json),
      body: JSON.stringify({ certificateType: 'no_such_type', certificateNumber: 'X', reason: 'x' }),
    });
    expect(unknownType.status).toBe(422);
  });
});
