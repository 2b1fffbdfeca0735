/**
 * `npm run bench:load`: the mixed load benchmark. What a deployment of the gateway sustains when
 * a realistic mix of work arrives at once, on this machine, and what that costs in memory and
 * event-loop delay; with LOAD_INSTANCES > 1, what several instances on one database give
 * (LOAD_INSTANCES=1,3 measures both counts in interleaved slices of one run, and compares them).
 *
 * Every server is a child process on loopback: LOAD_INSTANCES gateway processes (the largest count)
 * (`gateway/main.ts`) on one fresh PostgreSQL database, the three department simulators, and as
 * many bare Hono processes (lib/bare-hono-server.ts) as the baseline. The load comes from this
 * process (autocannon through lib/mixed-runner.ts): each operation of the mix on its own keep-alive
 * connections, all at the same time, the connections dealt round-robin over the instances.
 *
 *   token      POST /oauth/token (client credentials: one keyed-hash check and one ES256 signature)
 *   resolve    POST /v1/subjects/resolve, over 1,000 applicants (created on first sight, then found)
 *   cached     POST /v1/subjects/{id}/certificates, household register from the fresh stored copy
 *   cold       the same with refresh: true, three certificates from PSB (2 signed GETs) and NRB
 *              (an asynchronous query job, polled) in parallel
 *   licence    a cold fetch of an enterprise's business licence from AMR (SOAP)
 *   upload     POST /v1/subjects/{id}/materials, a distinct 16 KiB PDF each time, over 50 applicants
 *   case       POST /v1/cases (household move-in, every material reused), then
 *              POST /v1/cases/{id}/submit with its own Idempotency-Key; delivered to the PSB simulator
 *
 * Reported: per operation (step) answers/s and p50/p99; the whole mix against the bare Hono
 * baseline (same connections, same load generator, in interleaved slices of the same run); per
 * gateway instance RSS, heap used and event-loop delay, scraped from its /metrics every second;
 * where the CPU went (gateways, PostgreSQL, simulators, load generator, other processes).
 * The gateways run as deployed (the Dockerfile's `node dist/gateway/main.js`), built from this
 * checkout at the start (`npm run build`); LOAD_GATEWAY_BUILD=source runs gateway/main.ts through
 * tsx instead, whose loader and source maps cost ~75 MiB of RSS more per instance.
 * See bench/README.md, "Mixed load (bench:load)", for the knobs and how to read the output.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { configSchema } from '../gateway/config.js';
import { residentIdCheckCharacter } from '../gateway/identity/identifiers.js';
import {
  PURPOSE,
  WINDOW_CLIENT,
  basicAuth,
  callJson,
  grantPopulationRegistry,
  issueToken,
  jsonHeaders,
  resolveSubject,
} from './lib/api.js';
import { type LatencyStats, fixed, latencyStats, machineBusySeconds, ownCpuSeconds, textTable } from './lib/calls.js';
import {
  type CpuSnapshot,
  type ServerProcess,
  cpuSpent,
  freePort,
  logTail,
  postgresCpu,
  spawnServer,
  treeCpu,
  waitForHttp,
} from './lib/children.js';
import { analyzeAfterWarmUp, createBenchDatabase } from './lib/database.js';
import { integerFromEnv } from './lib/env.js';
import {
  type MixOperation,
  type MixSlice,
  type MixStep,
  type StepContext,
  dealConnections,
  runMix,
} from './lib/mixed-runner.js';
import {
  type ProcessMetricsSummary,
  type ProcessSample,
  ProcessMetricsSampler,
  type SamplerTarget,
  scrapeProcessSample,
  summariseProcessSamples,
} from './lib/process-metrics.js';
import { addCleanup, cleanup, errorText, settingsOrComplaint, startRun } from './lib/run.js';
import {
  type SimulatorProcesses,
  departmentsJson,
  simulatorRequestCounts,
  startSimulatorProcesses,
} from './lib/simulators.js';
import { machineFacts, packageVersions } from './lib/environment.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
/** The `iss` of every instance's tokens (PUBLIC_BASE_URL): one deployment, so a token is valid on each. */
const ISSUER = 'http://onewindow-load.localhost';
const AUDIENCE = 'onewindow-api';
/**
 * In the PSB register (ID card, household register) and holding real estate at the NRB: the cold
 * fetch asks both. 王建国's title is revoked at the NRB: a department's answer like any other.
 */
const FETCH_PEOPLE = [
  { identifier: '11010519491231002X', name: '张三' },
  { identifier: '320102197807120033', name: '王建国' },
];
const PERSON_CERTIFICATES = ['resident_id_card', 'household_register', 'real_estate_certificate'];
/** In the AMR simulator's seed: its business licence is the AMR cold fetch. */
const ENTERPRISE = { identifier: '91110105MA01C8XN3W', name: '北京朝阳晨光餐饮管理有限公司' };
/** The case applicant: in the PSB register (its desk refuses unknown people), real estate at the NRB. */
const CASE_APPLICANT = { identifier: '330106198503150120', name: '李梅' };
/** Seeded, one department (PSB), three required materials: all on file after the first case, so a case is open + submit. */
const CASE_ITEM = 'household_move_in';
/** Applicants the resolve operation goes round (generated, valid check characters). */
const RESOLVE_PEOPLE = 1000;
/** Of those, the first this many get the uploads, in turn: many applicants, not one subject with thousands of documents. */
const UPLOAD_SUBJECTS = 50;
/** prom-client's default metrics prefix in gateway/platform/metrics.ts. */
const METRICS_PREFIX = 'onewindow_';

const OPERATION_KEYS = ['token', 'resolve', 'cached', 'cold', 'licence', 'upload', 'case'] as const;
type OperationKey = (typeof OPERATION_KEYS)[number];
/** Connections per operation: a window's day is mostly reads, a few cold fetches, uploads and cases. */
const DEFAULT_MIX: Record<OperationKey, number> = {
  token: 2,
  resolve: 4,
  cached: 8,
  cold: 4,
  licence: 2,
  upload: 4,
  case: 8,
};

interface Settings {
  /** Gateway instance counts to measure; several are measured in interleaved slices of one run. */
  instanceCounts: number[];
  mix: Record<OperationKey, number>;
  /** Measured seconds of the mix, split into `rounds` slices interleaved with the baseline's. */
  durationSeconds: number;
  warmupSeconds: number;
  /** Measured seconds of the bare Hono baseline, split likewise. */
  baselineSeconds: number;
  rounds: number;
  uploadKiB: number;
  scrapeMs: number;
  /** NRB adapter polling of its query jobs: first wait (doubled, at most 10x). The adapter's default. */
  nrbPollMs: number;
  poolSize: number;
  gatewayLogLevel: 'info' | 'warn';
  /** `dist`: the production build (built at the start); `source`: gateway/main.ts through tsx. */
  gatewayBuild: 'dist' | 'source';
  /** BENCH_CPU_PROFILE=1: each gateway writes a V8 CPU profile into the run's folder when it stops. */
  cpuProfile: boolean;
  drainSeconds: number;
  timeoutSeconds: number;
  postgresAdminUrl: string;
  budgetSeconds: number;
}

function mixFromEnv(): Record<OperationKey, number> {
  const mix = { ...DEFAULT_MIX };
  const raw = process.env.LOAD_MIX;
  if (raw === undefined || raw.trim() === '') return mix;
  for (const part of raw.split(',')) {
    const [key, value] = part.split('=').map((item) => item.trim());
    const count = Number(value);
    if (!OPERATION_KEYS.includes(key as OperationKey) || !Number.isInteger(count) || count < 0 || count > 200) {
      throw new Error(
        `LOAD_MIX must be a comma-separated list of <operation>=<connections 0-200>, operations: ${OPERATION_KEYS.join(', ')}`,
      );
    }
    mix[key as OperationKey] = count;
  }
  if (Object.values(mix).every((count) => count === 0)) throw new Error('LOAD_MIX leaves no operation');
  return mix;
}

