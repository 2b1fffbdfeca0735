/**
 * Route definitions with their auth policy built in. Every operation is declared with either
 * `publicRoute` (no auth, by design) or `protectedRoute` (bearer token plus scopes): the policy is
 * visible in the OpenAPI document as the operation's `security`, and enforced by middleware that
 * runs before any validation. A sweep test checks that no route escapes both.
 */
import { type RouteConfig, createRoute, z } from '@hono/zod-openapi';
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './context.js';
import { ApiError, type ErrorCode, errorCatalogue, problemTitle, message } from './errors.js';
import { fieldProblem } from './field-problems.js';
import { nodeRequestOf } from './node-http.js';

export const BEARER_SCHEME = 'bearerAuth';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.enum(Object.keys(errorCatalogue) as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string().optional(),
    errors: z
      .array(
        z.object({
          path: z.string(),
          message: z.string(),
          messageZh: z.string().optional().openapi({
            description: 'What is wrong, in Simplified Chinese: the check’s own Chinese, or zod’s wording of the issue',
          }),
        }),
      )
      .optional(),
  })
  .openapi('Problem');

type DocumentedErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 416 | 422 | 429 | 502 | 503 | 504;

/**
 * The code each documented status shows in its example: a typical problem of that status, so a
 * reader of /docs (and a generated client's tests) sees `invalid_token` under 401, not the first
 * code of the enum. A test checks that each code really answers with its status.
 */
export const exampleProblemCodes: Readonly<Record<DocumentedErrorStatus, ErrorCode>> = {
  400: 'validation_failed',
  401: 'invalid_token',
  403: 'insufficient_scope',
  404: 'not_found',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  422: 'unprocessable',
  429: 'rate_limited',
  502: 'department_error',
  503: 'service_unavailable',
  504: 'department_timeout',
};

/** A field problem as a 400 lists it: a centre code that is not one. */
const exampleFieldProblem = fieldProblem('centre', 'a centre code is 9 digits', '服务中心代码为 9 位数字');

/** A problem document as the gateway writes it (in its default language, zh-CN). */
function exampleProblem(status: DocumentedErrorStatus): Record<string, unknown> {
  const code = exampleProblemCodes[status];
  return {
    type: `urn:onewindow:problem:${code}`,
    title: problemTitle(code, 'zh-CN'),
    status,
    instance: 'urn:onewindow:request:req_7QmZk2xW9vLp4tYs',
    code,
    requestId: 'req_7QmZk2xW9vLp4tYs',
    ...(status === 400 ? { errors: [exampleFieldProblem] } : {}),
  };
}

const problemResponse = (status: DocumentedErrorStatus, description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema, example: exampleProblem(status) } },
});

/** Standard error responses, so every operation documents the statuses it can answer with. */
export function errorResponses(...statuses: DocumentedErrorStatus[]) {
  const descriptions: Record<DocumentedErrorStatus, string> = {
    400: 'Invalid request',
    401: 'Missing or invalid access token',
    403: 'Token lacks a required scope or the client may not do this',
    404: 'Not found',
    409: 'Conflict',
    412: 'Precondition failed',
    413: 'Request body too large',
    415: 'Unsupported media type',
    416: 'Range not satisfiable',
    422: 'Unprocessable request',
    429: 'Rate limited',
    502: 'Department error',
    503: 'Unavailable',
    504: 'Department timeout',
  };
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status, descriptions[status])]));
}

function payloadTooLarge(limit: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: limit,
    onError: () => {
      throw new ApiError('payload_too_large', message('request.body_too_large', { maxBytes: limit }));
    },
  });
}

/** Enforces BODY_LIMIT_BYTES; read from config at request time because routes are module constants. */
export const jsonBodyLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  // An HTTP/1.1 request without Content-Length or Transfer-Encoding has no body. Checking the
  // headers first matters: touching `c.req.raw.body` makes the Node adapter build a full web
  // Request, which costs more than the rest of a small GET.
  const contentLength = c.req.header('content-length');
  if (!c.req.header('transfer-encoding') && (contentLength === undefined || contentLength === '0')) return next();
  const limit = c.get('services').config.bodyLimitBytes;
  const incoming = nodeRequestOf(c);
  const contentType = c.req.header('content-type') ?? '';
  // JSON and form bodies are read straight from Node's request: the web Request the adapter
  // would build for `c.req.json()` or a form (an AbortController, a web stream, a copy) costs
  // more than the rest of a small POST. Hono answers from its body cache, which holds promises
  // (its type says values: it chains `.then` on them).
  const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
  if (incoming && JSON_MEDIA_TYPE.test(contentType)) {
    // `c.req.json()` parses the cached text, and answers malformed JSON as it always did.
    cache['text'] = Promise.resolve(utf8.decode(await readLimited(incoming, limit)));
    return next();
  }
  if (incoming && FORM_MEDIA_TYPE.test(contentType)) {
    const body = await readLimited(incoming, limit);
    // The raw bytes first: a handler asking for the text converts from the first cached form.
    cache['arrayBuffer'] = Promise.resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    cache['formData'] = Promise.resolve(formOf(body));
    return next();
  }
  return payloadTooLarge(limit)(c, next);
};

const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** The Node request behind a request served by @hono/node-server (absent in `app.request()` tests). */
/** The whole body, refused as soon as it passes `limit` bytes (the rest is not read: the connection closes). */
async function readLimited(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of incoming as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit)
        throw new ApiError(
          'payload_too_large',
          message('request.body_too_large', { maxBytes: limit }),
          {},
          { headers: { Connection: 'close' } },
        );
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(
      'bad_request',
      message('request.body_incomplete'),
      {},
      { cause: error, headers: { Connection: 'close' } },
    );
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** UTF-8 with a leading BOM dropped, as `Request.text()` decodes. */
const utf8 = new TextDecoder();

const FORM_MEDIA_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** A URL-encoded form as `Request.formData()` parses it (the URL Standard's parser). */
function formOf(body: Buffer): FormData {
  const form = new FormData();
  for (const [name, value] of new URLSearchParams(utf8.decode(body))) form.append(name, value);
  return form;
}

type Middleware = MiddlewareHandler<AppEnv>;

export function asArray(middleware: RouteConfig['middleware']): Middleware[] {
  if (!middleware) return [];
  return (Array.isArray(middleware) ? middleware : [middleware]) as Middleware[];
}

/** An operation anyone may call: health, JWKS, OpenAPI, docs, token endpoint. */
/** Every operation names itself (`operationId`): generated clients take their method names from it. */
export type NamedRouteConfig = RouteConfig & { operationId: string };

/**
 * The body limit where a body can be read: not on GET and HEAD, whose handlers read none (a body
 * sent with one is drained by Node unread), so a read skips a middleware it cannot need.
 */
export function bodyLimitFor(method: RouteConfig['method']): Middleware[] {
  return method === 'get' || method === 'head' ? [] : [jsonBodyLimit];
}

export function publicRoute<R extends NamedRouteConfig>(config: R) {
  return createRoute({
    ...config,
    security: [],
    middleware: [...bodyLimitFor(config.method), ...asArray(config.middleware)],
  });
}
