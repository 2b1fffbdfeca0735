/**
 * Centres on one platform (issue 16): the tree and its checks, operators registered per centre,
 * items per centre, and who sees which case by position in the tree — for every case route and
 * every statistics route — with escalation and transfers moving a case and its deadline running on.
 *
 * The tree (杭州 in 浙江):
 *   330000000 province
 *   └ 330100000 city                (window wCity: director-1, clerk-c; auditor aCity)
 *     ├ 330110000 county 余杭        (window wCounty: approver-1)
 *     │ ├ 330110001 town 1          (window wTown1: clerk-1, supervisor-1)
 *     │ └ 330110002 town 2          (window wTown2: clerk-2; auditor aTown2)
 *     └ 330106000 county 西湖        (window wOther: clerk-x)
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  startNrbRealEstateSimulator,
} from '../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { auditEntries, centres } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { pdfDocument } from './fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const MORTGAGE = 'real_estate_mortgage_cancellation';
const MOVE_IN = 'household_move_in';
const CITY = '330100000';
const COUNTY = '330110000';
const TOWN1 = '330110001';
const TOWN2 = '330110002';
const OTHER_COUNTY = '330106000';

/** A fixed Friday: acceptance days and due dates do not depend on the day the test runs. */
const clock = fixedClock('2026-12-18T02:00:00.000Z');

let gw: TestGateway;
let nrb: RunningSimulator;
let admin: string;
const windows: Record<'town1' | 'town2' | 'county' | 'city' | 'other', { id: string; token: string }> = {
  town1: { id: '', token: '' },
  town2: { id: '', token: '' },
  county: { id: '', token: '' },
  city: { id: '', token: '' },
  other: { id: '', token: '' },
};
const auditors = { city: '', town2: '', province: '' };
let subjectId = '';

interface CaseBody {
  id: string;
  caseNumber: string;
  status: string;
  centreCode: string | null;
  acceptingCentreCode: string | null;
  transfers: number;
  promisedDays: number;
  dueOn: string | null;
  notice: { entries: { requirementCode: string; state: string; material: { id: string } | null }[] };
}

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

async function refused(response: Response, status: number, code: string): Promise<void> {
  const problem = await problemOf(response);
  expect({ status: response.status, code: problem.code }).toEqual({ status, code });
}

const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
const centre = (code: string, name: string, level: string, parentCode: string | null) =>
  put(`/v1/centres/${code}`, { name, level, parentCode, address: `${name} 地址`, openingHours: '9:00-17:00' });
const operator = (code: string, operatorId: string, role: string) =>
  put(`/v1/centres/${code}/operators/${operatorId}`, { name: operatorId, role });
const offer = (code: string, itemCode: string, promisedDays: number | null = null) =>
  put(`/v1/centres/${code}/items/${itemCode}`, { enabled: true, promisedDays });
const as = (operatorId: string, extra: Record<string, string> = {}) => ({ 'onewindow-operator': operatorId, ...extra });
const supervising = (operatorId: string) => as(operatorId, { 'onewindow-purpose': 'supervision' });

async function windowAt(code: string): Promise<{ id: string; token: string }> {
  const { client } = await gw.createClient('window');
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  const token = (
    await gw.services.tokens.issue(client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'certificates:read',
      'contracts:read',
      'cases:read',
      'cases:write',
      'centres:read',
    ])
  ).accessToken;
  return { id: client.id, token };
}

async function auditorAt(code: string | null): Promise<string> {
  const { client } = await gw.createClient('auditor');
  if (code) await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  return (await gw.services.tokens.issue(client, ['supervision:read', 'audit:read'])).accessToken;
}

