/**
 * drizzle's postgres-js driver sends every statement unnamed (`prepare: false`) unless the query
 * was built with `.prepare(name)`. For a statement with parameters, postgres.js then describes it
 * first and binds it after the answer: two round trips, and PostgreSQL parses and plans the text
 * every time. Measured on the case submission path (bench:cases): 29 statements per submission,
 * two thirds of them unnamed. This wrapper has the driver keep a named prepared statement per
 * connection for each statement text instead, so a repeated statement is one Bind/Execute.
 *
 * Statements whose text varies with their input (an IN list, a multi-row VALUES) would each
 * become a prepared statement of their own that lives as long as the connection; those with many
 * parameters are left unnamed to bound that (connections are recycled every 30 minutes).
 */
import type postgres from 'postgres';

/** Statements with more parameters than this are sent unnamed (see above). */
const MOST_PREPARED_PARAMETERS = 32;

type UnsafeParameters = postgres.ParameterOrJSON<never>[];
type UnsafeOptions = postgres.UnsafeQueryOptions;
type TransactionCallback = (sql: postgres.TransactionSql) => unknown;

/**
 * The options object of a statement that must stay unnamed, planned for its values every time
 * (reporting statements, see `reportRows` in client.ts). Recognised by identity: drizzle itself
 * passes `prepare: false` on every statement, which is what this wrapper overrides.
 */
export const PLANNED_EACH_TIME: Readonly<{ prepare: false }> = Object.freeze({ prepare: false });

function withPreparing<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  const unsafe = (query: string, parameters?: UnsafeParameters, options?: UnsafeOptions) =>
    client.unsafe(query, parameters, {
      ...options,
      prepare: options !== PLANNED_EACH_TIME && (parameters?.length ?? 0) <= MOST_PREPARED_PARAMETERS,
    });
  // The transaction's own client (given to the callback) gets the same treatment.
  const wrapCallback = (callback: TransactionCallback) => (sql: postgres.TransactionSql) =>
    callback(withPreparing(sql));
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') return unsafe;
      if (property === 'begin') {
        return (optionsOrCallback: string | TransactionCallback, callback?: TransactionCallback) =>
          typeof optionsOrCallback === 'function'
            ? (target as postgres.Sql).begin(wrapCallback(optionsOrCallback))
            : (target as postgres.Sql).begin(optionsOrCallback, wrapCallback(callback as TransactionCallback));
      }
      if (property === 'savepoint') {
        return (nameOrCallback: string | TransactionCallback, callback?: TransactionCallback) =>
          typeof nameOrCallback === 'function'
            ? (target as postgres.TransactionSql).savepoint(wrapCallback(nameOrCallback))
            : (target as postgres.TransactionSql).savepoint(
                nameOrCallback,
                wrapCallback(callback as TransactionCallback),
              );
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** The client drizzle should be given: its statements prepared once per connection. */
export function preparingClient(client: postgres.Sql): postgres.Sql {
  return withPreparing(client);
}
