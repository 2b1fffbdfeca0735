/**
 * The notification worker: case events in, SMS out, durably. Every instance may run one; they
 * share the work through the database.
 *
 * 1. **Reading events.** Notifications come from the case timeline (`case_events`), which every
 *    part of the gateway already writes in the transaction that changes the case, so no other
 *    code has to remember to notify and nothing is told that did not commit. The worker reads it
 *    with a cursor (`notification_cursor`) rather than scanning for events not yet notified: the
 *    timeline grows with every case, a cursor makes each pass cost only what is new. Event ids
 *    come from a sequence, so an event can commit below ids already read (its transaction took
 *    its id earlier and ran longer): the cursor only goes up to a horizon — the highest id at an
 *    earlier reading — once every transaction running at that reading has ended
 *    (`pg_snapshot_xmin` of now past the `pg_snapshot_xmax` then). One instance reads at a time
 *    (the cursor row is locked, others skip it), and turns each event of a notified kind, of a
 *    case with a mobile number, into one `notifications` row (unique per event) in the same
 *    transaction as it moves the cursor. The cursor starts at the newest event when notifications
 *    are first switched on: cases from before are never messaged.
 * 2. **Sending.** Due rows are claimed under a lease (`FOR UPDATE SKIP LOCKED`), as deliveries
 *    are. A row with newer news of the same case is superseded instead (only the latest state is
 *    worth a message when several are waiting). Each send takes a place in its phone number's
 *    rate-limit window (an advisory lock per number makes the count exact across instances); a
 *    number whose window is full waits, unsent, until a place frees up. The message is sent
 *    through the channel's adapter with the row id as `outId`, so a resend after a lost answer is
 *    recognised by the platform; the outcome is recorded only while the claim is still held.
 *    Accepted: `sent`, the platform's id, a `notified` timeline event (who, which template, when;
 *    never the text) and an audit entry of the number's disclosure to the platform, in one
 *    transaction. Failed: retried with full-jitter backoff (at least `platformLimitBackoffMs`
 *    after the platform's own flow control), dead-lettered at once after a definitive refusal
 *    (an invalid number, a template not approved) or after the last attempt, with a
 *    `notification_failed` timeline event.
 * 3. **Receipts.** Sent messages are asked about (at most once per `receipts.pollIntervalMs`,
 *    for `giveUpAfterHours`): delivered or failed, with the network's code and time; a failed one
 *    goes on the timeline too, so the window knows the applicant did not get it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { recordAudit } from '../audit/record.js';
import type { ClientKind } from '../auth/scopes.js';
import { type Database, type Queryable, rowsOf } from '../db/client.js';
import { caseEvents, caseResults, cases, centres, clients, deliveries, items, notifications } from '../db/schema.js';
import { errorForLog } from '../platform/errors.js';
import type { NotificationChannel } from './channel.js';
import { type EventFacts, eventsQuotingDepartments, planMessage } from './plan.js';
import { queueSupervisionWarnings } from './supervision-warnings.js';
import { type NotifiedEventKind, notifiedEventKinds } from './templates.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { maskRepresentative } from '../centres/representatives.js';
import { signalWithin } from '../platform/deadline.js';

// --- Metrics -------------------------------------------------------------------------------------

export interface NotificationMetrics {
  /** Messages by template and outcome: queued, sent, retried, rate_limited, superseded, dead, delivered, undelivered. */
  messages: Counter<'template' | 'outcome'>;
}

const metricsByRegistry = new WeakMap<Registry, NotificationMetrics>();

