/**
 * `npm run bench:limits`: what counting rate limits in the database (gateway/platform/shared-limits.ts)
 * costs against the per-instance limiter in memory, in the same run, on embedded PGlite — or on a
 * fresh database of the PostgreSQL server named by DATABASE_URL.
 *
 * Three limits, each over BENCH_LIMIT_SUBJECTS subjects (default 200), BENCH_LIMIT_CONCURRENCY
 * subjects counted at once (default 16), every subject taking its allowance and 10 more:
 *   - `client-requests`, 6,000 per minute (the default CLIENT_REQUESTS_PER_MINUTE; leases of 60);
 *   - `sign-in`, 60 per minute (the default SIGN_IN_ATTEMPTS_PER_MINUTE; one statement per attempt);
 *   - `client-requests ×3`: the same 6,000 spread round-robin over three instances sharing the database.
 * Every answer is checked: one instance allows exactly the allowance per subject and refuses the
 * rest; three instances never allow more, and at most 3 × (lease − 1) fewer. The clock is fixed, so
 * no window ends during the run.
 *
 * On PostgreSQL, a second part runs the same three workloads through rate-limiter-flexible's
 * PostgreSQL store (RateLimiterPostgres, one upsert per decision, `inMemoryBlockOnConsumed` at the
 * limit so refusals stay in memory as ours do) over the same pool, and through our counter: the
 * library first, at most BENCH_LIMIT_COMPARE_SECONDS (default 5) per workload, then our counter on
 * exactly the takes per subject the library got through. Subjects: BENCH_LIMIT_CONCURRENCY (all at
 * once) for 6,000/min, BENCH_LIMIT_SUBJECTS for 60/min. Every answer is checked for both: on one
 * instance each allows min(takes, limit) per subject (the same count), on three the library
 * exactly that and ours never more and at most 3 × (lease − 1) fewer. Reported per workload:
 * decisions per second, PostgreSQL CPU per decision (the backends serving the bench database,
 * from /proc), statements per 1,000 decisions, and the ratios ours ÷ library.
 * Results: tables, and bench/results/shared-limits-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import postgres from 'postgres';
import { Counter, Registry } from 'prom-client';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { type DatabaseHandle, openDatabase } from '../gateway/db/client.js';
import { fixedWindowLimiter } from '../gateway/platform/rate-limit.js';
import { type LimitStore, SharedLimits, postgresLimitStore } from '../gateway/platform/shared-limits.js';
import { type CpuSnapshot, cpuSpent, processesCpu } from './lib/children.js';
import { createBenchDatabase, serverVersion } from './lib/database.js';
import { integerFromEnv } from './lib/env.js';
import { addCleanup, cleanup } from './lib/run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUBJECTS = integerFromEnv('BENCH_LIMIT_SUBJECTS', 200, 1, 100_000);
const CONCURRENCY = integerFromEnv('BENCH_LIMIT_CONCURRENCY', 16, 1, 1000);
const COMPARE_SECONDS = integerFromEnv('BENCH_LIMIT_COMPARE_SECONDS', 5, 1, 600);
const EXTRA = 10;
/** A fixed instant in the middle of a minute: no window ends during the run. */
const NOW = Date.parse('2026-12-18T02:00:30.000Z');

interface Limiter {
  take(subject: string): number | null | Promise<number | null>;
}

interface Measured {
  takes: number;
  seconds: number;
  perSecond: number;
  microsecondsPerTake: number;
}

/** Every subject takes limit + EXTRA times, CONCURRENCY subjects at once; answers the allowed count per subject. */
async function drive(
  limiters: Limiter[],
  prefix: string,
  limit: number,
): Promise<{ allowed: number[]; measured: Measured }> {
  const allowed = new Array<number>(SUBJECTS).fill(0);
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let subject = next++; subject < SUBJECTS; subject = next++) {
      const key = `${prefix}-${subject}`;
      for (let take = 0; take < limit + EXTRA; take += 1) {
        const limiter = limiters[take % limiters.length] as Limiter;
        if ((await limiter.take(key)) === null) allowed[subject] = (allowed[subject] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const takes = SUBJECTS * (limit + EXTRA);
  return {
    allowed,
    measured: { takes, seconds, perSecond: takes / seconds, microsecondsPerTake: (seconds * 1e6) / takes },
  };
}

function check(name: string, allowed: number[], low: number, high: number): void {
  const wrong = allowed.findIndex((count) => count < low || count > high);
  if (wrong !== -1) throw new Error(`${name}: subject ${wrong} was allowed ${allowed[wrong]}, expected ${low}–${high}`);
}

async function openBenchDatabase(): Promise<{ database: DatabaseHandle; kind: string; url?: string }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl)
    return { database: await openDatabase({ kind: 'pglite', dataDir: 'memory://' }), kind: 'PGlite (in process)' };
  const created = await createBenchDatabase(adminUrl, 'ow_bench_limits', addCleanup);
  return {
    database: await openDatabase({ kind: 'postgres', url: created.url, poolSize: CONCURRENCY }),
    kind: 'PostgreSQL',
    url: created.url,
  };
}

