/**
 * Results sent by courier (邮寄). When a case whose result goes by `express` completes, the
 * settling transaction marks the result due (`next_attempt_at`); this worker then
 *
 * 1. **makes the waybill** (下单): claims due results with a lease (`for update skip locked`, so
 *    several instances never make one twice at once), orders the waybill under an order id stable
 *    across attempts (`OWR-<case id>`: the platform answers a repeat with the waybill it already
 *    made, so a retry after a lost answer is no second parcel), and records the carrier and the
 *    tracking number with a `result_shipped` event (which texts the applicant) in one transaction
 *    that still holds the lease. A failure is retried with full-jitter backoff
 *    (cases/dispatch.ts `backoffDelayMs`); a refusal (an address the carrier cannot serve, bad
 *    credentials) or the last attempt leaves it to a clerk: `last_error` on the case, an internal
 *    `result_shipping_failed` event;
 * 2. **follows the parcel** (路由查询): every `routes.pollIntervalMs` it asks for the routes of
 *    results shipped and not delivered, keeps the newest node, and at 签收 marks the result
 *    `delivered` with a `result_delivered` event.
 *
 * Off without COURIER_JSON (express results then stay `preparing`, and the window sees why).
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { DepartmentClient } from '../../adapters/sdk/adapter.js';
import { createDepartmentClient } from '../../adapters/sdk/client.js';
import type { CourierAdapter, RegisteredCourierAdapterFactory } from '../../adapters/sdk/courier.js';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import type { DepartmentMetrics } from '../../adapters/sdk/metrics.js';
import type { UrlPolicy } from '../../adapters/sdk/url-policy.js';
import { backoffDelayMs } from '../cases/dispatch.js';
import { ConfigError } from '../config.js';
import { type Database, rowsOf } from '../db/client.js';
import { caseEvents, caseResults } from '../db/schema.js';
import { openSealedJson } from '../db/sealed-json.js';
import type { CourierSettings } from './courier-config.js';

export interface CourierChannel {
  code: string;
  settings: CourierSettings;
  adapter: CourierAdapter;
}

export interface CourierServiceOptions {
  settings: CourierSettings | null;
  urlPolicy: UrlPolicy;
  factories: readonly RegisteredCourierAdapterFactory[];
  db: Database;
  departmentMetrics: DepartmentMetrics;
  logger: Logger;
  now?: () => Date;
  random?: () => number;
}

/** The order id a case's waybill is made under: the same on every attempt. */
export function waybillOrderId(caseId: string): string {
  return `OWR-${caseId}`;
}

/** Kinds of adapter failure that retrying cannot change. */
const DEFINITIVE_KINDS: ReadonlySet<string> = new Set(['business_error', 'rejected']);
const LAST_ERROR_MAX_CHARS = 300;
const ROUTE_BATCH = 50;

interface ClaimedResult {
  caseId: string;
  attempts: number;
  address: {
    province: string;
    city: string;
    district: string;
    detail: string;
    recipientName: string;
    recipientMobile: string;
  } | null;
}

