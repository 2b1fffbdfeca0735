/**
 * The first middleware of every request: request id, per-request logger, draining check,
 * baseline security headers (no sniffing, no referrer, no caching, no framing), the access log
 * line and the request metrics.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './context.js';
import { ApiError, problemResponse } from './errors.js';
import { containsIdentifier } from './identifier-masking.js';
import type { GatewayServices } from './services.js';

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Every answer's policy unless it sets its own: load nothing, be framed by nobody. */
export const BASELINE_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

function newRequestId(): string {
  // randomUUID draws from a cached entropy pool: far cheaper per request than randomBytes.
  return `req_${randomUUID().replaceAll('-', '')}`;
}

export function requestContext(services: GatewayServices): MiddlewareHandler<AppEnv> {
  const { metrics, lifecycle } = services;
  return async function requestContextMiddleware(c, next) {
    const started = performance.now();
    const offered = c.req.header('x-request-id');
    // An offered id is echoed and put on every log line: one shaped like an ID number is replaced.
    const requestId = offered && WELL_FORMED_REQUEST_ID.test(offered) && !containsIdentifier(offered) ? offered : newRequestId();
    const logger = services.logger.child({ requestId });
    c.set('requestId', requestId);
    c.set('logger', logger);
    c.set('services', services);
    // Set before the handler runs: Hono merges these into the response it builds, whereas
    // setting headers on a finished response makes it copy the whole Response each time.
    c.header('X-Request-Id', requestId);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
    // Nothing of ours may be framed (clickjacking): CSP for today's browsers, X-Frame-Options for
    // old ones. The policy suits an API answer; an HTML page sets its own, also with frame-ancestors.
    c.header('Content-Security-Policy', BASELINE_CONTENT_SECURITY_POLICY);
    c.header('X-Frame-Options', 'DENY');

    if (lifecycle.draining) {
      c.res = problemResponse(c, new ApiError('shutting_down', 'The gateway is shutting down; retry on another instance.'));
      c.header('Connection', 'close');
      c.header('Retry-After', '1');
    } else {
      await next();
      // A request that was in flight when draining began closes its connection when done, so
      // keep-alive clients reconnect to another instance instead of holding this one open.
      if (lifecycle.draining) c.header('Connection', 'close');
    }

    // Responses built without the context (problem documents, errors) get the same headers.
    if (!c.res.headers.has('X-Request-Id')) {
      try {
        c.res.headers.set('X-Request-Id', requestId);
        c.res.headers.set('X-Content-Type-Options', 'nosniff');
        c.res.headers.set('Referrer-Policy', 'no-referrer');
        if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
        if (!c.res.headers.has('Content-Security-Policy')) c.res.headers.set('Content-Security-Policy', BASELINE_CONTENT_SECURITY_POLICY);
        c.res.headers.set('X-Frame-Options', 'DENY');
      } catch {
        // Immutable headers (Response.redirect and friends): leave them as they are.
      }
    }

    // The route template, not the path: ids must not reach logs or metric labels.
    const route = routeOrUnmatched(c);
    const seconds = (performance.now() - started) / 1000;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    logger.info(
      { method: c.req.method, route, status: c.res.status, durationMs: Math.round(seconds * 10_000) / 10 },
      'request',
    );
  };
}

function routeOrUnmatched(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const path = routePath(c, -1);
  return path === '/*' || path === '*' ? 'unmatched' : path;
}
