/**
 * Documents encrypted at rest (issue 21): the sealed format of a stored blob, and the stream
 * stages both drivers put between a blob's content and its stored bytes. A blob keeps its name,
 * the SHA-256 of its content (deduplication, the digests clients and departments see and every
 * integrity check are unchanged); only the stored bytes differ.
 *
 * Format (version 1):
 *
 *   header   magic "\x89OWSEAL\n" (8) ‖ version (1) ‖ key id length (1) ‖ key id (ASCII)
 *            ‖ segment size (4, big-endian) ‖ random blob nonce (16)
 *   segments the content cut into `segment size` pieces (the last one shorter, possibly empty),
 *            each sealed as iv (12) ‖ ciphertext ‖ tag (16) (aead.ts) with the associated data
 *            header ‖ segment index (4, big-endian) ‖ last flag (1)
 *
 * Why segments of 64 KiB rather than the whole blob sealed at once: a range (a viewer fetching
 * a page of a PDF) opens only the segments it covers, and a whole read streams with one segment
 * in memory and stops at the first segment that does not open. The overhead is 28 bytes per
 * 64 KiB (0.04 %). The header in every segment's associated data binds segments to their blob
 * (the nonce) and to the key id and segment size they were read with; the index stops reordering
 * and the last flag truncation at a segment boundary. The blob's name is not in the associated
 * data: it is known only after the last byte, and a put seals segments while they stream in (the
 * filesystem driver writes them to disk as they come). Swapping one whole stored blob for
 * another is caught anyway: every read checks the content against the name, as before.
 *
 * Stored bytes that do not begin with the magic are content in clear, written while protection
 * was off: they read as they are. For the same reason, content that begins with the magic is
 * refused while protection is off (no PDF, OFD, JPEG or PNG does), so clear and sealed never mix up.
 */
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { aeadOpen, aeadSeal, type ProtectionAlgorithm, SealBrokenError } from '../platform/aead.js';
import { UnreadableContentError } from './blob-integrity.js';
import { type BlobStore, BlobStoreError, type ByteRange } from './blob-store.js';

/** A data key for blobs: `DataProtection` has them. */
export interface BlobSealingKey {
  id: string;
  algorithm: ProtectionAlgorithm;
  key: Uint8Array;
}

/** Where a store takes its keys from: `DataProtection` (services.ts). */
export interface BlobKeys {
  /** The key new blobs are sealed with; undefined when protection is off (they are stored in clear). */
  readonly activeSealingKey: BlobSealingKey | undefined;
  /** A key by id, for opening (throws when unknown). */
  sealingKeyById(id: string): Promise<BlobSealingKey>;
}

const MAGIC = Buffer.from([0x89, 0x4f, 0x57, 0x53, 0x45, 0x41, 0x4c, 0x0a]);
const VERSION = 1;
const NONCE_BYTES = 16;
/** iv and tag around every segment. */
const SEGMENT_OVERHEAD = 28;
const MAX_KEY_ID_BYTES = 64;
/** Enough leading stored bytes for any header: what drivers read to tell sealed from clear. */
export const SEALED_HEADER_PROBE_BYTES = MAGIC.length + 2 + MAX_KEY_ID_BYTES + 4 + NONCE_BYTES;
/** Content bytes per sealed segment. */
export const SEGMENT_BYTES = 64 * 1024;

/** What the header of a sealed blob says. */
export interface SealedLayout {
  header: Buffer;
  keyId: string;
  segmentBytes: number;
}

const headerLength = (keyIdBytes: number): number => MAGIC.length + 2 + keyIdBytes + 4 + NONCE_BYTES;

function newHeader(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  if (id.length === 0 || id.length > MAX_KEY_ID_BYTES)
    throw new TypeError('a data key id must have 1 to 64 characters');
  const header = Buffer.alloc(headerLength(id.length));
  MAGIC.copy(header, 0);
  header[MAGIC.length] = VERSION;
  header[MAGIC.length + 1] = id.length;
  id.copy(header, MAGIC.length + 2);
  header.writeUInt32BE(SEGMENT_BYTES, MAGIC.length + 2 + id.length);
  randomBytes(NONCE_BYTES).copy(header, header.length - NONCE_BYTES);
  return header;
}

/**
 * Reads the header from the first stored bytes (at least `SEALED_HEADER_PROBE_BYTES`, or all of
 * a shorter blob): null for content in clear, 'malformed' for a sealed blob whose header is not
 * readable (damaged, or a version this gateway does not know).
 */
