/**
 * Review 9 (attacker's eye): "A stored jointly held certificate served to one holder is a read on
 * the other holders' record too" (`auditCoHolderRead`, gateway/certificates/fetch.ts). The fetch
 * from the department records it (`recordFetchedCertificate`), and so does a fresh copy served
 * from storage — but a stored copy served because the department could not answer
 * (`departmentFailed`: a refresh that falls back to the fresh copy, or a stale copy where the type
 * allows it) records the holder's read only. The co-holder (王秀英) is shown to the window — her
 * name, her masked number, the flat she holds — and her access log says nothing of it.
 *
 * Scenario: a window fetches 张三's real-estate certificate (jointly held with 王秀英, who is a
 * subject); NRB then goes down; the window asks again with `refresh: true` and is served the
 * stored copy (source `stored`, error `department_connection_failed`).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { auditEntries } from '../../gateway/db/schema.js';
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
let wang = '';

async function resolve(person: typeof ZHANG_SAN): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify(person),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function fetchEstate(subjectId: string, refresh = false) {
  const response = await gw.request(`/v1/subjects/${subjectId}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ types: ['real_estate_certificate'], ...(refresh ? { refresh } : {}) }),
  });
  expect(response.status).toBe(200);
  return (
    (await response.json()) as {
      results: {
        status: string;
        source: string | null;
        error: { code: string } | null;
        certificate: { holders?: { name: string }[] } | null;
      }[];
    }
  ).results[0]!;
}

async function coHolderEntriesOfWang(): Promise<{ action: string; fields: string[] }[]> {
  const rows = await gw.services.db
    .select({ action: auditEntries.action, fields: auditEntries.fields })
    .from(auditEntries)
    .where(and(eq(auditEntries.subjectRef, wang), eq(auditEntries.outcome, 'allowed')));
  return rows.filter((row) => row.fields.includes('co_holder'));
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson(
      { nrb: nrb.url },
      { retries: 0, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
    ),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
    NOTIFICATION_WORKER: 'false',
    COURIER_WORKER: 'false',
  });
  token = (await caseWindow(gw, ['nrb.real-estate'])).token;
  zhang = await resolve(ZHANG_SAN);
  wang = await resolve(WANG_XIUYING);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

describe('review 9: a stored joint certificate served as a fallback is on the co-holder’s record', () => {
  it('control: the department’s answer and a fresh stored copy each put a read on 王秀英’s record', async () => {
    const fetched = await fetchEstate(zhang);
    expect(fetched.source).toBe('department');
    expect(fetched.certificate?.holders).toHaveLength(2);
    expect(await coHolderEntriesOfWang()).toHaveLength(1);
    const served = await fetchEstate(zhang);
    expect(served.source).toBe('stored');
    expect(await coHolderEntriesOfWang()).toHaveLength(2);
  });

  it('the same copy served because NRB could not answer is on her record too', async () => {
    await nrb?.close();
    nrb = undefined;
    const fallback = await fetchEstate(zhang, true);
    expect(fallback.status).toBe('ok');
    expect(fallback.source).toBe('stored');
    expect(fallback.error?.code).toMatch(/^department_/);
    // 王秀英 is shown (masked) to the window once more …
    expect(fallback.certificate?.holders).toHaveLength(2);
    // … Before a fix: still 2 entries; the fallback serve recorded 张三's read only.
    expect(await coHolderEntriesOfWang()).toHaveLength(3);
  });
});
