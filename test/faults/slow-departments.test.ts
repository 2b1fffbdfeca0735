/**
 * Departments that are slow or silent rather than down, in process, through a fault proxy in
 * front of the PSB simulator: an answer dripping at one byte per second, added latency, a
 * blackhole, a bandwidth cap and a half-open connection. Each call ends within the client's
 * timeouts and total budget with the stable `department_timeout` (504), the gateway answers
 * normally as soon as the department does, and nothing is left hanging.
 *
 * On the timers (undici's semantics): the headers timeout counts from sending the request to the
 * whole head; the body timeout is the longest pause between two body chunks, so a body dripping
 * a byte a second never trips a 1.5 s body timeout; the call's total budget ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from '../harness.js';
import { type FaultMode, FaultProxy } from './fault-proxy.js';
import { figure, identityVerifier, loopbackDepartments, ms, pause, psbDepartment, timed } from './support.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const HEADERS_TIMEOUT_MS = 1500;
const BODY_TIMEOUT_MS = 1500;
const BUDGET_MS = 4000;
/**
 * What "bounded" means here: the budget, plus room for a loaded machine's late timers. It is
 * a bound derived from the configured budget, not a latency target.
 */
const BOUNDED_MS = BUDGET_MS * 2;

let simulator: RunningSimulator;
let proxy: FaultProxy;
let gw: TestGateway;
let windowToken: string;
let subjectId: string;
/** Bytes of one whole verification answer as it leaves the proxy (head and body). */
let answerBytes: number;

function verify(): Promise<Response> {
  return gw.request(`/v1/subjects/${subjectId}/identity-verification`, {
    method: 'POST',
    headers: bearer(windowToken, { 'onewindow-purpose': 'case_acceptance', 'content-type': 'application/json' }),
    body: JSON.stringify({ department: 'SLOW' }),
  });
}

/** One verification under `mode`: its status, stable code, the reason given, and how long it took. */
async function verifyUnder(
  mode: FaultMode,
): Promise<{ status: number; code: string; reason: string; elapsedMs: number }> {
  proxy.setMode(mode);
  try {
    const { result: response, ms: elapsedMs } = await timed(verify);
    if (response.status === 200) {
      await response.arrayBuffer();
      return { status: 200, code: 'ok', reason: '', elapsedMs };
    }
    const problem = await problemOf(response);
    // The problem's `reason` (the adapter's own words) names which timer ended the call (no personal data in it).
    return { status: problem.status, code: problem.code, reason: String(problem['reason'] ?? ''), elapsedMs };
  } finally {
    proxy.setMode({ kind: 'pass' });
  }
}

/** After a fault, the department answers normally again through the same gateway. */
async function expectHealthyAgain(): Promise<void> {
  const response = await verify();
  expect(response.status).toBe(200);
  await response.arrayBuffer();
}

beforeAll(async () => {
  simulator = await startPsbPopulationSimulator();
  proxy = await FaultProxy.start(simulator.url);
  const tuning = {
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: BODY_TIMEOUT_MS,
    connectTimeoutMs: 1000,
    budgetMs: BUDGET_MS,
    // One attempt per call, so each figure is one timer; the breaker must not answer instead.
    retries: 0,
    breakerFailures: 1000,
  };
  gw = await createTestGateway({
    DEPARTMENTS_JSON: JSON.stringify([psbDepartment('SLOW', proxy.url, tuning)]),
    ...loopbackDepartments,
  });
  ({ token: windowToken, subjectId } = await identityVerifier(gw, ZHANG_SAN));
  await expectHealthyAgain();
  // Size one answer on a fresh connection count: what a drip has to deliver.
  proxy.resetCounts();
  await expectHealthyAgain();
  answerBytes = proxy.counts().bytesToClients;
  expect(answerBytes).toBeGreaterThan(100);
});

afterAll(async () => {
  await gw?.close();
  await proxy?.close();
  await simulator?.close();
});

