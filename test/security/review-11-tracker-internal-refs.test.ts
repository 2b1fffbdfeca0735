/**
 * Review 11 (attacker's eye): the citizen's own data tracker (`GET /v1/me/access-log`, a
 * subject-scoped token) shows "organisations and data categories, no internal references"
 * (gateway/audit/tracker.ts; docs/security.md: the citizen reads their own "without internal
 * references"). `dataCategories` strips material, grant, request, client, resource … ids from
 * `fields`, but not `certificate_of:<subject id>`: the entry a co-holder gets when the other holder's
 * jointly held certificate is read (`auditCoHolderRead`, gateway/certificates/fetch.ts). So 王秀英,
 * reading her own log, is handed 张三's internal subject id — another person's gateway reference,
 * the key every subject route takes — which the auditor's view needs and the citizen's must not have.
 *
 * Scenario: a window fetches 张三's real-estate certificate (held jointly with 王秀英, a subject).
 * 王秀英 reads her own access log with a subject-scoped token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const WANG_XIUYING = { identifierType: 'resident_id', identifier: '110105195203150021', name: '王秀英' };
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let nrb: RunningSimulator;
let gw: TestGateway;
let token = '';
let zhang = '';
let wang = '';

interface TrackerPage {
  items: { action: string; fields: string[]; client: { id: string | null }; operatorId: string | null }[];
}

async function resolve(person: typeof ZHANG_SAN): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify(person),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function ownLog(subjectId: string): Promise<TrackerPage> {
  // Minting needs the applicant present and verified (test/access-policy.test.ts); made directly here.
  const portal = await gw.createClient('window');
  const { accessToken } = await gw.services.tokens.issueForSubject(portal.client, subjectId, 300);
  const response = await gw.request('/v1/me/access-log?limit=200', { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  return (await response.json()) as TrackerPage;
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson({ nrb: nrb.url }),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
  });
  token = (await caseWindow(gw, ['nrb.real-estate'])).token;
  zhang = await resolve(ZHANG_SAN);
  wang = await resolve(WANG_XIUYING);
  const fetched = await gw.request(`/v1/subjects/${zhang}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ types: ['real_estate_certificate'] }),
  });
  expect(fetched.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

describe("review 11: the citizen's own tracker carries no other person's internal reference", () => {
  it('control: 王秀英 sees that her data was used as a co-holder, without client or operator ids', async () => {
    const log = await ownLog(wang);
    const coHolder = log.items.find((item) => item.fields.includes('co_holder'));
    expect(coHolder).toBeDefined();
    expect(coHolder).toMatchObject({ client: { id: null }, operatorId: null });
  });

  it("王秀英's own log does not hand her 张三's subject id", async () => {
    const log = await ownLog(wang);
    const text = JSON.stringify(log.items);
    // Today: fields ["co_holder", "certificate_of:<张三's subject id>"].
    expect(text).not.toContain(zhang);
    for (const item of log.items) for (const field of item.fields) expect(field).not.toMatch(/^certificate_of:/);
  });
});
