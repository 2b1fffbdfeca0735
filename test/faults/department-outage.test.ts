/**
 * One department failing completely, in process, with real simulators behind fault proxies:
 * - the department's breaker opens (the departments API says so), later calls fail fast with
 *   503 `department_circuit_open` without touching the department, and it recovers on its own
 *   once the department is back (half-open trial);
 * - another department keeps its latency meanwhile (medians before vs during, as a ratio);
 * - a burst of calls to a failing department reaches it at most ~1.1 times per call made: the
 *   breaker and the client's retry budget keep retries from multiplying an outage.
 * Failures come from the proxy (TCP reset) and from the simulator's own switches (HTTP 503, an
 * answer that never comes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../../adapters/amr-enterprise/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { Fault, RunningSimulator } from '../../adapters/sdk/simulator.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from '../harness.js';
import { FaultProxy } from './fault-proxy.js';
import {
  amrDepartment,
  figure,
  identityVerifier,
  loopbackDepartments,
  median,
  ms,
  pause,
  psbDepartment,
  timed,
} from './support.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
/** PSB's answer-headers timeout here: a held request fails after this, so the tests stay short. */
const PSB_HEADERS_TIMEOUT_MS = 1000;
const PSB_HALF_OPEN_AFTER_MS = 3000;
/**
 * Generous: the healthy department may slow down somewhat on a shared 2-core machine, not
 * collapse. Its median is a few milliseconds, which jitter by a few more, so a rise of up to
 * HEALTHY_LATENCY_SLACK_MS is tolerated as well; an outage that reached it would show as the
 * failing department's timeouts (a second each), far beyond either.
 */
const HEALTHY_LATENCY_RATIO_BOUND = 5;
const HEALTHY_LATENCY_SLACK_MS = 50;
const BURST_CALLS = 100;
const RETRY_MULTIPLIER_BOUND = 1.1;

let psbSimulator: RunningSimulator;
let amrSimulator: RunningSimulator;
let resetSimulator: RunningSimulator;
let failingSimulator: RunningSimulator;
let psbProxy: FaultProxy;
let amrProxy: FaultProxy;
let resetProxy: FaultProxy;
let failingProxy: FaultProxy;
let gw: TestGateway;
let windowToken: string;
let subjectId: string;
let auditorToken: string;
let healthyAmrMedianMs: number;

function verify(department: string): Promise<Response> {
  return gw.request(`/v1/subjects/${subjectId}/identity-verification`, {
    method: 'POST',
    headers: bearer(windowToken, { 'onewindow-purpose': 'case_acceptance', 'content-type': 'application/json' }),
    body: JSON.stringify({ department }),
  });
}

/** The code a verification ended with: `ok` for an answer, else the problem's code. */
async function outcomeOf(response: Response): Promise<string> {
  if (response.status === 200) {
    await response.arrayBuffer();
    return 'ok';
  }
  return (await problemOf(response)).code;
}

async function breakerState(code: string): Promise<string> {
  const response = await gw.request(`/v1/departments/${code}`, { headers: bearer(auditorToken) });
  return ((await response.json()) as { breakerState: string }).breakerState;
}

/** One live AMR health check through the gateway; throws unless the department answered ok. */
async function amrHealthCheck(): Promise<number> {
  const { result, ms: elapsed } = await timed(() =>
    gw.request('/v1/departments/AMR/health-check', { method: 'POST', headers: bearer(auditorToken) }),
  );
  const body = (await result.json()) as { ok: boolean };
  if (!body.ok) throw new Error(`AMR health check failed: ${JSON.stringify(body)}`);
  return elapsed;
}

async function amrLatencySample(count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) samples.push(await amrHealthCheck());
  return samples;
}

/**
 * Runs `during` while two workers keep calling PSB, each pausing between calls (steady traffic,
 * not a flood; bounded in count), and returns the outcomes those calls had.
 */
async function withPsbLoad(during: () => Promise<void>): Promise<Map<string, number>> {
  let stopped = false;
  let calls = 0;
  const outcomes = new Map<string, number>();
  const worker = async (): Promise<void> => {
    while (!stopped && calls < 600) {
      calls += 1;
      const outcome = await outcomeOf(await verify('PSB'));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      // A call failing fast never leaves the microtask queue: pause so timers and sockets run.
      await pause(20);
    }
  };
  const running = Promise.all([worker(), worker()]);
  try {
    await during();
  } finally {
    stopped = true;
    await running;
  }
  return outcomes;
}

