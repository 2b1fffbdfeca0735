/**
 * The demo guard's second half (gateway/demo/exposure.ts): a database seeded by an earlier demo
 * start keeps its demo clients, so a later start on a non-loopback HOST with the demo off is
 * refused until they are disabled (`npm run clients:disable -- --demo`), or the demo is forced.
 * On PGlite (a folder on disk, opened by one process at a time) or PostgreSQL when DATABASE_URL is set.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { DemoClientsExposedError, demoClientIds } from '../gateway/demo/exposure.js';
import { createLogger } from '../gateway/platform/logger.js';
import { startGateway } from '../gateway/server.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';

const run = promisify(execFile);

let database: TestDatabase;
let environment: Record<string, string>;

/** Starts the gateway with `settings`, on port 0 and without the department simulators. */
function start(settings: Record<string, string>) {
  const config = parseConfig({ ...environment, PORT: '0', DEMO_SIMULATORS: 'false', ...settings });
  return startGateway(config, createLogger('info', new LogCapture()));
}

async function signInAsDemoAdmin(url: string): Promise<number> {
  const response = await fetch(`${url.replace('0.0.0.0', '127.0.0.1')}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('cli_demo_admin:demo-admin-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  await response.body?.cancel();
  return response.status;
}

beforeAll(async () => {
  database = await freshDatabase();
  environment = database.environment.DATABASE_URL
    ? database.environment
    : { ...database.environment, PGLITE_DATA_DIR: join(database.environment.DATA_DIR ?? '', 'pglite') };
  // An earlier demo start, on loopback as the demo must be: it seeds the demo clients.
  const demo = await start({ ONEWINDOW_DEMO: 'true' });
  await demo.shutdown('test');
}, 120_000);

afterAll(async () => {
  await database?.drop();
});

describe('demo clients left in the database', () => {
  it('refuse a start on a non-loopback HOST with the demo off, naming the clients and the ways out', async () => {
    const refusal = await start({ HOST: '0.0.0.0', ONEWINDOW_DEMO: 'false' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(DemoClientsExposedError);
    const error = refusal as DemoClientsExposedError;
    expect(error.clientIds).toEqual([...demoClientIds].sort());
    expect(error.message).toContain('HOST=0.0.0.0');
    expect(error.message).toContain('cli_demo_admin');
    expect(error.message).toContain('npm run clients:disable -- --demo');
    expect(error.message).toContain('POST /v1/clients/{id}/disable');
    expect(error.message).toContain('ONEWINDOW_DEMO=force');
  }, 60_000);

  it('do not stop a start on loopback, nor one with ONEWINDOW_DEMO=force', async () => {
    const loopback = await start({ ONEWINDOW_DEMO: 'false' });
    await loopback.shutdown('test');
    const forced = await start({ HOST: '0.0.0.0', ONEWINDOW_DEMO: 'force' });
    try {
      expect(await signInAsDemoAdmin(forced.url)).toBe(200);
    } finally {
      await forced.shutdown('test');
    }
  }, 60_000);

  it('once disabled with `npm run clients:disable -- --demo`, let the start go on and sign in no more', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'gateway/cli/disable-clients.ts', '--demo'], {
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL' && key !== 'PGLITE_DATA_DIR'),
        ),
        ...environment,
      },
      timeout: 60_000,
    });
    for (const id of demoClientIds) expect(stdout).toContain(`disabled ${id}`);
    const gateway = await start({ HOST: '0.0.0.0', ONEWINDOW_DEMO: 'false' });
    try {
      expect(await signInAsDemoAdmin(gateway.url)).toBe(401);
    } finally {
      await gateway.shutdown('test');
    }
  }, 120_000);
});
