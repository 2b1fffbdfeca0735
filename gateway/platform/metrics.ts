/**
 * Prometheus metrics. Each app has its own registry so tests can build many apps in one process.
 * Routes are labelled by their template (`/v1/clients/:id`), never by the raw path, so ids cannot
 * blow up label cardinality or leak into metrics.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** Stored documents found corrupt (and quarantined), by blob store driver. */
  blobCorruption: Counter<'store'>;
  /** Corrupt or quarantined documents repaired by storing the same content again. */
  blobRepairs: Counter<'store'>;
  /** Rate-limit counting steps done in this instance's memory because the shared store failed. */
  sharedLimitsFallback: Counter<'limit'>;
}

export function createMetrics(options: { processMetrics: boolean }): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'onewindow_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'onewindow_http_requests_total',
      help: 'HTTP requests by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'onewindow_http_request_duration_seconds',
      help: 'HTTP request latency by route template',
      labelNames: ['method', 'route'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    blobCorruption: new Counter({
      name: 'onewindow_blob_corruption_total',
      help: 'Stored documents whose bytes did not match their SHA-256 when read, checked or stored again (each is quarantined)',
      labelNames: ['store'],
      registers: [registry],
    }),
    blobRepairs: new Counter({
      name: 'onewindow_blob_repairs_total',
      help: 'Corrupt or quarantined documents repaired by storing the same content again',
      labelNames: ['store'],
      registers: [registry],
    }),
    sharedLimitsFallback: new Counter({
      name: 'onewindow_shared_limits_fallback_total',
      help: 'Rate-limit decisions made per instance because the shared counters in the database failed',
      labelNames: ['limit'],
      registers: [registry],
    }),
  };
}
