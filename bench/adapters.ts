/**
 * `npm run bench:adapters`: what the adapter SDK costs per department call. One realistic
 * operation, the PSB population registry's identity verification (a signed POST with a JSON body
 * and a JSON answer), made two ways against the same simulator, in one run on one machine:
 *
 *   baseline  a plain undici `Pool` (same connection count) sending the same request with the
 *             same signed headers and the caller's abort signal, and parsing the JSON answer;
 *   adapter   `adapter.verifyIdentity(…)` of the PSB adapter as the gateway builds it
 *             (`DepartmentRegistry.create`): the SDK's resilient client (bulkhead, breaker,
 *             retries, budget timer, size cap, metrics) and the real contract set checking every
 *             answer against contracts/psb/psb.population.openapi.yaml.
 *
 * The simulator is a child process (this file with BENCH_ADAPTERS_ROLE=simulator), so it does not
 * share an event loop with the measured client; both ways run in this process, at concurrency 1
 * and 50, warmed up, then in interleaved rounds (order reversed every round). Targets: adapter
 * throughput >= 0.80 of the baseline, and less than 1 ms added at p50. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { PSB_RESOURCE, psbPopulationAdapter } from '../adapters/psb-population/adapter.js';
import {
  PSB_PATHS,
  psbCodes,
  signatureHeaders,
  type PsbEnvelope,
  type VerifyIdentityWireResult,
} from '../adapters/psb-population/protocol.js';
import { seededPeople } from '../adapters/psb-population/seed.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import { loadPsbContract } from '../adapters/psb-population/test-environment.js';
import { registerAdapter } from '../adapters/sdk/adapter.js';
import { defaultClientTuning } from '../adapters/sdk/client.js';
import { createContractSet } from '../adapters/sdk/contract-validation.js';
import { createDepartmentMetrics } from '../adapters/sdk/metrics.js';
import { DepartmentRegistry } from '../gateway/departments/registry.js';
import {
  type CallRun,
  type LatencyStats,
  assertNoFailures,
  fixed,
  latencyStats,
  machineBusySeconds,
  ownCpuSeconds,
  runCalls,
  textTable,
} from './lib/calls.js';
import {
  type ServerProcess,
  cpuSpent,
  freePort,
  killAllNow,
  spawnServer,
  stopAll,
  treeCpu,
  waitForHttp,
} from './lib/children.js';
import { integerFromEnv } from './lib/env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
/** Issue targets: adapter throughput at least this share of the baseline's … */
const THROUGHPUT_TARGET = 0.8;
/** … and at most this many ms added to the median call. */
const ADDED_P50_TARGET_MS = 1;
/**
 * Nonces the simulator remembers. Its default (100 000 within the 300 s signature window) is
 * smaller than a run's call count; when full, every request sweeps the whole cache and is then
 * refused as busy (fail closed), which would measure the simulator's cache, not the SDK.
 */
const SIMULATOR_NONCE_CAPACITY = 2_000_000;
const CREDENTIALS = { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET };
/** The demo's URL policy for its loopback simulators (gateway/demo/simulators.ts). */
const LOOPBACK_ONLY = { allowedHosts: [HOST], allowPrivateNetworks: true };

type Mode = 'baseline' | 'adapter';
const MODES: readonly Mode[] = ['baseline', 'adapter'];
const MODE_LABELS: Record<Mode, string> = {
  baseline: 'baseline: undici Pool + signing + JSON.parse',
  adapter: 'adapter: PSB adapter through the SDK client',
};

// ---------------------------------------------------------------------------------------------
// The simulator (child role).

