/**
 * Bearer-token authentication and scope checks for protected routes.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { rateLimited } from '../platform/rate-limit.js';
import type { Scope } from './scopes.js';
import { TokenRejected } from './tokens.js';
import { requestLogger } from '../platform/request-logger.js';
import { requestHeader } from '../platform/node-http.js';

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)$/i;

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return BEARER.exec(header)?.[1];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface RequireScopesOptions {
  /** A static bearer token also accepted (the metrics scrape token); checked in constant time. */
  staticToken?: (services: AppEnv['Variables']['services']) => string | undefined;
}

/** Authenticates the caller and checks it holds every one of `scopes`. */
export function requireScopes(scopes: readonly Scope[], options: RequireScopesOptions = {}): MiddlewareHandler<AppEnv> {
  return async function requireScopesMiddleware(c, next) {
    const header = requestHeader(c, 'authorization');
    if (!header) {
      throw new ApiError(
        'unauthenticated',
        message('auth.token_required'),
        {},
        {
          headers: { 'WWW-Authenticate': 'Bearer realm="onewindow"' },
        },
      );
    }
    const token = bearerToken(header);
    const services = c.get('services');
    const staticToken = options.staticToken?.(services);
    if (token && staticToken && sameSecret(token, staticToken)) return next();
    if (!token) throw invalidToken();
    // A token seen before is answered from the cache without a promise (most requests).
    let principal = services.tokens.cachedPrincipal(token);
    try {
      principal ??= await services.tokens.verify(token);
      if (services.disabledClients.has(principal.clientId)) throw new TokenRejected('client disabled');
    } catch (error) {
      if (error instanceof TokenRejected) {
        requestLogger(c).info({ reason: error.reason }, 'token rejected');
        throw invalidToken();
      }
      throw error;
    }
    c.set('principal', principal);
    const counted = limitClientRequests(services, principal.clientId);
    if (counted) await counted;
    const granted = principal.scopes;
    const missing = scopes.filter((scope) => !granted.has(scope));
    if (missing.length > 0) {
      throw new ApiError(
        'insufficient_scope',
        message('auth.scope_missing', { scopes: missing.join(' ') }),
        { requiredScopes: scopes },
        {
          headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"` },
        },
      );
    }
    return next();
  };
}

/**
 * Counts one request of the client; 429 `rate_limited` with Retry-After once over
 * CLIENT_REQUESTS_PER_MINUTE. Answers without a promise when the instance's lease decides (most
 * requests), with one when the shared counter must be asked.
 */
export function limitClientRequests(
  services: AppEnv['Variables']['services'],
  clientId: string,
): Promise<void> | undefined {
  const limiter = services.clientRequestLimiter;
  const refuseOver = (retryAfter: number | null) => {
    if (retryAfter !== null) throw rateLimited(retryAfter, message('rate.client_requests', { seconds: retryAfter }));
  };
  const decided = limiter.takeLocally(clientId);
  if (decided !== undefined) {
    refuseOver(decided);
    return undefined;
  }
  return limiter.take(clientId).then(refuseOver);
}

function invalidToken(): ApiError {
  return new ApiError(
    'invalid_token',
    message('auth.token_invalid'),
    {},
    {
      headers: { 'WWW-Authenticate': 'Bearer realm="onewindow", error="invalid_token"' },
    },
  );
}
