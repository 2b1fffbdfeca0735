/**
 * Scale-out: three gateway processes (`node --import tsx gateway/main.ts`) on one private
 * PostgreSQL cluster, as a province runs them behind a load balancer, with the PSB population and
 * NRB real-estate registry simulators in this process. A window system spreads its calls over the
 * three instances, and the test shows that they behave as one gateway:
 *
 * - tokens: a token issued by one instance is accepted by the others (signing keys are in the
 *   database, sealed with the key-encryption key file of the data folder the instances share); a key rotation through one instance is picked up by the others; a client disabled
 *   through one instance is refused by all (at once there, within the documented ≤ 10 s elsewhere);
 * - reads: a subject resolved through one instance reads the same, masked, through the others;
 * - uploads: a document uploaded through one instance downloads byte-identical through the others;
 * - certificates: a certificate fetched through one instance is served from the stored copy through
 *   the others, without asking the department again;
 * - deliveries: cases opened and submitted round-robin, each submission repeated with its
 *   Idempotency-Key on another instance (a replay, not a second case), reach the department exactly
 *   once while all three delivery workers run;
 * - audit: the entries written through all three instances end in one chain, which every instance
 *   verifies once the sealers (one at a time, under an advisory lock) have sealed them.
 *
 * The three instances are started at the same moment on the empty database, so their migrations
 * and first-start work (signing key, demo data) race as they would in a fresh deployment.
 * A second, shorter part runs the upload check again with BLOB_STORE=filesystem and one shared
 * BLOB_STORE_DIR.
 *
 * Skipped when the PostgreSQL server binaries are not installed. Every wait is bounded; nothing
 * asserts how long anything took.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  type RunningNrbSimulator,
  startNrbRealEstateSimulator,
} from '../adapters/nrb-realestate/simulator.js';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import { pdfDocument } from './fixtures/documents.js';
import {
  Cluster,
  GatewayProcess,
  Window,
  findPostgresBin,
  until,
  householdMoveInItem,
  gatewayProcessEnvironment,
  psbSimulatorDepartment,
} from './support/processes.js';

const ITEM = 'scale_out_household_move_in';
const APPLICANT = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
const CASE_COUNT = 12;
/**
 * Per test: far above what a test takes here (at most ~8 s, the disabled-client wait), so that on a
 * loaded machine a test fails on its own bounded waits, which say what did not happen, not on this.
 */
const TEST_TIMEOUT_MS = 90_000;

const pgBin = findPostgresBin();
if (!pgBin)
  process.stderr.write(
    'scale-out: skipped, no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin\n',
  );

let cluster: Cluster | undefined;
let psb: RunningPsbSimulator;
let nrb: RunningNrbSimulator;
/** Every gateway process this file started, so afterAll stops each of them. */
const started: GatewayProcess[] = [];
/** The three instances behind the imaginary load balancer, A, B and C. */
let instances: GatewayProcess[] = [];
let subjectId = '';
/** The lease uploaded through A: the material the cases reuse. */
let leaseMaterialId = '';
/** X-Request-Id of audited requests, by the instance that served them. */
const auditedRequests = new Map<number, string[]>();

function gatewayEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  if (!cluster) throw new Error('no cluster');
  return gatewayProcessEnvironment(cluster.url, {
    // The same issuer and audience on every instance: a token names them and each instance checks them.
    TOKEN_AUDIENCE: 'onewindow-api',
    // Every instance sees this test as one address; keep per-address sign-in limits out of the way.
    SIGN_IN_ATTEMPTS_PER_MINUTE: '10000',
    AUDIT_SEAL_INTERVAL_MS: '250',
    DEPARTMENTS_JSON: JSON.stringify([
      psbSimulatorDepartment(psb.url),
      {
        code: 'NRB',
        name: 'NRB real-estate registry (simulator)',
        adapter: 'nrb-realestate',
        baseUrl: nrb.url,
        options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
        tuning: { breakerFailures: 1000 },
      },
    ]),
    // A submission wakes its own instance's worker at once; the others find work on their poll.
    // A poll interval well above a local delivery's time lets each instance deliver what it accepted
    // most of the time, so all three workers take part (they still may take each other's rows).
    DELIVERY_POLL_INTERVAL_MS: '2000',
    DELIVERY_LEASE_MS: '5000',
    DELIVERY_BACKOFF_BASE_MS: '200',
    DELIVERY_BACKOFF_MAX_MS: '1000',
    SHUTDOWN_GRACE_MS: '2000',
    ...extra,
  });
}

