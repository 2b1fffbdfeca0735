/**
 * A small typed client of the onewindow gateway: openapi-fetch over the types that
 * openapi-typescript generates from the gateway's own OpenAPI document (onewindow.types.ts, `npm
 * run client:types`). Paths, parameters, bodies and answers are checked by the compiler: a typo in
 * a path or a missing parameter does not compile, and `data` has the documented shape.
 *
 * Copy it as a start for a window system or a department system; test/typed-client.test.ts runs
 * it against a gateway.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './onewindow.types.js';

export type Problem = components['schemas']['Problem'];
export type PublicItem = components['schemas']['PublicItem'];
export type Item = components['schemas']['Item'];

/** A refusal from the gateway, with its stable `code` and the problem document as sent. */
export class OnewindowError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.code}: ${problem.detail ?? problem.title}`);
    this.name = 'OnewindowError';
  }
}

export interface OnewindowClientOptions {
  /** The gateway's address, e.g. https://gateway.example.gov.cn */
  baseUrl: string;
  /** The OAuth client registered for this system (`npm run clients:create`). */
  clientId: string;
  clientSecret: string;
  /** The language of problem titles and details: zh-CN (the gateway's default) or en. */
  language?: 'zh-CN' | 'en';
  /** A fetch to send requests with (tests pass the app's own; default: the global fetch). */
  fetch?: (request: Request) => Promise<Response>;
}

/** The answer's data, or an `OnewindowError` carrying the problem document. */
function dataOf<Data>(answer: { data?: Data; error?: unknown; response: Response }): Data {
  if (answer.data !== undefined) return answer.data;
  throw new OnewindowError(answer.response.status, answer.error as Problem);
}

export function createOnewindowClient(options: OnewindowClientOptions) {
  const http = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { 'Accept-Language': options.language ?? 'zh-CN' },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  // A token is fetched with client credentials when first needed and again shortly before it expires.
  let token: { value: string; expiresAt: number } | undefined;
  async function accessToken(): Promise<string> {
    if (token && token.expiresAt - 30_000 > Date.now()) return token.value;
    const issued = dataOf(
      await http.POST('/oauth/token', {
        body: { grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret },
        bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    );
    token = { value: issued.access_token, expiresAt: Date.now() + issued.expires_in * 1000 };
    return token.value;
  }
  const bearer: Middleware = {
    async onRequest({ request, schemaPath }) {
      // The public routes (probes, item guides) and the token endpoint itself need no token.
      if (schemaPath === '/oauth/token' || schemaPath.startsWith('/v1/public/') || schemaPath === '/healthz')
        return request;
      request.headers.set('Authorization', `Bearer ${await accessToken()}`);
      return request;
    },
  };
  http.use(bearer);

  return {
    /** The underlying openapi-fetch client, for every other operation. */
    http,
    /** Whether the gateway process is up (no token). */
    async health() {
      return dataOf(await http.GET('/healthz'));
    },
    /** Every active item's public guide, without a token. */
    async publicItems(): Promise<PublicItem[]> {
      return dataOf(await http.GET('/v1/public/items')).items;
    },
    /** One item's public guide, without a token. */
    async publicItem(code: string): Promise<PublicItem> {
      return dataOf(await http.GET('/v1/public/items/{code}', { params: { path: { code } } }));
    },
    /** The item catalogue as a client with contracts:read sees it. */
    async items(): Promise<Item[]> {
      return dataOf(await http.GET('/v1/items')).items;
    },
  };
}

export type OnewindowClient = ReturnType<typeof createOnewindowClient>;
