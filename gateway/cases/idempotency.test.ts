/**
 * withIdempotency against a real database (PGlite, or PostgreSQL when DATABASE_URL is set): the
 * work runs once per key, its answer (or refusal) is replayed, another body under the key is
 * refused, and nothing of a failed attempt survives — no row, no reservation — so the client's
 * repeat is served at once. On PostgreSQL, a duplicate while the first holds the key is `409` at
 * once, and a connection lost in the middle of the work (cut by a TCP proxy between the gateway
 * and the server, as an outage does) leaves the key free for the repeat once the network is back.
 */
import { eq, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FaultProxy } from '../../test/faults/fault-proxy.js';
import { freshDatabase, testPostgresUrl, type TestDatabase } from '../../test/harness.js';
import { parseConfig } from '../config.js';
import { type DatabaseHandle, type Queryable, openDatabase, rowsOf } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { DataProtection } from '../protection/data-protection.js';
import { ApiError } from '../platform/errors.js';
import { purgeExpiredKeys, requestHash, startKeyPurge, withIdempotency } from './idempotency.js';

let fresh: TestDatabase;
let database: DatabaseHandle;
/** Seals stored answers as the gateway's configuration says (on in CI's national-cryptography pass). */
let protection: DataProtection;
let sequence = 0;

/** The work of these tests: one row per run in a table of its own, so runs can be counted. */
async function recordRun(tx: Queryable, label: string): Promise<{ status: number; body: { label: string } }> {
  await tx.execute(sql`insert into idempotency_probe (label) values (${label})`);
  return { status: 200, body: { label } };
}

async function runs(label: string): Promise<number> {
  return (
    rowsOf<{ n: number }>(
      await database.db.execute(sql`select count(*)::int as n from idempotency_probe where label = ${label}`),
    )[0]?.n ?? -1
  );
}

function newKey(): string {
  sequence += 1;
  return `idem-test-${sequence.toString().padStart(4, '0')}`;
}

async function refusalOf(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  fresh = await freshDatabase();
  const config = parseConfig(fresh.environment);
  database = await openDatabase(config.database);
  await database.migrate();
  protection = await DataProtection.start(database.db, config.protection, pino({ level: 'silent' }));
  await database.db.execute(sql`create table idempotency_probe (id serial primary key, label text not null)`);
});

afterAll(async () => {
  await database?.close();
  await fresh?.drop();
});

