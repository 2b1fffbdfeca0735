/**
 * Review 9 (attacker's eye): a jointly held certificate fetched for one holder is stored in every
 * other known holder's file (`recordFetchedCertificate` → `storeHolderCopy`), with the holder's
 * name and identifier swapped but the rest of the department's metadata kept — including
 * `alternatives`, which the NRB adapter fills with the *asked-about holder's* other valid
 * certificates (number and 坐落 address) when asked by type alone.
 *
 * So: a window fetches 张三's real-estate certificate (the flat he holds jointly with 王秀英). Within
 * the type's freshness (a day), anyone reading 王秀英's real-estate certificate is served her copy
 * from storage and its `choices` list 张三's SOLE-owned flat (建国路88号…502, 京(2015)…0031287号) as
 * if it were hers: a disclosure of a third person's other property holdings, through a read of
 * someone else, which the department itself never makes (asked for 王秀英, NRB lists no choices:
 * the joint flat is her only certificate). 张三's access log records only that the joint
 * certificate was read as a co-holder, not that his other flat was shown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const WANG_XIUYING = { identifierType: 'resident_id', identifier: '110105195203150021', name: '王秀英' };
/** 张三's sole-owned flat: not 王秀英's. */
const ZHANG_SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const ZHANG_SOLE_ADDRESS = '北京市朝阳区建国路88号院3号楼1单元502';
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

interface Answer {
  results: {
    status: string;
    source: string | null;
    certificate: { certificateNumber: string } | null;
    choices: { certificateNumber: string; location?: string }[] | null;
  }[];
}

let nrb: RunningSimulator;
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

async function fetchEstate(subjectId: string, refresh = false): Promise<Answer['results'][number]> {
  const response = await gw.request(`/v1/subjects/${subjectId}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ types: ['real_estate_certificate'], ...(refresh ? { refresh } : {}) }),
  });
  expect(response.status).toBe(200);
  const [result] = ((await response.json()) as Answer).results;
  if (!result) throw new Error('no result');
  return result;
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson(
      { nrb: nrb.url },
      { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
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

describe('review 9: a co-holder’s stored copy does not carry the other holder’s choices', () => {
  it('control: 张三’s own answer lists his sole flat among his choices', async () => {
    const result = await fetchEstate(zhang);
    expect(result.status).toBe('ok');
    expect(result.source).toBe('department');
    expect(result.choices?.map((choice) => choice.certificateNumber)).toContain(ZHANG_SOLE_FLAT);
  });

  it('王秀英’s certificate, served from her stored copy, does not list 张三’s sole flat', async () => {
    const result = await fetchEstate(wang);
    expect(result.status).toBe('ok');
    expect(result.source).toBe('stored');
    // Before a fix: choices = [{ certificateNumber: 京(2015)…0031287号, location: 建国路88号… }] — 张三's.
    expect(JSON.stringify(result.choices ?? [])).not.toContain(ZHANG_SOLE_FLAT);
    expect(JSON.stringify(result.choices ?? [])).not.toContain(ZHANG_SOLE_ADDRESS);
  });

  it('control: the department itself, asked for 王秀英, lists no choices (the joint flat is her only one)', async () => {
    const result = await fetchEstate(wang, true);
    expect(result.status).toBe('ok');
    expect(result.source).toBe('department');
    expect(result.choices).toBeNull();
  });
});
