/**
 * The PostgreSQL driver of the content store, for both postgres-js and PGlite through the drizzle
 * `Database`. A blob is a `blobs` row plus its bytes in `blob_chunks` rows of `chunkBytes` each
 * (the chunk size is kept per blob, so changing the option later does not break reads).
 *
 * How `put` writes: the name of a blob is its SHA-256, known only once the last byte is read, so
 * the bytes must wait somewhere until then. This driver keeps them in memory, in chunk-sized
 * buffers, and writes everything in one transaction at the end: insert the `blobs` row with
 * `on conflict do nothing returning`, and only when that inserted a row, the chunks. Why not
 * stream chunks into staging rows while reading and re-key them at the end:
 * - memory is bounded anyway: the meter rejects an upload as soon as it passes `maxBytes`
 *   (20 MiB by default), so an upload holds at most maxBytes + one chunk;
 * - nothing can be left behind: a failed, aborted, oversized or mismatching upload never touched
 *   the database, and a crash rolls the transaction back, so there are no orphaned staging rows
 *   and no sweeper to write;
 * - a repeated document (dedup hit) costs one insert that does nothing;
 * - the connection is held only for the final writes, not for as long as a slow client uploads.
 * The cost is memory per concurrent upload; limit concurrent uploads (or use the filesystem
 * driver) if maxBytes is raised far above 20 MiB.
 *
 * Concurrent puts of the same bytes: the second `insert … on conflict do nothing` waits for the
 * first transaction; if that commits, it inserts nothing and reports `created: false`, if it rolls
 * back, the second inserts. A `blobs` row therefore always has all its chunks.
 *
 * Integrity (see blob-integrity.ts): reads are checked against the name; a corrupt blob is marked
 * `quarantined_at` (its rows stay, for inspection) and refused until a put of the same bytes
 * rewrites its chunks and clears the mark, in one transaction. A put that finds the blob stored
 * compares the stored chunks with the uploaded ones by their SHA-256, computed by the database
 * (so the bytes do not travel back), unless the blob was verified recently. The fingerprint that
 * lets a verified blob serve ranges is the row versions (`xmin`) of its rows: an UPDATE, or a
 * delete and re-insert, changes it.
 *
 * bytea travels as base64 text (`decode`/`encode` in SQL). postgres-js would send a Buffer as
 * hex text anyway; PGlite converts bytea parameters and results byte by byte through strings,
 * which measured 5-15 times slower than base64 for 1 MiB chunks.
 *
 * Encryption at rest (blob-sealing.ts): with `keys` whose sealing key is active, the chunks hold
 * the sealed form of the content (`blobs.size` stays the content's size); reads open it, rows in
 * clear (written while protection was off) read as they are. A put that finds a sealed copy (or
 * seals its own) cannot compare chunks by digest, as the sealed bytes differ at every sealing: it
 * opens and hashes the stored copy instead.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, Queryable } from '../db/client.js';
import { blobChunks, blobs } from '../db/schema.js';
import {
  type BlobIntegrityOptions,
  type CorruptionDetectedBy,
  type MeasuredBytes,
  blobIntegrity,
  measure,
  UnreadableContentError,
  verifiedRead,
} from './blob-integrity.js';
import {
  type BlobContent,
  type BlobKeys,
  blobContent,
  SEALED_HEADER_PROBE_BYTES,
  storedBytesStage,
} from './blob-sealing.js';
import {
  type BlobCheck,
  BlobCorruptError,
  BlobMeter,
  BlobStoreError,
  type BlobSource,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type PutResult,
  type StoredForm,
  checkExpectedDigest,
  checkPutOptions,
  checkSm3Option,
  normalizeSha256,
  putResult,
  resolveRange,
  storeError,
} from './blob-store.js';

const DRIVER = 'postgres blob store';

/** Blob names listed per query by `list`. */
const LIST_PAGE = 500;

