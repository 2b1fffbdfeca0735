import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, freshDatabase } from '../../test/harness.js';
import { parseConfig } from '../config.js';
import { batchedRead } from './batched-reads.js';
import { type DatabaseHandle, openDatabase } from './client.js';

interface Row {
  id: string;
  name: string;
}

/** A read whose statements are recorded, so a test sees how many left and with which keys. */
function recordingRead(rows: Row[], maxBatch?: number) {
  const statements: string[][] = [];
  let failNext: Error | undefined;
  const read = batchedRead<string, Row>({
    readOne: async (id) => {
      statements.push([id]);
      if (failNext) throw failNext;
      return rows.filter((row) => row.id === id);
    },
    readMany: async (ids) => {
      statements.push(ids);
      if (failNext) throw failNext;
      return rows.filter((row) => ids.includes(row.id));
    },
    keyOf: (row) => row.id,
    ...(maxBatch === undefined ? {} : { maxBatch }),
  });
  return {
    read,
    statements,
    failWith: (error: Error | undefined) => {
      failNext = error;
    },
  };
}

const ROWS: Row[] = [
  { id: 'a', name: '甲' },
  { id: 'b', name: '乙' },
  { id: 'c', name: '丙' },
];

describe('batched reads', () => {
  it('send the keys asked for in one turn as one statement, each caller getting its own row', async () => {
    const { read, statements } = recordingRead(ROWS);
    const answers = await Promise.all([read('a'), read('b'), read('missing'), read('a'), read('c')]);
    expect(answers).toEqual([ROWS[0], ROWS[1], undefined, ROWS[0], ROWS[2]]);
    expect(statements).toEqual([['a', 'b', 'missing', 'c']]);
  });

  it('read a lone key with the single-key statement, and each later turn on its own', async () => {
    const { read, statements } = recordingRead(ROWS);
    expect(await read('b')).toEqual(ROWS[1]);
    expect(await read('c')).toEqual(ROWS[2]);
    expect(statements).toEqual([['b'], ['c']]);
  });

  it('split a turn into statements of at most maxBatch keys', async () => {
    const { read, statements } = recordingRead(ROWS, 2);
    const answers = await Promise.all([read('a'), read('b'), read('c')]);
    expect(answers).toEqual(ROWS);
    expect(statements).toEqual([['a', 'b'], ['c']]);
  });

  it('fail every caller of a failed statement, and read afresh the next turn', async () => {
    const { read, failWith } = recordingRead(ROWS);
    failWith(new Error('connection lost'));
    const failed = await Promise.allSettled([read('a'), read('b')]);
    expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    failWith(undefined);
    expect(await read('a')).toEqual(ROWS[0]);
  });
});

describe('batched reads on the database', () => {
  let fresh: TestDatabase;
  let database: DatabaseHandle;

  beforeAll(async () => {
    fresh = await freshDatabase();
    database = await openDatabase(parseConfig({ ONEWINDOW_DEMO: 'false', ...fresh.environment }).database);
    await database.migrate();
    await database.db.execute(sql`create table batch_probe (code text primary key)`);
    await database.db.execute(sql`insert into batch_probe values ('610113001'), ('610113002'), ('610116001')`);
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await fresh?.drop();
  });

  it('read several keys with `= any($1)` on both drivers', async () => {
    const read = batchedRead<string, { code: string }>({
      readOne: (code) => database.preparedText('select code from batch_probe where code = $1', [code]),
      readMany: (codes) => database.preparedText('select code from batch_probe where code = any($1::text[])', [codes]),
      keyOf: (row) => row.code,
    });
    const codes = ['610113001', '610113002', '610116001'];
    const answers = await Promise.all([...codes, '999999999'].map((code) => read(code)));
    expect(answers).toEqual([...codes.map((code) => ({ code })), undefined]);
  });
});
