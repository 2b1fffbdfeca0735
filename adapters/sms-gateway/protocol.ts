/**
 * The SMS platform's HTTP API, as typical Chinese SMS platforms (阿里云短信 SendSms /
 * QuerySendDetails, 腾讯云短信) shape it, shared by the adapter and the simulator:
 *
 *     POST /sms/send       {phoneNumbers, signName, templateCode, templateParam, outId}
 *          → 200 {code: "OK", message, requestId, bizId, outId}   accepted
 *          → 200 {code: "isv.…", message, requestId}               refused (invalid number, template not approved, flow control…)
 *          → 200 {code: "isp.SYSTEM_ERROR", …}                     the platform failed: try again
 *          → 400 {code: "MissingParameter" | "InvalidParameter", …}
 *          → 403 {code: "SignatureDoesNotMatch" | "InvalidAppKey" | "InvalidTimeStamp.Expired" | "SignatureNonceUsed", …}
 *     POST /sms/receipts   {bizIds: "id1,id2"}   (at most 50)
 *          → 200 {code: "OK", requestId, receipts: [{bizId, outId, phoneNumber, sendStatus: 1|2|3, errCode, sendDate, receiveDate}]}
 *     GET  /sms/health     → 200 {code: "OK"}   (unsigned)
 *
 * Bodies are JSON with string values (`templateParam` is itself JSON text, as on 阿里云). Every call
 * but health is signed in headers: `x-sms-app-key`, `x-sms-timestamp` (ms), `x-sms-nonce` (≥ 16
 * characters, never reused), `x-sms-signature-method: HMAC-SHA256` and `x-sms-signature`, the
 * lower-case hex HMAC-SHA256 under the app secret of
 *
 *     POST&%2Fsms%2Fsend&percentEncode(k1=v1&k2=v2&…)
 *
 * where the pairs are every body parameter plus `appKey`, `timestamp`, `nonce` and
 * `signatureMethod`, sorted by name, names and values percent-encoded (RFC 3986). A resend with
 * the same `outId` within 24 hours is answered with the first message's `bizId` and not sent again.
 *
 * Receipts (回执): `sendStatus` 1 = waiting for the receipt, 2 = failed, 3 = delivered; `errCode`
 * is `DELIVRD` on success, the network's code otherwise. A platform configured with a callback URL
 * also pushes them: `POST <callback>` with a JSON array of
 * `{phone_number, send_time, report_time, success, err_code, err_msg, biz_id, out_id}`, signed with
 * `x-sms-timestamp`, `x-sms-nonce` and `x-sms-signature` = HMAC-SHA256(secret, `timestamp\nnonce\nbody`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const SMS_PATHS = {
  send: '/sms/send',
  receipts: '/sms/receipts',
  health: '/sms/health',
} as const;

export type SmsOperation = 'sendSms' | 'querySendDetails' | 'health';

export const SIGNATURE_METHOD = 'HMAC-SHA256';
export const NONCE_MIN_LENGTH = 16;
/** Receipts asked for in one query at most. */
export const MAX_RECEIPT_QUERY = 50;

export const SMS_HEADERS = {
  appKey: 'x-sms-app-key',
  timestamp: 'x-sms-timestamp',
  nonce: 'x-sms-nonce',
  signatureMethod: 'x-sms-signature-method',
  signature: 'x-sms-signature',
} as const;

/** The platform's answer codes and what they say. */
export const smsMessages = {
  OK: 'OK',
  'isv.MOBILE_NUMBER_ILLEGAL': '非法手机号',
  'isv.SMS_TEMPLATE_ILLEGAL': '该账号下找不到对应模板或模板未审核通过',
  'isv.SMS_SIGNATURE_ILLEGAL': '该账号下找不到对应签名或签名未审核通过',
  'isv.TEMPLATE_MISSING_PARAMETERS': '参数异常：模板变量中存在未赋值变量',
  'isv.TEMPLATE_PARAMS_ILLEGAL': '模板变量中存在非法字符或超长',
  'isv.BUSINESS_LIMIT_CONTROL': '触发号码天级或小时级流控',
  'isv.AMOUNT_NOT_ENOUGH': '账户余额不足',
  'isp.SYSTEM_ERROR': '系统错误，请重试',
  MissingParameter: '缺少必填参数',
  InvalidParameter: '参数格式不正确',
  InvalidAppKey: 'AppKey 不存在',
  SignatureDoesNotMatch: '签名不匹配',
  'InvalidTimeStamp.Expired': '时间戳已过期',
  SignatureNonceUsed: '随机数已被使用',
} as const;

export type SmsCode = keyof typeof smsMessages;

/** Refusals of a message (HTTP 200): the platform works, this message is not sent. */
export const smsRefusalCodes = [
  'isv.MOBILE_NUMBER_ILLEGAL',
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.TEMPLATE_MISSING_PARAMETERS',
  'isv.TEMPLATE_PARAMS_ILLEGAL',
  'isv.BUSINESS_LIMIT_CONTROL',
  'isv.AMOUNT_NOT_ENOUGH',
] as const satisfies readonly SmsCode[];

