/**
 * In-process load: a fixed number of async calls at a fixed concurrency, bounded in time, each
 * call timed on its own; plus the small figures a benchmark reports around such a run (latency
 * percentiles, CPU of this process and of the whole machine) and a plain text table.
 *
 * For benchmarks whose "request" is a function call in this process (an SDK call, a client
 * request) rather than an HTTP request autocannon could make (`load.ts`).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface CallRunOptions {
  /** Calls to make in total. */
  count: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** `Date.now()` after which no new call starts (the run is then marked `capped`). */
  deadline: number;
  /** Stop early after this many failed calls (the caller fails the run anyway). Default 20. */
  maxFailures?: number;
  /** One call; `index` counts from 0 over the run. Throws to count as a failure. */
  call: (index: number) => Promise<void>;
}

export interface CallRun {
  /** Calls that succeeded. */
  done: number;
  /** Wall-clock seconds from the first call's start to the last one's end. */
  seconds: number;
  /** Each successful call's own duration in ms. */
  latencies: Float64Array;
  failures: string[];
  /** The deadline stopped the run before `count` calls were made. */
  capped: boolean;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function runCalls(options: CallRunOptions): Promise<CallRun> {
  const maxFailures = options.maxFailures ?? 20;
  // Preallocated: pushing into a JS array would allocate in the very process being measured.
  const latencies = new Float64Array(options.count);
  let issued = 0;
  let done = 0;
  let capped = false;
  const failures: string[] = [];
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (issued < options.count && failures.length < maxFailures) {
      if (Date.now() >= options.deadline) {
        capped = true;
        return;
      }
      const index = issued;
      issued += 1;
      const begun = performance.now();
      try {
        await options.call(index);
        latencies[done] = performance.now() - begun;
        done += 1;
      } catch (error) {
        failures.push(errorText(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.count)) }, worker));
  return {
    done,
    seconds: (performance.now() - started) / 1000,
    latencies: latencies.subarray(0, done),
    failures,
    capped,
  };
}

/** Throws with the first distinct failures when a run had any. */
export function assertNoFailures(title: string, run: CallRun): void {
  if (run.failures.length === 0) return;
  const distinct = [...new Set(run.failures)].slice(0, 5);
  throw new Error(
    `${title}: ${run.failures.length} failed call(s), ${run.done} succeeded. First failures:\n    ${distinct.join('\n    ')}`,
  );
}

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles over the given latencies (ms), merged from any number of runs. */
export function latencyStats(parts: readonly Float64Array[]): LatencyStats {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const sorted = new Float64Array(total);
  let offset = 0;
  for (const part of parts) {
    sorted.set(part, offset);
    offset += part.length;
  }
  sorted.sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const percentile = (p: number): number =>
    total === 0 ? Number.NaN : (sorted[Math.min(total, Math.max(1, Math.ceil((p / 100) * total))) - 1] ?? Number.NaN);
  return {
    count: total,
    mean: total > 0 ? sum / total : Number.NaN,
    p50: percentile(50),
    p90: percentile(90),
    p99: percentile(99),
    max: percentile(100),
  };
}

/** Busy (non-idle, non-iowait) CPU seconds of the whole machine since boot, from /proc/stat; undefined off Linux. */
export function machineBusySeconds(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

/** CPU seconds (user + system, all threads) this process has used so far. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);

/** A text table; the first `left` columns are left-aligned, the others right-aligned. */
export function textTable(rows: readonly (readonly string[])[], left = 1): string {
  const [header] = rows;
  if (!header) return '';
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column < left ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  return lines.map((line) => `  ${line}`).join('\n');
}
