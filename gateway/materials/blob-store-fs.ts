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
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  BlobMeter,
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

const DRIVER = 'filesystem blob store';

export interface FilesystemBlobStoreOptions {
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
}

const isErrno = (error: unknown, ...codes: string[]): boolean =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' && codes.includes(error.code);

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

export function createFilesystemBlobStore(options: FilesystemBlobStoreOptions): BlobStore {
  const root = options.directory;
  const temporaryDirectory = join(root, 'tmp');
  const staleMs = options.staleTemporaryFileMs ?? 24 * 60 * 60 * 1000;
  const bufferBytes = options.streamBufferBytes ?? 1024 * 1024;
  const withSm3 = checkSm3Option(DRIVER, options.sm3);
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

  const blobPath = (sha256: string): string => join(root, sha256.slice(0, 2), sha256);

  const ensureShard = async (shard: string): Promise<void> => {
    if (knownShards.has(shard)) return;
    const created = await mkdir(shard, { recursive: true, mode: 0o700 });
    if (created !== undefined) await syncDirectory(root);
    knownShards.add(shard);
  };

  /**
   * Makes the finished temporary file the blob `target`. Returns false when the blob was already
   * there. A stored file of the wrong size (damaged outside the store) is replaced.
   */
  const publish = async (temporaryPath: string, target: string, size: number): Promise<boolean> => {
    try {
      await link(temporaryPath, target);
      return true;
    } catch (error) {
      if (isErrno(error, 'EEXIST')) {
        const existing = await stat(target);
        if (existing.size === size) return false;
        await rename(temporaryPath, target);
        return true;
      }
      if (!isErrno(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK')) throw error;
    }
    // No hard links here: rename, which replaces a file a concurrent put published meanwhile
    // (same bytes, so harmless) and then reports `created` twice.
    try {
      if ((await stat(target)).size === size) return false;
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    await rename(temporaryPath, target);
    return true;
  };

  return {
    driver: DRIVER,

    async put(source: BlobSource, putOptions: PutOptions): Promise<PutResult> {
      const expected = checkPutOptions(DRIVER, putOptions);
      putOptions.signal?.throwIfAborted();
      await ensureReady();
      const temporaryPath = join(temporaryDirectory, randomUUID());
      try {
        const meter = new BlobMeter(DRIVER, putOptions.maxBytes, bufferBytes, withSm3);
        // `flush`: fsync before the stream closes its file, and pipeline waits for that close.
        const file = createWriteStream(temporaryPath, { flags: 'wx', mode: 0o600, highWaterMark: bufferBytes, flush: true });
        await pipeline(source, meter, file, putOptions.signal ? { signal: putOptions.signal } : {});
        const digest = meter.digest();
        checkExpectedDigest(DRIVER, expected, digest);
        const target = blobPath(digest.sha256);
        const shard = join(root, digest.sha256.slice(0, 2));
        await ensureShard(shard);
        const created = await publish(temporaryPath, target, digest.size);
        if (created) await syncDirectory(shard);
        return putResult(digest, created);
      } catch (error) {
        throw storeError(DRIVER, 'storing the content failed', error);
      } finally {
        // After a link the temporary name is a second name of the blob; after a rename it is
        // gone. On failure the stream may still be closing its file, which POSIX unlink allows.
        await unlink(temporaryPath).catch(() => {});
      }
    },

    async stat(sha256: string): Promise<{ size: number } | null> {
      const path = blobPath(normalizeSha256(DRIVER, sha256));
      try {
        return { size: (await stat(path)).size };
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return null;
        throw storeError(DRIVER, `reading ${path}`, error);
      }
    },

    async get(sha256: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
      const path = blobPath(normalizeSha256(DRIVER, sha256));
      let handle: FileHandle;
      try {
        // Opened now, so a delete between `get` and reading cannot pull the file away.
        handle = await open(path, 'r');
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return null;
        throw storeError(DRIVER, `opening ${path}`, error);
      }
      try {
        const { size } = await handle.stat();
        const resolved = resolveRange(DRIVER, size, range);
        if (!resolved) {
          await handle.close();
          return (async function* empty() {})();
        }
        return handle.createReadStream({ start: resolved.start, end: resolved.end, highWaterMark: bufferBytes });
      } catch (error) {
        await handle.close().catch(() => {});
        throw storeError(DRIVER, `reading ${path}`, error);
      }
    },

    async delete(sha256: string): Promise<boolean> {
      const path = blobPath(normalizeSha256(DRIVER, sha256));
      try {
        await unlink(path);
        return true;
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return false;
        throw storeError(DRIVER, `deleting ${path}`, error);
      }
    },
  };
}

/** Test and diagnostics helper: how many uploads are in progress (or were left by a crash). */
export async function countTemporaryFiles(directory: string): Promise<number> {
  try {
    return (await readdir(join(directory, 'tmp'))).length;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 0;
    throw error;
  }
}
