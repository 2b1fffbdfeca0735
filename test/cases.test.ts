/**
 * Cases end to end against real department simulators: the one-time notice, fetching what the
 * departments supply, handing in the rest once, idempotent submission writing the case and its
 * deliveries together, a second item reusing what the first collected, department status
 * callbacks (and their refusals), clocks stopped while waiting for the applicant, and who may see
 * a case.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { purgeExpiredKeys } from '../gateway/cases/idempotency.js';
import { applyDepartmentStatus } from '../gateway/cases/status.js';
import {
  accessRequests,
  auditEntries,
  caseEvents,
  cases,
  certificateRevocations,
  certificates,
  deliveries,
  idempotencyKeys,
  materials,
} from '../gateway/db/schema.js';
import { invented2027 } from '../gateway/calendar/test-fixtures.js';
import { pdfDocument } from './fixtures/documents.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { type TestGateway, bearer, createTestGateway, problemOf, ok, windowCaller } from './harness.js';
import { simulatedDepartmentsJson } from './support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };

let psb: RunningSimulator;
let amr: RunningSimulator;
let nrb: RunningSimulator;
let gw: TestGateway;
let windowToken: string;
let amrToken: string;
let nrbToken: string;
let zhangSan: string;

const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

interface NoticeEntry {
  requirementCode: string;
  state: string;
  material: { id: string; typeCode: string } | null;
  fetchableFrom: { department: string; certificateType: string }[];
  deferredUntil: string | null;
}
interface CaseBody {
  id: string;
  caseNumber: string;
  status: string;
  acceptedOn: string | null;
  dueOn: string | null;
  onTime: boolean | null;
  clockStopped: boolean;
  dueDatesProvisional: boolean;
  notice: { entries: NoticeEntry[]; counts: Record<string, number>; readyToSubmit: boolean; toHandIn: string[] };
  deliveries: { department: string; status: string }[];
}

function entry(body: CaseBody, requirementCode: string): NoticeEntry {
  const found = body.notice.entries.find((candidate) => candidate.requirementCode === requirementCode);
  if (!found) throw new Error(`no requirement ${requirementCode}`);
  return found;
}

const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };

const call = windowCaller(
  () => gw,
  () => windowToken,
);

async function grant(resourceCode: string, clientId: string): Promise<void> {
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: `acr_cases_${resourceCode}`,
    resourceCode,
    clientId,
    purpose: 'window cases',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_test',
  });
}

async function upload(subjectId: string, typeCode: string, label: string): Promise<string> {
  const response = await gw.request(`/v1/subjects/${subjectId}/materials?typeCode=${typeCode}&fileName=${label}.pdf`, {
    method: 'POST',
    headers: bearer(windowToken, { ...purpose, 'content-type': 'application/pdf' }),
    body: Buffer.from(pdfDocument(label)),
  });
  return (await ok<{ id: string }>(response, 201)).id;
}

const establishmentForm = {
  companyName: '北京朝阳晨星咨询有限公司',
  registeredCapital: '100万元人民币',
  businessScope: '企业管理咨询',
};

/**
 * The gateway's clock stands still on a Friday in December 2026, so acceptance days, due dates
 * and the provisional 2027 deadlines below are the same whatever day the test runs.
 */
const clock = fixedClock('2026-12-18T02:00:00.000Z');

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: nrb.url }, tuning),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock },
  );
  const window = await gw.createClient('window');
  windowToken = (
    await gw.services.tokens.issue(window.client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'certificates:read',
      'contracts:read',
      'cases:read',
      'cases:write',
    ])
  ).accessToken;
  for (const resource of ['psb.population', 'nrb.real-estate', 'amr.enterprise'])
    await grant(resource, window.client.id);
  amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
  nrbToken = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
  const resolved = await call('/v1/subjects/resolve', {
    body: { identifierType: 'resident_id', ...ZHANG_SAN },
    headers: purpose,
  });
  zhangSan = (await ok<{ id: string }>(resolved, 201)).id;
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close()]);
});

