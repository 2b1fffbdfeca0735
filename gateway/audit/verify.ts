/**
 * Verifies the audit chain from the first entry to the head, page by page, every signed
 * checkpoint against it with keys given out of band (never keys from the database), and the
 * heads published to witnesses outside the database against the checkpoints. Reports the first
 * problem found with the sequence number it concerns.
 */
import { and, asc, count, eq, gt, isNull, lt } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { verifyCompactJws } from '../auth/jws.js';
import type { Queryable } from '../db/client.js';
import { auditCheckpoints, auditEntries } from '../db/schema.js';
import { type AuditRow, CHECKPOINT_TYPE, type CheckpointPayload, GENESIS_HASH, entryHash } from './chain.js';
import type { TrustedKeys } from './checkpoint-keys.js';
import { type WitnessedHead, readWitnessHeads } from './witness.js';

const PAGE = 2000;

export type ChainProblemKind =
  /** An entry's content no longer matches its hash. */
  | 'modified'
  /** Sequence numbers jump: entries are missing (deleted, or unsealed after sealing). */
  | 'missing'
  /** An entry does not link to the one before it: moved, swapped or inserted. */
  | 'broken_link'
  /**
   * A checkpoint's signature is invalid, the chain disagrees with what it signed, or sealed
   * entries lie past the last checkpoint (which the sealer never leaves behind).
   */
  | 'checkpoint_mismatch'
  /** A checkpoint is signed by a key the verifier was not given: re-signed by someone else. */
  | 'untrusted_key'
  /** The chain ends before the last signed checkpoint (or an expected head): the tail was cut. */
  | 'truncated'
  /** A head the witness holds is gone from the database (its checkpoint, or the chain up to it). */
  | 'witness_missing'
  /** The database's checkpoint at a witnessed position differs from the witness's. */
  | 'witness_mismatch';

export interface ChainProblem {
  kind: ChainProblemKind;
  /** Chain position of the first bad entry (for `truncated`: the first missing position). */
  seq: number;
  entryId: string | null;
  detail: string;
}

export interface ChainVerification {
  ok: boolean;
  entriesChecked: number;
  headSeq: number;
  headHash: string;
  checkpointsChecked: number;
  latestCheckpoint: { seq: number; headHash: string; kid: string; createdAt: string } | null;
  /** Entries written but not yet sealed (normal for a second or so after they are written). */
  pendingEntries: number;
  firstProblem: ChainProblem | null;
  /** What the verification relied on outside the database, and what it could not check. */
  trust: {
    /** False when no trusted key was given: links and hashes were checked, signatures were not. */
    signaturesChecked: boolean;
    /** Kids of the keys checkpoints were allowed to be signed with. */
    trustedKeys: string[];
    /** The comparison with the witness; null when no witness was consulted. */
    witness: WitnessComparison | null;
  };
}

export interface WitnessComparison {
  /** Heads read from the witness (checkpoint records and HTTP witness receipts). */
  recordsChecked: number;
  latestWitnessedSeq: number | null;
  /** The first disagreement between the witness and the database, also when an earlier problem is firstProblem. */
  problem: ChainProblem | null;
}

export interface ExpectedHead {
  seq: number;
  hash?: string;
}

export interface VerificationTrust {
  /** Keys checkpoints must be signed with; null checks links and hashes only (and says so). */
  trustedKeys: TrustedKeys | null;
  /** Witness files to compare with; `required`: a missing file is an error, not an empty witness. */
  witness?: { files: string[]; required: boolean } | undefined;
}

type SignatureCheck =
  | { status: 'ok'; payload: CheckpointPayload }
  | { status: 'untrusted'; kid: string }
  | { status: 'invalid' };

async function verifyCheckpointSignature(trustedKeys: TrustedKeys, signature: string): Promise<SignatureCheck> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(signature).kid;
  } catch {
    return { status: 'invalid' };
  }
  if (typeof kid !== 'string') return { status: 'invalid' };
  const key = trustedKeys.get(kid);
  if (!key) return { status: 'untrusted', kid };
  try {
    const { payload, protectedHeader } = await verifyCompactJws(signature, key.verifyKey, key.alg);
    if (protectedHeader.typ !== CHECKPOINT_TYPE) return { status: 'invalid' };
    return { status: 'ok', payload: JSON.parse(new TextDecoder().decode(payload)) as CheckpointPayload };
  } catch {
    return { status: 'invalid' };
  }
}