describe('a department answering at one byte per second', () => {
  const dripWouldTakeMs = () => answerBytes * 1000;

  it('from the first byte: ends at the headers timeout with 504 department_timeout', async () => {
    const outcome = await verifyUnder({ kind: 'drip', bytes: 1, everyMs: 1000 });
    figure(
      '1 byte/s from the start',
      `${outcome.code} after ${ms(outcome.elapsedMs)} (headers timeout ${HEADERS_TIMEOUT_MS} ms; the whole ${answerBytes}-byte answer would take ${ms(dripWouldTakeMs())})`,
    );
    expect(outcome).toMatchObject({ status: 504, code: 'department_timeout' });
    expect(outcome.reason).toContain('headers');
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(outcome.elapsedMs).toBeLessThan(Math.min(BOUNDED_MS, dripWouldTakeMs() / 10));
    await expectHealthyAgain();
  });

  it('after an intact head: the body timeout never trips (a byte every second), the budget ends it', async () => {
    const outcome = await verifyUnder({ kind: 'drip', bytes: 1, everyMs: 1000, afterHeaders: true });
    figure(
      '1 byte/s body after an intact head',
      `${outcome.code} after ${ms(outcome.elapsedMs)} (budget ${BUDGET_MS} ms, body timeout ${BODY_TIMEOUT_MS} ms)`,
    );
    expect(outcome).toMatchObject({ status: 504, code: 'department_timeout' });
    expect(outcome.reason).toContain('budget');
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(BUDGET_MS - 50);
    expect(outcome.elapsedMs).toBeLessThan(Math.min(BOUNDED_MS, dripWouldTakeMs() / 10));
    await expectHealthyAgain();
  });

  it('a body slower than the body timeout (a byte every 3 s): ends at the body timeout', async () => {
    const outcome = await verifyUnder({ kind: 'drip', bytes: 1, everyMs: 3000, afterHeaders: true });
    figure(
      '1 byte/3 s body after an intact head',
      `${outcome.code} after ${ms(outcome.elapsedMs)} (body timeout ${BODY_TIMEOUT_MS} ms)`,
    );
    expect(outcome).toMatchObject({ status: 504, code: 'department_timeout' });
    expect(outcome.reason).toContain('body');
    expect(outcome.elapsedMs).toBeLessThan(BOUNDED_MS);
    await expectHealthyAgain();
  });
});

describe('latency, blackhole, bandwidth cap and half-open connections end bounded, with a stable error', () => {
  const cases: { name: string; mode: FaultMode; expected: string; freshConnection?: boolean }[] = [
    { name: 'latency of 3 s per chunk', mode: { kind: 'latency', perChunkMs: 3000 }, expected: 'headers' },
    // The kept-alive connection is closed first, or the call would not connect at all.
    {
      name: 'latency of 3 s at connect',
      mode: { kind: 'latency', connectMs: 3000 },
      expected: 'headers',
      freshConnection: true,
    },
    { name: 'blackhole (accepted, never answered)', mode: { kind: 'drop' }, expected: 'headers' },
    { name: 'bandwidth capped at 20 bytes/s', mode: { kind: 'bandwidth', bytesPerSecond: 20 }, expected: 'headers' },
    { name: 'half-open (read, never answered, never closed)', mode: { kind: 'half_open' }, expected: 'headers' },
  ];
  for (const { name, mode, expected, freshConnection } of cases) {
    it(`${name}: 504 department_timeout within the budget`, async () => {
      if (freshConnection) {
        proxy.disconnectAll();
        // Let the client see the close before it picks a connection.
        await pause(200);
      }
      const outcome = await verifyUnder(mode);
      figure(name, `${outcome.code} after ${ms(outcome.elapsedMs)}`);
      expect(outcome).toMatchObject({ status: 504, code: 'department_timeout' });
      expect(outcome.reason).toContain(expected);
      expect(outcome.elapsedMs).toBeLessThan(BOUNDED_MS);
      await expectHealthyAgain();
    });
  }

  it('mild latency and a modest bandwidth cap only slow the answer down', async () => {
    const latency = await verifyUnder({ kind: 'latency', perChunkMs: 200 });
    const bandwidth = await verifyUnder({ kind: 'bandwidth', bytesPerSecond: 2000 });
    figure(
      '200 ms per chunk / 2000 bytes/s',
      `${latency.code} after ${ms(latency.elapsedMs)} / ${bandwidth.code} after ${ms(bandwidth.elapsedMs)}`,
    );
    expect(latency.code).toBe('ok');
    expect(bandwidth.code).toBe('ok');
  });

  it('left no call hanging: every timed-out call was counted, none is still in flight', async () => {
    const response = await gw.request('/v1/departments/SLOW', { headers: bearer(await gw.tokenFor('auditor')) });
    const department = (await response.json()) as { breakerState: string; errorsByKind: Record<string, number> };
    expect(department.breakerState).toBe('closed');
    expect(department.errorsByKind['timeout']).toBe(8);
  });
});