beforeAll(async () => {
  [psbSimulator, amrSimulator, resetSimulator, failingSimulator] = await Promise.all([
    startPsbPopulationSimulator(),
    startAmrEnterpriseSimulator(),
    startPsbPopulationSimulator(),
    startPsbPopulationSimulator(),
  ]);
  [psbProxy, amrProxy, resetProxy, failingProxy] = await Promise.all([
    FaultProxy.start(psbSimulator.url),
    FaultProxy.start(amrSimulator.url),
    FaultProxy.start(resetSimulator.url),
    FaultProxy.start(failingSimulator.url),
  ]);
  const departments = [
    {
      ...psbDepartment('PSB', psbProxy.url, {
        headersTimeoutMs: PSB_HEADERS_TIMEOUT_MS,
        breakerHalfOpenAfterMs: PSB_HALF_OPEN_AFTER_MS,
      }),
      // Three population registers: PSB answers resident IDs; PSBR and PSBS only when named.
      identityVerification: { identifierTypes: ['resident_id'] },
    },
    amrDepartment('AMR', amrProxy.url),
    // The retry-budget departments keep the client's default tuning: what a deployment gets.
    psbDepartment('PSBR', resetProxy.url),
    psbDepartment('PSBS', failingProxy.url),
  ];
  gw = await createTestGateway({ DEPARTMENTS_JSON: JSON.stringify(departments), ...loopbackDepartments });
  ({ token: windowToken, subjectId } = await identityVerifier(gw, ZHANG_SAN));
  auditorToken = await gw.tokenFor('auditor');
  // Warm up (connections, compiled paths), then the healthy department's own baseline.
  for (const code of ['PSB', 'PSBR', 'PSBS']) expect(await outcomeOf(await verify(code))).toBe('ok');
  await amrLatencySample(10);
  // The baseline carries the same PSB traffic as the outage will, so the ratio shows what the
  // outage itself costs the healthy department (in process, all calls share one event loop and,
  // on PGlite, one database connection).
  const outcomes = await withPsbLoad(async () => {
    healthyAmrMedianMs = median(await amrLatencySample(30));
  });
  expect(outcomes.get('ok') ?? 0).toBeGreaterThan(0);
  figure('AMR health check median, PSB healthy and called alongside', ms(healthyAmrMedianMs));
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psbProxy, amrProxy, resetProxy, failingProxy].map((proxy) => proxy?.close()));
  await Promise.all(
    [psbSimulator, amrSimulator, resetSimulator, failingSimulator].map((simulator) => simulator?.close()),
  );
});

interface OutageVariant {
  name: string;
  start(): void;
  stop(): void;
}

const outages: OutageVariant[] = [
  {
    name: 'proxy resets every connection',
    start: () => psbProxy.setMode({ kind: 'reset' }),
    stop: () => psbProxy.setMode({ kind: 'pass' }),
  },
  {
    name: 'simulator answers HTTP 503',
    start: () => psbSimulator.setFault({ kind: 'http_5xx' } satisfies Fault),
    stop: () => psbSimulator.setFault(null),
  },
  {
    name: 'simulator never answers',
    start: () => psbSimulator.setFault({ kind: 'timeout' } satisfies Fault),
    stop: () => psbSimulator.setFault(null),
  },
];

