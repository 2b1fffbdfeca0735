/**
 * The behaviour every blob store driver must have, as a vitest suite each driver's test file runs
 * with its own setup. Contents are random per test, so tests do not see each other's blobs.
 * The integrity part changes stored bytes behind the store's back, through the driver's own
 * hooks (a byte flipped on disk, an UPDATE of a chunk), as a failing disk or an intruder would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobCorruption, BlobIntegrityOptions } from './blob-integrity.js';
import {
  BLOB_HEAD_BYTES,
  BlobCorruptError,
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
  /** Behind the store's back: inverts the stored byte at `offset` (same size, other content). */
  flipByte(sha256: string, offset: number): Promise<void>;
  /** Behind the store's back: removes the last stored byte. */
  dropLastByte(sha256: string): Promise<void>;
  /** Behind the store's back: writes `bytes` as the blob's stored content again, as an operator restoring a backup would. */
  restore(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Names the stored copy; changes when it is rewritten (inode, row versions). */
  storedIdentity(sha256: string): Promise<string>;
  /**
   * Set when the store seals new blobs (blob-sealing.ts): stored sizes then follow from content
   * sizes by this, and corruption shows as a segment that does not open (no digest of the content).
   */
  sealed?: { storedSizeOf(size: number): number };
}

/** What the suite passes to the driver it sets up: hooks that record, and a clock it moves. */
export interface IntegrityProbe {
  options: Required<Pick<BlobIntegrityOptions, 'onCorruption' | 'onRepair' | 'now' | 'rangeVerificationMaxAgeMs'>>;
}

/** The maximum age of a range verification in the suite's stores. */
const RANGE_VERIFICATION_MAX_AGE_MS = 60_000;

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

