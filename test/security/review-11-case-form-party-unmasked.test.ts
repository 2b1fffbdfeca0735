/**
 * Review 11 (attacker's eye): personal data is masked unless the token holds `subjects:unmask`
 * ("Personal data is masked server-side unless the caller's scope allows otherwise", DESIGN §3 A;
 * `subject.unmask` in the policy). A real-estate transfer names its buyer twice: as a party
 * (`counterparty`, a subject) and in the form (`transferee: {name, idNumber}`), and the gateway
 * checks both agree (`checkFormParties`). Reading the buyer as a subject without `subjects:unmask`
 * shows 「李*」 and a masked ID number; reading the case (`GET /v1/cases/{id}`, `caseView` in
 * gateway/cases/cases.ts) hands the same caller the buyer's full name and full 18-digit ID number
 * in `form.transferee`. The case view masks the applicant's contact mobile for everyone and masks
 * the form for oversight, but never for a caller without `subjects:unmask`.
 *
 * Scenario: a window opens 张三's transfer to 李梅 (the buyer, a party). A token of a window without
 * `subjects:unmask` (any reader the policy lets read the case: the opening window's masked token, a
 * window of the same centre, a department the case was delivered to) reads the case.
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
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let psb: RunningSimulator;
let nrb: RunningSimulator;
let gw: TestGateway;
let maskedToken = '';
let caseId = '';
let liMei = '';

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
  // The window's default tokens carry no subjects:unmask (an explicit-only scope).
  const window = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES]);
  maskedToken = window.token;
  const resolve = async (who: typeof ZHANG_SAN) =>
    (
      await ok<{ id: string }>(
        await call(maskedToken, '/v1/subjects/resolve', { identifierType: 'resident_id', ...who }, purpose),
        201,
      )
    ).id;
  const zhangSan = await resolve(ZHANG_SAN);
  liMei = await resolve(LI_MEI);
  const opened = await ok<{ id: string }>(
    await call(maskedToken, '/v1/cases', {
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
  caseId = opened.id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe("review 11: a case's form does not unmask its parties for a caller without subjects:unmask", () => {
  it('control: the buyer read as a subject by the same token is masked', async () => {
    const subject = await ok<Record<string, unknown>>(
      await call(maskedToken, `/v1/subjects/${liMei}`, undefined, purpose),
    );
    const text = JSON.stringify(subject);
    expect(text).not.toContain(LI_MEI.identifier);
    expect(text).not.toContain(LI_MEI.name);
  });

  it("a department the case was delivered to, without subjects:unmask, reads the buyer's ID number and name masked", async () => {
    await seedDelivery(gw.services.db, caseId, { department: 'NRB', status: 'delivered' });
    const nrbToken = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'NRB' });
    const view = await ok<{ form: { transferee: { name: string; idNumber: string } } }>(
      await call(nrbToken, `/v1/cases/${caseId}`, undefined, purpose),
    );
    // Before: { name: '李梅', idNumber: '330106198503150120' }.
    expect(view.form.transferee.idNumber).toBe('330106********0120');
    expect(view.form.transferee.name).not.toBe(LI_MEI.name);
    expect(JSON.stringify(view)).not.toContain(LI_MEI.identifier);
  });

  it('control: the window system that opened the case reads the form as it typed it', async () => {
    const view = await ok<{ form: { transferee: { name: string; idNumber: string } } }>(
      await call(maskedToken, `/v1/cases/${caseId}`, undefined, purpose),
    );
    expect(view.form.transferee).toEqual({ name: LI_MEI.name, idNumber: LI_MEI.identifier });
  });
});