describe('the item catalogue', () => {
  it('is seeded with realistic items of every kind, readable by any client', async () => {
    const { items } = await ok<{ items: { code: string; kind: string; departments: string[] }[] }>(
      await call('/v1/items'),
    );
    expect(items.map((item) => item.code)).toEqual(
      expect.arrayContaining(['enterprise_establishment', 'real_estate_transfer', 'household_move_in']),
    );
    expect(new Set(items.map((item) => item.kind))).toEqual(new Set(['immediate', 'promised', 'joint', 'escalated']));
    expect(items.find((item) => item.code === 'real_estate_transfer')?.departments).toEqual(['NRB', 'PSB']);
  });

  it('lets an administrator replace an item, and refuses an inconsistent one with every problem', async () => {
    const admin = await gw.tokenFor('admin');
    const item = {
      name: 'Test item',
      nameZh: '测试事项',
      kind: 'joint',
      subjectKind: 'person',
      departments: ['AMR'],
      statutoryDays: 2,
      promisedDays: 5,
      formSchema: { type: 'object', properties: { x: { type: 'strnig' } } },
      materials: [{ requirementCode: 'aa', name: 'A', acceptedTypes: ['no_such_type'] }],
    };
    const refused = await call('/v1/items/test_item', { method: 'PUT', body: item, token: admin });
    expect(refused.status, await refused.clone().text()).toBe(422);
    const problem = await problemOf(refused);
    expect(problem.code).toBe('item_invalid');
    expect((problem['problems'] as string[]).length).toBe(4);
    const accepted = await call('/v1/items/test_item', {
      method: 'PUT',
      body: {
        ...item,
        kind: 'promised',
        promisedDays: 1,
        formSchema: { type: 'object' },
        submissions: { AMR: 'business_licence_reissue' },
        materials: [{ requirementCode: 'aa', name: 'A', acceptedTypes: ['lease_contract'] }],
      },
      token: admin,
    });
    expect(accepted.status).toBe(201);
    expect((await call('/v1/items/test_item', { method: 'PUT', body: item })).status).toBe(403);
  });

  it('names the submission type of each seeded department: the mortgage cancellation goes to NRB as one, not as a transfer', async () => {
    const { items } = await ok<{ items: { code: string; submissions: Record<string, string> }[] }>(
      await call('/v1/items'),
    );
    const submissions = Object.fromEntries(items.map((item) => [item.code, item.submissions]));
    expect(submissions['real_estate_transfer']).toEqual({ NRB: 'transfer_registration', PSB: 'household_move_in' });
    expect(submissions['real_estate_mortgage_cancellation']).toEqual({ NRB: 'mortgage_cancellation' });
    expect(submissions['business_licence_reissue']).toEqual({ AMR: 'business_licence_reissue' });
  });

  it('refuses an item its departments cannot take, listing every gap, and writes nothing', async () => {
    const admin = await gw.tokenFor('admin');
    const joint = {
      name: 'Mortgage cancellation with household move-in',
      nameZh: '抵押注销并迁户',
      kind: 'joint',
      subjectKind: 'person',
      departments: ['NRB', 'PSB', 'AMR', 'CAB'],
      submissions: { NRB: 'mortgage_cancellation', PSB: 'transfer_registration' },
      statutoryDays: 20,
      promisedDays: 5,
      formSchema: {
        type: 'object',
        properties: { certificateNo: { type: 'integer' }, moveToAddress: { type: 'string' } },
      },
      materials: [{ requirementCode: 'title', name: 'Title', acceptedTypes: ['real_estate_certificate'] }],
    };
    const refused = await call('/v1/items/mortgage_move_in', { method: 'PUT', body: joint, token: admin });
    expect(refused.status).toBe(422);
    const problem = await problemOf(refused);
    expect(problem.code).toBe('item_not_deliverable');
    expect(problem['gaps']).toEqual([
      {
        department: 'NRB',
        submissionType: 'mortgage_cancellation',
        problem: 'form_field_not_required',
        fields: ['certificateNo'],
        message: expect.stringContaining('certificateNo'),
      },
      {
        department: 'NRB',
        submissionType: 'mortgage_cancellation',
        problem: 'form_field_type_mismatch',
        fields: ['certificateNo'],
        message: expect.any(String),
      },
      {
        department: 'PSB',
        submissionType: 'transfer_registration',
        problem: 'submission_type_not_declared',
        message: 'PSB takes no submission type transfer_registration; it takes household_move_in.',
      },
      {
        department: 'AMR',
        submissionType: null,
        problem: 'submission_type_missing',
        message: expect.stringContaining('enterprise_establishment, business_licence_reissue'),
      },
      {
        department: 'CAB',
        submissionType: null,
        problem: 'department_not_configured',
        message: 'No department system CAB is configured.',
      },
    ]);
    // Nothing was written.
    expect((await call('/v1/items/mortgage_move_in')).status).toBe(404);

    // Two departments, each with a type it declares and a form that requires what the types need.
    const fixed = await call('/v1/items/mortgage_move_in', {
      method: 'PUT',
      body: {
        ...joint,
        departments: ['NRB', 'PSB'],
        submissions: { NRB: 'mortgage_cancellation' },
        formSchema: {
          type: 'object',
          required: ['certificateNo', 'moveToAddress'],
          properties: { certificateNo: { type: 'string' }, moveToAddress: { type: 'string' } },
        },
      },
      token: admin,
    });
    expect(fixed.status, await fixed.clone().text()).toBe(201);
    // PSB takes one type only: it is named for it.
    expect(((await fixed.json()) as { submissions: Record<string, string> }).submissions).toEqual({
      NRB: 'mortgage_cancellation',
      PSB: 'household_move_in',
    });
    const psbOnlyOneOf = await call('/v1/items/mortgage_move_in', {
      method: 'PUT',
      body: {
        ...joint,
        departments: ['NRB', 'PSB'],
        submissions: { NRB: 'mortgage_cancellation' },
        formSchema: {
          type: 'object',
          required: ['moveOutAddress'],
          properties: { moveOutAddress: { type: 'string' } },
        },
      },
      token: admin,
    });
    expect(
      ((await problemOf(psbOnlyOneOf))['gaps'] as { department: string; problem: string; fields?: string[] }[]).map(
        (gap) => [gap.department, gap.problem, gap.fields],
      ),
    ).toEqual([
      ['NRB', 'form_field_not_required', ['certificateNo']],
      ['PSB', 'form_field_not_required', ['moveToAddress', 'moveInAddress', 'certificateNo']],
    ]);
    // The item as first saved stays.
    expect(
      (await ok<{ formSchema: { required: string[] } }>(await call('/v1/items/mortgage_move_in'))).formSchema.required,
    ).toEqual(['certificateNo', 'moveToAddress']);
  });

  it('refuses submissions for an item a department can no longer take (its adapter changed since the item was saved)', async () => {
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'household_move_in', subjectId: zhangSan } }),
      201,
    );
    const psb = gw.services.departments.get('PSB')!;
    const declared = psb.adapter.submissionTypes;
    // The registry's new adapter no longer takes move-ins.
    Object.assign(psb.adapter, {
      submissionTypes: { household_move_out: { name: 'Move-out', nameZh: '户口迁出', formSchema: { type: 'object' } } },
    });
    try {
      const refused = await call(`/v1/cases/${opened.id}/submit`, {
        body: { form: { moveToAddress: '北京市朝阳区建国路88号' } },
        headers: { 'idempotency-key': 'submit-undeliverable-0001' },
      });
      const problem = await problemOf(refused);
      expect(problem).toMatchObject({ status: 503, code: 'department_not_receiving', departments: ['PSB'] });
      expect(problem['gaps']).toEqual([
        expect.objectContaining({
          department: 'PSB',
          submissionType: 'household_move_in',
          problem: 'submission_type_not_declared',
        }),
      ]);
      expect((await ok<CaseBody>(await call(`/v1/cases/${opened.id}`))).status).toBe('open');
    } finally {
      Object.assign(psb.adapter, { submissionTypes: declared });
    }
  });
});

