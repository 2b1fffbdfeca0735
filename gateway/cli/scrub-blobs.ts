/**
 * `npm run blobs:scrub`: reads every blob of the configured store (BLOB_STORE, BLOB_STORE_DIR,
 * the database of DATABASE_URL or PGLITE_DATA_DIR) and checks it against its SHA-256, one at a
 * time; finds content that materials refer to and the store lacks; quarantines what is corrupt,
 * so gateways refuse it (`503 content_corrupted`) until the document is uploaded again; and
 * names the materials affected, by id. See docs/blob-integrity.md.
 *
 * Exit codes: 0 every blob is intact; 1 a corrupt or missing blob was found; 2 usage,
 * configuration, database or store error (the scrub did not finish).
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { type Config, ConfigError, loadConfigFromProcess } from '../config.js';
import { createConfiguredBlobStore } from '../materials/blob-stores.js';
import { type ScrubReport, scrubBlobs, scrubFoundProblems } from '../materials/scrub.js';
import { DataProtection } from '../protection/data-protection.js';
import { UsageError, describeDatabase, openMigratedDatabase, runCommand } from './database.js';

const USAGE = `Usage: npm run blobs:scrub -- [options]

Checks every stored document (blob) of the configured blob store against its SHA-256, reading
one at a time, and looks for documents that materials refer to but the store does not hold.
Corrupt blobs are quarantined: gateways answer 503 content_corrupted for them until the same
document is uploaded again (or the blob is restored from a backup and scrubbed again).

The store and database come from the same environment as the gateway's: BLOB_STORE,
BLOB_STORE_DIR, DATABASE_URL or PGLITE_DATA_DIR (stop a gateway running on the same PGlite
folder first). Safe to run beside running gateways on PostgreSQL.

Options:
  --json               print the report as JSON
  -h, --help           show this help

Exit codes: 0 all intact, 1 corrupt or missing blobs found, 2 usage, configuration,
database or store error.
`;

const EXIT_OK = 0;
const EXIT_PROBLEM = 1;
const EXIT_USAGE = 2;

/** Progress on a terminal every so many blobs. */
const PROGRESS_EVERY = 1000;

function parseOptions(argv: string[]): { json: boolean } | 'help' {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    return values.help ? 'help' : { json: values.json };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), true);
  }
}

function describeStore(config: Config): string {
  const { blobStore } = config.materials;
  return blobStore.kind === 'filesystem'
    ? `filesystem at ${blobStore.directory}`
    : `postgres (blobs in ${describeDatabase(config.database)})`;
}

const list = (ids: string[]): string => (ids.length === 0 ? 'none' : ids.join(', '));

function humanReport(store: string, report: ScrubReport, seconds: number): string {
  const lines: string[] = [];
  lines.push(`Blob scrub: ${scrubFoundProblems(report) ? 'PROBLEM FOUND' : 'OK'}`);
  lines.push(`  Store:      ${store}`);
  lines.push(`  Checked:    ${report.checked} blobs, ${report.bytesChecked} bytes, in ${seconds.toFixed(1)} s`);
  lines.push(`  Intact:     ${report.intact}`);
  lines.push(`  Corrupt:    ${report.corrupt.length} (quarantined: refused until the same document is uploaded again)`);
  lines.push(`  Missing:    ${report.missing.length} (materials refer to them; the store does not hold them)`);
  if (report.released.length > 0)
    lines.push(`  Released:   ${report.released.length} (were quarantined, intact again: served again)`);
  if (report.corrupt.length > 0 || report.missing.length > 0) lines.push('');
  for (const blob of report.corrupt) {
    const found = blob.actualSha256 ? `found sha256 ${blob.actualSha256}` : 'bytes missing';
    const when = blob.newlyQuarantined ? 'quarantined now' : 'quarantined before';
    lines.push(
      `  corrupt  ${blob.sha256}  ${found}, ${blob.size} bytes, ${when}; materials: ${list(blob.materialIds)}`,
    );
  }
  for (const blob of report.missing) lines.push(`  missing  ${blob.sha256}  materials: ${list(blob.materialIds)}`);
  if (scrubFoundProblems(report)) {
    lines.push('');
    lines.push('  Repair: upload the original document of each listed material again (any material of the same');
    lines.push('  content repairs it), or restore the blob from a backup and run the scrub again.');
  }
  return `${lines.join('\n')}\n`;
}

async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  let config: Config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const database = await openMigratedDatabase(config, 'no documents to scrub');
  try {
    // The data keys open sealed documents (DATA_PROTECTION): without them none could be checked.
    const protection = await DataProtection.start(database.db, config.protection, pino({ level: 'warn' }));
    const store = createConfiguredBlobStore(config.materials, database.db, {}, protection);
    const started = performance.now();
    const onProgress = process.stderr.isTTY
      ? (checked: number) => {
          if (checked % PROGRESS_EVERY === 0) process.stderr.write(`blobs:scrub: ${checked} blobs checked …\n`);
        }
      : undefined;
    const report = await scrubBlobs(store, database.db, onProgress ? { onProgress } : {});
    const seconds = (performance.now() - started) / 1000;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ ok: !scrubFoundProblems(report), store: { kind: config.materials.blobStore.kind, location: describeStore(config) }, ...report }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(humanReport(describeStore(config), report, seconds));
    }
    return scrubFoundProblems(report) ? EXIT_PROBLEM : EXIT_OK;
  } finally {
    await database.close();
  }
}

runCommand('blobs:scrub', 'the scrub', () => run(process.argv.slice(2)), EXIT_USAGE);
