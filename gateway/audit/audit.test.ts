/**
 * The audit log end to end: entries written in request transactions, sealed into the hash chain
 * with signed checkpoints, and every kind of tampering an operator with SQL access could try,
 * each expected to be reported with the right kind at the first bad position.
 *
 * Runs on in-memory PGlite by default and on a fresh PostgreSQL database when DATABASE_URL is set.
 */
import { appendFile, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createTestGateway, problemOf, type TestGateway } from '../../test/harness.js';
import { type Database, rowsOf } from '../db/client.js';
import { auditCheckpoints, auditEntries } from '../db/schema.js';
import { type AuditRow, CHECKPOINT_TYPE, GENESIS_HASH, entryHash } from './chain.js';
import { type CheckpointSigner, TrustedKeys, loadCheckpointSigner, trustedKeyOfSigner } from './checkpoint-keys.js';
import { type AuditEntryInput, type AuditOutcome, recordAudit } from './record.js';
import { type SealResult, sealAll, sealPendingEntries, signCheckpoint } from './sealer.js';
import { type ChainProblemKind, type ChainVerification, type ExpectedHead, verifyAuditChain } from './verify.js';
import { CheckpointWitness, WitnessFileError } from './witness.js';

let gw: TestGateway;
let db: Database;
let signer: CheckpointSigner;
let trustedKeys: TrustedKeys;

beforeAll(async () => {
  gw = await createTestGateway();
  db = gw.services.db;
  signer = gw.services.audit.signer;
  trustedKeys = gw.services.audit.trustedKeys;
});