describe('a case from opening to completion', () => {
  let first: CaseBody;

  it('opens with the one-time notice: fetchable, missing and optional, in one answer', async () => {
    first = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
      201,
    );
    expect(first.caseNumber).toMatch(/^OW\d{14}$/);
    expect(first.status).toBe('open');
    expect(entry(first, 'applicant_identity')).toMatchObject({
      state: 'fetchable',
      fetchableFrom: [{ department: 'PSB', certificateType: 'resident_id_card' }],
    });
    expect(entry(first, 'premises')).toMatchObject({
      state: 'fetchable',
      fetchableFrom: [{ department: 'NRB', certificateType: 'real_estate_certificate' }],
    });
    expect(entry(first, 'articles').state).toBe('missing');
    expect(entry(first, 'authorisation').state).toBe('optional');
    expect(first.notice).toMatchObject({
      readyToSubmit: false,
      toHandIn: ['articles'],
      counts: { required: 3, fetchable: 2, missing: 1 },
    });
  });

  it('fetches what the departments supply and attaches it', async () => {
    const { case: body, results } = await ok<{
      case: CaseBody;
      results: { requirementCode: string; status: string }[];
    }>(await call(`/v1/cases/${first.id}/certificates`, { body: {} }));
    expect(results.map((result) => [result.requirementCode, result.status]).sort()).toEqual([
      ['applicant_identity', 'ok'],
      ['premises', 'ok'],
    ]);
    expect(entry(body, 'applicant_identity').state).toBe('fetched');
    expect(entry(body, 'premises').state).toBe('fetched');
    first = body;
  });

  it('refuses to submit while a required material is missing, writing nothing', async () => {
    const response = await call(`/v1/cases/${first.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': 'submit-missing-0001' },
    });
    expect(response.status).toBe(422);
    expect(await problemOf(response)).toMatchObject({
      code: 'materials_missing',
      missing: [{ requirementCode: 'articles' }],
    });
    const [row] = await gw.services.db.select().from(cases).where(eq(cases.id, first.id));
    expect(row?.status).toBe('open');
    expect(await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, first.id))).toEqual([]);
  });

  it('attaches what the applicant hands in, and checks it satisfies the requirement', async () => {
    const articles = await upload(zhangSan, 'articles_of_association', 'articles');
    const wrong = await call(`/v1/cases/${first.id}/materials`, {
      body: { requirementCode: 'premises', materialId: articles },
    });
    expect((await problemOf(wrong)).code).toBe('material_not_accepted');
    const unknown = await call(`/v1/cases/${first.id}/materials`, {
      body: { requirementCode: 'nonsense', materialId: articles },
    });
    expect((await problemOf(unknown)).code).toBe('requirement_unknown');
    first = await ok<CaseBody>(
      await call(`/v1/cases/${first.id}/materials`, { body: { requirementCode: 'articles', materialId: articles } }),
    );
    expect(entry(first, 'articles').state).toBe('handed_in');
    expect(first.notice).toMatchObject({
      readyToSubmit: true,
      toHandIn: [],
      counts: { required: 3, handedIn: 1, fetched: 2 },
    });
  });

  it('needs an Idempotency-Key and a valid form to submit', async () => {
    expect(
      (await problemOf(await call(`/v1/cases/${first.id}/submit`, { body: { form: establishmentForm } }))).code,
    ).toBe('idempotency_key_required');
    const invalid = await call(`/v1/cases/${first.id}/submit`, {
      body: { form: { companyName: 'x', extra: 1 } },
      headers: { 'idempotency-key': 'submit-invalid-0001' },
    });
    expect(invalid.status).toBe(422);
    const problem = await problemOf(invalid);
    expect(problem.code).toBe('form_invalid');
    expect((problem['errors'] as unknown[]).length).toBeGreaterThanOrEqual(3);
  });

  it('submits once: the same key answers the case as it is now, another body under it is refused, a new key finds the case submitted', async () => {
    const key = 'submit-0001-establishment';
    const submitted = await ok<CaseBody>(
      await call(`/v1/cases/${first.id}/submit`, {
        body: { form: establishmentForm },
        headers: { 'idempotency-key': key },
      }),
    );
    expect(submitted.status).toBe('submitted');
    expect(submitted.acceptedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(submitted.dueOn! > submitted.acceptedOn!).toBe(true);
    expect(submitted.deliveries).toEqual([expect.objectContaining({ department: 'AMR', status: 'pending' })]);
    // The answer is built from what the submission wrote, without reading it back: the case as a
    // read shows it (but for what a delivery may have changed since, and the notice's certificate
    // choices, which the submit answer has only for an item that needs them — as it always had).
    const { notice: readNotice, ...read } = await ok<CaseBody>(await call(`/v1/cases/${first.id}`));
    const { notice: submittedNotice, ...answered } = submitted;
    expect({ ...read, status: 'submitted', deliveries: [] }).toEqual({ ...answered, deliveries: [] });
    expect(readNotice.counts).toEqual(submittedNotice.counts);

    const replay = await call(`/v1/cases/${first.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': key },
    });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    // The case read again through the policy (not a stored copy): what a read answers now.
    expect(await replay.json()).toEqual(await ok<CaseBody>(await call(`/v1/cases/${first.id}`)));
    const [storedKey] = await gw.services.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
    expect(storedKey?.responseBody).toEqual({ caseId: first.id });

    const otherBody = await call(`/v1/cases/${first.id}/submit`, {
      body: { form: { ...establishmentForm, registeredCapital: '1元' } },
      headers: { 'idempotency-key': key },
    });
    expect((await problemOf(otherBody)).code).toBe('idempotency_key_reused');
    const again = await call(`/v1/cases/${first.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': 'submit-0002-establishment' },
    });
    expect((await problemOf(again)).code).toBe('case_not_open');
    expect(await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, first.id))).toHaveLength(1);
    first = submitted;
  });

  it('once its key has expired, the same key finds the case submitted: never a second delivery', async () => {
    const key = 'submit-0001-establishment';
    // As if the retention had passed: the key's request started long ago.
    await gw.services.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date('2001-01-01T00:00:00Z') })
      .where(eq(idempotencyKeys.key, key));
    expect(await purgeExpiredKeys(gw.services.db, new Date('2001-02-01T00:00:00Z'), 100)).toBe(1);
    const repeated = await call(`/v1/cases/${first.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': key },
    });
    expect(repeated.headers.get('idempotent-replayed')).toBeNull();
    expect((await problemOf(repeated)).code).toBe('case_not_open');
    expect(await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, first.id))).toHaveLength(1);
  });

  it('answers 409 to a duplicate while the first request is still in progress', async () => {
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
      201,
    );
    const [window] = await gw.services.db
      .select({ clientId: cases.clientId })
      .from(cases)
      .where(eq(cases.id, opened.id));
    await gw.services.db.insert(idempotencyKeys).values({
      clientId: window!.clientId,
      key: 'in-flight-0001',
      scope: `POST /v1/cases/${opened.id}/submit`,
      requestHash: 'x',
    });
    const duplicate = await call(`/v1/cases/${opened.id}/submit`, {
      body: {},
      headers: { 'idempotency-key': 'in-flight-0001' },
    });
    expect(duplicate.status).toBe(422); // different body hash from the reservation
    await gw.services.db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, 'in-flight-0001'));
    const { requestHash } = await import('../gateway/cases/idempotency.js');
    await gw.services.db.insert(idempotencyKeys).values({
      clientId: window!.clientId,
      key: 'in-flight-0002',
      scope: `POST /v1/cases/${opened.id}/submit`,
      requestHash: requestHash(`POST /v1/cases/${opened.id}/submit`, {}),
    });
    const inProgress = await call(`/v1/cases/${opened.id}/submit`, {
      body: {},
      headers: { 'idempotency-key': 'in-flight-0002' },
    });
    expect(inProgress.status).toBe(409);
    expect((await problemOf(inProgress)).code).toBe('idempotency_in_progress');
  });

  it('a second item for the same applicant reuses what the first collected', async () => {
    const second = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'household_move_in', subjectId: zhangSan } }),
      201,
    );
    expect(entry(second, 'applicant_identity')).toMatchObject({
      state: 'reused',
      material: { typeCode: 'resident_id_card' },
    });
    expect(entry(second, 'residence')).toMatchObject({
      state: 'reused',
      material: { typeCode: 'real_estate_certificate' },
    });
    expect(entry(second, 'household').state).toBe('fetchable');
    expect(second.notice.counts).toMatchObject({ required: 3, reused: 2, handedIn: 0 });
  });

  it('takes status callbacks from the department the case went to, and completes on time', async () => {
    const now = clock.now().getTime();
    const push = (
      eventId: string,
      status: string,
      token = amrToken,
      at = new Date(now).toISOString(),
      caseNumber = first.caseNumber,
    ) => call('/v1/case-status-callbacks', { body: { caseNumber, eventId, status, occurredAt: at }, token });
    expect((await ok<{ caseStatus: string }>(await push('amr-evt-1', 'received'))).caseStatus).toBe('in_progress');
    expect((await problemOf(await push('amr-evt-1', 'in_progress'))).code).toBe('callback_replayed');
    // Another department learns nothing of a case that was not delivered to it: it is unknown to it.
    expect((await problemOf(await push('nrb-evt-1', 'completed', nrbToken))).code).toBe('callback_unknown_case');
    expect(
      (await problemOf(await push('amr-evt-2', 'completed', amrToken, new Date(now).toISOString(), 'OW20260101999999')))
        .code,
    ).toBe('callback_unknown_case');
    expect(
      (await problemOf(await push('amr-evt-3', 'completed', amrToken, new Date(now - 30 * 86_400_000).toISOString())))
        .code,
    ).toBe('callback_stale');
    expect(
      (await problemOf(await push('amr-evt-4', 'completed', amrToken, new Date(now - 60_000).toISOString()))).code,
    ).toBe('callback_stale'); // older than the last applied
    expect(
      (
        await call('/v1/case-status-callbacks', {
          body: {
            caseNumber: first.caseNumber,
            eventId: 'w',
            status: 'completed',
            occurredAt: clock.now().toISOString(),
          },
        })
      ).status,
    ).toBe(403);

    const done = await ok<{ caseStatus: string }>(
      await push('amr-evt-5', 'completed', amrToken, new Date(now + 1000).toISOString()),
    );
    expect(done.caseStatus).toBe('completed');
    const body = await ok<CaseBody>(await call(`/v1/cases/${first.id}`));
    expect(body).toMatchObject({ status: 'completed', onTime: true });
    expect(
      (await problemOf(await push('amr-evt-6', 'in_progress', amrToken, new Date(now + 2000).toISOString()))).code,
    ).toBe('case_already_final');

    const { items } = await ok<{ items: { kind: string }[] }>(await call(`/v1/cases/${first.id}/timeline`));
    expect(items.map((item) => item.kind)).toEqual(
      expect.arrayContaining([
        'opened',
        'certificate_fetched',
        'material_attached',
        'submitted',
        'department_status',
        'completed',
      ]),
    );
  });

  it('shows a case only to the window that opened it and the departments it went to', async () => {
    const otherWindow = await gw.tokenFor('window');
    expect((await call(`/v1/cases/${first.id}`, { token: otherWindow })).status).toBe(404);
    expect((await call(`/v1/cases/${first.id}`, { token: amrToken })).status).toBe(200);
    expect((await call(`/v1/cases/${first.id}`, { token: nrbToken })).status).toBe(404);
    expect((await call('/v1/cases/case_AAAAAAAAAAAAAAAA')).status).toBe(404);
  });
});

