/**
 * Documents encrypted at rest (blob-sealing.ts): what is stored does not show the document, a
 * changed, moved or truncated segment is refused as corruption, ranges open only what they need,
 * and blobs stored in clear before protection was turned on keep reading (and the reverse).
 * Both drivers, with the gateway's own data keys (DataProtection) where the stored bytes are shown.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../../test/harness.js';
import { testBlobKeys } from '../../test/support/blob-keys.js';
import { fileTampering, rowTampering } from '../../test/support/blob-tampering.js';
import { parseConfig } from '../config.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { blobChunks, blobs } from '../db/schema.js';
import type { ProtectionAlgorithm } from '../platform/aead.js';
import { DataProtection } from '../protection/data-protection.js';
import { type BlobStore, BlobCorruptError, BlobStoreError } from './blob-store.js';
import { collect, piecesOf } from './blob-store.conformance.js';
import { createFilesystemBlobStore } from './blob-store-fs.js';
import { createPostgresBlobStore } from './blob-store-postgres.js';
import {
  BlobKeyUnavailableError,
  type BlobKeys,
  parseSealedHeader,
  resealBlobs,
  SEGMENT_BYTES,
  sealedSize,
} from './blob-sealing.js';

const LIMIT = 20 * 1024 * 1024;
const SEGMENT_OVERHEAD = 28;

/** A PDF whose every page names the applicant: the string must not be found in what is stored. */
const APPLICANT = 'ZHANG San 110101199003077777';
function applicantPdf(pages: number): Buffer {
  const parts = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  for (let page = 1; page <= pages; page++) {
    parts.push(Buffer.from(`${page} 0 obj << /Type /Page /Contents (Residence permit of ${APPLICANT}) >> endobj\n`));
    parts.push(randomBytes(2000)); // an image stream
  }
  parts.push(Buffer.from('%%EOF\n'));
  return Buffer.concat(parts);
}

const read = async (store: BlobStore, sha256: string, range?: { start: number; end: number }): Promise<Buffer> => {
  const iterable = await store.get(sha256, range);
  if (!iterable) throw new Error(`blob ${sha256} not found`);
  return collect(iterable);
};

/** Where segment `index` of a sealed blob starts among its stored bytes. */
const segmentOffset = (stored: Buffer, index: number): number => {
  const layout = parseSealedHeader(stored);
  if (!layout || layout === 'malformed') throw new Error('not a sealed blob');
  return layout.header.length + index * (layout.segmentBytes + SEGMENT_OVERHEAD);
};

interface Driver {
  name: string;
  store(keys: BlobKeys | undefined): BlobStore;
  /** The stored bytes of a blob, read behind the store's back. */
  storedBytes(sha256: string): Promise<Buffer>;
  /** Writes stored bytes behind the store's back (same size). */
  overwrite(sha256: string, stored: Buffer): Promise<void>;
  tampering: ReturnType<typeof fileTampering>;
}

let database: DatabaseHandle;
let dropDatabase: () => Promise<void>;
let directory: string;
const protections = new Map<ProtectionAlgorithm, DataProtection>();

beforeAll(async () => {
  const fresh = await freshDatabase();
  database = await openDatabase(parseConfig({ ONEWINDOW_DEMO: 'false', ...fresh.environment }).database);
  await database.migrate();
  dropDatabase = fresh.drop;
  directory = await mkdtemp(join(tmpdir(), 'onewindow-sealed-blobs-'));
  for (const mode of ['sm4-gcm', 'aes-256-gcm'] as const) {
    const settings = { mode, keyEncryptionKeyFile: join(directory, 'kek.json'), previousKeyEncryptionKeyFiles: [] };
    protections.set(mode, await DataProtection.start(database.db, settings, pino({ level: 'silent' })));
  }
});

afterAll(async () => {
  await database?.close();
  await dropDatabase?.();
  await rm(directory, { recursive: true, force: true });
});

const blobFile = (sha256: string): string => join(directory, 'blobs', sha256.slice(0, 2), sha256);

