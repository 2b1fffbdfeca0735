/**
 * Supervision figures from seeded cases and deliveries over October 2026: on-time completion
 * (a case finished on its due date is on time, rejections count as concluded), cases by status
 * with China Standard Time period boundaries, materials per item and in total, delivery latency
 * percentiles per department, retries, dead letters (error codes only), department health from
 * the registry; and the API: the same figures, validated periods, an audit entry per read.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../../adapters/psb-population/simulator.js';
import { auditEntries } from '../db/schema.js';
import { bearer, createTestGateway, problemOf, type TestGateway } from '../../test/harness.js';
import { type SupervisionSummary, periodInstants, supervisionSummary } from './summary.js';
import { SEEDED_APPLICANT, seedCase, seedDelivery, seedSubject } from './test-fixtures.js';

const at = (local: string) => new Date(`${local}+08:00`);
const after = (start: Date, milliseconds: number) => new Date(start.getTime() + milliseconds);

let gw: TestGateway;
const OCTOBER = { from: '2026-10-01', to: '2026-10-31' };
const cases: Record<string, { id: string; caseNumber: string }> = {};
const deadDeliveries: Record<string, string> = {};
/** The period's limits in Chinese, as the summary answers them. */
const OUTSIDE_YEARS_ZH = '日期须在 2000-01-01 至 2099-12-31 之间';
const TOO_LONG_ZH = '统计期最长 366 天（含首尾两天）';

