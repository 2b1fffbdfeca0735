/**
 * `npm run bench`: the foundation benchmark. Measures, in one run on one machine, the gateway's
 * authenticated one-row read `GET /v1/clients/{clientId}` against a minimal hand-written server
 * doing the same work (ES256 token verification + one primary-key select + the same JSON), on
 * PostgreSQL and on embedded PGlite, and checks the ratios against the targets:
 *
 *   PostgreSQL  gateway/baseline throughput >= 0.80 and gateway/baseline p99 <= 1.5
 *   PGlite      gateway/raw-PGlite throughput >= 0.60
 *
 * Every server is its own child process on a loopback port; autocannon runs in this process.
 * See bench/README.md for what each figure means and the environment knobs.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { JWK } from 'jose';
import {
  type CpuSnapshot,
  type ServerProcess,
  freePort,
  postgresCpu,
  spawnServer,
  stopServer,
  treeCpu,
  waitForHttp,
} from './lib/children.js';
import { type LoadResult, type Slice, runSlice, summarise } from './lib/load.js';
import { type BenchDatabase, createBenchDatabase, postgresVersion } from './lib/database.js';
import { integerFromEnv, unthrottledGatewayEnv } from './lib/env.js';
import { addCleanup, cleanup, errorText, startRun } from './lib/run.js';
import { machineFacts, packageVersions } from './lib/environment.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const ADMIN_CLIENT = { id: 'cli_demo_admin', secret: 'demo-admin-secret' };
const AUDIENCE = 'onewindow-api';
/**
 * The `iss` of every gateway instance (PUBLIC_BASE_URL). Not any instance's own address: several
 * instances run at once, and a token must verify at each of them and at the baseline.
 */
const ISSUER = 'http://onewindow-bench.localhost';
/** Same pool size for the gateway and the PostgreSQL baseline (the gateway's default). */
const POOL_SIZE = 10;
/** The concurrency at which the targets are judged. */
const TARGET_CONCURRENCY = 50;
const TARGETS = { postgresThroughput: 0.8, postgresP99: 1.5, pgliteThroughput: 0.6 } as const;

type DatabaseKind = 'postgres' | 'pglite';
type LogLevel = 'info' | 'warn';
/**
 * `verify`: the baseline checks the token's signature on every request (a token verified per
 * request, as the benchmark was first specified). `cached`: it also keeps verified tokens until
 * their `exp`, as the gateway's TokenService does, so the comparison is like for like.
 */
type BaselineKind = 'verify' | 'cached';

interface Settings {
  durationSeconds: number;
  warmupSeconds: number;
  /** Each measured run is split into this many slices, interleaved with the other targets'. */
  rounds: number;
  concurrencies: number[];
  logLevels: LogLevel[];
  baselines: BaselineKind[];
  databases: DatabaseKind[];
  postgresAdminUrl: string;
  /** Start the gateway with `node --cpu-prof` and keep the profiles (for finding hot spots). */
  cpuProfile: boolean;
}

function listFromEnv<T extends string>(name: string, fallback: T[], allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const items = raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  const bad = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (bad.length > 0 || items.length === 0) throw new Error(`${name} must be a comma-separated list of: ${allowed.join(', ')}`);
  return items as T[];
}

function settingsFromEnv(): Settings {
  const concurrencies = (process.env.BENCH_CONCURRENCY ?? `${TARGET_CONCURRENCY},1`)
    .split(',')
    .map((item) => Number(item.trim()));
  if (concurrencies.some((value) => !Number.isInteger(value) || value < 1 || value > 1000)) {
    throw new Error('BENCH_CONCURRENCY must be a comma-separated list of integers from 1 to 1000');
  }
  const postgresAdminUrl = process.env.BENCH_POSTGRES_URL ?? `postgres://postgres@${HOST}:5432/postgres`;
  // The benchmark creates and drops a database there: only ever on this machine.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(postgresAdminUrl).hostname)) {
    throw new Error('BENCH_POSTGRES_URL must point at a loopback address');
  }
  return {
    durationSeconds: integerFromEnv('BENCH_DURATION_SECONDS', 10, 1, 600),
    warmupSeconds: integerFromEnv('BENCH_WARMUP_SECONDS', 3, 0, 60),
    rounds: integerFromEnv('BENCH_ROUNDS', 2, 1, 20),
    concurrencies,
    logLevels: listFromEnv<LogLevel>('BENCH_GATEWAY_LOG_LEVELS', ['info', 'warn'], ['info', 'warn']),
    baselines: listFromEnv<BaselineKind>('BENCH_BASELINES', ['verify', 'cached'], ['verify', 'cached']),
    databases: listFromEnv<DatabaseKind>('BENCH_DATABASES', ['postgres', 'pglite'], ['postgres', 'pglite']),
    postgresAdminUrl,
    cpuProfile: process.env.BENCH_CPU_PROFILE === '1',
  };
}