async function openCase(
  who: { token: string },
  operatorId: string,
  itemCode: string,
  form: Record<string, unknown> = {},
): Promise<Response> {
  return call(who.token, '/v1/cases', { body: { itemCode, subjectId, form }, headers: as(operatorId) });
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
  await ok(await centre('330000000', '浙江省政务服务中心', 'province', null), 201);
  await ok(await centre(CITY, '杭州市民中心', 'city', '330000000'), 201);
  await ok(await centre(COUNTY, '余杭区行政服务中心', 'county', CITY), 201);
  await ok(await centre(OTHER_COUNTY, '西湖区行政服务中心', 'county', CITY), 201);
  await ok(await centre(TOWN1, '仓前街道便民服务中心', 'town', COUNTY), 201);
  await ok(await centre(TOWN2, '五常街道便民服务中心', 'town', COUNTY), 201);
  for (const [code, id, role] of [
    [TOWN1, 'clerk-1', 'acceptance_clerk'],
    [TOWN1, 'supervisor-1', 'supervisor'],
    [TOWN2, 'clerk-2', 'acceptance_clerk'],
    [COUNTY, 'approver-1', 'back_office_approver'],
    [CITY, 'director-1', 'centre_director'],
    [CITY, 'clerk-c', 'acceptance_clerk'],
    [OTHER_COUNTY, 'clerk-x', 'acceptance_clerk'],
  ] as const) {
    await ok(await operator(code, id, role), 201);
  }
  // The mortgage cancellation (上报件) is decided by the county; town 1 promises it in 2 days.
  await ok(await offer(TOWN1, MORTGAGE, 2));
  await ok(await offer(TOWN2, MORTGAGE));
  await ok(await offer(COUNTY, MORTGAGE));
  await ok(await offer(OTHER_COUNTY, MORTGAGE));
  windows.town1 = await windowAt(TOWN1);
  windows.town2 = await windowAt(TOWN2);
  windows.county = await windowAt(COUNTY);
  windows.city = await windowAt(CITY);
  windows.other = await windowAt(OTHER_COUNTY);
  auditors.city = await auditorAt(CITY);
  auditors.town2 = await auditorAt(TOWN2);
  auditors.province = await auditorAt(null);
  const resolved = await call(windows.town1.token, '/v1/subjects/resolve', {
    body: ZHANG_SAN,
    headers: as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
  });
  subjectId = (await ok<{ id: string }>(resolved, 201)).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

describe('the centre tree', () => {
  it('lists the tree root first, and a subtree under a centre', async () => {
    const { centres: all } = await ok<{ centres: { code: string; ancestors: string[]; children: string[] }[] }>(
      await call(admin, '/v1/centres'),
    );
    expect(all.map((entry) => entry.code).slice(0, 3)).toEqual(['330000000', CITY, OTHER_COUNTY]);
    const { centres: county } = await ok<{ centres: { code: string }[] }>(
      await call(admin, `/v1/centres?under=${COUNTY}`),
    );
    expect(county.map((entry) => entry.code)).toEqual([COUNTY, TOWN1, TOWN2]);
    const town = await ok<{ ancestors: string[]; children: string[] }>(await call(admin, `/v1/centres/${TOWN1}`));
    expect(town.ancestors).toEqual(['330000000', CITY, COUNTY]);
  });

  it('refuses bad input with its own code and writes nothing', async () => {
    await refused(await centre('330110003', '无上级', 'town', '330199000'), 404, 'centre_not_found');
    await refused(await centre('330199001', '错号', 'town', COUNTY), 422, 'centre_invalid'); // not within the county's division code
    await refused(await centre('330110004', '颠倒', 'county', TOWN1), 422, 'centre_invalid'); // a county under a town
    await refused(await centre('330120000', '无上级', 'city', null), 422, 'centre_invalid'); // only a province stands at the top
    await refused(
      await call(admin, '/v1/centres/33011000', {
        method: 'PUT',
        body: { name: 'x', level: 'town', parentCode: COUNTY },
      }),
      400,
      'validation_failed',
    );
    // A county the province administers directly (like 仙桃 429004) shares the province's two digits.
    await ok(await centre('339004000', '省直辖县级行政服务中心', 'county', '330000000'), 201);
    const rows = await gw.services.db.select({ code: centres.code }).from(centres);
    expect(rows.map((row) => row.code)).not.toContain('330110003');
    expect(rows.map((row) => row.code)).not.toContain('330199001');
  });

  it('refuses a cycle, and moves a centre with its subtree', async () => {
    await ok(await centre('330110101', '村社区', 'village', TOWN2), 201);
    // A centre below itself or below one of its own: a cycle, whatever the levels.
    await refused(await centre(TOWN2, '五常街道便民服务中心', 'town', '330110101'), 409, 'centre_cycle');
    await refused(await centre(COUNTY, '余杭区行政服务中心', 'county', TOWN1), 409, 'centre_cycle');
    await refused(await centre(TOWN2, '五常街道便民服务中心', 'town', TOWN2), 409, 'centre_cycle');
    await refused(await centre('330110102', '另一个村', 'village', '330110101'), 422, 'centre_invalid'); // a village under a village
    await ok(await centre('330110103', '新镇', 'town', COUNTY), 201);
    await ok(await centre('330110104', '新村', 'village', '330110103'), 201);
    // The village moves to town 1 with the path of everything below it.
    await ok(await centre('330110104', '新村', 'village', TOWN1));
    const [moved] = await gw.services.db
      .select({ path: centres.path })
      .from(centres)
      .where(eq(centres.code, '330110104'));
    expect(moved?.path).toBe(`/330000000/${CITY}/${COUNTY}/${TOWN1}/330110104/`);
  });

  it('keeps promised time limits within the statutory ones, and clients at the right number of centres', async () => {
    await refused(await offer(TOWN1, MORTGAGE, 11), 422, 'promised_days_above_statutory'); // statutory: 10
    await refused(await offer(CITY, MORTGAGE), 422, 'centre_above_deciding_level'); // decided by counties
    await refused(await put(`/v1/centres/${TOWN1}/items/no_such_item`, { enabled: true }), 422, 'unknown_item');
    await refused(
      await put(`/v1/clients/${windows.town1.id}/centres`, { centreCodes: [TOWN1, TOWN2] }),
      422,
      'client_centres_invalid',
    );
    await refused(
      await put(`/v1/clients/${windows.town1.id}/centres`, { centreCodes: ['330110999'] }),
      404,
      'centre_not_found',
    );
    await refused(await operator('330110999', 'ghost', 'acceptance_clerk'), 404, 'centre_not_found');
    const { items } = await ok<{
      items: { itemCode: string; promisedDays: number | null; effectivePromisedDays: number; statutoryDays: number }[];
    }>(await call(windows.town1.token, `/v1/centres/${TOWN1}/items`));
    expect(items.find((entry) => entry.itemCode === MORTGAGE)).toMatchObject({
      promisedDays: 2,
      effectivePromisedDays: 2,
      statutoryDays: 10,
    });
  });
});

describe('a case accepted at a town, decided by its county', () => {
  let caseId = '';
  let caseNumber = '';
  let dueOn: string | null = null;

  it('is opened only by a registered operator of the window’s centre, for an item the centre offers', async () => {
    await refused(
      await call(windows.town1.token, '/v1/cases', { body: { itemCode: MORTGAGE, subjectId, form: {} } }),
      400,
      'operator_required',
    );
    await refused(await openCase(windows.town1, 'nobody-at-all', MORTGAGE), 403, 'operator_unknown');
    await refused(await openCase(windows.town1, 'clerk-2', MORTGAGE), 403, 'operator_unknown'); // an operator of another centre
    await refused(await openCase(windows.town1, 'supervisor-1', MORTGAGE), 403, 'operator_unknown'); // a supervisor does not accept cases
    await refused(await openCase(windows.town1, 'clerk-1', MOVE_IN), 409, 'item_not_offered_here');
    const opened = await ok<CaseBody>(
      await openCase(windows.town1, 'clerk-1', MORTGAGE, { certificateNo: '浙(2020)杭州市不动产权第0031287号' }),
      201,
    );
    expect(opened).toMatchObject({ centreCode: TOWN1, acceptingCentreCode: TOWN1, transfers: 0, promisedDays: 2 });
    caseId = opened.id;
    caseNumber = opened.caseNumber;
    // Who opened it where is on the record.
    const [entry] = await gw.services.db
      .select({ centreCode: auditEntries.centreCode, operatorId: auditEntries.operatorId })
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'case.open'), eq(auditEntries.caseRef, caseNumber)));
    expect(entry).toEqual({ centreCode: TOWN1, operatorId: 'clerk-1' });
  });

  it('is seen at its centre, by ancestors for supervision only, and not by siblings', async () => {
    const read = (who: { token: string }, headers: Record<string, string>) =>
      call(who.token, `/v1/cases/${caseId}`, { headers });
    const timeline = (who: { token: string }, headers: Record<string, string>) =>
      call(who.token, `/v1/cases/${caseId}/timeline`, { headers });
    for (const route of [read, timeline]) {
      expect((await route(windows.town1, as('clerk-1'))).status).toBe(200);
      await refused(await route(windows.town2, as('clerk-2')), 404, 'not_found');
      await refused(await route(windows.other, supervising('clerk-x')), 404, 'not_found');
      await refused(await route(windows.county, as('approver-1')), 403, 'supervision_only');
      await refused(await route(windows.city, as('director-1')), 403, 'supervision_only');
      await refused(await route(windows.city, supervising('clerk-c')), 403, 'supervision_only');
      await refused(await route(windows.city, supervising('nobody-at-all')), 403, 'operator_unknown');
      expect((await route(windows.city, supervising('director-1'))).status).toBe(200);
    }
    // A supervisor oversees the case; the applicant's answers are for the hands that work it.
    const formOf = async (response: Response) => ((await response.json()) as { form: Record<string, unknown> }).form;
    expect(await formOf(await read(windows.town1, as('clerk-1')))).toEqual({
      certificateNo: '浙(2020)杭州市不动产权第0031287号',
    });
    const overseen = await (await read(windows.city, supervising('director-1'))).text();
    expect((JSON.parse(overseen) as { form: Record<string, unknown> }).form['certificateNo']).toMatch(/^浙\(2020\*+$/);
    expect(overseen).not.toContain('0031287');
    // Changing it is for its own centre: an ancestor reads, never writes.
    await refused(
      await call(windows.city.token, `/v1/cases/${caseId}/certificates`, { body: {}, headers: as('director-1') }),
      403,
      'case_handled_elsewhere',
    );
    await refused(
      await call(windows.town2.token, `/v1/cases/${caseId}/submit`, {
        body: {},
        headers: as('clerk-2', { 'idempotency-key': 'sibling-submit-1' }),
      }),
      404,
      'not_found',
    );
  });

  it('goes up to the county when submitted, with its deadline from the town’s promise', async () => {
    const upload = await gw.request(
      `/v1/subjects/${subjectId}/materials?typeCode=real_estate_certificate&fileName=title.pdf`,
      {
        method: 'POST',
        headers: bearer(windows.town1.token, {
          ...as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
          'content-type': 'application/pdf',
        }),
        body: Buffer.from(pdfDocument('title deed 0031287')),
      },
    );
    const material = await ok<{ id: string }>(upload, 201);
    await ok(
      await call(windows.town1.token, `/v1/cases/${caseId}/materials`, {
        body: { requirementCode: 'title', materialId: material.id },
        headers: as('clerk-1'),
      }),
    );
    const submitted = await ok<CaseBody>(
      await call(windows.town1.token, `/v1/cases/${caseId}/submit`, {
        body: {},
        headers: as('clerk-1', { 'idempotency-key': 'town-submit-0001' }),
      }),
    );
    expect(submitted).toMatchObject({
      status: 'submitted',
      centreCode: COUNTY,
      acceptingCentreCode: TOWN1,
      transfers: 1,
      promisedDays: 2,
    });
    expect(submitted.dueOn).toBe('2026-12-22'); // Friday 18 December + 2 working days
    dueOn = submitted.dueOn;
    const { items } = await ok<{ items: { kind: string; detail: Record<string, unknown> }[] }>(
      await call(windows.county.token, `/v1/cases/${caseId}/timeline`, { headers: as('approver-1') }),
    );
    expect(items.find((item) => item.kind === 'escalated')?.detail).toMatchObject({ from: TOWN1, to: COUNTY });
  });

  it('is then changed by the county only; the town still follows it', async () => {
    expect((await call(windows.county.token, `/v1/cases/${caseId}`, { headers: as('approver-1') })).status).toBe(200);
    expect((await call(windows.town1.token, `/v1/cases/${caseId}`, { headers: as('clerk-1') })).status).toBe(200);
    await refused(
      await call(windows.town1.token, `/v1/cases/${caseId}/transfer`, {
        body: { toCentre: OTHER_COUNTY, reason: '就近办' },
        headers: as('clerk-1'),
      }),
      403,
      'case_handled_elsewhere',
    );
    await refused(await call(windows.town2.token, `/v1/cases/${caseId}`, { headers: as('clerk-2') }), 404, 'not_found');
  });

  it('is transferred by the county to a centre that handles the item; the clock runs on', async () => {
    const transfer = (toCentre: string) =>
      call(windows.county.token, `/v1/cases/${caseId}/transfer`, {
        body: { toCentre, reason: '跨域通办' },
        headers: as('approver-1'),
      });
    await refused(await transfer('330188000'), 404, 'centre_not_found');
    await refused(await transfer(COUNTY), 409, 'transfer_to_same_centre');
    await refused(await transfer(CITY), 409, 'centre_not_handling_item');
    const moved = await ok<CaseBody>(await transfer(OTHER_COUNTY));
    expect(moved).toMatchObject({ centreCode: OTHER_COUNTY, acceptingCentreCode: TOWN1, transfers: 2, dueOn });
    expect((await call(windows.other.token, `/v1/cases/${caseId}`, { headers: as('clerk-x') })).status).toBe(200);
    // The county that passed it on is now above the accepting town only: supervision, not handling.
    await refused(
      await call(windows.county.token, `/v1/cases/${caseId}`, { headers: as('approver-1') }),
      403,
      'supervision_only',
    );
    const [entry] = await gw.services.db
      .select({ fields: auditEntries.fields, centreCode: auditEntries.centreCode })
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.transfer'),
          eq(auditEntries.caseRef, caseNumber),
          eq(auditEntries.outcome, 'allowed'),
        ),
      );
    // With what the transfer's answer showed (the case view), as on every read of the case.
    expect(entry).toEqual({
      fields: [`centre:${COUNTY}->${OTHER_COUNTY}`, 'form', 'materials', 'deliveries'],
      centreCode: COUNTY,
    });
  });

  it('shows the applicant where the case is', async () => {
    const response = await gw.request('/v1/progress', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ caseNumber, check: '002X' }),
    });
    const progress = await ok<{
      centre: { code: string; name: string } | null;
      acceptedAt: { code: string } | null;
      timeline: { kind: string }[];
    }>(response);
    expect(progress.centre).toMatchObject({ code: OTHER_COUNTY, name: '西湖区行政服务中心' });
    expect(progress.acceptedAt?.code).toBe(TOWN1);
    expect(progress.timeline.map((event) => event.kind)).toEqual(expect.arrayContaining(['escalated', 'transferred']));
  });

  it('leaves the materials reusable at another centre, and the access log says where they were used', async () => {
    const opened = await ok<CaseBody>(
      await openCase(windows.town2, 'clerk-2', MORTGAGE, { certificateNo: '浙(2020)杭州市不动产权第0031287号' }),
      201,
    );
    expect(opened.notice.entries.find((entry) => entry.requirementCode === 'title')?.state).toBe('reused');
    const [entry] = await gw.services.db
      .select({ centreCode: auditEntries.centreCode })
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'case.open'), eq(auditEntries.caseRef, opened.caseNumber)));
    expect(entry?.centreCode).toBe(TOWN2);
    // The subject's access log names the centre of every use.
    const log = await ok<{
      items: { action: string; caseRef: string | null; centre: { code: string; name: string | null } | null }[];
    }>(
      await call(auditors.province, `/v1/subjects/${subjectId}/access-log`, {
        headers: { 'onewindow-purpose': 'supervision' },
      }),
    );
    expect(log.items.find((item) => item.action === 'case.open' && item.caseRef === opened.caseNumber)?.centre).toEqual(
      { code: TOWN2, name: '五常街道便民服务中心' },
    );
  });
});

