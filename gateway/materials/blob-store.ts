/**
 * The content store for documents applicants hand in at the window (PDF, OFD, JPEG, PNG): a
 * content-addressed blob store. A blob is named by the lower-case hex SHA-256 of its bytes, so
 * identical documents are stored once. Two drivers implement it: PostgreSQL/PGlite
 * (blob-store-postgres.ts) and a directory tree (blob-store-fs.ts); both pass the suite in
 * blob-store.conformance.ts.
 *
 * This module holds what the drivers share: the interface, the error classes, argument checks,
 * and `BlobMeter`, the stream stage that hashes, counts and limits the bytes while they flow.
 * What keeps stored bytes honest (verifying reads, quarantine, repair) is in blob-integrity.ts;
 * how they are encrypted at rest (DATA_PROTECTION), in blob-sealing.ts: a blob's name and
 * everything callers see are those of its content, sealed or not.
 */
import { createHash, getHashes, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Queryable } from '../db/client.js';

/** The default upload limit for one document (20 MiB); callers pass their own as `maxBytes`. */
export const DEFAULT_MAX_BLOB_BYTES = 20 * 1024 * 1024;

/** How many leading bytes `put` hands back for content-type sniffing. */
export const BLOB_HEAD_BYTES = 4096;

/** Whether this runtime's OpenSSL has SM3 (GB/T 32905), which `put` can compute as a second digest. */
export const SM3_SUPPORTED: boolean = getHashes().includes('sm3');

/**
 * Checks the `sm3` driver option. SM3 is opt-in: it runs at about a third of SHA-256's speed here,
 * so computing it on every upload would cap uploads well below what the network delivers.
 */
export function checkSm3Option(driver: string, sm3: boolean | undefined): boolean {
  if (sm3 && !SM3_SUPPORTED) throw new TypeError(`${driver}: sm3 was requested but this runtime's OpenSSL has no SM3`);
  return sm3 ?? false;
}

/** Input of `put`: a Node readable stream (e.g. an incoming request) or any async iterable of bytes. */
export type BlobSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export interface PutOptions {
  /** Reject the upload (with `BlobTooLargeError`) as soon as more than this many bytes arrive. */
  maxBytes: number;
  /**
   * Hex SHA-256 the client announced (e.g. taken from an RFC 9530 `Content-Digest: sha-256=:…:`
   * header and converted from base64); a different digest of the received bytes is rejected
   * with `BlobDigestMismatchError` and nothing is stored. Case-insensitive.
   */
  expectedSha256?: string;
  /** Aborts reading and storing; `put` then rejects with the signal's abort error, nothing stored. */
  signal?: AbortSignal;
  /**
   * When the content is stored intact already, write it again anyway, atomically, in the form new
   * blobs get now (sealed under the active data key): for `resealBlobs`. Reported `created: false`.
   */
  rewrite?: boolean;
}

/** How a blob's bytes are kept: `sealedWith` names the data key (blob-sealing.ts), null in clear. */
export interface StoredForm {
  sealedWith: string | null;
}

export interface PutResult {
  /** Lower-case hex SHA-256 of the bytes: the blob's name. */
  sha256: string;
  /** Lower-case hex SM3 of the bytes, when the store was created with `sm3: true`. */
  sm3?: string;
  size: number;
  /** False when these bytes were already stored intact (nothing new was written). */
  created: boolean;
  /**
   * True when the bytes replaced a stored copy that was corrupt or quarantined (a repair);
   * `created` is then true as well.
   */
  repaired: boolean;
  /** The first `BLOB_HEAD_BYTES` bytes (fewer for a shorter blob), for type sniffing. */
  head: Uint8Array;
}

/** A byte range of a blob; both ends inclusive, as in an HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStat {
  size: number;
  /** The stored bytes were found corrupt: `get` refuses them until the same content is put again. */
  quarantined: boolean;
}

/** What `verify` found. */
export type BlobCheck =
  | {
      status: 'intact';
      size: number;
      /** It was quarantined and is intact again (its bytes were restored behind the store's back); the quarantine is lifted. */
      released: boolean;
    }
  | {
      status: 'corrupt';
      /** Bytes found (for a blob with chunks missing, those that could be read). */
      size: number;
      /** SHA-256 of the bytes found; null when part of them is missing. */
      actualSha256: string | null;
      /** False when it was quarantined already, by an earlier read or check. */
      newlyQuarantined: boolean;
    }
  | { status: 'missing' };

