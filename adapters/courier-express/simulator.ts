/**
 * A stand-in for an express company's open platform speaking protocol.ts, on the SDK's simulator
 * kit: signed requests (HMAC digest with a time stamp and a request id that may not be reused),
 * orders (下单) idempotent by `orderId`, and routes (路由) the test or the demo moves on.
 *
 * A new waybill has one route node, collected (揽收, opCode 50). `advance(trackingNumber, state)`
 * (in-process) or `POST /__express/advance {"trackingNumber", "state"}` (loopback, unsigned) adds
 * the next node: `in_transit` (30), `out_for_delivery` (44), `delivered` (80, 签收). Every order the
 * platform took is kept for inspection (`orders()`, `GET /__express/orders`).
 *
 * Refusals: `A1001` unknown partner, `A1002` wrong digest, `A1003` time stamp off by more than five
 * minutes, `A1004` a request id seen before; business `8016` (an address field empty), `8019` (the
 * recipient's mobile is not a mainland number), `8114` for recipients in a province listed in
 * `unservedProvinces`. Protocol-shaped faults: `business_error` → `A1099` (the platform failed),
 * `malformed` → JSON cut short after the order is taken (the answer is lost, not the order: a
 * retry with the same orderId gets the same waybill), `wrong_subject` → an answer about another
 * order.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RouteEvent } from '../sdk/courier.js';
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorRequest,
  type StartSimulatorOptions,
} from '../sdk/simulator.js';
import {
  EXPRESS_HEADERS,
  EXPRESS_PATHS,
  MAINLAND_MOBILE,
  SERVICE_CODES,
  TIMESTAMP_WINDOW_MS,
  apiResultCodes,
  beijingDateTime,
  businessErrors,
  createOrderWireSchema,
  digestMatches,
  searchRoutesWireSchema,
  type ContactWire,
  type RouteWire,
} from './protocol.js';

export const EXPRESS_DEMO_PARTNER_ID = 'ONEWINDOW_DEMO';
export const EXPRESS_DEMO_CHECK_WORD = 'express-demo-check-word-0123456789';
/** Suggested port beside the demo gateway (departments 7101–7103, SMS 7104). */
export const EXPRESS_SIMULATOR_DEFAULT_PORT = 7105;

export interface ExpressSimulatorOptions extends StartSimulatorOptions {
  /** Partner ids and their check words. Default: the demo pair. */
  partners?: Record<string, string>;
  /** The platform's clock (time stamps are checked against it; route times come from it). */
  now?: () => number;
  /** Provinces the carrier does not serve (8114). */
  unservedProvinces?: readonly string[];
  /** Waybill numbers start with this. Default `SF`. */
  waybillPrefix?: string;
}

export interface SimulatedOrder {
  orderId: string;
  trackingNumber: string;
  cargoDesc: string;
  sender: ContactWire;
  recipient: ContactWire;
  routes: RouteWire[];
}

export interface RunningExpressSimulator extends RunningSimulator {
  orders(): SimulatedOrder[];
  /** Adds the next route node of a waybill. */
  advance(trackingNumber: string, state: Exclude<RouteEvent['state'], 'collected'>): void;
}

const OP_CODES: Record<RouteEvent['state'], string> = {
  collected: '50',
  in_transit: '30',
  out_for_delivery: '44',
  delivered: '80',
  exception: '33',
};
const REMARKS: Record<RouteEvent['state'], string> = {
  collected: '顺丰速运 已收取快件',
  in_transit: '快件在【西安转运中心】完成分拣，准备发往下一站',
  out_for_delivery: '快件交给快递员，正在派送途中',
  delivered: '快件已签收，签收人：本人',
  exception: '快件派送不成功，将再次派送',
};
const CONTROL_PREFIX = '/__express/';

