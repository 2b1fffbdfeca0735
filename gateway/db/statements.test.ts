/**
 * Reusable statements (statements.ts) rely on how drizzle binds a prepared query to its client,
 * and the preparing client (preparing-client.ts) on how postgres.js names statements: these tests
 * fail if a driver upgrade changes either, on PGlite and (with DATABASE_URL) on PostgreSQL.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnsDuring } from '../../test/event-loop.js';
import { freshDatabase, type TestDatabase } from '../../test/harness.js';
import { recordAudit } from '../audit/record.js';
import { type DatabaseHandle, openDatabase, reportRows, rowsOf, transactionEndingWith } from './client.js';
import { auditEntries, idempotencyKeys } from './schema.js';
import { reusableStatement, tableRowReader, textStatement } from './statements.js';

let database: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  database = await freshDatabase();
  const { DATABASE_URL: url } = database.environment;
  handle = await openDatabase(url ? { kind: 'postgres', url, poolSize: 4 } : { kind: 'pglite', dataDir: 'memory://' });
  await handle.migrate();
});

afterAll(async () => {
  await handle.close();
  await database.drop();
});

const actor = { clientId: 'cli_statements_test', kind: 'window' as const };
const entriesOf = (entryId: string) => handle.db.select().from(auditEntries).where(eq(auditEntries.entryId, entryId));

describe('reusable statements', () => {
  it('write with the columns mapped as drizzle maps them (dates, arrays, nulls)', async () => {
    const entryId = await recordAudit(handle.db, {
      actor,
      action: 'test.write',
      outcome: 'allowed',
      fields: ['a', 'b'],
      materialTypes: ['id_card'],
    });
    const [row] = await entriesOf(entryId);
    expect(row).toMatchObject({
      actorClientId: actor.clientId,
      action: 'test.write',
      fields: ['a', 'b'],
      materialTypes: ['id_card'],
      operatorId: null,
      purpose: null,
    });
    expect(row?.occurredAt).toBeInstanceOf(Date);
  });

  it('run inside the transaction they are given: rolled back with it, committed with it', async () => {
    let rolledBack = '';
    await expect(
      handle.db.transaction(async (tx) => {
        rolledBack = await recordAudit(tx, { actor, action: 'test.rollback', outcome: 'allowed' });
        // Visible inside the transaction …
        expect(await tx.select().from(auditEntries).where(eq(auditEntries.entryId, rolledBack))).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // … and gone with it.
    expect(await entriesOf(rolledBack)).toHaveLength(0);

    const committed = await handle.db.transaction((tx) =>
      recordAudit(tx, { actor, action: 'test.commit', outcome: 'allowed' }),
    );
    expect(await entriesOf(committed)).toHaveLength(1);
  });

  it('serve concurrent transactions, each on its own connection', async () => {
    const countInside = reusableStatement<{ action: string }, { count: number }[]>((on) =>
      on
        .select({ count: sql<number>`count(*)::int` })
        .from(auditEntries)
        .where(eq(auditEntries.action, sql.placeholder('action')))
        .prepare('count_audit_by_action'),
    );
    // PGlite has one connection: its transactions run one after the other, which this also covers.
    const seen = await Promise.all(
      ['test.one', 'test.two'].map((action) =>
        handle.db.transaction(async (tx) => {
          await recordAudit(tx, { actor, action, outcome: 'allowed' });
          await recordAudit(tx, { actor, action, outcome: 'allowed' });
          return (await countInside(tx, { action }))[0]?.count;
        }),
      ),
    );
    expect(seen).toEqual([2, 2]);
    expect((await countInside(handle.db, { action: 'test.one' }))[0]?.count).toBe(2);
  });
});

describe('rows read by a text statement or as JSON', () => {
  it('come out as drizzle maps them (timestamps, arrays, nulls, JSON values of every kind)', async () => {
    const entryId = await recordAudit(handle.db, {
      actor,
      action: 'test.row_reader',
      outcome: 'allowed',
      fields: ['a', 'b'],
      materialTypes: [],
    });
    const bodies = [{ nested: { list: [1, 'two'] } }, ['a', 2], 42, null];
    await handle.db.insert(idempotencyKeys).values(
      bodies.map((responseBody, index) => ({
        clientId: 'cli_row_reader',
        key: `key-${index}`,
        scope: 'test',
        requestHash: 'hash',
        responseStatus: index === 3 ? null : 200,
        responseBody,
      })),
    );
    const readAudit = tableRowReader(auditEntries);
    const readKey = tableRowReader(idempotencyKeys);
    const asText = textStatement<[entryId: string], Record<string, unknown>>(
      'select * from audit_entries where entry_id = $1',
    );
    const asJson = textStatement<[entryId: string, clientId: string], { audit: unknown; keys: unknown[] }>(
      `select (select to_json(a) from audit_entries a where a.entry_id = $1) as audit,
              (select json_agg(k order by k.key) from idempotency_keys k where k.client_id = $2) as keys`,
    );
    const [audited] = await entriesOf(entryId);
    const keys = await handle.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.clientId, 'cli_row_reader'))
      .orderBy(idempotencyKeys.key);
    expect(keys.map((key) => key.responseBody)).toEqual(bodies);
    const [text] = await asText(handle.db, [entryId]);
    expect(readAudit(text)).toEqual(audited);
    const [json] = await asJson(handle.db, [entryId, 'cli_row_reader']);
    expect(readAudit(json?.audit)).toEqual(audited);
    expect(json?.keys.map(readKey)).toEqual(keys);
  });
});

describe('transactions', () => {
  it('begin with their first statement and roll back to a savepoint where drizzle nests one', async () => {
    let inner = '';
    const outer = await handle.db.transaction(async (tx) => {
      const kept = await recordAudit(tx, { actor, action: 'test.outer', outcome: 'allowed' });
      await expect(
        tx.transaction(async (nested) => {
          inner = await recordAudit(nested, { actor, action: 'test.nested', outcome: 'allowed' });
          throw new Error('undo the nested part');
        }),
      ).rejects.toThrow('undo the nested part');
      return kept;
    });
    expect(await entriesOf(outer)).toHaveLength(1);
    expect(await entriesOf(inner)).toHaveLength(0);
  });

  it('send their last statements with the commit: committed with it, or all rolled back with the failure thrown', async () => {
    let first = '';
    const last = await transactionEndingWith(handle.db, async (tx) => {
      first = await recordAudit(tx, { actor, action: 'test.before_last', outcome: 'allowed' });
      return { last: recordAudit(tx, { actor, action: 'test.last', outcome: 'allowed' }) };
    });
    expect(await entriesOf(first)).toHaveLength(1);
    expect(await entriesOf(last)).toHaveLength(1);

    let kept = '';
    const failure = await transactionEndingWith(handle.db, async (tx) => {
      kept = await recordAudit(tx, { actor, action: 'test.rolled_back', outcome: 'allowed' });
      return { last: tx.execute(sql`select 1 / 0`) };
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String((failure as Error).cause ?? failure)).toMatch(/division by zero/);
    expect(await entriesOf(kept)).toHaveLength(0);
  });
});

describe.runIf(process.env.DATABASE_URL)('the preparing client (PostgreSQL)', () => {
  it('keeps a named prepared statement per connection for a statement with parameters', async () => {
    const named = await handle.db.transaction(async (tx) => {
      // A plain query builder (not `.prepare`d), with a condition nothing else here uses.
      await tx.select().from(auditEntries).where(eq(auditEntries.requestId, 'req_named_probe'));
      return rowsOf<{ count: number }>(
        await tx.execute(
          sql`select count(*)::int as count from pg_prepared_statements where statement like '%"audit_entries"."request_id" = $1%'`,
        ),
      );
    });
    expect(named[0]?.count).toBeGreaterThan(0);
  });

  it('leaves a reporting statement unnamed, so it is planned for its values every time', async () => {
    const named = await handle.db.transaction(async (tx) => {
      await reportRows(tx, sql`select count(*) from audit_entries where request_id = ${'req_report_probe'}`);
      return rowsOf<{ count: number }>(
        await tx.execute(
          sql`select count(*)::int as count from pg_prepared_statements where statement like '%from audit_entries where request_id = $1%' and statement not like '%pg_prepared_statements%'`,
        ),
      );
    });
    expect(named[0]?.count).toBe(0);
  });
});

describe('PostgreSQL connections', () => {
  it('end a statement that runs past DATABASE_STATEMENT_TIMEOUT_MS, and an idle transaction', async (context) => {
    const { DATABASE_URL: url } = database.environment;
    if (!url) return context.skip(); // PGlite runs in this process: nothing to end.
    const short = await openDatabase({ kind: 'postgres', url, poolSize: 1, statementTimeoutMs: 1000 });
    try {
      const [setting] = rowsOf<{ statement_timeout: string }>(await short.db.execute(sql`show statement_timeout`));
      expect(setting?.statement_timeout).toBe('1s');
      await expect(short.db.execute(sql`select pg_sleep(3)`)).rejects.toMatchObject({
        cause: { code: '57014' }, // query_canceled: statement timeout
      });
      const [idle] = rowsOf<{ idle_in_transaction_session_timeout: string }>(
        await short.db.execute(sql`show idle_in_transaction_session_timeout`),
      );
      expect(idle?.idle_in_transaction_session_timeout).toBe('1s');
    } finally {
      await short.close();
    }
  });
});

// On PostgreSQL every answer is a socket read, a turn of its own: these test embedded PGlite.
describe.runIf(!process.env.DATABASE_URL)('statements on embedded PGlite and the event loop', () => {
  // PGlite answers on this thread without I/O: without turns between statements, a whole
  // transaction (and the work on its rows) held the loop at once (issue 18: 160–230 ms).
  it('leave the event loop a turn before a statement with large parameters', async () => {
    const document = 'x'.repeat(100_000);
    const turns = await turnsDuring(() =>
      handle.db.transaction(async (tx) => {
        for (let index = 0; index < 5; index += 1) await tx.execute(sql`select length(${document}) as n`);
      }),
    );
    expect(turns).toBeGreaterThanOrEqual(5);
  });

  it('leave the event loop turns during a transaction of slow statements', async () => {
    // Each of these takes the engine far longer than the few ms a turn may work.
    const turns = await turnsDuring(() =>
      handle.db.transaction(async (tx) => {
        for (let index = 0; index < 3; index += 1)
          await tx.execute(sql`select count(*) from generate_series(1, 300000 + ${index})`);
      }),
    );
    expect(turns).toBeGreaterThanOrEqual(3);
  });
});
