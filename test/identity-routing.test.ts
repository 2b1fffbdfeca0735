/**
 * Who answers identity verification, through the HTTP API: the department the configuration
 * routes the subject's identifier type to, never the first verifier listed. A second population
 * register listed before PSB (same adapter kind, its own simulator) does not take over; it answers
 * only when a caller names it; a type nobody is routed for is refused before any call; a gateway
 * whose only verifier names nothing lets it answer; and a gateway with several verifiers and no
 * routing does not start (ambiguous), naming the key that decides. And the retries behind an answer
 * are visible: a register answering 503 then 200 shows both attempts in the departments API and
 * on /metrics, and a business error inside a 200 shows as a result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningPsbSimulator } from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { accessRequests } from '../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const PURPOSE = { 'onewindow-purpose': 'case_acceptance', 'onewindow-operator': 'clerk-7' };
const JSON_BODY = { 'content-type': 'application/json' };

let psb: RunningPsbSimulator;
let otherRegister: RunningSimulator;
let gw: TestGateway;
let unrouted: TestGateway;
let windowToken: string;
let unroutedToken: string;

function register(code: string, url: string, routed: boolean): Record<string, unknown> {
  return {
    code,
    name: `Population registry ${code}`,
    adapter: 'psb-population',
    baseUrl: url,
    options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
    ...(routed ? { identityVerification: { identifierTypes: ['resident_id'] } } : {}),
  };
}

async function windowOf(gateway: TestGateway): Promise<string> {
  const window = await gateway.createClient('window');
  const now = new Date();
  await gateway.services.db.insert(accessRequests).values({
    id: `acr_routing_${window.client.id}`,
    resourceCode: 'psb.population',
    clientId: window.client.id,
    purpose: 'verify applicants',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_test_psb',
  });
  return (await gateway.services.tokens.issue(window.client, ['subjects:read', 'subjects:write', 'departments:read']))
    .accessToken;
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  otherRegister = await startPsbPopulationSimulator();
  gw = await createTestGateway({
    // MCA is listed first and can verify: before routing, it answered every window's checks.
    DEPARTMENTS_JSON: JSON.stringify([register('MCA', otherRegister.url, false), register('PSB', psb.url, true)]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
  });
  windowToken = await windowOf(gw);
  unrouted = await createTestGateway({
    // The only department able to verify, naming nothing: it answers what it verifies.
    DEPARTMENTS_JSON: JSON.stringify([register('PSB', psb.url, false)]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
  });
  unroutedToken = await windowOf(unrouted);
});

afterAll(async () => {
  await gw?.close();
  await unrouted?.close();
  await psb?.close();
  await otherRegister?.close();
});

async function subject(gateway: TestGateway, token: string, body: Record<string, unknown>): Promise<string> {
  const response = await gateway.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...PURPOSE, ...JSON_BODY }),
    body: JSON.stringify(body),
  });
  expect([200, 201]).toContain(response.status);
  return ((await response.json()) as { id: string }).id;
}

function verify(gateway: TestGateway, token: string, subjectId: string, department?: string): Promise<Response> {
  return gateway.request(`/v1/subjects/${subjectId}/identity-verification`, {
    method: 'POST',
    headers: bearer(token, { ...PURPOSE, ...(department ? JSON_BODY : {}) }),
    ...(department ? { body: JSON.stringify({ department }) } : {}),
  });
}

describe('identity verification routing', () => {
  it('the configured department answers resident IDs; the verifier listed before it is not asked', async () => {
    const id = await subject(gw, windowToken, {
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      name: '张三',
    });
    psb.resetCounts();
    otherRegister.resetCounts();
    const response = await verify(gw, windowToken, id);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ department: 'PSB', outcome: 'match' });
    expect(psb.requestCount()).toBeGreaterThan(0);
    expect(otherRegister.requestCount()).toBe(0);
  });

  it('a caller naming the other register gets its answer (explicit, never by default)', async () => {
    const id = await subject(gw, windowToken, {
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      name: '张三',
    });
    psb.resetCounts();
    otherRegister.resetCounts();
    const response = await verify(gw, windowToken, id, 'MCA');
    expect(await response.json()).toMatchObject({ department: 'MCA', outcome: 'match' });
    expect(otherRegister.requestCount()).toBeGreaterThan(0);
    expect(psb.requestCount()).toBe(0);
  });

  it('a passport holder is refused before any call: no department is routed for passports', async () => {
    const id = await subject(gw, windowToken, {
      identifierType: 'passport',
      identifier: 'X9876543',
      nationality: 'FRA',
      name: 'Marie Dubois',
    });
    psb.resetCounts();
    otherRegister.resetCounts();
    expect(await problemOf(await verify(gw, windowToken, id))).toMatchObject({
      status: 422,
      code: 'identifier_type_not_supported_by_department',
      identifierType: 'passport',
    });
    // Named explicitly, a register that verifies resident IDs only is not sent the passport either.
    expect(await problemOf(await verify(gw, windowToken, id, 'PSB'))).toMatchObject({
      status: 422,
      code: 'identifier_type_not_supported_by_department',
    });
    expect(psb.requestCount() + otherRegister.requestCount()).toBe(0);
  });

  it('the departments API shows which identifier types each department answers by default', async () => {
    const response = await gw.request('/v1/departments', { headers: bearer(windowToken) });
    const body = (await response.json()) as {
      items: { code: string; identityVerification: { identifierTypes: string[]; answersByDefault: string[] } }[];
    };
    expect(Object.fromEntries(body.items.map((item) => [item.code, item.identityVerification]))).toEqual({
      MCA: { identifierTypes: ['resident_id'], answersByDefault: [] },
      PSB: { identifierTypes: ['resident_id'], answersByDefault: ['resident_id'] },
    });
  });

  it('with one department able to verify and none named, that one answers (several would refuse the start)', async () => {
    const id = await subject(unrouted, unroutedToken, {
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      name: '张三',
    });
    psb.resetCounts();
    const answered = await verify(unrouted, unroutedToken, id);
    expect(await answered.json()).toMatchObject({ department: 'PSB', outcome: 'match' });
    expect(psb.requestCount()).toBeGreaterThan(0);
  });

  it('with several departments able to verify and none named, the gateway refuses to start and names the key', async () => {
    await expect(
      createTestGateway({
        DEPARTMENTS_JSON: JSON.stringify([register('MCA', otherRegister.url, false), register('PSB', psb.url, false)]),
        DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
        DELIVERY_WORKER: 'false',
      }),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [
        expect.stringMatching(
          /^departments MCA, PSB can all verify identities .*identityVerification\.identifierTypes/,
        ),
      ],
    });
  });
});

interface Traffic {
  calls: number;
  attempts: number;
  retries: number;
  outcomes: Record<'calls' | 'attempts' | 'retries' | 'results', Record<string, number>>;
  operations: { operation: string; attempts: number; retries: number; attemptOutcomes: Record<string, number> }[];
  lastFailure: { level: string; operation: string; outcome: string; attempt?: string } | null;
}

async function trafficOf(code: string): Promise<Traffic> {
  const response = await gw.request(`/v1/departments/${code}`, { headers: bearer(windowToken) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { traffic: Traffic }).traffic;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [key, value] of Object.entries(after))
    if (value !== (before[key] ?? 0)) changed[key] = value - (before[key] ?? 0);
  return changed;
}

describe('retries made visible', () => {
  it('a 503 answered by a retry: the call is ok, the attempts say 503 then ok, in the API and on /metrics', async () => {
    const id = await subject(gw, windowToken, {
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      name: '张三',
    });
    const before = await trafficOf('PSB');
    psb.setFault({ kind: 'http_5xx', times: 1 });
    const response = await verify(gw, windowToken, id);
    expect(await response.json()).toMatchObject({ department: 'PSB', outcome: 'match' });
    const after = await trafficOf('PSB');
    expect(after.calls - before.calls).toBe(1);
    expect(after.attempts - before.attempts).toBe(2);
    expect(after.retries - before.retries).toBe(1);
    expect(difference(after.outcomes.calls, before.outcomes.calls)).toEqual({ ok: 1 });
    expect(difference(after.outcomes.attempts, before.outcomes.attempts)).toEqual({ http_503: 1, ok: 1 });
    expect(difference(after.outcomes.retries, before.outcomes.retries)).toEqual({ ok: 1 });
    expect(difference(after.outcomes.results, before.outcomes.results)).toEqual({ ok: 1 });
    expect(after.lastFailure).toMatchObject({ level: 'attempt', outcome: 'http_503', attempt: 'first' });
    const operation = after.operations.find((entry) => entry.attemptOutcomes['http_503'] !== undefined);
    expect(operation?.retries).toBeGreaterThanOrEqual(1);

    const metrics = await gw.request('/metrics', { headers: bearer(await gw.tokenFor('auditor', ['metrics:read'])) });
    const text = await metrics.text();
    expect(text).toMatch(
      new RegExp(
        `onewindow_department_attempts_total\\{department="PSB",operation="${operation?.operation}",outcome="http_503",attempt="first"\\} [1-9]`,
      ),
    );
    expect(text).toMatch(
      new RegExp(
        `onewindow_department_attempts_total\\{department="PSB",operation="${operation?.operation}",outcome="ok",attempt="retry"\\} [1-9]`,
      ),
    );
  });

  it('a business error inside a 200 is an ok call and attempt, and a business_error result', async () => {
    const id = await subject(gw, windowToken, {
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      name: '张三',
    });
    const before = await trafficOf('PSB');
    psb.setFault({ kind: 'business_error', times: 1 });
    const response = await verify(gw, windowToken, id);
    expect(response.status).toBeGreaterThanOrEqual(400);
    const after = await trafficOf('PSB');
    expect(difference(after.outcomes.attempts, before.outcomes.attempts)).toEqual({ ok: 1 });
    expect(difference(after.outcomes.results, before.outcomes.results)).toEqual({ business_error: 1 });
    expect(after.lastFailure).toMatchObject({
      level: 'result',
      operation: 'verifyIdentity',
      outcome: 'business_error',
    });
    const metrics = await gw.request('/metrics', { headers: bearer(await gw.tokenFor('auditor', ['metrics:read'])) });
    expect(await metrics.text()).toMatch(
      /onewindow_department_results_total\{department="PSB",capability="verifyIdentity",outcome="business_error"\} 1/,
    );
  });
});