export function parseSealedHeader(head: Uint8Array): SealedLayout | null | 'malformed' {
  if (head.byteLength < MAGIC.length || !MAGIC.equals(head.subarray(0, MAGIC.length))) return null;
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length < MAGIC.length + 2 || bytes[MAGIC.length] !== VERSION) return 'malformed';
  const idBytes = bytes[MAGIC.length + 1] ?? 0;
  if (idBytes === 0 || idBytes > MAX_KEY_ID_BYTES || bytes.length < headerLength(idBytes)) return 'malformed';
  const keyId = bytes.toString('ascii', MAGIC.length + 2, MAGIC.length + 2 + idBytes);
  const segmentBytes = bytes.readUInt32BE(MAGIC.length + 2 + idBytes);
  if (segmentBytes === 0) return 'malformed';
  return { header: Buffer.from(bytes.subarray(0, headerLength(idBytes))), keyId, segmentBytes };
}

const segmentCount = (size: number, segmentBytes: number): number => Math.max(1, Math.ceil(size / segmentBytes));

/** Stored size of `size` content bytes sealed with `layout` (or a key id of this length, segments of SEGMENT_BYTES). */
export function sealedSize(size: number, layout: SealedLayout | { keyIdBytes: number }): number {
  const [header, segmentBytes] =
    'header' in layout ? [layout.header.length, layout.segmentBytes] : [headerLength(layout.keyIdBytes), SEGMENT_BYTES];
  return header + segmentCount(size, segmentBytes) * SEGMENT_OVERHEAD + size;
}

/** The content size a sealed blob of `storedSize` bytes has; null when no content seals to that size (truncated). */
export function contentSizeOf(storedSize: number, layout: SealedLayout): number | null {
  const body = storedSize - layout.header.length;
  if (body < SEGMENT_OVERHEAD) return null;
  const full = Math.floor(body / (layout.segmentBytes + SEGMENT_OVERHEAD));
  const rest = body - full * (layout.segmentBytes + SEGMENT_OVERHEAD);
  if (rest === 0) return full * layout.segmentBytes;
  return rest < SEGMENT_OVERHEAD ? null : full * layout.segmentBytes + rest - SEGMENT_OVERHEAD;
}

function associatedData(header: Buffer, index: number, last: boolean): Buffer {
  const data = Buffer.alloc(header.length + 5);
  header.copy(data, 0);
  data.writeUInt32BE(index, header.length);
  data[header.length + 4] = last ? 1 : 0;
  return data;
}

/** Seals content into the format above as it streams: one segment in memory. */
class BlobSealer extends Transform {
  private readonly header: Buffer;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;

  constructor(
    private readonly key: BlobSealingKey,
    highWaterMark: number,
  ) {
    super({ highWaterMark, decodeStrings: false });
    this.header = newHeader(key.id);
    this.push(this.header);
  }

  private seal(content: Buffer, last: boolean): Buffer {
    const associated = associatedData(this.header, this.index, last);
    this.index += 1;
    return aeadSeal(this.key.algorithm, this.key.key, content, associated);
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pendingBytes += chunk.byteLength;
    // A full segment is sealed only once more content follows: the last one carries the last flag.
    if (this.pendingBytes > SEGMENT_BYTES) {
      let content = Buffer.concat(this.pending, this.pendingBytes);
      const sealed: Buffer[] = [];
      while (content.length > SEGMENT_BYTES) {
        sealed.push(this.seal(content.subarray(0, SEGMENT_BYTES), false));
        content = content.subarray(SEGMENT_BYTES);
      }
      // Copied: the rest must not keep the whole concatenation alive.
      this.pending = [Buffer.from(content)];
      this.pendingBytes = content.length;
      callback(null, Buffer.concat(sealed));
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.seal(Buffer.concat(this.pending, this.pendingBytes), true));
  }
}

/** Passes content in clear on, refusing content that would read as sealed (see the module comment). */
class ClearGuard extends Transform {
  private checked = Buffer.alloc(0);

  constructor(
    private readonly driver: string,
    highWaterMark: number,
  ) {
    super({ highWaterMark, decodeStrings: false });
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.checked.length < MAGIC.length) {
      this.checked = Buffer.concat([this.checked, chunk.subarray(0, MAGIC.length - this.checked.length)]);
      if (this.checked.length === MAGIC.length && this.checked.equals(MAGIC)) {
        callback(
          new BlobStoreError(
            this.driver,
            'the content begins with the sealed-blob marker and cannot be stored in clear',
          ),
        );
        return;
      }
    }
    callback(null, chunk);
  }
}

