/**
 * Test wiring for the MCA adapter: the SDK's resilient client against a simulator on loopback and
 * the SDK's contract set holding the registry's published contract. Test-only.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import YAML from 'yaml';
import type { AdapterEnvironment } from '@onewindow/adapter-sdk';
import { createDepartmentClient, type ClientTuning } from '@onewindow/adapter-sdk';
import { createContractSet, type ContractSetOptions } from '@onewindow/adapter-sdk';
import type { DepartmentMetrics } from '@onewindow/adapter-sdk';
import { MCA_RESOURCE } from './adapter.js';

export const MCA_CONTRACT_PATH = new URL('../../contracts/mca/mca.marriage.openapi.yaml', import.meta.url);

export function loadMcaContract(): Record<string, unknown> {
  return YAML.parse(readFileSync(MCA_CONTRACT_PATH, 'utf8')) as Record<string, unknown>;
}

export interface McaTestEnvironmentOptions extends ClientTuning {
  now?: () => number;
  metrics?: DepartmentMetrics;
}

export function mcaTestEnvironment(baseUrl: string, options: McaTestEnvironmentOptions = {}): AdapterEnvironment {
  const { now, metrics, ...tuning } = options;
  const clock = now ?? Date.now;
  const contractOptions: ContractSetOptions = metrics ? { metrics } : {};
  return {
    department: 'MCA',
    client: createDepartmentClient({
      ...tuning,
      department: 'MCA',
      baseUrl,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
      ...(metrics ? { metrics } : {}),
    }),
    contracts: createContractSet(
      [{ resourceCode: MCA_RESOURCE, document: loadMcaContract(), department: 'MCA' }],
      contractOptions,
    ),
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock()),
  };
}
