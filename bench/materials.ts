/**
 * `npm run bench:materials`: the materials benchmark. Measures, in one run on one machine:
 *
 *   1. upload throughput (MB/s) of documents of 10 KiB, 1 MiB and 10 MiB: a bare `node:http`
 *      server that hashes the body (SHA-256) against the gateway's upload route with the
 *      filesystem blob store and with the PostgreSQL blob store. Target: filesystem driver
 *      >= 0.80 of bare for 1 MiB and 10 MiB. An informational second baseline also writes the
 *      body to a file with fsync ("bare + file write/fsync"), to show what the disk costs alone;
 *   2. download throughput of the same sizes: a bare `node:http` server streaming the same bytes
 *      from a file against the gateway's download route on each driver (no target);
 *   3. the reuse query (`GET …/reusable-materials`) for a subject holding 1,000 materials: p50 and
 *      p99 of sequential requests, against the same SQL run alone. Target: p99 < 20 ms on
 *      PostgreSQL.
 *
 * Upload and download servers (bare and gateways) are child processes on loopback ports, the
 * load generator (undici) runs here. The reuse part runs the gateway in this process
 * (`startGateway`), because it seeds the subject's materials directly through drizzle, which an
 * in-memory PGlite allows only from its own process. See bench/README.md for the knobs.
 *
 * With BENCH_MATERIALS_ROLE=bare this file is instead the bare baseline server (a child).
 */
