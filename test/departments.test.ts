/**
 * The gateway and its department systems end to end: departments configured the way an operator
 * does it (DEPARTMENTS_JSON with `$env` secrets) against real simulators on loopback, the
 * departments API, identity verification through the PSB adapter with grants, purposes and audit,
 * department failures as stable errors (contract violation, breaker), and configuration mistakes
 * refused at start.
 */
import { readFileSync } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { PSB_UNKNOWN_ID_NUMBER } from '../adapters/psb-population/seed.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { ConfigError } from '../gateway/config.js';
import { accessRequests, auditEntries } from '../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

let psb: RunningSimulator;
let amr: RunningSimulator;
let gw: TestGateway;
let windowToken: string;
let windowClientId: string;
let auditorToken: string;
/** Flipped by a test to make the PSB simulator break its contract. */
let breakContract = false;

const purpose = { 'onewindow-purpose': 'case_acceptance' };
const json = { 'content-type': 'application/json' };

function departmentsJson(psbUrl: string, amrUrl: string): string {
  return JSON.stringify([
    {
      code: 'PSB',
      name: 'Population registry',
      adapter: 'psb-population',
      baseUrl: psbUrl,
      options: { appKey: PSB_DEMO_APP_KEY, appSecret: { $env: 'TEST_PSB_SECRET' } },
      identityVerification: { identifierTypes: ['resident_id'] },
      // Small breaker and quick retries so the breaker test is short.
      tuning: {
        breakerFailures: 3,
        breakerHalfOpenAfterMs: 60_000,
        retries: 1,
        retryMinDelayMs: 1,
        retryMaxDelayMs: 5,
      },
    },
    {
      code: 'AMR',
      name: 'Enterprise registry',
      adapter: 'amr-enterprise',
      baseUrl: amrUrl,
      options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
    },
  ]);
}

async function resolve(identifier: string, name: string, identifierType = 'resident_id'): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...purpose, ...json }),
    body: JSON.stringify({ identifierType, identifier, name }),
  });
  expect(response.status).toBeLessThan(300);
  return ((await response.json()) as { id: string }).id;
}

function verify(subjectId: string, body?: object, headers: Record<string, string> = purpose): Promise<Response> {
  return gw.request(`/v1/subjects/${subjectId}/identity-verification`, {
    method: 'POST',
    headers: bearer(windowToken, { ...headers, ...(body ? json : {}) }),
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

async function grantPopulationRegister(clientId: string): Promise<void> {
  const now = new Date();
  await gw.services.db
    .insert(accessRequests)
    .values({
      id: `acr_test_${clientId}`,
      resourceCode: 'psb.population',
      clientId,
      purpose: 'verify applicants',
      legalBasis: 'test',
      status: 'approved',
      requestedAt: now,
      decidedAt: now,
      decidedByClientId: 'cli_test_psb',
    })
    // Granted once per client: a test run alone grants it, in the file an earlier test may have.
    .onConflictDoNothing();
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator({
    rewriteAnswer: (_operation, envelope) =>
      breakContract && envelope.data !== null && typeof envelope.data === 'object'
        ? { ...envelope, data: { ...envelope.data, pp: 'maybe' } }
        : envelope,
  });
  amr = await startAmrEnterpriseSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: departmentsJson(psb.url, amr.url),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    TEST_PSB_SECRET: PSB_DEMO_APP_SECRET,
  });
  const window = await gw.createClient('window');
  windowClientId = window.client.id;
  windowToken = (await gw.services.tokens.issue(window.client, ['subjects:read', 'subjects:write', 'subjects:unmask']))
    .accessToken;
  auditorToken = await gw.tokenFor('auditor');
});

afterAll(async () => {
  await gw?.close();
  await psb?.close();
  await amr?.close();
});

