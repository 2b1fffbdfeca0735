/**
 * Dispatch: how a submitted case reaches its departments, and how their status comes back when
 * they do not push it.
 *
 * Submitting writes the case and one `deliveries` row per department in one transaction (the
 * transactional outbox). Every gateway instance runs a `DeliveryWorker` over the same table:
 *
 * - It claims due rows with a lease in one statement (`FOR UPDATE SKIP LOCKED`), so two workers
 *   never hold the same row, and a worker that dies (kill -9, lost host) leaves only a lease that
 *   runs out, after which any worker takes the row again.
 * - It delivers through the department's adapter with the delivery id as idempotency key. A
 *   redelivery — after a crash, a lost answer or an expired lease — is recognised by the
 *   department as the same application, so there is never a double effect.
 * - It records the outcome in one transaction, and only while it still holds the claim (lease
 *   owner and attempt number unchanged): a worker that lost its lease records nothing.
 * - Failures back off with full jitter; a department's definitive refusal, or the last allowed
 *   attempt, dead-letters the row (`dead`), which supervision shows and an administrator requeues
 *   (`requeueDeadDelivery`).
 *
 * The same worker polls the status of delivered cases whose department offers `queryCaseStatus`,
 * at most once per `statusPollIntervalMs` per delivery, and applies it like a pushed callback.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type {
  CaseSubmissionReceipt,
  CaseSubmissionRequest,
  ResultCertificate,
  SubmittedMaterial,
} from '../../adapters/sdk/types.js';
import { departmentSubjectRef, openSubjectValues } from '../identity/subjects.js';
import { newAuditEntryId, recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { ClientKind } from '../auth/scopes.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import type { DispatchSettings } from '../config.js';
import { type Database, rowsOf } from '../db/client.js';
import { caseEvents, cases, deliveries, items } from '../db/schema.js';
import { invokeDepartment, requireCapability } from '../departments/calls.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { submissionTypeFor } from '../items/deliverability.js';
import type { BlobStore } from '../materials/blob-store.js';
import { type ReceivedResultCertificate, type ResultSealing, receiveResultCertificate } from '../results/electronic.js';
import { ApiError, type ErrorCode, errorForLog, message } from '../platform/errors.js';
import type { DataProtection } from '../protection/data-protection.js';
import { namesInCase } from './names.js';
import { selectSubmittedCases, selectSubmittedMaterials, selectSubmittedParties } from './statements.js';
import { applyDepartmentStatus, isFinalCaseStatus, recordDepartmentRefusal } from './status.js';
import { signalWithin } from '../platform/deadline.js';
import { maskIdentifiersInNote, maskPersonalText } from '../platform/identifier-masking.js';

// --- Metrics -------------------------------------------------------------------------------------

export interface DispatchMetrics {
  /** Attempts by outcome: delivered, failed (will be retried), dead, lease_lost. */
  deliveries: Counter<'department' | 'outcome'>;
  /** Submission (case submitted) → the department's acknowledgement. */
  lag: Histogram<'department'>;
  /** Status queries by outcome: changed, unchanged, failed. */
  statusPolls: Counter<'department' | 'outcome'>;
}

/** One set per registry: several workers in one process (tests) share the registry's metrics. */
const metricsByRegistry = new WeakMap<Registry, DispatchMetrics>();

