/**
 * Adapter for an express company's open platform speaking protocol.ts: form-encoded requests with
 * the business message as JSON text and an HMAC digest under the partner's check word, answers as
 * an envelope (`apiResultCode`) around a result (`success`, `errorCode`, `msgData`).
 *
 * Orders are idempotent by `orderId` (the platform answers a repeat with the waybill it made), so
 * the SDK client retries them after a 5xx or a lost answer without a second parcel; route queries
 * are reads. Every attempt gets a fresh `requestId` and time stamp (the platform refuses a reused
 * request id).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { DepartmentResponse } from '../sdk/adapter.js';
import type {
  CourierAdapter,
  CourierAdapterFactory,
  CourierEnvironment,
  RouteReport,
  Waybill,
  WaybillOrder,
} from '../sdk/courier.js';
import { DepartmentError, type DepartmentErrorKind } from '../sdk/errors.js';
import type { CallContext } from '../sdk/types.js';
import {
  EXPRESS_HEADERS,
  EXPRESS_PATHS,
  MAX_ROUTE_QUERY,
  SERVICE_CODES,
  createOrderAnswerSchema,
  envelopeSchema,
  instantOfBeijing,
  messageDigest,
  resultDataSchema,
  searchRoutesAnswerSchema,
  stateOfOpCode,
  type ContactWire,
  type ExpressOperation,
} from './protocol.js';

export const COURIER_EXPRESS_ADAPTER_KIND = 'courier-express';

export const courierExpressOptionsSchema = z
  .object({
    partnerId: z
      .string()
      .min(1)
      .max(64)
      .describe('Partner code (partnerId / 顾客编码) the express company issued to the gateway.'),
    checkWord: z
      .string()
      .min(16)
      .describe(
        'Check word (校验码) for the request digest, at least 16 characters; give it as {"$env": "…"}, never in a file.',
      ),
    carrierName: z
      .string()
      .min(2)
      .max(30)
      .describe('The carrier as applicants know it, shown in the SMS and the progress look-up, e.g. 顺丰速运.'),
  })
  .strict();
export type CourierExpressOptions = z.infer<typeof courierExpressOptionsSchema>;

const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function headerValue(response: DepartmentResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contact(contactType: 1 | 2, address: WaybillOrder['sender']): ContactWire {
  return {
    contactType,
    contact: address.name,
    mobile: address.mobile,
    province: address.province,
    city: address.city,
    county: address.district,
    address: address.detail,
  };
}

export function createCourierExpressAdapter(
  options: CourierExpressOptions,
  environment: CourierEnvironment,
): CourierAdapter {
  const { client } = environment;

  function fail(
    kind: DepartmentErrorKind,
    message: string,
    operation: ExpressOperation,
    extra: Omit<DepartmentError['details'], 'department' | 'operation'> = {},
  ): never {
    throw new DepartmentError(kind, `courier-express: ${message}`, {
      department: environment.channel,
      operation,
      ...extra,
    });
  }

  /** One signed call: the result's `msgData` once the envelope and the result both say success. */
  async function call(
    operation: Exclude<ExpressOperation, 'health'>,
    message: Record<string, unknown>,
    context: CallContext,
  ): Promise<unknown> {
    const msgData = JSON.stringify(message);
    const response = await client.request({
      operation,
      method: 'POST',
      path: EXPRESS_PATHS.api,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
      body: new URLSearchParams({
        partnerId: options.partnerId,
        serviceCode: SERVICE_CODES[operation],
        msgData,
      }).toString(),
      idempotent: true,
      context,
      // Signed per attempt: the platform refuses a request id it has seen.
      prepare: () => {
        const timestamp = String(environment.now().getTime());
        const requestId = randomUUID();
        return {
          [EXPRESS_HEADERS.requestId]: requestId,
          [EXPRESS_HEADERS.timestamp]: timestamp,
          [EXPRESS_HEADERS.digest]: messageDigest(options.checkWord, msgData, timestamp, requestId),
        };
      },
      acceptStatus: (status) => status === 200,
    });
    if (!JSON_MEDIA_TYPE.test(headerValue(response, 'content-type') ?? ''))
      fail('malformed', 'the answer is not JSON (media type)', operation, { status: response.status });
    let decoded: unknown;
    try {
      decoded = JSON.parse(utf8.decode(response.body));
    } catch {
      return fail('malformed', 'the answer is not valid UTF-8 JSON', operation, { status: response.status });
    }
    const envelope = envelopeSchema.safeParse(decoded);
    if (!envelope.success)
      fail('contract_violation', 'the answer is not an API envelope', operation, { status: response.status });
    const code = envelope.data.apiResultCode;
    if (code === 'A1099') fail('unavailable', `the platform failed (${code})`, operation, { departmentCode: code });
    if (code !== 'A1000')
      fail(
        'rejected',
        `the platform refused the request (${code}${code === 'A1003' ? '; check the clock' : ''})`,
        operation,
        { departmentCode: code },
      );
    let result: unknown;
    try {
      result = JSON.parse(envelope.data.apiResultData ?? 'null');
    } catch {
      return fail('malformed', 'apiResultData is not JSON', operation);
    }
    const parsed = resultDataSchema.safeParse(result);
    if (!parsed.success) fail('contract_violation', 'apiResultData is not a result', operation);
    if (!parsed.data.success)
      fail('business_error', `the platform refused the order (${parsed.data.errorCode})`, operation, {
        departmentCode: parsed.data.errorCode,
        departmentMessage: (parsed.data.errorMsg ?? '').slice(0, 200),
      });
    return parsed.data.msgData;
  }

  async function createWaybill(order: WaybillOrder, context: CallContext): Promise<Waybill> {
    const msgData = await call(
      'createOrder',
      {
        orderId: order.orderId,
        cargoDesc: order.contents,
        contactInfoList: [contact(1, order.sender), contact(2, order.recipient)],
      },
      context,
    );
    const parsed = createOrderAnswerSchema.safeParse(msgData);
    if (!parsed.success) fail('contract_violation', 'the answer is not an order answer', 'createOrder');
    if (parsed.data.orderId !== order.orderId)
      fail('wrong_subject', 'the answer is about another order', 'createOrder');
    return { orderId: order.orderId, trackingNumber: parsed.data.waybillNoInfoList[0]!.waybillNo };
  }

  async function queryRoutes(trackingNumbers: readonly string[], context: CallContext): Promise<RouteReport[]> {
    const reports: RouteReport[] = [];
    for (let start = 0; start < trackingNumbers.length; start += MAX_ROUTE_QUERY) {
      const batch = trackingNumbers.slice(start, start + MAX_ROUTE_QUERY);
      const msgData = await call('searchRoutes', { trackingType: 1, trackingNumber: batch }, context);
      const parsed = searchRoutesAnswerSchema.safeParse(msgData);
      if (!parsed.success) fail('contract_violation', 'the answer is not a routes answer', 'searchRoutes');
      for (const entry of parsed.data.routeResps) {
        if (!batch.includes(entry.mailNo))
          fail('wrong_subject', 'the answer is about a waybill not asked for', 'searchRoutes');
        reports.push({
          trackingNumber: entry.mailNo,
          events: entry.routes.map((route) => ({
            at: (instantOfBeijing(route.acceptTime) ?? environment.now()).toISOString(),
            place: route.acceptAddress,
            remark: route.remark,
            state: stateOfOpCode(route.opCode),
          })),
        });
      }
    }
    return reports;
  }

  return {
    kind: COURIER_EXPRESS_ADAPTER_KIND,
    carrierName: options.carrierName,
    createWaybill,
    queryRoutes,
    close: () => client.close(),
  };
}

export const courierExpressAdapter: CourierAdapterFactory<CourierExpressOptions> = {
  kind: COURIER_EXPRESS_ADAPTER_KIND,
  description: "An express company's open platform (下单 and 路由查询, HMAC-signed form requests)",
  optionsSchema: courierExpressOptionsSchema,
  create: createCourierExpressAdapter,
};