describe('departments API', () => {
  it('lists the configured departments with capabilities and breaker state, for departments:read only', async () => {
    const response = await gw.request('/v1/departments', { headers: bearer(auditorToken) });
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as { items: Record<string, unknown>[] };
    expect(items.map((item) => item['code'])).toEqual(['PSB', 'AMR']);
    expect(items[0]).toMatchObject({
      adapterKind: 'psb-population',
      origin: new URL(psb.url).origin,
      capabilities: ['verifyIdentity', 'fetchCertificate', 'submitCase', 'queryCaseStatus', 'cancelCase', 'health'],
      certificateTypes: ['resident_id_card', 'household_register'],
      resources: { verifyIdentity: 'psb.population' },
      breakerState: 'closed',
    });
    expect(JSON.stringify(items)).not.toContain(PSB_DEMO_APP_SECRET);
    expect((await gw.request('/v1/departments', { headers: bearer(windowToken) })).status).toBe(403);
    expect((await gw.request('/v1/departments')).status).toBe(401);
  });

  it('reads one department, and answers 404 unknown_department for a code nobody has', async () => {
    const response = await gw.request('/v1/departments/AMR', { headers: bearer(auditorToken) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      code: 'AMR',
      capabilities: ['fetchCertificate', 'submitCase', 'queryCaseStatus', 'health'],
    });
    const missing = await gw.request('/v1/departments/XYZ', { headers: bearer(auditorToken) });
    expect(await problemOf(missing)).toMatchObject({ status: 404, code: 'unknown_department' });
    expect((await problemOf(await gw.request('/v1/departments/psb', { headers: bearer(auditorToken) }))).code).toBe(
      'validation_failed',
    );
  });

  it('runs a live health check, reporting a failing department as ok=false with the gateway error', async () => {
    const healthy = await gw.request('/v1/departments/AMR/health-check', {
      method: 'POST',
      headers: bearer(auditorToken),
    });
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toMatchObject({ code: 'AMR', ok: true, error: null, breakerState: 'closed' });

    amr.setFault({ kind: 'http_4xx' });
    try {
      const failing = await gw.request('/v1/departments/AMR/health-check', {
        method: 'POST',
        headers: bearer(auditorToken),
      });
      expect(failing.status).toBe(200);
      expect(await failing.json()).toMatchObject({ code: 'AMR', ok: false, error: { code: 'department_rejected' } });
    } finally {
      amr.setFault(null);
    }
    const after = (await (await gw.request('/v1/departments/AMR', { headers: bearer(auditorToken) })).json()) as {
      calls: number;
      errorsByKind: Record<string, number>;
    };
    expect(after.calls).toBeGreaterThanOrEqual(2);
    expect(after.errorsByKind['rejected']).toBe(1);
  });
});

describe('identity verification through the PSB adapter', () => {
  it('needs a purpose', async () => {
    const subjectId = await resolve('11010519491231002X', '张三');
    expect((await problemOf(await verify(subjectId, undefined, {}))).code).toBe('purpose_required');
  });

  it('is refused without a grant for the conditional resource, and the refusal is audited', async () => {
    const subjectId = await resolve('11010519491231002X', '张三');
    const before = psb.requestCount();
    expect(await problemOf(await verify(subjectId))).toMatchObject({ status: 403, code: 'resource_grant_required' });
    expect(psb.requestCount()).toBe(before);
    const refusals = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'contract.access_check'), eq(auditEntries.actorClientId, windowClientId)));
    expect(refusals.at(-1)).toMatchObject({ outcome: 'denied', subjectRef: subjectId, purpose: 'case_acceptance' });
  });

  it('answers match, name_mismatch and not_found from the register, and audits each disclosure', async () => {
    await grantPopulationRegister(windowClientId);
    const match = await resolve('11010519491231002X', '张三');
    const response = await verify(match);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ subjectId: match, department: 'PSB', outcome: 'match' });

    const mismatch = await resolve('330106198503150120', '李美');
    expect(await (await verify(mismatch, { department: 'PSB' })).json()).toMatchObject({ outcome: 'name_mismatch' });

    const unknown = await resolve(PSB_UNKNOWN_ID_NUMBER, '王五');
    expect(await (await verify(unknown, {})).json()).toMatchObject({ outcome: 'not_found' });

    const entries = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'subject.identity_verification'), eq(auditEntries.subjectRef, match)));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ outcome: 'allowed', purpose: 'case_acceptance', actorClientId: windowClientId });
    expect(entries[0]?.fields).toEqual(['identifier', 'name', 'department:PSB', 'result:match']);
  });

  it('carries the marital status the register records as typed attributes, audited by name', async () => {
    await grantPopulationRegister(windowClientId);
    const wangJianguo = await resolve('320102197807120033', '王建国');
    expect(await (await verify(wangJianguo)).json()).toMatchObject({
      outcome: 'match',
      attributes: { maritalStatus: 'married', maritalStatusSince: '2019-05-20' },
    });
    const [entry] = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'subject.identity_verification'), eq(auditEntries.subjectRef, wangJianguo)));
    expect(entry?.fields).toEqual(expect.arrayContaining(['attribute:maritalStatus', 'attribute:maritalStatusSince']));
  });

  it('refuses organisations, departments without the capability, unknown departments and unknown subjects', async () => {
    const organisation = await resolve('91330106MA2B7K1Q20', '杭州西湖云栖科技有限公司', 'credit_code');
    expect((await problemOf(await verify(organisation))).code).toBe('identity_verification_not_applicable');
    const person = await resolve('11010519491231002X', '张三');
    expect(await problemOf(await verify(person, { department: 'AMR' }))).toMatchObject({
      status: 422,
      code: 'capability_not_offered',
    });
    expect(await problemOf(await verify(person, { department: 'NOPE' }))).toMatchObject({
      status: 404,
      code: 'unknown_department',
    });
    expect((await problemOf(await verify(person, { department: 'psb' }))).code).toBe('validation_failed');
    expect(await problemOf(await verify('sub_AAAAAAAAAAAAAAAA'))).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('turns an answer that violates the contract into 502 department_contract_violation, counted and logged without personal data', async () => {
    const subjectId = await resolve('11010519491231002X', '张三');
    breakContract = true;
    try {
      const problem = await problemOf(await verify(subjectId));
      expect(problem).toMatchObject({ status: 502, code: 'department_contract_violation', department: 'PSB' });
      expect(JSON.stringify(problem)).not.toContain('11010519491231002X');
    } finally {
      breakContract = false;
    }
    const department = (await (await gw.request('/v1/departments/PSB', { headers: bearer(auditorToken) })).json()) as {
      contractViolations: number;
    };
    expect(department.contractViolations).toBeGreaterThanOrEqual(1);
    const logged = gw.logs.lines.filter((line) => line.includes('department call failed'));
    expect(logged.some((line) => line.includes('contract_violation'))).toBe(true);
    for (const line of logged) {
      expect(line).not.toContain('11010519491231002X');
      expect(line).not.toContain('张三');
    }
    const failed = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'subject.identity_verification'),
          eq(auditEntries.subjectRef, subjectId),
          eq(auditEntries.outcome, 'failed'),
        ),
      );
    expect(failed.length).toBeGreaterThanOrEqual(1);
  });

  it('checks answers against a newly published contract version from the moment it is published', async () => {
    const subjectId = await resolve('11010519491231002X', '张三');
    const original = readFileSync(new URL('../contracts/psb/psb.population.openapi.yaml', import.meta.url), 'utf8');
    expect(original).toContain("pp: { type: string, enum: ['1', '0'] }");
    // Whatever version the repository's contract is at now (the seeding published it).
    const CONTRACT_VERSION_LINE = /^ {2}version: \d+\.\d+\.\d+$/m;
    expect(original).toMatch(CONTRACT_VERSION_LINE);
    const psbToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
    const publish = (text: string) =>
      gw.request('/v1/contracts', {
        method: 'POST',
        headers: bearer(psbToken, { 'content-type': 'application/yaml' }),
        body: text,
      });

    // 2.0.0 says `pp` is an integer; the registry still answers "1": a violation of the new version.
    const stricter = original
      .replace(CONTRACT_VERSION_LINE, '  version: 2.0.0')
      .replace("pp: { type: string, enum: ['1', '0'] }", 'pp: { type: integer }');
    expect((await publish(stricter)).status).toBe(201);
    expect(await problemOf(await verify(subjectId))).toMatchObject({
      status: 502,
      code: 'department_contract_violation',
    });

    // 3.0.0 restores the registry's real shape: answers pass again.
    expect((await publish(original.replace(CONTRACT_VERSION_LINE, '  version: 3.0.0'))).status).toBe(201);
    expect(await (await verify(subjectId)).json()).toMatchObject({ outcome: 'match' });
  });

  it('opens the breaker after repeated failures: later calls fail fast with 503 and Retry-After, without reaching the department', async () => {
    const subjectId = await resolve('11010519491231002X', '张三');
    psb.setFault({ kind: 'http_5xx' });
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expect((await problemOf(await verify(subjectId))).code).toBe('department_unavailable');
      }
      const before = psb.requestCount();
      const response = await verify(subjectId);
      expect(await problemOf(response)).toMatchObject({ status: 503, code: 'department_circuit_open' });
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(psb.requestCount()).toBe(before);
      const department = (await (
        await gw.request('/v1/departments/PSB', { headers: bearer(auditorToken) })
      ).json()) as { breakerState: string };
      expect(department.breakerState).toBe('open');
    } finally {
      psb.setFault(null);
    }
  });
});