export function dispatchMetrics(registry: Registry): DispatchMetrics {
  const known = metricsByRegistry.get(registry);
  if (known) return known;
  const created: DispatchMetrics = {
    deliveries: new Counter({
      name: 'onewindow_case_deliveries_total',
      help: 'Case delivery attempts to departments by outcome (delivered, failed, dead, lease_lost)',
      labelNames: ['department', 'outcome'],
      registers: [registry],
    }),
    lag: new Histogram({
      name: 'onewindow_case_delivery_lag_seconds',
      help: "Time from a case's submission to the department's acknowledgement of its delivery",
      labelNames: ['department'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    statusPolls: new Counter({
      name: 'onewindow_case_status_polls_total',
      help: 'Case status queries to departments by outcome (changed, unchanged, failed)',
      labelNames: ['department', 'outcome'],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, created);
  return created;
}

// --- Backoff and failure classes -----------------------------------------------------------------

/**
 * Full jitter (a uniformly random delay up to the exponential bound): workers that failed
 * together against one department do not come back together.
 */
export function backoffDelayMs(
  attempt: number,
  settings: Pick<DispatchSettings, 'backoffBaseMs' | 'backoffMaxMs'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const bound = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** exponent);
  return Math.floor(random() * bound);
}

/**
 * Answers that retrying cannot change: the department refused our request or the case (a
 * business refusal), cannot receive cases at all, or may not be called. These dead-letter at
 * once; the rest (down, slow, overloaded, a broken answer) are retried with backoff.
 */
const DEFINITIVE_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'department_rejected',
  'department_error',
  'capability_not_offered',
  'department_not_allowed',
  'identifier_type_not_supported_by_department',
]);

interface AttemptFailure {
  code: string;
  /** The department's own words with a business refusal, verbatim (see DepartmentErrorDetails). */
  departmentMessage?: string;
  departmentCode?: string;
  /** For `last_error` and logs: codes and the adapter's message, which never carries personal data. */
  summary: string;
  definitive: boolean;
}

const LAST_ERROR_MAX_CHARS = 500;

function describeFailure(error: unknown): AttemptFailure {
  if (error instanceof ApiError) {
    const where = [error.extras['department'], error.extras['operation'], error.extras['departmentCode']].filter(
      (part) => typeof part === 'string' && part !== '',
    );
    const summary = `${error.code}${where.length > 0 ? ` (${where.join(' ')})` : ''}: ${error.message}`;
    const { departmentMessage, departmentCode } = error.extras;
    return {
      code: error.code,
      summary: summary.slice(0, LAST_ERROR_MAX_CHARS),
      definitive: DEFINITIVE_FAILURES.has(error.code),
      ...(typeof departmentMessage === 'string'
        ? // Shown to windows, the applicant and other departments: identifiers in it masked.
          { departmentMessage: maskPersonalText(departmentMessage).slice(0, LAST_ERROR_MAX_CHARS) }
        : {}),
      ...(typeof departmentCode === 'string' ? { departmentCode } : {}),
    };
  }
  // Anything else (a database error, a bug): its message may quote values, so only its class is kept.
  const kind = error instanceof Error ? error.name : typeof error;
  return { code: 'internal_error', summary: `internal_error: ${kind}`, definitive: false };
}

// --- The worker ----------------------------------------------------------------------------------

/** What the worker reads the working-day calendar from (the gateway's CalendarService). */
export interface CalendarSource {
  current(): Promise<WorkingCalendar>;
}

/** The departments the worker delivers to (the gateway's DepartmentRegistry). */
export type DepartmentLookup = Pick<DepartmentRegistry, 'get' | 'list' | 'sharingResourceOf'>;

export interface DeliveryWorkerOptions {
  db: Database;
  /** Opens the subjects' sealed identifiers and names sent to departments (gateway/protection). */
  protection: DataProtection;
  departments: DepartmentLookup;
  calendar: CalendarSource;
  /** The registry the dispatch metrics are registered in (the gateway's metrics registry). */
  metrics: Registry;
  logger: Logger;
  settings: DispatchSettings;
  /** Where a result document a department answers a status poll with is stored (electronic results). */
  blobStore?: BlobStore;
  /** Seals the result documents it receives (GB/T 38540); absent: kept unsealed. */
  sealing?: ResultSealing;
  /** Lease owner name; unique per worker. Default: host, process id and a random suffix. */
  owner?: string;
  /** Jitter source, for tests. */
  random?: () => number;
}

interface ClaimedDelivery {
  id: string;
  caseId: string;
  departmentCode: string;
  /** The attempt number this claim is; with the owner, it identifies the claim. */
  attempts: number;
}

interface Submission {
  request: CaseSubmissionRequest;
  submittedAt: Date;
  subjectId: string;
  /** The case's parties: each received with the case, so each has the delivery on their own record. */
  parties: { subjectId: string; role: string; materialTypes: string[] }[];
  submitter: { clientId: string; kind: ClientKind; operatorId: string | null };
}

/** What departments receive of the cases of one delivery pass, read together (three statements, not three per delivery). */
interface SubmissionRows {
  cases: Map<string, Awaited<ReturnType<typeof selectSubmittedCases>>[number]>;
  materials: Map<string, Awaited<ReturnType<typeof selectSubmittedMaterials>>>;
  parties: Map<string, Awaited<ReturnType<typeof selectSubmittedParties>>>;
}

function groupedByCase<Row extends { caseId: string }>(rows: readonly Row[]): Map<string, Row[]> {
  const grouped = new Map<string, Row[]>();
  for (const row of rows) {
    const ofCase = grouped.get(row.caseId);
    if (ofCase) ofCase.push(row);
    else grouped.set(row.caseId, [row]);
  }
  return grouped;
}

type AttemptOutcome =
  | { kind: 'delivered'; receipt: CaseSubmissionReceipt; submission: Submission }
  | { kind: 'failed'; failure: AttemptFailure };

/**
 * Under load (the last pass found work), a wake waits this long before the next pass, so one pass
 * claims, reads and records the deliveries of several submissions with one statement each instead
 * of one pass per submission (bench:cases). An idle worker's first wake is served at once.
 */
const WAKE_GATHER_MS = 15;

/** An acknowledged delivery waiting for the turn's one statement that records them all. */
interface PendingAck {
  claim: ClaimedDelivery;
  receipt: CaseSubmissionReceipt;
  submission: Submission;
  resolve(recorded: boolean): void;
  reject(error: unknown): void;
}

/** Status passes ask about at most this many batches of deliveries. */
const STATUS_PASS_MAX_BATCHES = 5;
/** Writing an attempt's outcome is retried this often (database restarting) within the lease. */
const OUTCOME_WRITE_ATTEMPTS = 8;
const OUTCOME_WRITE_FIRST_WAIT_MS = 100;

function newOwnerName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class DeliveryWorker {
  readonly owner: string;
  private readonly db: Database;
  private readonly protection: DataProtection;
  private readonly departments: DepartmentLookup;
  private readonly calendar: CalendarSource;
  private readonly metrics: DispatchMetrics;
  private readonly logger: Logger;
  private readonly settings: DispatchSettings;
  private readonly random: () => number;
  /** Aborts department calls still running when a stop's grace period is over. */
  private readonly shutdown = new AbortController();
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private wakeRequested = false;
  private interruptSleep: (() => void) | undefined;
  /** Passes started outside the loop (tests, `runOnce`), so `stop()` waits for them too. */
  private readonly passes = new Set<Promise<unknown>>();
  private failingSince: number | undefined;
  private pendingAcks: PendingAck[] = [];
  private readonly blobStore: BlobStore | undefined;
  private readonly sealing: ResultSealing | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.blobStore = options.blobStore;
    this.sealing = options.sealing;
    this.db = options.db;
    this.protection = options.protection;
    this.departments = options.departments;
    this.calendar = options.calendar;
    this.metrics = dispatchMetrics(options.metrics);
    this.logger = options.logger.child({ component: 'dispatch' });
    this.settings = options.settings;
    this.owner = options.owner ?? newOwnerName();
    this.random = options.random ?? Math.random;
  }

  get running(): boolean {
    return this.loopDone !== undefined && !this.stopping;
  }

  /** Starts the background loop (once). */
  start(): void {
    if (this.loopDone || this.stopping) return;
    this.logger.info({ owner: this.owner }, 'delivery worker started');
    this.loopDone = this.loop();
  }

  /**
   * Looks for due deliveries now instead of at the next interval. Called after a submission in
   * this process commits; harmless when the worker is not running.
   */
  wake(): void {
    this.wakeRequested = true;
    this.interruptSleep?.();
  }

  /**
   * Stops claiming and waits for the deliveries in flight to finish and be recorded. After
   * `graceMs` their department calls are aborted; an attempt cut short is retried later (by any
   * instance), and the department drops the duplicate if the first one did arrive.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.wake();
    const timer = setTimeout(() => this.shutdown.abort(new Error('the delivery worker is stopping')), graceMs);
    try {
      await Promise.allSettled([this.loopDone, ...this.passes]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One delivery pass: claims up to a batch of due deliveries and delivers them. Returns how many it claimed. */
  runOnce(): Promise<number> {
    return this.track(this.deliverDue());
  }

  /** One cancellation pass. Returns how many voided deliveries it handled. */
  cancelVoidedOnce(): Promise<number> {
    return this.track(this.cancelVoided());
  }

  /** One status pass. Returns how many deliveries it asked about. */
  pollStatusesOnce(): Promise<number> {
    return this.track(this.pollStatuses());
  }

  private track<T>(pass: Promise<T>): Promise<T> {
    this.passes.add(pass);
    void pass.finally(() => this.passes.delete(pass)).catch(() => undefined);
    return pass;
  }

  private async loop(): Promise<void> {
    const statusPassEveryMs = Math.min(
      Math.max(Math.floor(this.settings.statusPollIntervalMs / 4), this.settings.pollIntervalMs),
      15_000,
    );
    let nextStatusPassAt = 0;
    let nextCancelPassAt = 0;
    while (!this.stopping) {
      this.wakeRequested = false;
      let claimed = 0;
      try {
        claimed = await this.deliverDue();
        let statusPassRan = false;
        if (!this.stopping && Date.now() >= nextStatusPassAt) {
          nextStatusPassAt = Date.now() + statusPassEveryMs;
          await this.pollStatuses();
          statusPassRan = true;
        }
        // Voided parts are looked for once per poll interval (and after a status pass, which may
        // void some), not after every wake: under load a submission wakes the worker many times a
        // second, and each look was a statement.
        if (!this.stopping && (statusPassRan || Date.now() >= nextCancelPassAt)) {
          nextCancelPassAt = Date.now() + this.settings.pollIntervalMs;
          await this.cancelVoided();
        }
        this.recovered();
      } catch (error) {
        this.failed(error);
      }
      if (this.stopping) break;
      // A full batch means more may be due: go on at once. Otherwise wait for a wake or the interval.
      if (claimed >= this.settings.batchSize) continue;
      if (this.wakeRequested) {
        if (claimed > 0) await delay(WAKE_GATHER_MS);
        continue;
      }
      await this.sleep(this.settings.pollIntervalMs);
    }
    this.logger.info({ owner: this.owner }, 'delivery worker stopped');
  }

  /** Logs the first failure of a streak (the database away) loudly, the rest quietly. */
  private failed(error: unknown): void {
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.logger.warn({ err: errorForLog(error) }, 'delivery worker pass failed; retrying every poll interval');
    } else {
      this.logger.debug({ err: errorForLog(error) }, 'delivery worker pass failed again');
    }
  }

  private recovered(): void {
    if (this.failingSince === undefined) return;
    this.logger.info({ failingForMs: Date.now() - this.failingSince }, 'delivery worker passes succeed again');
    this.failingSince = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.interruptSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interruptSleep = done;
    });
  }

  // --- Delivering ---

  private async deliverDue(): Promise<number> {
    const claims = await this.claimDue(this.settings.batchSize);
    if (claims.length === 0) return 0;
    const rows = this.readSubmissions([...new Set(claims.map((claim) => claim.caseId))]);
    // A failed read fails each delivery's attempt (awaited there).
    rows.catch(() => undefined);
    await Promise.all(claims.map((claim) => this.deliver(claim, rows)));
    return claims.length;
  }

  /**
   * Claims due deliveries in one statement: the inner SELECT skips rows another worker is
   * claiming right now, the lease keeps them from being claimed again until it runs out, and
   * the attempt counter goes up with the claim, so it counts attempts that died with their worker too.
   */
  private async claimDue(limit: number): Promise<ClaimedDelivery[]> {
    const result = await this.db.execute(sql`
      update deliveries
         set lease_owner = ${this.owner},
             lease_until = now() + ${this.settings.leaseMs}::double precision * interval '1 millisecond',
             attempts = attempts + 1
       where id in (
             select id from deliveries
              where status = 'pending'
                and next_attempt_at <= now()
                and (lease_until is null or lease_until < now())
                and cancel_status is null
              order by next_attempt_at
              limit ${limit}::integer
              for update skip locked)
      returning id, case_id as "caseId", department_code as "departmentCode", attempts`);
    return rowsOf<ClaimedDelivery>(result).map((row) => ({ ...row, attempts: Number(row.attempts) }));
  }

  private async deliver(claim: ClaimedDelivery, rows: Promise<SubmissionRows>): Promise<void> {
    const leaseEndsAt = Date.now() + this.settings.leaseMs;
    // The call must be over before the lease is: after it, another worker may deliver the row.
    const callBudgetMs = this.settings.leaseMs - Math.min(Math.floor(this.settings.leaseMs / 5), 5000);
    let outcome: AttemptOutcome;
    try {
      const submission = await this.loadSubmission(claim, await rows);
      const department = this.departments.get(claim.departmentCode);
      if (!department)
        throw new ApiError(
          'unknown_department',
          message('dispatch.department_not_configured', { department: claim.departmentCode }),
          { department: claim.departmentCode },
        );
      requireCapability(department, 'submitCase');
      const receipt = await invokeDepartment(
        {
          requestId: `${claim.id}.${claim.attempts}`,
          logger: this.logger,
          signal: signalWithin(callBudgetMs, this.shutdown.signal),
        },
        department,
        'submitCase',
        (adapter, context) => {
          if (!adapter.submitCase)
            throw new ApiError(
              'capability_not_offered',
              message('dispatch.capability_not_offered', { department: department.code, capability: 'submitCase' }),
            );
          return adapter.submitCase(submission.request, context);
        },
      );
      outcome = { kind: 'delivered', receipt, submission };
    } catch (error) {
      outcome = { kind: 'failed', failure: describeFailure(error) };
    }
    await this.recordOutcome(claim, outcome, leaseEndsAt);
  }

  /** The cases, materials and parties of a pass's deliveries: three statements for all of them. */
  private async readSubmissions(caseIds: string[]): Promise<SubmissionRows> {
    const [caseRows, materialRows, partyRows] = await Promise.all([
      selectSubmittedCases(this.db, { caseIds }),
      selectSubmittedMaterials(this.db, { caseIds }),
      selectSubmittedParties(this.db, { caseIds }),
    ]);
    return {
      cases: new Map(caseRows.map((row) => [row.caseId, row])),
      materials: groupedByCase(materialRows),
      parties: groupedByCase(partyRows),
    };
  }

  /** What the department receives: the case as submitted, its subject, and its materials by digest. */
  private async loadSubmission(claim: ClaimedDelivery, rows: SubmissionRows): Promise<Submission> {
    const row = rows.cases.get(claim.caseId);
    const attached = rows.materials.get(claim.caseId) ?? [];
    const partyRows = rows.parties.get(claim.caseId) ?? [];
    if (!row) throw new ApiError('not_found', message('dispatch.case_of_delivery_missing', { deliveryId: claim.id }));
    // Opening refused subjects departments cannot be asked about; a subject changed since is refused here, definitively.
    const subject = departmentSubjectRef(
      await openSubjectValues(this.protection, row.subjectId, row),
      claim.departmentCode,
    );
    const parties = await Promise.all(
      partyRows.map(async (party) => ({
        role: party.role,
        subject: departmentSubjectRef(
          await openSubjectValues(this.protection, party.subjectId, party),
          claim.departmentCode,
        ),
      })),
    );
    const submitted: SubmittedMaterial[] = attached.map((material) => ({
      typeCode: material.typeCode,
      sha256: material.sha256,
      mediaType: material.mediaType,
      size: material.size,
    }));
    return {
      request: {
        idempotencyKey: claim.id,
        caseNumber: row.caseNumber,
        itemCode: row.itemCode,
        // The kind of case this department receives it as (none: the adapter refuses it, definitively).
        submissionType:
          submissionTypeFor(
            row.submissions,
            claim.departmentCode,
            this.departments.get(claim.departmentCode)?.adapter,
          ) ?? '',
        subject,
        materials: submitted,
        form: row.form,
        ...(parties.length > 0 ? { parties } : {}),
      },
      submittedAt: row.submittedAt ?? row.openedAt,
      subjectId: row.subjectId,
      parties: partyRows.map((party) => ({
        subjectId: party.subjectId,
        role: party.role,
        materialTypes: [
          ...new Set(attached.filter((material) => material.partySubjectId === party.subjectId).map((m) => m.typeCode)),
        ],
      })),
      submitter: { clientId: row.clientId, kind: row.clientKind ?? 'window', operatorId: row.operatorId },
    };
  }

  /**
   * Records an attempt's outcome. The database may be restarting just now: the write is retried
   * for a while, but not past the lease — after it the row is another worker's, and the
   * department will drop that worker's redelivery as a duplicate.
   */
  private async recordOutcome(claim: ClaimedDelivery, outcome: AttemptOutcome, leaseEndsAt: number): Promise<void> {
    let waitMs = OUTCOME_WRITE_FIRST_WAIT_MS;
    for (let attempt = 1; attempt <= OUTCOME_WRITE_ATTEMPTS; attempt += 1) {
      try {
        await this.writeOutcome(claim, outcome);
        return;
      } catch (error) {
        const last = attempt === OUTCOME_WRITE_ATTEMPTS || Date.now() + waitMs >= leaseEndsAt;
        if (last) {
          this.logger.warn(
            { delivery: claim.id, err: errorForLog(error) },
            'could not record the delivery outcome; it is retried when its lease runs out',
          );
          return;
        }
        await delay(waitMs);
        waitMs *= 2;
      }
    }
  }

  private stillHeld(claim: ClaimedDelivery) {
    return and(
      eq(deliveries.id, claim.id),
      eq(deliveries.status, 'pending'),
      eq(deliveries.leaseOwner, this.owner),
      eq(deliveries.attempts, claim.attempts),
    );
  }

  private async writeOutcome(claim: ClaimedDelivery, outcome: AttemptOutcome): Promise<void> {
    const department = claim.departmentCode;
    if (outcome.kind === 'delivered') {
      const { receipt, submission } = outcome;
      const recorded = await this.recordDeliveredTogether(claim, receipt, submission);
      if (!recorded) return this.leaseLost(claim);
      this.metrics.deliveries.inc({ department, outcome: 'delivered' });
      this.metrics.lag.observe({ department }, Math.max(0, Date.now() - submission.submittedAt.getTime()) / 1000);
      this.logger.info(
        { delivery: claim.id, department, attempts: claim.attempts, duplicate: receipt.duplicate },
        'case delivered',
      );
      return;
    }

    const { failure } = outcome;
    // The department said no to the case itself (a business refusal): not a failed delivery but
    // the department's decision, which settles the case (a joint case voids the other parts).
    if (failure.code === 'department_error') {
      const calendar = await this.calendar.current();
      const recorded = await this.db.transaction(async (tx) => {
        const [held] = await tx
          .select({ id: deliveries.id })
          .from(deliveries)
          .where(this.stillHeld(claim))
          .for('update');
        if (!held) return false;
        await recordDepartmentRefusal(tx, calendar, {
          deliveryId: claim.id,
          caseId: claim.caseId,
          departmentCode: department,
          code: failure.departmentCode ?? null,
          message: failure.departmentMessage ?? null,
          lastError: failure.summary,
          at: new Date(),
        });
        return true;
      });
      if (!recorded) return this.leaseLost(claim);
      this.metrics.deliveries.inc({ department, outcome: 'refused' });
      this.logger.info(
        { delivery: claim.id, department, attempts: claim.attempts, departmentCode: failure.departmentCode },
        'the department refused the case',
      );
      return;
    }
    const dead = failure.definitive || claim.attempts >= this.settings.maxAttempts;
    if (dead) {
      const recorded = await this.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(deliveries)
          .set({ status: 'dead', deadAt: sql`now()`, leaseOwner: null, leaseUntil: null, lastError: failure.summary })
          .where(this.stillHeld(claim))
          .returning({ id: deliveries.id });
        if (!updated) return false;
        await tx.insert(caseEvents).values({
          caseId: claim.caseId,
          kind: 'dead_lettered',
          departmentCode: department,
          detail: {
            deliveryId: claim.id,
            attempts: claim.attempts,
            error: failure.code,
            definitive: failure.definitive,
          },
        });
        return true;
      });
      if (!recorded) return this.leaseLost(claim);
      this.metrics.deliveries.inc({ department, outcome: 'dead' });
      this.logger.error(
        {
          delivery: claim.id,
          department,
          attempts: claim.attempts,
          error: failure.summary,
          definitive: failure.definitive,
        },
        'case delivery dead-lettered',
      );
      return;
    }

    const waitMs = backoffDelayMs(claim.attempts, this.settings, this.random);
    const [updated] = await this.db
      .update(deliveries)
      .set({
        nextAttemptAt: sql`now() + ${waitMs}::double precision * interval '1 millisecond'`,
        leaseOwner: null,
        leaseUntil: null,
        lastError: failure.summary,
      })
      .where(this.stillHeld(claim))
      .returning({ id: deliveries.id });
    if (!updated) return this.leaseLost(claim);
    this.metrics.deliveries.inc({ department, outcome: 'failed' });
    this.logger.warn(
      { delivery: claim.id, department, attempts: claim.attempts, retryInMs: waitMs, error: failure.summary },
      'case delivery failed; retrying later',
    );
  }

  /**
   * Acknowledgements that arrive in the same turn of the event loop (the department's answers to
   * one pass's calls usually do) are recorded by one statement; each caller learns whether its
   * delivery was still held, and each sees a failure of the statement (and retries it).
   */
  private recordDeliveredTogether(
    claim: ClaimedDelivery,
    receipt: CaseSubmissionReceipt,
    submission: Submission,
  ): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pendingAcks.push({ claim, receipt, submission, resolve, reject });
      if (this.pendingAcks.length === 1) setImmediate(() => this.flushAcks());
    });
  }

  private flushAcks(): void {
    const batch = this.pendingAcks;
    this.pendingAcks = [];
    const [only] = batch;
    const recording: Promise<ReadonlySet<string>> =
      batch.length === 1 && only
        ? recordDelivered(this.db, only.claim, this.owner, only.receipt, only.submission).then(
            (recorded): ReadonlySet<string> => new Set(recorded ? [only.claim.id] : []),
          )
        : Promise.resolve().then(() => recordDeliveredMany(this.db, batch, this.owner));
    recording.then(
      (recorded) => {
        for (const ack of batch) ack.resolve(recorded.has(ack.claim.id));
      },
      (error: unknown) => {
        for (const ack of batch) ack.reject(error);
      },
    );
  }

  private leaseLost(claim: ClaimedDelivery): void {
    this.metrics.deliveries.inc({ department: claim.departmentCode, outcome: 'lease_lost' });
    this.logger.warn(
      { delivery: claim.id, department: claim.departmentCode, attempts: claim.attempts },
      'delivery lease lost before the outcome was recorded; another worker owns it now',
    );
  }

  // --- Withdrawing the parts another department's refusal voided ---

  /**
   * Tells each department whose part of a refused joint case is still running: through its
   * `cancelCase` where its system offers one, otherwise by marking the delivery `manual`, which
   * supervision lists as a warning until someone handles it. A failed cancel is tried again at
   * the next pass (its claim moves `next_attempt_at`, so instances do not collide); a definitive
   * failure becomes `manual` too.
   */
  private async cancelVoided(): Promise<number> {
    const result = await this.db.execute(sql`
      update deliveries
         set next_attempt_at = now() + ${this.settings.pollIntervalMs}::double precision * interval '1 millisecond'
       where id in (
             select id from deliveries
              where cancel_status = 'pending'
                -- A delivery attempt still in flight is told once its outcome is recorded.
                and (status <> 'pending' or lease_until is null or lease_until < now())
                and next_attempt_at <= now()
              order by next_attempt_at
              limit ${this.settings.batchSize}::integer
              for update skip locked)
      returning id, case_id as "caseId", department_code as "departmentCode", department_reference as "departmentReference", status::text as status`);
    const claims = rowsOf<{
      id: string;
      caseId: string;
      departmentCode: string;
      departmentReference: string | null;
      status: string;
    }>(result);
    await Promise.all(claims.map((claim) => this.cancelOne(claim)));
    return claims.length;
  }

  private async cancelOne(claim: {
    id: string;
    caseId: string;
    departmentCode: string;
    departmentReference: string | null;
    status: string;
  }): Promise<void> {
    if (claim.status === 'pending') {
      // Its attempt ended without an acknowledgement: it is not sent again.
      await this.db
        .update(deliveries)
        .set({ status: 'cancelled', cancelStatus: 'cancelled', cancelledAt: sql`now()` })
        .where(
          and(eq(deliveries.id, claim.id), eq(deliveries.status, 'pending'), eq(deliveries.cancelStatus, 'pending')),
        );
      return;
    }
    const department = this.departments.get(claim.departmentCode);
    const finish = async (cancelStatus: 'cancelled' | 'manual', detail: Record<string, unknown>): Promise<void> => {
      await this.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(deliveries)
          .set({ cancelStatus, ...(cancelStatus === 'cancelled' ? { cancelledAt: sql`now()` } : {}) })
          .where(and(eq(deliveries.id, claim.id), eq(deliveries.cancelStatus, 'pending')))
          .returning({ id: deliveries.id });
        if (updated)
          await tx.insert(caseEvents).values({
            caseId: claim.caseId,
            kind: cancelStatus === 'cancelled' ? 'department_cancelled' : 'cancel_by_hand',
            departmentCode: claim.departmentCode,
            detail,
          });
      });
      this.metrics.deliveries.inc({
        department: claim.departmentCode,
        outcome: cancelStatus === 'cancelled' ? 'cancelled' : 'cancel_manual',
      });
    };
    if (!department?.adapter.cancelCase || claim.departmentReference === null) {
      return finish('manual', {
        reason: 'the department system offers no cancellation: withdraw the case there by hand',
      });
    }
    const [row] = await this.db.select({ caseNumber: cases.caseNumber }).from(cases).where(eq(cases.id, claim.caseId));
    const refusals = await this.db
      .select({ departmentCode: deliveries.departmentCode, message: deliveries.departmentMessage })
      .from(deliveries)
      .where(and(eq(deliveries.caseId, claim.caseId), eq(deliveries.departmentStatus, 'rejected')));
    const reason = `联办件已被${refusals.map((refusal) => `${refusal.departmentCode}${refusal.message ? `（${maskPersonalText(refusal.message)}）` : ''}`).join('、')}退回，请撤销本部门办理。`;
    const departmentReference = claim.departmentReference;
    try {
      const outcome = await invokeDepartment(
        {
          requestId: `${claim.id}.cancel`,
          logger: this.logger,
          signal: signalWithin(Math.min(this.settings.leaseMs, 30_000), this.shutdown.signal),
        },
        department,
        'cancelCase',
        (adapter, context) =>
          adapter.cancelCase!(
            { departmentReference, idempotencyKey: `${claim.id}.cancel`, caseNumber: row?.caseNumber ?? '', reason },
            context,
          ),
      );
      if (outcome.cancelled) return finish('cancelled', {});
      // Its part was already finished: nothing to withdraw automatically.
      return finish('manual', { reason: 'the department had already finished its part: reverse it there by hand' });
    } catch (error) {
      const failure = describeFailure(error);
      if (failure.definitive) return finish('manual', { reason: failure.code });
      this.logger.warn(
        { delivery: claim.id, department: claim.departmentCode, error: failure.summary },
        'cancelling a voided delivery failed; trying again later',
      );
    }
  }

  // --- Status polling ---

  private async pollStatuses(): Promise<number> {
    const codes = this.departments
      .list()
      .filter((department) => department.adapter.queryCaseStatus !== undefined)
      .map((department) => department.code);
    if (codes.length === 0) return 0;
    let asked = 0;
    for (let batch = 0; batch < STATUS_PASS_MAX_BATCHES && !this.stopping; batch += 1) {
      const claims = await this.claimStatusChecks(codes, this.settings.batchSize);
      await Promise.all(claims.map((claim) => this.pollStatus(claim)));
      asked += claims.length;
      if (claims.length < this.settings.batchSize) break;
    }
    return asked;
  }

  /**
   * Claims delivered deliveries due a status query by moving their `last_polled_at` to now in
   * the claiming statement: another worker skips them for a whole interval, whether or not this
   * one's query succeeds.
   */
  private async claimStatusChecks(departmentCodes: string[], limit: number): Promise<StatusCheck[]> {
    const result = await this.db.execute(sql`
      update deliveries
         set last_polled_at = now()
       where id in (
             select id from deliveries
              where status = 'delivered'
                and department_reference is not null
                and (department_status is null or department_status not in ('completed', 'rejected'))
                and department_code in (${sql.join(
                  departmentCodes.map((code) => sql`${code}`),
                  sql`, `,
                )})
                and (last_polled_at is null or last_polled_at <= now() - ${this.settings.statusPollIntervalMs}::double precision * interval '1 millisecond')
              order by last_polled_at nulls first
              limit ${limit}::integer
              for update skip locked)
      returning id, case_id as "caseId", department_code as "departmentCode", department_reference as "departmentReference"`);
    return rowsOf<StatusCheck>(result);
  }

  private async receiveDocument(
    departmentCode: string,
    document: ResultCertificate,
  ): Promise<ReceivedResultCertificate> {
    if (!this.blobStore)
      throw new ApiError('result_certificate_invalid', message('dispatch.no_blob_store'), { problem: 'no blob store' });
    const sharingResource = this.departments.sharingResourceOf(departmentCode, document.metadata.certificateType);
    return receiveResultCertificate(this.blobStore, document, sharingResource, this.sealing);
  }

  private async pollStatus(check: StatusCheck): Promise<void> {
    const department = this.departments.get(check.departmentCode);
    if (!department?.adapter.queryCaseStatus) return;
    const callBudgetMs = Math.min(this.settings.leaseMs, 30_000);
    try {
      const result = await invokeDepartment(
        {
          requestId: `${check.id}.status`,
          logger: this.logger,
          signal: signalWithin(callBudgetMs, this.shutdown.signal),
        },
        department,
        'queryCaseStatus',
        (adapter, context) => {
          if (!adapter.queryCaseStatus)
            throw new ApiError(
              'capability_not_offered',
              message('dispatch.capability_not_offered', {
                department: department.code,
                capability: 'queryCaseStatus',
              }),
            );
          return adapter.queryCaseStatus(check.departmentReference, context);
        },
      );
      const occurredAt = new Date(result.updatedAt);
      const calendar = await this.calendar.current();
      // Checked and its bytes stored before the transaction; a bad document leaves the status unapplied (asked again later).
      const received =
        result.resultCertificate && result.status === 'completed'
          ? await this.receiveDocument(check.departmentCode, result.resultCertificate)
          : null;
      const applied = await this.db.transaction(async (tx) => {
        const [item] = await tx
          .select({ statutoryDays: items.statutoryDays })
          .from(cases)
          .innerJoin(items, eq(items.code, cases.itemCode))
          .where(eq(cases.id, check.caseId));
        if (!item) return null;
        return applyDepartmentStatus(tx, this.protection, calendar, item.statutoryDays, {
          caseId: check.caseId,
          departmentCode: check.departmentCode,
          status: result.status,
          occurredAt: Number.isNaN(occurredAt.getTime()) ? new Date() : occurredAt,
          message: result.message ?? null,
          source: 'poll',
          resultCertificate: received,
          requestId: `${check.id}.status`,
        });
      });
      this.metrics.statusPolls.inc({
        department: check.departmentCode,
        outcome: applied?.changed ? 'changed' : 'unchanged',
      });
      if (applied?.changed)
        this.logger.info(
          {
            delivery: check.id,
            department: check.departmentCode,
            status: result.status,
            caseStatus: applied.caseStatus,
          },
          'department status polled',
        );
    } catch (error) {
      // Asked again after another interval; the status is not lost, only late.
      this.metrics.statusPolls.inc({ department: check.departmentCode, outcome: 'failed' });
      this.logger.warn(
        { delivery: check.id, department: check.departmentCode, error: describeFailure(error).summary },
        'department status query failed',
      );
    }
  }
}

