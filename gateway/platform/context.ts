/**
 * The typed Hono context shared by every route: what middleware puts on the context, declared
 * once here so handlers read `c.get('principal')` and friends with their types (not `c.var`:
 * Hono builds a new object of all the variables at every `c.var` access).
 *
 * The platform names only what it uses itself. The layers above add theirs by declaration
 * merging — the composition root (gateway/services.ts) makes `AppServices` everything built at
 * start, auth (auth/principal.ts) adds `principal` — so that imports run one way: a capability
 * imports the platform, the platform never imports a capability (test/import-direction.test.ts).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/client.js';
import type { GatewayMetrics } from './metrics.js';

export interface Lifecycle {
  /** Set on SIGTERM: new requests get 503 while in-flight ones finish. */
  draining: boolean;
}

/** Everything built at start. The platform's own needs; gateway/services.ts merges in the rest. */
export interface AppServices {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  metrics: GatewayMetrics;
  lifecycle: Lifecycle;
}

export interface AppVariables {
  /** Request id: the caller's X-Request-Id if well-formed, else one we generated. */
  requestId: string;
  /** pino child logger bound to this request's id: use `requestLogger(c)`, which makes it on first use. */
  logger: Logger | undefined;
  /** Everything built at start: config, database, keys, metrics. */
  services: AppServices;
}

export interface AppEnv {
  Variables: AppVariables;
}