/** The problem with a checkpoint row, or null when its signature is trusted and matches it. */
async function checkpointProblem(
  trustedKeys: TrustedKeys | null,
  checkpoint: { seq: number; headHash: string; signature: string },
  entryId: string | null,
): Promise<ChainProblem | null> {
  if (!trustedKeys) return null;
  const checked = await verifyCheckpointSignature(trustedKeys, checkpoint.signature);
  if (checked.status === 'untrusted') {
    return {
      kind: 'untrusted_key',
      seq: checkpoint.seq,
      entryId,
      detail: `checkpoint is signed by key ${checked.kid}, which is not among the trusted keys`,
    };
  }
  if (
    checked.status === 'invalid' ||
    checked.payload.seq !== checkpoint.seq ||
    checked.payload.headHash !== checkpoint.headHash
  ) {
    return {
      kind: 'checkpoint_mismatch',
      seq: checkpoint.seq,
      entryId,
      detail: 'checkpoint signature is invalid or does not match its row',
    };
  }
  return null;
}

/**
 * Explains a broken link at `seq` when it is an insertion: the entry links to an earlier verified
 * entry and its hash shows it was sealed right after that one, so the entries in between were
 * inserted. Returns the problem at the first inserted position, or null for any other break.
 */
async function insertionBefore(db: Queryable, row: AuditRow, seq: number): Promise<ChainProblem | null> {
  if (!row.prevHash || !row.entryHash) return null;
  let predecessor: number | null = null;
  if (row.prevHash === GENESIS_HASH) {
    predecessor = 0;
  } else {
    // Only on this failure path, so a scan without an index on entry_hash is acceptable. Entries
    // before `seq` were all verified by the walk, so their stored hash is their real hash.
    const [found] = await db
      .select({ seq: auditEntries.chainSeq })
      .from(auditEntries)
      .where(
        and(eq(auditEntries.entryHash, row.prevHash), gt(auditEntries.chainSeq, 0), lt(auditEntries.chainSeq, seq - 1)),
      )
      .limit(1);
    predecessor = found?.seq ?? null;
  }
  if (predecessor === null || predecessor >= seq - 1) return null;
  const sealedAt = predecessor + 1;
  if (entryHash(row, sealedAt, row.prevHash) !== row.entryHash) return null;
  const [first] = await db
    .select({ entryId: auditEntries.entryId })
    .from(auditEntries)
    .where(eq(auditEntries.chainSeq, sealedAt));
  return {
    kind: 'broken_link',
    seq: sealedAt,
    entryId: first?.entryId ?? null,
    detail: `entries ${sealedAt}..${seq - 1} were inserted: entry ${row.entryId}, now at ${seq}, was sealed at ${sealedAt}`,
  };
}

