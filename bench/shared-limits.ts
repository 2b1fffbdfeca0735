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
 * no window ends during the run. Results: a table, and bench/results/shared-limits-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { type DatabaseHandle, openDatabase } from '../gateway/db/client.js';
import { fixedWindowLimiter } from '../gateway/platform/rate-limit.js';
import { SharedLimits, postgresLimitStore } from '../gateway/platform/shared-limits.js';
import { createBenchDatabase } from './lib/database.js';
import { integerFromEnv } from './lib/env.js';
import { addCleanup, cleanup } from './lib/run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUBJECTS = integerFromEnv('BENCH_LIMIT_SUBJECTS', 200, 1, 100_000);
const CONCURRENCY = integerFromEnv('BENCH_LIMIT_CONCURRENCY', 16, 1, 1000);
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

async function openBenchDatabase(): Promise<{ database: DatabaseHandle; kind: string }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl)
    return { database: await openDatabase({ kind: 'pglite', dataDir: 'memory://' }), kind: 'PGlite (in process)' };
  const created = await createBenchDatabase(adminUrl, 'ow_bench_limits', addCleanup);
  return {
    database: await openDatabase({ kind: 'postgres', url: created.url, poolSize: CONCURRENCY }),
    kind: 'PostgreSQL',
  };
}

async function main(): Promise<void> {
  const { database, kind } = await openBenchDatabase();
  addCleanup(() => database.close());
  await database.migrate();
  const registry = new Registry();
  const fallbackCounter = new Counter({
    name: 'bench_fallback_total',
    help: 'bench',
    labelNames: ['limit'],
    registers: [registry],
  });
  const instance = () =>
    new SharedLimits({
      store: postgresLimitStore(database.db),
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
  const folder = join(ROOT, 'bench', 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `shared-limits-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ database: kind, subjects: SUBJECTS, concurrency: CONCURRENCY, rows }, null, 2)}\n`,
  );
  console.log(`results: ${file}`);
}

try {
  await main();
} finally {
  await cleanup();
}
