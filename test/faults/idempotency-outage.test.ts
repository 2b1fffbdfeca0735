/**
 * PostgreSQL dies in the middle of a case submission (issue 14, hole 8): a gateway process on a
 * private cluster is submitting a case — its transaction holds the Idempotency-Key and waits on the
 * case row, which the test holds locked from a connection of its own — when the cluster is
 * stopped (immediate mode, as a crash looks to the gateway), then started again.
 *
 * Shows: the submission caught by the outage answers 503 `database_unavailable` with Retry-After;
 * the same request repeated once the database is back, at Retry-After intervals, succeeds (never
 * `409 idempotency_in_progress`: the key's reservation died with the transaction) within
 * Retry-After plus a few seconds; the case is submitted once, with one delivery, and reaches the
 * department once.
 *
 * Skipped when the PostgreSQL server binaries are not installed.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { pdfDocument } from '../fixtures/documents.js';
import {
  Cluster,
  GatewayProcess,
  Window,
  findPostgresBin,
  gatewayProcessEnvironment,
  householdMoveInItem,
  pause,
  psbSimulatorDepartment,
  until,
} from '../support/processes.js';
import { figure, ms } from './support.js';

const pgBin = findPostgresBin();
if (!pgBin)
  process.stderr.write(
    'idempotency-outage: skipped, no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin\n',
  );

const ITEM = 'outage_household_move_in';
const APPLICANT = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
/** Repeats the client makes once the database is back, each Retry-After apart, before giving up. */
const MAX_REPEATS = 3;
/** "A few seconds" beyond Retry-After for the repeat to succeed, from the moment the database is back. */
const SLACK_MS = 5000;

let cluster: Cluster | undefined;
let psb: RunningPsbSimulator | undefined;
let gateway: GatewayProcess | undefined;

interface Answer {
  status: number;
  code: string | undefined;
  retryAfter: string | null;
}

describe.skipIf(pgBin === undefined)('PostgreSQL dies mid-submission (gateway process, private cluster)', () => {
  beforeAll(async () => {
    if (!pgBin) return;
    psb = await startPsbPopulationSimulator({ port: 0, statusStepMs: false });
    cluster = new Cluster(pgBin);
    await cluster.start();
    gateway = await GatewayProcess.start(
      gatewayProcessEnvironment(cluster.url, {
        DEPARTMENTS_JSON: JSON.stringify([psbSimulatorDepartment(psb.url)]),
        DELIVERY_POLL_INTERVAL_MS: '200',
        DELIVERY_BACKOFF_BASE_MS: '200',
        DELIVERY_BACKOFF_MAX_MS: '1000',
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.kill('SIGTERM');
    await cluster?.remove();
    await psb?.close();
  }, 60_000);

  it('answers 503 with Retry-After, and the repeat once the database is back succeeds (not 409), submitting the case once', async () => {
    if (!gateway || !cluster || !psb) throw new Error('no gateway');
    const liveCluster = cluster;
    const admin = await Window.connect(gateway, 'cli_demo_admin', 'demo-admin-secret');
    const window = await Window.connect(gateway, 'cli_demo_window', 'demo-window-secret');
    await admin.expect(admin.call('PUT', `/v1/items/${ITEM}`, householdMoveInItem('outage test', '断库测试')), 201);
    const subject = await window.expect<{ id: string }>(
      window.call('POST', '/v1/subjects/resolve', APPLICANT, PURPOSE),
      201,
    );
    await window.expect(
      window.call(
        'POST',
        `/v1/subjects/${subject.id}/materials?typeCode=lease_contract&fileName=lease.pdf`,
        pdfDocument('lease'),
        { ...PURPOSE, 'content-type': 'application/pdf' },
      ),
      201,
    );
    const opened = await window.expect<{ id: string; notice: { readyToSubmit: boolean } }>(
      window.call('POST', '/v1/cases', {
        itemCode: ITEM,
        subjectId: subject.id,
        form: { moveInAddress: '北京市海淀区中关村大街1号' },
      }),
      201,
    );
    expect(opened.notice.readyToSubmit).toBe(true);

    const submit = async (): Promise<Answer> => {
      const response = await window.call(
        'POST',
        `/v1/cases/${opened.id}/submit`,
        {},
        { 'idempotency-key': `outage-${opened.id}` },
      );
      const body = (await response.json()) as { code?: string };
      return { status: response.status, code: body.code, retryAfter: response.headers.get('retry-after') };
    };

    // The test holds the case row, so the submission stops inside its transaction, key held.
    const holder = postgres(cluster.url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    const holding = await holder.reserve();
    await holding`begin`;
    await holding`select id from cases where id = ${opened.id} for update`;
    const during = submit();
    await until(
      async () => {
        const waiting = await liveCluster.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
        );
        return (waiting[0]?.n ?? 0) > 0;
      },
      'the submission waiting inside its transaction',
      200,
      25,
    );

    await cluster.pgCtl('stop');
    const cut = await during;
    holding.release();
    await holder.end({ timeout: 1 }).catch(() => undefined);
    expect(cut).toMatchObject({ status: 503, code: 'database_unavailable' });
    expect(cut.retryAfter).toMatch(/^[1-9][0-9]*$/);
    const retryAfterMs = Number(cut.retryAfter) * 1000;

    await cluster.pgCtl('start');
    const backAt = performance.now();
    // The client's repeats: at once, then each Retry-After, as a well-behaved client does.
    const repeats: (Answer & { atMs: number })[] = [];
    for (let attempt = 0; attempt < MAX_REPEATS; attempt += 1) {
      const answer = await submit();
      repeats.push({ ...answer, atMs: performance.now() - backAt });
      if (answer.status === 200) break;
      await pause(answer.retryAfter ? Number(answer.retryAfter) * 1000 : retryAfterMs);
    }
    gateway.expectAlive();
    figure(
      'database dies mid-submission: repeats once it is back',
      repeats
        .map((answer) => `${answer.status}${answer.code ? ` ${answer.code}` : ''} at ${ms(answer.atMs)}`)
        .join('; '),
    );
    expect(repeats.filter((answer) => answer.code === 'idempotency_in_progress')).toEqual([]);
    const succeeded = repeats.at(-1);
    expect(succeeded?.status).toBe(200);
    expect(succeeded?.atMs).toBeLessThan(retryAfterMs + SLACK_MS);

    // Once: the case submitted once, one delivery, one 'submitted' event, one application at the department.
    const rows = await cluster.query<{ status: string; deliveries: number; submitted_events: number }>(
      `select c.status,
              (select count(*)::int from deliveries d where d.case_id = c.id) as deliveries,
              (select count(*)::int from case_events e where e.case_id = c.id and e.kind = 'submitted') as submitted_events
         from cases c where c.id = $1`,
      [opened.id],
    );
    expect(rows).toEqual([{ status: expect.not.stringMatching(/^open$/), deliveries: 1, submitted_events: 1 }]);
    await until(
      async () =>
        (
          await liveCluster.query<{ status: string }>('select status from deliveries where case_id = $1', [opened.id])
        )[0]?.status === 'delivered',
      'the delivery made',
    );
    expect(psb.applicationCount()).toBe(1);
    const replay = await window.call(
      'POST',
      `/v1/cases/${opened.id}/submit`,
      {},
      { 'idempotency-key': `outage-${opened.id}` },
    );
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  }, 120_000);
});
