/**
 * Results reach the applicant, end to end on PGlite with the department simulators: the window
 * picks a delivery method the item offers when it opens the case (refusals write nothing); the
 * transaction that completes the case readies a pick-up result with a 6-digit code the window
 * never sees; the applicant reads the code and how to collect in the progress look-up; the window
 * hands the result over with the code (wrong codes counted, the fifth locks collection for 30
 * minutes, a second collection refused), on the timeline and the access log.
 */
import { and, count, eq, sql } from 'drizzle-orm';
import { rowsOf } from '../gateway/db/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import {
  EXPRESS_DEMO_CHECK_WORD,
  EXPRESS_DEMO_PARTNER_ID,
  type RunningExpressSimulator,
  startExpressSimulator,
} from '../adapters/courier-express/simulator.js';
import { waybillOrderId } from '../gateway/results/courier.js';
import { auditEntries, caseEvents, caseResults, cases } from '../gateway/db/schema.js';
import type { Clock } from '../gateway/platform/clock.js';
import { pdfDocument } from './fixtures/documents.js';
import {
  type TestGateway,
  bearer,
  createTestGateway,
  problemOf,
  caseWindow,
  CASE_WINDOW_SCOPES,
  ok,
  windowCaller,
} from './harness.js';
import { simulatedDepartmentsJson } from './support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const establishmentForm = {
  companyName: '北京朝阳晨星咨询有限公司',
  registeredCapital: '100万元人民币',
  businessScope: '企业管理咨询',
};
const address = {
  province: '陕西省',
  city: '西安市',
  district: '未央区',
  detail: '凤城八路109号3单元502室',
  recipientName: '张三丰',
  recipientMobile: '13912345678',
};
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };

/** The gateway's clock: a Friday morning, moved on only by the lock test. */
let instant = new Date('2026-12-18T02:00:00.000Z').getTime();
const clock: Clock = { now: () => new Date(instant) };

let psb: RunningSimulator;
let amr: RunningSimulator;
let nrb: RunningSimulator;
let express: RunningExpressSimulator;
let gw: TestGateway;
let windowToken: string;
let windowClient: Awaited<ReturnType<TestGateway['createClient']>>['client'];
let amrToken: string;
let adminToken: string;
let zhangSan: string;

interface ResultBody {
  method: string;
  status: string;
  address: Record<string, string> | null;
  readyAt: string | null;
  collectedAt: string | null;
  pickupFailures: number;
  pickupLockedUntil: string | null;
  carrier: string | null;
  trackingNumber: string | null;
  lastRoute: { at: string; place: string; remark: string; state: string } | null;
  deliveredAt: string | null;
  courierError: string | null;
}
interface CaseBody {
  id: string;
  caseNumber: string;
  status: string;
  notice: { readyToSubmit: boolean };
  result: ResultBody | null;
}
interface ProgressBody {
  status: string;
  result: {
    method: string;
    status: string;
    pickupCode: string | null;
    carrier: string | null;
    trackingNumber: string | null;
    lastRoute: string | null;
    materialId: string | null;
    collectAt: { code: string } | null;
    howToCollect: { zh: string; en: string };
  } | null;
  timeline: { kind: string }[];
}

const call = windowCaller(
  () => gw,
  () => windowToken,
);

async function progressOf(caseNumber: string): Promise<ProgressBody> {
  return ok<ProgressBody>(
    await gw.request('/v1/progress', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ caseNumber, check: ZHANG_SAN.identifier.slice(-4) }),
    }),
  );
}

let submissions = 0;
let eventSequence = 0;

