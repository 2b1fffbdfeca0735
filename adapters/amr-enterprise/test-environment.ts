/**
 * Test wiring for the AMR adapter: the SDK's resilient client against a simulator on loopback and
 * the SDK's contract set holding the registry's published contract. Test-only; the gateway builds
 * the environment itself.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import YAML from 'yaml';
import type { AdapterEnvironment, ContractSet } from '@onewindow/adapter-sdk';
import { createDepartmentClient, type ClientTuning } from '@onewindow/adapter-sdk';
import { createContractSet } from '@onewindow/adapter-sdk';
import { AMR_RESOURCE } from './adapter.js';

export const AMR_CONTRACT_PATH = new URL('../../contracts/amr/amr.enterprise.openapi.yaml', import.meta.url);

export function loadAmrContract(): Record<string, unknown> {
  return YAML.parse(readFileSync(AMR_CONTRACT_PATH, 'utf8')) as Record<string, unknown>;
}

export function amrContracts(): ContractSet {
  return createContractSet([{ resourceCode: AMR_RESOURCE, document: loadAmrContract(), department: 'AMR' }]);
}

/** The adapter environment for a simulator at `baseUrl`. */
export async function amrTestEnvironment(baseUrl: string, tuning: ClientTuning = {}): Promise<AdapterEnvironment> {
  return {
    department: 'AMR',
    client: createDepartmentClient({
      ...tuning,
      department: 'AMR',
      baseUrl,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    }),
    contracts: amrContracts(),
    logger: pino({ level: 'silent' }),
    now: () => new Date(),
  };
}
