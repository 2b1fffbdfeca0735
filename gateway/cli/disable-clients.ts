/**
 * `npm run clients:disable -- --demo` or `npm run clients:disable -- ID [ID …]`
 * Disables client systems directly in the database, as `POST /v1/clients/{id}/disable` does, for
 * when no administrator can sign in — above all the demo clients an earlier demo start left in a
 * database that is now to be reachable from other machines (gateway/demo/exposure.ts).
 * Idempotent: a client already disabled stays as it is.
 */
import { parseArgs } from 'node:util';
import { recordAudit } from '../audit/record.js';
import { disableClient } from '../auth/clients.js';
import { ConfigError, loadConfigFromProcess } from '../config.js';
import { openDatabase } from '../db/client.js';
import { enabledDemoClients } from '../demo/exposure.js';
import { ApiError } from '../platform/errors.js';

const usage = 'usage: npm run clients:disable -- --demo | CLIENT_ID [CLIENT_ID …]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { demo: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (values.demo === positionals.length > 0) fail('give either --demo or client ids');

  let config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    const ids = values.demo ? await enabledDemoClients(database.db) : positionals;
    if (ids.length === 0) process.stdout.write('No demo client is enabled.\n');
    for (const id of ids) {
      await database.db.transaction(async (tx) => {
        await disableClient(tx, id);
        await recordAudit(tx, {
          actor: { clientId: 'cli_admin_command', kind: 'admin' },
          action: 'client.disable',
          outcome: 'allowed',
          fields: [`client:${id}`],
        });
      });
      process.stdout.write(`disabled ${id}\n`);
    }
  } catch (error) {
    if (error instanceof ApiError) fail(error.message);
    throw error;
  } finally {
    await database.close();
  }
}

await main();