export function describeBlobStoreConformance(
  name: string,
  setup: (probe: IntegrityProbe) => Promise<BlobStoreUnderTest>,
): void {
  describe(`blob store conformance: ${name}`, () => {
    let subject: BlobStoreUnderTest;
    let store: BlobStore;
    let clockMs = Date.UTC(2026, 0, 5);
    const corruptions: BlobCorruption[] = [];
    const repairs: string[] = [];
    const probe: IntegrityProbe = {
      options: {
        onCorruption: (corruption) => corruptions.push(corruption),
        onRepair: (sha256) => repairs.push(sha256),
        now: () => clockMs,
        rangeVerificationMaxAgeMs: RANGE_VERIFICATION_MAX_AGE_MS,
      },
    };

    beforeAll(async () => {
      subject = await setup(probe);
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    /** What `size` content bytes take in the store. */
    const storedSizeOf = (size: number): number => subject.sealed?.storedSizeOf(size) ?? size;

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
      expect(await store.stat(result.sha256)).toEqual({ size, quarantined: false });
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
      expect(await subject.storedBytes()).toBe(before + storedSizeOf(bytes.byteLength));
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
      expect(await subject.storedBytes()).toBe(before + storedSizeOf(bytes.byteLength));
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
      await expect(store.put(piecesOf(bytes), { maxBytes: LIMIT, expectedSha256: 'sha-256=:abc=:' })).rejects.toThrow(
        TypeError,
      );
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
      await expect(
        store.put(piecesOf(randomBytes(10)), { maxBytes: LIMIT, signal: AbortSignal.abort() }),
      ).rejects.toThrow();
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
      expect((await readAll(sha256, { start: last - 9, end: last + 1000 })).equals(bytes.subarray(last - 9))).toBe(
        true,
      );
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

    it('writes an intact blob again on a put with rewrite, atomically, and says how it is stored', async () => {
      const bytes = randomBytes(200_000);
      const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      const form = await store.storedForm(sha256);
      expect(form?.sealedWith === null).toBe(!subject.sealed);
      const identity = await subject.storedIdentity(sha256);
      const before = await subject.storedBytes();
      expect(await store.put(piecesOf(bytes), { maxBytes: LIMIT, rewrite: true })).toMatchObject({
        created: false,
        repaired: false,
      });
      expect(await subject.storedIdentity(sha256)).not.toBe(identity);
      expect(await subject.storedBytes()).toBe(before);
      expect(await subject.temporaryItems()).toBe(0);
      expect((await readAll(sha256)).equals(bytes)).toBe(true);
      expect((await readAll(sha256, { start: 70_000, end: 70_009 })).equals(bytes.subarray(70_000, 70_010))).toBe(true);
      expect(await store.storedForm(sha256.replace(/^./, sha256.startsWith('0') ? '1' : '0'))).toBeNull();
    });

    it('looks digests up case-insensitively', async () => {
      const bytes = randomBytes(10);
      const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
      expect(await store.stat(sha256.toUpperCase())).toEqual({ size: 10, quarantined: false });
      expect((await readAll(sha256.toUpperCase())).equals(bytes)).toBe(true);
    });

    it('sets the sha256 of a put to node:crypto digest of what get returns', async () => {
      const bytes = randomBytes(777_777);
      const { sha256 } = await store.put(piecesOf(bytes, 77_777), { maxBytes: LIMIT });
      expect(sha256Of(await readAll(sha256))).toBe(sha256);
    });

    describe('integrity', () => {
      /** Blobs this suite corrupted and nothing repaired or deleted since: what a scrub must find. */
      const corruptedNow = new Set<string>();

      const storeCorrupted = async (bytes: Uint8Array, damage: (sha256: string) => Promise<void>): Promise<string> => {
        const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
        await damage(sha256);
        corruptedNow.add(sha256);
        return sha256;
      };

      /** Reads the whole blob as an HTTP response would; what arrived before the read failed, and how it failed. */
      const readUntilFailure = async (sha256: string): Promise<{ received: number; error: unknown }> => {
        const iterable = await store.get(sha256);
        if (!iterable) throw new Error(`blob ${sha256} not found`);
        let received = 0;
        try {
          for await (const part of iterable) received += part.byteLength;
        } catch (error) {
          return { received, error };
        }
        return { received, error: undefined };
      };

      const expectCorruptError = (error: unknown, sha256: string, actualSha256: string | null): void => {
        expect(error).toBeInstanceOf(BlobCorruptError);
        expect(error).toBeInstanceOf(BlobStoreError);
        expect(error).toMatchObject({ sha256, actualSha256 });
        expect((error as Error).message.startsWith(`${store.driver}: `)).toBe(true);
      };

      it.each([
        ['a one-chunk blob', 10 * 1024],
        ['a blob of several chunks', 3 * MiB + 5],
      ])(
        'aborts a whole read of %s corrupted behind its back before its last bytes, reports and quarantines it',
        async (_label, size) => {
          const bytes = randomBytes(size);
          const offset = Math.floor(size / 2);
          const sha256 = await storeCorrupted(bytes, (name) => subject.flipByte(name, offset));
          const damaged = Buffer.from(bytes);
          damaged[offset] = (damaged[offset] ?? 0) ^ 0xff;
          const reported = corruptions.length;

          const { received, error } = await readUntilFailure(sha256);
          expect(received).toBeLessThan(size);
          if (subject.sealed) {
            // The damaged segment does not open: no content digest, and nothing of it or after it was read.
            expectCorruptError(error, sha256, null);
            expect(corruptions.slice(reported)).toEqual([
              { sha256, actualSha256: null, bytesRead: expect.any(Number), detectedBy: 'read' },
            ]);
            expect(corruptions.at(-1)?.bytesRead).toBeLessThan(size);
          } else {
            expectCorruptError(error, sha256, sha256Of(damaged));
            expect(corruptions.slice(reported)).toEqual([
              { sha256, actualSha256: sha256Of(damaged), bytesRead: size, detectedBy: 'read' },
            ]);
          }

          // Quarantined: refused at once, whole or in part, without being read (and reported) again.
          expect(await store.stat(sha256)).toEqual({ size, quarantined: true });
          expectCorruptError(await rejectionOf(store.get(sha256)), sha256, null);
          expectCorruptError(await rejectionOf(store.get(sha256, { start: 0, end: 0 })), sha256, null);
          expect(corruptions).toHaveLength(reported + 1);
        },
      );

      it('finds bytes missing at the end', async () => {
        const bytes = randomBytes(MiB + 17);
        const sha256 = await storeCorrupted(bytes, (name) => subject.dropLastByte(name));
        const { received, error } = await readUntilFailure(sha256);
        expect(error).toBeInstanceOf(BlobCorruptError);
        expect(received).toBeLessThan(bytes.byteLength);
        expect(corruptions.at(-1)).toMatchObject({ sha256, detectedBy: 'read' });
        expect((await store.stat(sha256))?.quarantined).toBe(true);
      });

      it('checks the whole blob before serving a range of it when it was rewritten since it was verified', async () => {
        const bytes = randomBytes(2 * MiB + 3);
        const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
        // Verified (by the put and by a whole read), and so served in ranges as it is.
        expect((await readAll(sha256)).equals(bytes)).toBe(true);
        expect((await readAll(sha256, { start: 10, end: 19 })).equals(bytes.subarray(10, 20))).toBe(true);

        await subject.flipByte(sha256, bytes.byteLength - 1);
        corruptedNow.add(sha256);
        const reported = corruptions.length;
        // The range lies far from the damage, yet it is refused: nothing of a corrupt blob is served.
        expectCorruptError(
          await rejectionOf(store.get(sha256, { start: 0, end: 99 })),
          sha256,
          subject.sealed ? null : (expect.any(String) as unknown as string),
        );
        expect(corruptions.slice(reported)).toMatchObject([
          {
            sha256,
            detectedBy: 'range_check',
            // Sealed: read up to the segment that does not open.
            bytesRead: subject.sealed ? expect.any(Number) : bytes.byteLength,
          },
        ]);
        expect((await store.stat(sha256))?.quarantined).toBe(true);
      });

      it('checks the whole blob again before serving a range once the verification is older than the maximum age', async () => {
        const bytes = randomBytes(300 * 1024);
        const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
        expect((await readAll(sha256, { start: 5, end: 9 })).equals(bytes.subarray(5, 10))).toBe(true);
        clockMs += RANGE_VERIFICATION_MAX_AGE_MS;
        // Still intact: checked whole and served.
        expect((await readAll(sha256, { start: 5, end: 9 })).equals(bytes.subarray(5, 10))).toBe(true);
        await subject.flipByte(sha256, 200 * 1024);
        corruptedNow.add(sha256);
        clockMs += RANGE_VERIFICATION_MAX_AGE_MS;
        expect(await rejectionOf(store.get(sha256, { start: 5, end: 9 }))).toBeInstanceOf(BlobCorruptError);
        expect(corruptions.at(-1)).toMatchObject({ sha256, detectedBy: 'range_check' });
      });

      it('repairs a quarantined blob when the same bytes are put again, atomically and once', async () => {
        const bytes = randomBytes(MiB + 999);
        const storedBefore = await subject.storedBytes();
        const sha256 = await storeCorrupted(bytes, (name) => subject.flipByte(name, 12_345));
        expect((await readUntilFailure(sha256)).error).toBeInstanceOf(BlobCorruptError);

        const repairsBefore = repairs.length;
        const repaired = await store.put(piecesOf(bytes, 33_333), { maxBytes: LIMIT });
        corruptedNow.delete(sha256);
        expect(repaired).toMatchObject({ sha256, size: bytes.byteLength, created: true, repaired: true });
        expect(repairs.slice(repairsBefore)).toEqual([sha256]);
        expect(await store.stat(sha256)).toEqual({ size: bytes.byteLength, quarantined: false });
        expect((await readAll(sha256)).equals(bytes)).toBe(true);
        expect((await readAll(sha256, { start: 12_340, end: 12_350 })).equals(bytes.subarray(12_340, 12_351))).toBe(
          true,
        );
        expect(await store.verify(sha256)).toEqual({ status: 'intact', size: bytes.byteLength, released: false });
        expect(await subject.temporaryItems()).toBe(0);
        // One good copy in place of the corrupt one.
        expect(await subject.storedBytes()).toBe(storedBefore + storedSizeOf(bytes.byteLength));
        const identity = await subject.storedIdentity(sha256);
        expect(await store.put(piecesOf(bytes), { maxBytes: LIMIT })).toMatchObject({
          created: false,
          repaired: false,
        });
        expect(await subject.storedIdentity(sha256)).toBe(identity);
      });

      it('repairs, on a put of the same bytes, a corruption no read has found yet, and reports it', async () => {
        const bytes = randomBytes(700 * 1024);
        const sha256 = await storeCorrupted(bytes, (name) => subject.dropLastByte(name));
        clockMs += RANGE_VERIFICATION_MAX_AGE_MS; // the put's own verification has expired
        const reported = corruptions.length;
        const again = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
        corruptedNow.delete(sha256);
        expect(again).toMatchObject({ created: true, repaired: true });
        expect(corruptions.slice(reported)).toMatchObject([{ sha256, detectedBy: 'upload' }]);
        expect((await readAll(sha256)).equals(bytes)).toBe(true);
      });

      it('leaves an intact blob as it is when the same bytes are put again, even once its verification expired', async () => {
        const bytes = randomBytes(MiB + 1);
        const { sha256 } = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
        const identity = await subject.storedIdentity(sha256);
        clockMs += RANGE_VERIFICATION_MAX_AGE_MS;
        const reported = corruptions.length;
        expect(await store.put(piecesOf(bytes, 4096), { maxBytes: LIMIT })).toMatchObject({
          created: false,
          repaired: false,
        });
        expect(await subject.storedIdentity(sha256)).toBe(identity);
        expect(corruptions).toHaveLength(reported);
      });

      it('deletes a quarantined blob', async () => {
        const sha256 = await storeCorrupted(randomBytes(5000), (name) => subject.flipByte(name, 0));
        expect(await store.verify(sha256)).toMatchObject({ status: 'corrupt', newlyQuarantined: true });
        expect(await store.delete(sha256)).toBe(true);
        corruptedNow.delete(sha256);
        expect(await store.stat(sha256)).toBeNull();
        expect(await store.get(sha256)).toBeNull();
        expect(await store.verify(sha256)).toEqual({ status: 'missing' });
      });

      it('releases a quarantined blob whose bytes were restored behind its back', async () => {
        const bytes = randomBytes(150_000);
        const sha256 = await storeCorrupted(bytes, (name) => subject.flipByte(name, 149_999));
        expect((await readUntilFailure(sha256)).error).toBeInstanceOf(BlobCorruptError);
        await subject.restore(sha256, bytes);
        corruptedNow.delete(sha256);
        expect(await store.verify(sha256)).toEqual({ status: 'intact', size: bytes.byteLength, released: true });
        expect(await store.stat(sha256)).toEqual({ size: bytes.byteLength, quarantined: false });
        expect((await readAll(sha256)).equals(bytes)).toBe(true);
      });

      it('scrubs: lists every blob, and verify finds exactly the corrupted ones, quarantining each once', async () => {
        const intact = await store.put(piecesOf(randomBytes(40_000)), { maxBytes: LIMIT });
        const flipped = await storeCorrupted(randomBytes(2 * MiB), (name) => subject.flipByte(name, MiB));
        const shortened = await storeCorrupted(randomBytes(1000), (name) => subject.dropLastByte(name));
        const reported = corruptions.length;

        // Verified while listing, as the scrub does: quarantining must not make a blob listed twice.
        const listed: string[] = [];
        const corrupt = new Set<string>();
        for await (const sha256 of store.list()) {
          listed.push(sha256);
          const check = await store.verify(sha256);
          expect(check.status, sha256).not.toBe('missing');
          if (check.status === 'corrupt') corrupt.add(sha256);
        }
        expect(new Set(listed).size).toBe(listed.length);
        for (const sha256 of [intact.sha256, flipped, shortened, ...corruptedNow])
          expect(listed.includes(sha256), sha256).toBe(true);
        expect(corrupt).toEqual(corruptedNow);
        // The two new ones were found by the scrub (the others were quarantined before).
        expect(
          corruptions
            .slice(reported)
            .map((corruption) => [corruption.sha256, corruption.detectedBy])
            .sort(),
        ).toEqual(
          [
            [flipped, 'scrub'],
            [shortened, 'scrub'],
          ].sort(),
        );
        expect(await store.verify(flipped)).toMatchObject({ status: 'corrupt', newlyQuarantined: false });
        expect(await store.verify(intact.sha256)).toEqual({ status: 'intact', size: 40_000, released: false });
        expect(await store.verify(sha256Of(randomBytes(8)))).toEqual({ status: 'missing' });
      });
    });
  });
}

/** Helpers for the drivers' own tests. */
export { piecesOf, collect, sha256Of };
