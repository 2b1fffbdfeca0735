/**
 * The adapter kinds compiled into this build of the gateway. The department adapters shipped with
 * it are not among them: they are packages (adapters/psb-population, adapters/amr-enterprise,
 * adapters/nrb-realestate, packages/adapter-mca-marriage), named in the departments file by
 * `adapterPackage` (or, as older files do, by their kind, `"adapter": "psb-population"`) and loaded
 * at start with their adapter interface checked (gateway/departments/adapter-packages.ts,
 * adapters/README.md), like any adapter an operator installs. `adapterFactories` is where a fork's
 * own compiled-in department adapters would go (the generator's default form); it is empty here.
 * The notification and courier adapters are compiled in.
 */
import { courierExpressAdapter } from './courier-express/adapter.js';
import { registerCourierAdapter, type RegisteredCourierAdapterFactory } from './sdk/courier.js';
import type { RegisteredAdapterFactory } from './sdk/adapter.js';
import { registerNotificationAdapter, type RegisteredNotificationAdapterFactory } from './sdk/notification.js';
import { smsGatewayAdapter } from './sms-gateway/adapter.js';

/** Department adapter kinds compiled in (a departments file names one in `adapter`): none shipped. */
export const adapterFactories: readonly RegisteredAdapterFactory[] = [];

/** Every notification adapter kind (NOTIFICATIONS_JSON names one in `adapter`; see docs/notifications.md). */
export const notificationAdapterFactories: readonly RegisteredNotificationAdapterFactory[] = [
  registerNotificationAdapter(smsGatewayAdapter),
];

/** Every courier adapter kind (COURIER_JSON names one in `adapter`; see docs/results.md). */
export const courierAdapterFactories: readonly RegisteredCourierAdapterFactory[] = [
  registerCourierAdapter(courierExpressAdapter),
];