interface StatusCheck {
  id: string;
  caseId: string;
  departmentCode: string;
  departmentReference: string;
}

/**
 * The delivery hands the subject's identity, the form and the materials to the department: a
 * disclosure on behalf of the client that submitted the case, recorded in the same statement as
 * the delivery so the data tracker shows it. One entry for the applicant, and one per party, whose
 * identity (and materials) went with the case.
 */
function disclosuresOf(claim: ClaimedDelivery, submission: Submission) {
  const common = {
    actor_client_id: submission.submitter.clientId,
    actor_kind: submission.submitter.kind,
    // As every audit entry keeps it (gateway/audit/record.ts): identifier-shaped text masked.
    operator_id: maskIdentifiersInNote(submission.submitter.operatorId),
    action: 'case.deliver',
    purpose: 'case_acceptance',
    case_ref: submission.request.caseNumber,
    outcome: 'allowed' as const,
    request_id: `${claim.id}.${claim.attempts}`,
  };
  const occurredAt = new Date().toISOString();
  const delivered = [`department:${claim.departmentCode}`, `delivery:${claim.id}`];
  return [
    {
      ...common,
      entry_id: newAuditEntryId(),
      occurred_at: occurredAt,
      subject_ref: submission.subjectId,
      fields: ['identifier', 'name', 'form', ...delivered],
      material_types: [...new Set(submission.request.materials.map((material) => material.typeCode))],
    },
    ...submission.parties.map((party) => ({
      ...common,
      entry_id: newAuditEntryId(),
      occurred_at: occurredAt,
      subject_ref: party.subjectId,
      fields: ['identifier', 'name', `party:${party.role}`, ...delivered],
      material_types: party.materialTypes,
    })),
  ];
}

