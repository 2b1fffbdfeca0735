/**
 * Security suite: tampering with the audit log by someone who administers the database, on real
 * PostgreSQL, through the `psql` command line — while the gateway runs, as such a person would.
 *
 * Each case gets a deployment of its own: a fresh database, a data folder with the checkpoint key
 * (never in the database), an HTTP witness another department runs (`npm run audit:witness`'s
 * receiver, given the gateway's public key out of band), and the gateway on loopback. Audited
 * traffic goes through the API and is sealed and witnessed; then the "administrator" tampers:
 *
 * - edits an entry's content, deletes an entry, reorders two entries;
 * - cuts the tail back to an earlier checkpoint, checkpoints and all (a consistent, shorter log);
 * - as a forger who knows the hash scheme: rewrites an entry, recomputes every entry hash from it
 *   onwards, rewrites the checkpoints' head hashes, adds a signing key row of their own to the
 *   database and re-signs every checkpoint with it — and also tries that key on the token
 *   endpoint's JWKS and as an access token;
 * - as the same forger holding a stolen checkpoint key file: re-signs with the real key.
 *
 * Every one is caught by `GET /v1/audit/verify` and by `npm run audit:verify -- --trusted-keys
 * <the gateway's public key> --witness <the witness files>` run elsewhere (no gateway key files).
 *
 * Needs a PostgreSQL server (DATABASE_URL, else 127.0.0.1:5432 with user postgres) and `psql`;
 * skipped with a message when either is missing. CI always has both.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CompactEncrypt, CompactSign, SignJWT, exportJWK, generateKeyPair } from 'jose';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditRow, CHECKPOINT_TYPE, GENESIS_HASH, entryHash } from '../../gateway/audit/chain.js';
import {
  TrustedKeys,
  loadCheckpointSigner,
  publicKeyFileOf,
  trustedKeyOfSigner,
} from '../../gateway/audit/checkpoint-keys.js';
import { signCheckpoint } from '../../gateway/audit/sealer.js';
import type { ChainVerification } from '../../gateway/audit/verify.js';
import { type RunningWitnessReceiver, startWitnessReceiver } from '../../gateway/audit/witness-receiver.js';
import { createLogger } from '../../gateway/platform/logger.js';
import { testPostgresUrl } from '../harness.js';
import { until } from '../support/processes.js';
import { type SecurityGateway, bearerHeaders, startSecurityGateway } from './support.js';

const run = promisify(execFile);
const serverUrl = testPostgresUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function whyUnavailable(): Promise<string | undefined> {
  try {
    await run('psql', ['--version'], { timeout: 10_000 });
  } catch {
    return 'no psql command on PATH';
  }
  const probe = postgres(serverUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await probe`select 1`;
    return undefined;
  } catch (error) {
    return `no PostgreSQL reachable at ${new URL(serverUrl).host} (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await probe.end({ timeout: 2 }).catch(() => undefined);
  }
}

const unavailable = await whyUnavailable();
if (unavailable)
  process.stderr.write(`audit-tampering: skipped, ${unavailable}; set DATABASE_URL to a PostgreSQL server to run it\n`);

/** The seal lock of gateway/audit/sealer.ts: a forger who read the code waits for the sealer too. */
const SEAL_LOCK = 7_461_230_003;
const ENTRIES = 14;

interface Deployment {
  databaseUrl: string;
  dataDir: string;
  gateway: SecurityGateway;
  receiver: RunningWitnessReceiver;
  receiverFile: string;
  publicKeyFile: string;
  auditorToken: string;
  close(): Promise<void>;
}

let current: Deployment | undefined;

afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** Runs SQL through psql in one transaction, stopping at the first error: how the administrator works. */
async function psql(databaseUrl: string, script: string): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'ow-psql-')), 'script.sql');
  writeFileSync(file, script);
  try {
    const { stdout } = await run(
      'psql',
      [databaseUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-At', '-f', file],
      { timeout: 60_000 },
    );
    return stdout;
  } finally {
    rmSync(join(file, '..'), { recursive: true, force: true });
  }
}