afterAll(async () => {
  await gw?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const CHAIN_LENGTH = 30;
const SEAL_EVERY = 10; // checkpoints at 10, 20 and 30

async function resetAudit(): Promise<void> {
  await db.execute(sql`delete from audit_entries`);
  await db.execute(sql`delete from audit_checkpoints`);
}

const outcomes: AuditOutcome[] = ['allowed', 'denied', 'not_found', 'failed'];

/** Varied entries, including awkward strings, so the hash covers real-world content. */
function entryInput(index: number): AuditEntryInput {
  return {
    actor: { clientId: `cli_test_${index % 3}`, kind: index % 2 === 0 ? 'window' : 'department' },
    operatorId: index % 4 === 0 ? null : `op-${index}`,
    action: index % 5 === 0 ? 'subject.read' : 'material.download',
    subjectRef: index % 6 === 0 ? null : `sub_${index.toString().padStart(4, '0')}`,
    fields: index % 3 === 0 ? [] : ['name', 'birth_date', `odd, "quoted" {field} \\ ${index}`, 'ünïcødé'],
    materialTypes: index % 2 === 0 ? ['ID_CARD'] : [],
    purpose: index % 7 === 0 ? null : `processing case ${index}`,
    caseRef: `case-${index}`,
    outcome: outcomes[index % outcomes.length] ?? 'allowed',
    requestId: `req-${index}`,
  };
}

let written = 0;

/** Writes `count` entries, each in its own transaction as a request would. */
async function writeEntries(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    written += 1;
    const input = entryInput(written);
    ids.push(await db.transaction((tx) => recordAudit(tx, input)));
  }
  return ids;
}

/** A freshly written and sealed chain of 30 entries with signed checkpoints at 10, 20 and 30. */
async function freshChain(): Promise<void> {
  await resetAudit();
  written = 0; // the entry at seq n is entryInput(n)
  for (let sealed = 0; sealed < CHAIN_LENGTH; sealed += SEAL_EVERY) {
    await writeEntries(SEAL_EVERY);
    const result = await sealAll(db, signer);
    expect(result).toMatchObject({ sealed: SEAL_EVERY, headSeq: sealed + SEAL_EVERY });
  }
}

async function rowAt(seq: number): Promise<AuditRow> {
  const [row] = await db.select().from(auditEntries).where(eq(auditEntries.chainSeq, seq));
  if (!row) throw new Error(`no entry at seq ${seq}`);
  return row;
}

async function sealedHashAt(seq: number): Promise<string> {
  const hash = (await rowAt(seq)).entryHash;
  if (!hash) throw new Error(`entry at seq ${seq} is not sealed`);
  return hash;
}

function verify(expected?: ExpectedHead): Promise<ChainVerification> {
  return verifyAuditChain(db, { trustedKeys }, expected);
}

async function expectProblem(kind: ChainProblemKind, seq: number, expected?: ExpectedHead): Promise<ChainVerification> {
  const result = await verify(expected);
  expect(result.ok, JSON.stringify(result.firstProblem)).toBe(false);
  expect(result.firstProblem).toMatchObject({ kind, seq });
  return result;
}

async function expectIntact(expected?: ExpectedHead): Promise<ChainVerification> {
  const result = await verify(expected);
  expect(result.firstProblem).toBeNull();
  expect(result.ok).toBe(true);
  return result;
}

/** Moves rows with chain_seq >= from up by one, dodging the unique index (negate, then re-set). */
async function shiftUpFrom(from: number): Promise<void> {
  await db.execute(sql`update audit_entries set chain_seq = -chain_seq where chain_seq >= ${from}`);
  await db.execute(sql`update audit_entries set chain_seq = -chain_seq + 1 where chain_seq < 0`);
}

/** Inserts a sealed row by hand, as an attacker with SQL access would. */
async function insertSealedRow(row: AuditRow): Promise<void> {
  const arrayLiteral = (values: string[]) => `{${values.map((value) => `"${value}"`).join(',')}}`;
  await db.execute(sql`
    insert into audit_entries (entry_id, occurred_at, actor_client_id, actor_kind, operator_id, action, subject_ref,
                               fields, material_types, purpose, case_ref, outcome, request_id,
                               chain_seq, prev_hash, entry_hash, sealed_at)
    values (${row.entryId}, ${row.occurredAt.toISOString()}::timestamptz, ${row.actorClientId}, ${row.actorKind},
            ${row.operatorId}, ${row.action}, ${row.subjectRef}, ${arrayLiteral(row.fields)}::text[],
            ${arrayLiteral(row.materialTypes)}::text[], ${row.purpose}, ${row.caseRef}, ${row.outcome}, ${row.requestId},
            ${row.chainSeq}, ${row.prevHash}, ${row.entryHash}, now())`);
}

function forgedRow(seq: number, prevHash: string, entryHashValue?: string): AuditRow {
  const row: AuditRow = {
    id: 0,
    entryId: `aud_forged_${seq}_${prevHash.slice(0, 8)}`,
    occurredAt: new Date('2025-01-01T10:00:00.123Z'),
    actorClientId: 'cli_test_1',
    actorKind: 'window',
    centreCode: null,
    operatorId: 'op-forged',
    action: 'subject.read',
    subjectRef: 'sub_9999',
    fields: ['name'],
    materialTypes: [],
    purpose: 'looks legitimate',
    caseRef: 'case-forged',
    outcome: 'allowed',
    requestId: 'req-forged',
    chainSeq: seq,
    prevHash,
    entryHash: null,
    sealedAt: null,
  };
  return { ...row, entryHash: entryHashValue ?? entryHash(row, seq, prevHash) };
}

/** Recomputes prev_hash/entry_hash of every entry from `fromSeq` on, as a careful attacker would. */
async function rehashFrom(fromSeq: number): Promise<string> {
  let prevHash = fromSeq === 1 ? GENESIS_HASH : await sealedHashAt(fromSeq - 1);
  const rows = await db
    .select()
    .from(auditEntries)
    .where(sql`${auditEntries.chainSeq} >= ${fromSeq}`)
    .orderBy(asc(auditEntries.chainSeq));
  for (const row of rows) {
    const seq = row.chainSeq ?? 0;
    const hash = entryHash(row, seq, prevHash);
    await db.execute(
      sql`update audit_entries set prev_hash = ${prevHash}, entry_hash = ${hash} where chain_seq = ${seq}`,
    );
    prevHash = hash;
  }
  return prevHash;
}

async function countWhere(condition: ReturnType<typeof sql>): Promise<number> {
  const result = await db.execute(sql`select count(*)::int as n from audit_entries where ${condition}`);
  return Number(rowsOf<{ n: number }>(result)[0]?.n ?? -1);
}

// ---------------------------------------------------------------------------------------------
// An intact chain
// ---------------------------------------------------------------------------------------------

describe('an intact chain', () => {
  beforeEach(freshChain);

  it('verifies ok and reports its head and latest checkpoint', async () => {
    const result = await expectIntact();
    const head = await sealedHashAt(CHAIN_LENGTH);
    expect(result).toMatchObject({
      entriesChecked: CHAIN_LENGTH,
      headSeq: CHAIN_LENGTH,
      headHash: head,
      checkpointsChecked: 3,
      pendingEntries: 0,
    });
    expect(result.latestCheckpoint).toMatchObject({ seq: CHAIN_LENGTH, headHash: head });
    expect(result.latestCheckpoint?.kid).toBe(signer.kid);

    // Sealed rows form one chain from the genesis hash.
    const first = await rowAt(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    for (let seq = 2; seq <= CHAIN_LENGTH; seq += 1) {
      expect((await rowAt(seq)).prevHash).toBe(await sealedHashAt(seq - 1));
    }
  });

  it('verifies an empty log', async () => {
    await resetAudit();
    const result = await expectIntact();
    expect(result).toMatchObject({
      entriesChecked: 0,
      headSeq: 0,
      headHash: GENESIS_HASH,
      latestCheckpoint: null,
      checkpointsChecked: 0,
    });
  });

  it('counts unsealed entries as pending without failing, and seals them onto the head', async () => {
    await writeEntries(3);
    const before = await expectIntact();
    expect(before).toMatchObject({ headSeq: CHAIN_LENGTH, pendingEntries: 3 });
    const sealed = await sealPendingEntries(db, signer);
    expect(sealed).toMatchObject({ sealed: 3, headSeq: CHAIN_LENGTH + 3 });
    const after = await expectIntact();
    expect(after).toMatchObject({ headSeq: CHAIN_LENGTH + 3, pendingEntries: 0, checkpointsChecked: 4 });
    expect(after.latestCheckpoint?.seq).toBe(CHAIN_LENGTH + 3);
  });

  it('seals in batches of the given size, each with its own checkpoint', async () => {
    await writeEntries(5);
    expect(await sealPendingEntries(db, signer, { batchSize: 2 })).toMatchObject({ sealed: 2, headSeq: 32 });
    expect(await sealPendingEntries(db, signer, { batchSize: 2 })).toMatchObject({ sealed: 2, headSeq: 34 });
    expect(await sealPendingEntries(db, signer, { batchSize: 2 })).toMatchObject({ sealed: 1, headSeq: 35 });
    expect(await sealPendingEntries(db, signer, { batchSize: 2 })).toMatchObject({
      sealed: 0,
      headSeq: 35,
      headHash: await sealedHashAt(35),
    });
    expect(await expectIntact()).toMatchObject({ headSeq: 35, checkpointsChecked: 6 });
  });
});

// ---------------------------------------------------------------------------------------------
// Tampering by hand with SQL
// ---------------------------------------------------------------------------------------------

describe('checkpoints signed by a rotated checkpoint key', () => {
  beforeEach(freshChain);

  it('verify when the old key is among the trusted keys, and are untrusted when it is not', async () => {
    // The operator moves the old key file aside; the gateway creates a new one at the next start.
    const rotated = await loadCheckpointSigner({
      keyFile: join(gw.config.dataDir, 'keys', 'audit-checkpoint-2.pem'),
      alg: 'ES256',
      create: true,
    });
    expect(rotated.kid).not.toBe(signer.kid);
    await writeEntries(3);
    await sealAll(db, rotated);
    const both = new TrustedKeys([trustedKeyOfSigner(signer), trustedKeyOfSigner(rotated)]);
    const result = await verifyAuditChain(db, { trustedKeys: both });
    expect(result).toMatchObject({ ok: true, checkpointsChecked: 4, latestCheckpoint: { kid: rotated.kid } });
    expect(result.trust).toMatchObject({ signaturesChecked: true, trustedKeys: [signer.kid, rotated.kid] });

    const newOnly = await verifyAuditChain(db, { trustedKeys: new TrustedKeys([trustedKeyOfSigner(rotated)]) });
    expect(newOnly.firstProblem).toMatchObject({ kind: 'untrusted_key', seq: SEAL_EVERY });
  });

  it('checks links and hashes but no signature without trusted keys, and says so', async () => {
    const result = await verifyAuditChain(db, { trustedKeys: null });
    expect(result).toMatchObject({ ok: true, trust: { signaturesChecked: false, trustedKeys: [], witness: null } });
    await db.execute(sql`update audit_entries set purpose = 'edited' where chain_seq = 4`);
    expect((await verifyAuditChain(db, { trustedKeys: null })).firstProblem).toMatchObject({
      kind: 'modified',
      seq: 4,
    });
  });
});

describe('tampering with entries', () => {
  beforeEach(freshChain);

  it('detects a modified purpose at that position', async () => {
    const target = await rowAt(17);
    await db.execute(sql`update audit_entries set purpose = 'something innocent' where chain_seq = 17`);
    const result = await expectProblem('modified', 17);
    expect(result.firstProblem?.entryId).toBe(target.entryId);
    expect(result.entriesChecked).toBe(17);
    expect(result.headHash).toBe(await sealedHashAt(16));
  });

  // Every content column is covered by the hash.
  it.each([
    ['entry_id', sql`entry_id = 'aud_replaced'`],
    ['occurred_at', sql`occurred_at = occurred_at + interval '1 millisecond'`],
    ['actor_client_id', sql`actor_client_id = 'cli_someone_else'`],
    ['actor_kind', sql`actor_kind = 'admin'`],
    ['operator_id', sql`operator_id = 'op-other'`],
    ['action', sql`action = 'subject.list'`],
    ['subject_ref', sql`subject_ref = 'sub_other'`],
    ['fields', sql`fields = array_remove(fields, 'name')`],
    ['material_types', sql`material_types = '{}'::text[]`],
    ['case_ref', sql`case_ref = null`],
    ['outcome', sql`outcome = 'denied'`],
    ['request_id', sql`request_id = 'req-other'`],
    ['entry_hash', sql`entry_hash = md5(entry_hash) || md5(entry_hash)`],
  ])('detects a change of %s as modified', async (_column, assignment) => {
    // Entry 22 has every optional column set (see entryInput), so each assignment really changes it.
    const before = await rowAt(22);
    await db.execute(sql`update audit_entries set ${assignment} where chain_seq = 22`);
    expect(await rowAt(22)).not.toEqual(before);
    await expectProblem('modified', 22);
  });

  it('detects a changed prev_hash as a broken link', async () => {
    await db.execute(sql`update audit_entries set prev_hash = ${GENESIS_HASH} where chain_seq = 9`);
    await expectProblem('broken_link', 9);
  });

  it('detects a deleted entry as missing at its position', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq = 12`);
    const result = await expectProblem('missing', 12);
    expect(result.headSeq).toBe(11);
  });

  it('detects a deleted first entry', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq = 1`);
    await expectProblem('missing', 1);
  });

  it('detects a deleted entry that a checkpoint points at', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq = 20`);
    await expectProblem('missing', 20);
  });

  it('detects a deleted entry whose successors were renumbered to close the gap', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq = 12`);
    await db.execute(sql`update audit_entries set chain_seq = -chain_seq where chain_seq > 12`);
    await db.execute(sql`update audit_entries set chain_seq = -chain_seq - 1 where chain_seq < 0`);
    await expectProblem('broken_link', 12);
  });

  it('detects two entries swapped in chain order at the first of them', async () => {
    await db.execute(sql`update audit_entries set chain_seq = -chain_seq where chain_seq in (8, 15)`);
    await db.execute(sql`update audit_entries set chain_seq = 15 where chain_seq = -8`);
    await db.execute(sql`update audit_entries set chain_seq = 8 where chain_seq = -15`);
    await expectProblem('broken_link', 8);
  });

  it('detects two adjacent entries swapped', async () => {
    await db.execute(sql`update audit_entries set chain_seq = -chain_seq where chain_seq in (22, 23)`);
    await db.execute(sql`update audit_entries set chain_seq = 23 where chain_seq = -22`);
    await db.execute(sql`update audit_entries set chain_seq = 22 where chain_seq = -23`);
    await expectProblem('broken_link', 22);
  });

  it('detects two entries swapped together with their seal columns at the first of them', async () => {
    // Moving the seal (seq, prev_hash, entry_hash) with the position leaves the links intact:
    // only the content no longer matches.
    await db.execute(sql`
      update audit_entries as a
         set occurred_at = b.occurred_at, actor_client_id = b.actor_client_id, actor_kind = b.actor_kind,
             operator_id = b.operator_id, action = b.action, subject_ref = b.subject_ref, fields = b.fields,
             material_types = b.material_types, purpose = b.purpose, case_ref = b.case_ref, outcome = b.outcome,
             request_id = b.request_id
        from audit_entries as b
       where (a.chain_seq, b.chain_seq) in ((8, 15), (15, 8))`);
    const result = await expectProblem('modified', 8);
    expect(result.firstProblem?.entryId).toBe((await rowAt(8)).entryId);
  });

  it('detects an entry inserted into the middle with a correctly computed hash at the inserted position', async () => {
    await shiftUpFrom(11);
    const forged = forgedRow(11, await sealedHashAt(10));
    await insertSealedRow(forged);
    // The forged row itself is self-consistent (it links to 10 and its hash is right); what gives it
    // away is that the entry after it was sealed at position 11 with the same predecessor.
    const result = await expectProblem('broken_link', 11);
    expect(result.firstProblem?.entryId).toBe(forged.entryId);
  });

  it('detects several entries inserted into the middle at the first inserted position', async () => {
    await shiftUpFrom(11);
    await shiftUpFrom(11);
    const first = forgedRow(11, await sealedHashAt(10));
    await insertSealedRow(first);
    await insertSealedRow(forgedRow(12, first.entryHash ?? ''));
    await expectProblem('broken_link', 11);
  });

  it('detects an inserted entry whose hash was copied from a neighbour as modified at the inserted position', async () => {
    const displaced = await sealedHashAt(11);
    await shiftUpFrom(11);
    await insertSealedRow(forgedRow(11, await sealedHashAt(10), displaced));
    await expectProblem('modified', 11);
  });

  it('detects an entry inserted before the first entry', async () => {
    await shiftUpFrom(1);
    await insertSealedRow(forgedRow(1, GENESIS_HASH));
    await expectProblem('broken_link', 1);
  });

  it('detects a cut-off tail as truncated at the first missing position', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq > 25`);
    const result = await expectProblem('truncated', 26);
    expect(result).toMatchObject({ headSeq: 25, entriesChecked: 25 });
  });

  it('detects a tail cut back to an earlier checkpoint', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq > 20`);
    await expectProblem('truncated', 21);
  });

  it('detects an entry unsealed in the middle (chain_seq set to null) as missing', async () => {
    await db.execute(sql`update audit_entries set chain_seq = null where chain_seq = 14`);
    const result = await expectProblem('missing', 14);
    expect(result.pendingEntries).toBe(1);
  });

  it('still reports the gap after the unsealed entry is sealed again at the head', async () => {
    await db.execute(sql`update audit_entries set chain_seq = null where chain_seq = 14`);
    const resealed = await sealAll(db, signer);
    expect(resealed).toMatchObject({ sealed: 1, headSeq: CHAIN_LENGTH + 1 });
    await expectProblem('missing', 14);
  });

  it('detects the last entry unsealed as truncated', async () => {
    await db.execute(sql`update audit_entries set chain_seq = null where chain_seq = ${CHAIN_LENGTH}`);
    await expectProblem('truncated', CHAIN_LENGTH);
  });

  it('keeps sealing after a cut-off tail and keeps the gap visible', async () => {
    // The sealer must not reuse positions a signed checkpoint already vouches for.
    await db.execute(sql`delete from audit_entries where chain_seq > 20`);
    await writeEntries(10);
    const result = await sealAll(db, signer);
    expect(result.sealed).toBe(10);
    const verification = await expectProblem('missing', 21);
    expect(verification.firstProblem?.detail).toContain('21..30');
    await writeEntries(2);
    expect((await sealAll(db, signer)).sealed).toBe(2);
    await expectProblem('missing', 21);
  });

  it('keeps sealing after the last entry was unsealed', async () => {
    await db.execute(sql`update audit_entries set chain_seq = null where chain_seq = ${CHAIN_LENGTH}`);
    const result = await sealAll(db, signer);
    expect(result.sealed).toBe(1);
    await expectProblem('missing', CHAIN_LENGTH);
  });

  it('detects a consistently rewritten chain by its signed checkpoint', async () => {
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 5`);
    await rehashFrom(5);
    // Every link and hash is consistent again; only the signed checkpoint at 10 disagrees.
    const result = await expectProblem('checkpoint_mismatch', 10);
    expect(result.headHash).toBe(await sealedHashAt(9));
  });

  it('detects a rewritten chain even when the attacker rewrites the checkpoint rows too', async () => {
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 25`);
    const newHead = await rehashFrom(25);
    await db.execute(sql`update audit_checkpoints set head_hash = ${newHead} where seq = 30`);
    await expectProblem('checkpoint_mismatch', 30);
  });

  it('detects a rewritten chain re-signed with another key under the real kid', async () => {
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 25`);
    const newHead = await rehashFrom(25);
    const { privateKey } = await generateKeyPair('ES256');
    const kid = signer.kid; // the attacker even copies the real kid
    const createdAt = new Date().toISOString();
    const signature = await new CompactSign(
      new TextEncoder().encode(JSON.stringify({ seq: 30, headHash: newHead, createdAt })),
    )
      .setProtectedHeader({ alg: 'ES256', kid, typ: CHECKPOINT_TYPE })
      .sign(privateKey);
    await db.execute(sql`update audit_checkpoints set head_hash = ${newHead}, signature = ${signature} where seq = 30`);
    await expectProblem('checkpoint_mismatch', 30);
  });

  it('detects a rewritten tail whose checkpoint was deleted', async () => {
    // Every seal writes its checkpoint in the same transaction, so sealed entries past the last
    // checkpoint cannot come from the sealer.
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 25`);
    await rehashFrom(25);
    await db.execute(sql`delete from audit_checkpoints where seq = 30`);
    await expectProblem('checkpoint_mismatch', 21);
  });

  it('detects an entry appended by hand after the head', async () => {
    await insertSealedRow(forgedRow(31, await sealedHashAt(30)));
    await expectProblem('checkpoint_mismatch', 31);
  });

  it('detects the whole log rewritten and every checkpoint deleted', async () => {
    await db.execute(sql`update audit_entries set outcome = 'allowed' where chain_seq = 2`);
    await rehashFrom(1);
    await db.execute(sql`delete from audit_checkpoints`);
    await expectProblem('checkpoint_mismatch', 1);
  });
});

