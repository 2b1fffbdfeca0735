/**
 * Test harness: an in-process gateway built by the same app factory as the server, on a fresh
 * database per test file (in-memory PGlite by default; a new database on the PostgreSQL server
 * named by DATABASE_URL when that is set), with helpers to create clients and mint tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import postgres from 'postgres';
import { type GatewayApp, createApp } from '../gateway/app.js';
import { createClient, type ClientRecord } from '../gateway/auth/clients.js';
import { type ClientKind, type Scope, scopesAllowedForKind } from '../gateway/auth/scopes.js';
import { type Config, parseConfig } from '../gateway/config.js';
import { type DatabaseHandle, openDatabase } from '../gateway/db/client.js';
import { accessRequests } from '../gateway/db/schema.js';
import type { Clock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type GatewayServices, closeServices, createServices } from '../gateway/services.js';

/** The PostgreSQL server tests use when DATABASE_URL is set; undefined means PGlite. */
export const testPostgresUrl = process.env.DATABASE_URL;

/**
 * The algorithms the whole suite runs under when asked (CI's second pass): TEST_DATA_PROTECTION
 * (DATA_PROTECTION, e.g. `sm4-gcm`) and TEST_SIGNING_ALG (SIGNING_ALG, e.g. `SM2`). A test that
 * sets either itself wins.
 */
const cryptographyProfile: Record<string, string> = {
  ...(process.env.TEST_DATA_PROTECTION ? { DATA_PROTECTION: process.env.TEST_DATA_PROTECTION } : {}),
  ...(process.env.TEST_SIGNING_ALG ? { SIGNING_ALG: process.env.TEST_SIGNING_ALG } : {}),
};

