/**
 * Review 3 (attacker's eye): a department's words reach the case's other readers through the
 * timeline with less masking than through the case view (4311b7c masked mobile numbers in
 * department messages with `maskIdentifiersInNote` → `maskPersonalText`, but the timeline and the
 * stored copy still use `maskIdentifiersInText`, which leaves mobile numbers in clear).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases } from '../../gateway/db/schema.js';
import { seedCase, seedDelivery, seedSubject } from '../../gateway/supervision/test-fixtures.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const MOBILE = '13912345678';

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' });
});
afterAll(async () => gw?.close());

describe('review 3: department messages on the timeline', () => {
  it('a mobile number in a department’s status message is masked in the case view but shown in clear on the timeline', async () => {
    const subjectId = await seedSubject(gw.services.db);
    const { id: caseId, caseNumber } = await seedCase(gw.services.db, { subjectId, status: 'in_progress' });
    await seedDelivery(gw.services.db, caseId, { department: 'PSB', status: 'delivered' });
    await seedDelivery(gw.services.db, caseId, { department: 'NRB', status: 'delivered' });
    // The case is the window's own (a window of no centre: no operator needed).
    const { client: window } = await gw.createClient('window');
    const windowToken = (await gw.services.tokens.issue(window, ['cases:read'])).accessToken;
    await gw.services.db.update(cases).set({ clientId: window.id }).where(eq(cases.id, caseId));

    // PSB asks for a correction, naming a co-owner and the co-owner's number (a real reason's shape).
    const psbToken = await gw.tokenFor('department', ['cases:status'], { departmentCode: 'PSB' });
    const pushed = await gw.request('/v1/case-status-callbacks', {
      method: 'POST',
      headers: bearer(psbToken, json),
      body: JSON.stringify({
        caseNumber,
        eventId: 'psb-evt-0001',
        status: 'awaiting_applicant',
        occurredAt: new Date().toISOString(),
        message: `请共有人李四（联系电话${MOBILE}）到场签字`,
      }),
    });
    expect(pushed.status).toBe(200);

    const purpose = { 'onewindow-purpose': 'case_acceptance' };
    const view = await (await gw.request(`/v1/cases/${caseId}`, { headers: bearer(windowToken, purpose) })).text();
    // The case view masks it (maskIdentifiersInNote since 4311b7c) ...
    expect(view).toContain('139****5678');
    expect(view).not.toContain(MOBILE);

    const nrbToken = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'NRB' });
    const timelines = {
      window: await (
        await gw.request(`/v1/cases/${caseId}/timeline`, { headers: bearer(windowToken, purpose) })
      ).text(),
      otherDepartment: await (
        await gw.request(`/v1/cases/${caseId}/timeline`, { headers: bearer(nrbToken, purpose) })
      ).text(),
    };
    // Before the fix (2026-12-07): cases.ts redactedDetail masks `detail.message` with maskIdentifiersInText only.
    expect({
      window: timelines.window.includes(MOBILE),
      otherDepartment: timelines.otherDepartment.includes(MOBILE),
    }).toEqual({ window: false, otherDepartment: false });
  });
});
