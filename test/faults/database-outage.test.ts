/**
 * PostgreSQL stopped for 30 seconds under load, with a real gateway process on a private cluster:
 * while a bounded load loop issues tokens and reads a subject, the cluster is stopped (immediate
 * mode, as a crash or failover looks to the gateway) and kept down 30 s, then started again.
 *
 * Shows: /readyz turns 503 and /healthz keeps answering; API requests answer 503
 * `database_unavailable` quickly instead of hanging until the client gives up; the process stays
 * alive; after the start, readiness returns and requests succeed again with no gateway restart.
 *
 * Skipped when the PostgreSQL server binaries are not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Cluster,
  GatewayProcess,
  Window,
  findPostgresBin,
  pause,
  gatewayProcessEnvironment,
} from '../support/processes.js';
import { figure, median, ms } from './support.js';

const pgBin = findPostgresBin();
if (!pgBin)
  process.stderr.write(
    'database-outage: skipped, no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin\n',
  );

const OUTAGE_MS = 30_000;
/** A request that takes longer than this during the outage is "hanging" (client timeout is 20 s). */
const FAIL_FAST_BOUND_MS = 5000;
const CLIENT_TIMEOUT_MS = 20_000;
const WINDOW_CREDENTIALS = `Basic ${Buffer.from('cli_demo_window:demo-window-secret').toString('base64')}`;

type Phase = 'before' | 'down' | 'after';

interface Observation {
  phase: Phase;
  /** Milliseconds since the cluster was stopped when the request started (negative: before). */
  startedAtMs: number;
  elapsedMs: number;
  /** performance.now() when the answer (or failure) came: a request still in flight when the stop began is not "before". */
  endedAt: number;
  /** HTTP status, or the transport failure's name. */
  status: number | string;
  code: string | undefined;
}

let cluster: Cluster | undefined;
let gateway: GatewayProcess | undefined;