describe('department configuration at start', () => {
  it('refuses a loopback base URL unless private networks are allowed, naming the department', async () => {
    const attempt = createTestGateway({
      DEPARTMENTS_JSON: departmentsJson(psb.url, amr.url),
      TEST_PSB_SECRET: PSB_DEMO_APP_SECRET,
    });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/department PSB: baseUrl/);
  });

  it('refuses unknown adapter kinds and options the adapter does not accept', async () => {
    const departments = JSON.stringify([
      { code: 'XYZ', name: 'Unknown', adapter: 'no-such-adapter', baseUrl: psb.url },
      {
        code: 'PSB',
        name: 'Population',
        adapter: 'psb-population',
        baseUrl: psb.url,
        options: { appKey: 'k', appSecret: 'short' },
      },
    ]);
    const attempt = createTestGateway({ DEPARTMENTS_JSON: departments, DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true' });
    await expect(attempt).rejects.toThrow(/department XYZ: unknown adapter "no-such-adapter"/);
    await expect(attempt).rejects.toThrow(/department PSB: options\.appSecret/);
  });

  it("refuses an adapter package that is not installed, naming the department, and checks a loaded one's options", async () => {
    const missing = createTestGateway({
      DEPARTMENTS_JSON: JSON.stringify([
        { code: 'CAB', name: 'Marriage', adapterPackage: '@acme/onewindow-adapter-cab', baseUrl: psb.url },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    await expect(missing).rejects.toThrow(
      /department CAB: adapterPackage "@acme\/onewindow-adapter-cab" is not installed/,
    );
    const badOptions = createTestGateway({
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'MCA',
          name: 'Marriage',
          adapterPackage: '@onewindow/adapter-mca-marriage',
          baseUrl: psb.url,
          options: { appId: 'x', appKey: 'short' },
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    await expect(badOptions).rejects.toThrow(/department MCA: options\.appKey/);
  });
});