/** `LOAD_INSTANCES`: one count (default 1), or several comma-separated (e.g. `1,3`) compared in one run. */
function instanceCountsFromEnv(): number[] {
  const raw = process.env.LOAD_INSTANCES;
  if (raw === undefined || raw.trim() === '') return [1];
  const counts = raw.split(',').map((item) => Number(item.trim()));
  if (counts.length === 0 || counts.some((count) => !Number.isInteger(count) || count < 1 || count > 8))
    throw new Error('LOAD_INSTANCES must be an integer from 1 to 8, or several comma-separated');
  return [...new Set(counts)];
}

function settingsFromEnv(): Settings {
  const postgresAdminUrl = process.env.BENCH_POSTGRES_URL ?? `postgres://postgres@${HOST}:5432/postgres`;
  // The benchmark creates and drops a database there: only ever on this machine.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(postgresAdminUrl).hostname))
    throw new Error('BENCH_POSTGRES_URL must point at a loopback address');
  const logLevel = process.env.LOAD_GATEWAY_LOG_LEVEL ?? 'info';
  const instanceCounts = instanceCountsFromEnv();
  if (logLevel !== 'info' && logLevel !== 'warn') throw new Error('LOAD_GATEWAY_LOG_LEVEL must be info or warn');
  const gatewayBuild = process.env.LOAD_GATEWAY_BUILD ?? 'dist';
  if (gatewayBuild !== 'dist' && gatewayBuild !== 'source')
    throw new Error('LOAD_GATEWAY_BUILD must be dist or source');
  return {
    instanceCounts,
    mix: mixFromEnv(),
    durationSeconds: integerFromEnv('LOAD_DURATION_SECONDS', 60, 2, 3600),
    warmupSeconds: integerFromEnv('LOAD_WARMUP_SECONDS', 10, 0, 600),
    baselineSeconds: integerFromEnv('LOAD_BASELINE_SECONDS', 10, 2, 600),
    rounds: integerFromEnv('LOAD_ROUNDS', 2, 1, 20),
    uploadKiB: integerFromEnv('LOAD_UPLOAD_KIB', 16, 1, 10 * 1024),
    scrapeMs: integerFromEnv('LOAD_SCRAPE_MS', 1000, 200, 60_000),
    nrbPollMs: integerFromEnv('LOAD_NRB_POLL_MS', 200, 1, 2000),
    poolSize: integerFromEnv('LOAD_POOL_SIZE', 10, 1, 200),
    gatewayLogLevel: logLevel,
    cpuProfile: process.env.BENCH_CPU_PROFILE === '1',
    gatewayBuild: gatewayBuild === 'source' ? 'source' : 'dist',
    drainSeconds: integerFromEnv('LOAD_DRAIN_SECONDS', 30, 1, 600),
    timeoutSeconds: integerFromEnv('LOAD_TIMEOUT_SECONDS', 20, 1, 120),
    postgresAdminUrl,
    // About 100-120 s per instance count with the defaults on the (busy) reference machine.
    budgetSeconds: integerFromEnv('LOAD_BUDGET_SECONDS', 240 * instanceCounts.length, 30, 7200),
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Rate limits: none may throttle the benchmark.

/**
 * Every per-minute limit the gateway's configuration knows (names ending in `_PER_MINUTE` or
 * containing `RATE_LIMIT`, read from its schema so limits added later are covered too), set to
 * the largest round value it accepts. A 429 would make the figures those of the limiter.
 */
function unthrottledLimits(): Record<string, string> {
  const limits: Record<string, string> = {};
  for (const [name, field] of Object.entries(configSchema.shape)) {
    if (!/_PER_MINUTE$|RATE_LIMIT/.test(name)) continue;
    const value = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3].find((candidate) => field.safeParse(String(candidate)).success);
    if (value !== undefined) limits[name] = String(value);
  }
  return limits;
}

// ---------------------------------------------------------------------------------------------
// Servers.

interface Instance {
  index: number;
  server: ServerProcess;
  url: string;
}

interface Servers {
  gateways: Instance[];
  bare: Instance[];
  simulators: SimulatorProcesses;
}

async function startGatewayInstance(
  settings: Settings,
  workDir: string,
  index: number,
  env: Record<string, string>,
): Promise<Instance> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  // Started through a link in the run's folder, so its command line names no `gateway/main.ts`:
  // something on the shared machine signals processes by that name (see bench/certificates.ts).
  const [entry, target] =
    settings.gatewayBuild === 'dist'
      ? [join(workDir, 'onewindow-load-gateway.js'), join(ROOT, 'dist/gateway/main.js')]
      : [join(workDir, 'onewindow-load-gateway.ts'), join(ROOT, 'gateway/main.ts')];
  if (!existsSync(entry)) symlinkSync(target, entry);
  const server = spawnServer({
    name: `gateway ${index + 1}`,
    root: ROOT,
    entry,
    logFile: join(workDir, `gateway-${index + 1}.log`),
    ...(settings.cpuProfile ? { cpuProfileDir: join(workDir, `profile-gateway-${index + 1}`) } : {}),
    env: {
      ...env,
      PORT: String(port),
      DATABASE_POOL_SIZE: String(settings.poolSize),
      LOG_LEVEL: settings.gatewayLogLevel,
    },
  });
  await waitForHttp(server, `${url}/readyz`, 120_000);
  return { index, server, url };
}

async function startBare(workDir: string, index: number): Promise<Instance> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const server = spawnServer({
    name: `bare hono ${index + 1}`,
    root: ROOT,
    entry: 'bench/lib/bare-hono-server.ts',
    logFile: join(workDir, `bare-hono-${index + 1}.log`),
    env: { BARE_PORT: String(port), BARE_HOST: HOST },
  });
  await waitForHttp(server, `${url}/healthz`, 60_000);
  return { index, server, url };
}

async function startServers(
  settings: Settings,
  workDir: string,
  databaseUrl: string,
  metricsToken: string,
): Promise<Servers> {
  const simulators = await startSimulatorProcesses(ROOT, workDir);
  const env: Record<string, string> = {
    HOST,
    PUBLIC_BASE_URL: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    ONEWINDOW_DEMO: 'true',
    DEMO_SIMULATORS: 'false',
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    SHUTDOWN_GRACE_MS: '2000',
    DATABASE_URL: databaseUrl,
    // One data folder for the instances (one deployment's key files and witness), never the repository's `.data`.
    DATA_DIR: join(workDir, 'data'),
    METRICS_SCRAPE_TOKEN: metricsToken,
    DEPARTMENTS_JSON: departmentsJson(simulators, {
      initialMs: settings.nrbPollMs,
      maxMs: Math.min(30_000, 10 * settings.nrbPollMs),
    }),
    // The simulators listen on loopback: allowed, and nothing else.
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DEPARTMENT_ALLOWED_HOSTS: HOST,
    ...unthrottledLimits(),
  };
  // The first instance migrates the database, seeds the demo data and creates the signing key;
  // the others start after it and find all three in place, as a rolling deployment would.
  const gateways = [await startGatewayInstance(settings, workDir, 0, env)];
  const count = Math.max(...settings.instanceCounts);
  gateways.push(
    ...(await Promise.all(
      Array.from({ length: count - 1 }, (_, index) => startGatewayInstance(settings, workDir, index + 1, env)),
    )),
  );
  const bare = await Promise.all(Array.from({ length: count }, (_, index) => startBare(workDir, index)));
  return { gateways, bare, simulators };
}

// ---------------------------------------------------------------------------------------------
// Setup through the API (on the first instance; every instance shares the database).

interface CertificateAnswer {
  certificateType: string;
  status: string;
  source: string | null;
}