/**
 * The stream stage between the meter and the stored bytes: seals with `key` (a store's
 * `keys.activeSealingKey`, taken once per put), or passes content in clear when there is none.
 */
export function storedBytesStage(driver: string, key: BlobSealingKey | undefined, highWaterMark: number): Transform {
  return key ? new BlobSealer(key, highWaterMark) : new ClearGuard(driver, highWaterMark);
}

/** What a driver gives to read a blob's stored bytes. */
export interface StoredBytes {
  /** The first stored bytes: at least `SEALED_HEADER_PROBE_BYTES` of them, or all of a shorter blob. */
  head: Uint8Array;
  /**
   * The stored size when the driver knows it (a file); otherwise the content size the driver
   * recorded (a row), from which a sealed blob's stored size follows.
   */
  size: { stored: number } | { content: number };
  /** Stored bytes `range` (inclusive, within the stored size). */
  read(range: ByteRange): AsyncIterable<Uint8Array>;
}

/** A stored blob seen as its content. */
export interface BlobContent {
  sealed: boolean;
  /** The id of the data key it is sealed with; null in clear (or when the header is damaged). */
  sealedWith: string | null;
  /** Content size (for a sealed blob whose stored size fits no content: 0, and every read fails). */
  size: number;
  /** Stored size. */
  storedSize: number;
  /**
   * Content bytes of `range` (inclusive, within `size`), or all of them when null. Throws
   * `UnreadableContentError` where sealed bytes do not open (changed, truncated, moved), and
   * `BlobKeyUnavailableError` when their key is not at hand.
   */
  read(range: ByteRange | null): AsyncIterable<Uint8Array>;
}

/**
 * A sealed blob whose data key this store does not have (no keys given, or a key id it does not
 * know): not evidence of changed bytes, so the blob is not quarantined, and every read fails.
 */
export class BlobKeyUnavailableError extends BlobStoreError {
  constructor(
    driver: string,
    readonly keyId: string,
    options?: ErrorOptions,
  ) {
    super(driver, `a blob is sealed with the data key ${keyId}, which this store does not have`, options);
    this.name = 'BlobKeyUnavailableError';
  }
}

/** Turns a driver's stored bytes into the blob's content, sealed or in clear. */
export function blobContent(driver: string, keys: BlobKeys | undefined, stored: StoredBytes): BlobContent {
  const layout = parseSealedHeader(stored.head);
  if (layout === null) {
    const size = 'stored' in stored.size ? stored.size.stored : stored.size.content;
    return {
      sealed: false,
      sealedWith: null,
      size,
      storedSize: size,
      read: (range) => (range ? stored.read(range) : size === 0 ? nothing() : stored.read({ start: 0, end: size - 1 })),
    };
  }
  if (layout === 'malformed') {
    const storedSize = 'stored' in stored.size ? stored.size.stored : stored.head.byteLength;
    const read = () => unreadable('its sealed-blob header is damaged', 0);
    return { sealed: true, sealedWith: null, size: 0, storedSize, read };
  }
  const storedSize = 'stored' in stored.size ? stored.size.stored : sealedSize(stored.size.content, layout);
  const size = 'content' in stored.size ? stored.size.content : contentSizeOf(storedSize, layout);
  if (size === null) {
    const read = () => unreadable('its sealed bytes are truncated', 0);
    return { sealed: true, sealedWith: layout.keyId, size: 0, storedSize, read };
  }
  return {
    sealed: true,
    sealedWith: layout.keyId,
    size,
    storedSize,
    read: (range) => openSegments(driver, keys, stored, layout, size, range ?? { start: 0, end: size - 1 }),
  };
}

async function* nothing(): AsyncGenerator<Uint8Array> {}

// biome-ignore lint/correctness/useYield: it only throws, as a read of the bytes it stands for would
async function* unreadable(reason: string, bytesRead: number): AsyncGenerator<Uint8Array> {
  throw new UnreadableContentError(reason, bytesRead);
}