describe('a joint case', () => {
  it('accepts deferrable materials missing (容缺), goes to every department, and completes only when all have', async () => {
    const psbToken = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'real_estate_transfer', subjectId: zhangSan } }),
      201,
    );
    expect(entry(opened, 'marital_status').state).toBe('deferrable');
    expect(entry(opened, 'tax').state).toBe('deferrable');
    const fetched = await ok<{ case: CaseBody }>(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
    expect(fetched.case.notice.readyToSubmit).toBe(true);
    const form = {
      certificateNo: '京(2019)朝阳区不动产权第0107652号',
      transferee: { name: '王建国', idNumber: '320102197807120033' },
      transferReason: 'sale',
    };
    const submitted = await ok<CaseBody>(
      await call(`/v1/cases/${opened.id}/submit`, {
        body: { form },
        headers: { 'idempotency-key': 'joint-submit-0001' },
      }),
    );
    expect(submitted.deliveries.map((delivery) => delivery.department)).toEqual(['NRB', 'PSB']);
    expect(entry(submitted, 'marital_status')).toMatchObject({
      state: 'deferred',
      deferredUntil: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(submitted.notice.counts.deferred).toBe(2);
    // Accepted in December 2026, its 30-working-day statutory deadline lies in 2027, whose holidays
    // are not loaded: counted by weekdays, marked provisional, and recomputed once 2027 is loaded.
    expect(submitted.acceptedOn).toBe('2026-12-18');
    {
      expect(submitted.dueDatesProvisional).toBe(true);
      const admin = await gw.tokenFor('admin');
      expect(
        (await call('/v1/calendar/years/2027', { method: 'PUT', body: invented2027(), token: admin })).status,
      ).toBe(201);
      const reread = await ok<CaseBody & { statutoryDueOn: string }>(await call(`/v1/cases/${opened.id}`));
      expect(reread.dueDatesProvisional).toBe(false);
      const expected = (await gw.services.calendar.current()).addWorkingDays(submitted.acceptedOn!, 30);
      expect(reread.statutoryDueOn).toBe(expected);
    }

    const push = async (token: string, eventId: string, status: string) =>
      ok<{ caseStatus: string }>(
        await call('/v1/case-status-callbacks', {
          body: { caseNumber: submitted.caseNumber, eventId, status, occurredAt: clock.now().toISOString() },
          token,
        }),
      );
    expect((await push(nrbToken, 'joint-nrb-1', 'completed')).caseStatus).toBe('in_progress');
    expect((await push(psbToken, 'joint-psb-1', 'completed')).caseStatus).toBe('completed');
  });
});

