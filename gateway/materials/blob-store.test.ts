/**
 * Runs the blob store conformance suite against both drivers, plus driver-specific checks. The
 * PostgreSQL driver runs on in-memory PGlite, or on a fresh PostgreSQL database when
 * DATABASE_URL is set (as the rest of the tests do).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { type DatabaseHandle, openDatabase, rowsOf } from '../db/client.js';
import { blobChunks, blobs } from '../db/schema.js';
import { freshDatabase } from '../../test/harness.js';
import { type BlobProtection, sealedTestSize, testBlobKeys } from '../../test/support/blob-keys.js';
import { fileTampering, rowTampering } from '../../test/support/blob-tampering.js';
import { BlobCorruptError, SM3_SUPPORTED } from './blob-store.js';
import { collect, describeBlobStoreConformance, piecesOf } from './blob-store.conformance.js';
import { countTemporaryFiles, createFilesystemBlobStore } from './blob-store-fs.js';
import { createPostgresBlobStore } from './blob-store-postgres.js';

const LIMIT = 20 * 1024 * 1024;

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'onewindow-blobs-'));
}

/** Sum of the sizes of all stored blob files (not temporary files). */
async function storedFileBytes(directory: string): Promise<number> {
  let total = 0;
  for (const shard of await readdir(directory)) {
    if (shard === 'tmp' || shard === 'quarantine') continue;
    for (const name of await readdir(join(directory, shard))) total += (await stat(join(directory, shard, name))).size;
  }
  return total;
}

async function openFreshDatabase(): Promise<{ handle: DatabaseHandle; close(): Promise<void> }> {
  const fresh = await freshDatabase();
  const config = parseConfig({ ONEWINDOW_DEMO: 'false', ...fresh.environment });
  const handle = await openDatabase(config.database);
  await handle.migrate();
  return {
    handle,
    close: async () => {
      await handle.close();
      await fresh.drop();
    },
  };
}

async function storedChunkBytes(handle: DatabaseHandle): Promise<number> {
  const result = await handle.db.execute(
    sql`select coalesce(sum(octet_length(data)), 0)::bigint as total from blob_chunks`,
  );
  return Number(rowsOf<{ total: string | number }>(result)[0]?.total ?? 0);
}

/** Each driver runs the suite with protection off and on: blobs in clear, and sealed (blob-sealing.ts). */
const PROTECTIONS: readonly BlobProtection[] = ['off', 'aes-256-gcm', 'sm4-gcm'];

/** What the suite needs to know of a store that seals. */
const sealingOf = (protection: BlobProtection) =>
  protection === 'off' ? {} : { sealed: { storedSizeOf: sealedTestSize } };

for (const protection of PROTECTIONS) {
  describeBlobStoreConformance(`filesystem, protection ${protection}`, async (probe) => {
    const directory = await temporaryDirectory();
    return {
      store: createFilesystemBlobStore({
        directory,
        sm3: SM3_SUPPORTED,
        keys: testBlobKeys(protection),
        ...probe.options,
      }),
      storedBytes: () => storedFileBytes(directory),
      temporaryItems: () => countTemporaryFiles(directory),
      ...fileTampering(directory),
      ...sealingOf(protection),
      cleanup: () => rm(directory, { recursive: true, force: true }),
    };
  });
}

for (const [chunkBytes, protection] of [
  [undefined, 'off'],
  [100_000, 'off'],
  [undefined, 'aes-256-gcm'],
  [100_000, 'sm4-gcm'],
] as const) {
  describeBlobStoreConformance(
    `postgres (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, chunkBytes ${chunkBytes ?? 'default'}, protection ${protection})`,
    async (probe) => {
      const database = await openFreshDatabase();
      return {
        store: createPostgresBlobStore({
          db: database.handle.db,
          sm3: SM3_SUPPORTED,
          keys: testBlobKeys(protection),
          ...(chunkBytes ? { chunkBytes } : {}),
          ...probe.options,
        }),
        storedBytes: () => storedChunkBytes(database.handle),
        temporaryItems: async () => 0,
        ...rowTampering(database.handle.db),
        ...sealingOf(protection),
        cleanup: () => database.close(),
      };
    },
  );
}