interface Measurement extends LoadResult {
  database: DatabaseKind;
  target: 'gateway' | 'baseline';
  /** The gateway's LOG_LEVEL; absent for baselines. */
  logLevel?: LogLevel;
  /** Which baseline; absent for gateways. */
  baseline?: BaselineKind;
  label: string;
}

interface Comparison {
  database: DatabaseKind;
  logLevel: LogLevel;
  baseline: BaselineKind;
  connections: number;
  throughputRatio: number;
  p99Ratio: number;
  /** Gateway CPU per request / baseline CPU per request: the figure least disturbed by other load. */
  serverCpuRatio: number | undefined;
  /** Only at TARGET_CONCURRENCY; the other concurrencies are for information. */
  verdicts: { name: string; value: number; target: string; pass: boolean }[];
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers (setup only; the load itself is autocannon's).

async function fetchJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

async function issueToken(gatewayUrl: string): Promise<string> {
  const basic = Buffer.from(`${ADMIN_CLIENT.id}:${ADMIN_CLIENT.secret}`).toString('base64');
  const issued = await fetchJson<{ access_token: string; scope: string }>(`${gatewayUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (!issued.scope.split(' ').includes('clients:admin')) throw new Error(`token lacks clients:admin (scope: ${issued.scope})`);
  return issued.access_token;
}

// ---------------------------------------------------------------------------------------------
// Servers.

interface Target {
  target: 'gateway' | 'baseline';
  logLevel?: LogLevel;
  baseline?: BaselineKind;
  label: string;
  server: ServerProcess;
  /** Base URL of the server. */
  url: string;
}

async function startGateway(
  settings: Settings,
  workDir: string,
  database: DatabaseKind,
  logLevel: LogLevel,
  shared: { keyFile: string; databaseEnv: Record<string, string> },
): Promise<Target> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const profileDir = join(workDir, `profile-gateway-${database}-${logLevel}`);
  const server = spawnServer({
    name: `gateway (${database}, LOG_LEVEL=${logLevel})`,
    root: ROOT,
    entry: 'gateway/main.ts',
    logFile: join(workDir, `gateway-${database}-${logLevel}.log`),
    ...(settings.cpuProfile ? { cpuProfileDir: profileDir } : {}),
    env: {
      PORT: String(port),
      HOST,
      // One issuer and one signing key for every gateway instance, so a token is valid at each of
      // them and at the baseline, which is given that key's public JWK and checks `iss`.
      PUBLIC_BASE_URL: ISSUER,
      SIGNING_KEY_FILES: shared.keyFile,
      // Its own data folder (checkpoint key, audit witness): never the repository's `.data`.
      DATA_DIR: join(workDir, `data-${database}-${logLevel}`),
      TOKEN_AUDIENCE: AUDIENCE,
      LOG_LEVEL: logLevel,
      ONEWINDOW_DEMO: 'true',
      // Long enough to outlive any slice; a fresh token is fetched before each slice anyway.
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      SHUTDOWN_GRACE_MS: '2000',
      ...unthrottledGatewayEnv,
      ...shared.databaseEnv,
    },
  });
  await waitForHttp(server, `${url}/readyz`, 120_000);
  return { target: 'gateway', logLevel, label: `${database} gateway LOG_LEVEL=${logLevel}`, server, url };
}

async function startBaseline(workDir: string, database: DatabaseKind, kind: BaselineKind, env: Record<string, string>): Promise<Target> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const server = spawnServer({
    name: `baseline (${database}, ${kind})`,
    root: ROOT,
    entry: database === 'postgres' ? 'bench/baseline/postgres-server.ts' : 'bench/baseline/pglite-server.ts',
    logFile: join(workDir, `baseline-${database}-${kind}.log`),
    env: { BASELINE_PORT: String(port), BASELINE_HOST: HOST, BASELINE_TOKEN_CACHE: String(kind === 'cached'), ...env },
  });
  await waitForHttp(server, `${url}/healthz`, 120_000);
  const label = `${database} baseline ${kind === 'cached' ? '+ token cache' : 'verify each request'}`;
  return { target: 'baseline', baseline: kind, label, server, url };
}

function createPostgresDatabase(adminUrl: string): Promise<BenchDatabase> {
  return createBenchDatabase(adminUrl, 'ow_bench', addCleanup);
}

/** A P-256 PKCS#8 key file shared by the gateway instances of a run (see startGateway). */
function writeSigningKey(workDir: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = join(workDir, 'signing-key.pem');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return file;
}

// ---------------------------------------------------------------------------------------------
// Measuring.

function assertClean(title: string, result: Pick<LoadResult, 'non2xx' | 'errors' | 'timeouts' | 'statusCodes'>): void {
  if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0) return;
  throw new Error(
    `${title}: ${result.non2xx} non-2xx responses (status codes ${JSON.stringify(result.statusCodes)}), ` +
      `${result.errors} errors, ${result.timeouts} timeouts. The endpoint must answer 200 for the figures to mean anything.`,
  );
}

const CLIENT_PATH = `/v1/clients/${ADMIN_CLIENT.id}`;

async function benchDatabase(settings: Settings, workDir: string, keyFile: string, database: DatabaseKind): Promise<Measurement[]> {
  console.log(`\n${database === 'postgres' ? 'PostgreSQL' : 'PGlite'}:`);

  // Every gateway instance of PostgreSQL shares one database; on PGlite each has its own folder
  // (an embedded database belongs to one process), seeded with the same demo clients.
  let postgresEnv: Record<string, string> | undefined;
  if (database === 'postgres') {
    const created = await createPostgresDatabase(settings.postgresAdminUrl);
    console.log(`  database ${created.name} created`);
    postgresEnv = { DATABASE_URL: created.url, DATABASE_POOL_SIZE: String(POOL_SIZE) };
  }
  const gateways: Target[] = [];
  for (const level of settings.logLevels) {
    // One after the other: the first one migrates and seeds, the others find it done.
    const databaseEnv = postgresEnv ?? { PGLITE_DATA_DIR: join(workDir, `gateway-pglite-${level}`) };
    gateways.push(await startGateway(settings, workDir, database, level, { keyFile, databaseEnv }));
  }
  const [first] = gateways;
  if (!first) return [];

  // The baseline verifies the very tokens the gateway issues, with the gateway's published key.
  const jwks = await fetchJson<{ keys: JWK[] }>(`${first.url}/.well-known/jwks.json`);
  const [publicJwk] = jwks.keys;
  if (!publicJwk || jwks.keys.length !== 1 || publicJwk.alg !== 'ES256') {
    throw new Error(`expected exactly one ES256 key in the gateway's JWKS, got ${JSON.stringify(jwks.keys)}`);
  }
  const read = async (target: Target) =>
    fetchJson<Record<string, unknown>>(`${target.url}${CLIENT_PATH}`, {
      headers: { authorization: `Bearer ${await issueToken(first.url)}` },
    });
  const reference = await read(first);
  const baselines: Target[] = [];
  for (const kind of settings.baselines) {
    baselines.push(
      await startBaseline(workDir, database, kind, {
        TOKEN_ISSUER: ISSUER,
        TOKEN_AUDIENCE: AUDIENCE,
        PUBLIC_JWK: JSON.stringify(publicJwk),
        ...(postgresEnv ?? { PGLITE_DATA_DIR: join(workDir, `baseline-pglite-${kind}`), CLIENT_JSON: JSON.stringify(reference) }),
      }),
    );
  }
  const targets = [...baselines, ...gateways];

  // Same document from every target (each PGlite gateway seeded its own row, so its createdAt differs).
  for (const target of targets) {
    const answer = await read(target);
    const comparable = database === 'pglite' && target !== first && target.target === 'gateway' ? { ...answer, createdAt: reference.createdAt } : answer;
    if (!isDeepStrictEqual(comparable, reference)) {
      throw new Error(`${target.label} answers differently:\n  ${JSON.stringify(reference)}\n  ${JSON.stringify(answer)}`);
    }
  }

  const results: Measurement[] = [];
  const sliceSeconds = settings.durationSeconds / settings.rounds;
  for (const connections of settings.concurrencies) {
    const load = async (target: Target, title: string, durationSeconds: number, withCpu: boolean) => {
      // Fresh token per slice: no slice can outlive its token, whatever the durations.
      const headers = { authorization: `Bearer ${await issueToken(first.url)}` };
      const cpu: Record<string, () => CpuSnapshot> = { server: () => treeCpu(target.server.pid) };
      if (database === 'postgres') cpu.postgres = postgresCpu;
      const slice = await runSlice({ title, url: `${target.url}${CLIENT_PATH}`, headers, connections, durationSeconds, ...(withCpu ? { cpu } : {}) });
      assertClean(title, slice);
      return slice;
    };
    // JIT, connection pools, prepared statements and PostgreSQL's caches warm up here.
    if (settings.warmupSeconds > 0) {
      for (const target of targets) await load(target, `${target.label} c=${connections} warm-up`, settings.warmupSeconds, false);
    }
    // Interleaved rounds, in alternating order, so that drift and bursts of other work on the
    // machine fall on every target alike rather than on whichever happened to run then.
    const slices = new Map<Target, Slice[]>(targets.map((target) => [target, []]));
    for (let round = 0; round < settings.rounds; round += 1) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        slices.get(target)?.push(await load(target, `${target.label} c=${connections} round ${round + 1}`, sliceSeconds, true));
      }
    }
    for (const target of targets) {
      const result = summarise(connections, slices.get(target) ?? []);
      console.log(
        `  ${`${target.label} c=${connections}`.padEnd(44)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  ` +
          `p50 ${result.latencyMs.p50.toFixed(2)} ms  p99 ${result.latencyMs.p99.toFixed(2)} ms`,
      );
      results.push({
        ...result,
        database,
        target: target.target,
        label: target.label,
        ...(target.logLevel ? { logLevel: target.logLevel } : {}),
        ...(target.baseline ? { baseline: target.baseline } : {}),
      });
    }
  }
  for (const target of targets) await stopServer(target.server);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report.

function compare(results: Measurement[]): Comparison[] {
  const comparisons: Comparison[] = [];
  for (const baseline of results.filter((result) => result.target === 'baseline')) {
    const gateways = results.filter(
      (result) => result.target === 'gateway' && result.database === baseline.database && result.connections === baseline.connections,
    );
    for (const gateway of gateways) {
      if (!gateway.logLevel || !baseline.baseline) continue;
      const throughputRatio = gateway.requestsPerSecond / baseline.requestsPerSecond;
      const p99Ratio = gateway.latencyMs.p99 / baseline.latencyMs.p99;
      const gatewayCpu = gateway.cpuMsPerRequest.server;
      const baselineCpu = baseline.cpuMsPerRequest.server;
      const serverCpuRatio = gatewayCpu !== undefined && baselineCpu !== undefined ? gatewayCpu / baselineCpu : undefined;
      const verdicts: Comparison['verdicts'] = [];
      if (gateway.connections === TARGET_CONCURRENCY) {
        if (gateway.database === 'postgres') {
          verdicts.push({ name: 'throughput ratio', value: throughputRatio, target: `>= ${TARGETS.postgresThroughput}`, pass: throughputRatio >= TARGETS.postgresThroughput });
          verdicts.push({ name: 'p99 ratio', value: p99Ratio, target: `<= ${TARGETS.postgresP99}`, pass: p99Ratio <= TARGETS.postgresP99 });
        } else {
          verdicts.push({ name: 'throughput ratio', value: throughputRatio, target: `>= ${TARGETS.pgliteThroughput}`, pass: throughputRatio >= TARGETS.pgliteThroughput });
        }
      }
      comparisons.push({
        database: gateway.database,
        logLevel: gateway.logLevel,
        baseline: baseline.baseline,
        connections: gateway.connections,
        throughputRatio,
        p99Ratio,
        serverCpuRatio,
        verdicts,
      });
    }
  }
  return comparisons;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row, index) => {
      const line = row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
      return index === 0 ? `${line}\n${widths.map((width) => '-'.repeat(width)).join('  ')}` : line;
    })
    .join('\n');
}

