/**
 * `npm run data-keys -- <command>`: the data keys that seal personal data at rest
 * (gateway/protection, docs/national-cryptography.md). Run where the gateway runs: it needs the
 * key-encryption key file (DATA_KEY_ENCRYPTION_KEY_FILE) and the gateway's DATA_PROTECTION.
 *
 *   status   the data keys and how many subjects are in clear or under an earlier key
 *   rotate   a new active sealing key, then every subject, certificate and document sealed again under it
 *   reseal   everything in clear or under an earlier key sealed under the active key
 *
 * Running instances open values under a key they have not seen by reading the keys again.
 */
import { count, notLike, or } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import { ConfigError, loadConfigFromProcess } from '../config.js';
import { openDatabase } from '../db/client.js';
import { runCommand, UsageError } from './database.js';
import { dataKeys, subjects } from '../db/schema.js';
import { sealStoredCertificates } from '../certificates/store.js';
import { sealStoredSubjects } from '../identity/subjects.js';
import { resealBlobs } from '../materials/blob-sealing.js';
import { createConfiguredBlobStore } from '../materials/blob-stores.js';
import { PrivateFileError } from '../platform/private-files.js';
import { DataKeyError, DataProtection } from '../protection/data-protection.js';
import pino from 'pino';

const USAGE = 'usage: npm run data-keys -- status | rotate | reseal';

/** Errors an operator fixes without a stack trace: the configuration, the key files, the data keys. */
async function asUsageError<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PrivateFileError || error instanceof DataKeyError)
      throw new UsageError(error.message);
    throw error;
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const command = argv[0];
  if (command === undefined || !['status', 'rotate', 'reseal'].includes(command) || argv.length > 1)
    throw new UsageError(USAGE);
  const config = await asUsageError(() => loadConfigFromProcess());
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    const protection = await asUsageError(() =>
      DataProtection.start(database.db, config.protection, pino({ level: 'warn' })),
    );
    if (command === 'status') {
      const keys = await database.db.select().from(dataKeys).orderBy(dataKeys.createdAt);
      for (const key of keys)
        process.stdout.write(
          `${key.id}  ${key.purpose.padEnd(5)}  ${key.algorithm.padEnd(11)}  ${key.active ? 'active ' : 'retired'}  wrapped by ${key.kekId}\n`,
        );
      const [clear] = await database.db
        .select({ n: count() })
        .from(subjects)
        .where(or(notLike(subjects.identifier, 'ow1.%'), notLike(subjects.name, 'ow1.%')));
      const prefix = protection.currentSealPrefix;
      const [outdated] = prefix
        ? await database.db
            .select({ n: count() })
            .from(subjects)
            .where(or(notLike(subjects.identifier, `${prefix}%`), notLike(subjects.name, `${prefix}%`)))
        : [{ n: 0 }];
      process.stdout.write(
        `protection: ${protection.mode}\nsubjects in clear: ${clear?.n ?? 0}\nsubjects not under the active key: ${outdated?.n ?? 0}\n`,
      );
      return 0;
    }
    if (command === 'rotate') {
      const id = await asUsageError(() => protection.rotateSealingKey());
      process.stdout.write(`active sealing key: ${id}\n`);
    }
    const { sealed, left } = await sealStoredSubjects(database.db, protection, { allKeys: true });
    const certificateRows = await sealStoredCertificates(database.db, protection, { allKeys: true });
    // Documents too: those kept in clear or under an earlier key, each replaced atomically.
    const blobs = await resealBlobs(
      createConfiguredBlobStore(config.materials, database.db, {}, protection),
      protection,
    );
    await recordAudit(database.db, {
      actor: { clientId: 'cli_admin_command', kind: 'admin' },
      action: `data_keys.${command}`,
      outcome: 'allowed',
      fields: [
        `sealed:${sealed}`,
        `certificate_rows:${certificateRows}`,
        `documents:${blobs.resealed}`,
        `documents_failed:${blobs.failed.length}`,
        `left:${left.length}`,
      ],
    });
    process.stdout.write(
      `subjects sealed again: ${sealed}\ncertificates and revocations sealed again: ${certificateRows}\n`,
    );
    process.stdout.write(
      `documents sealed again: ${blobs.resealed} (already under the active key: ${blobs.current})\n`,
    );
    if (blobs.failed.length > 0)
      process.stdout.write(
        `documents not sealed (quarantined or unreadable, see npm run blobs:scrub): ${blobs.failed.join(', ')}\n`,
      );
    if (left.length > 0) process.stdout.write(`left in clear (stored twice, merge them): ${left.join(', ')}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

runCommand('data-keys', 'the command', () => run(process.argv.slice(2)), 2);
