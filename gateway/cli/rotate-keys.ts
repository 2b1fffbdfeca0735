/**
 * `npm run keys:rotate`: makes a new token and certificate-envelope signing key active. The
 * previous key stays in the JWKS for RETIRED_KEY_PUBLISH_SECONDS so that tokens and signatures it
 * made keep verifying. Running instances pick the new key up within 30 seconds. The new private
 * key is sealed with the key-encryption key file (SIGNING_KEY_ENCRYPTION_KEY_FILE), so run it
 * where the gateway runs; it never creates that file. (The audit checkpoint key is a file of its
 * own: see docs/audit-trust.md for rotating it.)
 */
import { KeyEncryptionKeyMismatchError, KeyStore } from '../auth/keys.js';
import { recordAudit } from '../audit/record.js';
import { ConfigError, loadConfigFromProcess } from '../config.js';
import { openDatabase } from '../db/client.js';
import { PrivateFileError } from '../platform/private-files.js';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (config.signing.keyFiles) {
    process.stderr.write(
      'Keys come from SIGNING_KEY_FILES: rotate by putting the new key file first and restarting.\n',
    );
    return 2;
  }
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    const keys = new KeyStore(database.db, config.signing, { keyEncryptionKey: 'require' });
    try {
      await keys.initialise();
    } catch (error) {
      if (error instanceof PrivateFileError || error instanceof KeyEncryptionKeyMismatchError) {
        process.stderr.write(`keys:rotate: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
    const rotated = await keys.rotate();
    await recordAudit(database.db, {
      actor: { clientId: 'cli_admin_command', kind: 'admin' },
      action: 'keys.rotate',
      outcome: 'allowed',
      fields: [`kid:${rotated.kid}`],
    });
    process.stdout.write(`active key: ${rotated.kid}\nretired:    ${rotated.retired.join(', ') || '(none)'}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

process.exitCode = await main();
