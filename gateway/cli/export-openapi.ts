/**
 * Writes the gateway's OpenAPI 3.1 document to contracts/onewindow.openapi.json (`npm run openapi`),
 * or with `--check` fails when the committed copy differs from what the code produces (CI).
 * The document depends only on the routes, so the app is built over an in-memory database.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../app.js';
import { parseConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { buildOpenApiDocument } from '../operations/docs-routes.js';
import { createLogger } from '../platform/logger.js';
import { createServices } from '../services.js';

const target = fileURLToPath(new URL('../../contracts/onewindow.openapi.json', import.meta.url));

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  // A throw-away data folder: the services create key files at start, which have no place here.
  const dataDir = await mkdtemp(join(tmpdir(), 'ow-openapi-'));
  const config = parseConfig({
    PGLITE_DATA_DIR: 'memory://',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ONEWINDOW_DEMO: 'false',
  });
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    const app = createApp(await createServices(config, database, createLogger('silent')));
    const rendered = `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
    if (!check) {
      await writeFile(target, rendered);
      process.stdout.write(`wrote ${target}\n`);
      return 0;
    }
    const committed = await readFile(target, 'utf8').catch(() => '');
    if (committed !== rendered) {
      process.stderr.write('contracts/onewindow.openapi.json is stale: run `npm run openapi` and commit the result.\n');
      return 1;
    }
    process.stdout.write('contracts/onewindow.openapi.json is up to date\n');
    return 0;
  } finally {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