export type SmsRefusalCode = (typeof smsRefusalCodes)[number];

/** Refusals that clear by themselves (flow control, an account topped up): worth trying again later. */
export const SMS_RETRY_LATER_CODES: ReadonlySet<string> = new Set<SmsRefusalCode>([
  'isv.BUSINESS_LIMIT_CONTROL',
  'isv.AMOUNT_NOT_ENOUGH',
]);

/** Mainland mobile numbers: 11 digits, 13x–19x. */
export const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;

/** Percent-encoding as RFC 3986 wants it (`encodeURIComponent` leaves `!'()*` alone). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `k1=v1&k2=v2…`, sorted by name (code unit order), names and values percent-encoded. */
export function canonicalParameters(parameters: Readonly<Record<string, string>>): string {
  return Object.keys(parameters)
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(parameters[name] ?? '')}`)
    .join('&');
}

export function stringToSign(method: string, path: string, parameters: Readonly<Record<string, string>>): string {
  return `${method.toUpperCase()}&${percentEncode(path)}&${percentEncode(canonicalParameters(parameters))}`;
}

export function computeSignature(
  appSecret: string,
  method: string,
  path: string,
  parameters: Readonly<Record<string, string>>,
): string {
  return createHmac('sha256', appSecret)
    .update(stringToSign(method, path, parameters), 'utf8')
    .digest('hex');
}

/** Compares a presented hex signature with the expected one in constant time. */
export function signatureMatches(expectedHex: string, presented: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(presented)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(presented, 'hex'));
}

export function freshNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The signature headers of one request (a fresh time stamp and nonce each time: call it per attempt). */
export function signatureHeaders(
  credentials: { appKey: string; appSecret: string },
  method: string,
  path: string,
  body: Readonly<Record<string, string>>,
  nowMs: number,
): Record<string, string> {
  const timestamp = String(nowMs);
  const nonce = freshNonce();
  const signed = { ...body, appKey: credentials.appKey, timestamp, nonce, signatureMethod: SIGNATURE_METHOD };
  return {
    [SMS_HEADERS.appKey]: credentials.appKey,
    [SMS_HEADERS.timestamp]: timestamp,
    [SMS_HEADERS.nonce]: nonce,
    [SMS_HEADERS.signatureMethod]: SIGNATURE_METHOD,
    [SMS_HEADERS.signature]: computeSignature(credentials.appSecret, method, path, signed),
  };
}

/** The signature of a pushed receipt batch. */
export function pushSignature(appSecret: string, timestamp: string, nonce: string, body: string): string {
  return createHmac('sha256', appSecret).update(`${timestamp}\n${nonce}\n${body}`, 'utf8').digest('hex');
}

// --- Wire types --------------------------------------------------------------------------------

export interface SendSmsWire {
  phoneNumbers: string;
  signName: string;
  templateCode: string;
  templateParam: string;
  outId?: string;
}

/** What the platform answers; the adapter checks every answer against these before reading it. */
export const sendAnswerSchema = z.object({
  code: z.string().min(1).max(100),
  message: z.string().max(500),
  requestId: z.string().min(1).max(100),
  bizId: z
    .string()
    .regex(/^[0-9A-Za-z^_-]{1,64}$/)
    .optional(),
  outId: z.string().max(64).optional(),
});
export type SendAnswerWire = z.infer<typeof sendAnswerSchema>;

export const receiptWireSchema = z.object({
  bizId: z.string().min(1).max(64),
  outId: z.string().max(64).nullable(),
  phoneNumber: z.string().regex(/^\d{11}$/),
  sendStatus: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  errCode: z.string().max(64),
  /** `yyyy-MM-dd HH:mm:ss`, Beijing time. */
  sendDate: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
  receiveDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
    .nullable(),
});
export type ReceiptWire = z.infer<typeof receiptWireSchema>;

export const receiptsAnswerSchema = z.object({
  code: z.string().min(1).max(100),
  message: z.string().max(500),
  requestId: z.string().min(1).max(100),
  receipts: z.array(receiptWireSchema).max(MAX_RECEIPT_QUERY).optional(),
});

/** One pushed receipt (阿里云 SmsReport). */
export interface PushedReceiptWire {
  phone_number: string;
  send_time: string;
  report_time: string;
  success: boolean;
  err_code: string;
  err_msg: string;
  biz_id: string;
  out_id: string | null;
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving). */
export function beijingDateTime(at: Date): string {
  return new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** The instant of a Beijing `yyyy-MM-dd HH:mm:ss`, or null when it is not one. */
export function instantOfBeijing(value: string): Date | null {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
  if (!match) return null;
  const at = new Date(`${match[1]}T${match[2]}+08:00`);
  return Number.isNaN(at.getTime()) ? null : at;
}
