/** The demo's department simulators: started on loopback, connected by config, and never blocked by a taken port. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { adapterFactories } from '../../adapters/index.js';
import { loadDepartmentAdapters } from '../departments/adapter-packages.js';
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
    expect(simulators.departments.map((department) => department.code)).toEqual(
      demoDepartments.map((department) => department.code),
    );
    expect(departmentsFileSchema.safeParse(simulators.departments).success).toBe(true);
    for (const department of simulators.departments) {
      expect(new URL(department.baseUrl).hostname).toBe('127.0.0.1');
      expect(simulators.urlPolicyOverrides[department.code]).toEqual({
        allowedHosts: ['127.0.0.1'],
        allowPrivateNetworks: true,
      });
      // A real server answers there (any HTTP status will do: each speaks its own protocol).
      const response = await fetch(department.baseUrl);
      expect(response.status).toBeGreaterThanOrEqual(200);
    }
  });

  it('runs the four department systems, each adapter from its package, with options it accepts', async () => {
    expect(demoDepartments.map((department) => [department.code, department.adapter])).toEqual([
      ['PSB', { adapterPackage: '@onewindow/adapter-psb-population' }],
      ['AMR', { adapterPackage: '@onewindow/adapter-amr-enterprise' }],
      ['NRB', { adapterPackage: '@onewindow/adapter-nrb-realestate' }],
      ['MCA', { adapterPackage: '@onewindow/adapter-mca-marriage' }],
    ]);
    const configured = departmentsFileSchema.parse(
      await Promise.all(
        demoDepartments.map(async (department) => ({
          code: department.code,
          name: department.name,
          ...department.adapter,
          baseUrl: 'http://127.0.0.1:1',
          options: await department.options(),
        })),
      ),
    );
    const loaded = await loadDepartmentAdapters(configured, adapterFactories);
    expect(loaded.departments.map((department) => department.adapter)).toEqual([
      'psb-population',
      'amr-enterprise',
      'nrb-realestate',
      'mca-marriage',
    ]);
    for (const department of loaded.departments) {
      const factory = loaded.factories.find((candidate) => candidate.kind === department.adapter);
      expect(factory, department.adapter).toBeDefined();
      expect(factory?.optionsSchema.safeParse(department.options).success, `${department.code} options`).toBe(true);
    }
  });

  it('puts the simulators on ports from the base port (the README: PSB 7101, AMR 7102, NRB 7103, MCA 7106)', async () => {
    const base = await occupyPort();
    await new Promise<void>((resolve) => blockers.pop()!.close(() => resolve()));
    // Another process may hold a neighbouring port; then, and only then, a fallback is logged.
    const fellBack: string[] = [];
    const recording = pino(
      { level: 'warn' },
      {
        write: (line: string) => void fellBack.push(String((JSON.parse(line) as { department?: unknown }).department)),
      },
    );
    const simulators = await startDemoSimulators(base, recording);
    started.push(simulators);
    expect(simulators.simulators.map((simulator) => simulator.code)).toEqual(['PSB', 'AMR', 'NRB', 'MCA']);
    const offsets = [0, 1, 2, 5];
    for (const [index, simulator] of simulators.simulators.entries()) {
      if (!fellBack.includes(simulator.code))
        expect(Number(new URL(simulator.url).port), simulator.code).toBe(base + (offsets[index] as number));
    }
    expect(fellBack).not.toContain('PSB');
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
