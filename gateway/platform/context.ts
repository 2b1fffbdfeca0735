/**
 * The typed Hono context shared by every route: what middleware puts on the context, declared
 * once here so handlers read `c.get('principal')` and friends with their types (not `c.var`:
 * Hono builds a new object of all the variables at every `c.var` access).
 */
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { GatewayServices } from './services.js';

export interface AppVariables {
  /** Request id: the caller's X-Request-Id if well-formed, else one we generated. */
  requestId: string;
  /** pino child logger bound to this request's id: use `requestLogger(c)`, which makes it on first use. */
  logger: Logger | undefined;
  /** The authenticated client, set by the auth middleware on protected routes. */
  principal: Principal;
  /** Everything built at start: config, database, keys, metrics. */
  services: GatewayServices;
}

export interface AppEnv {
  Variables: AppVariables;
}
