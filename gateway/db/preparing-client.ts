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
 * parameters are left unnamed to bound that (connections are recycled every 30 minutes), unless
 * drizzle says they were built once (`.prepare(name)`: one text, however many parameters).
 *
 * Transactions begin without a round trip of their own: postgres.js sends `begin` and waits for
 * its answer before the first statement, and `savepoint` likewise. Here both are queued on the
 * transaction's connection and written together with the first statements (a socket write and a
 * backend wake-up each were the largest costs of the case path, bench/README.md "Hot paths").
 * Statements on one connection run in the order written, so nothing runs outside the transaction;
 * a failed `begin` fails the statements after it, and the transaction with them.
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

function preparedUnsafe(client: postgres.Sql | postgres.ReservedSql) {
  return (query: string, parameters?: UnsafeParameters, options?: UnsafeOptions) =>
    client.unsafe(query, parameters, {
      ...options,
      // drizzle asks to prepare (`prepare: true`) only what was built once with `.prepare(name)`: fixed text.
      prepare:
        options !== PLANNED_EACH_TIME &&
        (options?.prepare === true || (parameters?.length ?? 0) <= MOST_PREPARED_PARAMETERS),
    });
}

/** A transaction's state on its reserved connection. */
interface TransactionState {
  reserved: postgres.ReservedSql;
  /** Set once commit or rollback is queued: later statements would run outside the transaction. */
  ended: boolean;
  savepoints: number;
}

function transactionEnded(): Error {
  return new Error('The transaction has ended: a statement sent after its commit or rollback');
}

/**
 * The client a transaction's callback gets (what postgres.js's `TransactionSql` offers drizzle:
 * `unsafe` and `savepoint`), on the reserved connection.
 */
function transactionClient(state: TransactionState): postgres.TransactionSql {
  const unsafe = preparedUnsafe(state.reserved);
  const guardedUnsafe = (query: string, parameters?: UnsafeParameters, options?: UnsafeOptions) => {
    if (state.ended) throw transactionEnded();
    // Started now (postgres.js starts a statement when it is first awaited): the statements reach
    // the connection in the order they were issued, ahead of a commit issued after them.
    return unsafe(query, parameters, options).execute();
  };
  const savepoint = (nameOrCallback: string | TransactionCallback, callback?: TransactionCallback) =>
    typeof nameOrCallback === 'function'
      ? nestedScope(state, nameOrCallback)
      : nestedScope(state, callback as TransactionCallback);
  return new Proxy(state.reserved, {
    get(target, property, receiver) {
      if (property === 'unsafe') return guardedUnsafe;
      if (property === 'savepoint') return savepoint;
      if (property === 'begin' || property === 'release') return undefined;
      return Reflect.get(target, property, receiver) as unknown;
    },
  }) as unknown as postgres.TransactionSql;
}

/** A savepoint queued with its first statements; rolled back to when the callback fails. */
async function nestedScope(state: TransactionState, callback: TransactionCallback): Promise<unknown> {
  if (state.ended) throw transactionEnded();
  state.savepoints += 1;
  const name = `s${state.savepoints}`;
  const saved = state.reserved.unsafe(`savepoint ${name}`);
  saved.catch(() => undefined);
  try {
    const result = await callback(transactionClient(state));
    await saved;
    return result;
  } catch (error) {
    if (!state.ended) await state.reserved.unsafe(`rollback to savepoint ${name}`).catch(() => undefined);
    throw error;
  }
}

/** `begin` queued, not awaited: see the top of this file. Commits when the callback succeeds. */
async function pipelinedTransaction(client: postgres.Sql, mode: string, callback: TransactionCallback) {
  const reserved = await client.reserve();
  const state: TransactionState = { reserved, ended: false, savepoints: 0 };
  try {
    const begun = reserved.unsafe(`begin ${mode.replace(/[^a-z ]/gi, '')}`);
    begun.catch(() => undefined);
    let result: unknown;
    try {
      result = await callback(transactionClient(state));
      await begun;
    } catch (error) {
      state.ended = true;
      await reserved.unsafe('rollback').catch(() => undefined);
      throw error;
    }
    state.ended = true;
    const done = await reserved.unsafe('commit');
    // A statement that failed unawaited left the transaction aborted: its commit is a rollback.
    if (done.command !== 'COMMIT')
      throw new Error('The server rolled back the transaction instead of committing it (a statement in it failed)');
    return result;
  } finally {
    reserved.release();
  }
}

function withPreparing(client: postgres.Sql): postgres.Sql {
  const unsafe = preparedUnsafe(client);
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') return unsafe;
      if (property === 'begin') {
        return (optionsOrCallback: string | TransactionCallback, callback?: TransactionCallback) =>
          typeof optionsOrCallback === 'function'
            ? pipelinedTransaction(target, '', optionsOrCallback)
            : pipelinedTransaction(target, optionsOrCallback, callback as TransactionCallback);
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** The client drizzle should be given: its statements prepared once per connection, its transactions pipelined. */
export function preparingClient(client: postgres.Sql): postgres.Sql {
  return withPreparing(client);
}
