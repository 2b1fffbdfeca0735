/**
 * The reference data in memory, when a change's notification has not reached this instance yet
 * (written through another instance a moment ago, or lost while the listening connection was
 * down, before the periodic check): a refusal is confirmed against the database's generation
 * first, so something that exists is found, and what does not exist is still refused. A real
 * database (PGlite, or PostgreSQL when DATABASE_URL is set).
 */
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../../test/harness.js';
import { requireCentre } from '../centres/centres.js';
import { parseConfig } from '../config.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { applySeedItems, requireItemFrom } from '../items/catalogue.js';
import { ApiError } from '../platform/errors.js';
import { ReferenceData } from './reference-data.js';

let fresh: TestDatabase;
let database: DatabaseHandle;
/** A copy that hears of no change by itself: no notifications, no periodic check within the test. */
let deaf: ReferenceData;

beforeAll(async () => {
  fresh = await freshDatabase();
  database = await openDatabase(parseConfig(fresh.environment).database);
  await database.migrate();
  await applySeedItems(database.db);
  deaf = new ReferenceData(database.db, pino({ level: 'silent' }), { checkIntervalMs: 3_600_000 });
  await deaf.start({ listen: async () => async () => undefined });
});

afterAll(async () => {
  await deaf?.stop();
  await database?.close();
  await fresh?.drop();
});

async function refusalCode(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error.code;
}

describe('reference data: a change not yet heard of is confirmed before a refusal', () => {
  it('finds an item created behind its back, and still refuses one that does not exist', async () => {
    await database.db.execute(sql`
      insert into items (code, name, name_zh, kind, departments, statutory_days, promised_days, form_schema)
      select 'copied_move_in', name, name_zh, kind, departments, statutory_days, promised_days, form_schema
      from items where code = 'household_move_in'`);
    const item = await requireItemFrom(deaf, database.db, 'copied_move_in', { activeOnly: true });
    expect(item.code).toBe('copied_move_in');
    expect(await refusalCode(requireItemFrom(deaf, database.db, 'no_such_item'))).toBe('unknown_item');
  });

  it('finds an item re-activated behind its back inside a transaction', async () => {
    await database.db.execute(sql`update items set active = false where code = 'copied_move_in'`);
    await deaf.confirmCurrent(database.db);
    expect(await refusalCode(requireItemFrom(deaf, database.db, 'copied_move_in', { activeOnly: true }))).toBe(
      'unknown_item',
    );
    await database.db.execute(sql`update items set active = true where code = 'copied_move_in'`);
    const item = await database.db.transaction((tx) =>
      requireItemFrom(deaf, tx, 'copied_move_in', { activeOnly: true }),
    );
    expect(item.active).toBe(true);
  });

  it('finds a centre created behind its back', async () => {
    await database.db.execute(sql`
      insert into centres (code, name, level, parent_code, path)
      values ('610000000', '陕西省政务服务中心', 'province', null, '/610000000/')`);
    const directory = await deaf.centreDirectoryWith(database.db, ['610000000']);
    expect(requireCentre(directory, '610000000').name).toBe('陕西省政务服务中心');
    const unknown = await deaf.centreDirectoryWith(database.db, ['619999999']);
    expect(() => requireCentre(unknown, '619999999')).toThrow(ApiError);
  });

  it('decides again only after a refusal, and only when the copy was behind', async () => {
    let decisions = 0;
    const decided = await deaf.decideConfirmingRefusal(database.db, async () => {
      decisions += 1;
      return 'allowed';
    });
    expect([decided, decisions]).toEqual(['allowed', 1]);
    decisions = 0;
    const refused = deaf.decideConfirmingRefusal(database.db, async () => {
      decisions += 1;
      throw new ApiError('unknown_item');
    });
    expect(await refusalCode(refused)).toBe('unknown_item');
    // The copy was current: one decision, no second try.
    expect(decisions).toBe(1);
  });
});