/** Inserts the audit entries of the acknowledged deliveries (`acked` rows carrying `audits`, joined to `updated`). */
const DELIVERY_AUDIT_INSERT = sql`
      insert into audit_entries (entry_id, occurred_at, actor_client_id, actor_kind, operator_id, action, subject_ref, fields, material_types, purpose, case_ref, outcome, request_id)
      select e.entry_id, e.occurred_at, e.actor_client_id, e.actor_kind, e.operator_id, e.action, e.subject_ref,
             array(select jsonb_array_elements_text(e.fields)), array(select jsonb_array_elements_text(e.material_types)),
             e.purpose, e.case_ref, e.outcome, e.request_id
        from acked a join updated u on u.id = a.id
       cross join jsonb_to_recordset(a.audits) as e(
             entry_id text, occurred_at timestamptz, actor_client_id text, actor_kind text, operator_id text, action text,
             subject_ref text, fields jsonb, material_types jsonb, purpose text, case_ref text, outcome text, request_id text)`;

/**
 * Records a delivery the department acknowledged, in ONE statement (one round trip, atomic): the
 * delivery marked delivered if this worker still holds it under this attempt, and only then its
 * `delivered` timeline event and the audit entry of what the department received. False when the
 * lease was lost (another worker has the row now; nothing is written).
 */
