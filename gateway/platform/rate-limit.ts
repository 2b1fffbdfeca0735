/**
 * A fixed-window request limiter kept in memory, per instance. The gateway's limits are shared
 * across instances through the database (shared-limits.ts); this one is their fallback while the
 * database does not answer. The number of keys is bounded so a flood of distinct addresses cannot
 * exhaust memory.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.js';
import { originatingAddress } from './client-address.js';
import { ApiError, type Message, message } from './errors.js';
import type { SharedLimiter } from './shared-limits.js';

export { type FixedWindowLimiter, fixedWindowLimiter } from './fixed-window.js';

/**
 * The client's address for per-address limits: the connection's peer, or, when the peer is one of
 * TRUSTED_PROXIES, the address it reported in X-Forwarded-For (see client-address.ts); `unknown`
 * in-process, where there is no connection.
 */
export function clientAddress(c: Context<AppEnv>): string {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    peer = undefined;
  }
  if (!peer) return 'unknown';
  return originatingAddress(peer, c.req.header('x-forwarded-for'), c.get('services').config.rateLimits.trustedProxies);
}

/** The 429 answer: a problem document with `Retry-After` (RFC 9110 §10.2.3) in whole seconds. */
export function rateLimited(
  retryAfterSeconds: number,
  detail: Message = message('rate.too_many_requests', { seconds: retryAfterSeconds }),
): ApiError {
  return new ApiError(
    'rate_limited',
    detail,
    { retryAfterSeconds },
    { headers: { 'Retry-After': String(retryAfterSeconds) } },
  );
}

/** Middleware answering `429 rate_limited` with `Retry-After` once `key` is over its limit. */
export function rateLimit(
  limiter: (c: Context<AppEnv>) => SharedLimiter,
  key: (c: Context<AppEnv>) => string,
): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const retryAfter = await limiter(c).take(key(c));
    if (retryAfter !== null) throw rateLimited(retryAfter);
    await next();
  };
}
