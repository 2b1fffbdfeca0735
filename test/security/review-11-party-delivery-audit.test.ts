/**
 * Review 11 (attacker's eye): a case's parties (co_applicant, agent, legal_representative,
 * counterparty) are people in their own right. When the case is delivered, the delivery hands the
 * department every party's identity (ID number and name, `parties[]` of the submission) and the
 * party's materials (their ID card) — a disclosure of the party's personal data to that department.
 * `disclosureOf` (gateway/cases/dispatch.ts) records the delivery (`case.deliver`) on the
 * applicant's record only, so the party's own access log never shows that AMR (or NRB…) received
 * their identity and ID card. Reading the case (`auditCaseView`) already records a party's
 * materials "on the party's own record too, so each buyer's access log shows who saw their ID card
 * and why" — the delivery, the bigger disclosure, does not.
 *
 * Scenario: a company (applicant) reissues its business licence through its legal representative
 * 李梅 (a person, party `legal_representative`, her ID card on file). The case is decided at the
 * window and delivered to AMR. The company's record shows `case.deliver`; 李梅's shows nothing of it.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries, deliveries } from '../../gateway/db/schema.js';
import { type TestGateway, ok } from '../harness.js';
import {
  type Call,
  COMPANY,
  LI_MEI,
  type LicenceReissueStage,
  PURPOSE,
  licenceReissueStage,
} from '../support/licence-reissue.js';

const purpose = PURPOSE;

let stage: LicenceReissueStage;
let gw: TestGateway;

const call: Call = (...args) => stage.call(...args);

const resolved: LicenceReissueStage['resolve'] = (identifierType, who) => stage.resolve(identifierType, who);

beforeAll(async () => {
  stage = await licenceReissueStage();
  ({ gw } = stage);
});

afterAll(async () => {
  await stage?.close();
});

describe("a case delivered with a party: the party's identity goes to the department", () => {
  let company = '';
  let liMei = '';
  let caseNumber = '';

  beforeAll(async () => {
    company = await resolved('credit_code', COMPANY);
    liMei = await resolved('resident_id', LI_MEI);
    await ok(await call(`/v1/subjects/${liMei}/certificates`, { types: ['resident_id_card'] }, purpose));
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call('/v1/cases', {
        itemCode: 'business_licence_reissue',
        subjectId: company,
        form: { reason: 'lost' },
        parties: [{ role: 'legal_representative', subjectId: liMei }],
      }),
      201,
    );
    caseNumber = opened.caseNumber;
    await ok(await call(`/v1/cases/${opened.id}/certificates`, {}));
    await ok(await call(`/v1/cases/${opened.id}/submit`, {}, { 'idempotency-key': 'review-11-party-0001' }));
    await gw.services.deliveryWorker.runOnce();
    const [delivery] = await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id));
    expect(delivery).toMatchObject({ departmentCode: 'AMR', status: 'delivered' });
  });

  it("control: the applicant's record shows the delivery to AMR", async () => {
    const entries = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.subjectRef, company), eq(auditEntries.action, 'case.deliver')));
    expect(entries).toHaveLength(1);
    expect(entries[0]?.fields).toContain('department:AMR');
  });

  it("the legal representative's record shows that AMR received her identity and ID card", async () => {
    const entries = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.subjectRef, liMei), eq(auditEntries.caseRef, caseNumber)));
    // Today: only `case.open` (party:legal_representative) and the window's case reads — no delivery.
    const delivered = entries.filter((entry) => entry.action === 'case.deliver');
    expect(delivered, JSON.stringify(entries.map((entry) => entry.action))).toHaveLength(1);
    expect(delivered[0]?.fields).toEqual(expect.arrayContaining(['department:AMR']));
    expect(delivered[0]?.materialTypes).toContain('resident_id_card');
  });
});
