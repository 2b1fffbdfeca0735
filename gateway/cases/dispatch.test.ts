/**
 * The delivery worker in process, against the PSB population registry simulator on loopback (the
 * real adapter, client and contract checks): a case is delivered once; a department that is down
 * is retried with backoff until it is back; a delivery dead-letters after its attempts (or at once
 * on a refusal) and an administrator requeues it; a lease left by a crashed worker runs out and
 * another worker redelivers with the same key, which the department recognises; two workers on one
 * database never take the same row; statuses are polled and applied; stop waits for deliveries in
 * flight. Runs on PGlite, or on PostgreSQL when DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applicationStatusCodes } from '../../adapters/psb-population/protocol.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  type RunningPsbSimulator,
  startPsbPopulationSimulator,
} from '../../adapters/psb-population/simulator.js';
import type { CaseSubmissionReceipt } from '../../adapters/sdk/types.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from '../../test/harness.js';
import { ConfigError, type DispatchSettings, parseConfig } from '../config.js';
import { rowsOf } from '../db/client.js';
import { auditEntries, caseEvents, caseMaterials, cases, deliveries, materials, subjects } from '../db/schema.js';
import { storedSubjectValues } from '../identity/subjects.js';
import type { RegisteredDepartment } from '../departments/registry.js';
import { DeliveryWorker, type DeliveryWorkerOptions, type DepartmentLookup, backoffDelayMs } from './dispatch.js';

const SUBMIT = 'submitHouseholdMoveIn';
/** 张三, on the simulated population register with a household record. */
const APPLICANT = { idNumber: '11010519491231002X', name: '张三' };

let psb: RunningPsbSimulator;
let gw: TestGateway;
let windowClientId: string;
let subjectId: string;
let sequence = 0;

const fastSettings: DispatchSettings = {
  workerEnabled: true,
  pollIntervalMs: 20,
  leaseMs: 5000,
  maxAttempts: 5,
  backoffBaseMs: 20,
  backoffMaxMs: 80,
  batchSize: 10,
  statusPollIntervalMs: 0,
};

function worker(
  options: Omit<Partial<DeliveryWorkerOptions>, 'settings'> & { settings?: Partial<DispatchSettings> } = {},
): DeliveryWorker {
  const { settings, ...rest } = options;
  return new DeliveryWorker({
    db: gw.services.db,
    protection: gw.services.access.protection,
    departments: gw.services.departments,
    calendar: gw.services.calendar,
    metrics: gw.services.metrics.registry,
    logger: gw.services.logger,
    random: () => 1,
    ...rest,
    settings: { ...fastSettings, ...settings },
  });
}

/** Waits until `check` holds, polling; fails after `attempts` tries (never on elapsed time alone). */
async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  attempts = 200,
  everyMs = 25,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/** What the submit route writes in one transaction: the case as submitted and its delivery to PSB. */
async function submittedCase(
  form: Record<string, unknown> = { moveToAddress: '北京市海淀区中关村大街1号', reason: 'employment' },
) {
  sequence += 1;
  const suffix = `${Date.now().toString(36)}${sequence}${randomBytes(3).toString('hex')}`;
  const caseId = `case_${suffix}`;
  const caseNumber = `OW${String(Date.now()).slice(-9)}${String(sequence).padStart(4, '0')}`;
  const deliveryId = `dlv_${suffix}`;
  const materialId = `mat_${suffix}`;
  await gw.services.db.transaction(async (tx) => {
    await tx.insert(materials).values({
      id: materialId,
      subjectId,
      typeCode: 'resident_id_card',
      contentSha256: randomBytes(32).toString('hex'),
      contentSize: 20_480,
      mediaType: 'application/pdf',
      provenance: 'handed_in',
      providedByClientId: windowClientId,
      validFrom: '2020-01-01',
    });
    await tx.insert(cases).values({
      id: caseId,
      caseNumber,
      itemCode: 'household_move_in',
      subjectId,
      clientId: windowClientId,
      status: 'submitted',
      form,
      submittedAt: new Date(),
      acceptedOn: '2026-11-30',
      promisedDays: 5,
      dueOn: '2026-12-07',
      statutoryDueOn: '2026-12-28',
    });
    await tx
      .insert(caseMaterials)
      .values({ caseId, requirementCode: 'applicant_identity', materialId, resolution: 'handed_in' });
    await tx.insert(deliveries).values({ id: deliveryId, caseId, departmentCode: 'PSB' });
  });
  return { caseId, caseNumber, deliveryId };
}

