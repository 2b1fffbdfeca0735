/**
 * What a request that no route answers gets: 405 Method Not Allowed with `Allow` when its path is
 * one the app serves with other methods (RFC 9110 §15.5.6), a 204 with `Allow` for OPTIONS on such
 * a path (§9.3.7: OPTIONS asks exactly that), and 404 `route_not_found` otherwise.
 *
 * The path → methods table is built once from the routes registered when the app is created
 * (templates like `/v1/subjects/:subjectId` included), and matched with Hono's own trie router,
 * so a path is "known" exactly when the app's router would match it with some method.
 */
import type { Context } from 'hono';
import { METHOD_NAME_ALL } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import type { AppEnv } from './context.js';
import { ApiError, problemResponse, message } from './errors.js';

/** The order `Allow` lists methods in. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const byMethodOrder = (a: string, b: string): number => {
  const rank = (method: string) => (METHOD_ORDER.includes(method) ? METHOD_ORDER.indexOf(method) : METHOD_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
};

/** The methods a path is served with (HEAD with GET, and OPTIONS), or undefined for a path no route has. */
export type AllowedMethods = (path: string) => string[] | undefined;

export function allowedMethodsTable(routes: readonly { method: string; path: string }[]): AllowedMethods {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    // `ALL` entries are middleware (`app.use`), which serve no path by themselves.
    if (method === METHOD_NAME_ALL) continue;
    const methods = methodsByPath.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    methodsByPath.set(path, methods);
  }
  const router = new TrieRouter<string[]>();
  for (const [path, methods] of methodsByPath) {
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    router.add(METHOD_NAME_ALL, path, [...methods]);
  }
  return (path) => {
    const [matches] = router.match(METHOD_NAME_ALL, path);
    if (matches.length === 0) return undefined;
    // Several templates may match one path (`/v1/cases/export` and `/v1/cases/:caseId`): their union.
    return [...new Set(matches.flatMap(([methods]) => methods))].sort(byMethodOrder);
  };
}

/** The app's notFound handler: 405 or an OPTIONS answer for known paths, 404 for the rest. */
export function answerUnrouted(allowedMethods: AllowedMethods) {
  return function unrouted(c: Context<AppEnv>): Response {
    const allowed = allowedMethods(c.req.path);
    const allow = allowed?.join(', ');
    if (allow !== undefined && c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allow });
    // A handler that calls notFound() on a path it serves means "no such resource": 404 as well.
    if (allow === undefined || allowed?.includes(c.req.method)) {
      return problemResponse(c, new ApiError('route_not_found', message('request.route_not_found')));
    }
    return problemResponse(
      c,
      new ApiError(
        'method_not_allowed',
        message('request.method_not_allowed', { allow, method: c.req.method }),
        {},
        { headers: { Allow: allow } },
      ),
    );
  };
}
