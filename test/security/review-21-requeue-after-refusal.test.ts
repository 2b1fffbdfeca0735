/**
 * Review 21 (attacker's eye): a part of a joint case that was dead-lettered when another department
 * refused the case is neither cancelled nor withdrawn, and `POST /v1/deliveries/{id}/retry` puts it
 * back in the queue all the same: the refused case is then sent to that department (PSB moves the
 * buyer's household into a flat whose transfer NRB refused) and the department reads the whole case.
 *
 * The door: settleCase (gateway/cases/status.ts) voids only `held` and `pending` parts (cancelled)
 * and running `delivered` ones (withdrawn); a `dead` part keeps `dead`, cancelStatus null.
 * requeueDeadDelivery (gateway/cases/dispatch.ts) checks only `status === 'dead'`, not that the case
 * is still going, so the worker (claimDue: `status = 'pending' and cancel_status is null`) delivers it.
 *
 * Promise broken: docs/real-cases.md, joint cases: "The case is rejected at once and the other parts
 * are voided: a part not sent yet … is cancelled and never sent"; docs/access-policy.md `case.read`:
 * a department whose part was cancelled unsent may not read the case (reviews 16, 19).
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
let nrbToken = '';
let adminToken = '';

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
  nrbToken = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
  adminToken = await gw.tokenFor('admin');
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe('review 21: requeueing a dead part of a case another department refused', () => {
  it('is refused, and the refused case never reaches the department', async () => {
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
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'review21-requeue-1' } }),
    );

    // PSB's system is down for the one attempt allowed: its part is dead. NRB receives the case.
    psb.setFault({ kind: 'http_5xx' });
    await gw.services.deliveryWorker.runOnce();
    psb.setFault(null);
    const partOf = async (department: string) =>
      (
        await gw.services.db
          .select()
          .from(deliveries)
          .where(and(eq(deliveries.caseId, opened.id), eq(deliveries.departmentCode, department)))
      )[0];
    expect((await partOf('PSB'))?.status).toBe('dead');
    expect((await partOf('NRB'))?.status).toBe('delivered');

    // NRB refuses the transfer (不予登记): the case is rejected.
    const refused = await ok<{ caseStatus: string }>(
      await call('/v1/case-status-callbacks', {
        token: nrbToken,
        body: {
          caseNumber: opened.caseNumber,
          eventId: 'nrb-evt-refuse-1',
          status: 'rejected',
          occurredAt: '2026-12-18T01:59:00.000Z',
          message: '不予登记：材料不符',
        },
      }),
    );
    expect(refused.caseStatus).toBe('rejected');

    // Operations requeue the dead letters after PSB's outage.
    const psbPart = await partOf('PSB');
    const retry = await call(`/v1/deliveries/${psbPart?.id}/retry`, { token: adminToken, body: {} });
    await gw.services.deliveryWorker.runOnce();

    const after = await partOf('PSB');
    const read = await call(`/v1/cases/${opened.id}`, { token: psbToken, headers: purpose });
    expect({
      retry: retry.status,
      psbPartStatus: after?.status,
      psbReadsTheRefusedCase: read.status,
    }).toEqual({
      retry: 409,
      psbPartStatus: expect.not.stringMatching(/^(delivered|pending)$/),
      psbReadsTheRefusedCase: 404,
    });
  });
});