beforeAll(async () => {
  gw = await createTestGateway({
    DELIVERY_WORKER: 'false',
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    // Never called: the summary reads the registry's own figures.
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'PSB',
        name: 'Population registry',
        adapter: 'psb-population',
        baseUrl: 'http://127.0.0.1:9',
        options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
      },
    ]),
  });
  const db = gw.services.db;
  const subjectId = await seedSubject(db);
  const seed = async (name: string, input: Omit<Parameters<typeof seedCase>[1], 'subjectId'>) => {
    cases[name] = await seedCase(db, { subjectId, ...input });
    return cases[name].id;
  };

  const c1Submitted = at('2026-10-08T10:00:00');
  const c1 = await seed('c1', {
    status: 'completed',
    openedAt: at('2026-10-01T00:30:00'),
    submittedAt: c1Submitted,
    acceptedOn: '2026-10-08',
    dueOn: '2026-10-10',
    completedOn: '2026-10-09',
    materials: { required: 6, handedIn: 1, reused: 3, fetched: 2 },
  });
  await seedDelivery(db, c1, {
    department: 'PSB',
    status: 'delivered',
    createdAt: c1Submitted,
    deliveredAt: after(c1Submitted, 100),
  });
  await seedDelivery(db, c1, {
    department: 'NRB',
    status: 'delivered',
    attempts: 3,
    createdAt: c1Submitted,
    deliveredAt: after(c1Submitted, 2000),
  });

  const c2Submitted = at('2026-10-12T10:00:00');
  const c2 = await seed('c2', {
    status: 'completed',
    openedAt: at('2026-10-12T09:00:00'),
    submittedAt: c2Submitted,
    acceptedOn: '2026-10-12',
    dueOn: '2026-10-13',
    completedOn: '2026-10-15',
    materials: { required: 6, handedIn: 2, reused: 2, fetched: 1, deferred: 1 },
  });
  await seedDelivery(db, c2, {
    department: 'PSB',
    status: 'delivered',
    createdAt: c2Submitted,
    deliveredAt: after(c2Submitted, 200),
  });
  deadDeliveries['c2'] = await seedDelivery(db, c2, {
    department: 'NRB',
    status: 'dead',
    attempts: 8,
    createdAt: c2Submitted,
    deadAt: at('2026-10-12T11:00:00'),
    lastError: `department_rejected (NRB 422): ${SEEDED_APPLICANT.name} does not match the register`,
  });

  const c3Submitted = at('2026-10-20T10:00:00');
  const c3 = await seed('c3', {
    itemCode: 'household_move_in',
    status: 'rejected',
    openedAt: at('2026-10-20T09:00:00'),
    submittedAt: c3Submitted,
    acceptedOn: '2026-10-20',
    dueOn: '2026-10-30',
    completedOn: '2026-10-22',
    materials: { required: 4, handedIn: 4 },
  });
  await seedDelivery(db, c3, {
    department: 'PSB',
    status: 'delivered',
    createdAt: c3Submitted,
    deliveredAt: after(c3Submitted, 300),
  });

  // September: outside the period, except that its dead letter is still listed.
  const c4Submitted = at('2026-09-21T10:00:00');
  const c4 = await seed('c4', {
    itemCode: 'enterprise_establishment',
    status: 'completed',
    openedAt: at('2026-09-20T09:00:00'),
    submittedAt: c4Submitted,
    acceptedOn: '2026-09-21',
    dueOn: '2026-09-28',
    completedOn: '2026-09-30',
    materials: { required: 3, handedIn: 3 },
  });
  await seedDelivery(db, c4, {
    department: 'PSB',
    status: 'delivered',
    createdAt: c4Submitted,
    deliveredAt: after(c4Submitted, 50),
  });
  deadDeliveries['c4'] = await seedDelivery(db, c4, {
    department: 'NRB',
    status: 'dead',
    attempts: 1,
    createdAt: c4Submitted,
    deadAt: at('2026-09-22T09:00:00'),
    lastError: 'department_contract_violation: response.owner missing',
  });

  const c5Submitted = at('2026-10-26T10:00:00');
  const c5 = await seed('c5', {
    itemCode: 'enterprise_establishment',
    status: 'completed',
    openedAt: at('2026-10-26T09:00:00'),
    submittedAt: c5Submitted,
    acceptedOn: '2026-10-26',
    dueOn: '2026-10-31',
    completedOn: '2026-10-31',
    materials: { required: 3, reused: 1, fetched: 2 },
  });
  await seedDelivery(db, c5, {
    department: 'PSB',
    status: 'delivered',
    createdAt: c5Submitted,
    deliveredAt: after(c5Submitted, 1000),
  });

  const c6Submitted = at('2026-10-31T23:59:30');
  const c6 = await seed('c6', {
    status: 'in_progress',
    openedAt: at('2026-10-31T23:59:00'),
    submittedAt: c6Submitted,
    acceptedOn: '2026-10-31',
    dueOn: '2026-11-06',
    materials: { required: 6, reused: 4, fetched: 2 },
  });
  await seedDelivery(db, c6, { department: 'NRB', status: 'pending', attempts: 2, createdAt: c6Submitted });
  await seedDelivery(db, c6, { department: 'PSB', status: 'pending', createdAt: c6Submitted });

  await seed('c7', { status: 'open', openedAt: at('2026-11-01T00:00:00') });
  await seed('c8', { status: 'open', openedAt: at('2026-09-30T23:30:00') });
  await seed('c9', {
    status: 'submitted',
    openedAt: at('2026-10-05T09:00:00'),
    submittedAt: at('2026-11-02T09:00:00'),
    acceptedOn: '2026-11-02',
    dueOn: '2026-11-09',
  });
});

afterAll(async () => gw?.close());

describe('the period', () => {
  it('runs from midnight China Standard Time on its first day to midnight after its last', () => {
    expect(periodInstants(OCTOBER)).toEqual({
      start: new Date('2026-09-30T16:00:00Z'),
      end: new Date('2026-10-31T16:00:00Z'),
    });
  });
});

