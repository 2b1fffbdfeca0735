/**
 * The behaviour every blob store driver must have, as a vitest suite each driver's test file runs
 * with its own setup. Contents are random per test, so tests do not see each other's blobs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BLOB_HEAD_BYTES,
  BlobDigestMismatchError,
  BlobRangeError,
  type BlobStore,
  BlobStoreError,
  BlobTooLargeError,
  SM3_SUPPORTED,
} from './blob-store.js';

export interface BlobStoreUnderTest {
  store: BlobStore;
  cleanup(): Promise<void>;
  /** Total bytes of stored content, to prove a blob is stored once and failed puts leave nothing. */
  storedBytes(): Promise<number>;
  /** Uploads in progress: temporary files for the filesystem driver. 0 when the driver has none. */
  temporaryItems(): Promise<number>;
}

const MiB = 1024 * 1024;
const LIMIT = 20 * MiB;

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Yields `bytes` in pieces of `pieceBytes`, as plain Uint8Arrays (not Buffers). */
async function* piecesOf(bytes: Uint8Array, pieceBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += pieceBytes) {
    yield new Uint8Array(bytes.subarray(offset, offset + pieceBytes));
  }
}

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function describeBlobStoreConformance(name: string, setup: () => Promise<BlobStoreUnderTest>): void {
  describe(`blob store conformance: ${name}`, () => {
    let subject: BlobStoreUnderTest;
    let store: BlobStore;

    beforeAll(async () => {
      subject = await setup();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    const readAll = async (sha256: string, range?: { start: number; end: number }): Promise<Buffer> => {
      const iterable = await store.get(sha256, range);
      if (!iterable) throw new Error(`blob ${sha256} not found`);
      return collect(iterable);
    };

    /** Asserts that a failed put left nothing behind. */
    const expectNothingStored = async (storedBefore: number, sha256?: string): Promise<void> => {
      expect(await subject.storedBytes()).toBe(storedBefore);
      expect(await subject.temporaryItems()).toBe(0);
      if (sha256) expect(await store.stat(sha256)).toBeNull();
    };

    it.each([0, 1, 10 * 1024, MiB + 7, 5 * MiB])('round-trips %i bytes', async (size) => {
      const bytes = randomBytes(size);
      const result = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      expect(result.sha256).toBe(sha256Of(bytes));
      expect(result.size).toBe(size);
      expect(result.created).toBe(true);
      expect(Buffer.from(result.head).equals(bytes.subarray(0, BLOB_HEAD_BYTES))).toBe(true);
      if (SM3_SUPPORTED) expect(result.sm3).toBe(createHash('sm3').update(bytes).digest('hex'));
      else expect(result.sm3).toBeUndefined();
      expect(await store.stat(result.sha256)).toEqual({ size });
      expect((await readAll(result.sha256)).equals(bytes)).toBe(true);
      expect(await subject.temporaryItems()).toBe(0);
    });

    it('accepts node readable streams of any chunking, Buffers or Uint8Arrays', async () => {
      const bytes = randomBytes(300 * 1024 + 3);
      const odd = await store.put(piecesOf(bytes, 4093), { maxBytes: LIMIT });
      expect(odd.sha256).toBe(sha256Of(bytes));
      const again = await store.put(Readable.from([bytes.subarray(0, 1), bytes.subarray(1)]), { maxBytes: LIMIT });
      expect(again).toMatchObject({ sha256: odd.sha256, created: false, size: bytes.byteLength });
      expect((await readAll(odd.sha256)).equals(bytes)).toBe(true);
    });

    it('returns head bytes of short and long blobs', async () => {
      const short = randomBytes(100);
      expect(Buffer.from((await store.put(piecesOf(short, 7), { maxBytes: LIMIT })).head).equals(short)).toBe(true);
      const long = randomBytes(3 * BLOB_HEAD_BYTES);
      const { head } = await store.put(piecesOf(long, 1000), { maxBytes: LIMIT });
      expect(head.byteLength).toBe(BLOB_HEAD_BYTES);
      expect(Buffer.from(head).equals(long.subarray(0, BLOB_HEAD_BYTES))).toBe(true);
    });

    it('stores identical bytes once', async () => {
      const bytes = randomBytes(MiB + 123);
      const before = await subject.storedBytes();
      const first = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      const second = await store.put(piecesOf(bytes, 10_000), { maxBytes: LIMIT });
      expect(first.created).toBe(true);
      expect(second).toEqual({ ...first, created: false });
      expect(await subject.storedBytes()).toBe(before + bytes.byteLength);
      expect(await subject.temporaryItems()).toBe(0);
      expect((await readAll(first.sha256)).equals(bytes)).toBe(true);
    });

    it('lets concurrent puts of the same bytes all succeed, leaving one copy', async () => {
      const bytes = randomBytes(2 * MiB + 5);
      const before = await subject.storedBytes();
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, index) => store.put(piecesOf(bytes, 16 * 1024 + index), { maxBytes: LIMIT })),
      );
      expect(new Set(results.map((result) => result.sha256))).toEqual(new Set([sha256Of(bytes)]));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(await subject.storedBytes()).toBe(before + bytes.byteLength);
      expect(await subject.temporaryItems()).toBe(0);
      expect((await readAll(sha256Of(bytes))).equals(bytes)).toBe(true);
    });

    it('accepts exactly maxBytes', async () => {
      const bytes = randomBytes(64 * 1024);
      const result = await store.put(piecesOf(bytes, 1000), { maxBytes: bytes.byteLength });
      expect(result.size).toBe(bytes.byteLength);
    });

    it('rejects content over maxBytes as soon as the limit is passed, storing nothing', async () => {
      const before = await subject.storedBytes();
      let produced = 0;
      let finished = false;
      // An endless source: only a limit enforced while reading can stop it.
      const endless = async function* (): AsyncGenerator<Uint8Array> {
        try {
          for (;;) {
            const piece = randomBytes(32 * 1024);
            produced += piece.byteLength;
            yield piece;
          }
        } finally {
          finished = true;
        }
      };
      const error = await rejectionOf(store.put(endless(), { maxBytes: 100_000 }));
      expect(error).toBeInstanceOf(BlobTooLargeError);
      expect(error).toBeInstanceOf(BlobStoreError);
      expect((error as BlobTooLargeError).maxBytes).toBe(100_000);
      expect((error as Error).message.startsWith(`${store.driver}: `)).toBe(true);
      expect(produced).toBeLessThan(100_000 + 32 * 1024 * 8);
      expect(finished).toBe(true);
      await expectNothingStored(before);

      const bytes = randomBytes(10_001);
      await expect(store.put(piecesOf(bytes, 1000), { maxBytes: 10_000 })).rejects.toBeInstanceOf(BlobTooLargeError);
      await expectNothingStored(before, sha256Of(bytes));
    });

    it('accepts the expected digest in either case', async () => {
      const bytes = randomBytes(5000);
      const digest = sha256Of(bytes);
      const result = await store.put(piecesOf(bytes), { maxBytes: LIMIT, expectedSha256: digest.toUpperCase() });
      expect(result.sha256).toBe(digest);
    });

    it('rejects a digest mismatch, storing nothing', async () => {
      const before = await subject.storedBytes();
      const bytes = randomBytes(200 * 1024);
      const other = sha256Of(randomBytes(10));
      const error = await rejectionOf(store.put(piecesOf(bytes), { maxBytes: LIMIT, expectedSha256: other }));
      expect(error).toBeInstanceOf(BlobDigestMismatchError);
      expect(error).toMatchObject({ expectedSha256: other, actualSha256: sha256Of(bytes) });
      await expectNothingStored(before, sha256Of(bytes));
      await expect(store.put(piecesOf(bytes), { maxBytes: LIMIT, expectedSha256: 'sha-256=:abc=:' })).rejects.toThrow(TypeError);
      await expectNothingStored(before, sha256Of(bytes));
    });

    it('propagates a failing source, storing nothing', async () => {
      const before = await subject.storedBytes();
      const failure = new Error('client went away');
      const failing = async function* (): AsyncGenerator<Uint8Array> {
        yield randomBytes(300 * 1024);
        yield randomBytes(300 * 1024);
        throw failure;
      };
      const error = await rejectionOf(store.put(failing(), { maxBytes: LIMIT }));
      expect(error).toBeInstanceOf(BlobStoreError);
      expect((error as Error).cause).toBe(failure);
      expect((error as Error).message).toContain('client went away');
      await expectNothingStored(before);

      const stream = new Readable({ read() {} });
      stream.push(randomBytes(1000));
      setTimeout(() => stream.destroy(failure), 10);
      expect(((await rejectionOf(store.put(stream, { maxBytes: LIMIT }))) as Error).cause).toBe(failure);
      await expectNothingStored(before);
    });

    it('refuses text chunks', async () => {
      const before = await subject.storedBytes();
      const text = Readable.from(['not', 'bytes'], { objectMode: false });
      text.setEncoding('utf8');
      await expect(store.put(text, { maxBytes: LIMIT })).rejects.toBeInstanceOf(BlobStoreError);
      await expectNothingStored(before);
    });

    it('stops on abort, storing nothing', async () => {
      const before = await subject.storedBytes();
      const controller = new AbortController();
      const stalled = new Readable({ read() {} });
      stalled.push(randomBytes(64 * 1024));
      setTimeout(() => controller.abort(), 20);
      const error = await rejectionOf(store.put(stalled, { maxBytes: LIMIT, signal: controller.signal }));
      expect((error as Error).name).toBe('AbortError');
      await expectNothingStored(before);
      await expect(store.put(piecesOf(randomBytes(10)), { maxBytes: LIMIT, signal: AbortSignal.abort() })).rejects.toThrow();
      await expectNothingStored(before);
    });

    it('reads byte ranges', async () => {
      const bytes = randomBytes(3 * MiB + 11);
      const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      const last = bytes.byteLength - 1;
      const ranges: [number, number][] = [
        [0, 0],
        [last, last],
        [0, last],
        [1, last - 1],
        [MiB - 1, MiB], // across the default chunk boundary
        [100_000 - 2, 200_000 + 2], // across small chunk boundaries
        [2 * MiB, 3 * MiB - 1], // exactly one default chunk
        [12_345, 12_345 + 70_000],
      ];
      for (const [start, end] of ranges) {
        const part = await readAll(sha256, { start, end });
        expect(part.equals(bytes.subarray(start, end + 1)), `range ${start}-${end}`).toBe(true);
      }
      // An end past the last byte is clamped, as HTTP does.
      expect((await readAll(sha256, { start: last - 9, end: last + 1000 })).equals(bytes.subarray(last - 9))).toBe(true);
      for (const range of [
        { start: last + 1, end: last + 1 },
        { start: 10, end: 9 },
        { start: -1, end: 5 },
        { start: 0.5, end: 5 },
      ]) {
        await expect(store.get(sha256, range)).rejects.toBeInstanceOf(BlobRangeError);
      }
      const empty = await store.put(piecesOf(new Uint8Array(0)), { maxBytes: LIMIT });
      expect((await readAll(empty.sha256)).byteLength).toBe(0);
      await expect(store.get(empty.sha256, { start: 0, end: 0 })).rejects.toBeInstanceOf(BlobRangeError);
    });

    it('answers null / false for unknown digests', async () => {
      const unknown = sha256Of(randomBytes(32));
      expect(await store.get(unknown)).toBeNull();
      expect(await store.get(unknown, { start: 0, end: 0 })).toBeNull();
      expect(await store.stat(unknown)).toBeNull();
      expect(await store.delete(unknown)).toBe(false);
    });

    it('refuses malformed digests', async () => {
      for (const bad of ['../../etc/passwd', 'abc', `${'a'.repeat(63)}g`, `${'a'.repeat(64)}/`, '']) {
        await expect(store.stat(bad)).rejects.toThrow(TypeError);
        await expect(store.get(bad)).rejects.toThrow(TypeError);
        await expect(store.delete(bad)).rejects.toThrow(TypeError);
      }
    });

    it('deletes blobs, after which they can be stored again', async () => {
      const bytes = randomBytes(1500);
      const before = await subject.storedBytes();
      const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      expect(await store.delete(sha256.toUpperCase())).toBe(true);
      expect(await store.delete(sha256)).toBe(false);
      expect(await store.stat(sha256)).toBeNull();
      expect(await store.get(sha256)).toBeNull();
      expect(await subject.storedBytes()).toBe(before);
      expect((await store.put(piecesOf(bytes), { maxBytes: LIMIT })).created).toBe(true);
      expect((await readAll(sha256)).equals(bytes)).toBe(true);
    });

    it('looks digests up case-insensitively', async () => {
      const bytes = randomBytes(10);
      const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      expect(await store.stat(sha256.toUpperCase())).toEqual({ size: 10 });
      expect((await readAll(sha256.toUpperCase())).equals(bytes)).toBe(true);
    });

    it('sets the sha256 of a put to node:crypto digest of what get returns', async () => {
      const bytes = randomBytes(777_777);
      const { sha256 } = await store.put(piecesOf(bytes, 77_777), { maxBytes: LIMIT });
      expect(sha256Of(await readAll(sha256))).toBe(sha256);
    });
  });
}

/** Helpers for the drivers' own tests. */
export { piecesOf, collect, sha256Of };
