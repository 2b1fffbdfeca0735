/**
 * `npm run bench:protection`: what sealing personal data at rest costs (issue 21,
 * `DATA_PROTECTION`, gateway/protection). Measured in one run on one machine, as ratios of
 * interleaved slices, so that other work on a shared machine falls on every side alike:
 *
 *   1. micro, in this process: seal + open of an 18-character ID number (as `sealText` /
 *      `openText` store it: `ow1.<key id>.<base64url>`) per second, and seal / open MiB/s on
 *      1 MiB buffers, with aeadSeal/aeadOpen for aes-256-gcm (OpenSSL) and sm4-gcm (OpenSSL's SM4 + GHASH);
 *   2. the cached certificate fetch (`POST /v1/subjects/{id}/certificates`, the stored
 *      household_register) of a gateway with protection off against one with sm4-gcm (and
 *      aes-256-gcm with BENCH_PROTECTION_MODES): each gateway its own PostgreSQL database and
 *      DATA_DIR, the same PSB simulator. Target (issue 21): protected/off throughput >= 0.85.
 *
 * Every sealed value is opened and compared before timing, every HTTP answer is checked, and the
 * protected gateway's rows are read back with SQL to show they really are sealed.
 * See bench/README.md for the knobs and how to read the output.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { base64url } from 'jose';
import postgres from 'postgres';
import {
  KEY_BYTES,
  PROTECTION_ALGORITHMS,
  type ProtectionAlgorithm,
  aeadOpen,
  aeadSeal,
} from '../gateway/platform/aead.js';
import {
  PURPOSE,
  WINDOW_CLIENT,
  callJson,
  grantPopulationRegistry,
  issueToken,
  jsonHeaders,
  resolveSubject,
} from './lib/api.js';
import { fixed, textTable } from './lib/calls.js';
import {
  type ServerProcess,
  freePort,
  logTail,
  postgresCpu,
  spawnServer,
  stopServer,
  treeCpu,
  waitForHttp,
} from './lib/children.js';
import { createBenchDatabase, postgresVersion } from './lib/database.js';
import { gatewayEntry, integerFromEnv, listFromEnv, unthrottledGatewayEnv } from './lib/env.js';
import { machineFacts, packageVersions } from './lib/environment.js';
import { type LoadResult, type Slice, assertSliceClean, runSlice, settle, summarise } from './lib/load.js';
import { addCleanup, cleanup, cleanupStarted, errorText, settingsOrComplaint, startRun } from './lib/run.js';
import {
  type SimulatorProcesses,
  departmentsJson,
  simulatorRequestCounts,
  startSimulatorProcesses,
} from './lib/simulators.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const ISSUER = 'http://onewindow-bench.localhost';
const AUDIENCE = 'onewindow-api';
/** The applicant, known to the PSB simulator's seed. */
const PERSON = { idNumber: '11010519491231002X', name: '张三' };
const CACHED_TYPE = 'household_register';
const POOL_SIZE = 10;
/** Issue 21: with protection on, the cached fetch keeps at least this share of the throughput with it off. */
const TARGET_RATIO = 0.85;
const SEALED_PREFIX = 'ow1.';

type Mode = 'off' | ProtectionAlgorithm;
const MODES: readonly Mode[] = ['off', ...PROTECTION_ALGORITHMS];

interface Settings {
  /** Gateways of part 2: always `off` first, then the protected ones. */
  modes: Mode[];
  micro: boolean;
  /** Seconds per micro figure and algorithm, split into `rounds` interleaved slices. */
  microSeconds: number;
  concurrency: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  maxRequestsPerSlice: number;
  gatewayLogLevel: 'info' | 'warn';
  postgresAdminUrl: string;
  cpuProfile: boolean;
  budgetSeconds: number;
}

