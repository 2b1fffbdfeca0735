/**
 * The supervision figures survive a restart: department calls made by one gateway process are read
 * back, the same, by a second process started on the same database (a PGlite folder on disk, or the
 * PostgreSQL database of DATABASE_URL). Before, the department call counts lived in process memory
 * and a restart reset them to zero next to the delivered cases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../adapters/psb-population/simulator.js';
import { createApp } from '../gateway/app.js';
import { type ClientRecord, createClient } from '../gateway/auth/clients.js';
import { parseConfig } from '../gateway/config.js';
import { openDatabase } from '../gateway/db/client.js';
import { createLogger } from '../gateway/platform/logger.js';
import { closeServices, createServices } from '../gateway/services.js';
import type { SupervisionSummary } from '../gateway/supervision/summary.js';
import { LogCapture, bearer, freshDatabase, testPostgresUrl } from './harness.js';

/** A clock the test moves: calls on two days. */
let now = new Date('2026-10-14T02:00:00Z');
const clock = { now: () => now };

const fresh = await freshDatabase();
const pgliteFolder = testPostgresUrl ? null : mkdtempSync(join(tmpdir(), 'ow-restart-'));
const config = parseConfig({
  LOG_LEVEL: 'info',
  ONEWINDOW_DEMO: 'false',
  DELIVERY_WORKER: 'false',
  DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  DEPARTMENTS_JSON: JSON.stringify([
    {
      code: 'PSB',
      name: 'Population registry',
      adapter: 'psb-population',
      baseUrl: 'http://127.0.0.1:9',
      options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
    },
  ]),
  ...fresh.environment,
  ...(pgliteFolder ? { PGLITE_DATA_DIR: pgliteFolder } : {}),
});

afterAll(async () => {
  await fresh.drop();
  if (pgliteFolder) rmSync(pgliteFolder, { recursive: true, force: true });
});

/** One gateway process: opened, used, closed as a shutdown closes it. */
async function runGateway<T>(
  use: (gateway: {
    services: Awaited<ReturnType<typeof createServices>>;
    app: ReturnType<typeof createApp>;
  }) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(config.database);
  await database.migrate();
  const services = await createServices(config, database, createLogger('info', new LogCapture()), { clock });
  try {
    return await use({ services, app: createApp(services) });
  } finally {
    await closeServices(services);
    await database.close();
  }
}

const OCTOBER_15 = { from: '2026-10-15', to: '2026-10-15' };
const OCTOBER = { from: '2026-10-01', to: '2026-10-31' };

async function psbFigures(
  app: ReturnType<typeof createApp>,
  token: string,
  period: { from: string; to: string },
): Promise<SupervisionSummary['departments'][number] | undefined> {
  const response = await app.request(`/v1/supervision/summary?from=${period.from}&to=${period.to}`, {
    headers: bearer(token),
  });
  expect(response.status).toBe(200);
  const summary = (await response.json()) as SupervisionSummary;
  return summary.departments.find((department) => department.code === 'PSB');
}

// Migrating a PGlite folder on disk takes a while on a busy machine.
const STARTS = 180_000;

describe('department call figures across a restart', () => {
  let auditor: ClientRecord;
  const before: Record<string, unknown> = {};

  it(
    'are counted per day in the database by the first process',
    async () => {
      await runGateway(async ({ services, app }) => {
        auditor = (
          await createClient(services.db, services.clientSecrets, {
            name: 'restart auditor',
            kind: 'auditor',
            scopes: ['supervision:read'],
            departmentCode: null,
          })
        ).client;
        // 14 October (China): two calls answered.
        now = new Date('2026-10-14T02:00:00Z');
        services.departmentMetrics.observeCall('PSB', 'verifyIdentity', 'ok', 0.05);
        services.departmentMetrics.observeCall('PSB', 'fetchCertificate', 'ok', 0.07);
        // 15 October, 09:00 and 09:30 China time: one answered, one timed out.
        now = new Date('2026-10-15T01:00:00Z');
        services.departmentMetrics.observeCall('PSB', 'verifyIdentity', 'ok', 0.04);
        now = new Date('2026-10-15T01:30:00Z');
        services.departmentMetrics.observeCall('PSB', 'verifyIdentity', 'timeout', 5);
        const token = (await services.tokens.issue(auditor, ['supervision:read'])).accessToken;

        const day = await psbFigures(app, token, OCTOBER_15);
        expect(day).toMatchObject({
          calls: 2,
          errors: 1,
          errorsByKind: { timeout: 1 },
          lastError: { kind: 'timeout', at: '2026-10-15T01:30:00.000Z' },
        });
        const month = await psbFigures(app, token, OCTOBER);
        expect(month).toMatchObject({ calls: 4, errors: 1 });
        before.day = day;
        before.month = month;
        // One more call after the last read: written at shutdown, not lost.
        services.departmentMetrics.observeCall('PSB', 'queryCaseStatus', 'ok', 0.03);
      });
    },
    STARTS,
  );

  it(
    'are the same when a second process reads them (plus the call written at shutdown)',
    async () => {
      await runGateway(async ({ services, app }) => {
        const token = (await services.tokens.issue(auditor, ['supervision:read'])).accessToken;
        // The in-memory figures of the new process start at zero…
        expect(services.departmentMetrics.snapshot('PSB').calls).toBe(0);
        // …the page's figures do not.
        const day = await psbFigures(app, token, OCTOBER_15);
        const month = await psbFigures(app, token, OCTOBER);
        expect({ ...day, latencyMs: null }).toEqual({
          ...(before.day as object),
          calls: 3,
          latencyMs: null,
        });
        expect(month).toMatchObject({ calls: 5, errors: 1, errorsByKind: { timeout: 1 } });

        const page = await app.request(`/supervision?from=${OCTOBER_15.from}&to=${OCTOBER_15.to}&lang=en`, {
          headers: bearer(token),
        });
        const html = await page.text();
        const row = /<tr data-department="PSB">(.*?)<\/tr>/s.exec(html)?.[1] ?? '';
        const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((match) => match[1]);
        // Department, breaker, calls, errors…
        expect(cells.slice(2, 4)).toEqual(['3', '1']);
      });
    },
    STARTS,
  );
});
