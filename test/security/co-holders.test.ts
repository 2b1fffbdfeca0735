/**
 * Security suite: who counts as a co-holder of a jointly held certificate (gateway/certificates/
 * store.ts). A department's answer about one holder stores the certificate in every other holder's
 * file and puts the read on their record; only a holders list that names the holder asked about is
 * taken for one, and co-holders are found by resident ID number or credit code only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../gateway/db/client.js';
import { subjects } from '../../gateway/db/schema.js';
import { coHolderSubjects } from '../../gateway/certificates/store.js';
import { storedSubjectValues } from '../../gateway/identity/subjects.js';
import { DataProtection } from '../../gateway/protection/data-protection.js';

const ZHANG = { name: '张三', identifier: '11010519491231002X' };
const WANG = { name: '王秀英', identifier: '110105195203150021' };
/** A passport number shaped like nothing else; a subject known by it is never a co-holder. */
const PASSPORT = 'E12345678';

let database: DatabaseHandle;
let protection: DataProtection;
let keyFolder: string | undefined;

beforeAll(async () => {
  database = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
  await database.migrate();
  keyFolder = await mkdtemp(join(tmpdir(), 'onewindow-co-holders-'));
  // With personal data sealed: co-holders are found by the identifiers' blind index.
  protection = await DataProtection.start(
    database.db,
    { mode: 'sm4-gcm', keyEncryptionKeyFile: join(keyFolder, 'kek.json'), previousKeyEncryptionKeyFiles: [] },
    pino({ level: 'silent' }),
  );
  const person = (id: string, identifierType: string, holder: { name: string; identifier: string }) =>
    storedSubjectValues(protection, { id, kind: 'person', identifierType, ...holder, createdByClientId: 'cli_test' });
  await database.db
    .insert(subjects)
    .values([
      person('sub_zhang', 'resident_id', ZHANG),
      person('sub_wang', 'resident_id', WANG),
      person('sub_passport', 'passport', { name: 'Alex Traveller', identifier: PASSPORT }),
    ]);
}, 60_000);

afterAll(async () => {
  await database?.close();
  if (keyFolder) await rm(keyFolder, { recursive: true, force: true });
});

describe('co-holders of a certificate', () => {
  it('are the other known holders of a list that names the holder', async () => {
    const metadata = { holderIdentifier: ZHANG.identifier, holders: [ZHANG, WANG] };
    expect(await coHolderSubjects(database.db, protection, metadata, 'sub_zhang')).toEqual(['sub_wang']);
  });

  it('are none when the list does not name the holder asked about: it is not this holder’s list', async () => {
    const metadata = { holderIdentifier: ZHANG.identifier, holders: [WANG, { name: 'x', identifier: PASSPORT }] };
    expect(await coHolderSubjects(database.db, protection, metadata, 'sub_zhang')).toEqual([]);
  });

  it('are never found by a passport or other identifier', async () => {
    const metadata = { holderIdentifier: ZHANG.identifier, holders: [ZHANG, { name: 'Alex', identifier: PASSPORT }] };
    expect(await coHolderSubjects(database.db, protection, metadata, 'sub_zhang')).toEqual([]);
  });
});
