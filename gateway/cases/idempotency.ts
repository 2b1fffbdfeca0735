/**
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a client that did not get an
 * answer repeats its request with the same `Idempotency-Key` and gets the first answer, whatever
 * happened in between.
 *
 * One transaction does everything: it takes a transaction-scoped advisory lock on (client, key)
 * without waiting, looks for a stored answer, runs the work and records the answer on the key.
 * The lock is the reservation, so it cannot outlive its holder: a commit, a rollback, a crashed
 * gateway, a lost connection or a database restart all release it at once, and a client told
 * `503, Retry-After: 2` during an outage can repeat its request as soon as the database is back.
 * A duplicate while the first request holds the lock gets `409 idempotency_in_progress` at once
 * rather than waiting. (On embedded PGlite, which runs one transaction at a time, a duplicate
 * waits for the first to finish and then gets its stored answer.)
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { type Database, type Queryable, rowsOf } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { reusableStatement, textStatement, valuePlaceholder } from '../db/statements.js';
import { ApiError, type DetailText, type ErrorCode, errorCatalogue, errorForLog, message } from '../platform/errors.js';
import type { DataProtection } from '../protection/data-protection.js';

const KEY_PATTERN = /^[\x21-\x7e]{8,200}$/;

export interface IdempotentRequest {
  clientId: string;
  /** The raw header value, or undefined when absent. */
  key: string | undefined;
  /** What the key is used for, e.g. `POST /v1/cases/{id}/submit:case_…`. */
  scope: string;
  /** The request content that must be identical on a repeat (canonical JSON). */
  body: unknown;
  /** Seals the stored answer (it shows the case with its form) when data protection is on. */
  protection: DataProtection;
  /**
   * Age after which a reservation row written by the previous version of this module (no answer
   * yet, no lock) counts as abandoned and is taken over. Default 60 s.
   */
  abandonAfterMs?: number;
}

/**
 * This request's answer (`json`: `body` as JSON text, written once: stored and sent alike), or an
 * earlier request's stored one: its `body` is what the work chose to store (`stored`), so a caller
 * that stores a reference rebuilds the answer from it.
 */
export type IdempotentAnswer<T> =
  | { status: number; body: T; replayed: false; json: string }
  | { status: number; body: unknown; replayed: true };

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestHash(scope: string, body: unknown): string {
  return createHash('sha256').update(scope).update('\n').update(canonicalJson(body)).digest('hex');
}

export function requireIdempotencyKey(key: string | undefined): string {
  if (key === undefined || key.trim() === '') {
    throw new ApiError('idempotency_key_required', message('idempotency.key_required'));
  }
  if (!KEY_PATTERN.test(key)) throw new ApiError('validation_failed', message('idempotency.key_format'));
  return key;
}

type KeyRow = typeof idempotencyKeys.$inferSelect;

const selectKey = reusableStatement<{ clientId: string; key: string }, KeyRow[]>((on) =>
  on
    .select()
    .from(idempotencyKeys)
    .where(
      and(eq(idempotencyKeys.clientId, sql.placeholder('clientId')), eq(idempotencyKeys.key, sql.placeholder('key'))),
    )
    .prepare('select_idempotency_key'),
);

/** The key's row to store; the answer as the JSON text to store (`DataProtection.sealJsonText`). */
type StoredKeyValues = Omit<Required<KeyRow>, 'responseBody'> & { responseJson: string };

const storeAnswer = reusableStatement<StoredKeyValues, unknown>((on) => {
  const stored = {
    scope: valuePlaceholder<string>('scope'),
    requestHash: valuePlaceholder<string>('requestHash'),
    responseStatus: valuePlaceholder<number>('responseStatus'),
    // The text as written, not through the column's encoder (which would stringify it again).
    responseBody: sql`${sql.placeholder('responseJson')}::jsonb`,
    createdAt: valuePlaceholder<Date>('createdAt'),
    completedAt: valuePlaceholder<Date>('completedAt'),
  };
  return (
    on
      .insert(idempotencyKeys)
      .values({ clientId: valuePlaceholder<string>('clientId'), key: valuePlaceholder<string>('key'), ...stored })
      // Only an abandoned reservation of the previous version can be there (checked before).
      .onConflictDoUpdate({
        target: [idempotencyKeys.clientId, idempotencyKeys.key],
        set: stored,
        where: isNull(idempotencyKeys.responseStatus),
      })
      .prepare('store_idempotent_answer')
  );
});

