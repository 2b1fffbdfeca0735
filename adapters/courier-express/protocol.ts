/**
 * An express company's open platform API (快递开放平台), as the common ones shape it (顺丰丰桥,
 * 京东物流, 中通开放平台): one endpoint, a service code per operation, the business message as JSON
 * text in a form field, and a digest over it signed with the partner's check word.
 *
 *     POST /open/api   application/x-www-form-urlencoded   partnerId, serviceCode, msgData (JSON text)
 *          x-express-request-id   unique per request (a retry is a new request)
 *          x-express-timestamp    ms since the epoch
 *          x-express-digest       base64(HMAC-SHA256(checkWord, msgData + timestamp + requestId))
 *       → 200 {apiResultCode: "A1000", apiErrorMsg: "", apiResponseId, apiResultData: "<JSON text>"}
 *       → 200 {apiResultCode: "A1001" (unknown partner) | "A1002" (digest wrong) | "A1003" (timestamp
 *              outside ±5 min) | "A1004" (requestId reused) | "A1099" (platform failed), apiResultData: null}
 *
 *     apiResultData = {success: true|false, errorCode: "S0000" | "8016" | …, errorMsg, msgData}
 *
 *   serviceCode EXP_RECE_CREATE_ORDER   (下单)
 *     msgData {orderId, cargoDesc, contactInfoList: [{contactType: 1 sender | 2 recipient, contact,
 *              mobile, province, city, county, address}]}
 *     → msgData {orderId, waybillNoInfoList: [{waybillType: 1, waybillNo}]}
 *     A repeat of an orderId answers the waybill already made (no second parcel).
 *     Refusals: 8016 missing/invalid address, 8019 recipient mobile invalid, 8114 area not served.
 *
 *   serviceCode EXP_RECE_SEARCH_ROUTES  (路由查询)
 *     msgData {trackingType: 1, trackingNumber: ["SF…", …]}   (at most 10)
 *     → msgData {routeResps: [{mailNo, routes: [{acceptTime "yyyy-MM-dd HH:mm:ss" (Beijing),
 *                 acceptAddress, remark, opCode}]}]}
 *     opCode 50 collected (揽收), 30 in transit, 44 out for delivery (派送), 80 delivered (签收), 33 exception.
 *
 *     GET /open/health → 200 {apiResultCode: "A1000"}
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { RouteEvent } from '../sdk/courier.js';

export const EXPRESS_PATHS = { api: '/open/api', health: '/open/health' } as const;
export const SERVICE_CODES = { createOrder: 'EXP_RECE_CREATE_ORDER', searchRoutes: 'EXP_RECE_SEARCH_ROUTES' } as const;
export type ExpressOperation = 'createOrder' | 'searchRoutes' | 'health';
export const MAX_ROUTE_QUERY = 10;
export const TIMESTAMP_WINDOW_MS = 5 * 60_000;
export const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;

export const apiResultCodes = {
  A1000: '成功',
  A1001: '合作伙伴编码不存在',
  A1002: '数字签名无效',
  A1003: '时间戳超出有效范围',
  A1004: '请求唯一号重复',
  A1099: '系统异常，请稍后重试',
} as const;

export const businessErrors = {
  '8016': '收件地址不完整',
  '8019': '收件人手机号码不正确',
  '8114': '收件地址超出服务范围',
} as const;

export const EXPRESS_HEADERS = {
  requestId: 'x-express-request-id',
  timestamp: 'x-express-timestamp',
  digest: 'x-express-digest',
} as const;

export function messageDigest(checkWord: string, msgData: string, timestamp: string, requestId: string): string {
  return createHmac('sha256', checkWord)
    .update(msgData + timestamp + requestId, 'utf8')
    .digest('base64');
}

export function digestMatches(
  checkWord: string,
  msgData: string,
  timestamp: string,
  requestId: string,
  given: string,
): boolean {
  const expected = Buffer.from(messageDigest(checkWord, msgData, timestamp, requestId));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export const contactWireSchema = z.object({
  contactType: z.union([z.literal(1), z.literal(2)]),
  contact: z.string(),
  mobile: z.string(),
  province: z.string(),
  city: z.string(),
  county: z.string(),
  address: z.string(),
});
export type ContactWire = z.infer<typeof contactWireSchema>;

export const createOrderWireSchema = z.object({
  orderId: z.string().min(1).max(64),
  cargoDesc: z.string().min(1).max(60),
  contactInfoList: z.array(contactWireSchema).length(2),
});
export const searchRoutesWireSchema = z.object({
  trackingType: z.literal(1),
  trackingNumber: z.array(z.string().min(1)).min(1).max(MAX_ROUTE_QUERY),
});

export const envelopeSchema = z.object({
  apiResultCode: z.string(),
  apiErrorMsg: z.string().optional(),
  apiResponseId: z.string().optional(),
  apiResultData: z.string().nullable().optional(),
});
export const resultDataSchema = z.object({
  success: z.boolean(),
  errorCode: z.string(),
  errorMsg: z.string().nullable().optional(),
  msgData: z.unknown().optional(),
});
export const createOrderAnswerSchema = z.object({
  orderId: z.string(),
  waybillNoInfoList: z.array(z.object({ waybillType: z.number(), waybillNo: z.string().min(1) })).min(1),
});
export const routeWireSchema = z.object({
  acceptTime: z.string(),
  acceptAddress: z.string(),
  remark: z.string(),
  opCode: z.string(),
});
export type RouteWire = z.infer<typeof routeWireSchema>;
export const searchRoutesAnswerSchema = z.object({
  routeResps: z.array(z.object({ mailNo: z.string(), routes: z.array(routeWireSchema) })),
});

/** What an opCode means for the applicant. */
export function stateOfOpCode(opCode: string): RouteEvent['state'] {
  switch (opCode) {
    case '50':
      return 'collected';
    case '44':
      return 'out_for_delivery';
    case '80':
      return 'delivered';
    case '33':
      return 'exception';
    default:
      return 'in_transit';
  }
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), as carriers write it. */
export function beijingDateTime(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export function instantOfBeijing(text: string): Date | null {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(text);
  if (!match) return null;
  const at = new Date(`${match[1]}T${match[2]}+08:00`);
  return Number.isNaN(at.getTime()) ? null : at;
}
