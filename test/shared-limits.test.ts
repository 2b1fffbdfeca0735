/**
 * Limits across instances: three gateway apps (each with its own services, as three processes
 * would have) over one database — PGlite in-process, or PostgreSQL when DATABASE_URL is set —
 * enforce one allowance per client and one sign-in lockout, whichever instance a request reaches.
 * When the shared counters fail, each instance limits on its own (logged once, counted on
 * /metrics), and expired counters are purged in bounded batches. The clock is fixed and moved by
 * the test; nothing depends on the day or on timing.
 */
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayApp, createApp } from '../gateway/app.js';
import { createClient } from '../gateway/auth/clients.js';
import { scopesAllowedForKind } from '../gateway/auth/scopes.js';
import { type Config, parseConfig } from '../gateway/config.js';
import { type DatabaseHandle, openDatabase } from '../gateway/db/client.js';
import { rateLimitBuckets } from '../gateway/db/schema.js';
import type { Clock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type GatewayServices, closeServices, createServices } from '../gateway/services.js';
import { type LimitStore, SharedLimits, postgresLimitStore } from '../gateway/platform/shared-limits.js';
import { LogCapture, type TestDatabase, bearer, freshDatabase, problemOf } from './harness.js';

const REQUESTS_PER_MINUTE = 10;
const FAILURES_BEFORE_LOCKOUT = 3;
/** 10:00:30 UTC: mid-window, so that the first window has 30 s left. */
let instant = Date.parse('2026-12-18T02:00:30.000Z');
const clock: Clock = { now: () => new Date(instant) };

interface Instance {
  app: GatewayApp;
  services: GatewayServices;
  logs: LogCapture;
}

let fresh: TestDatabase;
let config: Config;
let database: DatabaseHandle;
const instances: Instance[] = [];

beforeAll(async () => {
  fresh = await freshDatabase();
  config = parseConfig({
    LOG_LEVEL: 'info',
    ONEWINDOW_DEMO: 'false',
    PUBLIC_BASE_URL: 'http://gateway.test',
    CLIENT_REQUESTS_PER_MINUTE: String(REQUESTS_PER_MINUTE),
    SIGN_IN_FAILURES_PER_CLIENT: String(FAILURES_BEFORE_LOCKOUT),
    ...fresh.environment,
  });
  database = await openDatabase(config.database);
  await database.migrate();
  for (let index = 0; index < 3; index += 1) {
    const logs = new LogCapture();
    const services = await createServices(config, database, createLogger(config.logLevel, logs), { clock });
    instances.push({ app: createApp(services), services, logs });
  }
}, 120_000);

afterAll(async () => {
  for (const instance of instances) await closeServices(instance.services);
  await database?.close();
  await fresh?.drop();
});

const instance = (index: number): Instance => {
  const found = instances[index % instances.length];
  if (!found) throw new Error('no instances');
  return found;
};

async function auditorToken(): Promise<string> {
  const { client } = await createClient(database.db, instance(0).services.clientSecrets, {
    name: 'shared limits auditor',
    kind: 'auditor',
    scopes: [...scopesAllowedForKind.auditor],
  });
  return (await instance(0).services.tokens.issue(client, ['metrics:read'])).accessToken;
}

function testCounter(name: string): Counter<'limit'> {
  return new Counter({ name, help: 'test', labelNames: ['limit'], registers: [new Registry()] });
}

function tokenRequest(clientId: string, secret: string): RequestInit {
  return {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  };
}

