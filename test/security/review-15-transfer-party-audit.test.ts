/**
 * Review 15 (attacker's eye): a transfer's answer shows the case's form (the buyer's name and ID
 * number) and the parties' materials, but the buyer's record never learns of it.
 *
 * The door: `POST /v1/cases/{caseId}/transfer` → `transferCase` (gateway/cases/cases.ts) answers
 * the whole `caseView` — form, parties, notice with party materials — yet audits only through
 * `moveCase`: one `case.transfer` entry on the APPLICANT's record with `fields: ['centre:a->b']`.
 * It never calls `auditCaseView` / `auditOthersMaterials`, as `readCase`, `attachMaterial`,
 * `attachFetched` and `submitCase` do, so the party named in the form (and whose materials the
 * notice shows) has no entry at all, and the applicant's entry does not say the form was shown.
 *
 * Promises broken:
 * - docs/security.md, "The audit log": "A party's materials shown by the timeline, a submit's answer
 *   or a delivery are on the party's own access log too, and so is every read that showed the form
 *   which names them (`case.read`, `case.submit`, … with `party:<role>` and `form`)".
 * - "`recordAudit(tx, entry)` … is called by every service function that touches personal data";
 *   citizens see who used their data (docs/capabilities.md, data tracker).
 *
 * Scenario: at town 1, clerk-1 opens 张三's real-estate transfer to the buyer 李梅 (counterparty,
 * `form.transferee` with her ID number) and transfers it to town 2. The answer carries 李梅's ID
 * number in clear (the opening window typed it). Control: 张三's record shows `case.transfer`.
 * Expected: 李梅's record shows the transfer that showed the form naming her (`party:counterparty`,
 * `form`), as `GET /v1/cases/{id}` by the same window does (second control).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { auditEntries } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const LI_MEI = { identifierType: 'resident_id', identifier: '330106198503150120', name: '李梅' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const ITEM = 'real_estate_transfer';
const TOWN1 = '330110001';
const TOWN2 = '330110002';

let psb: RunningSimulator;
let nrb: RunningSimulator;
let gw: TestGateway;
let admin = '';
let town1 = { token: '', clientId: '' };
let zhangSan = '';
let liMei = '';
let caseId = '';
let transferred: { form: { transferee: { idNumber: string } }; parties: { role: string; subjectId: string }[] };

async function call(
  token: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
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

const entriesOf = (subjectId: string, action: string) =>
  gw.services.db
    .select()
    .from(auditEntries)
    .where(
      and(
        eq(auditEntries.subjectRef, subjectId),
        eq(auditEntries.actorClientId, town1.clientId),
        eq(auditEntries.action, action),
      ),
    );

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
  const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
  const centre = (code: string, name: string, level: string, parentCode: string | null) =>
    put(`/v1/centres/${code}`, { name, level, parentCode, address: `${name} 地址`, openingHours: '9:00-17:00' });
  await ok(await centre('330000000', '浙江省政务服务中心', 'province', null), 201);
  await ok(await centre('330100000', '杭州市民中心', 'city', '330000000'), 201);
  await ok(await centre('330110000', '余杭区行政服务中心', 'county', '330100000'), 201);
  await ok(await centre(TOWN1, '仓前街道便民服务中心', 'town', '330110000'), 201);
  await ok(await centre(TOWN2, '五常街道便民服务中心', 'town', '330110000'), 201);
  await ok(await put(`/v1/centres/${TOWN1}/operators/clerk-1`, { name: 'clerk-1', role: 'acceptance_clerk' }), 201);
  for (const code of [TOWN1, TOWN2]) await ok(await put(`/v1/centres/${code}/items/${ITEM}`, { enabled: true }));
  const window = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES]);
  await ok(await put(`/v1/clients/${window.client.id}/centres`, { centreCodes: [TOWN1] }));
  town1 = { token: window.token, clientId: window.client.id };
  const headers = { 'onewindow-operator': 'clerk-1', 'onewindow-purpose': 'case_acceptance' };
  zhangSan = (
    await ok<{ id: string }>(await call(town1.token, '/v1/subjects/resolve', { body: ZHANG_SAN, headers }), 201)
  ).id;
  liMei = (await ok<{ id: string }>(await call(town1.token, '/v1/subjects/resolve', { body: LI_MEI, headers }), 201))
    .id;
  caseId = (
    await ok<{ id: string }>(
      await call(town1.token, '/v1/cases', {
        body: {
          itemCode: ITEM,
          subjectId: zhangSan,
          form: {
            certificateNo: SOLE_FLAT,
            transferee: { name: LI_MEI.name, idNumber: LI_MEI.identifier },
            transferReason: 'sale',
          },
          parties: [{ role: 'counterparty', subjectId: liMei }],
        },
        headers: { 'onewindow-operator': 'clerk-1' },
      }),
      201,
    )
  ).id;
  transferred = await ok(
    await call(town1.token, `/v1/cases/${caseId}/transfer`, {
      body: { toCentre: TOWN2, reason: '就近办理' },
      headers: { 'onewindow-operator': 'clerk-1' },
    }),
  );
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe("review 15: a transfer's answer that shows a party's identity is on the party's record", () => {
  it("control: the answer shows the buyer's ID number and names her as a party; the applicant's record has the transfer", async () => {
    expect(transferred.form.transferee.idNumber).toBe(LI_MEI.identifier);
    expect(transferred.parties).toContainEqual({ role: 'counterparty', subjectId: liMei });
    expect(await entriesOf(zhangSan, 'case.transfer')).toHaveLength(1);
  });

  it("control: a plain read of the case by the same window is on the buyer's record (review 14)", async () => {
    await ok(await call(town1.token, `/v1/cases/${caseId}`, { headers: { 'onewindow-operator': 'clerk-1' } }));
    const reads = await entriesOf(liMei, 'case.read');
    expect(reads.some((entry) => entry.fields.includes('form'))).toBe(true);
  });

  it("the transfer that showed the form naming the buyer is on the buyer's record", async () => {
    const buyer = await entriesOf(liMei, 'case.transfer');
    expect(buyer.map((entry) => entry.fields)).toContainEqual(expect.arrayContaining(['party:counterparty', 'form']));
  });

  it("and the applicant's entry says the form was shown", async () => {
    const [applicant] = await entriesOf(zhangSan, 'case.transfer');
    expect(applicant?.fields).toContain('form');
  });
});
