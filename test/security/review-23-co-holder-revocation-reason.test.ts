/**
 * Review 23 (attacker's eye): a revocation reason is masked with the name of the material's own
 * holder only. Review 10 masked the holder's name (and mobiles) in the reason the public verifier
 * (POST /v1/certificates/verify, no token) answers, and review 19 masked every holder's name in the
 * revocation feed — but `publicReason` (gateway/certificates/verify.ts) and `materialView`
 * (`namesMaskedFor`, gateway/materials/materials.ts) mask only the subject whose copy it is. For a
 * jointly held flat (张三 and 王秀英) revoked by NRB with 「张三、王秀英名下房产登记错误」, anyone
 * holding 张三's masked envelope — which shows her only as 「王*」 — reads 王秀英's full name from
 * the reason, and so does a masked window reading 张三's materials.
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

let nrb: RunningSimulator | undefined;
let gw: TestGateway;
let token = '';
let zhang = '';
let envelope = '';
let holders: { name: string }[] = [];
let materialId = '';

async function resolve(person: typeof ZHANG_SAN): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify(person),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson({ nrb: nrb.url }),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
    NOTIFICATION_WORKER: 'false',
    COURIER_WORKER: 'false',
  });
  token = (await caseWindow(gw, ['nrb.real-estate'])).token;
  zhang = await resolve(ZHANG_SAN);
  await resolve(WANG_XIUYING);
  const fetched = await gw.request(`/v1/subjects/${zhang}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ types: ['real_estate_certificate'] }),
  });
  expect(fetched.status).toBe(200);
  const answer = (
    (await fetched.json()) as {
      results: {
        envelope: string;
        material: { id: string };
        certificate: { certificateNumber: string; holders?: { name: string }[] };
      }[];
    }
  ).results[0]!;
  envelope = answer.envelope;
  holders = answer.certificate.holders ?? [];
  materialId = answer.material.id;
  const department = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
  const pushed = await gw.request('/v1/certificates/revocations', {
    method: 'POST',
    headers: bearer(department, json),
    body: JSON.stringify({
      certificateType: 'real_estate_certificate',
      certificateNumber: answer.certificate.certificateNumber,
      reason: `${ZHANG_SAN.name}、${WANG_XIUYING.name}名下房产登记错误`,
    }),
  });
  expect(pushed.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

describe('review 23: a co-holder named in a revocation reason', () => {
  it('premise: the masked envelope names the co-holder masked only', () => {
    expect(holders).toHaveLength(2);
    expect(holders.map((holder) => holder.name)).not.toContain(WANG_XIUYING.name);
  });

  it('control: the revocation feed masks both holders’ names (review 19)', async () => {
    const feed = await gw.request('/v1/certificates/revocations?department=NRB', { headers: bearer(token) });
    expect(feed.status).toBe(200);
    const text = await feed.text();
    expect(text).not.toContain(WANG_XIUYING.name);
  });

  it('the public verifier does not hand anyone the co-holder’s full name from the reason', async () => {
    const response = await gw.request('/v1/certificates/verify', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ envelope }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { currentStatus: string; revocation: { reason: string } };
    expect(body.currentStatus).toBe('revoked');
    expect(body.revocation.reason).not.toContain(ZHANG_SAN.name);
    // Before a fix: "张*、王秀英名下房产登记错误".
    expect(body.revocation.reason).not.toContain(WANG_XIUYING.name);
  });

  it('a masked window reading the holder’s material does not read the co-holder’s full name either', async () => {
    const response = await gw.request(`/v1/subjects/${zhang}/materials/${materialId}`, {
      headers: bearer(token, purpose),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { revocation: { reason: string } | null };
    expect(body.revocation?.reason).toBeDefined();
    expect(body.revocation?.reason).not.toContain(WANG_XIUYING.name);
  });
});