import { createHash, randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rename,
  rmSync,
  stat,
  unlink,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { and, asc, count as sqlCount, eq, gte, inArray, isNull, lte, or } from 'drizzle-orm';
import pino from 'pino';
import postgres from 'postgres';
import { Pool, request } from 'undici';
import type { Scope } from '../gateway/auth/scopes.js';
import { parseConfig } from '../gateway/config.js';
import { materials } from '../gateway/db/schema.js';
import type { AccessContext } from '../gateway/access/context.js';
import { addDays, chinaToday } from '../gateway/materials/dates.js';
import { findReusableMaterials, newMaterialId, reusePreference } from '../gateway/materials/materials.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { pngImage, residentId } from '../test/fixtures/documents.js';
import {
  type ServerProcess,
  cpuSpent,
  freePort,
  killAllNow,
  postgresCpu,
  spawnServer,
  stopAll,
  stopServer,
  treeCpu,
  waitForHttp,
} from './lib/children.js';
import { type BenchDatabase, createBenchDatabase } from './lib/database.js';
import { integerFromEnv, unthrottledGatewayEnv } from './lib/env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;
const WINDOW_CLIENT = { id: 'cli_demo_window', secret: 'demo-window-secret' };
const PURPOSE_HEADERS = { 'onewindow-purpose': 'case_acceptance' };
/** Issue target: the filesystem driver's upload throughput at least this share of bare, for these sizes. */
const UPLOAD_TARGET = { ratio: 0.8, sizes: [MiB, 10 * MiB] } as const;
/** Issue target: the reuse query's p99 on PostgreSQL, in ms. */
const REUSE_P99_TARGET_MS = 20;
const DEFAULT_SIZES = [10 * KiB, MiB, 10 * MiB];
const DEFAULT_REQUESTS = new Map<number, number>([
  [10 * KiB, 400],
  [MiB, 200],
  [10 * MiB, 30],
]);
/** A cell stops early after this many failed requests (the run then fails anyway). */
const MAX_FAILURES = 20;
/** Timeout of one HTTP request of the benchmark. */
const REQUEST_TIMEOUT_MS = 60_000;
/** The reuse question asked by default: five common types (one of them deliberately all expired). */
const REUSE_TYPES = [
  'resident_id_card',
  'household_register',
  'social_insurance_record',
  'lease_contract',
  'no_criminal_record',
];
const REUSE_EXPIRED_TYPE = 'no_criminal_record';

type Part = 'upload' | 'download' | 'reuse';
type DatabaseKind = 'pglite' | 'postgres';
type BlobDriver = 'filesystem' | 'postgres';

// ---------------------------------------------------------------------------------------------
// The bare baseline server (child role).

/**
 * POST /upload: reads the body as a Node stream, hashes it (SHA-256), answers 201 with the hex
 * digest. GET /files/<name>: streams a file of BARE_FILES_DIR with fs.createReadStream and a
 * Content-Length. Nothing else: this is the least code that does the job.
 *
 * POST /upload-file (informational second baseline, no target): the same, but the body is also
 * written (1 MiB buffer) to a temporary file in BARE_STORE_DIR, fsynced (`flush`) and renamed to its digest —
 * the least code that stores a document durably, to show what writing to disk costs by itself.
 */
function runBareServer(): void {
  const port = Number(process.env.BARE_PORT);
  const host = process.env.BARE_HOST ?? HOST;
  const directory = process.env.BARE_FILES_DIR ?? '';
  const storeDirectory = process.env.BARE_STORE_DIR ?? '';
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/upload-file') {
      const hash = createHash('sha256');
      const temporary = join(storeDirectory, `tmp-${randomUUID()}`);
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      // The filesystem blob store's default buffer size (1 MiB), so writes coalesce the same way.
      pipeline(req, createWriteStream(temporary, { flags: 'wx', flush: true, highWaterMark: 1024 * 1024 }), (error) => {
        if (error) {
          unlink(temporary, () => res.destroy());
          return;
        }
        const digest = hash.digest('hex');
        rename(temporary, join(storeDirectory, digest), (renameError) => {
          if (renameError) {
            res.writeHead(500);
            res.end();
            return;
          }
          res.writeHead(201, { 'content-type': 'text/plain', 'content-length': digest.length });
          res.end(digest);
        });
      });
      return;
    }
    if (req.method === 'POST' && req.url === '/upload') {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => {
        const digest = hash.digest('hex');
        res.writeHead(201, { 'content-type': 'text/plain', 'content-length': digest.length });
        res.end(digest);
      });
      req.on('error', () => res.destroy());
      return;
    }
    const name = req.method === 'GET' && req.url?.startsWith('/files/') ? req.url.slice('/files/'.length) : undefined;
    if (name !== undefined && /^[A-Za-z0-9._-]+$/.test(name) && !name.startsWith('.')) {
      const path = join(directory, name);
      stat(path, (error, stats) => {
        if (error) {
          res.writeHead(404);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': stats.size });
        const stream = createReadStream(path);
        stream.on('error', () => res.destroy());
        stream.pipe(res);
      });
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  server.listen(port, host, () => process.stdout.write(`bare server listening on http://${host}:${port}\n`));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close();
      server.closeAllConnections();
      process.exit(0);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Settings.

interface Settings {
  parts: Part[];
  sizes: number[];
  concurrency: number;
  /** Measured requests per size (index-aligned with `sizes`). */
  uploadRequests: number[];
  downloadRequests: number[];
  rounds: number;
  /** Time cap of the measured requests of one target and size (all rounds together). */
  cellSeconds: number;
  reuseRequests: number;
  reuseMaterials: number;
  /** Databases of the upload/download gateways; the reuse part runs on each as well. */
  databases: DatabaseKind[];
  postgresAdminUrl: string | undefined;
  cpuProfile: boolean;
  budgetSeconds: number;
}

function listFromEnv<T extends string>(name: string, fallback: T[], allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  const bad = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (bad.length > 0 || items.length === 0)
    throw new Error(`${name} must be a comma-separated list of: ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

function parseSize(text: string): number {
  const match = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!match?.[1]) throw new Error(`BENCH_SIZES: cannot read "${text}" (write e.g. 10KiB, 1MiB, 10MiB)`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const bytes = Number(match[1]) * (unit.startsWith('k') ? KiB : unit.startsWith('m') ? MiB : 1);
  if (bytes < KiB || bytes > 64 * MiB) throw new Error('BENCH_SIZES: each size must be from 1 KiB to 64 MiB');
  return bytes;
}

function formatSize(bytes: number): string {
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

/** One integer for every size, or a comma-separated list with one per size. */
function countsFromEnv(name: string, sizes: number[], fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((item) => Number(item.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1 || value > 100_000))
    throw new Error(`${name} must be integers from 1 to 100000`);
  if (values.length === 1) return sizes.map(() => values[0] ?? 1);
  if (values.length !== sizes.length)
    throw new Error(`${name} must be one integer, or one per size in BENCH_SIZES (${sizes.length})`);
  return values;
}

function loopbackUrl(name: string, raw: string): string {
  const url = new URL(raw);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new Error(`${name} must be a postgres:// URL`);
  // The benchmark creates and drops a database there: only ever on this machine.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    throw new Error(`${name} must point at a loopback address`);
  return raw;
}

function settingsFromEnv(): Settings {
  const sizes = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(parseSize) : DEFAULT_SIZES;
  // Default counts: the issue's figures for the standard sizes, about 200 MiB of data otherwise.
  const defaultCounts = sizes.map(
    (size) => DEFAULT_REQUESTS.get(size) ?? Math.min(400, Math.max(10, Math.round((200 * MiB) / size))),
  );
  const uploadRequests = countsFromEnv('BENCH_UPLOAD_REQUESTS', sizes, defaultCounts);
  const rawUrl = process.env.BENCH_DATABASE_URL;
  const postgresAdminUrl = rawUrl ? loopbackUrl('BENCH_DATABASE_URL', rawUrl) : undefined;
  const databases = listFromEnv<DatabaseKind>(
    'BENCH_DATABASES',
    postgresAdminUrl ? ['pglite', 'postgres'] : ['pglite'],
    ['pglite', 'postgres'],
  );
  if (databases.includes('postgres') && !postgresAdminUrl)
    throw new Error('BENCH_DATABASES=postgres needs BENCH_DATABASE_URL');
  return {
    parts: listFromEnv<Part>('BENCH_PARTS', ['upload', 'download', 'reuse'], ['upload', 'download', 'reuse']),
    sizes,
    concurrency: integerFromEnv('BENCH_UPLOAD_CONCURRENCY', 4, 1, 256),
    uploadRequests,
    downloadRequests: countsFromEnv('BENCH_DOWNLOAD_REQUESTS', sizes, uploadRequests),
    rounds: integerFromEnv('BENCH_ROUNDS', 2, 1, 20),
    cellSeconds: integerFromEnv('BENCH_CELL_SECONDS', 30, 1, 600),
    reuseRequests: integerFromEnv('BENCH_REUSE_REQUESTS', 500, 10, 100_000),
    reuseMaterials: integerFromEnv('BENCH_REUSE_MATERIALS', 1000, 50, 100_000),
    databases,
    postgresAdminUrl,
    cpuProfile: process.env.BENCH_CPU_PROFILE === '1',
    budgetSeconds: integerFromEnv('BENCH_BUDGET_SECONDS', 900, 30, 7200),
  };
}

// ---------------------------------------------------------------------------------------------
// Cleanup: whatever happens, children are killed, the database dropped, temp files removed.

const cleanups: (() => Promise<void>)[] = [];
let cleaningUp: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    await stopAll().catch(() => killAllNow());
    for (const task of cleanups.reverse())
      await task().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
  })();
  return cleaningUp;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

interface HttpAnswer {
  status: number;
  text: string;
}

/** Setup requests (not measured). */
async function call(
  url: string,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string | Buffer | Uint8Array } = {},
): Promise<HttpAnswer> {
  const response = await request(url, {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    body: options.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

async function callJson<T>(url: string, expected: number[], options: Parameters<typeof call>[1] = {}): Promise<T> {
  const answer = await call(url, options);
  if (!expected.includes(answer.status))
    throw new Error(`${options.method ?? 'GET'} ${url}: HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
  return JSON.parse(answer.text) as T;
}

async function issueWindowToken(gatewayUrl: string): Promise<string> {
  const basic = Buffer.from(`${WINDOW_CLIENT.id}:${WINDOW_CLIENT.secret}`).toString('base64');
  const issued = await callJson<{ access_token: string; scope: string }>(`${gatewayUrl}/oauth/token`, [200], {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const scopes = issued.scope.split(' ');
  for (const needed of ['subjects:write', 'materials:read', 'materials:write']) {
    if (!scopes.includes(needed)) throw new Error(`the demo window token lacks ${needed} (scope: ${issued.scope})`);
  }
  return issued.access_token;
}

async function resolveSubject(gatewayUrl: string, token: string, serial: number): Promise<string> {
  const subject = await callJson<{ id: string }>(`${gatewayUrl}/v1/subjects/resolve`, [200, 201], {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...PURPOSE_HEADERS },
    body: JSON.stringify({ identifierType: 'resident_id', identifier: residentId(serial, '19800101'), name: '张三' }),
  });
  return subject.id;
}

interface MaterialAnswer {
  id: string;
  typeCode: string;
  content: { sha256: string; size: number; mediaType: string };
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function latencyStats(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);

/** A text table; the first `left` columns are left-aligned, the others right-aligned. */
function table(rows: string[][], left = 2): string {
  const [header] = rows;
  if (!header) return '';
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column < left ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  return lines.map((line) => `  ${line}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Documents: every upload is distinct bytes, or the store would deduplicate it. A buffer per
// concurrent request is filled once; before each request a counter near its start is rewritten.

const PDF_HEADER = Buffer.from('%PDF-1.7\n', 'latin1');
const PDF_TRAILER = Buffer.from('\n%%EOF\n', 'latin1');
const RUN_TAG = randomBytes(4).toString('hex');
let documentSerial = 0;

function documentTemplate(size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  randomFillSync(buffer);
  PDF_HEADER.copy(buffer, 0);
  PDF_TRAILER.copy(buffer, size - PDF_TRAILER.length);
  stampDocument(buffer);
  return buffer;
}

/** Writes a new, run-unique counter line right after the PDF header: 23 bytes, no allocation of the body. */
function stampDocument(buffer: Buffer): void {
  documentSerial += 1;
  buffer.write(`%${RUN_TAG}-${documentSerial.toString(36).padStart(12, '0')}\n`, PDF_HEADER.length, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// Upload/download targets: child processes on loopback ports.

interface TransferTarget {
  key: string;
  label: string;
  /** `bare-file`: the informational baseline that also writes the file (uploads only). */
  kind: 'bare' | 'bare-file' | 'gateway';
  driver: BlobDriver | undefined;
  database: DatabaseKind | undefined;
  server: ServerProcess;
  url: string;
  pool: Pool;
  uploadPath: string;
  headers: Record<string, string>;
  /** Per size: download paths and the expected SHA-256 of each. */
  downloads: Map<number, { path: string; sha256: string }[]>;
}

function newPool(url: string, connections: number): Pool {
  return new Pool(url, {
    connections,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
}

/** The bare server (one child process) as two targets: hash only (the baseline), and hash + durable file. */
async function startBare(workDir: string, bareFiles: string, concurrency: number): Promise<TransferTarget[]> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const storeDirectory = join(workDir, 'bare-store');
  mkdirSync(storeDirectory, { recursive: true });
  const server = spawnServer({
    name: 'bare node:http server',
    root: ROOT,
    entry: 'bench/materials.ts',
    logFile: join(workDir, 'bare.log'),
    env: {
      BENCH_MATERIALS_ROLE: 'bare',
      BARE_PORT: String(port),
      BARE_HOST: HOST,
      BARE_FILES_DIR: bareFiles,
      BARE_STORE_DIR: storeDirectory,
    },
  });
  await waitForHttp(server, `${url}/healthz`, 60_000);
  const common = { driver: undefined, database: undefined, server, url, headers: {}, downloads: new Map() };
  return [
    {
      ...common,
      key: 'bare',
      label: 'bare node:http',
      kind: 'bare',
      pool: newPool(url, concurrency),
      uploadPath: '/upload',
    },
    {
      ...common,
      key: 'bare-file',
      label: 'bare + file write/fsync',
      kind: 'bare-file',
      pool: newPool(url, concurrency),
      uploadPath: '/upload-file',
      downloads: new Map(),
    },
  ];
}

const databaseLabel = (database: DatabaseKind): string => (database === 'pglite' ? 'PGlite' : 'PostgreSQL');
const driverLabel = (driver: BlobDriver): string => (driver === 'filesystem' ? 'fs store' : 'pg store');

async function startGatewayTarget(
  settings: Settings,
  workDir: string,
  database: DatabaseKind,
  driver: BlobDriver,
  databaseEnv: Record<string, string>,
  subjectSerial: number,
): Promise<TransferTarget> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const key = `${driver}-${database}`;
  const maxSize = Math.max(...settings.sizes);
  const server = spawnServer({
    name: `gateway (${driver} blob store, ${database})`,
    root: ROOT,
    entry: 'gateway/main.ts',
    logFile: join(workDir, `gateway-${key}.log`),
    ...(settings.cpuProfile ? { cpuProfileDir: join(workDir, `profile-gateway-${key}`) } : {}),
    env: {
      PORT: String(port),
      HOST,
      LOG_LEVEL: 'warn',
      ONEWINDOW_DEMO: 'true',
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      SHUTDOWN_GRACE_MS: '2000',
      ...unthrottledGatewayEnv,
      UPLOAD_MAX_BYTES: String(Math.max(20 * MiB, maxSize + MiB)),
      BLOB_STORE: driver,
      ...(driver === 'filesystem' ? { BLOB_STORE_DIR: join(workDir, `blobs-${database}`) } : {}),
      // Its own data folder (key files, audit witness): never the repository's `.data`.
      DATA_DIR: join(workDir, `data-${key}`),
      ...databaseEnv,
    },
  });
  await waitForHttp(server, `${url}/readyz`, 120_000);
  const token = await issueWindowToken(url);
  const subjectId = await resolveSubject(url, token, subjectSerial);
  return {
    key,
    label: `gateway ${driverLabel(driver)} (${databaseLabel(database)})`,
    kind: 'gateway',
    driver,
    database,
    server,
    url,
    pool: newPool(url, settings.concurrency),
    uploadPath: `/v1/subjects/${subjectId}/materials?typeCode=lease_contract`,
    headers: { authorization: `Bearer ${token}`, ...PURPOSE_HEADERS },
    downloads: new Map(),
  };
}

function createPostgresDatabase(adminUrl: string): Promise<BenchDatabase> {
  return createBenchDatabase(adminUrl, 'ow_bench_mat', (drop) => cleanups.push(drop));
}

async function postgresVersion(adminUrl: string): Promise<string> {
  const client = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [row] = await client<{ server_version: string }[]>`show server_version`;
    return row?.server_version ?? 'unknown';
  } finally {
    await client.end({ timeout: 5 });
  }
}

// ---------------------------------------------------------------------------------------------
// Load: a fixed number of requests at a fixed concurrency, bounded in time.

/** Busy (non-idle, non-iowait) CPU seconds of the whole machine since boot, from /proc/stat. */
function machineBusySeconds(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

const ownCpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/**
 * Waits (at most `maxMs`) until the machine is quiet: less than 0.15 CPU busy over a 300 ms
 * window. A gateway goes on working after its last response (the audit sealer signs the entries
 * of the slice, the database writes back); without this, that work falls on the next target.
 */
async function settle(maxMs = 8000): Promise<number> {
  const begun = Date.now();
  while (Date.now() - begun < maxMs) {
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = machineBusySeconds();
    if (before === undefined || after === undefined || (after - before) / 0.3 < 0.15) break;
  }
  return Date.now() - begun;
}

interface RunOutcome {
  done: number;
  bytes: number;
  seconds: number;
  latencies: number[];
  failures: string[];
  capped: boolean;
}

async function runConcurrent(
  count: number,
  concurrency: number,
  deadline: number,
  task: (slot: number) => Promise<number>,
): Promise<RunOutcome> {
  let issued = 0;
  let bytes = 0;
  let capped = false;
  const latencies: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  const worker = async (slot: number): Promise<void> => {
    while (issued < count && failures.length < MAX_FAILURES) {
      if (Date.now() >= deadline) {
        capped = true;
        return;
      }
      issued += 1;
      const begun = performance.now();
      try {
        // Not `bytes += await …`: that reads `bytes` before the await and loses the other workers' additions.
        const transferred = await task(slot);
        bytes += transferred;
        latencies.push(performance.now() - begun);
      } catch (error) {
        failures.push(errorText(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, slot) => worker(slot)));
  return { done: latencies.length, bytes, seconds: (performance.now() - started) / 1000, latencies, failures, capped };
}

function assertNoFailures(title: string, outcome: RunOutcome): void {
  if (outcome.failures.length === 0) return;
  const distinct = [...new Set(outcome.failures)].slice(0, 5);
  throw new Error(
    `${title}: ${outcome.failures.length} failed request(s), ${outcome.done} succeeded. First failures:\n    ${distinct.join('\n    ')}`,
  );
}

async function uploadOnce(target: TransferTarget, body: Buffer, verify: boolean): Promise<{ text: string }> {
  const response = await target.pool.request({
    method: 'POST',
    path: target.uploadPath,
    headers: { ...target.headers, 'content-type': 'application/pdf' },
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.body.text();
  if (response.statusCode !== 201)
    throw new Error(
      `${target.label}: upload answered HTTP ${response.statusCode} (expected 201): ${text.slice(0, 300)}`,
    );
  if (verify) {
    const expected = sha256Hex(body);
    const actual = target.kind === 'gateway' ? (JSON.parse(text) as MaterialAnswer).content.sha256 : text;
    if (actual !== expected)
      throw new Error(`${target.label}: upload answered SHA-256 ${actual}, expected ${expected}`);
  }
  return { text };
}

async function downloadOnce(
  target: TransferTarget,
  path: string,
  size: number,
  expectedSha256: string | undefined,
): Promise<number> {
  const response = await target.pool.request({
    method: 'GET',
    path,
    headers: target.headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (response.statusCode !== 200) {
    const text = await response.body.text();
    throw new Error(
      `${target.label}: download answered HTTP ${response.statusCode} (expected 200): ${text.slice(0, 300)}`,
    );
  }
  const hash = expectedSha256 === undefined ? undefined : createHash('sha256');
  let received = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    received += chunk.byteLength;
    hash?.update(chunk);
  }
  if (received !== size) throw new Error(`${target.label}: download delivered ${received} bytes, expected ${size}`);
  if (hash && expectedSha256 !== undefined) {
    const actual = hash.digest('hex');
    if (actual !== expectedSha256)
      throw new Error(`${target.label}: downloaded bytes have SHA-256 ${actual}, expected ${expectedSha256}`);
  }
  return received;
}

interface TransferCell {
  part: 'upload' | 'download';
  size: number;
  target: string;
  label: string;
  driver: BlobDriver | undefined;
  database: DatabaseKind | undefined;
  requests: number;
  bytes: number;
  seconds: number;
  latencies: number[];
  serverCpuSeconds: number;
  postgresCpuSeconds: number | undefined;
  /** CPU seconds of this process (the load generator) and of everything else, during the slices. */
  loadGeneratorCpuSeconds: number;
  otherCpuSeconds: number | undefined;
  cappedByTime: boolean;
}

interface TransferRow extends Omit<TransferCell, 'latencies'> {
  megabytesPerSecond: number;
  ratio: number | undefined;
  /** Uploads: throughput / that of the bare + file write/fsync baseline (informational). */
  ratioToBareFile: number | undefined;
  latencyMs: LatencyStats;
  serverCpuMsPerMegabyte: number;
  postgresCpuMsPerMegabyte: number | undefined;
  cpuRatio: number | undefined;
  loadGeneratorCpuPerSecond: number;
  otherCpuPerSecond: number | undefined;
  verdict: { target: string; pass: boolean } | undefined;
}

const MB = 1e6;

/** Requests of round `round` when `count` are split over `rounds`. */
const roundShare = (count: number, rounds: number, round: number): number =>
  Math.floor(count / rounds) + (round < count % rounds ? 1 : 0);

async function prepareDownloads(
  targets: TransferTarget[],
  size: number,
  concurrency: number,
  bareFiles: string,
): Promise<void> {
  // As many distinct documents as concurrent requests (at least 4), served round-robin.
  const documents = Array.from({ length: Math.max(4, concurrency) }, () => documentTemplate(size));
  const digests = documents.map((document) => sha256Hex(document));
  for (const target of targets) {
    const entries: { path: string; sha256: string }[] = [];
    for (const [index, document] of documents.entries()) {
      const sha256 = digests[index] ?? '';
      if (target.kind === 'bare') {
        const name = `doc-${size}-${index}.pdf`;
        writeFileSync(join(bareFiles, name), document);
        entries.push({ path: `/files/${name}`, sha256 });
      } else {
        const { text } = await uploadOnce(target, document, true);
        const material = JSON.parse(text) as MaterialAnswer;
        entries.push({ path: `${target.uploadPath.split('?')[0] ?? ''}/${material.id}/content`, sha256 });
      }
    }
    target.downloads.set(size, entries);
  }
}

async function measureTransfers(
  part: 'upload' | 'download',
  settings: Settings,
  allTargets: TransferTarget[],
  bareFiles: string,
): Promise<TransferCell[]> {
  // The bare server streams downloads from a file anyway: the bare + file target is for uploads.
  const targets = part === 'upload' ? allTargets : allTargets.filter((target) => target.kind !== 'bare-file');
  const cells: TransferCell[] = [];
  for (const [sizeIndex, size] of settings.sizes.entries()) {
    const count = (part === 'upload' ? settings.uploadRequests : settings.downloadRequests)[sizeIndex] ?? 1;
    const warmup = Math.min(40, Math.max(2 * settings.concurrency, Math.ceil(count / 10)));
    process.stdout.write(`  ${part} ${formatSize(size)}: ${warmup} warm-up + ${count} measured requests per target … `);
    const startedAt = performance.now();

    let slots: Buffer[] = [];
    if (part === 'upload') {
      const template = documentTemplate(size);
      slots = Array.from({ length: settings.concurrency }, () => Buffer.from(template));
    } else {
      await prepareDownloads(targets, size, settings.concurrency, bareFiles);
    }
    const taskFor = (target: TransferTarget, verify: boolean): ((slot: number) => Promise<number>) => {
      if (part === 'upload') {
        return async (slot) => {
          const body = slots[slot];
          if (!body) throw new Error(`no buffer for slot ${slot}`);
          stampDocument(body);
          await uploadOnce(target, body, verify);
          return body.byteLength;
        };
      }
      const documents = target.downloads.get(size) ?? [];
      let next = 0;
      return async () => {
        const document = documents[next % documents.length];
        next += 1;
        if (!document) throw new Error(`no document of ${formatSize(size)} to download from ${target.label}`);
        return downloadOnce(target, document.path, size, verify ? document.sha256 : undefined);
      };
    };

    for (const target of targets) {
      const outcome = await runConcurrent(
        warmup,
        settings.concurrency,
        Date.now() + settings.cellSeconds * 1000,
        taskFor(target, true),
      );
      assertNoFailures(`${target.label}, ${part} ${formatSize(size)}, warm-up`, outcome);
    }

    const bySize = new Map<string, TransferCell>(
      targets.map((target) => [
        target.key,
        {
          part,
          size,
          target: target.key,
          label: target.label,
          driver: target.driver,
          database: target.database,
          requests: 0,
          bytes: 0,
          seconds: 0,
          latencies: [],
          serverCpuSeconds: 0,
          postgresCpuSeconds: target.database === 'postgres' ? 0 : undefined,
          loadGeneratorCpuSeconds: 0,
          otherCpuSeconds: 0,
          cappedByTime: false,
        },
      ]),
    );
    // Rounds interleave the targets (order reversed every round), so drift falls on all alike.
    for (let round = 0; round < settings.rounds; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const share = roundShare(count, settings.rounds, round);
        const cell = bySize.get(target.key);
        if (share === 0 || !cell) continue;
        await settle();
        const cpuBefore = treeCpu(target.server.pid);
        const postgresBefore = cell.postgresCpuSeconds === undefined ? undefined : postgresCpu();
        const ownBefore = ownCpuSeconds();
        const machineBefore = machineBusySeconds();
        const outcome = await runConcurrent(
          share,
          settings.concurrency,
          Date.now() + (settings.cellSeconds * 1000) / settings.rounds,
          taskFor(target, false),
        );
        const machineAfter = machineBusySeconds();
        const ownSpent = ownCpuSeconds() - ownBefore;
        const serverCpu = cpuSpent(cpuBefore, treeCpu(target.server.pid)) ?? 0;
        const postgresSpent = postgresBefore === undefined ? undefined : cpuSpent(postgresBefore, postgresCpu());
        if (cell.otherCpuSeconds !== undefined) {
          cell.otherCpuSeconds =
            machineBefore === undefined || machineAfter === undefined
              ? undefined
              : cell.otherCpuSeconds +
                Math.max(0, machineAfter - machineBefore - ownSpent - serverCpu - (postgresSpent ?? 0));
        }
        cell.loadGeneratorCpuSeconds += ownSpent;
        assertNoFailures(`${target.label}, ${part} ${formatSize(size)}`, outcome);
        cell.requests += outcome.done;
        cell.bytes += outcome.bytes;
        cell.seconds += outcome.seconds;
        cell.latencies.push(...outcome.latencies);
        cell.serverCpuSeconds += serverCpu;
        if (cell.postgresCpuSeconds !== undefined) cell.postgresCpuSeconds += postgresSpent ?? 0;
        cell.cappedByTime ||= outcome.capped;
      }
    }
    cells.push(...bySize.values());
    console.log(`${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  }
  return cells;
}

function transferRows(cells: TransferCell[]): TransferRow[] {
  return cells.map((cell) => {
    const bare = cells.find((other) => other.size === cell.size && other.part === cell.part && other.target === 'bare');
    const bareFile = cells.find(
      (other) => other.size === cell.size && other.part === cell.part && other.target === 'bare-file',
    );
    const megabytes = cell.bytes / MB;
    const megabytesPerSecond = cell.seconds > 0 ? megabytes / cell.seconds : Number.NaN;
    const bareRate = bare && bare.seconds > 0 ? bare.bytes / MB / bare.seconds : undefined;
    const serverCpuMsPerMegabyte = megabytes > 0 ? (cell.serverCpuSeconds * 1000) / megabytes : Number.NaN;
    const bareCpu = bare && bare.bytes > 0 ? (bare.serverCpuSeconds * 1000) / (bare.bytes / MB) : undefined;
    const targeted =
      cell.part === 'upload' &&
      cell.driver === 'filesystem' &&
      (UPLOAD_TARGET.sizes as readonly number[]).includes(cell.size);
    const ratio = cell.target === 'bare' || bareRate === undefined ? undefined : megabytesPerSecond / bareRate;
    const { latencies: _latencies, ...rest } = cell;
    return {
      ...rest,
      megabytesPerSecond,
      ratio,
      ratioToBareFile:
        cell.driver === undefined || !bareFile || bareFile.bytes === 0 || bareFile.seconds === 0
          ? undefined
          : megabytesPerSecond / (bareFile.bytes / MB / bareFile.seconds),
      latencyMs: latencyStats(cell.latencies),
      serverCpuMsPerMegabyte,
      postgresCpuMsPerMegabyte:
        cell.postgresCpuSeconds === undefined || megabytes === 0
          ? undefined
          : (cell.postgresCpuSeconds * 1000) / megabytes,
      cpuRatio:
        cell.target === 'bare' || bareCpu === undefined || bareCpu === 0 ? undefined : serverCpuMsPerMegabyte / bareCpu,
      loadGeneratorCpuPerSecond: cell.seconds > 0 ? cell.loadGeneratorCpuSeconds / cell.seconds : Number.NaN,
      otherCpuPerSecond:
        cell.otherCpuSeconds === undefined || cell.seconds === 0 ? undefined : cell.otherCpuSeconds / cell.seconds,
      verdict:
        targeted && ratio !== undefined
          ? { target: `>= ${UPLOAD_TARGET.ratio.toFixed(2)}`, pass: ratio >= UPLOAD_TARGET.ratio }
          : undefined,
    };
  });
}

function printTransferTable(part: 'upload' | 'download', rows: TransferRow[], settings: Settings): void {
  const title = part === 'upload' ? 'Upload throughput' : 'Download throughput';
  console.log(
    `\n${title} (concurrency ${settings.concurrency}; ${settings.rounds} interleaved round(s); MB = 10^6 bytes; ` +
      'ratio = target / bare of the same size):\n',
  );
  const upload = part === 'upload';
  console.log(
    table([
      [
        'size',
        'target',
        'requests',
        'MB/s',
        'ratio',
        ...(upload ? ['vs bare+file'] : []),
        'p50 ms',
        'p99 ms',
        'server CPU ms/MB',
        'CPU ratio',
        'PG CPU ms/MB',
        'loadgen CPU s/s',
        'other CPU s/s',
        'verdict',
      ],
      ...rows
        .filter((row) => row.part === part)
        .map((row) => [
          formatSize(row.size),
          row.label,
          `${row.requests}${row.cappedByTime ? ' (time cap)' : ''}`,
          fixed(row.megabytesPerSecond, 1),
          row.ratio === undefined ? '1 (baseline)' : fixed(row.ratio, 3),
          ...(upload ? [fixed(row.ratioToBareFile, 3)] : []),
          fixed(row.latencyMs.p50, 2),
          fixed(row.latencyMs.p99, 2),
          fixed(row.serverCpuMsPerMegabyte, 2),
          fixed(row.cpuRatio, 2),
          fixed(row.postgresCpuMsPerMegabyte, 2),
          fixed(row.loadGeneratorCpuPerSecond, 2),
          fixed(row.otherCpuPerSecond, 2),
          row.verdict
            ? `${row.verdict.target}: ${row.verdict.pass ? 'PASS' : 'MISS'}`
            : row.target === 'bare'
              ? ''
              : '(no target)',
        ]),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Reuse: one subject with 1,000 materials, the reuse question asked sequentially.

interface CatalogueType {
  code: string;
  subjectKind: 'person' | 'organisation' | null;
  allowedMediaTypes: string[];
  defaultValidityDays: number | null;
  issuingDepartment: string | null;
}

interface StoredDocument {
  sha256: string;
  size: number;
  mediaType: string;
}

type MaterialInsert = typeof materials.$inferInsert;

/** A small deterministic PRNG (mulberry32), so every run seeds the same shape of data. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Short-lived documents are renewed more often, so a long-standing applicant has more of them. */
function renewalWeight(validityDays: number | null): number {
  if (validityDays === null || validityDays >= 3650) return 1;
  if (validityDays >= 365) return 2;
  if (validityDays >= 180) return 3;
  if (validityDays >= 90) return 4;
  return 6;
}

/**
 * Material rows for one subject over about ten years: per type a chronological series, with ~6 %
 * revoked and ~35 % superseded by the next one; the newest of each type valid today, except for
 * `REUSE_EXPIRED_TYPE` whose newest expired months ago (so the reuse answer has a missing type).
 */
function planMaterialRows(
  types: CatalogueType[],
  total: number,
  subjectId: string,
  today: string,
  documents: { pdf: StoredDocument[]; png: StoredDocument[] },
): MaterialInsert[] {
  const random = prng(0x5eed);
  const weights = types.map((type) => renewalWeight(type.defaultValidityDays));
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
  const counts = weights.map((weight) => Math.max(1, Math.floor((total * weight) / weightSum)));
  for (let index = 0; counts.reduce((sum, value) => sum + value, 0) < total; index = (index + 1) % counts.length)
    counts[index] = (counts[index] ?? 0) + 1;
  for (let index = 0; counts.reduce((sum, value) => sum + value, 0) > total; index = (index + 1) % counts.length) {
    if ((counts[index] ?? 0) > 1) counts[index] = (counts[index] ?? 0) - 1;
  }
  const rows: MaterialInsert[] = [];
  const start = addDays(today, -3650);
  for (const [typeIndex, type] of types.entries()) {
    const n = counts[typeIndex] ?? 0;
    const validity = type.defaultValidityDays;
    const usesPdf = type.allowedMediaTypes.includes('application/pdf');
    const pool = usesPdf ? documents.pdf : documents.png;
    if (pool.length === 0 || n === 0) continue;
    // The newest one starts a few days ago (valid today), or long ago for the expired type.
    const endOffset =
      type.code === REUSE_EXPIRED_TYPE ? (validity ?? 90) + 120 : Math.min(20, Math.floor((validity ?? 60) / 3));
    const span = 3650 - endOffset;
    const offsets = Array.from({ length: n }, (_, index) =>
      index === n - 1 ? span : Math.floor(((index + random() * 0.9) * span) / n),
    ).sort((a, b) => a - b);
    const series: MaterialInsert[] = offsets.map((offset, index) => {
      const validFrom = addDays(start, offset);
      const last = index === n - 1;
      const validUntil =
        validity !== null
          ? addDays(validFrom, validity - 1)
          : !last && random() < 0.2
            ? addDays(validFrom, 5 * 365)
            : null;
      const content = pool[(typeIndex + index) % pool.length] ?? pool[0];
      const issued = random() < 0.4;
      const createdAt = new Date(Date.parse(`${validFrom}T01:00:00Z`) + Math.floor(random() * 8 * 3600_000));
      return {
        id: newMaterialId(),
        subjectId,
        typeCode: type.code,
        contentSha256: content?.sha256 ?? '',
        contentSize: content?.size ?? 0,
        mediaType: content?.mediaType ?? 'application/pdf',
        fileName: `${type.code}-${index + 1}.${usesPdf ? 'pdf' : 'png'}`,
        provenance: issued ? 'issued' : 'handed_in',
        providedByClientId: issued ? 'cli_demo_department' : WINDOW_CLIENT.id,
        operatorId: issued ? null : `clerk-${1 + Math.floor(random() * 40)}`,
        departmentCode: issued ? (type.issuingDepartment ?? 'PSB') : null,
        sourceRef: issued
          ? `${type.issuingDepartment ?? 'PSB'}-${validFrom.slice(0, 4)}-${String(index + 1).padStart(5, '0')}`
          : null,
        caseRef:
          random() < 0.3
            ? `CASE-${validFrom.slice(0, 4)}-${String(Math.floor(random() * 1e6)).padStart(6, '0')}`
            : null,
        validFrom,
        validUntil,
        status: 'valid',
        createdAt,
      } satisfies MaterialInsert;
    });
    for (let index = 0; index < series.length - 1; index += 1) {
      const current = series[index];
      const next = series[index + 1];
      if (!current || !next) continue;
      const draw = random();
      if (draw < 0.06) {
        current.status = 'revoked';
        current.revokedAt = new Date((current.createdAt?.getTime() ?? Date.now()) + 10 * 86_400_000);
        current.revokedReason = 'withdrawn by the issuer';
        current.revokedByClientId = current.providedByClientId;
      } else if (draw < 0.41) {
        current.status = 'superseded';
        current.supersededById = next.id ?? null;
        next.supersedesId = current.id ?? null;
      }
    }
    rows.push(...series);
  }
  return rows;
}

interface ReuseResult {
  database: DatabaseKind;
  materials: number;
  seededDirectly: number;
  uploadedThroughApi: number;
  seedSeconds: number;
  types: string[];
  on: string;
  found: number;
  missing: string[];
  http: LatencyStats;
  service: LatencyStats;
  sql: LatencyStats;
  verdict: { target: string; pass: boolean } | undefined;
}

async function timeSequential(
  count: number,
  deadline: number,
  task: (index: number) => Promise<void>,
): Promise<{ latencies: number[]; capped: boolean }> {
  const latencies: number[] = [];
  for (let index = 0; index < count; index += 1) {
    if (Date.now() >= deadline) return { latencies, capped: true };
    const begun = performance.now();
    await task(index);
    latencies.push(performance.now() - begun);
  }
  return { latencies, capped: false };
}

async function benchReuse(
  settings: Settings,
  database: DatabaseKind,
  databaseUrl: string | undefined,
): Promise<ReuseResult> {
  console.log(`\nReuse query on ${databaseLabel(database)} (gateway in this process, LOG_LEVEL=warn):`);
  const dataDir = mkdtempSync(join(tmpdir(), 'ow-bench-reuse-'));
  const config = parseConfig({
    PORT: '0',
    HOST,
    LOG_LEVEL: 'warn',
    ONEWINDOW_DEMO: 'true',
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    SHUTDOWN_GRACE_MS: '2000',
    BLOB_STORE: 'postgres',
    // Its own data folder (key files, audit witness): never the repository's `.data`.
    DATA_DIR: dataDir,
    ...(database === 'pglite' ? { PGLITE_DATA_DIR: 'memory://' } : { DATABASE_URL: databaseUrl }),
  });
  const logger = createLogger('warn', pino.destination({ dest: 2, sync: false }));
  const gateway: RunningGateway = await startGateway(config, logger);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await gateway.shutdown('benchmark done');
    rmSync(dataDir, { recursive: true, force: true });
  };
  cleanups.push(stop);
  const pool = newPool(gateway.url, 1);
  let sqlClient: postgres.Sql | undefined;
  try {
    const token = await issueWindowToken(gateway.url);
    const auth = { authorization: `Bearer ${token}`, ...PURPOSE_HEADERS };
    const catalogue = await callJson<{ items: CatalogueType[] }>(`${gateway.url}/v1/material-types`, [200], {
      headers: auth,
    });
    const personTypes = catalogue.items.filter((type) => type.subjectKind !== 'organisation');
    const known = new Set(personTypes.map((type) => type.code));
    const wanted = REUSE_TYPES.every((code) => known.has(code))
      ? REUSE_TYPES
      : personTypes.slice(0, 5).map((type) => type.code);
    const subjectId = await resolveSubject(gateway.url, token, database === 'pglite' ? 901 : 902);

    // A handful of distinct small documents through the API (types the question does not ask
    // for); the other rows reference their content by digest, as materials do.
    const seedStarted = performance.now();
    const uploaded: MaterialAnswer[] = [];
    const pdfTypes = personTypes
      .filter((type) => !wanted.includes(type.code) && type.allowedMediaTypes.includes('application/pdf'))
      .slice(0, 6);
    for (const type of pdfTypes) {
      const document = documentTemplate(2 * KiB + uploaded.length * 97);
      uploaded.push(
        await callJson<MaterialAnswer>(
          `${gateway.url}/v1/subjects/${subjectId}/materials?typeCode=${type.code}`,
          [201],
          {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/pdf' },
            body: document,
          },
        ),
      );
    }
    const photoType = personTypes.find(
      (type) =>
        !wanted.includes(type.code) &&
        type.allowedMediaTypes.includes('image/png') &&
        !type.allowedMediaTypes.includes('application/pdf'),
    );
    for (let index = 0; photoType && index < 2; index += 1) {
      uploaded.push(
        await callJson<MaterialAnswer>(
          `${gateway.url}/v1/subjects/${subjectId}/materials?typeCode=${photoType.code}`,
          [201],
          {
            method: 'POST',
            headers: { ...auth, 'content-type': 'image/png' },
            body: pngImage(`${RUN_TAG}-photo-${index}`),
          },
        ),
      );
    }
    const documents = {
      pdf: uploaded.filter((m) => m.content.mediaType === 'application/pdf').map((m) => m.content),
      png: uploaded.filter((m) => m.content.mediaType === 'image/png').map((m) => m.content),
    };
    const today = chinaToday();
    const rows = planMaterialRows(personTypes, settings.reuseMaterials - uploaded.length, subjectId, today, documents);
    const { db } = gateway.services;
    for (let offset = 0; offset < rows.length; offset += 250)
      await db.insert(materials).values(rows.slice(offset, offset + 250));
    const [counted] = await db.select({ n: sqlCount() }).from(materials).where(eq(materials.subjectId, subjectId));
    const held = Number(counted?.n ?? 0);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const byStatus = new Map<string, number>();
    for (const row of rows) byStatus.set(row.status ?? 'valid', (byStatus.get(row.status ?? 'valid') ?? 0) + 1);
    console.log(
      `  subject ${subjectId}: ${held} materials of ` +
        `${new Set([...rows.map((row) => row.typeCode), ...uploaded.map((m) => m.typeCode)]).size} types ` +
        `(${uploaded.length} uploaded through the API, ${rows.length} inserted directly: ` +
        `${[...byStatus].map(([status, n]) => `${n} ${status}`).join(', ')}) in ${seedSeconds.toFixed(1)} s`,
    );

    // The three ways of asking, each checked to give the same answer before it is timed.
    const on = today;
    const path = `/v1/subjects/${subjectId}/reusable-materials?types=${wanted.join(',')}&on=${on}`;
    const askHttp = async (): Promise<{ found: { material: { id: string } }[]; missing: string[] }> => {
      const response = await pool.request({
        method: 'GET',
        path,
        headers: auth,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.body.text();
      if (response.statusCode !== 200)
        throw new Error(`reuse query answered HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as { found: { material: { id: string } }[]; missing: string[] };
    };
    const context = (index: number): AccessContext => {
      const principal: AccessContext['principal'] = {
        clientId: WINDOW_CLIENT.id,
        kind: 'window',
        scopes: new Set<Scope>(['materials:read']),
        departmentCode: null,
        subjectId: null,
        tokenId: 'bench-materials',
      };
      const purpose = { purpose: 'case_acceptance', caseRef: null, operatorId: null };
      const requestId = `bench-reuse-${index}`;
      return {
        db,
        principal,
        purpose,
        requestId,
        access: gateway.services.access.forRequest(principal, purpose, requestId, new Date()),
      };
    };
    // The one statement that answers the question for a client that may read every material
    // (as the window does here: no seeded material is governed by a conditional resource), in
    // the gateway's order of preference, built by drizzle, executed without drizzle. The gateway
    // also asks the access policy about each candidate.
    const statement = db
      .selectDistinctOn([materials.typeCode])
      .from(materials)
      .where(
        and(
          eq(materials.subjectId, subjectId),
          inArray(materials.typeCode, wanted),
          eq(materials.status, 'valid'),
          lte(materials.validFrom, on),
          or(isNull(materials.validUntil), gte(materials.validUntil, on)),
        ),
      )
      .orderBy(asc(materials.typeCode), ...reusePreference)
      .toSQL();
    const params = statement.params.map((value) => String(value));
    let askSql: () => Promise<string[]>;
    if (database === 'pglite') {
      const pglite = gateway.services.database.pglite;
      if (!pglite) throw new Error('the PGlite gateway exposes no PGlite client');
      askSql = async () => (await pglite.query<{ id: string }>(statement.sql, params)).rows.map((row) => row.id);
    } else {
      if (!databaseUrl) throw new Error('no database URL');
      const client = postgres(databaseUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
      sqlClient = client;
      askSql = async () => (await client.unsafe<{ id: string }[]>(statement.sql, params)).map((row) => row.id);
    }

    const httpAnswer = await askHttp();
    const serviceAnswer = await findReusableMaterials(context(0), subjectId, wanted, on);
    const sqlIds = (await askSql()).sort();
    const httpIds = httpAnswer.found.map((item) => item.material.id).sort();
    const serviceIds = serviceAnswer.found.map((item) => item.material.id).sort();
    if (httpIds.join() !== sqlIds.join() || serviceIds.join() !== sqlIds.join()) {
      throw new Error(
        `the reuse answers differ: HTTP ${httpIds.join(',')}, service ${serviceIds.join(',')}, SQL ${sqlIds.join(',')}`,
      );
    }
    if (httpIds.length === 0)
      throw new Error('the reuse answer found no material: the seeded data does not fit the question');
    console.log(
      `  question: types=${wanted.join(',')} on=${on}; answer: ${httpIds.length} found, missing: ` +
        `${httpAnswer.missing.join(', ') || 'none'}`,
    );

    // Warm-up, then rounds interleaving the three (order rotated), each bounded in time.
    const kinds = {
      http: async () => {
        await askHttp();
      },
      service: async (index: number) => {
        await findReusableMaterials(context(index), subjectId, wanted, on);
      },
      sql: async () => {
        await askSql();
      },
    } as const;
    const names = ['http', 'service', 'sql'] as const;
    const latencies: Record<(typeof names)[number], number[]> = { http: [], service: [], sql: [] };
    const deadline = Date.now() + Math.max(60, settings.cellSeconds * 2) * 1000;
    for (const name of names) await timeSequential(Math.min(50, settings.reuseRequests), deadline, kinds[name]);
    const rounds = 5;
    let capped = false;
    for (let round = 0; round < rounds; round += 1) {
      for (let position = 0; position < names.length; position += 1) {
        const name = names[(round + position) % names.length] ?? 'http';
        const outcome = await timeSequential(roundShare(settings.reuseRequests, rounds, round), deadline, kinds[name]);
        latencies[name].push(...outcome.latencies);
        capped ||= outcome.capped;
      }
    }
    if (capped) console.log('  (time cap reached: fewer requests than asked for)');
    const http = latencyStats(latencies.http);
    return {
      database,
      materials: held,
      seededDirectly: rows.length,
      uploadedThroughApi: uploaded.length,
      seedSeconds,
      types: wanted,
      on,
      found: httpIds.length,
      missing: httpAnswer.missing,
      http,
      service: latencyStats(latencies.service),
      sql: latencyStats(latencies.sql),
      verdict:
        database === 'postgres'
          ? { target: `p99 < ${REUSE_P99_TARGET_MS} ms`, pass: http.p99 < REUSE_P99_TARGET_MS }
          : undefined,
    };
  } finally {
    await pool.close().catch(() => {});
    await sqlClient?.end({ timeout: 5 }).catch(() => {});
    await stop();
  }
}

function printReuseTable(results: ReuseResult[], settings: Settings): void {
  console.log(
    `\nReuse query (${settings.reuseRequests} sequential requests per row after a warm-up, 5 interleaved rounds; ` +
      'ratio = row / SQL alone):\n',
  );
  const rows: string[][] = [
    ['database', 'measured', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p50 ratio', 'p99 ratio', 'verdict'],
  ];
  for (const result of results) {
    const entries = [
      ['HTTP GET …/reusable-materials', result.http],
      ['findReusableMaterials() (no HTTP)', result.service],
      ['SQL alone (select distinct on)', result.sql],
    ] as const;
    for (const [label, stats] of entries) {
      rows.push([
        databaseLabel(result.database),
        label,
        String(stats.count),
        fixed(stats.p50, 2),
        fixed(stats.p90, 2),
        fixed(stats.p99, 2),
        fixed(stats.max, 2),
        fixed(stats.p50 / result.sql.p50, 1),
        fixed(stats.p99 / result.sql.p99, 1),
        stats === result.http
          ? result.verdict
            ? `${result.verdict.target}: ${result.verdict.pass ? 'PASS' : 'MISS'}`
            : '(no target)'
          : '',
      ]);
    }
  }
  console.log(table(rows));
  console.log(
    '\n  HTTP = token check, purpose headers, validation, the transaction (type check, subject check, the query, an\n' +
      '  audit entry), JSON; findReusableMaterials() = the same transaction without HTTP; SQL alone = the one query.',
  );
}

// ---------------------------------------------------------------------------------------------
// Summary.

function printSummary(rows: TransferRow[], reuse: ReuseResult[], settings: Settings): void {
  const lines: string[] = ['', '=== Summary ==='];
  const uploads = rows.filter((row) => row.part === 'upload');
  const describe = (row: TransferRow | undefined): string =>
    row
      ? `${fixed(row.ratio, 2)} (${fixed(row.megabytesPerSecond, 0)} MB/s)${row.verdict ? ` ${row.verdict.pass ? 'PASS' : 'MISS'}` : ''}`
      : 'not measured';
  if (uploads.length > 0) {
    const sizes = settings.sizes;
    lines.push(
      `Upload throughput, gateway / bare node:http (bare: ${sizes.map((size) => `${formatSize(size)} ${fixed(uploads.find((row) => row.size === size && row.target === 'bare')?.megabytesPerSecond, 0)} MB/s`).join(', ')}):`,
    );
    for (const database of settings.databases) {
      for (const driver of ['filesystem', 'postgres'] as const) {
        const head = `  ${driver === 'filesystem' ? `filesystem driver${' '.repeat(6)}` : 'PostgreSQL blob store  '} (${databaseLabel(database).padEnd(10)})`;
        const figures = sizes.map(
          (size) =>
            `${formatSize(size)}: ${describe(uploads.find((row) => row.size === size && row.driver === driver && row.database === database))}`,
        );
        lines.push(`${head}  ${figures.join('   ')}`);
      }
    }
    const bareFile = sizes.map(
      (size) =>
        `${formatSize(size)}: ${describe(uploads.find((row) => row.size === size && row.target === 'bare-file'))}`,
    );
    lines.push(`  bare + file write/fsync (info)       ${bareFile.join('   ')}`);
    const fsToBareFile = settings.databases.map(
      (database) =>
        `${databaseLabel(database)} ${sizes.map((size) => `${formatSize(size)} ${fixed(uploads.find((row) => row.size === size && row.driver === 'filesystem' && row.database === database)?.ratioToBareFile, 2)}`).join(', ')}`,
    );
    lines.push(`  filesystem driver / (bare + file write/fsync): ${fsToBareFile.join('; ')}`);
    lines.push(
      `  target: filesystem driver >= ${UPLOAD_TARGET.ratio} of bare for ` +
        `${UPLOAD_TARGET.sizes.map(formatSize).join(' and ')}; PostgreSQL blob store: no target.`,
    );
  }
  const downloads = rows.filter((row) => row.part === 'download');
  if (downloads.length > 0) {
    lines.push('Download throughput, gateway / bare (no target):');
    for (const database of settings.databases) {
      for (const driver of ['filesystem', 'postgres'] as const) {
        const figures = settings.sizes.map(
          (size) =>
            `${formatSize(size)}: ${describe(downloads.find((row) => row.size === size && row.driver === driver && row.database === database))}`,
        );
        lines.push(
          `  ${driver === 'filesystem' ? 'filesystem driver    ' : 'PostgreSQL blob store'}  (${databaseLabel(database).padEnd(10)})  ${figures.join('   ')}`,
        );
      }
    }
  }
  if (reuse.length > 0) {
    lines.push(
      `Reuse query (subject with ${reuse[0]?.materials ?? '?'} materials, ${reuse[0]?.types.length ?? '?'} types asked, sequential):`,
    );
    for (const result of reuse) {
      lines.push(
        `  ${databaseLabel(result.database).padEnd(10)}  HTTP p50 ${fixed(result.http.p50, 2)} ms, p99 ${fixed(result.http.p99, 2)} ms` +
          `${result.verdict ? ` (${result.verdict.target}: ${result.verdict.pass ? 'PASS' : 'MISS'})` : ' (no target)'}` +
          `;  SQL alone p50 ${fixed(result.sql.p50, 2)} ms, p99 ${fixed(result.sql.p99, 2)} ms`,
      );
    }
    if (!reuse.some((result) => result.database === 'postgres'))
      lines.push('  PostgreSQL not measured: set BENCH_DATABASE_URL for the p99 < 20 ms target.');
  }
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = settingsFromEnv();
  } catch (error) {
    console.error(`bench:materials: ${errorText(error)}`);
    return 2;
  }
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'ow-bench-materials-'));
  let keepWorkDir = false;
  cleanups.push(async () => {
    if (keepWorkDir) console.error(`server logs${settings.cpuProfile ? ' and CPU profiles' : ''} kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  });
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping servers and cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const deadline = setTimeout(() => {
    console.error(`\nbenchmark exceeded its ${settings.budgetSeconds} s budget (BENCH_BUDGET_SECONDS); stopping`);
    keepWorkDir = true;
    void cleanup().finally(() => process.exit(1));
  }, settings.budgetSeconds * 1000);
  deadline.unref();

  console.log(
    `onewindow materials benchmark: parts ${settings.parts.join(', ')}; sizes ${settings.sizes.map(formatSize).join(', ')}; ` +
      `concurrency ${settings.concurrency}; databases ${settings.databases.map(databaseLabel).join(', ')}`,
  );
  const environment = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtStart: loadavg(),
    tmpdir: tmpdir(),
    postgresServer:
      settings.postgresAdminUrl && settings.databases.includes('postgres')
        ? await postgresVersion(settings.postgresAdminUrl)
        : undefined,
  };
  console.log(
    `  node ${environment.node}, ${environment.cpus} CPUs (${environment.cpuModel}), load ` +
      `${environment.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}` +
      `${environment.postgresServer ? `, PostgreSQL ${environment.postgresServer}` : ''}; temp files in ${workDir}`,
  );

  const started = performance.now();
  try {
    let postgresUrl: string | undefined;
    if (settings.databases.includes('postgres') && settings.postgresAdminUrl) {
      const created = await createPostgresDatabase(settings.postgresAdminUrl);
      postgresUrl = created.url;
      console.log(`  PostgreSQL database ${created.name} created (dropped at the end)`);
    }

    let transferRowsAll: TransferRow[] = [];
    const transferParts = settings.parts.filter((part): part is 'upload' | 'download' => part !== 'reuse');
    if (transferParts.length > 0) {
      const bareFiles = join(workDir, 'bare-files');
      mkdirSync(bareFiles, { recursive: true });
      console.log('\nStarting servers (bare baseline and gateways, LOG_LEVEL=warn) …');
      const targets: TransferTarget[] = await startBare(workDir, bareFiles, settings.concurrency);
      let serial = 100;
      for (const database of settings.databases) {
        const databaseEnv: Record<string, string> =
          database === 'pglite'
            ? { PGLITE_DATA_DIR: 'memory://' }
            : { DATABASE_URL: postgresUrl ?? '', DATABASE_POOL_SIZE: '10' };
        for (const driver of ['filesystem', 'postgres'] as const) {
          targets.push(await startGatewayTarget(settings, workDir, database, driver, databaseEnv, (serial += 1)));
        }
      }
      console.log(
        `  ${targets.map((target) => target.label).join(', ')}: ready (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      try {
        const cells: TransferCell[] = [];
        for (const part of transferParts) {
          console.log(`\n${part === 'upload' ? 'Uploads' : 'Downloads'}:`);
          const measured = await measureTransfers(part, settings, targets, bareFiles);
          cells.push(...measured);
          printTransferTable(part, transferRows(measured), settings);
        }
        transferRowsAll = transferRows(cells);
      } finally {
        for (const target of targets) await target.pool.close().catch(() => {});
        for (const server of new Set(targets.map((target) => target.server))) await stopServer(server);
      }
    }

    const reuse: ReuseResult[] = [];
    if (settings.parts.includes('reuse')) {
      for (const database of settings.databases)
        reuse.push(await benchReuse(settings, database, database === 'postgres' ? postgresUrl : undefined));
      printReuseTable(reuse, settings);
    }

    printSummary(transferRowsAll, reuse, settings);
    console.log(`\nTotal time ${((performance.now() - started) / 1000).toFixed(0)} s.`);

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `materials-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          startedAt,
          finishedAt: new Date(),
          settings,
          targets: { upload: UPLOAD_TARGET, reuseP99Ms: REUSE_P99_TARGET_MS },
          environment,
          transfers: transferRowsAll,
          reuse,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`Written ${file}`);
    if (settings.cpuProfile) keepWorkDir = true;
    return 0;
  } catch (error) {
    keepWorkDir = true;
    console.error(`\nbenchmark failed: ${errorText(error)}`);
    return 1;
  } finally {
    clearTimeout(deadline);
    await cleanup();
  }
}

if (process.env.BENCH_MATERIALS_ROLE === 'bare') {
  runBareServer();
} else {
  process.exitCode = await main();
}
