/**
 * `npm run bench:cases`: the cases benchmark. In one run on one machine:
 *
 *   a. submission throughput with dispatch: the gateway (a child process on a fresh PostgreSQL
 *      database) with its departments configured to the three department simulators (child
 *      processes); the load opens and submits household move-in cases (`POST /v1/cases`, then
 *      `POST /v1/cases/{id}/submit` with an Idempotency-Key of its own) at a few concurrencies,
 *      bounded in count and time, while the gateway's delivery worker delivers each case to the
 *      PSB population registry simulator. Reported: submissions/s, p50/p99 of the submit request,
 *      and the delivery lag (the case's submittedAt → its delivery's deliveredAt, from the
 *      database) at p50/p99 under that load; then every case is checked to have been delivered
 *      exactly once (one delivered row per case, and as many distinct applications at the
 *      registry, with the registry's numbers recorded on the rows). Baseline in the same run, in
 *      interleaved slices: hono + `postgres` opening a case row and submitting it with its outbox
 *      row and idempotency key in one transaction (bench/baseline/cases-outbox-server.ts).
 *      Targets (issue 15), judged at concurrency 10: gateway/baseline throughput >= 0.5, at least
 *      150 submissions/s, and the delivery lag's p99 under 500 ms at that rate; a verdict table
 *      prints PASS/MISS per target (a MISS is a finding, not a failed run: the exit code stays 0,
 *      as in bench/certificates.ts and bench/foundation.ts).
 *   b. the seeded demo story: one applicant (张三) goes through a series of items one after
 *      another — open, fetch certificates, hand in only what is still missing, submit, delivered —
 *      and per case the materials required, handed in, reused and fetched are printed, with the
 *      totals: later cases reuse what earlier ones collected.
 *
 * The simulators are child processes of lib/simulators.ts (each its own process, started as
 * `run-simulator.ts` starts them, on a free loopback port). See bench/README.md for the knobs,
 * and for why the figures there were taken with BENCH_GATEWAY_POOL_SIZE above the concurrency.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { CaseNotice } from '../gateway/cases/cases.js';
import postgres from 'postgres';
import { Pool, request } from 'undici';
import {
  PURPOSE,
  WINDOW_CLIENT,
  callJson,
  grantPopulationRegistry,
  issueToken,
  jsonHeaders,
  resolveSubject as resolveSubjectOf,
} from './lib/api.js';
import { fixed, machineBusySeconds, textTable as table } from './lib/calls.js';
import {
  type CpuSnapshot,
  type ServerProcess,
  cpuSpent,
  freePort,
  logTail,
  processesCpu,
  spawnServer,
  stopServer,
  treeCpu,
  waitForHttp,
} from './lib/children.js';
import { type BenchDatabase, analyzeAfterWarmUp, createBenchDatabase, serverVersion } from './lib/database.js';
import { integerFromEnv, listFromEnv, unthrottledGatewayEnv } from './lib/env.js';
import { addCleanup, cleanup, errorText, settingsOrComplaint, startRun } from './lib/run.js';
import { departmentsJson, startSimulatorProcesses } from './lib/simulators.js';
import { machineFacts, packageVersions } from './lib/environment.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
/** The `iss` of the gateway's tokens (PUBLIC_BASE_URL); the baseline checks it too. */
const ISSUER = 'http://onewindow-bench.localhost';
const AUDIENCE = 'onewindow-api';
/** The load's applicant: in the PSB register (its desk refuses applications for unknown people) and holding real estate at the NRB. */
const LOAD_APPLICANT = { identifier: '330106198503150120', name: '李梅' };
/** The story's applicant: in every simulator's seed. */
const STORY_APPLICANT = { identifier: '11010519491231002X', name: '张三' };
/** The load's item: seeded, one department (PSB), three required materials (all on file after the first case), one optional. */
const LOAD_ITEM = 'household_move_in';
const PSB_SUBMIT_OPERATION = 'submitHouseholdMoveIn';
/**
 * Issue 15's targets for open + submit, judged at one concurrency: the gateway's throughput at
 * least half the same-work baseline's in the same run, at least 150 submissions/s, and the
 * delivery lag (submittedAt → deliveredAt) under 500 ms at p99 at the rate it reached there.
 */
const TARGETS = {
  concurrency: 10,
  throughputVsBaseline: 0.5,
  submissionsPerSecond: 150,
  deliveryLagP99Ms: 500,
} as const;

type TargetKey = 'gateway' | 'baseline';
type Part = 'throughput' | 'story';

interface Settings {
  parts: Part[];
  concurrency: number[];
  /** Measured seconds per target and concurrency, split into `rounds` interleaved slices. */
  durationSeconds: number;
  rounds: number;
  /** Most submissions per target and concurrency (all its slices together). */
  maxSubmissions: number;
  /** Submissions per target before anything is measured (concurrency 10). */
  warmupSubmissions: number;
  /** How long the gateway may take to deliver what a slice submitted, after the slice. */
  drainSeconds: number;
  gatewayLogLevel: 'info' | 'warn';
  deliveryBatchSize: number;
  deliveryPollMs: number;
  /** Database connections of the baseline, and of the gateway unless `gatewayPoolSize` differs. */
  poolSize: number;
  gatewayPoolSize: number;
  postgresAdminUrl: string;
  /** Start the gateway with `node --cpu-prof`; the profile is kept in the printed folder. */
  cpuProfile: boolean;
  budgetSeconds: number;
}

