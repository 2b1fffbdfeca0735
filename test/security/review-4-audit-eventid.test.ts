/**
 * Review 4 (attacker's eye): review 3 masked the caller's own references (`onewindow-case-ref`,
 * `onewindow-operator`) in audit entries, because "an auditor reads the whole chain without a
 * purpose". A department's status callback writes its `eventId` — free text, up to 100 characters,
 * the department system's own words — into the entry's `fields` (`event:<eventId>`), unmasked. A
 * vertical system that builds its event ids from the applicant's ID number hands the number to
 * every auditor through `GET /v1/audit/entries`.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealAll } from '../../gateway/audit/sealer.js';
import { cases } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { seedCase, seedDelivery, seedSubject } from '../../gateway/supervision/test-fixtures.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';
import { findResidentIdNumbers } from './support.js';

const NOW = '2026-12-18T02:00:00.000Z';
const ID_NUMBER = '11010519491231002X';

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' }, { clock: fixedClock(NOW) });
});
afterAll(async () => gw?.close());

describe('review 4: a department’s event id in the audit feed', () => {
  it('an ID number in a status callback’s eventId is shown in clear to an auditor reading the whole chain', async () => {
    const subjectId = await seedSubject(gw.services.db);
    const { id: caseId, caseNumber } = await seedCase(gw.services.db, {
      subjectId,
      status: 'in_progress',
      openedAt: new Date('2026-12-16T02:00:00.000Z'),
    });
    await gw.services.db.update(cases).set({ acceptedOn: '2026-12-16' }).where(eq(cases.id, caseId));
    await seedDelivery(gw.services.db, caseId, { department: 'PSB', status: 'delivered' });
    const psb = await gw.tokenFor('department', ['cases:status'], { departmentCode: 'PSB' });
    const pushed = await gw.request('/v1/case-status-callbacks', {
      method: 'POST',
      headers: bearer(psb, { 'content-type': 'application/json' }),
      // The household registry's event ids: the applicant's ID number and a sequence.
      body: JSON.stringify({ caseNumber, eventId: `${ID_NUMBER}-0001`, status: 'in_progress', occurredAt: NOW }),
    });
    expect(pushed.status).toBe(200);
    await sealAll(gw.services.db, gw.services.audit.signer);

    const { client: auditor } = await gw.createClient('auditor');
    const auditorToken = (await gw.services.tokens.issue(auditor, ['audit:read'])).accessToken;
    const feed = await gw.request('/v1/audit/entries', { headers: bearer(auditorToken) });
    expect(feed.status).toBe(200);
    // Before a fix: fields ["status:in_progress", "event:11010519491231002X-0001"] (callbacks.ts).
    expect(findResidentIdNumbers(await feed.text())).toEqual([]);
  });
});
