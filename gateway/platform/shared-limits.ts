/**
 * Rate limits that hold across instances: counters in PostgreSQL (`rate_limit_buckets`), one row
 * per limit, subject and fixed window, so N instances behind a balancer enforce one allowance
 * instead of N. Windows are aligned to the epoch (window number = ⌊now / window⌋), so every
 * instance agrees on them as far as their clocks agree (NTP).
 *
 * One statement per counting step — `INSERT … ON CONFLICT DO UPDATE SET count = count + n
 * RETURNING count` — no read-modify-write, no transaction. To keep the hot path cheap on large
 * limits, an instance leases a share of the allowance at once (1 % of the limit, at least 1): the
 * requests of a lease cost no round trip. The sum of what all instances are granted never exceeds
 * the limit; an instance's unused lease at the end of a window is lost, so a client may be refused
 * up to (instances × (lease − 1)) requests early (requests of one subject that find an instance's
 * lease spent together wait for the one share one of them fetches). Small limits (sign-ins: under
 * 200) lease one at a time and are exact. A subject found over its limit is refused locally until its window
 * ends, so a flood of refused requests costs no database work either.
 *
 * When the store fails (database down, pool exhausted), counting falls back to this instance's
 * memory with the same limits — the allowance is again per instance — for `retryStoreAfterMs`
 * before the store is tried again; the first failure of an outage is logged (and its recovery),
 * every counting step that fell back is counted in `onewindow_shared_limits_fallback_total`.
 */
import { inArray, lte } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { DatabaseHandle } from '../db/client.js';
import { rateLimitBuckets } from '../db/schema.js';
import { type FixedWindowLimiter, fixedWindowLimiter } from './fixed-window.js';

const INCREMENT = `insert into rate_limit_buckets (key, count, expires_at) values ($1, $2, $3)
  on conflict (key) do update set count = rate_limit_buckets.count + excluded.count returning count`;
const READ = 'select count from rate_limit_buckets where key = $1';

/** Counts kept somewhere every instance sees. */
export interface LimitStore {
  /** Adds `amount` to the counter `key` (created at 0, dropped after `expiresAt`); answers the new count. */
  increment(key: string, amount: number, expiresAt: Date): Promise<number>;
  /** The counter `key`, 0 when there is none. */
  read(key: string): Promise<number>;
  /** Removes at most `batchSize` counters that expired at `now`; answers how many. */
  purgeExpired(now: Date, batchSize: number): Promise<number>;
}

/** The store in the gateway's database: the single-statement counter described above. */
export function postgresLimitStore(database: Pick<DatabaseHandle, 'db' | 'preparedText'>): LimitStore {
  const { db } = database;
  return {
    // Fixed statement texts, prepared once per connection: building them per call with drizzle
    // cost twice the library's CPU on the one-statement sign-in path (bench:limits).
    async increment(key, amount, expiresAt) {
      const [row] = await database.preparedText<{ count: string | number }>(INCREMENT, [
        key,
        amount,
        // As text: the gateway's driver leaves timestamps to drizzle and takes no Date.
        expiresAt.toISOString(),
      ]);
      if (!row) throw new Error('shared limits: the counter statement returned no row');
      return Number(row.count);
    },
    async read(key) {
      const [row] = await database.preparedText<{ count: string | number }>(READ, [key]);
      return row ? Number(row.count) : 0;
    },
    async purgeExpired(now, batchSize) {
      // Bounded: one purge never holds many row locks nor runs long, however many rows expired.
      const expired = db
        .select({ key: rateLimitBuckets.key })
        .from(rateLimitBuckets)
        .where(lte(rateLimitBuckets.expiresAt, now))
        .limit(batchSize);
      const deleted = await db
        .delete(rateLimitBuckets)
        .where(inArray(rateLimitBuckets.key, expired))
        .returning({ key: rateLimitBuckets.key });
      return deleted.length;
    },
  };
}

/** A limiter whose answers may need the database. */
export interface SharedLimiter {
  /** Counts one event for `subject`; the seconds to wait when over the limit, else null. */
  take(subject: string): Promise<number | null>;
  /**
   * `take` when this instance can decide alone (a lease share left, or the subject refused for
   * this window): the same answer without a promise. Undefined when the store must be asked:
   * then nothing was counted and `take` is to be called.
   */
  takeLocally(subject: string): number | null | undefined;
  /** The seconds to wait when `subject` is already at its limit, else null; counts nothing. */
  blocked(subject: string): Promise<number | null>;
}

