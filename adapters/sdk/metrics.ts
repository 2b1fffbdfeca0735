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
import { DepartmentError } from './errors.js';

/** Whether an attempt was the call's first or a retry (the `attempt` label). */
export type AttemptKind = 'first' | 'retry';

/** Counts by outcome (`ok`, `http_502`, `timeout`, `business_error`…). */
export type OutcomeCounts = Record<string, number>;

/** One operation's traffic (a department call is named by its operation, e.g. `verify`). */
export interface OperationTraffic {
  operation: string;
  calls: number;
  attempts: number;
  retries: number;
  /** How calls ended: `ok` or the error kind, after their retries. */
  callOutcomes: OutcomeCounts;
  /** How each HTTP exchange ended: `ok`, `http_<status>` or the error kind. */
  attemptOutcomes: OutcomeCounts;
  /** The same for retries only: what the retries met. */
  retryOutcomes: OutcomeCounts;
}

/** The most recent failure seen at any level: an attempt, a call, or a capability's result. */
export interface LastFailure {
  at: string;
  /** `attempt`: one HTTP exchange failed (maybe retried); `call`: the call failed after its retries; `result`: the adapter's answer was an error (e.g. a business error inside a 200). */
  level: 'attempt' | 'call' | 'result';
  /** The operation (attempt, call) or capability (result). */
  operation: string;
  outcome: string;
  attempt?: AttemptKind;
}

/**
 * The outcome label of one HTTP attempt: `http_<status>` for an answer refused by its status (the
 * 502s of a front proxy), else the error kind (`timeout`, `connection`, `malformed`, `oversized`).
 */
export function attemptOutcomeOf(error: unknown): string {
  if (!(error instanceof DepartmentError)) return 'connection';
  const status = error.details.status;
  if (
    (error.kind === 'unavailable' || error.kind === 'rejected' || error.kind === 'not_allowed') &&
    status !== undefined &&
    Number.isInteger(status) &&
    status >= 100 &&
    status <= 599
  )
    return `http_${status}`;
  return error.kind;
}

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
  /** ISO time the counts start from (the gateway's start). */
  since: string;
  /** HTTP exchanges made (first attempts and retries); a call refused by the breaker makes none. */
  attempts: number;
  retries: number;
  outcomes: {
    calls: OutcomeCounts;
    attempts: OutcomeCounts;
    retries: OutcomeCounts;
    /** What the gateway's capability calls ended with, after the adapter read the answer. */
    results: OutcomeCounts;
  };
  operations: OperationTraffic[];
  lastFailure: LastFailure | null;
}

export interface DepartmentMetrics {
  /** Records one finished call: its outcome is `ok` or a DepartmentError kind. */
  observeCall(department: string, operation: string, outcome: string, seconds: number): void;
  setBreakerState(department: string, state: 'closed' | 'open' | 'half_open'): void;
  countContractViolation(department: string, resourceCode: string, operation: string): void;
  /** Records one HTTP exchange of a call: `ok`, `http_<status>` or an error kind (see `attemptOutcomeOf`). */
  observeAttempt?(department: string, operation: string, outcome: string, attempt: AttemptKind): void;
  /** Records what a capability call (verifyIdentity, fetchCertificate…) ended with: `ok` or the error kind. */
  observeResult?(department: string, capability: string, outcome: string): void;
  /** The in-memory summary of one department (absent in minimal implementations, e.g. test fakes). */
  snapshot?(department: string): DepartmentMetricsSnapshot;
  /** Summaries of every department seen so far, by department code. */
  snapshots?(): DepartmentMetricsSnapshot[];
}

/** What `createDepartmentMetrics` returns: the summaries are always there. */
export interface DepartmentMetricsRecorder extends DepartmentMetrics {
  observeAttempt(department: string, operation: string, outcome: string, attempt: AttemptKind): void;
  observeResult(department: string, capability: string, outcome: string): void;
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

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

class OperationSummary {
  calls = 0;
  attempts = 0;
  retries = 0;
  readonly callOutcomes = new Map<string, number>();
  readonly attemptOutcomes = new Map<string, number>();
  readonly retryOutcomes = new Map<string, number>();

  constructor(readonly operation: string) {}

