/** Pinyin record mapping, result-code meanings, the seed's consistency and the documents. */
import { describe, expect, it } from 'vitest';
import { parseResidentIdNumber } from '../../gateway/identity/identifiers.js';
import { householdRegisterDocument, residentIdCardDocument } from './documents.js';
import type { CaseSubmissionRequest } from '@onewindow/adapter-sdk';
import {
  caseStatusOf,
  FormValueError,
  householdRegisterMetadata,
  identityAttributesOf,
  isoDateFromCompact,
  isoInstantFromCompactBeijing,
  meaningOfCode,
  moveInApplicationOf,
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

  it('reads the marital status codes of GB/T 2261.2; 90 and no code say nothing; a day that does not exist is refused', () => {
    const verified = { sfzh: '11010519491231002X', pp: '1' as const };
    expect(identityAttributesOf({ ...verified, hyzk: '10' })).toEqual({ maritalStatus: 'unmarried' });
    for (const code of ['20', '21', '22', '23'] as const)
      expect(identityAttributesOf({ ...verified, hyzk: code, hyzkbgrq: '20190520' })).toEqual({
        maritalStatus: 'married',
        maritalStatusSince: '2019-05-20',
      });
    expect(identityAttributesOf({ ...verified, hyzk: '30' })).toEqual({ maritalStatus: 'widowed' });
    expect(identityAttributesOf({ ...verified, hyzk: '40' })).toEqual({ maritalStatus: 'divorced' });
    expect(identityAttributesOf({ ...verified, hyzk: '90', hyzkbgrq: '20190520' })).toBeUndefined();
    expect(identityAttributesOf(verified)).toBeUndefined();
    expect(() => identityAttributesOf({ ...verified, hyzk: '20', hyzkbgrq: '20230230' })).toThrow(WireValueError);
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
    const card = residentIdCardMetadata({
      ...wire,
      zjhm: wire.sfzh,
      yxqxq: '20120904',
      yxqjzrq: '20220904',
      zjzt: '2',
    });
    expect(card).toMatchObject({
      certificateType: 'resident_id_card',
      certificateNumber: '11010519491231002X',
      validFrom: '2012-09-04',
      validUntil: '2022-09-04',
      status: 'revoked',
    });
  });

  it('gives every result code a meaning', () => {
    expect(meaningOfCode('0000')).toBe('success');
    expect(meaningOfCode('2001')).toBe('not_found');
    expect(meaningOfCode('2002')).toBe('not_found');
    expect(meaningOfCode('2003')).toBe('not_found');
    for (const code of ['4002', '4003', '4004', '4005']) expect(meaningOfCode(code)).toBe('business_error');
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
    expect(
      householdRegisterDocument(seededPeople.find((person) => person.sfzh === PSB_NO_HOUSEHOLD_ID_NUMBER)!),
    ).toBeNull();
  });
});

