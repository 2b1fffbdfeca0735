/**
 * Personal data at rest (gateway/protection): the ciphers against published vectors, values
 * bound to where they are kept, the blind index, and the keys' life — created at first start,
 * wrapped again when the key-encryption key is rotated, refused with a key-encryption key that
 * did not wrap them, and a sealing key rotated while another instance keeps running. A real
 * database (PGlite, or PostgreSQL when DATABASE_URL is set).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../../test/harness.js';
import type { ProtectionSettings } from '../config.js';
import { parseConfig } from '../config.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { dataKeys, subjects } from '../db/schema.js';
import { openSubjectValues, sealStoredSubjects, storedSubjectValues } from '../identity/subjects.js';
import { aeadOpen, aeadSeal, aeadSealWithIv, SealBrokenError } from '../platform/aead.js';
import { DataKeyError, DataProtection } from './data-protection.js';
import { isSealedJson, openSealedJson } from '../db/sealed-json.js';

const hex = (text: string) => Buffer.from(text, 'hex');
const bytes = (text: string) => new TextEncoder().encode(text);
const silent = pino({ level: 'silent' });

describe('the ciphers', () => {
  it('SM4-GCM gives RFC 8998 (appendix A.1) ciphertext and tag, and opens it', () => {
    const key = hex('0123456789ABCDEFFEDCBA9876543210');
    const iv = hex('00001234567800000000ABCD');
    const aad = hex('FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2');
    const plaintext = hex(['AA', 'BB', 'CC', 'DD', 'EE', 'FF', 'EE', 'AA'].map((pair) => pair.repeat(8)).join(''));
    const sealed = aeadSealWithIv('sm4-gcm', key, iv, plaintext, aad);
    expect(sealed.subarray(12, -16).toString('hex').toUpperCase()).toBe(
      '17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735' +
        'D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D',
    );
    expect(sealed.subarray(-16).toString('hex').toUpperCase()).toBe('83DE3541E4C2B58177E065A9BF7B62EC');
    expect(aeadOpen('sm4-gcm', key, sealed, aad)).toEqual(plaintext);
  });

  for (const algorithm of ['sm4-gcm', 'aes-256-gcm'] as const) {
    it(`${algorithm}: a changed byte, another key or another place does not open`, () => {
      const key = new Uint8Array(algorithm === 'sm4-gcm' ? 16 : 32).fill(7);
      const sealed = aeadSeal(algorithm, key, bytes('110105194912310021'), bytes('subjects.identifier:sub_1'));
      expect(aeadOpen(algorithm, key, sealed, bytes('subjects.identifier:sub_1')).toString()).toBe(
        '110105194912310021',
      );
      const changed = Buffer.from(sealed);
      changed[14] = (changed[14] ?? 0) ^ 1;
      expect(() => aeadOpen(algorithm, key, changed, bytes('subjects.identifier:sub_1'))).toThrow(SealBrokenError);
      expect(() => aeadOpen(algorithm, key, sealed, bytes('subjects.identifier:sub_2'))).toThrow(SealBrokenError);
      const other = new Uint8Array(key.length).fill(8);
      expect(() => aeadOpen(algorithm, other, sealed, bytes('subjects.identifier:sub_1'))).toThrow(SealBrokenError);
    });
  }
});

describe('data keys and sealed values', () => {
  let fresh: TestDatabase;
  let database: DatabaseHandle;
  let keyFolder: string;
  const settings = (
    mode: ProtectionSettings['mode'],
    current: string,
    previous: string[] = [],
  ): ProtectionSettings => ({
    mode,
    keyEncryptionKeyFile: join(keyFolder, current),
    previousKeyEncryptionKeyFiles: previous.map((file) => join(keyFolder, file)),
  });

  beforeAll(async () => {
    fresh = await freshDatabase();
    database = await openDatabase(parseConfig(fresh.environment).database);
    await database.migrate();
    keyFolder = await mkdtemp(join(tmpdir(), 'ow-data-keys-'));
  });

  afterAll(async () => {
    await database?.close();
    await fresh?.drop();
    if (keyFolder) await rm(keyFolder, { recursive: true, force: true });
  });

  it('with protection off: values stay in clear and no key is made', async () => {
    const off = await DataProtection.start(database.db, settings('off', 'a.kek.json'), silent);
    expect(off.sealText('subjects.name:sub_x', '张三')).toBe('张三');
    expect(off.lookupOf('resident_id', '11010519491231002X')).toBe('11010519491231002X');
    // Kept in clear, it would read as a sealed value that does not open: refused.
    expect(() => off.sealText('subjects.name:sub_x', 'ow1.x.y')).toThrow(TypeError);
    expect(await database.db.select().from(dataKeys)).toEqual([]);
  });

  it('seals a subject bound to its row, looks it up by a blind index, and seals the subjects kept in clear', async () => {
    await database.db.insert(subjects).values({
      id: 'sub_clear',
      kind: 'person',
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      identifierLookup: '11010519491231002X',
      name: '张三',
      createdByClientId: 'cli_test',
    });
    const on = await DataProtection.start(database.db, settings('sm4-gcm', 'a.kek.json'), silent);
    const keys = await database.db.select().from(dataKeys);
    expect(keys.map((key) => [key.purpose, key.algorithm]).sort()).toEqual([
      ['index', 'hmac-sm3'],
      ['seal', 'sm4-gcm'],
    ]);
    const values = storedSubjectValues(on, {
      id: 'sub_sealed',
      kind: 'person',
      identifierType: 'resident_id',
      identifier: '110105195203150021',
      name: '王秀英',
      createdByClientId: 'cli_test',
    });
    expect(values.identifier).toMatch(/^ow1\./);
    expect(values.name).not.toContain('王秀英');
    expect(values.identifierLookup).toMatch(/^bi1\./);
    // The same identifier gives the same lookup; another identifier type gives another one.
    expect(on.lookupOf('resident_id', '110105195203150021')).toBe(values.identifierLookup);
    expect(on.lookupOf('passport', '110105195203150021')).not.toBe(values.identifierLookup);
    await database.db.insert(subjects).values(values);
    const [row] = await database.db.select().from(subjects).where(eq(subjects.id, 'sub_sealed'));
    if (!row) throw new Error('no row');
    expect(await openSubjectValues(on, row.id, row)).toMatchObject({
      identifier: '110105195203150021',
      name: '王秀英',
    });
    // Moved to another subject's row, it does not open.
    await expect(openSubjectValues(on, 'sub_clear', row)).rejects.toThrow(SealBrokenError);

    expect(await sealStoredSubjects(database.db, on)).toEqual({ sealed: 1, left: [] });
    const [sealed] = await database.db.select().from(subjects).where(eq(subjects.id, 'sub_clear'));
    expect(sealed?.identifier).toMatch(/^ow1\./);
    expect(sealed?.identifierLookup).toBe(on.lookupOf('resident_id', '11010519491231002X'));
    if (!sealed) throw new Error('no row');
    expect((await openSubjectValues(on, sealed.id, sealed)).name).toBe('张三');
  });

  it('seals JSON for its column: opened by the column decoder, not in another column', async () => {
    const on = await DataProtection.start(database.db, settings('sm4-gcm', 'a.kek.json'), silent);
    const form = { transferee: { name: '李梅', idNumber: '330106198503150120' } };
    const sealed = on.sealJson('cases.form', form);
    expect(isSealedJson(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('李梅');
    expect(openSealedJson('cases.form', sealed)).toEqual(form);
    expect(() => openSealedJson('certificates.metadata', sealed)).toThrow(SealBrokenError);
    expect(openSealedJson('cases.form', form)).toEqual(form);
  });

  it('rotating the key-encryption key wraps the data keys again, the data untouched; the old file alone is refused', async () => {
    const before = await database.db.select().from(dataKeys);
    const [row] = await database.db.select().from(subjects).where(eq(subjects.id, 'sub_sealed'));
    if (!row) throw new Error('no row');
    const rotated = await DataProtection.start(database.db, settings('sm4-gcm', 'b.kek.json', ['a.kek.json']), silent);
    const after = await database.db.select().from(dataKeys);
    expect(new Set(after.map((key) => key.kekId)).size).toBe(1);
    expect(after[0]?.kekId).not.toBe(before[0]?.kekId);
    expect((await openSubjectValues(rotated, row.id, row)).name).toBe('王秀英');
    // B alone opens everything; A alone no longer does, and says what to do.
    const onlyB = await DataProtection.start(database.db, settings('sm4-gcm', 'b.kek.json'), silent);
    expect((await openSubjectValues(onlyB, row.id, row)).name).toBe('王秀英');
    await expect(DataProtection.start(database.db, settings('sm4-gcm', 'a.kek.json'), silent)).rejects.toThrow(
      DataKeyError,
    );
  });

  it('a sealing key rotated through one instance: values under it open in another, and reseal moves every subject to it', async () => {
    const running = await DataProtection.start(database.db, settings('sm4-gcm', 'b.kek.json'), silent);
    const rotating = await DataProtection.start(database.db, settings('sm4-gcm', 'b.kek.json'), silent);
    const newKey = await rotating.rotateSealingKey();
    const sealed = rotating.sealText('subjects.name:sub_new', '赵六');
    expect(sealed.startsWith(`ow1.${newKey}.`)).toBe(true);
    // The running instance has not seen the new key: it reads the keys again once.
    expect(await running.openText('subjects.name:sub_new', sealed)).toBe('赵六');
    expect(await sealStoredSubjects(database.db, rotating, { allKeys: true })).toEqual({ sealed: 2, left: [] });
    const rows = await database.db.select().from(subjects);
    expect(rows.every((row) => row.name.startsWith(`ow1.${newKey}.`))).toBe(true);
    const names = await Promise.all(rows.map(async (row) => (await openSubjectValues(running, row.id, row)).name));
    expect(names.sort()).toEqual(['张三', '王秀英'].sort());
  });
});
