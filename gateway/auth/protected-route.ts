/**
 * Protected operations: a route that needs a bearer token with given scopes. Here in auth, not in
 * the platform, because it builds auth's middleware; the platform's route helpers (publicRoute,
 * errorResponses, the body limits) stay below in platform/routes.ts.
 */
import { createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { ApiError } from '../platform/errors.js';
import { BEARER_SCHEME, type NamedRouteConfig, asArray, bodyLimitFor, errorResponses } from '../platform/routes.js';
import { type RequireScopesOptions, requireScopes } from './middleware.js';
import type { Scope } from './scopes.js';

type Middleware = MiddlewareHandler<AppEnv>;

/**
 * What a route's personal data is about: `subject` — the `{subjectId}` in its path; `case` — the
 * subject of the `{caseId}` in its path; `request` — a subject named in the body or the token,
 * or none yet (resolving one).
 */
export type PersonalDataKind = 'subject' | 'case' | 'request';

/** The OpenAPI extension that marks an operation returning or changing personal data. */
export const PERSONAL_DATA_EXTENSION = 'x-onewindow-personal-data';

/**
 * Authentication and scopes, with a refusal of an authenticated caller at a personal-data route
 * recorded before it is answered (the handler, and so the service's own audit, never runs).
 */
function scopesAuditingRefusals(
  scopes: readonly Scope[],
  authOptions: RequireScopesOptions | undefined,
  personalData: PersonalDataKind | undefined,
): Middleware {
  const authenticate = requireScopes(scopes, authOptions);
  if (personalData === undefined) return authenticate;
  return async function scopesAuditingRefusalsMiddleware(c, next) {
    let passed = false;
    try {
      await authenticate(c, async () => {
        passed = true;
        await next();
      });
    } catch (error) {
      // Only refusals of this middleware: what the handler threw is the handler's to record.
      if (!passed && error instanceof ApiError && error.code === 'insufficient_scope' && c.get('principal'))
        await c.get('services').recordRouteRefusal(c, personalData, error);
      throw error;
    }
  };
}

/**
 * An operation that needs a bearer token holding every scope in `scopes`. `personalData` marks an
 * operation that returns or changes personal data (see access/refusals.ts): its service asks the
 * access policy, and the OpenAPI document says so (`x-onewindow-personal-data`), which the
 * route-coverage test checks against what each route does.
 */
export function protectedRoute<R extends NamedRouteConfig>(
  config: R & {
    scopes: readonly Scope[];
    authOptions?: RequireScopesOptions;
    streamingBody?: boolean;
    personalData?: PersonalDataKind;
  },
) {
  const { scopes, authOptions, streamingBody, personalData, ...route } = config;
  const base = route as unknown as R;
  return createRoute({
    ...base,
    ...(personalData ? { [PERSONAL_DATA_EXTENSION]: personalData } : {}),
    security: [{ [BEARER_SCHEME]: [...scopes] }],
    // Every protected operation may answer 429: requests per client are limited (CLIENT_REQUESTS_PER_MINUTE).
    responses: { ...errorResponses(429), ...base.responses },
    middleware: [
      scopesAuditingRefusals(scopes, authOptions, personalData),
      ...(streamingBody ? [] : bodyLimitFor(base.method)),
      ...asArray(base.middleware),
    ],
  });
}
