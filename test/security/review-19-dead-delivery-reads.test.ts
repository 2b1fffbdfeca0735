/**
 * Review 19 (attacker's eye): a department whose part of a case was never delivered — every
 * attempt failed and the delivery was dead-lettered — still reads the whole case: the form (the
 * buyer's name and ID number, masked or not), the parties and the timeline.
 *
 * The door: `GET /v1/cases/{caseId}` → `visibleCase` → `factsOfCase` → `departmentsReached`
 * (gateway/cases/cases.ts) leaves out only `held` and `cancelled` deliveries, so a `dead` one
 * counts as reached and `caseRead` (gateway/access/policy.ts) answers
 * `case.delivered_to_department`. The gateway itself says otherwise one route away: the status
 * callback of that department is refused with 「Case … never reached PSB: its delivery failed」
 * (`callback.delivery_failed`, gateway/cases/status.ts).
 *
 * Promises broken: docs/access-policy.md, `case.read`: "departments it was sent to"; docs/security.md,
 * department system: "read and report status on cases sent to it" — review 16 took a cancelled part
 * whose attempts all failed out of "sent to"; a dead-lettered part is the same nothing delivered.
 *
 * Scenario: 张三 sells his flat to 李梅 (NRB + PSB). PSB's system answers 503 on the one attempt
 * allowed (DELIVERY_MAX_ATTEMPTS=1): PSB's part is dead. Control: PSB's status callback is refused
 * as never reached. Expected: PSB's read of the case is the same 404 as a case not sent to it.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNrbSimulator, startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { deliveries } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const LI_MEI_ID = '330106198503150120';

let psb: RunningPsbSimulator;
let nrb: RunningNrbSimulator;
let gw: TestGateway;
let windowToken = '';
let psbToken = '';

const purpose = { 'onewindow-purpose': 'case_acceptance' };

function call(path: string, init: { body?: unknown; headers?: Record<string, string>; token?: string } = {}) {
  return gw.request(path, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: bearer(init.token ?? windowToken, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
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
      DELIVERY_MAX_ATTEMPTS: '1',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  windowToken = (await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES])).token;
  psbToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe('review 19: a department whose part was dead-lettered', () => {
  it('may not read the case it never received', async () => {
    const zhangSan = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
        201,
      )
    ).id;
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call('/v1/cases', {
        body: {
          itemCode: 'real_estate_transfer',
          subjectId: zhangSan,
          form: { certificateNo: SOLE_FLAT, transferee: { name: '李梅', idNumber: LI_MEI_ID }, transferReason: 'sale' },
        },
      }),
      201,
    );
    await ok(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
    await ok(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'review19-dead-1' } }),
    );

    psb.setFault({ kind: 'http_5xx' });
    await gw.services.deliveryWorker.runOnce();
    psb.setFault(null);

    const [psbPart] = await gw.services.db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.caseId, opened.id), eq(deliveries.departmentCode, 'PSB')));
    expect(psbPart).toMatchObject({ status: 'dead', deliveredAt: null, departmentReference: null });

    // Control: the gateway itself refuses PSB's status for this case as never reached.
    const callback = await call('/v1/case-status-callbacks', {
      token: psbToken,
      body: {
        caseNumber: opened.caseNumber,
        eventId: 'psb-evt-1',
        status: 'received',
        occurredAt: '2026-12-18T01:59:00.000Z',
      },
    });
    expect(callback.status).toBe(403);
    expect(((await callback.json()) as { code: string }).code).toBe('callback_wrong_department');

    // PSB reads the case (and so the form naming 李梅) all the same.
    const read = await call(`/v1/cases/${opened.id}`, { token: psbToken, headers: purpose });
    const timeline = await call(`/v1/cases/${opened.id}/timeline`, { token: psbToken, headers: purpose });
    expect({ case: read.status, timeline: timeline.status }).toEqual({ case: 404, timeline: 404 });
  });
});
