/**
 * Test wiring for the SMS adapter: the SDK's resilient client against a simulator on loopback.
 * Test-only; the gateway builds the environment itself (gateway/notifications/channel.ts).
 */
import pino from 'pino';
import { createDepartmentClient, type ClientTuning } from '../sdk/client.js';
import type { NotificationEnvironment } from '../sdk/notification.js';

export interface SmsTestEnvironmentOptions extends ClientTuning {
  /** The adapter's clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
}

export function smsTestEnvironment(baseUrl: string, options: SmsTestEnvironmentOptions = {}): NotificationEnvironment {
  const { now, ...tuning } = options;
  const clock = now ?? Date.now;
  return {
    channel: 'SMS',
    client: createDepartmentClient({
      ...tuning,
      department: 'SMS',
      baseUrl,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    }),
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock()),
  };
}
