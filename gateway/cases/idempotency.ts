/**
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a client that did not get an
 * answer repeats its request with the same `Idempotency-Key` and gets the first answer, whatever
 * happened in between.
 *
 * The key is reserved in its own short transaction before the work starts, so a concurrent
 * duplicate sees it at once and gets `409 idempotency_in_progress` rather than waiting. The work
 * then runs in a transaction that also records the answer on the key; if the work fails with an
 * unexpected error, the reservation is released so the client can try again. A reservation left
 * by a process that died mid-request is taken over after `abandonAfterMs`.
 */
import { createHash } from 'node:crypto';
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Database, Queryable } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { ApiError, type ErrorCode, errorCatalogue } from '../platform/errors.js';

const KEY_PATTERN = /^[\x21-\x7e]{8,200}$/;

export interface IdempotentRequest {
  clientId: string;
  /** The raw header value, or undefined when absent. */
  key: string | undefined;
  /** What the key is used for, e.g. `POST /v1/cases/{id}/submit:case_…`. */
  scope: string;
  /** The request content that must be identical on a repeat (canonical JSON). */
  body: unknown;
  abandonAfterMs?: number;
}

export interface IdempotentAnswer<T> {
  status: number;
  body: T;
  /** True when this is the stored answer of an earlier request. */
  replayed: boolean;
}

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
    throw new ApiError('idempotency_key_required', 'Send an Idempotency-Key header (a unique value, e.g. a UUID) so a repeated submission cannot open the case twice.');
  }
  if (!KEY_PATTERN.test(key)) throw new ApiError('validation_failed', 'The Idempotency-Key is 8 to 200 visible ASCII characters.');
  return key;
}

/**
 * Runs `work` once per (client, key). `work` gets the transaction to write in; its answer is stored
 * in the same transaction. ApiErrors thrown by `work` (a refusal: 4xx) are stored too, so the same
 * request keeps getting the same refusal; anything else releases the key.
 */
export async function withIdempotency<T>(db: Database, request: IdempotentRequest, work: (tx: Queryable) => Promise<{ status: number; body: T }>): Promise<IdempotentAnswer<T>> {
  const key = requireIdempotencyKey(request.key);
  const hash = requestHash(request.scope, request.body);
  const abandonAfterMs = request.abandonAfterMs ?? 60_000;

  const reserved = await db
    .insert(idempotencyKeys)
    .values({ clientId: request.clientId, key, scope: request.scope, requestHash: hash })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (reserved.length === 0) {
    const [existing] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.clientId, request.clientId), eq(idempotencyKeys.key, key)));
    if (!existing) throw new ApiError('idempotency_in_progress', 'A request with this Idempotency-Key was just released; repeat it.');
    if (existing.requestHash !== hash || existing.scope !== request.scope) {
      throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request; use a new key for a new request.');
    }
    if (existing.responseStatus !== null) {
      if (existing.responseStatus >= 400) throw refusalFromStored(existing.responseBody);
      return { status: existing.responseStatus, body: existing.responseBody as T, replayed: true };
    }
    // Still in progress, unless its process died: take over a reservation older than the limit.
    const takenOver = await db
      .update(idempotencyKeys)
      .set({ createdAt: new Date() })
      .where(
        and(
          eq(idempotencyKeys.clientId, request.clientId),
          eq(idempotencyKeys.key, key),
          isNull(idempotencyKeys.responseStatus),
          lt(idempotencyKeys.createdAt, new Date(Date.now() - abandonAfterMs)),
        ),
      )
      .returning({ key: idempotencyKeys.key });
    if (takenOver.length === 0) throw new ApiError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; repeat it in a moment.');
  }

  try {
    return await db.transaction(async (tx) => {
      let answer: { status: number; body: T };
      try {
        answer = await work(tx);
      } catch (error) {
        if (error instanceof ApiError && error.status < 500) {
          // A refusal is an answer too; it is recorded outside the failed transaction below.
          throw new StoredRefusal(error);
        }
        throw error;
      }
      await tx
        .update(idempotencyKeys)
        .set({ responseStatus: answer.status, responseBody: answer.body, completedAt: new Date() })
        .where(and(eq(idempotencyKeys.clientId, request.clientId), eq(idempotencyKeys.key, key)));
      return { ...answer, replayed: false };
    });
  } catch (error) {
    if (error instanceof StoredRefusal) {
      await db
        .update(idempotencyKeys)
        .set({ responseStatus: error.refusal.status, responseBody: storedRefusal(error.refusal), completedAt: new Date() })
        .where(and(eq(idempotencyKeys.clientId, request.clientId), eq(idempotencyKeys.key, key)));
      throw error.refusal;
    }
    await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.clientId, request.clientId), eq(idempotencyKeys.key, key)));
    throw error;
  }
}

interface StoredRefusalBody {
  code: ErrorCode;
  detail: string;
  extras: Record<string, unknown>;
}

function storedRefusal(error: ApiError): StoredRefusalBody {
  return { code: error.code, detail: error.message, extras: { ...error.extras } };
}

function refusalFromStored(stored: unknown): ApiError {
  const body = stored as Partial<StoredRefusalBody> | null;
  if (!body || typeof body.code !== 'string' || !Object.hasOwn(errorCatalogue, body.code)) return new ApiError('conflict', 'The first request with this Idempotency-Key was refused.');
  return new ApiError(body.code, body.detail, body.extras ?? {});
}

/** Carries a refusal out of the transaction (rolling it back) to be recorded on the key. */
class StoredRefusal extends Error {
  constructor(readonly refusal: ApiError) {
    super(refusal.message);
  }
}