async function deliveryRow(id: string) {
  const [row] = await gw.services.db.select().from(deliveries).where(eq(deliveries.id, id));
  if (!row) throw new Error(`no delivery ${id}`);
  return row;
}

async function eventsOf(caseId: string, kind: string) {
  return gw.services.db
    .select()
    .from(caseEvents)
    .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.kind, kind)));
}

/** Whether the database clock has passed the delivery's next attempt (the worker's own test). */
async function isDue(id: string): Promise<boolean> {
  const result = await gw.services.db.execute(
    sql`select next_attempt_at <= now() as due from deliveries where id = ${id}`,
  );
  return rowsOf<{ due: boolean }>(result)[0]?.due === true;
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await gw.services.metrics.registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) =>
    Object.entries(labels).every(([key, expected]) => value.labels[key] === expected),
  );
  return sample?.value ?? 0;
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator({ port: 0, statusStepMs: false });
  gw = await createTestGateway({
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'PSB',
        name: 'PSB population registry (simulator)',
        adapter: 'psb-population',
        baseUrl: psb.url,
        options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
        // One attempt per delivery (the worker retries), and no breaker between the tests' failures.
        tuning: { retries: 0, breakerFailures: 1000, headersTimeoutMs: 3000 },
      },
    ]),
    DEPARTMENT_ALLOWED_HOSTS: '127.0.0.1',
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  windowClientId = (await gw.createClient('window')).client.id;
  subjectId = `sub_${randomBytes(8).toString('hex')}`;
  await gw.services.db.insert(subjects).values(
    storedSubjectValues(gw.services.access.protection, {
      id: subjectId,
      kind: 'person',
      identifierType: 'resident_id',
      identifier: APPLICANT.idNumber,
      name: APPLICANT.name,
      createdByClientId: windowClientId,
    }),
  );
}, 60_000);

afterEach(async () => {
  psb.setFault(null);
  // Each test leaves nothing due behind for the next one's workers.
  await gw.services.db.update(deliveries).set({ status: 'dead' }).where(eq(deliveries.status, 'pending'));
});

afterAll(async () => {
  await gw?.close();
  await psb?.close();
});

