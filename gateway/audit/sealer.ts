/**
 * Seals pending audit entries into the hash chain and signs a checkpoint of the new head with
 * the checkpoint key (a file, never the database). Once the seal has committed, the signed head
 * goes to the witnesses outside the database. Runs in the background of every instance; an
 * advisory lock lets one sealer work at a time, while requests only ever insert unsealed rows
 * and never wait for it.
 */
import { asc, desc, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { signCompactJws } from '../auth/jws.js';
import type { Database } from '../db/client.js';
import { auditCheckpoints, auditEntries } from '../db/schema.js';
import { reusableStatement, textStatement } from '../db/statements.js';
import { type AuditRow, CHECKPOINT_TYPE, type CheckpointPayload, GENESIS_HASH, entryHash } from './chain.js';
import type { CheckpointSigner } from './checkpoint-keys.js';
import type { CheckpointWitness, SignedCheckpoint } from './witness.js';

const SEAL_LOCK_KEY = 7_461_230_003;
const DEFAULT_BATCH = 1000;

const selectPendingEntries = reusableStatement<{ batchSize: number }, AuditRow[]>((on) =>
  on
    .select()
    .from(auditEntries)
    .where(isNull(auditEntries.chainSeq))
    .orderBy(asc(auditEntries.id))
    .limit(sql.placeholder('batchSize'))
    .prepare('select_pending_audit_entries'),
);

/**
 * One prepared statement for a whole batch, its seals as one JSON parameter: a `values` list built
 * per batch cost the gateway a query of up to 4,000 parameters to build and PostgreSQL one to parse
 * and plan every second (bench:cases, issue 15). The timestamp goes in as ISO text, which both
 * drivers bind the same way.
 */
const sealEntries = textStatement<[seals: string, sealedAt: string], never>(`
  update audit_entries as entry
     set chain_seq = seal.seq, prev_hash = seal.prev_hash, entry_hash = seal.entry_hash,
         sealed_at = $2::timestamptz
    from jsonb_to_recordset($1::jsonb) as seal(id bigint, seq bigint, prev_hash text, entry_hash text)
   where entry.id = seal.id`);

export interface SealResult {
  sealed: number;
  headSeq: number;
  headHash: string;
  /**
   * Set when the chain ended before its last signed checkpoint (entries were cut off or unsealed)
   * and sealing continued after the checkpoint, leaving positions `from..to` empty. The gap stays
   * visible to verification; it is never papered over by reusing positions a signature vouches for.
   */
  gap?: { from: number; to: number };
  /** The checkpoint this seal signed (none when nothing was pending). */
  checkpoint?: SignedCheckpoint;
}

export async function signCheckpoint(
  signer: CheckpointSigner,
  payload: CheckpointPayload,
): Promise<{ signature: string; kid: string }> {
  const signature = await signCompactJws(
    { alg: signer.alg, kid: signer.kid, typ: CHECKPOINT_TYPE },
    new TextEncoder().encode(JSON.stringify(payload)),
    signer.signKey,
  );
  return { signature, kid: signer.kid };
}

/**
 * Seals up to `batchSize` pending entries; returns how many it sealed and the new head. The
 * checkpoint is handed to `witness` after the transaction committed, never before: a witness
 * must not hold a head the database never had.
 */
export async function sealPendingEntries(
  db: Database,
  signer: CheckpointSigner,
  options: { batchSize?: number; witness?: CheckpointWitness | undefined } = {},
): Promise<SealResult> {
  const result = await sealBatch(db, signer, options.batchSize ?? DEFAULT_BATCH);
  if (result.checkpoint) await options.witness?.record(result.checkpoint);
  return result;
}

async function sealBatch(db: Database, signer: CheckpointSigner, batchSize: number): Promise<SealResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEAL_LOCK_KEY})`);
    const [head] = await tx
      .select({ seq: auditEntries.chainSeq, hash: auditEntries.entryHash })
      .from(auditEntries)
      .where(isNotNull(auditEntries.chainSeq))
      .orderBy(desc(auditEntries.chainSeq))
      .limit(1);
    let seq = head?.seq ?? 0;
    let prevHash = head?.hash ?? GENESIS_HASH;
    let gap: SealResult['gap'];
    const [checkpoint] = await tx
      .select({ seq: auditCheckpoints.seq, headHash: auditCheckpoints.headHash })
      .from(auditCheckpoints)
      .orderBy(desc(auditCheckpoints.seq))
      .limit(1);
    if (checkpoint && checkpoint.seq > seq) {
      // The chain ends before its last signed checkpoint: its tail was cut off or unsealed. Sealing
      // new entries at positions the checkpoint already vouches for would collide with it (and
      // overwrite the evidence); continue after it instead, so verification reports the gap.
      gap = { from: seq + 1, to: checkpoint.seq };
      seq = checkpoint.seq;
      prevHash = checkpoint.headHash;
    }
    const pending = await selectPendingEntries(tx, { batchSize });
    if (pending.length === 0) return { sealed: 0, headSeq: head?.seq ?? 0, headHash: head?.hash ?? GENESIS_HASH };

    const sealedAt = new Date();
    const seals = pending.map((row) => {
      seq += 1;
      const hash = entryHash(row, seq, prevHash);
      const seal = { id: row.id, seq, prev_hash: prevHash, entry_hash: hash };
      prevHash = hash;
      return seal;
    });
    await sealEntries(tx, [JSON.stringify(seals), sealedAt.toISOString()]);

    const payload: CheckpointPayload = { seq, headHash: prevHash, createdAt: sealedAt.toISOString() };
    const { signature, kid } = await signCheckpoint(signer, payload);
    await tx.insert(auditCheckpoints).values({ seq, headHash: prevHash, signature, kid, createdAt: sealedAt });
    const signed: SignedCheckpoint = { ...payload, kid, signature };
    return { sealed: pending.length, headSeq: seq, headHash: prevHash, checkpoint: signed, ...(gap ? { gap } : {}) };
  });
}

/** Seals until nothing is pending (bounded by `maxBatches`), handing each checkpoint to `witness`. */
export async function sealAll(
  db: Database,
  signer: CheckpointSigner,
  options: { maxBatches?: number; witness?: CheckpointWitness | undefined } = {},
): Promise<SealResult> {
  let last: SealResult = { sealed: 0, headSeq: 0, headHash: GENESIS_HASH };
  let total = 0;
  let gap: SealResult['gap'];
  for (let batch = 0; batch < (options.maxBatches ?? 1000); batch += 1) {
    last = await sealPendingEntries(db, signer, { witness: options.witness });
    total += last.sealed;
    gap ??= last.gap;
    if (last.sealed < DEFAULT_BATCH) break;
  }
  // The last batch's checkpoint is not the whole run's: each went to the witness already.
  const { checkpoint: _lastCheckpoint, ...head } = last;
  return { ...head, sealed: total, ...(gap ? { gap } : {}) };
}

/**
 * Starts the periodic sealer, which also publishes heads to the HTTP witness (in the background:
 * a slow witness never delays a seal). Returns a function that stops it and waits for a running
 * seal and witness call.
 */
export function startSealer(
  db: Database,
  signer: CheckpointSigner,
  witness: CheckpointWitness,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        const result = await sealAll(db, signer, { maxBatches: 10, witness });
        if (result.gap) {
          logger.error(
            { auditGapFrom: result.gap.from, auditGapTo: result.gap.to },
            'audit chain ended before its last signed checkpoint (entries cut off or unsealed); sealing continued ' +
              'after the checkpoint; run npm run audit:verify',
          );
        }
        if (result.sealed > 0) {
          // The head in the log is one more witness outside the database: a truncated table can be
          // checked against it with `npm run audit:verify -- --expect-seq N --expect-hash H`.
          logger.info(
            { auditHeadSeq: result.headSeq, auditHeadHash: result.headHash, sealed: result.sealed },
            'audit sealed',
          );
        }
      } catch (error) {
        logger.warn(
          { err: { message: error instanceof Error ? error.message : String(error) } },
          'audit sealing failed; will retry',
        );
      }
      void witness.publishToHttpWitness();
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
    await witness.close();
  };
}
