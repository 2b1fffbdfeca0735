/**
 * Issue 17, joint cases as they really end: one department refusing rejects the case with its
 * reason verbatim and voids the other parts (withdrawn through the department's cancel where its
 * system has one — PSB's 撤回申请 — otherwise a supervision warning until someone withdraws it by
 * hand); an item whose parts stand alone ends partially rejected; a staged item starts its next
 * stage only when the one before has completed. Real NRB and PSB simulators; the delivery worker
 * is driven by hand; the gateway's clock stands still.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  type RunningNrbSimulator,
  startNrbRealEstateSimulator,
} from '../adapters/nrb-realestate/simulator.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  type RunningPsbSimulator,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import { caseEvents, deliveries } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway, problemOf, caseWindow, CASE_WINDOW_SCOPES } from './harness.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const LI_MEI = { idNumber: '330106198503150120', name: '李梅' };

interface Delivery {
  department: string;
  status: string;
  stage: number;
  departmentStatus: string | null;
  departmentMessage: string | null;
  cancelStatus: string | null;
}
interface CaseBody {
  id: string;
  parties?: { role: string; subjectId: string }[];
  caseNumber: string;
  status: string;
  notice: { readyToSubmit: boolean };
  deliveries: Delivery[];
}

let psb: RunningPsbSimulator;
let nrb: RunningNrbSimulator;
let gw: TestGateway;
let windowToken: string;
let adminToken: string;
let psbToken: string;
let nrbToken: string;
let zhangSan: string;
let sequence = 0;

const clock = fixedClock('2026-12-18T02:00:00.000Z');
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };

async function call(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; token?: string } = {},
): Promise<Response> {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(init.token ?? windowToken, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Opens the item for 张三 naming his sole flat, fetches what the departments supply, submits. */
async function submitted(itemCode: string): Promise<CaseBody> {
  const form = {
    certificateNo: SOLE_FLAT,
    transferee: { name: '李梅', idNumber: '330106198503150120' },
    transferReason: 'sale',
  };
  const opened = await ok<CaseBody>(await call('/v1/cases', { body: { itemCode, subjectId: zhangSan, form } }), 201);
  const fetched = (await ok<{ case: CaseBody }>(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }))).case;
  expect(fetched.notice.readyToSubmit).toBe(true);
  sequence += 1;
  return ok<CaseBody>(
    await call(`/v1/cases/${opened.id}/submit`, {
      body: {},
      headers: { 'idempotency-key': `joint-outcome-${sequence}` },
    }),
  );
}

async function read(caseId: string): Promise<CaseBody> {
  return ok<CaseBody>(await call(`/v1/cases/${caseId}`));
}

function part(body: CaseBody, department: string): Delivery {
  const found = body.deliveries.find((delivery) => delivery.department === department);
  if (!found) throw new Error(`no delivery to ${department}`);
  return found;
}

async function push(caseNumber: string, token: string, status: string, message?: string): Promise<string> {
  sequence += 1;
  const answer = await ok<{ caseStatus: string }>(
    await call('/v1/case-status-callbacks', {
      body: {
        caseNumber,
        eventId: `evt-${sequence}`,
        status,
        occurredAt: clock.now().toISOString(),
        ...(message ? { message } : {}),
      },
      token,
    }),
  );
  return answer.caseStatus;
}

async function eventKinds(caseId: string): Promise<string[]> {
  return (
    await gw.services.db.select().from(caseEvents).where(eq(caseEvents.caseId, caseId)).orderBy(caseEvents.id)
  ).map((event) => event.kind);
}

const worker = () => gw.services.deliveryWorker;

/** A joint NRB + PSB item derived from the seeded transfer, with its own stages or partial rule. */
async function jointItem(code: string, rules: { stages?: string[][]; allowsPartial?: boolean }): Promise<void> {
  const seeded = await ok<Record<string, unknown>>(await call('/v1/items/real_estate_transfer'));
  const { code: _code, ...definition } = seeded;
  const response = await call(`/v1/items/${code}`, {
    method: 'PUT',
    token: adminToken,
    body: { ...definition, name: `Transfer (${code})`, ...rules },
  });
  if (response.status !== 201 && response.status !== 200)
    throw new Error(`item ${code}: ${response.status} ${await response.text()}`);
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
  const window = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES, 'contracts:read']);
  windowToken = window.token;
  adminToken = await gw.tokenFor('admin');
  psbToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
  nrbToken = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;
});

