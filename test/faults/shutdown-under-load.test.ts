/**
 * SIGTERM with requests in flight, under load: a gateway process on a private PostgreSQL cluster
 * takes a burst of material uploads and case submissions (open + submit with an Idempotency-Key,
 * delivered to the PSB simulator) from several window workers, and gets SIGTERM mid-burst.
 *
 * Shows: every request either completes (2xx), or is refused cleanly — 503 `shutting_down` while
 * draining, or connection refused once the listener is closed — and the process exits 0 within
 * its grace period; then, in the database: every material row has its whole content, every
 * acknowledged upload and submission is there, every submitted case has its delivery, and no
 * idempotency key is left reserved by a request the shutdown cut short.
 *
 * Skipped when the PostgreSQL server binaries are not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { pdfDocument } from '../fixtures/documents.js';
import {
  Cluster,
  GatewayProcess,
  Window,
  findPostgresBin,
  until,
  householdMoveInItem,
  gatewayProcessEnvironment,
  psbSimulatorDepartment,
} from '../support/processes.js';
import { figure, ms } from './support.js';

const pgBin = findPostgresBin();
if (!pgBin)
  process.stderr.write(
    'shutdown-under-load: skipped, no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin\n',
  );

const ITEM = 'faults_household_move_in';
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
const WORKERS = 8;
const ITERATIONS_PER_WORKER = 40;
/** Uploads big enough to be on the wire and in the database when the signal arrives. */
const UPLOAD_PAD_BYTES = 256 * 1024;
const SHUTDOWN_GRACE_MS = 8000;

type Kind = 'upload' | 'open' | 'submit';

interface Outcome {
  kind: Kind;
  /** Relative to the SIGTERM (ms); negative: before it. */
  startedAtMs: number;
  endedAtMs: number;
  /** HTTP status, or the transport failure's code (ECONNREFUSED, UND_ERR_SOCKET, …). */
  result: number | string;
  code: string | undefined;
  id: string | undefined;
}

let cluster: Cluster | undefined;
let psb: RunningPsbSimulator;
let gateway: GatewayProcess | undefined;

async function query<Row extends Record<string, unknown>>(text: string): Promise<Row[]> {
  if (!cluster) throw new Error('no cluster');
  return cluster.query<Row>(text);
}

/** The innermost `code` of a fetch failure (undici wraps the socket error as `cause`). */
/** How a client sees a connection the server closed before answering. */
const CONNECTION_ENDED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function transportCode(error: unknown): string {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 4;
    current = current.cause, depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return error instanceof Error ? error.name : 'unknown';
}

