/**
 * Review 16 (attacker's eye): a department whose part of a joint case was never sent — every
 * attempt failed, then the case was refused elsewhere and its part cancelled "not sent" — still
 * reads the whole case: the form (the buyer's name and ID number), the parties, the notice and
 * the attached materials, and the timeline.
 *
 * The door: `GET /v1/cases/{caseId}` (and `/timeline`) → `visibleCase` → `factsOfCase` →
 * `departmentsReached` (gateway/cases/cases.ts) counts a `cancelled` delivery as reached whenever
 * `attempts > 0`, so `caseRead` in gateway/access/policy.ts answers `case.delivered_to_department`.
 * But an attempt that failed (here the registry answered 5xx) delivered nothing, and `settleCase`
 * (gateway/cases/status.ts) itself cancels it as unsent (`joint_refusal` with `notSent: ['PSB']`).
 *
 * Promises broken:
 * - docs/security.md, "Who may see and change what", department system, cases: "read and report
 *   status on cases sent to it (… never one whose part was cancelled unsent)".
 * - docs/access-policy.md, `case.read`: "departments it was sent to (not a later stage's
 *   department while its part is held, nor one whose part was cancelled unsent)".
 * - schema.ts on `cancelled`: "never sent, because the case was refused elsewhere first".
 *
 * Scenario: 张三's real-estate transfer to 李梅 (NRB + PSB) is submitted. At the first delivery
 * round PSB's system answers 503 (its part stays pending, attempts 1) while NRB refuses the case
 * (business error). The case is rejected and PSB's part cancelled as not sent. PSB's department
 * client then reads the case: today 200 with the form naming 李梅 and her ID number; expected 404,
 * as for a later stage's department cancelled before any attempt (test/joint-outcomes.test.ts).
 * Control: NRB, which did receive the case, still reads it.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  type RunningNrbSimulator,
  startNrbRealEstateSimulator,
} from '../../adapters/nrb-realestate/simulator.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  type RunningPsbSimulator,
  startPsbPopulationSimulator,
} from '../../adapters/psb-population/simulator.js';
import { caseEvents, deliveries } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const LI_MEI_ID = '330106198503150120';

let psb: RunningPsbSimulator;
let nrb: RunningNrbSimulator;
let gw: TestGateway;
let windowToken = '';
let psbToken = '';
let nrbToken = '';
let zhangSan = '';

const clock = fixedClock('2026-12-18T02:00:00.000Z');
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };

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
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'PSB',
          name: 'Population registry',
          adapter: 'psb-population',
          baseUrl: psb.url,
          options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
          tuning,
        },
        {
          code: 'NRB',
          name: 'Real-estate registry',
          adapter: 'nrb-realestate',
          baseUrl: nrb.url,
          options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
          tuning,
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock },
  );
  windowToken = (await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES])).token;
  psbToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
  nrbToken = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe('review 16: a department whose part was cancelled unsent after a failed attempt', () => {
  it('may not read the case, its form or its timeline', async () => {
    const form = {
      certificateNo: SOLE_FLAT,
      transferee: { name: '李梅', idNumber: LI_MEI_ID },
      transferReason: 'sale',
    };
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call('/v1/cases', { body: { itemCode: 'real_estate_transfer', subjectId: zhangSan, form } }),
      201,
    );
    await ok(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
    await ok(await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'review16-u-1' } }));

    // First round: both registries' systems answer 503; each part stays pending, attempts 1.
    psb.setFault({ kind: 'http_5xx' });
    nrb.setFault({ kind: 'http_5xx' });
    await gw.services.deliveryWorker.runOnce();
    // NRB's retry comes first (PSB's waits for its back-off), and NRB refuses the registration.
    await gw.services.db
      .update(deliveries)
      .set({ nextAttemptAt: new Date(Date.now() - 1000) })
      .where(and(eq(deliveries.caseId, opened.id), eq(deliveries.departmentCode, 'NRB')));
    nrb.setFault({ kind: 'business_error', operation: 'submitTransferRegistration' });
    await gw.services.deliveryWorker.runOnce();
    await gw.services.deliveryWorker.cancelVoidedOnce();
    psb.setFault(null);
    nrb.setFault(null);

    const rows = await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id));
    const psbPart = rows.find((row) => row.departmentCode === 'PSB');
    const nrbPart = rows.find((row) => row.departmentCode === 'NRB');
    expect(nrbPart?.status).toBe('refused');
    // PSB never acknowledged anything: no reference, never delivered, cancelled.
    expect(psbPart).toMatchObject({ status: 'cancelled', departmentReference: null, deliveredAt: null });
    expect(psbPart?.attempts).toBeGreaterThan(0);
    expect(psb.applicationCount()).toBe(0);
    // The gateway itself records PSB's part as not sent.
    const events = await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.id));
    const refusal = events.find((event) => event.kind === 'joint_refusal');
    expect((refusal?.detail as { notSent?: string[] } | undefined)?.notSent).toEqual(['PSB']);

    // Control: NRB, to which the case was sent, reads it.
    expect((await call(`/v1/cases/${opened.id}`, { token: nrbToken })).status).toBe(200);

    // The door: PSB never received the case, yet reads its form (the buyer's ID number), parties and notice.
    const read = await call(`/v1/cases/${opened.id}`, { token: psbToken });
    const body = await read.text();
    expect(body).not.toContain(LI_MEI_ID);
    expect(read.status).toBe(404);
    expect((await call(`/v1/cases/${opened.id}/timeline`, { token: psbToken })).status).toBe(404);
  });
});
