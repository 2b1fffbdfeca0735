/**
 * Review 4 (attacker's eye), centre tree: a supervisor above a case's centre reads the case for
 * supervision with the form and "the certificate numbers its notice quotes" kept to their leading
 * third (`overseenCaseView`, docs/centres.md). One part of the notice carries the same data in clear:
 *  - `notice.entries[].choices[].location`: the 坐落 (address) of every other flat the applicant
 *    holds, listed when the form names no certificate number;
 *
 *   330000000 province
 *   └ 330100000 city     (window city: director-1)
 *     └ 330110000 county
 *       └ 330110001 town (window town: clerk-1)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  startNrbRealEstateSimulator,
} from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { accessRequests } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const MOVE_IN = 'household_move_in';
const CITY = '330100000';
const COUNTY = '330110000';
const TOWN = '330110001';
const NOW = '2026-12-18T02:00:00.000Z';
const clock = fixedClock(NOW);

let gw: TestGateway;
let nrb: RunningSimulator;
let admin: string;
let town = '';
let city = '';
let subjectId = '';

async function call(
  token: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(token, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
const as = (operatorId: string, extra: Record<string, string> = {}) => ({ 'onewindow-operator': operatorId, ...extra });

async function windowAt(code: string, grants: string[] = []): Promise<string> {
  const { client } = await gw.createClient('window');
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  const at = new Date(NOW);
  for (const resourceCode of grants) {
    await gw.services.db.insert(accessRequests).values({
      id: `acr_${client.id.slice(-12)}_${resourceCode}`,
      resourceCode,
      clientId: client.id,
      purpose: 'window cases',
      legalBasis: 'test',
      status: 'approved',
      requestedAt: at,
      decidedAt: at,
      decidedByClientId: 'cli_test',
    });
  }
  return (
    await gw.services.tokens.issue(client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'certificates:read',
      'contracts:read',
      'cases:read',
      'cases:write',
    ])
  ).accessToken;
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'NRB',
          name: 'Real-estate registry',
          adapter: 'nrb-realestate',
          baseUrl: nrb.url,
          options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock },
  );
  admin = await gw.tokenFor('admin');
  const centre = (code: string, name: string, level: string, parentCode: string | null) =>
    put(`/v1/centres/${code}`, { name, level, parentCode, address: `${name} 地址`, openingHours: '9:00-17:00' });
  await ok(await centre('330000000', '浙江省政务服务中心', 'province', null), 201);
  await ok(await centre(CITY, '杭州市民中心', 'city', '330000000'), 201);
  await ok(await centre(COUNTY, '余杭区行政服务中心', 'county', CITY), 201);
  await ok(await centre(TOWN, '仓前街道便民服务中心', 'town', COUNTY), 201);
  await ok(await put(`/v1/centres/${TOWN}/operators/clerk-1`, { name: 'clerk-1', role: 'acceptance_clerk' }), 201);
  await ok(await put(`/v1/centres/${CITY}/operators/director-1`, { name: 'director-1', role: 'centre_director' }), 201);
  for (const item of [MOVE_IN]) {
    await ok(await put(`/v1/centres/${TOWN}/items/${item}`, { enabled: true }));
    await ok(await put(`/v1/centres/${COUNTY}/items/${item}`, { enabled: true }));
  }
  town = await windowAt(TOWN, ['nrb.real-estate']);
  // The city's own window works cases too: it holds the registry's grant like every window that fetches titles.
  city = await windowAt(CITY, ['nrb.real-estate']);
  const resolved = await call(town, '/v1/subjects/resolve', {
    body: ZHANG_SAN,
    headers: as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
  });
  subjectId = (await ok<{ id: string }>(resolved, 201)).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

const supervising = as('director-1', { 'onewindow-purpose': 'supervision' });

describe('review 4: the notice as a supervisor above the centre reads it', () => {
  it('lists the addresses of the applicant’s other flats (choices[].location) in clear', async () => {
    // Moving in: the form names no title number (only needed for a home purchase).
    const opened = await ok<{ id: string }>(
      await call(town, '/v1/cases', {
        body: { itemCode: MOVE_IN, subjectId, form: { moveToAddress: '浙江省杭州市余杭区仓前街道文一西路1号' } },
        headers: as('clerk-1'),
      }),
      201,
    );
    // The clerk fetches the title from the registry; it lists the applicant's other certificates.
    const fetched = await ok<{ case: { notice: { entries: { requirementCode: string; choices: unknown[] }[] } } }>(
      await call(town, `/v1/cases/${opened.id}/certificates`, { body: {}, headers: as('clerk-1') }),
    );
    const residence = fetched.case.notice.entries.find((entry) => entry.requirementCode === 'residence');
    expect(residence?.choices.length).toBeGreaterThan(0);

    const overseen = await call(city, `/v1/cases/${opened.id}`, { headers: supervising });
    expect(overseen.status).toBe(200);
    const text = await overseen.text();
    // The form's address is masked for oversight (as promised)...
    expect(text).not.toContain('文一西路1号');
    // ...but the address of the applicant's other flat (北京市朝阳区建国路88号院3号楼1单元502) is not.
    // Before a fix: overseenCaseView masks each choice's certificateNumber but not its location.
    expect(text).not.toContain('建国路88号院3号楼1单元502');
  });
});
