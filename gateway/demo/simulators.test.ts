/** The demo's department simulators: started on loopback, connected by config, and never blocked by a taken port. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { departmentsFileSchema } from '../departments/config.js';
import { type DemoSimulators, demoDepartments, startDemoSimulators } from './simulators.js';

const logger = pino({ level: 'silent' });
const started: DemoSimulators[] = [];
const blockers: Server[] = [];

afterEach(async () => {
  for (const simulators of started.splice(0)) await simulators.close();
  for (const blocker of blockers.splice(0)) await new Promise<void>((resolve) => blocker.close(() => resolve()));
});

async function occupyPort(): Promise<number> {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  blockers.push(blocker);
  return (blocker.address() as AddressInfo).port;
}

describe('demo simulators', () => {
  it('starts one simulator per demo department and describes each as a valid department entry', async () => {
    const simulators = await startDemoSimulators(0, logger);
    started.push(simulators);
    expect(simulators.departments.map((department) => department.code)).toEqual(demoDepartments.map((department) => department.code));
    expect(departmentsFileSchema.safeParse(simulators.departments).success).toBe(true);
    for (const department of simulators.departments) {
      expect(new URL(department.baseUrl).hostname).toBe('127.0.0.1');
      expect(simulators.urlPolicyOverrides[department.code]).toEqual({ allowedHosts: ['127.0.0.1'], allowPrivateNetworks: true });
      // A real server answers there (any HTTP status will do: each speaks its own protocol).
      const response = await fetch(department.baseUrl);
      expect(response.status).toBeGreaterThanOrEqual(200);
    }
  });

  it('falls back to a free port when the configured one is taken', async () => {
    const taken = await occupyPort();
    const simulators = await startDemoSimulators(taken, logger);
    started.push(simulators);
    const [first] = simulators.simulators;
    expect(first).toBeDefined();
    expect(new URL(first!.url).port).not.toBe(String(taken));
  });
});
