/**
 * Review 5 (attacker's eye), centre tree: a supervisor above a case's centre reads it for
 * supervision with "the names the case holds (its applicant's and its parties') masked wherever the
 * form or that text repeats them" (docs/security.md, `overseenCaseView`, `redactedDetail`). Two
 * free texts that reach the same supervisor skip that masking:
 *  - `result.lastRoute.remark` in `GET /v1/cases/{id}` (the carrier's 「快件已签收，签收人：张三」):
 *    `overseenCaseView` passes `result` through as the window sees it (mobile and ID masked only);
 *  - the applicant's rating comment in `GET /v1/ratings?centre=<centre below>` (the city reads the
 *    town's ratings): `centreRatingView` masks ID and mobile numbers only, never the case's names,
 *    although docs/security.md says only names the case does *not* hold stay unmasked.
 *
 *   330000000 province
 *   └ 330100000 city     (window city: director-1)
 *     └ 330110000 county
 *       └ 330110001 town (window town: clerk-1)
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseResults, cases } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三丰' };
const MOVE_IN = 'household_move_in';
const CITY = '330100000';
const COUNTY = '330110000';
const TOWN = '330110001';
const NOW = '2026-12-18T02:00:00.000Z';
const clock = fixedClock(NOW);

let gw: TestGateway;
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
const supervising = as('director-1', { 'onewindow-purpose': 'supervision' });

async function windowAt(code: string): Promise<string> {
  const { client } = await gw.createClient('window');
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
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

/** A move-in case opened at the town; its completion and result written straight to the tables. */
async function openedCase(): Promise<{ id: string; caseNumber: string }> {
  return ok<{ id: string; caseNumber: string }>(
    await call(town, '/v1/cases', {
      body: { itemCode: MOVE_IN, subjectId, form: { moveToAddress: '浙江省杭州市余杭区仓前街道文一西路1号' } },
      headers: as('clerk-1'),
    }),
    201,
  );
}

async function completed(caseId: string): Promise<void> {
  await gw.services.db
    .update(cases)
    .set({ status: 'completed', acceptedOn: '2026-12-16', dueOn: '2026-12-23', completedOn: '2026-12-18' })
    .where(eq(cases.id, caseId));
}

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' }, { clock });
  admin = await gw.tokenFor('admin');
  const centre = (code: string, name: string, level: string, parentCode: string | null) =>
    put(`/v1/centres/${code}`, { name, level, parentCode, address: `${name} 地址`, openingHours: '9:00-17:00' });
  await ok(await centre('330000000', '浙江省政务服务中心', 'province', null), 201);
  await ok(await centre(CITY, '杭州市民中心', 'city', '330000000'), 201);
  await ok(await centre(COUNTY, '余杭区行政服务中心', 'county', CITY), 201);
  await ok(await centre(TOWN, '仓前街道便民服务中心', 'town', COUNTY), 201);
  await ok(await put(`/v1/centres/${TOWN}/operators/clerk-1`, { name: 'clerk-1', role: 'acceptance_clerk' }), 201);
  await ok(await put(`/v1/centres/${CITY}/operators/director-1`, { name: 'director-1', role: 'centre_director' }), 201);
  await ok(await put(`/v1/centres/${TOWN}/items/${MOVE_IN}`, { enabled: true }));
  town = await windowAt(TOWN);
  city = await windowAt(CITY);
  const resolved = await call(town, '/v1/subjects/resolve', {
    body: ZHANG_SAN,
    headers: as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
  });
  subjectId = (await ok<{ id: string }>(resolved, 201)).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

describe('review 5: free text a supervisor above the centre reads, with the applicant’s name', () => {
  it('the carrier’s route remark in the case’s result keeps the applicant’s name whole', async () => {
    const opened = await openedCase();
    await completed(opened.id);
    // The courier worker stores the newest route node as the carrier sent it (courier.ts trackOnce).
    await gw.services.db
      .update(caseResults)
      .set({
        method: 'express',
        status: 'delivered',
        carrier: '顺丰速运',
        trackingNumber: 'SF1400000000001',
        lastRoute: {
          at: '2026-12-18T01:30:00.000Z',
          place: '杭州市余杭区',
          remark: '快件已签收，签收人：张三丰',
          state: 'delivered',
        },
        deliveredAt: new Date('2026-12-18T01:30:00.000Z'),
      })
      .where(eq(caseResults.caseId, opened.id));

    // The town's own window sees the remark (its case): fine.
    const own = await call(town, `/v1/cases/${opened.id}`, { headers: as('clerk-1') });
    expect(own.status).toBe(200);

    const overseen = await call(city, `/v1/cases/${opened.id}`, { headers: supervising });
    expect(overseen.status).toBe(200);
    const body = (await overseen.json()) as { form: Record<string, string>; result: { lastRoute: { remark: string } } };
    // The form's words are masked for oversight, as promised ...
    expect(JSON.stringify(body.form)).not.toContain('文一西路1号');
    // ... but the applicant's name in the carrier's remark is not (overseenCaseView spreads `result` as is).
    expect(body.result.lastRoute.remark).not.toContain('张三丰');
  });

  it('the applicant’s rating comment, listed to the city for the town below, keeps the applicant’s name whole', async () => {
    const opened = await openedCase();
    await completed(opened.id);
    const rated = await gw.request('/v1/progress/rating', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        caseNumber: opened.caseNumber,
        check: ZHANG_SAN.identifier.slice(-4),
        score: 1,
        comment: '我是张三丰，窗口让我跑了三趟。',
      }),
    });
    expect(rated.status).toBe(201);

    const listed = await call(city, `/v1/ratings?centre=${TOWN}`, { headers: supervising });
    expect(listed.status).toBe(200);
    const ratings = ((await listed.json()) as { ratings: { caseNumber: string; comment: string | null }[] }).ratings;
    const comment = ratings.find((rating) => rating.caseNumber === opened.caseNumber)?.comment ?? null;
    expect(comment).not.toBeNull();
    // The case holds this name (its applicant's): a supervisor above reads it in clear.
    expect(comment).not.toContain('张三丰');
  });
});
