/**
 * The filesystem driver of the content store. Layout under `directory`:
 *
 *   <directory>/<first two hex digits>/<sha256>   stored blobs (immutable once there)
 *   <directory>/tmp/<random uuid>                 uploads in progress
 *
 * `put` streams the source through the meter into a temporary file (node streams with 1 MiB
 * buffers, not web streams), fsyncs it, and then publishes it under its digest with `link`,
 * which fails atomically when the name exists: so of several concurrent puts of the same bytes
 * exactly one reports `created`, the others drop their temporary file, and the blob is never
 * visible half-written. (`rename`, the classic way, silently replaces an existing file, so two
 * racing puts would both report `created`; it remains the fallback on filesystems without hard
 * links.) The directory entry is then fsynced. Temporary files are removed on every failure, and
 * ones left over by a crash are swept at first use.
 *
 * Integrity (see blob-integrity.ts): reads are checked against the name. A corrupt blob is moved
 * to `<directory>/quarantine/<sha256>` (kept for inspection; `get` then refuses it, and `put` of
 * the same bytes publishes a good copy again and removes it). Before moving it, the file at the
 * blob's name is compared (device and inode) with the one that was read, so a copy a concurrent
 * put just repaired is left alone. When `put` finds the bytes stored already, it checks the stored
 * file (unless it was verified recently) and replaces a corrupt one by `rename`, atomically. The
 * fingerprint that lets a verified file serve ranges is device, inode, size, mtime and ctime: any
 * write or replacement changes it, and nobody can set a ctime back.
 *
 * Encryption at rest (blob-sealing.ts): with `keys` whose sealing key is active, the file holds
 * the sealed form of the content; reads open it, files in clear (written while protection was
 * off) read as they are.
 */
import { randomUUID } from 'node:crypto';
import { type BigIntStats, type WriteStream, createWriteStream } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type BlobIntegrityOptions,
  type CorruptionDetectedBy,
  type MeasuredBytes,
  blobIntegrity,
  measure,
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

const DRIVER = 'filesystem blob store';

export interface FilesystemBlobStoreOptions extends BlobIntegrityOptions {
  /**
   * Root directory of the store; created (mode 0700) when missing. Must be one filesystem
   * throughout: uploads are published by hard link (or rename) from its `tmp` subdirectory.
   * Several gateway instances may share it.
   */
  directory: string;
  /**
   * Temporary files older than this are deleted at first use of the store: leftovers of a crash
   * mid-upload, which may hold personal data. Default 24 hours; 0 disables the sweep. Keep it
   * well above the longest upload when instances share the directory.
   */
  staleTemporaryFileMs?: number;
  /** Also compute the SM3 (GB/T 32905) digest of every upload. Default false (it costs a third of the upload speed). */
  sm3?: boolean;
  /** Buffer size of the file streams (their highWaterMark) in bytes. Default 1 MiB. */
  streamBufferBytes?: number;
  /** Data keys: new blobs are sealed with the active one; sealed blobs are opened with theirs. */
  keys?: BlobKeys;
}

const isErrno = (error: unknown, ...codes: string[]): boolean =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' && codes.includes(error.code);

const BLOB_NAME = /^[0-9a-f]{64}$/;
const SHARD_NAME = /^[0-9a-f]{2}$/;

/** fsync on a directory makes entries created in it durable. Not possible on every platform. */
async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    if (!isErrno(error, 'EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EBADF')) throw error;
  } finally {
    await handle?.close();
  }
}