export interface BlobStore {
  /** Names the driver; prefixes its error messages. */
  readonly driver: string;
  /**
   * Streams `source` into the store, hashing while reading. Nothing is stored when the source
   * fails, the signal aborts, the limit is exceeded or the digest does not match. Concurrent puts
   * of the same bytes all succeed and leave one copy. When the bytes are stored already, the
   * stored copy is checked (unless it was verified recently): a corrupt or quarantined copy is
   * replaced atomically (`repaired`), an intact one is left as it is.
   */
  put(source: BlobSource, options: PutOptions): Promise<PutResult>;
  /** The size of a stored blob and whether it is quarantined, or null when it is not stored. */
  stat(sha256: string): Promise<BlobStat | null>;
  /**
   * The blob's bytes (or those of `range`), or null when it is not stored. `range.end` past the
   * last byte is clamped to it; a range starting past the last byte (or with `start > end`)
   * throws `BlobRangeError`. Consume the iterable to the end or stop it (`break` in for-await):
   * the filesystem driver holds the file open until then.
   *
   * Every read is checked against the blob's SHA-256. A whole read is hashed while it streams and
   * holds back its last chunk until the digest matched: on a mismatch the iterable throws
   * `BlobCorruptError` instead of yielding it, so a consumer never receives all the bytes of a
   * corrupt blob. A range is served only from a blob verified whole since it was last written
   * (and not longer ago than the driver's `rangeVerificationMaxAgeMs`); otherwise the whole blob
   * is read and checked first. A corrupt blob is quarantined and reported (`onCorruption`); later
   * reads reject with `BlobCorruptError` at once, until the same content is put again.
   */
  get(sha256: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null>;
  /**
   * Reads the whole blob and checks its SHA-256 (bounded memory): for the scrub. A corrupt blob is
   * quarantined; a quarantined one whose bytes are intact again is released.
   */
  verify(sha256: string): Promise<BlobCheck>;
  /** The names of all stored blobs, quarantined ones included, in no particular order. */
  list(): AsyncIterable<string>;
  /**
   * Removes a blob (and a quarantined copy); false when it was not stored. For garbage collection.
   * `within`: the caller's transaction, when the removal must happen under the locks it holds; a
   * store in the database removes the rows in it (on embedded PGlite it is the only connection: a
   * statement beside it would wait for it for ever). Other stores need no transaction.
   */
  delete(sha256: string, within?: Queryable): Promise<boolean>;
  /** How a stored (not quarantined) blob is kept, or null when there is none: for `resealBlobs`. */
  storedForm(sha256: string): Promise<StoredForm | null>;
}

/** Any error of a blob store; the message starts with the driver's name. */
export class BlobStoreError extends Error {
  constructor(
    readonly driver: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${driver}: ${message}`, options);
    this.name = 'BlobStoreError';
  }
}

/** The source had more than `maxBytes` bytes. Raised as soon as the limit is passed. */
export class BlobTooLargeError extends BlobStoreError {
  constructor(
    driver: string,
    readonly maxBytes: number,
  ) {
    super(driver, `the content exceeds the limit of ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

/** The received bytes do not have the SHA-256 the client announced. */
export class BlobDigestMismatchError extends BlobStoreError {
  constructor(
    driver: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(driver, `the content's SHA-256 is ${actualSha256}, not the expected ${expectedSha256}`);
    this.name = 'BlobDigestMismatchError';
  }
}

/** A requested range lies outside the blob (HTTP 416). */
export class BlobRangeError extends BlobStoreError {
  constructor(
    driver: string,
    readonly range: ByteRange,
    readonly size: number,
  ) {
    super(driver, `the range ${range.start}-${range.end} is not satisfiable for a blob of ${size} bytes`);
    this.name = 'BlobRangeError';
  }
}

/**
 * The stored bytes of a blob do not have its SHA-256 (changed, truncated or partly missing behind
 * the store's back). The blob is quarantined: reads refuse it until the same content is put again.
 */
export class BlobCorruptError extends BlobStoreError {
  constructor(
    driver: string,
    readonly sha256: string,
    /** SHA-256 of the bytes read; null when the blob was refused as quarantined, or bytes were missing. */
    readonly actualSha256: string | null,
  ) {
    super(driver, `blob ${sha256} is corrupt and quarantined until the same content is stored again`);
    this.name = 'BlobCorruptError';
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Checks a blob name (it becomes part of file paths, so this also guards against path traversal)
 * and lower-cases it. Throws `TypeError` for anything but 64 hex digits.
 */
export function normalizeSha256(driver: string, sha256: string, what = 'blob digest'): string {
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new TypeError(`${driver}: the ${what} must be 64 hexadecimal digits (a SHA-256)`);
  }
  return sha256.toLowerCase();
}

/** Checks `put` options; returns the normalised expected digest, if any. */
export function checkPutOptions(driver: string, options: PutOptions): string | undefined {
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw new TypeError(`${driver}: maxBytes must be a non-negative integer`);
  }
  return options.expectedSha256 === undefined
    ? undefined
    : normalizeSha256(driver, options.expectedSha256, 'expected SHA-256');
}

/**
 * Resolves `range` against a blob of `size` bytes into inclusive offsets, or null when there is
 * nothing to read (an empty blob read whole).
 */
export function resolveRange(driver: string, size: number, range: ByteRange | undefined): ByteRange | null {
  if (range === undefined) return size === 0 ? null : { start: 0, end: size - 1 };
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new BlobRangeError(driver, range, size);
  }
  if (start >= size) throw new BlobRangeError(driver, range, size);
  return { start, end: Math.min(end, size - 1) };
}

/** Wraps an unexpected failure into a `BlobStoreError`; store errors and aborts pass unchanged. */
export function storeError(driver: string, action: string, error: unknown): Error {
  if (error instanceof BlobStoreError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new BlobStoreError(driver, `${action}: ${reason}`, { cause: error });
}

/** What `BlobMeter` measured once the source has ended. */
export interface BlobDigest {
  sha256: string;
  sm3?: string;
  size: number;
  head: Uint8Array;
}

/**
 * A pass-through stream stage for `put` pipelines: hashes every chunk (SHA-256, and SM3 when
 * asked for), counts the bytes and fails with `BlobTooLargeError` on the chunk that passes
 * `maxBytes`, so an oversized upload is cut off without reading the rest. Keeps the first
 * `BLOB_HEAD_BYTES` bytes. Strings are refused: they would mean a source decoded as text.
 */
export class BlobMeter extends Transform {
  private readonly sha256: Hash = createHash('sha256');
  private readonly sm3: Hash | undefined;
  private readonly head = new Uint8Array(BLOB_HEAD_BYTES);
  private headBytes = 0;
  private size = 0;

  constructor(
    private readonly driver: string,
    private readonly maxBytes: number,
    highWaterMark: number,
    withSm3: boolean,
  ) {
    super({ highWaterMark, decodeStrings: false });
    this.sm3 = withSm3 ? createHash('sm3') : undefined;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!(chunk instanceof Uint8Array)) {
      callback(new BlobStoreError(this.driver, 'the source produced text, not bytes (is an encoding set on it?)'));
      return;
    }
    this.size += chunk.byteLength;
    if (this.size > this.maxBytes) {
      callback(new BlobTooLargeError(this.driver, this.maxBytes));
      return;
    }
    this.sha256.update(chunk);
    this.sm3?.update(chunk);
    if (this.headBytes < BLOB_HEAD_BYTES) {
      // Copied: the chunk's memory may belong to a pool that the source reuses.
      const part = chunk.subarray(0, BLOB_HEAD_BYTES - this.headBytes);
      this.head.set(part, this.headBytes);
      this.headBytes += part.byteLength;
    }
    callback(null, chunk);
  }

  /** The digests; call once, after the pipeline has finished. */
  digest(): BlobDigest {
    const head = this.head.slice(0, this.headBytes);
    const result: BlobDigest = { sha256: this.sha256.digest('hex'), size: this.size, head };
    if (this.sm3) result.sm3 = this.sm3.digest('hex');
    return result;
  }
}

/** Throws `BlobDigestMismatchError` when the client announced another SHA-256. */
export function checkExpectedDigest(driver: string, expected: string | undefined, digest: BlobDigest): void {
  if (expected !== undefined && expected !== digest.sha256) {
    throw new BlobDigestMismatchError(driver, expected, digest.sha256);
  }
}

/** Builds the result of `put` from what the meter measured. */
export function putResult(digest: BlobDigest, outcome: { created: boolean; repaired: boolean }): PutResult {
  const result: PutResult = {
    sha256: digest.sha256,
    size: digest.size,
    created: outcome.created,
    repaired: outcome.repaired,
    head: digest.head,
  };
  if (digest.sm3 !== undefined) result.sm3 = digest.sm3;
  return result;
}
