/**
 * `npm run audit:verify` (gateway/cli/verify-audit.ts) run as a separate process against a real
 * database: a file-backed PGlite folder by default, a fresh PostgreSQL database when DATABASE_URL
 * is set. Checks its exit codes (0 verified intact, 1 problem, 2 usage or database error, 3 not
 * verified for want of a trusted key), what it trusts, the witness comparison, and its output.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestDatabase,
  createTestGateway,
  freshDatabase,
  testPostgresUrl,
  type TestGateway,
} from '../../test/harness.js';
import { exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { type Database, openDatabase, rowsOf } from '../db/client.js';
import { publicKeyFileOf } from './checkpoint-keys.js';
import type { ChainVerification } from './verify.js';
import { recordAudit } from './record.js';
import { sealAll } from './sealer.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface CliJson extends ChainVerification {
  verified: boolean;
  database: { kind: string; location: string };
  trustedKeysFrom: string;
  witnessFiles: string[];
  seal?: { sealed: number; headSeq: number };
}

const ENTRIES = 12;
const tempDirs: string[] = [];
let gw: TestGateway;
let databaseEnvironment: Record<string, string>;
let pgliteDir: string | undefined;
let head: { seq: number; hash: string };
/** The gateway's data folder: its checkpoint key (and .pub.pem) and witness file. */
let dataDir: string;
let publicKeyFile: string;
let witnessFile: string;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ow-audit-cli-'));
  tempDirs.push(dir);
  return dir;
}

function runCli(args: string[], environment: Record<string, string> = databaseEnvironment): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL' && key !== 'PGLITE_DATA_DIR'),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'gateway/cli/verify-audit.ts', ...args],
      { env: { ...inherited, ...environment }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `work` on the test database: the gateway's own connection on PostgreSQL; on PGlite, which
 * one process at a time may open, a connection opened only while the CLI is not running. */
async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  if (!pgliteDir) return work(gw.services.db);
  const handle = await openDatabase({ kind: 'pglite', dataDir: pgliteDir });
  try {
    return await work(handle.db);
  } finally {
    await handle.close();
  }
}

async function writeEntries(db: Database, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await db.transaction((tx) =>
      recordAudit(tx, {
        actor: { clientId: 'cli_test', kind: 'window' },
        action: 'subject.read',
        subjectRef: `sub_${i}`,
        purpose: 'cli test',
        outcome: 'allowed',
      }),
    );
  }
}

beforeAll(async () => {
  // A data folder of our own: it outlives the in-process gateway (closed early on PGlite).
  dataDir = tempDir();
  if (testPostgresUrl) {
    gw = await createTestGateway({ DATA_DIR: dataDir });
    const database = gw.config.database;
    if (database.kind !== 'postgres') throw new Error('expected a PostgreSQL test database');
    databaseEnvironment = { DATABASE_URL: database.url, DATA_DIR: dataDir };
  } else {
    pgliteDir = tempDir();
    gw = await createTestGateway({ PGLITE_DATA_DIR: pgliteDir, DATA_DIR: dataDir });
    databaseEnvironment = { PGLITE_DATA_DIR: pgliteDir, DATA_DIR: dataDir };
  }
  publicKeyFile = publicKeyFileOf(gw.config.audit.checkpointKeyFile);
  witnessFile = gw.config.audit.witness.file;
  await writeEntries(gw.services.db, ENTRIES);
  const sealed = await sealAll(gw.services.db, gw.services.audit.signer, { witness: gw.services.audit.witness });
  head = { seq: sealed.headSeq, hash: sealed.headHash };
  // The gateway's own start-up (publishing the repository's contracts) writes entries too.
  expect(head.seq).toBeGreaterThanOrEqual(ENTRIES);
  // PGlite: release the folder so the CLI can open it.
  if (pgliteDir) await gw.close();
});

