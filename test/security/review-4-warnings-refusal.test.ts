/**
 * Review 4 (attacker's eye): `GET /v1/supervision/warnings` promises "Case numbers only, no personal
 * data" (its OpenAPI description; docs/centres.md: "No personal data appears in any of these"), and
 * an auditor never sees personal data. Its `cancellations[].refusedBy[].message` is the refusing
 * department's own words, only ID and mobile numbers masked: a name and a home address a registry
 * writes into its refusal reach every auditor of the province in clear — while a director above the
 * centre, reading the same case for supervision, is shown only their leading third.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveries } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { seedCase, seedDelivery, seedSubject } from '../../gateway/supervision/test-fixtures.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const clock = fixedClock('2026-12-18T02:00:00.000Z');
const ADDRESS = '北京市朝阳区建国路88号院3号楼1单元502';
const REASON = `申请人王秀英现住${ADDRESS}，与户籍登记地址不一致，不予迁入`;

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' }, { clock });
});
afterAll(async () => gw?.close());

describe('review 4: a department’s refusal in the supervision warnings', () => {
  it('shows an auditor the refusing department’s words, name and address, in clear', async () => {
    const subjectId = await seedSubject(gw.services.db);
    const { id: caseId, caseNumber } = await seedCase(gw.services.db, {
      subjectId,
      status: 'rejected',
      openedAt: new Date('2026-12-10T02:00:00.000Z'),
      submittedAt: new Date('2026-12-10T03:00:00.000Z'),
      acceptedOn: '2026-12-10',
      dueOn: '2026-12-17',
      completedOn: '2026-12-15',
    });
    // A joint case: PSB refused it with its reason; NRB's part could not be withdrawn through its system.
    const psb = await seedDelivery(gw.services.db, caseId, {
      department: 'PSB',
      status: 'refused',
      departmentStatus: 'rejected',
    });
    await gw.services.db.update(deliveries).set({ departmentMessage: REASON }).where(eq(deliveries.id, psb));
    const nrb = await seedDelivery(gw.services.db, caseId, { department: 'NRB', status: 'delivered' });
    await gw.services.db.update(deliveries).set({ cancelStatus: 'manual' }).where(eq(deliveries.id, nrb));

    const auditor = await gw.tokenFor('auditor');
    const response = await gw.request('/v1/supervision/warnings', { headers: bearer(auditor) });
    expect(response.status).toBe(200);
    const text = await response.text();
    const warnings = JSON.parse(text) as { cancellations: { caseNumber: string }[] };
    expect(warnings.cancellations.map((warning) => warning.caseNumber)).toContain(caseNumber);
    // Before a fix: the reason is there verbatim (maskIdentifiersInNote masks ID and mobile numbers only).
    expect({ address: text.includes(ADDRESS), name: text.includes('王秀英') }).toEqual({
      address: false,
      name: false,
    });
  });
});
