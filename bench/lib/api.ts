/**
 * Setup calls to the gateway's HTTP API shared by the benchmarks that drive it as the demo window
 * (bench/cases.ts, bench/certificates.ts, bench/mixed-load.ts): a JSON call checked against the
 * expected statuses, a client-credentials token, the psb.population grant the 5-minute walk-through
 * (docs/walk-through.md) makes, and resolving an applicant. Only for setup and checks: the load itself has its
 * own clients (autocannon, undici pools), so none of this is in the measured path.
 */
import { request } from 'undici';

export interface ClientCredentials {
  id: string;
  secret: string;
}

/** The demo window client (a case worker's desk). */
export const WINDOW_CLIENT: ClientCredentials = { id: 'cli_demo_window', secret: 'demo-window-secret' };
/** The demo department client is the PSB's: it approves the window's grant for psb.population. */
export const PSB_CLIENT: ClientCredentials = { id: 'cli_demo_department', secret: 'demo-department-secret' };
/** The demo supervision office: reads the audit log (a baseline copies the entries the gateway writes). */
export const AUDITOR_CLIENT: ClientCredentials = { id: 'cli_demo_auditor', secret: 'demo-auditor-secret' };
/** The purpose every personal-data read of the benchmarks declares. */
export const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** One request; throws with the method, URL, status and the start of the answer unless the status is expected. */
export async function callJson<T>(url: string, expected: number[], options: CallOptions = {}): Promise<T> {
  const response = await request(url, {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    body: options.body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.body.text();
  if (!expected.includes(response.statusCode))
    throw new Error(`${options.method ?? 'GET'} ${url}: HTTP ${response.statusCode}: ${text.slice(0, 600)}`);
  return JSON.parse(text) as T;
}

export const basicAuth = (client: ClientCredentials): string =>
  `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
export const jsonHeaders = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});

export async function issueToken(gatewayUrl: string, client: ClientCredentials): Promise<string> {
  const issued = await callJson<{ access_token: string }>(`${gatewayUrl}/oauth/token`, [200], {
    method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return issued.access_token;
}

/**
 * As the 5-minute walk-through (docs/walk-through.md, step 11): the window asks for psb.population (a conditional resource), the
 * PSB's client approves. `purpose` is what the request says it is for (it names the benchmark).
 */
export async function grantPopulationRegistry(gatewayUrl: string, windowToken: string, purpose: string): Promise<void> {
  const asked = await callJson<{ id: string }>(`${gatewayUrl}/v1/contracts/psb.population/access-requests`, [201], {
    method: 'POST',
    headers: jsonHeaders(windowToken),
    body: JSON.stringify({ purpose, legalBasis: 'Benchmark data' }),
  });
  const departmentToken = await issueToken(gatewayUrl, PSB_CLIENT);
  await callJson(`${gatewayUrl}/v1/access-requests/${asked.id}/decision`, [200], {
    method: 'POST',
    headers: jsonHeaders(departmentToken),
    body: JSON.stringify({ decision: 'approve', reason: 'Benchmark' }),
  });
}

/** The subject id of a person (resident_id) or an organisation (credit_code), created on first sight. */
export async function resolveSubject(
  gatewayUrl: string,
  token: string,
  identifierType: 'resident_id' | 'credit_code',
  subject: { identifier: string; name: string },
): Promise<string> {
  const resolved = await callJson<{ id: string }>(`${gatewayUrl}/v1/subjects/resolve`, [200, 201], {
    method: 'POST',
    headers: { ...jsonHeaders(token), ...PURPOSE },
    body: JSON.stringify({ identifierType, ...subject }),
  });
  return resolved.id;
}