/**
 * A department's definitive answers: the certificate, or that it is revoked or cancelled by a later
 * event (已注销). Anything else (unavailable, error) is a failure.
 */
const DEFINITIVE_STATUSES = ['ok', 'revoked', 'cancelled'];

/** undefined when every asked type was answered definitively from `source`, else what differed. */
function certificateProblem(
  results: CertificateAnswer[],
  types: readonly string[],
  source: 'department' | 'stored',
): string | undefined {
  for (const type of types) {
    const result = results.find((candidate) => candidate.certificateType === type);
    if (!result || !DEFINITIVE_STATUSES.includes(result.status) || result.source !== source)
      return `${type}: ${JSON.stringify(result ?? null).slice(0, 300)} (expected ok, revoked or cancelled, from ${source})`;
  }
  return undefined;
}

async function fetchCertificates(
  gatewayUrl: string,
  token: string,
  subjectId: string,
  types: string[],
  refresh: boolean,
): Promise<void> {
  const answer = await callJson<{ results: CertificateAnswer[] }>(
    `${gatewayUrl}/v1/subjects/${subjectId}/certificates`,
    [200],
    {
      method: 'POST',
      headers: { ...jsonHeaders(token), ...PURPOSE },
      body: JSON.stringify({ types, refresh }),
    },
  );
  const problem = certificateProblem(answer.results, types, refresh ? 'department' : 'stored');
  if (problem !== undefined) throw new Error(`fetching certificates: ${problem}`);
}

/** The check of a certificate answer under load. */
function certificateCheck(types: readonly string[], source: 'department' | 'stored'): MixStep['check'] {
  return (status, body) => {
    if (status !== 200) return body.slice(0, 300);
    return certificateProblem((JSON.parse(body) as { results: CertificateAnswer[] }).results, types, source);
  };
}

interface CaseView {
  id: string;
  status: string;
  notice: { readyToSubmit: boolean; counts: Record<string, number> };
}

/** Applicants for the resolve operation: valid GB 11643 numbers (Beijing Chaoyang, distinct birth dates). */
function resolvePeople(count: number): { identifier: string; name: string }[] {
  const first = Date.UTC(1950, 0, 1);
  return Array.from({ length: count }, (_, index) => {
    const birth = new Date(first + index * 86_400_000 * 7).toISOString().slice(0, 10).replaceAll('-', '');
    const first17 = `110105${birth}${String(100 + (index % 900)).padStart(3, '0')}`;
    return { identifier: first17 + residentIdCheckCharacter(first17), name: `负载申请人${index}` };
  });
}

interface Fixture {
  windowToken: string;
  fetchSubjects: string[];
  enterpriseId: string;
  uploadSubjects: string[];
  caseSubject: string;
  people: { identifier: string; name: string }[];
}

async function prepare(gateways: Instance[]): Promise<Fixture> {
  const [first] = gateways;
  if (!first) throw new Error('no gateway');
  const windowToken = await issueToken(first.url, WINDOW_CLIENT);
  await grantPopulationRegistry(first.url, windowToken, 'Benchmark: mixed load at the window');
  const fetchSubjects: string[] = [];
  for (const person of FETCH_PEOPLE) {
    const subjectId = await resolveSubject(first.url, windowToken, 'resident_id', person);
    // Stores the three, so the cached operation has a fresh copy to answer from.
    await fetchCertificates(first.url, windowToken, subjectId, PERSON_CERTIFICATES, true);
    fetchSubjects.push(subjectId);
  }
  const enterpriseId = await resolveSubject(first.url, windowToken, 'credit_code', ENTERPRISE);
  await fetchCertificates(first.url, windowToken, enterpriseId, ['business_licence'], true);
  const people = resolvePeople(RESOLVE_PEOPLE);
  const uploadSubjects: string[] = [];
  for (const person of people.slice(0, UPLOAD_SUBJECTS))
    uploadSubjects.push(await resolveSubject(first.url, windowToken, 'resident_id', person));

  // The case applicant's first case fetches her three materials (PSB and NRB); every later case reuses them.
  const caseSubject = await resolveSubject(first.url, windowToken, 'resident_id', CASE_APPLICANT);
  const opened = await callJson<CaseView>(`${first.url}/v1/cases`, [201], {
    method: 'POST',
    headers: jsonHeaders(windowToken),
    body: JSON.stringify({
      itemCode: CASE_ITEM,
      subjectId: caseSubject,
      form: { moveToAddress: '北京市海淀区中关村大街0号', reason: 'employment' },
    }),
  });
  const fetched = await callJson<{ case: CaseView }>(`${first.url}/v1/cases/${opened.id}/certificates`, [200], {
    method: 'POST',
    headers: jsonHeaders(windowToken),
    body: '{}',
  });
  if (!fetched.case.notice.readyToSubmit)
    throw new Error(
      `the case applicant's first case is not ready to submit: ${JSON.stringify(fetched.case.notice.counts)}`,
    );
  await callJson(`${first.url}/v1/cases/${opened.id}/submit`, [200], {
    method: 'POST',
    headers: { ...jsonHeaders(windowToken), 'idempotency-key': `load-first-${randomBytes(6).toString('hex')}` },
    body: '{}',
  });

  // One token for the whole deployment: every instance accepts it and answers from the same data.
  for (const gateway of gateways) {
    const [subjectId] = fetchSubjects;
    if (subjectId) await fetchCertificates(gateway.url, windowToken, subjectId, ['household_register'], false);
  }
  return { windowToken, fetchSubjects, enterpriseId, uploadSubjects, caseSubject, people };
}

// ---------------------------------------------------------------------------------------------
// The mix.

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

/** `ok` when the answer has the status and every needle as often as asked, else what differed. */
function expectAnswer(
  status: number,
  body: string,
  expected: number[],
  needles: [string, number][] = [],
): string | undefined {
  if (!expected.includes(status)) return body.slice(0, 300);
  for (const [needle, count] of needles)
    if (occurrences(body, needle) !== count) return `expected ${count}× ${needle}: ${body.slice(0, 300)}`;
  return undefined;
}

/** A valid small PDF of `bytes` bytes whose counter line is rewritten per request (the stores keep identical content once). */
function pdfTemplate(bytes: number): { buffer: Buffer; stamp: (sequence: number) => Buffer } {
  const head = Buffer.from(
    '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n% upload ',
    'latin1',
  );
  const tail = Buffer.from('\ntrailer <</Root 1 0 R>>\n%%EOF\n', 'latin1');
  const counterWidth = 16;
  const fillerLength = Math.max(0, bytes - head.length - counterWidth - tail.length - 2);
  // Printable filler in a comment line: random, so content does not compress to nothing.
  const filler = Buffer.from(
    `\n%${randomBytes(Math.ceil(fillerLength / 2))
      .toString('hex')
      .slice(0, fillerLength)}`,
    'latin1',
  );
  const buffer = Buffer.concat([head, Buffer.alloc(counterWidth, 0x30), filler, tail]);
  const run = randomBytes(4).toString('hex');
  return {
    buffer,
    stamp(sequence) {
      buffer.write(
        `${run}${String(sequence).padStart(counterWidth - run.length, '0')}`.slice(0, counterWidth),
        head.length,
        'latin1',
      );
      return buffer;
    },
  };
}

const OPERATION_LABELS: Record<OperationKey, string> = {
  token: 'token issue',
  resolve: 'subject resolution',
  cached: 'cached certificate',
  cold: 'cold certificates (PSB+NRB)',
  licence: 'cold licence (AMR)',
  upload: 'material upload',
  case: 'case',
};

