/**
 * The gateway's Hono app: @hono/zod-openapi's, with path and query parameters checked by one
 * synchronous step instead of one validator middleware each.
 *
 * zod-openapi puts a validator middleware in front of a handler per input (query, path, …). Each
 * is an async layer that, whatever its target, first reads the request's Content-Type — which
 * makes the Node adapter build a web `Headers` for the request — and runs zod's async parse. On a
 * small read that was a tenth of the gateway's CPU (bench/README.md, "Hot paths"). Path and query
 * parameters are plain strings: checked here with zod's synchronous parse in one middleware, with
 * the same outcome (a 400 `validation_failed` listing every bad field, or `c.req.valid()` filled).
 * Bodies, headers and cookies, and routes with a hook of their own, keep zod-openapi's validators.
 * The OpenAPI document is unchanged: the route is registered as declared.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { type ZodType, core } from 'zod';
import type { AppEnv } from './context.js';
import { ApiError, message } from './errors.js';
import { type CheckIssue, fieldProblemsOf } from './field-problems.js';
import { asArray } from './routes.js';

/**
 * The problem every failed input check answers: 400 `validation_failed` naming each field, what
 * is wrong in English (`message`, the check's own words) and in Chinese (`messageZh`: a check's
 * own Chinese where it was written with `bilingualCheck`, else zod's wording), as the other
 * problems that list fields do.
 */
export function validationFailed(issues: readonly CheckIssue[]): ApiError {
  return new ApiError('validation_failed', message('request.fields_invalid'), { errors: fieldProblemsOf(issues) });
}

type ParsedInput = { success: true; data: unknown } | { success: false; error: { issues: CheckIssue[] } };

/** zod's synchronous parse; the asynchronous one only for a schema that needs it. */
function parseInput(schema: ZodType, value: unknown): ParsedInput | Promise<ParsedInput> {
  try {
    return schema.safeParse(value);
  } catch (error) {
    // zod throws when a schema holds an async refinement: parse that one asynchronously.
    if (error instanceof core.$ZodAsyncError) return schema.safeParseAsync(value);
    throw error;
  }
}

function queryOf(c: Context<AppEnv>): Record<string, string | string[]> {
  // As Hono's validator presents a query: a value, or the values of a repeated name. Built by
  // Object.fromEntries, never by assignment: a name `__proto__` must stay a plain key.
  return Object.fromEntries(
    Object.entries(c.req.queries()).map(([name, all]) => [name, all.length === 1 ? (all[0] as string) : all]),
  );
}

function checkedInput(
  c: Context<AppEnv>,
  target: 'query' | 'param',
  schema: ZodType,
  value: unknown,
): Promise<void> | undefined {
  const record = (parsed: ParsedInput) => {
    if (!parsed.success) throw validationFailed(parsed.error.issues);
    c.req.addValidatedData(target, parsed.data as Record<string, unknown>);
  };
  const parsed = parseInput(schema, value);
  if (parsed instanceof Promise) return parsed.then(record);
  record(parsed);
  return undefined;
}

/** One middleware checking the query, then the path parameters (zod-openapi's order). */
function plainInputs(query: ZodType | undefined, params: ZodType | undefined): MiddlewareHandler<AppEnv> {
  // Not an async function: a read whose inputs check synchronously goes on without a promise.
  return function plainInputsMiddleware(c, next) {
    const checkParams = () => {
      const checking = params ? checkedInput(c, 'param', params, c.req.param()) : undefined;
      return checking ? checking.then(next) : next();
    };
    const checkingQuery = query ? checkedInput(c, 'query', query, queryOf(c)) : undefined;
    return checkingQuery ? checkingQuery.then(checkParams) : checkParams();
  };
}

export class GatewayOpenAPIHono extends OpenAPIHono<AppEnv> {
  constructor(init?: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0]) {
    super(init);
    const declare = this.openapi;
    const openapi: typeof declare = (route, handler, hook) => {
      const request = route.request;
      if (hook || (!request?.query && !request?.params)) return declare(route, handler, hook);
      const { middleware, hide, ...documented } = route;
      if (!hide) this.openAPIRegistry.registerPath(documented);
      const { query, params, ...rest } = request;
      return declare(
        {
          ...route,
          hide: true,
          request: rest,
          middleware: [
            ...asArray(middleware),
            plainInputs(query as ZodType | undefined, params as ZodType | undefined),
          ],
        },
        handler,
      );
    };
    this.openapi = openapi;
  }
}
