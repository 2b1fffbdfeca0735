/**
 * Notification adapters: how the gateway tells an applicant about their case through a messaging
 * platform (today an SMS gateway). The same shape as department adapters (adapter.ts): a factory
 * over typed, documented options, handed an environment with the SDK's resilient client (pool,
 * timeouts, retries for idempotent calls, breaker, concurrency cap, URL policy, metrics), a logger
 * and the clock. Adapters never touch the database and throw `DepartmentError` for every failure,
 * so the gateway classifies them the same way as department failures.
 *
 * The gateway never sends message text: it sends the code of a template the platform has approved
 * (短信模板) and the template's parameters, as Chinese SMS platforms require.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { DepartmentClient } from './adapter.js';
import type { CallContext, HealthResult } from './types.js';

export interface TextMessage {
  /**
   * Unique per notification and stable across retries (the platform's `outId`): a platform that
   * deduplicates by it answers a resend with the first message's id instead of sending it twice.
   */
  idempotencyKey: string;
  /** A mainland mobile number, 11 digits (validated by the gateway). */
  phoneNumber: string;
  /** The code under which the platform approved the template (e.g. `SMS_270115001`). */
  templateCode: string;
  /** The template's variables, all strings. */
  templateParams: Record<string, string>;
}

export interface TextMessageReceipt {
  /** The platform's id of the accepted message (阿里云 `BizId`); receipts are asked for by it. */
  messageId: string;
}

/** What the handset's network said about one message (回执). */
export interface DeliveryReport {
  messageId: string;
  /** `pending`: no receipt yet. */
  state: 'pending' | 'delivered' | 'failed';
  /** The network's status code: `DELIVRD` when delivered, otherwise e.g. `UNDELIV`, `MK:0001`. */
  code: string | null;
  /** When the network reported it (ISO 8601); null while pending. */
  reportedAt: string | null;
}

export interface DeliveryReportQuery {
  messageId: string;
  phoneNumber: string;
  /** When the message was accepted: platforms keep receipts by day. */
  sentAt: Date;
}

export interface NotificationAdapter {
  /** Adapter kind, e.g. `sms-gateway`. */
  readonly kind: string;
  readonly channel: 'sms';
  /**
   * The platform's codes of refusals that clear by themselves (its flow control, an account out
   * of credit): the gateway tries such a message again later instead of dead-lettering it.
   */
  readonly retryLaterCodes?: ReadonlySet<string>;
  /**
   * Sends one message. Throws `DepartmentError`: `business_error` with the platform's code in
   * `details.departmentCode` for a refusal (invalid number, template not approved, flow control),
   * the transport kinds for everything else.
   */
  send(message: TextMessage, context: CallContext): Promise<TextMessageReceipt>;
  /** Receipts of accepted messages; messages the platform does not know are left out of the answer. */
  queryDeliveryReports?(queries: readonly DeliveryReportQuery[], context: CallContext): Promise<DeliveryReport[]>;
  health?(context: CallContext): Promise<HealthResult>;
  /** Releases connections. */
  close(): Promise<void>;
}

export interface NotificationEnvironment {
  /** The label of this channel in metrics and logs (e.g. `SMS`). */
  channel: string;
  client: DepartmentClient;
  logger: Logger;
  /** The clock (signatures carry time stamps; tests move it). */
  now: () => Date;
}

export interface NotificationAdapterFactory<Options = unknown> {
  kind: string;
  description: string;
  /** Adapter-specific options (credentials, signature, paths), each documented with `.describe()`. */
  optionsSchema: z.ZodType<Options>;
  create(options: Options, environment: NotificationEnvironment): NotificationAdapter;
}

export function defineNotificationAdapter<Options>(
  factory: NotificationAdapterFactory<Options>,
): NotificationAdapterFactory<Options> {
  return factory;
}

/** A factory whose options are checked at `create` time, so factories of different option types share one list. */
export type RegisteredNotificationAdapterFactory = NotificationAdapterFactory<unknown>;

export function registerNotificationAdapter<Options>(
  factory: NotificationAdapterFactory<Options>,
): RegisteredNotificationAdapterFactory {
  return {
    kind: factory.kind,
    description: factory.description,
    optionsSchema: factory.optionsSchema,
    create: (options, environment) => factory.create(factory.optionsSchema.parse(options), environment),
  };
}
