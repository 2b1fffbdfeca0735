/**
 * Error answers of the token endpoint in the shape OAuth 2.0 clients read (RFC 6749 §5.2):
 * `application/json` with `error` and `error_description`. The body is still our problem
 * document — `code`, `status`, `requestId` and the rest stay beside the two OAuth members — so
 * the endpoint's errors look like every other error to an operator reading them.
 *
 * It reshapes whatever error the endpoint answers with, wherever it arose (validation, body size,
 * rate limits, the database, draining), so it is installed before every other middleware.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { ApiError, type ErrorCode, type ProblemDocument, problemDocument, problemTitle } from '../platform/errors.js';

export const TOKEN_ENDPOINT_PATH = '/oauth/token';

/** The error codes of RFC 6749 §5.2; the catalogue has a code of the same name for each one we answer. */
export const oauthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
] as const;
/** For answers §5.2 has no code for: the registered codes for "try again later" and "our fault". */
export const oauthUnavailableCodes = ['temporarily_unavailable', 'server_error'] as const;
export type OAuthErrorCode = (typeof oauthErrorCodes)[number] | (typeof oauthUnavailableCodes)[number];

/** The OAuth `error` for one of our problem codes and statuses. */
export function oauthErrorFor(code: ErrorCode, status: number): OAuthErrorCode {
  const asOAuth = (oauthErrorCodes as readonly string[]).includes(code) ? (code as OAuthErrorCode) : undefined;
  if (asOAuth) return asOAuth;
  if (status === 429 || status === 503) return 'temporarily_unavailable';
  if (status >= 500) return 'server_error';
  // Anything else refused about the request itself: wrong media type, too large, malformed form.
  return 'invalid_request';
}

/**
 * RFC 6749 §5.2 allows only printable ASCII in `error_description`: the detail in English when
 * the answer is in Chinese (catalogue details are written in either), else the code's English title.
 */
const OAUTH_DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
function oauthDescription(problem: ProblemDocument, error: Error | undefined): string {
  if (problem.detail !== undefined && OAUTH_DESCRIPTION.test(problem.detail)) return problem.detail;
  const english = error instanceof ApiError ? problemDocument(error, undefined, undefined, 'en').detail : undefined;
  if (english !== undefined && OAUTH_DESCRIPTION.test(english)) return english;
  return problemTitle(problem.code, 'en');
}

/** Middleware for the token endpoint: problem documents go out as RFC 6749 §5.2 JSON. */
export const oauthErrorResponses: MiddlewareHandler<AppEnv> = async function oauthErrorResponses(c, next) {
  await next();
  if (c.res.status < 400 || !c.res.headers.get('content-type')?.startsWith('application/problem+json')) return;
  const problem = (await c.res.json()) as ProblemDocument;
  const body = {
    ...problem,
    error: oauthErrorFor(problem.code, c.res.status),
    error_description: oauthDescription(problem, c.error),
  };
  // Hono carries the old answer's headers (WWW-Authenticate, Retry-After, X-Request-Id) over, except its type.
  c.res = new Response(JSON.stringify(body), { status: c.res.status, headers: { 'Content-Type': 'application/json' } });
  c.res.headers.delete('Content-Length');
};
