/**
 * Opens the gateway's database: embedded PGlite when no DATABASE_URL is configured, otherwise
 * PostgreSQL through the `postgres` client. Both are exposed as one drizzle `Database` type so
 * service functions never know which one they run on.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Config } from '../config.js';
import { PLANNED_EACH_TIME, preparingClient } from './preparing-client.js';
import type * as schema from './schema.js';

export type Schema = typeof schema;
// drizzle is opened without the schema: the gateway does not use its relational queries
// (`db.query.*`), and with a schema every transaction and savepoint built a query builder per
// table (a tenth of the case path's CPU, bench/README.md "Hot paths"). The types keep the schema.
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything a service function can run queries on: the database or an open transaction. */
export type Queryable = Database | Transaction;

/** `db.execute` answers an array on postgres-js and `{ rows }` on PGlite; this reads either. */
/** Turns drizzle SQL into text and parameters, for statements sent without drizzle. */
const dialect = new PgDialect();

export function rowsOf<Row>(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  if (result && typeof result === 'object' && 'rows' in result && Array.isArray(result.rows))
    return result.rows as Row[];
  return [];
}

interface DriverClient {
  unsafe?: (text: string, params: unknown[], options: Readonly<{ prepare: boolean }>) => Promise<unknown>;
  query?: (text: string, params: unknown[]) => Promise<unknown>;
}

/**
 * Runs a reporting statement (supervision figures) unnamed, so PostgreSQL plans it for its values
 * every time. A named prepared statement switches to a generic plan after five runs, and for a
 * subtree of centres (`path like $1`) that plan guesses a handful of rows and walks the heap row by
 * row (bench:centres: 0.6–1.7 s instead of 0.1 s). Runs on `on`, a database or a transaction.
 */
export async function reportRows<Row>(on: Queryable, query: SQL): Promise<Row[]> {
  const { session } = on as unknown as { session?: { client?: DriverClient } };
  const client = session?.client;
  if (!client) throw new Error('reportRows: this drizzle object has no session client (drizzle-orm changed?)');
  const { sql: text, params } = dialect.sqlToQuery(query);
  if (client.unsafe) return rowsOf<Row>(await client.unsafe(text, params, PLANNED_EACH_TIME));
  if (client.query) return rowsOf<Row>(await client.query(text, params));
  throw new Error('reportRows: unknown driver client');
}

/**
 * A transaction whose last statements go out together with its commit: `work` returns them
 * unawaited (`last`), the commit is queued behind them on the same connection, and their answers
 * are awaited after it — one round trip instead of two. Should one of them fail, the transaction
 * is aborted and its commit rolls everything back (postgres.js and PGlite both report that), and
 * the statement's own failure is what is thrown. Nothing may depend on `last` before the commit.
 *
 * Every statement of `last` must be issued before `work` returns: a reusable statement, an async
 * function that starts its statement before its first await, or a builder's `.execute()` (a drizzle
 * builder handed to `Promise.all` starts a microtask later). `last` itself may be a builder.
 */
export async function transactionEndingWith<T>(
  db: Database,
  work: (tx: Transaction) => Promise<{ last: PromiseLike<T> }>,
): Promise<T> {
  let last: Promise<T> | undefined;
  try {
    await db.transaction(async (tx) => {
      const issued = (await work(tx)).last;
      // Started now, and once: a drizzle builder runs its statement again on every `then`.
      last = new Promise<T>((resolve, reject) => {
        issued.then(resolve, reject);
      });
      last.catch(() => undefined);
    });
  } catch (error) {
    await last;
    throw error;
  }
  if (!last) throw new Error('transactionEndingWith: the work returned no statements');
  return last;
}

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** Serialises concurrent migrators of several instances starting together on one PostgreSQL. */
const MIGRATION_LOCK_KEY = 7_461_230_001;

/** Statements and idle transactions on the gateway's connections end after this (ms) unless configured. */
const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;