async function deploy(): Promise<Deployment> {
  const name = `ow_tamper_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = mkdtempSync(join(tmpdir(), 'ow-tamper-data-'));
  const receiverFile = join(mkdtempSync(join(tmpdir(), 'ow-tamper-witness-')), 'received.jsonl');

  // The checkpoint key exists before the gateway first starts here, so that its public half can be
  // handed to the other department's witness out of band; the gateway then uses that file.
  const checkpointKeyFile = join(dataDir, 'keys', 'audit-checkpoint.pem');
  const signer = await loadCheckpointSigner({ keyFile: checkpointKeyFile, alg: 'ES256', create: true });
  const receiver = await startWitnessReceiver({
    host: '127.0.0.1',
    port: 0,
    file: receiverFile,
    trustedKeys: new TrustedKeys([trustedKeyOfSigner(signer)]),
    logger: createLogger('silent'),
  });
  const gateway = await startSecurityGateway({
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    AUDIT_SEAL_INTERVAL_MS: '100',
    AUDIT_WITNESS_URL: receiver.url,
  });
  const deployment: Deployment = {
    databaseUrl,
    dataDir,
    gateway,
    receiver,
    receiverFile,
    publicKeyFile: publicKeyFileOf(checkpointKeyFile),
    auditorToken: await gateway.token('auditor'),
    close: async () => {
      await gateway.close();
      await receiver.close();
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      await dropper.end();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(join(receiverFile, '..'), { recursive: true, force: true });
    },
  };
  current = deployment;

  // Audited traffic through the API: client registrations, each with its audit entry.
  const adminToken = await gateway.token('admin');
  for (let index = 0; index < ENTRIES; index += 1) {
    const created = await gateway.send('/v1/clients', {
      method: 'POST',
      headers: bearerHeaders(adminToken, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: `Window ${index}`, kind: 'window' }),
    });
    expect(created.status).toBe(201);
    // Several seals, so the chain has several checkpoints.
    if (index % 4 === 3)
      await until(async () => (await pending(databaseUrl)) === 0, 'the sealer to seal the entries', 200, 50);
  }
  // Sealed, in the gateway's witness file, and taken by the HTTP witness.
  await until(
    async () => {
      if ((await pending(databaseUrl)) !== 0) return false;
      const head = Number(await psql(databaseUrl, 'select coalesce(max(seq), 0) from audit_checkpoints'));
      return (
        head > 0 &&
        witnessedSeqs(join(dataDir, 'audit-witness.jsonl')).includes(head) &&
        deployment.receiver.heads.has(head)
      );
    },
    'the head to be sealed and witnessed',
    200,
    50,
  );
  return deployment;
}

async function pending(databaseUrl: string): Promise<number> {
  return Number(await psql(databaseUrl, 'select count(*) from audit_entries where chain_seq is null'));
}

function witnessedSeqs(file: string): number[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => (JSON.parse(line) as { seq: number }).seq);
  } catch {
    return [];
  }
}

async function checkpointSeqs(deployment: Deployment): Promise<number[]> {
  return (await psql(deployment.databaseUrl, 'select seq from audit_checkpoints order by seq'))
    .trim()
    .split('\n')
    .map(Number);
}

async function verifyThroughApi(deployment: Deployment): Promise<ChainVerification> {
  const response = await deployment.gateway.send('/v1/audit/verify', {
    headers: bearerHeaders(deployment.auditorToken),
  });
  expect(response.status).toBe(200);
  return response.json<ChainVerification>();
}

/** `npm run audit:verify` on an auditor's machine: the database, the public key and the witness files; no gateway key files. */
async function verifyThroughCli(
  deployment: Deployment,
): Promise<{ code: number; result: ChainVerification & { verified: boolean } }> {
  const elsewhere = mkdtempSync(join(tmpdir(), 'ow-auditor-'));
  const args = [
    '--import',
    'tsx',
    'gateway/cli/verify-audit.ts',
    '--json',
    '--trusted-keys',
    deployment.publicKeyFile,
    '--witness',
    join(deployment.dataDir, 'audit-witness.jsonl'),
    '--witness',
    deployment.receiverFile,
  ];
  try {
    const outcome = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        args,
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            DATABASE_URL: deployment.databaseUrl,
            DATA_DIR: elsewhere,
          },
          timeout: 120_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    if (outcome.code !== 0 && outcome.code !== 1)
      throw new Error(`audit:verify exited ${outcome.code}: ${outcome.stderr}`);
    return { code: outcome.code, result: JSON.parse(outcome.stdout) as ChainVerification & { verified: boolean } };
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
}

/**
 * Both verifications report `kind` first (and the witness `witnessKind`). The command runs first:
 * it only reads, while the API call records an `audit.verify` entry that the sealer then seals
 * on top of whatever the administrator left.
 */
async function expectCaught(deployment: Deployment, kind: string, witnessKind?: string): Promise<void> {
  const cli = await verifyThroughCli(deployment);
  expect(cli.code, JSON.stringify(cli.result.firstProblem)).toBe(1);
  expect(cli.result).toMatchObject({ ok: false, verified: false });
  expect(cli.result.firstProblem?.kind).toBe(kind);
  if (witnessKind) expect(cli.result.trust.witness?.problem?.kind).toBe(witnessKind);
  const api = await verifyThroughApi(deployment);
  expect(api.ok, JSON.stringify(api.firstProblem)).toBe(false);
  expect(api.firstProblem?.kind).toBe(kind);
  if (witnessKind) expect(api.trust.witness?.problem?.kind).toBe(witnessKind);
}

/** The sealed rows from `fromSeq` on, read through psql as the forger would. */
async function sealedRows(deployment: Deployment, fromSeq: number): Promise<AuditRow[]> {
  const text = await psql(
    deployment.databaseUrl,
    `select coalesce(json_agg(e order by e.chain_seq), '[]') from audit_entries e where e.chain_seq >= ${fromSeq}`,
  );
  return (JSON.parse(text) as Record<string, unknown>[]).map((row) => ({
    id: Number(row['id']),
    entryId: String(row['entry_id']),
    occurredAt: new Date(String(row['occurred_at'])),
    actorClientId: String(row['actor_client_id']),
    actorKind: String(row['actor_kind']),
    operatorId: (row['operator_id'] as string | null) ?? null,
    centreCode: (row['centre_code'] as string | null) ?? null,
    action: String(row['action']),
    subjectRef: (row['subject_ref'] as string | null) ?? null,
    fields: row['fields'] as string[],
    materialTypes: row['material_types'] as string[],
    purpose: (row['purpose'] as string | null) ?? null,
    caseRef: (row['case_ref'] as string | null) ?? null,
    outcome: String(row['outcome']),
    requestId: (row['request_id'] as string | null) ?? null,
    chainSeq: Number(row['chain_seq']),
    prevHash: (row['prev_hash'] as string | null) ?? null,
    entryHash: (row['entry_hash'] as string | null) ?? null,
    sealedAt: row['sealed_at'] ? new Date(String(row['sealed_at'])) : null,
  }));
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * Rewrites entry `seq`'s purpose and recomputes every entry hash from it onwards with the
 * published hash scheme, then points every checkpoint at the new hashes and re-signs it with
 * `sign`. Returns the SQL, run by the caller through psql in one transaction.
 */
async function rewriteHistorySql(
  deployment: Deployment,
  seq: number,
  sign: (payload: { seq: number; headHash: string; createdAt: string }) => Promise<{ signature: string; kid: string }>,
): Promise<string> {
  const rows = await sealedRows(deployment, seq);
  const [previous] = await sealedRows(deployment, seq - 1);
  let prevHash = seq === 1 ? GENESIS_HASH : (previous?.entryHash ?? GENESIS_HASH);
  const statements = [
    `select pg_advisory_xact_lock(${SEAL_LOCK});`,
    `update audit_entries set purpose = 'routine check' where chain_seq = ${seq};`,
  ];
  const newHashes = new Map<number, string>();
  for (const row of rows) {
    const rewritten = row.chainSeq === seq ? { ...row, purpose: 'routine check' } : row;
    const hash = entryHash(rewritten, row.chainSeq ?? 0, prevHash);
    statements.push(
      `update audit_entries set prev_hash = ${quote(prevHash)}, entry_hash = ${quote(hash)} where chain_seq = ${row.chainSeq};`,
    );
    newHashes.set(row.chainSeq ?? 0, hash);
    prevHash = hash;
  }
  const checkpoints = JSON.parse(
    await psql(
      deployment.databaseUrl,
      `select json_agg(c order by c.seq) from audit_checkpoints c where c.seq >= ${seq}`,
    ),
  ) as { seq: number; created_at: string }[];
  for (const checkpoint of checkpoints) {
    const headHash = newHashes.get(checkpoint.seq);
    if (!headHash) continue;
    const { signature, kid } = await sign({
      seq: checkpoint.seq,
      headHash,
      createdAt: new Date(checkpoint.created_at).toISOString(),
    });
    statements.push(
      `update audit_checkpoints set head_hash = ${quote(headHash)}, signature = ${quote(signature)}, kid = ${quote(kid)} where seq = ${checkpoint.seq};`,
    );
  }
  return statements.join('\n');
}

describe.skipIf(unavailable !== undefined)(
  'audit tampering through psql on PostgreSQL, with the gateway running',
  { timeout: 240_000 },
  () => {
    it('an intact log verifies through the API and the command, against the witnesses', async () => {
      const deployment = await deploy();
      const api = await verifyThroughApi(deployment);
      expect(api).toMatchObject({
        ok: true,
        firstProblem: null,
        trust: { signaturesChecked: true, witness: { problem: null } },
      });
      const cli = await verifyThroughCli(deployment);
      expect(cli.code).toBe(0);
      expect(cli.result).toMatchObject({ ok: true, verified: true, firstProblem: null });
      expect(cli.result.trust.witness?.recordsChecked).toBeGreaterThan(0);
    });

    it("catches an entry's content edited", async () => {
      const deployment = await deploy();
      await psql(deployment.databaseUrl, "update audit_entries set purpose = 'nothing to see' where chain_seq = 3;");
      await expectCaught(deployment, 'modified');
    });

    it('catches an entry deleted', async () => {
      const deployment = await deploy();
      await psql(deployment.databaseUrl, 'delete from audit_entries where chain_seq = 4;');
      await expectCaught(deployment, 'missing');
    });

    it('catches two entries reordered', async () => {
      const deployment = await deploy();
      await psql(
        deployment.databaseUrl,
        `select pg_advisory_xact_lock(${SEAL_LOCK});
       update audit_entries set chain_seq = -chain_seq where chain_seq in (2, 5);
       update audit_entries set chain_seq = 5 where chain_seq = -2;
       update audit_entries set chain_seq = 2 where chain_seq = -5;`,
      );
      await expectCaught(deployment, 'broken_link');
    });

    it('catches the tail cut back to an earlier checkpoint together with its checkpoints, by the witness', async () => {
      const deployment = await deploy();
      const seqs = await checkpointSeqs(deployment);
      const keep = seqs.at(-2);
      if (keep === undefined) throw new Error(`expected several checkpoints, got ${seqs.join(',')}`);
      await psql(
        deployment.databaseUrl,
        `select pg_advisory_xact_lock(${SEAL_LOCK});
       delete from audit_entries where chain_seq > ${keep};
       delete from audit_checkpoints where seq > ${keep};`,
      );
      await expectCaught(deployment, 'witness_missing');
    });

    it('catches a forger who knows the hash scheme, rehashes the chain and re-signs every checkpoint with a key row of their own', async () => {
      const deployment = await deploy();
      const forger = await generateKeyPair('ES256', { extractable: true });
      const kid = 'ops-key-2026';
      const publicJwk = JSON.stringify(await exportJWK(forger.publicKey));
      const privateJwk = JSON.stringify(await exportJWK(forger.privateKey));
      // Their own key row, in whatever shape the table has: a clear private key where the schema
      // keeps one, else a seal made with a key-encryption key of their own.
      const columns = await psql(
        deployment.databaseUrl,
        "select string_agg(column_name, ',') from information_schema.columns where table_name = 'signing_keys'",
      );
      const keyRow = columns.includes('private_jwk')
        ? `insert into signing_keys (kid, alg, public_jwk, private_jwk, created_at) values (${quote(kid)}, 'ES256', ${quote(publicJwk)}::jsonb, ${quote(privateJwk)}::jsonb, now() + interval '1 hour');`
        : `insert into signing_keys (kid, alg, public_jwk, sealed_private_key, created_at) values (${quote(kid)}, 'ES256', ${quote(publicJwk)}::jsonb, ${quote(
            await new CompactEncrypt(new TextEncoder().encode(privateJwk))
              .setProtectedHeader({
                alg: 'dir',
                enc: 'A256GCM',
                kid: 'forger-kek',
                cty: 'onewindow-signing-key+jwk',
                signing_kid: kid,
                signing_alg: 'ES256',
              })
              .encrypt(new Uint8Array(32).fill(9)),
          )}, now() + interval '1 hour');`;
      const rewrite = await rewriteHistorySql(deployment, 3, async (payload) => ({
        signature: await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
          .setProtectedHeader({ alg: 'ES256', kid, typ: CHECKPOINT_TYPE })
          .sign(forger.privateKey),
        kid,
      }));
      await psql(deployment.databaseUrl, `${keyRow}\n${rewrite}`);

      await expectCaught(deployment, 'untrusted_key', 'witness_mismatch');
      // Nor does the key row buy them anything else: the gateway does not publish it and refuses
      // tokens it signs (an instance reloads keys at once for an unknown kid).
      const jwks = await deployment.gateway.send('/.well-known/jwks.json');
      expect(jwks.json<{ keys: { kid: string }[] }>().keys.map((key) => key.kid)).not.toContain(kid);
      const token = await new SignJWT({ client_id: 'cli_ops', scope: 'clients:admin audit:verify', kind: 'admin' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
        .setIssuer(deployment.gateway.running.services.config.issuer)
        .setAudience(deployment.gateway.running.services.config.audience)
        .setSubject('cli_ops')
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti('tok_ops')
        .sign(forger.privateKey);
      expect((await deployment.gateway.send('/v1/clients?limit=1', { headers: bearerHeaders(token) })).status).toBe(
        401,
      );
    });

    it('catches the same forger holding a stolen checkpoint key file, by the witnesses', async () => {
      const deployment = await deploy();
      const stolen = await loadCheckpointSigner({
        keyFile: join(deployment.dataDir, 'keys', 'audit-checkpoint.pem'),
        alg: 'ES256',
        create: false,
      });
      await psql(
        deployment.databaseUrl,
        await rewriteHistorySql(deployment, 3, (payload) => signCheckpoint(stolen, payload)),
      );
      await expectCaught(deployment, 'witness_mismatch');
    });
  },
);