const fixed = (value: number | undefined, digits: number): string => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));

function printReport(results: Measurement[], comparisons: Comparison[], settings: Settings): void {
  console.log(
    `\nResults (per row: ${settings.warmupSeconds} s warm-up, then ${settings.durationSeconds} s measured in ${settings.rounds} slice(s) ` +
      `interleaved with the other targets; latency from each 2xx response's own timing):\n`,
  );
  console.log(
    table([
      ['target', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'server CPU ms/req', 'PG CPU ms/req', 'loadgen CPU s/s', 'other CPU s/s'],
      ...results.map((result) => [
        result.label,
        String(result.connections),
        fixed(result.requestsPerSecond, 0),
        fixed(result.latencyMs.p50, 2),
        fixed(result.latencyMs.p99, 2),
        String(result.non2xx),
        String(result.errors),
        fixed(result.cpuMsPerRequest.server, 3),
        fixed(result.cpuMsPerRequest.postgres, 3),
        fixed(result.loadGeneratorCpuPerSecond, 2),
        fixed(result.otherCpuPerSecond, 2),
      ]),
    ]),
  );
  console.log(`\nRatios (gateway / baseline; targets judged at concurrency ${TARGET_CONCURRENCY}):\n`);
  console.log(
    table([
      ['database', 'baseline', 'gateway LOG_LEVEL', 'conc', 'throughput ratio', 'p99 ratio', 'CPU/req ratio', 'verdict'],
      ...comparisons.map((comparison) => [
        comparison.database,
        comparison.baseline === 'cached' ? '+ token cache' : 'verify each request',
        comparison.logLevel,
        String(comparison.connections),
        comparison.throughputRatio.toFixed(3),
        comparison.p99Ratio.toFixed(3),
        fixed(comparison.serverCpuRatio, 3),
        comparison.verdicts.length === 0
          ? '(no target)'
          : comparison.verdicts.map((verdict) => `${verdict.name} ${verdict.value.toFixed(2)} ${verdict.target}: ${verdict.pass ? 'PASS' : 'MISS'}`).join('; '),
      ]),
    ]),
  );
  const notes = [
    'Headline verdict: gateway LOG_LEVEL=info against the baseline "+ token cache".',
    "- LOG_LEVEL=info is the gateway default: the access-log line every request writes (to a file here) is part",
    '  of its request path. LOG_LEVEL=warn is the same gateway without it (baselines log nothing): its cost.',
    '- The gateway keeps verified tokens until they expire, and every request of a slice here carries the same',
    '  token, so it checks one signature per slice. "+ token cache" does the same and is the like-for-like',
    '  comparison; "verify each request" checks the ES256 signature every time (~0.2 ms of CPU here), so the',
    '  gateway can beat it: that row shows what the cache buys, not what the platform costs.',
    `Gateways use SIGNING_KEY_FILES (one key for all instances); pool size ${POOL_SIZE} for gateway and baseline.`,
    `CPU columns: this machine has ${cpus().length} cores shared by autocannon, the servers and PostgreSQL.`,
    '"server CPU ms/req" is the cost per request independent of who saturates first; "loadgen CPU s/s"',
    'near 1 means autocannon itself was the bottleneck (that flatters the slower target); "other CPU s/s"',
    'well above 0.1 means other work ran on the machine meanwhile (the figures are then noisier).',
  ];
  console.log(`\n${notes.join('\n')}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const settings = settingsFromEnv();
  const startedAt = new Date();
  // Everything is bounded: runs, plus generous time for starting servers (PGlite init, tsx).
  const targetsPerDatabase = 1 + settings.logLevels.length;
  const secondsPerTarget = settings.concurrencies.length * (settings.warmupSeconds + settings.durationSeconds + 5 * (settings.rounds + 1));
  const budgetSeconds = settings.databases.length * targetsPerDatabase * (secondsPerTarget + 120) + 120;
  const run = startRun({ workDirPrefix: 'ow-bench-', budgetSeconds });
  const { workDir } = run;

  console.log(
    `onewindow foundation benchmark: ${settings.databases.join(' + ')}, concurrency ${settings.concurrencies.join(', ')}, ` +
      `${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per target in ${settings.rounds} interleaved round(s), ` +
      `gateway LOG_LEVEL ${settings.logLevels.join(', ')}`,
  );
  try {
    const environment = {
      ...machineFacts(),
      loadAverageAtStart: loadavg(),
      postgresServer: settings.databases.includes('postgres') ? await postgresVersion(settings.postgresAdminUrl) : undefined,
      packages: packageVersions(['hono', '@hono/node-server', 'jose', 'postgres', 'drizzle-orm', '@electric-sql/pglite', 'autocannon', 'pino']),
    };
    const results: Measurement[] = [];
    const keyFile = writeSigningKey(workDir);
    for (const database of settings.databases) results.push(...(await benchDatabase(settings, workDir, keyFile, database)));
    const comparisons = compare(results);
    printReport(results, comparisons, settings);

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `foundation-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt, finishedAt: new Date(), settings, targets: { concurrency: TARGET_CONCURRENCY, ...TARGETS }, environment, results, comparisons }, null, 2)}\n`,
    );
    console.log(`\nWritten ${file}`);
    if (settings.cpuProfile) run.keepWorkDir();
    return 0;
  } catch (error) {
    run.keepWorkDir();
    console.error(`\nbenchmark failed: ${errorText(error)}`);
    return 1;
  } finally {
    run.clearBudget();
    await cleanup();
  }
}

process.exitCode = await main();
