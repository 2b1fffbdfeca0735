/**
 * Review 21 (attacker's eye): a joint case that ended partially refused (部分不予许可,
 * `partially_rejected`) is concluded — its result is prepared, its pick-up code sent — yet a clerk
 * of the centre handling it can still transfer it to any other centre offering the item. The other
 * centre then reads it (form, parties, deliveries) and changes it (hands over its result), and the
 * applicant's look-up sends them to collect it there.
 *
 * The door: transferCase (gateway/cases/cases.ts) refuses a transfer only for `completed` and
 * `rejected` (`case_concluded`), not for `partially_rejected`, which isFinalCaseStatus
 * (gateway/cases/status.ts) counts as final like the other two.
 *
 * Promise broken: a transfer moves a running case (就近办、异地受理: "the deadline runs on");
 * docs/access-policy.md `case.read`/`case.change`: only the centres that accepted and handled the case.
 * A concluded case handed to a centre that never touched it widens who reads and changes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNrbSimulator, startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { accessRequests } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const LI_MEI_ID = '330106198503150120';
const CITY = '330100000';
const COUNTY = '330110000';
const OTHER_COUNTY = '330106000';
const ITEM = 'transfer_parts_alone_r21';

let psb: RunningPsbSimulator;
let nrb: RunningNrbSimulator;
let gw: TestGateway;
let admin = '';
let psbToken = '';
let nrbToken = '';
const windows = { county: '', other: '' };

function call(
  token: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string>; method?: string } = {},
) {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(token, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}
const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
const as = (operatorId: string) => ({ 'onewindow-operator': operatorId, 'onewindow-purpose': 'case_acceptance' });

async function windowAt(code: string): Promise<string> {
  const { client } = await gw.createClient('window');
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  const now = new Date();
  for (const resourceCode of ['psb.population', 'nrb.real-estate'])
    await gw.services.db.insert(accessRequests).values({
      id: `acr_${client.id.slice(-12)}_${resourceCode}`,
      resourceCode,
      clientId: client.id,
      purpose: 'window cases',
      legalBasis: 'test',
      status: 'approved',
      requestedAt: now,
      decidedAt: now,
      decidedByClientId: 'cli_test',
    });
  return (
    await gw.services.tokens.issue(client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'certificates:read',
      'cases:read',
      'cases:write',
    ])
  ).accessToken;
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, nrb: nrb.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  admin = await gw.tokenFor('admin');
  psbToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
  nrbToken = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
  const centre = (code: string, name: string, level: string, parentCode: string | null) =>
    put(`/v1/centres/${code}`, { name, level, parentCode, address: `${name} 地址`, openingHours: '9:00-17:00' });
  await ok(await centre('330000000', '浙江省政务服务中心', 'province', null), 201);
  await ok(await centre(CITY, '杭州市民中心', 'city', '330000000'), 201);
  await ok(await centre(COUNTY, '余杭区行政服务中心', 'county', CITY), 201);
  await ok(await centre(OTHER_COUNTY, '西湖区行政服务中心', 'county', CITY), 201);
  await ok(await put(`/v1/centres/${COUNTY}/operators/clerk-1`, { name: 'clerk-1', role: 'acceptance_clerk' }), 201);
  await ok(
    await put(`/v1/centres/${OTHER_COUNTY}/operators/clerk-x`, { name: 'clerk-x', role: 'acceptance_clerk' }),
    201,
  );
  // A joint NRB + PSB transfer whose parts stand alone (allowsPartial), as in test/joint-outcomes.test.ts.
  const seeded = await ok<Record<string, unknown>>(await call(admin, '/v1/items/real_estate_transfer'));
  const { code: _code, ...definition } = seeded;
  const saved = await put(`/v1/items/${ITEM}`, { ...definition, name: 'Transfer (parts alone)', allowsPartial: true });
  if (saved.status !== 200 && saved.status !== 201) throw new Error(`item: ${saved.status} ${await saved.text()}`);
  await ok(await put(`/v1/centres/${COUNTY}/items/${ITEM}`, { enabled: true, promisedDays: null }));
  await ok(await put(`/v1/centres/${OTHER_COUNTY}/items/${ITEM}`, { enabled: true, promisedDays: null }));
  windows.county = await windowAt(COUNTY);
  windows.other = await windowAt(OTHER_COUNTY);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe('review 21: a partially refused (concluded) case', () => {
  it('is not transferred to another centre', async () => {
    const subjectId = (
      await ok<{ id: string }>(
        await call(windows.county, '/v1/subjects/resolve', { body: ZHANG_SAN, headers: as('clerk-1') }),
        201,
      )
    ).id;
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call(windows.county, '/v1/cases', {
        body: {
          itemCode: ITEM,
          subjectId,
          form: { certificateNo: SOLE_FLAT, transferee: { name: '李梅', idNumber: LI_MEI_ID }, transferReason: 'sale' },
        },
        headers: as('clerk-1'),
      }),
      201,
    );
    await ok(await call(windows.county, `/v1/cases/${opened.id}/certificates`, { body: {}, headers: as('clerk-1') }));
    await ok(
      await call(windows.county, `/v1/cases/${opened.id}/submit`, {
        body: {},
        headers: { ...as('clerk-1'), 'idempotency-key': 'review21-transfer-1' },
      }),
    );
    await gw.services.deliveryWorker.runOnce();
    const push = async (token: string, eventId: string, status: string) =>
      (
        await ok<{ caseStatus: string }>(
          await call(token, '/v1/case-status-callbacks', {
            body: { caseNumber: opened.caseNumber, eventId, status, occurredAt: '2026-12-18T01:59:00.000Z' },
          }),
        )
      ).caseStatus;
    expect(await push(psbToken, 'r21-psb-1', 'rejected')).toBe('in_progress');
    expect(await push(nrbToken, 'r21-nrb-1', 'completed')).toBe('partially_rejected');

    const transfer = await call(windows.county, `/v1/cases/${opened.id}/transfer`, {
      body: { toCentre: OTHER_COUNTY, reason: '移交' },
      headers: as('clerk-1'),
    });
    const otherReads = await call(windows.other, `/v1/cases/${opened.id}`, { headers: as('clerk-x') });
    expect({ transfer: transfer.status, otherCountyReads: otherReads.status }).toEqual({
      transfer: 409,
      otherCountyReads: 404,
    });
  });
});
