/**
 * `npm run audit:verify`: verifies the audit hash chain and its signed checkpoints against the
 * configured database (DATABASE_URL, or the embedded PGlite in PGLITE_DATA_DIR), the same way as
 * `GET /v1/audit/verify`, without a running gateway.
 *
 * It trusts only keys it is given out of band: `--trusted-keys` files, or else the gateway's own
 * checkpoint key files when it runs on the gateway's host (AUDIT_CHECKPOINT_KEY_FILE and
 * AUDIT_CHECKPOINT_TRUSTED_KEYS), never keys from the database. Without any trusted key it checks
 * links and hashes but refuses to call the chain verified. It compares the database with the
 * witness files it is given (`--witness`), or else with the gateway's own witness file.
 *
 * Exit codes: 0 verified intact; 1 a problem was found; 2 usage, configuration or database
 * error (nothing was verified); 3 links and hashes intact but not verified (no trusted key).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type TrustedKey,
  TrustedKeyFileError,
  TrustedKeys,
  loadCheckpointSigner,
  publicKeyFileOf,
  readTrustedKeyFile,
  trustedKeyOfSigner,
} from '../audit/checkpoint-keys.js';
import { type SealResult, sealAll } from '../audit/sealer.js';
import { type ChainProblemKind, type ChainVerification, type ExpectedHead, verifyAuditChain } from '../audit/verify.js';
import { CheckpointWitness, WitnessFileError } from '../audit/witness.js';
import { type Config, ConfigError, loadConfigFromProcess } from '../config.js';
import type { DatabaseHandle } from '../db/client.js';
import { createLogger } from '../platform/logger.js';
import { PrivateFileError } from '../platform/private-files.js';
import { UsageError, describeDatabase, openMigratedDatabase, runCommand } from './database.js';

const USAGE = `Usage: npm run audit:verify -- [options]

Verifies the audit hash chain and its signed checkpoints in the configured database
(DATABASE_URL, or embedded PGlite in PGLITE_DATA_DIR; stop a gateway running on the same
PGlite folder first), with keys given out of band, and compares it with the witness.

Options:
  --trusted-keys FILE  public keys checkpoints may be signed with: PEM ("PUBLIC KEY" blocks or
                       certificates) or a JWKS; repeat for several files. Default: the gateway's
                       own checkpoint key files on this host (AUDIT_CHECKPOINT_KEY_FILE's .pub.pem,
                       AUDIT_CHECKPOINT_TRUSTED_KEYS). Keys in the database are never trusted.
  --witness FILE       a witness file of signed heads (JSON lines, as the gateway writes to
                       AUDIT_WITNESS_FILE or a witness receiver keeps); repeat for several.
                       Default: AUDIT_WITNESS_FILE when it exists.
  --seal               seal pending entries into the chain before verifying (needs the
                       checkpoint key file, AUDIT_CHECKPOINT_KEY_FILE)
  --expect-seq N       a head position seen earlier (e.g. in the gateway's "audit sealed" log);
                       detects a tail cut off together with its checkpoints
  --expect-hash H      the head hash seen at --expect-seq (64 hex digits)
  --json               print the result as JSON
  -h, --help           show this help

Exit codes: 0 verified intact, 1 problem found, 2 usage, configuration or database error,
3 links and hashes intact but not verified (no trusted key).
`;

const EXIT_OK = 0;
const EXIT_PROBLEM = 1;
const EXIT_USAGE = 2;
const EXIT_UNVERIFIED = 3;

interface Options {
  seal: boolean;
  json: boolean;
  expected: ExpectedHead | undefined;
  trustedKeyFiles: string[];
  witnessFiles: string[];
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
        'trusted-keys': { type: 'string', multiple: true, default: [] },
        witness: { type: 'string', multiple: true, default: [] },
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
    if (!Number.isSafeInteger(seq) || seq < 1)
      throw new UsageError(`--expect-seq must be a positive integer, got "${seqText}"`, true);
    expected = { seq };
  }
  if (hashText !== undefined) {
    if (!expected) throw new UsageError('--expect-hash needs --expect-seq (the position the hash belongs to)', true);
    const hash = hashText.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hash))
      throw new UsageError('--expect-hash must be 64 hexadecimal digits (a SHA-256 hash)', true);
    expected = { ...expected, hash };
  }
  return {
    seal: values.seal,
    json: values.json,
    expected,
    trustedKeyFiles: values['trusted-keys'],
    witnessFiles: values.witness,
  };
}

/** The keys the verification trusts and where they came from; null keys: none were available. */
interface TrustSource {
  keys: TrustedKeys | null;
  description: string;
}