function createCourierChannel(settings: CourierSettings, options: CourierServiceOptions): CourierChannel {
  const where = 'COURIER_JSON';
  const factory = options.factories.find((candidate) => candidate.kind === settings.adapter);
  if (!factory)
    throw new ConfigError([
      `${where}.adapter: unknown courier adapter "${settings.adapter}" (known: ${options.factories.map((known) => known.kind).join(', ')})`,
    ]);
  const parsed = factory.optionsSchema.safeParse(settings.options);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${where}.options.${issue.path.join('.')}: ${issue.message}`),
    );
  let client: DepartmentClient;
  try {
    client = createDepartmentClient({
      ...settings.tuning,
      department: settings.code,
      baseUrl: settings.baseUrl,
      urlPolicy: options.urlPolicy,
      metrics: options.departmentMetrics,
      logger: options.logger,
    });
  } catch (error) {
    if (error instanceof DepartmentError)
      throw new ConfigError([`${where}.baseUrl ${settings.baseUrl}: ${error.message}`]);
    throw error;
  }
  const adapter = factory.create(parsed.data, {
    channel: settings.code,
    client,
    logger: options.logger.child({ channel: settings.code }),
    now: options.now ?? (() => new Date()),
  });
  return { code: settings.code, settings, adapter };
}

export class CourierWorker {
  private readonly owner = `courier_${randomBytes(6).toString('hex')}`;
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private interruptSleep: (() => void) | undefined;

  constructor(
    private readonly db: Database,
    readonly channel: CourierChannel,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    private readonly random: () => number = Math.random,
  ) {}

  private get settings(): CourierSettings {
    return this.channel.settings;
  }

  start(): void {
    if (this.loopDone || this.stopping) return;
    this.logger.info({ owner: this.owner, channel: this.channel.code }, 'courier worker started');
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interruptSleep?.();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.makeWaybillsOnce();
        await this.trackOnce();
      } catch (error) {
        this.logger.error({ err: error }, 'courier worker pass failed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.interruptSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Makes the waybills that are due. Returns how many were made. */
  async makeWaybillsOnce(limit = 10): Promise<number> {
    const claims = await this.claimDue(limit);
    let made = 0;
    for (const claim of claims) if (await this.makeWaybill(claim)) made += 1;
    return made;
  }

  private async claimDue(limit: number): Promise<ClaimedResult[]> {
    const result = await this.db.execute(sql`
      update case_results
         set lease_owner = ${this.owner},
             lease_until = now() + ${this.settings.delivery.leaseMs}::double precision * interval '1 millisecond',
             attempts = attempts + 1
       where case_id in (
             select case_id from case_results
              where method = 'express' and status = 'preparing'
                and next_attempt_at <= now()
                and (lease_until is null or lease_until < now())
              order by next_attempt_at
              limit ${limit}::integer
              for update skip locked)
      returning case_id as "caseId", attempts, address`);
    // Read past drizzle's column decoder: the address opened here when sealed (db/sealed-json.ts).
    return rowsOf<ClaimedResult>(result).map((claim) => ({
      ...claim,
      address: openSealedJson(
        'case_results.address',
        typeof claim.address === 'string' ? JSON.parse(claim.address) : claim.address,
      ) as ClaimedResult['address'],
    }));
  }

  /** The claim still held: this worker, this attempt. */
  private held(claim: ClaimedResult) {
    return and(
      eq(caseResults.caseId, claim.caseId),
      eq(caseResults.status, 'preparing'),
      eq(caseResults.leaseOwner, this.owner),
      eq(caseResults.attempts, claim.attempts),
    );
  }

  private async makeWaybill(claim: ClaimedResult): Promise<boolean> {
    const { sender, contents } = this.settings;
    const address = claim.address;
    try {
      if (!address)
        throw new DepartmentError('business_error', 'courier: the case has no address', {
          department: this.channel.code,
          operation: 'createOrder',
        });
      const waybill = await this.channel.adapter.createWaybill(
        {
          orderId: waybillOrderId(claim.caseId),
          sender,
          recipient: {
            province: address.province,
            city: address.city,
            district: address.district,
            detail: address.detail,
            name: address.recipientName,
            mobile: address.recipientMobile,
          },
          contents,
        },
        { requestId: `courier-${claim.caseId}-${claim.attempts}` },
      );
      const at = this.now();
      return await this.db.transaction(async (tx) => {
        const updated = await tx
          .update(caseResults)
          .set({
            status: 'shipped',
            carrier: this.channel.adapter.carrierName,
            trackingNumber: waybill.trackingNumber,
            nextAttemptAt: null,
            leaseOwner: null,
            leaseUntil: null,
            lastError: null,
            updatedAt: at,
          })
          .where(this.held(claim))
          .returning({ caseId: caseResults.caseId });
        // Lost the lease (another worker took over after it ran out): that worker records it.
        if (updated.length === 0) return false;
        await tx.insert(caseEvents).values({
          caseId: claim.caseId,
          kind: 'result_shipped',
          detail: {
            method: 'express',
            carrier: this.channel.adapter.carrierName,
            trackingNumber: waybill.trackingNumber,
          },
          occurredAt: at,
        });
        return true;
      });
    } catch (error) {
      await this.recordFailure(claim, error);
      return false;
    }
  }

  private async recordFailure(claim: ClaimedResult, error: unknown): Promise<void> {
    const departmentError = error instanceof DepartmentError ? error : null;
    const summary = (
      departmentError
        ? `${departmentError.kind}${departmentError.details.departmentCode ? ` ${departmentError.details.departmentCode}` : ''}: ${departmentError.message}`
        : String(error)
    ).slice(0, LAST_ERROR_MAX_CHARS);
    const definitive = departmentError !== null && DEFINITIVE_KINDS.has(departmentError.kind);
    const giveUp = definitive || claim.attempts >= this.settings.delivery.maxAttempts;
    const at = this.now();
    // Due times are the database's (claims compare with its now()), as for deliveries and notifications.
    const nextAttemptAt = giveUp
      ? null
      : sql`now() + ${backoffDelayMs(claim.attempts, this.settings.delivery, this.random)}::double precision * interval '1 millisecond'`;
    await this.db.transaction(async (tx) => {
      const updated = await tx
        .update(caseResults)
        .set({ nextAttemptAt, leaseOwner: null, leaseUntil: null, lastError: summary, updatedAt: at })
        .where(this.held(claim))
        .returning({ caseId: caseResults.caseId });
      if (updated.length > 0 && giveUp) {
        await tx.insert(caseEvents).values({
          caseId: claim.caseId,
          kind: 'result_shipping_failed',
          detail: { method: 'express', attempts: claim.attempts, error: summary },
          occurredAt: at,
        });
      }
    });
    this.logger.warn(
      { caseId: claim.caseId, attempts: claim.attempts, giveUp, error: summary },
      giveUp ? 'courier waybill failed for good: left to a clerk' : 'courier waybill failed: retried later',
    );
  }

  /** Asks for the routes of parcels on their way. Returns how many were delivered in this pass. */
  async trackOnce(): Promise<number> {
    const at = this.now();
    const staleBefore = new Date(at.getTime() - this.settings.routes.pollIntervalMs);
    const shipped = await this.db
      .select({ caseId: caseResults.caseId, trackingNumber: caseResults.trackingNumber })
      .from(caseResults)
      .where(
        and(
          eq(caseResults.status, 'shipped'),
          or(isNull(caseResults.routesCheckedAt), lt(caseResults.routesCheckedAt, staleBefore)),
        ),
      )
      .orderBy(asc(caseResults.routesCheckedAt))
      .limit(ROUTE_BATCH);
    const byNumber = new Map(
      shipped.flatMap((row) => (row.trackingNumber === null ? [] : [[row.trackingNumber, row.caseId] as const])),
    );
    if (byNumber.size === 0) return 0;
    const reports = await this.channel.adapter.queryRoutes([...byNumber.keys()], {
      requestId: `courier-routes-${at.getTime()}`,
    });
    let delivered = 0;
    await this.db.transaction(async (tx) => {
      await tx
        .update(caseResults)
        .set({ routesCheckedAt: at })
        .where(inArray(caseResults.caseId, [...byNumber.values()]));
      for (const report of reports) {
        const caseId = byNumber.get(report.trackingNumber);
        const latest = report.events.at(-1);
        if (caseId === undefined || latest === undefined) continue;
        const isDelivered = report.events.some((event) => event.state === 'delivered');
        const updated = await tx
          .update(caseResults)
          .set({
            lastRoute: latest,
            ...(isDelivered ? { status: 'delivered', deliveredAt: new Date(latest.at) } : {}),
            updatedAt: at,
          })
          .where(and(eq(caseResults.caseId, caseId), eq(caseResults.status, 'shipped')))
          .returning({ caseId: caseResults.caseId });
        if (isDelivered && updated.length > 0) {
          delivered += 1;
          await tx.insert(caseEvents).values({
            caseId,
            kind: 'result_delivered',
            detail: { method: 'express', trackingNumber: report.trackingNumber },
            occurredAt: new Date(latest.at),
          });
        }
      }
    });
    return delivered;
  }
}

/** The courier as the gateway holds it: channel and worker, both absent without COURIER_JSON. */
export class CourierService {
  private constructor(readonly worker: CourierWorker | null) {}

  static create(options: CourierServiceOptions): CourierService {
    if (options.settings === null) {
      options.logger.info('courier is off: COURIER_JSON is not set, so results chosen for express wait as preparing');
      return new CourierService(null);
    }
    const channel = createCourierChannel(options.settings, options);
    options.logger.info(
      { channel: channel.code, adapter: options.settings.adapter, carrier: channel.adapter.carrierName },
      'courier is on: express results get a waybill when their case completes',
    );
    return new CourierService(new CourierWorker(options.db, channel, options.logger, options.now, options.random));
  }

  start(): void {
    this.worker?.start();
  }

  async close(): Promise<void> {
    await this.worker?.stop();
    await this.worker?.channel.adapter.close();
  }
}
