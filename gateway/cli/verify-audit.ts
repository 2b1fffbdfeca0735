/**
 * `npm run audit:verify`: verifies the audit hash chain and its signed checkpoints against the
 * configured database (DATABASE_URL, or the embedded PGlite in PGLITE_DATA_DIR), the same way as
 * `GET /v1/audit/verify`, without a running gateway.
 *
 * Exit codes: 0 the chain is intact; 1 a problem was found; 2 usage, configuration or database
 * error (nothing was verified).
 */
import { parseArgs } from 'node:util';
import { type SealResult, sealAll } from '../audit/sealer.js';
import { type ChainProblemKind, type ChainVerification, type ExpectedHead, verifyAuditChain } from '../audit/verify.js';
import { KeyStore } from '../auth/keys.js';
import { type Config, ConfigError, loadConfigFromProcess } from '../config.js';
import { UsageError, describeDatabase, openMigratedDatabase, rootMessage } from './database.js';

const USAGE = `Usage: npm run audit:verify -- [options]

Verifies the audit hash chain and its signed checkpoints in the configured database
(DATABASE_URL, or embedded PGlite in PGLITE_DATA_DIR; stop a gateway running on the same
PGlite folder first).

Options:
  --seal               seal pending entries into the chain before verifying
  --expect-seq N       a head position seen earlier (e.g. in the gateway's "audit sealed" log);
                       detects a tail cut off together with its checkpoints
  --expect-hash H      the head hash seen at --expect-seq (64 hex digits)
  --json               print the result as JSON
  -h, --help           show this help

Exit codes: 0 intact, 1 problem found, 2 usage, configuration or database error.
`;

const EXIT_OK = 0;
const EXIT_PROBLEM = 1;
const EXIT_USAGE = 2;

interface Options {
  seal: boolean;
  json: boolean;
  expected: ExpectedHead | undefined;
}

function parseOptions(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seal: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'expect-seq': { type: 'string' },
        'expect-hash': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), true);
  }
  if (values.help) return 'help';

  const seqText = values['expect-seq'];
  const hashText = values['expect-hash'];
  let expected: ExpectedHead | undefined;
  if (seqText !== undefined) {
    const seq = /^[0-9]+$/.test(seqText) ? Number(seqText) : Number.NaN;
    if (!Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`--expect-seq must be a positive integer, got "${seqText}"`, true);
    expected = { seq };
  }
  if (hashText !== undefined) {
    if (!expected) throw new UsageError('--expect-hash needs --expect-seq (the position the hash belongs to)', true);
    const hash = hashText.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new UsageError('--expect-hash must be 64 hexadecimal digits (a SHA-256 hash)', true);
    expected = { ...expected, hash };
  }
  return { seal: values.seal, json: values.json, expected };
}

const explanations: Record<ChainProblemKind, string> = {
  modified: 'the content of an entry was changed after it was sealed',
  missing: 'entries were deleted from the chain, or unsealed after sealing',
  broken_link: 'an entry was moved, swapped or inserted',
  checkpoint_mismatch:
    'a signed checkpoint is invalid or disagrees with the chain: the chain was rewritten, or a checkpoint was altered or deleted',
  truncated: 'the chain ends before the last signed checkpoint (or the expected head): its tail was cut off',
};

function humanReport(location: string, result: ChainVerification, expected: ExpectedHead | undefined, seal: SealResult | undefined): string {
  const lines: string[] = [];
  lines.push(`Audit chain: ${result.ok ? 'OK' : 'PROBLEM FOUND'}`);
  lines.push(`  Database:         ${location}`);
  if (seal) {
    lines.push(`  Sealed now:       ${seal.sealed} pending ${seal.sealed === 1 ? 'entry' : 'entries'}`);
    if (seal.gap) lines.push(`  Sealing gap:      the chain ended before its last checkpoint; positions ${seal.gap.from}..${seal.gap.to} left empty`);
  }
  lines.push(`  Entries checked:  ${result.entriesChecked}${result.ok ? `, head at seq ${result.headSeq}` : ''}`);
  if (result.ok) lines.push(`  Head hash:        ${result.headHash}`);
  const latest = result.latestCheckpoint;
  lines.push(
    `  Checkpoints:      ${result.checkpointsChecked}${latest ? `, latest at seq ${latest.seq} (kid ${latest.kid}, ${latest.createdAt})` : ''}`,
  );
  lines.push(`  Pending entries:  ${result.pendingEntries} not yet sealed`);
  if (expected) {
    const confirmed = result.ok ? 'confirmed' : 'see the problem below';
    lines.push(`  Expected head:    seq ${expected.seq}${expected.hash ? `, hash ${expected.hash}` : ''}: ${confirmed}`);
  }
  const problem = result.firstProblem;
  if (problem) {
    lines.push('');
    lines.push(`  First problem:    ${problem.kind} at seq ${problem.seq}${problem.entryId ? ` (entry ${problem.entryId})` : ''}`);
    lines.push(`                    ${problem.detail}`);
    lines.push(`  Meaning:          ${explanations[problem.kind]}`);
  } else if (result.headSeq > 0) {
    lines.push('');
    lines.push('  Keep this head outside the database; a later cut-off tail shows against it with:');
    lines.push(`    npm run audit:verify -- --expect-seq ${result.headSeq} --expect-hash ${result.headHash}`);
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
  const location = describeDatabase(config.database);
  const database = await openMigratedDatabase(config, 'no audit log to verify');
  try {
    const keys = new KeyStore(database.db, config.signing);
    await keys.initialise();
    const seal = options.seal ? await sealAll(database.db, keys) : undefined;
    const result = await verifyAuditChain(database.db, keys, options.expected);
    if (options.json) {
      const output = {
        ...result,
        database: { kind: config.database.kind, location },
        expected: options.expected ?? null,
        ...(seal ? { seal } : {}),
      };
      process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    } else {
      process.stdout.write(humanReport(location, result, options.expected, seal));
    }
    return result.ok ? EXIT_OK : EXIT_PROBLEM;
  } finally {
    await database.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`audit:verify: ${error.message}\n`);
      if (error.badArguments) process.stderr.write('Run with --help for usage.\n');
    } else {
      process.stderr.write(`audit:verify: verification failed: ${rootMessage(error)}\n`);
    }
    process.exitCode = EXIT_USAGE;
  },
);
