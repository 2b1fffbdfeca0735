/**
 * Every adapter kind this build of the gateway can run. A department entry in the configuration
 * names one of these kinds (`"adapter": "psb-population"`); the gateway checks the entry's options
 * against the factory's schema at start. Adapters outside the gateway's source tree (npm packages
 * or folders, like packages/adapter-mca-marriage) are not listed here: a department names them with
 * `adapterPackage` or `adapterPath` and the gateway loads them at start
 * (gateway/departments/adapter-packages.ts, adapters/README.md).
 */
import { amrEnterpriseAdapter } from './amr-enterprise/adapter.js';
import { courierExpressAdapter } from './courier-express/adapter.js';
import { registerCourierAdapter, type RegisteredCourierAdapterFactory } from './sdk/courier.js';
import { nrbRealEstateAdapter } from './nrb-realestate/adapter.js';
import { psbPopulationAdapter } from './psb-population/adapter.js';
import { registerAdapter, type RegisteredAdapterFactory } from './sdk/adapter.js';
import { registerNotificationAdapter, type RegisteredNotificationAdapterFactory } from './sdk/notification.js';
import { smsGatewayAdapter } from './sms-gateway/adapter.js';

export const adapterFactories: readonly RegisteredAdapterFactory[] = [
  registerAdapter(psbPopulationAdapter),
  registerAdapter(amrEnterpriseAdapter),
  registerAdapter(nrbRealEstateAdapter),
];

/** Every notification adapter kind (NOTIFICATIONS_JSON names one in `adapter`; see docs/notifications.md). */
export const notificationAdapterFactories: readonly RegisteredNotificationAdapterFactory[] = [
  registerNotificationAdapter(smsGatewayAdapter),
];

/** Every courier adapter kind (COURIER_JSON names one in `adapter`; see docs/results.md). */
export const courierAdapterFactories: readonly RegisteredCourierAdapterFactory[] = [
  registerCourierAdapter(courierExpressAdapter),
];
