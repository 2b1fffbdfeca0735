/**
 * The fourth department end to end (issue 18): the MCA marriage registry's single-URL, SM3-signed
 * gateway behind its 502-prone front proxy, configured from a departments file like any other,
 * its contract published at start, a marriage certificate (结婚证) fetched through the gateway's
 * certificates API once the window holds a grant — and denied before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LI_MEI } from '@onewindow/adapter-mca-marriage/seed';
import {
  MCA_DEMO_APP_ID,
  MCA_DEMO_APP_KEY,
  startMcaMarriageSimulator,
  type RunningMcaSimulator,
} from '@onewindow/adapter-mca-marriage/simulator';
import { accessRequests } from '../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway } from './harness.js';

let mca: RunningMcaSimulator;
let gw: TestGateway;
let windowToken: string;
let windowClientId: string;
let liMei: string;

const json = { 'content-type': 'application/json' };
const forCase = { 'onewindow-purpose': 'case_acceptance', 'onewindow-case-ref': 'CASE-MCA-1' };

interface Answer {
  certificateType: string;
  status: string;
  department: string | null;
  certificate: Record<string, string | null> | null;
  material: { content: { mediaType: string; size: number } } | null;
  error: { code: string } | null;
}

async function fetchMarriageCertificate(): Promise<Answer> {
  const response = await gw.request(`/v1/subjects/${liMei}/certificates`, {
    method: 'POST',
    headers: bearer(windowToken, { ...forCase, ...json }),
    body: JSON.stringify({ types: ['marriage_certificate'] }),
  });
  expect(response.status).toBe(200);
  const { results } = (await response.json()) as { results: Answer[] };
  expect(results).toHaveLength(1);
  return results[0] as Answer;
}

beforeAll(async () => {
  // The front proxy on, as in the demo: about one call in ten is a 502, retried by the client.
  mca = await startMcaMarriageSimulator({ frontProxy: { seed: 20190520 } });
  gw = await createTestGateway({
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'MCA',
        name: 'Civil affairs marriage registry',
        adapterPackage: '@onewindow/adapter-mca-marriage',
        baseUrl: mca.url,
        options: { appId: MCA_DEMO_APP_ID, appKey: MCA_DEMO_APP_KEY },
        tuning: { retries: 3, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
      },
    ]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  const window = await gw.createClient('window');
  windowClientId = window.client.id;
  windowToken = (
    await gw.services.tokens.issue(window.client, ['subjects:read', 'subjects:write', 'certificates:read'])
  ).accessToken;
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...forCase, ...json }),
    body: JSON.stringify({ identifierType: 'resident_id', identifier: LI_MEI.idNumber, name: LI_MEI.name }),
  });
  expect(resolved.status).toBeLessThan(300);
  liMei = ((await resolved.json()) as { id: string }).id;
});

afterAll(async () => {
  await gw?.close();
  await mca?.close();
});

describe('MCA marriage registry through the gateway', () => {
  it('is denied without a grant (the resource is conditional), and nothing is asked of the registry', async () => {
    const before = mca.requestCount();
    const answer = await fetchMarriageCertificate();
    expect(answer).toMatchObject({ status: 'denied', certificate: null });
    expect(answer.error?.code).toBe('resource_grant_required');
    expect(mca.requestCount()).toBe(before);
  });

  it('fetches the marriage certificate from MCA once the window holds a grant', async () => {
    const now = new Date();
    await gw.services.db.insert(accessRequests).values({
      id: 'acr_test_mca_marriage',
      resourceCode: 'mca.marriage',
      clientId: windowClientId,
      purpose: 'marriage certificates for household transfers',
      legalBasis: 'test',
      status: 'approved',
      requestedAt: now,
      decidedAt: now,
      decidedByClientId: 'cli_test_department',
    });
    const answer = await fetchMarriageCertificate();
    expect(answer).toMatchObject({ status: 'ok', department: 'MCA', error: null });
    expect(answer.certificate).toMatchObject({
      certificateType: 'marriage_certificate',
      certificateNumber: 'J330106-2023-000417',
      holderName: '李*',
      issueDate: '2023-10-08',
      validUntil: null,
      status: 'valid',
    });
    expect(answer.material?.content.mediaType).toBe('application/pdf');
    expect(mca.requestCount('mca.marriage.certificate.query')).toBeGreaterThanOrEqual(1);
  });
});