describe('three instances over one database', () => {
  it('enforce one allowance of requests per client, whichever instance each request reaches', async () => {
    const token = await auditorToken();
    const statuses: number[] = [];
    for (let request = 0; request < REQUESTS_PER_MINUTE + 5; request += 1) {
      const response = await instance(request).app.request('/metrics', { headers: bearer(token) });
      statuses.push(response.status);
      if (response.status === 429) {
        const problem = await problemOf(response);
        expect(problem.code).toBe('rate_limited');
        // 30 s are left of the fixed window.
        expect(response.headers.get('retry-after')).toBe('30');
      } else {
        await response.arrayBuffer();
      }
    }
    // Per instance, each would have allowed all five of its requests: together they allowed ten.
    expect(statuses).toEqual([...Array<number>(REQUESTS_PER_MINUTE).fill(200), ...Array<number>(5).fill(429)]);

    instant += 30_000;
    const nextWindow = await instance(2).app.request('/metrics', { headers: bearer(await auditorToken()) });
    expect(nextWindow.status).toBe(200);
  });

  it('hold the lockout after failed secrets across instances', async () => {
    const secrets = instance(0).services.clientSecrets;
    const { client, secret } = await createClient(database.db, secrets, { name: 'lockout window', kind: 'window' });
    for (let attempt = 0; attempt < FAILURES_BEFORE_LOCKOUT; attempt += 1) {
      const response = await instance(attempt).app.request('/oauth/token', tokenRequest(client.id, `wrong-${attempt}`));
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
    }
    // The right secret, on each instance: locked everywhere, though no instance saw three failures.
    for (let index = 0; index < 3; index += 1) {
      const locked = await instance(index).app.request('/oauth/token', tokenRequest(client.id, secret));
      expect(locked.status).toBe(429);
      // The token endpoint answers in OAuth's own shape, with the gateway's code beside it.
      expect(await locked.json()).toMatchObject({ code: 'rate_limited', error: 'temporarily_unavailable' });
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    instant += config.rateLimits.signInFailureWindowMs;
    const unlocked = await instance(1).app.request('/oauth/token', tokenRequest(client.id, secret));
    expect(unlocked.status).toBe(200);
  });

  it('lease a share of a large allowance per round trip and never grant more than the allowance', async () => {
    const limits = new SharedLimits({
      store: postgresLimitStore(database),
      now: () => instant,
      logger: pino({ level: 'silent' }),
      fallbackCounter: testCounter('lease_fallback_total'),
    });
    const limit = 1000; // leases of 10
    const limiters = [0, 1, 2].map(() => limits.limiter({ name: 'lease-test', limit, windowMs: 60_000 }));
    let granted = 0;
    for (let request = 0; request < limit + 50; request += 1) {
      if ((await limiters[request % 3]?.take('cli_lease')) === null) granted += 1;
    }
    // Unused lease at the end is lost: at most instances × (lease − 1) short, never over.
    expect(granted).toBeLessThanOrEqual(limit);
    expect(granted).toBeGreaterThanOrEqual(limit - 3 * 9);
    const [row] = await database.db
      .select({ count: rateLimitBuckets.count })
      .from(rateLimitBuckets)
      .where(sql`${rateLimitBuckets.key} like 'lease-test|cli_lease|%'`);
    // Round trips: one per lease, and one per instance to learn the allowance is spent.
    expect(row?.count).toBeLessThanOrEqual(limit + 3 * 10);
  });

  it('grant one instance its whole allowance when a client sends many requests at once (no lease lost)', async () => {
    const limits = new SharedLimits({
      store: postgresLimitStore(database),
      now: () => instant,
      logger: pino({ level: 'silent' }),
      fallbackCounter: testCounter('concurrent_lease_fallback_total'),
    });
    const limit = 1000; // leases of 10
    const limiter = limits.limiter({ name: 'concurrent-lease-test', limit, windowMs: 60_000 });
    let granted = 0;
    // 20 in flight at a time: several find the lease spent together and each fetches one; every
    // lease fetched must be usable, or the client is refused long before its allowance.
    for (let sent = 0; sent < limit + 100; sent += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => limiter.take('cli_concurrent')));
      granted += answers.filter((answer) => answer === null).length;
    }
    expect(granted).toBe(limit);
  });
});

describe('concurrent requests of one client', () => {
  it('wait for the lease one of them fetches instead of each drawing a lease of its own', async () => {
    const limits = new SharedLimits({
      store: postgresLimitStore(database),
      now: () => instant,
      logger: pino({ level: 'silent' }),
      fallbackCounter: testCounter('concurrent_fallback_total'),
    });
    const limiter = limits.limiter({ name: 'concurrent-test', limit: 1000, windowMs: 60_000 }); // leases of 10
    // Fifty at once, as fifty connections of one client reach an instance whose lease ran out.
    const answers = await Promise.all(Array.from({ length: 50 }, () => limiter.take('cli_burst')));
    expect(answers.every((answer) => answer === null)).toBe(true);
    const [row] = await database.db
      .select({ count: rateLimitBuckets.count })
      .from(rateLimitBuckets)
      .where(sql`${rateLimitBuckets.key} like 'concurrent-test|cli_burst|%'`);
    // Five leases of ten for fifty requests: the allowance is not drawn fifty leases at a time.
    expect(row?.count).toBe(50);
  });
});

