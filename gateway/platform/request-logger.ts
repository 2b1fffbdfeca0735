/**
 * A request's logger, bound to its id, made when first asked for: most requests log only their
 * access line, which the request context writes on the service logger with the id in it.
 */
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from './context.js';

export function requestLogger(c: Context<AppEnv>): Logger {
  const made = c.get('logger');
  if (made) return made;
  const logger = c.get('services').logger.child({ requestId: c.get('requestId') });
  c.set('logger', logger);
  return logger;
}