export function notificationMetrics(registry: Registry): NotificationMetrics {
  const known = metricsByRegistry.get(registry);
  if (known) return known;
  const created: NotificationMetrics = {
    messages: new Counter({
      name: 'onewindow_notifications_total',
      help:
        'Applicant notifications by template and outcome (queued, sent, retried, rate_limited, superseded, dead, ' +
        'delivered, undelivered)',
      labelNames: ['template', 'outcome'],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, created);
  return created;
}

// --- Failures ------------------------------------------------------------------------------------

/**
 * Refusals retrying cannot change: the platform refused the message itself (an invalid number, a
 * template or sign name not approved, bad parameters) or our request (credentials, signature), or
 * may not be called. The platform's flow control and an empty account clear by themselves.
 */
const DEFINITIVE_KINDS: ReadonlySet<string> = new Set(['business_error', 'rejected', 'not_allowed']);

interface SendFailure {
  /** The error kind, or `internal_error`. */
  code: string;
  /** The platform's code (`isv.MOBILE_NUMBER_ILLEGAL`…), when it gave one. */
  platformCode: string | null;
  /** For `last_error` and logs: kinds, codes and the adapter's message, which never carries the number. */
  summary: string;
  definitive: boolean;
  /** The platform refused the message, so nothing reached the phone: its rate-limit place is given back. */
  notSent: boolean;
  /** The least wait before the next attempt. */
  minimumWaitMs: number;
}

/**
 * A platform's error text with the message's own values starred (a platform that quotes the
 * message it refused would put the pick-up code in `last_error`, which windows and departments
 * read, and in the logs). Values under four characters are left: they would star the text at random.
 */
export function withoutMessageValues(summary: string, params: Readonly<Record<string, string>>): string {
  let scrubbed = summary;
  const values = Object.values(params).filter((value) => value.length >= 4);
  for (const value of values.sort((a, b) => b.length - a.length))
    scrubbed = scrubbed.replaceAll(value, '*'.repeat([...value].length));
  return scrubbed;
}

function describeFailure(
  error: unknown,
  platformLimitBackoffMs: number,
  retryLaterCodes: ReadonlySet<string> = new Set(),
): SendFailure {
  if (error instanceof DepartmentError) {
    const platformCode = error.details.departmentCode ?? null;
    const retryLater = platformCode !== null && retryLaterCodes.has(platformCode);
    return {
      code: error.kind,
      platformCode,
      summary: `${error.kind}${platformCode ? ` (${platformCode})` : ''}: ${error.message}`.slice(0, 500),
      definitive: DEFINITIVE_KINDS.has(error.kind) && !retryLater,
      notSent:
        error.kind === 'business_error' ||
        error.kind === 'rejected' ||
        error.kind === 'not_allowed' ||
        error.kind === 'circuit_open' ||
        error.kind === 'overloaded',
      minimumWaitMs: retryLater ? platformLimitBackoffMs : 0,
    };
  }
  // A database error or a bug: its message may quote values, so only its class is kept.
  const kind = error instanceof Error ? error.name : typeof error;
  return {
    code: 'internal_error',
    platformCode: null,
    summary: `internal_error: ${kind}`,
    definitive: false,
    notSent: false,
    minimumWaitMs: 0,
  };
}

export function notificationBackoffMs(
  attempt: number,
  base: number,
  max: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.floor(random() * Math.min(max, base * 2 ** exponent));
}

// --- The worker ----------------------------------------------------------------------------------

export interface NotificationWorkerOptions {
  db: Database;
  channel: NotificationChannel;
  /** The registry the notification metrics are registered in (the gateway's metrics registry). */
  metrics: Registry;
  logger: Logger;
  /** Lease owner name; unique per worker. Default: host, process id and a random suffix. */
  owner?: string;
  /** Jitter source, for tests. */
  random?: () => number;
  /** Supervision warnings to the departments' chief representatives (supervision-warnings.ts); absent: none. */
  supervision?: SupervisionWarningSettings;
  /**
   * The names each case holds (its applicant's and parties', opened): a department's words quoted in
   * an SMS have them masked, since the text shows on a lock screen (review 10).
   */
  caseNames: (tx: Queryable, caseIds: readonly string[]) => Promise<Map<string, string[]>>;
}

export interface SupervisionWarningSettings {
  /** The working-day calendar, as loaded now. */
  calendar: () => Promise<WorkingCalendar>;
  /** SUPERVISION_WARNING_SHARE. */
  warningShare: number;
  /** Today in China Standard Time (injected: tests fix the day). */
  today: () => string;
  /** How often the loop looks for new warnings (they change with the day, not by the second). Default 10 minutes. */
  intervalMs?: number;
}

interface ClaimedNotification {
  id: string;
  caseId: string;
  eventId: number;
  eventKind: string;
  recipientKind: 'applicant' | 'representative';
  warning: { department: string; level: 'approaching' | 'overdue'; name: string } | null;
  mobile: string;
  template: string;
  templateCode: string;
  params: Record<string, string>;
  attempts: number;
}

/** Which cursor row the workers share. */
const CURSOR = 'case_events';
/** Advisory lock class of a phone number's rate-limit window (the second key is the number's hash). */
const RATE_LIMIT_LOCK_CLASS = 74_612;
/** Actions and purpose of the audit entries. */
const NOTIFY_ACTION = 'case.notify';
const NOTIFY_PURPOSE = 'applicant_notification';
/** The gateway itself sends supervision warnings: no client asked for them. */
const WARNING_ACTOR = 'gateway:supervision-warnings';
const WARN_ACTION = 'case.warn_representative';
const WARN_PURPOSE = 'supervision_warning';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newNotificationId(): string {
  return `ntf_${randomBytes(12).toString('base64url')}`;
}

export class NotificationWorker {
  readonly owner: string;
  private readonly db: Database;
  private readonly channel: NotificationChannel;
  private readonly metrics: NotificationMetrics;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly shutdown = new AbortController();
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private wakeRequested = false;
  private interruptSleep: (() => void) | undefined;
  private readonly passes = new Set<Promise<unknown>>();
  private failingSince: number | undefined;
  private readonly supervision: SupervisionWarningSettings | undefined;
  private readonly caseNames: NotificationWorkerOptions['caseNames'];
  private warningsLookedAt = Number.NEGATIVE_INFINITY;

  constructor(options: NotificationWorkerOptions) {
    this.db = options.db;
    this.channel = options.channel;
    this.metrics = notificationMetrics(options.metrics);
    this.logger = options.logger.child({ component: 'notifications' });
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.random = options.random ?? Math.random;
    this.supervision = options.supervision;
    this.caseNames = options.caseNames;
  }

  private get settings() {
    return this.channel.settings;
  }

  get running(): boolean {
    return this.loopDone !== undefined && !this.stopping;
  }

  start(): void {
    if (this.loopDone || this.stopping) return;
    this.logger.info({ owner: this.owner, channel: this.channel.code }, 'notification worker started');
    this.loopDone = this.loop();
  }

  /** Looks for new events and due messages now instead of at the next interval. */
  wake(): void {
    this.wakeRequested = true;
    this.interruptSleep?.();
  }

  /** Stops, letting sends in flight finish and be recorded; after `graceMs` they are aborted (and retried later). */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.wake();
    const timer = setTimeout(() => this.shutdown.abort(new Error('the notification worker is stopping')), graceMs);
    try {
      await Promise.allSettled([this.loopDone, ...this.passes]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One whole pass: read new events, send what is due, ask for receipts. */
  async runOnce(): Promise<{ queued: number; warnings: number; sent: number; receipts: number }> {
    const queued = await this.collectOnce();
    const warnings = await this.queueWarningsOnce();
    const sent = await this.sendOnce();
    const receipts = await this.pollReceiptsOnce();
    return { queued, warnings, sent, receipts };
  }

  /** Queues the supervision warnings due today that were not queued before. Returns how many it queued. */
  queueWarningsOnce(): Promise<number> {
    return this.track(this.queueWarnings());
  }

  /** Reads new case events into messages. Returns how many messages it queued. */
  collectOnce(): Promise<number> {
    return this.track(this.collect());
  }

  /** Sends one batch of due messages. Returns how many it claimed. */
  sendOnce(): Promise<number> {
    return this.track(this.sendDue());
  }

  /** Asks for the receipts of one batch of sent messages. Returns how many it asked about. */
  pollReceiptsOnce(): Promise<number> {
    return this.track(this.pollReceipts());
  }

  private track<T>(pass: Promise<T>): Promise<T> {
    this.passes.add(pass);
    void pass.finally(() => this.passes.delete(pass)).catch(() => undefined);
    return pass;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.wakeRequested = false;
      let busy = false;
      try {
        const queued = await this.collect();
        if (this.supervision && Date.now() - this.warningsLookedAt >= (this.supervision.intervalMs ?? 600_000)) {
          this.warningsLookedAt = Date.now();
          await this.queueWarnings();
        }
        const claimed = this.stopping ? 0 : await this.sendDue();
        if (!this.stopping) await this.pollReceipts();
        busy = queued >= this.settings.delivery.batchSize || claimed >= this.settings.delivery.batchSize;
        this.recovered();
      } catch (error) {
        this.failed(error);
      }
      if (this.stopping) break;
      if (busy || this.wakeRequested) continue;
      await this.sleep(this.settings.delivery.pollIntervalMs);
    }
    this.logger.info({ owner: this.owner }, 'notification worker stopped');
  }

  private failed(error: unknown): void {
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.logger.warn({ err: errorForLog(error) }, 'notification worker pass failed; retrying every poll interval');
    } else {
      this.logger.debug({ err: errorForLog(error) }, 'notification worker pass failed again');
    }
  }

  private recovered(): void {
    if (this.failingSince === undefined) return;
    this.logger.info({ failingForMs: Date.now() - this.failingSince }, 'notification worker passes succeed again');
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

  // --- Reading events ---

  private async collect(): Promise<number> {
    const batch = this.settings.delivery.batchSize;
    const queued = await this.db.transaction(async (tx) => {
      // Created at the newest event the first time: history is never messaged.
      await tx.execute(sql`
        insert into notification_cursor (name, done_event_id, horizon_event_id, horizon_xmax)
        select ${CURSOR}, coalesce(max(id), 0), coalesce(max(id), 0), pg_snapshot_xmax(pg_current_snapshot()) from case_events
        on conflict (name) do nothing`);
      const [cursor] = rowsOf<{ done: string | number; horizon: string | number; settled: boolean }>(
        await tx.execute(sql`
          select done_event_id as done, horizon_event_id as horizon, pg_snapshot_xmin(pg_current_snapshot()) >= horizon_xmax as settled
            from notification_cursor where name = ${CURSOR}
             for update skip locked`),
      );
      // Another instance is reading right now.
      if (!cursor) return 0;
      let done = Number(cursor.done);
      const horizon = Number(cursor.horizon);
      let count = 0;
      if (cursor.settled && done < horizon) {
        const events = await this.readEvents(tx, done, horizon, batch);
        count = await this.queue(tx, events);
        done = events.length < batch ? horizon : events[events.length - 1]!.id;
      }
      if (done >= horizon) {
        await tx.execute(sql`
          update notification_cursor
             set done_event_id = ${done}, updated_at = now(),
                 (horizon_event_id, horizon_xmax) = (select coalesce(max(id), 0), pg_snapshot_xmax(pg_current_snapshot()) from case_events)
           where name = ${CURSOR}`);
      } else {
        await tx.execute(
          sql`update notification_cursor set done_event_id = ${done}, updated_at = now() where name = ${CURSOR}`,
        );
      }
      return count;
    });
    if (queued > 0) this.logger.debug({ queued }, 'notifications queued');
    return queued;
  }

  /** Events of the notified kinds, of cases with a mobile number, in (after, upTo], oldest first. */
  private async readEvents(tx: Queryable, after: number, upTo: number, limit: number) {
    const rows = await tx
      .select({
        id: caseEvents.id,
        caseId: caseEvents.caseId,
        kind: caseEvents.kind,
        detail: caseEvents.detail,
        mobile: cases.contactMobile,
        caseNumber: cases.caseNumber,
        dueOn: cases.dueOn,
        itemCode: cases.itemCode,
        centreCode: cases.centreCode,
      })
      .from(caseEvents)
      .innerJoin(cases, eq(cases.id, caseEvents.caseId))
      .where(
        and(
          sql`${caseEvents.id} > ${after} and ${caseEvents.id} <= ${upTo} and ${cases.contactMobile} is not null`,
          inArray(caseEvents.kind, [...notifiedEventKinds]),
        ),
      )
      .orderBy(caseEvents.id)
      .limit(limit);
    return rows.map((row) => ({ ...row, id: Number(row.id) }));
  }

  /** One message per event (the event id is unique, so a second reader adds nothing). */
  private async queue(tx: Queryable, events: Awaited<ReturnType<NotificationWorker['readEvents']>>): Promise<number> {
    if (events.length === 0) return 0;
    const caseIds = [...new Set(events.map((event) => event.caseId))];
    const itemCodes = [...new Set(events.map((event) => event.itemCode))];
    const centreCodes = [...new Set(events.flatMap((event) => (event.centreCode === null ? [] : [event.centreCode])))];
    const [itemRows, centreRows, deliveryRows, resultRows, namesByCase] = await Promise.all([
      tx
        .select({ code: items.code, name: items.name, nameZh: items.nameZh })
        .from(items)
        .where(inArray(items.code, itemCodes)),
      centreCodes.length === 0
        ? Promise.resolve([])
        : tx
            .select({ code: centres.code, name: centres.name, address: centres.address })
            .from(centres)
            .where(inArray(centres.code, centreCodes)),
      tx
        .select({
          caseId: deliveries.caseId,
          status: deliveries.status,
          departmentStatus: deliveries.departmentStatus,
          departmentMessage: deliveries.departmentMessage,
          departmentUpdatedAt: deliveries.departmentUpdatedAt,
        })
        .from(deliveries)
        .where(inArray(deliveries.caseId, caseIds)),
      tx
        .select({
          caseId: caseResults.caseId,
          method: caseResults.method,
          status: caseResults.status,
          pickupCode: caseResults.pickupCode,
          carrier: caseResults.carrier,
          trackingNumber: caseResults.trackingNumber,
        })
        .from(caseResults)
        .where(inArray(caseResults.caseId, caseIds)),
      // Names only for messages that quote a department's words: the rest never show them.
      this.caseNames(tx, [
        ...new Set(
          events.flatMap((event) =>
            eventsQuotingDepartments.has(event.kind as NotifiedEventKind) ? [event.caseId] : [],
          ),
        ),
      ]),
    ]);
    const itemByCode = new Map(itemRows.map((item) => [item.code, item]));
    const centreByCode = new Map(centreRows.map((centre) => [centre.code, centre]));
    const language = this.settings.language;
    const rows: (typeof notifications.$inferInsert)[] = [];
    for (const event of events) {
      const item = itemByCode.get(event.itemCode);
      if (!item || event.mobile === null) continue;
      const facts: EventFacts = {
        kind: event.kind as NotifiedEventKind,
        detail: event.detail,
        caseNumber: event.caseNumber,
        dueOn: event.dueOn,
        item,
        centre: event.centreCode === null ? null : (centreByCode.get(event.centreCode) ?? null),
        deliveries: deliveryRows.filter((delivery) => delivery.caseId === event.caseId),
        result: resultRows.find((result) => result.caseId === event.caseId) ?? null,
        names: namesByCase.get(event.caseId) ?? [],
      };
      const planned = planMessage(facts, language);
      if (!planned) continue;
      rows.push({
        id: newNotificationId(),
        caseId: event.caseId,
        eventId: event.id,
        eventKind: event.kind,
        mobile: event.mobile,
        template: planned.template,
        templateCode: this.settings.templateCodes[planned.template],
        language,
        params: planned.params,
      });
    }
    if (rows.length === 0) return 0;
    const inserted = await tx
      .insert(notifications)
      .values(rows)
      .onConflictDoNothing({ target: notifications.eventId })
      .returning({ template: notifications.template });
    for (const row of inserted) this.metrics.messages.inc({ template: row.template, outcome: 'queued' });
    return inserted.length;
  }

  // --- Supervision warnings ---

  private async queueWarnings(): Promise<number> {
    const supervision = this.supervision;
    if (!supervision) return 0;
    const { queued } = await queueSupervisionWarnings(this.db, await supervision.calendar(), {
      today: supervision.today(),
      warningShare: supervision.warningShare,
      language: this.settings.language,
      templateCodes: this.settings.templateCodes,
      newId: newNotificationId,
    });
    for (const row of queued) this.metrics.messages.inc({ template: row.template, outcome: 'queued' });
    if (queued.length > 0) this.logger.debug({ queued: queued.length }, 'supervision warnings queued');
    return queued.length;
  }

  // --- Sending ---

  private async sendDue(): Promise<number> {
    await this.supersede();
    const claims = await this.claimDue(this.settings.delivery.batchSize);
    await Promise.all(claims.map((claim) => this.send(claim)));
    return claims.length;
  }

  /** Older waiting messages of a case with newer news are not sent: the newest says where the case stands. */
  private async supersede(): Promise<void> {
    const result = await this.db.execute(sql`
      update notifications n
         set status = 'superseded', lease_owner = null, lease_until = null, slot_at = null
       where n.status = 'pending' and n.recipient_kind = 'applicant'
         and (n.lease_until is null or n.lease_until < now())
         and exists (select 1 from notifications m where m.case_id = n.case_id and m.recipient_kind = 'applicant' and m.event_id > n.event_id)
      returning n.id, n.template`);
    for (const row of rowsOf<{ id: string; template: string }>(result)) {
      this.metrics.messages.inc({ template: row.template, outcome: 'superseded' });
      this.logger.info(
        { notification: row.id, template: row.template },
        'notification superseded by newer news of its case',
      );
    }
  }

  private async claimDue(limit: number): Promise<ClaimedNotification[]> {
    const result = await this.db.execute(sql`
      update notifications
         set lease_owner = ${this.owner},
             lease_until = now() + ${this.settings.delivery.leaseMs}::double precision * interval '1 millisecond',
             attempts = attempts + 1
       where id in (
             select id from notifications
              where status = 'pending'
                and next_attempt_at <= now()
                and (lease_until is null or lease_until < now())
              order by next_attempt_at
              limit ${limit}::integer
              for update skip locked)
      returning id, case_id as "caseId", event_id as "eventId", event_kind as "eventKind", recipient_kind as "recipientKind", warning, mobile, template, template_code as "templateCode", params, attempts`);
    return rowsOf<ClaimedNotification>(result).map((claim) => ({ ...claim, eventId: Number(claim.eventId) }));
  }

  /** The claim still held: this worker, this attempt. */
  private held(claim: ClaimedNotification) {
    return and(
      eq(notifications.id, claim.id),
      eq(notifications.status, 'pending'),
      eq(notifications.leaseOwner, this.owner),
      eq(notifications.attempts, claim.attempts),
    );
  }

  /**
   * Takes a place in the number's rate-limit window, or defers the message (its attempt not
   * counted) until the oldest place in the window frees up. Exact across instances: the count and
   * the reservation run under an advisory lock on the number.
   */
  private async reservePlace(claim: ClaimedNotification): Promise<'reserved' | 'deferred' | 'lost'> {
    const { max, windowMs } = this.settings.rateLimit;
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${RATE_LIMIT_LOCK_CLASS}::integer, hashtext(${claim.mobile}))`);
      const [window] = rowsOf<{ used: number; freesAt: Date | string | null }>(
        await tx.execute(sql`
          select count(*)::int as used, min(slot_at) + ${windowMs}::double precision * interval '1 millisecond' as "freesAt"
            from notifications
           where mobile = ${claim.mobile} and id <> ${claim.id}
             and slot_at > now() - ${windowMs}::double precision * interval '1 millisecond'`),
      );
      if ((window?.used ?? 0) < max) {
        // False when the claim was lost meanwhile: whoever holds it now sends it.
        const reserved = await tx
          .update(notifications)
          .set({ slotAt: sql`now()` })
          .where(this.held(claim))
          .returning({ id: notifications.id });
        return reserved.length > 0 ? 'reserved' : 'lost';
      }
      await tx
        .update(notifications)
        .set({
          attempts: claim.attempts - 1,
          nextAttemptAt: window?.freesAt
            ? new Date(window.freesAt)
            : sql`now() + ${windowMs}::double precision * interval '1 millisecond'`,
          leaseOwner: null,
          leaseUntil: null,
          lastError: `rate_limited: ${max} messages per ${Math.round(windowMs / 60_000)} minutes to this number`,
        })
        .where(this.held(claim));
      return 'deferred';
    });
  }

  private async send(claim: ClaimedNotification): Promise<void> {
    try {
      const place = await this.reservePlace(claim);
      if (place !== 'reserved') {
        if (place === 'deferred') {
          this.metrics.messages.inc({ template: claim.template, outcome: 'rate_limited' });
          this.logger.info(
            { notification: claim.id, template: claim.template },
            'notification deferred: its number reached the rate limit',
          );
        }
        return;
      }
    } catch (error) {
      // The lease runs out and the message is claimed again.
      this.logger.warn({ notification: claim.id, err: errorForLog(error) }, 'reserving a rate-limit place failed');
      return;
    }
    let messageId: string;
    try {
      const receipt = await this.channel.adapter.send(
        {
          idempotencyKey: claim.id,
          phoneNumber: claim.mobile,
          templateCode: claim.templateCode,
          templateParams: claim.params,
        },
        {
          requestId: `${claim.id}.${claim.attempts}`,
          signal: signalWithin(this.settings.delivery.leaseMs, this.shutdown.signal),
        },
      );
      messageId = receipt.messageId;
    } catch (error) {
      const failure = describeFailure(
        error,
        this.settings.delivery.platformLimitBackoffMs,
        this.channel.adapter.retryLaterCodes,
      );
      await this.recordFailure(claim, { ...failure, summary: withoutMessageValues(failure.summary, claim.params) });
      return;
    }
    await this.withRetries(`recording notification ${claim.id}`, () => this.recordSent(claim, messageId));
  }

  /** Writes an outcome, retrying while the database restarts (within the lease). */
  private async withRetries<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await write();
      } catch (error) {
        if (attempt >= 6 || this.shutdown.signal.aborted) {
          this.logger.error(
            { err: errorForLog(error) },
            `${what} failed; the message is sent again after its lease (the platform recognises it by its outId)`,
          );
          return undefined;
        }
        await delay(100 * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Accepted by the platform: the row `sent`, a `notified` event on the case's timeline and the
   * audit entry of the number handed to the platform, together and only while the claim is held.
   */
  private async recordSent(claim: ClaimedNotification, messageId: string): Promise<void> {
    const recorded = await this.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(notifications)
        .set({
          status: 'sent',
          bizId: messageId,
          sentAt: sql`now()`,
          receiptCheckedAt: sql`now()`,
          leaseOwner: null,
          leaseUntil: null,
          lastError: null,
        })
        .where(this.held(claim))
        .returning({ id: notifications.id });
      if (!updated) return false;
      const [owner] = await tx
        .select({
          caseNumber: cases.caseNumber,
          subjectId: cases.subjectId,
          clientId: cases.clientId,
          operatorId: cases.operatorId,
          kind: clients.kind,
        })
        .from(cases)
        .leftJoin(clients, eq(clients.id, cases.clientId))
        .where(eq(cases.id, claim.caseId));
      if (claim.recipientKind === 'representative' && claim.warning) {
        await this.recordWarningSent(tx, claim, claim.warning, owner?.caseNumber ?? null, messageId);
        return true;
      }
      await tx.insert(caseEvents).values({
        caseId: claim.caseId,
        kind: 'notified',
        detail: {
          recipient: 'applicant',
          channel: 'sms',
          notificationId: claim.id,
          template: claim.template,
          templateCode: claim.templateCode,
          about: claim.eventKind,
          messageId,
        },
      });
      // The number went to the platform on behalf of the window that took it down with the case.
      await recordAudit(tx, {
        actor: { clientId: owner?.clientId ?? 'unknown', kind: (owner?.kind ?? 'window') as ClientKind },
        operatorId: owner?.operatorId ?? null,
        action: NOTIFY_ACTION,
        subjectRef: owner?.subjectId ?? null,
        fields: [
          'contact.mobile',
          `template:${claim.template}`,
          `channel:${this.channel.code}`,
          `notification:${claim.id}`,
        ],
        purpose: NOTIFY_PURPOSE,
        caseRef: owner?.caseNumber ?? null,
        outcome: 'allowed',
        requestId: `${claim.id}.${claim.attempts}`,
      });
      return true;
    });
    if (!recorded) {
      this.logger.warn(
        { notification: claim.id },
        'notification sent, but its lease was lost; the message is recorded by whoever holds it now',
      );
      return;
    }
    this.metrics.messages.inc({ template: claim.template, outcome: 'sent' });
    this.logger.info(
      { notification: claim.id, case: claim.caseId, template: claim.template, attempts: claim.attempts },
      'notification sent',
    );
  }

  /**
   * A supervision warning sent: on the case's timeline (the window's case view and the supervision
   * answer read it; the applicant's progress look-up does not) with the representative masked, and
   * the audit entry of the representative's number handed to the platform, by the gateway itself.
   */
  private async recordWarningSent(
    tx: Queryable,
    claim: ClaimedNotification,
    warning: NonNullable<ClaimedNotification['warning']>,
    caseNumber: string | null,
    messageId: string,
  ): Promise<void> {
    await tx.insert(caseEvents).values({
      caseId: claim.caseId,
      kind: 'supervision_warning_sent',
      departmentCode: warning.department,
      detail: {
        recipient: 'representative',
        channel: 'sms',
        department: warning.department,
        level: warning.level,
        representative: maskRepresentative({ name: warning.name, mobile: claim.mobile }),
        notificationId: claim.id,
        template: claim.template,
        templateCode: claim.templateCode,
        messageId,
      },
    });
    await recordAudit(tx, {
      actor: { clientId: WARNING_ACTOR, kind: 'admin' },
      action: WARN_ACTION,
      fields: [
        'representative.mobile',
        `department:${warning.department}`,
        `template:${claim.template}`,
        `channel:${this.channel.code}`,
        `notification:${claim.id}`,
      ],
      purpose: WARN_PURPOSE,
      caseRef: caseNumber,
      outcome: 'allowed',
      requestId: `${claim.id}.${claim.attempts}`,
    });
  }

  private async recordFailure(claim: ClaimedNotification, failure: SendFailure): Promise<void> {
    const dead = failure.definitive || claim.attempts >= this.settings.delivery.maxAttempts;
    const { backoffBaseMs, backoffMaxMs } = this.settings.delivery;
    const waitMs = Math.max(
      failure.minimumWaitMs,
      notificationBackoffMs(claim.attempts, backoffBaseMs, backoffMaxMs, this.random),
    );
    await this.withRetries(`recording the failure of notification ${claim.id}`, () =>
      this.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(notifications)
          .set({
            ...(dead
              ? { status: 'dead' as const, deadAt: sql`now()` }
              : { nextAttemptAt: sql`now() + ${waitMs}::double precision * interval '1 millisecond'` }),
            ...(failure.notSent ? { slotAt: null } : {}),
            lastError: failure.summary,
            leaseOwner: null,
            leaseUntil: null,
          })
          .where(this.held(claim))
          .returning({ id: notifications.id });
        if (updated && dead) {
          await tx.insert(caseEvents).values({
            caseId: claim.caseId,
            kind: 'notification_failed',
            ...(claim.warning ? { departmentCode: claim.warning.department } : {}),
            detail: {
              recipient: claim.recipientKind,
              channel: 'sms',
              notificationId: claim.id,
              template: claim.template,
              reason: failure.code,
              ...(failure.platformCode ? { platformCode: failure.platformCode } : {}),
              attempts: claim.attempts,
            },
          });
        }
      }),
    );
    this.metrics.messages.inc({ template: claim.template, outcome: dead ? 'dead' : 'retried' });
    const log = { notification: claim.id, template: claim.template, attempts: claim.attempts, error: failure.summary };
    if (dead) this.logger.warn(log, 'notification dead-lettered');
    else this.logger.info({ ...log, retryInMs: waitMs }, 'notification failed; retrying later');
  }

  // --- Receipts ---

  private async pollReceipts(): Promise<number> {
    const adapter = this.channel.adapter;
    if (!adapter.queryDeliveryReports) return 0;
    const { pollIntervalMs, giveUpAfterMs } = this.settings.receipts;
    const result = await this.db.execute(sql`
      update notifications
         set receipt_checked_at = now()
       where id in (
             select id from notifications
              where status = 'sent'
                and sent_at > now() - ${giveUpAfterMs}::double precision * interval '1 millisecond'
                and (receipt_checked_at is null or receipt_checked_at <= now() - ${pollIntervalMs}::double precision * interval '1 millisecond')
              order by receipt_checked_at nulls first
              limit ${this.settings.delivery.batchSize}::integer
              for update skip locked)
      returning id, case_id as "caseId", biz_id as "messageId", mobile, sent_at as "sentAt", template, recipient_kind as "recipientKind"`);
    const checks = rowsOf<{
      id: string;
      caseId: string;
      messageId: string;
      mobile: string;
      sentAt: Date | string;
      template: string;
      recipientKind: string;
    }>(result);
    if (checks.length === 0) return 0;
    let reports;
    try {
      reports = await adapter.queryDeliveryReports(
        checks.map((check) => ({
          messageId: check.messageId,
          phoneNumber: check.mobile,
          sentAt: new Date(check.sentAt),
        })),
        {
          requestId: `receipts.${checks[0]!.id}`,
          signal: signalWithin(this.settings.delivery.leaseMs, this.shutdown.signal),
        },
      );
    } catch (error) {
      // Asked again after another interval: the receipt is late, not lost.
      this.logger.warn({ error: describeFailure(error, 0).summary }, 'receipt query failed');
      return checks.length;
    }
    const byMessage = new Map(checks.map((check) => [check.messageId, check]));
    for (const report of reports) {
      const check = byMessage.get(report.messageId);
      if (!check || report.state === 'pending') continue;
      await this.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(notifications)
          .set({
            status: report.state,
            receiptCode: report.code,
            receiptAt: report.reportedAt ? new Date(report.reportedAt) : sql`now()`,
          })
          .where(and(eq(notifications.id, check.id), eq(notifications.status, 'sent')))
          .returning({ id: notifications.id });
        if (updated && report.state === 'failed') {
          await tx.insert(caseEvents).values({
            caseId: check.caseId,
            kind: 'notification_failed',
            detail: {
              recipient: check.recipientKind,
              channel: 'sms',
              notificationId: check.id,
              template: check.template,
              reason: 'undelivered',
              ...(report.code ? { receiptCode: report.code } : {}),
            },
          });
        }
      });
      this.metrics.messages.inc({
        template: check.template,
        outcome: report.state === 'delivered' ? 'delivered' : 'undelivered',
      });
    }
    return checks.length;
  }
}
