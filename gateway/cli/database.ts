/**
 * What the offline commands (`audit:verify`, `blobs:scrub`) share: a plain usage error, where the
 * database is (without credentials), the root cause of a driver error, and opening the configured
 * database only when it exists and is migrated.
 */
import { existsSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';

/** An error that ends a command with exit code 2 and a plain message, no stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** True for a bad command line: point at --help. */
    readonly badArguments = false,
  ) {
    super(message);
  }
}

/** Where the database is, without credentials. */
export function describeDatabase(database: Config['database']): string {
  if (database.kind === 'pglite') return `PGlite at ${database.dataDir}`;
  try {
    const url = new URL(database.url);
    return `PostgreSQL at ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** The innermost cause's message: drizzle wraps driver errors as "Failed query: ...". */
export function rootMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  if (current instanceof Error) {
    const code = (current as Error & { code?: unknown }).code;
    return current.message || (typeof code === 'string' ? code : current.name);
  }
  return String(current);
}

/**
 * Opens the configured database for a command that reads what a gateway wrote. `nothingToRead`
 * completes "an in-memory database has …" for PGLITE_DATA_DIR=memory://.
 */
export async function openMigratedDatabase(config: Config, nothingToRead: string): Promise<DatabaseHandle> {
  const database = config.database;
  if (database.kind === 'pglite') {
    if (database.dataDir.startsWith('memory://')) {
      throw new UsageError(`PGLITE_DATA_DIR is memory://: an in-memory database has ${nothingToRead}`);
    }
    // openDatabase would create an empty database in a folder that does not exist yet.
    if (!existsSync(database.dataDir)) {
      throw new UsageError(
        `no PGlite database at ${database.dataDir} (set PGLITE_DATA_DIR, or DATABASE_URL for PostgreSQL)`,
      );
    }
  }
  const handle = await openDatabase(database);
  try {
    try {
      await handle.db.execute(sql`select 1`);
    } catch (error) {
      throw new UsageError(`cannot reach the database (${describeDatabase(database)}): ${rootMessage(error)}`);
    }
    if (!(await handle.isReady())) {
      throw new UsageError(
        `the database (${describeDatabase(database)}) is not migrated to this version: start the gateway once to apply its migrations`,
      );
    }
    return handle;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs an offline command's `run` and sets the exit code: what it returns, or `usageExitCode` when
 * it failed — a usage error as itself (with a pointer to --help for bad arguments), anything else
 * as "<what> failed" with its root cause.
 */
export function runCommand(name: string, what: string, run: () => Promise<number>, usageExitCode: number): void {
  run().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${name}: ${error.message}\n`);
        if (error.badArguments) process.stderr.write('Run with --help for usage.\n');
      } else {
        process.stderr.write(`${name}: ${what} failed: ${rootMessage(error)}\n`);
      }
      process.exitCode = usageExitCode;
    },
  );
}
