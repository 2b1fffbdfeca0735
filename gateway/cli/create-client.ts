/**
 * `npm run clients:create -- --name "City centre window 3" --kind window [--scopes a,b] [--department PSB]`
 * Registers a client system directly in the database and prints its id and secret (shown once).
 */
import { parseArgs } from 'node:util';
import { createClient } from '../auth/clients.js';
import { ClientSecrets } from '../auth/secrets.js';
import { type ClientKind, type Scope, clientKinds, isScope } from '../auth/scopes.js';
import { recordAudit } from '../audit/record.js';
import { ConfigError, loadConfigFromProcess } from '../config.js';
import { openDatabase } from '../db/client.js';
import { ApiError } from '../platform/errors.js';

const usage =
  'usage: npm run clients:create -- --name NAME --kind window|department|integrator|auditor|admin [--scopes s1,s2] ' +
  '[--department CODE] [--json]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      kind: { type: 'string' },
      scopes: { type: 'string' },
      department: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.name) fail('--name is required');
  const kind = values.kind;
  if (!kind || !(clientKinds as readonly string[]).includes(kind))
    fail(`--kind must be one of ${clientKinds.join(', ')}`);
  const scopes = values.scopes?.split(',').map((scope) => scope.trim());
  const unknown = scopes?.filter((scope) => !isScope(scope)) ?? [];
  if (unknown.length > 0) fail(`unknown scopes: ${unknown.join(', ')}`);

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
    const secrets = await ClientSecrets.open(config.clientSecretPepperFile);
    const created = await database.db.transaction(async (tx) => {
      const result = await createClient(tx, secrets, {
        name: values.name ?? '',
        kind: kind as ClientKind,
        ...(scopes ? { scopes: scopes as Scope[] } : {}),
        departmentCode: values.department ?? null,
      });
      await recordAudit(tx, {
        actor: { clientId: 'cli_admin_command', kind: 'admin' },
        action: 'client.create',
        outcome: 'allowed',
        fields: [`client:${result.client.id}`],
      });
      return result;
    });
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ clientId: created.client.id, clientSecret: created.secret, client: created.client })}\n`,
      );
    } else {
      process.stdout.write(
        `client_id:     ${created.client.id}\nclient_secret: ${created.secret}\n` +
          `kind:          ${created.client.kind}\nscopes:        ${created.client.scopes.join(' ')}\n` +
          'The secret is shown only now; it is stored only as a keyed hash.\n',
      );
    }
  } catch (error) {
    if (error instanceof ApiError) fail(error.message);
    throw error;
  } finally {
    await database.close();
  }
}

await main();