async function runSimulator(): Promise<void> {
  const port = Number(process.env.SIMULATOR_PORT);
  const simulator = await startPsbPopulationSimulator({ port, host: HOST, nonceCapacity: SIMULATOR_NONCE_CAPACITY });
  process.stdout.write(`PSB population registry simulator listening on ${simulator.url}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      simulator.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Settings.

interface Settings {
  concurrencies: number[];
  /** Measured calls per way and concurrency, index-aligned with `concurrencies`. */
  calls: number[];
  /** Warm-up calls per way and concurrency (unmeasured), and their time cap. */
  warmupCalls: number;
  warmupSeconds: number;
  rounds: number;
  /** Time cap of the measured calls of one way at one concurrency (all rounds together). */
  cellSeconds: number;
  budgetSeconds: number;
  cpuProfile: boolean;
}

/** Default measured calls: enough for a stable p99; 4 to 8 s per way on a quiet reference machine. */
const defaultCalls = (concurrency: number): number => (concurrency <= 1 ? 6000 : 24_000);

function integersFromEnv(name: string, fallback: number[], min: number, max: number): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((item) => Number(item.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < min || value > max)) {
    throw new Error(`${name} must be comma-separated integers from ${min} to ${max}`);
  }
  return values;
}

function settingsFromEnv(): Settings {
  const concurrencies = [...new Set(integersFromEnv('BENCH_CONCURRENCY', [1, 50], 1, 256))];
  const calls = integersFromEnv('BENCH_CALLS', concurrencies.map(defaultCalls), 100, 1_000_000);
  if (calls.length !== 1 && calls.length !== concurrencies.length)
    throw new Error('BENCH_CALLS must be one integer, or one per concurrency in BENCH_CONCURRENCY');
  return {
    concurrencies,
    calls: concurrencies.map((_, index) => (calls.length === 1 ? calls[0] : calls[index]) ?? 1000),
    warmupCalls: integerFromEnv('BENCH_WARMUP_CALLS', 3000, 0, 1_000_000),
    warmupSeconds: integerFromEnv('BENCH_WARMUP_SECONDS', 8, 1, 600),
    rounds: integerFromEnv('BENCH_ROUNDS', 6, 1, 50),
    cellSeconds: integerFromEnv('BENCH_CELL_SECONDS', 20, 1, 600),
    budgetSeconds: integerFromEnv('BENCH_BUDGET_SECONDS', 180, 30, 3600),
    cpuProfile: process.env.BENCH_CPU_PROFILE === '1',
  };
}

// ---------------------------------------------------------------------------------------------
// The two ways of making the call.

/** One identity verification: throws unless the registry says the name matches the number. */
type VerifyCall = (index: number) => Promise<void>;

const RUN_TAG = Date.now().toString(36);
const personOf = (index: number) => {
  const person = seededPeople[index % seededPeople.length];
  if (!person) throw new Error('the PSB seed has no people');
  return person;
};

/**
 * The least code that makes the same call: the same pool size and timeouts as the SDK's pool,
 * the same headers (signature over a fresh time stamp and nonce), the same body bytes, the answer
 * read and JSON-parsed, its code and data checked. Like the adapter way it gets a caller's abort
 * signal per call (the gateway has one per HTTP request; creating it costs the same on both
 * sides) and hands it to undici. No retries, breaker, bulkhead, budget timer, size cap, metrics or
 * contract check: that is what is measured.
 */
function baselineCaller(baseUrl: string): { verify: VerifyCall; close: () => Promise<void> } {
  const pool = new Pool(baseUrl, {
    connections: defaultClientTuning.connections,
    headersTimeout: defaultClientTuning.headersTimeoutMs,
    bodyTimeout: defaultClientTuning.bodyTimeoutMs,
  });
  const verify: VerifyCall = async (index) => {
    const person = personOf(index);
    const body = Buffer.from(JSON.stringify({ xm: person.xm, sfzh: person.sfzh }), 'utf8');
    const { signal } = new AbortController();
    const response = await pool.request({
      method: 'POST',
      path: PSB_PATHS.verifyIdentity,
      headers: {
        accept: 'application/json',
        'x-request-id': `req_bench_${RUN_TAG}_b${index}`,
        'content-type': 'application/json;charset=UTF-8',
        ...signatureHeaders(CREDENTIALS, { method: 'POST', target: PSB_PATHS.verifyIdentity, body }, Date.now()),
      },
      body,
      signal,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`baseline: HTTP ${response.statusCode}`);
    const answer = JSON.parse(text) as PsbEnvelope<VerifyIdentityWireResult>;
    if (answer.code !== psbCodes.success || answer.data?.pp !== '1' || answer.data.sfzh !== person.sfzh) {
      throw new Error(`baseline: unexpected answer (code ${answer.code})`);
    }
  };
  return { verify, close: () => pool.close() };
}

/**
 * The PSB adapter built exactly as the gateway builds a configured department
 * (gateway/services.ts → DepartmentRegistry.create): registered factories, department
 * metrics on a Prometheus registry, the contract set (with metrics) holding the published
 * contract, a logger at the gateway's default level, the demo's loopback URL policy and the
 * default tuning. Each call passes an abort signal of its own, as the gateway passes each HTTP
 * request's signal (one shared signal would collect every call in flight as a listener).
 */
function adapterCaller(baseUrl: string): { verify: VerifyCall; close: () => Promise<void> } {
  const departmentMetrics = createDepartmentMetrics(new Registry());
  const contracts = createContractSet(
    [{ resourceCode: PSB_RESOURCE, document: loadPsbContract(), department: 'PSB' }],
    { metrics: departmentMetrics },
  );
  const registry = DepartmentRegistry.create({
    departments: [
      {
        code: 'PSB',
        name: 'Public Security population registry (benchmark simulator)',
        adapter: 'psb-population',
        baseUrl,
        options: { appKey: CREDENTIALS.appKey, appSecret: CREDENTIALS.appSecret },
        tuning: {},
      },
    ],
    urlPolicy: { allowedHosts: [], allowPrivateNetworks: false },
    urlPolicyOverrides: { PSB: LOOPBACK_ONLY },
    // The PSB package's factory, as the gateway loads it (the shipped adapters are packages).
    factories: [registerAdapter(psbPopulationAdapter)],
    contracts,
    metrics: departmentMetrics,
    // The gateway's default level; the SDK logs only failed calls (none in a passing run).
    logger: pino({ level: 'info' }, pino.destination({ dest: 2, sync: false })),
  });
  const department = registry.get('PSB');
  const verifyIdentity = department?.adapter.verifyIdentity;
  if (!department || !verifyIdentity) throw new Error('the PSB department has no identity verification');
  const verify: VerifyCall = async (index) => {
    const person = personOf(index);
    const { signal } = new AbortController();
    const result = await verifyIdentity(
      { idNumber: person.sfzh, name: person.xm },
      { requestId: `req_bench_${RUN_TAG}_a${index}`, signal },
    );
    if (result.outcome !== 'match') throw new Error(`adapter: unexpected outcome ${result.outcome}`);
  };
  return { verify, close: () => registry.close() };
}

// ---------------------------------------------------------------------------------------------
// Measurement.

interface Cell {
  concurrency: number;
  mode: Mode;
  calls: number;
  seconds: number;
  latencies: Float64Array[];
  clientCpuSeconds: number;
  simulatorCpuSeconds: number;
  otherCpuSeconds: number | undefined;
  cappedByTime: boolean;
}

interface Row {
  concurrency: number;
  mode: Mode;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  latencyMs: LatencyStats;
  /** CPU of this process (the client: baseline or adapter + SDK) per call, µs. */
  clientCpuMicrosPerCall: number;
  simulatorCpuMicrosPerCall: number;
  /** CPU seconds per second of this process; near 1 means the client limited the figure. */
  clientCpuPerSecond: number;
  otherCpuPerSecond: number | undefined;
  cappedByTime: boolean;
}

interface Comparison {
  concurrency: number;
  throughputRatio: number;
  addedP50Ms: number;
  addedP99Ms: number;
  addedClientCpuMicrosPerCall: number;
  throughputPass: boolean;
  addedP50Pass: boolean;
}

/** Calls of round `round` when `count` are split over `rounds`. */
const roundShare = (count: number, rounds: number, round: number): number =>
  Math.floor(count / rounds) + (round < count % rounds ? 1 : 0);

/** Collects this process's garbage before a slice, so each slice pays for its own and not the other way's. */
function collectGarbage(): void {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/** The cells of both ways at one concurrency, and how many calls were started (warm-up included). */
async function measure(
  settings: Settings,
  simulator: ServerProcess,
  callers: Record<Mode, VerifyCall>,
  concurrency: number,
  count: number,
): Promise<{ cells: Cell[]; started: number }> {
  const cells = new Map<Mode, Cell>(
    MODES.map((mode) => [
      mode,
      {
        concurrency,
        mode,
        calls: 0,
        seconds: 0,
        latencies: [],
        clientCpuSeconds: 0,
        simulatorCpuSeconds: 0,
        otherCpuSeconds: 0,
        cappedByTime: false,
      },
    ]),
  );
  let issued = 0;
  const nextIndex = (): number => issued++;
  const run = (mode: Mode, calls: number, seconds: number): Promise<CallRun> =>
    runCalls({
      count: calls,
      concurrency,
      deadline: Date.now() + seconds * 1000,
      call: () => callers[mode](nextIndex()),
    });

  for (const mode of MODES) {
    if (settings.warmupCalls === 0) break;
    assertNoFailures(
      `${MODE_LABELS[mode]}, concurrency ${concurrency}, warm-up`,
      await run(mode, settings.warmupCalls, settings.warmupSeconds),
    );
  }
  for (let round = 0; round < settings.rounds; round += 1) {
    const order = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const cell = cells.get(mode);
      const share = roundShare(count, settings.rounds, round);
      if (!cell || share === 0) continue;
      collectGarbage();
      const simulatorBefore = treeCpu(simulator.pid);
      const clientBefore = ownCpuSeconds();
      const machineBefore = machineBusySeconds();
      const outcome = await run(mode, share, settings.cellSeconds / settings.rounds);
      const machineAfter = machineBusySeconds();
      const clientSpent = ownCpuSeconds() - clientBefore;
      const simulatorSpent = cpuSpent(simulatorBefore, treeCpu(simulator.pid)) ?? 0;
      assertNoFailures(`${MODE_LABELS[mode]}, concurrency ${concurrency}`, outcome);
      cell.calls += outcome.done;
      cell.seconds += outcome.seconds;
      cell.latencies.push(outcome.latencies);
      cell.clientCpuSeconds += clientSpent;
      cell.simulatorCpuSeconds += simulatorSpent;
      cell.otherCpuSeconds =
        cell.otherCpuSeconds === undefined || machineBefore === undefined || machineAfter === undefined
          ? undefined
          : cell.otherCpuSeconds + Math.max(0, machineAfter - machineBefore - clientSpent - simulatorSpent);
      cell.cappedByTime ||= outcome.capped;
    }
  }
  return { cells: [...cells.values()], started: issued };
}

function toRow(cell: Cell): Row {
  const perCall = (seconds: number): number => (cell.calls > 0 ? (seconds * 1e6) / cell.calls : Number.NaN);
  return {
    concurrency: cell.concurrency,
    mode: cell.mode,
    calls: cell.calls,
    seconds: cell.seconds,
    callsPerSecond: cell.seconds > 0 ? cell.calls / cell.seconds : Number.NaN,
    latencyMs: latencyStats(cell.latencies),
    clientCpuMicrosPerCall: perCall(cell.clientCpuSeconds),
    simulatorCpuMicrosPerCall: perCall(cell.simulatorCpuSeconds),
    clientCpuPerSecond: cell.seconds > 0 ? cell.clientCpuSeconds / cell.seconds : Number.NaN,
    otherCpuPerSecond:
      cell.otherCpuSeconds === undefined || cell.seconds === 0 ? undefined : cell.otherCpuSeconds / cell.seconds,
    cappedByTime: cell.cappedByTime,
  };
}

function compare(rows: Row[], concurrency: number): Comparison | undefined {
  const baseline = rows.find((row) => row.concurrency === concurrency && row.mode === 'baseline');
  const adapter = rows.find((row) => row.concurrency === concurrency && row.mode === 'adapter');
  if (!baseline || !adapter) return undefined;
  const throughputRatio = adapter.callsPerSecond / baseline.callsPerSecond;
  const addedP50Ms = adapter.latencyMs.p50 - baseline.latencyMs.p50;
  return {
    concurrency,
    throughputRatio,
    addedP50Ms,
    addedP99Ms: adapter.latencyMs.p99 - baseline.latencyMs.p99,
    addedClientCpuMicrosPerCall: adapter.clientCpuMicrosPerCall - baseline.clientCpuMicrosPerCall,
    throughputPass: throughputRatio >= THROUGHPUT_TARGET,
    addedP50Pass: addedP50Ms < ADDED_P50_TARGET_MS,
  };
}

function printReport(settings: Settings, rows: Row[], comparisons: Comparison[]): void {
  console.log(
    `\nIdentity verification (signed POST ${PSB_PATHS.verifyIdentity}), ${settings.rounds} interleaved round(s) per concurrency:\n`,
  );
  console.log(
    textTable(
      [
        [
          'conc.',
          'way',
          'calls',
          'calls/s',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'max ms',
          'client CPU µs/call',
          'simulator CPU µs/call',
          'client CPU s/s',
          'other CPU s/s',
        ],
        ...rows.map((row) => [
          String(row.concurrency),
          MODE_LABELS[row.mode],
          `${row.calls}${row.cappedByTime ? ' (time cap)' : ''}`,
          fixed(row.callsPerSecond, 0),
          fixed(row.latencyMs.p50, 3),
          fixed(row.latencyMs.p90, 3),
          fixed(row.latencyMs.p99, 3),
          fixed(row.latencyMs.max, 2),
          fixed(row.clientCpuMicrosPerCall, 1),
          fixed(row.simulatorCpuMicrosPerCall, 1),
          fixed(row.clientCpuPerSecond, 2),
          fixed(row.otherCpuPerSecond, 2),
        ]),
      ],
      2,
    ),
  );
  console.log('\nAdapter vs baseline:\n');
  console.log(
    textTable([
      [
        'conc.',
        'throughput ratio',
        `>= ${THROUGHPUT_TARGET.toFixed(2)}`,
        'added p50 ms',
        `< ${ADDED_P50_TARGET_MS} ms`,
        'added p99 ms',
        'added client CPU µs/call',
      ],
      ...comparisons.map((comparison) => [
        String(comparison.concurrency),
        fixed(comparison.throughputRatio, 3),
        comparison.throughputPass ? 'PASS' : 'MISS',
        fixed(comparison.addedP50Ms, 3),
        comparison.addedP50Pass ? 'PASS' : 'MISS',
        fixed(comparison.addedP99Ms, 3),
        fixed(comparison.addedClientCpuMicrosPerCall, 1),
      ]),
    ]),
  );
  const verdict = comparisons.every((comparison) => comparison.throughputPass && comparison.addedP50Pass)
    ? 'PASS'
    : 'MISS';
  const busiest = Math.max(...rows.map((row) => row.otherCpuPerSecond ?? 0));
  if (busiest > 0.3) {
    console.log(
      `\n  NOTE: other processes used up to ${busiest.toFixed(2)} CPU s/s during the slices: the machine was not quiet, and on a` +
        '\n  small machine the client then waits for a core. Ratios are noisy; compare client CPU per call, or run again.',
    );
  }
  console.log(
    `\n  Targets (every concurrency): adapter throughput >= ${THROUGHPUT_TARGET} of the baseline, added p50 < ` +
      `${ADDED_P50_TARGET_MS} ms. Overall: ${verdict}.` +
      '\n  Client CPU = this process (the measured client) per call: the steadiest figure; its difference is what ' +
      'the adapter and the SDK add.',
  );
}

/**
 * Profiles one way on its own, after the measurement (a profiler running during the measured
 * slices would slow both ways and blur which code belongs to which). Returns the calls made.
 */
async function profileWay(
  call: VerifyCall,
  concurrency: number,
  count: number,
  seconds: number,
  file: string,
): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    let index = 0;
    const run = await runCalls({
      count,
      concurrency,
      deadline: Date.now() + seconds * 1000,
      call: () => call(index++),
    });
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    assertNoFailures(`profiling ${file}`, run);
    return index;
  } finally {
    session.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------

async function simulatorCount(baseUrl: string): Promise<number> {
  const response = await fetch(`${baseUrl}/__simulator/faults`, { signal: AbortSignal.timeout(5000) });
  const state = (await response.json()) as { counts?: Record<string, number> };
  return state.counts?.verifyIdentity ?? 0;
}

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = settingsFromEnv();
  } catch (error) {
    console.error(`bench:adapters: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'ow-bench-adapters-'));
  let keepWorkDir = false;
  const closers: (() => Promise<void>)[] = [];
  let cleaningUp: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaningUp ??= (async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await stopAll().catch(() => killAllNow());
      if (keepWorkDir) console.error(`simulator log kept in ${workDir}`);
      else rmSync(workDir, { recursive: true, force: true });
    })();
    return cleaningUp;
  };
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the simulator`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const budget = setTimeout(() => {
    console.error(`\nbenchmark exceeded its ${settings.budgetSeconds} s budget (BENCH_BUDGET_SECONDS); stopping`);
    keepWorkDir = true;
    void cleanup().finally(() => process.exit(1));
  }, settings.budgetSeconds * 1000);
  budget.unref();

  const environment = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtStart: loadavg(),
  };
  console.log(
    `onewindow adapter SDK benchmark: concurrency ${settings.concurrencies.join(', ')}; calls ${settings.calls.join(', ')} per way; ` +
      `warm-up ${settings.warmupCalls}; ${settings.rounds} rounds\n` +
      `  node ${environment.node}, ${environment.cpus} CPUs (${environment.cpuModel}), load ` +
      `${environment.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}` +
      `${typeof globalThis.gc === 'function' ? '' : '; no --expose-gc: garbage is not collected between slices'}`,
  );
  const started = performance.now();
  try {
    const port = await freePort();
    const baseUrl = `http://${HOST}:${port}`;
    const simulator = spawnServer({
      name: 'PSB population simulator',
      root: ROOT,
      entry: 'bench/adapters.ts',
      logFile: join(workDir, 'simulator.log'),
      env: { BENCH_ADAPTERS_ROLE: 'simulator', SIMULATOR_PORT: String(port) },
    });
    await waitForHttp(simulator, `${baseUrl}/__simulator/faults`, 60_000);
    console.log(
      `  simulator ready at ${baseUrl} (child process ${simulator.pid}, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );

    const baseline = baselineCaller(baseUrl);
    closers.push(baseline.close);
    const adapter = adapterCaller(baseUrl);
    closers.push(adapter.close);
    const callers: Record<Mode, VerifyCall> = { baseline: baseline.verify, adapter: adapter.verify };
    // Both ways must get the registry's answer before anything is timed.
    for (const mode of MODES) await callers[mode](0);
    let callsMade = MODES.length;

    const cells: Cell[] = [];
    for (const [index, concurrency] of settings.concurrencies.entries()) {
      const count = settings.calls[index] ?? 1000;
      process.stdout.write(
        `  concurrency ${concurrency}: ${settings.warmupCalls} warm-up + ${count} measured calls per way … `,
      );
      const begun = performance.now();
      const measured = await measure(settings, simulator, callers, concurrency, count);
      cells.push(...measured.cells);
      callsMade += measured.started;
      console.log(`${((performance.now() - begun) / 1000).toFixed(1)} s`);
    }

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    if (settings.cpuProfile) {
      for (const mode of MODES) {
        const file = join(ROOT, 'bench/results', `adapters-${stamp}-${mode}.cpuprofile`);
        callsMade += await profileWay(
          callers[mode],
          Math.max(...settings.concurrencies),
          Math.max(...settings.calls),
          settings.cellSeconds,
          file,
        );
        console.log(`  CPU profile of ${MODE_LABELS[mode]} written to ${file}`);
      }
    }

    // Every call is exactly one request to the registry: no retry happened behind the figures.
    const received = await simulatorCount(baseUrl);
    if (received !== callsMade)
      throw new Error(
        `the simulator received ${received} verification requests for ${callsMade} calls (retries or lost calls)`,
      );

    const rows = cells.map(toRow);
    const comparisons = settings.concurrencies
      .map((concurrency) => compare(rows, concurrency))
      .filter((comparison) => comparison !== undefined);
    printReport(settings, rows, comparisons);
    console.log(`\nTotal time ${((performance.now() - started) / 1000).toFixed(0)} s.`);

    const file = join(ROOT, 'bench/results', `adapters-${stamp}.json`);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          startedAt,
          finishedAt: new Date(),
          settings,
          targets: { throughputRatio: THROUGHPUT_TARGET, addedP50Ms: ADDED_P50_TARGET_MS },
          environment,
          rows: rows.map((row) => ({ ...row, label: MODE_LABELS[row.mode] })),
          comparisons,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`Written ${file}`);
    return 0;
  } catch (error) {
    keepWorkDir = true;
    console.error(`\nbenchmark failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    clearTimeout(budget);
    await cleanup();
  }
}

if (process.env.BENCH_ADAPTERS_ROLE === 'simulator') {
  await runSimulator();
} else {
  process.exitCode = await main();
}