describe('withIdempotency', () => {
  it('runs the work once, replays its answer, and refuses another body under the same key', async () => {
    const key = newKey();
    const request = { clientId: 'cli_idem_a', key, scope: 'POST /test', protection, body: { n: 1 } };
    const first = await withIdempotency(database.db, request, (tx) => recordRun(tx, key));
    // The answer's JSON text is written once, for the stored answer and the HTTP answer alike.
    expect(first).toEqual({ status: 200, body: { label: key }, replayed: false, json: JSON.stringify({ label: key }) });
    const again = await withIdempotency(database.db, request, (tx) => recordRun(tx, key));
    expect(again).toEqual({ status: 200, body: { label: key }, replayed: true });
    expect(await runs(key)).toBe(1);
    expect(
      (await refusalOf(withIdempotency(database.db, { ...request, body: { n: 2 } }, (tx) => recordRun(tx, key)))).code,
    ).toBe('idempotency_key_reused');
    expect(
      (await refusalOf(withIdempotency(database.db, { ...request, scope: 'POST /other' }, (tx) => recordRun(tx, key))))
        .code,
    ).toBe('idempotency_key_reused');
    // Keys belong to their client: another client's identical key is another request.
    await withIdempotency(database.db, { ...request, clientId: 'cli_idem_b' }, (tx) => recordRun(tx, key));
    expect(await runs(key)).toBe(2);
  });

  it('stores a refusal as the answer, without what the refused work wrote, and replays it', async () => {
    const key = newKey();
    const request = { clientId: 'cli_idem_a', key, scope: 'POST /test', protection, body: {} };
    const refuse = async (tx: Queryable) => {
      await recordRun(tx, key);
      throw new ApiError('case_not_open', 'Refused after writing.', { reason: 'test' });
    };
    const refusal = await refusalOf(withIdempotency(database.db, request, refuse));
    expect(refusal).toMatchObject({ code: 'case_not_open', status: 409, extras: { reason: 'test' } });
    expect(await runs(key)).toBe(0);
    const replayed = await refusalOf(withIdempotency(database.db, request, (tx) => recordRun(tx, key)));
    expect(replayed).toMatchObject({
      code: 'case_not_open',
      detail: 'Refused after writing.',
      extras: { reason: 'test' },
    });
    expect(await runs(key)).toBe(0);
  });

  it('leaves nothing behind when the work fails unexpectedly: the repeat runs at once', async () => {
    const key = newKey();
    const request = { clientId: 'cli_idem_a', key, scope: 'POST /test', protection, body: {} };
    const failing = async (tx: Queryable) => {
      await recordRun(tx, key);
      throw new Error('the work broke');
    };
    await expect(withIdempotency(database.db, request, failing)).rejects.toThrow('the work broke');
    expect(await database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))).toEqual([]);
    expect(await runs(key)).toBe(0);
    expect((await withIdempotency(database.db, request, (tx) => recordRun(tx, key))).replayed).toBe(false);
    expect(await runs(key)).toBe(1);
  });

  it('rolls the work back when its answer cannot be stored (the answer goes out with the commit)', async () => {
    await database.db.execute(sql`
      create or replace function idempotency_probe_refuse() returns trigger language plpgsql as $$
      begin
        if new.key like 'idem-refused-%' then raise exception 'answer refused by the probe'; end if;
        return new;
      end $$`);
    await database.db.execute(
      sql`create trigger idempotency_probe_refuse before insert on idempotency_keys for each row execute function idempotency_probe_refuse()`,
    );
    try {
      const key = `idem-refused-${newKey()}`;
      const request = { clientId: 'cli_idem_store', key, scope: 'POST /test', protection, body: {} };
      const failure = await withIdempotency(database.db, request, (tx) => recordRun(tx, key)).then(
        () => undefined,
        (error: unknown) => error,
      );
      // The store's own failure (drizzle wraps it), not only "the server rolled back".
      expect(failure).toBeInstanceOf(Error);
      expect(String((failure as Error).cause ?? failure)).toMatch(/answer refused by the probe/);
      expect(await runs(key)).toBe(0);
      expect(await database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))).toHaveLength(0);
    } finally {
      await database.db.execute(sql`drop trigger idempotency_probe_refuse on idempotency_keys`);
    }
  });

  it('answers a duplicate of a request still running: 409 at once on PostgreSQL, the first answer after it on PGlite', async () => {
    const key = newKey();
    const request = { clientId: 'cli_idem_a', key, scope: 'POST /test', protection, body: {} };
    let started!: () => void;
    const workStarted = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const mayFinish = new Promise<void>((resolve) => (finish = resolve));
    const first = withIdempotency(database.db, request, async (tx) => {
      const answer = await recordRun(tx, key);
      started();
      await mayFinish;
      return answer;
    });
    await workStarted;
    const duplicate = withIdempotency(database.db, request, (tx) => recordRun(tx, key));
    if (database.kind === 'postgres') {
      // Settles while the first is still held open: no waiting on its lock.
      const refusal = await refusalOf(duplicate);
      expect(refusal.code).toBe('idempotency_in_progress');
      expect(refusal.status).toBe(409);
      finish();
      expect((await first).replayed).toBe(false);
    } else {
      // PGlite runs one transaction at a time: the duplicate waits, then finds the answer.
      finish();
      expect((await first).replayed).toBe(false);
      expect(await duplicate).toEqual({ status: 200, body: { label: key }, replayed: true });
    }
    expect(await runs(key)).toBe(1);
    expect((await withIdempotency(database.db, request, (tx) => recordRun(tx, key))).replayed).toBe(true);
  });

  it('honours a reservation row of the previous version while it may run, and takes it over after abandonAfterMs', async () => {
    const key = newKey();
    const request = { clientId: 'cli_idem_a', key, scope: 'POST /test', protection, body: {}, abandonAfterMs: 60_000 };
    await database.db.insert(idempotencyKeys).values({
      clientId: request.clientId,
      key,
      scope: request.scope,
      requestHash: requestHash(request.scope, request.body),
    });
    expect((await refusalOf(withIdempotency(database.db, request, (tx) => recordRun(tx, key)))).code).toBe(
      'idempotency_in_progress',
    );
    await database.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - 61_000) })
      .where(eq(idempotencyKeys.key, key));
    expect((await withIdempotency(database.db, request, (tx) => recordRun(tx, key))).replayed).toBe(false);
    const [row] = await database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
    expect(row?.responseStatus).toBe(200);
    expect(await runs(key)).toBe(1);
  });
});

