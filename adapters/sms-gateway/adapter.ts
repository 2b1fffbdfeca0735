/**
 * Adapter for an SMS platform (短信平台) speaking the API in protocol.ts: signed JSON requests,
 * answers as HTTP 200 with a `code` (`OK` or a refusal), `outId` deduplication, receipts by query.
 *
 * Every call goes the same way: sign in `prepare` (each attempt gets a fresh time stamp and nonce;
 * the platform refuses a reused nonce), decode the JSON answer, check its shape, read its `code`,
 * then check the answer is about the message asked for (`outId` echoed back). Sends are marked
 * idempotent only when the platform deduplicates by `outId` (`deduplicatesByOutId`), so the SDK
 * client retries them after a 5xx or a lost answer without a second SMS; receipt queries are reads.
 */
import { z } from 'zod';
import type { DepartmentResponse } from '../sdk/adapter.js';
import { DepartmentError, type DepartmentErrorKind } from '../sdk/errors.js';
import {
  defineNotificationAdapter,
  type DeliveryReport,
  type DeliveryReportQuery,
  type NotificationAdapter,
  type NotificationEnvironment,
  type TextMessage,
  type TextMessageReceipt,
} from '../sdk/notification.js';
import type { CallContext, HealthResult } from '../sdk/types.js';
import {
  MAINLAND_MOBILE,
  MAX_RECEIPT_QUERY,
  SMS_PATHS,
  SMS_RETRY_LATER_CODES,
  instantOfBeijing,
  receiptsAnswerSchema,
  sendAnswerSchema,
  signatureHeaders,
  type SendSmsWire,
  type SmsOperation,
} from './protocol.js';

export const SMS_GATEWAY_ADAPTER_KIND = 'sms-gateway';

export const smsGatewayOptionsSchema = z
  .object({
    appKey: z.string().min(1).max(64).describe('App key (x-sms-app-key) the SMS platform issued to the gateway.'),
    appSecret: z
      .string()
      .min(16)
      .describe(
        'App secret for the HMAC-SHA256 request signature (at least 16 characters); give it as {"$env": "…"}, never in a file.',
      ),
    signName: z
      .string()
      .regex(
        /^[^【】[\]\s]{2,20}$/,
        'a sign name is 2–20 characters without brackets, e.g. 某某市政务服务中心 (the platform adds 【】)',
      )
      .describe('The approved sign name (签名) shown as 【…】 before every message, e.g. 某某市政务服务中心.'),
    deduplicatesByOutId: z
      .boolean()
      .default(true)
      .describe(
        'Whether the platform answers a resend with the same outId with the first message instead of sending it again. Only then are sends retried after a 5xx or a lost answer (a platform without it could deliver a message twice).',
      ),
  })
  .strict();
export type SmsGatewayOptions = z.infer<typeof smsGatewayOptionsSchema>;

const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Statuses whose body carries the platform's code: the adapter reads them itself. */
const ANSWERED_STATUSES: ReadonlySet<number> = new Set([200, 400, 403]);

