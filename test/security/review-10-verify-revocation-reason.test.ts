/**
 * Review 10 (attacker's eye): the public envelope check (POST /v1/certificates/verify, no token)
 * answers the revocation reason a department typed, with only identifier-shaped runs masked
 * (`maskIdentifiersInText`, gateway/certificates/verify.ts). A reason such as
 * 「张三户口已迁出，联系电话13812345678」 hands the holder's mobile number and full name, in clear, to
 * anyone holding the envelope — and the envelope a window without `subjects:unmask` was given names
 * the holder only masked (「张*」). Free text from a department shown elsewhere has mobiles masked
 * (`maskPersonalText`, docs/security.md); the public verifier is the widest audience of all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { accessRequests } from '../../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const MOBILE = '13812345678';
const purpose = { 'onewindow-purpose': 'case_acceptance', 'onewindow-case-ref': 'CASE-R10' };

let psb: RunningSimulator;
let gw: TestGateway;
let envelope = '';
let holderName = '';

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'PSB',
        name: 'Population registry',
        adapter: 'psb-population',
        baseUrl: psb.url,
        options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
        tuning: { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
      },
    ]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  const { client } = await gw.createClient('window');
  // A masked window: no subjects:unmask.
  const window = (
    await gw.services.tokens.issue(client, ['subjects:read', 'subjects:write', 'certificates:read', 'materials:read'])
  ).accessToken;
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: 'acr_r10_psb',
    resourceCode: 'psb.population',
    clientId: client.id,
    purpose: 'fetch certificates at the window',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_test_department',
  });
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(window, { ...purpose, ...json }),
    body: JSON.stringify(ZHANG_SAN),
  });
  const subjectId = ((await resolved.json()) as { id: string }).id;
  const fetched = await gw.request(`/v1/subjects/${subjectId}/certificates`, {
    method: 'POST',
    headers: bearer(window, { ...purpose, ...json }),
    body: JSON.stringify({ types: ['household_register'] }),
  });
  if (fetched.status !== 200) throw new Error(`fetch: ${fetched.status} ${await fetched.text()}`);
  const answer = (
    (await fetched.json()) as {
      results: { certificateType: string; envelope: string; certificate: Record<string, string> }[];
    }
  ).results.find((r) => r.certificateType === 'household_register')!;
  envelope = answer.envelope;
  holderName = answer.certificate['holderName'] ?? '';
  const department = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
  const pushed = await gw.request('/v1/certificates/revocations', {
    method: 'POST',
    headers: bearer(department, json),
    body: JSON.stringify({
      certificateType: 'household_register',
      certificateNumber: answer.certificate['certificateNumber'],
      reason: `${ZHANG_SAN.name}户口已迁出，联系电话${MOBILE}`,
    }),
  });
  if (pushed.status !== 201) throw new Error(`revoke: ${pushed.status} ${await pushed.text()}`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await psb?.close();
});

describe('review 10: the public envelope check and a revocation reason', () => {
  it('the masked envelope names the holder masked (the premise)', () => {
    expect(envelope).not.toBe('');
    expect(holderName).not.toBe(ZHANG_SAN.name);
  });

  it('anyone without a token presenting the envelope does not learn the mobile number or full name from the reason', async () => {
    const response = await gw.request('/v1/certificates/verify', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ envelope }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { currentStatus: string; revocation: { reason: string } };
    expect(body.currentStatus).toBe('revoked');
    // Before a fix: "reason":"张三户口已迁出，联系电话13812345678".
    expect(body.revocation.reason).not.toContain(MOBILE);
    expect(body.revocation.reason).not.toContain(ZHANG_SAN.name);
  });
});