describe('a mortgage cancellation', () => {
  it('is delivered to the real-estate registry as a mortgage cancellation (抵押权注销登记), not as a transfer', async () => {
    const certificateNo = '京(2019)朝阳区不动产权第0107652号';
    const form = {
      certificateNo,
      mortgagee: '中国工商银行股份有限公司北京望京支行',
      cancellationReason: 'debt_repaid',
    };
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'real_estate_mortgage_cancellation', subjectId: zhangSan, form } }),
      201,
    );
    const fetched = await ok<{ case: CaseBody }>(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
    expect(['fetched', 'reused']).toContain(entry(fetched.case, 'title').state);
    const submitted = await ok<CaseBody>(
      await call(`/v1/cases/${opened.id}/submit`, {
        body: { form },
        headers: { 'idempotency-key': 'mortgage-cancellation-0001' },
      }),
    );
    expect(submitted.deliveries).toEqual([expect.objectContaining({ department: 'NRB', status: 'pending' })]);

    const before = {
      cancellations: nrb.requestCount('submitMortgageCancellation'),
      transfers: nrb.requestCount('submitTransferRegistration'),
    };
    // DELIVERY_WORKER is off here: one pass of the worker delivers what is due.
    while ((await gw.services.deliveryWorker.runOnce()) > 0);
    const [delivery] = await gw.services.db.select().from(deliveries).where(eq(deliveries.caseId, opened.id));
    expect(delivery).toMatchObject({
      departmentCode: 'NRB',
      status: 'delivered',
      departmentReference: expect.stringMatching(/^ZX\d{14}$/),
    });
    expect(nrb.requestCount('submitMortgageCancellation')).toBe(before.cancellations + 1);
    // Deliveries of earlier tests' transfers may go out in the same pass; none is this case's.
    expect(nrb.requestCount('submitTransferRegistration') - before.transfers).toBeLessThanOrEqual(1);
  });
});