async function recordDelivered(
  db: Database,
  claim: ClaimedDelivery,
  owner: string,
  receipt: CaseSubmissionReceipt,
  submission: Submission,
): Promise<boolean> {
  const detail = {
    deliveryId: claim.id,
    departmentReference: receipt.departmentReference,
    attempts: claim.attempts,
    duplicate: receipt.duplicate,
    worker: owner,
  };
  const result = await db.execute(sql`
    with acked as (
      select ${claim.id}::text as id, ${JSON.stringify(disclosuresOf(claim, submission))}::jsonb as audits
    ), updated as (
      update deliveries
         set status = 'delivered', department_reference = ${receipt.departmentReference}, delivered_at = now(),
             -- The first status query comes one poll interval after the acknowledgement.
             last_polled_at = now(), lease_owner = null, lease_until = null, last_error = null
       where id = ${claim.id} and status = 'pending' and lease_owner = ${owner} and attempts = ${claim.attempts}
      returning id
    ), event as (
      insert into case_events (case_id, kind, department_code, detail)
      select ${claim.caseId}, 'delivered', ${claim.departmentCode}, ${JSON.stringify(detail)}::jsonb from updated
    ), audit as (${DELIVERY_AUDIT_INSERT}
    )
    select count(*)::int as delivered from updated`);
  return Number(rowsOf<{ delivered: number }>(result)[0]?.delivered ?? 0) > 0;
}

