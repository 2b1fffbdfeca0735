/**
 * Single-URL method-dispatch protocols: the contract convention (`<path>#method=<value>`, one
 * operation per method value, operationId = the value), its checks at publish, run-time contract
 * checks per method, and the simulator kit naming (and faulting) requests by the body's `method`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileContract, methodDispatchProblems, parseMethodDispatchPath } from './contract-validation.js';
import { formMethodOperation, startSimulator, type RunningSimulator } from './simulator.js';

type Obj = Record<string, unknown>;

const envelope = (data: Obj) => ({
  type: 'object',
  required: ['code'],
  properties: { code: { type: 'string' }, msg: { type: 'string' }, data },
});

function dispatchOperation(method: string, data: Obj, extra: Obj = {}): Obj {
  return {
    post: {
      operationId: method,
      requestBody: {
        content: {
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              required: ['method'],
              properties: { method: { type: 'string', const: method }, biz_content: { type: 'string' } },
            },
          },
        },
      },
      responses: { '200': { description: 'ok', content: { 'application/json': { schema: envelope(data) } } } },
      ...extra,
    },
  };
}

function dispatchDocument(paths: Obj): Obj {
  return { openapi: '3.1.0', info: { title: 'Gateway', version: '1.0.0' }, paths };
}

const good = dispatchDocument({
  '/gateway#method=mca.marriage.query': dispatchOperation('mca.marriage.query', {
    type: 'object',
    required: ['cert_no'],
    properties: { cert_no: { type: 'string' } },
  }),
  '/gateway#method=mca.gateway.health': dispatchOperation('mca.gateway.health', {
    type: 'object',
    required: ['status'],
    properties: { status: { enum: ['UP', 'DOWN'] } },
  }),
  '/plain/{id}': {
    get: { operationId: 'plain', responses: { '200': { description: 'ok' } } },
  },
});

describe('the method-dispatch contract convention', () => {
  it('reads the URL path and method value from a path key', () => {
    expect(parseMethodDispatchPath('/gateway#method=mca.marriage.query')).toEqual({
      path: '/gateway',
      method: 'mca.marriage.query',
    });
    expect(parseMethodDispatchPath('/api/v1/router#method=a')).toEqual({ path: '/api/v1/router', method: 'a' });
    expect(parseMethodDispatchPath('/persons/{id}')).toBeNull();
  });

  it('accepts a document that follows it', () => {
    expect(methodDispatchProblems(good)).toEqual([]);
  });

  it('refuses each way of breaking it, with a pointer', () => {
    const broken = dispatchDocument({
      '/gateway#mca.marriage.query': dispatchOperation('mca.marriage.query', {}),
      '/gateway#method=bad value': dispatchOperation('bad value', {}),
      '/gateway#method=a.renamed': dispatchOperation('somethingElse', {}),
      '/gateway#method=a.two': { ...dispatchOperation('a.two', {}), get: { operationId: 'a.two.get', responses: {} } },
      '/gateway#method=a.get': { get: dispatchOperation('a.get', {})['post'] },
      '/gateway#method=a.loose': dispatchOperation(
        'a.loose',
        {},
        {
          requestBody: {
            content: {
              'application/x-www-form-urlencoded': {
                schema: { type: 'object', properties: { method: { type: 'string' } } },
              },
            },
          },
        },
      ),
    });
    const problems = methodDispatchProblems(broken);
    const byPath = (path: string) => problems.filter((problem) => problem.path.startsWith(path));
    expect(byPath('/paths/~1gateway#mca.marriage.query')[0]?.message).toMatch(/must be a method-dispatch path/);
    expect(byPath('/paths/~1gateway#method=bad value')[0]?.message).toMatch(/must be a method-dispatch path/);
    expect(byPath('/paths/~1gateway#method=a.renamed/post/operationId')[0]?.message).toMatch(
      /operationId .* must be its method value "a.renamed"/,
    );
    expect(byPath('/paths/~1gateway#method=a.two')[0]?.message).toMatch(/exactly one operation \(found 2\)/);
    expect(byPath('/paths/~1gateway#method=a.get/get')[0]?.message).toMatch(/same HTTP method \(post\)/);
    expect(
      byPath('/paths/~1gateway#method=a.loose/post/requestBody/content/application~1x-www-form-urlencoded/schema')[0]
        ?.message,
    ).toMatch(/pinned to "a.loose"/);
    // a.renamed's body pins `method` to its operationId, not to the value in the path: a second problem.
    expect(problems).toHaveLength(7);
  });

  it('checks answers per method: each method value is its own operation', () => {
    const compiled = compileContract(good, { department: 'MCA', resourceCode: 'mca.marriage', version: '1.0.0' });
    expect(compiled.operationIds).toEqual(['mca.marriage.query', 'mca.gateway.health', 'plain']);
    expect(compiled.check('mca.marriage.query', 200, { code: '10000', data: { cert_no: 'J1' } })).toBeNull();
    // The health answer is not a marriage answer: the schemas are the method's own.
    expect(compiled.check('mca.marriage.query', 200, { code: '10000', data: { status: 'UP' } })).toEqual([
      { path: '/data/cert_no', keyword: 'required' },
    ]);
    expect(compiled.check('mca.gateway.health', 200, { code: '10000', data: { status: 'UP' } })).toBeNull();
  });
});

describe('the simulator kit on a single URL', () => {
  let simulator: RunningSimulator | undefined;
  afterEach(async () => {
    await simulator?.close();
    simulator = undefined;
  });

  async function post(url: string, form: Record<string, string>): Promise<{ status: number; text: string }> {
    const response = await fetch(`${url}/gateway`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, text: await response.text() };
  }

  it('names each request by the form body’s method, counts and faults per method', async () => {
    const handled: string[] = [];
    simulator = await startSimulator({
      name: 'dispatch',
      operationOf: formMethodOperation('/gateway'),
      handle({ response, body, fault }) {
        const method = new URLSearchParams(body.toString('utf8')).get('method') ?? '';
        handled.push(`${method}${fault ? `:${fault}` : ''}`);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code: fault === 'business_error' ? '40004' : '10000' }));
      },
    });
    simulator.setFault({ kind: 'http_5xx', operation: 'mca.marriage.query', times: 1 });
    expect((await post(simulator.url, { method: 'mca.gateway.health' })).status).toBe(200);
    expect((await post(simulator.url, { method: 'mca.marriage.query' })).status).toBe(503);
    expect((await post(simulator.url, { method: 'mca.marriage.query' })).status).toBe(200);
    simulator.setFault({ kind: 'business_error', operation: 'mca.gateway.health' });
    expect((await post(simulator.url, { method: 'mca.marriage.query' })).text).toContain('10000');
    expect((await post(simulator.url, { method: 'mca.gateway.health' })).text).toContain('40004');
    expect((await post(simulator.url, {})).status).toBe(200);
    expect(simulator.requestCount('mca.marriage.query')).toBe(3);
    expect(simulator.requestCount('mca.gateway.health')).toBe(2);
    expect(simulator.requestCount('unknown-method')).toBe(1);
    expect(handled).toEqual([
      'mca.gateway.health',
      'mca.marriage.query',
      'mca.marriage.query',
      'mca.gateway.health:business_error',
      '',
    ]);
  });
});
