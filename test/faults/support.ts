/**
 * Shared pieces of the fault suite: department entries for DEPARTMENTS_JSON, a window client
 * allowed to verify identities, timing helpers, and the figures the suite prints for its reader.
 */
import { defaultAmrCredentials } from '../../adapters/amr-enterprise/simulator.js';
import { NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET } from '../../adapters/nrb-realestate/simulator.js';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../../adapters/psb-population/simulator.js';
import type { ClientTuning } from '../../adapters/sdk/client.js';
import { accessRequests } from '../../gateway/db/schema.js';
import { type TestGateway, bearer } from '../harness.js';

/**
 * The environment every in-process fault gateway needs: departments on loopback, and a per-client
 * request limit far above what the suite sends (a rate-limited answer would hide the fault).
 */
export const loopbackDepartments = {
  DEPARTMENT_ALLOWED_HOSTS: '127.0.0.1',
  DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  CLIENT_REQUESTS_PER_MINUTE: '1000000',
};

/** Waits `ms`; also lets timers and sockets run between in-process calls that never leave the event loop's microtasks. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function psbDepartment(code: string, baseUrl: string, tuning: ClientTuning = {}): Record<string, unknown> {
  return {
    code,
    name: `Population registry (${code})`,
    adapter: 'psb-population',
    baseUrl,
    options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
    tuning,
  };
}

export function amrDepartment(code: string, baseUrl: string, tuning: ClientTuning = {}): Record<string, unknown> {
  return {
    code,
    name: `Enterprise registry (${code})`,
    adapter: 'amr-enterprise',
    baseUrl,
    options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
    tuning,
  };
}

export function nrbDepartment(code: string, baseUrl: string, tuning: ClientTuning = {}): Record<string, unknown> {
  return {
    code,
    name: `Real-estate registry (${code})`,
    adapter: 'nrb-realestate',
    baseUrl,
    options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
    tuning,
  };
}

/** A window client holding an approved grant for the population register, and one subject. */
export async function identityVerifier(
  gw: TestGateway,
  person: { identifier: string; name: string },
): Promise<{ token: string; subjectId: string }> {
  const window = await gw.createClient('window');
  const token = (await gw.services.tokens.issue(window.client, ['subjects:read', 'subjects:write', 'subjects:unmask']))
    .accessToken;
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: `acr_fault_${window.client.id}`,
    resourceCode: 'psb.population',
    clientId: window.client.id,
    purpose: 'verify applicants',
    legalBasis: 'fault suite',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_fault_suite',
  });
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { 'onewindow-purpose': 'case_acceptance', 'content-type': 'application/json' }),
    body: JSON.stringify({ identifierType: 'resident_id', identifier: person.identifier, name: person.name }),
  });
  if (resolved.status >= 300) throw new Error(`resolve: ${resolved.status} ${await resolved.text()}`);
  return { token, subjectId: ((await resolved.json()) as { id: string }).id };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs `work` and returns its result with the milliseconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

/** Prints one measured figure so a reader of the run sees it (vitest shows test stdout). */
export function figure(label: string, value: string): void {
  process.stdout.write(`[faults] ${label}: ${value}\n`);
}

export function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