export async function verifyAuditChain(
  db: Queryable,
  trust: VerificationTrust,
  expected?: ExpectedHead,
): Promise<ChainVerification> {
  // The witness first: every head in it was committed before it was written, so the database
  // read after it must hold them all (a seal committing meanwhile cannot look like a loss).
  const witnessed = trust.witness ? await readWitnessHeads(trust.witness.files, trust.witness.required) : null;
  const checkpoints = await db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq));
  const [pendingRow] = await db.select({ pending: count() }).from(auditEntries).where(isNull(auditEntries.chainSeq));
  const checkpointAt = new Map(checkpoints.map((checkpoint) => [checkpoint.seq, checkpoint]));

  let firstProblem: ChainProblem | null = null;
  const fail = (problem: ChainProblem) => {
    firstProblem ??= problem;
  };

  // Checkpoints first: a forged or altered checkpoint is a problem even if the chain is intact.
  for (const checkpoint of checkpoints) {
    const problem = await checkpointProblem(trust.trustedKeys, checkpoint, null);
    if (problem) {
      fail(problem);
      break;
    }
  }

  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let entriesChecked = 0;
  let lastSeq = 0;
  walk: for (;;) {
    const page = await db
      .select()
      .from(auditEntries)
      .where(gt(auditEntries.chainSeq, lastSeq))
      .orderBy(asc(auditEntries.chainSeq))
      .limit(PAGE);
    for (const row of page) {
      const seq = row.chainSeq ?? 0;
      lastSeq = seq;
      entriesChecked += 1;
      if (seq !== expectedSeq) {
        fail({
          kind: 'missing',
          seq: expectedSeq,
          entryId: null,
          detail: `entries ${expectedSeq}..${seq - 1} are missing from the chain`,
        });
        break walk;
      }
      if (row.prevHash !== prevHash) {
        fail(
          (await insertionBefore(db, row, seq)) ?? {
            kind: 'broken_link',
            seq,
            entryId: row.entryId,
            detail: 'entry does not link to the entry before it',
          },
        );
        break walk;
      }
      const recomputed = entryHash(row, seq, prevHash);
      if (recomputed !== row.entryHash) {
        fail({ kind: 'modified', seq, entryId: row.entryId, detail: 'entry content does not match its sealed hash' });
        break walk;
      }
      const checkpoint = checkpointAt.get(seq);
      if (checkpoint && checkpoint.headHash !== recomputed) {
        fail({
          kind: 'checkpoint_mismatch',
          seq,
          entryId: row.entryId,
          detail: 'chain was rewritten up to this signed checkpoint',
        });
        break walk;
      }
      prevHash = recomputed;
      expectedSeq = seq + 1;
    }
    if (page.length < PAGE) break;
  }

  const headSeq = expectedSeq - 1;
  if (!firstProblem && (checkpoints.at(-1)?.seq ?? 0) < headSeq) {
    // The sealer writes a checkpoint in the same transaction as the entries it seals, so every
    // sealed entry is covered by one. Checkpoints read before the walk may miss a seal that
    // committed during it: read those written since, and check them like the others.
    const later = await db
      .select()
      .from(auditCheckpoints)
      .where(gt(auditCheckpoints.seq, checkpoints.at(-1)?.seq ?? 0))
      .orderBy(asc(auditCheckpoints.seq));
    for (const checkpoint of later) {
      if (checkpoint.seq > headSeq) break;
      const [row] = await db
        .select({ entryId: auditEntries.entryId, entryHash: auditEntries.entryHash })
        .from(auditEntries)
        .where(eq(auditEntries.chainSeq, checkpoint.seq));
      const problem = await checkpointProblem(trust.trustedKeys, checkpoint, row?.entryId ?? null);
      if (problem || row?.entryHash !== checkpoint.headHash) {
        fail(
          problem ?? {
            kind: 'checkpoint_mismatch',
            seq: checkpoint.seq,
            entryId: row?.entryId ?? null,
            detail: 'checkpoint does not match the chain',
          },
        );
        break;
      }
      checkpoints.push(checkpoint);
      checkpointAt.set(checkpoint.seq, checkpoint);
    }
    const coveredTo = checkpoints.at(-1)?.seq ?? 0;
    if (!firstProblem && coveredTo < headSeq) {
      const [row] = await db
        .select({ entryId: auditEntries.entryId })
        .from(auditEntries)
        .where(eq(auditEntries.chainSeq, coveredTo + 1));
      fail({
        kind: 'checkpoint_mismatch',
        seq: coveredTo + 1,
        entryId: row?.entryId ?? null,
        detail:
          `entries ${coveredTo + 1}..${headSeq} are sealed but no signed checkpoint covers them: a checkpoint ` +
          'was deleted, or entries were sealed outside the sealer',
      });
    }
  }
  const latest = checkpoints.at(-1);
  if (!firstProblem && latest && latest.seq > headSeq) {
    fail({
      kind: 'truncated',
      seq: headSeq + 1,
      entryId: null,
      detail: `chain ends at ${headSeq} but a checkpoint was signed at ${latest.seq}`,
    });
  }
  if (!firstProblem && expected) {
    if (expected.seq > headSeq) {
      fail({
        kind: 'truncated',
        seq: headSeq + 1,
        entryId: null,
        detail: `chain ends at ${headSeq} but ${expected.seq} was expected`,
      });
    } else if (expected.hash) {
      const [row] = await db
        .select()
        .from(auditEntries)
        .where(gt(auditEntries.chainSeq, expected.seq - 1))
        .orderBy(asc(auditEntries.chainSeq))
        .limit(1);
      if (!row || row.chainSeq !== expected.seq || row.entryHash !== expected.hash) {
        fail({
          kind: 'checkpoint_mismatch',
          seq: expected.seq,
          entryId: row?.entryId ?? null,
          detail: 'entry at the expected head does not have the expected hash',
        });
      }
    }
  }

  let witness: WitnessComparison | null = null;
  if (witnessed) {
    const problem = await compareWithWitness(
      witnessed,
      checkpointAt,
      trust.trustedKeys,
      firstProblem === null ? headSeq : null,
    );
    if (problem) fail(problem);
    witness = {
      recordsChecked: witnessed.length,
      latestWitnessedSeq: witnessed.reduce<number | null>((highest, head) => Math.max(highest ?? 0, head.seq), null),
      problem,
    };
  }

  return {
    ok: firstProblem === null,
    entriesChecked,
    headSeq,
    headHash: prevHash,
    checkpointsChecked: checkpoints.length,
    latestCheckpoint: latest
      ? { seq: latest.seq, headHash: latest.headHash, kid: latest.kid, createdAt: latest.createdAt.toISOString() }
      : null,
    pendingEntries: Number(pendingRow?.pending ?? 0),
    firstProblem,
    trust: { signaturesChecked: trust.trustedKeys !== null, trustedKeys: trust.trustedKeys?.kids ?? [], witness },
  };
}