/**
 * `recordDelivered` for several acknowledgements in one statement: each row as one element of a
 * JSON array, the deliveries marked where this worker still holds them under their attempt, and
 * only for those the `delivered` event and the audit entry. Answers the ids recorded.
 */
async function recordDeliveredMany(
  db: Database,
  acks: readonly Pick<PendingAck, 'claim' | 'receipt' | 'submission'>[],
  owner: string,
): Promise<Set<string>> {
  const rows = acks.map(({ claim, receipt, submission }) => ({
    id: claim.id,
    attempts: claim.attempts,
    case_id: claim.caseId,
    department_code: claim.departmentCode,
    department_reference: receipt.departmentReference,
    detail: {
      deliveryId: claim.id,
      departmentReference: receipt.departmentReference,
      attempts: claim.attempts,
      duplicate: receipt.duplicate,
      worker: owner,
    },
    audits: disclosuresOf(claim, submission),
  }));
  const result = await db.execute(sql`
    with acked as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as a(
        id text, attempts int, case_id text, department_code text, department_reference text, detail jsonb, audits jsonb)
    ), updated as (
      update deliveries d
         set status = 'delivered', department_reference = a.department_reference, delivered_at = now(),
             -- The first status query comes one poll interval after the acknowledgement.
             last_polled_at = now(), lease_owner = null, lease_until = null, last_error = null
        from acked a
       where d.id = a.id and d.status = 'pending' and d.lease_owner = ${owner} and d.attempts = a.attempts
      returning d.id
    ), event as (
      insert into case_events (case_id, kind, department_code, detail)
      select a.case_id, 'delivered', a.department_code, a.detail from acked a join updated u on u.id = a.id
    ), audit as (${DELIVERY_AUDIT_INSERT}
    )
    select id from updated`);
  return new Set(rowsOf<{ id: string }>(result).map((row) => row.id));
}