function settingsFromEnv(): Settings {
  const postgresAdminUrl = process.env.BENCH_POSTGRES_URL ?? `postgres://postgres@${HOST}:5432/postgres`;
  // The benchmark creates and drops a database there: only ever on this machine.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(postgresAdminUrl).hostname))
    throw new Error('BENCH_POSTGRES_URL must point at a loopback address');
  const rawConcurrency = process.env.BENCH_CONCURRENCY ?? '1,10,50';
  const concurrency = rawConcurrency.split(',').map((item) => Number(item.trim()));
  if (concurrency.length === 0 || concurrency.some((value) => !Number.isInteger(value) || value < 1 || value > 500))
    throw new Error('BENCH_CONCURRENCY must be integers from 1 to 500');
  return {
    parts: listFromEnv<Part>('BENCH_PARTS', ['throughput', 'story'], ['throughput', 'story']),
    concurrency,
    durationSeconds: integerFromEnv('BENCH_DURATION_SECONDS', 8, 1, 600),
    rounds: integerFromEnv('BENCH_ROUNDS', 2, 1, 20),
    maxSubmissions: integerFromEnv('BENCH_MAX_SUBMISSIONS', 5000, 10, 1_000_000),
    // A gateway that has served 200 submissions is still JIT-compiling (bench/README.md); both
    // targets get the same warm-up, and a long-running gateway is warm.
    warmupSubmissions: integerFromEnv('BENCH_WARMUP_SUBMISSIONS', 2000, 0, 100_000),
    drainSeconds: integerFromEnv('BENCH_DRAIN_SECONDS', 60, 5, 3600),
    gatewayLogLevel: listFromEnv<'info' | 'warn'>('BENCH_GATEWAY_LOG_LEVEL', ['info'], ['info', 'warn'])[0] ?? 'info',
    // The gateway's defaults (gateway/config.ts), so the figures are those of a default deployment.
    deliveryBatchSize: integerFromEnv('BENCH_DELIVERY_BATCH_SIZE', 10, 1, 1000),
    deliveryPollMs: integerFromEnv('BENCH_DELIVERY_POLL_MS', 1000, 50, 600_000),
    // The gateway's default pool size for both unless set.
    poolSize: integerFromEnv('BENCH_POOL_SIZE', 10, 1, 200),
    gatewayPoolSize: integerFromEnv('BENCH_GATEWAY_POOL_SIZE', integerFromEnv('BENCH_POOL_SIZE', 10, 1, 200), 1, 200),
    postgresAdminUrl,
    cpuProfile: process.env.BENCH_CPU_PROFILE === '1',
    budgetSeconds: integerFromEnv('BENCH_BUDGET_SECONDS', 230, 30, 7200),
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// HTTP for setup and the story (the load has its own pools; lib/api.ts has the shared calls).

/** The public JWK the gateway signs `token` with, for the baseline's token check. */
async function signingKeyOf(gatewayUrl: string, token: string): Promise<Record<string, unknown>> {
  const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string };
  const { keys } = await callJson<{ keys: Record<string, unknown>[] }>(`${gatewayUrl}/.well-known/jwks.json`, [200]);
  const key = keys.find((candidate) => candidate.kid === header.kid);
  if (!key) throw new Error(`the gateway's JWKS has no key ${String(header.kid)}`);
  return key;
}

const resolveSubject = (
  gatewayUrl: string,
  windowToken: string,
  person: { identifier: string; name: string },
): Promise<string> => resolveSubjectOf(gatewayUrl, windowToken, 'resident_id', person);

/** A small valid PDF, distinct per label (the stores keep identical content once). */
function pdfBytes(label: string): Uint8Array {
  const text = [
    '%PDF-1.4',
    '1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj',
    '2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj',
    `% ${label} ${randomBytes(6).toString('hex')}`,
    'trailer <</Root 1 0 R>>',
    '%%EOF',
    '',
  ].join('\n');
  return Buffer.from(text, 'latin1');
}

async function uploadMaterial(
  gatewayUrl: string,
  windowToken: string,
  subjectId: string,
  typeCode: string,
): Promise<string> {
  const query = new URLSearchParams({ typeCode, fileName: `${typeCode}.pdf` }).toString();
  const stored = await callJson<{ id: string }>(`${gatewayUrl}/v1/subjects/${subjectId}/materials?${query}`, [201], {
    method: 'POST',
    headers: { authorization: `Bearer ${windowToken}`, 'content-type': 'application/pdf', ...PURPOSE },
    body: pdfBytes(typeCode),
  });
  return stored.id;
}

// ---------------------------------------------------------------------------------------------
// The gateway's case answers (the fields the benchmark reads).

type RequirementState =
  | 'reused'
  | 'fetched'
  | 'handed_in'
  | 'fetchable'
  | 'missing'
  | 'deferrable'
  | 'deferred'
  | 'optional';

interface NoticeEntry {
  requirementCode: string;
  acceptedTypes: string[];
  optional: boolean;
  state: RequirementState;
  material: { id: string; typeCode: string } | null;
  fetchableFrom: { department: string; certificateType: string }[];
}

/** The notice's counts, as the gateway answers them. */
type CaseCounts = CaseNotice['counts'];

interface CaseView {
  id: string;
  caseNumber: string;
  itemCode: string;
  status: string;
  submittedAt: string | null;
  notice: { entries: NoticeEntry[]; counts: CaseCounts; readyToSubmit: boolean; toHandIn: string[] };
  deliveries: {
    department: string;
    status: string;
    departmentReference: string | null;
    deliveredAt: string | null;
    lastError: string | null;
  }[];
}

// ---------------------------------------------------------------------------------------------
// Servers.

interface RunningServer {
  server: ServerProcess;
  url: string;
}

async function startGateway(
  settings: Settings,
  workDir: string,
  databaseUrl: string,
  departments: string,
): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const server = spawnServer({
    name: 'gateway',
    root: ROOT,
    entry: 'gateway/main.ts',
    logFile: join(workDir, 'gateway.log'),
    ...(settings.cpuProfile ? { cpuProfileDir: join(workDir, 'profile-gateway') } : {}),
    env: {
      PORT: String(port),
      HOST,
      PUBLIC_BASE_URL: ISSUER,
      TOKEN_AUDIENCE: AUDIENCE,
      LOG_LEVEL: settings.gatewayLogLevel,
      ONEWINDOW_DEMO: 'true',
      DEMO_SIMULATORS: 'false',
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      SHUTDOWN_GRACE_MS: '2000',
      ...unthrottledGatewayEnv,
      DATABASE_URL: databaseUrl,
      // Its own data folder (key files, audit witness): never the repository's `.data`.
      DATA_DIR: join(workDir, 'data'),
      DATABASE_POOL_SIZE: String(settings.gatewayPoolSize),
      DEPARTMENTS_JSON: departments,
      // The simulators listen on loopback: allowed, and nothing else.
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DEPARTMENT_ALLOWED_HOSTS: HOST,
      DELIVERY_BATCH_SIZE: String(settings.deliveryBatchSize),
      DELIVERY_POLL_INTERVAL_MS: String(settings.deliveryPollMs),
    },
  });
  await waitForHttp(server, `${url}/readyz`, 120_000);
  return { server, url };
}

async function startBaseline(
  settings: Settings,
  workDir: string,
  databaseUrl: string,
  publicJwk: Record<string, unknown>,
): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const server = spawnServer({
    name: 'baseline',
    root: ROOT,
    entry: 'bench/baseline/cases-outbox-server.ts',
    logFile: join(workDir, 'baseline.log'),
    env: {
      BASELINE_PORT: String(port),
      BASELINE_HOST: HOST,
      TOKEN_ISSUER: ISSUER,
      TOKEN_AUDIENCE: AUDIENCE,
      PUBLIC_JWK: JSON.stringify(publicJwk),
      // Like the gateway's TokenService: a verified token is kept until it expires.
      BASELINE_TOKEN_CACHE: 'true',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: String(settings.poolSize),
    },
  });
  await waitForHttp(server, `${url}/healthz`, 60_000);
  return { server, url };
}

function createPostgresDatabase(adminUrl: string): Promise<BenchDatabase> {
  return createBenchDatabase(adminUrl, 'ow_bench_cases', addCleanup);
}

// ---------------------------------------------------------------------------------------------
// Figures.

interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `values` (ms). */
function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number): number =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? Number.NaN);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}

// ---------------------------------------------------------------------------------------------
// (a) Load: open + submit, N in flight, each step checked.