describe('tampering with checkpoints', () => {
  beforeEach(freshChain);

  it('detects a checkpoint whose head_hash was altered', async () => {
    await db.execute(sql`update audit_checkpoints set head_hash = ${'f'.repeat(64)} where seq = 20`);
    await expectProblem('checkpoint_mismatch', 20);
  });

  it('detects checkpoint signatures swapped between two checkpoints', async () => {
    await db.execute(sql`
      update audit_checkpoints
         set signature = case seq when 10 then (select signature from audit_checkpoints where seq = 20)
                                  else (select signature from audit_checkpoints where seq = 10) end
       where seq in (10, 20)`);
    const [ten, twenty] = await db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq));
    expect(ten?.signature).not.toBe(twenty?.signature);
    await expectProblem('checkpoint_mismatch', 10);
  });

  it('detects a corrupted signature', async () => {
    await db.execute(sql`update audit_checkpoints set signature = signature || 'x' where seq = 30`);
    await expectProblem('checkpoint_mismatch', 30);
  });

  it('detects a checkpoint moved to another position', async () => {
    await db.execute(sql`update audit_checkpoints set seq = 25 where seq = 20`);
    await expectProblem('checkpoint_mismatch', 25);
  });
});

// ---------------------------------------------------------------------------------------------
// A forger who can write the database and knows the hash scheme
// ---------------------------------------------------------------------------------------------

