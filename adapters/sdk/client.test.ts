import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DepartmentClient, DepartmentRequest } from './adapter.js';
import { createDepartmentClient, jitteredDelay, type ClientTuning } from './client.js';
import { DepartmentError } from './errors.js';
import type { DepartmentMetrics } from './metrics.js';
import { behaviours, startTestServer, type TestServer } from './testing/test-server.js';

/** Records what the client reports (the metrics module has its own tests). */
function recordingMetrics() {
  const calls: { operation: string; outcome: string }[] = [];
  const breakerStates: string[] = [];
  const metrics: DepartmentMetrics = {
    observeCall: (_department, operation, outcome) => calls.push({ operation, outcome }),
    setBreakerState: (_department, state) => breakerStates.push(state),
    countContractViolation: () => undefined,
  };
  return { metrics, calls, breakerStates };
}

let server: TestServer;
const clients: DepartmentClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  server.reset();
});

function client(tuning: ClientTuning = {}, metrics?: DepartmentMetrics, baseUrl = server.url): DepartmentClient {
  const created = createDepartmentClient({
    department: 'TEST',
    baseUrl,
    urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    retryMinDelayMs: 5,
    retryMaxDelayMs: 20,
    ...tuning,
    ...(metrics ? { metrics } : {}),
  });
  clients.push(created);
  return created;
}

