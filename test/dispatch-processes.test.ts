/**
 * Dispatch with real processes: a private PostgreSQL cluster (initdb + pg_ctl on a free loopback
 * port), gateway processes (`node --import tsx gateway/main.ts`) on it, and the PSB population
 * registry simulator in this process, which counts the distinct applications it received.
 *
 * (a) A gateway killed with SIGKILL while deliveries are in flight loses no acknowledged
 *     submission; after a restart each is delivered, and the department has one application per
 *     case (the redeliveries carry the same key and are recognised as duplicates).
 * (b) PostgreSQL restarted under submissions: the gateway keeps running and every submitted case
 *     is delivered afterwards, once.
 * (c) Two gateway processes on one database share the deliveries: each case is sent exactly once.
 *
 * Skipped when the PostgreSQL server binaries are not installed. Every wait is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import { pdfDocument } from './fixtures/documents.js';
import {
  Cluster,
  GatewayProcess,
  Window,
  findPostgresBin,
  pause,
  until,
  householdMoveInItem,
  gatewayProcessEnvironment,
  psbSimulatorDepartment,
} from './support/processes.js';

const SUBMIT = 'submitHouseholdMoveIn';
const ITEM = 'dispatch_household_move_in';
const APPLICANT = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

const pgBin = findPostgresBin();
if (!pgBin)
  process.stderr.write(
    'dispatch-processes: skipped, no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin\n',
  );

interface CaseAnswer {
  id: string;
  caseNumber: string;
  status: string;
  notice: { readyToSubmit: boolean; entries: { requirementCode: string; state: string }[] };
}

let cluster: Cluster | undefined;
let psb: RunningPsbSimulator;
const gateways: GatewayProcess[] = [];
let subjectId = '';
let sequence = 0;

function gatewayEnvironment(): Record<string, string> {
  if (!cluster) throw new Error('no cluster');
  return gatewayProcessEnvironment(cluster.url, {
    DEPARTMENTS_JSON: JSON.stringify([psbSimulatorDepartment(psb.url)]),
    DELIVERY_POLL_INTERVAL_MS: '200',
    DELIVERY_LEASE_MS: '3000',
    DELIVERY_BACKOFF_BASE_MS: '200',
    DELIVERY_BACKOFF_MAX_MS: '1000',
    DELIVERY_BATCH_SIZE: '2',
    SHUTDOWN_GRACE_MS: '2000',
  });
}

async function startGateway(): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(gatewayEnvironment());
  gateways.push(gateway);
  return gateway;
}

/** A direct connection to the cluster, to look at what the gateways wrote. */
async function query<Row extends Record<string, unknown>>(
  text: string,
  parameters: (string | number | string[])[] = [],
): Promise<Row[]> {
  if (!cluster) throw new Error('no cluster');
  return cluster.query<Row>(text, parameters);
}

function isRetryable(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'TimeoutError' || error.name === 'TypeError' || error.message.includes('fetch failed'))
  );
}

/**
 * Opens and submits one case, as a window system does, retrying what may be retried: opening
 * anew, and the submission with the same Idempotency-Key. Returns the case id once the gateway
 * acknowledged the submission (200), or null when it never did within the tries.
 */
async function submitCase(window: Window): Promise<string | null> {
  sequence += 1;
  let opened: CaseAnswer | undefined;
  for (let attempt = 0; attempt < 20 && !opened; attempt += 1) {
    try {
      const response = await window.call('POST', '/v1/cases', {
        itemCode: ITEM,
        subjectId,
        form: { moveInAddress: `北京市海淀区中关村大街${sequence}号` },
      });
      if (response.status === 201) opened = (await response.json()) as CaseAnswer;
      else if (response.status < 500) throw new Error(`open: ${response.status} ${await response.text()}`);
    } catch (error) {
      if (!isRetryable(error)) throw error;
    }
    if (!opened) await pause(250);
  }
  if (!opened) return null;
  const key = `dispatch-processes-${opened.id}`;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    try {
      const response = await window.call('POST', `/v1/cases/${opened.id}/submit`, {}, { 'idempotency-key': key });
      if (response.status === 200) return opened.id;
      if (response.status < 500 && response.status !== 409)
        throw new Error(`submit: ${response.status} ${await response.text()}`);
    } catch (error) {
      if (!isRetryable(error)) throw error;
    }
    await pause(250);
  }
  return null;
}

