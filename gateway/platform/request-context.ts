/**
 * The first middleware of every request: request id, draining check, baseline security headers
 * (no sniffing, no referrer, no caching, no framing), the access log line and the request
 * metrics. The request's logger is made on first use (`requestLogger`): most requests log only
 * their access line.
 */
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv, AppServices } from './context.js';
import { ApiError, problemResponse, message } from './errors.js';
import { containsIdentifier } from './identifier-masking.js';
import { type AccessLine, accessLineWriter } from './logger.js';
import { nodeResponseOf, requestHeader } from './node-http.js';

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Every answer's policy unless it sets its own: load nothing, be framed by nobody. */
export const BASELINE_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * Headers every answer carries unless its route sets its own (Cache-Control, the policy of an
 * HTML page). Nothing of ours may be framed (clickjacking): CSP for today's browsers,
 * X-Frame-Options for old ones.
 */
const BASELINE_HEADERS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cache-Control', 'no-store'],
  ['Content-Security-Policy', BASELINE_CONTENT_SECURITY_POLICY],
  ['X-Frame-Options', 'DENY'],
];

function newRequestId(): string {
  // randomUUID draws from a cached entropy pool: far cheaper per request than randomBytes.
  return `req_${randomUUID().replaceAll('-', '')}`;
}

export function requestContext(services: AppServices): MiddlewareHandler<AppEnv> {
  const { metrics, lifecycle } = services;
  // Made at the first request: apps built for inspection only (the route sweep) have no logger.
  let writeAccessLine: ((line: AccessLine) => void) | undefined;
  const { bodyLimitBytes } = services.config;
  return async function requestContextMiddleware(c, next) {
    const started = performance.now();
    const offered = requestHeader(c, 'x-request-id');
    // An offered id is echoed and put on every log line: one shaped like an ID number is replaced.
    const requestId =
      offered && WELL_FORMED_REQUEST_ID.test(offered) && !containsIdentifier(offered) ? offered : newRequestId();
    c.set('requestId', requestId);
    c.set('services', services);
    // On Node's response, where Node merges them with the answer's own when it writes the head
    // (the answer's win): a web Headers object per request cost more than the rest of a small
    // read's platform work. In `app.request` (tests) there is no Node response: after the answer.
    const outgoing = nodeResponseOf(c);
    if (outgoing) {
      outgoing.setHeader('X-Request-Id', requestId);
      for (const [name, value] of BASELINE_HEADERS) outgoing.setHeader(name, value);
    }

    if (lifecycle.draining) {
      c.res = problemResponse(c, new ApiError('shutting_down', message('request.shutting_down')));
      c.header('Connection', 'close');
      c.header('Retry-After', '1');
    } else if (readWithOversizeBody(c, bodyLimitBytes)) {
      // GET and HEAD routes have no body-limit middleware (they read no body): a body sent with
      // one over the limit is refused here, as on every other route, instead of drained unread.
      c.res = problemResponse(
        c,
        new ApiError('payload_too_large', message('request.body_too_large', { maxBytes: bodyLimitBytes })),
      );
      c.header('Connection', 'close');
    } else {
      await next();
      // A request that was in flight when draining began closes its connection when done, so
      // keep-alive clients reconnect to another instance instead of holding this one open.
      if (lifecycle.draining) c.header('Connection', 'close');
    }
    if (!outgoing) addBaselineHeaders(c.res.headers, requestId);

    // The route template, not the path: ids must not reach logs or metric labels.
    const route = routeOrUnmatched(c);
    const seconds = (performance.now() - started) / 1000;
    const status = c.res.status;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    // Straight on the service logger's destination: a child logger per request, or pino's generic
    // serialiser, cost more than the line.
    writeAccessLine ??= accessLineWriter(services.logger);
    writeAccessLine({ requestId, method: c.req.method, route, status, durationMs: Math.round(seconds * 10_000) / 10 });
  };
}

/** A GET or HEAD announcing a body over the limit, or a chunked one (whose size is unknown). */
function readWithOversizeBody(c: Context<AppEnv>, limit: number): boolean {
  const method = c.req.method;
  if (method !== 'GET' && method !== 'HEAD') return false;
  const header = (name: string) => requestHeader(c, name);
  if (header('transfer-encoding') !== undefined) return true;
  const length = header('content-length');
  return typeof length === 'string' && Number(length) > limit;
}

function addBaselineHeaders(headers: Headers, requestId: string): void {
  try {
    headers.set('X-Request-Id', requestId);
    for (const [name, value] of BASELINE_HEADERS) if (!headers.has(name)) headers.set(name, value);
  } catch {
    // Immutable headers (Response.redirect and friends): leave them as they are.
  }
}

function routeOrUnmatched(c: Context<AppEnv>): string {
  const path = routePath(c, -1);
  return path === '/*' || path === '*' ? 'unmatched' : path;
}