describe('PSB mapping: household move-in applications', () => {
  const submission: CaseSubmissionRequest = {
    idempotencyKey: 'dlv_01J9Z',
    caseNumber: 'OW-2026-000123',
    itemCode: 'household_move_in',
    submissionType: 'household_move_in',
    subject: { kind: 'person', idNumber: '11010519491231002x', name: ' 张三 ' },
    materials: [
      { typeCode: 'real_estate_certificate', sha256: 'AB'.repeat(32), mediaType: 'application/pdf', size: 48_213 },
    ],
    form: {
      moveInAddress: ' 北京市海淀区中关村南大街5号 ',
      certificateNo: '京(2026)海淀区不动产权第0012345号',
      price: '3000000',
    },
  };

  it("puts a case in the registry's words, materials by lower-case digest and the whole form as bdsj", () => {
    expect(moveInApplicationOf(submission)).toEqual({
      ywlsh: 'dlv_01J9Z',
      ajbh: 'OW-2026-000123',
      sxbm: 'household_move_in',
      sqr: { xm: '张三', sfzh: '11010519491231002X' },
      // A property named and no reason given: a purchase move-in.
      qrlx: '01',
      qrdz: '北京市海淀区中关村南大街5号',
      bdcqzh: '京(2026)海淀区不动产权第0012345号',
      clxx: [{ cllx: 'real_estate_certificate', sha256: 'ab'.repeat(32), mtlx: 'application/pdf', dx: 48_213 }],
      bdsj: submission.form,
    });
  });

  it('reads the reason as a word or a code, the move-out address and the accompanying persons', () => {
    const wire = moveInApplicationOf({
      ...submission,
      form: {
        qrdz: '北京市海淀区学院路30号',
        moveOutAddress: '河北省保定市莲池区东风路1号',
        moveInReason: 'relatives',
        accompanyingPersons: [{ name: '张小三', idNumber: '11010520100101001x', relation: '子' }],
      },
    });
    expect(wire).toMatchObject({
      qrlx: '02',
      qrdz: '北京市海淀区学院路30号',
      qcdz: '河北省保定市莲池区东风路1号',
      sqry: [{ xm: '张小三', sfzh: '11010520100101001X', yhzgx: '子' }],
    });
    expect(wire.bdcqzh).toBeUndefined();
    expect(moveInApplicationOf({ ...submission, form: { moveInAddress: 'x', qrlx: '03' } }).qrlx).toBe('03');
    expect(moveInApplicationOf({ ...submission, form: { moveInAddress: 'x' } }).qrlx).toBe('09');
  });

  it("reads the item catalogue's household move-in form (moveToAddress, reason)", () => {
    const wire = moveInApplicationOf({
      ...submission,
      form: { moveToAddress: '杭州市西湖区文一西路100号', reason: 'home_purchase' },
    });
    expect(wire).toMatchObject({ qrdz: '杭州市西湖区文一西路100号', qrlx: '01' });
    expect(moveInApplicationOf({ ...submission, form: { moveToAddress: 'x', reason: 'family_reunion' } }).qrlx).toBe(
      '02',
    );
    expect(moveInApplicationOf({ ...submission, form: { moveToAddress: 'x', reason: 'education' } }).qrlx).toBe('04');
  });

  it('lets the buyer move in after a transfer, into the property the form names', () => {
    const wire = moveInApplicationOf({
      ...submission,
      itemCode: 'real_estate_transfer',
      form: {
        certificateNo: '京(2026)海淀区不动产权第0012345号',
        transferee: { name: '李梅', idNumber: '330106198503150120' },
        transferReason: 'sale',
      },
    });
    expect(wire).toMatchObject({
      sqr: { xm: '李梅', sfzh: '330106198503150120' },
      qrlx: '01',
      bdcqzh: '京(2026)海淀区不动产权第0012345号',
    });
    expect(wire.qrdz).toBeUndefined();
  });

  it("moves in the buyer the case names as its counterparty, and refuses a form's transferee that is someone else", () => {
    const transfer = {
      ...submission,
      itemCode: 'real_estate_transfer',
      parties: [
        { role: 'counterparty', subject: { kind: 'person' as const, name: '李梅 ', idNumber: '330106198503150120' } },
      ],
      form: { certificateNo: '京(2026)海淀区不动产权第0012345号', transferReason: 'sale' },
    };
    // Without a transferee in the form the named buyer moves in.
    expect(moveInApplicationOf(transfer).sqr).toEqual({ xm: '李梅', sfzh: '330106198503150120' });
    // The form agrees with the party: the party (the gateway resolved it) is what is sent.
    expect(
      moveInApplicationOf({
        ...transfer,
        form: { ...transfer.form, transferee: { name: '李 梅', idNumber: '330106198503150120' } },
      }).sqr,
    ).toEqual({ xm: '李梅', sfzh: '330106198503150120' });
    expect(() =>
      moveInApplicationOf({
        ...transfer,
        form: { ...transfer.form, transferee: { name: '王秀英', idNumber: '110105195203150021' } },
      }),
    ).toThrow(/none of the buyers/);
    // Two buyers (a married couple): the one the form names moves in; without a transferee, the first named.
    const couple = {
      ...transfer,
      parties: [
        ...transfer.parties,
        { role: 'counterparty', subject: { kind: 'person' as const, name: '王建国', idNumber: '320102197807120033' } },
      ],
    };
    expect(moveInApplicationOf(couple).sqr).toEqual({ xm: '李梅', sfzh: '330106198503150120' });
    expect(
      moveInApplicationOf({
        ...couple,
        form: { ...couple.form, transferee: { name: '王建国', idNumber: '320102197807120033' } },
      }).sqr,
    ).toEqual({ xm: '王建国', sfzh: '320102197807120033' });
    expect(() =>
      moveInApplicationOf({
        ...transfer,
        parties: [
          { role: 'counterparty', subject: { kind: 'organisation', creditCode: '91110105MA01ABCD2X', name: '某公司' } },
        ],
      }),
    ).toThrow(/must be a person/);
    // Another role (an agent) does not move in.
    expect(
      moveInApplicationOf({
        ...transfer,
        parties: [{ role: 'agent', subject: { kind: 'person', name: '王小明', idNumber: '110101199003070038' } }],
        form: { ...transfer.form, transferee: { name: '李梅', idNumber: '330106198503150120' } },
      }).sqr,
    ).toEqual({ xm: '李梅', sfzh: '330106198503150120' });
  });

  it('refuses what the registry could not take, naming the form member and no values', () => {
    const refused = (form: Record<string, unknown>, subject: CaseSubmissionRequest['subject'] = submission.subject) => {
      try {
        moveInApplicationOf({ ...submission, subject, form });
      } catch (error) {
        if (error instanceof FormValueError) return error.message;
        throw error;
      }
      throw new Error('expected a FormValueError');
    };
    expect(refused({ moveOutAddress: 'x' })).toMatch(/moveInAddress/);
    expect(refused({ moveInAddress: 'x', transferee: { name: '某公司', idNumber: '91110105MA01ABCD2X' } })).toMatch(
      /transferee/,
    );
    expect(refused({ moveInAddress: 'x', moveInReason: 'marriage' })).toMatch(/move-in reason/);
    expect(refused({ moveInAddress: 'x', accompanyingPersons: 'all of them' })).toMatch(/accompanyingPersons/);
    expect(
      refused({ moveInAddress: 'x', accompanyingPersons: [{ name: '张小三', idNumber: '123', relation: '子' }] }),
    ).toMatch(/accompanyingPersons\[0\]/);
    expect(
      refused({ moveInAddress: 'x' }, { kind: 'organisation', creditCode: '91110105MA01ABCD2X', name: '某公司' }),
    ).toMatch(/person/);
  });

  it('maps statuses and Beijing time stamps', () => {
    expect(caseStatusOf).toEqual({
      '01': 'received',
      '02': 'in_progress',
      '03': 'awaiting_applicant',
      '04': 'completed',
      '05': 'rejected',
      '06': 'rejected',
    });
    expect(isoInstantFromCompactBeijing('20261001080000')).toBe('2026-10-01T00:00:00.000Z');
    expect(isoInstantFromCompactBeijing('20260101000000')).toBe('2025-12-31T16:00:00.000Z');
    for (const impossible of [
      '20260231120000',
      '20260101240000',
      '20260101126000',
      '2026010112000',
      'abcdefghijklmn',
    ]) {
      expect(() => isoInstantFromCompactBeijing(impossible), impossible).toThrow(WireValueError);
    }
  });
});