interface MigrationJournal {
  entries: { tag: string }[];
}

function expectedMigrationCount(): number {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as MigrationJournal;
  return journal.entries.length;
}

export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /**
   * The embedded client, for the few hot reads that bypass drizzle on PGlite: drizzle's PGlite
   * driver passes per-query type parsers, which makes PGlite copy its parser table on every
   * query (about 0.2 ms each).
   */
  pglite?: PGlite;
  /** Applies pending migrations (idempotent; safe with several instances starting at once). */
  migrate(): Promise<void>;
  /** True when the database answers and every committed migration is applied. */
  isReady(): Promise<boolean>;
  /**
   * Runs one statement as a named prepared statement (PostgreSQL parses and plans it once per
   * connection; drizzle sends its statements unnamed). For the hottest statements only: the rows
   * come back as the driver gives them (column names as written, no drizzle mapping).
   */
  prepared<Row>(query: SQL): Promise<Row[]>;
  /** `prepared` for a statement written once as text with `$1`… placeholders (nothing built per call). */
  preparedText<Row>(text: string, params: readonly unknown[]): Promise<Row[]>;
  /**
   * Calls `onNotify` for every NOTIFY on `channel` (PostgreSQL: on a connection of its own that
   * the driver re-establishes after a failure). Resolves once listening; returns the way to stop.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The first byte of a frontend message that starts a statement: Parse (extended) or Query (simple). */
const STATEMENT_START_BYTES = new Set(['P'.charCodeAt(0), 'Q'.charCodeAt(0)]);
const BIND_BYTE = 'B'.charCodeAt(0);
const SYNC_BYTE = 'S'.charCodeAt(0);
/** Work PGlite may do in one turn of the event loop before the next statement waits for another. */
const TURN_SHARE_MS = 4;
/** Parameters this large (a contract document) cost the engine tens of ms: a turn of their own. */
const LARGE_BIND_BYTES = 64 * 1024;

/**
 * PGlite that lets the event loop turn between statements. Its engine runs on the calling thread
 * and answers without I/O, so a transaction's statements and the work between them all ran in one
 * turn: publishing the largest allowed contract held it 160–230 ms (select, insert of ~1.2 MB,
 * audit, commit). A statement now starts in a new turn once the current one has worked
 * `TURN_SHARE_MS` (yielding before every statement cost ~50 % more per cheap statement), one with
 * large parameters always does, and the work on a slow statement's rows starts in a new turn too.
 * PostgreSQL's answers arrive as socket reads, so there each statement is a turn of its own anyway.
 */
function yieldingBetweenStatements(Embedded: typeof PGlite): typeof PGlite {
  return class YieldingPGlite extends Embedded {
    /** When this client last resumed from a yield: the current turn started no earlier. */
    private turnStartedAt = performance.now();

    private async nextTurn(): Promise<void> {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.turnStartedAt = performance.now();
    }

    private turnSpent(): boolean {
      return performance.now() - this.turnStartedAt > TURN_SHARE_MS;
    }

    override async execProtocolStream(
      message: Uint8Array,
      options: Parameters<PGlite['execProtocolStream']>[1],
    ): ReturnType<PGlite['execProtocolStream']> {
      const first = message[0] ?? 0;
      if (
        (STATEMENT_START_BYTES.has(first) && this.turnSpent()) ||
        (first === BIND_BYTE && message.length > LARGE_BIND_BYTES)
      )
        await this.nextTurn();
      const answer = await super.execProtocolStream(message, options);
      if (first === SYNC_BYTE && this.turnSpent()) await this.nextTurn();
      return answer;
    }
  };
}

/**
 * True when the PostgreSQL server has autovacuum off. Its planner statistics then stay as they
 * were when tables were last analyzed (bench/README.md, 2026-12-07). Embedded PGlite has no
 * autovacuum, but it plans every statement anew, from the tables' current size.
 */
