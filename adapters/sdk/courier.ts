/**
 * Courier adapters: how the gateway sends a case's result to the applicant by express (邮寄) through
 * an express company's open platform. The same shape as notification adapters (notification.ts):
 * a factory over typed, documented options, handed an environment with the SDK's resilient client
 * (pool, timeouts, retries for idempotent calls, breaker, URL policy, metrics), a logger and the
 * clock; adapters never touch the database and throw `DepartmentError` for every failure.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { DepartmentClient } from './adapter.js';
import type { CallContext } from './types.js';

export interface CourierAddress {
  province: string;
  city: string;
  district: string;
  detail: string;
  name: string;
  mobile: string;
}

export interface WaybillOrder {
  /**
   * Our order number (商家订单号), stable across retries: the platform answers a repeat with the
   * waybill it already made instead of a second parcel.
   */
  orderId: string;
  sender: CourierAddress;
  recipient: CourierAddress;
  /** What is in the parcel (托寄物), e.g. 不动产权证书. */
  contents: string;
}

export interface Waybill {
  orderId: string;
  /** The carrier's tracking number (运单号). */
  trackingNumber: string;
}

/** One scan of a parcel on its way (路由节点). */
export interface RouteEvent {
  at: string;
  /** Where it happened, as the carrier words it (e.g. 西安市未央区营业点). */
  place: string;
  /** The carrier's words (e.g. 快件已签收，签收人：本人). */
  remark: string;
  /** What it means for us. */
  state: 'collected' | 'in_transit' | 'out_for_delivery' | 'delivered' | 'exception';
}

export interface RouteReport {
  trackingNumber: string;
  /** Oldest first. */
  events: RouteEvent[];
}

export interface CourierAdapter {
  readonly kind: string;
  /** The carrier as the applicant knows it (顺丰速运, 中国邮政EMS), for SMS and the progress look-up. */
  readonly carrierName: string;
  /** Orders a pick-up and a waybill (下单). Idempotent by `orderId`. */
  createWaybill(order: WaybillOrder, context: CallContext): Promise<Waybill>;
  /** The routes of waybills (路由查询); waybills the platform does not know are left out. */
  queryRoutes(trackingNumbers: readonly string[], context: CallContext): Promise<RouteReport[]>;
  close(): Promise<void>;
}

export interface CourierEnvironment {
  /** The label of this channel in metrics and logs (e.g. `EXPRESS`). */
  channel: string;
  client: DepartmentClient;
  logger: Logger;
  now: () => Date;
}

export interface CourierAdapterFactory<Options = unknown> {
  kind: string;
  description: string;
  optionsSchema: z.ZodType<Options>;
  create(options: Options, environment: CourierEnvironment): CourierAdapter;
}

export type RegisteredCourierAdapterFactory = CourierAdapterFactory<unknown>;

export function registerCourierAdapter<Options>(
  factory: CourierAdapterFactory<Options>,
): RegisteredCourierAdapterFactory {
  return {
    kind: factory.kind,
    description: factory.description,
    optionsSchema: factory.optionsSchema,
    create: (options, environment) => factory.create(factory.optionsSchema.parse(options), environment),
  };
}