afterEach(() => {
  nrb.setFault(null);
  psb.setFault(null);
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe('one department refuses a joint case', () => {
  it("at delivery: the case is rejected with the registry's reason verbatim, and PSB's part is withdrawn through its 撤回申请", async () => {
    const body = await submitted('real_estate_transfer');
    nrb.setFault({ kind: 'business_error', operation: 'submitTransferRegistration' });
    expect(await worker().runOnce()).toBe(2);
    // Whatever order the two attempts finished in, PSB's part is to be withdrawn now.
    expect(await worker().cancelVoidedOnce()).toBe(1);

    const after = await read(body.id);
    expect(after.status).toBe('rejected');
    expect(part(after, 'NRB')).toMatchObject({
      status: 'refused',
      departmentStatus: 'rejected',
      departmentMessage: '业务系统拒绝办理该请求',
    });
    expect(part(after, 'PSB')).toMatchObject({ status: 'delivered', cancelStatus: 'cancelled' });
    // The registry itself shows the application withdrawn (06 已撤回).
    const [psbDelivery] = await gw.services.db
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, body.id))
      .orderBy(deliveries.departmentCode)
      .offset(1);
    expect(psb.applications().find((application) => application.slbh === psbDelivery?.departmentReference)?.blzt).toBe(
      '06',
    );
    expect(await eventKinds(body.id)).toEqual(
      expect.arrayContaining(['department_refused', 'joint_refusal', 'rejected', 'department_cancelled']),
    );

    // The applicant sees the outcome and NRB's reason, and that PSB's part was withdrawn.
    const progress = await gw.request('/v1/progress', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ caseNumber: body.caseNumber, check: '002X' }),
    });
    expect(await ok(progress)).toMatchObject({
      status: 'rejected',
      departments: [
        { department: 'NRB', status: 'rejected', reason: '业务系统拒绝办理该请求', withdrawn: false },
        { department: 'PSB', withdrawn: true },
      ],
    });
    // Nothing is left for supervision to chase.
    const warnings = await ok<{ counts: { cancellationsByHand: number } }>(
      await call('/v1/supervision/warnings', { token: adminToken }),
    );
    expect(warnings.counts.cancellationsByHand).toBe(0);

    // PSB's part is withdrawn: a later status from PSB (here one that would complete it) is refused
    // and nothing is filed on the rejected case.
    const eventsBefore = await eventKinds(body.id);
    sequence += 1;
    const late = await call('/v1/case-status-callbacks', {
      body: {
        caseNumber: body.caseNumber,
        eventId: `evt-${sequence}`,
        status: 'completed',
        occurredAt: clock.now().toISOString(),
      },
      token: psbToken,
    });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { code: string }).code).toBe('case_already_final');
    expect(await eventKinds(body.id)).toEqual(eventsBefore);
    expect((await read(body.id)).status).toBe('rejected');
    expect(part(await read(body.id), 'PSB').departmentStatus).not.toBe('completed');
  });

  it("by status: NRB's part cannot be withdrawn automatically (its system has no cancel), so supervision warns until someone records it was done", async () => {
    const body = await submitted('real_estate_transfer');
    expect(await worker().runOnce()).toBe(2);
    expect(await push(body.caseNumber, psbToken, 'rejected', '申请人有在办的户籍迁移业务')).toBe('rejected');
    expect(await worker().cancelVoidedOnce()).toBe(1);
    const after = await read(body.id);
    expect(part(after, 'PSB')).toMatchObject({
      departmentStatus: 'rejected',
      departmentMessage: '申请人有在办的户籍迁移业务',
      cancelStatus: null,
    });
    expect(part(after, 'NRB')).toMatchObject({ status: 'delivered', cancelStatus: 'manual' });

    const warnings = await ok<{
      cancellations: { caseNumber: string; department: string; deliveryId: string; refusedBy: unknown[] }[];
    }>(await call('/v1/supervision/warnings', { token: adminToken }));
    const warning = warnings.cancellations.find((entry) => entry.caseNumber === body.caseNumber);
    // Who refused, not their words: warnings carry no personal data (review 4).
    expect(warning).toMatchObject({ department: 'NRB', refusedBy: [{ department: 'PSB' }] });

    const handled = await call(`/v1/deliveries/${warning!.deliveryId}/cancellation-handled`, {
      token: adminToken,
      body: { note: '已电话联系不动产登记中心撤件' },
    });
    expect(await ok(handled)).toMatchObject({ cancelStatus: 'handled' });
    const again = await call(`/v1/deliveries/${warning!.deliveryId}/cancellation-handled`, {
      token: adminToken,
      body: { note: 'again' },
    });
    expect(again.status).toBe(409);
    const later = await ok<{ cancellations: { caseNumber: string }[] }>(
      await call('/v1/supervision/warnings', { token: adminToken }),
    );
    expect(later.cancellations.some((entry) => entry.caseNumber === body.caseNumber)).toBe(false);
    // A department cannot report on a part of a concluded case any more than before: its refusal stands.
    expect(await eventKinds(body.id)).toEqual(
      expect.arrayContaining(['joint_refusal', 'cancel_by_hand', 'cancel_handled']),
    );
  });
});