async function resolveTrustedKeys(options: Options, config: Config): Promise<TrustSource> {
  if (options.trustedKeyFiles.length > 0) {
    return {
      keys: await TrustedKeys.fromFiles(options.trustedKeyFiles),
      description: `--trusted-keys ${options.trustedKeyFiles.join(', ')}`,
    };
  }
  // On the gateway's host: its own checkpoint key (the public half beside it, readable by anyone,
  // or else the private key file) and the further keys it is configured to trust.
  const found: TrustedKey[] = [];
  const used: string[] = [];
  const publicFile = publicKeyFileOf(config.audit.checkpointKeyFile);
  if (existsSync(publicFile)) {
    found.push(...(await readTrustedKeyFile(publicFile)));
    used.push(publicFile);
  } else if (existsSync(config.audit.checkpointKeyFile)) {
    found.push(
      trustedKeyOfSigner(
        await loadCheckpointSigner({ keyFile: config.audit.checkpointKeyFile, alg: config.signing.alg, create: false }),
      ),
    );
    used.push(config.audit.checkpointKeyFile);
  }
  for (const file of config.audit.trustedKeyFiles) {
    found.push(...(await readTrustedKeyFile(file)));
    used.push(file);
  }
  if (found.length === 0) {
    return { keys: null, description: `none (no --trusted-keys, and no checkpoint key at ${publicFile} on this host)` };
  }
  return { keys: new TrustedKeys(found), description: `the gateway's key files on this host: ${used.join(', ')}` };
}

function resolveWitness(
  options: Options,
  config: Config,
): { files: string[]; required: boolean; description: string } | undefined {
  if (options.witnessFiles.length > 0)
    return { files: options.witnessFiles, required: true, description: options.witnessFiles.join(', ') };
  if (existsSync(config.audit.witness.file))
    return { files: [config.audit.witness.file], required: true, description: config.audit.witness.file };
  return undefined;
}

const explanations: Record<ChainProblemKind, string> = {
  modified: 'the content of an entry was changed after it was sealed',
  missing: 'entries were deleted from the chain, or unsealed after sealing',
  broken_link: 'an entry was moved, swapped or inserted',
  checkpoint_mismatch:
    'a signed checkpoint is invalid or disagrees with the chain: the chain was rewritten, or a checkpoint was altered or deleted',
  untrusted_key:
    'a checkpoint is signed by a key you did not give as trusted: someone re-signed the chain (e.g. with a key added to the database)',
  truncated: 'the chain ends before the last signed checkpoint (or the expected head): its tail was cut off',
  witness_missing:
    'a head published to the witness outside the database is gone from the database: history was cut or rewritten',
  witness_mismatch:
    'the database disagrees with a head published to the witness outside the database: history was rewritten',
};

interface Report {
  location: string;
  result: ChainVerification;
  expected: ExpectedHead | undefined;
  seal: SealResult | undefined;
  trust: TrustSource;
  witness: string | undefined;
}

function verdict(result: ChainVerification): 'OK' | 'PROBLEM FOUND' | 'NOT VERIFIED' {
  if (!result.ok) return 'PROBLEM FOUND';
  return result.trust.signaturesChecked ? 'OK' : 'NOT VERIFIED';
}

