/** Pinyin record mapping, result-code meanings, the seed's consistency and the documents. */
import { describe, expect, it } from 'vitest';
import { parseResidentIdNumber } from '../../gateway/identity/identifiers.js';
import { householdRegisterDocument, residentIdCardDocument } from './documents.js';
import {
  householdRegisterMetadata,
  isoDateFromCompact,
  meaningOfCode,
  personFromWire,
  residentIdCardMetadata,
  validUntilFromWire,
  WireValueError,
} from './mapping.js';
import type { HouseholdRegisterWire } from './protocol.js';
import { PSB_NO_HOUSEHOLD_ID_NUMBER, PSB_UNKNOWN_ID_NUMBER, seededPeople } from './seed.js';

const wire: HouseholdRegisterWire = {
  xm: ' 张三 ',
  sfzh: '11010519491231002x',
  xb: '2',
  mz: '01',
  csrq: '19491231',
  zz: '北京市朝阳区建国路88号',
  hh: '110105012345',
  hzxm: '张三',
  yhzgx: '户主',
  hb: '家庭户',
  zjhm: 'hj110105012345',
  qfjg: '北京市公安局朝阳分局建外派出所',
  yxqxq: '19800312',
  yxqjzrq: '长期',
  zjzt: '1',
  wjlx: 'pdf',
  wjnr: 'JVBERi0=',
};

describe('PSB mapping', () => {
  it('turns yyyyMMdd into YYYY-MM-DD and refuses dates that do not exist', () => {
    expect(isoDateFromCompact('19491231')).toBe('1949-12-31');
    expect(isoDateFromCompact('20000229')).toBe('2000-02-29');
    expect(() => isoDateFromCompact('19000229')).toThrow(WireValueError);
    expect(() => isoDateFromCompact('20231301')).toThrow(WireValueError);
    expect(() => isoDateFromCompact('1949-12-31')).toThrow(WireValueError);
  });

  it('reads 长期 as no expiry', () => {
    expect(validUntilFromWire('长期')).toBeNull();
    expect(validUntilFromWire('20380722')).toBe('2038-07-22');
  });

  it('maps the pinyin person fields', () => {
    expect(personFromWire(wire)).toEqual({
      name: '张三',
      idNumber: '11010519491231002X',
      sex: 'female',
      ethnicityCode: '01',
      birthDate: '1949-12-31',
      address: '北京市朝阳区建国路88号',
    });
    expect(personFromWire({ ...wire, xb: '1' }).sex).toBe('male');
  });

  it('maps household-register and ID-card metadata', () => {
    expect(householdRegisterMetadata(wire)).toEqual({
      certificateType: 'household_register',
      certificateNumber: 'HJ110105012345',
      holderName: '张三',
      holderIdentifier: '11010519491231002X',
      issuingAuthority: '北京市公安局朝阳分局建外派出所',
      issueDate: '1980-03-12',
      validFrom: '1980-03-12',
      validUntil: null,
      status: 'valid',
    });
    const card = residentIdCardMetadata({ ...wire, zjhm: wire.sfzh, yxqxq: '20120904', yxqjzrq: '20220904', zjzt: '2' });
    expect(card).toMatchObject({ certificateType: 'resident_id_card', certificateNumber: '11010519491231002X', validFrom: '2012-09-04', validUntil: '2022-09-04', status: 'revoked' });
  });

  it('gives every result code a meaning', () => {
    expect(meaningOfCode('0000')).toBe('success');
    expect(meaningOfCode('2001')).toBe('not_found');
    expect(meaningOfCode('2002')).toBe('not_found');
    for (const code of ['1001', '1002', '1003', '1004', '3001']) expect(meaningOfCode(code)).toBe('rejected');
    expect(meaningOfCode('9999')).toBe('unavailable');
    expect(meaningOfCode('4001')).toBe('business_error');
    expect(meaningOfCode('5123')).toBe('business_error');
  });
});

describe('PSB seed', () => {
  it('has valid, consistent ID numbers (check character, birth date, sex)', () => {
    expect(seededPeople.length).toBeGreaterThanOrEqual(5);
    for (const person of seededPeople) {
      const parsed = parseResidentIdNumber(person.sfzh);
      if (!parsed.ok) throw new Error(`seed number invalid: ${parsed.code}`);
      expect(parsed.value).toBe(person.sfzh);
      expect(parsed.birthDate).toBe(isoDateFromCompact(person.csrq));
      expect(parsed.sex).toBe(person.xb === '1' ? 'male' : 'female');
    }
    expect(parseResidentIdNumber(PSB_UNKNOWN_ID_NUMBER).ok).toBe(true);
    expect(seededPeople.some((person) => person.sfzh === PSB_UNKNOWN_ID_NUMBER)).toBe(false);
    expect(seededPeople.find((person) => person.sfzh === PSB_NO_HOUSEHOLD_ID_NUMBER)?.household).toBeUndefined();
  });

  it('agrees with the gateway demo', () => {
    expect(seededPeople.find((person) => person.sfzh === '11010519491231002X')?.xm).toBe('张三');
    expect(seededPeople.find((person) => person.sfzh === '330106198503150120')?.xm).toBe('李梅');
  });
});

describe('PSB documents', () => {
  it('are deterministic PDFs, different per certificate', () => {
    const [first, second] = seededPeople;
    if (!first || !second) throw new Error('seed too small');
    const card = Buffer.from(residentIdCardDocument(first));
    expect(card.subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');
    expect(card.subarray(-6).toString('latin1')).toBe('%%EOF\n');
    expect(card.equals(Buffer.from(residentIdCardDocument(first)))).toBe(true);
    expect(card.equals(Buffer.from(residentIdCardDocument(second)))).toBe(false);
    expect(card.equals(Buffer.from(householdRegisterDocument(first)!))).toBe(false);
    expect(householdRegisterDocument(seededPeople.find((person) => person.sfzh === PSB_NO_HOUSEHOLD_ID_NUMBER)!)).toBeNull();
  });
});
