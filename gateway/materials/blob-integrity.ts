/**
 * What keeps stored content honest, shared by both blob store drivers. A blob is named by the
 * SHA-256 of its bytes, so every reader can check what it reads, and the drivers do:
 *
 * - A whole read is hashed while it streams (`verifiedRead`), with no second pass: the last chunk
 *   is held back until the digest is known, so on a mismatch the consumer gets an error instead
 *   of the final bytes. An HTTP response is then cut short of its Content-Length and its
 *   connection reset: a client never receives a complete, well-terminated body of bad bytes.
 * - A byte range cannot be checked on its own. Ranges are served only from blobs that were
 *   verified whole since they were last written (`VerifiedBlobs`: a fingerprint of the stored
 *   object — inode and change time of a file, transaction ids of the rows — taken when it was
 *   verified), and not longer ago than `rangeVerificationMaxAgeMs` (bit rot changes no
 *   fingerprint). Otherwise the driver reads and checks the whole blob before serving the range.
 * - A corrupt blob is quarantined by its driver, so later reads refuse it at once
 *   (`BlobCorruptError`), and reported through `onCorruption` (the gateway logs and counts it).
 *   Putting the same content again repairs it.
 * - A sealed blob (blob-sealing.ts) is opened segment by segment while it is read: a segment that
 *   does not open (`UnreadableContentError`) is corruption like a digest that does not match,
 *   with no digest of the content to report.
 */
import { createHash } from 'node:crypto';

/** Which path found the corruption. */
export type CorruptionDetectedBy = 'read' | 'range_check' | 'upload' | 'scrub';

/** A corrupt blob, as reported to `onCorruption`. Digests and sizes only: never any content. */
export interface BlobCorruption {
  /** The blob's name: the SHA-256 its bytes should have. */
  sha256: string;
  /** SHA-256 of the bytes found; null when part of them was missing or not hashed. */
  actualSha256: string | null;
  /** How many bytes were read before the mismatch showed; 0 when the database compared them (an upload's check on the postgres store). */
  bytesRead: number;
  detectedBy: CorruptionDetectedBy;
}

/** Options both drivers take on top of their own. */
export interface BlobIntegrityOptions {
  /**
   * Called once per detection of a corrupt blob, after it was quarantined: the gateway logs it and
   * increments `onewindow_blob_corruption_total`. A hook that throws is ignored.
   */
  onCorruption?: (corruption: BlobCorruption) => void;
  /** Called when a put replaced a corrupt or quarantined copy with good bytes. A hook that throws is ignored. */
  onRepair?: (sha256: string) => void;
  /**
   * How long a blob verified by a whole read may serve byte ranges without being read whole
   * again, in milliseconds, as long as it was not rewritten since. Default 10 minutes; 0 verifies
   * the whole blob before every range.
   */
  rangeVerificationMaxAgeMs?: number;
  /** The clock of that age, in milliseconds (tests inject one). Default `Date.now`. */
  now?: () => number;
  /** How many verified blobs each store remembers (least recently verified forgotten first). Default 10 000. */
  verifiedBlobsRemembered?: number;
}

export const DEFAULT_RANGE_VERIFICATION_MAX_AGE_MS = 10 * 60 * 1000;
const DEFAULT_VERIFIED_BLOBS_REMEMBERED = 10_000;

/** The stored bytes do not yield the content: a sealed segment that does not open (changed, truncated, moved). */
export class UnreadableContentError extends Error {
  override name = 'UnreadableContentError';

  constructor(
    reason: string,
    /** Content bytes passed on before. */
    readonly bytesRead: number,
    options?: ErrorOptions,
  ) {
    super(`the stored bytes do not yield the content: ${reason}`, options);
  }
}

/** Digest and length of bytes that were read; null digest when the content could not be read to the end. */
export interface MeasuredBytes {
  sha256: string | null;
  size: number;
}

