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
import { ApiError } from './errors.js';
import type { SharedLimiter } from './shared-limits.js';

interface Window {
  startedAt: number;
  count: number;
}

export interface FixedWindowLimiter {
  /** Counts one request for `key`; the seconds to wait when over the limit, else null. */
  take(key: string, now?: number): number | null;
  /** The seconds to wait when `key` is already over the limit, else null; counts nothing. */
  blocked(key: string, now?: number): number | null;
}

export function fixedWindowLimiter(limit: number, windowMs: number, maxKeys = 100_000): FixedWindowLimiter {
  const windows = new Map<string, Window>();
  return {
    take(key, now = Date.now()) {
      let window = windows.get(key);
      if (!window || now - window.startedAt >= windowMs) {
        if (!window && windows.size >= maxKeys) {
          // Drop expired windows first; if none, the oldest entry (Map keeps insertion order).
          for (const [candidate, entry] of windows) if (now - entry.startedAt >= windowMs) windows.delete(candidate);
          if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
        }
        window = { startedAt: now, count: 0 };
        windows.delete(key);
        windows.set(key, window);
      }
      window.count += 1;
      if (window.count <= limit) return null;
      return secondsLeft(window, now);
    },
    blocked(key, now = Date.now()) {
      const window = windows.get(key);
      if (!window || now - window.startedAt >= windowMs || window.count < limit) return null;
      return secondsLeft(window, now);
    },
  };
  function secondsLeft(window: Window, now: number): number {
    return Math.max(1, Math.ceil((window.startedAt + windowMs - now) / 1000));
  }
}

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
export function rateLimited(retryAfterSeconds: number, detail = `Too many requests; try again in ${retryAfterSeconds} s.`): ApiError {
  return new ApiError('rate_limited', detail, { retryAfterSeconds }, { headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/** Middleware answering `429 rate_limited` with `Retry-After` once `key` is over its limit. */
export function rateLimit(limiter: (c: Context<AppEnv>) => SharedLimiter, key: (c: Context<AppEnv>) => string): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const retryAfter = await limiter(c).take(key(c));
    if (retryAfter !== null) throw rateLimited(retryAfter);
    await next();
  };
}
