import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createDepartmentMetrics } from './metrics.js';

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
});
