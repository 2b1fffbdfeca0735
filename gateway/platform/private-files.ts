/**
 * Files only the gateway's own user may read: private keys kept outside the database. They are
 * created atomically with mode 0600 in a 0700 folder (several instances starting at once on one
 * shared folder end up with the same file), and an existing one whose mode lets the group or
 * others in is refused rather than used: a key anyone on the host can read protects nothing.
 * A symbolic link is followed (mounted secrets are links) and its target is what is checked.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A private file that is missing, unsafe or unreadable; the message says what to do. */
export class PrivateFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PrivateFileError';
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}

/** Permission bits are meaningless on Windows; everywhere else they are the whole protection. */
const checksPermissions = process.platform !== 'win32';

/**
 * The contents of the private file at `path`, or undefined when there is none. Throws a
 * PrivateFileError when it is not a regular file or the group or others may access it.
 */
export async function readPrivateFile(path: string, what: string): Promise<string | undefined> {
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new PrivateFileError(
      `cannot read ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (!stats.isFile()) throw new PrivateFileError(`${what} ${path} is not a regular file`);
  if (checksPermissions && (stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new PrivateFileError(
      `${what} ${path} can be accessed by other users (mode ${mode}); allow its owner only: chmod 600 ${path}`,
    );
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new PrivateFileError(
      `cannot read ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Creates `path` with `contents` (mode 0600) unless it exists. The file appears complete or not
 * at all: it is written under a temporary name and linked into place, which fails if another
 * process got there first. Answers the contents now at `path`: ours, or the other process's.
 */
async function createPrivateFile(path: string, contents: string, what: string): Promise<string> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temporary = join(folder, `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(contents, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // The umask may have narrowed the mode further; never widened it. Make it exact.
    await chmod(temporary, 0o600);
    await link(temporary, path);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST')
      throw new PrivateFileError(
        `cannot create ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const written = await readPrivateFile(path, what);
  if (written === undefined) throw new PrivateFileError(`${what} ${path} vanished while it was being created`);
  return written;
}

/** The private file at `path`; created from `generate()` first when there is none. */
export async function readOrCreatePrivateFile(
  path: string,
  what: string,
  generate: () => Promise<string>,
): Promise<{ contents: string; created: boolean }> {
  const existing = await readPrivateFile(path, what);
  if (existing !== undefined) return { contents: existing, created: false };
  const generated = await generate();
  const contents = await createPrivateFile(path, generated, what);
  return { contents, created: contents === generated };
}