/**
 * The first disagreement between the witness and the database: a witnessed head whose checkpoint
 * is gone or differs, a witness record not signed by a trusted key, or (when the walk reached a
 * verified head) a chain that ends before the newest witnessed head.
 */
async function compareWithWitness(
  witnessed: WitnessedHead[],
  checkpointAt: Map<number, { seq: number; headHash: string }>,
  trustedKeys: TrustedKeys | null,
  verifiedHeadSeq: number | null,
): Promise<ChainProblem | null> {
  const bySeq = [...witnessed].sort((a, b) => a.seq - b.seq);
  for (const head of bySeq) {
    const checkpoint = checkpointAt.get(head.seq);
    if (!checkpoint) {
      return {
        kind: 'witness_missing',
        seq: head.seq,
        entryId: null,
        detail:
          `the witness (${head.source}) holds a signed head at ${head.seq} (hash ${head.headHash}) but the ` +
          'database has no checkpoint there',
      };
    }
    if (checkpoint.headHash !== head.headHash) {
      return {
        kind: 'witness_mismatch',
        seq: head.seq,
        entryId: null,
        detail:
          `the witness (${head.source}) holds hash ${head.headHash} at ${head.seq}, the database's checkpoint ` +
          `says ${checkpoint.headHash}`,
      };
    }
    if (trustedKeys && head.signature !== null) {
      const checked = await verifyCheckpointSignature(trustedKeys, head.signature);
      if (checked.status !== 'ok' || checked.payload.seq !== head.seq || checked.payload.headHash !== head.headHash) {
        return {
          kind: 'witness_mismatch',
          seq: head.seq,
          entryId: null,
          detail: `the witness record ${head.source} is not signed by a trusted key, or its signature does not match it`,
        };
      }
    }
  }
  const newest = bySeq.at(-1);
  if (verifiedHeadSeq !== null && newest && newest.seq > verifiedHeadSeq) {
    return {
      kind: 'witness_missing',
      seq: verifiedHeadSeq + 1,
      entryId: null,
      detail: `the chain ends at ${verifiedHeadSeq} but the witness (${newest.source}) holds a signed head at ${newest.seq}`,
    };
  }
  return null;
}