// --- Requeueing a dead letter --------------------------------------------------------------------

export type DeliveryRow = typeof deliveries.$inferSelect;

export interface DeliveryView {
  id: string;
  caseId: string;
  caseNumber: string;
  departmentCode: string;
  status: DeliveryRow['status'];
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  departmentReference: string | null;
  departmentStatus: string | null;
  createdAt: string;
  deliveredAt: string | null;
  deadAt: string | null;
  /** The department's own words with its last status or refusal, verbatim. */
  departmentMessage: string | null;
  /** After another department refused the case: pending, cancelled, manual (withdraw by hand) or handled. */
  cancelStatus: string | null;
}

/**
 * A delivery as an operator reads it. A department's words and an error quoting its answer are
 * masked: identifiers and mobiles, and `names` (the case's applicant and parties), as a caller
 * without `subjects:unmask` reads them in the case view.
 */
export function deliveryView(row: DeliveryRow, caseNumber: string, names: readonly string[] = []): DeliveryView {
  const masked = (text: string | null) => (text === null ? null : maskPersonalText(text, names));
  return {
    id: row.id,
    caseId: row.caseId,
    caseNumber,
    departmentCode: row.departmentCode,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt.toISOString(),
    lastError: masked(row.lastError),
    departmentReference: row.departmentReference,
    departmentStatus: row.departmentStatus,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    deadAt: row.deadAt?.toISOString() ?? null,
    departmentMessage: masked(row.departmentMessage),
    cancelStatus: row.cancelStatus,
  };
}

