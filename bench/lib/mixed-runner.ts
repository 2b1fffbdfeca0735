/**
 * A mixed HTTP load from the benchmark process: several operations at the same time, each on its
 * own keep-alive connections, every answer checked and timed per step.
 *
 * An operation is a short sequence of steps a connection repeats (one step for most; "open a case,
 * then submit it" is two, the second using what the first answered). Each operation runs as one
 * autocannon instance per target server; the connections of all operations are dealt round-robin
 * over the targets (connection g of the whole mix goes to target g mod N), so several gateway
 * instances share the load without a balancer. Each step's answer is timed from the moment its
 * request is built (right before it is written) to the end of its answer, in this process.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/** What one connection carries from step to step (autocannon keeps one per connection). */
export interface StepContext {
  sentAt?: number;
  values?: Record<string, string>;
}

export interface MixStep {
  /** The name the step's figures are reported under. */
  name: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Headers that differ per request (an Idempotency-Key), added to `headers`. */
  perRequestHeaders?: (context: StepContext) => Record<string, string>;
  /** Path and query of the next request; may read what an earlier step of the connection saved. */
  path: (context: StepContext) => string;
  body?: (context: StepContext) => string | Buffer;
  /** undefined when the answer is what was asked for, else what was wrong. May save values for the next step. */
  check: (status: number, body: string, context: StepContext) => string | undefined;
}

export interface MixOperation {
  name: string;
  connections: number;
  steps: MixStep[];
}

export interface StepFigures {
  operation: string;
  step: string;
  /** Answers that passed their check. */
  ok: number;
  failures: number;
  /** A few distinct failures, for the report. */
  failureSamples: string[];
  statusCodes: Record<string, number>;
  /** Each passing answer's time in ms. */
  latencies: Float64Array;
}

export interface MixSlice {
  /** Measured seconds (autocannon's own, averaged over the instances). */
  durationSeconds: number;
  steps: StepFigures[];
  /** Connection errors and timeouts (autocannon counts timeouts among the errors too). */
  errors: number;
  timeouts: number;
  errorSamples: string[];
  /** Connections per target, in the order of `targets`. */
  connectionsPerTarget: number[];
}

export interface MixOptions {
  title: string;
  /** Base URLs (`http://127.0.0.1:port`) the connections are dealt over. */
  targets: readonly string[];
  operations: readonly MixOperation[];
  durationSeconds: number;
  /** A request unanswered this long counts as a timeout. */
  timeoutSeconds: number;
}

class StepRecorder {
  ok = 0;
  failures = 0;
  readonly failureSamples = new Set<string>();
  readonly statusCodes: Record<string, number> = {};
  // Growable typed buffer: a JS array of numbers would allocate more in the load generator.
  private latencies = new Float64Array(1 << 12);

  constructor(
    readonly operation: string,
    readonly step: string,
  ) {}

  record(status: number, ms: number, problem: string | undefined): void {
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
    if (problem !== undefined) {
      this.failures += 1;
      if (this.failureSamples.size < 4) this.failureSamples.add(`HTTP ${status}: ${problem.slice(0, 300)}`);
      return;
    }
    if (this.ok === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.ok] = ms;
    this.ok += 1;
  }

  figures(): StepFigures {
    return {
      operation: this.operation,
      step: this.step,
      ok: this.ok,
      failures: this.failures,
      failureSamples: [...this.failureSamples],
      statusCodes: { ...this.statusCodes },
      latencies: this.latencies.slice(0, this.ok),
    };
  }
}

/** How many of the connections [offset, offset + count) of the whole mix go to each of `targets` targets. */
export function dealConnections(offset: number, count: number, targets: number): number[] {
  const perTarget = new Array<number>(targets).fill(0);
  for (let index = offset; index < offset + count; index += 1)
    perTarget[index % targets] = (perTarget[index % targets] ?? 0) + 1;
  return perTarget;
}

function autocannonRun(
  options: autocannon.Options,
  watchdogMs: number,
  errorSamples: Set<string>,
): Promise<autocannon.Result> {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      clearTimeout(watchdog);
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(result);
    });
    // autocannon stops on its own after `duration`; this only guards against a hang.
    const watchdog = setTimeout(() => {
      instance.stop();
      reject(new Error(`${options.title ?? 'load'}: did not finish in time`));
    }, watchdogMs);
    instance.on('reqError', (error: Error) => {
      if (errorSamples.size < 4) errorSamples.add(error.message);
    });
  });
}

export async function runMix(options: MixOptions): Promise<MixSlice> {
  const recorders = new Map<MixStep, StepRecorder>();
  for (const operation of options.operations)
    for (const step of operation.steps) recorders.set(step, new StepRecorder(operation.name, step.name));
  const errorSamples = new Set<string>();
  const connectionsPerTarget = new Array<number>(options.targets.length).fill(0);

  const runs: Promise<autocannon.Result>[] = [];
  let offset = 0;
  for (const operation of options.operations) {
    const dealt = dealConnections(offset, operation.connections, options.targets.length);
    offset += operation.connections;
    const requests: autocannon.Request[] = operation.steps.map((step) => {
      const recorder = recorders.get(step);
      return {
        method: step.method,
        headers: step.headers,
        // Called right before the request is written (autocannon builds each request when it sends it).
        setupRequest: (request: autocannon.Request, context: object): autocannon.Request => {
          const connection = context as StepContext;
          const prepared: autocannon.Request = { ...request, path: step.path(connection) };
          if (step.body) prepared.body = step.body(connection);
          if (step.perRequestHeaders) prepared.headers = { ...step.headers, ...step.perRequestHeaders(connection) };
          connection.sentAt = performance.now();
          return prepared;
        },
        onResponse: (status: number, body: string, context: object): void => {
          const connection = context as StepContext;
          const now = performance.now();
          recorder?.record(status, now - (connection.sentAt ?? now), step.check(status, body, connection));
        },
      };
    });
    dealt.forEach((connections, index) => {
      const target = options.targets[index];
      if (connections === 0 || target === undefined) return;
      connectionsPerTarget[index] = (connectionsPerTarget[index] ?? 0) + connections;
      runs.push(
        autocannonRun(
          {
            title: `${options.title}: ${operation.name} → ${target}`,
            url: `${target}/`,
            connections,
            pipelining: 1,
            duration: options.durationSeconds,
            timeout: options.timeoutSeconds,
            initialContext: { values: {} },
            requests,
          },
          (options.durationSeconds + options.timeoutSeconds + 20) * 1000,
          errorSamples,
        ),
      );
    });
  }
  const results = await Promise.all(runs);
  const sum = (pick: (result: autocannon.Result) => number): number =>
    results.reduce((total, result) => total + pick(result), 0);
  return {
    durationSeconds: results.length > 0 ? sum((result) => result.duration) / results.length : 0,
    steps: [...recorders.values()].map((recorder) => recorder.figures()),
    errors: sum((result) => result.errors),
    timeouts: sum((result) => result.timeouts),
    errorSamples: [...errorSamples],
    connectionsPerTarget,
  };
}
