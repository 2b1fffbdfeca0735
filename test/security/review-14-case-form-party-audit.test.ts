/**
 * Review 14 (attacker's eye): a real-estate transfer's form names its buyer — a party of the case,
 * a person in her own right — with her full name and ID number (`form.transferee: {name, idNumber}`).
 * A reader who sees the form in clear (a department the case was delivered to whose token holds
 * `subjects:unmask`, a window of the case's centre with it, the opening window) is shown the buyer's
 * identity, but `auditCaseView` (gateway/cases/cases.ts, used by `GET /v1/cases/{id}`) records the
 * read with `fields: ['form', …]` on the APPLICANT's record only; the buyer's record gets an entry
 * only for a material of hers the notice shows (`auditOthersMaterials`), and none at all while no
 * material of hers is attached.
 *
 * Promises broken:
 * - docs/security.md: "`recordAudit(tx, entry)` … is called by every service function that touches
 *   personal data"; "Refusals are audited too, with the subject when it is known, so the citizen's
 *   access log shows attempts" — yet an allowed read of her ID number is not on her log at all.
 * - docs/capabilities.md / the brief: "every read of personal data audited on the person's record;
 *   citizens can see who used their data". 李梅 reading her access log never learns that NRB read
 *   her ID number in full; reading her as a subject (`GET /v1/subjects/{id}`) would be recorded.
 *
 * Scenario: 张三 sells his flat to 李梅 (party `counterparty`, and `form.transferee`). The case is
 * delivered to NRB; NRB's token with `subjects:unmask` reads the case and gets 李梅's full ID
 * number. Control: 张三's record shows the read (`case.read`, fields `form`).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../gateway/db/schema.js';
import { seedDelivery } from '../../gateway/supervision/test-fixtures.js';
import { ok } from '../harness.js';
import { type FlatSaleStage, LI_MEI, PURPOSE, flatSaleStage } from '../support/flat-sale.js';

let stage: FlatSaleStage;

async function entriesOf(subjectId: string, clientId: string) {
  return stage.gw.services.db
    .select()
    .from(auditEntries)
    .where(and(eq(auditEntries.subjectRef, subjectId), eq(auditEntries.actorClientId, clientId)));
}

beforeAll(async () => {
  stage = await flatSaleStage();
  await seedDelivery(stage.gw.services.db, stage.caseId, { department: 'NRB', status: 'delivered' });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

describe("review 14: a case read that shows a party's identity in the form is on the party's record", () => {
  it("NRB (subjects:unmask) reads the buyer's full ID number in the form: the read is on 李梅's record too", async () => {
    const { gw, call, caseId, zhangSan, liMei } = stage;
    const reader = await gw.tokenFor('department', ['cases:read', 'subjects:unmask'], { departmentCode: 'NRB' });
    const view = await ok<{ form: { transferee: { name: string; idNumber: string } } }>(
      await call(reader, `/v1/cases/${caseId}`, undefined, PURPOSE),
    );
    // What was disclosed: the buyer's identity, in clear.
    expect(view.form.transferee).toEqual({ name: LI_MEI.name, idNumber: LI_MEI.identifier });
    const readerClient = (await gw.services.db.select().from(auditEntries))
      .filter((entry) => entry.subjectRef === zhangSan && entry.action === 'case.read')
      .map((entry) => entry.actorClientId)
      .at(-1);
    expect(readerClient).toBeDefined();
    // Control: the applicant's record shows the read of the form.
    const applicant = await entriesOf(zhangSan, readerClient ?? '');
    expect(applicant.some((entry) => entry.action === 'case.read' && entry.fields.includes('form'))).toBe(true);
    // The door: the buyer whose ID number was read in full has nothing on her record.
    const buyer = await entriesOf(liMei, readerClient ?? '');
    expect(buyer.map((entry) => entry.action)).toContain('case.read');
  });
});
