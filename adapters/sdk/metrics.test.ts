import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createDepartmentClient } from './client.js';
import { DepartmentError } from './errors.js';
import { attemptOutcomeOf, createDepartmentMetrics } from './metrics.js';
import { behaviours, startTestServer } from './testing/test-server.js';

describe('department metrics', () => {
  it('exposes calls, latency, breaker state and contract violations as Prometheus series', async () => {
    const registry = new Registry();
    const metrics = createDepartmentMetrics(registry);
    metrics.observeCall('PSB', 'verifyIdentity', 'ok', 0.012);
    metrics.observeCall('PSB', 'verifyIdentity', 'ok', 0.02);
    metrics.observeCall('PSB', 'verifyIdentity', 'timeout', 0.5);
    metrics.setBreakerState('PSB', 'open');
    metrics.setBreakerState('AMR', 'half_open');
    metrics.countContractViolation('PSB', 'psb.population', 'verifyIdentity');
    const text = await registry.metrics();
    expect(text).toContain(
      'onewindow_department_calls_total{department="PSB",operation="verifyIdentity",outcome="ok"} 2',
    );
    expect(text).toContain(
      'onewindow_department_calls_total{department="PSB",operation="verifyIdentity",outcome="timeout"} 1',
    );
    expect(text).toContain(
      'onewindow_department_call_duration_seconds_count{department="PSB",operation="verifyIdentity"} 3',
    );
    expect(text).toContain('onewindow_department_breaker_state{department="PSB"} 2');
    expect(text).toContain('onewindow_department_breaker_state{department="AMR"} 1');
    expect(text).toContain(
      'onewindow_department_contract_violations_total{department="PSB",resource="psb.population",operation="verifyIdentity"} 1',
    );
  });

  it('keeps a per-department summary with errors by kind, the last error and latency percentiles', () => {
    const at = new Date('2025-03-01T08:00:00.000Z');
    const metrics = createDepartmentMetrics(new Registry(), { now: () => at });
    for (let index = 1; index <= 100; index++) metrics.observeCall('NR', 'certificate', 'ok', index / 1000);
    metrics.observeCall('NR', 'certificate', 'unavailable', 0.001);
    metrics.observeCall('NR', 'submit', 'rejected', 0.001);
    metrics.setBreakerState('NR', 'closed');
    metrics.countContractViolation('NR', 'nr.realestate', 'certificate');
    const snapshot = metrics.snapshot('NR');
    expect(snapshot).toMatchObject({
      department: 'NR',
      calls: 102,
      errors: 2,
      errorsByKind: { unavailable: 1, rejected: 1 },
      lastError: { kind: 'rejected', at: '2025-03-01T08:00:00.000Z' },
      breakerState: 'closed',
      contractViolations: 1,
    });
    expect(snapshot.latencyMs.window).toBe(102);
    expect(snapshot.latencyMs.p50).toBeCloseTo(49, 5);
    expect(snapshot.latencyMs.p99).toBeCloseTo(99, 5);
    expect(metrics.snapshots().map((entry) => entry.department)).toEqual(['NR']);
  });

  it('bounds the latency window and reports an empty summary for a department not called yet', () => {
    const metrics = createDepartmentMetrics(new Registry(), { latencyWindow: 10 });
    for (let index = 0; index < 50; index++) metrics.observeCall('PSB', 'x', 'ok', index < 40 ? 1 : 0.002);
    // Only the last ten calls (2 ms each) are in the window.
    expect(metrics.snapshot('PSB').latencyMs).toEqual({ p50: 2, p99: 2, window: 10 });
    expect(metrics.snapshot('AMR')).toMatchObject({
      calls: 0,
      latencyMs: { p50: null, p99: null, window: 0 },
      lastError: null,
    });
    expect(metrics.snapshots()).toHaveLength(1);
  });

  it('works with several recorders on separate registries (one per app in tests)', () => {
    expect(() => {
      createDepartmentMetrics(new Registry());
      createDepartmentMetrics(new Registry());
    }).not.toThrow();
  });

  it('names an attempt by its HTTP status when the status refused it, else by the error kind', () => {
    const failed = (kind: 'unavailable' | 'rejected' | 'timeout' | 'connection', status?: number) =>
      new DepartmentError(kind, 'x', { department: 'PSB', operation: 'verify', ...(status ? { status } : {}) });
    expect(attemptOutcomeOf(failed('unavailable', 502))).toBe('http_502');
    expect(attemptOutcomeOf(failed('rejected', 429))).toBe('http_429');
    expect(attemptOutcomeOf(failed('timeout', 200))).toBe('timeout');
    expect(attemptOutcomeOf(failed('connection'))).toBe('connection');
    expect(attemptOutcomeOf(new Error('not ours'))).toBe('connection');
  });

  it('counts attempts, retries and capability results apart, per department and operation, with the last failure', async () => {
    const clock = { now: new Date('2025-03-01T08:00:00.000Z') };
    const registry = new Registry();
    const metrics = createDepartmentMetrics(registry, { now: () => clock.now });
    metrics.observeAttempt('MCA', 'marriage.query', 'http_502', 'first');
    clock.now = new Date('2025-03-01T08:00:01.000Z');
    metrics.observeAttempt('MCA', 'marriage.query', 'ok', 'retry');
    metrics.observeCall('MCA', 'marriage.query', 'ok', 0.05);
    metrics.observeResult('MCA', 'fetchCertificate', 'business_error');
    metrics.observeAttempt('MCA', 'health', 'ok', 'first');
    metrics.observeCall('MCA', 'health', 'ok', 0.01);
    metrics.observeResult('MCA', 'health', 'ok');
    const snapshot = metrics.snapshot('MCA');
    expect(snapshot).toMatchObject({
      since: '2025-03-01T08:00:00.000Z',
      calls: 2,
      attempts: 3,
      retries: 1,
      errors: 0,
      outcomes: {
        calls: { ok: 2 },
        attempts: { http_502: 1, ok: 2 },
        retries: { ok: 1 },
        results: { business_error: 1, ok: 1 },
      },
      lastFailure: {
        at: '2025-03-01T08:00:01.000Z',
        level: 'result',
        operation: 'fetchCertificate',
        outcome: 'business_error',
      },
    });
    expect(snapshot.operations).toEqual([
      {
        operation: 'marriage.query',
        calls: 1,
        attempts: 2,
        retries: 1,
        callOutcomes: { ok: 1 },
        attemptOutcomes: { http_502: 1, ok: 1 },
        retryOutcomes: { ok: 1 },
      },
      {
        operation: 'health',
        calls: 1,
        attempts: 1,
        retries: 0,
        callOutcomes: { ok: 1 },
        attemptOutcomes: { ok: 1 },
        retryOutcomes: {},
      },
    ]);
    const text = await registry.metrics();
    expect(text).toContain(
      'onewindow_department_attempts_total{department="MCA",operation="marriage.query",outcome="http_502",attempt="first"} 1',
    );
    expect(text).toContain(
      'onewindow_department_attempts_total{department="MCA",operation="marriage.query",outcome="ok",attempt="retry"} 1',
    );
    expect(text).toContain(
      'onewindow_department_results_total{department="MCA",capability="fetchCertificate",outcome="business_error"} 1',
    );
  });

  it('a department answering 502 then 200 shows the 502 and the retry, not only outcome="ok" (real client, real server)', async () => {
    const server = await startTestServer();
    const registry = new Registry();
    const metrics = createDepartmentMetrics(registry);
    const client = createDepartmentClient({
      department: 'MCA',
      baseUrl: server.url,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
      retryMinDelayMs: 1,
      retryMaxDelayMs: 5,
      metrics,
    });
    try {
      server.on('/gateway', behaviours.failTimes(1, 502, behaviours.json(200, { code: '0' })));
      const response = await client.request({
        operation: 'civil.marriage.query',
        method: 'POST',
        path: '/gateway',
        body: 'method=civil.marriage.query',
        idempotent: true,
        context: { requestId: 'req_retry_visibility' },
      });
      expect(response.status).toBe(200);
      expect(server.count('/gateway')).toBe(2);
      // A write that is not idempotent is made once: one attempt, no retry.
      server.on('/submit', behaviours.failTimes(1, 502, behaviours.json(200, { code: '0' })));
      await expect(
        client.request({
          operation: 'civil.marriage.submit',
          method: 'POST',
          path: '/submit',
          idempotent: false,
          context: { requestId: 'req_no_retry' },
        }),
      ).rejects.toMatchObject({ kind: 'unavailable' });
      const text = await registry.metrics();
      expect(text).toContain(
        'onewindow_department_calls_total{department="MCA",operation="civil.marriage.query",outcome="ok"} 1',
      );
      expect(text).toContain(
        'onewindow_department_attempts_total{department="MCA",operation="civil.marriage.query",outcome="http_502",attempt="first"} 1',
      );
      expect(text).toContain(
        'onewindow_department_attempts_total{department="MCA",operation="civil.marriage.query",outcome="ok",attempt="retry"} 1',
      );
      expect(text).toContain(
        'onewindow_department_attempts_total{department="MCA",operation="civil.marriage.submit",outcome="http_502",attempt="first"} 1',
      );
      expect(text).not.toContain('operation="civil.marriage.submit",outcome="ok"');
      const snapshot = metrics.snapshot('MCA');
      expect(snapshot).toMatchObject({
        calls: 2,
        attempts: 3,
        retries: 1,
        outcomes: {
          calls: { ok: 1, unavailable: 1 },
          attempts: { http_502: 2, ok: 1 },
          retries: { ok: 1 },
        },
        lastFailure: { level: 'call', operation: 'civil.marriage.submit', outcome: 'unavailable' },
      });
    } finally {
      await client.close();
      await server.close();
    }
  });
});
