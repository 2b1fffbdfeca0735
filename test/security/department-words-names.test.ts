/**
 * A department's words name the case's people (「张三、李梅请携带身份证原件补正」). A caller who sees
 * subjects masked (no `subjects:unmask`, not the window system that opened the case) reads the
 * case's names masked there too, as it reads them in the form and the subject views: in the case
 * view's deliveries and on the timeline. The opening window reads the words as the department wrote
 * them, with identifiers masked as everyone does.
 *
 * Review 14 found the same words on the one route that needs no token: the applicant's progress
 * look-up (`POST /v1/progress`: the case number and the last four characters of the applicant's ID
 * number, which a relative or anyone who saw a receipt may know) repeated them with only
 * identifiers masked. docs/capabilities.md: it "answers status, dates, departments and milestones,
 * with no personal data". It now masks the case's names too; the instruction stays readable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDelivery } from '../../gateway/supervision/test-fixtures.js';
import { ok } from '../harness.js';
import { type FlatSaleStage, LI_MEI, PURPOSE, ZHANG_SAN, flatSaleStage } from '../support/flat-sale.js';

const WORDS = '张三、李梅请携带身份证原件到不动产登记中心补正';

let stage: FlatSaleStage;

interface Readable {
  deliveries: { department: string; departmentMessage: string | null }[];
}
interface TimelineEvent {
  kind: string;
  detail: { message?: string };
}

beforeAll(async () => {
  stage = await flatSaleStage();
  await seedDelivery(stage.gw.services.db, stage.caseId, { department: 'NRB', status: 'delivered' });
  // The department's words arrive through its status callback, as a real NRB system sends them.
  const nrbStatus = await stage.gw.tokenFor('department', ['cases:status'], { departmentCode: 'NRB' });
  await ok(
    await stage.call(nrbStatus, '/v1/case-status-callbacks', {
      caseNumber: stage.caseNumber,
      eventId: 'nrb-evt-words-1',
      status: 'awaiting_applicant',
      occurredAt: '2026-12-18T01:30:00.000Z',
      message: `${WORDS}（${LI_MEI.identifier}）`,
    }),
  );
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

describe("a department's words: the case's names masked for a caller who sees subjects masked", () => {
  it('a department reading the case without subjects:unmask sees the names masked in the delivery and on the timeline', async () => {
    const { gw, call, caseId } = stage;
    const reader = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'NRB' });
    const view = await ok<Readable>(await call(reader, `/v1/cases/${caseId}`, undefined, PURPOSE));
    const words = view.deliveries.find((delivery) => delivery.department === 'NRB')?.departmentMessage ?? '';
    expect(words).toContain('请携带身份证原件');
    for (const name of [ZHANG_SAN.name, LI_MEI.name, LI_MEI.identifier]) expect(words).not.toContain(name);
    const timeline = await ok<{ items: TimelineEvent[] }>(
      await call(reader, `/v1/cases/${caseId}/timeline`, undefined, PURPOSE),
    );
    const said = timeline.items.find((event) => event.kind === 'department_status')?.detail.message ?? '';
    expect(said).toContain('请携带身份证原件');
    for (const name of [ZHANG_SAN.name, LI_MEI.name]) expect(said).not.toContain(name);
  });

  it('control: the window system that opened the case reads the words as written, the ID number masked', async () => {
    const { call, caseId, openerToken } = stage;
    const view = await ok<Readable>(await call(openerToken, `/v1/cases/${caseId}`, undefined, PURPOSE));
    const words = view.deliveries.find((delivery) => delivery.department === 'NRB')?.departmentMessage ?? '';
    expect(words).toContain(WORDS);
    expect(words).not.toContain(LI_MEI.identifier);
    const timeline = await ok<{ items: TimelineEvent[] }>(
      await call(openerToken, `/v1/cases/${caseId}/timeline`, undefined, PURPOSE),
    );
    expect(timeline.items.find((event) => event.kind === 'department_status')?.detail.message).toContain(WORDS);
  });
});

describe("POST /v1/progress (no credentials): a department's words without the case's names", () => {
  it("the look-up's departments[].reason does not carry the buyer's or the applicant's name", async () => {
    const progress = await ok<{ departments: { department: string; reason: string | null }[] }>(
      await stage.gw.request('/v1/progress', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ caseNumber: stage.caseNumber, check: ZHANG_SAN.identifier.slice(-4) }),
      }),
    );
    const reason = progress.departments.find((part) => part.department === 'NRB')?.reason ?? '';
    // Control: the applicant still learns what to bring, and the ID number is masked as before.
    expect(reason).toContain('请携带身份证原件到不动产登记中心补正');
    expect(reason).not.toContain(LI_MEI.identifier);
    // Before: the party's (and the applicant's) name, in clear, to an anonymous caller.
    expect(reason).not.toContain(LI_MEI.name);
    expect(reason).not.toContain(ZHANG_SAN.name);
  });
});
