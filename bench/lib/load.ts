/**
 * One load run with autocannon from this process, plus what autocannon does not give directly:
 * sub-millisecond latency percentiles and the CPU the server (and PostgreSQL) spent.
 */
import autocannon from 'autocannon';
import { type CpuSnapshot, cpuSpent } from './children.js';

export interface LoadOptions {
  title: string;
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Snapshots of the CPU of processes whose cost per request is reported (server, database). */
  cpu?: Record<string, () => CpuSnapshot>;
}

export interface LoadResult {
  title: string;
  connections: number;
  durationSeconds: number;
  /** 2xx responses per second of the measured run. */
  requestsPerSecond: number;
  responses2xx: number;
  non2xx: number;
  /** Connection errors and timeouts (autocannon counts timeouts among errors). */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** From each 2xx response's own timing, in ms with sub-ms precision. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** autocannon's own histogram, which records whole milliseconds; kept for reference. */
  autocannonLatencyMs: { p50: number; p99: number };
  /** CPU seconds spent during the run per source, and the same per 1000 requests (ms/request). */
  cpuSeconds: Record<string, number>;
  cpuMsPerRequest: Record<string, number>;
  /** CPU of this process (the load generator): near 1.0 s/s means it may be the bottleneck. */
  loadGeneratorCpuPerSecond: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  // A growable buffer: at tens of thousands of responses a second a JS array of numbers would
  // allocate more, in the very process that generates the load.
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const cpuBefore = Object.fromEntries(Object.entries(options.cpu ?? {}).map(([name, take]) => [name, take()]));
  const ownBefore = process.cpuUsage();

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        title: options.title,
        url: options.url,
        headers: options.headers,
        connections: options.connections,
        duration: options.durationSeconds,
        // A request taking this long is counted as an error, not waited for.
        timeout: 10,
      },
      (error: unknown, finished: autocannon.Result) => {
        clearTimeout(watchdog);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(finished);
      },
    );
    // autocannon stops on its own after `duration`; this only guards against a hang.
    const watchdog = setTimeout(() => {
      instance.stop();
      reject(new Error(`${options.title}: load run did not finish in time`));
    }, (options.durationSeconds + 30) * 1000);
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode > 299) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count] = responseTime;
      count += 1;
    });
  });

  const own = process.cpuUsage(ownBefore);
  const sorted = latencies.subarray(0, count).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const responses2xx = result['2xx'];
  const cpuSeconds: Record<string, number> = {};
  const cpuMsPerRequest: Record<string, number> = {};
  for (const [name, take] of Object.entries(options.cpu ?? {})) {
    const before = cpuBefore[name];
    const spent = before ? cpuSpent(before, take()) : undefined;
    if (spent === undefined) continue;
    cpuSeconds[name] = round(spent, 2);
    cpuMsPerRequest[name] = responses2xx > 0 ? round((spent * 1000) / responses2xx, 4) : Number.NaN;
  }
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0]),
  );

  return {
    title: options.title,
    connections: options.connections,
    durationSeconds: result.duration,
    requestsPerSecond: round(responses2xx / result.duration, 1),
    responses2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyMs: {
      mean: round(count > 0 ? sum / count : Number.NaN),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(percentile(sorted, 100)),
    },
    autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    cpuSeconds,
    cpuMsPerRequest,
    loadGeneratorCpuPerSecond: round((own.user + own.system) / 1e6 / result.duration, 2),
  };
}
