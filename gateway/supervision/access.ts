/**
 * Who may open the supervision page: a caller holding `supervision:read`, shown either as an
 * access token (scripts, like every API route) or, for a person in a browser, as the client id
 * and secret of an auditor or administrator client over HTTP Basic — the browser asks for them
 * and sends them with every view, so no token has to be fetched by hand.
 *
 * Basic credentials are checked by the same function as at the token endpoint (`authenticateClient`:
 * one keyed hash per check, the same answer and time for an unknown id, a wrong secret and a disabled
 * client), so this adds no cheaper way of guessing secrets than `/oauth/token` already offers;
 * whatever rate limit guards the token endpoint must guard this route too.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { parseBasicCredentials } from '../auth/basic-credentials.js';
import { limitClientRequests, requireScopes } from '../auth/middleware.js';
import type { Scope } from '../auth/scopes.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError, problemResponse, message } from '../platform/errors.js';
import { clientAddress } from '../platform/rate-limit.js';
import { requestLogger } from '../platform/request-logger.js';

export const BEARER_CHALLENGE = 'Bearer realm="onewindow"';
export const BASIC_CHALLENGE = 'Basic realm="onewindow supervision", charset="UTF-8"';

export interface BasicOrBearerOptions {
  /** Scopes the caller must hold: in the token, or among the Basic client's registered scopes. */
  scopes: readonly Scope[];
  /**
   * The body of a refusal for a browser (a request that accepts text/html); problem documents
   * otherwise. It may read the request's language, nothing that needs to know who asks: it is
   * sent before anyone is known.
   */
  htmlRefusal?: (error: ApiError, c: Context<AppEnv>) => string | Promise<string>;
  /** Headers sent with an HTML refusal (its Content-Security-Policy). */
  htmlHeaders?: Record<string, string>;
}

/**
 * Authenticates by access token or HTTP Basic client credentials and checks the scopes.
 *
 * A refusal challenges a browser (a request accepting text/html) with Basic alone, which makes it
 * ask the person for the client id and secret: a browser reads a `WWW-Authenticate` line as one
 * challenge, and the Node server joins repeated header lines into one, so a line starting with
 * Bearer would never prompt. Other callers get both challenges, Bearer first as on every
 * protected route (RFC 9110 §11.6.1 lists challenges separated by commas).
 */
export function basicOrBearer(options: BasicOrBearerOptions): MiddlewareHandler<AppEnv> {
  const bearer = requireScopes(options.scopes);

  const refuse = async (c: Context<AppEnv>, error: ApiError): Promise<Response> => {
    const wantsHtml = /\btext\/html\b/.test(c.req.header('accept') ?? '');
    if (wantsHtml && options.htmlRefusal) {
      return c.html(await options.htmlRefusal(error, c), error.status, {
        ...options.htmlHeaders,
        'WWW-Authenticate': BASIC_CHALLENGE,
      });
    }
    const response = problemResponse(c, error);
    response.headers.set('WWW-Authenticate', `${BEARER_CHALLENGE}, ${BASIC_CHALLENGE}`);
    return response;
  };

  return async function basicOrBearerMiddleware(c, next) {
    const header = c.req.header('authorization');
    if (!header) {
      return refuse(c, new ApiError('unauthenticated', message('supervision.sign_in')));
    }
    if (!/^Basic\b/i.test(header)) return bearer(c, next);

    const credentials = parseBasicCredentials(header);
    if (!credentials) return refuse(c, new ApiError('invalid_client', message('auth.basic_invalid')));
    const services = c.get('services');
    const address = clientAddress(c);
    const plausible = await services.signInGuard.admit(address, credentials.id);
    const client = plausible
      ? await services.clientQueries.authenticate(services.clientSecrets, credentials.id, credentials.secret)
      : null;
    if (!client || services.disabledClients.has(client.id)) {
      await services.signInGuard.recordFailure(address, credentials.id);
      requestLogger(c).info({ scheme: 'basic' }, 'client credentials rejected');
      return refuse(c, new ApiError('invalid_client', message('auth.client_credentials_refused')));
    }
    const missing = options.scopes.filter((scope) => !client.scopes.includes(scope));
    if (missing.length > 0) {
      throw new ApiError(
        'insufficient_scope',
        message('supervision.scope_missing', { scopes: missing.join(' '), clientId: client.id }),
        { requiredScopes: options.scopes },
      );
    }
    c.set('principal', {
      clientId: client.id,
      kind: client.kind,
      scopes: new Set(client.scopes),
      departmentCode: client.departmentCode,
      subjectId: null,
      // No token: Basic credentials were checked for this one request.
      tokenId: `basic:${c.get('requestId')}`,
    });
    await limitClientRequests(services, client.id);
    return next();
  };
}