afterAll(async () => {
  if (!pgliteDir) await gw?.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// Each run starts tsx and opens the database: seconds per run, more on a busy machine.
describe('npm run audit:verify', { timeout: 120_000 }, () => {
  it('reports an intact chain with exit code 0', async () => {
    const result = await runCli([]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Audit chain: OK');
    expect(result.stdout).toContain(`head at seq ${head.seq}`);
    // On the gateway's host it trusts the gateway's own key files and compares with its witness.
    expect(result.stdout).toContain(
      `${gw.services.audit.signer.kid} from the gateway's key files on this host: ${publicKeyFile}`,
    );
    expect(result.stdout).toMatch(
      new RegExp(`Witness: +\\d+ signed heads in ${witnessFile}, latest at seq ${head.seq}: agrees`),
    );
    expect(result.stdout).toContain(`--expect-seq ${head.seq} --expect-hash ${head.hash}`);
  });

  it('prints JSON with --json', async () => {
    const result = await runCli(['--json']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as CliJson;
    expect(body).toMatchObject({
      ok: true,
      verified: true,
      headSeq: head.seq,
      headHash: head.hash,
      entriesChecked: head.seq,
      firstProblem: null,
    });
    expect(body.trust).toMatchObject({
      signaturesChecked: true,
      trustedKeys: [gw.services.audit.signer.kid],
      witness: { latestWitnessedSeq: head.seq, problem: null },
    });
    expect(body.database.kind).toBe(pgliteDir ? 'pglite' : 'postgres');
    expect(body.database.location).not.toContain('@'); // no credentials from the URL
  });

  it('checks an expected head', async () => {
    expect((await runCli(['--expect-seq', String(head.seq), '--expect-hash', head.hash])).code).toBe(0);
    const ahead = await runCli(['--expect-seq', String(head.seq + 5), '--json']);
    expect(ahead.code).toBe(1);
    expect((JSON.parse(ahead.stdout) as CliJson).firstProblem).toMatchObject({ kind: 'truncated', seq: head.seq + 1 });
    const wrong = await runCli(['--expect-seq', '3', '--expect-hash', 'b'.repeat(64)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('checkpoint_mismatch at seq 3');
  });

  it('seals pending entries first with --seal', async () => {
    await withDatabase((db) => writeEntries(db, 2));
    const without = JSON.parse((await runCli(['--json'])).stdout) as CliJson;
    expect(without).toMatchObject({ ok: true, headSeq: head.seq, pendingEntries: 2 });
    const sealed = await runCli(['--seal', '--json']);
    expect(sealed.code).toBe(0);
    const body = JSON.parse(sealed.stdout) as CliJson;
    expect(body).toMatchObject({ ok: true, headSeq: head.seq + 2, pendingEntries: 0 });
    expect(body.seal?.sealed).toBe(2);
  });

  it('refuses to call the chain verified without a trusted key (exit 3), saying what it checked', async () => {
    const elsewhere = { ...databaseEnvironment, DATA_DIR: tempDir() }; // an auditor's machine: no gateway key files
    const human = await runCli([], elsewhere);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain(
      'Audit chain: NOT VERIFIED (no trusted key: links and hashes are intact, signatures were not checked)',
    );
    expect(human.stdout).toContain('--trusted-keys FILE');
    const json = JSON.parse((await runCli(['--json'], elsewhere)).stdout) as CliJson;
    expect(json).toMatchObject({
      ok: true,
      verified: false,
      trust: { signaturesChecked: false, trustedKeys: [], witness: null },
    });
  });

  it('trusts only the keys it is given with --trusted-keys (PEM or JWKS)', async () => {
    const elsewhere = { ...databaseEnvironment, DATA_DIR: tempDir() };
    const copied = join(tempDir(), 'gateway-checkpoint.pub.pem');
    writeFileSync(copied, readFileSync(publicKeyFile));
    const withPem = await runCli(['--trusted-keys', copied, '--witness', witnessFile, '--json'], elsewhere);
    expect(withPem.code).toBe(0);
    expect(JSON.parse(withPem.stdout)).toMatchObject({
      verified: true,
      trustedKeysFrom: `--trusted-keys ${copied}`,
      witnessFiles: [witnessFile],
    });

    const other = await generateKeyPair('ES256', { extractable: true });
    const otherJwks = join(tempDir(), 'other.jwks.json');
    writeFileSync(otherJwks, JSON.stringify({ keys: [await exportJWK(other.publicKey)] }));
    const wrongKey = await runCli(['--trusted-keys', otherJwks, '--json'], elsewhere);
    expect(wrongKey.code).toBe(1);
    expect((JSON.parse(wrongKey.stdout) as CliJson).firstProblem).toMatchObject({ kind: 'untrusted_key' });

    const both = join(tempDir(), 'both.pem');
    writeFileSync(both, `${await exportSPKI(other.publicKey)}${readFileSync(publicKeyFile, 'utf8')}`);
    expect((await runCli(['--trusted-keys', both], elsewhere)).code).toBe(0);
  });

  it('catches a tail cut together with its checkpoints by the witness (exit 1), which the database alone cannot show', async () => {
    // Back to the checkpoint before the last one, entries and checkpoints alike: what is left is a
    // consistent, signed, shorter chain.
    const [keep, cut] = await withDatabase(async (db) =>
      rowsOf<{ seq: number }>(
        await db.execute(sql`select seq::int as seq from audit_checkpoints order by seq desc limit 2`),
      )
        .map((row) => row.seq)
        .reverse(),
    );
    if (keep === undefined || cut === undefined) throw new Error('expected at least two checkpoints');
    await withDatabase(async (db) => {
      await db.execute(sql`delete from audit_entries where chain_seq > ${keep}`);
      await db.execute(sql`delete from audit_checkpoints where seq > ${keep}`);
    });
    const elsewhere = { ...databaseEnvironment, DATA_DIR: tempDir() };
    expect((await runCli(['--trusted-keys', publicKeyFile], elsewhere)).code).toBe(0);
    const caught = await runCli(['--trusted-keys', publicKeyFile, '--witness', witnessFile], elsewhere);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain(`witness_missing at seq ${cut}`);
    expect(caught.stdout).toContain('a head published to the witness outside the database is gone from the database');
  });

  it('reports tampering with exit code 1', async () => {
    const entryId = await withDatabase(async (db) => {
      await db.execute(sql`update audit_entries set purpose = 'nothing to see' where chain_seq = 5`);
      return rowsOf<{ entry_id: string }>(
        await db.execute(sql`select entry_id from audit_entries where chain_seq = 5`),
      )[0]?.entry_id;
    });
    const human = await runCli([]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('Audit chain: PROBLEM FOUND');
    expect(human.stdout).toContain(`modified at seq 5 (entry ${entryId})`);
    const json = await runCli(['--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as CliJson).firstProblem).toMatchObject({ kind: 'modified', seq: 5, entryId });
  });

  it('exits 2 when the database is not migrated', async () => {
    let empty: TestDatabase | undefined;
    let environment: Record<string, string>;
    if (testPostgresUrl) {
      empty = await freshDatabase();
      environment = empty.environment;
    } else {
      const dir = tempDir();
      const handle = await openDatabase({ kind: 'pglite', dataDir: dir }); // an empty, unmigrated database
      await handle.close();
      environment = { PGLITE_DATA_DIR: dir };
    }
    try {
      const result = await runCli([], environment);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('is not migrated');
    } finally {
      await empty?.drop();
    }
  });

  // These never open the database, so they may run side by side.
  describe('without a usable database or arguments', { concurrent: true }, () => {
    it.for<[string[], string]>([
      [['--expect-hash', 'a'.repeat(64)], '--expect-hash needs --expect-seq'],
      [['--expect-seq', '0'], '--expect-seq must be a positive integer'],
      [['--expect-seq', '4', '--expect-hash', 'nothex'], '64 hexadecimal digits'],
      [['--verbose'], "Unknown option '--verbose'"],
      [['extra'], 'Unexpected argument'],
    ])('exits 2 on bad arguments %j', async ([args, message], { expect }) => {
      const result = await runCli(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(message);
    });

    it('exits 2 when a trusted key or witness file it is given cannot be used', async ({ expect }) => {
      const missingKeys = await runCli(['--trusted-keys', join(tempDir(), 'none.pem')]);
      expect(missingKeys.code).toBe(2);
      expect(missingKeys.stderr).toContain('trusted keys:');
      const notKeys = join(tempDir(), 'notes.txt');
      writeFileSync(notKeys, 'hello');
      expect((await runCli(['--trusted-keys', notKeys])).stderr).toContain('holds no public key');
      const missingWitness = await runCli(['--witness', join(tempDir(), 'none.jsonl')]);
      expect(missingWitness.code).toBe(2);
      expect(missingWitness.stderr).toContain('witness file');
    });

    it('exits 2 on --seal without the checkpoint key file, and never creates one', async ({ expect }) => {
      const empty = tempDir();
      const result = await runCli(['--seal'], { ...databaseEnvironment, DATA_DIR: empty });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--seal: no audit checkpoint key file');
      expect(existsSync(join(empty, 'keys'))).toBe(false);
    });

    it('exits 2 on a configuration error', async ({ expect }) => {
      const result = await runCli([], { DATABASE_URL: 'mysql://somewhere/db' });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('DATABASE_URL');
    });

    it('exits 2 without creating anything when the PGlite folder does not exist', async ({ expect }) => {
      const missing = join(tempDir(), 'no-such-db');
      const result = await runCli([], { PGLITE_DATA_DIR: missing });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`no PGlite database at ${missing}`);
      expect(existsSync(missing)).toBe(false);
    });

    it('prints usage with --help', async ({ expect }) => {
      const result = await runCli(['--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('--expect-seq');
    });
  });
});