function writeJson(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

export async function startExpressSimulator(options: ExpressSimulatorOptions = {}): Promise<RunningExpressSimulator> {
  const partners = options.partners ?? { [EXPRESS_DEMO_PARTNER_ID]: EXPRESS_DEMO_CHECK_WORD };
  const now = options.now ?? Date.now;
  const unserved = new Set(options.unservedProvinces ?? []);
  const prefix = options.waybillPrefix ?? 'SF';
  const byOrder = new Map<string, SimulatedOrder>();
  const byWaybill = new Map<string, SimulatedOrder>();
  const seenRequestIds = new Map<string, number>();
  let sequence = 0;

  const envelope = (code: keyof typeof apiResultCodes, data: unknown = null) =>
    JSON.stringify({
      apiResultCode: code,
      apiErrorMsg: code === 'A1000' ? '' : apiResultCodes[code],
      apiResponseId: randomUUID(),
      apiResultData: data === null ? null : JSON.stringify(data),
    });
  const success = (msgData: unknown) =>
    envelope('A1000', { success: true, errorCode: 'S0000', errorMsg: null, msgData });
  const refusal = (errorCode: keyof typeof businessErrors) =>
    envelope('A1000', { success: false, errorCode, errorMsg: businessErrors[errorCode], msgData: null });

  function routeNode(state: RouteEvent['state'], place: string): RouteWire {
    return {
      acceptTime: beijingDateTime(new Date(now())),
      acceptAddress: place,
      remark: REMARKS[state],
      opCode: OP_CODES[state],
    };
  }

  function advance(trackingNumber: string, state: Exclude<RouteEvent['state'], 'collected'>): void {
    const order = byWaybill.get(trackingNumber);
    if (!order) throw new Error(`no waybill ${trackingNumber}`);
    order.routes.push(
      routeNode(state, state === 'in_transit' ? '西安转运中心' : `${order.recipient.city}${order.recipient.county}`),
    );
  }

  function createOrder(msgData: unknown, fault: SimulatorRequest['fault']): string {
    const parsed = createOrderWireSchema.safeParse(msgData);
    if (!parsed.success) return refusal('8016');
    const sender = parsed.data.contactInfoList.find((entry) => entry.contactType === 1);
    const recipient = parsed.data.contactInfoList.find((entry) => entry.contactType === 2);
    if (
      !sender ||
      !recipient ||
      [recipient.contact, recipient.province, recipient.city, recipient.county, recipient.address].some(
        (value) => value.trim() === '',
      )
    )
      return refusal('8016');
    if (!MAINLAND_MOBILE.test(recipient.mobile)) return refusal('8019');
    if (unserved.has(recipient.province)) return refusal('8114');
    // A repeat of an order id is the same parcel: its waybill again.
    let order = byOrder.get(parsed.data.orderId);
    if (!order) {
      sequence += 1;
      const trackingNumber = `${prefix}${String(1_400_000_000_000 + sequence)}`;
      order = {
        orderId: parsed.data.orderId,
        trackingNumber,
        cargoDesc: parsed.data.cargoDesc,
        sender,
        recipient,
        routes: [],
      };
      order.routes.push(routeNode('collected', `${sender.city}${sender.county}营业点`));
      byOrder.set(order.orderId, order);
      byWaybill.set(trackingNumber, order);
    }
    const answer = success({
      orderId: fault === 'wrong_subject' ? `${order.orderId}-X` : order.orderId,
      waybillNoInfoList: [{ waybillType: 1, waybillNo: order.trackingNumber }],
    });
    return fault === 'malformed' ? answer.slice(0, Math.floor(answer.length / 2)) : answer;
  }

  function searchRoutes(msgData: unknown, fault: SimulatorRequest['fault']): string {
    const parsed = searchRoutesWireSchema.safeParse(msgData);
    if (!parsed.success) return refusal('8016');
    const known = parsed.data.trackingNumber.flatMap((number) => {
      const order = byWaybill.get(number);
      return order ? [{ mailNo: fault === 'wrong_subject' ? `${number}9` : number, routes: order.routes }] : [];
    });
    return success({ routeResps: known });
  }

  function handleControl(simulated: SimulatorRequest): void {
    const { url, response, body } = simulated;
    if (url.pathname === `${CONTROL_PREFIX}orders`)
      return writeJson(response, 200, JSON.stringify({ count: byOrder.size, orders: [...byOrder.values()] }));
    if (url.pathname === `${CONTROL_PREFIX}advance` && simulated.request.method === 'POST') {
      const given = JSON.parse(body.toString('utf8') || '{}') as {
        trackingNumber?: string;
        state?: Exclude<RouteEvent['state'], 'collected'>;
      };
      try {
        advance(String(given.trackingNumber), given.state ?? 'in_transit');
      } catch (error) {
        return writeJson(
          response,
          404,
          JSON.stringify({ error: error instanceof Error ? error.message : String(error) }),
        );
      }
      return writeJson(response, 200, JSON.stringify(byWaybill.get(String(given.trackingNumber))));
    }
    return writeJson(response, 404, JSON.stringify({ error: 'no such control' }));
  }

  const running = await startSimulator(
    {
      name: 'courier-express',
      operationOf: (_request, url) =>
        url.pathname.startsWith(CONTROL_PREFIX) ? 'control' : url.pathname === EXPRESS_PATHS.health ? 'health' : 'api',
      handle(simulated) {
        const { url, response, request } = simulated;
        if (url.pathname.startsWith(CONTROL_PREFIX)) return handleControl(simulated);
        if (url.pathname === EXPRESS_PATHS.health)
          return writeJson(response, 200, envelope(simulated.fault === 'business_error' ? 'A1099' : 'A1000'));
        if (url.pathname !== EXPRESS_PATHS.api || request.method !== 'POST')
          return writeJson(response, 404, JSON.stringify({ error: 'not found' }));
        if (simulated.fault === 'business_error') return writeJson(response, 200, envelope('A1099'));
        const form = new URLSearchParams(simulated.body.toString('utf8'));
        const partnerId = form.get('partnerId') ?? '';
        const serviceCode = form.get('serviceCode') ?? '';
        const msgData = form.get('msgData') ?? '';
        const requestId = String(request.headers[EXPRESS_HEADERS.requestId] ?? '');
        const timestamp = String(request.headers[EXPRESS_HEADERS.timestamp] ?? '');
        const digest = String(request.headers[EXPRESS_HEADERS.digest] ?? '');
        const checkWord = partners[partnerId];
        if (checkWord === undefined) return writeJson(response, 200, envelope('A1001'));
        if (!/^\d{10,16}$/.test(timestamp) || Math.abs(Number(timestamp) - now()) > TIMESTAMP_WINDOW_MS)
          return writeJson(response, 200, envelope('A1003'));
        if (requestId === '' || !digestMatches(checkWord, msgData, timestamp, requestId, digest))
          return writeJson(response, 200, envelope('A1002'));
        for (const [seen, at] of seenRequestIds) if (at < now() - TIMESTAMP_WINDOW_MS) seenRequestIds.delete(seen);
        if (seenRequestIds.has(requestId)) return writeJson(response, 200, envelope('A1004'));
        seenRequestIds.set(requestId, now());
        let message: unknown;
        try {
          message = JSON.parse(msgData);
        } catch {
          return writeJson(response, 200, refusal('8016'));
        }
        if (serviceCode === SERVICE_CODES.createOrder)
          return writeJson(response, 200, createOrder(message, simulated.fault));
        if (serviceCode === SERVICE_CODES.searchRoutes)
          return writeJson(response, 200, searchRoutes(message, simulated.fault));
        return writeJson(response, 200, envelope('A1002'));
      },
    },
    options,
  );
  return { ...running, orders: () => [...byOrder.values()], advance };
}
