/**
 * Resident identity numbers, unified social credit codes, passports, Mainland Travel Permits and
 * foreign permanent resident ID cards. Check characters are computed here by an independent
 * reference (weights derived as powers, check found as "the value that makes the weighted total
 * vanish", table look-up for MOD 11-2), not by calling the functions under test; public vectors
 * were also verified by hand (see the comments on them). The country table is data, shared.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iso3166Alpha3ByNumeric, iso3166Alpha3Codes, iso3166NumericByAlpha3 } from './countries.js';
import {
  type IdentifierFailure,
  type IdentifierFailureCode,
  type SubjectIdentifierOptions,
  type SubjectIdentifierType,
  creditCodeCheckCharacter,
  identifierFailureCodes,
  maskCreditCode,
  maskName,
  maskPassport,
  maskPermanentResidence,
  maskResidentId,
  maskSubjectIdentifier,
  maskTravelPermit,
  organisationCodeCheckCharacter,
  parseCreditCode,
  parseForeignPermanentResidence,
  parseMainlandTravelPermit,
  parsePassport,
  parseResidentIdNumber,
  parseSubjectIdentifier,
  personIdentifierTypes,
  residentIdCheckCharacter,
  subjectIdentifierTypes,
} from './identifiers.js';

// ---------------------------------------------------------------------------------------------
// Independent reference implementations
// ---------------------------------------------------------------------------------------------

/** MOD 11-2: weight of position i (0-based, 17 positions) is 2^(17-i) mod 11; check via the published table. */
function refIdCheck(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    let weight = 1;
    for (let k = 0; k < 17 - i; k++) weight = (weight * 2) % 11;
    sum += Number(first17[i]) * weight;
  }
  return '10X98765432'[sum % 11] ?? '?';
}

const CHARSET31 = '0123456789ABCDEFGHJKLMNPQRTUWXY';

function refCreditSum(first17: string): number {
  let sum = 0;
  let weight = 1;
  for (let i = 0; i < 17; i++) {
    sum += CHARSET31.indexOf(first17[i] ?? '') * weight;
    weight = (weight * 3) % 31;
  }
  return sum;
}

/** The check value c in 0..30 with (sum + c) ≡ 0 (mod 31). */
function refCreditCheck(first17: string): string {
  const sum = refCreditSum(first17);
  for (let c = 0; c < 31; c++) if ((sum + c) % 31 === 0) return CHARSET31[c] ?? '?';
  return '?';
}