describe.skipIf(pgBin === undefined)(
  'SIGTERM under a burst of uploads and submissions (gateway process, private cluster)',
  () => {
    let subjectId = '';

    beforeAll(async () => {
      if (!pgBin) return;
      psb = await startPsbPopulationSimulator({ port: 0, statusStepMs: false });
      cluster = new Cluster(pgBin);
      await cluster.start();
      gateway = await GatewayProcess.start(
        gatewayProcessEnvironment(cluster.url, {
          DATABASE_POOL_SIZE: '8',
          CLIENT_REQUESTS_PER_MINUTE: '1000000',
          SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
          DEPARTMENTS_JSON: JSON.stringify([psbSimulatorDepartment(psb.url, { breakerFailures: 1000 })]),
          DELIVERY_POLL_INTERVAL_MS: '200',
        }),
      );
      const admin = await Window.connect(gateway, 'cli_demo_admin', 'demo-admin-secret');
      const window = await Window.connect(gateway, 'cli_demo_window', 'demo-window-secret');
      await admin.expect(admin.call('PUT', `/v1/items/${ITEM}`, householdMoveInItem('fault suite', '故障测试')), 201);
      subjectId = (
        await window.expect<{ id: string }>(
          window.call(
            'POST',
            '/v1/subjects/resolve',
            { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' },
            PURPOSE,
          ),
          201,
        )
      ).id;
      await window.expect(
        window.call(
          'POST',
          `/v1/subjects/${subjectId}/materials?typeCode=lease_contract&fileName=lease.pdf`,
          pdfDocument('lease'),
          { ...PURPOSE, 'content-type': 'application/pdf' },
        ),
        201,
      );
    }, 120_000);

    afterAll(async () => {
      await gateway?.kill('SIGKILL');
      await cluster?.remove();
      await psb?.close();
    }, 60_000);

    it('every request completes or is refused cleanly, the process exits 0, and nothing is half-written', async () => {
      if (!gateway) throw new Error('no gateway');
      const window = await Window.connect(gateway, 'cli_demo_window', 'demo-window-secret');
      let signalledAt = performance.now() + 1e9;
      let closed = false;
      const outcomes: Outcome[] = [];

      const send = async (
        kind: Kind,
        path: string,
        body: Uint8Array | object,
        headers: Record<string, string>,
      ): Promise<Outcome> => {
        const startedAtMs = performance.now() - signalledAt;
        try {
          const response = await window.call('POST', path, body, headers);
          const text = await response.text();
          const parsed = text.startsWith('{') ? (JSON.parse(text) as { id?: string; code?: string }) : {};
          const endedAtMs = performance.now() - signalledAt;
          return {
            kind,
            startedAtMs,
            endedAtMs,
            result: response.status,
            code: response.status >= 400 ? parsed.code : undefined,
            id: response.status < 300 ? parsed.id : undefined,
          };
        } catch (error) {
          return {
            kind,
            startedAtMs,
            endedAtMs: performance.now() - signalledAt,
            result: transportCode(error),
            code: undefined,
            id: undefined,
          };
        }
      };

      const worker = async (index: number): Promise<void> => {
        for (let iteration = 0; iteration < ITERATIONS_PER_WORKER && !closed; iteration += 1) {
          const label = `w${index}-i${iteration}`;
          if ((index + iteration) % 2 === 0) {
            const upload = await send(
              'upload',
              `/v1/subjects/${subjectId}/materials?typeCode=lease_contract&fileName=${label}.pdf`,
              pdfDocument(label, UPLOAD_PAD_BYTES),
              {
                ...PURPOSE,
                'content-type': 'application/pdf',
              },
            );
            outcomes.push(upload);
          } else {
            const opened = await send(
              'open',
              '/v1/cases',
              { itemCode: ITEM, subjectId, form: { moveInAddress: `北京市海淀区中关村大街${label}号` } },
              {},
            );
            outcomes.push(opened);
            if (opened.result === 201 && opened.id)
              outcomes.push({
                ...(await send(
                  'submit',
                  `/v1/cases/${opened.id}/submit`,
                  {},
                  { 'idempotency-key': `faults-${opened.id}` },
                )),
                id: opened.id,
              });
          }
          // Once the listener is gone there is nothing more to learn from this worker.
          if (outcomes.at(-1)?.result === 'ECONNREFUSED') closed = true;
        }
      };

      const burst = Promise.all(Array.from({ length: WORKERS }, (_, index) => worker(index)));
      // Mid-burst: once a few of each kind have completed.
      await until(
        () =>
          outcomes.filter((entry) => entry.result === 201 && entry.kind === 'upload').length >= 6 &&
          outcomes.filter((entry) => entry.kind === 'submit' && entry.result === 200).length >= 3,
        'the burst under way',
        240,
        50,
      );
      signalledAt = performance.now();
      const pid = gateway.pid;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        gateway?.child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      gateway.child.kill('SIGTERM');
      const exit = await exited;
      const exitedAfterMs = performance.now() - signalledAt;
      await burst;

      // The requests: completed, or refused cleanly.
      const tally = new Map<string, number>();
      for (const entry of outcomes) {
        const key = `${entry.kind} ${entry.result}${entry.code ? ` ${entry.code}` : ''}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      const inFlight = outcomes.filter((entry) => entry.startedAtMs < 0 && entry.endedAtMs >= 0);
      figure('SIGTERM under load: outcomes', JSON.stringify(Object.fromEntries(tally)));
      figure(
        'SIGTERM under load: in flight at the signal',
        `${inFlight.length}, answered ${inFlight.map((entry) => `${entry.kind} ${entry.result}`).join(', ')}`,
      );
      figure(
        'SIGTERM under load: exit',
        `code ${exit.code} ${ms(exitedAfterMs)} after the signal (grace ${SHUTDOWN_GRACE_MS} ms), pid ${pid}`,
      );
      const clean = (entry: Outcome): boolean =>
        (typeof entry.result === 'number' && entry.result >= 200 && entry.result < 300) ||
        (entry.result === 503 && entry.code === 'shutting_down') ||
        entry.result === 'ECONNREFUSED' ||
        // Sent after the signal on a kept-alive connection the server was closing as idle: the request
        // was never read (the race every HTTP/1.1 client has with an idle close, RFC 9112 §9.6); the
        // client sees the connection end (UND_ERR_SOCKET, ECONNRESET, EPIPE) rather than an answer.
        (typeof entry.result === 'string' && CONNECTION_ENDED.has(entry.result) && entry.startedAtMs >= 0);
      expect(outcomes.filter((entry) => !clean(entry))).toEqual([]);
      // The signal did come mid-burst: requests were in flight, and more were sent after it.
      expect(inFlight.length).toBeGreaterThan(0);
      expect(outcomes.some((entry) => entry.startedAtMs >= 0)).toBe(true);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(exitedAfterMs).toBeLessThan(SHUTDOWN_GRACE_MS + 10_000);

      // The database: nothing half-written.
      const materialsWithoutContent = await query(
        'select m.id from materials m left join blobs b on b.sha256 = m.content_sha256 where b.sha256 is null or b.size <> m.content_size',
      );
      expect(materialsWithoutContent).toEqual([]);
      const incompleteBlobs = await query(
        'select b.sha256 from blobs b left join (select sha256, sum(length(data))::bigint as stored from blob_chunks group by sha256) c on c.sha256 = b.sha256 where coalesce(c.stored, 0) <> b.size',
      );
      expect(incompleteBlobs).toEqual([]);
      const acknowledgedUploads = outcomes
        .filter((entry) => entry.kind === 'upload' && entry.result === 201)
        .map((entry) => entry.id);
      const storedMaterials = new Set((await query<{ id: string }>('select id from materials')).map((row) => row.id));
      expect(acknowledgedUploads.filter((id) => id === undefined || !storedMaterials.has(id))).toEqual([]);

      const submittedWithoutDelivery = await query(
        `select c.id from cases c left join deliveries d on d.case_id = c.id where c.item_code = '${ITEM}' and c.status <> 'open' group by c.id having count(d.id) <> 1`,
      );
      expect(submittedWithoutDelivery).toEqual([]);
      const acknowledgedSubmissions = outcomes
        .filter((entry) => entry.kind === 'submit' && entry.result === 200)
        .map((entry) => entry.id);
      const submittedCases = new Set(
        (await query<{ id: string }>(`select id from cases where item_code = '${ITEM}' and status <> 'open'`)).map(
          (row) => row.id,
        ),
      );
      expect(acknowledgedSubmissions.filter((id) => id === undefined || !submittedCases.has(id))).toEqual([]);
      const reservedKeys = await query('select key from idempotency_keys where response_status is null');
      expect(reservedKeys).toEqual([]);
      const deliveries = await query<{ status: string; count: number }>(
        `select d.status, count(*)::int as count from deliveries d join cases c on c.id = d.case_id where c.item_code = '${ITEM}' group by d.status`,
      );
      figure(
        'SIGTERM under load: database after exit',
        `${storedMaterials.size} materials, all with their whole content; ${submittedCases.size} submitted cases, each with its delivery (${deliveries.map((row) => `${row.count} ${row.status}`).join(', ')}); no idempotency key left reserved`,
      );
    }, 120_000);
  },
);