describe('a cancelled certificate (注销, ended by a later registration)', () => {
  it('is shown as cancelled — not ok, not revoked, not signed — and refused at a case with the reason in both languages', async () => {
    const holder = (await (
      await call('/v1/subjects/resolve', {
        body: { identifierType: 'resident_id', identifier: '320102197807120033', name: '王建国' },
        headers: purpose,
      })
    ).json()) as { id: string };
    const fetched = await ok<{
      results: {
        status: string;
        envelope: string | null;
        certificate: { status: string; certificateNumber: string } | null;
        material: { id: string; status: string } | null;
      }[];
    }>(
      await call(`/v1/subjects/${holder.id}/certificates`, {
        body: { types: ['real_estate_certificate'] },
        headers: purpose,
      }),
    );
    const [answer] = fetched.results;
    expect(answer).toMatchObject({
      status: 'cancelled',
      envelope: null,
      certificate: { status: 'cancelled', certificateNumber: '苏(2016)南京市不动产权第0067890号' },
      material: { status: 'cancelled' },
    });
    // A cancellation is not a revocation: nothing is recorded as revoked.
    expect(
      await gw.services.db
        .select()
        .from(certificateRevocations)
        .where(
          inArray(
            certificateRevocations.certificateNumber,
            gw.services.access.protection.certificateNumberLookups(
              'real_estate_certificate',
              '苏(2016)南京市不动产权第0067890号',
            ),
          ),
        ),
    ).toEqual([]);

    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: holder.id } }),
      201,
    );
    const attach = (language: string) =>
      call(`/v1/cases/${opened.id}/materials`, {
        body: { requirementCode: 'premises', materialId: answer?.material?.id },
        headers: { 'accept-language': language },
      });
    const inChinese = await problemOf(await attach('zh-CN'));
    expect(inChinese).toMatchObject({ status: 422, code: 'certificate_cancelled', requirementCode: 'premises' });
    expect(String(inChinese['detail'])).toContain('注销');
    const inEnglish = await problemOf(await attach('en'));
    expect(inEnglish).toMatchObject({ code: 'certificate_cancelled' });
    expect(String(inEnglish['detail'])).toContain('cancelled by its issuing department');
  });
});