const drivers: Driver[] = [
  {
    name: 'filesystem',
    store: (keys) => createFilesystemBlobStore({ directory: join(directory, 'blobs'), ...(keys ? { keys } : {}) }),
    storedBytes: (sha256) => readFile(blobFile(sha256)),
    async overwrite(sha256, stored) {
      const handle = await open(blobFile(sha256), 'r+');
      await handle.write(stored, 0, stored.length, 0);
      await handle.close();
    },
    get tampering() {
      return fileTampering(join(directory, 'blobs'));
    },
  },
  {
    name: 'postgres',
    store: (keys) => createPostgresBlobStore({ db: database.db, chunkBytes: 100_000, ...(keys ? { keys } : {}) }),
    async storedBytes(sha256) {
      const rows = await database.db
        .select({ data: blobChunks.data })
        .from(blobChunks)
        .where(eq(blobChunks.sha256, sha256))
        .orderBy(asc(blobChunks.seq));
      return Buffer.concat(rows.map((row) => row.data));
    },
    async overwrite(sha256, stored) {
      await rowTampering(database.db).restore(sha256, stored);
      // `restore` records the stored size; the row keeps the content's.
      const [row] = await database.db.select({ size: blobs.size }).from(blobs).where(eq(blobs.sha256, sha256));
      if (row)
        await database.db
          .update(blobs)
          .set({ size: contentSizes.get(sha256) ?? row.size })
          .where(eq(blobs.sha256, sha256));
    },
    get tampering() {
      return rowTampering(database.db);
    },
  },
];

/** Content sizes of the blobs the tests stored, for `overwrite`. */
const contentSizes = new Map<string, number>();
const put = async (store: BlobStore, bytes: Uint8Array) => {
  const result = await store.put(piecesOf(bytes), { maxBytes: LIMIT });
  contentSizes.set(result.sha256, bytes.byteLength);
  return result;
};