describe('filesystem blob store', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await temporaryDirectory();
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('keeps blobs at <dir>/<2 hex>/<sha256>, readable by the owner only', async () => {
    const store = createFilesystemBlobStore({ directory, sm3: SM3_SUPPORTED });
    const bytes = randomBytes(1000);
    const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    const path = join(directory, sha256.slice(0, 2), sha256);
    const info = await stat(path);
    expect(info.size).toBe(1000);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.nlink).toBe(1); // the temporary name is gone
    expect(await readdir(join(directory, 'tmp'))).toEqual([]);
  });

  it('computes SM3 only when asked to', async () => {
    const bytes = randomBytes(500);
    const plain = await createFilesystemBlobStore({ directory }).put(piecesOf(bytes), { maxBytes: LIMIT });
    expect(plain.sm3).toBeUndefined();
    if (SM3_SUPPORTED) {
      const withSm3 = await createFilesystemBlobStore({ directory, sm3: true }).put(piecesOf(bytes), {
        maxBytes: LIMIT,
      });
      expect(withSm3.sm3).toBe(createHash('sm3').update(bytes).digest('hex'));
    } else {
      expect(() => createFilesystemBlobStore({ directory, sm3: true })).toThrow(TypeError);
    }
  });

  it('sweeps stale temporary files at first use and keeps recent ones', async () => {
    const own = await temporaryDirectory();
    try {
      await mkdir(join(own, 'tmp'));
      const stale = join(own, 'tmp', 'stale');
      const recent = join(own, 'tmp', 'recent');
      await writeFile(stale, 'left by a crash');
      await writeFile(recent, 'an upload of another instance');
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(stale, twoDaysAgo, twoDaysAgo);
      await createFilesystemBlobStore({ directory: own }).put(piecesOf(randomBytes(10)), { maxBytes: LIMIT });
      expect(await readdir(join(own, 'tmp'))).toEqual(['recent']);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('replaces a stored file that was damaged outside the store', async () => {
    const store = createFilesystemBlobStore({ directory, sm3: SM3_SUPPORTED });
    const bytes = randomBytes(50_000);
    const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    await truncate(join(directory, sha256.slice(0, 2), sha256), 100);
    const again = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    expect(again.created).toBe(true);
    expect(await store.stat(sha256)).toEqual({ size: 50_000, quarantined: false });
  });

  it('keeps serving a blob that is deleted after get', async () => {
    const store = createFilesystemBlobStore({ directory, sm3: SM3_SUPPORTED });
    const bytes = randomBytes(3 * 1024 * 1024);
    const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    const reading = await store.get(sha256);
    expect(await store.delete(sha256)).toBe(true);
    expect((await collect(reading!)).equals(bytes)).toBe(true);
  });

  it('moves a corrupt file to quarantine/, keeps it for inspection, and removes it on repair', async () => {
    const own = await temporaryDirectory();
    try {
      const store = createFilesystemBlobStore({ directory: own });
      const bytes = randomBytes(20_000);
      const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      await fileTampering(own).flipByte(sha256, 7);
      await expect(collect((await store.get(sha256))!)).rejects.toBeInstanceOf(BlobCorruptError);
      expect(await readdir(join(own, sha256.slice(0, 2)))).toEqual([]);
      const kept = await stat(join(own, 'quarantine', sha256));
      expect(kept.size).toBe(20_000);
      expect(kept.mode & 0o777).toBe(0o600);
      expect(await store.put(piecesOf(bytes), { maxBytes: LIMIT })).toMatchObject({ created: true, repaired: true });
      expect(await readdir(join(own, 'quarantine'))).toEqual([]);
      expect(await readdir(join(own, sha256.slice(0, 2)))).toEqual([sha256]);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('does not quarantine the good file a put published while a read of the corrupt one was under way', async () => {
    let now = 0;
    const store = createFilesystemBlobStore({ directory, now: () => now, rangeVerificationMaxAgeMs: 1000 });
    const bytes = randomBytes(3 * 1024 * 1024);
    const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    await fileTampering(directory).flipByte(sha256, 10);
    const reading = (await store.get(sha256))!; // holds the corrupt file open
    now += 1000;
    expect(await store.put(piecesOf(bytes), { maxBytes: LIMIT })).toMatchObject({ created: true, repaired: true });
    await expect(collect(reading)).rejects.toBeInstanceOf(BlobCorruptError);
    expect(await store.stat(sha256)).toEqual({ size: bytes.byteLength, quarantined: false });
    expect((await collect((await store.get(sha256))!)).equals(bytes)).toBe(true);
  });
});

describe(`postgres blob store on ${process.env.DATABASE_URL ? 'PostgreSQL (postgres-js)' : 'PGlite'}`, () => {
  let database: Awaited<ReturnType<typeof openFreshDatabase>>;
  beforeAll(async () => {
    database = await openFreshDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('writes a blobs row and its chunks, and bytea round-trips through the client', async () => {
    const store = createPostgresBlobStore({ db: database.handle.db, chunkBytes: 1000, sm3: SM3_SUPPORTED });
    const bytes = randomBytes(2500);
    const result = await store.put(piecesOf(bytes, 333), { maxBytes: LIMIT });
    const [row] = await database.handle.db.select().from(blobs).where(eq(blobs.sha256, result.sha256));
    expect(row).toMatchObject({ size: 2500, chunkBytes: 1000, sm3: SM3_SUPPORTED ? result.sm3 : null });
    expect(row?.createdAt).toBeInstanceOf(Date);
    // Read back through drizzle without the driver's base64 path: postgres-js answers a Buffer,
    // PGlite a Uint8Array; both hold the same bytes.
    const chunks = await database.handle.db
      .select({ seq: blobChunks.seq, data: blobChunks.data })
      .from(blobChunks)
      .where(eq(blobChunks.sha256, result.sha256))
      .orderBy(blobChunks.seq);
    expect(chunks.map((chunk) => chunk.data.byteLength)).toEqual([1000, 1000, 500]);
    for (const chunk of chunks) expect(chunk.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.concat(chunks.map((chunk) => chunk.data)).equals(bytes)).toBe(true);
  });

  it('reads blobs written with another chunk size', async () => {
    const writer = createPostgresBlobStore({ db: database.handle.db, chunkBytes: 4096 });
    const reader = createPostgresBlobStore({ db: database.handle.db });
    const bytes = randomBytes(50_000);
    const { sha256 } = await writer.put(piecesOf(bytes), { maxBytes: LIMIT });
    expect((await collect((await reader.get(sha256))!)).equals(bytes)).toBe(true);
    expect(
      (await collect((await reader.get(sha256, { start: 4095, end: 8192 }))!)).equals(bytes.subarray(4095, 8193)),
    ).toBe(true);
  });

  it('deletes the chunks with the blob', async () => {
    const store = createPostgresBlobStore({ db: database.handle.db, chunkBytes: 1000, sm3: SM3_SUPPORTED });
    const { sha256 } = await store.put(piecesOf(randomBytes(3000)), { maxBytes: LIMIT });
    expect(await store.delete(sha256)).toBe(true);
    expect(await database.handle.db.select().from(blobChunks).where(eq(blobChunks.sha256, sha256))).toEqual([]);
  });

  it('reports a blob deleted while it is being read', async () => {
    const store = createPostgresBlobStore({ db: database.handle.db, chunkBytes: 1000, sm3: SM3_SUPPORTED });
    const { sha256 } = await store.put(piecesOf(randomBytes(3000)), { maxBytes: LIMIT });
    const reading = (await store.get(sha256))!;
    await store.delete(sha256);
    await expect(collect(reading)).rejects.toThrow(/postgres blob store: .* was deleted/);
  });

  it('does not quarantine the good rows a put wrote while a read of the corrupt ones was under way', async () => {
    let now = 0;
    const store = createPostgresBlobStore({
      db: database.handle.db,
      chunkBytes: 1000,
      now: () => now,
      rangeVerificationMaxAgeMs: 1000,
    });
    const bytes = randomBytes(3000);
    const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    await rowTampering(database.handle.db).flipByte(sha256, 10);
    const reading = (await store.get(sha256))![Symbol.asyncIterator]();
    // The corrupt first chunk is read (and passed on: the second is read and held back) …
    const first = await reading.next();
    expect(first.done).toBe(false);
    // … then a put replaces the rows, and the read goes on over the new ones.
    now += 1000;
    expect(await store.put(piecesOf(bytes), { maxBytes: LIMIT })).toMatchObject({ created: true, repaired: true });
    await expect(
      (async () => {
        for (let step = await reading.next(); !step.done; step = await reading.next());
      })(),
    ).rejects.toBeInstanceOf(BlobCorruptError);
    expect(await store.stat(sha256)).toEqual({ size: 3000, quarantined: false });
    expect((await collect((await store.get(sha256))!)).equals(bytes)).toBe(true);
  });

  it('finds a blob whose chunk was deleted behind its back corrupt, not deleted', async () => {
    const corruptions: string[] = [];
    const store = createPostgresBlobStore({
      db: database.handle.db,
      chunkBytes: 1000,
      onCorruption: (corruption) => corruptions.push(corruption.sha256),
    });
    const bytes = randomBytes(3000);
    const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
    await database.handle.db.delete(blobChunks).where(and(eq(blobChunks.sha256, sha256), eq(blobChunks.seq, 1)));
    const error = await collect((await store.get(sha256))!).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BlobCorruptError);
    expect(error).toMatchObject({ actualSha256: null });
    expect(corruptions).toEqual([sha256]);
    expect(await store.verify(sha256)).toMatchObject({
      status: 'corrupt',
      actualSha256: null,
      size: 1000,
      newlyQuarantined: false,
    });
    expect((await store.put(piecesOf(bytes), { maxBytes: LIMIT })).repaired).toBe(true);
    expect((await collect((await store.get(sha256))!)).equals(bytes)).toBe(true);
  });

  it('refuses unusable chunk sizes', () => {
    expect(() => createPostgresBlobStore({ db: database.handle.db, chunkBytes: 0 })).toThrow(TypeError);
  });
});
