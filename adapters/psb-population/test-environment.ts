/**
 * Test wiring for the PSB adapter: the SDK's resilient client against a simulator on loopback and
 * the SDK's contract set holding the registry's published contract. Test-only; the gateway builds
 * the environment itself.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import YAML from 'yaml';
import type { AdapterEnvironment, ContractSet } from '@onewindow/adapter-sdk';
import { createDepartmentClient, type ClientTuning } from '@onewindow/adapter-sdk';
import { createContractSet } from '@onewindow/adapter-sdk';
import { PSB_RESOURCE } from './adapter.js';

export const PSB_CONTRACT_PATH = new URL('../../contracts/psb/psb.population.openapi.yaml', import.meta.url);

export function loadPsbContract(): Record<string, unknown> {
  return YAML.parse(readFileSync(PSB_CONTRACT_PATH, 'utf8')) as Record<string, unknown>;
}

export function psbContracts(): ContractSet {
  return createContractSet([{ resourceCode: PSB_RESOURCE, document: loadPsbContract(), department: 'PSB' }]);
}

export interface PsbTestEnvironmentOptions extends ClientTuning {
  /** The adapter's clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
}

/** The adapter environment for a simulator at `baseUrl`. */
export async function psbTestEnvironment(
  baseUrl: string,
  options: PsbTestEnvironmentOptions = {},
): Promise<AdapterEnvironment> {
  const { now, ...tuning } = options;
  const clock = now ?? Date.now;
  return {
    department: 'PSB',
    client: createDepartmentClient({
      ...tuning,
      department: 'PSB',
      baseUrl,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    }),
    contracts: psbContracts(),
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock()),
  };
}