describe.each(drivers)('sealed blobs: $name', (driver) => {
  it.each(['sm4-gcm', 'aes-256-gcm'] as const)(
    'stores a document sealed with %s: the stored bytes do not show it, reads give it back',
    async (algorithm) => {
      const protection = protections.get(algorithm);
      if (!protection?.activeSealingKey) throw new Error('protection is not on');
      const store = driver.store(protection);
      const pdf = applicantPdf(100); // about 200 KiB: four segments
      const { sha256, size, head } = await put(store, pdf);
      expect(size).toBe(pdf.length);
      expect(Buffer.from(head).subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');

      const stored = await driver.storedBytes(sha256);
      expect(stored.length).toBe(sealedSize(pdf.length, { keyIdBytes: protection.activeSealingKey.id.length }));
      expect(stored.includes(APPLICANT)).toBe(false);
      expect(stored.includes('%PDF')).toBe(false);
      expect(stored.includes(pdf.subarray(1000, 1016))).toBe(false);
      expect(parseSealedHeader(stored)).toMatchObject({
        keyId: protection.activeSealingKey.id,
        segmentBytes: SEGMENT_BYTES,
      });

      expect(await store.stat(sha256)).toEqual({ size: pdf.length, quarantined: false });
      expect((await read(store, sha256)).equals(pdf)).toBe(true);
      // A range across a segment boundary opens the two segments it covers.
      const across = { start: SEGMENT_BYTES - 10, end: SEGMENT_BYTES + 9 };
      expect((await read(store, sha256, across)).equals(pdf.subarray(across.start, across.end + 1))).toBe(true);
      expect(await store.verify(sha256)).toEqual({ status: 'intact', size: pdf.length, released: false });
    },
  );

  it('refuses a tampered segment as corruption: quarantined, reported, repaired by the same document', async () => {
    const corruptions: string[] = [];
    const keys = protections.get('sm4-gcm');
    const store =
      driver.name === 'filesystem'
        ? createFilesystemBlobStore({
            directory: join(directory, 'blobs'),
            keys,
            onCorruption: (c) => corruptions.push(c.detectedBy),
          })
        : createPostgresBlobStore({
            db: database.db,
            chunkBytes: 100_000,
            keys,
            onCorruption: (c) => corruptions.push(c.detectedBy),
          });
    const pdf = applicantPdf(150);
    const { sha256 } = await put(store, pdf);
    const stored = await driver.storedBytes(sha256);
    await driver.tampering.flipByte(sha256, segmentOffset(stored, 2) + 500);

    let received = 0;
    const error = await (async () => {
      for await (const part of (await store.get(sha256)) ?? []) received += part.byteLength;
    })().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BlobCorruptError);
    expect(error).toMatchObject({ sha256, actualSha256: null });
    // Only the segments before the damaged one were passed on (and not all of them: one is held back).
    expect(received).toBeLessThan(2 * SEGMENT_BYTES);
    expect(corruptions).toEqual(['read']);
    expect(await store.stat(sha256)).toEqual({ size: pdf.length, quarantined: true });
    expect((await store.put(piecesOf(pdf), { maxBytes: LIMIT })).repaired).toBe(true);
    expect((await read(store, sha256)).equals(pdf)).toBe(true);
  });

  it('refuses segments swapped within a blob, and a blob whose last segment was cut off', async () => {
    const store = driver.store(protections.get('aes-256-gcm'));
    const pdf = applicantPdf(150);
    const { sha256 } = await put(store, pdf);
    const stored = await driver.storedBytes(sha256);
    const segment = SEGMENT_BYTES + SEGMENT_OVERHEAD;
    const [one, two] = [segmentOffset(stored, 0), segmentOffset(stored, 1)];
    const swapped = Buffer.from(stored);
    stored.copy(swapped, one, two, two + segment);
    stored.copy(swapped, two, one, one + segment);
    await driver.overwrite(sha256, swapped);
    expect(await store.verify(sha256)).toMatchObject({ status: 'corrupt', actualSha256: null });

    // A sealed blob of exactly two segments, its second (last) one removed: the first is not the last.
    const twoSegments = randomBytes(2 * SEGMENT_BYTES);
    const cut = await put(store, twoSegments);
    const whole = await driver.storedBytes(cut.sha256);
    if (driver.name === 'filesystem') {
      const handle = await open(blobFile(cut.sha256), 'r+');
      await handle.truncate(segmentOffset(whole, 1));
      await handle.close();
      expect(await store.verify(cut.sha256)).toMatchObject({ status: 'corrupt', actualSha256: null });
    } else {
      await database.db.update(blobs).set({ size: SEGMENT_BYTES }).where(eq(blobs.sha256, cut.sha256));
      await rowTampering(database.db).restore(cut.sha256, whole.subarray(0, segmentOffset(whole, 1)));
      await database.db.update(blobs).set({ size: SEGMENT_BYTES }).where(eq(blobs.sha256, cut.sha256));
      expect(await store.verify(cut.sha256)).toMatchObject({ status: 'corrupt', actualSha256: null });
    }
  });

  it('reads blobs stored in clear before protection was on, and sealed ones after it was turned off', async () => {
    const keys = testBlobKeys('off');
    const store = driver.store(keys);
    const before = applicantPdf(40);
    const clear = await put(store, before);
    expect((await driver.storedBytes(clear.sha256)).equals(before)).toBe(true);

    keys.rotate('sm4-gcm');
    const after = applicantPdf(40);
    const sealed = await put(store, after);
    expect((await driver.storedBytes(sealed.sha256)).includes(APPLICANT)).toBe(false);
    expect((await read(store, clear.sha256)).equals(before)).toBe(true);
    expect((await read(store, clear.sha256, { start: 3, end: 70_000 })).equals(before.subarray(3, 70_001))).toBe(true);
    // The same document again finds the copy in clear intact and keeps it (`reseal` is for sealing it).
    expect(await store.put(piecesOf(before), { maxBytes: LIMIT })).toMatchObject({ created: false });

    keys.rotate('aes-256-gcm'); // a rotation: the earlier key still opens what it sealed
    expect((await read(store, sealed.sha256)).equals(after)).toBe(true);
    keys.turnOff();
    expect((await read(store, sealed.sha256)).equals(after)).toBe(true);
    expect(
      (await read(store, sealed.sha256, { start: 70_000, end: 70_010 })).equals(after.subarray(70_000, 70_011)),
    ).toBe(true);
  });

  it('refuses, while protection is off, content that would read as sealed', async () => {
    const store = driver.store(testBlobKeys('off'));
    const lookalike = Buffer.concat([Buffer.from([0x89, 0x4f, 0x57, 0x53, 0x45, 0x41, 0x4c, 0x0a]), randomBytes(500)]);
    await expect(store.put(piecesOf(lookalike, 3), { maxBytes: LIMIT })).rejects.toThrow(/sealed-blob marker/);
  });

  it('answers a sealed blob with an error, not a quarantine, when the store was given no keys at all', async () => {
    const { sha256 } = await put(driver.store(testBlobKeys('sm4-gcm')), randomBytes(5000));
    const keyless = driver.store(undefined);
    const error = await read(keyless, sha256).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BlobKeyUnavailableError);
    expect(error).toBeInstanceOf(BlobStoreError);
    expect(await keyless.stat(sha256)).toEqual({ size: 5000, quarantined: false });
  });

  it('quarantines a sealed blob naming a data key the deployment never had (a damaged header), repaired by a put', async () => {
    const content = randomBytes(5000);
    const { sha256 } = await put(driver.store(testBlobKeys('sm4-gcm')), content);
    const stranger = driver.store(testBlobKeys('sm4-gcm'));
    const error = await read(stranger, sha256).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BlobStoreError);
    expect(error).not.toBeInstanceOf(BlobKeyUnavailableError);
    expect(await stranger.stat(sha256)).toEqual({ size: 5000, quarantined: true });
    await put(stranger, content);
    expect((await read(stranger, sha256)).equals(content)).toBe(true);
  });

  // Last: it seals again everything the other tests left in this store.
  it('seals again, under the active key, blobs kept in clear or under an earlier key (reseal)', async () => {
    const keys = testBlobKeys('off');
    const store = driver.store(keys);
    const documents = [applicantPdf(30), applicantPdf(70)];
    const inClear = await Promise.all(documents.map((pdf) => put(store, pdf)));
    keys.rotate('sm4-gcm');
    const earlier = applicantPdf(50);
    const underEarlierKey = await put(store, earlier);
    const active = keys.rotate('aes-256-gcm');
    await expect(resealBlobs(driver.store(testBlobKeys('off')), testBlobKeys('off'))).rejects.toThrow(/off/);

    const report = await resealBlobs(store, keys);
    const ours = [...inClear, underEarlierKey].map((result) => result.sha256);
    expect(report.resealed).toBeGreaterThanOrEqual(3);
    for (const sha256 of ours) {
      expect(report.failed).not.toContain(sha256);
      expect(await store.storedForm(sha256)).toEqual({ sealedWith: active.id });
      expect((await driver.storedBytes(sha256)).includes(APPLICANT)).toBe(false);
    }
    for (const [index, pdf] of [...documents, earlier].entries()) {
      const sha256 = ours[index] ?? '';
      expect((await read(store, sha256)).equals(pdf)).toBe(true);
      expect(await store.verify(sha256)).toMatchObject({ status: 'intact', size: pdf.length });
    }
    // Nothing left to do for these; what failed is what cannot be read (other tests' damage, unknown keys).
    const again = await resealBlobs(store, keys);
    expect(again.resealed).toBe(0);
    expect(again.failed.some((sha256) => ours.includes(sha256))).toBe(false);
  });
});