describe('an item whose parts stand alone', () => {
  it('ends partially rejected once the other department completed, and keeps each reason', async () => {
    await jointItem('transfer_parts_alone', { allowsPartial: true });
    const body = await submitted('transfer_parts_alone');
    expect(await worker().runOnce()).toBe(2);
    expect(await push(body.caseNumber, psbToken, 'rejected', '申请人有在办的户籍迁移业务')).toBe('in_progress');
    expect(await worker().cancelVoidedOnce()).toBe(0);
    expect(await push(body.caseNumber, nrbToken, 'completed')).toBe('partially_rejected');
    const after = await read(body.id);
    expect(after.status).toBe('partially_rejected');
    expect(part(after, 'NRB')).toMatchObject({ departmentStatus: 'completed', cancelStatus: null });
  });
});

describe('a staged item', () => {
  it('sends PSB its part only when NRB has completed the registration', async () => {
    await jointItem('transfer_in_stages', { stages: [['NRB'], ['PSB']] });
    const body = await submitted('transfer_in_stages');
    expect(body.deliveries.map((delivery) => [delivery.department, delivery.stage, delivery.status])).toEqual([
      ['NRB', 1, 'pending'],
      ['PSB', 2, 'held'],
    ]);
    expect(await worker().runOnce()).toBe(1);
    expect(part(await read(body.id), 'PSB').status).toBe('held');
    // The later stage's department does not see the case (its form, the buyer) before its stage.
    const psbReads = () => call(`/v1/cases/${body.id}`, { token: psbToken });
    expect((await psbReads()).status).toBe(404);
    expect((await call(`/v1/cases/${body.id}`, { token: nrbToken })).status).toBe(200);
    expect(await push(body.caseNumber, nrbToken, 'completed')).toBe('in_progress');
    expect(part(await read(body.id), 'PSB').status).toBe('pending');
    expect((await psbReads()).status).toBe(200);
    expect(await worker().runOnce()).toBe(1);
    expect(part(await read(body.id), 'PSB').status).toBe('delivered');
    expect(await push(body.caseNumber, psbToken, 'completed')).toBe('completed');
    expect(await eventKinds(body.id)).toEqual(expect.arrayContaining(['stage_started']));
  });

  it('a refusal in the first stage cancels the later stage, which is never sent', async () => {
    const body = await submitted('transfer_in_stages');
    nrb.setFault({ kind: 'business_error', operation: 'submitTransferRegistration' });
    const before = psb.applicationCount();
    expect(await worker().runOnce()).toBe(1);
    const after = await read(body.id);
    expect(after.status).toBe('rejected');
    expect(part(after, 'PSB')).toMatchObject({ status: 'cancelled' });
    expect(await worker().runOnce()).toBe(0);
    expect(psb.applicationCount()).toBe(before);
    const [psbDelivery] = await gw.services.db
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, body.id))
      .orderBy(deliveries.stage)
      .offset(1);
    expect(psbDelivery?.attempts).toBe(0);
    // Its part cancelled before it was ever sent: the case never reached PSB, which may not read it.
    expect((await call(`/v1/cases/${body.id}`, { token: psbToken })).status).toBe(404);
  });

  it('refuses stages that leave out a department or name another one, and partial rules on items that are not joint', async () => {
    const seeded = await ok<Record<string, unknown>>(await call('/v1/items/real_estate_transfer'));
    const { code: _code, ...definition } = seeded;
    const refused = await call('/v1/items/transfer_bad_stages', {
      method: 'PUT',
      token: adminToken,
      body: { ...definition, stages: [['NRB'], ['AMR']] },
    });
    expect(refused.status).toBe(422);
    const problems = ((await problemOf(refused))['problems'] as string[]).join(' | ');
    expect(problems).toContain('stages leave out PSB');
    expect(problems).toContain('stages name AMR');
  });
});

