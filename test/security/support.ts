/**
 * The security suite's gateway: a real HTTP server on loopback (the same `startGateway` as
 * `npm start`), its log lines captured, and every response the suite receives recorded, so that
 * each file can end by scanning what the gateway said and logged for personal ID numbers that
 * must not appear in clear.
 */
import { type ClientKind, type Scope, scopesAllowedForKind } from '../../gateway/auth/scopes.js';
import { createClient } from '../../gateway/auth/clients.js';
import { parseConfig } from '../../gateway/config.js';
import { residentIdCheckCharacter } from '../../gateway/identity/identifiers.js';
import { createLogger } from '../../gateway/platform/logger.js';
import { type RunningGateway, type StartOptions, startGateway } from '../../gateway/server.js';
import { LogCapture, freshDatabase } from '../harness.js';

/** One response as the suite received it: enough to say where a leak came from. */
export interface RecordedExchange {
  method: string;
  path: string;
  status: number;
  headers: string;
  body: string;
  /** True where the caller held `subjects:unmask` and asked for clear data, so clear ID numbers are expected. */
  clearDataExpected: boolean;
}

export interface SecurityGateway {
  url: string;
  running: RunningGateway;
  logs: LogCapture;
  exchanges: RecordedExchange[];
  /** Sends a request to the server over HTTP and records the response (read as text once). */
  send(
    path: string,
    init?: RequestInit & { clearDataExpected?: boolean },
  ): Promise<{ status: number; headers: Headers; text: string; json<T = unknown>(): T }>;
  /** A newly registered client of `kind` with its secret. */
  client(
    kind: ClientKind,
    options?: { scopes?: Scope[]; departmentCode?: string },
  ): Promise<{ id: string; secret: string }>;
  /** A token for a new client of `kind` (default: every scope the kind may hold). */
  token(kind: ClientKind, options?: { scopes?: Scope[]; departmentCode?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startSecurityGateway(
  environment: Record<string, string> = {},
  options: StartOptions = {},
): Promise<SecurityGateway> {
  const database = await freshDatabase();
  const logs = new LogCapture();
  let running: RunningGateway;
  try {
    const config = parseConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ONEWINDOW_DEMO: 'false',
      PUBLIC_BASE_URL: 'http://gateway.test',
      ...database.environment,
      ...environment,
    });
    running = await startGateway(config, createLogger(config.logLevel, logs), options);
  } catch (error) {
    // A configuration the test expects to be refused must not leave its database behind.
    await database.drop();
    throw error;
  }
  const exchanges: RecordedExchange[] = [];

  const gateway: SecurityGateway = {
    url: running.url,
    running,
    logs,
    exchanges,
    async send(path, init = {}) {
      const { clearDataExpected = false, ...request } = init;
      const response = await fetch(`${running.url}${path}`, { signal: AbortSignal.timeout(20_000), ...request });
      const text = await response.text();
      const headers: string[] = [];
      response.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
      exchanges.push({
        method: request.method ?? 'GET',
        path,
        status: response.status,
        headers: headers.join('\n'),
        body: text,
        clearDataExpected,
      });
      return {
        status: response.status,
        headers: response.headers,
        text,
        json<T>(): T {
          return JSON.parse(text) as T;
        },
      };
    },
    async client(kind, options = {}) {
      const { client, secret } = await createClient(running.services.db, running.services.clientSecrets, {
        name: `security ${kind}`,
        kind,
        scopes: options.scopes ?? [...scopesAllowedForKind[kind]],
        departmentCode: kind === 'department' ? (options.departmentCode ?? 'TESTDEPT') : null,
      });
      return { id: client.id, secret };
    },
    async token(kind, options = {}) {
      const { id, secret } = await gateway.client(kind, options);
      const answer = await gateway.send('/oauth/token', {
        method: 'POST',
        headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      if (answer.status !== 200) throw new Error(`token for ${kind}: ${answer.status} ${answer.text}`);
      return answer.json<{ access_token: string }>().access_token;
    },
    async close() {
      await running.shutdown('security suite end');
      await database.drop();
    },
  };
  return gateway;
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

export function bearerHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

/**
 * Resident ID numbers (GB 11643) in `text` whose check character is right: what a leak of a real
 * number looks like. Masked forms (110105********002X) and random digit runs do not match.
 */
export function findResidentIdNumbers(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?<![0-9A-Za-z])([1-9]\d{16}[0-9Xx])(?![0-9A-Za-z])/g)) {
    const candidate = match[1] ?? '';
    if (residentIdCheckCharacter(candidate.slice(0, 17)) === candidate.slice(17).toUpperCase()) found.push(candidate);
  }
  return found;
}

/** Every clear ID number in the recorded responses (except where clear data was asked for) and in the logs. */
export function unmaskedIdNumberLeaks(gateway: SecurityGateway): string[] {
  const leaks: string[] = [];
  for (const exchange of gateway.exchanges) {
    if (exchange.clearDataExpected) continue;
    for (const number of findResidentIdNumbers(`${exchange.headers}\n${exchange.body}`)) {
      leaks.push(`${exchange.method} ${exchange.path} → ${exchange.status}: ${number}`);
    }
  }
  for (const number of findResidentIdNumbers(gateway.logs.text())) leaks.push(`log: ${number}`);
  return leaks;
}