export interface PostgresBlobStoreOptions extends BlobIntegrityOptions {
  /** The gateway's database (PostgreSQL or PGlite), migrated to include `blobs` and `blob_chunks`. */
  db: Database;
  /** Also compute the SM3 (GB/T 32905) digest of every upload. Default false (it costs a third of the upload speed). */
  sm3?: boolean;
  /**
   * Size of the `blob_chunks` rows new blobs are cut into, in bytes. Default 1 MiB: big enough
   * for few rows per document, small enough for modest statements and reads of ranges.
   */
  chunkBytes?: number;
  /** Data keys: new blobs are sealed with the active one; sealed blobs are opened with theirs. */
  keys?: BlobKeys;
}

/** Collects the bytes of an upload into `chunkBytes`-sized buffers. */
class ChunkCollector extends Writable {
  readonly chunks: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;

  constructor(private readonly chunkBytes: number) {
    super({ highWaterMark: chunkBytes });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (!this.current) {
        this.current = Buffer.allocUnsafe(this.chunkBytes);
        this.filled = 0;
      }
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.chunkBytes) {
        this.chunks.push(this.current);
        this.current = undefined;
      }
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.current) this.chunks.push(this.current.subarray(0, this.filled));
    this.current = undefined;
    callback();
  }
}

/** Length and SHA-256 of each `chunkBytes` piece of the bytes in `buffers`: what the rows of a blob cut that way hold. */
function chunkDigests(buffers: Buffer[], chunkBytes: number): { length: number; sha256: string }[] {
  const digests: { length: number; sha256: string }[] = [];
  let hash = createHash('sha256');
  let filled = 0;
  for (const buffer of buffers) {
    let offset = 0;
    while (offset < buffer.byteLength) {
      const take = Math.min(chunkBytes - filled, buffer.byteLength - offset);
      hash.update(buffer.subarray(offset, offset + take));
      filled += take;
      offset += take;
      if (filled === chunkBytes) {
        digests.push({ length: filled, sha256: hash.digest('hex') });
        hash = createHash('sha256');
        filled = 0;
      }
    }
  }
  if (filled > 0) digests.push({ length: filled, sha256: hash.digest('hex') });
  return digests;
}

interface StoredBlob {
  size: number;
  chunkBytes: number;
  quarantined: boolean;
  /** See `FINGERPRINT`. */
  fingerprint: string;
  /** Base64 of the first stored bytes (`SEALED_HEADER_PROBE_BYTES`): sealed or in clear. Null when no chunk holds them. */
  head: string | null;
}

/** The row versions of a blob's row and chunks: any UPDATE of them, or a delete and re-insert, changes it. */
const FINGERPRINT = sql<string>`md5("blobs"."xmin"::text || ':' || coalesce((select string_agg(c.seq::text || '/' || c.xmin::text, '.' order by c.seq) from "blob_chunks" c where c.sha256 = "blobs"."sha256"), ''))`;

const PROBE = sql.raw(String(SEALED_HEADER_PROBE_BYTES));

/**
 * The first stored bytes of a blob, across chunks however small. Each chunk is cut before the
 * chunks are joined, so a 1 MiB first chunk is not read whole (an uncompressed TOAST value is
 * read in slices): chunks before the last are full, so the pieces are contiguous.
 */
const HEAD = sql<
  string | null
>`(select encode(substring(string_agg(substring(c.data from 1 for ${PROBE}), ''::bytea order by c.seq) from 1 for ${PROBE}), 'base64') from "blob_chunks" c where c.sha256 = "blobs"."sha256" and c.seq::bigint * "blobs"."chunk_bytes" < ${PROBE})`;

/** A chunk of a blob that is not there, or shorter than the blob's size says. */
class MissingChunk extends Error {
  constructor(
    readonly seq: number,
    /** Bytes read before it. */
    readonly bytesRead: number,
  ) {
    super(`chunk ${seq} is missing or short`);
  }
}