interface LoadTarget {
  key: TargetKey;
  label: string;
  server: ServerProcess;
  pool: Pool;
  /** Opens one case; returns its id. */
  open: (sequence: number) => Promise<string>;
  /** Submits it under its own Idempotency-Key. */
  submit: (caseId: string, idempotencyKey: string) => Promise<void>;
}

async function post(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: string,
  expected: number,
): Promise<string> {
  const response = await pool.request({
    method: 'POST',
    path,
    headers,
    body,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  if (response.statusCode !== expected)
    throw new Error(
      `POST ${path.replace(/case_[A-Za-z0-9_-]+/, 'case_…')}: HTTP ${response.statusCode}: ${text.slice(0, 300)}`,
    );
  return text;
}

function gatewayTarget(server: RunningServer, windowToken: string, subjectId: string, connections: number): LoadTarget {
  const pool = new Pool(server.url, { connections, pipelining: 1 });
  const headers = jsonHeaders(windowToken);
  return {
    key: 'gateway',
    label: 'gateway (open + submit, delivered to PSB)',
    server: server.server,
    pool,
    async open(sequence) {
      const body = JSON.stringify({
        itemCode: LOAD_ITEM,
        subjectId,
        form: { moveToAddress: `北京市海淀区中关村大街${sequence}号`, reason: 'employment' },
      });
      const opened = JSON.parse(await post(pool, '/v1/cases', headers, body, 201)) as CaseView;
      // Every case reuses the applicant's three materials on file: nothing to hand in.
      if (!opened.notice.readyToSubmit || opened.notice.counts.reused !== 3)
        throw new Error(
          `opened case ${opened.caseNumber} is not ready to submit: ${JSON.stringify(opened.notice.counts)}`,
        );
      return opened.id;
    },
    async submit(caseId, idempotencyKey) {
      const submitted = JSON.parse(
        await post(pool, `/v1/cases/${caseId}/submit`, { ...headers, 'idempotency-key': idempotencyKey }, '{}', 200),
      ) as CaseView;
      if (submitted.status !== 'submitted' || submitted.deliveries.length !== 1)
        throw new Error(`submit answered status ${submitted.status} with ${submitted.deliveries.length} deliveries`);
    },
  };
}

function baselineTarget(
  server: RunningServer,
  windowToken: string,
  subjectId: string,
  connections: number,
): LoadTarget {
  const pool = new Pool(server.url, { connections, pipelining: 1 });
  const headers = jsonHeaders(windowToken);
  return {
    key: 'baseline',
    label: 'baseline: hono + postgres, case + outbox row in one transaction',
    server: server.server,
    pool,
    async open(sequence) {
      const body = JSON.stringify({
        itemCode: LOAD_ITEM,
        subjectId,
        form: { moveToAddress: `北京市海淀区中关村大街${sequence}号`, reason: 'employment' },
      });
      return (JSON.parse(await post(pool, '/cases', headers, body, 201)) as { id: string }).id;
    },
    async submit(caseId, idempotencyKey) {
      const submitted = JSON.parse(
        await post(pool, `/cases/${caseId}/submit`, { ...headers, 'idempotency-key': idempotencyKey }, '{}', 200),
      ) as { status: string };
      if (submitted.status !== 'submitted') throw new Error(`baseline submit answered status ${submitted.status}`);
    },
  };
}

interface SliceRun {
  submissions: number;
  seconds: number;
  submitMs: Float64Array;
  openMs: Float64Array;
  caseIds: string[];
  failures: string[];
  capped: boolean;
  /** Set after a failed slice: what the database connections were doing. */
  diagnosis?: string;
}

let submissionSequence = 0;
const runId = randomBytes(4).toString('hex');

/** `count` open + submit pairs with `connections` in flight, no new pair after `seconds`. */
async function runSlice(target: LoadTarget, connections: number, count: number, seconds: number): Promise<SliceRun> {
  const submitMs = new Float64Array(count);
  const openMs = new Float64Array(count);
  const caseIds: string[] = [];
  const failures: string[] = [];
  const deadline = Date.now() + seconds * 1000;
  let issued = 0;
  let done = 0;
  let capped = false;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (issued < count && failures.length < 10) {
      if (Date.now() >= deadline) {
        capped = true;
        return;
      }
      issued += 1;
      submissionSequence += 1;
      const sequence = submissionSequence;
      try {
        const openedAt = performance.now();
        const caseId = await target.open(sequence);
        const submittedAt = performance.now();
        await target.submit(caseId, `bench-${runId}-${target.key}-${sequence}`);
        const finishedAt = performance.now();
        openMs[done] = submittedAt - openedAt;
        submitMs[done] = finishedAt - submittedAt;
        caseIds.push(caseId);
        done += 1;
      } catch (error) {
        failures.push(errorText(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(connections, count)) }, worker));
  return {
    submissions: done,
    seconds: (performance.now() - started) / 1000,
    submitMs: submitMs.subarray(0, done),
    openMs: openMs.subarray(0, done),
    caseIds,
    failures,
    capped,
  };
}

function assertNoFailures(title: string, run: SliceRun): void {
  if (run.failures.length === 0) return;
  const first = [...new Set(run.failures)].slice(0, 4).join('\n    ');
  throw new Error(
    `${title}: ${run.failures.length} failed submission(s), ${run.submissions} succeeded. First:\n` +
      `    ${first}${run.diagnosis ? `\n  ${run.diagnosis}` : ''}`,
  );
}

/**
 * What the database connections of the run are doing, for a failed slice: a gateway whose pool is
 * exhausted by transactions all waiting for one more connection shows every connection "idle in
 * transaction", for as long as the stall lasts.
 */
async function connectionStates(sql: postgres.Sql, poolSize: number): Promise<string> {
  const rows = await sql<{ state: string | null; count: number; longest: number | null }[]>`
    select state, count(*)::int as count, extract(epoch from max(now() - xact_start))::float8 as longest
      from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() group by state order by state`;
  const states = rows.map(
    (row) =>
      `${row.count} ${row.state ?? 'unknown'}${row.longest === null ? '' : ` (longest transaction ${row.longest.toFixed(1)} s)`}`,
  );
  return `database connections of the run just now: ${states.join(', ')}; the gateway's pool holds ${poolSize} (BENCH_GATEWAY_POOL_SIZE)`;
}

/** Waits until the gateway has no pending delivery; fails on a dead letter or after `limitSeconds`. */
/** The bench's own connections (its checks and drains), left out of the database's CPU. */
const MONITOR_APPLICATION = 'ow-bench-cases-monitor';

/**
 * The server processes working for this run's database (the targets' pooled connections,
 * autovacuum on it), not the bench's own. Other databases' backends (a test suite on the same
 * server) are not counted; neither are the shared WAL writer and checkpointer.
 */
async function databaseBackends(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity
     where datname = current_database() and application_name is distinct from ${MONITOR_APPLICATION}`;
  return rows.map((row) => row.pid);
}

async function drainDeliveries(sql: postgres.Sql, limitSeconds: number): Promise<number> {
  const started = performance.now();
  const deadline = Date.now() + limitSeconds * 1000;
  for (;;) {
    const [row] = await sql<{ pending: number; dead: number }[]>`
      select count(*) filter (where status = 'pending')::int as pending, count(*) filter (where status = 'dead')::int as dead from deliveries`;
    if ((row?.dead ?? 0) > 0) {
      const [sample] = await sql<
        { last_error: string | null }[]
      >`select last_error from deliveries where status = 'dead' limit 1`;
      throw new Error(`${row?.dead} deliveries were dead-lettered (${sample?.last_error ?? 'no error recorded'})`);
    }
    if ((row?.pending ?? 0) === 0) return (performance.now() - started) / 1000;
    if (Date.now() >= deadline)
      throw new Error(
        `${row?.pending} deliveries still pending ${limitSeconds} s after the load (BENCH_DRAIN_SECONDS)`,
      );
    await pause(50);
  }
}

/** Submission → department acknowledgement of these cases' deliveries, in ms, from the database. */
async function deliveryLagsMs(sql: postgres.Sql, caseIds: string[]): Promise<Float64Array> {
  const rows = await sql<{ lag_ms: number; status: string }[]>`
    select extract(epoch from (d.delivered_at - c.submitted_at)) * 1000 as lag_ms, d.status
      from deliveries d join cases c on c.id = d.case_id
     where d.case_id = any(${caseIds}::text[])`;
  if (rows.length !== caseIds.length || rows.some((row) => row.status !== 'delivered')) {
    throw new Error(
      `${caseIds.length} cases submitted, but ${rows.length} deliveries found, ` +
        `${rows.filter((row) => row.status === 'delivered').length} delivered`,
    );
  }
  return Float64Array.from(rows, (row) => Number(row.lag_ms));
}

interface CpuProbe {
  name: string;
  take: () => CpuSnapshot;
}

function cpuBefore(probes: CpuProbe[]): Map<string, CpuSnapshot> {
  return new Map(probes.map((probe) => [probe.name, probe.take()]));
}

function cpuSince(probes: CpuProbe[], before: Map<string, CpuSnapshot>): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const probe of probes) {
    const start = before.get(probe.name);
    const seconds = start ? cpuSpent(start, probe.take()) : undefined;
    if (seconds !== undefined) spent[probe.name] = seconds;
  }
  return spent;
}

interface Measurement {
  target: TargetKey;
  label: string;
  connections: number;
  submissions: number;
  seconds: number;
  submissionsPerSecond: number;
  submitMs: Percentiles;
  openMs: Percentiles;
  /** Gateway only: submission → delivered, per case. */
  lagMs: Percentiles | undefined;
  /** Gateway only: longest wait after a slice for its deliveries to be done. */
  drainSecondsMax: number | undefined;
  /** CPU ms per submission (the gateway's includes delivering it, up to the end of the drain). */
  cpuMsPerSubmission: Record<string, number>;
  loadGeneratorCpuPerSecond: number;
  otherCpuPerSecond: number | undefined;
  capped: boolean;
}

interface ThroughputContext {
  settings: Settings;
  sql: postgres.Sql;
  gateway: RunningServer;
  baseline: RunningServer;
  psb: RunningServer;
  windowToken: string;
  subjectId: string;
}

async function measureConcurrency(context: ThroughputContext, connections: number): Promise<Measurement[]> {
  const { settings, sql } = context;
  const targets = [
    gatewayTarget(context.gateway, context.windowToken, context.subjectId, connections),
    baselineTarget(context.baseline, context.windowToken, context.subjectId, connections),
  ];
  const sliceSeconds = settings.durationSeconds / settings.rounds;
  const sliceCount = Math.max(1, Math.floor(settings.maxSubmissions / settings.rounds));
  const collected = new Map<
    TargetKey,
    {
      runs: SliceRun[];
      cpu: Record<string, number>[];
      drains: number[];
      ownCpu: number;
      machine: number | undefined;
      wall: number;
    }
  >();
  for (const target of targets)
    collected.set(target.key, { runs: [], cpu: [], drains: [], ownCpu: 0, machine: 0, wall: 0 });
  try {
    for (let round = 0; round < settings.rounds; round += 1) {
      // Order reversed every round: drift on the machine falls on both alike.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        // The backends of this run's database only: the server is shared with other work (tests on other databases).
        let backends = await databaseBackends(sql);
        const probes: CpuProbe[] = [
          { name: 'server', take: () => treeCpu(target.server.pid) },
          { name: 'postgres', take: () => processesCpu(backends) },
          { name: 'simulator', take: () => treeCpu(context.psb.server.pid) },
        ];
        const before = cpuBefore(probes);
        const ownBefore = process.cpuUsage();
        const machineBefore = machineBusySeconds();
        const wallStarted = performance.now();
        const run = await runSlice(target, connections, sliceCount, sliceSeconds);
        if (run.failures.length > 0 && target.key === 'gateway')
          run.diagnosis = await connectionStates(sql, settings.gatewayPoolSize);
        assertNoFailures(`${target.label} at concurrency ${connections}`, run);
        // The gateway's work for a submission ends when it is delivered: the next slice starts after that.
        const drain = target.key === 'gateway' ? await drainDeliveries(sql, settings.drainSeconds) : undefined;
        backends = await databaseBackends(sql);
        const own = process.cpuUsage(ownBefore);
        const machineAfter = machineBusySeconds();
        const entry = collected.get(target.key);
        if (!entry) continue;
        entry.runs.push(run);
        entry.cpu.push(cpuSince(probes, before));
        if (drain !== undefined) entry.drains.push(drain);
        entry.ownCpu += (own.user + own.system) / 1e6;
        entry.wall += (performance.now() - wallStarted) / 1000;
        entry.machine =
          entry.machine === undefined || machineBefore === undefined || machineAfter === undefined
            ? undefined
            : entry.machine + (machineAfter - machineBefore);
      }
    }
  } finally {
    await Promise.all(targets.map((target) => target.pool.close()));
  }

  const measurements: Measurement[] = [];
  for (const target of targets) {
    const entry = collected.get(target.key);
    if (!entry) continue;
    const submissions = entry.runs.reduce((sum, run) => sum + run.submissions, 0);
    const seconds = entry.runs.reduce((sum, run) => sum + run.seconds, 0);
    const merge = (pick: (run: SliceRun) => Float64Array): Float64Array => {
      const all = new Float64Array(submissions);
      let offset = 0;
      for (const run of entry.runs) {
        all.set(pick(run), offset);
        offset += pick(run).length;
      }
      return all;
    };
    const cpuTotals: Record<string, number> = {};
    for (const part of entry.cpu)
      for (const [name, value] of Object.entries(part)) cpuTotals[name] = (cpuTotals[name] ?? 0) + value;
    const known = Object.values(cpuTotals).reduce((sum, value) => sum + value, 0) + entry.ownCpu;
    const lagMs =
      target.key === 'gateway'
        ? percentiles(
            await deliveryLagsMs(
              sql,
              entry.runs.flatMap((run) => run.caseIds),
            ),
          )
        : undefined;
    measurements.push({
      target: target.key,
      label: target.label,
      connections,
      submissions,
      seconds,
      submissionsPerSecond: submissions / seconds,
      submitMs: percentiles(merge((run) => run.submitMs)),
      openMs: percentiles(merge((run) => run.openMs)),
      lagMs,
      drainSecondsMax: entry.drains.length > 0 ? Math.max(...entry.drains) : undefined,
      cpuMsPerSubmission: Object.fromEntries(
        Object.entries(cpuTotals).map(([name, value]) => [name, (value * 1000) / Math.max(1, submissions)]),
      ),
      loadGeneratorCpuPerSecond: entry.ownCpu / entry.wall,
      otherCpuPerSecond: entry.machine === undefined ? undefined : Math.max(0, entry.machine - known) / entry.wall,
      capped: entry.runs.some((run) => run.capped),
    });
  }
  return measurements;
}

async function warmUp(context: ThroughputContext): Promise<void> {
  if (context.settings.warmupSubmissions === 0) return;
  const connections = 10;
  const targets = [
    gatewayTarget(context.gateway, context.windowToken, context.subjectId, connections),
    baselineTarget(context.baseline, context.windowToken, context.subjectId, connections),
  ];
  try {
    for (const target of targets) {
      const run = await runSlice(target, connections, context.settings.warmupSubmissions, 30);
      assertNoFailures(`warm-up of ${target.label}`, run);
      if (target.key === 'gateway') await drainDeliveries(context.sql, context.settings.drainSeconds);
    }
  } finally {
    await Promise.all(targets.map((target) => target.pool.close()));
  }
  await analyzeAfterWarmUp(context.sql);
}

interface ExactlyOnce {
  casesSubmitted: number;
  deliveriesDelivered: number;
  psbDistinctApplications: number;
  psbSubmitRequests: number;
  deliveredEvents: number;
}

/**
 * Every submitted case of the load has exactly one delivery, delivered; the registry holds exactly
 * one application per delivery (its `ywlsh` is the delivery id) and the registry's number of it is
 * the one recorded on the delivery.
 */
async function checkExactlyOnce(sql: postgres.Sql, psb: RunningServer): Promise<ExactlyOnce> {
  const [submitted] = await sql<{ count: number }[]>`select count(*)::int as count from cases where status <> 'open'`;
  const deliveries = await sql<
    { id: string; status: string; department_reference: string | null }[]
  >`select id, status, department_reference from deliveries`;
  const [events] = await sql<
    { count: number }[]
  >`select count(*)::int as count from case_events where kind = 'delivered'`;
  const desk = await callJson<{ count: number; applications: { ywlsh: string; slbh: string }[] }>(
    `${psb.url}/__psb/applications`,
    [200],
  );
  const { counts } = await callJson<{ counts: Record<string, number> }>(`${psb.url}/__simulator/faults`, [200]);
  const result: ExactlyOnce = {
    casesSubmitted: submitted?.count ?? 0,
    deliveriesDelivered: deliveries.filter((row) => row.status === 'delivered').length,
    psbDistinctApplications: desk.count,
    psbSubmitRequests: counts[PSB_SUBMIT_OPERATION] ?? 0,
    deliveredEvents: events?.count ?? 0,
  };
  const byKey = new Map(desk.applications.map((application) => [application.ywlsh, application.slbh]));
  const problems: string[] = [];
  if (deliveries.length !== result.casesSubmitted)
    problems.push(`${result.casesSubmitted} cases submitted but ${deliveries.length} deliveries written`);
  if (result.deliveriesDelivered !== deliveries.length)
    problems.push(`${deliveries.length - result.deliveriesDelivered} deliveries not delivered`);
  if (desk.count !== deliveries.length || byKey.size !== desk.count)
    problems.push(`${deliveries.length} deliveries but the PSB holds ${desk.count} distinct applications`);
  const mismatched = deliveries.filter((row) => byKey.get(row.id) !== row.department_reference).length;
  if (mismatched > 0)
    problems.push(`${mismatched} deliveries whose application the PSB does not hold under that number`);
  if (result.deliveredEvents !== deliveries.length)
    problems.push(`${result.deliveredEvents} 'delivered' timeline events for ${deliveries.length} deliveries`);
  if (problems.length > 0) throw new Error(`exactly-once check failed: ${problems.join('; ')}`);
  return result;
}

interface Comparison {
  connections: number;
  throughputRatio: number;
  submitP50Ratio: number;
  submitP99Ratio: number;
  serverCpuRatio: number | undefined;
}

function compare(measurements: Measurement[]): Comparison[] {
  const comparisons: Comparison[] = [];
  for (const gateway of measurements.filter((entry) => entry.target === 'gateway')) {
    const baseline = measurements.find(
      (entry) => entry.target === 'baseline' && entry.connections === gateway.connections,
    );
    if (!baseline) continue;
    const gatewayCpu = gateway.cpuMsPerSubmission.server;
    const baselineCpu = baseline.cpuMsPerSubmission.server;
    comparisons.push({
      connections: gateway.connections,
      throughputRatio: gateway.submissionsPerSecond / baseline.submissionsPerSecond,
      submitP50Ratio: gateway.submitMs.p50 / baseline.submitMs.p50,
      submitP99Ratio: gateway.submitMs.p99 / baseline.submitMs.p99,
      serverCpuRatio: gatewayCpu !== undefined && baselineCpu !== undefined ? gatewayCpu / baselineCpu : undefined,
    });
  }
  return comparisons;
}

interface Verdict {
  name: string;
  value: number;
  /** Decimals the value is printed with. */
  digits: number;
  target: string;
  pass: boolean;
}

/** Issue 15's targets, from the gateway's row at TARGETS.concurrency and its ratio to the baseline; none when that concurrency was not measured. */
function verdictsOf(measurements: Measurement[], comparisons: Comparison[]): Verdict[] {
  const gateway = measurements.find((entry) => entry.target === 'gateway' && entry.connections === TARGETS.concurrency);
  const comparison = comparisons.find((entry) => entry.connections === TARGETS.concurrency);
  if (!gateway || !comparison || !gateway.lagMs) return [];
  const lagP99 = gateway.lagMs.p99;
  return [
    {
      name: 'throughput / same-work baseline',
      value: comparison.throughputRatio,
      digits: 3,
      target: `>= ${TARGETS.throughputVsBaseline}`,
      pass: comparison.throughputRatio >= TARGETS.throughputVsBaseline,
    },
    {
      name: 'submissions/s',
      value: gateway.submissionsPerSecond,
      digits: 0,
      target: `>= ${TARGETS.submissionsPerSecond}`,
      pass: gateway.submissionsPerSecond >= TARGETS.submissionsPerSecond,
    },
    {
      name: `delivery lag p99 ms (at ${gateway.submissionsPerSecond.toFixed(0)} subs/s)`,
      value: lagP99,
      digits: 1,
      target: `< ${TARGETS.deliveryLagP99Ms}`,
      pass: lagP99 < TARGETS.deliveryLagP99Ms,
    },
  ];
}

interface ThroughputResult {
  measurements: Measurement[];
  comparisons: Comparison[];
  exactlyOnce: ExactlyOnce;
  /** Issue 15's targets at TARGETS.concurrency (empty when the run did not measure it). */
  verdicts: Verdict[];
}

async function runThroughput(context: ThroughputContext): Promise<ThroughputResult> {
  const { settings } = context;
  console.log(
    `\n(a) submission throughput with dispatch: ${LOAD_ITEM} for ${LOAD_APPLICANT.name} (3 materials reused, 1 ` +
      'optional), delivered to the PSB simulator;\n' +
      `    concurrency ${settings.concurrency.join(', ')}; per target and concurrency at most ` +
      `${settings.maxSubmissions} submissions or ${settings.durationSeconds} s, in ${settings.rounds} ` +
      'interleaved slice(s)',
  );
  process.stdout.write(`  warm-up (${settings.warmupSubmissions} submissions per target) … `);
  const warmStarted = performance.now();
  await warmUp(context);
  console.log(`${((performance.now() - warmStarted) / 1000).toFixed(1)} s`);
  const measurements: Measurement[] = [];
  for (const connections of settings.concurrency) {
    process.stdout.write(`  concurrency ${connections} … `);
    const started = performance.now();
    const measured = await measureConcurrency(context, connections);
    measurements.push(...measured);
    const gateway = measured.find((entry) => entry.target === 'gateway');
    console.log(
      `${((performance.now() - started) / 1000).toFixed(1)} s (gateway ${gateway?.submissions ?? 0} submissions, all delivered)`,
    );
  }
  const exactlyOnce = await checkExactlyOnce(context.sql, context.psb);
  const comparisons = compare(measurements);
  return { measurements, comparisons, exactlyOnce, verdicts: verdictsOf(measurements, comparisons) };
}

function printThroughput(result: ThroughputResult, settings: Settings): void {
  console.log('\n(a) results (every answer checked; latencies per request as the load generator saw them):\n');
  console.log(
    table(
      [
        [
          'target',
          'conc',
          'subs',
          'subs/s',
          'submit p50',
          'submit p99',
          'open p50',
          'open p99',
          'lag p50',
          'lag p99',
          'lag max',
          'drain s',
          'server CPU',
          'PG CPU',
          'sim CPU',
          'loadgen s/s',
          'other s/s',
        ],
        ...result.measurements.map((entry) => [
          entry.target,
          String(entry.connections),
          String(entry.submissions),
          fixed(entry.submissionsPerSecond, 0),
          fixed(entry.submitMs.p50, 2),
          fixed(entry.submitMs.p99, 2),
          fixed(entry.openMs.p50, 2),
          fixed(entry.openMs.p99, 2),
          fixed(entry.lagMs?.p50, 1),
          fixed(entry.lagMs?.p99, 1),
          fixed(entry.lagMs?.max, 1),
          fixed(entry.drainSecondsMax, 2),
          fixed(entry.cpuMsPerSubmission.server, 2),
          fixed(entry.cpuMsPerSubmission.postgres, 2),
          fixed(entry.target === 'gateway' ? entry.cpuMsPerSubmission.simulator : undefined, 2),
          fixed(entry.loadGeneratorCpuPerSecond, 2),
          fixed(entry.otherCpuPerSecond, 2),
        ]),
      ],
      1,
    ),
  );
  console.log(
    `\n  Ratios gateway / baseline (the throughput target is judged at concurrency ${TARGETS.concurrency}, below):\n`,
  );
  console.log(
    table([
      ['conc', 'throughput', 'submit p50', 'submit p99', 'server CPU/submission'],
      ...result.comparisons.map((comparison) => [
        String(comparison.connections),
        comparison.throughputRatio.toFixed(3),
        comparison.submitP50Ratio.toFixed(2),
        comparison.submitP99Ratio.toFixed(2),
        fixed(comparison.serverCpuRatio, 2),
      ]),
    ]),
  );
  if (result.verdicts.length > 0) {
    console.log(
      `\n  Targets (issue 15), judged at concurrency ${TARGETS.concurrency}; every answer checked, every case delivered exactly once:\n`,
    );
    console.log(
      table(
        [
          ['target', 'measured', 'needed', 'verdict'],
          ...result.verdicts.map((verdict) => [
            verdict.name,
            fixed(verdict.value, verdict.digits),
            verdict.target,
            verdict.pass ? 'PASS' : 'MISS',
          ]),
        ],
        1,
      ),
    );
  } else {
    console.log(
      `\n  Targets (issue 15) are judged at concurrency ${TARGETS.concurrency}, which this run did not measure ` +
        '(BENCH_CONCURRENCY): no verdict.',
    );
  }
  const once = result.exactlyOnce;
  console.log(
    `\n  Exactly once: ${once.casesSubmitted} cases submitted (warm-up included) → ${once.deliveriesDelivered} deliveries delivered, ` +
      `${once.deliveredEvents} 'delivered' timeline events; the PSB simulator holds ${once.psbDistinctApplications} ` +
      'distinct applications ' +
      `(${once.psbSubmitRequests} submit requests received: ${once.psbSubmitRequests - once.psbDistinctApplications} ` +
      'redeliveries recognised), each under the number recorded on its delivery.',
  );
  const notes = [
    '',
    '  subs/s: open + submit pairs completed per second of the slices. ms columns: submit and open requests, and the delivery lag',
    "  (case submittedAt → delivery deliveredAt, the department's acknowledgement recorded; from the database) of every case of that row.",
    `  drain s: longest wait after a gateway slice until nothing was pending. CPU columns: ms per submission — the gateway's from the`,
    '  slice start to the end of its drain, so they include delivering; "sim" the PSB simulator receiving the ' +
      'deliveries (and status polls).',
    `  Delivery worker: batch ${settings.deliveryBatchSize}, woken by each submission, poll every ` +
      `${settings.deliveryPollMs} ms (the gateway's defaults unless set).`,
    '  The baseline checks the token, inserts the case row (open), and in one transaction marks it submitted, writes ' +
      'one outbox row and the',
    '  key with its answer (submit); it delivers nothing. The gateway also checks the item and form, computes the ' +
      'one-time notice (material',
    '  reuse), numbers the case, computes due dates on the working-day calendar, writes timeline events and audit ' +
      'entries, answers the full',
    `  case, and its worker delivers every case to the PSB over signed HTTP. This machine has ${cpus().length} cores ` +
      'shared by the load generator, the servers,',
    '  the simulators and PostgreSQL, so throughput ratios follow CPU per submission.',
  ];
  console.log(notes.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// (b) The story: one applicant, several items one after another.

interface StoryStep {
  itemCode: string;
  title: string;
  form: Record<string, unknown>;
}

const STORY: readonly StoryStep[] = [
  {
    itemCode: 'enterprise_establishment',
    title: 'sets up a consultancy',
    form: {
      companyName: '北京朝阳晨星咨询有限公司',
      registeredCapital: '100万元人民币',
      businessScope: '企业管理咨询',
      address: '北京市朝阳区建国路88号院3号楼1单元502',
    },
  },
  {
    itemCode: 'household_move_in',
    title: 'moves the household into the Wangjing flat',
    form: {
      moveToAddress: '北京市朝阳区望京西园四区412号楼8单元801',
      reason: 'home_purchase',
      certificateNo: '京(2019)朝阳区不动产权第0107652号',
    },
  },
  {
    itemCode: 'real_estate_transfer',
    title: 'sells the Jianguo Road flat to 李梅',
    form: {
      certificateNo: '京(2015)朝阳区不动产权第0031287号',
      transferee: { name: '李梅', idNumber: '330106198503150120' },
      transferReason: 'sale',
      price: '560万元',
    },
  },
  {
    itemCode: 'real_estate_mortgage_cancellation',
    title: "has the Wangjing flat's mortgage cancelled",
    form: { certificateNo: '京(2019)朝阳区不动产权第0107652号' },
  },
];

interface StoryCase {
  itemCode: string;
  title: string;
  caseNumber: string;
  departments: string[];
  counts: CaseCounts;
  /** How each requirement was met: its state, the material's type, and for a reused one the case (1-based) that collected it. */
  requirements: {
    requirementCode: string;
    state: RequirementState;
    typeCode: string | null;
    collectedInCase: number | null;
  }[];
  handedInTypes: string[];
  fetchedTypes: string[];
  deliveries: { department: string; reference: string | null }[];
  seconds: number;
}

async function waitForDelivered(
  gatewayUrl: string,
  windowToken: string,
  caseId: string,
  limitMs: number,
): Promise<CaseView> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const view = await callJson<CaseView>(`${gatewayUrl}/v1/cases/${caseId}`, [200], {
      headers: jsonHeaders(windowToken),
    });
    const dead = view.deliveries.find((delivery) => delivery.status === 'dead');
    if (dead)
      throw new Error(
        `case ${view.caseNumber}: the delivery to ${dead.department} was dead-lettered: ${dead.lastError ?? ''}`,
      );
    if (view.deliveries.length > 0 && view.deliveries.every((delivery) => delivery.status === 'delivered')) return view;
    if (Date.now() >= deadline)
      throw new Error(`case ${view.caseNumber}: not delivered after ${limitMs} ms: ${JSON.stringify(view.deliveries)}`);
    await pause(100);
  }
}

async function runStory(gatewayUrl: string, windowToken: string): Promise<StoryCase[]> {
  const subjectId = await resolveSubject(gatewayUrl, windowToken, STORY_APPLICANT);
  const cases: StoryCase[] = [];
  /** Material id → the story case (1-based) that fetched it or had it handed in. */
  const collectedIn = new Map<string, number>();
  for (const step of STORY) {
    const started = performance.now();
    let view = await callJson<CaseView>(`${gatewayUrl}/v1/cases`, [201], {
      method: 'POST',
      headers: jsonHeaders(windowToken),
      body: JSON.stringify({ itemCode: step.itemCode, subjectId, form: step.form }),
    });
    // What the departments supply is fetched, not asked of the applicant.
    const fetchedTypes: string[] = [];
    if (view.notice.entries.some((entry) => entry.state === 'fetchable')) {
      const fetched = await callJson<{
        case: CaseView;
        results: { requirementCode: string; certificateType: string; status: string; department: string | null }[];
      }>(`${gatewayUrl}/v1/cases/${view.id}/certificates`, [200], {
        method: 'POST',
        headers: jsonHeaders(windowToken),
        body: '{}',
      });
      const failed = fetched.results.filter((result) => result.status !== 'ok');
      if (failed.length > 0)
        throw new Error(`case ${view.caseNumber}: fetching certificates failed: ${JSON.stringify(failed)}`);
      fetchedTypes.push(...fetched.results.map((result) => `${result.certificateType} (${result.department ?? '?'})`));
      view = fetched.case;
    }
    // Only what is still missing is handed in: uploaded as the applicant's material, then attached.
    const handedInTypes: string[] = [];
    for (const entry of view.notice.entries.filter(
      (candidate) => !candidate.optional && (candidate.state === 'missing' || candidate.state === 'deferrable'),
    )) {
      const typeCode = entry.acceptedTypes[0];
      if (typeCode === undefined) throw new Error(`requirement ${entry.requirementCode} accepts no material type`);
      const materialId = await uploadMaterial(gatewayUrl, windowToken, subjectId, typeCode);
      view = await callJson<CaseView>(`${gatewayUrl}/v1/cases/${view.id}/materials`, [200], {
        method: 'POST',
        headers: jsonHeaders(windowToken),
        body: JSON.stringify({ requirementCode: entry.requirementCode, materialId }),
      });
      handedInTypes.push(typeCode);
    }
    if (!view.notice.readyToSubmit)
      throw new Error(`case ${view.caseNumber} is not ready to submit: ${JSON.stringify(view.notice.counts)}`);
    const submitted = await callJson<CaseView>(`${gatewayUrl}/v1/cases/${view.id}/submit`, [200], {
      method: 'POST',
      headers: { ...jsonHeaders(windowToken), 'idempotency-key': `bench-story-${runId}-${view.id}` },
      body: '{}',
    });
    const delivered = await waitForDelivered(gatewayUrl, windowToken, submitted.id, 30_000);
    cases.push({
      itemCode: step.itemCode,
      title: step.title,
      caseNumber: submitted.caseNumber,
      departments: delivered.deliveries.map((delivery) => delivery.department),
      counts: submitted.notice.counts,
      requirements: submitted.notice.entries.map((entry) => ({
        requirementCode: entry.requirementCode,
        state: entry.state,
        typeCode: entry.material?.typeCode ?? null,
        collectedInCase:
          entry.state === 'reused' && entry.material ? (collectedIn.get(entry.material.id) ?? null) : null,
      })),
      handedInTypes,
      fetchedTypes,
      deliveries: delivered.deliveries.map((delivery) => ({
        department: delivery.department,
        reference: delivery.departmentReference,
      })),
      seconds: (performance.now() - started) / 1000,
    });
    for (const entry of submitted.notice.entries) {
      if ((entry.state === 'fetched' || entry.state === 'handed_in') && entry.material)
        collectedIn.set(entry.material.id, cases.length);
    }
  }
  return cases;
}

function printStory(cases: StoryCase[]): void {
  console.log(
    `\n(b) the demo story: ${STORY_APPLICANT.name} (${STORY_APPLICANT.identifier}), one item after another — open, ` +
      'fetch certificates, hand in what is still missing, submit:\n',
  );
  console.log(
    table(
      [
        ['#', 'item', 'departments', 'required', 'handed in', 'reused', 'fetched', 'deferred', 'open → delivered s'],
        ...cases.map((entry, index) => [
          String(index + 1),
          entry.itemCode,
          entry.departments.join('+'),
          String(entry.counts.required),
          String(entry.counts.handedIn),
          String(entry.counts.reused),
          String(entry.counts.fetched),
          String(entry.counts.deferred),
          entry.seconds.toFixed(2),
        ]),
      ],
      3,
    ),
  );
  const total = (pick: (counts: CaseCounts) => number): number =>
    cases.reduce((sum, entry) => sum + pick(entry.counts), 0);
  const required = total((counts) => counts.required);
  const handedIn = total((counts) => counts.handedIn);
  console.log(
    `  total: ${required} materials required; ${handedIn} handed in, ${total((counts) => counts.reused)} reused, ` +
      `${total((counts) => counts.fetched)} fetched from departments, ` +
      `${total((counts) => counts.deferred)} deferred — the applicant brought ${handedIn} of ${required} ` +
      `(${((100 * handedIn) / Math.max(1, required)).toFixed(0)} %).`,
  );
  console.log('');
  for (const [index, entry] of cases.entries()) {
    const met = entry.requirements
      .filter((requirement) => requirement.state !== 'optional')
      .map((requirement) => {
        const origin = requirement.collectedInCase === null ? '' : `, from case ${requirement.collectedInCase}`;
        return `${requirement.requirementCode} ${requirement.state.replace('_', ' ')}${requirement.typeCode ? ` (${requirement.typeCode}${origin})` : ''}`;
      });
    const delivered = entry.deliveries
      .map((delivery) => `${delivery.department} ${delivery.reference ?? '?'}`)
      .join(', ');
    console.log(
      `  ${index + 1}. ${STORY_APPLICANT.name} ${entry.title} (${entry.caseNumber}): ${met.join('; ')}; delivered to ${delivered}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const settings = settingsOrComplaint('bench:cases', settingsFromEnv);
  if (!settings) return 2;
  const startedAt = new Date();
  const run = startRun({
    workDirPrefix: 'ow-bench-cases-',
    budgetSeconds: settings.budgetSeconds,
    budgetVariable: 'BENCH_BUDGET_SECONDS',
    keptWhat: `server logs${settings.cpuProfile ? " and the gateway's CPU profile (profile-gateway/, written when it stopped)" : ''}`,
  });
  const { workDir } = run;

  console.log(
    `onewindow cases benchmark: parts ${settings.parts.join(', ')}; gateway LOG_LEVEL=${settings.gatewayLogLevel}; ` +
      `database pool: gateway ${settings.gatewayPoolSize}, ` +
      `baseline ${settings.poolSize}; budget ${settings.budgetSeconds} s`,
  );
  const started = performance.now();
  const children: ServerProcess[] = [];
  try {
    const database = await createPostgresDatabase(settings.postgresAdminUrl);
    const sql = postgres(database.url, {
      max: 2,
      connect_timeout: 5,
      onnotice: () => {},
      connection: { application_name: MONITOR_APPLICATION },
    });
    addCleanup(() => sql.end({ timeout: 5 }));
    const environment = {
      ...machineFacts(),
      loadAverageAtStart: loadavg(),
      postgresServer: await serverVersion(sql),
      packages: packageVersions(['hono', '@hono/node-server', 'postgres', 'undici', 'drizzle-orm']),
    };
    console.log(
      `  node ${environment.node}, ${environment.cpus} CPUs (${environment.cpuModel}), load ` +
        `${environment.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}, ` +
        `PostgreSQL ${environment.postgresServer}; database ${database.name} (dropped at the end)`,
    );

    const simulators = await startSimulatorProcesses(ROOT, workDir);
    children.push(...Object.values(simulators).map((simulator) => simulator.server));
    const gateway = await startGateway(settings, workDir, database.url, departmentsJson(simulators));
    children.push(gateway.server);
    console.log(
      `  gateway ${gateway.url}; simulators PSB ${simulators.PSB.url}, AMR ${simulators.AMR.url}, NRB ` +
        `${simulators.NRB.url} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );

    const windowToken = await issueToken(gateway.url, WINDOW_CLIENT);
    await grantPopulationRegistry(gateway.url, windowToken, 'Benchmark: cases at the window');

    let throughput: ThroughputResult | undefined;
    if (settings.parts.includes('throughput')) {
      const baseline = await startBaseline(
        settings,
        workDir,
        database.url,
        await signingKeyOf(gateway.url, windowToken),
      );
      children.push(baseline.server);
      // The applicant's materials: one first case fetches them (PSB and NRB) and is submitted; every
      // case after it reuses all three, so a case needs only open + submit.
      const subjectId = await resolveSubject(gateway.url, windowToken, LOAD_APPLICANT);
      const first = await callJson<CaseView>(`${gateway.url}/v1/cases`, [201], {
        method: 'POST',
        headers: jsonHeaders(windowToken),
        body: JSON.stringify({
          itemCode: LOAD_ITEM,
          subjectId,
          form: { moveToAddress: '北京市海淀区中关村大街0号', reason: 'employment' },
        }),
      });
      const fetched = await callJson<{ case: CaseView }>(`${gateway.url}/v1/cases/${first.id}/certificates`, [200], {
        method: 'POST',
        headers: jsonHeaders(windowToken),
        body: '{}',
      });
      if (!fetched.case.notice.readyToSubmit)
        throw new Error(
          `the load applicant's first case is not ready to submit: ${JSON.stringify(fetched.case.notice.counts)}`,
        );
      const key = `bench-first-${runId}`;
      await callJson(`${gateway.url}/v1/cases/${first.id}/submit`, [200], {
        method: 'POST',
        headers: { ...jsonHeaders(windowToken), 'idempotency-key': key },
        body: '{}',
      });
      // The same key again gets the first answer, and nothing is written twice.
      const replay = await request(`${gateway.url}/v1/cases/${first.id}/submit`, {
        method: 'POST',
        headers: { ...jsonHeaders(windowToken), 'idempotency-key': key },
        body: '{}',
      });
      await replay.body.text();
      if (replay.statusCode !== 200 || replay.headers['idempotent-replayed'] !== 'true')
        throw new Error(`a repeated submission was not answered as a replay (HTTP ${replay.statusCode})`);
      const context: ThroughputContext = {
        settings,
        sql,
        gateway,
        baseline,
        psb: simulators.PSB,
        windowToken,
        subjectId,
      };
      throughput = await runThroughput(context);
      printThroughput(throughput, settings);
      await stopServer(baseline.server);
    }

    let story: StoryCase[] | undefined;
    if (settings.parts.includes('story')) {
      story = await runStory(gateway.url, windowToken);
      printStory(story);
    }

    console.log(`\nTotal time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `cases-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt, finishedAt: new Date(), settings, targets: TARGETS, environment, throughput, story }, null, 2)}\n`,
    );
    console.log(`Written ${file}`);
    if (settings.cpuProfile) run.keepWorkDir();
    // A MISS is a finding printed above, not a failed run (as in bench/certificates.ts and bench/foundation.ts).
    return 0;
  } catch (error) {
    run.keepWorkDir();
    console.error(`\nbenchmark failed: ${errorText(error)}`);
    for (const child of children) console.error(`--- ${child.name} (last lines) ---\n${logTail(child, 10)}`);
    return 1;
  } finally {
    run.clearBudget();
    await cleanup();
  }
}

process.exitCode = await main();