describe('an immediate item (即办件)', () => {
  it('is decided at the window in the same visit: concluded on the day of acceptance, the department getting the record', async () => {
    const created = await call('/v1/items/household_proof_immediate', {
      method: 'PUT',
      token: adminToken,
      body: {
        name: 'Household proof issued at the window',
        nameZh: '户籍证明即时开具',
        kind: 'immediate',
        subjectKind: 'person',
        departments: ['PSB'],
        statutoryDays: 0,
        promisedDays: 0,
        formSchema: {
          type: 'object',
          required: ['moveToAddress'],
          properties: { moveToAddress: { type: 'string' }, reason: { type: 'string' } },
        },
        materials: [
          { requirementCode: 'applicant_identity', name: 'Identity card', acceptedTypes: ['resident_id_card'] },
        ],
      },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const opened = await ok<CaseBody>(
      await call('/v1/cases', {
        body: {
          itemCode: 'household_proof_immediate',
          subjectId: zhangSan,
          form: { moveToAddress: '北京市朝阳区建国路88号院3号楼1单元502', reason: 'employment' },
        },
      }),
      201,
    );
    await ok(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
    const decided = await ok<CaseBody & { acceptedOn: string; dueOn: string; completedOn: string; onTime: boolean }>(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'immediate-case-0001' } }),
    );
    expect(decided).toMatchObject({
      status: 'completed',
      acceptedOn: '2026-12-18',
      dueOn: '2026-12-18',
      completedOn: '2026-12-18',
      onTime: true,
    });
    expect(await worker().runOnce()).toBe(1);
    expect(part(await read(opened.id), 'PSB').status).toBe('delivered');
    // The department's own progress on its record does not reopen the decided case.
    expect(await push(decided.caseNumber, psbToken, 'in_progress')).toBe('completed');
    expect((await read(opened.id)).status).toBe('completed');
  });
});

describe('the parties reach the departments', () => {
  it("the buyer named as the case's counterparty is the transferee NRB registers and the person PSB moves in", async () => {
    const liMei = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', {
          body: { identifierType: 'resident_id', identifier: LI_MEI.idNumber, name: LI_MEI.name },
          headers: purpose,
        }),
        201,
      )
    ).id;
    const opened = await ok<CaseBody>(
      await call('/v1/cases', {
        body: {
          itemCode: 'real_estate_transfer',
          subjectId: zhangSan,
          form: {
            certificateNo: SOLE_FLAT,
            transferee: { name: LI_MEI.name, idNumber: LI_MEI.idNumber },
            transferReason: 'sale',
          },
          parties: [{ role: 'counterparty', subjectId: liMei }],
        },
      }),
      201,
    );
    expect(opened.parties).toEqual([{ role: 'counterparty', subjectId: liMei }]);
    const fetched = (await ok<{ case: CaseBody }>(await call(`/v1/cases/${opened.id}/certificates`, { body: {} })))
      .case;
    expect(fetched.notice.readyToSubmit).toBe(true);
    await ok(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'parties-reach-0001' } }),
    );
    await worker().runOnce();
    const sent = await read(opened.id);
    const nrbPart = part(sent, 'NRB');
    const psbPart = part(sent, 'PSB');
    expect([nrbPart.status, psbPart.status]).toEqual(['delivered', 'delivered']);
    const [nrbRow, psbRow] = await gw.services.db
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, opened.id))
      .orderBy(deliveries.departmentCode);
    // What each registry received, as it recorded it.
    expect(nrb.applications().find((application) => application.applicationNo === nrbRow?.departmentReference)).toEqual(
      {
        applicationNo: nrbRow?.departmentReference,
        kind: 'transfer',
        certificateNo: SOLE_FLAT,
        applicant: { name: ZHANG_SAN.name, idType: 'ID_CARD', idNumber: ZHANG_SAN.identifier },
        transferee: { name: LI_MEI.name, idType: 'ID_CARD', idNumber: LI_MEI.idNumber },
      },
    );
    expect(psb.applications().find((application) => application.slbh === psbRow?.departmentReference)?.sqr).toEqual({
      xm: LI_MEI.name,
      sfzh: LI_MEI.idNumber,
    });
  });
});