export interface SharedLimitsOptions {
  store: LimitStore;
  /** Milliseconds since the epoch; the gateway's clock (a fixed one in tests). */
  now: () => number;
  logger: Logger;
  /** `onewindow_shared_limits_fallback_total{limit}`: counting steps done in memory because the store failed. */
  fallbackCounter: Counter<'limit'>;
  /** How long to count in memory after a store failure before asking the store again (default 5 s). */
  retryStoreAfterMs?: number;
  /**
   * How long a counting step waits for the store (default 1 s). A store that does not answer in
   * time (a lock, an overloaded database) is treated as failed: the request is decided in memory
   * instead of waiting with it. A late increment still counts in the store, so the error is on
   * the side of refusing early, never of granting more.
   */
  storeTimeoutMs?: number;
  /** Least time between two purges of expired counters by this instance (default 60 s). */
  purgeIntervalMs?: number;
  /** Expired counters removed by one purge statement (default 1000). */
  purgeBatchSize?: number;
  /** Subjects remembered per limiter (leases, refusals, the fallback's windows); the oldest go first. */
  maxSubjects?: number;
}

export interface SharedLimitDefinition {
  /** A short name, the first part of the counter key and the metric label: `client-requests`. */
  name: string;
  limit: number;
  windowMs: number;
}

interface LocalState {
  window: number;
  /** Granted by the store and not yet used in this window. */
  leased: number;
  /** Refused in this window: no more store round trips until it ends (once `leased` is used up). */
  exhausted: boolean;
  /**
   * The lease being fetched: requests that find the lease spent meanwhile wait for it instead of
   * each fetching one (fifty concurrent fetches would draw fifty leases and keep one).
   */
  refilling?: Promise<void>;
}

/**
 * The limiters of one instance over one store. Keeps the store's health (one outage is one log
 * line, for all limits) and the purge schedule.
 */
export class SharedLimits {
  private readonly retryStoreAfterMs: number;
  private readonly storeTimeoutMs: number;
  private readonly purgeIntervalMs: number;
  private readonly purgeBatchSize: number;
  private readonly maxSubjects: number;
  private storeDownUntil = 0;
  private outageLogged = false;
  private nextPurgeAt = 0;
  private purging: Promise<void> | undefined;

  constructor(private readonly options: SharedLimitsOptions) {
    this.retryStoreAfterMs = options.retryStoreAfterMs ?? 5000;
    this.storeTimeoutMs = options.storeTimeoutMs ?? 1000;
    this.purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
    this.purgeBatchSize = options.purgeBatchSize ?? 1000;
    this.maxSubjects = options.maxSubjects ?? 100_000;
  }