export interface TestDatabase {
  environment: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database (in-memory PGlite, or a newly created PostgreSQL database) and a fresh
 * data folder (DATA_DIR) beside it: the key files and the audit witness belong to one database,
 * as a deployment's do, and never land in the repository's `.data`.
 */
export async function freshDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ow-data-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (!testPostgresUrl)
    return {
      environment: { PGLITE_DATA_DIR: 'memory://', DATA_DIR: dataDir, ...cryptographyProfile },
      drop: async () => removeDataDir(),
    };
  const name = `ow_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(testPostgresUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  return {
    environment: { DATABASE_URL: url.toString(), DATA_DIR: dataDir, ...cryptographyProfile },
    drop: async () => {
      const dropper = postgres(testPostgresUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      await dropper.end();
      removeDataDir();
    },
  };
}

/** Captures log lines so tests can assert what was (and was not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.length > 0),
    );
    callback();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestGateway {
  app: GatewayApp;
  services: GatewayServices;
  config: Config;
  database: DatabaseHandle;
  logs: LogCapture;
  /** Sends a request through the app in-process. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Registers a client directly in the registry. */
  createClient(
    kind: ClientKind,
    options?: { scopes?: Scope[]; departmentCode?: string },
  ): Promise<{ client: ClientRecord; secret: string }>;
  /** A client of `kind` and a token for it with `scopes` (default: all scopes the kind allows). */
  tokenFor(kind: ClientKind, scopes?: Scope[], options?: { departmentCode?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Where the gateway reads "today" from; date-dependent tests fix it so they never depend on the day they run. */
  clock?: Clock;
  /**
   * Embedded PGlite in a folder, as a deployment runs it, not in memory. The in-memory file system
   * grows a file by copying all of it: with tens of MB written, one growth held the event loop
   * 60–300 ms, which the event-loop bound tests would measure instead of the gateway.
   */
  pgliteOnDisk?: boolean;
}

export async function createTestGateway(
  environment: Record<string, string> = {},
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const fresh = await freshDatabase();
  const config = parseConfig({
    LOG_LEVEL: 'info',
    ONEWINDOW_DEMO: 'false',
    PUBLIC_BASE_URL: 'http://gateway.test',
    ...fresh.environment,
    ...(options.pgliteOnDisk && fresh.environment.PGLITE_DATA_DIR
      ? { PGLITE_DATA_DIR: join(fresh.environment.DATA_DIR ?? tmpdir(), 'pglite') }
      : {}),
    ...environment,
  });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const database = await openDatabase(config.database);
  await database.migrate();
  let services: GatewayServices;
  try {
    services = await createServices(config, database, logger, options.clock ? { clock: options.clock } : {});
  } catch (error) {
    await database.close();
    await fresh.drop();
    throw error;
  }
  const app = createApp(services);
  const clientCache = new Map<string, ClientRecord>();

  const gateway: TestGateway = {
    app,
    services,
    config,
    database,
    logs,
    request: async (path, init) => app.request(path, init),
    createClient: (kind, options = {}) =>
      createClient(database.db, services.clientSecrets, {
        name: `test ${kind}`,
        kind,
        scopes: options.scopes ?? [...scopesAllowedForKind[kind]],
        departmentCode: kind === 'department' ? (options.departmentCode ?? 'TESTDEPT') : null,
      }),
    tokenFor: async (kind, scopes, options = {}) => {
      const key = `${kind}:${options.departmentCode ?? ''}`;
      let client = clientCache.get(key);
      if (!client) {
        client = (await gateway.createClient(kind, options)).client;
        clientCache.set(key, client);
      }
      const issued = await services.tokens.issue(client, scopes ?? [...scopesAllowedForKind[kind]]);
      return issued.accessToken;
    },
    close: async () => {
      await closeServices(services);
      await database.close();
      await fresh.drop();
    },
  };
  return gateway;
}

export function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

/** The JSON body of an answer of `status`; otherwise throws with the status and body that came instead. */
export async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export interface CallInit {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  token?: string;
}

/**
 * A caller of the gateway `gateway()` as the window holding `token()` (both read at each call, so a
 * test can set them in `beforeAll`): a body goes as JSON, POST unless `method` says otherwise.
 */
export function windowCaller(
  gateway: () => TestGateway,
  token: () => string,
): (path: string, init?: CallInit) => Promise<Response> {
  return (path, init = {}) =>
    gateway().request(path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: bearer(init.token ?? token(), {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.headers ?? {}),
      }),
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
}

export async function problemOf(
  response: Response,
): Promise<{ code: string; status: number; requestId?: string; [key: string]: unknown }> {
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/problem+json')) {
    throw new Error(`expected a problem document, got ${response.status} ${contentType}: ${await response.text()}`);
  }
  return (await response.json()) as { code: string; status: number };
}

/** The scopes a window system uses for case work. */
export const CASE_WINDOW_SCOPES: readonly Scope[] = [
  'subjects:read',
  'subjects:write',
  'materials:read',
  'materials:write',
  'certificates:read',
  'cases:read',
  'cases:write',
];

/**
 * A window system for case work: registered, given a token with `scopes`, and granted the
 * departments' conditional `resources` as if each owner had approved its access request.
 */
export async function caseWindow(
  gateway: TestGateway,
  resources: readonly string[] = ['psb.population', 'nrb.real-estate', 'amr.enterprise'],
  scopes: readonly Scope[] = CASE_WINDOW_SCOPES,
): Promise<{ client: ClientRecord; token: string }> {
  const { client } = await gateway.createClient('window');
  const token = (await gateway.services.tokens.issue(client, [...scopes])).accessToken;
  const now = new Date();
  for (const resourceCode of resources) {
    await gateway.services.db.insert(accessRequests).values({
      id: `acr_${client.id.slice(-12)}_${resourceCode}`,
      resourceCode,
      clientId: client.id,
      purpose: 'window cases',
      legalBasis: 'test',
      status: 'approved',
      requestedAt: now,
      decidedAt: now,
      decidedByClientId: 'cli_test',
    });
  }
  return { client, token };
}
