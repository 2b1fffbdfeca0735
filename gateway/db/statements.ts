/**
 * Statements of the hot paths, built by drizzle once instead of on every request.
 *
 * drizzle turns a query builder into SQL text on every execution; on the case submission path
 * that was about a fifth of the gateway's CPU (bench:cases profile, bench/README.md). A reusable
 * statement is built once with `sql.placeholder(...)` for its inputs and then only filled in.
 * drizzle ties a prepared query to the session it was built on, so each run binds it to the
 * client of the database or transaction it is given: inside a transaction it runs in that
 * transaction (checked by statements.test.ts on both drivers).
 */
import { getTableColumns, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { type Queryable, rowsOf } from './client.js';

/** What drizzle's `.prepare(name)` returns, on either driver. */
interface PreparedQuery<Result> {
  execute(values?: Record<string, unknown>): Promise<Result>;
}

/** drizzle's database and transaction objects hold their driver's client on their session. */
interface WithSession {
  session: { client: unknown };
}

function clientOf(on: Queryable): unknown {
  const { session } = on as unknown as Partial<WithSession>;
  if (!session || session.client === undefined)
    throw new Error('reusable statement: this drizzle object has no session client (drizzle-orm changed?)');
  return session.client;
}

/**
 * A statement built on first use and run with `run(on, values)` on `on` (the database or an open
 * transaction). `build` must use `sql.placeholder(name)` for every input and end with `.prepare(name)`.
 */
export function reusableStatement<Values extends Record<string, unknown>, Result>(
  build: (on: Queryable) => PreparedQuery<Result>,
): (on: Queryable, values: Values) => Promise<Result> {
  let built: (PreparedQuery<Result> & { client: unknown }) | undefined;
  return (on, values) => {
    built ??= build(on) as PreparedQuery<Result> & { client: unknown };
    // The built query's fields and text are shared; only the client is this run's.
    const bound = Object.create(built) as PreparedQuery<Result> & { client: unknown };
    bound.client = clientOf(on);
    return bound.execute(values);
  };
}

interface TextClient {
  /** postgres.js (the preparing client: a named prepared statement). */
  unsafe?: (text: string, params: unknown[]) => PromiseLike<unknown>;
  /** PGlite. */
  query?: (text: string, params: unknown[]) => Promise<unknown>;
}

/**
 * A statement written as text with `$1`… placeholders, run on `on` (the database or an open
 * transaction) as a prepared statement, for what drizzle's builders cannot say (a select without
 * a table). The rows come as the driver gives them: name the columns with `as "camelCase"`.
 */
export function textStatement<Params extends readonly unknown[], Row>(
  text: string,
): (on: Queryable, params: Params) => Promise<Row[]> {
  return async (on, params) => {
    const client = clientOf(on) as TextClient;
    if (client.unsafe) return rowsOf<Row>(await client.unsafe(text, [...params]));
    if (client.query) return rowsOf<Row>(await client.query(text, [...params]));
    throw new Error('text statement: unknown driver client');
  };
}

/**
 * A placeholder where drizzle's types want the column's value (`update().set()`, `onConflictDoUpdate`):
 * at run time drizzle wraps it with the column's encoder like any value (jsonb, timestamps).
 */
export const valuePlaceholder = <Value>(name: string): Value => sql.placeholder(name) as unknown as Value;

/**
 * Reads rows of `table` as PostgreSQL names their columns — a text statement's columns, or a row
 * turned into JSON (`to_json(t)`, `json_agg(t)`) — into the objects drizzle's select gives, each
 * value through its column's decoder as drizzle's own mapping does (timestamps, sealed JSON). A
 * JSON column's value inside a JSON row is already parsed: a string there is passed on as the JSON
 * text of that string, so the decoder parses it back to what it was.
 */
export function tableRowReader<Table extends PgTable>(table: Table): (raw: unknown) => Table['$inferSelect'] {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    name: column.name,
    column,
    isJson: column.getSQLType() === 'json' || column.getSQLType() === 'jsonb',
  }));
  return (raw) => {
    const source = raw as Record<string, unknown>;
    const row: Record<string, unknown> = {};
    for (const { key, name, column, isJson } of columns) {
      const value = source[name];
      row[key] =
        value === null || value === undefined
          ? null
          : column.mapFromDriverValue(isJson && typeof value === 'string' ? JSON.stringify(value) : value);
    }
    return row as Table['$inferSelect'];
  };
}