describe('a jointly held certificate (共同共有: 0107652 of 张三 and 王秀英)', () => {
  const number = '京(2019)朝阳区不动产权第0107652号';
  type Answer = {
    status: string;
    certificate: {
      certificateNumber: string;
      holderIdentifier: string;
      holders?: { name: string; identifier: string }[];
    } | null;
    material: { id: string } | null;
  };

  it('each holder has it in their own name, stored once fetched for either; the other holder stays masked; the read is on both records', async () => {
    const wang = (await (
      await call('/v1/subjects/resolve', {
        body: { identifierType: 'resident_id', identifier: '110105195203150021', name: '王秀英' },
        headers: purpose,
      })
    ).json()) as { id: string };
    const window = await gw.createClient('window');
    const now = new Date();
    await gw.services.db.insert(accessRequests).values({
      id: 'acr_cases_joint_unmask',
      resourceCode: 'nrb.real-estate',
      clientId: window.client.id,
      purpose: 'window cases',
      legalBasis: 'test',
      status: 'approved',
      requestedAt: now,
      decidedAt: now,
      decidedByClientId: 'cli_test',
    });
    const unmaskToken = (
      await gw.services.tokens.issue(window.client, ['subjects:read', 'subjects:unmask', 'certificates:read'])
    ).accessToken;
    const fetchFor = async (subjectId: string, token: string, refresh = false) =>
      (
        await ok<{ results: Answer[] }>(
          await call(`/v1/subjects/${subjectId}/certificates`, {
            body: { types: ['real_estate_certificate'], numbers: { real_estate_certificate: number }, refresh },
            headers: purpose,
            token,
          }),
        )
      ).results[0];

    // Asked of the department (an earlier test may have stored Zhang's copy before Wang was known):
    // what it answers is filed for every holder it names whom the gateway knows.
    const forZhang = await fetchFor(zhangSan, unmaskToken, true);
    expect(forZhang).toMatchObject({
      status: 'ok',
      certificate: { certificateNumber: number, holderIdentifier: '11010519491231002X' },
    });
    // Unmasked for the holder being served; the co-holder's number stays masked all the same.
    expect(forZhang?.certificate?.holders?.map((holder) => holder.identifier)).toEqual([
      '11010519491231002X',
      expect.stringMatching(/^110105\*+0021$/),
    ]);
    // Fetched for Zhang, it is in Wang's file too: the same document, her own material.
    const wangsCopies = await gw.services.db
      .select({ id: materials.id, sha256: materials.contentSha256, status: materials.status })
      .from(certificates)
      .innerJoin(materials, eq(materials.id, certificates.materialId))
      .where(
        and(
          eq(certificates.subjectId, wang.id),
          // Kept as its lookup (a blind index when DATA_PROTECTION is on).
          eq(
            certificates.certificateNumber,
            gw.services.access.protection.certificateNumberLookup('real_estate_certificate', number),
          ),
        ),
      );
    expect(wangsCopies).toHaveLength(1);
    expect(wangsCopies[0]?.status).toBe('valid');
    const forWang = (await fetchFor(wang.id, windowToken)) as Answer & { source?: string };
    expect(forWang).toMatchObject({ status: 'ok', source: 'stored', certificate: { certificateNumber: number } });
    expect(forWang?.material?.id).toBe(wangsCopies[0]?.id);
    expect(forWang?.material?.id).not.toBe(forZhang?.material?.id);

    // Zhang's fetch is on Wang's record as a co-holder read, and Wang's on Zhang's.
    const onRecordOf = async (subjectId: string) =>
      (
        await gw.services.db
          .select({ fields: auditEntries.fields })
          .from(auditEntries)
          .where(eq(auditEntries.subjectRef, subjectId))
      ).map((row) => row.fields);
    expect(await onRecordOf(wang.id)).toContainEqual(['co_holder', `certificate_of:${zhangSan}`]);
    expect(await onRecordOf(zhangSan)).toContainEqual(['co_holder', `certificate_of:${wang.id}`]);
  });
});

describe('applicant progress', () => {
  it('answers the case number and the last 4 characters of the identifier, without credentials or personal data', async () => {
    const [row] = await gw.services.db
      .select()
      .from(cases)
      .where(and(eq(cases.itemCode, 'enterprise_establishment'), eq(cases.status, 'completed')));
    const lookup = (check: string, caseNumber = row!.caseNumber) =>
      gw.request('/v1/progress', { method: 'POST', headers: json, body: JSON.stringify({ caseNumber, check }) });
    const response = await lookup('002x');
    const text = await response.clone().text();
    expect(response.status, text).toBe(200);
    expect(await response.json()).toMatchObject({
      caseNumber: row!.caseNumber,
      item: { code: 'enterprise_establishment' },
      departments: [{ department: 'AMR' }],
    });
    expect(text).not.toContain(ZHANG_SAN.identifier);
    expect(text).not.toContain(ZHANG_SAN.name);
    expect(text).not.toContain(zhangSan);

    const wrongCheck = await lookup('1234');
    const unknownCase = await lookup('002X', 'OW20260101000000');
    expect(wrongCheck.status).toBe(404);
    const [a, b] = [await problemOf(wrongCheck), await problemOf(unknownCase)];
    expect({ ...a, requestId: undefined }).toEqual({ ...b, requestId: undefined, instance: a['instance'] });
  });

  it('locks a case number after repeated wrong checks, even for the right one', async () => {
    const [row] = await gw.services.db.select().from(cases).where(eq(cases.itemCode, 'household_move_in')).limit(1);
    const lookup = (check: string) =>
      gw.request('/v1/progress', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ caseNumber: row!.caseNumber, check }),
      });
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await lookup(`000${attempt}`)).status).toBe(404);
    const locked = await lookup('002X');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await problemOf(locked)).code).toBe('rate_limited');
  });
});

