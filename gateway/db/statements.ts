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
import { Column, DrizzleQueryError, Param, Placeholder, SQL, Subquery, getTableColumns, is, sql } from 'drizzle-orm';
import * as drizzleOrm from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { PostgresJsPreparedQuery } from 'drizzle-orm/postgres-js';
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
  let direct: DirectStatement | undefined | null;
  return (on, values) => {
    built ??= build(on) as PreparedQuery<Result> & { client: unknown };
    if (direct === undefined) direct = directStatement(built);
    if (direct) return direct.run(clientOf(on) as DirectClient, values) as Promise<Result>;
    // The built query's fields and text are shared; only the client is this run's.
    const bound = Object.create(built) as PreparedQuery<Result> & { client: unknown };
    bound.client = clientOf(on);
    return bound.execute(values);
  };
}

/** What drizzle's postgres-js prepared query holds (internal fields, pinned by statements.test.ts). */
interface PostgresJsQueryInternals {
  queryString: string;
  params: unknown[];
  fields?: { path: string[]; field: unknown }[];
  joinsNotNullableMap?: Record<string, boolean>;
  customResultMapper?: unknown;
  prepare: boolean;
}

interface DirectClient {
  unsafe(
    text: string,
    params: unknown[],
    options: { prepare: boolean },
  ): PromiseLike<unknown> & { values(): PromiseLike<unknown[][]> };
}

interface DirectStatement {
  run(client: DirectClient, values: Record<string, unknown>): Promise<unknown>;
}

interface ColumnDecoder {
  mapFromDriverValue(value: unknown): unknown;
}

/** drizzle's own row mapping (exported, though marked internal in its types). */
const { mapResultRow } = drizzleOrm as unknown as {
  mapResultRow: (
    fields: { path: string[]; field: unknown }[],
    row: unknown[],
    joinsNotNullableMap: Record<string, boolean> | undefined,
  ) => unknown;
};

/**
 * A drizzle statement on postgres.js run as its text with the driver's values filled and the rows
 * mapped by steps worked out once: drizzle's `execute` checks every parameter and every column's
 * kind (`is()`), and goes through its tracing and cache wrappers, on every run (bench:cases
 * profile: drizzle ~9 % of the gateway's busy time on the case path). Same text, parameters,
 * decoders and errors (`DrizzleQueryError` with the driver's error as its cause) as drizzle's; null
 * (drizzle's own `execute` then) for PGlite and for a query with its own result mapper.
 */
function directStatement(query: unknown): DirectStatement | null {
  if (!is(query, PostgresJsPreparedQuery)) return null;
  const internals = query as unknown as PostgresJsQueryInternals;
  if (internals.customResultMapper) return null;
  const { queryString, prepare, fields, joinsNotNullableMap } = internals;
  const options = { prepare };
  // Each parameter: a value of the text, a placeholder's value as given, or encoded by its column.
  const fillers = internals.params.map((param): ((values: Record<string, unknown>) => unknown) => {
    if (is(param, Placeholder)) return (values) => placeholderValue(values, param.name);
    if (is(param, Param) && is(param.value, Placeholder)) {
      const { encoder } = param;
      const { name } = param.value;
      return (values) => encoder.mapToDriverValue(placeholderValue(values, name));
    }
    return () => param;
  });
  const fill = (values: Record<string, unknown>) => fillers.map((filler) => filler(values));
  if (!fields) {
    return {
      run: async (client, values) => {
        const params = fill(values);
        try {
          return await client.unsafe(queryString, params, options);
        } catch (error) {
          throw new DrizzleQueryError(queryString, params, error as Error);
        }
      },
    };
  }
  const decoders = fields.map(({ field }): ColumnDecoder => {
    if (is(field, Column)) return field;
    // `decoder` is internal in drizzle's types.
    const decoderOf = (of: SQL) => (of as unknown as { decoder: ColumnDecoder }).decoder;
    if (is(field, SQL)) return decoderOf(field);
    if (is(field, Subquery)) return decoderOf((field as unknown as { _: { sql: SQL } })._.sql);
    return decoderOf((field as SQL.Aliased).sql);
  });
  const keys = fields.map(({ path }) => path[0] ?? '');
  // A select of one table's columns (or `returning`): one flat object, as drizzle makes it;
  // joined tables (nested paths) are mapped by drizzle's own `mapResultRow`.
  const flat = fields.every(({ path }) => path.length === 1);
  const mapRow = flat
    ? (row: unknown[]) => {
        const mapped: Record<string, unknown> = {};
        for (let index = 0; index < keys.length; index += 1) {
          const value = row[index];
          mapped[keys[index] as string] =
            value === null ? null : (decoders[index] as ColumnDecoder).mapFromDriverValue(value);
        }
        return mapped;
      }
    : (row: unknown[]) => mapResultRow(fields, row, joinsNotNullableMap);
  return {
    run: async (client, values) => {
      const params = fill(values);
      let rows: unknown[][];
      try {
        rows = await client.unsafe(queryString, params, options).values();
      } catch (error) {
        throw new DrizzleQueryError(queryString, params, error as Error);
      }
      return rows.map(mapRow);
    },
  };
}

function placeholderValue(values: Record<string, unknown>, name: string): unknown {
  if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
  return values[name];
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