/** GB 11714: the check value c in 0..10 with (sum + c) ≡ 0 (mod 11), 10 written X. */
function refOrgCheck(body: string): string {
  const weights = [3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += parseInt(body[i] ?? '', 36) * (weights[i] ?? 0);
  for (let c = 0; c <= 10; c++) if ((sum + c) % 11 === 0) return c === 10 ? 'X' : String(c);
  return '?';
}

const PROVINCES = [
  '11',
  '12',
  '13',
  '14',
  '15',
  '21',
  '22',
  '23',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '37',
  '41',
  '42',
  '43',
  '44',
  '45',
  '46',
  '50',
  '51',
  '52',
  '53',
  '54',
  '61',
  '62',
  '63',
  '64',
  '65',
  '71',
  '81',
  '82',
];
const ID_PREFIXES = [...PROVINCES, '83', '91'];
/** Issuing places of permanent resident ID cards: the mainland provinces (no 71, 81, 82). */
const MAINLAND_PROVINCES = PROVINCES.filter((code) => Number(code) < 70);
const CHINESE = ['CHN', 'HKG', 'MAC', 'TWN'];
/** Numeric codes of foreign nationalities, from the shared ISO 3166-1 table. */
const FOREIGN_NUMERIC = [...iso3166Alpha3ByNumeric]
  .filter(([, alpha3]) => !CHINESE.includes(alpha3))
  .map(([numeric]) => numeric);

/** The 2023 permanent-residence shape (9, mainland province, foreign numeric nationality) or the 2017 one. */
function refLooksLikePermanentResidence(value: string): boolean {
  if (/^9\d{16}[\dX]$/.test(value))
    return MAINLAND_PROVINCES.includes(value.slice(1, 3)) && FOREIGN_NUMERIC.includes(value.slice(3, 6));
  return (
    /^[A-Z]{3}\d{12}$/.test(value) && iso3166Alpha3Codes.has(value.slice(0, 3)) && !CHINESE.includes(value.slice(0, 3))
  );
}

/** Real Gregorian date, 1800-01-01 ≤ date ≤ todayIso. */
function refDateValid(yyyymmdd: string, todayIso: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false;
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
  return iso >= '1800-01-01' && iso <= todayIso;
}

const AUTHORITY_CATEGORIES: Record<string, string> = {
  '1': '1239',
  '2': '19',
  '3': '123459',
  '4': '19',
  '5': '1239',
  '6': '129',
  '7': '129',
  '8': '19',
  '9': '123',
  A: '19',
  N: '1239',
  Y: '1',
};
const AUTHORITY_PAIRS = Object.entries(AUTHORITY_CATEGORIES).flatMap(([a, cs]) => [...cs].map((c) => a + c));

function refCreditDivisionValid(division: string): boolean {
  return /^\d{6}$/.test(division) && (division === '100000' || PROVINCES.includes(division.slice(0, 2)));
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/** A fixed "today": noon UTC = 20:00 in China, so the China date is 2025-06-15. */
const TODAY = new Date('2025-06-15T12:00:00Z');
const TODAY_ISO = '2025-06-15';

const digit = fc.constantFrom(...'0123456789');
const digits = (n: number) => fc.string({ unit: digit, minLength: n, maxLength: n });
const dateArb = (min: string, max: string) =>
  fc
    .date({ min: new Date(`${min}T00:00:00Z`), max: new Date(`${max}T00:00:00Z`), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10).replaceAll('-', ''));

const validIdArb = fc
  .tuple(fc.constantFrom(...ID_PREFIXES), digits(4), dateArb('1900-01-01', TODAY_ISO), digits(3))
  .map(([prefix, rest, birth, seq]) => {
    const first17 = prefix + rest + birth + seq;
    return first17 + refIdCheck(first17);
  })
  // A `91` number whose digits 2-6 read as a province and a foreign nationality is a permanent
  // resident card number (`911840…`), refused as an identity number.
  .filter((id) => !refLooksLikePermanentResidence(id));

/** 2023 permanent resident ID card numbers: 9, issuing province, foreign nationality, birth, sequence, MOD 11-2. */
const validPermanentResidence2023Arb = fc
  .tuple(
    fc.constantFrom(...MAINLAND_PROVINCES),
    fc.constantFrom(...FOREIGN_NUMERIC),
    dateArb('1900-01-01', TODAY_ISO),
    digits(3),
  )
  .map(([province, nationality, birth, seq]) => {
    const first17 = `9${province}${nationality}${birth}${seq}`;
    return first17 + refIdCheck(first17);
  });

const char31 = fc.constantFrom(...CHARSET31);
const validCreditArb = fc
  .tuple(
    fc.constantFrom(...AUTHORITY_PAIRS),
    fc.oneof(
      fc.tuple(fc.constantFrom(...PROVINCES), digits(4)).map(([p, r]) => p + r),
      fc.constant('100000'),
    ),
    fc.string({ unit: char31, minLength: 8, maxLength: 8 }),
  )
  .map(([pair, division, body]) => {
    const first17 = pair + division + body + refOrgCheck(body);
    return first17 + refCreditCheck(first17);
  });

function expectFailure(result: unknown, code: IdentifierFailureCode): IdentifierFailure {
  expect(result).toMatchObject({ ok: false, code });
  return result as IdentifierFailure;
}

function replaceAt(value: string, position: number, character: string): string {
  return value.slice(0, position) + character + value.slice(position + 1);
}

/** The code the ID parser must report for an 18-character candidate, per the independent reference. */
function expectedIdCode(candidate: string): IdentifierFailureCode | 'ok' {
  if (refLooksLikePermanentResidence(candidate)) return 'id_number_permanent_residence';
  if (!/^\d{17}[\dX]$/.test(candidate)) return 'id_number_characters';
  if (!ID_PREFIXES.includes(candidate.slice(0, 2))) return 'id_number_division';
  if (!refDateValid(candidate.slice(6, 14), TODAY_ISO)) return 'id_number_birth_date';
  if (refIdCheck(candidate.slice(0, 17)) !== candidate[17]) return 'id_number_check';
  return 'ok';
}

function expectedCreditCode(candidate: string): IdentifierFailureCode | 'ok' {
  if (!AUTHORITY_PAIRS.includes(candidate.slice(0, 2))) return 'credit_code_authority';
  if (!refCreditDivisionValid(candidate.slice(2, 8))) return 'credit_code_division';
  if (refOrgCheck(candidate.slice(8, 16)) !== candidate[16]) return 'credit_code_organisation_check';
  if (refCreditCheck(candidate.slice(0, 17)) !== candidate[17]) return 'credit_code_check';
  return 'ok';
}

// ---------------------------------------------------------------------------------------------
// Resident identity number
// ---------------------------------------------------------------------------------------------

describe('resident identity number', () => {
  it('accepts the published example 11010519491231002X (hand-checked: sum 167, 167 mod 11 = 2 → X)', () => {
    expect(refIdCheck('11010519491231002')).toBe('X');
    expect(parseResidentIdNumber('11010519491231002X', { today: TODAY })).toEqual({
      ok: true,
      kind: 'resident_id',
      value: '11010519491231002X',
      divisionCode: '110105',
      birthDate: '1949-12-31',
      sex: 'female',
      convertedFrom15: false,
    });
  });

  it('normalises lowercase x and surrounding whitespace', () => {
    const parsed = parseResidentIdNumber(' \t11010519491231002x\u3000\n', { today: TODAY });
    expect(parsed).toMatchObject({ ok: true, value: '11010519491231002X' });
  });

  it('computes the check character like the reference for every remainder class', () => {
    fc.assert(
      fc.property(digits(17), (first17) => {
        expect(residentIdCheckCharacter(first17)).toBe(refIdCheck(first17));
      }),
      { numRuns: 2000 },
    );
    expect(() => residentIdCheckCharacter('1234')).toThrow(RangeError);
    expect(() => residentIdCheckCharacter('1101051949123100X')).toThrow(RangeError);
  });

  it('parses and round-trips every generated valid number', () => {
    fc.assert(
      fc.property(validIdArb, (id) => {
        const parsed = parseResidentIdNumber(id, { today: TODAY });
        if (!parsed.ok) throw new Error(`rejected ${id}: ${parsed.code}`);
        expect(parsed.value).toBe(id);
        expect(parsed.divisionCode).toBe(id.slice(0, 6));
        expect(parsed.birthDate.replaceAll('-', '')).toBe(id.slice(6, 14));
        expect(parsed.sex).toBe(Number(id.slice(14, 17)) % 2 === 1 ? 'male' : 'female');
        expect(parsed.convertedFrom15).toBe(false);
        expect(parseResidentIdNumber(parsed.value, { today: TODAY })).toEqual(parsed);
        expect(parseResidentIdNumber(` ${id.toLowerCase()} `, { today: TODAY })).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects every single-digit substitution, with the code of the part it broke', () => {
    fc.assert(
      fc.property(validIdArb, fc.integer({ min: 0, max: 17 }), fc.constantFrom(...'0123456789X'), (id, pos, ch) => {
        fc.pre(id[pos] !== ch && (ch !== 'X' || pos === 17));
        const mutated = replaceAt(id, pos, ch);
        const expected = expectedIdCode(mutated);
        expect(expected).not.toBe('ok'); // MOD 11-2 catches every single substitution
        expect(parseResidentIdNumber(mutated, { today: TODAY })).toMatchObject({ ok: false, code: expected });
        // Outside the division prefix and the birth date only the check can catch it (unless the
        // digits 2-6 of a `91` number now read as a permanent resident card's province and nationality).
        if (pos >= 2 && (pos < 6 || pos >= 14) && expected !== 'id_number_permanent_residence')
          expect(expected).toBe('id_number_check');
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects every swap of two adjacent different characters', () => {
    fc.assert(
      fc.property(validIdArb, fc.integer({ min: 0, max: 16 }), (id, pos) => {
        const a = id[pos] ?? '';
        const b = id[pos + 1] ?? '';
        fc.pre(a !== b);
        const swapped = id.slice(0, pos) + b + a + id.slice(pos + 2);
        const expected = expectedIdCode(swapped);
        expect(expected).not.toBe('ok');
        expect(parseResidentIdNumber(swapped, { today: TODAY })).toMatchObject({ ok: false, code: expected });
      }),
      { numRuns: 2000 },
    );
  });

  it('converts 15-digit numbers to valid 18-digit numbers born in 19yy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROVINCES),
        digits(4),
        dateArb('1900-01-01', '1999-12-31'),
        digits(3),
        (prefix, rest, birth, seq) => {
          const old = prefix + rest + birth.slice(2) + seq;
          const parsed = parseResidentIdNumber(old, { today: TODAY });
          if (!parsed.ok) throw new Error(`rejected ${old}: ${parsed.code}`);
          const first17 = prefix + rest + birth + seq;
          expect(parsed.value).toBe(first17 + refIdCheck(first17));
          expect(parsed.birthDate.slice(0, 2)).toBe('19');
          expect(parsed.birthDate.replaceAll('-', '')).toBe(birth);
          expect(parsed.convertedFrom15).toBe(true);
          expect(parsed.sex).toBe(Number(seq) % 2 === 1 ? 'male' : 'female');
          expect(parseResidentIdNumber(parsed.value, { today: TODAY })).toEqual({ ...parsed, convertedFrom15: false });
        },
      ),
      { numRuns: 300 },
    );
    // 83 and 91 were never first-generation prefixes.
    expectFailure(parseResidentIdNumber('830000491231002', { today: TODAY }), 'id_number_division');
    expectFailure(parseResidentIdNumber('911840850315012', { today: TODAY }), 'id_number_division');
    // The published example's 15-digit form (1949 → 49, no check digit).
    expect(parseResidentIdNumber('110105491231002', { today: TODAY })).toMatchObject({
      ok: true,
      value: '11010519491231002X',
      birthDate: '1949-12-31',
      convertedFrom15: true,
    });
  });

  describe('each failure code is reachable', () => {
    const withCheck = (first17: string) => first17 + refIdCheck(first17);

    it('id_number_length', () => {
      for (const bad of ['', '1101051949123100', '11010519491231002X1', '1234567890123456', '          ']) {
        expectFailure(parseResidentIdNumber(bad, { today: TODAY }), 'id_number_length');
      }
      expect(expectFailure(parseResidentIdNumber('1101051949', { today: TODAY }), 'id_number_length').message).toMatch(
        /has 10\.$/,
      );
    });

    it('id_number_characters', () => {
      for (const bad of [
        '1101051949123100X2', // X not last
        '11010519491231002Y',
        '110105-9491231002X',
        '11010549123100X', // X in the 15-digit form
        '１１０１０５１９４９１２３１００２Ｘ', // full-width digits are not normalised
      ]) {
        expectFailure(parseResidentIdNumber(bad, { today: TODAY }), 'id_number_characters');
      }
    });

    it('id_number_division', () => {
      for (const prefix of [
        '00',
        '10',
        '16',
        '20',
        '24',
        '30',
        '38',
        '40',
        '47',
        '49',
        '55',
        '60',
        '66',
        '70',
        '72',
        '80',
        '84',
        '90',
        '92',
        '99',
      ]) {
        expectFailure(
          parseResidentIdNumber(withCheck(`${prefix}010519491231002`), { today: TODAY }),
          'id_number_division',
        );
      }
      for (const prefix of ['11', '15', '46', '54', '65', '71', '81', '82', '83', '91']) {
        expect(parseResidentIdNumber(withCheck(`${prefix}010519491231002`), { today: TODAY }).ok).toBe(true);
      }
      // Positions 3-6 are not looked up.
      expect(parseResidentIdNumber(withCheck('11000019491231002'), { today: TODAY }).ok).toBe(true);
    });

    it('id_number_birth_date: impossible dates', () => {
      for (const date of [
        '20230230',
        '19000229',
        '20230229',
        '20231301',
        '20230001',
        '20230100',
        '20230431',
        '19491232',
      ]) {
        const result = parseResidentIdNumber(withCheck(`110105${date}002`), { today: TODAY });
        expect(expectFailure(result, 'id_number_birth_date').message).toMatch(/not a real calendar date/);
      }
      expect(parseResidentIdNumber(withCheck('11010520000229002'), { today: TODAY }).ok).toBe(true);
      expect(parseResidentIdNumber(withCheck('11010520240229002'), { today: TODAY }).ok).toBe(true);
      // 15-digit form: 19000229 does not exist (1900 is not a leap year).
      expectFailure(parseResidentIdNumber('110105000229002', { today: TODAY }), 'id_number_birth_date');
    });

    it('id_number_birth_date: before 1800 and in the future', () => {
      expect(
        expectFailure(parseResidentIdNumber(withCheck('11010517991231002'), { today: TODAY }), 'id_number_birth_date')
          .message,
      ).toMatch(/before 1800/);
      // The example in GB 11643-1999 itself: born 1880-01-01.
      expect(parseResidentIdNumber('440524188001010014', { today: TODAY }).ok).toBe(true);
      expect(parseResidentIdNumber(withCheck('11010518991231002'), { today: TODAY }).ok).toBe(true);
      expect(parseResidentIdNumber(withCheck('11010519000101002'), { today: TODAY }).ok).toBe(true);
      expect(parseResidentIdNumber(withCheck('11010520250615002'), { today: TODAY }).ok).toBe(true);
      expect(
        expectFailure(parseResidentIdNumber(withCheck('11010520250616002'), { today: TODAY }), 'id_number_birth_date')
          .message,
      ).toMatch(/in the future/);
      // Default "today" is now: next year is always in the future.
      const nextYear = new Date().getUTCFullYear() + 1;
      expectFailure(parseResidentIdNumber(withCheck(`110105${nextYear}0101002`)), 'id_number_birth_date');
    });

    it('id_number_birth_date: "today" is the date in China (UTC+8)', () => {
      const bornMarch2 = withCheck('11010520240302002');
      // 2024-03-01 15:59 UTC is 23:59 on 1 March in Beijing: a 2 March birth is still in the future.
      expectFailure(
        parseResidentIdNumber(bornMarch2, { today: new Date('2024-03-01T15:59:00Z') }),
        'id_number_birth_date',
      );
      // 16:30 UTC is 00:30 on 2 March in Beijing.
      expect(parseResidentIdNumber(bornMarch2, { today: new Date('2024-03-01T16:30:00Z') }).ok).toBe(true);
    });

    it('id_number_check', () => {
      for (const bad of ['110105194912310020', '110105194912310021', '11010519491231003X']) {
        expectFailure(parseResidentIdNumber(bad, { today: TODAY }), 'id_number_check');
      }
    });

    it('id_number_permanent_residence: a permanent resident card number sent as an identity number', () => {
      // 911840198503150120: issued in Beijing (11) to a US citizen (840); hand-checked: sum 298, 298 mod 11 = 1 → 0.
      expect(refIdCheck('91184019850315012')).toBe('0');
      for (const bad of [
        '911840198503150120',
        '911840198503150121',
        '931276199001010015',
        'USA118503150012',
        ' usa118503150012 ',
      ]) {
        const failure = expectFailure(parseResidentIdNumber(bad, { today: TODAY }), 'id_number_permanent_residence');
        expect(failure.message).toMatch(/foreign_permanent_residence/);
      }
      // `91` numbers that do not read as province + foreign nationality stay identity numbers (as agreed).
      expect(parseResidentIdNumber(withCheck('91010519491231002'), { today: TODAY }).ok).toBe(true);
      expect(parseResidentIdNumber(withCheck('91199919491231002'), { today: TODAY }).ok).toBe(true); // 999 is no country
      expect(parseResidentIdNumber(withCheck('91115619491231002'), { today: TODAY }).ok).toBe(true); // 156 is China
      // 9x prefixes that are neither stay division failures.
      expectFailure(parseResidentIdNumber(withCheck('92999919491231002'), { today: TODAY }), 'id_number_division');
      // Three letters that are no country: just a malformed identity number.
      expectFailure(parseResidentIdNumber('ZZZ118503150012', { today: TODAY }), 'id_number_characters');
    });
  });

  it('never echoes the number or its birth date in a failure message', () => {
    fc.assert(
      fc.property(validIdArb, fc.integer({ min: 0, max: 17 }), digit, (id, pos, ch) => {
        fc.pre(id[pos] !== ch);
        const mutated = replaceAt(id, pos, ch);
        const result = parseResidentIdNumber(mutated, { today: TODAY });
        if (result.ok) throw new Error('accepted a corrupted number');
        expect(result.message).not.toContain(mutated.slice(0, 6));
        expect(result.message).not.toContain(mutated.slice(6, 14));
        expect(result.message).not.toContain(mutated.slice(10, 18));
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Unified social credit code
// ---------------------------------------------------------------------------------------------

describe('unified social credit code', () => {
  // Public codes, all verified against the reference; the first also by hand:
  // organisation body M000100Y → 22·3 + 1·5 + 34·2 = 139, 139 mod 11 = 7 → 11 − 7 = 4;
  // final: 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + 21·20 (M) + 1·8 + 30·30 (Y) + 4·28 = 1640,
  // 1640 mod 31 = 28 → 31 − 28 = 3.
  const PUBLIC_CODES = [
    ['91350100M000100Y43', '9', '1', '350100', 'M000100Y4'], // the commonly cited example
    ['91110000600037341L', '9', '1', '110000', '600037341'], // an enterprise registered in Beijing
    ['91330201MA282UF146', '9', '1', '330201', 'MA282UF14'], // post-2015 "MA" organisation code
    ['92230109MAKCUYD46K', '9', '2', '230109', 'MAKCUYD46'], // an individual business
    ['53100000500019795A', '5', '3', '100000', '500019795'], // a foundation registered with the Ministry of Civil Affairs
  ] as const;

  it('accepts public codes', () => {
    for (const [code, authorityCode, categoryCode, divisionCode, organisationCode] of PUBLIC_CODES) {
      expect(refOrgCheck(code.slice(8, 16))).toBe(code[16]);
      expect(refCreditCheck(code.slice(0, 17))).toBe(code[17]);
      expect(parseCreditCode(code)).toEqual({
        ok: true,
        kind: 'credit_code',
        value: code,
        authorityCode,
        categoryCode,
        divisionCode,
        organisationCode,
      });
    }
  });

  it('trims and upper-cases the input', () => {
    expect(parseCreditCode('  91350100m000100y43\u3000')).toMatchObject({ ok: true, value: '91350100M000100Y43' });
  });

  it('computes both check characters like the reference', () => {
    fc.assert(
      fc.property(fc.string({ unit: char31, minLength: 17, maxLength: 17 }), (first17) => {
        expect(creditCodeCheckCharacter(first17)).toBe(refCreditCheck(first17));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 8, maxLength: 8 }),
        (body) => {
          expect(organisationCodeCheckCharacter(body)).toBe(refOrgCheck(body));
        },
      ),
      { numRuns: 2000 },
    );
    // GB 11714 edge values, by hand: sum 0 → 11 → '0'; 6·2 = 12, 12 mod 11 = 1 → 10 → 'X'.
    expect(organisationCodeCheckCharacter('00000000')).toBe('0');
    expect(organisationCodeCheckCharacter('00000006')).toBe('X');
    expect(() => organisationCodeCheckCharacter('0000000')).toThrow(RangeError);
    expect(() => creditCodeCheckCharacter('9135010OM000100Y4')).toThrow(RangeError);
    expect(() => creditCodeCheckCharacter('91350100M000100Y')).toThrow(RangeError);
  });

  it('gives check character 0 (not an out-of-range value) when the weighted sum is a multiple of 31', () => {
    expect(creditCodeCheckCharacter('00000000000000000')).toBe('0');
    // A realistic code with a weighted sum ≡ 0 (mod 31), found with the reference.
    let found: string | undefined;
    for (let n = 0; n < 100_000 && found === undefined; n++) {
      const body = String(n).padStart(8, '0');
      const first17 = `91350100${body}${refOrgCheck(body)}`;
      if (refCreditSum(first17) % 31 === 0) found = first17;
    }
    if (found === undefined) throw new Error('no code with sum ≡ 0 found');
    expect(refCreditCheck(found)).toBe('0');
    expect(creditCodeCheckCharacter(found)).toBe('0');
    expect(parseCreditCode(`${found}0`)).toMatchObject({ ok: true, value: `${found}0` });
    for (const other of CHARSET31.slice(1)) expectFailure(parseCreditCode(found + other), 'credit_code_check');
  });

  it('parses every generated valid code', () => {
    fc.assert(
      fc.property(validCreditArb, (code) => {
        const parsed = parseCreditCode(code);
        if (!parsed.ok) throw new Error(`rejected ${code}: ${parsed.code}`);
        expect(parsed).toEqual({
          ok: true,
          kind: 'credit_code',
          value: code,
          authorityCode: code[0],
          categoryCode: code[1],
          divisionCode: code.slice(2, 8),
          organisationCode: code.slice(8, 17),
        });
        expect(parseCreditCode(code.toLowerCase())).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects every single substitution with another character of the set', () => {
    fc.assert(
      fc.property(validCreditArb, fc.integer({ min: 0, max: 17 }), char31, (code, pos, ch) => {
        fc.pre(code[pos] !== ch);
        const mutated = replaceAt(code, pos, ch);
        // MOD 31 alone detects it…
        expect(refCreditCheck(mutated.slice(0, 17))).not.toBe(mutated[17]);
        // …and the parser reports the first part that no longer holds.
        const expected = expectedCreditCode(mutated);
        expect(expected).not.toBe('ok');
        expect(parseCreditCode(mutated)).toMatchObject({ ok: false, code: expected });
        if (pos === 17) expect(expected).toBe('credit_code_check');
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects I, O, Z, S and V anywhere with credit_code_characters', () => {
    fc.assert(
      fc.property(
        validCreditArb,
        fc.integer({ min: 0, max: 17 }),
        fc.constantFrom(...'IOZSVioszv'),
        (code, pos, ch) => {
          const result = expectFailure(parseCreditCode(replaceAt(code, pos, ch)), 'credit_code_characters');
          expect(result.message).toMatch(/I, O, S, V and Z/);
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('each failure code is reachable', () => {
    const complete = (first16: string) => {
      const first17 = first16 + refOrgCheck(first16.slice(8, 16));
      return first17 + refCreditCheck(first17);
    };

    it('credit_code_length', () => {
      for (const bad of ['', '91350100M000100Y4', '91350100M000100Y433', '9135 0100M000100Y43']) {
        expectFailure(parseCreditCode(bad), 'credit_code_length');
      }
    });

    it('credit_code_characters', () => {
      for (const bad of ['91350100M000100Y4-', '91350100M000100Y4é', '91350100M0001 0Y43']) {
        expectFailure(parseCreditCode(bad), 'credit_code_characters');
      }
    });

    it('credit_code_authority: unknown department and category not used by the department', () => {
      for (const pair of [
        '01',
        'B1',
        'Y2',
        'Y9',
        '94',
        '99',
        '90',
        '13',
        '24',
        '36',
        '44',
        '58',
        '63',
        '73',
        '82',
        'A2',
        'N4',
      ]) {
        const code = complete(`${pair}350100M000100Y`);
        const expected = AUTHORITY_PAIRS.includes(pair) ? 'ok' : 'credit_code_authority';
        if (expected === 'ok') expect(parseCreditCode(code).ok).toBe(true);
        else expectFailure(parseCreditCode(code), 'credit_code_authority');
      }
      for (const pair of AUTHORITY_PAIRS) expect(parseCreditCode(complete(`${pair}350100M000100Y`)).ok).toBe(true);
    });

    it('credit_code_division', () => {
      for (const division of ['000000', '100001', '101000', '160100', '830000', '910000', '99A100', '3501A0']) {
        expectFailure(parseCreditCode(complete(`91${division}M000100Y`)), 'credit_code_division');
      }
      for (const division of ['100000', '110000', '650100', '710000', '810000', '820000']) {
        expect(parseCreditCode(complete(`91${division}M000100Y`)).ok).toBe(true);
      }
    });

    it('credit_code_organisation_check', () => {
      // Position 17 changed, position 18 recomputed so that only the organisation check fails.
      const first17 = '91350100M000100Y5';
      expectFailure(parseCreditCode(first17 + refCreditCheck(first17)), 'credit_code_organisation_check');
      const withLetter = '91350100M000100YA';
      expectFailure(parseCreditCode(withLetter + refCreditCheck(withLetter)), 'credit_code_organisation_check');
    });

    it('credit_code_check', () => {
      expectFailure(parseCreditCode('91350100M000100Y44'), 'credit_code_check');
      expectFailure(parseCreditCode('91110000600037341X'), 'credit_code_check');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Dispatch and masking
// ---------------------------------------------------------------------------------------------

describe('parseSubjectIdentifier', () => {
  it('dispatches on the type', () => {
    const person = parseSubjectIdentifier('resident_id', '11010519491231002X', { today: TODAY });
    expect(person).toMatchObject({ ok: true, kind: 'resident_id' });
    if (person.ok) expect(person.sex).toBe('female'); // narrowed to ParsedResidentId
    const company = parseSubjectIdentifier('credit_code', '91350100M000100Y43');
    expect(company).toMatchObject({ ok: true, kind: 'credit_code' });
    if (company.ok) expect(company.organisationCode).toBe('M000100Y4'); // narrowed to ParsedCreditCode
    expectFailure(parseSubjectIdentifier('resident_id', '91350100M000100Y43'), 'id_number_characters');
    // Authority 1, category 1 is a valid pair; '01' is no province.
    expectFailure(parseSubjectIdentifier('credit_code', '11010519491231002X'), 'credit_code_division');
    expectFailure(
      parseSubjectIdentifier('resident_id', `11010520250616002${refIdCheck('11010520250616002')}`, { today: TODAY }),
      'id_number_birth_date',
    );
  });

  it('dispatches the new types, and refuses a nationality for any type but passports', () => {
    const passport = parseSubjectIdentifier('passport', 'e12345678', { nationality: 'chn' });
    expect(passport).toMatchObject({ ok: true, kind: 'passport', value: 'CHN:E12345678' });
    if (passport.ok) expect(passport.nationality).toBe('CHN'); // narrowed to ParsedPassport
    const permit = parseSubjectIdentifier('mainland_travel_permit', 'H12345678');
    if (permit.ok) expect(permit.region).toBe('hong_kong'); // narrowed
    const card = parseSubjectIdentifier('foreign_permanent_residence', '911840198503150120', { today: TODAY });
    if (card.ok) expect(card.form).toBe('2023'); // narrowed
    expect(card.ok).toBe(true);
    for (const type of subjectIdentifierTypes.filter((t) => t !== 'passport')) {
      expectFailure(parseSubjectIdentifier(type, 'anything', { nationality: 'USA' }), 'nationality_not_applicable');
    }
    // The 2023 card number is one of its own type, not an identity number, whichever way it is sent.
    expectFailure(
      parseSubjectIdentifier('resident_id', '911840198503150120', { today: TODAY }),
      'id_number_permanent_residence',
    );
    expectFailure(
      parseSubjectIdentifier('foreign_permanent_residence', '11010519491231002X', { today: TODAY }),
      'permanent_residence_prefix',
    );
  });

  it('knows which types are persons', () => {
    expect([...personIdentifierTypes].sort()).toEqual([
      'foreign_permanent_residence',
      'mainland_travel_permit',
      'passport',
      'resident_id',
    ]);
    expect(subjectIdentifierTypes.filter((type) => !personIdentifierTypes.has(type))).toEqual(['credit_code']);
  });

  it('lists every failure code once, and each is reached by some input', () => {
    expect(new Set(identifierFailureCodes).size).toBe(identifierFailureCodes.length);
    expect(identifierFailureCodes).toHaveLength(26);
    const inputs: [SubjectIdentifierType, string, SubjectIdentifierOptions][] = [
      ['resident_id', '1101051949', {}],
      ['resident_id', '11010519491231002Y', {}],
      ['resident_id', '00010519491231002X', {}],
      ['resident_id', '110105202302300020', {}],
      ['resident_id', '110105194912310020', {}],
      ['resident_id', '911840198503150120', {}],
      ['credit_code', '9135010', {}],
      ['credit_code', '91350100M000100Y4I', {}],
      ['credit_code', 'B1350100M000100Y43', {}],
      ['credit_code', '91010100M000100Y43', {}],
      ['credit_code', '91350100M000100Y53', {}],
      ['credit_code', '91350100M000100Y44', {}],
      ['credit_code', '91350100M000100Y43', { nationality: 'CHN' }],
      ['passport', 'E123', { nationality: 'CHN' }],
      ['passport', 'E1234 5678', { nationality: 'CHN' }],
      ['passport', 'E12345678', {}],
      ['passport', 'E12345678', { nationality: 'XXA' }],
      ['mainland_travel_permit', 'H1234567800', {}],
      ['mainland_travel_permit', 'A12345678', {}],
      ['foreign_permanent_residence', '9118401985031501', {}],
      ['foreign_permanent_residence', '91184019850315012A', {}],
      ['foreign_permanent_residence', '11010519491231002X', {}],
      ['foreign_permanent_residence', '971840198503150120', {}],
      ['foreign_permanent_residence', '911999198503150120', {}],
      ['foreign_permanent_residence', '911840202506160120', {}],
      ['foreign_permanent_residence', '911840198503150121', {}],
    ];
    const reached = new Set<string>();
    for (const [type, input, options] of inputs) {
      const result = parseSubjectIdentifier(type, input, { today: TODAY, ...options });
      if (result.ok) throw new Error(`${type} ${input} was accepted`);
      reached.add(result.code);
    }
    expect([...reached].sort()).toEqual([...identifierFailureCodes].sort());
  });
});

// ---------------------------------------------------------------------------------------------
// Passport
// ---------------------------------------------------------------------------------------------

describe('passport', () => {
  it('accepts ordinary passports of any country with an ISO 3166-1 alpha-3 nationality, stored as NATIONALITY:NUMBER', () => {
    const good: [string, string, string][] = [
      ['E12345678', 'CHN', 'CHN:E12345678'], // PRC ordinary passport, E + 8 digits
      ['EA1234567', 'CHN', 'CHN:EA1234567'], // E + letter + 7 digits
      ['G12345678', 'CHN', 'CHN:G12345678'], // older PRC form, G + 8 digits
      ['123456789', 'USA', 'USA:123456789'],
      ['C01X00T47', 'DEU', 'DEU:C01X00T47'], // German numbers mix letters and digits
      ['AB12345', 'GBR', 'GBR:AB12345'],
      ['X1234', 'JPN', 'JPN:X1234'], // the shortest accepted: 5
      ['A1234567890123456789', 'CAN', 'CAN:A1234567890123456789'], // the longest accepted: 20
    ];
    for (const [number, nationality, value] of good) {
      expect(parsePassport(number, { nationality })).toEqual({
        ok: true,
        kind: 'passport',
        value,
        nationality,
        number,
      });
    }
  });

  it('trims and upper-cases number and nationality', () => {
    expect(parsePassport(' \te12345678\u3000', { nationality: ' usa ' })).toMatchObject({
      ok: true,
      value: 'USA:E12345678',
    });
  });

  it('passport_length: below 5 or above 20 characters', () => {
    for (const bad of ['', '    ', 'E123', 'A12345678901234567890', 'E'.repeat(40)]) {
      expectFailure(parsePassport(bad, { nationality: 'USA' }), 'passport_length');
    }
    expect(expectFailure(parsePassport('E123', { nationality: 'USA' }), 'passport_length').message).toMatch(/has 4\.$/);
  });

  it('passport_characters: spaces, hyphens, signs, accents and full-width characters', () => {
    for (const bad of [
      'E1234 5678',
      'E1234-5678',
      'E1234/5678',
      'USA:12345678',
      'É12345678',
      'Ｅ12345678',
      'E1234\u00005678',
      'Е12345678' /* Cyrillic Е */,
    ]) {
      expectFailure(parsePassport(bad, { nationality: 'USA' }), 'passport_characters');
    }
  });

  it('passport_nationality_missing', () => {
    for (const nationality of [undefined, '', '   ']) {
      expectFailure(
        parsePassport('E12345678', nationality === undefined ? {} : { nationality }),
        'passport_nationality_missing',
      );
    }
    expectFailure(parsePassport('E12345678'), 'passport_nationality_missing');
  });

  it('passport_nationality: not three letters, or not an ISO 3166-1 alpha-3 code (ICAO-only codes included)', () => {
    for (const nationality of ['US', 'USAA', 'U5A', 'ZZZ', 'D', 'XXA', 'UNO', 'GBD', '840', 'ＵＳＡ']) {
      expectFailure(parsePassport('E12345678', { nationality }), 'passport_nationality');
    }
  });

  it('never echoes the number in a failure message', () => {
    for (const bad of ['E1234 5678', 'A12345678901234567890']) {
      const result = parsePassport(bad, { nationality: 'USA' });
      if (result.ok) throw new Error('accepted');
      expect(result.message).not.toContain('1234');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Mainland Travel Permit for Hong Kong, Macao and Taiwan residents
// ---------------------------------------------------------------------------------------------

describe('Mainland Travel Permit', () => {
  it('accepts H and M with 8 digits (Hong Kong, Macao) and 8 digits (Taiwan)', () => {
    expect(parseMainlandTravelPermit('H12345678')).toEqual({
      ok: true,
      kind: 'mainland_travel_permit',
      value: 'H12345678',
      region: 'hong_kong',
    });
    expect(parseMainlandTravelPermit(' m87654321 ')).toEqual({
      ok: true,
      kind: 'mainland_travel_permit',
      value: 'M87654321',
      region: 'macao',
    });
    expect(parseMainlandTravelPermit('01234567')).toEqual({
      ok: true,
      kind: 'mainland_travel_permit',
      value: '01234567',
      region: 'taiwan',
    });
  });

  it('travel_permit_renewal_count: the 2 digits after the lifelong number, with a message saying to leave them out', () => {
    for (const bad of ['H1234567800', 'M1234567801', 'h1234567812']) {
      expect(expectFailure(parseMainlandTravelPermit(bad), 'travel_permit_renewal_count').message).toMatch(
        /Leave out the last two digits/,
      );
    }
  });

  it('travel_permit_format: any other form', () => {
    for (const bad of [
      '',
      'H1234567',
      'H123456789',
      'A12345678',
      'HK12345678',
      '1234567',
      '123456789',
      '1234567890',
      'H 12345678',
      'H1234567X',
      '１２３４５６７８',
    ]) {
      expectFailure(parseMainlandTravelPermit(bad), 'travel_permit_format');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Foreign permanent resident ID card
// ---------------------------------------------------------------------------------------------

describe('foreign permanent resident ID card', () => {
  const withCheck = (first17: string) => first17 + refIdCheck(first17);

  it('accepts constructed 2023 numbers (check computed by the reference, the first also by hand)', () => {
    expect(parseForeignPermanentResidence('911840198503150120', { today: TODAY })).toEqual({
      ok: true,
      kind: 'foreign_permanent_residence',
      value: '911840198503150120',
      form: '2023',
      nationality: 'USA',
      issuingProvinceCode: '11',
      birthDate: '1985-03-15',
    });
    expect(refIdCheck('93127619900101001')).toBe('5');
    expect(parseForeignPermanentResidence('931276199001010015', { today: TODAY })).toMatchObject({
      ok: true,
      nationality: 'DEU',
      issuingProvinceCode: '31',
      birthDate: '1990-01-01',
    });
    // 29 February 2000, Guangdong, Japan.
    expect(parseForeignPermanentResidence(withCheck('94439220000229003'), { today: TODAY })).toMatchObject({
      ok: true,
      nationality: 'JPN',
      birthDate: '2000-02-29',
    });
    // An X check character, given in lower case.
    expect(refIdCheck('91184019850315018')).toBe('X');
    expect(parseForeignPermanentResidence('91184019850315018x', { today: TODAY })).toMatchObject({
      ok: true,
      value: '91184019850315018X',
    });
  });

  it('parses every generated 2023 number, and refuses every single-digit substitution', () => {
    fc.assert(
      fc.property(validPermanentResidence2023Arb, (value) => {
        const parsed = parseForeignPermanentResidence(value, { today: TODAY });
        if (!parsed.ok) throw new Error(`rejected ${value}: ${parsed.code}`);
        expect(parsed.nationality).toBe(iso3166Alpha3ByNumeric.get(value.slice(3, 6)));
        expect(parsed.birthDate?.replaceAll('-', '')).toBe(value.slice(6, 14));
        // Never an identity number, whichever way it is sent.
        expectFailure(parseResidentIdNumber(value, { today: TODAY }), 'id_number_permanent_residence');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        validPermanentResidence2023Arb,
        fc.integer({ min: 0, max: 17 }),
        fc.constantFrom(...'0123456789X'),
        (value, pos, ch) => {
          fc.pre(value[pos] !== ch && (ch !== 'X' || pos === 17));
          expect(parseForeignPermanentResidence(replaceAt(value, pos, ch), { today: TODAY }).ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('accepts 2017 numbers: structure, nationality, province and a real date only (the check digit is not verified)', () => {
    expect(parseForeignPermanentResidence('USA118503150012', { today: TODAY })).toEqual({
      ok: true,
      kind: 'foreign_permanent_residence',
      value: 'USA118503150012',
      form: '2017',
      nationality: 'USA',
      issuingProvinceCode: '11',
      birthDate: null,
    });
    expect(parseForeignPermanentResidence(' deu310002290017 ', { today: TODAY })).toMatchObject({
      ok: true,
      value: 'DEU310002290017',
    }); // 2000-02-29
    // Any last digit passes: no published check algorithm.
    for (const last of '0123456789')
      expect(parseForeignPermanentResidence(`USA11850315001${last}`, { today: TODAY }).ok).toBe(true);
  });

  it('permanent_residence_length', () => {
    for (const bad of ['', '9118401985031501', '9118401985031501200', 'USA11850315001', 'USA1185031500123']) {
      expectFailure(parseForeignPermanentResidence(bad, { today: TODAY }), 'permanent_residence_length');
    }
  });

  it('permanent_residence_characters', () => {
    for (const bad of [
      '91184019850315012A',
      '9118401985031501X0',
      '91184019850315 120',
      'US1118503150012',
      'USA11850315001X',
      '123456789012345',
    ]) {
      expectFailure(parseForeignPermanentResidence(bad, { today: TODAY }), 'permanent_residence_characters');
    }
  });

  it('permanent_residence_prefix: an 18-character number not starting with 9 is sent as resident_id', () => {
    for (const bad of ['11010519491231002X', '810000199001010010', withCheck('83000019900101001')]) {
      expect(
        expectFailure(parseForeignPermanentResidence(bad, { today: TODAY }), 'permanent_residence_prefix').message,
      ).toMatch(/resident_id/);
    }
  });

  it('permanent_residence_division: the issuing place is a mainland province', () => {
    for (const province of ['00', '10', '16', '71', '81', '82', '83', '91', '99']) {
      expectFailure(
        parseForeignPermanentResidence(withCheck(`9${province}84019850315012`), { today: TODAY }),
        'permanent_residence_division',
      );
      expectFailure(
        parseForeignPermanentResidence(`USA${province}8503150012`, { today: TODAY }),
        'permanent_residence_division',
      );
    }
  });

  it('permanent_residence_nationality: unknown codes, and Chinese ones (CHN, HKG, MAC, TWN)', () => {
    for (const numeric of ['000', '999', '156', '344', '446', '158']) {
      expectFailure(
        parseForeignPermanentResidence(withCheck(`911${numeric}19850315012`), { today: TODAY }),
        'permanent_residence_nationality',
      );
    }
    for (const alpha3 of ['ZZZ', 'XXA', 'CHN', 'HKG', 'MAC', 'TWN']) {
      expectFailure(
        parseForeignPermanentResidence(`${alpha3}118503150012`, { today: TODAY }),
        'permanent_residence_nationality',
      );
    }
    expect(iso3166NumericByAlpha3.get('USA')).toBe('840');
  });

  it('permanent_residence_birth_date: impossible, before 1800 or after "today" (China time) in 2023 numbers; impossible in 2017 numbers', () => {
    for (const date of ['20230230', '19000229', '19851301', '19850000', '17991231', '20250616']) {
      expectFailure(
        parseForeignPermanentResidence(withCheck(`911840${date}012`), { today: TODAY }),
        'permanent_residence_birth_date',
      );
    }
    expect(parseForeignPermanentResidence(withCheck('91184020250615012'), { today: TODAY }).ok).toBe(true);
    // 15 June 2025 is still in the future at 23:59 on the 14th in Beijing (15:59 UTC).
    expectFailure(
      parseForeignPermanentResidence(withCheck('91184020250615012'), { today: new Date('2025-06-14T15:59:00Z') }),
      'permanent_residence_birth_date',
    );
    // 2017: 010229 is no date in 1901 or 2001; 850230 never; 851301 never.
    for (const yymmdd of ['010229', '850230', '851301', '850001', '850100']) {
      expectFailure(
        parseForeignPermanentResidence(`USA11${yymmdd}0012`, { today: TODAY }),
        'permanent_residence_birth_date',
      );
    }
  });

  it('permanent_residence_check', () => {
    for (const bad of [
      '911840198503150121',
      '91184019850315012X',
      '931276199001010051' /* adjacent digits swapped */,
    ]) {
      expectFailure(parseForeignPermanentResidence(bad, { today: TODAY }), 'permanent_residence_check');
    }
  });

  it('never echoes the number or its birth date in a failure message', () => {
    for (const bad of ['911840198503150121', withCheck('91184020260101012'), 'USA118502300012']) {
      const result = parseForeignPermanentResidence(bad, { today: TODAY });
      if (result.ok) throw new Error('accepted');
      expect(result.message).not.toMatch(/\d{4}/);
    }
  });
});

describe('masking', () => {
  it('masks identity numbers keeping the first 6 and last 4 characters', () => {
    expect(maskResidentId('110105194912311234')).toBe('110105********1234');
    expect(maskResidentId('11010519491231002X')).toBe('110105********002X');
    expect(maskResidentId('110105491231002')).toBe('110105*****1002');
    expect(maskResidentId('1234567890')).toBe('**********'); // too short to hide anything otherwise
    expect(maskResidentId('')).toBe('');
  });

  it('masks credit codes keeping the first 8 and last 2 characters', () => {
    expect(maskCreditCode('91350100M000100Y43')).toBe('91350100********43');
    expect(maskCreditCode('9135010')).toBe('*******');
  });

  it('masks a generated number so that it keeps its length and hides the birth date and sequence', () => {
    fc.assert(
      fc.property(validIdArb, (id) => {
        const masked = maskResidentId(id);
        expect(masked).toHaveLength(18);
        expect(masked.slice(6, 14)).toBe('********');
        expect(masked.slice(0, 6) + masked.slice(14)).toBe(id.slice(0, 6) + id.slice(14));
      }),
    );
  });

  it('masks passports keeping the nationality and, from 8 characters, the first and last 2', () => {
    expect(maskPassport('USA:123456789')).toBe('USA:1******89');
    expect(maskPassport('CHN:E12345678')).toBe('CHN:E******78');
    expect(maskPassport('CHN:EA1234567')).toBe('CHN:E******67');
    expect(maskPassport('GBR:AB123456')).toBe('GBR:A*****56');
    expect(maskPassport('GBR:AB12345')).toBe('GBR:*******');
    expect(maskPassport('JPN:X1234')).toBe('JPN:*****');
    expect(maskPassport('E12345678')).toBe('E******78'); // no nationality: the number alone
  });

  it('masks travel permits keeping the H or M and the last 2 digits', () => {
    expect(maskTravelPermit('H12345678')).toBe('H******78');
    expect(maskTravelPermit('M87654321')).toBe('M******21');
    expect(maskTravelPermit('01234567')).toBe('******67');
  });

  it('masks permanent resident card numbers: the 2023 form like an ID number, the 2017 form keeping 5 and 2', () => {
    expect(maskPermanentResidence('911840198503150120')).toBe('911840********0120');
    expect(maskPermanentResidence('USA118503150012')).toBe('USA11********12');
  });

  it('masks every type through maskSubjectIdentifier, hiding any birth date', () => {
    expect(maskSubjectIdentifier('resident_id', '11010519491231002X')).toBe('110105********002X');
    expect(maskSubjectIdentifier('credit_code', '91350100M000100Y43')).toBe('91350100********43');
    expect(maskSubjectIdentifier('passport', 'USA:123456789')).toBe('USA:1******89');
    expect(maskSubjectIdentifier('mainland_travel_permit', 'H12345678')).toBe('H******78');
    expect(maskSubjectIdentifier('foreign_permanent_residence', '911840198503150120')).toBe('911840********0120');
    expect(maskSubjectIdentifier('foreign_permanent_residence', 'USA118503150012')).not.toContain('850315');
    fc.assert(
      fc.property(validPermanentResidence2023Arb, (value) => {
        expect(maskSubjectIdentifier('foreign_permanent_residence', value).slice(6, 14)).toBe('********');
      }),
    );
  });

  it('masks names by code point, keeping the first', () => {
    expect(maskName('张三')).toBe('张*');
    expect(maskName('欧阳娜娜')).toBe('欧***');
    expect(maskName('李')).toBe('李');
    expect(maskName('')).toBe('');
    // U+2000B (𠀋) is outside the BMP: two UTF-16 units, one character, one star.
    expect('𠀋'.length).toBe(2);
    expect(maskName('王𠀋')).toBe('王*');
    expect(maskName('𠀋小明')).toBe('𠀋**');
    expect(maskName('陈𠀋𠀋明')).toBe('陈***');
  });

  it('keeps the code-point count of any name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), (name) => {
        const masked = maskName(name);
        const chars = [...name];
        expect([...masked]).toHaveLength(chars.length);
        expect([...masked][0]).toBe(chars[0]);
        expect(masked.slice((chars[0] ?? '').length)).toMatch(/^\**$/);
      }),
    );
  });
});