describe('the summary of October 2026', () => {
  let summary: SupervisionSummary;
  beforeAll(async () => {
    summary = await supervisionSummary(gw.services.db, gw.services, OCTOBER);
  });

  it('counts on-time completion of the cases concluded in the period, rejections included', () => {
    expect(summary.completion).toEqual({
      concluded: 4,
      completed: 3,
      rejected: 1,
      onTime: 3,
      late: 1,
      onTimeRate: 0.75,
    });
  });

  it('counts the cases opened in the period by their current status', () => {
    expect(summary.casesByStatus).toEqual({
      open: 0,
      submitted: 1,
      in_progress: 1,
      awaiting_applicant: 0,
      completed: 3,
      rejected: 1,
      partially_rejected: 0,
    });
  });

  it('adds up the materials of the cases accepted in the period, per item and in total', () => {
    const { byItem, ...total } = summary.materials;
    expect(total).toEqual({
      cases: 5,
      required: 25,
      handedIn: 7,
      reused: 10,
      fetched: 7,
      deferred: 1,
      averageHandedInPerCase: 1.4,
    });
    expect(byItem).toEqual([
      {
        itemCode: 'enterprise_establishment',
        itemName: expect.any(String),
        cases: 1,
        required: 3,
        handedIn: 0,
        reused: 1,
        fetched: 2,
        deferred: 0,
        averageHandedInPerCase: 0,
      },
      {
        itemCode: 'household_move_in',
        itemName: expect.any(String),
        cases: 1,
        required: 4,
        handedIn: 4,
        reused: 0,
        fetched: 0,
        deferred: 0,
        averageHandedInPerCase: 4,
      },
      {
        itemCode: 'real_estate_transfer',
        itemName: expect.any(String),
        cases: 3,
        required: 18,
        handedIn: 3,
        reused: 9,
        fetched: 5,
        deferred: 1,
        averageHandedInPerCase: 1,
      },
    ]);
  });

  it('gives each department its deliveries, retries and latency percentiles from submission to acknowledgement', () => {
    expect(summary.deliveries).toEqual({
      total: 8,
      delivered: 5,
      pending: 2,
      dead: 1,
      retried: 3,
      byDepartment: [
        {
          department: 'NRB',
          total: 3,
          delivered: 1,
          pending: 1,
          dead: 1,
          retried: 3,
          latencyMs: { delivered: 1, p50: 2000, p95: 2000 },
        },
        // 100, 200, 300 and 1000 ms: interpolated, p50 = 250 and p95 = 300 + 0.85 × 700.
        {
          department: 'PSB',
          total: 5,
          delivered: 4,
          pending: 1,
          dead: 0,
          retried: 0,
          latencyMs: { delivered: 4, p50: 250, p95: 895 },
        },
      ],
    });
  });

  it('lists every dead letter, newest first, with the error code but not the message', () => {
    expect(summary.deadLetters.total).toBe(2);
    expect(summary.deadLetters.items).toEqual([
      {
        deliveryId: deadDeliveries['c2'],
        caseNumber: cases['c2']?.caseNumber,
        department: 'NRB',
        attempts: 8,
        lastErrorCode: 'department_rejected',
        createdAt: '2026-10-12T02:00:00.000Z',
        deadAt: '2026-10-12T03:00:00.000Z',
      },
      {
        deliveryId: deadDeliveries['c4'],
        caseNumber: cases['c4']?.caseNumber,
        department: 'NRB',
        attempts: 1,
        lastErrorCode: 'department_contract_violation',
        createdAt: '2026-09-21T02:00:00.000Z',
        deadAt: '2026-09-22T01:00:00.000Z',
      },
    ]);
    expect(JSON.stringify(summary)).not.toContain(SEEDED_APPLICANT.name);
  });

  it("shows each configured department's health from the registry", () => {
    expect(summary.departments).toEqual([
      {
        code: 'PSB',
        name: 'Population registry',
        breakerState: 'closed',
        calls: 0,
        errors: 0,
        errorsByKind: {},
        lastError: null,
        latencyMs: { p50: null, p99: null, window: expect.any(Number) },
      },
    ]);
  });

  it('answers with zeros and no rates for a period without cases', async () => {
    const empty = await supervisionSummary(gw.services.db, gw.services, { from: '2025-01-01', to: '2025-01-31' });
    expect(empty.completion).toEqual({ concluded: 0, completed: 0, rejected: 0, onTime: 0, late: 0, onTimeRate: null });
    expect(empty.materials).toEqual({
      cases: 0,
      required: 0,
      handedIn: 0,
      reused: 0,
      fetched: 0,
      deferred: 0,
      averageHandedInPerCase: null,
      byItem: [],
    });
    expect(empty.deliveries.byDepartment).toEqual([]);
    expect(empty.deadLetters.total).toBe(2);
  });
});