/** Re-signs every checkpoint row with `privateKey` under `kid`, over the heads the chain has now. */
async function resignCheckpoints(privateKey: Parameters<CompactSign['sign']>[0], kid: string): Promise<void> {
  for (const checkpoint of await db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq))) {
    const headHash = await sealedHashAt(checkpoint.seq);
    const signature = await new CompactSign(
      new TextEncoder().encode(
        JSON.stringify({ seq: checkpoint.seq, headHash, createdAt: checkpoint.createdAt.toISOString() }),
      ),
    )
      .setProtectedHeader({ alg: 'ES256', kid, typ: CHECKPOINT_TYPE })
      .sign(privateKey);
    await db.execute(
      sql`update audit_checkpoints set head_hash = ${headHash}, signature = ${signature}, kid = ${kid} where seq = ${checkpoint.seq}`,
    );
  }
}

describe('a forger with write access to the database', () => {
  beforeEach(freshChain);

  it('who rehashes the chain, adds a signing key row of their own and re-signs every checkpoint is caught: keys in the database are never trusted', async () => {
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 5`);
    await rehashFrom(5);
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = 'forged-key-1';
    await db.execute(
      sql`insert into signing_keys (kid, alg, public_jwk) values (${kid}, 'ES256', ${JSON.stringify(await exportJWK(publicKey))}::jsonb)`,
    );
    await resignCheckpoints(privateKey, kid);
    // Without trusted keys only links and hashes can be checked, and those the forger made consistent.
    expect(await verifyAuditChain(db, { trustedKeys: null })).toMatchObject({
      ok: true,
      trust: { signaturesChecked: false },
    });
    const result = await expectProblem('untrusted_key', SEAL_EVERY);
    expect(result.firstProblem?.detail).toContain(kid);
    // Nor does the gateway publish the forger's key.
    expect((await gw.services.keys.jwks()).keys.map((key) => key.kid)).not.toContain(kid);
  });
});

// ---------------------------------------------------------------------------------------------
// The witness outside the database
// ---------------------------------------------------------------------------------------------

describe('the witness file', () => {
  let folder: string;
  let witnessFile: string;

  beforeEach(async () => {
    await resetAudit();
    written = 0;
    folder = await mkdtemp(join(tmpdir(), 'ow-witness-'));
    witnessFile = join(folder, 'witness.jsonl');
    const witness = new CheckpointWitness({ file: witnessFile, logger: gw.services.logger });
    for (let sealed = 0; sealed < CHAIN_LENGTH; sealed += SEAL_EVERY) {
      await writeEntries(SEAL_EVERY);
      await sealAll(db, signer, { witness });
    }
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  const withWitness = (expected?: ExpectedHead) =>
    verifyAuditChain(db, { trustedKeys, witness: { files: [witnessFile], required: true } }, expected);

  async function witnessLines(): Promise<Record<string, unknown>[]> {
    return (await readFile(witnessFile, 'utf8'))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('holds every signed head, once, after its seal committed, and agrees with the intact chain', async () => {
    const lines = await witnessLines();
    expect(lines.map((line) => line['seq'])).toEqual([10, 20, 30]);
    const checkpoints = await db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq));
    expect(lines).toEqual(
      checkpoints.map((checkpoint) => ({
        type: 'checkpoint',
        seq: checkpoint.seq,
        headHash: checkpoint.headHash,
        createdAt: checkpoint.createdAt.toISOString(),
        kid: checkpoint.kid,
        signature: checkpoint.signature,
      })),
    );
    const result = await withWitness();
    expect(result.ok).toBe(true);
    expect(result.trust.witness).toEqual({ recordsChecked: 3, latestWitnessedSeq: 30, problem: null });
  });

  it('catches a tail cut off together with its checkpoints, which the database alone cannot show', async () => {
    await db.execute(sql`delete from audit_entries where chain_seq > 20`);
    await db.execute(sql`delete from audit_checkpoints where seq > 20`);
    await expectIntact();
    const result = await withWitness();
    expect(result.firstProblem).toMatchObject({ kind: 'witness_missing', seq: 30 });
  });

  it('catches the whole log deleted', async () => {
    await resetAudit();
    await expectIntact();
    expect((await withWitness()).firstProblem).toMatchObject({ kind: 'witness_missing', seq: 10 });
  });

  it('catches a rewrite re-signed with the real checkpoint key (a forger who also stole the key file)', async () => {
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 15`);
    await rehashFrom(15);
    for (const seq of [20, 30]) {
      const [checkpoint] = await db.select().from(auditCheckpoints).where(eq(auditCheckpoints.seq, seq));
      const headHash = await sealedHashAt(seq);
      const { signature } = await signCheckpoint(signer, {
        seq,
        headHash,
        createdAt: checkpoint?.createdAt.toISOString() ?? '',
      });
      await db.execute(
        sql`update audit_checkpoints set head_hash = ${headHash}, signature = ${signature} where seq = ${seq}`,
      );
    }
    // Signed with the real key: the database alone looks intact.
    await expectIntact();
    const result = await withWitness();
    expect(result.firstProblem).toMatchObject({ kind: 'witness_mismatch', seq: 20 });
  });

  it('still reports the witness disagreeing when an earlier problem comes first', async () => {
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 25`);
    await rehashFrom(25);
    const { privateKey } = await generateKeyPair('ES256');
    await resignCheckpoints(privateKey, 'forged-key-2');
    const result = await withWitness();
    expect(result.firstProblem).toMatchObject({ kind: 'untrusted_key', seq: 10 });
    expect(result.trust.witness?.problem).toMatchObject({ kind: 'witness_mismatch', seq: 30 });
  });

  it('reports a witness record whose signature does not verify', async () => {
    const [last] = (await witnessLines()).slice(-1);
    await appendFile(witnessFile, `${JSON.stringify({ ...last, signature: `${String(last?.['signature'])}x` })}\n`);
    expect((await withWitness()).firstProblem).toMatchObject({ kind: 'witness_mismatch', seq: 30 });
  });

  it('accepts duplicate records and receipts of the same heads; refuses a malformed line or a missing file it was given', async () => {
    const lines = await witnessLines();
    const second = lines[1] ?? {};
    await appendFile(
      witnessFile,
      `${JSON.stringify(second)}\n${JSON.stringify({ type: 'receipt', seq: second['seq'], headHash: second['headHash'], witness: 'http://witness.test', status: 201, answer: { accepted: true }, receivedAt: new Date(0).toISOString() })}\n`,
    );
    expect((await withWitness()).trust.witness).toEqual({ recordsChecked: 5, latestWitnessedSeq: 30, problem: null });

    await appendFile(witnessFile, 'not json\n');
    await expect(withWitness()).rejects.toThrow(/line 6: not a witness record/);
    const missing = join(folder, 'nowhere.jsonl');
    await expect(verifyAuditChain(db, { trustedKeys, witness: { files: [missing], required: true } })).rejects.toThrow(
      WitnessFileError,
    );
    // The gateway's own file before its first checkpoint: nothing witnessed yet.
    expect(
      (await verifyAuditChain(db, { trustedKeys, witness: { files: [missing], required: false } })).trust.witness,
    ).toEqual({ recordsChecked: 0, latestWitnessedSeq: null, problem: null });
  });

  it("is compared by GET /v1/audit/verify (the gateway's own witness file)", async () => {
    const ownFile = gw.services.audit.witness.file;
    await copyFile(witnessFile, ownFile);
    try {
      const token = await gw.tokenFor('auditor');
      const intact = (await (
        await gw.request('/v1/audit/verify', { headers: bearer(token) })
      ).json()) as VerificationBody;
      expect(intact).toMatchObject({
        ok: true,
        trust: {
          signaturesChecked: true,
          trustedKeys: [signer.kid],
          witness: { recordsChecked: 3, latestWitnessedSeq: 30, problem: null },
        },
      });
      await db.execute(sql`delete from audit_entries where chain_seq > 20`);
      await db.execute(sql`delete from audit_checkpoints where seq > 20`);
      const cut = (await (await gw.request('/v1/audit/verify', { headers: bearer(token) })).json()) as VerificationBody;
      expect(cut.ok).toBe(false);
      expect(cut.firstProblem).toMatchObject({ kind: 'witness_missing', seq: 30 });
    } finally {
      await rm(ownFile, { force: true });
    }
  });

  it('makes GET /v1/audit/verify answer 503 audit_witness_unreadable when its witness file is corrupt', async () => {
    const ownFile = gw.services.audit.witness.file;
    await copyFile(witnessFile, ownFile);
    await appendFile(ownFile, '{"type":"checkpoint","seq":"forty"}\n');
    try {
      const response = await gw.request('/v1/audit/verify', { headers: bearer(await gw.tokenFor('auditor')) });
      expect(response.status).toBe(503);
      const problem = await problemOf(response);
      expect(problem.code).toBe('audit_witness_unreadable');
      expect(JSON.stringify(problem)).not.toContain(ownFile);
      expect(gw.logs.text()).toContain(`witness file ${ownFile}, line 4: not a witness record`);
    } finally {
      await rm(ownFile, { force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// An expected head seen earlier (a witness outside the database)
// ---------------------------------------------------------------------------------------------

describe('an expected head', () => {
  beforeEach(freshChain);

  it('accepts the current head and an earlier position with its hash', async () => {
    await expectIntact({ seq: CHAIN_LENGTH, hash: await sealedHashAt(CHAIN_LENGTH) });
    await expectIntact({ seq: 12, hash: await sealedHashAt(12) });
    await expectIntact({ seq: CHAIN_LENGTH });
  });

  it('detects truncation beyond the last checkpoint that the database alone cannot show', async () => {
    const seenHead = { seq: CHAIN_LENGTH, hash: await sealedHashAt(CHAIN_LENGTH) };
    // Cut the tail together with its checkpoint: what is left is a consistent, signed chain of 20.
    await db.execute(sql`delete from audit_entries where chain_seq > 20`);
    await db.execute(sql`delete from audit_checkpoints where seq > 20`);
    expect(await expectIntact()).toMatchObject({ headSeq: 20 });

    await expectProblem('truncated', 21, seenHead);
    await expectProblem('truncated', 21, { seq: CHAIN_LENGTH });
    await expectProblem('truncated', 21, { seq: 21 });
    await expectIntact({ seq: 20, hash: await sealedHashAt(20) });
  });

  it('detects a head whose hash differs from the one seen', async () => {
    await expectProblem('checkpoint_mismatch', 20, { seq: 20, hash: 'a'.repeat(64) });
  });

  it('detects a rewritten tail with its checkpoints rewritten away by the expected hash', async () => {
    const seenHead = { seq: CHAIN_LENGTH, hash: await sealedHashAt(CHAIN_LENGTH) };
    // The attacker rewrites entry 25 and re-seals the rest with the gateway's own sealer logic
    // (e.g. from a stolen key): links, hashes and checkpoints are all consistent again.
    await db.execute(sql`delete from audit_checkpoints where seq = 30`);
    await db.execute(sql`update audit_entries set purpose = 'rewritten' where chain_seq = 25`);
    const newHead = await rehashFrom(25);
    const createdAt = new Date();
    const { signature, kid } = await signCheckpoint(signer, {
      seq: 30,
      headHash: newHead,
      createdAt: createdAt.toISOString(),
    });
    await db.insert(auditCheckpoints).values({ seq: 30, headHash: newHead, signature, kid, createdAt });
    await expectIntact();
    await expectProblem('checkpoint_mismatch', CHAIN_LENGTH, seenHead);
  });
});

// ---------------------------------------------------------------------------------------------
// Concurrency: many writers and several sealers at once
// ---------------------------------------------------------------------------------------------

describe('concurrent writers and sealers', () => {
  it('seals every entry exactly once into a dense, valid chain', async () => {
    await resetAudit();
    const writers = 200;
    let writing = true;
    const sealResults: SealResult[] = [];

    const sealerLoop = async (pauseMs: number) => {
      while (writing) {
        sealResults.push(await sealAll(db, signer));
        await delay(pauseMs);
      }
    };
    const writer = async (index: number) => {
      await delay(index % 17);
      return db.transaction(async (tx) => {
        const id = await recordAudit(tx, { ...entryInput(index), action: 'concurrency.test' });
        // Commit some transactions late, so entries with lower ids become visible after higher ones.
        if (index % 5 === 0) await tx.execute(sql`select pg_sleep(0.005)`);
        return id;
      });
    };

    const sealers = [1, 2, 3, 5].map((pause) => sealerLoop(pause));
    const ids = await Promise.all(Array.from({ length: writers }, (_, index) => writer(index)));
    writing = false;
    await Promise.all(sealers);
    sealResults.push(await sealAll(db, signer));

    expect(new Set(ids).size).toBe(writers);
    const totalSealed = sealResults.reduce((sum, result) => sum + result.sealed, 0);
    expect(totalSealed).toBe(writers); // every entry sealed once, never twice

    const stats = rowsOf<{
      total: number;
      sealed: number;
      distinct_seqs: number;
      min_seq: number;
      max_seq: number;
      sealed_at: number;
    }>(
      await db.execute(sql`
        select count(*)::int as total, count(chain_seq)::int as sealed, count(distinct chain_seq)::int as distinct_seqs,
               min(chain_seq)::int as min_seq, max(chain_seq)::int as max_seq, count(sealed_at)::int as sealed_at
          from audit_entries`),
    )[0];
    expect(stats).toEqual({
      total: writers,
      sealed: writers,
      distinct_seqs: writers,
      min_seq: 1,
      max_seq: writers,
      sealed_at: writers,
    });

    const storedIds = (await db.select({ entryId: auditEntries.entryId }).from(auditEntries))
      .map((row) => row.entryId)
      .sort();
    expect(storedIds).toEqual([...ids].sort());

    const result = await expectIntact();
    expect(result).toMatchObject({ entriesChecked: writers, headSeq: writers, pendingEntries: 0 });
    expect(result.checkpointsChecked).toBe(sealResults.filter((sealed) => sealed.sealed > 0).length);
    expect(result.latestCheckpoint?.seq).toBe(writers);
  });
});

// ---------------------------------------------------------------------------------------------
// Fail closed: no access without its audit entry, no audit entry without the access
// ---------------------------------------------------------------------------------------------

describe('recording fails closed', () => {
  beforeEach(resetAudit);

  it('leaves no entry when the transaction that recorded it fails afterwards', async () => {
    await expect(
      db.transaction(async (tx) => {
        await recordAudit(tx, { ...entryInput(1), action: 'failclosed.rollback' });
        throw new Error('the access failed after the audit entry was written');
      }),
    ).rejects.toThrow('the access failed');
    expect(await countWhere(sql`action = 'failclosed.rollback'`)).toBe(0);
  });

  it('fails the surrounding transaction when the entry cannot be written', async () => {
    await expect(
      db.transaction(async (tx) => {
        // The access itself (stood in for by another entry) happens in the same transaction...
        await recordAudit(tx, { ...entryInput(2), action: 'failclosed.access' });
        // ...and its audit entry is invalid: outcome violates NOT NULL.
        await recordAudit(tx, {
          ...entryInput(3),
          action: 'failclosed.invalid',
          outcome: null as unknown as AuditOutcome,
        });
        return 'data disclosed';
      }),
    ).rejects.toThrow();
    expect(await countWhere(sql`action like 'failclosed.%'`)).toBe(0);
  });

  it('returns the id of the entry it wrote, unsealed', async () => {
    const id = await db.transaction((tx) => recordAudit(tx, { ...entryInput(4), action: 'failclosed.ok' }));
    expect(id).toMatch(/^aud_[A-Za-z0-9_-]{16}$/);
    const [row] = await db.select().from(auditEntries).where(eq(auditEntries.entryId, id));
    expect(row).toMatchObject({
      action: 'failclosed.ok',
      chainSeq: null,
      prevHash: null,
      entryHash: null,
      sealedAt: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The HTTP API
// ---------------------------------------------------------------------------------------------

interface VerificationBody extends ChainVerification {}
interface EntriesBody {
  items: {
    entryId: string;
    chainSeq: number | null;
    entryHash: string | null;
    action: string;
    fields: string[];
    occurredAt: string;
  }[];
  nextAfterSeq: number | null;
}

describe('the audit HTTP API', () => {
  beforeEach(freshChain);

  it('verifies the chain for a token with audit:verify and records that it did', async () => {
    const token = await gw.tokenFor('auditor');
    const response = await gw.request('/v1/audit/verify', { headers: bearer(token) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as VerificationBody;
    expect(body).toMatchObject({
      ok: true,
      entriesChecked: CHAIN_LENGTH,
      headSeq: CHAIN_LENGTH,
      firstProblem: null,
      pendingEntries: 0,
    });
    expect(body.latestCheckpoint?.seq).toBe(CHAIN_LENGTH);
    expect(body.headHash).toBe(await sealedHashAt(CHAIN_LENGTH));
    expect(await countWhere(sql`action = 'audit.verify' and chain_seq is null`)).toBe(1);
  });

  it('reports the first problem after tampering', async () => {
    const token = await gw.tokenFor('auditor');
    await db.execute(sql`update audit_entries set purpose = 'covered up' where chain_seq = 7`);
    const response = await gw.request('/v1/audit/verify', { headers: bearer(token) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as VerificationBody;
    expect(body.ok).toBe(false);
    expect(body.firstProblem).toMatchObject({ kind: 'modified', seq: 7, entryId: (await rowAt(7)).entryId });
  });

  it('checks an expected head given as query parameters', async () => {
    const token = await gw.tokenFor('auditor');
    const hash = await sealedHashAt(CHAIN_LENGTH);
    const ok = await gw.request(`/v1/audit/verify?expectSeq=${CHAIN_LENGTH}&expectHash=${hash}`, {
      headers: bearer(token),
    });
    expect(((await ok.json()) as VerificationBody).ok).toBe(true);

    await db.execute(sql`delete from audit_entries where chain_seq > 20`);
    await db.execute(sql`delete from audit_checkpoints where seq > 20`);
    const cut = await gw.request(`/v1/audit/verify?expectSeq=${CHAIN_LENGTH}&expectHash=${hash}`, {
      headers: bearer(token),
    });
    const body = (await cut.json()) as VerificationBody;
    expect(body.ok).toBe(false);
    expect(body.firstProblem).toMatchObject({ kind: 'truncated', seq: 21 });

    const invalid = await gw.request('/v1/audit/verify?expectSeq=3&expectHash=nothex', { headers: bearer(token) });
    expect(invalid.status).toBe(400);
  });

  it('lists sealed entries in chain order, page by page', async () => {
    await writeEntries(2); // pending entries are not listed
    const token = await gw.tokenFor('auditor');
    const all = await gw.request('/v1/audit/entries', { headers: bearer(token) });
    expect(all.status).toBe(200);
    const body = (await all.json()) as EntriesBody;
    expect(body.items.map((item) => item.chainSeq)).toEqual(
      Array.from({ length: CHAIN_LENGTH }, (_, index) => index + 1),
    );
    expect(body.nextAfterSeq).toBeNull();
    const fifth = await rowAt(5);
    expect(body.items[4]).toMatchObject({
      entryId: fifth.entryId,
      entryHash: fifth.entryHash,
      fields: fifth.fields,
      occurredAt: fifth.occurredAt.toISOString(),
    });

    const first = (await (
      await gw.request('/v1/audit/entries?limit=10', { headers: bearer(token) })
    ).json()) as EntriesBody;
    expect(first.items.map((item) => item.chainSeq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first.nextAfterSeq).toBe(10);
    const second = (await (
      await gw.request(`/v1/audit/entries?limit=10&afterSeq=${first.nextAfterSeq}`, { headers: bearer(token) })
    ).json()) as EntriesBody;
    expect(second.items.map((item) => item.chainSeq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);

    const filtered = (await (
      await gw.request('/v1/audit/entries?actorClientId=cli_test_0', { headers: bearer(token) })
    ).json()) as EntriesBody;
    expect(filtered.items.length).toBeGreaterThan(0);
    expect(filtered.items.length).toBeLessThan(CHAIN_LENGTH);
    const seqs = filtered.items.map((item) => item.chainSeq ?? 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it.each(['/v1/audit/verify', '/v1/audit/entries'])('%s answers 401 without a token', async (path) => {
    const response = await gw.request(path);
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('unauthenticated');
  });

  it.each(['/v1/audit/verify', '/v1/audit/entries'])(
    '%s answers 403 to a token without the audit scope',
    async (path) => {
      const response = await gw.request(path, { headers: bearer(await gw.tokenFor('window')) });
      expect(response.status).toBe(403);
      expect((await problemOf(response)).code).toBe('insufficient_scope');
    },
  );

  it('needs audit:verify to verify even for an auditor holding audit:read', async () => {
    const readOnly = await gw.tokenFor('auditor', ['audit:read']);
    expect((await gw.request('/v1/audit/verify', { headers: bearer(readOnly) })).status).toBe(403);
    expect((await gw.request('/v1/audit/entries', { headers: bearer(readOnly) })).status).toBe(200);
  });

  it('does not record an entry for a refused verification', async () => {
    await gw.request('/v1/audit/verify', { headers: bearer(await gw.tokenFor('window')) });
    expect(await countWhere(sql`action = 'audit.verify'`)).toBe(0);
  });
});