/**
 * Puts a dead-lettered delivery back in the queue with a fresh set of attempts (after whatever
 * made the department refuse it was fixed). The same delivery id — and so the same idempotency
 * key — is used again. Recorded on the case's timeline and in the audit log.
 */
export async function requeueDeadDelivery(
  db: Database,
  protection: DataProtection,
  input: { principal: Principal; requestId: string; deliveryId: string },
): Promise<DeliveryView> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ delivery: deliveries, caseNumber: cases.caseNumber, caseStatus: cases.status })
      .from(deliveries)
      .innerJoin(cases, eq(cases.id, deliveries.caseId))
      .where(eq(deliveries.id, input.deliveryId))
      .for('update', { of: deliveries });
    if (!found) throw new ApiError('not_found', message('dispatch.no_delivery', { deliveryId: input.deliveryId }));
    // A concluded case (refused by another department, say) is never sent on afterwards (review 21).
    if (isFinalCaseStatus(found.caseStatus))
      throw new ApiError(
        'case_already_final',
        message('dispatch.requeue_case_final', {
          deliveryId: input.deliveryId,
          caseNumber: found.caseNumber,
          status: found.caseStatus,
        }),
      );
    if (found.delivery.status !== 'dead') {
      throw new ApiError(
        'conflict',
        message('dispatch.requeue_not_dead', { deliveryId: input.deliveryId, status: found.delivery.status }),
        { deliveryStatus: found.delivery.status },
      );
    }
    const [requeued] = await tx
      .update(deliveries)
      .set({
        status: 'pending',
        attempts: 0,
        nextAttemptAt: sql`now()`,
        deadAt: null,
        leaseOwner: null,
        leaseUntil: null,
      })
      .where(eq(deliveries.id, input.deliveryId))
      .returning();
    if (!requeued) throw new ApiError('not_found', message('dispatch.no_delivery', { deliveryId: input.deliveryId }));
    await tx.insert(caseEvents).values({
      caseId: requeued.caseId,
      kind: 'delivery_requeued',
      departmentCode: requeued.departmentCode,
      detail: {
        deliveryId: requeued.id,
        previousAttempts: found.delivery.attempts,
        lastError: found.delivery.lastError,
        byClientId: input.principal.clientId,
      },
    });
    await recordAudit(tx, {
      actor: input.principal,
      action: 'delivery.requeue',
      fields: [`delivery:${requeued.id}`, `department:${requeued.departmentCode}`],
      caseRef: found.caseNumber,
      outcome: 'allowed',
      requestId: input.requestId,
    });
    return deliveryView(requeued, found.caseNumber, await namesInCase(tx, protection, requeued.caseId));
  });
}

/**
 * Records that someone withdrew a voided part of a refused joint case from the department's
 * system by hand (the warning `cancel_by_hand` ends). Only a delivery waiting for that (`manual`).
 */
export async function markCancellationHandled(
  db: Database,
  protection: DataProtection,
  input: { principal: Principal; requestId: string; deliveryId: string; note: string },
): Promise<DeliveryView> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ delivery: deliveries, caseNumber: cases.caseNumber })
      .from(deliveries)
      .innerJoin(cases, eq(cases.id, deliveries.caseId))
      .where(eq(deliveries.id, input.deliveryId))
      .for('update', { of: deliveries });
    if (!found) throw new ApiError('not_found', message('dispatch.no_delivery', { deliveryId: input.deliveryId }));
    if (found.delivery.cancelStatus !== 'manual') {
      throw new ApiError(
        'conflict',
        message('dispatch.no_manual_withdrawal', {
          deliveryId: input.deliveryId,
          cancelStatus: found.delivery.cancelStatus ?? 'none',
        }),
        { cancelStatus: found.delivery.cancelStatus },
      );
    }
    const [handled] = await tx
      .update(deliveries)
      .set({ cancelStatus: 'handled', cancelledAt: sql`now()` })
      .where(eq(deliveries.id, input.deliveryId))
      .returning();
    if (!handled) throw new ApiError('not_found', message('dispatch.no_delivery', { deliveryId: input.deliveryId }));
    await tx.insert(caseEvents).values({
      caseId: handled.caseId,
      kind: 'cancel_handled',
      departmentCode: handled.departmentCode,
      detail: { deliveryId: handled.id, note: input.note, byClientId: input.principal.clientId },
    });
    await recordAudit(tx, {
      actor: input.principal,
      action: 'delivery.cancel_handled',
      fields: [`delivery:${handled.id}`, `department:${handled.departmentCode}`],
      caseRef: found.caseNumber,
      outcome: 'allowed',
      requestId: input.requestId,
    });
    return deliveryView(handled, found.caseNumber, await namesInCase(tx, protection, handled.caseId));
  });
}
