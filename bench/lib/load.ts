/**
 * Load runs with autocannon from this process, plus what autocannon does not give directly:
 * sub-millisecond latency percentiles, the CPU the server (and PostgreSQL) spent per request, and
 * how much CPU other processes on the machine took meanwhile.
 *
 * A measurement may be made of several slices (rounds interleaved with the other targets'); the
 * slices' raw figures are merged, so percentiles are over every response of every slice.
 */
import autocannon from 'autocannon';
import { machineBusySeconds } from './calls.js';
import { type CpuSnapshot, cpuSpent } from './children.js';

export interface SliceOptions {
  title: string;
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Snapshots of the CPU of processes whose cost per request is reported (server, database). */
  cpu?: Record<string, () => CpuSnapshot>;
  /** Default GET, without a body. */
  method?: 'GET' | 'POST';
  body?: string;
  /** Most requests of the slice (it also ends at its time). */
  maxRequests?: number;
  /** Each 2xx answer must pass this, or it counts as a mismatch (see `assertSliceClean`). */
  verifyBody?: (body: string) => boolean;
  /**
   * A path per request instead of `url`'s, with the check of that request's own answer (a 2xx
   * answer failing it counts as a mismatch): loads that spread over many keys.
   */
  pickRequest?: () => { path: string; check: (body: string) => boolean };
  /** A request unanswered this long counts as an error, not waited for. Default 10 s. */
  timeoutSeconds?: number;
}

/** The raw figures of one slice. */
export interface Slice {
  durationSeconds: number;
  /** Each 2xx response's own timing in ms (autocannon's histogram keeps whole ms only). */
  latencies: Float64Array;
  responses2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU seconds per source named in `cpu`, this process's own, and the whole machine's. */
  cpuSeconds: Record<string, number>;
  ownCpuSeconds: number;
  machineBusyCpuSeconds: number | undefined;
  /** 2xx answers that failed `verifyBody`, and one of them for the error message. */
  mismatches: number;
  mismatchSample: string | undefined;
  /** The distinct connection errors seen (a few), for the error message. */
  errorSamples: string[];
}

export interface LoadResult {
  connections: number;
  slices: number;
  durationSeconds: number;
  /** 2xx responses per second over the measured slices. */
  requestsPerSecond: number;
  responses2xx: number;
  non2xx: number;
  /** Connection errors (autocannon counts timeouts among them too). */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** CPU seconds spent per source during the measured slices, and per request in ms. */
  cpuSeconds: Record<string, number>;
  cpuMsPerRequest: Record<string, number>;
  /** CPU seconds per second of this process (the load generator); near 1 means saturated. */
  loadGeneratorCpuPerSecond: number;
  /**
   * CPU seconds per second used by everything else on the machine (idle targets, other jobs).
   * Well above ~0.1 means the machine was not quiet and the figures are noisier.
   */
  otherCpuPerSecond: number | undefined;
}

interface PickedContext {
  check?: (body: string) => boolean;
}

export async function runSlice(options: SliceOptions): Promise<Slice> {
  // A growable typed buffer: at thousands of responses a second a JS array of numbers would
  // allocate more, in the very process that generates the load.
  let latencies = new Float64Array(1 << 15);
  let count = 0;
  let mismatchSample: string | undefined;
  const errorSamples = new Set<string>();
  const { verifyBody, pickRequest } = options;
  let pickedMismatches = 0;
  const cpuBefore = Object.fromEntries(Object.entries(options.cpu ?? {}).map(([name, take]) => [name, take()]));
  const ownBefore = process.cpuUsage();
  const machineBefore = machineBusySeconds();

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        title: options.title,
        url: options.url,
        method: options.method ?? 'GET',
        headers: options.headers,
        ...(options.body === undefined ? {} : { body: options.body }),
        connections: options.connections,
        duration: options.durationSeconds,
        ...(options.maxRequests === undefined ? {} : { maxOverallRequests: options.maxRequests }),
        // A request taking this long is counted as an error, not waited for.
        timeout: options.timeoutSeconds ?? 10,
        ...(pickRequest
          ? {
              requests: [
                {
                  // Per connection: the answer is recorded before the connection's next request is set up.
                  setupRequest: (request: autocannon.Request, context: PickedContext) => {
                    const picked = pickRequest();
                    context.check = picked.check;
                    return { ...request, path: picked.path };
                  },
                  onResponse: (status: number, body: string, context: PickedContext) => {
                    if (status < 200 || status > 299 || context.check?.(body)) return;
                    pickedMismatches += 1;
                    mismatchSample ??= body.slice(0, 600);
                  },
                },
              ],
            }
          : {}),
        ...(verifyBody
          ? {
              verifyBody: (body: unknown) => {
                const ok = verifyBody(String(body));
                if (!ok) mismatchSample ??= String(body).slice(0, 600);
                return ok;
              },
            }
          : {}),
      },
      (error: unknown, finished: autocannon.Result) => {
        clearTimeout(watchdog);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(finished);
      },
    );
    // autocannon stops on its own after `duration`; this only guards against a hang.
    const watchdog = setTimeout(
      () => {
        instance.stop();
        reject(new Error(`${options.title}: load run did not finish in time`));
      },
      (options.durationSeconds + 30) * 1000,
    );
    instance.on('reqError', (error: Error) => {
      if (errorSamples.size < 3) errorSamples.add(error.message);
    });
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
  const machineAfter = machineBusySeconds();
  const cpuSeconds: Record<string, number> = {};
  for (const [name, take] of Object.entries(options.cpu ?? {})) {
    const before = cpuBefore[name];
    const spent = before ? cpuSpent(before, take()) : undefined;
    if (spent !== undefined) cpuSeconds[name] = spent;
  }
  return {
    durationSeconds: result.duration,
    latencies: latencies.slice(0, count),
    responses2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0]),
    ),
    cpuSeconds,
    ownCpuSeconds: (own.user + own.system) / 1e6,
    machineBusyCpuSeconds:
      machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore,
    mismatches: result.mismatches + pickedMismatches,
    mismatchSample,
    errorSamples: [...errorSamples],
  };
}

