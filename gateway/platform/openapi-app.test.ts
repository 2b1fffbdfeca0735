/**
 * The one-step check of path and query parameters answers what zod-openapi's validators answered:
 * a 400 `validation_failed` naming every bad field, `c.req.valid()` filled with the parsed values
 * (transforms applied, a repeated query name as a list), async refinements still honoured, and the
 * route documented as declared.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { handleError } from './errors.js';
import { bilingualCheck, bilingualIssue, fieldProblem } from './field-problems.js';
import { GatewayOpenAPIHono, validationFailed } from './openapi-app.js';

function app(): GatewayOpenAPIHono {
  const created = new GatewayOpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw validationFailed(result.error.issues);
    },
  });
  created.onError(handleError);
  return created;
}

const yearRoute = createRoute({
  method: 'get',
  path: '/years/{year}',
  request: {
    params: z.object({ year: z.coerce.number().int().min(2000).max(2100) }),
    query: z.object({ tag: z.array(z.string()).or(z.string()).optional(), limit: z.coerce.number().int().max(50) }),
  },
  responses: { 200: { description: 'ok' } },
});

describe('path and query parameters checked in one step', () => {
  it('fills c.req.valid with the parsed values, a repeated name as a list', async () => {
    const gateway = app();
    gateway.openapi(yearRoute, (c) => c.json({ param: c.req.valid('param'), query: c.req.valid('query') }, 200));
    const response = await gateway.request('/years/2026?tag=a&tag=b&limit=5');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ param: { year: 2026 }, query: { tag: ['a', 'b'], limit: 5 } });
  });

  it('answers 400 validation_failed naming every bad field, query first', async () => {
    const gateway = app();
    gateway.openapi(yearRoute, (c) => c.json({}, 200));
    const badQuery = await gateway.request('/years/1999?limit=500', { headers: { 'accept-language': 'en' } });
    expect(badQuery.status).toBe(400);
    const problem = (await badQuery.json()) as { code: string; errors: { path: string }[] };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((error) => error.path)).toEqual(['limit']);
    const badPath = await gateway.request('/years/1999?limit=5');
    expect(((await badPath.json()) as { errors: { path: string }[] }).errors.map((error) => error.path)).toEqual([
      'year',
    ]);
  });

  it('parses a schema with an async refinement asynchronously', async () => {
    const gateway = app();
    const route = createRoute({
      method: 'get',
      path: '/codes/{code}',
      request: {
        params: z.object({ code: z.string().refine(async (code) => code.startsWith('ok'), 'not ok') }),
      },
      responses: { 200: { description: 'ok' } },
    });
    gateway.openapi(route, (c) => c.json(c.req.valid('param'), 200));
    expect(await (await gateway.request('/codes/ok-1')).json()).toEqual({ code: 'ok-1' });
    const refused = await gateway.request('/codes/no');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe('not ok');
  });

  it('documents the route with its parameters as declared', () => {
    const gateway = app();
    gateway.openapi(yearRoute, (c) => c.json({}, 200));
    const document = gateway.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    const parameters = document.paths?.['/years/{year}']?.get?.parameters as { name: string; in: string }[];
    expect(parameters.map((parameter) => `${parameter.in}:${parameter.name}`).sort()).toEqual([
      'path:year',
      'query:limit',
      'query:tag',
    ]);
  });
});

describe('messageZh of each field', () => {
  const checkedRoute = createRoute({
    method: 'get',
    path: '/centres/{centre}',
    request: {
      params: z.object({
        centre: z
          .string()
          .regex(/^[1-8][0-9]{8}$/, bilingualCheck('a centre code is 9 digits', '服务中心代码为 9 位数字')),
      }),
      query: z.object({
        day: z
          .string()
          .refine((day) => day.startsWith('20'), bilingualCheck('a day of this century', '应为本世纪的日期'))
          .superRefine((day, context) => {
            if (day.length !== 10)
              context.addIssue({ code: 'custom', ...bilingualIssue(`${day} is not 10 long`, `${day} 不是 10 个字符`) });
          }),
        limit: z.coerce.number().int().max(50).optional(),
      }),
    },
    responses: { 200: { description: 'ok' } },
  });

  async function problemFor(url: string): Promise<{ errors: { path: string; message: string; messageZh: string }[] }> {
    const gateway = app();
    gateway.openapi(checkedRoute, (c) => c.json({}, 200));
    const response = await gateway.request(url);
    expect(response.status).toBe(400);
    return (await response.json()) as { errors: { path: string; message: string; messageZh: string }[] };
  }

  it('answers the Chinese a check was written with, a refinement and a regex alike', async () => {
    expect((await problemFor('/centres/610113000?day=1999-01-01')).errors).toEqual([
      { path: 'day', message: 'a day of this century', messageZh: '应为本世纪的日期' },
    ]);
    expect((await problemFor('/centres/61011300?day=2026-01-01')).errors).toEqual([
      { path: 'centre', message: 'a centre code is 9 digits', messageZh: '服务中心代码为 9 位数字' },
    ]);
  });

  it('answers the Chinese a per-value issue carries, and zod’s wording for its own checks', async () => {
    const problem = await problemFor('/centres/610113000?day=2026-1-1&limit=500');
    expect(problem.errors).toEqual([
      { path: 'day', message: '2026-1-1 is not 10 long', messageZh: '2026-1-1 不是 10 个字符' },
      { path: 'limit', message: expect.any(String), messageZh: expect.stringMatching(/^数值过大/) },
    ]);
  });

  it('refuses one English text written with two Chinese texts', () => {
    expect(bilingualCheck('a centre code is 9 digits', '服务中心代码为 9 位数字')).toBe('a centre code is 9 digits');
    expect(() => bilingualCheck('a centre code is 9 digits', '中心代码是九位')).toThrow(/already/);
  });

  it('writes a problem found by hand in the same shape', () => {
    expect(fieldProblem('centre', 'required', '必须填写')).toEqual({
      path: 'centre',
      message: 'required',
      messageZh: '必须填写',
    });
  });
});

describe("Hono's own HTTP errors", () => {
  it('answer in Chinese by default, with Hono’s English words as the English detail', async () => {
    const gateway = app();
    gateway.post('/forms', () => {
      throw new HTTPException(400, { message: 'Malformed FormData request.' });
    });
    const chinese = await gateway.request('/forms', { method: 'POST' });
    expect(chinese.status).toBe(400);
    expect(((await chinese.json()) as { detail: string }).detail).toBe(
      '请求无法按所发送的内容处理（HTTP 400）。请检查请求的格式与内容类型。',
    );
    const english = await gateway.request('/forms', { method: 'POST', headers: { 'accept-language': 'en' } });
    expect(((await english.json()) as { detail: string }).detail).toBe('Malformed FormData request.');
  });
});