describe('one department failing completely', () => {
  for (const outage of outages) {
    it(`${outage.name}: its breaker opens, its calls fail fast, the other department keeps its latency, and it recovers`, async () => {
      const faultAt = performance.now();
      outage.start();
      // The breaker opens after 5 consecutive failed calls; each waits out its attempts.
      let openedAfterMs = Number.NaN;
      let loadOutcomes = await withPsbLoad(async () => {
        let state = 'closed';
        for (let check = 0; check < 80 && state !== 'open'; check += 1) {
          await pause(250);
          state = await breakerState('PSB');
        }
        expect(state).toBe('open');
        openedAfterMs = performance.now() - faultAt;
      });
      expect(loadOutcomes.get('ok') ?? 0).toBe(0);

      // Open: calls fail at once, with the stable code and Retry-After, and reach nobody. On a
      // slow run the half-open delay may run out meanwhile: then one call is the breaker's trial
      // and does reach the department (and fails, so the breaker opens again).
      const traffic = () => ({
        connections: psbProxy.counts().connections,
        bytes: psbProxy.counts().bytesFromClients,
        requests: psbSimulator.requestCount(),
      });
      const failFast: number[] = [];
      let trials = 0;
      for (let call = 0; call < 20; call += 1) {
        const before = traffic();
        const { result: response, ms: elapsed } = await timed(() => verify('PSB'));
        const problem = await problemOf(response);
        if (problem.code !== 'department_circuit_open') {
          trials += 1;
          continue;
        }
        failFast.push(elapsed);
        expect(problem).toMatchObject({ status: 503, department: 'PSB' });
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(traffic()).toEqual(before);
      }
      expect(trials).toBeLessThanOrEqual(1);
      // Far below the time one failing attempt takes: no network wait at all.
      expect(Math.max(...failFast)).toBeLessThan(PSB_HEADERS_TIMEOUT_MS);

      // The healthy department, measured while PSB is down and still being called.
      let duringAmrMedianMs = Number.NaN;
      loadOutcomes = await withPsbLoad(async () => {
        duringAmrMedianMs = median(await amrLatencySample(30));
      });
      expect(loadOutcomes.get('department_circuit_open') ?? 0).toBeGreaterThan(0);
      expect(loadOutcomes.get('ok') ?? 0).toBe(0);

      const ratio = duringAmrMedianMs / healthyAmrMedianMs;
      figure(
        `PSB down (${outage.name})`,
        `breaker open after ${ms(openedAfterMs)}; fail-fast median ${ms(median(failFast))}, max ${ms(Math.max(...failFast))}; AMR median ${ms(duringAmrMedianMs)} vs ${ms(healthyAmrMedianMs)} before (×${ratio.toFixed(2)}); PSB load outcomes ${JSON.stringify(Object.fromEntries(loadOutcomes))}`,
      );
      expect(duringAmrMedianMs).toBeLessThan(
        Math.max(HEALTHY_LATENCY_RATIO_BOUND * healthyAmrMedianMs, healthyAmrMedianMs + HEALTHY_LATENCY_SLACK_MS),
      );

      // Back: the breaker lets a trial call through after its half-open delay and closes again.
      const restoredAt = performance.now();
      outage.stop();
      let outcome = '';
      for (let attempt = 0; attempt < 60 && outcome !== 'ok'; attempt += 1) {
        outcome = await outcomeOf(await verify('PSB'));
        if (outcome !== 'ok') await pause(200);
      }
      expect(outcome).toBe('ok');
      expect(await breakerState('PSB')).toBe('closed');
      figure(
        `PSB recovered after (${outage.name})`,
        `${ms(performance.now() - restoredAt)} from the fault's end (half-open after ${PSB_HALF_OPEN_AFTER_MS} ms)`,
      );
    });
  }
});

/**
 * The burst's figures: attempts per call made, and per call that reached the department at all
 * (not refused by the bulkhead as `overloaded` or by the open breaker).
 */
function describeBurst(attempts: number, outcomes: Map<string, number>): string {
  const reached =
    BURST_CALLS - (outcomes.get('department_overloaded') ?? 0) - (outcomes.get('department_circuit_open') ?? 0);
  return `${attempts} attempts for ${BURST_CALLS} calls = ×${(attempts / BURST_CALLS).toFixed(2)} (${reached} calls reached the department, ${attempts - reached} retries); outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`;
}

describe('retries stay within budget while a department fails', () => {
  const burst = async (code: string): Promise<Map<string, number>> => {
    const outcomes = new Map<string, number>();
    await Promise.all(
      Array.from({ length: BURST_CALLS }, async () => {
        const outcome = await outcomeOf(await verify(code));
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
    );
    return outcomes;
  };

  it(`a burst of ${BURST_CALLS} calls against TCP resets reaches the department at most ${RETRY_MULTIPLIER_BOUND}× per call`, async () => {
    resetProxy.resetCounts();
    resetProxy.setMode({ kind: 'reset' });
    let outcomes: Map<string, number>;
    try {
      outcomes = await burst('PSBR');
    } finally {
      resetProxy.setMode({ kind: 'pass' });
    }
    // Every attempt that reached the proxy was answered with one RST.
    const attempts = resetProxy.counts().resets;
    const multiplier = attempts / BURST_CALLS;
    figure('retry multiplier, PSB resetting every connection', describeBurst(attempts, outcomes));
    expect(outcomes.get('ok') ?? 0).toBe(0);
    expect(multiplier).toBeLessThanOrEqual(RETRY_MULTIPLIER_BOUND);
  });

  it(`a burst of ${BURST_CALLS} calls against HTTP 503 reaches the department at most ${RETRY_MULTIPLIER_BOUND}× per call`, async () => {
    failingSimulator.resetCounts();
    failingSimulator.setFault({ kind: 'http_5xx' });
    let outcomes: Map<string, number>;
    try {
      outcomes = await burst('PSBS');
    } finally {
      failingSimulator.setFault(null);
    }
    const attempts = failingSimulator.requestCount('verifyIdentity');
    const multiplier = attempts / BURST_CALLS;
    figure('retry multiplier, PSB answering 503', describeBurst(attempts, outcomes));
    expect(outcomes.get('ok') ?? 0).toBe(0);
    expect(multiplier).toBeLessThanOrEqual(RETRY_MULTIPLIER_BOUND);
  });
});
