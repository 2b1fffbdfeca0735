/**
 * The courier adapter against its simulator over real HTTP on loopback: a signed order gets a
 * waybill; a repeat of the order id (a retry after a lost answer) gets the same waybill and no
 * second parcel; routes come back in order and end delivered; refusals carry the platform's code;
 * a wrong check word is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepartmentError } from '../sdk/errors.js';
import type { CourierAdapter, WaybillOrder } from '../sdk/courier.js';
import { createCourierExpressAdapter } from './adapter.js';
import {
  EXPRESS_DEMO_CHECK_WORD,
  EXPRESS_DEMO_PARTNER_ID,
  type RunningExpressSimulator,
  startExpressSimulator,
} from './simulator.js';
import { courierTestEnvironment } from './test-environment.js';

const NOW = new Date('2026-12-18T02:00:00.000Z').getTime();
const tuning = { retries: 2, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };
const sender = {
  province: '陕西省',
  city: '西安市',
  district: '未央区',
  detail: '凤城八路109号政务服务中心',
  name: '未央区政务服务中心',
  mobile: '13800000000',
};
const recipient = {
  province: '陕西省',
  city: '西安市',
  district: '雁塔区',
  detail: '科技路48号2单元301室',
  name: '张三丰',
  mobile: '13912345678',
};
const order = (orderId: string, overrides: Partial<WaybillOrder> = {}): WaybillOrder => ({
  orderId,
  sender,
  recipient,
  contents: '不动产权证书',
  ...overrides,
});
const context = { requestId: 'req-courier-test' };

let simulator: RunningExpressSimulator;
let adapter: CourierAdapter;

beforeAll(async () => {
  simulator = await startExpressSimulator({ now: () => NOW, unservedProvinces: ['西藏自治区'] });
  adapter = createCourierExpressAdapter(
    { partnerId: EXPRESS_DEMO_PARTNER_ID, checkWord: EXPRESS_DEMO_CHECK_WORD, carrierName: '顺丰速运' },
    courierTestEnvironment(simulator.url, { ...tuning, now: () => NOW }),
  );
});

afterAll(async () => {
  await adapter?.close();
  await simulator?.close();
});

async function refusalOf(work: Promise<unknown>): Promise<DepartmentError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof DepartmentError) return error;
    throw error;
  }
  throw new Error('expected a DepartmentError');
}

describe('courier-express adapter', () => {
  it('orders a waybill with a signed request, and a repeat of the order id gets the same waybill, not a second parcel', async () => {
    const first = await adapter.createWaybill(order('OWR-case-1'), context);
    expect(first.trackingNumber).toMatch(/^SF\d{13}$/);
    const again = await adapter.createWaybill(order('OWR-case-1'), context);
    expect(again).toEqual(first);
    expect(simulator.orders().filter((entry) => entry.orderId === 'OWR-case-1')).toHaveLength(1);
    expect(simulator.orders()[0]).toMatchObject({
      cargoDesc: '不动产权证书',
      recipient: { contact: '张三丰', mobile: '13912345678', county: '雁塔区' },
    });
  });

  it('survives a lost answer and a 503: the retry carries the same order id and gets the same waybill', async () => {
    simulator.setFault({ kind: 'malformed', times: 1 });
    const lost = await refusalOf(adapter.createWaybill(order('OWR-case-2'), context));
    expect(lost.kind).toBe('malformed');
    simulator.setFault({ kind: 'http_5xx', times: 1 });
    const retried = await adapter.createWaybill(order('OWR-case-2'), context);
    expect(simulator.orders().filter((entry) => entry.orderId === 'OWR-case-2')).toHaveLength(1);
    expect(retried.trackingNumber).toBe(
      simulator.orders().find((entry) => entry.orderId === 'OWR-case-2')?.trackingNumber,
    );
  });

  it('reads the route of a waybill, oldest first, to its delivery (签收)', async () => {
    const { trackingNumber } = await adapter.createWaybill(order('OWR-case-3'), context);
    simulator.advance(trackingNumber, 'in_transit');
    simulator.advance(trackingNumber, 'delivered');
    const [report] = await adapter.queryRoutes([trackingNumber, 'SF0000000000000'], context);
    expect(report?.trackingNumber).toBe(trackingNumber);
    expect(report?.events.map((event) => event.state)).toEqual(['collected', 'in_transit', 'delivered']);
    expect(report?.events.at(-1)).toMatchObject({
      at: new Date(NOW).toISOString(),
      remark: '快件已签收，签收人：本人',
    });
  });

  it('passes on the platform’s refusals with its code, and the platform’s failure as unavailable', async () => {
    const unserved = await refusalOf(
      adapter.createWaybill(order('OWR-case-4', { recipient: { ...recipient, province: '西藏自治区' } }), context),
    );
    expect([unserved.kind, unserved.details.departmentCode]).toEqual(['business_error', '8114']);
    const badMobile = await refusalOf(
      adapter.createWaybill(order('OWR-case-5', { recipient: { ...recipient, mobile: '12345' } }), context),
    );
    expect(badMobile.details.departmentCode).toBe('8019');
    simulator.setFault({ kind: 'business_error', times: 1 });
    const failed = await refusalOf(adapter.createWaybill(order('OWR-case-6'), context));
    expect([failed.kind, failed.details.departmentCode]).toEqual(['unavailable', 'A1099']);
  });

  it('is refused with a wrong check word (A1002), and the answer about another order is caught', async () => {
    const impostor = createCourierExpressAdapter(
      { partnerId: EXPRESS_DEMO_PARTNER_ID, checkWord: 'not-the-check-word-0000', carrierName: '顺丰速运' },
      courierTestEnvironment(simulator.url, { ...tuning, now: () => NOW }),
    );
    const refused = await refusalOf(impostor.createWaybill(order('OWR-case-7'), context));
    expect([refused.kind, refused.details.departmentCode]).toEqual(['rejected', 'A1002']);
    await impostor.close();
    simulator.setFault({ kind: 'wrong_subject', times: 1 });
    expect((await refusalOf(adapter.createWaybill(order('OWR-case-8'), context))).kind).toBe('wrong_subject');
  });
});