/**
 * Runs `work` once per (client, key). `work` gets the transaction to write in (a savepoint of the
 * one holding the key's lock); its answer is stored in the same transaction. `work` may leave its
 * last writes unawaited (`written`, every statement issued before it returns): they go out with
 * the stored answer and the commit, and their failure rolls everything back. ApiErrors thrown by
 * `work` (a refusal: 4xx) are stored too, so the same request keeps getting the same refusal;
 * anything else rolls everything back, key included, so a repeat starts afresh. A work that
 * rebuilds its answer on a repeat gives `stored`, a reference to keep instead of the whole answer.
 */
export async function withIdempotency<T>(
  db: Database,
  request: IdempotentRequest,
  work: (tx: Queryable) => Promise<{ status: number; body: T; written?: Promise<unknown>; stored?: unknown }>,
): Promise<IdempotentAnswer<T>> {
  const key = requireIdempotencyKey(request.key);
  const hash = requestHash(request.scope, request.body);
  const abandonAfterMs = request.abandonAfterMs ?? 60_000;
  const startedAt = new Date();

  let stored: Promise<unknown> | undefined;
  const transaction = db.transaction(async (tx): Promise<IdempotentAnswer<T> | StoredRefusal> => {
    // Sent together (one round trip): the server runs the select after the lock statement, so
    // what it reads is what the lock's holder may rely on.
    const [locked, [existing]] = await Promise.all([
      tryLockKey(tx, request.clientId, key),
      selectKey(tx, { clientId: request.clientId, key }),
    ]);
    if (!locked) {
      throw new ApiError('idempotency_in_progress', message('idempotency.in_progress'));
    }
    if (existing) {
      if (existing.requestHash !== hash || existing.scope !== request.scope) {
        throw new ApiError('idempotency_key_reused', message('idempotency.key_reused'));
      }
      if (existing.responseStatus !== null) {
        if (existing.responseStatus >= 400) return new StoredRefusal(refusalFromStored(existing.responseBody));
        return { status: existing.responseStatus, body: existing.responseBody, replayed: true };
      }
      // A row without an answer is a reservation written by the previous version of this module
      // (reserve, then work in another transaction). Honoured while its request may still run.
      if (existing.createdAt.getTime() > Date.now() - abandonAfterMs) {
        throw new ApiError('idempotency_in_progress', message('idempotency.in_progress'));
      }
    }

    let answer: { status: number; body: unknown; json: string; storedJson: string };
    let written: Promise<unknown> | undefined;
    let refusal: ApiError | undefined;
    // A savepoint: a refusal undoes what the work wrote but keeps the lock, to record the refusal.
    // Sent ahead of the work's first statements, in the same round trip (`.then` sends it now);
    // on success it is simply released by the commit.
    const savepoint = tx.execute(sql`savepoint idempotent_work`).then(() => undefined);
    try {
      const [, done] = await Promise.all([savepoint, work(tx)]);
      const json = JSON.stringify(done.body);
      const storedJson = done.stored === undefined ? json : JSON.stringify(done.stored);
      answer = { status: done.status, body: done.body, json, storedJson };
      written = done.written;
      written?.catch(() => undefined);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      await savepoint;
      await tx.execute(sql`rollback to savepoint idempotent_work`);
      refusal = error;
      const body = storedRefusal(error);
      const json = JSON.stringify(body);
      answer = { status: error.status, body, json, storedJson: json };
    }
    const completedAt = new Date();
    // Not awaited here: the answer goes out with the commit, in one round trip. Should it fail, the
    // transaction is aborted and its commit rolls everything back; the failure is thrown below.
    const storing = storeAnswer(tx, {
      clientId: request.clientId,
      key,
      scope: request.scope,
      requestHash: hash,
      responseStatus: answer.status,
      responseJson: request.protection.sealJsonText('idempotency_keys.response_body', answer.storedJson),
      createdAt: startedAt,
      completedAt,
    });
    stored = written ? Promise.all([written, storing]) : storing;
    stored.catch(() => undefined);
    if (refusal) return new StoredRefusal(refusal);
    return { status: answer.status, body: answer.body as T, replayed: false, json: answer.json };
  });
  const outcome = await transaction.catch(async (error: unknown) => {
    // The answer's own failure says more than "rolled back instead of committed".
    await stored;
    throw error;
  });
  await stored;
  if (outcome instanceof StoredRefusal) throw outcome.refusal;
  return outcome;
}