function buildMix(settings: Settings, fixture: Fixture, runId: string): MixOperation[] {
  const bearer = jsonHeaders(fixture.windowToken);
  const withPurpose = { ...bearer, ...PURPOSE };
  let resolveSequence = 0;
  let cachedSequence = 0;
  let coldSequence = 0;
  let uploadSequence = 0;
  let caseSequence = 0;
  const pdf = pdfTemplate(settings.uploadKiB * 1024);
  const steps: Record<OperationKey, MixStep[]> = {
    token: [
      {
        name: 'POST /oauth/token',
        method: 'POST',
        headers: { authorization: basicAuth(WINDOW_CLIENT), 'content-type': 'application/x-www-form-urlencoded' },
        path: () => '/oauth/token',
        body: () => 'grant_type=client_credentials',
        check: (status, body) => expectAnswer(status, body, [200], [['"access_token"', 1]]),
      },
    ],
    resolve: [
      {
        name: 'POST /v1/subjects/resolve',
        method: 'POST',
        headers: withPurpose,
        path: () => '/v1/subjects/resolve',
        body: () => {
          const person = fixture.people[resolveSequence++ % fixture.people.length];
          return JSON.stringify({ identifierType: 'resident_id', identifier: person?.identifier, name: person?.name });
        },
        check: (status, body) => expectAnswer(status, body, [200, 201]),
      },
    ],
    cached: [
      {
        name: 'POST …/certificates (stored)',
        method: 'POST',
        headers: withPurpose,
        path: () =>
          `/v1/subjects/${fixture.fetchSubjects[cachedSequence++ % fixture.fetchSubjects.length]}/certificates`,
        body: () => JSON.stringify({ types: ['household_register'] }),
        check: certificateCheck(['household_register'], 'stored'),
      },
    ],
    cold: [
      {
        name: 'POST …/certificates refresh (PSB+NRB)',
        method: 'POST',
        headers: withPurpose,
        path: () => `/v1/subjects/${fixture.fetchSubjects[coldSequence++ % fixture.fetchSubjects.length]}/certificates`,
        body: () => JSON.stringify({ types: PERSON_CERTIFICATES, refresh: true }),
        check: certificateCheck(PERSON_CERTIFICATES, 'department'),
      },
    ],
    licence: [
      {
        name: 'POST …/certificates refresh (AMR)',
        method: 'POST',
        headers: withPurpose,
        path: () => `/v1/subjects/${fixture.enterpriseId}/certificates`,
        body: () => JSON.stringify({ types: ['business_licence'], refresh: true }),
        check: certificateCheck(['business_licence'], 'department'),
      },
    ],
    upload: [
      {
        name: 'POST …/materials (PDF)',
        method: 'POST',
        headers: { authorization: bearer.authorization ?? '', 'content-type': 'application/pdf', ...PURPOSE },
        path: () =>
          `/v1/subjects/${fixture.uploadSubjects[uploadSequence % fixture.uploadSubjects.length]}/materials?typeCode=lease_contract&fileName=lease-${uploadSequence}.pdf`,
        body: () => pdf.stamp(uploadSequence++),
        check: (status, body) => expectAnswer(status, body, [201]),
      },
    ],
    case: [
      {
        name: 'POST /v1/cases (open)',
        method: 'POST',
        headers: bearer,
        path: () => '/v1/cases',
        body: (context: StepContext) => {
          caseSequence += 1;
          // The connection's submit uses this number in its Idempotency-Key: one key per case.
          (context.values ??= {}).caseSequence = String(caseSequence);
          return JSON.stringify({
            itemCode: CASE_ITEM,
            subjectId: fixture.caseSubject,
            form: { moveToAddress: `北京市海淀区中关村大街${caseSequence}号`, reason: 'employment' },
          });
        },
        check: (status, body, context) => {
          const values = (context.values ??= {});
          delete values.caseId;
          const problem = expectAnswer(status, body, [201]);
          if (problem !== undefined) return problem;
          const opened = JSON.parse(body) as CaseView;
          if (!opened.notice.readyToSubmit) return `not ready to submit: ${JSON.stringify(opened.notice.counts)}`;
          values.caseId = opened.id;
          return undefined;
        },
      },
      {
        name: 'POST /v1/cases/{id}/submit',
        method: 'POST',
        headers: bearer,
        // After a failed open there is no case: the submit then fails too, and is counted.
        path: (context: StepContext) => `/v1/cases/${context.values?.caseId ?? 'case_not_opened'}/submit`,
        perRequestHeaders: (context: StepContext) => ({
          'idempotency-key': `load-${runId}-${context.values?.caseSequence ?? 'none'}`,
        }),
        body: () => '{}',
        check: (status, body) => expectAnswer(status, body, [200], [['"status":"submitted"', 1]]),
      },
    ],
  };
  return OPERATION_KEYS.filter((key) => settings.mix[key] > 0).map((key) => ({
    name: OPERATION_LABELS[key],
    connections: settings.mix[key],
    steps: steps[key],
  }));
}