  toTraffic(): OperationTraffic {
    return {
      operation: this.operation,
      calls: this.calls,
      attempts: this.attempts,
      retries: this.retries,
      callOutcomes: Object.fromEntries(this.callOutcomes),
      attemptOutcomes: Object.fromEntries(this.attemptOutcomes),
      retryOutcomes: Object.fromEntries(this.retryOutcomes),
    };
  }
}

/** The running summary of one department. */
class DepartmentSummary {
  calls = 0;
  attempts = 0;
  retries = 0;
  readonly callOutcomes = new Map<string, number>();
  readonly attemptOutcomes = new Map<string, number>();
  readonly retryOutcomes = new Map<string, number>();
  readonly resultOutcomes = new Map<string, number>();
  /** Operations are a department's fixed vocabulary (the adapter's names), so this map stays small. */
  readonly operations = new Map<string, OperationSummary>();
  lastFailure: LastFailure | null = null;
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
    private readonly since: string,
  ) {
    this.latencies = new Float64Array(window);
  }

  operation(name: string): OperationSummary {
    let summary = this.operations.get(name);
    if (!summary) {
      summary = new OperationSummary(name);
      this.operations.set(name, summary);
    }
    return summary;
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
      since: this.since,
      attempts: this.attempts,
      retries: this.retries,
      outcomes: {
        calls: Object.fromEntries(this.callOutcomes),
        attempts: Object.fromEntries(this.attemptOutcomes),
        retries: Object.fromEntries(this.retryOutcomes),
        results: Object.fromEntries(this.resultOutcomes),
      },
      operations: [...this.operations.values()].map((operation) => operation.toTraffic()),
      lastFailure: this.lastFailure,
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
  const attempts = new Counter({
    name: 'onewindow_department_attempts_total',
    help: 'HTTP exchanges with departments by outcome (ok, http_<status> or the error kind), first attempts and retries apart',
    labelNames: ['department', 'operation', 'outcome', 'attempt'],
    registers: [registry],
  });
  const results = new Counter({
    name: 'onewindow_department_results_total',
    help: 'Capability calls (verifyIdentity, fetchCertificate…) by what the adapter made of the answer: ok or the error kind (business_error included)',
    labelNames: ['department', 'capability', 'outcome'],
    registers: [registry],
  });
  const since = now().toISOString();
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
      summary = new DepartmentSummary(department, latencyWindow, since);
      summaries.set(department, summary);
    }
    return summary;
  }

  // prom-client hashes label sets on every `inc`; the label children are cached per combination
  // so the call path does one Map lookup instead.
  const callChildren = new Map<string, { inc(): void }>();
  const durationChildren = new Map<string, { observe(value: number): void }>();
  const attemptChildren = new Map<string, { inc(): void }>();

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
      increment(summary.callOutcomes, outcome);
      const perOperation = summary.operation(operation);
      perOperation.calls += 1;
      increment(perOperation.callOutcomes, outcome);
      if (outcome !== 'ok') {
        summary.errors += 1;
        summary.errorsByKind.set(outcome, (summary.errorsByKind.get(outcome) ?? 0) + 1);
        const at = now().toISOString();
        summary.lastError = { kind: outcome, at };
        summary.lastFailure = { at, level: 'call', operation, outcome };
      }
    },
    observeAttempt(department, operation, outcome, attempt) {
      const key = `${department}\u0000${operation}\u0000${outcome}\u0000${attempt}`;
      let child = attemptChildren.get(key);
      if (!child) {
        child = attempts.labels({ department, operation, outcome, attempt });
        attemptChildren.set(key, child);
      }
      child.inc();
      const summary = summaryOf(department);
      const perOperation = summary.operation(operation);
      summary.attempts += 1;
      perOperation.attempts += 1;
      increment(summary.attemptOutcomes, outcome);
      increment(perOperation.attemptOutcomes, outcome);
      if (attempt === 'retry') {
        summary.retries += 1;
        perOperation.retries += 1;
        increment(summary.retryOutcomes, outcome);
        increment(perOperation.retryOutcomes, outcome);
      }
      if (outcome !== 'ok')
        summary.lastFailure = { at: now().toISOString(), level: 'attempt', operation, outcome, attempt };
    },
    observeResult(department, capability, outcome) {
      results.inc({ department, capability, outcome });
      const summary = summaryOf(department);
      increment(summary.resultOutcomes, outcome);
      if (outcome !== 'ok')
        summary.lastFailure = { at: now().toISOString(), level: 'result', operation: capability, outcome };
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
      return (summaries.get(department) ?? new DepartmentSummary(department, 1, since)).toSnapshot();
    },
    snapshots() {
      return [...summaries.values()].map((summary) => summary.toSnapshot());
    },
  };
}