export function createPostgresBlobStore(options: PostgresBlobStoreOptions): BlobStore {
  const { db } = options;
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const withSm3 = checkSm3Option(DRIVER, options.sm3);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 256 * 1024 * 1024) {
    throw new TypeError(`${DRIVER}: chunkBytes must be an integer from 1 to 268435456`);
  }
  const integrity = blobIntegrity(DRIVER, options);
  const { verified } = integrity;
  const { keys } = options;

  const selectBlob = (executor: Queryable, sha256: string) =>
    executor
      .select({
        size: blobs.size,
        chunkBytes: blobs.chunkBytes,
        quarantined: sql<boolean>`"blobs"."quarantined_at" is not null`,
        fingerprint: FINGERPRINT,
        head: HEAD,
      })
      .from(blobs)
      .where(eq(blobs.sha256, sha256));

  const readBlob = async (sha256: string): Promise<StoredBlob | null> => (await selectBlob(db, sha256))[0] ?? null;

  /** Bytes `from`..`from + length - 1` (0-based) of chunk `seq`, or null when the chunk is gone. */
  const readChunk = async (
    executor: Queryable,
    sha256: string,
    seq: number,
    from: number,
    length: number,
  ): Promise<Buffer | null> => {
    const rows = await executor
      .select({ data: sql<string>`encode(substring(${blobChunks.data} from ${from + 1} for ${length}), 'base64')` })
      .from(blobChunks)
      .where(and(eq(blobChunks.sha256, sha256), eq(blobChunks.seq, seq)));
    const row = rows[0];
    return row ? Buffer.from(row.data, 'base64') : null;
  };

  /**
   * The bytes of `range` of a stored blob, one query per chunk as the consumer reads: memory
   * stays at one chunk and no connection is held while a slow client downloads. Throws
   * `MissingChunk` when a chunk is not there in full.
   */
  async function* chunksOf(
    executor: Queryable,
    sha256: string,
    stored: StoredBlob,
    range: ByteRange | null,
  ): AsyncGenerator<Uint8Array> {
    if (!range) return;
    const first = Math.floor(range.start / stored.chunkBytes);
    const last = Math.floor(range.end / stored.chunkBytes);
    let bytesRead = 0;
    for (let seq = first; seq <= last; seq++) {
      const chunkStart = seq * stored.chunkBytes;
      const from = Math.max(range.start, chunkStart) - chunkStart;
      const to = Math.min(range.end, chunkStart + stored.chunkBytes - 1) - chunkStart;
      let data: Buffer | null;
      try {
        data = await readChunk(executor, sha256, seq, from, to - from + 1);
      } catch (error) {
        throw storeError(DRIVER, 'reading the blob failed', error);
      }
      if (!data || data.byteLength !== to - from + 1) throw new MissingChunk(seq, bytesRead + (data?.byteLength ?? 0));
      bytesRead += data.byteLength;
      yield data;
    }
  }

  /** The content of a stored blob (sealed or in clear), read through `executor` as the consumer reads. */
  const contentOf = (sha256: string, stored: StoredBlob, executor: Queryable = db): BlobContent =>
    blobContent(DRIVER, keys, {
      head: stored.head === null ? new Uint8Array(0) : Buffer.from(stored.head, 'base64'),
      size: { content: stored.size },
      read: (range) => chunksOf(executor, sha256, stored, range),
    });

  /**
   * Marks a corrupt blob quarantined, unless its rows changed since they were read (a concurrent
   * put repaired it, or it was deleted). True when this call marked it.
   */
  const quarantine = async (sha256: string, stored: StoredBlob): Promise<boolean> => {
    verified.forget(sha256);
    const marked = await db
      .update(blobs)
      .set({ quarantinedAt: sql`now()` })
      .where(
        and(
          eq(blobs.sha256, sha256),
          sql`"blobs"."quarantined_at" is null`,
          sql`${FINGERPRINT} = ${stored.fingerprint}`,
        ),
      )
      .returning({ sha256: blobs.sha256 });
    return marked.length > 0;
  };

  /** Quarantines and reports a corrupt blob; answers the error its reader gets. */
  const corruptFound = async (
    sha256: string,
    stored: StoredBlob,
    measured: { sha256: string | null; size: number },
    detectedBy: CorruptionDetectedBy,
  ): Promise<{ error: BlobCorruptError; marked: boolean }> => {
    // The read is refused either way; a blob that could not be marked is found again by the next one.
    const marked = await quarantine(sha256, stored).catch(() => false);
    integrity.reportCorruption({ sha256, actualSha256: measured.sha256, bytesRead: measured.size, detectedBy });
    return { error: new BlobCorruptError(DRIVER, sha256, measured.sha256), marked };
  };

  /**
   * The content of `range` for readers: a missing chunk of a blob whose row is still there is
   * corruption (with the row gone, the blob was deleted while it was read), and so is a sealed
   * segment that does not open.
   */
  async function* readableChunks(
    sha256: string,
    stored: StoredBlob,
    range: ByteRange | null,
    detectedBy: CorruptionDetectedBy,
  ): AsyncGenerator<Uint8Array> {
    try {
      yield* contentOf(sha256, stored).read(range);
    } catch (error) {
      if (error instanceof UnreadableContentError)
        throw (await corruptFound(sha256, stored, { sha256: null, size: error.bytesRead }, detectedBy)).error;
      if (!(error instanceof MissingChunk)) throw error;
      if (!(await readBlob(sha256))) throw new BlobStoreError(DRIVER, `blob ${sha256} was deleted while it was read`);
      throw (await corruptFound(sha256, stored, { sha256: null, size: error.bytesRead }, detectedBy)).error;
    }
  }

  /** Hashes the whole content of a stored blob; null digest when a chunk is missing or a sealed segment does not open. */
  const measureStored = async (
    sha256: string,
    stored: StoredBlob,
    executor: Queryable = db,
  ): Promise<MeasuredBytes> => {
    try {
      return await measure(contentOf(sha256, stored, executor).read(null));
    } catch (error) {
      if (error instanceof MissingChunk) return { sha256: null, size: error.bytesRead };
      throw error;
    }
  };

  /** Whether the stored chunks of `sha256` hold exactly the uploaded bytes, compared by digests the database computes. */
  const storedChunksMatch = async (
    tx: Queryable,
    sha256: string,
    storedChunkBytes: number,
    uploaded: Buffer[],
  ): Promise<boolean> => {
    const rows = await tx
      .select({
        seq: blobChunks.seq,
        length: sql<number>`octet_length(${blobChunks.data})`,
        sha256: sql<string>`encode(sha256(${blobChunks.data}), 'hex')`,
      })
      .from(blobChunks)
      .where(eq(blobChunks.sha256, sha256))
      .orderBy(asc(blobChunks.seq));
    const expected = chunkDigests(uploaded, storedChunkBytes);
    return (
      rows.length === expected.length &&
      rows.every(
        (row, seq) =>
          row.seq === seq && Number(row.length) === expected[seq]?.length && row.sha256 === expected[seq]?.sha256,
      )
    );
  };

  /**
   * Whether the stored copy holds the content named `sha256`: both in clear, compared chunk by
   * chunk with the uploaded bytes by digests the database computes; otherwise opened and hashed.
   */
  const storedCopyIntact = async (
    tx: Queryable,
    sha256: string,
    existing: StoredBlob,
    uploadedInClear: boolean,
    uploaded: Buffer[],
  ): Promise<boolean> => {
    if (uploadedInClear && !contentOf(sha256, existing, tx).sealed)
      return storedChunksMatch(tx, sha256, existing.chunkBytes, uploaded);
    return (await measureStored(sha256, existing, tx)).sha256 === sha256;
  };

  return {
    driver: DRIVER,

    async put(source: BlobSource, putOptions: PutOptions): Promise<PutResult> {
      const expected = checkPutOptions(DRIVER, putOptions);
      putOptions.signal?.throwIfAborted();
      try {
        const meter = new BlobMeter(DRIVER, putOptions.maxBytes, chunkBytes, withSm3);
        const sealingKey = keys?.activeSealingKey;
        const stage = storedBytesStage(DRIVER, sealingKey, chunkBytes);
        const collector = new ChunkCollector(chunkBytes);
        await pipeline(source, meter, stage, collector, putOptions.signal ? { signal: putOptions.signal } : {});
        const digest = meter.digest();
        checkExpectedDigest(DRIVER, expected, digest);
        putOptions.signal?.throwIfAborted();
        const name = digest.sha256;
        const row = { size: digest.size, sm3: digest.sm3 ?? null, chunkBytes };
        const writeChunks = async (tx: Queryable): Promise<void> => {
          for (const [seq, chunk] of collector.chunks.entries()) {
            await tx
              .insert(blobChunks)
              .values({ sha256: name, seq, data: sql`decode(${chunk.toString('base64')}, 'base64')` });
          }
        };
        const outcome = await db.transaction(async (tx) => {
          const inserted = await tx
            .insert(blobs)
            .values({ sha256: name, ...row })
            .onConflictDoNothing({ target: blobs.sha256 })
            .returning({ sha256: blobs.sha256 });
          if (inserted.length === 0) {
            // Stored already (or being stored by a concurrent put, whose commit the insert waited for).
            const [existing] = await selectBlob(tx, name).for('update');
            if (!existing) {
              // Deleted between the insert and the lock: store it afresh.
              await tx.insert(blobs).values({ sha256: name, ...row });
            } else {
              const candidate = !existing.quarantined && existing.size === digest.size;
              const intact =
                candidate &&
                (verified.recent(name, existing.fingerprint) ||
                  (await storedCopyIntact(tx, name, existing, sealingKey === undefined, collector.chunks)));
              if (intact && putOptions.rewrite) {
                // Written again in the form new blobs get now (`resealBlobs`), in this transaction.
                await tx.delete(blobChunks).where(eq(blobChunks.sha256, name));
                await tx.update(blobs).set(row).where(eq(blobs.sha256, name));
                await writeChunks(tx);
                return { created: false, repaired: false, corruptionFound: false, rewritten: true };
              }
              if (intact) {
                verified.record(name, existing.fingerprint);
                return { created: false, repaired: false, corruptionFound: false };
              }
              // Corrupt or quarantined: rewrite the chunks, in this transaction.
              await tx.delete(blobChunks).where(eq(blobChunks.sha256, name));
              await tx
                .update(blobs)
                .set({ ...row, quarantinedAt: null })
                .where(eq(blobs.sha256, name));
              await writeChunks(tx);
              return { created: true, repaired: true, corruptionFound: !existing.quarantined };
            }
          }
          await writeChunks(tx);
          return { created: true, repaired: false, corruptionFound: false };
        });
        if (outcome.created || ('rewritten' in outcome && outcome.rewritten)) {
          // Written from bytes hashed on their way in: as good as verified.
          const written = await readBlob(name);
          if (written) verified.record(name, written.fingerprint);
        }
        if (outcome.corruptionFound)
          integrity.reportCorruption({ sha256: name, actualSha256: null, bytesRead: 0, detectedBy: 'upload' });
        if (outcome.repaired) integrity.reportRepair(name);
        return putResult(digest, { created: outcome.created, repaired: outcome.repaired });
      } catch (error) {
        throw storeError(DRIVER, 'storing the content failed', error);
      }
    },

    async stat(sha256: string): Promise<BlobStat | null> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        const blob = await readBlob(name);
        return blob ? { size: blob.size, quarantined: blob.quarantined } : null;
      } catch (error) {
        throw storeError(DRIVER, 'reading the blob failed', error);
      }
    },

    async get(sha256: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
      const name = normalizeSha256(DRIVER, sha256);
      let stored: StoredBlob | null;
      try {
        stored = await readBlob(name);
      } catch (error) {
        throw storeError(DRIVER, 'reading the blob failed', error);
      }
      if (!stored) return null;
      if (stored.quarantined) throw new BlobCorruptError(DRIVER, name, null);
      const blob = stored;
      if (range === undefined) {
        return verifiedRead(readableChunks(name, blob, resolveRange(DRIVER, blob.size, undefined), 'read'), name, {
          intact: () => verified.record(name, blob.fingerprint),
          corrupt: async (measured) => (await corruptFound(name, blob, measured, 'read')).error,
        });
      }
      if (!verified.recent(name, blob.fingerprint)) {
        let measured: MeasuredBytes;
        try {
          measured = await measureStored(name, blob);
        } catch (error) {
          throw storeError(DRIVER, 'reading the blob failed', error);
        }
        if (measured.sha256 !== name) {
          if (measured.sha256 === null && !(await readBlob(name))) return null; // deleted meanwhile
          throw (await corruptFound(name, blob, measured, 'range_check')).error;
        }
        verified.record(name, blob.fingerprint);
      }
      return readableChunks(name, blob, resolveRange(DRIVER, blob.size, range), 'read');
    },

    async verify(sha256: string): Promise<BlobCheck> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        const stored = await readBlob(name);
        if (!stored) return { status: 'missing' };
        const measured = await measureStored(name, stored);
        if (measured.sha256 === name) {
          verified.record(name, stored.fingerprint);
          if (!stored.quarantined) return { status: 'intact', size: measured.size, released: false };
          // Quarantined, and intact again (restored behind the store's back): lift the mark.
          await db.update(blobs).set({ quarantinedAt: null }).where(eq(blobs.sha256, name));
          return { status: 'intact', size: measured.size, released: true };
        }
        if (stored.quarantined)
          return { status: 'corrupt', size: measured.size, actualSha256: measured.sha256, newlyQuarantined: false };
        const { marked } = await corruptFound(name, stored, measured, 'scrub');
        return { status: 'corrupt', size: measured.size, actualSha256: measured.sha256, newlyQuarantined: marked };
      } catch (error) {
        throw storeError(DRIVER, 'verifying the blob failed', error);
      }
    },

    async *list(): AsyncGenerator<string> {
      let after = '';
      for (;;) {
        let page: { sha256: string }[];
        try {
          page = await db
            .select({ sha256: blobs.sha256 })
            .from(blobs)
            .where(gt(blobs.sha256, after))
            .orderBy(asc(blobs.sha256))
            .limit(LIST_PAGE);
        } catch (error) {
          throw storeError(DRIVER, 'listing the blobs failed', error);
        }
        for (const row of page) yield row.sha256;
        const last = page.at(-1);
        if (!last || page.length < LIST_PAGE) return;
        after = last.sha256;
      }
    },

    async storedForm(sha256: string): Promise<StoredForm | null> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        const stored = await readBlob(name);
        return stored && !stored.quarantined ? { sealedWith: contentOf(name, stored).sealedWith } : null;
      } catch (error) {
        throw storeError(DRIVER, 'reading the blob failed', error);
      }
    },

    async delete(sha256: string, within?: Queryable): Promise<boolean> {
      const name = normalizeSha256(DRIVER, sha256);
      verified.forget(name);
      try {
        // The chunks go with the row (on delete cascade).
        const deleted = await (within ?? db)
          .delete(blobs)
          .where(eq(blobs.sha256, name))
          .returning({ sha256: blobs.sha256 });
        return deleted.length > 0;
      } catch (error) {
        throw storeError(DRIVER, 'deleting the blob failed', error);
      }
    },
  };
}