/**
 * Takes the key's transaction-scoped advisory lock if it is free; false when another transaction
 * holds it. The 64-bit lock id is a hash of client and key (the key is visible ASCII, so the
 * newline cannot be forged into a collision).
 */
async function tryLockKey(tx: Queryable, clientId: string, key: string): Promise<boolean> {
  const [row] = await tryLockStatement(tx, [`onewindow:idempotency:${clientId}\n${key}`]);
  return row?.locked === true;
}

const tryLockStatement = textStatement<[lockName: string], { locked: boolean }>(
  'select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as locked',
);

interface StoredRefusalBody {
  code: ErrorCode;
  /** Both languages where the refusal had them (a replay is answered in the repeat's language). */
  detail: DetailText;
  extras: Record<string, unknown>;
}

function storedRefusal(error: ApiError): StoredRefusalBody {
  return { code: error.code, detail: error.detail ?? error.message, extras: { ...error.extras } };
}

function refusalFromStored(stored: unknown): ApiError {
  const body = stored as Partial<StoredRefusalBody> | null;
  if (!body || typeof body.code !== 'string' || !Object.hasOwn(errorCatalogue, body.code))
    return new ApiError('conflict', message('idempotency.first_refused'));
  return new ApiError(body.code, body.detail, body.extras ?? {});
}

/** A refusal that is the key's answer: returned from the transaction (so it commits), then thrown. */
class StoredRefusal {
  constructor(readonly refusal: ApiError) {}
}

/**
 * Removes at most `batchSize` keys whose request started before `before`, oldest first; answers
 * how many. A stored answer shows the case with its form, so keys are not kept for ever: once a
 * key is gone, the same key is a new request (a repeated submission of a submitted case is then
 * refused as `case_not_open`, never submitted twice). Locked rows are skipped: a key in use stays.
 */
export async function purgeExpiredKeys(db: Database, before: Date, batchSize: number): Promise<number> {
  const deleted = await db.execute(sql`
    delete from idempotency_keys
     where (client_id, key) in (
       select client_id, key from idempotency_keys
        where created_at < ${before.toISOString()}::timestamptz
        order by created_at
        limit ${batchSize}
          for update skip locked)
    returning 1`);
  return rowsOf(deleted).length;
}

export interface KeyPurgeSchedule {
  /** How long a key and its stored answer are kept after its request started. */
  retentionMs: number;
  /** Time between two purges (the first runs at start). */
  intervalMs: number;
  /** Keys removed by one statement; a purge runs at most `maxBatches` of them. */
  batchSize: number;
  maxBatches: number;
  now: () => Date;
  logger: Logger;
}

/**
 * Purges expired keys now and then every `intervalMs` (several instances may: each skips what
 * another has locked). Bounded per round, so a long-stopped purge catches up over several rounds
 * instead of one long statement. Returns a function that stops it after the round in progress.
 */
export function startKeyPurge(db: Database, schedule: KeyPurgeSchedule): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const round = () => {
    running = running.then(async () => {
      let purged = 0;
      try {
        const before = new Date(schedule.now().getTime() - schedule.retentionMs);
        for (let batch = 0; batch < schedule.maxBatches && !stopped; batch += 1) {
          const deleted = await purgeExpiredKeys(db, before, schedule.batchSize);
          purged += deleted;
          if (deleted < schedule.batchSize) break;
        }
        if (purged > 0) schedule.logger.info({ purged, before }, 'idempotency keys purged');
      } catch (error) {
        schedule.logger.warn(
          // A database error's message may quote values: logged as the project logs errors.
          { err: errorForLog(error), purged },
          'idempotency key purge failed; will retry',
        );
      }
    });
  };
  round();
  const timer = setInterval(round, schedule.intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