describe('GET /v1/supervision/summary', () => {
  it('answers an auditor with the same figures and audits the read', async () => {
    const auditor = await gw.createClient('auditor');
    const token = (await gw.services.tokens.issue(auditor.client, ['supervision:read'])).accessToken;
    const response = await gw.request('/v1/supervision/summary?from=2026-10-01&to=2026-10-31', {
      headers: bearer(token),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(
      JSON.parse(JSON.stringify(await supervisionSummary(gw.services.db, gw.services, OCTOBER))),
    );
    const audited = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.actorClientId, auditor.client.id), eq(auditEntries.action, 'supervision.read')));
    expect(audited).toMatchObject([
      { outcome: 'allowed', fields: ['summary'], purpose: 'supervision', subjectRef: null },
    ]);
  });

  it('defaults to the 30 days up to today and refuses a period that is not one', async () => {
    const token = await gw.tokenFor('admin', ['supervision:read']);
    const byDefault = (await (
      await gw.request('/v1/supervision/summary', { headers: bearer(token) })
    ).json()) as SupervisionSummary;
    const days = (Date.parse(byDefault.period.to) - Date.parse(byDefault.period.from)) / 86_400_000;
    expect(days).toBe(29);
    for (const query of ['from=2026-10-31&to=2026-10-01', 'from=2026-02-30', 'to=31.10.2026']) {
      const refused = await gw.request(`/v1/supervision/summary?${query}`, { headers: bearer(token) });
      expect(refused.status, query).toBe(400);
      expect((await problemOf(refused)).code, query).toBe('validation_failed');
    }
  });

  it('refuses dates outside 2000–2099 and periods over 366 days with 400 naming the limits, before the database sees them', async () => {
    const token = await gw.tokenFor('admin', ['supervision:read']);
    const logLinesBefore = gw.logs.lines.length;
    // The attack suite's query: it was a 500 whose error log line carried the SQL and a stack.
    for (const path of [
      '/v1/supervision/summary?from=0001-01-01&to=9999-12-31',
      '/supervision?from=0001-01-01&to=9999-12-31',
    ]) {
      const refused = await gw.request(path, { headers: bearer(token) });
      expect(refused.status, path).toBe(400);
      const problem = await problemOf(refused);
      expect(problem.code).toBe('validation_failed');
      expect(problem['limits']).toEqual({ earliest: '2000-01-01', latest: '2099-12-31', maxDays: 366 });
      expect(problem['errors']).toEqual([
        { path: 'from', message: 'dates run from 2000-01-01 to 2099-12-31', messageZh: OUTSIDE_YEARS_ZH },
        { path: 'to', message: 'dates run from 2000-01-01 to 2099-12-31', messageZh: OUTSIDE_YEARS_ZH },
        { path: 'to', message: 'a period spans at most 366 days, both ends included', messageZh: TOO_LONG_ZH },
      ]);
    }
    const tooLong = await gw.request('/v1/supervision/summary?from=2025-01-01&to=2026-01-02', {
      headers: bearer(token),
    });
    expect(tooLong.status).toBe(400);
    expect((await problemOf(tooLong))['errors']).toEqual([
      { path: 'to', message: 'a period spans at most 366 days, both ends included', messageZh: TOO_LONG_ZH },
    ]);
    // A leap year, both ends included, is the longest period answered; a `to` near the earliest
    // date gets a default `from` that stops there.
    expect(
      (await gw.request('/v1/supervision/summary?from=2024-01-01&to=2024-12-31', { headers: bearer(token) })).status,
    ).toBe(200);
    const early = await gw.request('/v1/supervision/summary?to=2000-01-10', { headers: bearer(token) });
    expect(((await early.json()) as SupervisionSummary).period).toEqual({ from: '2000-01-01', to: '2000-01-10' });
    const logged = gw.logs.lines.slice(logLinesBefore).join('\n');
    expect(logged).not.toMatch(/"level":50/);
    expect(logged).not.toMatch(/select|Failed query|stack/i);
  });
});
