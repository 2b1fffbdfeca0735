/**
 * Reads by key that arrive in the same turn of the event loop leave as ONE statement.
 *
 * Under load many requests want one row each from the same table. Each statement costs a socket
 * write (on loopback the sender pays for waking PostgreSQL), a backend's wake-up and an execution;
 * those dominated a one-row read (bench/README.md, "Hot paths"). Keys asked for while the current
 * turn runs are collected and read at its end with `= any($1)` — the same moment the driver would
 * have written them anyway (postgres.js writes at `setImmediate` too), so a lone read waits no
 * longer and a busy instance sends one statement where it sent dozens.
 *
 * Each caller gets its key's row (or `undefined`) and each caller sees a failure of the statement.
 * Callers asking for the same key in one turn get the same row object: treat rows as read-only. Only for reads whose answer does not depend on the
 * caller's transaction: a read inside a transaction must go through that transaction.
 */
export interface BatchedReadOptions<Key, Row> {
  /** One key: the statement used when a turn asks for a single key (the common quiet case). */
  readOne(key: Key): Promise<Row[]>;
  /** Several distinct keys at once, e.g. `where id = any($1)`. */
  readMany(keys: Key[]): Promise<Row[]>;
  keyOf(row: Row): Key;
  /** Most keys in one statement; more wait for the next statement of the same turn. */
  maxBatch?: number;
}

interface Waiting<Row> {
  resolve(row: Row | undefined): void;
  reject(error: unknown): void;
}

export type BatchedRead<Key, Row> = (key: Key) => Promise<Row | undefined>;

export function batchedRead<Key, Row>(options: BatchedReadOptions<Key, Row>): BatchedRead<Key, Row> {
  const maxBatch = options.maxBatch ?? 100;
  let pending = new Map<Key, Waiting<Row>[]>();
  let scheduled = false;

  function settle(batch: Map<Key, Waiting<Row>[]>, rows: Row[]): void {
    const found = new Map<Key, Row>();
    for (const row of rows) found.set(options.keyOf(row), row);
    for (const [key, waiting] of batch) {
      const row = found.get(key);
      for (const one of waiting) one.resolve(row);
    }
  }

  function fail(batch: Map<Key, Waiting<Row>[]>, error: unknown): void {
    for (const waiting of batch.values()) for (const one of waiting) one.reject(error);
  }

  function send(batch: Map<Key, Waiting<Row>[]>): void {
    const keys = [...batch.keys()];
    // Started inside a promise: a read that throws instead of rejecting fails its callers too,
    // rather than escaping from the timer with every caller left waiting.
    const reading = Promise.resolve().then(() =>
      keys.length === 1 ? options.readOne(keys[0] as Key) : options.readMany(keys),
    );
    reading.then(
      (rows) => settle(batch, rows),
      (error: unknown) => fail(batch, error),
    );
  }

  function flush(): void {
    scheduled = false;
    const all = pending;
    pending = new Map();
    if (all.size <= maxBatch) {
      send(all);
      return;
    }
    let batch = new Map<Key, Waiting<Row>[]>();
    for (const [key, waiting] of all) {
      batch.set(key, waiting);
      if (batch.size === maxBatch) {
        send(batch);
        batch = new Map();
      }
    }
    if (batch.size > 0) send(batch);
  }

  return (key) =>
    new Promise<Row | undefined>((resolve, reject) => {
      const waiting = pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