function headerValue(response: DepartmentResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createSmsGatewayAdapter(
  options: SmsGatewayOptions,
  environment: NotificationEnvironment,
): NotificationAdapter {
  const { client } = environment;
  const credentials = { appKey: options.appKey, appSecret: options.appSecret };
  // The client appends request paths to the base URL's path; the platform signs the full path.
  const pathPrefix = new URL(client.baseUrl).pathname.replace(/\/+$/, '');

  function fail(
    kind: DepartmentErrorKind,
    message: string,
    operation: SmsOperation,
    extra: Omit<DepartmentError['details'], 'department' | 'operation'> = {},
  ): never {
    throw new DepartmentError(kind, `sms-gateway: ${message}`, {
      department: environment.channel,
      operation,
      ...extra,
    });
  }

  /** One signed call; the decoded answer (not yet checked). */
  async function call(
    operation: SmsOperation,
    path: string,
    parameters: Record<string, string>,
    idempotent: boolean,
    context: CallContext,
  ): Promise<{ status: number; decoded: unknown }> {
    const response = await client.request({
      operation,
      method: 'POST',
      path,
      headers: { accept: 'application/json', 'content-type': 'application/json;charset=UTF-8' },
      body: Buffer.from(JSON.stringify(parameters), 'utf8'),
      idempotent,
      context,
      // Signed per attempt: a retry with the first attempt's nonce would be refused as a replay.
      prepare: () => signatureHeaders(credentials, 'POST', pathPrefix + path, parameters, environment.now().getTime()),
      acceptStatus: (status) => ANSWERED_STATUSES.has(status),
    });
    if (!JSON_MEDIA_TYPE.test(headerValue(response, 'content-type') ?? ''))
      fail('malformed', 'the answer is not JSON (media type)', operation, { status: response.status });
    try {
      return { status: response.status, decoded: JSON.parse(utf8.decode(response.body)) };
    } catch {
      // No `cause`: V8's JSON errors quote the text around the fault, which may hold a phone number.
      return fail('malformed', 'the answer is not valid UTF-8 JSON', operation, { status: response.status });
    }
  }

  /** Reads the platform's verdict: returns on `OK`, throws the matching error otherwise. */
  function requireOk(operation: SmsOperation, status: number, code: string, message: string): void {
    const details = { status, departmentCode: code };
    if (status === 403 || status === 400)
      fail(
        'rejected',
        `the platform refused the request (${code}${code.startsWith('InvalidTimeStamp') ? '; check the clock' : ''})`,
        operation,
        details,
      );
    if (code === 'OK') return;
    if (code.startsWith('isp.')) fail('unavailable', `the platform failed (${code})`, operation, details);
    // The platform's own words (非法手机号, 触发号码天级流控…): fixed texts, never an echo of the message.
    fail('business_error', `the platform refused the message (${code})`, operation, {
      ...details,
      departmentMessage: message.slice(0, 200),
    });
  }

  async function send(message: TextMessage, context: CallContext): Promise<TextMessageReceipt> {
    const operation = 'sendSms';
    if (!MAINLAND_MOBILE.test(message.phoneNumber))
      fail('business_error', 'not a mainland mobile number', operation, {
        departmentCode: 'isv.MOBILE_NUMBER_ILLEGAL',
      });
    const wire: SendSmsWire = {
      phoneNumbers: message.phoneNumber,
      signName: options.signName,
      templateCode: message.templateCode,
      templateParam: JSON.stringify(message.templateParams),
      outId: message.idempotencyKey,
    };
    const { status, decoded } = await call(
      operation,
      SMS_PATHS.send,
      { ...wire },
      options.deduplicatesByOutId,
      context,
    );
    const parsed = sendAnswerSchema.safeParse(decoded);
    if (!parsed.success)
      fail('contract_violation', 'the answer is not a send answer', operation, {
        status,
        violations: parsed.error.issues.map((issue) => ({ path: `/${issue.path.join('/')}`, keyword: issue.code })),
      });
    const answer = parsed.data;
    requireOk(operation, status, answer.code, answer.message);
    if (answer.bizId === undefined)
      fail('contract_violation', 'an accepted message has no bizId', operation, {
        status,
        violations: [{ path: '/bizId', keyword: 'required' }],
      });
    if (answer.outId !== undefined && answer.outId !== message.idempotencyKey)
      fail('wrong_subject', 'the answer is about another message', operation, { status });
    return { messageId: answer.bizId };
  }

  async function queryDeliveryReports(
    queries: readonly DeliveryReportQuery[],
    context: CallContext,
  ): Promise<DeliveryReport[]> {
    const operation = 'querySendDetails';
    const reports: DeliveryReport[] = [];
    for (let start = 0; start < queries.length; start += MAX_RECEIPT_QUERY) {
      const batch = queries.slice(start, start + MAX_RECEIPT_QUERY);
      const { status, decoded } = await call(
        operation,
        SMS_PATHS.receipts,
        { bizIds: batch.map((query) => query.messageId).join(',') },
        true,
        context,
      );
      const parsed = receiptsAnswerSchema.safeParse(decoded);
      if (!parsed.success)
        fail('contract_violation', 'the answer is not a receipts answer', operation, {
          status,
          violations: parsed.error.issues.map((issue) => ({ path: `/${issue.path.join('/')}`, keyword: issue.code })),
        });
      requireOk(operation, status, parsed.data.code, parsed.data.message);
      const asked = new Map(batch.map((query) => [query.messageId, query]));
      for (const receipt of parsed.data.receipts ?? []) {
        const query = asked.get(receipt.bizId);
        // A receipt of a message we did not ask about, or to another number, is someone else's.
        if (!query || receipt.phoneNumber !== query.phoneNumber)
          fail('wrong_subject', 'a receipt is about another message', operation, { status });
        const reportedAt = receipt.receiveDate === null ? null : instantOfBeijing(receipt.receiveDate);
        reports.push({
          messageId: receipt.bizId,
          state: receipt.sendStatus === 3 ? 'delivered' : receipt.sendStatus === 2 ? 'failed' : 'pending',
          code: receipt.errCode === '' ? null : receipt.errCode,
          reportedAt: receipt.sendStatus === 1 ? null : (reportedAt ?? environment.now()).toISOString(),
        });
      }
    }
    return reports;
  }

  async function health(context: CallContext): Promise<HealthResult> {
    const response = await client.request({
      operation: 'health',
      method: 'GET',
      path: SMS_PATHS.health,
      headers: { accept: 'application/json' },
      idempotent: true,
      context,
    });
    let code: unknown;
    try {
      code = (JSON.parse(utf8.decode(response.body)) as { code?: unknown }).code;
    } catch {
      fail('malformed', 'the health answer is not JSON', 'health', { status: response.status });
    }
    return code === 'OK'
      ? { ok: true }
      : { ok: false, detail: `platform answered ${typeof code === 'string' ? code : 'without a code'}` };
  }

  return {
    kind: SMS_GATEWAY_ADAPTER_KIND,
    channel: 'sms',
    retryLaterCodes: SMS_RETRY_LATER_CODES,
    send,
    queryDeliveryReports,
    health,
    close: () => client.close(),
  };
}

export const smsGatewayAdapter = defineNotificationAdapter<SmsGatewayOptions>({
  kind: SMS_GATEWAY_ADAPTER_KIND,
  description:
    'SMS platform (短信平台): templated messages with a sign name, HMAC-SHA256 signed requests, receipts by query.',
  optionsSchema: smsGatewayOptionsSchema,
  create: createSmsGatewayAdapter,
});