describe('expired keys', () => {
  /** Keys of a run of their own, their requests started on these (long past) days. */
  async function keysStartedOn(clientId: string, days: readonly string[]): Promise<string[]> {
    const keys: string[] = [];
    for (const day of days) {
      const key = newKey();
      keys.push(key);
      await withIdempotency(database.db, { clientId, key, scope: 'POST /test', protection, body: {} }, (tx) =>
        recordRun(tx, key),
      );
      await database.db
        .update(idempotencyKeys)
        .set({ createdAt: new Date(`${day}T00:00:00Z`) })
        .where(eq(idempotencyKeys.key, key));
    }
    return keys;
  }

  async function keysLeft(clientId: string): Promise<string[]> {
    const rows = await database.db
      .select({ key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.clientId, clientId));
    return rows.map((row) => row.key).sort();
  }

  it('removes keys started before the cut-off, oldest first and at most a batch at a time; then the key is new', async () => {
    const clientId = 'cli_idem_purge';
    const [oldest, older, recent] = await keysStartedOn(clientId, ['2001-01-01', '2001-01-02', '2001-03-01']);
    const cutOff = new Date('2001-02-01T00:00:00Z');
    expect(await purgeExpiredKeys(database.db, cutOff, 1)).toBe(1);
    expect(await keysLeft(clientId)).toEqual([older, recent]);
    expect(await purgeExpiredKeys(database.db, cutOff, 10)).toBe(1);
    expect(await purgeExpiredKeys(database.db, cutOff, 10)).toBe(0);
    expect(await keysLeft(clientId)).toEqual([recent]);
    // Gone with its answer: the same key runs the work again (the work itself must refuse a repeat).
    const request = { clientId, key: oldest!, scope: 'POST /test', protection, body: {} };
    expect((await withIdempotency(database.db, request, (tx) => recordRun(tx, oldest!))).replayed).toBe(false);
    expect(await runs(oldest!)).toBe(2);
  });

  it('purges at start and then on its schedule, a bounded number of batches per round, and logs what it removed', async () => {
    const clientId = 'cli_idem_schedule';
    // Older keys of the tests before go first (oldest first): none is left before this test's keys.
    await purgeExpiredKeys(database.db, new Date('2002-01-01T00:00:00Z'), 1000);
    const [, , , newest] = await keysStartedOn(clientId, ['2002-01-01', '2002-01-02', '2002-01-03', '2002-03-01']);
    const logged: unknown[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const stop = startKeyPurge(database.db, {
      retentionMs: 30 * 86_400_000,
      intervalMs: 3_600_000,
      batchSize: 1,
      maxBatches: 2,
      now: () => new Date('2002-03-02T00:00:00Z'),
      logger,
    });
    // The round run at start; the next is an hour away.
    await vi.waitFor(() => expect(logged).toHaveLength(1), { timeout: 15_000 });
    await stop();
    expect(await keysLeft(clientId)).toHaveLength(2);
    expect(logged).toEqual([expect.objectContaining({ msg: 'idempotency keys purged', purged: 2 })]);
    expect(await purgeExpiredKeys(database.db, new Date('2002-02-01T00:00:00Z'), 10)).toBe(1);
    expect(await keysLeft(clientId)).toEqual([newest]);
  });

  it.skipIf(!testPostgresUrl)('skips a key another transaction holds', async () => {
    const clientId = 'cli_idem_locked';
    await purgeExpiredKeys(database.db, new Date('2003-01-01T00:00:00Z'), 1000);
    const [held] = await keysStartedOn(clientId, ['2003-01-01']);
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from idempotency_keys where client_id = ${clientId} and key = ${held} for update`);
      expect(await purgeExpiredKeys(database.db, new Date('2003-02-01T00:00:00Z'), 10)).toBe(0);
    });
    expect(await purgeExpiredKeys(database.db, new Date('2003-02-01T00:00:00Z'), 10)).toBe(1);
  });
});

describe.skipIf(!testPostgresUrl)(
  'withIdempotency when the connection to PostgreSQL is lost mid-work (TCP proxy)',
  () => {
    let proxy: FaultProxy;
    let proxied: DatabaseHandle;

    beforeAll(async () => {
      const direct = new URL(fresh.environment['DATABASE_URL'] ?? '');
      proxy = await FaultProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
      const viaProxy = new URL(direct);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      proxied = await openDatabase({ kind: 'postgres', url: viaProxy.toString(), poolSize: 2 });
    });

    afterAll(async () => {
      await proxied?.close().catch(() => undefined);
      await proxy?.close();
    });

    async function advisoryLocksHeld(): Promise<number> {
      return (
        rowsOf<{ n: number }>(
          await database.db.execute(
            sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
          ),
        )[0]?.n ?? -1
      );
    }

    it('frees the key with the connection: the repeat after the outage runs (not 409) and the work happens once', async () => {
      const key = newKey();
      const request = { clientId: 'cli_idem_outage', key, scope: 'POST /test', protection, body: { form: 'x' } };
      const failed = withIdempotency(proxied.db, request, async (tx) => {
        await recordRun(tx, key);
        // The network goes: open connections are cut and new ones refused, as while the server is down.
        proxy.setMode({ kind: 'reset' });
        proxy.disconnectAll();
        return recordRun(tx, key);
      });
      await expect(failed).rejects.toThrow();
      // The server ends the cut session and with it the transaction and its lock (bounded wait).
      for (let attempt = 0; attempt < 100 && (await advisoryLocksHeld()) > 0; attempt += 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await advisoryLocksHeld()).toBe(0);

      proxy.setMode({ kind: 'pass' });
      const repeated = await withIdempotency(proxied.db, request, (tx) => recordRun(tx, key));
      expect(repeated).toEqual({
        status: 200,
        body: { label: key },
        replayed: false,
        json: JSON.stringify({ label: key }),
      });
      expect(await runs(key)).toBe(1);
      const [row] = await database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
      expect(row?.responseStatus).toBe(200);
      expect((await withIdempotency(proxied.db, request, (tx) => recordRun(tx, key))).replayed).toBe(true);
    });
  },
);
