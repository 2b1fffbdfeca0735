/**
 * Test wiring for the NRB adapter: the SDK's resilient client against a simulator on loopback and
 * the SDK's contract set holding the registry's published contract. Test-only; the gateway builds
 * the environment itself.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import YAML from 'yaml';
import type { AdapterEnvironment, ContractSet } from '@onewindow/adapter-sdk';
import { createDepartmentClient, type ClientTuning } from '@onewindow/adapter-sdk';
import { createContractSet } from '@onewindow/adapter-sdk';
import { NRB_RESOURCE } from './adapter.js';

export const NRB_CONTRACT_PATH = new URL('../../contracts/nrb/nrb.real-estate.openapi.yaml', import.meta.url);

export function loadNrbContract(): Record<string, unknown> {
  return YAML.parse(readFileSync(NRB_CONTRACT_PATH, 'utf8')) as Record<string, unknown>;
}

export function nrbContracts(): ContractSet {
  return createContractSet([{ resourceCode: NRB_RESOURCE, document: loadNrbContract(), department: 'NRB' }]);
}

export interface NrbTestEnvironmentOptions extends ClientTuning {
  /** The adapter's clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
}

/** The adapter environment for a simulator at `baseUrl`. */
export function nrbTestEnvironment(baseUrl: string, options: NrbTestEnvironmentOptions = {}): AdapterEnvironment {
  const { now, ...tuning } = options;
  const clock = now ?? Date.now;
  return {
    department: 'NRB',
    client: createDepartmentClient({
      ...tuning,
      department: 'NRB',
      baseUrl,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    }),
    contracts: nrbContracts(),
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock()),
  };
}