describe('delivering submitted cases', () => {
  it('delivers a case once, with its subject, form and materials, and records the disclosure', async () => {
    const submitted = await submittedCase();
    const before = psb.applicationCount();
    const deliverer = worker();

    expect(await deliverer.runOnce()).toBe(1);
    expect(await deliverer.runOnce()).toBe(0);

    const row = await deliveryRow(submitted.deliveryId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, leaseOwner: null, lastError: null });
    const application = psb.applications().find((entry) => entry.ywlsh === submitted.deliveryId);
    expect(application?.slbh).toBe(row.departmentReference);
    expect(psb.applicationCount()).toBe(before + 1);
    expect(psb.requestCount(SUBMIT)).toBeGreaterThanOrEqual(1);

    const [delivered] = await eventsOf(submitted.caseId, 'delivered');
    expect(delivered?.detail).toMatchObject({
      deliveryId: submitted.deliveryId,
      departmentReference: row.departmentReference,
      duplicate: false,
      worker: deliverer.owner,
    });
    const disclosures = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'case.deliver'), eq(auditEntries.caseRef, submitted.caseNumber)));
    expect(disclosures).toHaveLength(1);
    expect(disclosures[0]).toMatchObject({
      subjectRef: subjectId,
      actorClientId: windowClientId,
      actorKind: 'window',
      materialTypes: ['resident_id_card'],
    });
    expect(disclosures[0]?.fields).toContain('department:PSB');
    expect(
      await metricValue('onewindow_case_deliveries_total', { department: 'PSB', outcome: 'delivered' }),
    ).toBeGreaterThanOrEqual(1);
    const lag = await gw.services.metrics.registry.getSingleMetricAsString('onewindow_case_delivery_lag_seconds');
    expect(
      Number(/onewindow_case_delivery_lag_seconds_count\{department="PSB"\} (\d+)/.exec(lag)?.[1]),
    ).toBeGreaterThanOrEqual(1);
  });

  it('retries a department that is down, with backoff, and delivers once it is back', async () => {
    const submitted = await submittedCase();
    const before = psb.applicationCount();
    const deliverer = worker();
    psb.setFault({ kind: 'http_5xx', operation: SUBMIT });

    // A first attempt by a worker that backs off for ten minutes: the delivery is not due again.
    const patient = worker({ settings: { backoffBaseMs: 600_000, backoffMaxMs: 600_000 } });
    expect(await patient.runOnce()).toBe(1);
    let row = await deliveryRow(submitted.deliveryId);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, leaseOwner: null });
    expect(row.lastError).toMatch(/^department_unavailable \(PSB/);
    expect(await isDue(submitted.deliveryId)).toBe(false);
    expect(await deliverer.runOnce()).toBe(0);
    // Ten minutes later.
    await gw.services.db
      .update(deliveries)
      .set({ nextAttemptAt: sql`now()` })
      .where(eq(deliveries.id, submitted.deliveryId));

    await until(
      async () => (await deliverer.runOnce()) > 0 && (await deliveryRow(submitted.deliveryId)).attempts === 2,
      'a second, failing attempt',
    );
    row = await deliveryRow(submitted.deliveryId);
    expect(row).toMatchObject({ status: 'pending', attempts: 2 });

    psb.setFault(null);
    await until(async () => {
      await deliverer.runOnce();
      return (await deliveryRow(submitted.deliveryId)).status === 'delivered';
    }, 'delivery after the department is back');
    row = await deliveryRow(submitted.deliveryId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 3, lastError: null });
    expect(psb.applicationCount()).toBe(before + 1);
    expect(
      await metricValue('onewindow_case_deliveries_total', { department: 'PSB', outcome: 'failed' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('backs off with full jitter, growing per attempt up to the maximum', () => {
    const settings = { backoffBaseMs: 1000, backoffMaxMs: 300_000 };
    expect([1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, settings, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelayMs(20, settings, () => 1)).toBe(300_000);
    expect(backoffDelayMs(3, settings, () => 0)).toBe(0);
    expect(backoffDelayMs(3, settings, () => 0.5)).toBe(2000);
  });

  it('dead-letters after the last attempt, and an administrator requeues it', async () => {
    const submitted = await submittedCase();
    const before = psb.applicationCount();
    const deliverer = worker({ settings: { maxAttempts: 3 } });
    psb.setFault({ kind: 'http_5xx', operation: SUBMIT });

    await until(async () => {
      await deliverer.runOnce();
      return (await deliveryRow(submitted.deliveryId)).status === 'dead';
    }, 'the delivery dead-lettered');
    const dead = await deliveryRow(submitted.deliveryId);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead.deadAt).not.toBeNull();
    expect(dead.lastError).toMatch(/^department_unavailable/);
    const [deadLettered] = await eventsOf(submitted.caseId, 'dead_lettered');
    expect(deadLettered?.detail).toMatchObject({
      deliveryId: submitted.deliveryId,
      attempts: 3,
      error: 'department_unavailable',
      definitive: false,
    });
    expect(await deliverer.runOnce()).toBe(0);

    const admin = await gw.tokenFor('admin', ['catalogue:admin']);
    const windowToken = await gw.tokenFor('window');
    const forbidden = await gw.request(`/v1/deliveries/${submitted.deliveryId}/retry`, {
      method: 'POST',
      headers: bearer(windowToken),
    });
    expect(forbidden.status).toBe(403);
    const unknown = await gw.request('/v1/deliveries/dlv_nosuchdelivery/retry', {
      method: 'POST',
      headers: bearer(admin),
    });
    expect((await problemOf(unknown)).code).toBe('not_found');

    const requeued = await gw.request(`/v1/deliveries/${submitted.deliveryId}/retry`, {
      method: 'POST',
      headers: bearer(admin),
    });
    expect(requeued.status).toBe(200);
    expect(await requeued.json()).toMatchObject({
      id: submitted.deliveryId,
      caseNumber: submitted.caseNumber,
      status: 'pending',
      attempts: 0,
      deadAt: null,
      departmentCode: 'PSB',
    });
    const again = await gw.request(`/v1/deliveries/${submitted.deliveryId}/retry`, {
      method: 'POST',
      headers: bearer(admin),
    });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe('conflict');
    expect(await eventsOf(submitted.caseId, 'delivery_requeued')).toHaveLength(1);
    const audit = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'delivery.requeue'), eq(auditEntries.caseRef, submitted.caseNumber)));
    expect(audit).toHaveLength(1);

    psb.setFault(null);
    expect(await deliverer.runOnce()).toBe(1);
    expect(await deliveryRow(submitted.deliveryId)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(psb.applicationCount()).toBe(before + 1);
  });

  it("dead-letters at once when the department refuses the case, and keeps only codes and the adapter's message", async () => {
    // No move-in address: the adapter refuses to send it (rejected); retrying cannot help.
    const refused = await submittedCase({ reason: 'employment' });
    const deliverer = worker();
    expect(await deliverer.runOnce()).toBe(1);
    const row = await deliveryRow(refused.deliveryId);
    expect(row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(row.lastError).toMatch(/^department_rejected \(PSB submitHouseholdMoveIn\)/);
    expect(row.lastError).not.toContain(APPLICANT.idNumber);
    expect(row.lastError).not.toContain(APPLICANT.name);
    const [deadLettered] = await eventsOf(refused.caseId, 'dead_lettered');
    expect(deadLettered?.detail).toMatchObject({ definitive: true, error: 'department_rejected' });

    expect(
      await metricValue('onewindow_case_deliveries_total', { department: 'PSB', outcome: 'dead' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("records the registry's own refusal of the case as its decision: refused, its reason verbatim, the case rejected", async () => {
    const businessRefusal = await submittedCase();
    psb.setFault({ kind: 'business_error', operation: SUBMIT });
    expect(await worker().runOnce()).toBe(1);
    expect(await deliveryRow(businessRefusal.deliveryId)).toMatchObject({
      status: 'refused',
      attempts: 1,
      departmentStatus: 'rejected',
      departmentMessage: '业务处理失败',
    });
    const [refusal] = await eventsOf(businessRefusal.caseId, 'department_refused');
    expect(refusal?.detail).toEqual({ code: '4000', message: '业务处理失败' });
    const [caseRow] = await gw.services.db.select().from(cases).where(eq(cases.id, businessRefusal.caseId));
    expect(caseRow?.status).toBe('rejected');
    expect(await metricValue('onewindow_case_deliveries_total', { department: 'PSB', outcome: 'refused' })).toBe(1);
  });
});

describe('leases and concurrent workers', () => {
  it('redelivers after the lease of a crashed worker runs out, with the same key: the department counts one application', async () => {
    const submitted = await submittedCase();
    const before = psb.applicationCount();
    const beforeRequests = psb.requestCount(SUBMIT);
    const real = gw.services.departments.get('PSB');
    if (!real?.adapter.submitCase) throw new Error('PSB cannot receive cases');
    const realSubmit = real.adapter.submitCase.bind(real.adapter);
    // A worker whose process dies right after the department received the case: its answer is
    // never recorded and its lease is left behind.
    const dying: RegisteredDepartment = {
      ...real,
      adapter: {
        ...real.adapter,
        submitCase: async (request, context): Promise<CaseSubmissionReceipt> => {
          await realSubmit(request, context);
          return new Promise<CaseSubmissionReceipt>(() => {});
        },
      },
    };
    const crashedDepartments: DepartmentLookup = {
      get: (code) => (code === 'PSB' ? dying : undefined),
      list: () => [dying],
      sharingResourceOf: () => null,
    };
    const crashed = worker({ departments: crashedDepartments, owner: 'crashed-worker', settings: { leaseMs: 3000 } });
    const survivor = worker({ owner: 'surviving-worker' });

    void crashed.runOnce();
    await until(() => psb.applicationCount() === before + 1, 'the department received the first attempt');
    const leased = await deliveryRow(submitted.deliveryId);
    expect(leased).toMatchObject({ status: 'pending', leaseOwner: 'crashed-worker', attempts: 1 });
    // The lease holds: the survivor leaves the row alone.
    expect(await survivor.runOnce()).toBe(0);

    await until(
      async () => (await survivor.runOnce()) > 0,
      'the lease ran out and the survivor claimed the delivery',
      200,
      25,
    );
    const row = await deliveryRow(submitted.deliveryId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 2, leaseOwner: null });
    expect(psb.applicationCount()).toBe(before + 1);
    expect(psb.requestCount(SUBMIT)).toBe(beforeRequests + 2);
    const delivered = await eventsOf(submitted.caseId, 'delivered');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.detail).toMatchObject({ duplicate: true, worker: 'surviving-worker', attempts: 2 });
  });

  it("records one pass's acknowledgements together: each marked, one event and one disclosure each, none where the lease was lost", async () => {
    const submitted = [await submittedCase(), await submittedCase(), await submittedCase()];
    const ids = new Set(submitted.map((entry) => entry.deliveryId));
    const lost = submitted[2]?.deliveryId ?? '';
    const real = gw.services.departments.get('PSB');
    if (!real) throw new Error('no PSB');
    // The department answers all three calls at once, so the acknowledgements arrive in one turn;
    // meanwhile the third delivery's lease is taken over (as when it ran out and another worker claimed it).
    let arrived = 0;
    let answerAll: () => void = () => undefined;
    const together = new Promise<void>((resolve) => {
      answerAll = resolve;
    });
    const department: RegisteredDepartment = {
      ...real,
      adapter: {
        ...real.adapter,
        submitCase: async (request): Promise<CaseSubmissionReceipt> => {
          if (ids.has(request.idempotencyKey)) arrived += 1;
          if (arrived === ids.size) {
            await gw.services.db
              .update(deliveries)
              .set({ leaseOwner: 'another-worker' })
              .where(eq(deliveries.id, lost));
            answerAll();
          }
          await together;
          return { departmentReference: `ref-${request.idempotencyKey}`, duplicate: false };
        },
      },
    };
    const deliverer = worker({
      owner: 'batching-worker',
      departments: {
        get: (code) => (code === 'PSB' ? department : undefined),
        list: () => [department],
        sharingResourceOf: () => null,
      },
    });
    expect(await deliverer.runOnce()).toBe(3);

    for (const entry of submitted) {
      const row = await deliveryRow(entry.deliveryId);
      const disclosures = await gw.services.db
        .select()
        .from(auditEntries)
        .where(and(eq(auditEntries.action, 'case.deliver'), eq(auditEntries.caseRef, entry.caseNumber)));
      const events = await eventsOf(entry.caseId, 'delivered');
      if (entry.deliveryId === lost) {
        expect(row).toMatchObject({ status: 'pending', leaseOwner: 'another-worker' });
        expect(events).toHaveLength(0);
        expect(disclosures).toHaveLength(0);
      } else {
        expect(row).toMatchObject({
          status: 'delivered',
          departmentReference: `ref-${entry.deliveryId}`,
          leaseOwner: null,
        });
        expect(events).toHaveLength(1);
        expect(events[0]?.detail).toMatchObject({
          deliveryId: entry.deliveryId,
          worker: 'batching-worker',
          attempts: 1,
        });
        expect(disclosures).toHaveLength(1);
        expect(disclosures[0]).toMatchObject({
          subjectRef: subjectId,
          actorClientId: windowClientId,
          actorKind: 'window',
        });
        expect(disclosures[0]?.fields).toContain(`delivery:${entry.deliveryId}`);
        expect(disclosures[0]?.materialTypes).toEqual(['resident_id_card']);
      }
    }
  });

  it('two workers on one database share the deliveries and never take the same one', async () => {
    const before = psb.applicationCount();
    const beforeRequests = psb.requestCount(SUBMIT);
    const submitted: Awaited<ReturnType<typeof submittedCase>>[] = [];
    for (let index = 0; index < 12; index += 1) submitted.push(await submittedCase());
    // Slow answers, so both workers have deliveries in flight at the same time.
    psb.setFault({ kind: 'delay', delayMs: 80, operation: SUBMIT });
    const first = worker({ owner: 'worker-one', settings: { batchSize: 3 } });
    const second = worker({ owner: 'worker-two', settings: { batchSize: 3 } });
    first.start();
    second.start();
    try {
      await until(
        async () => {
          const rows = await Promise.all(submitted.map((entry) => deliveryRow(entry.deliveryId)));
          return rows.every((row) => row.status === 'delivered');
        },
        'all twelve delivered',
        400,
        25,
      );
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    const rows = await Promise.all(submitted.map((entry) => deliveryRow(entry.deliveryId)));
    expect(rows.map((row) => row.attempts)).toEqual(Array(12).fill(1));
    expect(psb.requestCount(SUBMIT)).toBe(beforeRequests + 12);
    expect(psb.applicationCount()).toBe(before + 12);
    const workers = new Set<unknown>();
    for (const entry of submitted) {
      const events = await eventsOf(entry.caseId, 'delivered');
      expect(events).toHaveLength(1);
      workers.add(events[0]?.detail['worker']);
    }
    expect(workers).toEqual(new Set(['worker-one', 'worker-two']));
  });

  it('a running worker delivers as soon as it is woken, and stop waits for deliveries in flight', async () => {
    // An interval far beyond the test's patience: only wake() can make it deliver in time.
    const deliverer = worker({ settings: { pollIntervalMs: 600_000 } });
    deliverer.start();
    try {
      await until(() => deliverer.running, 'the worker running');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const submitted = await submittedCase();
      const requests = psb.requestCount(SUBMIT);
      psb.setFault({ kind: 'delay', delayMs: 300, operation: SUBMIT });
      deliverer.wake();
      await until(() => psb.requestCount(SUBMIT) > requests, 'the delivery in flight');
      await deliverer.stop();
      // Recorded before stop() returned.
      expect(await deliveryRow(submitted.deliveryId)).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await deliverer.stop();
    }
  });
});

describe('status polling', () => {
  it('asks the department about delivered cases and applies what it says, until the status is final', async () => {
    // The earlier tests' cases are finished at their department, so only this one is asked about.
    await gw.services.db
      .update(deliveries)
      .set({ departmentStatus: 'completed' })
      .where(eq(deliveries.status, 'delivered'));
    const submitted = await submittedCase();
    const poller = worker();
    expect(await poller.runOnce()).toBe(1);
    const reference = (await deliveryRow(submitted.deliveryId)).departmentReference;
    if (!reference) throw new Error('no department reference');

    // Not due yet for a worker that asks at most once a minute.
    expect(await worker({ settings: { statusPollIntervalMs: 60_000 } }).pollStatusesOnce()).toBe(0);

    expect(psb.advanceApplication(reference, applicationStatusCodes.inProgress)).toBe('advanced');
    expect(await poller.pollStatusesOnce()).toBe(1);
    expect(await deliveryRow(submitted.deliveryId)).toMatchObject({ departmentStatus: 'in_progress' });
    const [inProgress] = await gw.services.db.select().from(cases).where(eq(cases.id, submitted.caseId));
    expect(inProgress?.status).toBe('in_progress');

    // The same answer again changes nothing.
    expect(await poller.pollStatusesOnce()).toBe(1);
    expect(await eventsOf(submitted.caseId, 'department_status')).toHaveLength(1);

    expect(psb.advanceApplication(reference, applicationStatusCodes.completed, '准予迁入')).toBe('advanced');
    expect(await poller.pollStatusesOnce()).toBe(1);
    const [completed] = await gw.services.db.select().from(cases).where(eq(cases.id, submitted.caseId));
    expect(completed?.status).toBe('completed');
    const statusEvents = await eventsOf(submitted.caseId, 'department_status');
    expect(statusEvents.map((event) => event.detail)).toEqual([
      { status: 'in_progress', source: 'poll' },
      { status: 'completed', source: 'poll', message: '准予迁入' },
    ]);
    // Final: never asked again.
    expect(await poller.pollStatusesOnce()).toBe(0);
    expect(
      await metricValue('onewindow_case_status_polls_total', { department: 'PSB', outcome: 'changed' }),
    ).toBeGreaterThanOrEqual(2);
  });
});

describe('dispatch configuration', () => {
  it('has defaults, and refuses a backoff maximum below its base', () => {
    expect(parseConfig({}).cases.dispatch).toEqual({
      workerEnabled: true,
      pollIntervalMs: 1000,
      leaseMs: 30_000,
      maxAttempts: 8,
      backoffBaseMs: 1000,
      backoffMaxMs: 300_000,
      batchSize: 10,
      statusPollIntervalMs: 60_000,
    });
    expect(parseConfig({ DELIVERY_WORKER: 'false', DELIVERY_LEASE_MS: '5000' }).cases.dispatch).toMatchObject({
      workerEnabled: false,
      leaseMs: 5000,
    });
    expect(() => parseConfig({ DELIVERY_BACKOFF_BASE_MS: '5000', DELIVERY_BACKOFF_MAX_MS: '1000' })).toThrow(
      ConfigError,
    );
    expect(() => parseConfig({ DELIVERY_LEASE_MS: '10' })).toThrow(/DELIVERY_LEASE_MS/);
  });
});