describe('statistics by centre', () => {
  const period = 'from=2026-12-01&to=2026-12-31';

  it('roll up the tree for the city, per centre, window and operator', async () => {
    const statistics = await ok<{
      centre: { code: string };
      totals: { accepted: number; transfers: number };
      centres: { code: string; accepted: number }[];
      windows: { clientId: string; accepted: number }[];
      operators: { centreCode: string | null; operatorId: string; accepted: number }[];
    }>(await call(auditors.city, `/v1/supervision/centres?${period}`));
    expect(statistics.centre.code).toBe(CITY);
    // Two cases: the one transferred to the other county (accepted), and town 2's (open, not accepted).
    expect(statistics.totals).toMatchObject({ accepted: 1, transfers: 2 });
    const byCode = new Map(statistics.centres.map((entry) => [entry.code, entry.accepted]));
    expect([byCode.get(CITY), byCode.get(OTHER_COUNTY), byCode.get(COUNTY), byCode.get(TOWN1)]).toEqual([1, 1, 0, 0]);
    expect(statistics.windows).toEqual([expect.objectContaining({ clientId: windows.town1.id, accepted: 1 })]);
    expect(statistics.operators).toEqual([
      expect.objectContaining({ centreCode: TOWN1, operatorId: 'clerk-1', accepted: 1 }),
    ]);
  });

  it('cover only the caller’s subtree: a town supervisor sees nothing of its siblings', async () => {
    await refused(
      await call(auditors.town2, `/v1/supervision/centres?${period}&centre=${CITY}`),
      403,
      'centre_outside_your_tree',
    );
    await refused(
      await call(auditors.town2, `/v1/supervision/summary?${period}&centre=${COUNTY}`),
      403,
      'centre_outside_your_tree',
    );
    await refused(
      await call(auditors.town2, `/v1/supervision/warnings?centre=${TOWN1}`),
      403,
      'centre_outside_your_tree',
    );
    await refused(
      await call(auditors.town2, `/supervision?${period}&centre=${TOWN1}`),
      403,
      'centre_outside_your_tree',
    );
    await refused(
      await call(auditors.city, `/v1/supervision/centres?${period}&centre=330188000`),
      404,
      'centre_not_found',
    );
    const own = await ok<{ totals: { accepted: number } }>(
      await call(auditors.town2, `/v1/supervision/centres?${period}`),
    );
    expect(own.totals.accepted).toBe(0);
    const summaries = {
      town2: await ok<{ materials: { cases: number }; casesByStatus: Record<string, number> }>(
        await call(auditors.town2, `/v1/supervision/summary?${period}`),
      ),
      city: await ok<{ materials: { cases: number }; casesByStatus: Record<string, number> }>(
        await call(auditors.city, `/v1/supervision/summary?${period}`),
      ),
      county: await ok<{ materials: { cases: number } }>(
        await call(auditors.city, `/v1/supervision/summary?${period}&centre=${COUNTY}`),
      ),
    };
    expect(summaries.town2.materials.cases).toBe(0);
    expect(summaries.town2.casesByStatus['open']).toBe(1); // its own open case
    expect(summaries.city.materials.cases).toBe(1);
    expect(summaries.county.materials.cases).toBe(0); // handled in the other county now
    const warnings = await ok<{ cases: unknown[] }>(await call(auditors.town2, '/v1/supervision/warnings'));
    expect(warnings.cases).toEqual([]);
  });

  it('show the subtree on the supervision page, and the whole province to a supervisor of no centre', async () => {
    const page = await call(auditors.city, `/supervision?${period}&centre=${COUNTY}&lang=en`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('余杭区行政服务中心 and below');
    expect(html).toContain(`data-centre="${TOWN1}"`);
    expect(html).not.toContain(`data-centre="${OTHER_COUNTY}"`);
    await refused(await call(auditors.province, `/v1/supervision/centres?${period}`), 400, 'validation_failed');
    const province = await ok<{ centres: { code: string }[] }>(
      await call(auditors.province, `/v1/supervision/centres?${period}&centre=330000000`),
    );
    expect(province.centres[0]?.code).toBe('330000000');
  });
});
