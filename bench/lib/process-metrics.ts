/**
 * Samples a Node server's process metrics while a benchmark loads it: scrapes its Prometheus
 * `/metrics` (prom-client's default metrics) every interval and keeps resident memory, heap used
 * and the event-loop delay percentiles of each interval.
 *
 * prom-client resets its event-loop delay histogram on every collect, so with this sampler as the
 * only scraper each sample's p50/p99/max cover the interval since the previous scrape. The
 * histogram samples with a 10 ms timer (prom-client's default precision), so an idle loop reads
 * about 10 ms: the figures summarised here subtract that interval and show the delay beyond it.
 */
import { request } from 'undici';

/** prom-client's default event-loop sampling interval (`eventLoopMonitoringPrecision`). */
export const EVENT_LOOP_SAMPLING_MS = 10;

export interface ProcessSample {
  /** Milliseconds since the sampler started. */
  atMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay over the interval, as the histogram reports it (sampling interval included), ms. */
  loopP50Ms: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

export interface SamplerTarget {
  name: string;
  /** The full URL of the metrics endpoint. */
  url: string;
  headers: Record<string, string>;
  /** Metric name prefix of prom-client's default metrics (e.g. `onewindow_`). */
  prefix: string;
}

/** Unlabelled samples of a Prometheus text exposition, by metric name. */
export function parsePrometheusText(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const name = line.slice(0, space);
    if (name.includes('{')) continue;
    const value = Number(
      line
        .slice(space + 1)
        .trim()
        .split(' ')[0],
    );
    if (Number.isFinite(value)) values.set(name, value);
  }
  return values;
}

/** Reads one sample; throws when the endpoint does not answer 200 or a metric is missing. */
export async function scrapeProcessSample(
  target: SamplerTarget,
  atMs: number,
  timeoutMs = 2000,
): Promise<ProcessSample> {
  const response = await request(target.url, { headers: target.headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.body.text();
  if (response.statusCode !== 200)
    throw new Error(`${target.name} ${target.url}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
  const values = parsePrometheusText(text);
  const read = (name: string): number => {
    const value = values.get(`${target.prefix}${name}`);
    if (value === undefined)
      throw new Error(`${target.name}: metric ${target.prefix}${name} missing from ${target.url}`);
    return value;
  };
  return {
    atMs,
    rssBytes: read('process_resident_memory_bytes'),
    heapUsedBytes: read('nodejs_heap_size_used_bytes'),
    loopP50Ms: read('nodejs_eventloop_lag_p50_seconds') * 1000,
    loopP99Ms: read('nodejs_eventloop_lag_p99_seconds') * 1000,
    loopMaxMs: read('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

/**
 * Scrapes every target each `intervalMs` from `start()` until `stop()`. A scrape that fails or
 * times out (a saturated server) is counted, not fatal: the gap is itself a finding.
 */
export class ProcessMetricsSampler {
  readonly samples = new Map<string, ProcessSample[]>();
  readonly failures = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private busy = new Set<string>();
  private startedAt = 0;

  constructor(
    private readonly targets: readonly SamplerTarget[],
    private readonly intervalMs: number,
  ) {
    for (const target of targets) {
      this.samples.set(target.name, []);
      this.failures.set(target.name, []);
    }
  }

  start(): void {
    // The first scrape only resets the event-loop histograms, so the first kept interval starts now.
    this.startedAt = Date.now();
    this.scrapeAll(false);
    this.timer = setInterval(() => this.scrapeAll(true), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.inFlight]);
  }

  private scrapeAll(keep: boolean): void {
    for (const target of this.targets) {
      // One scrape per target at a time: a slow answer is not piled up on.
      if (this.busy.has(target.name)) continue;
      this.busy.add(target.name);
      const atMs = Date.now() - this.startedAt;
      const scrape = scrapeProcessSample(target, atMs, Math.max(1000, this.intervalMs * 2)).then(
        (sample) => {
          if (keep) this.samples.get(target.name)?.push(sample);
        },
        (error: unknown) => {
          this.failures.get(target.name)?.push(error instanceof Error ? error.message : String(error));
        },
      );
      const tracked = scrape.finally(() => {
        this.inFlight.delete(tracked);
        this.busy.delete(target.name);
      });
      this.inFlight.add(tracked);
    }
  }
}

export interface ProcessMetricsSummary {
  samples: number;
  failedScrapes: number;
  rssMiB: { p50: number; max: number };
  heapUsedMiB: { p50: number; max: number };
  /** Delay beyond the sampling interval, ms: median of the intervals' p50s and p99s, the worst interval's p99, the largest single delay. */
  loopDelayMs: { p50: number; p99: number; worstP99: number; max: number };
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

const MIB = 1024 * 1024;
const beyondSampling = (ms: number): number => Math.max(0, ms - EVENT_LOOP_SAMPLING_MS);

export function summariseProcessSamples(samples: readonly ProcessSample[], failedScrapes = 0): ProcessMetricsSummary {
  const max = (values: number[]): number => (values.length === 0 ? Number.NaN : Math.max(...values));
  const rss = samples.map((sample) => sample.rssBytes / MIB);
  const heap = samples.map((sample) => sample.heapUsedBytes / MIB);
  const p99s = samples.map((sample) => beyondSampling(sample.loopP99Ms));
  return {
    samples: samples.length,
    failedScrapes,
    rssMiB: { p50: median(rss), max: max(rss) },
    heapUsedMiB: { p50: median(heap), max: max(heap) },
    loopDelayMs: {
      p50: median(samples.map((sample) => beyondSampling(sample.loopP50Ms))),
      p99: median(p99s),
      worstP99: max(p99s),
      max: max(samples.map((sample) => beyondSampling(sample.loopMaxMs))),
    },
  };
}
