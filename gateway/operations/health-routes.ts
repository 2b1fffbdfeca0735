/**
 * Liveness, readiness and Prometheus metrics.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';

const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.boolean()).optional(),
});

const healthzRoute = publicRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  tags: ['operations'],
  summary: 'Liveness: the process is running',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: HealthSchema } } } },
});

const readyzRoute = publicRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  tags: ['operations'],
  summary: 'Readiness: database reachable, migrations applied, not shutting down',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: HealthSchema } } },
    503: { description: 'Not ready', content: { 'application/json': { schema: HealthSchema } } },
  },
});

const metricsRoute = protectedRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  description: 'Needs a token with `metrics:read`, or the static METRICS_SCRAPE_TOKEN as a bearer token.',
  scopes: ['metrics:read'],
  authOptions: { staticToken: (services) => services.config.metricsScrapeToken },
  responses: {
    200: { description: 'Metrics in Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses(401, 403),
  },
});

/** Readiness probes are cheap but not free; a burst of probes shares one database round trip. */
const READINESS_CACHE_MS = 500;

export function registerHealthRoutes(app: OpenAPIHono<AppEnv>): void {
  let cached: { at: number; ready: Promise<boolean> } | undefined;

  app.openapi(healthzRoute, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(readyzRoute, async (c) => {
    const { database, lifecycle } = c.get('services');
    const now = Date.now();
    if (!cached || now - cached.at > READINESS_CACHE_MS) {
      cached = { at: now, ready: withTimeout(database.isReady(), 2000) };
    }
    const databaseReady = await cached.ready;
    const checks = { database: databaseReady, accepting: !lifecycle.draining };
    const ready = databaseReady && !lifecycle.draining;
    return c.json({ status: ready ? ('ok' as const) : ('unavailable' as const), checks }, ready ? 200 : 503);
  });

  app.openapi(metricsRoute, async (c) => {
    const { registry } = c.get('services').metrics;
    return c.text(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });
}

function withTimeout(check: Promise<boolean>, ms: number): Promise<boolean> {
  return Promise.race([check, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
}