/** Hashes all of `source` without passing it on: the check before a range, and the scrub. */
export async function measure(source: AsyncIterable<Uint8Array>): Promise<MeasuredBytes> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
  } catch (error) {
    if (error instanceof UnreadableContentError) return { sha256: null, size };
    throw error;
  }
  return { sha256: hash.digest('hex'), size };
}

export interface ReadOutcome {
  /** The bytes had the expected digest; called before the last chunk is passed on. */
  intact(): void;
  /** They had not: quarantine and report, and answer the error the read then throws. */
  corrupt(measured: MeasuredBytes): Promise<Error>;
}

/**
 * Passes `source` on while hashing it, holding back the last chunk until the digest is known:
 * the consumer receives the last chunk only if the whole matched `expectedSha256`, and otherwise
 * the error `outcome.corrupt` answers. A consumer that stops early stops the source too.
 */
export async function* verifiedRead(
  source: AsyncIterable<Uint8Array>,
  expectedSha256: string,
  outcome: ReadOutcome,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  let held: Uint8Array | undefined;
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.byteLength;
      if (held) yield held;
      held = chunk;
    }
  } catch (error) {
    if (error instanceof UnreadableContentError) throw await outcome.corrupt({ sha256: null, size });
    throw error;
  }
  const actual = hash.digest('hex');
  if (actual !== expectedSha256) throw await outcome.corrupt({ sha256: actual, size });
  outcome.intact();
  if (held) yield held;
}

/**
 * The blobs this store verified whole, each with the fingerprint the stored object had then and
 * when: the license to serve ranges without reading the whole blob again. Per process, bounded.
 */
export class VerifiedBlobs {
  private readonly entries = new Map<string, { fingerprint: string; at: number }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number,
    private readonly capacity: number,
  ) {}

  /** Whether `sha256` was verified while it had this fingerprint, within the maximum age. */
  recent(sha256: string, fingerprint: string): boolean {
    const entry = this.entries.get(sha256);
    if (!entry) return false;
    const age = this.now() - entry.at;
    // A clock that went backwards proves nothing either.
    if (entry.fingerprint === fingerprint && age >= 0 && age < this.maxAgeMs) return true;
    this.entries.delete(sha256);
    return false;
  }

  record(sha256: string, fingerprint: string): void {
    if (this.maxAgeMs <= 0) return;
    this.entries.delete(sha256);
    this.entries.set(sha256, { fingerprint, at: this.now() });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  forget(sha256: string): void {
    this.entries.delete(sha256);
  }
}

/** What a driver builds from `BlobIntegrityOptions`. */
export interface BlobIntegrity {
  verified: VerifiedBlobs;
  reportCorruption(corruption: BlobCorruption): void;
  reportRepair(sha256: string): void;
}

export function blobIntegrity(driver: string, options: BlobIntegrityOptions): BlobIntegrity {
  const maxAgeMs = options.rangeVerificationMaxAgeMs ?? DEFAULT_RANGE_VERIFICATION_MAX_AGE_MS;
  if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 0) {
    throw new TypeError(`${driver}: rangeVerificationMaxAgeMs must be a non-negative integer`);
  }
  const remembered = options.verifiedBlobsRemembered ?? DEFAULT_VERIFIED_BLOBS_REMEMBERED;
  if (!Number.isSafeInteger(remembered) || remembered < 1) {
    throw new TypeError(`${driver}: verifiedBlobsRemembered must be a positive integer`);
  }
  const { onCorruption, onRepair } = options;
  return {
    verified: new VerifiedBlobs(maxAgeMs, options.now ?? Date.now, remembered),
    // A failing hook (a logger, a metric) must not turn a refused read into another failure.
    reportCorruption(corruption) {
      try {
        onCorruption?.(corruption);
      } catch {
        // ignored, see above
      }
    },
    reportRepair(sha256) {
      try {
        onRepair?.(sha256);
      } catch {
        // ignored, see above
      }
    },
  };
}