describe('when the shared counters fail', () => {
  it('each instance limits on its own, logs it once and counts it on /metrics', async () => {
    const failing = instance(0);
    const token = await auditorToken();
    await database.db.execute(sql`alter table rate_limit_buckets rename to rate_limit_buckets_away`);
    try {
      const statuses: number[] = [];
      for (let request = 0; request < REQUESTS_PER_MINUTE + 2; request += 1) {
        const response = await failing.app.request('/metrics', { headers: bearer(token) });
        statuses.push(response.status);
        await response.arrayBuffer();
      }
      expect(statuses).toEqual([...Array<number>(REQUESTS_PER_MINUTE).fill(200), 429, 429]);
      const warnings = failing.logs.lines.filter((line) => line.includes('shared rate limits unavailable'));
      expect(warnings).toHaveLength(1);
    } finally {
      await database.db.execute(sql`alter table rate_limit_buckets_away rename to rate_limit_buckets`);
    }
    const metric = 'onewindow_shared_limits_fallback_total';
    const metrics = await failing.services.metrics.registry.getSingleMetricAsString(metric);
    expect(metrics).toContain(`${metric}{limit="client-requests"} ${REQUESTS_PER_MINUTE + 2}`);
  });

  it('decides in memory when the store does not answer in time, instead of waiting with the request', async () => {
    // A store that hangs (a lock held on the counters, an overloaded database) is a failure too.
    let asked = 0;
    const hanging: LimitStore = {
      increment: () => {
        asked += 1;
        return new Promise<number>(() => {});
      },
      read: () => new Promise<number>(() => {}),
      purgeExpired: async () => 0,
    };
    const logs = new LogCapture();
    const limits = new SharedLimits({
      store: hanging,
      now: () => Date.parse('2026-12-18T02:00:00.000Z'),
      logger: createLogger('info', logs),
      fallbackCounter: testCounter('hanging_fallback_total'),
      storeTimeoutMs: 50,
    });
    const limiter = limits.limiter({ name: 'hanging-test', limit: 2, windowMs: 60_000 });
    expect(await limiter.take('a')).toBeNull();
    expect(await limiter.take('a')).toBeNull();
    expect(await limiter.take('a')).toBe(60);
    expect(await limiter.blocked('a')).toBe(60);
    // One round trip timed out; the rest were decided in memory during the retry period.
    expect(asked).toBe(1);
    expect(logs.lines.filter((line) => line.includes('shared rate limits unavailable'))).toHaveLength(1);
  });

  it('goes back to the store after the retry period and says so', async () => {
    let failures = 0;
    let healthy = false;
    const counts = new Map<string, number>();
    const store: LimitStore = {
      increment: async (key, amount) => {
        if (!healthy) {
          failures += 1;
          throw new Error('connection refused');
        }
        const count = (counts.get(key) ?? 0) + amount;
        counts.set(key, count);
        return count;
      },
      read: async (key) => counts.get(key) ?? 0,
      purgeExpired: async () => 0,
    };
    const logs = new LogCapture();
    let now = Date.parse('2026-12-18T02:00:00.000Z');
    const limits = new SharedLimits({
      store,
      now: () => now,
      logger: createLogger('info', logs),
      fallbackCounter: testCounter('retry_fallback_total'),
      retryStoreAfterMs: 5000,
    });
    const limiter = limits.limiter({ name: 'retry-test', limit: 2, windowMs: 60_000 });
    expect(await limiter.take('a')).toBeNull();
    expect(await limiter.take('a')).toBeNull();
    expect(await limiter.take('a')).toBe(60);
    // One failed round trip; the next steps did not ask the store during the retry period.
    expect(failures).toBe(1);
    now += 5000;
    healthy = true;
    expect(await limiter.take('b')).toBeNull();
    expect(counts.size).toBe(1);
    expect(logs.lines.filter((line) => line.includes('shared rate limits unavailable'))).toHaveLength(1);
    expect(logs.lines.filter((line) => line.includes('shared rate limits available again'))).toHaveLength(1);
  });
});

describe('expired counters', () => {
  it('are purged in bounded batches, live ones kept', async () => {
    const store = postgresLimitStore(database);
    const now = new Date(instant);
    const ended = new Date(now.getTime() - 1000);
    for (let index = 0; index < 5; index += 1) await store.increment(`purge-test|old-${index}|1`, 1, ended);
    await store.increment('purge-test|live|2', 1, new Date(now.getTime() + 60_000));
    // Other tests' counters of past windows are purged too; every round takes at most its batch.
    const purged: number[] = [];
    for (let round = 0; round < 100 && purged.at(-1) !== 0; round += 1) purged.push(await store.purgeExpired(now, 2));
    expect(purged.at(-1)).toBe(0);
    expect(Math.max(...purged)).toBe(2);
    expect(purged.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(5);
    const left = await database.db
      .select({ key: rateLimitBuckets.key })
      .from(rateLimitBuckets)
      .where(sql`${rateLimitBuckets.key} like 'purge-test|%'`);
    expect(left.map((row) => row.key)).toEqual(['purge-test|live|2']);
  });
});
