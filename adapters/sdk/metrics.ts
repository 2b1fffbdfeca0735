/**
 * Per-department call metrics, twice: as Prometheus series (calls by outcome, latency histogram,
 * breaker state, contract violations) for scraping, and as a small in-memory summary per
 * department (`snapshot`) for the gateway's departments API, which shows health at a glance
 * without a Prometheus server.
 *
 * Labels are department codes, operation names and error kinds: a small, fixed vocabulary, never
 * anything from a request, so cardinality stays bounded and no personal data lands in a series.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState } from './adapter.js';

export interface DepartmentMetricsSnapshot {
  department: string;
  /** Calls finished since start (all outcomes). */
  calls: number;
  /** Calls that ended in a DepartmentError, in total and by kind. */
  errors: number;
  errorsByKind: Record<string, number>;
  lastError: { kind: string; at: string } | null;
  breakerState: BreakerState;
  /** Over the most recent calls (a bounded window); null before the first call. */
  latencyMs: { p50: number | null; p99: number | null; window: number };
  contractViolations: number;
}

export interface DepartmentMetrics {
  /** Records one finished call: its outcome is `ok` or a DepartmentError kind. */
  observeCall(department: string, operation: string, outcome: string, seconds: number): void;
  setBreakerState(department: string, state: 'closed' | 'open' | 'half_open'): void;
  countContractViolation(department: string, resourceCode: string, operation: string): void;
  /** The in-memory summary of one department (absent in minimal implementations, e.g. test fakes). */
  snapshot?(department: string): DepartmentMetricsSnapshot;
  /** Summaries of every department seen so far, by department code. */
  snapshots?(): DepartmentMetricsSnapshot[];
}

/** What `createDepartmentMetrics` returns: the summaries are always there. */
export interface DepartmentMetricsRecorder extends DepartmentMetrics {
  snapshot(department: string): DepartmentMetricsSnapshot;
  snapshots(): DepartmentMetricsSnapshot[];
}

export interface DepartmentMetricsOptions {
  /** Latencies kept per department for p50/p99. Default 512. */
  latencyWindow?: number;
  /** The clock for `lastError.at` (tests move it). */
  now?: () => Date;
}

const breakerGaugeValue: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** The running summary of one department. */
class DepartmentSummary {
  calls = 0;
  errors = 0;
  readonly errorsByKind = new Map<string, number>();
  lastError: { kind: string; at: string } | null = null;
  breakerState: BreakerState = 'closed';
  contractViolations = 0;
  /** A ring buffer of recent latencies in ms: fixed memory whatever the call volume. */
  private readonly latencies: Float64Array;
  private written = 0;

  constructor(
    readonly department: string,
    window: number,
  ) {
    this.latencies = new Float64Array(window);
  }

  recordLatency(milliseconds: number): void {
    this.latencies[this.written % this.latencies.length] = milliseconds;
    this.written += 1;
  }

  toSnapshot(): DepartmentMetricsSnapshot {
    const filled = Math.min(this.written, this.latencies.length);
    // Sorting happens only when someone asks (the departments API), never on the call path.
    const sorted = this.latencies.slice(0, filled).sort();
    const percentile = (fraction: number): number | null =>
      filled === 0 ? null : (sorted[Math.min(filled - 1, Math.ceil(fraction * filled) - 1)] ?? null);
    return {
      department: this.department,
      calls: this.calls,
      errors: this.errors,
      errorsByKind: Object.fromEntries(this.errorsByKind),
      lastError: this.lastError,
      breakerState: this.breakerState,
      latencyMs: { p50: percentile(0.5), p99: percentile(0.99), window: filled },
      contractViolations: this.contractViolations,
    };
  }
}

export function createDepartmentMetrics(
  registry: Registry,
  options: DepartmentMetricsOptions = {},
): DepartmentMetricsRecorder {
  const latencyWindow = options.latencyWindow ?? 512;
  const now = options.now ?? (() => new Date());
  const calls = new Counter({
    name: 'onewindow_department_calls_total',
    help: 'Department calls by outcome (ok or the error kind)',
    labelNames: ['department', 'operation', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'onewindow_department_call_duration_seconds',
    help: 'Department call latency, all attempts and waits included',
    labelNames: ['department', 'operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    registers: [registry],
  });
  const breaker = new Gauge({
    name: 'onewindow_department_breaker_state',
    help: 'Circuit breaker state per department: 0 closed, 1 half-open, 2 open',
    labelNames: ['department'],
    registers: [registry],
  });
  const violations = new Counter({
    name: 'onewindow_department_contract_violations_total',
    help: 'Department answers that did not satisfy the published contract',
    labelNames: ['department', 'resource', 'operation'],
    registers: [registry],
  });

  const summaries = new Map<string, DepartmentSummary>();
  function summaryOf(department: string): DepartmentSummary {
    let summary = summaries.get(department);
    if (!summary) {
      summary = new DepartmentSummary(department, latencyWindow);
      summaries.set(department, summary);
    }
    return summary;
  }

  // prom-client hashes label sets on every `inc`; the label children are cached per combination
  // so the call path does one Map lookup instead.
  const callChildren = new Map<string, { inc(): void }>();
  const durationChildren = new Map<string, { observe(value: number): void }>();

  return {
    observeCall(department, operation, outcome, seconds) {
      const callKey = `${department}\u0000${operation}\u0000${outcome}`;
      let callChild = callChildren.get(callKey);
      if (!callChild) {
        callChild = calls.labels({ department, operation, outcome });
        callChildren.set(callKey, callChild);
      }
      callChild.inc();
      const durationKey = `${department}\u0000${operation}`;
      let durationChild = durationChildren.get(durationKey);
      if (!durationChild) {
        durationChild = duration.labels({ department, operation });
        durationChildren.set(durationKey, durationChild);
      }
      durationChild.observe(seconds);

      const summary = summaryOf(department);
      summary.calls += 1;
      summary.recordLatency(seconds * 1000);
      if (outcome !== 'ok') {
        summary.errors += 1;
        summary.errorsByKind.set(outcome, (summary.errorsByKind.get(outcome) ?? 0) + 1);
        summary.lastError = { kind: outcome, at: now().toISOString() };
      }
    },
    setBreakerState(department, state) {
      breaker.set({ department }, breakerGaugeValue[state]);
      summaryOf(department).breakerState = state;
    },
    countContractViolation(department, resourceCode, operation) {
      violations.inc({ department, resource: resourceCode, operation });
      summaryOf(department).contractViolations += 1;
    },
    snapshot(department) {
      // A department not called yet gets an empty summary without being registered by the query.
      return (summaries.get(department) ?? new DepartmentSummary(department, 1)).toSnapshot();
    },
    snapshots() {
      return [...summaries.values()].map((summary) => summary.toSnapshot());
    },
  };
}
