/**
 * Identifier masking in free text (error messages, request ids): every identifier-shaped run is
 * masked the way the API masks it, and ids of our own and longer runs are left alone.
 */
import { describe, expect, it } from 'vitest';
import {
  containsIdentifier,
  maskCreditCode,
  maskForOversight,
  maskIdentifiersInNote,
  maskIdentifiersInText,
  maskJsonForOversight,
  maskNamesInText,
  maskPassport,
  maskPermanentResidence,
  maskResidentId,
  maskTravelPermit,
} from './identifier-masking.js';

describe('maskIdentifiersInText', () => {
  it('masks ID numbers (18 characters, either x, and the 15-digit form) and credit codes (either case) wherever they stand alone', () => {
    expect(maskIdentifiersInText('GET /v1/subjects/11010519491231002X?again=11010519491231002x')).toBe(
      'GET /v1/subjects/110105********002X?again=110105********002x',
    );
    expect(maskIdentifiersInText('old form 110105491231002.')).toBe('old form 110105*****1002.');
    expect(maskIdentifiersInText('value "91350100M000100Y43" and 91350100m000100y43')).toBe(
      'value "91350100********43" and 91350100********43',
    );
    expect(maskIdentifiersInText('id_11010519491231002X_end')).toBe('id_110105********002X_end');
  });

  it('leaves our own ids, longer runs and ordinary words alone', () => {
    const untouched = [
      'req_d45b3a5ffa6a4a7da67baef65e6ccd51',
      'sub_ABCDEFGHJKLMNPQR',
      '1101051949123100211 has 19 digits',
      'date/time field value out of range: "0000-12-31T16:00:00.000Z"',
      'authenticationfailure',
    ];
    for (const text of untouched) expect(maskIdentifiersInText(text)).toBe(text);
  });

  it('masks permanent resident card numbers (2023: shaped like ID numbers; 2017: three letters and 12 digits)', () => {
    expect(maskIdentifiersInText('card 911840198503150120 refused')).toBe('card 911840********0120 refused');
    expect(maskIdentifiersInText('card 91184019850315018x.')).toBe('card 911840********018x.');
    expect(maskIdentifiersInText('old card USA118503150012, again usa118503150012')).toBe(
      'old card USA11********12, again usa11********12',
    );
  });

  it('masks Hong Kong and Macao travel permits (with or without the renewal count) and PRC passports', () => {
    expect(maskIdentifiersInText('通行证H12345678与M8765432101')).toBe('通行证H******78与M********01');
    expect(maskIdentifiersInText('passport E12345678 / EA1234567 / G12345678')).toBe(
      'passport E******78 / E******67 / G******78',
    );
  });

  it('leaves alone what cannot be told from ordinary text: foreign passports, Taiwan permits (8 digits), dates', () => {
    const untouched = [
      'passport C01X00T47',
      'permit 01234567',
      'on 20250615',
      'H1234567 has 7 digits',
      'build E1234567 and E123456789',
      'HK12345678',
      'USA11850315001',
    ];
    for (const text of untouched) expect(maskIdentifiersInText(text)).toBe(text);
  });

  it('agrees with the masks of single values', () => {
    expect(maskIdentifiersInText('11010519491231002X')).toBe(maskResidentId('11010519491231002X'));
    expect(maskIdentifiersInText('91350100M000100Y43')).toBe(maskCreditCode('91350100M000100Y43'));
    expect(maskIdentifiersInText('911840198503150120')).toBe(maskPermanentResidence('911840198503150120'));
    expect(maskIdentifiersInText('USA118503150012')).toBe(maskPermanentResidence('USA118503150012'));
    expect(maskIdentifiersInText('H12345678')).toBe(maskTravelPermit('H12345678'));
    expect(maskIdentifiersInText('E12345678')).toBe(maskPassport('E12345678'));
  });
});

describe('containsIdentifier', () => {
  it('finds identifier shapes, every time it is asked', () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(containsIdentifier('trace-11010519491231002X')).toBe(true);
      expect(containsIdentifier('req_d45b3a5ffa6a4a7da67baef65e6ccd51')).toBe(false);
      expect(containsIdentifier('trace-911840198503150120')).toBe(true);
      expect(containsIdentifier('trace-USA118503150012')).toBe(true);
      expect(containsIdentifier('trace-H12345678')).toBe(true);
      expect(containsIdentifier('trace-E12345678')).toBe(true);
      expect(containsIdentifier('trace-C01X00T47')).toBe(false);
    }
  });
});

describe('free text from elsewhere and oversight', () => {
  it('masks mobile numbers beside identifiers in a note, and leaves longer digit runs alone', () => {
    expect(maskIdentifiersInNote('签收人：门卫 13812345678')).toBe('签收人：门卫 138****5678');
    expect(maskIdentifiersInNote('单号 9138123456789012')).toBe('单号 9138123456789012');
    expect(maskIdentifiersInNote('申请人 11010519491231002X')).toBe('申请人 110105********002X');
    expect(maskIdentifiersInNote(null)).toBeNull();
  });

  it('keeps the leading third of a text for oversight, at most six characters', () => {
    expect(maskForOversight('张三')).toBe('张*');
    expect(maskForOversight('北京市海淀区中关村大街1号院3号楼')).toBe('北京市海淀区***********');
    expect(maskForOversight('')).toBe('');
    // An ID number is masked before the prefix is kept, so its division is all that shows.
    expect(maskForOversight('11010519491231002X')).toBe('110105************');
  });

  it('masks the names a case holds wherever free text repeats them, longest first', () => {
    expect(maskNamesInText('李梅（买方）已签字，王五代办', ['李梅', '王五'])).toBe('李*（买方）已签字，王*代办');
    expect(maskNamesInText('欧阳娜娜与欧阳', ['欧阳', '欧阳娜娜'])).toBe('欧***与欧*');
    // One character is a word, not a name worth hiding everywhere.
    expect(maskNamesInText('张家口市', ['张'])).toBe('张家口市');
    // A name at the start of a reason would survive the leading third without it.
    expect(maskForOversight('李梅提供的材料不全', ['李梅'])).toBe('李*提******');
    expect(maskForOversight('李梅提供的材料不全')).toBe('李梅提******');
  });

  it('masks every string of a form, keeping its keys, numbers and booleans', () => {
    expect(
      maskJsonForOversight({
        moveToAddress: '杭州市西湖区文三路90号',
        members: [{ name: '李梅', age: 41 }],
        ownsHome: true,
        note: null,
      }),
    ).toEqual({
      moveToAddress: '杭州市西********',
      members: [{ name: '李*', age: 41 }],
      ownsHome: true,
      note: null,
    });
    // 「李梅（买方）」 keeps two of six characters: without the case's names, the whole name.
    expect(maskJsonForOversight({ buyer: '李梅（买方）' })).toEqual({ buyer: '李梅****' });
    expect(maskJsonForOversight({ buyer: '李梅（买方）' }, ['李梅'])).toEqual({ buyer: '李*****' });
    // A mobile typed as a JSON number is masked as text; an age or an area stays a number.
    expect(maskJsonForOversight({ phone: 13812345678, age: 41, area: 89.5, rooms: [3] })).toEqual({
      phone: '138********',
      age: 41,
      area: 89.5,
      rooms: [3],
    });
  });
});
