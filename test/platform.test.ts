/**
 * The HTTP platform: error shape, request ids, body limits, content types, health, readiness,
 * metrics, draining, and what logs may contain.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients } from '../gateway/db/schema.js';
import { ApiError } from '../gateway/platform/errors.js';
import { bearer, createTestGateway, problemOf, type TestGateway } from './harness.js';

let gw: TestGateway;
let adminToken: string;

beforeAll(async () => {
  gw = await createTestGateway({ BODY_LIMIT_BYTES: '2048' });
  adminToken = await gw.tokenFor('admin');
  // A route that fails the way a bug would, to check nothing internal leaks out.
  gw.app.get('/__test/boom', () => {
    throw new Error('relation "secret_table" does not exist at /work/main/gateway/secret.ts:12');
  });
  // A refusal that names what was asked for, as several routes' refusals do.
  gw.app.get('/__test/named/:value', (c) => {
    const value = c.req.param('value');
    throw new ApiError('not_found', `No thing ${value}.`, { thing: value, tried: [{ value }] });
  });
});
afterAll(async () => gw?.close());

const clientCount = async () => (await gw.services.db.select({ id: clients.id }).from(clients)).length;
const postClient = (body: RequestInit['body'], headers: Record<string, string> = {}) =>
  gw.request('/v1/clients', {
    method: 'POST',
    headers: bearer(adminToken, { 'content-type': 'application/json', ...headers }),
    body,
  });

describe('errors', () => {
  it('answers an unknown route with a problem document carrying code and request id', async () => {
    const response = await gw.request('/no/such/route');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = await problemOf(response);
    expect(problem).toMatchObject({
      status: 404,
      code: 'route_not_found',
      type: 'urn:onewindow:problem:route_not_found',
    });
    expect(problem.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('answers in Simplified Chinese by default and in English when Accept-Language asks, saying which', async () => {
    const chinese = await gw.request('/no/such/route');
    expect(chinese.headers.get('content-language')).toBe('zh-CN');
    expect(await problemOf(chinese)).toMatchObject({ code: 'route_not_found', title: '没有这个接口' });
    const english = await gw.request('/no/such/route', { headers: { 'Accept-Language': 'en-US,en;q=0.9' } });
    expect(english.headers.get('content-language')).toBe('en');
    expect(await problemOf(english)).toMatchObject({ code: 'route_not_found', title: 'No such route' });
    // OAuth's error_description is ASCII only (RFC 6749 §5.2): English whatever the language.
    const token = await gw.request('/oauth/token', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from('cli_nobody:wrong').toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(401);
    const oauth = (await token.json()) as { error: string; error_description: string; title: string };
    expect(oauth.error).toBe('invalid_client');
    expect(oauth.error_description).toMatch(/^[\x20-\x7e]+$/);
    expect(oauth.title).toBe('客户端认证失败');
  });

  it('names the occurrence by its request id in `instance`, never by the path, which may carry an ID number', async () => {
    for (const path of [
      '/v1/subjects/11010519491231002X',
      '/no/such/11010519491231002X?q=11010519491231002X',
      '/v1/subjects/%31%31010519491231002X',
    ]) {
      const response = await gw.request(path, { headers: bearer(adminToken, { 'x-request-id': 'trace-0001-abcd' }) });
      const text = await response.text();
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(JSON.parse(text)).toMatchObject({
        instance: 'urn:onewindow:request:trace-0001-abcd',
        requestId: 'trace-0001-abcd',
      });
      expect(text).not.toMatch(/11010519491231002X|\/v1\/subjects|no\/such/);
    }
    // A refusal naming what was asked for names it masked.
    const named = await problemOf(await gw.request('/__test/named/11010519491231002X'));
    expect(named).toMatchObject({
      detail: 'No thing 110105********002X.',
      thing: '110105********002X',
      tried: [{ value: '110105********002X' }],
    });
    // A request id shaped like an ID number is not echoed (nor logged): a fresh one replaces it.
    const shaped = await gw.request('/no/such/route', { headers: { 'x-request-id': '11010519491231002X' } });
    expect(shaped.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(await shaped.text()).not.toContain('11010519491231002X');
    expect(gw.logs.text()).not.toContain('11010519491231002X');
  });

  it('answers a known path asked with a method it does not serve with 405 and Allow (templates too); unknown paths stay 404', async () => {
    const cases: [method: string, path: string, allow: string][] = [
      ['DELETE', '/healthz', 'GET, HEAD, OPTIONS'],
      ['PUT', '/v1/clients', 'GET, HEAD, POST, OPTIONS'],
      ['DELETE', '/v1/subjects/sub_AAAAAAAAAAAAAAAA', 'GET, HEAD, OPTIONS'],
      ['GET', '/v1/material-types/business_licence/grants/cli_x', 'PUT, DELETE, OPTIONS'],
      ['HEAD', '/oauth/token', 'POST, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await gw.request(path, { method, headers: { ...bearer(adminToken), 'Accept-Language': 'en' } });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow);
      if (method === 'HEAD') continue;
      expect(await problemOf(response)).toMatchObject({
        code: 'method_not_allowed',
        status: 405,
        detail: `This path is served with ${allow}, not ${method}.`,
      });
    }
    for (const method of ['GET', 'DELETE', 'OPTIONS']) {
      const response = await gw.request('/v1/no-such-thing', { method });
      expect(response.status, method).toBe(404);
      expect((await problemOf(response)).code).toBe('route_not_found');
    }
    // HEAD is still answered wherever GET is.
    expect((await gw.request('/healthz', { method: 'HEAD' })).status).toBe(200);
  });

  it('answers OPTIONS on a known path with 204 and Allow, without authentication', async () => {
    const response = await gw.request('/v1/subjects/sub_AAAAAAAAAAAAAAAA/materials', { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
    expect(await response.text()).toBe('');
  });

  it('answers an internal failure with a bare 500: no stack, SQL or path', async () => {
    const response = await gw.request('/__test/boom');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ code: 'internal_error', status: 500 });
    for (const leak of ['secret_table', '/work/', '.ts', 'stack', 'relation']) expect(text).not.toContain(leak);
    // …but the log has what an operator needs.
    expect(gw.logs.text()).toContain('secret_table');
  });

  it('refuses malformed JSON with 400 malformed_json and writes nothing', async () => {
    const before = await clientCount();
    const response = await postClient('{"name": "x", "kind": ');
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('malformed_json');
    expect(await clientCount()).toBe(before);
  });

  it('refuses a body of the wrong media type with 415', async () => {
    const response = await postClient('name=x&kind=window', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(415);
    expect((await problemOf(response)).code).toBe('unsupported_media_type');
  });

  it('lists every invalid field in a validation failure', async () => {
    const response = await postClient(JSON.stringify({ name: 7, kind: 'nobody', extra: true }));
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.code).toBe('validation_failed');
    const paths = (problem.errors as { path: string }[]).map((error) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'kind']));
  });
});

describe('body size limit', () => {
  const big = JSON.stringify({ name: 'x'.repeat(4000), kind: 'window' });

  it('refuses an oversize body announced by Content-Length with 413', async () => {
    const before = await clientCount();
    const response = await postClient(big, { 'content-length': String(Buffer.byteLength(big)) });
    expect(response.status).toBe(413);
    expect((await problemOf(response)).code).toBe('payload_too_large');
    expect(await clientCount()).toBe(before);
  });

  it('refuses an oversize streamed (chunked) body with 413 while reading it', async () => {
    const before = await clientCount();
    const chunks = [big.slice(0, 1500), big.slice(1500, 3000), big.slice(3000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const response = await gw.request('/v1/clients', {
      method: 'POST',
      headers: bearer(adminToken, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await clientCount()).toBe(before);
  });

  it('accepts a body under the limit', async () => {
    const response = await postClient(JSON.stringify({ name: 'Small window', kind: 'window' }));
    expect(response.status).toBe(201);
  });

  it('refuses a read (GET) announcing a body over the limit, though reads have no body middleware', async () => {
    const headers = bearer(adminToken, { 'content-length': '5000000' });
    const response = await gw.request('/v1/clients', { method: 'GET', headers });
    expect(response.status).toBe(413);
    expect((await problemOf(response)).code).toBe('payload_too_large');
    const plain = await gw.request('/v1/clients', { method: 'GET', headers: bearer(adminToken) });
    expect(plain.status).toBe(200);
  });
});

describe('request ids', () => {
  it('echoes a well-formed request id and puts it in the log lines of the request', async () => {
    const response = await gw.request('/healthz', { headers: { 'x-request-id': 'window-7f3a9c-0001' } });
    expect(response.headers.get('x-request-id')).toBe('window-7f3a9c-0001');
    const line = gw.logs.lines.find((entry) => entry.includes('window-7f3a9c-0001'));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? '{}')).toMatchObject({ route: '/healthz', status: 200 });
  });

  it('replaces a malformed request id with a generated one', async () => {
    for (const offered of ['short', 'has spaces in it', 'x'.repeat(200), 'inject\\"json"']) {
      const response = await gw.request('/healthz', { headers: { 'x-request-id': offered } });
      expect(response.headers.get('x-request-id')).toMatch(/^req_[A-Za-z0-9_-]+$/);
    }
  });
});

describe('operations endpoints', () => {
  it('reports liveness and readiness without authentication', async () => {
    expect((await gw.request('/healthz')).status).toBe(200);
    const ready = await gw.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { database: true } });
  });

  it('reports not ready when migrations are missing', async () => {
    await gw.services.db.execute(
      sql`create table if not exists drizzle.__ow_backup as select * from drizzle.__drizzle_migrations`,
    );
    await gw.services.db.execute(sql`delete from drizzle.__drizzle_migrations`);
    await new Promise((resolve) => setTimeout(resolve, 600)); // past the readiness cache
    const response = await gw.request('/readyz');
    await gw.services.db.execute(sql`insert into drizzle.__drizzle_migrations select * from drizzle.__ow_backup`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'unavailable', checks: { database: false } });
  });

  it('serves the OpenAPI document and the reference page', async () => {
    const document = (await (await gw.request('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/oauth/token');
    const page = await gw.request('/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    // The page may not be framed (clickjacking "try it out"), nor may any other answer.
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    for (const other of [
      await gw.request('/healthz'),
      await gw.request('/no/such/route'),
      await gw.request('/healthz', { method: 'POST' }),
    ]) {
      expect(other.headers.get('content-security-policy'), String(other.status)).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      expect(other.headers.get('x-frame-options'), String(other.status)).toBe('DENY');
    }
    const script = await gw.request('/docs/assets/swagger-ui-bundle.js');
    expect(script.status).toBe(200);
    expect((await gw.request('/docs/assets/..%2F..%2Fpackage.json')).status).toBe(400);
  });

  it('exposes Prometheus metrics by route template to metrics:read tokens only', async () => {
    await gw.request('/v1/clients/cli_someone_specific', { headers: bearer(adminToken) });
    expect((await gw.request('/metrics')).status).toBe(401);
    const response = await gw.request('/metrics', { headers: bearer(await gw.tokenFor('auditor', ['metrics:read'])) });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('onewindow_http_requests_total');
    expect(text).toContain('route="/v1/clients/:clientId"');
    expect(text).toContain('onewindow_http_request_duration_seconds_bucket');
    expect(text).not.toContain('cli_someone_specific');
  });

  it('accepts the static scrape token when one is configured', async () => {
    const scrapeToken = 'scrape-token-0123456789abcdef';
    const other = await createTestGateway({ METRICS_SCRAPE_TOKEN: scrapeToken });
    try {
      expect((await other.request('/metrics', { headers: bearer(scrapeToken) })).status).toBe(200);
      expect((await other.request('/metrics', { headers: bearer(`${scrapeToken}x`) })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('answers 503 shutting_down and not-ready while draining', async () => {
    gw.services.lifecycle.draining = true;
    try {
      const response = await gw.request('/v1/clients', { headers: bearer(adminToken) });
      expect(response.status).toBe(503);
      expect((await problemOf(response)).code).toBe('shutting_down');
      expect(response.headers.get('connection')).toBe('close');
    } finally {
      gw.services.lifecycle.draining = false;
    }
  });
});

describe('logs', () => {
  it('never contain client secrets or access tokens', async () => {
    const { client, secret } = await gw.createClient('window');
    const response = await gw.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: secret,
      }).toString(),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    await gw.request('/v1/clients', { headers: bearer(token) });
    await gw.request('/v1/clients', { headers: bearer(`${token}tampered`) });
    const text = gw.logs.text();
    expect(text).not.toContain(secret);
    expect(text).not.toContain(token.split('.')[2] ?? 'unreachable');
    for (const line of gw.logs.lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('database outages', () => {
  it('answers 503 database_unavailable, not 500, when the database cannot be reached', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('Failed query: select ...', { cause: refused });
    const other = await createTestGateway();
    try {
      other.app.get('/__test/db-down', () => {
        throw wrapped;
      });
      const response = await other.request('/__test/db-down');
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
      const problem = await problemOf(response);
      expect(problem.code).toBe('database_unavailable');
      expect(JSON.stringify(problem)).not.toContain('5432');
    } finally {
      await other.close();
    }
  });
});