function get(path: string, extra: Partial<DepartmentRequest> = {}): DepartmentRequest {
  return { operation: 'read', method: 'GET', path, idempotent: true, context: { requestId: 'req_test' }, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<DepartmentError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(DepartmentError);
  return outcome as DepartmentError;
}

describe('happy path', () => {
  it('answers with status, headers and body, propagates the request id and records the call', async () => {
    server.on('/echo', behaviours.echoHeaders());
    const { metrics, calls, breakerStates } = recordingMetrics();
    const response = await client({}, metrics).request(get('/echo', { headers: { accept: 'application/json' } }));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    const echoed = JSON.parse(response.body.toString('utf8')) as { headers: Record<string, string> };
    expect(echoed.headers['x-request-id']).toBe('req_test');
    expect(echoed.headers.accept).toBe('application/json');
    expect(calls).toEqual([{ operation: 'read', outcome: 'ok' }]);
    expect(breakerStates).toEqual(['closed']);
  });

  it('appends request paths to the base URL path', async () => {
    server.on('/api/v1/items', behaviours.json(200, { ok: true }));
    const response = await client({}, undefined, `${server.url}/api/`).request(get('/v1/items'));
    expect(response.status).toBe(200);
    expect(server.count('/api/v1/items')).toBe(1);
  });

  it('sends a POST body', async () => {
    server.on('/submit', behaviours.json(201, { ok: true }));
    await client().request({ ...get('/submit'), method: 'POST', body: '{"a":1}', idempotent: false });
    expect(server.seen[0]?.body).toBe('{"a":1}');
  });

  it('refuses a base URL the policy does not allow, at creation', () => {
    expect(() =>
      createDepartmentClient({
        department: 'TEST',
        baseUrl: server.url,
        urlPolicy: { allowedHosts: [], allowPrivateNetworks: false },
      }),
    ).toThrow(expect.objectContaining({ kind: 'not_allowed' }) as Error);
  });
});

describe('timeouts, size cap, redirects, transport failures', () => {
  it('maps a headers timeout to `timeout`', async () => {
    server.on('/hold', behaviours.hold());
    const error = await failure(client({ headersTimeoutMs: 150 }).request(get('/hold', { idempotent: false })));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('headers');
  });

  it('maps a stalled body to `timeout`', async () => {
    server.on('/stall', behaviours.stallBody());
    const error = await failure(client({ bodyTimeoutMs: 150 }).request(get('/stall', { idempotent: false })));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('body');
  });

  it('stops at the total budget even when the per-phase timeouts are longer', async () => {
    server.on('/hold', behaviours.hold());
    const error = await failure(client({ headersTimeoutMs: 5000, budgetMs: 200 }).request(get('/hold')));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('budget');
    expect(server.count('/hold')).toBe(1);
  });

  it('refuses an answer over the size cap while reading it (chunked) and by its declared length', async () => {
    server.on('/big', behaviours.chunked(64 * 1024));
    server.on('/declared', behaviours.declaredLength(10_000_000));
    const capped = client({ maxResponseBytes: 16 * 1024 });
    expect((await failure(capped.request(get('/big', { idempotent: false })))).kind).toBe('oversized');
    expect((await failure(capped.request(get('/declared', { idempotent: false })))).kind).toBe('oversized');
    server.on('/small', behaviours.chunked(1000));
    expect((await capped.request(get('/small'))).body.byteLength).toBe(1000);
  });

  it('never follows a redirect', async () => {
    server.on('/moved', behaviours.redirect('/elsewhere'));
    server.on('/elsewhere', behaviours.json(200, {}));
    const error = await failure(client().request(get('/moved')));
    expect(error.kind).toBe('not_allowed');
    expect(error.details.status).toBe(302);
    expect(server.count('/elsewhere')).toBe(0);
    expect(server.count('/moved')).toBe(1);
  });

  it('maps 4xx to `rejected` and 5xx to `unavailable`, with the status', async () => {
    server.on('/bad', behaviours.json(400, {}));
    server.on('/down', behaviours.json(503, {}));
    const tested = client({ retries: 0 });
    expect(await failure(tested.request(get('/bad')))).toMatchObject({
      kind: 'rejected',
      details: { status: 400, operation: 'read' },
    });
    expect(await failure(tested.request(get('/down')))).toMatchObject({
      kind: 'unavailable',
      details: { status: 503 },
    });
  });

  it('hands back statuses the request accepts', async () => {
    server.on('/missing', behaviours.json(404, { found: false }));
    const response = await client().request(
      get('/missing', { acceptStatus: (status) => status === 200 || status === 404 }),
    );
    expect(response.status).toBe(404);
  });

  it('maps a reset connection and a refused connection to `connection`', async () => {
    server.on('/reset', behaviours.reset());
    expect((await failure(client({ retries: 0 }).request(get('/reset')))).kind).toBe('connection');
    const closed = await startTestServer();
    const closedUrl = closed.url;
    await closed.close();
    expect((await failure(client({ retries: 0 }, undefined, closedUrl).request(get('/x')))).kind).toBe('connection');
  });

  it('maps a caller abort to `timeout` without counting it against the department', async () => {
    server.on('/hold', behaviours.hold());
    const tested = client({ breakerFailures: 1 });
    const controller = new AbortController();
    const pending = tested.request(get('/hold', { context: { requestId: 'req_abort', signal: controller.signal } }));
    await sleep(30);
    controller.abort();
    const error = await failure(pending);
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('cancelled');
    expect(tested.breakerState()).toBe('closed');
  });
});

describe('retries', () => {
  it('retries an idempotent call on 5xx at most `retries` times', async () => {
    server.on('/down', behaviours.json(503, {}));
    const { metrics, calls } = recordingMetrics();
    const error = await failure(client({ retries: 3 }, metrics).request(get('/down')));
    expect(error.kind).toBe('unavailable');
    expect(server.count('/down')).toBe(4);
    // One call, one observation, whatever the attempts.
    expect(calls).toEqual([{ operation: 'read', outcome: 'unavailable' }]);
  });

  it('succeeds when a retry gets through', async () => {
    server.on('/flaky', behaviours.failTimes(2, 502, behaviours.json(200, { ok: true })));
    const response = await client({ retries: 2 }).request(get('/flaky'));
    expect(response.status).toBe(200);
    expect(server.count('/flaky')).toBe(3);
  });

  it('retries a reset connection and a timeout when idempotent', async () => {
    server.on('/reset', behaviours.reset());
    await failure(client({ retries: 2 }).request(get('/reset')));
    expect(server.count('/reset')).toBe(3);
    server.on('/hold', behaviours.hold());
    await failure(client({ retries: 1, headersTimeoutMs: 100 }).request(get('/hold')));
    expect(server.count('/hold')).toBe(2);
  });

  it('never retries a non-idempotent call', async () => {
    server.on('/down', behaviours.json(503, {}));
    await failure(client({ retries: 3 }).request(get('/down', { method: 'POST', idempotent: false })));
    expect(server.count('/down')).toBe(1);
  });

  it('never retries a kind that is not retryable (4xx, redirect, oversized)', async () => {
    server.on('/bad', behaviours.json(409, {}));
    server.on('/moved', behaviours.redirect('/x'));
    server.on('/big', behaviours.chunked(4096));
    const tested = client({ retries: 3, maxResponseBytes: 1024 });
    await failure(tested.request(get('/bad')));
    await failure(tested.request(get('/moved')));
    await failure(tested.request(get('/big')));
    expect([server.count('/bad'), server.count('/moved'), server.count('/big')]).toEqual([1, 1, 1]);
  });

  it('makes no retry that the budget cannot hold', async () => {
    server.on('/down', behaviours.json(503, {}));
    // Each wait is 150 ms; a 250 ms budget leaves room for one retry at most.
    const error = await failure(
      client({ retries: 5, retryMinDelayMs: 150, retryMaxDelayMs: 150, budgetMs: 250 }).request(get('/down')),
    );
    expect(['unavailable', 'timeout']).toContain(error.kind);
    expect(server.count('/down')).toBeGreaterThanOrEqual(1);
    expect(server.count('/down')).toBeLessThanOrEqual(2);
  });

  it('calls `prepare` for every attempt, so each attempt carries fresh headers', async () => {
    server.on('/flaky', behaviours.failTimes(2, 503, behaviours.json(200, {})));
    let nonce = 0;
    const bodies: string[] = [];
    await client({ retries: 2 }).request(
      get('/flaky', {
        method: 'POST',
        body: 'payload',
        prepare: ({ body }) => {
          bodies.push(Buffer.from(body).toString('utf8'));
          nonce += 1;
          return { 'x-nonce': String(nonce) };
        },
      }),
    );
    expect(server.seen.map((request) => request.headers['x-nonce'])).toEqual(['1', '2', '3']);
    expect(server.seen.every((request) => request.headers['x-request-id'] === 'req_test')).toBe(true);
    expect(bodies).toEqual(['payload', 'payload', 'payload']);
  });

  it('builds the whole request per attempt with `build`, so a retry carries a fresh body signature', async () => {
    server.on('/gateway', behaviours.failTimes(2, 503, behaviours.json(200, {})));
    const key = 'test-signing-key';
    const signed = (fields: Record<string, string>): string => {
      const base = Object.keys(fields)
        .sort()
        .map((name) => `${name}=${fields[name]}`)
        .join('&');
      return createHmac('sha256', key).update(`${base}&key=${key}`).digest('hex').toUpperCase();
    };
    const attempts: number[] = [];
    await client({ retries: 2 }).request(
      get('/gateway', {
        method: 'POST',
        headers: { 'x-static': 'kept' },
        build: ({ attempt }) => {
          attempts.push(attempt);
          const fields = { method: 'test.query', nonce: `n${attempt}`, timestamp: `2026-01-01 00:00:0${attempt}` };
          const form = new URLSearchParams({ ...fields, sign: signed(fields) });
          return {
            method: 'POST',
            path: '/gateway',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: form.toString(),
          };
        },
      }),
    );
    expect(attempts).toEqual([1, 2, 3]);
    expect(server.seen).toHaveLength(3);
    const forms = server.seen.map((request) => new URLSearchParams(request.body));
    // Every attempt went with its own nonce and a signature that verifies over that attempt's fields.
    expect(new Set(forms.map((form) => form.get('nonce'))).size).toBe(3);
    expect(new Set(forms.map((form) => form.get('sign'))).size).toBe(3);
    for (const form of forms) {
      const { sign, ...fields } = Object.fromEntries(form);
      expect(sign).toBe(signed(fields));
    }
    expect(server.seen.every((request) => request.headers['x-static'] === 'kept')).toBe(true);
    expect(
      server.seen.every((request) => request.headers['content-type'] === 'application/x-www-form-urlencoded'),
    ).toBe(true);
  });

  it('lets `build` choose method and path per attempt, and runs `prepare` on the built request', async () => {
    server.on('/first', behaviours.json(503, {}));
    server.on('/second', behaviours.json(200, {}));
    const prepared: string[] = [];
    await client({ retries: 1 }).request(
      get('/ignored', {
        build: ({ attempt }) => ({ method: 'PUT', path: attempt === 1 ? '/first' : '/second', body: `b${attempt}` }),
        prepare: ({ method, path, body }) => {
          prepared.push(`${method} ${path} ${Buffer.from(body).toString('utf8')}`);
          return {};
        },
      }),
    );
    expect(prepared).toEqual(['PUT /first b1', 'PUT /second b2']);
    expect(server.seen.map((request) => `${request.path} ${request.body}`)).toEqual(['/first b1', '/second b2']);
    expect(server.count('/ignored')).toBe(0);
  });

  it('ends the wait before a retry as soon as the caller cancels, and makes no further attempt', async () => {
    server.on('/down', behaviours.json(503, {}));
    const controller = new AbortController();
    // A minute's backoff: only the cancellation can end this call within the test's time limit.
    const tested = client({ retries: 3, retryMinDelayMs: 60_000, retryMaxDelayMs: 60_000, budgetMs: 120_000 });
    const pending = tested.request(get('/down', { context: { requestId: 'req_cancel', signal: controller.signal } }));
    while (server.count('/down') === 0) await sleep(10);
    controller.abort();
    const error = await failure(pending);
    expect(error.kind).toBe('unavailable');
    expect(server.count('/down')).toBe(1);
  });
});

describe('jitter', () => {
  it('stays within the bounds (full jitter)', () => {
    expect(jitteredDelay(50, 1000, () => 0)).toBe(50);
    expect(jitteredDelay(50, 1000, () => 0.999999)).toBeLessThanOrEqual(1000);
    for (let index = 0; index < 1000; index++) {
      const delay = jitteredDelay(10, 30);
      expect(delay).toBeGreaterThanOrEqual(10);
      expect(delay).toBeLessThanOrEqual(30);
    }
    expect(jitteredDelay(100, 10, () => 0.5)).toBe(100);
  });
});

describe('circuit breaker', () => {
  it('opens after N failed calls, fails fast without calling the department, and closes after a successful half-open trial', async () => {
    server.on('/down', behaviours.json(503, {}));
    const { metrics, calls, breakerStates } = recordingMetrics();
    const tested = client({ retries: 1, breakerFailures: 3, breakerHalfOpenAfterMs: 200 }, metrics);
    for (let call = 0; call < 3; call++) expect((await failure(tested.request(get('/down')))).kind).toBe('unavailable');
    // One breaker outcome per call: 3 calls of 2 attempts each opened it.
    expect(server.count('/down')).toBe(6);
    expect(tested.breakerState()).toBe('open');
    expect((await failure(tested.request(get('/down')))).kind).toBe('circuit_open');
    expect(server.count('/down')).toBe(6);
    expect(calls.at(-1)).toEqual({ operation: 'read', outcome: 'circuit_open' });

    server.on('/down', behaviours.json(200, { recovered: true }));
    await sleep(250);
    expect((await tested.request(get('/down'))).status).toBe(200);
    expect(tested.breakerState()).toBe('closed');
    expect(breakerStates).toEqual(['closed', 'open', 'half_open', 'closed']);
  });

  it('a failed half-open trial opens it again', async () => {
    server.on('/down', behaviours.json(500, {}));
    const tested = client({ retries: 0, breakerFailures: 1, breakerHalfOpenAfterMs: 100 });
    await failure(tested.request(get('/down')));
    expect(tested.breakerState()).toBe('open');
    await sleep(150);
    expect((await failure(tested.request(get('/down')))).kind).toBe('unavailable');
    expect(tested.breakerState()).toBe('open');
    expect(server.count('/down')).toBe(2);
  });

  it('is not opened by 4xx answers, redirects or accepted statuses', async () => {
    server.on('/bad', behaviours.json(400, {}));
    server.on('/moved', behaviours.redirect('/x'));
    const tested = client({ breakerFailures: 2 });
    for (let call = 0; call < 4; call++) await failure(tested.request(get('/bad')));
    for (let call = 0; call < 2; call++) await failure(tested.request(get('/moved')));
    expect(tested.breakerState()).toBe('closed');
    expect(server.count('/bad')).toBe(4);
  });
});

describe('concurrency cap', () => {
  it('fails a call over `maxConcurrent` at once as `overloaded`', async () => {
    server.on('/hold', behaviours.hold());
    const { metrics, calls } = recordingMetrics();
    const tested = client({ maxConcurrent: 2, headersTimeoutMs: 300, retries: 0, breakerFailures: 10 }, metrics);
    const held = [tested.request(get('/hold')), tested.request(get('/hold'))];
    expect((await failure(tested.request(get('/hold')))).kind).toBe('overloaded');
    for (const pending of held) expect((await failure(pending)).kind).toBe('timeout');
    expect(calls.map((call) => call.outcome).sort()).toEqual(['overloaded', 'timeout', 'timeout']);
    // Once the slots are free, calls go through again.
    server.on('/hold', behaviours.json(200, {}));
    expect((await tested.request(get('/hold'))).status).toBe(200);
  });
});
