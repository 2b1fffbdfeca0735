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
import { seedDelivery } from '../../gateway/supervision/test-fixtures.js';
import { ok } from '../harness.js';
import { type FlatSaleStage, LI_MEI, PURPOSE, flatSaleStage } from '../support/flat-sale.js';

let stage: FlatSaleStage;

beforeAll(async () => {
  stage = await flatSaleStage();
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

describe("review 11: a case's form does not unmask its parties for a caller without subjects:unmask", () => {
  it('control: the buyer read as a subject by the same token is masked', async () => {
    const { call, openerToken: maskedToken, liMei } = stage;
    const subject = await ok<Record<string, unknown>>(
      await call(maskedToken, `/v1/subjects/${liMei}`, undefined, PURPOSE),
    );
    const text = JSON.stringify(subject);
    expect(text).not.toContain(LI_MEI.identifier);
    expect(text).not.toContain(LI_MEI.name);
  });

  it("a department the case was delivered to, without subjects:unmask, reads the buyer's ID number and name masked", async () => {
    const { gw, call, caseId } = stage;
    await seedDelivery(gw.services.db, caseId, { department: 'NRB', status: 'delivered' });
    const nrbToken = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'NRB' });
    const view = await ok<{ form: { transferee: { name: string; idNumber: string } } }>(
      await call(nrbToken, `/v1/cases/${caseId}`, undefined, PURPOSE),
    );
    // Before: { name: '李梅', idNumber: '330106198503150120' }.
    expect(view.form.transferee.idNumber).toBe('330106********0120');
    expect(view.form.transferee.name).not.toBe(LI_MEI.name);
    expect(JSON.stringify(view)).not.toContain(LI_MEI.identifier);
  });

  it('control: the window system that opened the case reads the form as it typed it', async () => {
    const { call, openerToken: maskedToken, caseId } = stage;
    const view = await ok<{ form: { transferee: { name: string; idNumber: string } } }>(
      await call(maskedToken, `/v1/cases/${caseId}`, undefined, PURPOSE),
    );
    expect(view.form.transferee).toEqual({ name: LI_MEI.name, idNumber: LI_MEI.identifier });
  });
});