function settingsFromEnv(): Settings {
  const postgresAdminUrl = process.env.BENCH_POSTGRES_URL ?? `postgres://postgres@${HOST}:5432/postgres`;
  // The benchmark creates and drops databases there: only ever on this machine.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(postgresAdminUrl).hostname))
    throw new Error('BENCH_POSTGRES_URL must point at a loopback address');
  const protectedModes = listFromEnv<Mode>('BENCH_PROTECTION_MODES', ['sm4-gcm'], MODES).filter(
    (mode) => mode !== 'off',
  );
  const parts = listFromEnv('BENCH_PARTS', ['micro', 'cached'], ['micro', 'cached']);
  return {
    modes: parts.includes('cached') ? ['off', ...protectedModes] : [],
    micro: parts.includes('micro'),
    microSeconds: integerFromEnv('BENCH_MICRO_SECONDS', 2, 1, 60),
    concurrency: integerFromEnv('BENCH_CONCURRENCY', 50, 1, 1000),
    durationSeconds: integerFromEnv('BENCH_DURATION_SECONDS', 8, 1, 600),
    warmupSeconds: integerFromEnv('BENCH_WARMUP_SECONDS', 2, 0, 60),
    rounds: integerFromEnv('BENCH_ROUNDS', 4, 1, 20),
    maxRequestsPerSlice: integerFromEnv('BENCH_MAX_REQUESTS', 200_000, 100, 10_000_000),
    gatewayLogLevel: listFromEnv<'info' | 'warn'>('BENCH_GATEWAY_LOG_LEVEL', ['info'], ['info', 'warn'])[0] ?? 'info',
    postgresAdminUrl,
    cpuProfile: process.env.BENCH_CPU_PROFILE === '1',
    budgetSeconds: integerFromEnv('BENCH_BUDGET_SECONDS', 300, 30, 7200),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Micro: the ciphers in this process.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface MicroFigures {
  algorithm: ProtectionAlgorithm;
  /** seal + open of one ID number (text form, as stored), pairs per second. */
  idPairsPerSecond: number;
  sealMiBPerSecond: number;
  openMiBPerSecond: number;
}

/** Runs `task` until `seconds` pass or `maxCount` calls are made; returns calls and elapsed seconds. */
function timed(seconds: number, maxCount: number, task: () => void): { count: number; seconds: number } {
  const started = performance.now();
  const until = started + seconds * 1000;
  let count = 0;
  while (count < maxCount && performance.now() < until) {
    task();
    count += 1;
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

/** One algorithm's operations, each checked once before it is timed. */
function microOperations(algorithm: ProtectionAlgorithm) {
  const key = randomBytes(KEY_BYTES[algorithm]);
  const keyId = base64url.encode(randomBytes(9));
  // Where a subject's identifier is kept: the associated data `sealText` binds it to.
  const where = encoder.encode('subjects.identifier:sub_0123456789abcdef');
  const sealId = (text: string): string =>
    `${SEALED_PREFIX}${keyId}.${base64url.encode(aeadSeal(algorithm, key, encoder.encode(text), where))}`;
  const openId = (stored: string): string =>
    decoder.decode(aeadOpen(algorithm, key, base64url.decode(stored.slice(stored.indexOf('.', 4) + 1)), where));
  const idPair = (): void => {
    if (openId(sealId(PERSON.idNumber)) !== PERSON.idNumber)
      throw new Error(`${algorithm}: the ID number did not open`);
  };
  const document = randomBytes(2 ** 20);
  const column = encoder.encode('blobs.content');
  const sealedDocument = aeadSeal(algorithm, key, document, column);
  if (!aeadOpen(algorithm, key, sealedDocument, column).equals(document))
    throw new Error(`${algorithm}: the 1 MiB buffer did not open to what was sealed`);
  idPair();
  return {
    idPair,
    sealDocument: (): void => {
      aeadSeal(algorithm, key, document, column);
    },
    openDocument: (): void => {
      aeadOpen(algorithm, key, sealedDocument, column);
    },
  };
}

function runMicro(settings: Settings): MicroFigures[] {
  const algorithms = [...PROTECTION_ALGORITHMS];
  const operations = new Map(algorithms.map((algorithm) => [algorithm, microOperations(algorithm)]));
  type Figure = 'idPair' | 'sealDocument' | 'openDocument';
  const figures: Figure[] = ['idPair', 'sealDocument', 'openDocument'];
  const totals = new Map<string, { count: number; seconds: number }>();
  // Warm-up: JIT of both ciphers' code paths (a few calls each).
  for (const algorithm of algorithms)
    for (const figure of figures) timed(0.2, 200, operations.get(algorithm)?.[figure] ?? (() => {}));
  const sliceSeconds = settings.microSeconds / settings.rounds;
  for (let round = 0; round < settings.rounds; round += 1) {
    // Alternating order: a burst of other work on the machine falls on both alike.
    for (const algorithm of round % 2 === 0 ? algorithms : [...algorithms].reverse()) {
      for (const figure of figures) {
        const task = operations.get(algorithm)?.[figure];
        if (!task) continue;
        const run = timed(sliceSeconds, figure === 'idPair' ? 10_000_000 : 100_000, task);
        const key = `${algorithm} ${figure}`;
        const total = totals.get(key) ?? { count: 0, seconds: 0 };
        totals.set(key, { count: total.count + run.count, seconds: total.seconds + run.seconds });
      }
    }
  }
  const rate = (algorithm: string, figure: Figure): number => {
    const total = totals.get(`${algorithm} ${figure}`);
    return total && total.seconds > 0 ? total.count / total.seconds : Number.NaN;
  };
  return algorithms.map((algorithm) => ({
    algorithm,
    idPairsPerSecond: rate(algorithm, 'idPair'),
    // 1 MiB per call.
    sealMiBPerSecond: rate(algorithm, 'sealDocument'),
    openMiBPerSecond: rate(algorithm, 'openDocument'),
  }));
}

function printMicro(results: MicroFigures[], settings: Settings): void {
  const aes = results.find((result) => result.algorithm === 'aes-256-gcm');
  const sm4 = results.find((result) => result.algorithm === 'sm4-gcm');
  const grouped = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(1));
  console.log(
    `\n1. Ciphers in this process (${settings.microSeconds} s per figure in ${settings.rounds} interleaved slices):\n`,
  );
  const rows = [
    ['', 'ID number seal+open /s', 'seal MiB/s (1 MiB)', 'open MiB/s (1 MiB)'],
    ...results.map((result) => [
      result.algorithm,
      grouped(result.idPairsPerSecond),
      grouped(result.sealMiBPerSecond),
      grouped(result.openMiBPerSecond),
    ]),
  ];
  if (aes && sm4) {
    rows.push([
      'SM4 / AES',
      (sm4.idPairsPerSecond / aes.idPairsPerSecond).toFixed(3),
      (sm4.sealMiBPerSecond / aes.sealMiBPerSecond).toFixed(3),
      (sm4.openMiBPerSecond / aes.openMiBPerSecond).toFixed(3),
    ]);
  }
  console.log(textTable(rows));
  if (aes && sm4)
    console.log(
      `  one ID number sealed and opened: ${(1e6 / aes.idPairsPerSecond).toFixed(1)} µs (AES), ` +
        `${(1e6 / sm4.idPairsPerSecond).toFixed(1)} µs (SM4)`,
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Cached certificate fetch: one gateway per mode.

interface Gateway {
  mode: Mode;
  label: string;
  server: ServerProcess;
  url: string;
  databaseUrl: string;
  token: string;
  subjectId: string;
  /** The certificate as the gateway answered it from the stored copy (compared across gateways). */
  certificate: string;
}

/** Servers that exited while the benchmark still needed them. */
const exitedEarly = new Map<ServerProcess, number | string>();
let stopping = false;

async function startGateway(
  settings: Settings,
  workDir: string,
  mode: Mode,
  simulators: SimulatorProcesses,
): Promise<Omit<Gateway, 'token' | 'subjectId' | 'certificate'>> {
  const database = await createBenchDatabase(settings.postgresAdminUrl, 'ow_bench_prot', addCleanup);
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  // Through a link in the run's folder, so the command line names no `gateway/main.ts` (something
  // on the shared machine signals processes by that name; see bench/certificates.ts).
  const source = gatewayEntry(ROOT);
  const entry = join(workDir, `onewindow-protection-gateway-${mode}${source.endsWith('.js') ? '.js' : '.ts'}`);
  if (!existsSync(entry)) symlinkSync(join(ROOT, source), entry);
  const server = spawnServer({
    name: `gateway (${mode})`,
    root: ROOT,
    entry,
    logFile: join(workDir, `gateway-${mode}.log`),
    // BENCH_CPU_PROFILE=1: a V8 CPU profile per gateway in the run's folder (kept), written when it stops.
    ...(settings.cpuProfile ? { cpuProfileDir: join(workDir, `profile-gateway-${mode}`) } : {}),
    env: {
      PORT: String(port),
      HOST,
      PUBLIC_BASE_URL: ISSUER,
      TOKEN_AUDIENCE: AUDIENCE,
      LOG_LEVEL: settings.gatewayLogLevel,
      ONEWINDOW_DEMO: 'true',
      DEMO_SIMULATORS: 'false',
      // Its own data folder (key files, the KEK when protected): never the repository's `.data`.
      DATA_DIR: join(workDir, `data-${mode}`),
      DATA_PROTECTION: mode,
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      SHUTDOWN_GRACE_MS: '2000',
      ...unthrottledGatewayEnv,
      DEPARTMENTS_JSON: departmentsJson(simulators),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DEPARTMENT_ALLOWED_HOSTS: HOST,
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: String(POOL_SIZE),
    },
  });
  await waitForHttp(server, `${url}/readyz`, 120_000);
  void server.exited.then((status) => {
    if (!stopping && !cleanupStarted()) exitedEarly.set(server, status);
  });
  return { mode, label: `gateway, protection ${mode}`, server, url, databaseUrl: database.url };
}

interface CertificateAnswer {
  certificateType: string;
  status: string;
  source: string | null;
  certificate: Record<string, unknown> | null;
  material?: { content: { sha256: string } } | null;
}

async function fetchCertificate(gateway: { url: string }, token: string, subjectId: string, refresh: boolean) {
  const answer = await callJson<{ results: CertificateAnswer[] }>(
    `${gateway.url}/v1/subjects/${subjectId}/certificates`,
    [200],
    {
      method: 'POST',
      headers: { ...jsonHeaders(token), ...PURPOSE },
      body: JSON.stringify({ types: [CACHED_TYPE], ...(refresh ? { refresh: true } : {}) }),
    },
  );
  const [result] = answer.results;
  const source = refresh ? 'department' : 'stored';
  if (answer.results.length !== 1 || result?.status !== 'ok' || result.source !== source)
    throw new Error(`${CACHED_TYPE}: ${JSON.stringify(answer).slice(0, 400)} (expected status ok, source ${source})`);
  return result;
}

/** Requests the PSB simulator has received, apart from the control path. */
async function psbCalls(simulators: SimulatorProcesses): Promise<number> {
  const counts = await simulatorRequestCounts(simulators.PSB);
  return Object.entries(counts).reduce((total, [operation, count]) => total + (operation === 'control' ? 0 : count), 0);
}

/** Token, grant, subject, one cold fetch that stores the certificate, one cached fetch from it. */
async function prepareGateway(
  started: Omit<Gateway, 'token' | 'subjectId' | 'certificate'>,
  simulators: SimulatorProcesses,
): Promise<Gateway> {
  const token = await issueToken(started.url, WINDOW_CLIENT);
  await grantPopulationRegistry(started.url, token, 'Benchmark: cost of personal data at rest');
  const subjectId = await resolveSubject(started.url, token, 'resident_id', {
    identifier: PERSON.idNumber,
    name: PERSON.name,
  });
  await fetchCertificate(started, token, subjectId, true);
  const before = await psbCalls(simulators);
  const cached = await fetchCertificate(started, token, subjectId, false);
  if ((await psbCalls(simulators)) !== before) throw new Error(`${started.label}: the cached fetch asked the PSB`);
  const certificate = JSON.stringify({ certificate: cached.certificate, sha256: cached.material?.content.sha256 });
  return { ...started, token, subjectId, certificate };
}

interface StoredRow {
  identifier: string;
  name: string;
  certificate_number: string;
  metadata: unknown;
}

/** What the database holds for the subject and its stored certificate: one SQL read. */
async function storedRow(gateway: Gateway): Promise<StoredRow> {
  const sql = postgres(gateway.databaseUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const rows = await sql<StoredRow[]>`
      select s.identifier, s.name, c.certificate_number, c.metadata
      from subjects s join certificates c on c.subject_id = s.id
      where s.id = ${gateway.subjectId} and c.certificate_type = ${CACHED_TYPE}`;
    const [row] = rows;
    if (rows.length !== 1 || !row)
      throw new Error(`${gateway.label}: expected one stored ${CACHED_TYPE}, found ${rows.length}`);
    return row;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The protected gateway's rows must hold no clear value, and the unprotected one's the clear ones. */
async function expectSealing(gateway: Gateway): Promise<string> {
  const row = await storedRow(gateway);
  const metadata = typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as unknown) : row.metadata;
  const metadataText = JSON.stringify(metadata);
  const sealedMetadata =
    typeof metadata === 'object' &&
    metadata !== null &&
    Object.keys(metadata).length === 1 &&
    String((metadata as Record<string, unknown>).$sealed ?? '').startsWith(SEALED_PREFIX);
  if (gateway.mode === 'off') {
    if (row.name !== PERSON.name || row.identifier !== PERSON.idNumber || sealedMetadata)
      throw new Error(
        `${gateway.label}: expected the subject and metadata in clear, found ${JSON.stringify(row).slice(0, 300)}`,
      );
    return 'in clear (name, ID number, metadata)';
  }
  const leaks = [PERSON.name, PERSON.idNumber].filter((value) => JSON.stringify(row).includes(value));
  if (
    !row.name.startsWith(SEALED_PREFIX) ||
    !row.identifier.startsWith(SEALED_PREFIX) ||
    !row.certificate_number.startsWith('bi1.') ||
    !metadataText.startsWith('{"$sealed":"ow1.') ||
    !sealedMetadata ||
    leaks.length > 0
  )
    throw new Error(`${gateway.label}: the stored row is not sealed: ${JSON.stringify(row).slice(0, 300)}`);
  return 'sealed (name and ID number ow1.…, certificate number bi1.…, metadata {"$sealed":"ow1.…"})';
}

interface Measurement extends LoadResult {
  mode: Mode;
  label: string;
  /** Answers per second of each measured slice, in round order (for the spread of the ratio). */
  roundRequestsPerSecond: number[];
}

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

async function measureCached(settings: Settings, gateways: Gateway[], simulators: SimulatorProcesses) {
  const load = async (gateway: Gateway, title: string, seconds: number): Promise<Slice> => {
    const before = await psbCalls(simulators);
    const slice = await runSlice({
      method: 'POST',
      title,
      url: `${gateway.url}/v1/subjects/${gateway.subjectId}/certificates`,
      headers: { ...jsonHeaders(gateway.token), ...PURPOSE },
      body: JSON.stringify({ types: [CACHED_TYPE] }),
      connections: settings.concurrency,
      durationSeconds: seconds,
      maxRequests: settings.maxRequestsPerSlice,
      timeoutSeconds: 20,
      // Every answer: the certificate, from the stored copy.
      verifyBody: (body) => occurrences(body, '"status":"ok"') === 1 && occurrences(body, '"source":"stored"') === 1,
      cpu: { server: () => treeCpu(gateway.server.pid), postgres: postgresCpu },
    });
    const exited = exitedEarly.get(gateway.server);
    if (exited !== undefined)
      throw new Error(
        `${title}: ${gateway.label} exited (${exited}) during the measurement; see ${gateway.server.logFile}`,
      );
    assertSliceClean(title, slice);
    // The audit sealer and PostgreSQL work on after the last answer: not on the next slice's bill.
    await settle([() => treeCpu(gateway.server.pid), postgresCpu]);
    const calls = (await psbCalls(simulators)) - before;
    if (calls !== 0) throw new Error(`${title}: the PSB received ${calls} calls during a cached fetch`);
    return slice;
  };
  const title = (gateway: Gateway) => `${gateway.label} c=${settings.concurrency}`;
  if (settings.warmupSeconds > 0)
    for (const gateway of gateways) await load(gateway, `${title(gateway)} warm-up`, settings.warmupSeconds);
  const slices = new Map<Gateway, Slice[]>(gateways.map((gateway) => [gateway, []]));
  const sliceSeconds = Math.max(1, settings.durationSeconds / settings.rounds);
  for (let round = 0; round < settings.rounds; round += 1) {
    for (const gateway of round % 2 === 0 ? gateways : [...gateways].reverse())
      slices.get(gateway)?.push(await load(gateway, `${title(gateway)} round ${round + 1}`, sliceSeconds));
  }
  return gateways.map((gateway): Measurement => {
    const result = summarise(settings.concurrency, slices.get(gateway) ?? []);
    console.log(
      `  ${title(gateway).padEnd(40)} ${result.requestsPerSecond.toFixed(0).padStart(6)} req/s  ` +
        `p50 ${result.latencyMs.p50.toFixed(2).padStart(7)} ms  p99 ${result.latencyMs.p99.toFixed(2).padStart(7)} ms`,
    );
    const roundRequestsPerSecond = (slices.get(gateway) ?? []).map(
      (slice) => slice.responses2xx / slice.durationSeconds,
    );
    return { ...result, mode: gateway.mode, label: gateway.label, roundRequestsPerSecond };
  });
}

interface Comparison {
  mode: Mode;
  throughputRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  serverCpuRatio: number | undefined;
  postgresCpuRatio: number | undefined;
  /** The throughput ratio of each round's pair of slices: how much it moved within the run. */
  roundRatios: number[];
  pass: boolean;
}

function compare(results: Measurement[]): Comparison[] {
  const off = results.find((result) => result.mode === 'off');
  if (!off) return [];
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  return results
    .filter((result) => result.mode !== 'off')
    .map((result) => {
      const throughputRatio = result.requestsPerSecond / off.requestsPerSecond;
      return {
        mode: result.mode,
        throughputRatio,
        p50Ratio: result.latencyMs.p50 / off.latencyMs.p50,
        p99Ratio: result.latencyMs.p99 / off.latencyMs.p99,
        serverCpuRatio: ratio(result.cpuMsPerRequest.server, off.cpuMsPerRequest.server),
        postgresCpuRatio: ratio(result.cpuMsPerRequest.postgres, off.cpuMsPerRequest.postgres),
        roundRatios: result.roundRequestsPerSecond.map(
          (perSecond, round) => perSecond / (off.roundRequestsPerSecond[round] ?? Number.NaN),
        ),
        pass: throughputRatio >= TARGET_RATIO,
      };
    });
}

function printCached(results: Measurement[], comparisons: Comparison[], settings: Settings): void {
  console.log(
    `\n2. Cached fetch of ${CACHED_TYPE} at c=${settings.concurrency} (${settings.warmupSeconds} s warm-up, then ` +
      `${settings.durationSeconds} s in ${settings.rounds} interleaved slices per gateway; every answer checked):\n`,
  );
  console.log(
    textTable([
      ['gateway', 'answers', 'req/s', 'p50 ms', 'p99 ms', 'gateway CPU ms/ans', 'PG CPU ms/ans', 'other CPU s/s'],
      ...results.map((result) => [
        result.label,
        String(result.responses2xx),
        fixed(result.requestsPerSecond, 0),
        fixed(result.latencyMs.p50, 2),
        fixed(result.latencyMs.p99, 2),
        fixed(result.cpuMsPerRequest.server, 3),
        fixed(result.cpuMsPerRequest.postgres, 3),
        fixed(result.otherCpuPerSecond, 2),
      ]),
    ]),
  );
  console.log('\nProtected / off, and the verdict (issue 21: throughput >= 0.85 of protection off):\n');
  console.log(
    textTable([
      ['protection', 'throughput', 'per round', 'p50', 'p99', 'gateway CPU/ans', 'PG CPU/ans', 'verdict'],
      ...comparisons.map((comparison) => [
        comparison.mode,
        comparison.throughputRatio.toFixed(3),
        comparison.roundRatios.map((ratio) => ratio.toFixed(2)).join(' '),
        comparison.p50Ratio.toFixed(3),
        comparison.p99Ratio.toFixed(3),
        fixed(comparison.serverCpuRatio, 3),
        fixed(comparison.postgresCpuRatio, 3),
        `${comparison.throughputRatio.toFixed(2)} >= ${TARGET_RATIO}: ${comparison.pass ? 'PASS' : 'MISS'}`,
      ]),
    ]),
  );
  console.log(
    `\n"PG CPU" counts every postgres process on the machine; "other CPU s/s" is the rest of the machine's ` +
      `work (${cpus().length} cores, shared): well above 0.1 means the figures are noisier.`,
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const settings = settingsOrComplaint('bench:protection', settingsFromEnv);
  if (!settings) return 2;
  const startedAt = new Date();
  const run = startRun({
    workDirPrefix: 'ow-bench-protection-',
    budgetSeconds: settings.budgetSeconds,
    budgetVariable: 'BENCH_BUDGET_SECONDS',
  });
  const started = performance.now();
  const environment = {
    ...machineFacts(),
    loadAverageAtStart: loadavg(),
    postgresServer:
      settings.modes.length > 0 ? await postgresVersion(settings.postgresAdminUrl).catch(() => 'unknown') : undefined,
    packages: packageVersions(['sm-crypto-v2', 'jose', 'postgres', 'hono', 'autocannon']),
  };
  console.log(
    `onewindow personal-data-at-rest benchmark: node ${environment.node}, ${environment.cpus} CPUs ` +
      `(${environment.cpuModel}), load ${environment.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}` +
      `${environment.postgresServer ? `, PostgreSQL ${environment.postgresServer}` : ''}`,
  );
  const gateways: Gateway[] = [];
  try {
    const micro = settings.micro ? runMicro(settings) : [];
    if (settings.micro) printMicro(micro, settings);

    let cached: Measurement[] = [];
    let comparisons: Comparison[] = [];
    const sealing: Record<string, string> = {};
    if (settings.modes.length > 0) {
      console.log(`\nStarting the simulators and ${settings.modes.length} gateways (${settings.modes.join(', ')}) …`);
      const simulators = await startSimulatorProcesses(ROOT, run.workDir);
      for (const mode of settings.modes)
        gateways.push(await prepareGateway(await startGateway(settings, run.workDir, mode, simulators), simulators));
      // The same certificate from every gateway: what is measured is the same answer.
      const [first, ...others] = gateways;
      for (const gateway of others)
        if (gateway.certificate !== first?.certificate)
          throw new Error(`${gateway.label} answers another certificate than ${first?.label}`);
      for (const gateway of gateways) {
        sealing[gateway.mode] = await expectSealing(gateway);
        console.log(`  ${gateway.label}: stored subject and certificate ${sealing[gateway.mode]}`);
      }
      cached = await measureCached(settings, gateways, simulators);
      comparisons = compare(cached);
      printCached(cached, comparisons, settings);
    }
    console.log(`\nTotal time ${((performance.now() - started) / 1000).toFixed(0)} s.`);

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `protection-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt, finishedAt: new Date(), settings, target: TARGET_RATIO, environment, micro, sealing, cached, comparisons }, null, 2)}\n`,
    );
    console.log(`Written ${file}`);
    if (settings.cpuProfile) {
      run.keepWorkDir();
      console.log(`CPU profiles of the gateways in ${run.workDir}/profile-gateway-<mode>`);
    }
    return 0;
  } catch (error) {
    run.keepWorkDir();
    console.error(`\nbenchmark failed: ${errorText(error)}`);
    for (const gateway of gateways)
      console.error(`--- ${gateway.label} (last lines) ---\n${logTail(gateway.server, 10)}`);
    return 1;
  } finally {
    stopping = true;
    for (const gateway of gateways) await stopServer(gateway.server);
    run.clearBudget();
    await cleanup();
  }
}

process.exitCode = await main();