interface DeliveryState extends Record<string, unknown> {
  id: string;
  case_id: string;
  status: string;
  attempts: number;
  department_reference: string | null;
}

async function deliveriesOf(caseIds: string[]): Promise<DeliveryState[]> {
  return query<DeliveryState>(
    'select id, case_id, status, attempts, department_reference from deliveries where case_id = any($1::text[])',
    [caseIds],
  );
}

async function allDelivered(caseIds: string[]): Promise<boolean> {
  const rows = await deliveriesOf(caseIds);
  return rows.length === caseIds.length && rows.every((row) => row.status === 'delivered');
}

/** Every submitted case, delivered exactly once and received by the department exactly once. */
async function expectEachDeliveredOnce(): Promise<void> {
  const submitted = await query<{ id: string }>("select id from cases where item_code = $1 and status <> 'open'", [
    ITEM,
  ]);
  const rows = await deliveriesOf(submitted.map((row) => row.id));
  expect(rows).toHaveLength(submitted.length);
  expect(rows.every((row) => row.status === 'delivered')).toBe(true);
  // One application at the department per case: redeliveries were recognised, none created a second.
  expect(psb.applicationCount()).toBe(submitted.length);
  const byKey = new Map(psb.applications().map((application) => [application.ywlsh, application.slbh]));
  for (const row of rows) expect(byKey.get(row.id)).toBe(row.department_reference);
  const events = await query<{ count: number }>(
    "select count(*)::int as count from case_events where kind = 'delivered' and case_id = any($1::text[])",
    [submitted.map((row) => row.id)],
  );
  expect(events[0]?.count).toBe(submitted.length);
}

