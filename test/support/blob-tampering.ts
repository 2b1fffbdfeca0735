/**
 * Damage to stored content done behind the blob store's back, as a failing disk, a careless
 * administrator or an intruder would: on the files of the filesystem store, or by SQL on the rows
 * of the PostgreSQL store. Used by the blob store conformance suite, the scrub command's test and
 * the security suite.
 */
import { open, stat, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../gateway/db/client.js';
import { blobChunks, blobs } from '../../gateway/db/schema.js';

export interface BlobTampering {
  /** Inverts the stored byte at `offset` (same size, other content). */
  flipByte(sha256: string, offset: number): Promise<void>;
  /** Removes the last stored byte. */
  dropLastByte(sha256: string): Promise<void>;
  /** Writes `bytes` as the blob's stored content, as an operator restoring a backup would (or an intruder swapping a document). */
  restore(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Removes the stored content altogether. */
  remove(sha256: string): Promise<void>;
  /** Names the stored copy; changes when it is rewritten (inode, row versions). */
  storedIdentity(sha256: string): Promise<string>;
}

/** Damage done to a stored file as a failing disk or an intruder would do it. */
export function fileTampering(directory: string): BlobTampering {
  const blobFile = (sha256: string): string => join(directory, sha256.slice(0, 2), sha256);
  let tampered = 0;
  // File times tick coarsely (a few ms); setting the mtime apart makes every change visible to the
  // store's fingerprint even when it lands in the tick of the store's own last verification.
  const markChanged = (path: string) => {
    const at = new Date(Date.UTC(2001, 0, 1) + ++tampered * 1000);
    return utimes(path, at, at);
  };
  return {
    async flipByte(sha256, offset) {
      const handle = await open(blobFile(sha256), 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, offset);
        byte[0] = (byte[0] ?? 0) ^ 0xff;
        await handle.write(byte, 0, 1, offset);
      } finally {
        await handle.close();
      }
      await markChanged(blobFile(sha256));
    },
    async dropLastByte(sha256) {
      await truncate(blobFile(sha256), (await stat(blobFile(sha256))).size - 1);
      await markChanged(blobFile(sha256));
    },
    async restore(sha256, bytes) {
      await writeFile(blobFile(sha256), bytes, { mode: 0o600 });
      await markChanged(blobFile(sha256));
    },
    async remove(sha256) {
      await unlink(blobFile(sha256));
    },
    async storedIdentity(sha256) {
      return String((await stat(blobFile(sha256), { bigint: true })).ino);
    },
  };
}

/** The same damage done to the rows, by SQL behind the store's back. */
export function rowTampering(db: Database): BlobTampering {
  return {
    async flipByte(sha256, offset) {
      await db.execute(sql`
        update blob_chunks c
           set data = set_byte(c.data, ${offset}::int - c.seq * b.chunk_bytes, get_byte(c.data, ${offset}::int - c.seq * b.chunk_bytes) # 255)
          from blobs b
         where b.sha256 = c.sha256 and c.sha256 = ${sha256} and c.seq = ${offset}::int / b.chunk_bytes`);
    },
    async dropLastByte(sha256) {
      await db.execute(sql`
        update blob_chunks set data = substring(data from 1 for octet_length(data) - 1)
         where sha256 = ${sha256} and seq = (select max(seq) from blob_chunks where sha256 = ${sha256})`);
    },
    async restore(sha256, bytes) {
      const [blob] = await db.select({ chunkBytes: blobs.chunkBytes }).from(blobs).where(eq(blobs.sha256, sha256));
      if (!blob) throw new Error(`no blobs row for ${sha256}`);
      await db.delete(blobChunks).where(eq(blobChunks.sha256, sha256));
      for (let seq = 0; seq * blob.chunkBytes < bytes.byteLength; seq++) {
        const chunk = Buffer.from(bytes.subarray(seq * blob.chunkBytes, (seq + 1) * blob.chunkBytes));
        await db.insert(blobChunks).values({ sha256, seq, data: sql`decode(${chunk.toString('base64')}, 'base64')` });
      }
      await db.update(blobs).set({ size: bytes.byteLength }).where(eq(blobs.sha256, sha256));
    },
    async remove(sha256) {
      await db.delete(blobs).where(eq(blobs.sha256, sha256));
    },
    async storedIdentity(sha256) {
      const result = await db.execute(sql`
        select (select xmin::text from blobs where sha256 = ${sha256})
               || ':' || (select string_agg(xmin::text, '.' order by seq) from blob_chunks where sha256 = ${sha256}) as identity`);
      return String(rowsOf<{ identity: string }>(result)[0]?.identity);
    },
  };
}