  /** A limiter counting `definition.limit` events per subject per window across all instances. */
  limiter(definition: SharedLimitDefinition): SharedLimiter {
    const { name, limit, windowMs } = definition;
    const leaseSize = Math.max(1, Math.floor(limit / 100));
    const local = new Map<string, LocalState>();
    const fallback: FixedWindowLimiter = fixedWindowLimiter(limit, windowMs, this.maxSubjects);
    this.options.fallbackCounter.inc({ limit: name }, 0);

    const windowOf = (now: number) => Math.floor(now / windowMs);
    const secondsLeft = (window: number, now: number) => Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
    const keyOf = (subject: string, window: number) => `${name}|${subject}|${window}`;
    const stateOf = (subject: string, window: number): LocalState => {
      let state = local.get(subject);
      if (state && state.window === window) return state;
      if (!state && local.size >= this.maxSubjects) {
        // Forget other windows' subjects first, then the oldest (a Map keeps insertion order).
        for (const [other, entry] of local) if (entry.window !== window) local.delete(other);
        if (local.size >= this.maxSubjects) local.delete(local.keys().next().value as string);
      }
      state = { window, leased: 0, exhausted: false };
      local.delete(subject);
      local.set(subject, state);
      return state;
    };

    const decideLocally = (subject: string, now: number): number | null | undefined => {
      const window = windowOf(now);
      const state = stateOf(subject, window);
      // A lease share left is within the allowance even once another fetch found it spent.
      if (state.leased > 0) {
        state.leased -= 1;
        return null;
      }
      if (state.exhausted) return secondsLeft(window, now);
      return undefined;
    };

    return {
      takeLocally: (subject) => decideLocally(subject, this.options.now()),
      take: async (subject) => {
        for (;;) {
          const now = this.options.now();
          const local = decideLocally(subject, now);
          if (local !== undefined) return local;
          const window = windowOf(now);
          const state = stateOf(subject, window);
          // Another request is fetching this subject's lease: decide again once it has (each
          // round either takes from a lease, finds the subject refused, or fetches one itself).
          if (state.refilling) {
            await state.refilling;
            continue;
          }
          if (!this.storeAvailable(now)) return this.fellBack(name, () => fallback.take(subject, now));
          let refilled = () => {};
          state.refilling = new Promise<void>((resolve) => {
            refilled = resolve;
          });
          let count: number;
          try {
            const windowEnd = new Date((window + 1) * windowMs);
            count = await this.intime(this.options.store.increment(keyOf(subject, window), leaseSize, windowEnd));
          } catch (error) {
            this.storeFailed(now, error);
            return this.fellBack(name, () => fallback.take(subject, now));
          } finally {
            state.refilling = undefined;
            refilled();
          }
          this.storeAnswered(now);
          // What the store had before our lease; the part of the lease still under the limit is ours.
          const granted = Math.min(leaseSize, Math.max(0, limit - (count - leaseSize)));
          if (granted === 0) {
            state.exhausted = true;
            return secondsLeft(window, now);
          }
          // Added: a share left from before (used before a refusal, see decideLocally) stays ours.
          state.leased += granted - 1;
          return null;
        }
      },
      blocked: async (subject) => {
        const now = this.options.now();
        const window = windowOf(now);
        const state = stateOf(subject, window);
        if (state.exhausted) return secondsLeft(window, now);
        if (!this.storeAvailable(now)) return this.fellBack(name, () => fallback.blocked(subject, now));
        let count: number;
        try {
          count = await this.intime(this.options.store.read(keyOf(subject, window)));
        } catch (error) {
          this.storeFailed(now, error);
          return this.fellBack(name, () => fallback.blocked(subject, now));
        }
        this.storeAnswered(now);
        if (count < limit) return null;
        state.exhausted = true;
        return secondsLeft(window, now);
      },
    };
  }

  /** `work`, or a failure once the store has taken `storeTimeoutMs` (the work goes on unobserved). */
  private intime<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`shared limits: the store did not answer within ${this.storeTimeoutMs} ms`)),
        this.storeTimeoutMs,
      );
    });
    work.catch(() => {}); // A failure after the time limit has nobody left to tell.
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  /** Removes expired counters now (one bounded batch); the limiters also do it every purge interval. */
  async purgeExpired(): Promise<number> {
    return this.options.store.purgeExpired(new Date(this.options.now()), this.purgeBatchSize);
  }

  /** Waits for a purge in progress (tests; shutdown). */
  async settled(): Promise<void> {
    await this.purging;
  }

  private storeAvailable(now: number): boolean {
    return now >= this.storeDownUntil;
  }

  private fellBack(name: string, count: () => number | null): number | null {
    this.options.fallbackCounter.inc({ limit: name });
    return count();
  }

  private storeFailed(now: number, error: unknown): void {
    this.storeDownUntil = now + this.retryStoreAfterMs;
    if (this.outageLogged) return;
    this.outageLogged = true;
    this.options.logger.warn(
      { err: { message: messageOf(error) }, retryStoreAfterMs: this.retryStoreAfterMs },
      'shared rate limits unavailable: counting in this instance only until the database answers',
    );
  }

  private storeAnswered(now: number): void {
    if (this.outageLogged) {
      this.outageLogged = false;
      this.options.logger.info('shared rate limits available again: counting across instances');
    }
    if (now >= this.nextPurgeAt && this.purging === undefined) {
      this.nextPurgeAt = now + this.purgeIntervalMs;
      // Off the request's path: its answer does not wait for the purge, and a failed purge waits for the next one.
      this.purging = this.purgeExpired()
        .then(
          () => undefined,
          (error: unknown) => {
            const message = messageOf(error);
            this.options.logger.warn({ err: { message } }, 'purging expired rate-limit counters failed');
          },
        )
        .finally(() => {
          this.purging = undefined;
        });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