describe('the sealed format', () => {
  const store = () =>
    createFilesystemBlobStore({ directory: join(directory, 'format'), keys: testBlobKeys('aes-256-gcm') });

  it.each([0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 2 * SEGMENT_BYTES, 3 * SEGMENT_BYTES + 5])(
    'round-trips %i bytes, whole and in ranges around every segment boundary',
    async (size) => {
      const blobs = store();
      const bytes = randomBytes(size);
      const { sha256 } = await blobs.put(piecesOf(bytes, 7000), { maxBytes: LIMIT });
      expect((await readFile(join(directory, 'format', sha256.slice(0, 2), sha256))).length).toBe(
        sealedSize(size, { keyIdBytes: 12 }),
      );
      expect(await blobs.stat(sha256)).toEqual({ size, quarantined: false });
      expect((await read(blobs, sha256)).equals(bytes)).toBe(true);
      for (let boundary = 0; boundary <= size; boundary += SEGMENT_BYTES) {
        for (const [start, end] of [
          [boundary - 1, boundary],
          [boundary, boundary],
          [boundary, boundary + SEGMENT_BYTES + 1],
          [0, size + 10],
        ] as const) {
          if (start < 0 || start >= size) continue;
          const part = await read(blobs, sha256, { start, end });
          expect(part.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
        }
      }
    },
  );
});