describe.skipIf(pgBin === undefined)(
  'dispatch with real processes (gateway processes, a PostgreSQL cluster, the PSB simulator)',
  () => {
    beforeAll(async () => {
      if (!pgBin) return;
      psb = await startPsbPopulationSimulator({ port: 0, statusStepMs: false });
      cluster = new Cluster(pgBin);
      await cluster.start();
      const first = await startGateway();
      const admin = await Window.connect(first, 'cli_demo_admin', 'demo-admin-secret');
      const window = await Window.connect(first, 'cli_demo_window', 'demo-window-secret');
      // An item whose form is what the population registry needs, with one material the applicant hands in once.
      await admin.expect(admin.call('PUT', `/v1/items/${ITEM}`, householdMoveInItem('dispatch test', '投递测试')), 201);
      subjectId = (
        await window.expect<{ id: string }>(window.call('POST', '/v1/subjects/resolve', APPLICANT, PURPOSE), 201)
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
      // The lease on file is reused by every case: opening one is enough to submit it.
      const probe = await window.expect<CaseAnswer>(
        window.call('POST', '/v1/cases', {
          itemCode: ITEM,
          subjectId,
          form: { moveInAddress: '北京市海淀区中关村大街0号' },
        }),
        201,
      );
      expect(probe.notice.readyToSubmit).toBe(true);
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled(gateways.map((gateway) => gateway.kill('SIGTERM')));
      await cluster?.remove();
      await psb?.close();
    }, 60_000);

    it('(a) kill -9 mid-delivery loses no acknowledged submission; after a restart each is delivered once', async () => {
      const [first] = gateways;
      if (!first) throw new Error('no gateway');
      const window = await Window.connect(first, 'cli_demo_window', 'demo-window-secret');
      // The registry answers slowly: deliveries are in flight when the gateway dies.
      psb.setFault({ kind: 'delay', delayMs: 1500, operation: SUBMIT });
      const acknowledged: string[] = [];
      for (let index = 0; index < 6; index += 1) {
        const caseId = await submitCase(window);
        if (caseId) acknowledged.push(caseId);
      }
      expect(acknowledged).toHaveLength(6);
      await until(() => psb.requestCount(SUBMIT) > 0, 'a delivery in flight', 120, 25);
      await first.kill('SIGKILL');

      // Mid-delivery: held by the dead process, nothing recorded as delivered for what was in flight.
      const leased = await query<{ count: number }>(
        "select count(*)::int as count from deliveries where status = 'pending' and lease_until > now()",
      );
      expect(leased[0]?.count).toBeGreaterThan(0);
      // Nothing acknowledged is lost: every acknowledged case is submitted, with its delivery.
      const rows = await deliveriesOf(acknowledged);
      expect(rows).toHaveLength(acknowledged.length);
      expect(rows.some((row) => row.status !== 'delivered')).toBe(true);

      psb.setFault(null);
      const restarted = await startGateway();
      await until(() => allDelivered(acknowledged), 'every acknowledged case delivered after the restart');
      restarted.expectAlive();
      await expectEachDeliveredOnce();
      // What the dead process had sent was sent again, with the same key, and recognised.
      const redelivered = await query<{ count: number }>(
        "select count(*)::int as count from case_events where kind = 'delivered' and (detail->>'duplicate')::boolean",
      );
      expect(redelivered[0]?.count).toBeGreaterThan(0);
    }, 90_000);

    it('(b) PostgreSQL restarted under submissions: the gateway keeps running and delivers everything afterwards', async () => {
      const gateway = gateways.find((candidate) => candidate.alive);
      if (!gateway || !cluster) throw new Error('no gateway');
      const window = await Window.connect(gateway, 'cli_demo_window', 'demo-window-secret');
      const acknowledged: string[] = [];
      const submitting = (async () => {
        for (let index = 0; index < 8; index += 1) {
          const caseId = await submitCase(window);
          if (caseId) acknowledged.push(caseId);
        }
      })();
      await until(() => acknowledged.length >= 2, 'submissions under way', 120, 50);
      await cluster.pgCtl('restart');
      await submitting;

      gateway.expectAlive();
      expect(acknowledged.length).toBeGreaterThan(2);
      await until(async () => {
        const ready = await fetch(`${gateway.url}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(
          () => undefined,
        );
        return ready?.status === 200;
      }, 'the gateway ready again');
      await until(() => allDelivered(acknowledged), 'every case submitted around the restart delivered');
      await expectEachDeliveredOnce();
      gateway.expectAlive();
    }, 90_000);

    it('(c) two gateway processes on one database share the deliveries, each case sent once', async () => {
      const first = gateways.find((candidate) => candidate.alive);
      if (!first) throw new Error('no gateway');
      const second = await startGateway();
      const windows = [
        await Window.connect(first, 'cli_demo_window', 'demo-window-secret'),
        await Window.connect(second, 'cli_demo_window', 'demo-window-secret'),
      ];
      const requestsBefore = psb.requestCount(SUBMIT);
      // Slow enough that both workers have deliveries in flight at the same time.
      psb.setFault({ kind: 'delay', delayMs: 300, operation: SUBMIT });
      const acknowledged: string[] = [];
      for (let index = 0; index < 10; index += 1) {
        const window = windows[index % 2];
        if (!window) throw new Error('no window');
        const caseId = await submitCase(window);
        if (caseId) acknowledged.push(caseId);
      }
      expect(acknowledged).toHaveLength(10);
      await until(() => allDelivered(acknowledged), 'all ten delivered');
      psb.setFault(null);

      // No double effect at the department: one application per case and one delivered record per
      // delivery. (An attempt may fail and be retried on a loaded machine — a retry under the same
      // key, recognised by the department — so the request count alone proves nothing.)
      expect(psb.requestCount(SUBMIT) - requestsBefore).toBeGreaterThanOrEqual(10);
      await expectEachDeliveredOnce();
      const workers = await query<{ worker: string }>(
        "select distinct detail->>'worker' as worker from case_events where kind = 'delivered' and case_id = any($1::text[])",
        [acknowledged],
      );
      const pids = new Set(workers.map((row) => Number(row.worker.split(':')[1])));
      expect(pids).toEqual(new Set([first.pid, second.pid]));
    }, 90_000);
  },
);
