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
 * bytea travels as base64 text (`decode`/`encode` in SQL). postgres-js would send a Buffer as
 * hex text anyway; PGlite converts bytea parameters and results byte by byte through strings,
 * which measured 5-15 times slower than base64 for 1 MiB chunks.
 */
import { and, eq, sql } from 'drizzle-orm';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database } from '../db/client.js';
import { blobChunks, blobs } from '../db/schema.js';
import {
  BlobMeter,
  BlobStoreError,
  type BlobSource,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type PutResult,
  checkExpectedDigest,
  checkPutOptions,
  checkSm3Option,
  normalizeSha256,
  putResult,
  resolveRange,
  storeError,
} from './blob-store.js';

const DRIVER = 'postgres blob store';

export interface PostgresBlobStoreOptions {
  /** The gateway's database (PostgreSQL or PGlite), migrated to include `blobs` and `blob_chunks`. */
  db: Database;
  /** Also compute the SM3 (GB/T 32905) digest of every upload. Default false (it costs a third of the upload speed). */
  sm3?: boolean;
  /**
   * Size of the `blob_chunks` rows new blobs are cut into, in bytes. Default 1 MiB: big enough
   * for few rows per document, small enough for modest statements and reads of ranges.
   */
  chunkBytes?: number;
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

export function createPostgresBlobStore(options: PostgresBlobStoreOptions): BlobStore {
  const { db } = options;
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const withSm3 = checkSm3Option(DRIVER, options.sm3);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 256 * 1024 * 1024) {
    throw new TypeError(`${DRIVER}: chunkBytes must be an integer from 1 to 268435456`);
  }

  const readBlob = async (sha256: string): Promise<{ size: number; chunkBytes: number } | null> => {
    const rows = await db
      .select({ size: blobs.size, chunkBytes: blobs.chunkBytes })
      .from(blobs)
      .where(eq(blobs.sha256, sha256));
    return rows[0] ?? null;
  };

  /** Bytes `from`..`from + length - 1` (0-based) of chunk `seq`, or null when the chunk is gone. */
  const readChunk = async (sha256: string, seq: number, from: number, length: number): Promise<Buffer | null> => {
    const rows = await db
      .select({ data: sql<string>`encode(substring(${blobChunks.data} from ${from + 1} for ${length}), 'base64')` })
      .from(blobChunks)
      .where(and(eq(blobChunks.sha256, sha256), eq(blobChunks.seq, seq)));
    const row = rows[0];
    return row ? Buffer.from(row.data, 'base64') : null;
  };

  return {
    driver: DRIVER,

    async put(source: BlobSource, putOptions: PutOptions): Promise<PutResult> {
      const expected = checkPutOptions(DRIVER, putOptions);
      putOptions.signal?.throwIfAborted();
      try {
        const meter = new BlobMeter(DRIVER, putOptions.maxBytes, chunkBytes, withSm3);
        const collector = new ChunkCollector(chunkBytes);
        await pipeline(source, meter, collector, putOptions.signal ? { signal: putOptions.signal } : {});
        const digest = meter.digest();
        checkExpectedDigest(DRIVER, expected, digest);
        putOptions.signal?.throwIfAborted();
        const created = await db.transaction(async (tx) => {
          const inserted = await tx
            .insert(blobs)
            .values({ sha256: digest.sha256, size: digest.size, sm3: digest.sm3 ?? null, chunkBytes })
            .onConflictDoNothing({ target: blobs.sha256 })
            .returning({ sha256: blobs.sha256 });
          if (inserted.length === 0) return false;
          for (const [seq, chunk] of collector.chunks.entries()) {
            await tx.insert(blobChunks).values({
              sha256: digest.sha256,
              seq,
              data: sql`decode(${chunk.toString('base64')}, 'base64')`,
            });
          }
          return true;
        });
        return putResult(digest, created);
      } catch (error) {
        throw storeError(DRIVER, 'storing the content failed', error);
      }
    },

    async stat(sha256: string): Promise<{ size: number } | null> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        const blob = await readBlob(name);
        return blob ? { size: blob.size } : null;
      } catch (error) {
        throw storeError(DRIVER, 'reading the blob failed', error);
      }
    },

    async get(sha256: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
      const name = normalizeSha256(DRIVER, sha256);
      let blob: { size: number; chunkBytes: number } | null;
      try {
        blob = await readBlob(name);
      } catch (error) {
        throw storeError(DRIVER, 'reading the blob failed', error);
      }
      if (!blob) return null;
      const resolved = resolveRange(DRIVER, blob.size, range);
      const stored = blob;
      // One query per chunk, run as the consumer reads: memory stays at one chunk and no
      // connection is held while a slow client downloads.
      return (async function* chunks(): AsyncGenerator<Uint8Array> {
        if (!resolved) return;
        const first = Math.floor(resolved.start / stored.chunkBytes);
        const last = Math.floor(resolved.end / stored.chunkBytes);
        for (let seq = first; seq <= last; seq++) {
          const chunkStart = seq * stored.chunkBytes;
          const from = Math.max(resolved.start, chunkStart) - chunkStart;
          const to = Math.min(resolved.end, chunkStart + stored.chunkBytes - 1) - chunkStart;
          let data: Buffer | null;
          try {
            data = await readChunk(name, seq, from, to - from + 1);
          } catch (error) {
            throw storeError(DRIVER, 'reading the blob failed', error);
          }
          if (!data || data.byteLength !== to - from + 1) {
            throw new BlobStoreError(DRIVER, `blob ${name} was deleted or is damaged (chunk ${seq})`);
          }
          yield data;
        }
      })();
    },

    async delete(sha256: string): Promise<boolean> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        // The chunks go with the row (on delete cascade).
        const deleted = await db.delete(blobs).where(eq(blobs.sha256, name)).returning({ sha256: blobs.sha256 });
        return deleted.length > 0;
      } catch (error) {
        throw storeError(DRIVER, 'deleting the blob failed', error);
      }
    },
  };
}