/** An establishment case opened and submitted (its materials were collected once in beforeAll). */
async function submittedCase(): Promise<CaseBody> {
  const opened = await ok<CaseBody>(
    await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
    201,
  );
  expect(opened.notice.readyToSubmit).toBe(true);
  submissions += 1;
  return ok<CaseBody>(
    await call(`/v1/cases/${opened.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': `results-submit-${submissions}` },
    }),
  );
}

/** AMR reports its part completed, a second after its last event. */
async function complete(caseNumber: string): Promise<string> {
  eventSequence += 1;
  const occurredAt = new Date(instant + eventSequence * 1000).toISOString();
  const answer = await ok<{ caseStatus: string }>(
    await call('/v1/case-status-callbacks', {
      body: { caseNumber, eventId: `results-amr-${eventSequence}`, status: 'completed', occurredAt },
      token: amrToken,
    }),
  );
  return answer.caseStatus;
}

function collect(caseId: string, pickupCode: string): Promise<Response> {
  return call(`/v1/cases/${caseId}/result/collection`, {
    body: { pickupCode },
    headers: { 'onewindow-operator': 'op-window-7' },
  });
}

async function countRows(): Promise<{ cases: number; results: number }> {
  const [caseCount] = await gw.services.db.select({ n: count() }).from(cases);
  const [resultCount] = await gw.services.db.select({ n: count() }).from(caseResults);
  return { cases: caseCount?.n ?? 0, results: resultCount?.n ?? 0 };
}

/** A code that is not `code` (its last digit moved on). */
function otherThan(code: string): string {
  return code.slice(0, 5) + String((Number(code[5]) + 1) % 10);
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  nrb = await startNrbRealEstateSimulator();
  express = await startExpressSimulator({ now: () => instant, unservedProvinces: ['西藏自治区'] });
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: nrb.url }, tuning),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
      COURIER_WORKER: 'false',
      COURIER_JSON: JSON.stringify({
        baseUrl: express.url,
        options: {
          partnerId: EXPRESS_DEMO_PARTNER_ID,
          checkWord: { $env: 'TEST_EXPRESS_CHECK_WORD' },
          carrierName: '顺丰速运',
        },
        tuning,
        sender: {
          name: '未央区政务服务中心',
          mobile: '13800000000',
          province: '陕西省',
          city: '西安市',
          district: '未央区',
          detail: '凤城八路109号',
        },
        contents: '营业执照',
        delivery: { maxAttempts: 3, backoffBaseMs: 0, backoffMaxMs: 0 },
        routes: { pollIntervalMs: 0 },
      }),
      TEST_EXPRESS_CHECK_WORD: EXPRESS_DEMO_CHECK_WORD,
    },
    { clock },
  );
  const window = await caseWindow(gw);
  windowClient = window.client;
  windowToken = window.token;
  amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
  adminToken = await gw.tokenFor('admin');
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;

  const first = await ok<CaseBody>(
    await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
    201,
  );
  await ok(await call(`/v1/cases/${first.id}/certificates`, { body: {} }));
  const uploaded = await gw.request(
    `/v1/subjects/${zhangSan}/materials?typeCode=articles_of_association&fileName=articles.pdf`,
    {
      method: 'POST',
      headers: bearer(windowToken, { ...purpose, 'content-type': 'application/pdf' }),
      body: Buffer.from(pdfDocument('articles')),
    },
  );
  await ok(
    await call(`/v1/cases/${first.id}/materials`, {
      body: { requirementCode: 'articles', materialId: (await ok<{ id: string }>(uploaded, 201)).id },
    }),
  );
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close(), express?.close()]);
});

describe('delivery methods per item', () => {
  it('are declared by the catalogue: the flat transfer offers pick-up and courier; the others pick-up', async () => {
    const { items } = await ok<{ items: { code: string; resultDeliveries: string[] }[] }>(
      await call('/v1/items', { token: await gw.tokenFor('window', ['contracts:read']) }),
    );
    const offered = Object.fromEntries(items.map((item) => [item.code, item.resultDeliveries]));
    expect(offered['real_estate_transfer']).toEqual(['window_pickup', 'express']);
    expect(offered['enterprise_establishment']).toEqual(['window_pickup', 'electronic']);
  });

  it('refuses an item naming a method twice, or offering electronic delivery without a declared result certificate, with 422 item_invalid', async () => {
    const current = await ok<Record<string, unknown>>(await call('/v1/items/household_move_in', { token: adminToken }));
    const { code: _code, ...body } = current;
    const refused = await call('/v1/items/household_move_in', {
      method: 'PUT',
      body: { ...body, resultDeliveries: ['window_pickup', 'window_pickup'] },
      token: adminToken,
    });
    expect(refused.status).toBe(422);
    const problem = await problemOf(refused);
    expect(problem.code).toBe('item_invalid');
    expect(problem['problems']).toContain('resultDeliveries names a method more than once');
    const electronic = await problemOf(
      await call('/v1/items/household_move_in', {
        method: 'PUT',
        body: { ...body, resultDeliveries: ['window_pickup', 'electronic'] },
        token: adminToken,
      }),
    );
    expect(electronic.code).toBe('item_invalid');
    expect(electronic['problems']).toContain(
      'electronic result delivery (电子证照) needs resultCertificate: the certificate type the result is and the department that issues it',
    );
    const after = await ok<{ resultDeliveries: string[] }>(
      await call('/v1/items/household_move_in', { token: adminToken }),
    );
    expect(after.resultDeliveries).toEqual(['window_pickup']);
  });

  it('takes the window’s choice at opening, masking the courier address in every answer', async () => {
    const response = await call('/v1/cases', {
      body: { itemCode: 'real_estate_transfer', subjectId: zhangSan, resultDelivery: { method: 'express', address } },
    });
    const text = await response.clone().text();
    const opened = await ok<CaseBody>(response, 201);
    expect(opened.result).toEqual({
      method: 'express',
      status: 'preparing',
      address: {
        province: '陕西省',
        city: '西安市',
        district: '未央区',
        detail: `凤城${'*'.repeat(13)}`,
        recipientName: '张**',
        recipientMobile: '139****5678',
      },
      readyAt: null,
      collectedAt: null,
      pickupFailures: 0,
      pickupLockedUntil: null,
      carrier: null,
      trackingNumber: null,
      lastRoute: null,
      deliveredAt: null,
      courierError: null,
      materialId: null,
    });
    for (const secret of [address.detail, address.recipientName, address.recipientMobile])
      expect(text).not.toContain(secret);
    const readText = await (await call(`/v1/cases/${opened.id}`)).text();
    expect(JSON.parse(readText)).toMatchObject({
      result: { method: 'express', address: { recipientMobile: '139****5678' } },
    });
    for (const secret of [address.detail, address.recipientName, address.recipientMobile])
      expect(readText).not.toContain(secret);
    const [stored] = await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, opened.id));
    expect(stored?.address).toEqual(address);
    // As kept: sealed when DATA_PROTECTION is on (the suite's SM4 pass), else in clear.
    const [kept] = rowsOf<{ address: string }>(
      await gw.services.db.execute(sql`select address::text as address from case_results where case_id = ${opened.id}`),
    );
    if (gw.config.protection.mode === 'off') expect(kept?.address).toContain(address.recipientName);
    else expect(kept?.address).not.toContain(address.recipientName);
    // Nothing but the choice: the window's own default is pick-up.
    const plain = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'real_estate_transfer', subjectId: zhangSan } }),
      201,
    );
    expect(plain.result).toMatchObject({ method: 'window_pickup', status: 'preparing', address: null });
  });

  it('refuses a method the item does not offer, and an address that does not fit the method, writing nothing', async () => {
    const before = await countRows();
    const refusals: [unknown, number, string][] = [
      [{ method: 'express', address }, 422, 'result_delivery_not_offered'],
      [{ method: 'electronic', address }, 422, 'result_delivery_address_not_applicable'],
      [{ method: 'window_pickup', address }, 422, 'result_delivery_address_not_applicable'],
      [{ method: 'pigeon' }, 400, 'validation_failed'],
      [{ method: 'express', address: { ...address, recipientMobile: '12345678901' } }, 400, 'validation_failed'],
    ];
    for (const [resultDelivery, status, code] of refusals) {
      const response = await call('/v1/cases', {
        body: { itemCode: 'enterprise_establishment', subjectId: zhangSan, resultDelivery },
      });
      expect(response.status, JSON.stringify(resultDelivery)).toBe(status);
      const problem = await problemOf(response);
      expect(problem.code).toBe(code);
      expect(JSON.stringify(problem)).not.toContain(address.recipientMobile);
    }
    const notOffered = await problemOf(
      await call('/v1/cases', {
        body: {
          itemCode: 'enterprise_establishment',
          subjectId: zhangSan,
          resultDelivery: { method: 'express', address },
        },
      }),
    );
    expect(notOffered).toMatchObject({ method: 'express', offered: ['window_pickup', 'electronic'] });
    const noAddress = await call('/v1/cases', {
      body: { itemCode: 'real_estate_transfer', subjectId: zhangSan, resultDelivery: { method: 'express' } },
    });
    expect([noAddress.status, (await problemOf(noAddress)).code]).toEqual([422, 'result_delivery_address_required']);
    expect(await countRows()).toEqual(before);
  });
});

describe('a result collected at the window', () => {
  let submitted: CaseBody;
  let pickupCode: string;

  it('is not ready before the case completes: collecting is 409 result_not_ready', async () => {
    submitted = await submittedCase();
    expect(submitted.result).toMatchObject({ method: 'window_pickup', status: 'preparing' });
    const early = await collect(submitted.id, '123456');
    expect([early.status, (await problemOf(early)).code]).toEqual([409, 'result_not_ready']);
    expect((await progressOf(submitted.caseNumber)).result).toMatchObject({ status: 'preparing', pickupCode: null });
  });

  it('gets a 6-digit pick-up code in the transaction that completes the case; the window never sees it', async () => {
    expect(await complete(submitted.caseNumber)).toBe('completed');
    const [stored] = await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, submitted.id));
    expect(stored?.status).toBe('ready_for_pickup');
    pickupCode = stored?.pickupCode ?? '';
    expect(pickupCode).toMatch(/^\d{6}$/);
    const readText = await (await call(`/v1/cases/${submitted.id}`)).text();
    expect(JSON.parse(readText)).toMatchObject({
      status: 'completed',
      result: { method: 'window_pickup', status: 'ready_for_pickup', readyAt: expect.any(String) },
    });
    expect(readText).not.toContain('pickupCode');
    const timelineText = await (await call(`/v1/cases/${submitted.id}/timeline`)).text();
    expect(timelineText).toContain('result_ready');
    expect(timelineText).not.toContain(pickupCode);
  });

  it('shows the applicant the code, the centre and how to collect in Chinese and English in the progress look-up', async () => {
    const progress = await progressOf(submitted.caseNumber);
    expect(progress.result).toEqual({
      method: 'window_pickup',
      status: 'ready_for_pickup',
      pickupCode,
      carrier: null,
      trackingNumber: null,
      lastRoute: null,
      materialId: null,
      collectAt: null,
      certificate: null,
      howToCollect: {
        zh: `请携带本人有效身份证件到受理窗口，向窗口出示取件码${pickupCode}领取办理结果。`,
        en: `Collect the result at the service window: bring your identity document and give the pick-up code ${pickupCode} at the window.`,
      },
    });
    expect(progress.timeline.map((event) => event.kind)).toContain('result_ready');
  });

  it('refuses a wrong code with 422 pickup_code_mismatch, counted, and audited as refused', async () => {
    const wrong = await collect(submitted.id, otherThan(pickupCode));
    expect(wrong.status).toBe(422);
    expect(await problemOf(wrong)).toMatchObject({ code: 'pickup_code_mismatch', failures: 1, remainingTries: 4 });
    const [stored] = await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, submitted.id));
    expect(stored).toMatchObject({ status: 'ready_for_pickup', pickupFailures: 1, collectedAt: null });
    const denied = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.result_collect'),
          eq(auditEntries.outcome, 'denied'),
          eq(auditEntries.caseRef, submitted.caseNumber),
        ),
      );
    expect(denied).toHaveLength(1);
  });

  it('hands the result over with the right code: on the timeline, the access log and the progress look-up; a second time is 409', async () => {
    const answer = await ok<{ caseNumber: string; result: ResultBody }>(await collect(submitted.id, pickupCode));
    expect(answer).toEqual({
      caseNumber: submitted.caseNumber,
      result: expect.objectContaining({
        method: 'window_pickup',
        status: 'collected',
        address: null,
        readyAt: expect.any(String),
        collectedAt: clock.now().toISOString(),
        pickupFailures: 0,
        pickupLockedUntil: null,
        trackingNumber: null,
      }),
    });
    const timeline = await ok<{ items: { kind: string; detail: Record<string, unknown> }[] }>(
      await call(`/v1/cases/${submitted.id}/timeline`),
    );
    expect(timeline.items.find((item) => item.kind === 'result_collected')?.detail).toEqual({
      method: 'window_pickup',
      by: 'op-window-7',
    });
    const allowed = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.result_collect'),
          eq(auditEntries.outcome, 'allowed'),
          eq(auditEntries.caseRef, submitted.caseNumber),
        ),
      );
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ subjectRef: zhangSan, operatorId: 'op-window-7' });
    const again = await collect(submitted.id, pickupCode);
    expect([again.status, (await problemOf(again)).code]).toEqual([409, 'result_already_collected']);
    const progress = await progressOf(submitted.caseNumber);
    expect(progress.result).toMatchObject({
      status: 'collected',
      pickupCode: null,
      howToCollect: { zh: '办理结果已领取。', en: 'The result has been collected.' },
    });
    expect(progress.timeline.map((event) => event.kind)).toContain('result_collected');
  });

  it('locks collection for 30 minutes at the fifth wrong code, even for the right one; then counts afresh', async () => {
    const other = await submittedCase();
    await complete(other.caseNumber);
    const [stored] = await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, other.id));
    const code = stored?.pickupCode ?? '';
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const wrong = await collect(other.id, otherThan(code));
      expect(await problemOf(wrong)).toMatchObject({ code: 'pickup_code_mismatch', failures: attempt });
    }
    const locked = await collect(other.id, code);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1800');
    expect((await problemOf(locked)).code).toBe('pickup_code_locked');
    expect((await ok<CaseBody>(await call(`/v1/cases/${other.id}`))).result).toMatchObject({
      status: 'ready_for_pickup',
      pickupFailures: 5,
      pickupLockedUntil: new Date(instant + 30 * 60_000).toISOString(),
    });
    instant += 30 * 60_000 + 1000;
    // Tokens expire on the gateway's clock too.
    windowToken = (await gw.services.tokens.issue(windowClient, [...CASE_WINDOW_SCOPES])).accessToken;
    const fresh = await collect(other.id, otherThan(code));
    expect(await problemOf(fresh)).toMatchObject({ code: 'pickup_code_mismatch', failures: 1 });
    expect((await ok<{ result: ResultBody }>(await collect(other.id, code))).result.status).toBe('collected');
  });

  it('is not collected at the window when the result goes by courier: 409 result_not_for_pickup', async () => {
    const posted = await ok<CaseBody>(
      await call('/v1/cases', {
        body: { itemCode: 'real_estate_transfer', subjectId: zhangSan, resultDelivery: { method: 'express', address } },
      }),
      201,
    );
    const refused = await collect(posted.id, '123456');
    expect([refused.status, (await problemOf(refused)).code]).toEqual([409, 'result_not_for_pickup']);
  });

  it('is collected only by a window that may change the case: another window gets 404, audited', async () => {
    const stranger = await gw.tokenFor('window', ['cases:write']);
    const hidden = await call(`/v1/cases/${submitted.id}/result/collection`, {
      body: { pickupCode: '123456' },
      token: stranger,
    });
    expect([hidden.status, (await problemOf(hidden)).code]).toEqual([404, 'not_found']);
    const refusals = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.result_collect'),
          eq(auditEntries.outcome, 'not_found'),
          eq(auditEntries.subjectRef, zhangSan),
        ),
      );
    expect(refusals.length).toBeGreaterThan(0);
  });
});

describe('a result sent by courier', () => {
  let posted: CaseBody;
  const worker = () => gw.services.courier.worker!;
  const resultOf = async (caseId: string) =>
    (await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, caseId)))[0];
  const eventsOf = async (caseId: string, kind: string) =>
    gw.services.db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.kind, kind)));

  /** An establishment case by courier to `to`, submitted and completed. */
  async function completedByCourier(to: typeof address): Promise<CaseBody> {
    const opened = await ok<CaseBody>(
      await call('/v1/cases', {
        body: {
          itemCode: 'enterprise_establishment',
          subjectId: zhangSan,
          resultDelivery: { method: 'express', address: to },
        },
      }),
      201,
    );
    submissions += 1;
    await ok(
      await call(`/v1/cases/${opened.id}/submit`, {
        body: { form: establishmentForm },
        headers: { 'idempotency-key': `results-submit-${submissions}` },
      }),
    );
    expect(await complete(opened.caseNumber)).toBe('completed');
    return opened;
  }

  beforeAll(async () => {
    // The lock test moved the clock past the first tokens' lifetime.
    adminToken = await gw.tokenFor('admin');
    amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
    // The item offers courier delivery from now on.
    const current = await ok<Record<string, unknown>>(
      await call('/v1/items/enterprise_establishment', { token: adminToken }),
    );
    const { code: _code, ...body } = current;
    await ok(
      await call('/v1/items/enterprise_establishment', {
        method: 'PUT',
        body: { ...body, resultDeliveries: ['window_pickup', 'express', 'electronic'] },
        token: adminToken,
      }),
    );
  });

  it('is due for a waybill in the transaction that completes the case; a failing platform is retried, and a lost answer makes no second parcel', async () => {
    posted = await completedByCourier(address);
    expect(await resultOf(posted.id)).toMatchObject({
      status: 'preparing',
      nextAttemptAt: expect.any(Date),
      attempts: 0,
    });
    // The platform is down: the attempt fails, the result stays due, nothing was ordered.
    express.setFault({ kind: 'http_5xx', times: 2 });
    expect(await worker().makeWaybillsOnce()).toBe(0);
    expect(await resultOf(posted.id)).toMatchObject({
      status: 'preparing',
      attempts: 1,
      leaseOwner: null,
      trackingNumber: null,
    });
    expect((await resultOf(posted.id))?.lastError).toMatch(/^unavailable/);
    expect((await ok<CaseBody>(await call(`/v1/cases/${posted.id}`))).result?.courierError).toMatch(/^unavailable/);
    expect(express.orders()).toHaveLength(0);
    // The order is taken but the answer lost (cut short): the next attempt asks again under the same order id.
    express.setFault({ kind: 'malformed', times: 1 });
    expect(await worker().makeWaybillsOnce()).toBe(0);
    expect(express.orders()).toHaveLength(1);
    expect(await worker().makeWaybillsOnce()).toBe(1);
    const orders = express.orders().filter((order) => order.orderId === waybillOrderId(posted.id));
    expect(orders).toHaveLength(1);
    expect(express.orders()).toHaveLength(1);
    expect(orders[0]).toMatchObject({
      cargoDesc: '营业执照',
      recipient: { contact: '张三丰', mobile: '13912345678', province: '陕西省', county: '未央区' },
      sender: { contact: '未央区政务服务中心' },
    });
    const shipped = await resultOf(posted.id);
    expect(shipped).toMatchObject({
      status: 'shipped',
      carrier: '顺丰速运',
      trackingNumber: orders[0]!.trackingNumber,
      attempts: 3,
      nextAttemptAt: null,
      lastError: null,
    });
    expect((await eventsOf(posted.id, 'result_shipped')).map((event) => event.detail)).toEqual([
      { method: 'express', carrier: '顺丰速运', trackingNumber: orders[0]!.trackingNumber },
    ]);
    // Nothing more is due: another pass orders nothing.
    expect(await worker().makeWaybillsOnce()).toBe(0);
    expect(express.requestCount('api')).toBeGreaterThan(0);
  });

  it('follows the route to 签收: the applicant sees carrier, tracking number and the newest route, then delivered', async () => {
    const trackingNumber = (await resultOf(posted.id))!.trackingNumber!;
    instant += 1000;
    expect(await worker().trackOnce()).toBe(0);
    let progress = await progressOf(posted.caseNumber);
    expect(progress.result).toMatchObject({
      method: 'express',
      status: 'shipped',
      carrier: '顺丰速运',
      trackingNumber,
      pickupCode: null,
      collectAt: null,
    });
    expect(progress.result?.lastRoute).toContain('顺丰速运 已收取快件');
    expect(progress.result?.howToCollect.zh).toBe(
      `办理结果已交顺丰速运寄出，运单号${trackingNumber}，可在快递公司查询物流；签收时请核对本人身份。`,
    );
    express.advance(trackingNumber, 'out_for_delivery');
    express.advance(trackingNumber, 'delivered');
    instant += 1000;
    expect(await worker().trackOnce()).toBe(1);
    progress = await progressOf(posted.caseNumber);
    expect(progress.result).toMatchObject({ status: 'delivered', trackingNumber });
    expect(progress.result?.lastRoute).toContain('快件已签收');
    expect(progress.timeline.map((event) => event.kind)).toEqual(
      expect.arrayContaining(['result_shipped', 'result_delivered']),
    );
    const view = await ok<CaseBody>(await call(`/v1/cases/${posted.id}`));
    expect(view.result).toMatchObject({
      status: 'delivered',
      trackingNumber,
      deliveredAt: expect.any(String),
      lastRoute: { state: 'delivered' },
    });
    // A carrier's remark naming who signed, with a number, passes on masked to window and applicant.
    const [stored] = await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, posted.id));
    const signedBy = { ...stored!.lastRoute!, remark: '快件已签收，签收人：门卫 13812345678，证件 11010519491231002X' };
    await gw.services.db.update(caseResults).set({ lastRoute: signedBy }).where(eq(caseResults.caseId, posted.id));
    const shown = [
      (await ok<CaseBody>(await call(`/v1/cases/${posted.id}`))).result?.lastRoute?.remark,
      (await progressOf(posted.caseNumber)).result?.lastRoute,
    ];
    for (const remark of shown) {
      expect(remark).toContain('签收人：门卫 138****5678');
      expect(remark).not.toContain('13812345678');
      expect(remark).not.toContain('19491231');
    }
    await gw.services.db
      .update(caseResults)
      .set({ lastRoute: stored!.lastRoute })
      .where(eq(caseResults.caseId, posted.id));
    instant += 1000;
    expect(await worker().trackOnce()).toBe(0);
    expect(await eventsOf(posted.id, 'result_delivered')).toHaveLength(1);
  });

  it('leaves a refused waybill (an area the carrier does not serve) to a clerk at once: no retry, the reason on the case', async () => {
    const before = express.orders().length;
    const refused = await completedByCourier({
      ...address,
      province: '西藏自治区',
      city: '拉萨市',
      district: '城关区',
    });
    expect(await worker().makeWaybillsOnce()).toBe(0);
    const row = await resultOf(refused.id);
    expect(row).toMatchObject({ status: 'preparing', attempts: 1, nextAttemptAt: null });
    expect(row?.lastError).toContain('business_error 8114');
    expect(await eventsOf(refused.id, 'result_shipping_failed')).toHaveLength(1);
    expect(await worker().makeWaybillsOnce()).toBe(0);
    expect(express.orders()).toHaveLength(before);
  });
});