/** Identifies the stored file as it is now: a replacement changes the inode, a write the ctime. */
function fingerprintOf(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

/**
 * Bytes `range` of the file behind `handle`, by positional reads of `bufferBytes` (fewer when the
 * file is shorter). The handle stays open: several reads may follow, and `closing` closes it.
 */
async function* fileRange(handle: FileHandle, range: ByteRange, bufferBytes: number): AsyncGenerator<Uint8Array> {
  let position = range.start;
  while (position <= range.end) {
    const length = Math.min(bufferBytes, range.end - position + 1);
    const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(length), 0, length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** Passes `source` on and closes `handle` once it is read, failed or given up. */
async function* closing(source: AsyncIterable<Uint8Array>, handle: FileHandle): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Opens a file for reading; null when it does not exist. */
async function openIfPresent(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
}

/** Removes a file; false when it did not exist. */
async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

async function namesIn(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}

export function createFilesystemBlobStore(options: FilesystemBlobStoreOptions): BlobStore {
  const root = options.directory;
  const temporaryDirectory = join(root, 'tmp');
  const quarantineDirectory = join(root, 'quarantine');
  const staleMs = options.staleTemporaryFileMs ?? 24 * 60 * 60 * 1000;
  const bufferBytes = options.streamBufferBytes ?? 1024 * 1024;
  const withSm3 = checkSm3Option(DRIVER, options.sm3);
  const integrity = blobIntegrity(DRIVER, options);
  const { verified } = integrity;
  const { keys } = options;

  /** The content of the file behind `handle`, `storedSize` bytes long: sealed or in clear. */
  const contentOf = async (handle: FileHandle, storedSize: number): Promise<BlobContent> => {
    const probe = Math.min(SEALED_HEADER_PROBE_BYTES, storedSize);
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(probe), 0, probe, 0);
    return blobContent(DRIVER, keys, {
      head: buffer.subarray(0, bytesRead),
      size: { stored: storedSize },
      read: (range) => fileRange(handle, range, bufferBytes),
    });
  };

  /** Hashes the whole content of the file behind `handle`: null digest when sealed bytes do not open. */
  const measureFile = async (handle: FileHandle): Promise<MeasuredBytes> => {
    const { size } = await handle.stat();
    return measure((await contentOf(handle, size)).read(null));
  };

  /** The content size of the file at `path`. */
  const contentSizeAt = async (path: string): Promise<number> => {
    const handle = await open(path, 'r');
    try {
      return (await contentOf(handle, (await handle.stat()).size)).size;
    } finally {
      await handle.close();
    }
  };
  /** Shard directories known to exist, to skip a mkdir per upload. */
  const knownShards = new Set<string>();
  let ready: Promise<void> | undefined;

  const sweepTemporaryFiles = async (): Promise<void> => {
    if (staleMs <= 0) return;
    const cutoff = Date.now() - staleMs;
    for (const name of await readdir(temporaryDirectory)) {
      const path = join(temporaryDirectory, name);
      try {
        if ((await stat(path)).mtimeMs < cutoff) await rm(path, { force: true });
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
  };

  const ensureReady = (): Promise<void> => {
    ready ??= (async () => {
      await mkdir(temporaryDirectory, { recursive: true, mode: 0o700 });
      await sweepTemporaryFiles();
    })().catch((error: unknown) => {
      ready = undefined; // retry on the next call
      throw storeError(DRIVER, `preparing ${root}`, error);
    });
    return ready;
  };

  const shardOf = (sha256: string): string => join(root, sha256.slice(0, 2));
  const blobPath = (sha256: string): string => join(shardOf(sha256), sha256);
  const quarantinePath = (sha256: string): string => join(quarantineDirectory, sha256);

  const ensureShard = async (shard: string): Promise<void> => {
    if (knownShards.has(shard)) return;
    const created = await mkdir(shard, { recursive: true, mode: 0o700 });
    if (created !== undefined) await syncDirectory(root);
    knownShards.add(shard);
  };

  /**
   * Moves a corrupt blob into quarantine, if the file at its name is still the one that was read
   * (a concurrent put may have replaced it with good bytes meanwhile). True when this call moved it.
   */
  const quarantine = async (sha256: string, read: BigIntStats): Promise<boolean> => {
    verified.forget(sha256);
    try {
      const current = await stat(blobPath(sha256), { bigint: true });
      if (current.dev !== read.dev || current.ino !== read.ino) return false;
      await mkdir(quarantineDirectory, { recursive: true, mode: 0o700 });
      await rename(blobPath(sha256), quarantinePath(sha256));
      await syncDirectory(shardOf(sha256));
      return true;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  };

  /** Quarantines and reports a corrupt blob; answers the error its reader gets. */
  const corruptFound = async (
    sha256: string,
    read: BigIntStats,
    measured: MeasuredBytes,
    detectedBy: CorruptionDetectedBy,
  ): Promise<BlobCorruptError> => {
    // The read is refused either way; a blob that could not be moved is found again by the next one.
    await quarantine(sha256, read).catch(() => false);
    integrity.reportCorruption({ sha256, actualSha256: measured.sha256, bytesRead: measured.size, detectedBy });
    return new BlobCorruptError(DRIVER, sha256, measured.sha256);
  };

  /**
   * The state of the stored copy of `sha256`, checked by hashing it unless it was verified
   * recently. A corrupt copy is reported (it is about to be replaced, so it is not quarantined).
   */
  const checkStored = async (sha256: string): Promise<'intact' | 'corrupt' | 'missing'> => {
    const handle = await openIfPresent(blobPath(sha256));
    if (!handle) return 'missing';
    try {
      const info = await handle.stat({ bigint: true });
      const fingerprint = fingerprintOf(info);
      if (verified.recent(sha256, fingerprint)) return 'intact';
      const measured = await measureFile(handle);
      if (measured.sha256 === sha256) {
        verified.record(sha256, fingerprint);
        return 'intact';
      }
      verified.forget(sha256);
      integrity.reportCorruption({
        sha256,
        actualSha256: measured.sha256,
        bytesRead: measured.size,
        detectedBy: 'upload',
      });
      return 'corrupt';
    } finally {
      await handle.close();
    }
  };

  /**
   * Makes the finished temporary file the blob `sha256`: `created` false when an intact copy was
   * there already; `repaired` when it replaced a corrupt or quarantined one; `rewritten` when
   * `rewrite` replaced an intact one.
   */
  const publish = async (
    temporaryPath: string,
    sha256: string,
    rewrite: boolean,
  ): Promise<{ created: boolean; repaired: boolean; rewritten?: boolean }> => {
    const target = blobPath(sha256);
    try {
      await link(temporaryPath, target);
      return { created: true, repaired: await unlinkIfPresent(quarantinePath(sha256)) };
    } catch (error) {
      if (isErrno(error, 'EEXIST')) {
        if ((await checkStored(sha256)) === 'intact') {
          if (!rewrite) return { created: false, repaired: false };
          await rename(temporaryPath, target);
          return { created: false, repaired: false, rewritten: true };
        }
        await rename(temporaryPath, target);
        await unlinkIfPresent(quarantinePath(sha256));
        return { created: true, repaired: true };
      }
      if (!isErrno(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK')) throw error;
    }
    // No hard links here: rename, which replaces a file a concurrent put published meanwhile
    // (same bytes, so harmless) and then reports `created` twice.
    const stored = await checkStored(sha256);
    if (stored === 'intact' && !rewrite) return { created: false, repaired: false };
    if (stored === 'intact') {
      await rename(temporaryPath, target);
      return { created: false, repaired: false, rewritten: true };
    }
    await rename(temporaryPath, target);
    const wasQuarantined = await unlinkIfPresent(quarantinePath(sha256));
    return { created: true, repaired: stored === 'corrupt' || wasQuarantined };
  };

  /** `verify` of a blob that is not at its name: quarantined, or missing. */
  const verifyQuarantined = async (sha256: string): Promise<BlobCheck> => {
    const handle = await openIfPresent(quarantinePath(sha256));
    if (!handle) return { status: 'missing' };
    let measured: MeasuredBytes;
    try {
      measured = await measureFile(handle);
    } finally {
      await handle.close();
    }
    if (measured.sha256 !== sha256)
      return { status: 'corrupt', size: measured.size, actualSha256: measured.sha256, newlyQuarantined: false };
    // Intact after all (restored in place by an operator, or a read that raced a repair): put it back.
    await ensureShard(shardOf(sha256));
    try {
      await link(quarantinePath(sha256), blobPath(sha256));
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    await unlinkIfPresent(quarantinePath(sha256));
    return { status: 'intact', size: measured.size, released: true };
  };

  return {
    driver: DRIVER,

    async put(source: BlobSource, putOptions: PutOptions): Promise<PutResult> {
      const expected = checkPutOptions(DRIVER, putOptions);
      putOptions.signal?.throwIfAborted();
      await ensureReady();
      const temporaryPath = join(temporaryDirectory, randomUUID());
      let file: WriteStream | undefined;
      try {
        const meter = new BlobMeter(DRIVER, putOptions.maxBytes, bufferBytes, withSm3);
        // `flush`: fsync before the stream closes its file, and pipeline waits for that close.
        file = createWriteStream(temporaryPath, { flags: 'wx', mode: 0o600, highWaterMark: bufferBytes, flush: true });
        const stage = storedBytesStage(DRIVER, keys?.activeSealingKey, bufferBytes);
        await pipeline(source, meter, stage, file, putOptions.signal ? { signal: putOptions.signal } : {});
        const digest = meter.digest();
        checkExpectedDigest(DRIVER, expected, digest);
        await ensureShard(shardOf(digest.sha256));
        const outcome = await publish(temporaryPath, digest.sha256, putOptions.rewrite ?? false);
        if (outcome.created || outcome.rewritten) {
          await syncDirectory(shardOf(digest.sha256));
          // Written from bytes hashed on their way in: as good as verified.
          verified.record(digest.sha256, fingerprintOf(await stat(blobPath(digest.sha256), { bigint: true })));
          if (outcome.repaired) integrity.reportRepair(digest.sha256);
        }
        return putResult(digest, { created: outcome.created, repaired: outcome.repaired });
      } catch (error) {
        throw storeError(DRIVER, 'storing the content failed', error);
      } finally {
        // A failure can come before the stream has even created its file (the open is still
        // under way): wait until it is closed, or the unlink would miss a file created after it.
        if (file && !file.closed) await new Promise<void>((resolve) => file?.once('close', () => resolve()));
        // After a link the temporary name is a second name of the blob; after a rename it is gone.
        await unlink(temporaryPath).catch(() => {});
      }
    },

    async stat(sha256: string): Promise<BlobStat | null> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        for (const [path, quarantined] of [
          [blobPath(name), false],
          [quarantinePath(name), true],
        ] as const) {
          try {
            return { size: await contentSizeAt(path), quarantined };
          } catch (error) {
            if (!isErrno(error, 'ENOENT')) throw error;
          }
        }
        return null;
      } catch (error) {
        throw storeError(DRIVER, `reading ${blobPath(name)}`, error);
      }
    },

    async get(sha256: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
      const name = normalizeSha256(DRIVER, sha256);
      const path = blobPath(name);
      let handle: FileHandle | null;
      try {
        // Opened now, so a delete between `get` and reading cannot pull the file away.
        handle = await openIfPresent(path);
        if (
          !handle &&
          (await stat(quarantinePath(name)).then(
            () => true,
            () => false,
          ))
        ) {
          throw new BlobCorruptError(DRIVER, name, null);
        }
      } catch (error) {
        throw storeError(DRIVER, `opening ${path}`, error);
      }
      if (!handle) return null;
      const file = handle;
      try {
        const info = await file.stat({ bigint: true });
        const fingerprint = fingerprintOf(info);
        // The size at open, exactly: a read past it would cost a buffer and a round trip per
        // download; bytes appended before the open are in the size and fail the digest.
        const content = await contentOf(file, Number(info.size));
        if (range === undefined) {
          const bytes = verifiedRead(content.read(null), name, {
            intact: () => verified.record(name, fingerprint),
            corrupt: (measured) => corruptFound(name, info, measured, 'read'),
          });
          return closing(bytes, file);
        }
        if (!verified.recent(name, fingerprint)) {
          const measured = await measure(content.read(null));
          if (measured.sha256 !== name) throw await corruptFound(name, info, measured, 'range_check');
          verified.record(name, fingerprint);
        }
        return closing(content.read(resolveRange(DRIVER, content.size, range)), file);
      } catch (error) {
        await file.close().catch(() => {});
        throw storeError(DRIVER, `reading ${path}`, error);
      }
    },

    async verify(sha256: string): Promise<BlobCheck> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        const handle = await openIfPresent(blobPath(name));
        if (!handle) return await verifyQuarantined(name);
        let info: BigIntStats;
        let measured: MeasuredBytes;
        try {
          info = await handle.stat({ bigint: true });
          measured = await measureFile(handle);
        } finally {
          await handle.close();
        }
        if (measured.sha256 === name) {
          verified.record(name, fingerprintOf(info));
          // A quarantined copy beside an intact file: the file was restored in place.
          return { status: 'intact', size: measured.size, released: await unlinkIfPresent(quarantinePath(name)) };
        }
        const moved = await quarantine(name, info);
        integrity.reportCorruption({
          sha256: name,
          actualSha256: measured.sha256,
          bytesRead: measured.size,
          detectedBy: 'scrub',
        });
        return { status: 'corrupt', size: measured.size, actualSha256: measured.sha256, newlyQuarantined: moved };
      } catch (error) {
        throw storeError(DRIVER, `verifying ${blobPath(name)}`, error);
      }
    },

    async *list(): AsyncGenerator<string> {
      try {
        // Quarantined blobs are listed as they were at the start, each once: a consumer that
        // verifies what it is given moves files into quarantine while this runs.
        const quarantined = new Set((await namesIn(quarantineDirectory)).filter((name) => BLOB_NAME.test(name)));
        for (const shard of await namesIn(root)) {
          if (!SHARD_NAME.test(shard)) continue;
          for (const name of await namesIn(join(root, shard))) {
            if (!BLOB_NAME.test(name) || !name.startsWith(shard)) continue;
            quarantined.delete(name);
            yield name;
          }
        }
        yield* quarantined;
      } catch (error) {
        throw storeError(DRIVER, `listing ${root}`, error);
      }
    },

    async storedForm(sha256: string): Promise<StoredForm | null> {
      const name = normalizeSha256(DRIVER, sha256);
      try {
        const handle = await openIfPresent(blobPath(name));
        if (!handle) return null;
        try {
          return { sealedWith: (await contentOf(handle, (await handle.stat()).size)).sealedWith };
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw storeError(DRIVER, `reading ${blobPath(name)}`, error);
      }
    },

    async delete(sha256: string): Promise<boolean> {
      const name = normalizeSha256(DRIVER, sha256);
      verified.forget(name);
      try {
        const deleted = await unlinkIfPresent(blobPath(name));
        const quarantined = await unlinkIfPresent(quarantinePath(name));
        return deleted || quarantined;
      } catch (error) {
        throw storeError(DRIVER, `deleting ${blobPath(name)}`, error);
      }
    },
  };
}

/** Test and diagnostics helper: how many uploads are in progress (or were left by a crash). */
export async function countTemporaryFiles(directory: string): Promise<number> {
  return (await namesIn(join(directory, 'tmp'))).length;
}