export async function runsWithoutAutovacuum(handle: DatabaseHandle): Promise<boolean> {
  if (handle.kind !== 'postgres') return false;
  const [row] = await handle.preparedText<{ autovacuum: string }>(
    "select current_setting('autovacuum') as autovacuum",
    [],
  );
  return row?.autovacuum === 'off';
}

export async function openDatabase(database: Config['database']): Promise<DatabaseHandle> {
  const expectedMigrations = expectedMigrationCount();
  const isReady = async (db: Database): Promise<boolean> => {
    try {
      const result = await db.execute(sql`select count(*)::int as applied from drizzle.__drizzle_migrations`);
      const applied = Number(rowsOf<{ applied: number }>(result)[0]?.applied ?? 0);
      return applied >= expectedMigrations;
    } catch {
      return false;
    }
  };

  if (database.kind === 'pglite') {
    // Loaded only here: PGlite's WebAssembly build costs ~45 MiB of RSS in a gateway on PostgreSQL
    // that never opens it (bench:load measures RSS).
    const [{ PGlite: EmbeddedPostgres }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
    const inMemory = database.dataDir.startsWith('memory://');
    if (!inMemory) mkdirSync(database.dataDir, { recursive: true });
    const Yielding = yieldingBetweenStatements(EmbeddedPostgres);
    const client = inMemory ? new Yielding() : new Yielding(database.dataDir);
    await client.waitReady;
    const db = drizzlePglite(client) as unknown as Database;
    return {
      db,
      kind: 'pglite',
      pglite: client,
      migrate: async () => {
        await migratePglite(drizzlePglite(client), { migrationsFolder });
      },
      isReady: () => isReady(db),
      prepared: async <Row>(query: SQL) => {
        const { sql: text, params } = dialect.sqlToQuery(query);
        return (await client.query<Row>(text, params)).rows;
      },
      preparedText: async <Row>(text: string, params: readonly unknown[]) =>
        (await client.query<Row>(text, [...params])).rows,
      listen: async (channel, onNotify) => {
        const stop = await client.listen(channel, onNotify);
        return async () => {
          await stop();
        };
      },
      close: async () => {
        await client.close();
      },
    };
  }

  const client = postgres(database.url, {
    max: database.poolSize,
    // Fail fast when the server is gone instead of queueing requests behind dead connections.
    connect_timeout: 5,
    // The driver waits before each reconnect, 3^n/100 s after n failed connects (shared by the
    // pool, reset only by a successful connect) and up to 20 s: during an outage a request waited
    // that long for the wait to end before it could fail, and with the database back, requests
    // still waited out the last one (measured in test/faults/database-outage.test.ts: requests
    // took 6–20 s instead of a quick 503). Capped at half a second, with jitter.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 0.5),
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    onnotice: () => {},
    connection: {
      // JIT compilation costs 0.1–0.2 s on a supervision statement (bench:centres) and nothing a
      // gateway runs is long enough to win it back.
      jit: 'off',
      // Nothing the gateway runs takes a minute; a statement that does, or a transaction left idle,
      // is ended by the server instead of holding its connection and locks (DATABASE_STATEMENT_TIMEOUT_MS).
      statement_timeout: database.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: database.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    },
  });
  const db = drizzlePostgres(preparingClient(client)) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    migrate: async () => {
      const migrator = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        await migrator`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(migrator), { migrationsFolder });
        await migrator`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      } finally {
        await migrator.end({ timeout: 5 });
      }
    },
    isReady: () => isReady(db),
    prepared: async <Row>(query: SQL) => {
      const { sql: text, params } = dialect.sqlToQuery(query);
      return (await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      })) as unknown as Row[];
    },
    preparedText: async <Row>(text: string, params: readonly unknown[]) =>
      (await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })) as unknown as Row[],
    listen: async (channel, onNotify) => {
      const listening = await client.listen(channel, onNotify);
      return async () => {
        await listening.unlisten();
      };
    },
    close: async () => {
      await client.end({ timeout: 5 });
    },
  };
}