// ---- Our counter against rate-limiter-flexible's PostgreSQL store, same workloads, same pool ----

interface Phase {
  /** Allowed per subject. */
  allowed: number[];
  /** Taken per subject (the library may stop at the time limit; ours then takes exactly as many). */
  taken: number[];
  decisions: number;
  seconds: number;
  decisionsPerSecond: number;
  statements: number;
  /** PostgreSQL CPU (backends of the bench database) and this process's, µs per decision. */
  postgresMicroseconds: number | null;
  nodeMicroseconds: number;
}

/**
 * Every subject takes up to `plan[subject]` times, CONCURRENCY subjects at once, one take after the
 * other per subject; no take starts after `deadline` (performance.now()).
 */
async function drivePlan(
  limiters: Limiter[],
  prefix: string,
  plan: readonly number[],
  deadline: number,
): Promise<{ allowed: number[]; taken: number[]; seconds: number }> {
  const allowed = new Array<number>(plan.length).fill(0);
  const taken = new Array<number>(plan.length).fill(0);
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let subject = next++; subject < plan.length; subject = next++) {
      const key = `${prefix}-${subject}`;
      const takes = plan[subject] ?? 0;
      for (let take = 0; take < takes && performance.now() < deadline; take += 1) {
        const limiter = limiters[take % limiters.length] as Limiter;
        if ((await limiter.take(key)) === null) allowed[subject] = (allowed[subject] ?? 0) + 1;
        taken[subject] = take + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { allowed, taken, seconds: (performance.now() - started) / 1000 };
}

/** The backends serving the bench database (its pool's connections, autovacuum on it), not the asker. */
async function backendsCpu(monitor: postgres.Sql | undefined): Promise<CpuSnapshot | undefined> {
  if (!monitor || process.platform !== 'linux') return undefined;
  const rows = await monitor<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  return processesCpu(rows.map((row) => row.pid));
}

async function measuredPhase(
  monitor: postgres.Sql | undefined,
  statements: () => number,
  run: () => Promise<{ allowed: number[]; taken: number[]; seconds: number }>,
): Promise<Phase> {
  const statementsBefore = statements();
  const postgresBefore = await backendsCpu(monitor);
  const nodeBefore = process.cpuUsage();
  const { allowed, taken, seconds } = await run();
  const node = process.cpuUsage(nodeBefore);
  const postgresAfter = await backendsCpu(monitor);
  const decisions = taken.reduce((sum, count) => sum + count, 0);
  const postgresSeconds = postgresBefore && postgresAfter ? (cpuSpent(postgresBefore, postgresAfter) ?? null) : null;
  return {
    allowed,
    taken,
    decisions,
    seconds,
    decisionsPerSecond: decisions / seconds,
    statements: statements() - statementsBefore,
    postgresMicroseconds: postgresSeconds === null ? null : (postgresSeconds * 1e6) / decisions,
    nodeMicroseconds: (node.user + node.system) / decisions,
  };
}

/** Our store, counting its statements. */
function countingStore(store: LimitStore, counter: { statements: number }): LimitStore {
  return {
    increment: (key, amount, expiresAt) => {
      counter.statements += 1;
      return store.increment(key, amount, expiresAt);
    },
    read: (key) => {
      counter.statements += 1;
      return store.read(key);
    },
    purgeExpired: (now, batchSize) => {
      counter.statements += 1;
      return store.purgeExpired(now, batchSize);
    },
  };
}

/**
 * rate-limiter-flexible's PostgreSQL store over the gateway's own pool and driver (postgres.js):
 * its `pool` client type asks only for `query({text, values})` answering `{rows, rowCount}`, which
 * `preparedText` gives (a named prepared statement, as node-postgres would with the library's
 * statement names). Limits per fixed 60 s window from a key's first point; refused subjects are
 * kept in memory until the window ends (`inMemoryBlockOnConsumed`), as ours are.
 */
async function flexibleLimiter(
  database: DatabaseHandle,
  keyPrefix: string,
  limit: number,
  counter: { statements: number },
): Promise<Limiter> {
  const storeClient = {
    query: async ({ text, values }: { text: string; values?: unknown[] }) => {
      counter.statements += 1;
      const rows = await database.preparedText<Record<string, unknown>>(text, values ?? []);
      return { rows, rowCount: rows.length };
    },
  };
  const limiter = await new Promise<RateLimiterPostgres>((resolve, reject) => {
    const created: RateLimiterPostgres = new RateLimiterPostgres(
      {
        storeClient,
        storeType: 'pool',
        tableName: 'bench_rate_limiter_flexible',
        keyPrefix,
        points: limit,
        duration: 60,
        inMemoryBlockOnConsumed: limit,
        clearExpiredByTimeout: false,
      },
      (error?: unknown) => (error ? reject(error) : resolve(created)),
    );
  });
  return {
    take: (subject) =>
      limiter.consume(subject).then(
        () => null,
        (refusal: unknown) => {
          // A refusal is a RateLimiterRes; anything else (a failed statement) stops the run.
          if (refusal instanceof RateLimiterRes) return Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
          throw refusal;
        },
      ),
  };
}

interface ComparisonRow {
  limit: string;
  subjects: number;
  ours: Omit<Phase, 'allowed' | 'taken'>;
  library: Omit<Phase, 'allowed' | 'taken'>;
  /** ours ÷ library */
  decisionsPerSecondRatio: number;
  postgresCpuRatio: number | null;
}

async function compareWithLibrary(
  database: DatabaseHandle,
  url: string,
  makeInstance: (store: LimitStore) => SharedLimits,
): Promise<ComparisonRow[]> {
  const monitor = postgres(url, { max: 1, onnotice: () => {} });
  addCleanup(() => monitor.end({ timeout: 5 }));
  const rows: ComparisonRow[] = [];
  for (const [name, limit, instances, subjects] of [
    ['client-requests', 6000, 1, CONCURRENCY],
    ['sign-in', 60, 1, SUBJECTS],
    ['client-requests ×3', 6000, 3, CONCURRENCY],
  ] as const) {
    const prefix = `cmp-${name.replace(/\W+/g, '-')}`;
    const libraryCounter = { statements: 0 };
    const library = await Promise.all(
      Array.from({ length: instances }, () => flexibleLimiter(database, prefix, limit, libraryCounter)),
    );
    const full = new Array<number>(subjects).fill(limit + EXTRA);
    const libraryPhase = await measuredPhase(
      monitor,
      () => libraryCounter.statements,
      () => drivePlan(library, `${prefix}-library`, full, performance.now() + COMPARE_SECONDS * 1000),
    );
    const oursCounter = { statements: 0 };
    const ours = Array.from({ length: instances }, () =>
      makeInstance(countingStore(postgresLimitStore(database), oursCounter)).limiter({
        name: prefix,
        limit,
        windowMs: 60_000,
      }),
    );
    const oursPhase = await measuredPhase(
      monitor,
      () => oursCounter.statements,
      () => drivePlan(ours, `${prefix}-ours`, libraryPhase.taken, Number.POSITIVE_INFINITY),
    );
    // Every answer checked: the same takes per subject, and the allowance enforced alike.
    const lease = Math.max(1, Math.floor(limit / 100));
    libraryPhase.taken.forEach((taken, subject) => {
      const expected = Math.min(taken, limit);
      const mine = oursPhase.allowed[subject] ?? 0;
      const theirs = libraryPhase.allowed[subject] ?? 0;
      if (oursPhase.taken[subject] !== taken)
        throw new Error(
          `${name}: subject ${subject} took ${oursPhase.taken[subject]} with ours, ${taken} with the library`,
        );
      if (theirs !== expected)
        throw new Error(`${name}: the library allowed subject ${subject} ${theirs} of ${taken}, expected ${expected}`);
      const low = instances === 1 ? expected : Math.max(0, expected - instances * (lease - 1));
      if (mine < low || mine > expected)
        throw new Error(`${name}: ours allowed subject ${subject} ${mine} of ${taken}, expected ${low}–${expected}`);
    });
    const { allowed: _a, taken: _t, ...oursFigures } = oursPhase;
    const { allowed: _b, taken: _u, ...libraryFigures } = libraryPhase;
    rows.push({
      limit: name,
      subjects,
      ours: oursFigures,
      library: libraryFigures,
      decisionsPerSecondRatio: oursPhase.decisionsPerSecond / libraryPhase.decisionsPerSecond,
      postgresCpuRatio:
        oursPhase.postgresMicroseconds === null || libraryPhase.postgresMicroseconds === null
          ? null
          : oursPhase.postgresMicroseconds / libraryPhase.postgresMicroseconds,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const runStarted = performance.now();
  const { database, kind, url } = await openBenchDatabase();
  addCleanup(() => database.close());
  await database.migrate();
  const registry = new Registry();
  const fallbackCounter = new Counter({
    name: 'bench_fallback_total',
    help: 'bench',
    labelNames: ['limit'],
    registers: [registry],
  });
  const instance = (store: LimitStore = postgresLimitStore(database)) =>
    new SharedLimits({
      store,
      now: () => NOW,
      logger: pino({ level: 'warn' }),
      fallbackCounter,
    });
  const rows: { limit: string; perInstance: Measured; shared: Measured; ratio: number }[] = [];

  for (const [name, limit, instances] of [
    ['client-requests', 6000, 1],
    ['sign-in', 60, 1],
    ['client-requests ×3', 6000, 3],
  ] as const) {
    const memory = fixedWindowLimiter(limit, 60_000);
    const perInstance = await drive([{ take: (subject) => memory.take(subject, NOW) }], `${name}-memory`, limit);
    check(`${name} in memory`, perInstance.allowed, limit, limit);
    const shared = Array.from({ length: instances }, () => instance().limiter({ name, limit, windowMs: 60_000 }));
    const lease = Math.max(1, Math.floor(limit / 100));
    const result = await drive(shared, `${name}-shared`, limit);
    check(`${name} shared`, result.allowed, instances === 1 ? limit : limit - instances * (lease - 1), limit);
    rows.push({
      limit: name,
      perInstance: perInstance.measured,
      shared: result.measured,
      ratio: result.measured.perSecond / perInstance.measured.perSecond,
    });
  }
  const comparison = url ? await compareWithLibrary(database, url, instance) : [];
  const fallbacks = (await registry.getMetricsAsJSON())[0]?.values.reduce((sum, value) => sum + value.value, 0) ?? 0;
  if (fallbacks !== 0)
    throw new Error(`${fallbacks} counting steps fell back to memory: the store failed during the run`);

  const fixed = (value: number, digits: number) => value.toFixed(digits);
  console.log(`shared rate limits on ${kind}: ${SUBJECTS} subjects, ${CONCURRENCY} at once; every answer checked`);
  console.log('limit                 per-instance takes/s   shared takes/s   shared µs/take   ratio');
  for (const row of rows) {
    console.log(
      `${row.limit.padEnd(22)}${fixed(row.perInstance.perSecond, 0).padStart(20)}${fixed(row.shared.perSecond, 0).padStart(17)}` +
        `${fixed(row.shared.microsecondsPerTake, 1).padStart(17)}${fixed(row.ratio, 4).padStart(8)}`,
    );
  }
  if (comparison.length === 0) {
    console.log('\nrate-limiter-flexible (RateLimiterPostgres): set DATABASE_URL to compare on PostgreSQL');
  } else {
    const version = await (async () => {
      const client = postgres(url ?? '', { max: 1, onnotice: () => {} });
      try {
        return await serverVersion(client);
      } finally {
        await client.end({ timeout: 5 });
      }
    })();
    const micro = (value: number | null) => (value === null ? 'n/a' : fixed(value, 1));
    console.log(
      `\nours vs rate-limiter-flexible RateLimiterPostgres on PostgreSQL ${version}, same pool, same takes per subject ` +
        `(library first, ≤ ${COMPARE_SECONDS} s a workload); every answer checked`,
    );
    console.log(
      'limit                subjects  decisions   ours/s  library/s  ratio   PG µs/decision ours  library  ratio   statements/1000 ours  library',
    );
    for (const row of comparison) {
      console.log(
        `${row.limit.padEnd(21)}${String(row.subjects).padStart(8)}${String(row.ours.decisions).padStart(11)}` +
          `${fixed(row.ours.decisionsPerSecond, 0).padStart(9)}${fixed(row.library.decisionsPerSecond, 0).padStart(11)}` +
          `${fixed(row.decisionsPerSecondRatio, 2).padStart(7)}${micro(row.ours.postgresMicroseconds).padStart(22)}` +
          `${micro(row.library.postgresMicroseconds).padStart(9)}${(row.postgresCpuRatio === null ? 'n/a' : fixed(row.postgresCpuRatio, 3)).padStart(7)}` +
          `${fixed((row.ours.statements * 1000) / row.ours.decisions, 1).padStart(22)}` +
          `${fixed((row.library.statements * 1000) / row.library.decisions, 1).padStart(9)}`,
      );
    }
    console.log(
      `node CPU µs/decision (ours, library): ${comparison
        .map((row) => `${row.limit} ${fixed(row.ours.nodeMicroseconds, 1)}, ${fixed(row.library.nodeMicroseconds, 1)}`)
        .join('; ')}`,
    );
  }
  console.log(`run: ${fixed((performance.now() - runStarted) / 1000, 1)} s`);
  const folder = join(ROOT, 'bench', 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `shared-limits-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ database: kind, subjects: SUBJECTS, concurrency: CONCURRENCY, rows, comparison }, null, 2)}\n`,
  );
  console.log(`results: ${file}`);
}

try {
  await main();
} finally {
  await cleanup();
}