describe('bad requests', () => {
  it('refuses unknown items and items for the other kind of subject', async () => {
    expect(
      (await problemOf(await call('/v1/cases', { body: { itemCode: 'no_such_item', subjectId: zhangSan } }))).code,
    ).toBe('unknown_item');
    expect(
      (
        await problemOf(
          await call('/v1/cases', { body: { itemCode: 'business_licence_reissue', subjectId: zhangSan } }),
        )
      ).code,
    ).toBe('item_not_for_subject');
    expect(
      (await call('/v1/cases', { body: { itemCode: 'household_move_in', subjectId: zhangSan, extra: true } })).status,
    ).toBe(400);
  });
});

describe('the clock', () => {
  /**
   * A case submitted on 2026-09-28 (5 promised days) and delivered to the AMR, written directly
   * (an item a person cannot open), for a controlled calendar. Answers its id.
   */
  async function submittedToAmr(idSuffix: string, caseNumber: string): Promise<string> {
    const { db } = gw.services;
    const [template] = await db.select().from(cases).limit(1);
    const caseId = `case_${idSuffix}`;
    await db.insert(cases).values({
      ...template!,
      id: caseId,
      caseNumber,
      status: 'submitted',
      acceptedOn: '2026-09-28',
      promisedDays: 5,
      dueOn: '2026-10-12',
      statutoryDueOn: '2026-10-12',
      pausedOn: null,
      pausedWorkingDays: 0,
      completedAt: null,
      completedOn: null,
    });
    await db.insert(deliveries).values({ id: `dlv_${idSuffix}`, caseId, departmentCode: 'AMR', status: 'delivered' });
    return caseId;
  }

  it('stops while a department waits for the applicant and moves the due date by the working days it stood still', async () => {
    const opened = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'business_licence_reissue', subjectId: zhangSan } }),
      201,
    ).catch(() => null);
    expect(opened).toBeNull(); // a person cannot; build the case directly for a controlled calendar
    const { db } = gw.services;
    const caseId = await submittedToAmr('clockTest000000001', 'OW20260928000001');
    const calendar = await gw.services.calendar.current();
    // 2026-09-28 + 5 working days: 09-29, 09-30, (National Day 10-01..07), 10-08, 10-09, 10-10 (adjusted Saturday).
    expect(calendar.addWorkingDays('2026-09-28', 5)).toBe('2026-10-10');
    await db.update(cases).set({ dueOn: '2026-10-10' }).where(eq(cases.id, caseId));
    const apply = (status: 'awaiting_applicant' | 'in_progress' | 'completed', at: string) =>
      db.transaction((tx) =>
        applyDepartmentStatus(tx, gw.services.access.protection, calendar, 20, {
          caseId,
          departmentCode: 'AMR',
          status,
          occurredAt: new Date(at),
          source: 'poll',
        }),
      );
    expect((await apply('awaiting_applicant', '2026-09-29T10:00:00+08:00')).caseStatus).toBe('awaiting_applicant');
    expect((await apply('in_progress', '2026-10-09T10:00:00+08:00')).caseStatus).toBe('in_progress');
    const [resumed] = await db.select().from(cases).where(eq(cases.id, caseId));
    // Stopped from 09-29 to 10-09: 09-30, 10-08, 10-09 are three working days.
    expect(resumed).toMatchObject({
      pausedOn: null,
      pausedWorkingDays: 3,
      dueOn: calendar.addWorkingDays('2026-09-28', 8),
    });
    expect((await apply('completed', '2026-10-14T10:00:00+08:00')).caseStatus).toBe('completed');
    const [completed] = await db.select().from(cases).where(eq(cases.id, caseId));
    expect(completed?.completedOn).toBe('2026-10-14');
    const events = await db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, caseId)));
    expect(events.map((event) => event.kind)).toEqual(
      expect.arrayContaining(['clock_stopped', 'clock_restarted', 'completed']),
    );
  });

  it('keeps a department’s reason without the ID numbers it quotes: stored, in the case and in its timeline', async () => {
    const { db } = gw.services;
    const caseId = await submittedToAmr('reasonTest000001', 'OW20260928000002');
    const calendar = await gw.services.calendar.current();
    await db.transaction((tx) =>
      applyDepartmentStatus(tx, gw.services.access.protection, calendar, 20, {
        caseId,
        departmentCode: 'AMR',
        status: 'awaiting_applicant',
        message: '请补交股东王建国（身份证320102197807120033）的签字页',
        occurredAt: new Date('2026-09-29T10:00:00+08:00'),
        source: 'poll',
      }),
    );
    const masked = '请补交股东王建国（身份证320102********0033）的签字页';
    const [stored] = await db.select().from(deliveries).where(eq(deliveries.caseId, caseId));
    expect(stored?.departmentMessage).toBe(masked);
    const read = await ok<{ deliveries: { departmentMessage: string | null }[] }>(await call(`/v1/cases/${caseId}`));
    expect(read.deliveries.map((delivery) => delivery.departmentMessage)).toEqual([masked]);
    const { items: timeline } = await ok<{ items: { kind: string; detail: { message?: string } }[] }>(
      await call(`/v1/cases/${caseId}/timeline`),
    );
    expect(timeline.filter((event) => event.kind === 'department_status').map((event) => event.detail.message)).toEqual(
      [masked],
    );
  });
});