async function observe(path: string, init: RequestInit, phase: () => Phase, since: () => number): Promise<Observation> {
  const started = performance.now();
  const observation = { phase: phase(), startedAtMs: started - since() };
  try {
    const response = await fetch(`${gateway?.url}${path}`, { ...init, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const text = await response.text();
    let code: string | undefined;
    // Problem documents, and the token endpoint's RFC 6749 JSON errors (which carry the same `code`).
    if (/^application\/(problem\+)?json/.test(response.headers.get('content-type') ?? '') && response.status >= 400)
      code = (JSON.parse(text) as { code?: string }).code;
    const endedAt = performance.now();
    return { ...observation, elapsedMs: endedAt - started, endedAt, status: response.status, code };
  } catch (error) {
    const endedAt = performance.now();
    return {
      ...observation,
      elapsedMs: endedAt - started,
      endedAt,
      status: error instanceof Error ? error.name : 'error',
      code: undefined,
    };
  }
}

describe.skipIf(pgBin === undefined)(
  'PostgreSQL stopped for 30 s under load (gateway process, private cluster)',
  () => {
    beforeAll(async () => {
      if (!pgBin) return;
      cluster = new Cluster(pgBin);
      await cluster.start();
      gateway = await GatewayProcess.start(
        gatewayProcessEnvironment(cluster.url, {
          DEPARTMENTS_JSON: '[]',
          CLIENT_REQUESTS_PER_MINUTE: '1000000',
          SIGN_IN_ATTEMPTS_PER_MINUTE: '100000',
        }),
      );
    }, 120_000);

    afterAll(async () => {
      await gateway?.kill('SIGTERM');
      await cluster?.remove();
    }, 60_000);

    it('readiness turns 503, requests fail fast with 503 database_unavailable, the process lives, and all recovers without a restart', async () => {
      if (!gateway || !cluster) throw new Error('no gateway');
      const window = await Window.connect(gateway, 'cli_demo_window', 'demo-window-secret');
      const purpose = { 'onewindow-purpose': 'case_acceptance' };
      const subject = await window.expect<{ id: string }>(
        window.call(
          'POST',
          '/v1/subjects/resolve',
          { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' },
          purpose,
        ),
        201,
      );
      expect((await window.call('GET', `/v1/subjects/${subject.id}`, undefined, purpose)).status).toBe(200);
      const token = await (async () => {
        const response = await fetch(`${gateway?.url}/oauth/token`, {
          method: 'POST',
          headers: { authorization: WINDOW_CREDENTIALS, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
        return ((await response.json()) as { access_token: string }).access_token;
      })();

      let phase: Phase = 'before';
      let stoppedAt = performance.now() + 1e9;
      const observations: Observation[] = [];
      const probes: { phase: Phase; atMs: number; readyz: number | string; healthz: number | string }[] = [];
      let running = true;

      // The load: two workers, a token issue and a DB-backed read, bounded in count.
      const issueToken = (): Promise<Observation> =>
        observe(
          '/oauth/token',
          {
            method: 'POST',
            headers: { authorization: WINDOW_CREDENTIALS, 'content-type': 'application/x-www-form-urlencoded' },
            body: 'grant_type=client_credentials',
          },
          () => phase,
          () => stoppedAt,
        );
      const readSubject = (): Promise<Observation> =>
        observe(
          `/v1/subjects/${subject.id}`,
          { headers: { authorization: `Bearer ${token}`, ...purpose } },
          () => phase,
          () => stoppedAt,
        );
      const worker = async (call: () => Promise<Observation>): Promise<void> => {
        for (let iteration = 0; running && iteration < 3000; iteration += 1) {
          observations.push(await call());
          await pause(50);
        }
      };
      const prober = async (): Promise<void> => {
        for (let iteration = 0; running && iteration < 400; iteration += 1) {
          const [readyz, healthz] = await Promise.all([
            observe(
              '/readyz',
              {},
              () => phase,
              () => stoppedAt,
            ),
            observe(
              '/healthz',
              {},
              () => phase,
              () => stoppedAt,
            ),
          ]);
          probes.push({ phase, atMs: performance.now() - stoppedAt, readyz: readyz.status, healthz: healthz.status });
          await pause(250);
        }
      };
      const load = Promise.all([worker(issueToken), worker(readSubject), prober()]);

      let restartedAt = 0;
      try {
        await pause(2000);
        stoppedAt = performance.now();
        phase = 'down';
        await cluster.pgCtl('stop');
        await pause(OUTAGE_MS);
        gateway.expectAlive();
        // "After" from the moment the start begins: pg_ctl accepts connections before it returns.
        restartedAt = performance.now();
        phase = 'after';
        await cluster.pgCtl('start');
        // Recovery: until readiness is back and both kinds of request succeed again (bounded).
        for (let wait = 0; wait < 120; wait += 1) {
          const recent = observations.filter((entry) => entry.phase === 'after').slice(-4);
          const lastProbe = probes.at(-1);
          if (
            lastProbe?.phase === 'after' &&
            lastProbe.readyz === 200 &&
            recent.length === 4 &&
            recent.every((entry) => entry.status === 200)
          )
            break;
          await pause(250);
        }
        await pause(1000);
      } finally {
        running = false;
        await load;
      }

      gateway.expectAlive();
      // Answered before the stop began: one in flight at that moment may rightly meet the stop.
      const before = observations.filter((entry) => entry.phase === 'before' && entry.endedAt < stoppedAt);
      const down = observations.filter((entry) => entry.phase === 'down');
      const after = observations.filter((entry) => entry.phase === 'after');
      expect(before.length).toBeGreaterThan(4);
      expect(before.filter((entry) => entry.status !== 200)).toEqual([]);

      // Down: no request hangs; after the first moments every answer is 503 database_unavailable.
      if (process.env.FAULTS_DEBUG)
        process.stdout.write(
          `${JSON.stringify({ down, after: after.slice(0, 10), probes: probes.filter((probe) => probe.phase !== 'before').slice(0, 200) })}\n`,
        );
      // (A request still waiting for a connection when PostgreSQL came back may well succeed.)
      const restartedAtMs = restartedAt - stoppedAt;
      const settled = down.filter(
        (entry) => entry.startedAtMs > 2000 && entry.startedAtMs + entry.elapsedMs < restartedAtMs,
      );
      expect(settled.length).toBeGreaterThan(20);
      const statuses = new Map<string, number>();
      for (const entry of down)
        statuses.set(
          `${entry.status} ${entry.code ?? ''}`.trim(),
          (statuses.get(`${entry.status} ${entry.code ?? ''}`.trim()) ?? 0) + 1,
        );
      expect(settled.filter((entry) => entry.status !== 503 || entry.code !== 'database_unavailable')).toEqual([]);
      // Nothing else at all during the outage: no 500, no dropped connection, no client timeout.
      expect(down.filter((entry) => entry.status !== 503 && entry.status !== 200)).toEqual([]);
      const downTimes = down.map((entry) => entry.elapsedMs);
      expect(Math.max(...downTimes)).toBeLessThan(FAIL_FAST_BOUND_MS);

      // Readiness 503 while down (after the 0.5 s readiness cache and 2 s check timeout at most), health always 200.
      const downProbes = probes.filter((probe) => probe.phase === 'down');
      const firstNotReady = downProbes.find((probe) => probe.readyz === 503);
      expect(firstNotReady).toBeDefined();
      expect(downProbes.filter((probe) => probe.atMs > 5000).every((probe) => probe.readyz === 503)).toBe(true);
      expect(probes.every((probe) => probe.healthz === 200)).toBe(true);

      // Back: readiness returns and requests succeed, same process.
      const firstReadyAgain = probes.find((probe) => probe.phase === 'after' && probe.readyz === 200);
      expect(firstReadyAgain).toBeDefined();
      const firstSuccessAgain = after.find((entry) => entry.status === 200);
      expect(firstSuccessAgain).toBeDefined();
      expect(after.slice(-4).every((entry) => entry.status === 200)).toBe(true);

      figure(
        'database outage: calls during the 30 s outage',
        `${down.length}; answers ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      figure(
        'database outage: time to answer while down',
        `median ${ms(median(downTimes))}, max ${ms(Math.max(...downTimes))} (bound ${FAIL_FAST_BOUND_MS} ms, client timeout ${CLIENT_TIMEOUT_MS} ms)`,
      );
      figure(
        'database outage: /readyz first 503',
        `${ms(firstNotReady?.atMs ?? Number.NaN)} after the stop; /healthz 200 on all ${probes.length} probes`,
      );
      figure(
        'database outage: recovery after PostgreSQL started',
        `/readyz 200 after ${ms((firstReadyAgain?.atMs ?? Number.NaN) - restartedAtMs)}, first successful request after ${ms((firstSuccessAgain?.startedAtMs ?? Number.NaN) + (firstSuccessAgain?.elapsedMs ?? 0) - restartedAtMs)}; same process (pid ${gateway.pid})`,
      );
    }, 120_000);
  },
);