function bareMix(connections: number): MixOperation[] {
  return [
    {
      name: 'bare hono',
      connections,
      steps: [
        {
          name: 'GET /json',
          method: 'GET',
          headers: {},
          path: () => '/json',
          check: (status, body) => expectAnswer(status, body, [200], [['"ok":true', 1]]),
        },
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Measuring.

interface CpuSources {
  gateways: () => CpuSnapshot;
  postgres: () => CpuSnapshot;
  simulators: () => CpuSnapshot;
  bare: () => CpuSnapshot;
}

interface CpuFigures {
  seconds: number;
  /** CPU seconds per second of each source, this process (`loadgen`) and everything else (`other`). */
  perSecond: Record<keyof CpuSources | 'loadgen' | 'other' | 'machine', number>;
}

async function withCpu<T>(sources: CpuSources, run: () => Promise<T>): Promise<{ result: T; cpu: CpuFigures }> {
  const names = Object.keys(sources) as (keyof CpuSources)[];
  const before = Object.fromEntries(names.map((name) => [name, sources[name]()])) as Record<
    keyof CpuSources,
    CpuSnapshot
  >;
  const ownBefore = ownCpuSeconds();
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const spent = Object.fromEntries(names.map((name) => [name, cpuSpent(before[name], sources[name]()) ?? 0])) as Record<
    keyof CpuSources,
    number
  >;
  const loadgen = ownCpuSeconds() - ownBefore;
  const machineAfter = machineBusySeconds();
  const machine = machineBefore === undefined || machineAfter === undefined ? Number.NaN : machineAfter - machineBefore;
  const accounted = loadgen + Object.values(spent).reduce((total, value) => total + value, 0);
  const perSecond = {
    gateways: spent.gateways / seconds,
    postgres: spent.postgres / seconds,
    simulators: spent.simulators / seconds,
    bare: spent.bare / seconds,
    loadgen: loadgen / seconds,
    other: Math.max(0, machine - accounted) / seconds,
    machine: machine / seconds,
  };
  return { result, cpu: { seconds, perSecond } };
}

/** Sums CPU figures over slices, weighted by their length. */
function mergeCpu(figures: CpuFigures[]): CpuFigures {
  const seconds = figures.reduce((total, figure) => total + figure.seconds, 0);
  const keys = Object.keys(figures[0]?.perSecond ?? {}) as (keyof CpuFigures['perSecond'])[];
  const perSecond = Object.fromEntries(
    keys.map((key) => [
      key,
      figures.reduce((total, figure) => total + figure.perSecond[key] * figure.seconds, 0) / seconds,
    ]),
  ) as CpuFigures['perSecond'];
  return { seconds, perSecond };
}

/** Fails on any answer that was not what was asked for, or any connection error: the figures would mean nothing. */
function assertClean(title: string, slice: MixSlice): void {
  const failed = slice.steps.filter((step) => step.failures > 0);
  if (failed.length === 0 && slice.errors === 0) return;
  const lines = failed.map(
    (step) => `  ${step.operation} / ${step.step}: ${step.failures} failed (${step.failureSamples.join(' | ')})`,
  );
  if (slice.errors > 0)
    lines.push(`  ${slice.errors} connection errors (${slice.timeouts} timeouts): ${slice.errorSamples.join(' | ')}`);
  throw new Error(
    `${title}: answers that were not what was asked for — the figures would mean nothing:\n${lines.join('\n')}`,
  );
}

interface DeliveryCounts {
  pending: number;
  delivered: number;
  dead: number;
  submittedCases: number;
}

async function deliveryCounts(sql: postgres.Sql): Promise<DeliveryCounts> {
  const rows = await sql<
    { status: string; count: string }[]
  >`select status::text as status, count(*)::text as count from deliveries group by status`;
  const [cases] = await sql<
    { count: string }[]
  >`select count(*)::text as count from cases where submitted_at is not null`;
  const of = (status: string): number => Number(rows.find((row) => row.status === status)?.count ?? 0);
  return {
    pending: of('pending'),
    delivered: of('delivered'),
    dead: of('dead'),
    submittedCases: Number(cases?.count ?? 0),
  };
}

/** Waits until every submitted case is delivered (at most `seconds`); the seconds it took. */
async function drainDeliveries(sql: postgres.Sql, seconds: number): Promise<number> {
  const started = performance.now();
  while ((performance.now() - started) / 1000 < seconds) {
    const counts = await deliveryCounts(sql);
    if (counts.dead > 0) throw new Error(`${counts.dead} deliveries dead-lettered under load`);
    if (counts.pending === 0) break;
    await pause(250);
  }
  return (performance.now() - started) / 1000;
}

interface StepResult {
  operation: string;
  step: string;
  connections: number;
  answers: number;
  perSecond: number;
  latencyMs: LatencyStats;
  statusCodes: Record<string, number>;
}

function stepResults(slices: MixSlice[], operations: MixOperation[]): StepResult[] {
  const seconds = slices.reduce((total, slice) => total + slice.durationSeconds, 0);
  const names = slices[0]?.steps.map((step) => [step.operation, step.step] as const) ?? [];
  return names.map(([operation, step]) => {
    const parts = slices.map((slice) =>
      slice.steps.find((candidate) => candidate.operation === operation && candidate.step === step),
    );
    const answers = parts.reduce((total, part) => total + (part?.ok ?? 0), 0);
    const statusCodes: Record<string, number> = {};
    for (const part of parts)
      for (const [code, count] of Object.entries(part?.statusCodes ?? {}))
        statusCodes[code] = (statusCodes[code] ?? 0) + count;
    return {
      operation,
      step,
      connections: operations.find((candidate) => candidate.name === operation)?.connections ?? 0,
      answers,
      perSecond: answers / seconds,
      latencyMs: latencyStats(parts.map((part) => part?.latencies ?? new Float64Array(0))),
      statusCodes,
    };
  });
}

function wholeResult(label: string, slices: MixSlice[], connections: number): StepResult {
  const seconds = slices.reduce((total, slice) => total + slice.durationSeconds, 0);
  const latencies = slices.flatMap((slice) => slice.steps.map((step) => step.latencies));
  const answers = latencies.reduce((total, part) => total + part.length, 0);
  return {
    operation: label,
    step: '',
    connections,
    answers,
    perSecond: answers / seconds,
    latencyMs: latencyStats(latencies),
    statusCodes: {},
  };
}

// ---------------------------------------------------------------------------------------------
// One instance count ("topology"): its gateways and bare processes, and what its slices measured.

interface Topology {
  instances: number;
  gateways: Instance[];
  bare: Instance[];
  connectionsPerInstance: number[];
  samplerTargets: SamplerTarget[];
  mixSlices: MixSlice[];
  baselineSlices: MixSlice[];
  mixCpu: CpuFigures[];
  baselineCpu: CpuFigures[];
  samples: Map<number, ProcessSample[]>;
  failedScrapes: Map<number, number>;
  /** CPU seconds of each active instance's process tree over the mix slices. */
  instanceCpuSeconds: Map<number, number>;
  maxDrainSeconds: number;
}

interface MeasureContext {
  settings: Settings;
  sql: postgres.Sql;
  operations: MixOperation[];
  baselineOperations: MixOperation[];
  totalConnections: number;
  /** CPU of everything this benchmark started, whichever topology is measured. */
  sources: CpuSources;
  mixSeconds: number;
  baselineSeconds: number;
}

function topologyOf(servers: Servers, instances: number, totalConnections: number, metricsToken: string): Topology {
  const gateways = servers.gateways.slice(0, instances);
  return {
    instances,
    gateways,
    bare: servers.bare.slice(0, instances),
    connectionsPerInstance: dealConnections(0, totalConnections, instances),
    samplerTargets: gateways.map((gateway) => ({
      name: String(gateway.index),
      url: `${gateway.url}/metrics`,
      headers: { authorization: `Bearer ${metricsToken}` },
      prefix: METRICS_PREFIX,
    })),
    mixSlices: [],
    baselineSlices: [],
    mixCpu: [],
    baselineCpu: [],
    samples: new Map(gateways.map((gateway) => [gateway.index, []])),
    failedScrapes: new Map(gateways.map((gateway) => [gateway.index, 0])),
    instanceCpuSeconds: new Map(gateways.map((gateway) => [gateway.index, 0])),
    maxDrainSeconds: 0,
  };
}

async function measureMixSlice(context: MeasureContext, topology: Topology, round: number): Promise<void> {
  const { settings } = context;
  const sampler = new ProcessMetricsSampler(topology.samplerTargets, settings.scrapeMs);
  const instanceCpuBefore = topology.gateways.map((gateway) => treeCpu(gateway.server.pid));
  sampler.start();
  const { result, cpu } = await withCpu(context.sources, () =>
    runMix({
      title: `mix round ${round}`,
      targets: topology.gateways.map((gateway) => gateway.url),
      operations: context.operations,
      durationSeconds: context.mixSeconds,
      timeoutSeconds: settings.timeoutSeconds,
    }),
  );
  await sampler.stop();
  topology.gateways.forEach((gateway, index) => {
    const spent = cpuSpent(instanceCpuBefore[index] ?? new Map(), treeCpu(gateway.server.pid)) ?? Number.NaN;
    topology.instanceCpuSeconds.set(gateway.index, (topology.instanceCpuSeconds.get(gateway.index) ?? 0) + spent);
    topology.samples.get(gateway.index)?.push(...(sampler.samples.get(String(gateway.index)) ?? []));
    topology.failedScrapes.set(
      gateway.index,
      (topology.failedScrapes.get(gateway.index) ?? 0) + (sampler.failures.get(String(gateway.index))?.length ?? 0),
    );
  });
  assertClean(`${topology.instances} instance(s), mix round ${round}`, result);
  topology.mixSlices.push(result);
  topology.mixCpu.push(cpu);
  // The cases submitted in the slice are delivered before anything else is measured.
  const drained = await drainDeliveries(context.sql, settings.drainSeconds);
  topology.maxDrainSeconds = Math.max(topology.maxDrainSeconds, drained);
  const whole = wholeResult('mix', [result], context.totalConnections);
  console.log(
    `  round ${round}, ${topology.instances} instance(s), mix:      ${fixed(whole.perSecond, 0).padStart(6)} ` +
      `answers/s  p50 ${ms(whole.latencyMs.p50)} ms  p99 ${ms(whole.latencyMs.p99)} ms  ` +
      `(gateways ${fixed(cpu.perSecond.gateways, 2)}, PostgreSQL ${fixed(cpu.perSecond.postgres, 2)}, other ` +
      `${fixed(cpu.perSecond.other, 2)} CPU s/s; drained in ${fixed(drained, 2)} s)`,
  );
}

async function measureBaselineSlice(context: MeasureContext, topology: Topology, round: number): Promise<void> {
  const { result, cpu } = await withCpu(context.sources, () =>
    runMix({
      title: `baseline round ${round}`,
      targets: topology.bare.map((server) => server.url),
      operations: context.baselineOperations,
      durationSeconds: context.baselineSeconds,
      timeoutSeconds: context.settings.timeoutSeconds,
    }),
  );
  assertClean(`${topology.instances} instance(s), baseline round ${round}`, result);
  topology.baselineSlices.push(result);
  topology.baselineCpu.push(cpu);
  const whole = wholeResult('baseline', [result], context.totalConnections);
  console.log(
    `  round ${round}, ${topology.instances} instance(s), baseline: ${fixed(whole.perSecond, 0).padStart(6)} ` +
      `answers/s  p50 ${ms(whole.latencyMs.p50)} ms  p99 ${ms(whole.latencyMs.p99)} ms  ` +
      `(bare hono ${fixed(cpu.perSecond.bare, 2)}, load generator ${fixed(cpu.perSecond.loadgen, 2)}, other ` +
      `${fixed(cpu.perSecond.other, 2)} CPU s/s)`,
  );
}

interface InstanceFigures extends ProcessMetricsSummary {
  instance: string;
  cpuPerSecond: number;
  idleRssMiB: number;
}

/**
 * Issue 15's targets for one instance: the whole mix at 3x the answers/s main gave before the
 * issue (116-177/s on this machine kind at d1c0bb7; the better figure is the reference), the
 * event loop's p99 delay under 20 ms, and RSS at most 300 MiB under the mix.
 */
const TARGETS = { referenceAnswersPerSecond: 177, throughputFactor: 3, loopP99Ms: 20, rssMiB: 300 } as const;

interface Verdict {
  name: string;
  value: number;
  target: string;
  pass: boolean;
}

function verdictsOf(result: Omit<TopologyResult, 'verdicts'>): Verdict[] {
  if (result.instances !== 1) return [];
  const answers = TARGETS.referenceAnswersPerSecond * TARGETS.throughputFactor;
  const loopP99 = Math.max(...result.processes.map((entry) => entry.loopDelayMs.p99));
  const rssMax = Math.max(...result.processes.map((entry) => entry.rssMiB.max));
  return [
    {
      name: 'whole mix answers/s',
      value: result.whole.perSecond,
      target: `>= ${answers} (${TARGETS.throughputFactor} x ${TARGETS.referenceAnswersPerSecond})`,
      pass: result.whole.perSecond >= answers,
    },
    {
      name: 'event-loop delay p99 ms',
      value: loopP99,
      target: `< ${TARGETS.loopP99Ms}`,
      pass: loopP99 < TARGETS.loopP99Ms,
    },
    { name: 'RSS max MiB', value: rssMax, target: `<= ${TARGETS.rssMiB}`, pass: rssMax <= TARGETS.rssMiB },
  ];
}

interface TopologyResult {
  instances: number;
  /** Issue 15's targets (one instance only). */
  verdicts: Verdict[];
  connectionsPerInstance: number[];
  steps: StepResult[];
  whole: StepResult;
  baseline: StepResult;
  ratio: { throughput: number; p50: number; p99: number; serverCpuPerAnswer: number };
  processes: InstanceFigures[];
  cpu: { mix: CpuFigures; baseline: CpuFigures };
  cpuMsPerAnswer: ReturnType<typeof cpuPerAnswer>;
  bareCpuMsPerAnswer: number;
  maxDrainSeconds: number;
}

function summariseTopology(
  context: MeasureContext,
  topology: Topology,
  idle: Map<number, ProcessSample>,
): TopologyResult {
  const whole = wholeResult('whole mix', topology.mixSlices, context.totalConnections);
  const baseline = {
    ...wholeResult('bare hono baseline', topology.baselineSlices, context.totalConnections),
    step: 'GET /json',
  };
  const cpu = { mix: mergeCpu(topology.mixCpu), baseline: mergeCpu(topology.baselineCpu) };
  const perAnswer = cpuPerAnswer(cpu.mix, whole.perSecond);
  const bareCpuMsPerAnswer = (cpu.baseline.perSecond.bare / baseline.perSecond) * 1000;
  const result: Omit<TopologyResult, 'verdicts'> = {
    instances: topology.instances,
    connectionsPerInstance: topology.connectionsPerInstance,
    steps: stepResults(topology.mixSlices, context.operations),
    whole,
    baseline,
    ratio: {
      throughput: whole.perSecond / baseline.perSecond,
      p50: whole.latencyMs.p50 / baseline.latencyMs.p50,
      p99: whole.latencyMs.p99 / baseline.latencyMs.p99,
      serverCpuPerAnswer: (perAnswer.gateways + perAnswer.postgres + perAnswer.simulators) / bareCpuMsPerAnswer,
    },
    processes: topology.gateways.map((gateway) => ({
      instance: `gateway ${gateway.index + 1}`,
      cpuPerSecond: (topology.instanceCpuSeconds.get(gateway.index) ?? Number.NaN) / cpu.mix.seconds,
      idleRssMiB: (idle.get(gateway.index)?.rssBytes ?? Number.NaN) / 1024 / 1024,
      ...summariseProcessSamples(
        topology.samples.get(gateway.index) ?? [],
        topology.failedScrapes.get(gateway.index) ?? 0,
      ),
    })),
    cpu,
    cpuMsPerAnswer: perAnswer,
    bareCpuMsPerAnswer,
    maxDrainSeconds: topology.maxDrainSeconds,
  };
  return { ...result, verdicts: verdictsOf(result) };
}

/** CPU ms per answer of each source, and the answers/s all cores would allow at that cost. */
function cpuPerAnswer(
  figures: CpuFigures,
  answersPerSecond: number,
): { gateways: number; postgres: number; simulators: number; loadgen: number; ceiling: number } {
  const per = (value: number): number => (value / answersPerSecond) * 1000;
  const result = {
    gateways: per(figures.perSecond.gateways),
    postgres: per(figures.perSecond.postgres),
    simulators: per(figures.perSecond.simulators),
    loadgen: per(figures.perSecond.loadgen),
  };
  return {
    ...result,
    ceiling: (cpus().length * 1000) / (result.gateways + result.postgres + result.simulators + result.loadgen),
  };
}

// ---------------------------------------------------------------------------------------------
// Report.

const ms = (value: number): string => fixed(value, value < 10 ? 2 : value < 100 ? 1 : 0);

function printResults(settings: Settings, result: TopologyResult): void {
  const { steps, whole, baseline, cpu } = result;
  console.log(
    `\nResults with ${result.instances} gateway instance(s): ${whole.connections} connections dealt round-robin over ` +
      `them (${result.connectionsPerInstance.join(', ')}); ` +
      `${settings.durationSeconds} s of the mix and ${settings.baselineSeconds} s of the baseline, in ` +
      `${settings.rounds} interleaved round(s); every answer checked.\n`,
  );
  const row = (entry: StepResult): string[] => [
    entry.operation,
    entry.step,
    String(entry.connections),
    String(entry.answers),
    fixed(entry.perSecond, 1),
    ms(entry.latencyMs.p50),
    ms(entry.latencyMs.p90),
    ms(entry.latencyMs.p99),
    ms(entry.latencyMs.max),
  ];
  console.log(
    textTable(
      [
        ['operation', 'step', 'conns', 'answers', 'per s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
        ...steps.map(row),
        row(whole),
        row(baseline),
      ],
      2,
    ),
  );
  console.log(
    `\n  whole / baseline: throughput ${fixed(result.ratio.throughput, 4)}, p50 ${fixed(result.ratio.p50, 0)}x, p99 ` +
      `${fixed(result.ratio.p99, 0)}x` +
      `  (baseline: ${result.instances} bare Hono process(es) answering GET /json with a ~60-byte JSON — no auth, no ` +
      `database — on the same ${baseline.connections} connections from the same load generator)`,
  );
  const mixCpuPerAnswer =
    result.cpuMsPerAnswer.gateways + result.cpuMsPerAnswer.postgres + result.cpuMsPerAnswer.simulators;
  console.log(
    `  server CPU per answer: mix ${fixed(mixCpuPerAnswer, 2)} ms (gateways + PostgreSQL + simulators), baseline ` +
      `${fixed(result.bareCpuMsPerAnswer, 3)} ms (bare hono): ` +
      `${fixed(result.ratio.serverCpuPerAnswer, 0)}x — the steadier comparison on a shared machine`,
  );

  console.log(
    '\n  Gateway processes during the mix (from /metrics every second; event-loop delay beyond the 10 ms sampling interval):\n',
  );
  console.log(
    textTable(
      [
        [
          'instance',
          'CPU s/s',
          'idle RSS MiB',
          'RSS p50',
          'RSS max',
          'heap p50',
          'heap max',
          'loop p50 ms',
          'loop p99 ms',
          'worst 1-s p99',
          'loop max ms',
          'scrapes (failed)',
        ],
        ...result.processes.map((entry) => [
          entry.instance,
          fixed(entry.cpuPerSecond, 2),
          fixed(entry.idleRssMiB, 0),
          fixed(entry.rssMiB.p50, 0),
          fixed(entry.rssMiB.max, 0),
          fixed(entry.heapUsedMiB.p50, 0),
          fixed(entry.heapUsedMiB.max, 0),
          ms(entry.loopDelayMs.p50),
          ms(entry.loopDelayMs.p99),
          ms(entry.loopDelayMs.worstP99),
          ms(entry.loopDelayMs.max),
          `${entry.samples} (${entry.failedScrapes})`,
        ]),
      ],
      1,
    ),
  );

  console.log(
    `\n  CPU seconds per second (this machine has ${cpus().length} cores; "other" is everything outside this ` +
      "benchmark — other people's work):\n",
  );
  const cpuRow = (label: string, figures: CpuFigures): string[] => [
    label,
    fixed(figures.perSecond.gateways, 2),
    fixed(figures.perSecond.postgres, 2),
    fixed(figures.perSecond.simulators, 2),
    fixed(figures.perSecond.bare, 2),
    fixed(figures.perSecond.loadgen, 2),
    fixed(figures.perSecond.other, 2),
    fixed(figures.perSecond.machine, 2),
  ];
  console.log(
    textTable(
      [
        ['during', 'gateways', 'PostgreSQL', 'simulators', 'bare hono', 'load generator', 'other', 'machine busy'],
        cpuRow('mix', cpu.mix),
        cpuRow('baseline', cpu.baseline),
      ],
      1,
    ),
  );
  const perAnswer = result.cpuMsPerAnswer;
  console.log(
    `\n  CPU per answer of the mix: gateways ${fixed(perAnswer.gateways, 2)} ms, PostgreSQL ` +
      `${fixed(perAnswer.postgres, 2)} ms, simulators ${fixed(perAnswer.simulators, 2)} ms, ` +
      `load generator ${fixed(perAnswer.loadgen, 2)} ms. With all ${cpus().length} cores for this mix, the CPU would allow about ` +
      `${fixed(perAnswer.ceiling, 0)} answers/s (an estimate: cores / CPU per answer; measured ` +
      `${fixed(whole.perSecond, 0)} with "other" taking ${fixed(cpu.mix.perSecond.other, 2)} CPU s/s).`,
  );
}

/** Several instance counts side by side: the scale-out figures. */
function printComparison(results: TopologyResult[]): void {
  const heads = results.map((result) => `${result.instances} inst.`);
  const stepNames = results[0]?.steps.map((step) => [step.operation, step.step] as const) ?? [];
  const perSecond = (result: TopologyResult, operation: string, step: string): number =>
    result.steps.find((entry) => entry.operation === operation && entry.step === step)?.perSecond ?? Number.NaN;
  const [first] = results;
  const last = results[results.length - 1];
  const ratio = (pick: (result: TopologyResult) => number): string =>
    first && last ? fixed(pick(last) / pick(first), 2) : '-';
  const rows: string[][] = [
    ['per second', '', ...heads, `${last?.instances ?? ''} / ${first?.instances ?? ''}`],
    ...stepNames.map(([operation, step]) => [
      operation,
      step,
      ...results.map((result) => fixed(perSecond(result, operation, step), 1)),
      ratio((result) => perSecond(result, operation, step)),
    ]),
    [
      'whole mix',
      'answers/s',
      ...results.map((result) => fixed(result.whole.perSecond, 1)),
      ratio((result) => result.whole.perSecond),
    ],
    [
      'whole mix',
      'p50 ms',
      ...results.map((result) => ms(result.whole.latencyMs.p50)),
      ratio((result) => result.whole.latencyMs.p50),
    ],
    [
      'whole mix',
      'p99 ms',
      ...results.map((result) => ms(result.whole.latencyMs.p99)),
      ratio((result) => result.whole.latencyMs.p99),
    ],
    [
      'bare hono baseline',
      'answers/s',
      ...results.map((result) => fixed(result.baseline.perSecond, 0)),
      ratio((result) => result.baseline.perSecond),
    ],
    ['whole / baseline', 'throughput', ...results.map((result) => fixed(result.ratio.throughput, 4)), ''],
    [
      'CPU s/s',
      'gateways',
      ...results.map((result) => fixed(result.cpu.mix.perSecond.gateways, 2)),
      ratio((result) => result.cpu.mix.perSecond.gateways),
    ],
    ['CPU s/s', 'PostgreSQL', ...results.map((result) => fixed(result.cpu.mix.perSecond.postgres, 2)), ''],
    ['CPU s/s', 'other processes', ...results.map((result) => fixed(result.cpu.mix.perSecond.other, 2)), ''],
    [
      'CPU ms per answer',
      'gateways + PostgreSQL',
      ...results.map((result) => fixed(result.cpuMsPerAnswer.gateways + result.cpuMsPerAnswer.postgres, 2)),
      '',
    ],
    [
      'RSS MiB, max',
      'all instances',
      ...results.map((result) =>
        fixed(
          result.processes.reduce((total, entry) => total + entry.rssMiB.max, 0),
          0,
        ),
      ),
      '',
    ],
  ];
  console.log(
    '\nScale-out: the same mix and connections against each instance count, in interleaved slices of this run:\n',
  );
  console.log(textTable(rows, 2));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const settings = settingsOrComplaint('bench:load', settingsFromEnv);
  if (!settings) return 2;
  const startedAt = new Date();
  const runId = randomBytes(4).toString('hex');
  const run = startRun({
    workDirPrefix: 'ow-bench-load-',
    budgetSeconds: settings.budgetSeconds,
    budgetVariable: 'LOAD_BUDGET_SECONDS',
    keepOnSignal: true,
  });
  const { workDir } = run;

  const totalConnections = Object.values(settings.mix).reduce((total, count) => total + count, 0);
  console.log(
    `onewindow mixed load benchmark: ${settings.instanceCounts.join(' and ')} gateway instance(s) on one PostgreSQL ` +
      `database, ${totalConnections} connections ` +
      `(${OPERATION_KEYS.filter((key) => settings.mix[key] > 0)
        .map((key) => `${key} ${settings.mix[key]}`)
        .join(', ')}); ` +
      `${settings.warmupSeconds} s warm-up, then per instance count ${settings.durationSeconds} s mix + ` +
      `${settings.baselineSeconds} s baseline in ${settings.rounds} round(s); ` +
      `gateway LOG_LEVEL=${settings.gatewayLogLevel}, run from ${settings.gatewayBuild === 'dist' ? 'dist/ (the production build)' : 'source (tsx)'}`,
  );
  const started = performance.now();
  let servers: Servers | undefined;
  try {
    const environment = {
      ...machineFacts(),
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      loadAverageAtStart: loadavg(),
      packages: packageVersions([
        'hono',
        '@hono/node-server',
        'postgres',
        'undici',
        'drizzle-orm',
        'prom-client',
        'autocannon',
      ]),
      rateLimitsSet: unthrottledLimits(),
    };
    const database = await createBenchDatabase(settings.postgresAdminUrl, 'ow_bench_load', addCleanup);
    const sql = postgres(database.url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    addCleanup(() => sql.end({ timeout: 5 }));
    console.log(
      `  node ${environment.node}, ${environment.cpus} CPUs (${environment.cpuModel}), load average ` +
        `${environment.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}; ` +
        `database ${database.name} (dropped at the end); limits set high: ${Object.entries(environment.rateLimitsSet)
          .map(([name, value]) => `${name}=${value}`)
          .join(', ')}`,
    );

    if (settings.gatewayBuild === 'dist') {
      const building = performance.now();
      // As the image is built: the gateway and adapters compiled to dist/ with their run-time files.
      execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
      console.log(`  gateway built to dist/ (${((performance.now() - building) / 1000).toFixed(1)} s)`);
    }
    const metricsToken = randomBytes(24).toString('hex');
    servers = await startServers(settings, workDir, database.url, metricsToken);
    const { gateways, bare, simulators } = servers;
    console.log(
      `  ${gateways.length} gateway(s) ${gateways.map((gateway) => gateway.url).join(', ')}; ${bare.length} bare ` +
        `hono; simulators PSB ${simulators.PSB.url}, AMR ${simulators.AMR.url}, NRB ${simulators.NRB.url} ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    const fixture = await prepare(gateways);
    const topologies = settings.instanceCounts.map((instances) =>
      topologyOf(servers as Servers, instances, totalConnections, metricsToken),
    );
    const context: MeasureContext = {
      settings,
      sql,
      operations: buildMix(settings, fixture, runId),
      baselineOperations: bareMix(totalConnections),
      totalConnections,
      sources: {
        gateways: () => new Map(gateways.flatMap((gateway) => [...treeCpu(gateway.server.pid)])),
        postgres: postgresCpu,
        simulators: () => new Map(Object.values(simulators).flatMap((simulator) => [...treeCpu(simulator.server.pid)])),
        bare: () => new Map(bare.flatMap((server) => [...treeCpu(server.server.pid)])),
      },
      mixSeconds: Math.max(1, Math.round(settings.durationSeconds / settings.rounds)),
      baselineSeconds: Math.max(1, Math.round(settings.baselineSeconds / settings.rounds)),
    };
    console.log(`  setup done (${((performance.now() - started) / 1000).toFixed(1)} s)`);

    const idle = new Map<number, ProcessSample>();
    for (const gateway of gateways) {
      idle.set(
        gateway.index,
        await scrapeProcessSample(
          {
            name: gateway.server.name,
            url: `${gateway.url}/metrics`,
            headers: { authorization: `Bearer ${metricsToken}` },
            prefix: METRICS_PREFIX,
          },
          0,
        ),
      );
    }
    const departmentCallsBefore = await Promise.all(
      Object.values(simulators).map((simulator) => simulatorRequestCounts(simulator)),
    );

    if (settings.warmupSeconds > 0) {
      // On every instance started (the largest count): JIT, pools, prepared statements, PostgreSQL's caches.
      console.log(
        `  warm-up: ${settings.warmupSeconds} s of the mix, ${Math.min(3, settings.warmupSeconds)} s of the baseline`,
      );
      const warmTargets = gateways.map((gateway) => gateway.url);
      assertClean(
        'warm-up (mix)',
        await runMix({
          title: 'warm-up',
          targets: warmTargets,
          operations: context.operations,
          durationSeconds: settings.warmupSeconds,
          timeoutSeconds: settings.timeoutSeconds,
        }),
      );
      assertClean(
        'warm-up (baseline)',
        await runMix({
          title: 'warm-up bare',
          targets: bare.map((server) => server.url),
          operations: context.baselineOperations,
          durationSeconds: Math.min(3, settings.warmupSeconds),
          timeoutSeconds: settings.timeoutSeconds,
        }),
      );
      await drainDeliveries(sql, settings.drainSeconds);
    }
    await analyzeAfterWarmUp(sql);

    // Interleaved, order reversed every round: drift and other people's work fall on every
    // instance count and on the baseline alike.
    for (let round = 1; round <= settings.rounds; round += 1) {
      const forward = round % 2 === 1;
      for (const topology of forward ? topologies : [...topologies].reverse()) {
        if (forward) {
          await measureBaselineSlice(context, topology, round);
          await measureMixSlice(context, topology, round);
        } else {
          await measureMixSlice(context, topology, round);
          await measureBaselineSlice(context, topology, round);
        }
      }
    }

    const results = topologies.map((topology) => summariseTopology(context, topology, idle));
    const deliveries = await deliveryCounts(sql);
    const departmentCallsAfter = await Promise.all(
      Object.values(simulators).map((simulator) => simulatorRequestCounts(simulator)),
    );
    const departmentCalls = Object.fromEntries(
      Object.keys(simulators).map((code, index) => {
        const before = departmentCallsBefore[index] ?? {};
        const after = departmentCallsAfter[index] ?? {};
        return [
          code,
          Object.fromEntries(
            Object.entries(after)
              .filter(([operation]) => operation !== 'control')
              .map(([operation, count]) => [operation, count - (before[operation] ?? 0)]),
          ),
        ];
      }),
    );
    for (const result of results) printResults(settings, result);
    if (results.length > 1) printComparison(results);
    const verdicts = results.flatMap((result) => result.verdicts);
    if (verdicts.length > 0) {
      console.log('\nTargets (issue 15, one instance):\n');
      console.log(
        textTable(
          [
            ['target', 'measured', 'needed', 'verdict'],
            ...verdicts.map((verdict) => [
              verdict.name,
              fixed(verdict.value, 1),
              verdict.target,
              verdict.pass ? 'PASS' : 'MISS',
            ]),
          ],
          2,
        ),
      );
    }
    const maxDrainSeconds = Math.max(...results.map((result) => result.maxDrainSeconds));
    console.log(
      `\nCases: ${deliveries.submittedCases} submitted in the run, ${deliveries.delivered} deliveries delivered, ` +
        `${deliveries.pending} pending, ${deliveries.dead} dead; ` +
        `longest wait after a mix slice until none was pending ${fixed(maxDrainSeconds, 2)} s.`,
    );
    if (deliveries.pending > 0)
      console.log(
        `  note: ${deliveries.pending} deliveries still pending ${settings.drainSeconds} s after the last slice (LOAD_DRAIN_SECONDS)`,
      );
    console.log(
      `Total time ${((performance.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}.`,
    );

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `mixed-load-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt, finishedAt: new Date(), settings, environment, results, deliveries, departmentCalls }, null, 2)}\n`,
    );
    console.log(`Written ${file}`);
    if (settings.cpuProfile) {
      run.keepWorkDir();
      console.log(`CPU profiles kept in ${workDir}/profile-gateway-*`);
    }
    // A MISS is a finding printed above, not a failed run (as in the other benchmarks).
    return 0;
  } catch (error) {
    run.keepWorkDir();
    console.error(`\nbenchmark failed: ${errorText(error)}`);
    if (servers) {
      for (const server of [
        ...servers.gateways.map((gateway) => gateway.server),
        ...Object.values(servers.simulators).map((simulator) => simulator.server),
      ]) {
        console.error(`--- ${server.name} (last lines) ---\n${logTail(server, 8)}`);
      }
    }
    return 1;
  } finally {
    run.clearBudget();
    await cleanup();
  }
}

process.exitCode = await main();