/** Fails on any non-2xx answer, connection error, timeout or answer that failed its check: the figures would mean nothing. */
export function assertSliceClean(title: string, slice: Slice, hint = ''): void {
  if (slice.non2xx === 0 && slice.errors === 0 && slice.timeouts === 0 && slice.mismatches === 0) return;
  throw new Error(
    `${title}: ${slice.non2xx} non-2xx answers (status codes ${JSON.stringify(slice.statusCodes)}), ${slice.errors} ` +
      `errors${slice.errorSamples.length > 0 ? ` (${slice.errorSamples.join(' | ')})` : ''}, ` +
      `${slice.timeouts} timeouts, ${slice.mismatches} answers that are not what was asked ` +
      `for${slice.mismatchSample ? ` (e.g. ${slice.mismatchSample})` : ''}. The figures would mean nothing.${hint}`,
  );
}

/**
 * Waits (at most `maxMs`) until the given processes are quiet: less than 0.05 CPU seconds per
 * second over 250 ms. A gateway goes on working after its last answer (the audit sealer chains
 * the slice's entries, PostgreSQL writes back); without this, that work lands on the next target.
 * Only the benchmark's own processes are watched: other work on a shared machine must not stall the run.
 */
export async function settle(sources: (() => CpuSnapshot)[], maxMs = 3000): Promise<void> {
  const begun = Date.now();
  while (Date.now() - begun < maxMs) {
    const before = sources.map((take) => take());
    await new Promise((resolve) => setTimeout(resolve, 250));
    const spent = sources.reduce(
      (total, take, index) => total + (cpuSpent(before[index] ?? new Map(), take()) ?? 0),
      0,
    );
    if (spent / 0.25 < 0.05) return;
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Merges the slices of one target into one result. */
export function summarise(connections: number, slices: Slice[]): LoadResult {
  const sum = (pick: (slice: Slice) => number): number => slices.reduce((total, slice) => total + pick(slice), 0);
  const durationSeconds = sum((slice) => slice.durationSeconds);
  const responses2xx = sum((slice) => slice.responses2xx);

  const sorted = new Float64Array(sum((slice) => slice.latencies.length));
  let offset = 0;
  for (const slice of slices) {
    sorted.set(slice.latencies, offset);
    offset += slice.latencies.length;
  }
  sorted.sort();
  let total = 0;
  for (const value of sorted) total += value;

  const statusCodes: Record<string, number> = {};
  const cpuSeconds: Record<string, number> = {};
  for (const slice of slices) {
    for (const [code, count] of Object.entries(slice.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
    for (const [name, seconds] of Object.entries(slice.cpuSeconds))
      cpuSeconds[name] = (cpuSeconds[name] ?? 0) + seconds;
  }
  const cpuMsPerRequest = Object.fromEntries(
    Object.entries(cpuSeconds).map(([name, seconds]) => [
      name,
      responses2xx > 0 ? round((seconds * 1000) / responses2xx, 4) : Number.NaN,
    ]),
  );
  const ownCpuSeconds = sum((slice) => slice.ownCpuSeconds);
  const machineKnown = slices.every((slice) => slice.machineBusyCpuSeconds !== undefined);
  const accounted = ownCpuSeconds + Object.values(cpuSeconds).reduce((a, b) => a + b, 0);
  const otherCpuSeconds = machineKnown
    ? Math.max(0, sum((slice) => slice.machineBusyCpuSeconds ?? 0) - accounted)
    : undefined;

  return {
    connections,
    slices: slices.length,
    durationSeconds: round(durationSeconds, 2),
    requestsPerSecond: round(responses2xx / durationSeconds, 1),
    responses2xx,
    non2xx: sum((slice) => slice.non2xx),
    errors: sum((slice) => slice.errors),
    timeouts: sum((slice) => slice.timeouts),
    statusCodes,
    latencyMs: {
      mean: round(sorted.length > 0 ? total / sorted.length : Number.NaN),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(percentile(sorted, 100)),
    },
    cpuSeconds: Object.fromEntries(Object.entries(cpuSeconds).map(([name, seconds]) => [name, round(seconds, 2)])),
    cpuMsPerRequest,
    loadGeneratorCpuPerSecond: round(ownCpuSeconds / durationSeconds, 2),
    otherCpuPerSecond: otherCpuSeconds === undefined ? undefined : round(otherCpuSeconds / durationSeconds, 2),
  };
}