/** Reads and opens the segments `range` covers, passing on the content of `range`. */
async function* openSegments(
  driver: string,
  keys: BlobKeys | undefined,
  stored: StoredBytes,
  layout: SealedLayout,
  size: number,
  range: ByteRange,
): AsyncGenerator<Uint8Array> {
  if (!keys) throw new BlobKeyUnavailableError(driver, layout.keyId);
  let key: BlobSealingKey;
  try {
    key = await keys.sealingKeyById(layout.keyId);
  } catch (error) {
    // No such key in the deployment, even after reading the keys again: the header names a key
    // that never sealed anything here (damaged bytes, or a blob from elsewhere) — corrupt like
    // any bytes that do not open. Any other failure (the database down) is not evidence.
    if (error instanceof SealBrokenError)
      throw new UnreadableContentError(
        `its header names the data key ${layout.keyId}, which this deployment does not have`,
        0,
      );
    throw new BlobKeyUnavailableError(driver, layout.keyId, { cause: error });
  }
  const lastIndex = segmentCount(size, layout.segmentBytes) - 1;
  const sealedSegment = layout.segmentBytes + SEGMENT_OVERHEAD;
  const first = Math.floor(range.start / layout.segmentBytes);
  // An empty blob still opens its one (empty) segment: the read proves it is intact.
  const last = Math.max(first, Math.min(Math.floor(range.end / layout.segmentBytes), lastIndex));
  const storedStart = layout.header.length + first * sealedSegment;
  const lastLength = last === lastIndex ? size - lastIndex * layout.segmentBytes : layout.segmentBytes;
  const storedEnd = layout.header.length + last * sealedSegment + lastLength + SEGMENT_OVERHEAD - 1;

  let index = first;
  let bytesRead = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  const open = function* (segment: Buffer): Generator<Uint8Array> {
    let content: Buffer;
    try {
      content = aeadOpen(key.algorithm, key.key, segment, associatedData(layout.header, index, index === lastIndex));
    } catch (error) {
      throw new UnreadableContentError(`its segment ${index} does not open`, bytesRead, { cause: error });
    }
    const segmentStart = index * layout.segmentBytes;
    const from = Math.max(range.start - segmentStart, 0);
    const to = Math.min(range.end - segmentStart + 1, content.length);
    index += 1;
    bytesRead += to - from;
    if (to > from) yield content.subarray(from, to);
  };
  for await (const chunk of stored.read({ start: storedStart, end: storedEnd })) {
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    partBytes += chunk.byteLength;
    if (partBytes < sealedSegment) continue;
    let buffered = Buffer.concat(parts, partBytes);
    while (buffered.length >= sealedSegment && index <= last) {
      yield* open(buffered.subarray(0, sealedSegment));
      buffered = buffered.subarray(sealedSegment);
    }
    parts = buffered.length > 0 ? [Buffer.from(buffered)] : [];
    partBytes = buffered.length;
  }
  if (index === last && partBytes === lastLength + SEGMENT_OVERHEAD) {
    yield* open(Buffer.concat(parts, partBytes));
  }
  if (index <= last) throw new UnreadableContentError(`its segment ${index} is missing or short`, bytesRead);
}

/** What `resealBlobs` did. */
export interface ResealReport {
  /** Blobs written again under the active key (they were in clear or under an earlier key). */
  resealed: number;
  /** Blobs under the active key already. */
  current: number;
  /** Blobs that could not be sealed again (quarantined, corrupt, key unavailable, deleted meanwhile): their names. */
  failed: string[];
}

/**
 * Seals again, under the active key, every blob of `store` that is in clear (stored while
 * protection was off) or under an earlier key: for `npm run data-keys -- reseal`. Each one is
 * read (its content checked against its name, as every read is) and put back with `rewrite`,
 * which replaces the stored copy atomically; the name, and so every reference to it, stays.
 * Running instances keep reading throughout. A blob that fails is left as it was and named.
 */
export async function resealBlobs(store: BlobStore, keys: BlobKeys): Promise<ResealReport> {
  const active = keys.activeSealingKey;
  if (!active) throw new TypeError('data protection is off (DATA_PROTECTION): there is no key to seal documents with');
  const report: ResealReport = { resealed: 0, current: 0, failed: [] };
  for await (const sha256 of store.list()) {
    try {
      const form = await store.storedForm(sha256);
      if (form === null) {
        report.failed.push(sha256); // quarantined: a put of the same document repairs it, sealed
        continue;
      }
      if (form.sealedWith === active.id) {
        report.current += 1;
        continue;
      }
      const content = await store.get(sha256);
      if (!content) continue; // deleted meanwhile
      await store.put(content, { maxBytes: Number.MAX_SAFE_INTEGER, expectedSha256: sha256, rewrite: true });
      report.resealed += 1;
    } catch {
      report.failed.push(sha256);
    }
  }
  return report;
}