/** Starts `count` gateway processes at the same moment, on the same configuration. */
async function startInstances(count: number, extra: Record<string, string> = {}): Promise<GatewayProcess[]> {
  const results = await Promise.allSettled(
    Array.from({ length: count }, () => GatewayProcess.start(gatewayEnvironment(extra))),
  );
  for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<GatewayProcess>).value);
}

function instance(index: number): GatewayProcess {
  const found = instances[index % instances.length];
  if (!found) throw new Error(`no instance ${index}`);
  return found;
}

/** A direct connection to the cluster, to look at what the gateways wrote. */
async function query<Row extends Record<string, unknown>>(
  text: string,
  parameters: (string | number | string[])[] = [],
): Promise<Row[]> {
  if (!cluster) throw new Error('no cluster');
  return cluster.query<Row>(text, parameters);
}

/** Client credentials at one instance's token endpoint; the raw response. */
function requestToken(gateway: GatewayProcess, clientId: string, secret: string): Promise<Response> {
  return fetch(`${gateway.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
    signal: AbortSignal.timeout(10_000),
  });
}

async function tokenFrom(gateway: GatewayProcess, clientId: string, secret: string): Promise<string> {
  const response = await requestToken(gateway, clientId, secret);
  if (response.status !== 200)
    throw new Error(`token from ${gateway.url}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** The `kid` a token names in its protected header. */
function kidOf(token: string): string {
  const [header] = token.split('.');
  const parsed = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as { kid?: unknown };
  if (typeof parsed.kid !== 'string') throw new Error('token without kid');
  return parsed.kid;
}

async function jwksKids(gateway: GatewayProcess): Promise<string[]> {
  const response = await fetch(`${gateway.url}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { keys: { kid: string }[] };
  return body.keys.map((key) => key.kid).sort();
}

/** The status of a cheap protected call (one page of the contract catalogue) made with `token` at `gateway`. */
async function statusWith(gateway: GatewayProcess, token: string): Promise<number> {
  const response = await new Window(gateway, token).call('GET', '/v1/contracts?limit=1');
  await response.arrayBuffer();
  return response.status;
}

function noteAudited(gateway: GatewayProcess, response: Response): void {
  const requestId = response.headers.get('x-request-id');
  if (!requestId) throw new Error('response without X-Request-Id');
  auditedRequests.set(gateway.pid, [...(auditedRequests.get(gateway.pid) ?? []), requestId]);
}

/** A window system's call at one instance that must answer `status`; notes the request as audited. */
async function expectAudited<T>(
  gateway: GatewayProcess,
  call: Promise<Response>,
  status: number,
): Promise<{ body: T }> {
  const response = await call;
  if (response.status !== status)
    throw new Error(`${gateway.url}: expected ${status}, got ${response.status}: ${await response.text()}`);
  noteAudited(gateway, response);
  return { body: (await response.json()) as T };
}

interface CaseAnswer {
  id: string;
  notice: { readyToSubmit: boolean };
}

interface CertificateFetch {
  results: {
    certificateType: string;
    status: string;
    department: string | null;
    source: string | null;
    material: { id: string; content: { sha256: string } } | null;
  }[];
}

async function download(gateway: GatewayProcess, window: Window, materialId: string): Promise<Buffer> {
  const response = await window.call(
    'GET',
    `/v1/subjects/${subjectId}/materials/${materialId}/content`,
    undefined,
    PURPOSE,
  );
  if (response.status !== 200)
    throw new Error(`download through ${gateway.url}: ${response.status} ${await response.text()}`);
  noteAudited(gateway, response);
  return Buffer.from(await response.arrayBuffer());
}

describe.skipIf(pgBin === undefined)(
  'scale-out: three gateway processes on one PostgreSQL database behind one address',
  () => {
    /** A window token issued by A before anything else happened; used everywhere, also after the key rotation. */
    let firstWindowToken = '';
    const windowsOf = (token: string): Window[] => instances.map((gateway) => new Window(gateway, token));

    beforeAll(async () => {
      if (!pgBin) return;
      psb = await startPsbPopulationSimulator({ port: 0, statusStepMs: false });
      nrb = await startNrbRealEstateSimulator({ port: 0 });
      cluster = new Cluster(pgBin);
      await cluster.start();
      // All three at once on the empty database: migrations under the advisory lock, one signing key
      // generated (under its own lock), demo clients seeded.
      instances = await startInstances(3);
      firstWindowToken = await tokenFrom(instance(0), 'cli_demo_window', 'demo-window-secret');
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled(started.map((gateway) => gateway.kill('SIGTERM')));
      await cluster?.remove();
      await psb?.close();
      await nrb?.close();
    }, 60_000);

    it(
      'tokens: issued by any instance, accepted by all; one signing key; a rotation through B is honoured by A and C',
      async () => {
        const [a, b, c] = [instance(0), instance(1), instance(2)];
        // Started together, the instances still share one key: one active kid, the same JWKS everywhere.
        const keysBefore = await jwksKids(a);
        expect(keysBefore).toHaveLength(1);
        for (const gateway of [b, c]) expect(await jwksKids(gateway)).toEqual(keysBefore);
        const keyRows = await query<{ count: number }>('select count(*)::int as count from signing_keys');
        expect(keyRows[0]?.count).toBe(1);

        // A token from each instance works at each instance.
        const tokens = [
          firstWindowToken,
          await tokenFrom(b, 'cli_demo_window', 'demo-window-secret'),
          await tokenFrom(c, 'cli_demo_window', 'demo-window-secret'),
        ];
        for (const token of tokens) {
          expect(kidOf(token)).toBe(keysBefore[0]);
          for (const gateway of instances) expect(await statusWith(gateway, token)).toBe(200);
        }
        // A token altered in transit is refused everywhere (the check is real, not a pass-through).
        const forged = `${firstWindowToken.slice(0, -4)}AAAA`;
        for (const gateway of instances) expect(await statusWith(gateway, forged)).toBe(401);

        // The administrator signs in at A and rotates the key through B.
        const adminToken = await tokenFrom(a, 'cli_demo_admin', 'demo-admin-secret');
        const rotated = await new Window(b, adminToken).expect<{ kid: string; retired: string[] }>(
          new Window(b, adminToken).call('POST', '/v1/keys/rotate'),
          200,
        );
        expect(rotated.retired).toEqual(keysBefore);
        // B signs with the new key at once.
        const fromB = await tokenFrom(b, 'cli_demo_window', 'demo-window-secret');
        expect(kidOf(fromB)).toBe(rotated.kid);
        // A and C accept it: an unknown kid makes an instance reload the keys from the database (at
        // most once per 5 s per instance, hence the bounded wait rather than a single try).
        for (const gateway of [a, c]) {
          await until(
            async () => (await statusWith(gateway, fromB)) === 200,
            `${gateway.url} to accept a token signed with the rotated-in key`,
            60,
            250,
          );
        }
        // Having reloaded, A and C sign new tokens with the new key too, and publish both keys.
        for (const gateway of [a, c])
          expect(kidOf(await tokenFrom(gateway, 'cli_demo_window', 'demo-window-secret'))).toBe(rotated.kid);
        for (const gateway of instances) expect(await jwksKids(gateway)).toEqual([...keysBefore, rotated.kid].sort());
        // Tokens signed before the rotation keep working everywhere until they expire.
        for (const token of tokens) for (const gateway of instances) expect(await statusWith(gateway, token)).toBe(200);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'tokens: a client disabled through A is refused by A at once and by B and C within the documented refresh (≤ 10 s)',
      async () => {
        const [a, b, c] = [instance(0), instance(1), instance(2)];
        const admin = new Window(a, await tokenFrom(a, 'cli_demo_admin', 'demo-admin-secret'));
        const registered = await admin.expect<{ client: { id: string }; clientSecret: string }>(
          admin.call('POST', '/v1/clients', { name: 'Scale-out test window', kind: 'window' }),
          201,
        );
        const token = await tokenFrom(c, registered.client.id, registered.clientSecret);
        for (const gateway of instances) expect(await statusWith(gateway, token)).toBe(200);

        await admin.expect(admin.call('POST', `/v1/clients/${registered.client.id}/disable`), 200);
        // The instance that disabled it refuses at once; every instance refuses a new token at once
        // (the token endpoint checks the database).
        expect(await statusWith(a, token)).toBe(401);
        for (const gateway of instances)
          expect((await requestToken(gateway, registered.client.id, registered.clientSecret)).status).toBe(401);
        // The others learn it from their background refresh of the disabled list (every 10 s).
        // Bounded at 20 s: the refresh interval plus slack for a loaded machine.
        for (const gateway of [b, c]) {
          await until(
            async () => (await statusWith(gateway, token)) === 401,
            `${gateway.url} to refuse the disabled client`,
            80,
            250,
          );
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'reads: a subject resolved through A is the same subject, equally masked, through B and C',
      async () => {
        const [windowA, windowB, windowC] = windowsOf(firstWindowToken) as [Window, Window, Window];
        const created = await expectAudited<{ id: string; identifier: string; name: string; masked: boolean }>(
          instance(0),
          windowA.call('POST', '/v1/subjects/resolve', APPLICANT, PURPOSE),
          201,
        );
        subjectId = created.body.id;
        expect(created.body).toMatchObject({ identifier: '110105********002X', name: '张*', masked: true });
        // Resolving again through B finds it: one subject, not one per instance.
        const again = await expectAudited<{ id: string }>(
          instance(1),
          windowB.call('POST', '/v1/subjects/resolve', APPLICANT, PURPOSE),
          200,
        );
        expect(again.body.id).toBe(subjectId);

        const reads: unknown[] = [];
        for (const [index, window] of [windowA, windowB, windowC].entries()) {
          reads.push(
            (
              await expectAudited(
                instance(index),
                window.call('GET', `/v1/subjects/${subjectId}`, undefined, PURPOSE),
                200,
              )
            ).body,
          );
        }
        expect(reads[0]).toMatchObject({ id: subjectId, identifier: '110105********002X', name: '张*', masked: true });
        expect(reads[1]).toEqual(reads[0]);
        expect(reads[2]).toEqual(reads[0]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'uploads: a document uploaded through A downloads byte-identical through B and C (BLOB_STORE=postgres)',
      async () => {
        const windows = windowsOf(firstWindowToken);
        const [windowA] = windows as [Window];
        // Large enough to span several chunks of the database blob store.
        const document = pdfDocument('scale-out lease', 300_000);
        const uploaded = await expectAudited<{ id: string; content: { sha256: string; size: number } }>(
          instance(0),
          windowA.call(
            'POST',
            `/v1/subjects/${subjectId}/materials?typeCode=lease_contract&fileName=lease.pdf`,
            document,
            { ...PURPOSE, 'content-type': 'application/pdf' },
          ),
          201,
        );
        leaseMaterialId = uploaded.body.id;
        expect(uploaded.body.content.sha256).toBe(createHash('sha256').update(document).digest('hex'));
        // The bytes are in the database, where every instance reads them.
        const inDatabase = await query<{ count: number }>(
          'select count(*)::int as count from blobs where sha256 = $1',
          [uploaded.body.content.sha256],
        );
        expect(inDatabase[0]?.count).toBe(1);
        for (const [index, window] of windows.entries()) {
          expect((await download(instance(index), window, leaseMaterialId)).equals(Buffer.from(document))).toBe(true);
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'certificates: fetched from the registry through A, served from the stored copy through B and C without asking it again',
      async () => {
        const windows = windowsOf(firstWindowToken);
        const caseRef = (suffix: string) => ({
          'onewindow-purpose': 'case_acceptance',
          'onewindow-case-ref': `SCALE-OUT-${suffix}`,
        });
        const fetchThrough = async (index: number, suffix: string) => {
          const window = windows[index];
          if (!window) throw new Error('no window');
          const { body } = await expectAudited<CertificateFetch>(
            instance(index),
            window.call(
              'POST',
              `/v1/subjects/${subjectId}/certificates`,
              { types: ['real_estate_certificate'] },
              caseRef(suffix),
            ),
            200,
          );
          const [answer] = body.results;
          if (!answer) throw new Error('no result');
          return answer;
        };
        const first = await fetchThrough(0, 'A');
        expect(first).toMatchObject({ status: 'ok', department: 'NRB', source: 'department' });
        const registryCallsAfterFirst = nrb.requestCount();
        expect(registryCallsAfterFirst).toBeGreaterThan(0);
        for (const [index, suffix] of [
          [1, 'B'],
          [2, 'C'],
        ] as const) {
          const served = await fetchThrough(index, suffix);
          expect(served).toMatchObject({ status: 'ok', department: 'NRB', source: 'stored' });
          expect(served.material?.id).toBe(first.material?.id);
        }
        expect(nrb.requestCount()).toBe(registryCallsAfterFirst);
        // Stored once, whichever instance served it.
        const rows = await query<{ count: number }>(
          "select count(*)::int as count from materials where subject_id = $1 and type_code = 'real_estate_certificate'",
          [subjectId],
        );
        expect(rows[0]?.count).toBe(1);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'grants: an access grant approved through A is honoured by B and C at once, without waiting for the notification',
      async () => {
        const windows = windowsOf(firstWindowToken);
        const [windowA, windowB, windowC] = windows;
        if (!windowA || !windowB || !windowC) throw new Error('three windows expected');
        const purpose = { 'onewindow-purpose': 'case_acceptance', 'onewindow-case-ref': 'SCALE-OUT-GRANT' };
        const fetchHousehold = (window: Window) =>
          window.call('POST', `/v1/subjects/${subjectId}/certificates`, { types: ['household_register'] }, purpose);
        // Before the grant: refused on every instance.
        const before = (await (await fetchHousehold(windowB)).json()) as CertificateFetch;
        expect(before.results[0]).toMatchObject({ status: 'denied', error: { code: 'resource_grant_required' } });

        const asked = await windowA.call('POST', '/v1/contracts/psb.population/access-requests', {
          purpose: 'Scale-out: grants seen everywhere',
          legalBasis: 'Test',
        });
        expect(asked.status).toBe(201);
        const { id } = (await asked.json()) as { id: string };
        const psbDepartment = new Window(
          instance(0),
          await tokenFrom(instance(0), 'cli_demo_department', 'demo-department-secret'),
        );
        expect(
          (
            await psbDepartment.call('POST', `/v1/access-requests/${id}/decision`, {
              decision: 'approve',
              reason: 'Test',
            })
          ).status,
        ).toBe(200);
        // At once, through the other instances: their copies are confirmed before a refusal.
        for (const window of [windowB, windowC, windowA]) {
          const answer = (await (await fetchHousehold(window)).json()) as CertificateFetch;
          expect(answer.results[0], JSON.stringify(answer.results[0])).toMatchObject({
            status: 'ok',
            department: 'PSB',
          });
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'deliveries: cases submitted round-robin, each submission repeated on another instance, reach the department exactly once',
      async () => {
        const admin = new Window(instance(2), await tokenFrom(instance(2), 'cli_demo_admin', 'demo-admin-secret'));
        // An item the population registry receives, needing the lease already on file (reused by every case).
        await admin.expect(
          admin.call('PUT', `/v1/items/${ITEM}`, householdMoveInItem('scale-out test', '多实例测试')),
          201,
        );
        const windows = windowsOf(firstWindowToken);
        const submitted: string[] = [];
        for (let index = 0; index < CASE_COUNT; index += 1) {
          const [opener, submitter, repeater] = [
            windows[index % 3],
            windows[(index + 1) % 3],
            windows[(index + 2) % 3],
          ];
          if (!opener || !submitter || !repeater) throw new Error('no window');
          const opened = await opener.expect<CaseAnswer>(
            opener.call('POST', '/v1/cases', {
              itemCode: ITEM,
              subjectId,
              form: { moveInAddress: `北京市海淀区中关村大街${index + 1}号` },
            }),
            201,
          );
          expect(opened.notice.readyToSubmit).toBe(true);
          const key = `scale-out-${opened.id}`;
          const first = await submitter.call('POST', `/v1/cases/${opened.id}/submit`, {}, { 'idempotency-key': key });
          expect(first.status).toBe(200);
          expect(first.headers.get('idempotent-replayed')).toBeNull();
          const firstBody: unknown = await first.json();
          // The window system never saw the answer and asks again, and the balancer sends it elsewhere.
          const repeated = await repeater.call('POST', `/v1/cases/${opened.id}/submit`, {}, { 'idempotency-key': key });
          expect(repeated.status).toBe(200);
          expect(repeated.headers.get('idempotent-replayed')).toBe('true');
          // The same case, as it is now (the first instance's worker may have delivered it since).
          expect(await repeated.json()).toMatchObject({
            id: opened.id,
            caseNumber: (firstBody as { caseNumber: string }).caseNumber,
            submittedAt: (firstBody as { submittedAt: string }).submittedAt,
          });
          submitted.push(opened.id);
        }

        const deliveriesOf = () =>
          query<{ id: string; case_id: string; status: string; department_reference: string | null }>(
            'select id, case_id, status, department_reference from deliveries where case_id = any($1::text[])',
            [submitted],
          );
        await until(
          async () => (await deliveriesOf()).filter((row) => row.status === 'delivered').length === CASE_COUNT,
          'every case delivered',
          120,
          250,
        );
        const rows = await deliveriesOf();
        // One delivery per case (the replays wrote none), one application per case at the department.
        expect(rows).toHaveLength(CASE_COUNT);
        expect(new Set(rows.map((row) => row.case_id)).size).toBe(CASE_COUNT);
        expect(psb.applicationCount()).toBe(CASE_COUNT);
        const applicationByKey = new Map(
          psb.applications().map((application) => [application.ywlsh, application.slbh]),
        );
        for (const row of rows) expect(applicationByKey.get(row.id)).toBe(row.department_reference);
        const events = await query<{ worker: string }>(
          "select detail->>'worker' as worker from case_events where kind = 'delivered' and case_id = any($1::text[])",
          [submitted],
        );
        expect(events).toHaveLength(CASE_COUNT);
        // Every instance's worker took part (each is woken by the submissions it accepts), and no other.
        const workerPids = new Set(events.map((event) => Number(event.worker.split(':')[1])));
        expect(workerPids).toEqual(new Set(instances.map((gateway) => gateway.pid)));
        const cases = await query<{ count: number }>('select count(*)::int as count from cases where item_code = $1', [
          ITEM,
        ]);
        expect(cases[0]?.count).toBe(CASE_COUNT);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'audit: entries written through all three instances end in one chain that every instance verifies',
      async () => {
        // Each instance served audited requests.
        for (const gateway of instances) expect(auditedRequests.get(gateway.pid)?.length ?? 0).toBeGreaterThan(0);
        const unsealed = async () =>
          (
            await query<{ count: number }>('select count(*)::int as count from audit_entries where chain_seq is null')
          )[0]?.count ?? -1;
        await until(async () => (await unsealed()) === 0, 'the sealers to seal every entry', 120, 250);

        const requestIds = [...auditedRequests.values()].flat();
        const entries = await query<{ request_id: string; chain_seq: string | null }>(
          'select request_id, chain_seq from audit_entries where request_id = any($1::text[])',
          [requestIds],
        );
        expect(new Set(entries.map((entry) => entry.request_id))).toEqual(new Set(requestIds));
        expect(entries.every((entry) => entry.chain_seq !== null)).toBe(true);
        // One chain: positions 1..n with no gaps or repeats, whoever sealed them.
        const chain = await query<{ count: number; distinct_seqs: number; max_seq: number }>(
          'select count(*)::int as count, count(distinct chain_seq)::int as distinct_seqs, max(chain_seq)::int as max_seq from audit_entries where chain_seq is not null',
        );
        expect(chain[0]?.distinct_seqs).toBe(chain[0]?.count);
        expect(chain[0]?.max_seq).toBe(chain[0]?.count);

        const auditorToken = await tokenFrom(instance(1), 'cli_demo_auditor', 'demo-auditor-secret');
        for (const gateway of instances) {
          const auditor = new Window(gateway, auditorToken);
          const report = await auditor.expect<{ ok: boolean; entriesChecked: number; firstProblem: unknown }>(
            auditor.call('GET', '/v1/audit/verify'),
            200,
          );
          expect(report).toMatchObject({ ok: true, firstProblem: null });
          expect(report.entriesChecked).toBeGreaterThanOrEqual(chain[0]?.count ?? Number.POSITIVE_INFINITY);
        }
        for (const gateway of instances) gateway.expectAlive();
      },
      TEST_TIMEOUT_MS,
    );

    describe('with BLOB_STORE=filesystem and one shared BLOB_STORE_DIR', () => {
      let blobDirectory = '';

      beforeAll(async () => {
        // The same deployment restarted with another blob store: stop the three, start three anew.
        await Promise.all(instances.map((gateway) => gateway.kill('SIGTERM')));
        blobDirectory = mkdtempSync(join(tmpdir(), 'ow-scale-out-blobs-'));
        instances = await startInstances(3, { BLOB_STORE: 'filesystem', BLOB_STORE_DIR: blobDirectory });
      }, 120_000);

      afterAll(() => {
        if (blobDirectory) rmSync(blobDirectory, { recursive: true, force: true });
      });

      it(
        'a document uploaded through B downloads byte-identical through A and C',
        async () => {
          const token = await tokenFrom(instance(1), 'cli_demo_window', 'demo-window-secret');
          const windows = windowsOf(token);
          const [, windowB] = windows as [Window, Window];
          const document = pdfDocument('scale-out lease on the shared directory', 300_000);
          const uploaded = await windowB.expect<{ id: string; content: { sha256: string } }>(
            windowB.call(
              'POST',
              `/v1/subjects/${subjectId}/materials?typeCode=lease_contract&fileName=lease-2.pdf`,
              document,
              { ...PURPOSE, 'content-type': 'application/pdf' },
            ),
            201,
          );
          // The bytes are in the shared directory, not in the database.
          expect(existsSync(join(blobDirectory, uploaded.content.sha256.slice(0, 2), uploaded.content.sha256))).toBe(
            true,
          );
          const inDatabase = await query<{ count: number }>(
            'select count(*)::int as count from blobs where sha256 = $1',
            [uploaded.content.sha256],
          );
          expect(inDatabase[0]?.count).toBe(0);
          for (const [index, window] of windows.entries()) {
            expect((await download(instance(index), window, uploaded.id)).equals(Buffer.from(document))).toBe(true);
          }
        },
        TEST_TIMEOUT_MS,
      );
    });
  },
);
