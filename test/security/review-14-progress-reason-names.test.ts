/**
 * Review 14 (attacker's eye): the applicant's progress look-up `POST /v1/progress` (no credentials:
 * a case number and the LAST FOUR characters of the applicant's ID number, which the window that
 * opened the case, a relative or anyone who saw a receipt can know) repeats a department's words
 * as `departments[].reason` through `maskIdentifiersInNote` only (gateway/cases/progress.ts,
 * `lookUpProgress`): ID numbers and mobiles are masked, the case's NAMES are not.
 *
 * Promises broken:
 * - docs/capabilities.md: "`POST /v1/progress {caseNumber, check}` (no credentials …) answers
 *   status, dates, departments and milestones, with no personal data."
 * - gateway/cases/progress.ts header: "The answer carries no personal data".
 * - docs/real-cases.md: "a co-owner's number quoted in a reason reaches neither windows, nor the
 *   applicant's look-up" — the co-owner's (buyer's) name does.
 * The same words are already masked of the case's names for a department reading the case
 * (department-words-names.test.ts), for supervisors, and in the SMS (review 10) — but not on the
 * one route that needs no token at all.
 *
 * Scenario: a transfer of a flat from 张三 to the buyer 李梅 (a party of the case). NRB asks for
 * 补正 with 「张三、李梅请携带身份证原件到不动产登记中心补正」. Whoever holds the case number and
 * 「002X」 reads the buyer's full name (and the applicant's) in clear.
 * The control: the look-up still answers the department's instruction (its words kept, names masked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { seedDelivery } from '../../gateway/supervision/test-fixtures.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const LI_MEI = { identifier: '330106198503150120', name: '李梅' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const WORDS = '张三、李梅请携带身份证原件到不动产登记中心补正';
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let psb: RunningSimulator;
let nrb: RunningSimulator;
let gw: TestGateway;
let caseNumber = '';

async function call(token: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return gw.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: bearer(token, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
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
  const window = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES]);
  const resolve = async (who: typeof ZHANG_SAN) =>
    (
      await ok<{ id: string }>(
        await call(window.token, '/v1/subjects/resolve', { identifierType: 'resident_id', ...who }, purpose),
        201,
      )
    ).id;
  const zhangSan = await resolve(ZHANG_SAN);
  const liMei = await resolve(LI_MEI);
  const opened = await ok<{ id: string; caseNumber: string }>(
    await call(window.token, '/v1/cases', {
      itemCode: 'real_estate_transfer',
      subjectId: zhangSan,
      form: {
        certificateNo: SOLE_FLAT,
        transferee: { name: LI_MEI.name, idNumber: LI_MEI.identifier },
        transferReason: 'sale',
      },
      parties: [{ role: 'counterparty', subjectId: liMei }],
    }),
    201,
  );
  caseNumber = opened.caseNumber;
  await seedDelivery(gw.services.db, opened.id, { department: 'NRB', status: 'delivered' });
  const nrbStatus = await gw.tokenFor('department', ['cases:status'], { departmentCode: 'NRB' });
  await ok(
    await call(nrbStatus, '/v1/case-status-callbacks', {
      caseNumber,
      eventId: 'nrb-evt-progress-words-1',
      status: 'awaiting_applicant',
      occurredAt: '2026-12-18T01:30:00.000Z',
      message: `${WORDS}（${LI_MEI.identifier}）`,
    }),
  );
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe("POST /v1/progress (no credentials): a department's words without the case's names", () => {
  it("the look-up's departments[].reason does not carry the buyer's or the applicant's name", async () => {
    const progress = await ok<{ departments: { department: string; reason: string | null }[] }>(
      await gw.request('/v1/progress', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ caseNumber, check: ZHANG_SAN.identifier.slice(-4) }),
      }),
    );
    const reason = progress.departments.find((part) => part.department === 'NRB')?.reason ?? '';
    // Control: the applicant still learns what to bring, and the ID number is masked as before.
    expect(reason).toContain('请携带身份证原件到不动产登记中心补正');
    expect(reason).not.toContain(LI_MEI.identifier);
    // The door: the party's (and the applicant's) name, in clear, to an anonymous caller.
    expect(reason).not.toContain(LI_MEI.name);
    expect(reason).not.toContain(ZHANG_SAN.name);
  });
});
