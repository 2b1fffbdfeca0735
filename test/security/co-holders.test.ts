/**
 * Security suite: who counts as a co-holder of a jointly held certificate (gateway/certificates/
 * store.ts). A department's answer about one holder stores the certificate in every other holder's
 * file and puts the read on their record; only a holders list that names the holder asked about is
 * taken for one, and co-holders are found by resident ID number or credit code only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../gateway/db/client.js';
import { subjects } from '../../gateway/db/schema.js';
import { coHolderSubjects } from '../../gateway/certificates/store.js';

const ZHANG = { name: '张三', identifier: '11010519491231002X' };
const WANG = { name: '王秀英', identifier: '110105195203150021' };
/** A passport number shaped like nothing else; a subject known by it is never a co-holder. */
const PASSPORT = 'E12345678';

let database: DatabaseHandle;

beforeAll(async () => {
  database = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
  await database.migrate();
  await database.db.insert(subjects).values([
    { id: 'sub_zhang', kind: 'person', identifierType: 'resident_id', ...ZHANG, createdByClientId: 'cli_test' },
    { id: 'sub_wang', kind: 'person', identifierType: 'resident_id', ...WANG, createdByClientId: 'cli_test' },
    {
      id: 'sub_passport',
      kind: 'person',
      identifierType: 'passport',
      identifier: PASSPORT,
      name: 'Alex Traveller',
      createdByClientId: 'cli_test',
    },
  ]);
}, 60_000);

afterAll(async () => {
  await database?.close();
});

describe('co-holders of a certificate', () => {
  it('are the other known holders of a list that names the holder', async () => {
    const metadata = { holderIdentifier: ZHANG.identifier, holders: [ZHANG, WANG] };
    expect(await coHolderSubjects(database.db, metadata, 'sub_zhang')).toEqual(['sub_wang']);
  });

  it('are none when the list does not name the holder asked about: it is not this holder’s list', async () => {
    const metadata = { holderIdentifier: ZHANG.identifier, holders: [WANG, { name: 'x', identifier: PASSPORT }] };
    expect(await coHolderSubjects(database.db, metadata, 'sub_zhang')).toEqual([]);
  });

  it('are never found by a passport or other identifier', async () => {
    const metadata = { holderIdentifier: ZHANG.identifier, holders: [ZHANG, { name: 'Alex', identifier: PASSPORT }] };
    expect(await coHolderSubjects(database.db, metadata, 'sub_zhang')).toEqual([]);
  });
});
