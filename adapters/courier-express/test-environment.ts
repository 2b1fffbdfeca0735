/**
 * Test wiring for the courier adapter: the SDK's resilient client against the simulator on
 * loopback. Test-only; the gateway builds the environment itself (gateway/results/courier.ts).
 */
import pino from 'pino';
import { createDepartmentClient, type ClientTuning } from '../sdk/client.js';
import type { CourierEnvironment } from '../sdk/courier.js';

export function courierTestEnvironment(
  baseUrl: string,
  options: ClientTuning & { now?: () => number } = {},
): CourierEnvironment {
  const { now, ...tuning } = options;
  const clock = now ?? Date.now;
  return {
    channel: 'EXPRESS',
    client: createDepartmentClient({
      ...tuning,
      department: 'EXPRESS',
      baseUrl,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    }),
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock()),
  };
}
