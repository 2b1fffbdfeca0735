/**
 * Review 12 (attacker's eye): a case's timeline names each party's materials — the
 * `certificate_fetched` / `material_attached` event carries `partySubjectId` and the `materialId`
 * of the party's own document (the legal representative's ID card) — and its audit entry
 * (`case.timeline`) lists the party's material type, but only on the applicant's record.
 * `auditCaseView` (the case view) records "a party's materials shown in the case … on the party's
 * own record too, so each buyer's access log shows who saw their ID card and why"; `caseTimeline`
 * (gateway/cases/cases.ts) does not, so the party's access log never shows that the window (or the
 * department the case was delivered to) read the timeline naming her document.
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
let company = '';
let liMei = '';
let caseId = '';
let caseNumber = '';
let idCardId = '';

const call: Call = (...args) => stage.call(...args);

const resolved: LicenceReissueStage['resolve'] = (identifierType, who) => stage.resolve(identifierType, who);

async function partyEntries(action: string) {
  return gw.services.db
    .select()
    .from(auditEntries)
    .where(and(eq(auditEntries.subjectRef, liMei), eq(auditEntries.action, action)));
}

beforeAll(async () => {
  stage = await licenceReissueStage();
  ({ gw } = stage);
  company = await resolved('credit_code', COMPANY);
  liMei = await resolved('resident_id', LI_MEI);
  const opened = await ok<{ id: string; caseNumber: string }>(
    await call('/v1/cases', {
      itemCode: 'business_licence_reissue',
      subjectId: company,
      form: { reason: 'lost' },
      parties: [{ role: 'legal_representative', subjectId: liMei }],
    }),
    201,
  );
  caseId = opened.id;
  caseNumber = opened.caseNumber;
  await ok(await call(`/v1/cases/${caseId}/certificates`, {}));
  await ok(await call(`/v1/cases/${caseId}/submit`, {}, { 'idempotency-key': 'review-12-timeline-0001' }));
  await gw.services.deliveryWorker.runOnce();
  const [delivery] = await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, caseId));
  expect(delivery).toMatchObject({ departmentCode: 'AMR', status: 'delivered' });
});

afterAll(async () => {
  await stage?.close();
});

describe("review 12: the case timeline names a party's documents without an entry on the party's record", () => {
  it("control: the case view records the party's ID card on her own record", async () => {
    const before = (await partyEntries('case.read')).length;
    await ok(await call(`/v1/cases/${caseId}`, undefined, purpose));
    const after = await partyEntries('case.read');
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)?.materialTypes).toContain('resident_id_card');
  });

  it("the window's timeline read shows her ID card's id and is on her own record", async () => {
    const timeline = await ok<{ items: { kind: string; detail: Record<string, unknown> }[] }>(
      await call(`/v1/cases/${caseId}/timeline`, undefined, purpose),
    );
    const hers = timeline.items.find((event) => event.detail['partySubjectId'] === liMei);
    expect(hers?.detail['materialId'], JSON.stringify(timeline.items)).toEqual(expect.any(String));
    idCardId = hers?.detail['materialId'] as string;
    // The applicant's record says the party's ID card was shown ...
    const applicant = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.subjectRef, company), eq(auditEntries.action, 'case.timeline')));
    expect(applicant.at(-1)?.materialTypes).toContain('resident_id_card');
    // ... hers does not (before the fix: caseTimeline audits the applicant's record only).
    const entries = await partyEntries('case.timeline');
    expect(entries, 'no case.timeline entry on the party’s record').toHaveLength(1);
    expect(entries[0]?.materialTypes).toContain('resident_id_card');
    expect(entries[0]?.caseRef).toBe(caseNumber);
  });

  it('the submit answer (the case view with her ID card) is on her own record, as attach and fetch are', async () => {
    // control: the fetch's answer (auditCaseView) recorded her ID card on her record ...
    expect((await partyEntries('case.fetch_certificates')).at(-1)?.materialTypes).toContain('resident_id_card');
    // ... the submit's answer, the same view, is recorded on the applicant's record only
    // (submitCase's `disclosure`, before the fix).
    const applicant = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.subjectRef, company), eq(auditEntries.action, 'case.submit')));
    expect(applicant.at(-1)?.materialTypes).toContain('resident_id_card');
    expect(await partyEntries('case.submit'), 'no case.submit entry on the party’s record').toHaveLength(1);
  });

  it("the department's timeline read (AMR, case delivered) is on her own record", async () => {
    const amrToken = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'AMR' });
    const timeline = await ok<{ items: { kind: string; detail: Record<string, unknown> }[] }>(
      await call(`/v1/cases/${caseId}/timeline`, undefined, purpose, amrToken),
    );
    expect(timeline.items.some((event) => event.detail['materialId'] === idCardId && idCardId !== '')).toBe(true);
    const entries = (await partyEntries('case.timeline')).filter((entry) => entry.actorKind === 'department');
    expect(entries, 'no department case.timeline entry on the party’s record').toHaveLength(1);
  });
});