function humanReport({ location, result, expected, seal, trust, witness }: Report): string {
  const lines: string[] = [];
  const outcome = verdict(result);
  lines.push(
    `Audit chain: ${outcome}${outcome === 'NOT VERIFIED' ? ' (no trusted key: links and hashes are intact, signatures were not checked)' : ''}`,
  );
  lines.push(`  Database:         ${location}`);
  if (seal) {
    lines.push(`  Sealed now:       ${seal.sealed} pending ${seal.sealed === 1 ? 'entry' : 'entries'}`);
    if (seal.gap)
      lines.push(
        `  Sealing gap:      the chain ended before its last checkpoint; positions ${seal.gap.from}..${seal.gap.to} left empty`,
      );
  }
  lines.push(`  Entries checked:  ${result.entriesChecked}${result.ok ? `, head at seq ${result.headSeq}` : ''}`);
  if (result.ok) lines.push(`  Head hash:        ${result.headHash}`);
  const latest = result.latestCheckpoint;
  lines.push(
    `  Checkpoints:      ${result.checkpointsChecked}${latest ? `, latest at seq ${latest.seq} (kid ${latest.kid}, ${latest.createdAt})` : ''}`,
  );
  lines.push(
    `  Trusted keys:     ${trust.keys ? `${trust.keys.kids.join(', ')} from ${trust.description}` : trust.description}`,
  );
  const compared = result.trust.witness;
  if (compared && witness) {
    const agreement = compared.problem
      ? `DISAGREES (${compared.problem.kind} at seq ${compared.problem.seq})`
      : 'agrees';
    lines.push(
      `  Witness:          ${compared.recordsChecked} signed heads in ` +
        `${witness}${compared.latestWitnessedSeq ? `, latest at seq ${compared.latestWitnessedSeq}` : ''}: ` +
        `${agreement}`,
    );
  } else {
    lines.push(
      '  Witness:          none given (--witness), none configured on this host: a rewrite signed with the real key would go unseen',
    );
  }
  lines.push(`  Pending entries:  ${result.pendingEntries} not yet sealed`);
  if (expected) {
    const confirmed = result.ok ? 'confirmed' : 'see the problem below';
    lines.push(
      `  Expected head:    seq ${expected.seq}${expected.hash ? `, hash ${expected.hash}` : ''}: ${confirmed}`,
    );
  }
  const problem = result.firstProblem;
  if (problem) {
    lines.push('');
    lines.push(
      `  First problem:    ${problem.kind} at seq ${problem.seq}${problem.entryId ? ` (entry ${problem.entryId})` : ''}`,
    );
    lines.push(`                    ${problem.detail}`);
    lines.push(`  Meaning:          ${explanations[problem.kind]}`);
  } else if (!result.trust.signaturesChecked) {
    lines.push('');
    lines.push("  Not verified: anyone who can write the database can recompute the hashes. Give the gateway's");
    lines.push('  checkpoint public key with --trusted-keys FILE (the .pub.pem beside AUDIT_CHECKPOINT_KEY_FILE).');
  } else if (result.headSeq > 0) {
    lines.push('');
    lines.push('  Keep this head outside the database; a later cut-off tail shows against it with:');
    lines.push(`    npm run audit:verify -- --expect-seq ${result.headSeq} --expect-hash ${result.headHash}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Seals pending entries with the checkpoint key file and publishes the heads to the witnesses. */
async function sealWithKeyFile(config: Config, database: DatabaseHandle): Promise<SealResult> {
  const signer = await loadCheckpointSigner({
    keyFile: config.audit.checkpointKeyFile,
    alg: config.signing.alg,
    create: false,
  });
  const { witness: settings } = config.audit;
  const witness = new CheckpointWitness({
    file: settings.file,
    http: settings.url
      ? { url: settings.url, bearerToken: settings.bearerToken, timeoutMs: settings.timeoutMs }
      : undefined,
    // Diagnostics to stderr, so --json output stays parseable.
    logger: createLogger('warn', process.stderr),
  });
  const seal = await sealAll(database.db, signer, { witness });
  await witness.publishToHttpWitness();
  await witness.close();
  if (witness.unwrittenCount > 0)
    throw new UsageError(`sealed, but the witness file ${settings.file} cannot be written`);
  return seal;
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
  let trust: TrustSource;
  try {
    trust = await resolveTrustedKeys(options, config);
  } catch (error) {
    if (error instanceof TrustedKeyFileError || error instanceof PrivateFileError)
      throw new UsageError(`trusted keys: ${error.message}`);
    throw error;
  }
  const witness = resolveWitness(options, config);
  const location = describeDatabase(config.database);
  const database = await openMigratedDatabase(config, 'no audit log to verify');
  try {
    let seal: SealResult | undefined;
    if (options.seal) {
      try {
        seal = await sealWithKeyFile(config, database);
      } catch (error) {
        if (error instanceof PrivateFileError) throw new UsageError(`--seal: ${error.message}`);
        throw error;
      }
    }
    let result: ChainVerification;
    try {
      result = await verifyAuditChain(database.db, { trustedKeys: trust.keys, witness }, options.expected);
    } catch (error) {
      if (error instanceof WitnessFileError) throw new UsageError(error.message);
      throw error;
    }
    if (options.json) {
      const output = {
        ...result,
        verified: result.ok && result.trust.signaturesChecked,
        database: { kind: config.database.kind, location },
        trustedKeysFrom: trust.description,
        witnessFiles: witness?.files ?? [],
        expected: options.expected ?? null,
        ...(seal
          ? {
              seal: {
                sealed: seal.sealed,
                headSeq: seal.headSeq,
                headHash: seal.headHash,
                ...(seal.gap ? { gap: seal.gap } : {}),
              },
            }
          : {}),
      };
      process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    } else {
      process.stdout.write(
        humanReport({ location, result, expected: options.expected, seal, trust, witness: witness?.description }),
      );
    }
    if (!result.ok) return EXIT_PROBLEM;
    return result.trust.signaturesChecked ? EXIT_OK : EXIT_UNVERIFIED;
  } finally {
    await database.close();
  }
}

runCommand('audit:verify', 'verification', () => run(process.argv.slice(2)), EXIT_USAGE);
