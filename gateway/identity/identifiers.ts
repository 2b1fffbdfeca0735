/**
 * Subject identifiers: the resident identity number (GB 11643-1999) of a natural person and the
 * unified social credit code (GB 32100-2015) of a legal person or other organisation, and for
 * natural persons without a resident identity number: a passport (any country), a Mainland Travel
 * Permit for Hong Kong, Macao or Taiwan residents, and a foreign permanent resident ID card. Pure
 * functions, no I/O.
 *
 * Parsing returns a discriminated union on `ok`: either the parsed, normalised identifier or an
 * `IdentifierFailure` with a stable `code` (one reason per check, listed in `identifierFailureCodes`)
 * and an English `message` a window clerk can read out to an applicant. Messages never echo the
 * number or any part of it (birth date, division), so they are safe to log and to return to clients.
 *
 * What is checked, and what deliberately is not:
 *
 * Resident identity number
 *  - input trimmed; lowercase `x` upper-cased;
 *  - length 18, or 15 for the legacy first-generation form (converted to 18, see below);
 *  - a foreign permanent resident ID card number (the 2023 form: `9`, a mainland province code, a
 *    numeric nationality code; or the 2017 form: three letters of an alpha-3 nationality code and
 *    12 digits) is refused with `id_number_permanent_residence`, which says to send it as
 *    `foreign_permanent_residence`: the 2023 numbers are built like identity numbers, and one
 *    issued in Beijing to a US citizen (`911840…`) would otherwise pass as a `91` identity number;
 *  - characters: digits only, except that the 18th character may be `X`;
 *  - division (positions 1-6): the first two digits must be a province-level code from
 *    `residentIdProvincePrefixes` (GB/T 2260 provinces, 71 Taiwan, 81 Hong Kong, 82 Macau, plus
 *    83 for Taiwan residents' residence permits and 91 as agreed for this project). Positions 3-6
 *    are only required to be digits. The full six-digit code is NOT looked up in GB/T 2260: codes
 *    change every year and numbers issued under abolished codes stay valid for life, so a lookup
 *    table would wrongly reject real numbers. `110000`-style codes (zeros in 3-6) are accepted.
 *    Residence permits of Hong Kong, Macao and Taiwan residents (港澳台居民居住证, numbers starting
 *    810000, 820000 and 830000) are resident identity numbers in this sense.
 *  - birth date (positions 7-14): a real Gregorian date, not before 1800-01-01 (GB 11643's own
 *    example, 440524188001010014, was born in 1880) and not after
 *    "today". Today is the calendar date in China Standard Time (UTC+8, no daylight saving) of the
 *    `today` option (default: now), so the result does not depend on the server's time zone.
 *  - sequence (positions 15-17): any three digits; odd = male, even = female. `000` is accepted.
 *  - check character (position 18): ISO 7064 MOD 11-2, weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
 *    (= 2^(17-i) mod 11), check = (12 - sum mod 11) mod 11, with 10 written `X`. This detects every
 *    single-character error and every transposition of two adjacent characters.
 *  - the 15-digit form (division, yyMMdd, sequence; no check digit) is converted by inserting `19`
 *    before the year and appending the computed check character. Its birth year is always taken as
 *    19yy (first-generation numbers of people born in the 1800s are not supported). Its first two
 *    digits must be a GB/T 2260 province (71, 81 and 82 included, 83 and 91 not: those were never
 *    issued in the first generation, and a converted `91` number could read as a permanent
 *    resident card number).
 *
 * Unified social credit code
 *  - input trimmed and upper-cased; length 18;
 *  - characters: all from the 31-character set `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I O S V Z);
 *  - authority/category (positions 1-2): the pair must appear in `creditCodeAuthorities` (the
 *    registration-department and institution-category table of GB 32100-2015 as amended, see there);
 *  - division (positions 3-8): six digits whose first two are a GB/T 2260 province-level code
 *    (`creditCodeProvincePrefixes`), or exactly `100000` for registration at national level
 *    (e.g. foundations registered with the Ministry of Civil Affairs). Positions 5-8 are not looked
 *    up, for the same reason as for identity numbers. 83 and 91 (identity-number-only prefixes) are
 *    not administrative divisions and are rejected here.
 *  - organisation code (positions 9-17, GB 11714): position 17 must equal the check character over
 *    positions 9-16 (digits 0-9, letters A-Z = 10-35; weights 3 7 9 10 5 8 4 2;
 *    check = 11 - sum mod 11, with 10 written `X` and 11 written `0`);
 *  - check character (position 18): GB 32100 MOD 31 over positions 1-17 (character value = its
 *    index in the 31-character set; weights 3^(i-1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24
 *    10 30 28), check = 31 - sum mod 31, where 31 means check value 0 (character `0`). This
 *    detects every single substitution.
 *
 * Passport (`passport`, an ordinary passport of any country)
 *  - the number trimmed and upper-cased; 5 to 20 characters (`PASSPORT_NUMBER_MIN_LENGTH`,
 *    `…_MAX_LENGTH`), each A-Z or 0-9, no spaces or hyphens inside. ICAO 9303 gives the document
 *    number 9 characters in the machine-readable zone (longer ones continue in the optional data
 *    field), and some states issue longer numbers: 20 leaves room for every one known, 5 is below
 *    any real one. No check digit: the MRZ check digit is not part of the printed number. PRC
 *    ordinary passports (E + 8 digits, E + letter + 7 digits, G + 8 digits) are accepted like any other.
 *  - the nationality is required (`nationality` option): an ISO 3166-1 alpha-3 code (`CHN`, `USA`,
 *    `DEU`; see `./countries.ts`), trimmed and upper-cased. ICAO-only codes (`D`, `GBD`, `UNO`,
 *    `XXA` …) are not accepted.
 *  - passport numbers are unique per issuing state only, so the subject's identifier is the
 *    nationality and the number: `USA:123456789`. The unique index on (identifier_type,
 *    identifier) then means "one subject per state and number" with no new column, and the type
 *    never needs a second field anywhere an identifier travels (audit, links, masks).
 *  - the `nationality` option is refused (`nationality_not_applicable`) for every other type: the
 *    other numbers carry their nationality themselves or belong to Chinese citizens.
 *
 * Mainland Travel Permit (`mainland_travel_permit`; 港澳居民来往内地通行证 and 台湾居民来往大陆通行证)
 *  - one type with three variants told apart by their form, which never overlap, so one unique
 *    index serves all: Hong Kong residents `H` + 8 digits, Macao residents `M` + 8 digits (the
 *    holder's lifelong number), Taiwan residents 8 digits (the card issued since 2015; older
 *    booklet numbers are not accepted). Input trimmed and upper-cased.
 *  - the HK/Macao card prints 2 more digits after the lifelong number, the renewal count (00 at first
 *    issue, then 01, 02 …). They change with every new card and are not part of the number: `H` or
 *    `M` + 10 digits is refused with `travel_permit_renewal_count`, whose message says to leave
 *    them out, rather than stripped silently (the clerk should learn which part is the number).
 *  - no check digit exists in either number.
 *
 * Foreign permanent resident ID card (`foreign_permanent_residence`; 外国人永久居留身份证)
 *  - input trimmed and upper-cased; 18 characters (the card issued since 1 December 2023) or 15
 *    (the 2017 card, and the 2004 card before it, still valid until they expire).
 *  - 2023 form, per the National Immigration Administration's rules for the new card: `9` (marks a
 *    foreigner; identity numbers start 1-8), positions 2-3 the province-level code of the issuing
 *    place (a mainland GB/T 2260 code), positions 4-6 the nationality as an ISO 3166-1 numeric code
 *    (GB/T 2659), positions 7-14 the birth date (real, not before 1800, not after "today" as for
 *    identity numbers), 15-17 a sequence, 18 the ISO 7064 MOD 11-2 check character computed
 *    exactly as for identity numbers. Sex is not extracted: the published rules do not say that
 *    the sequence encodes it.
 *  - 2017 form: three letters, the ISO 3166-1 alpha-3 nationality; then 12 digits, of which
 *    positions 4-5 are the province-level code of the issuing place and 6-11 the birth date
 *    yyMMdd. The remaining four digits are a sequence and a check digit, but we found no reliable
 *    published source for that check algorithm, so it is NOT verified: the 2017 form is checked
 *    for structure, nationality, province and a real calendar date only. The birth century is not
 *    encoded, so no birth date is reported (`birthDate: null`); a date is accepted if it is real in
 *    19yy or 20yy.
 *  - the nationality must be a foreign one: CHN, HKG, MAC and TWN (156, 344, 446, 158) are refused,
 *    since Chinese citizens, Hong Kong, Macao and Taiwan residents included, are not issued this card.
 *  - an 18-character number not starting with 9 is refused with `permanent_residence_prefix`, which
 *    says to send it as `resident_id`.
 *  - the 2017 and 2023 numbers of one person are different identifiers (the new number cannot be
 *    derived from the old): a holder who resolves with both gets two subjects.
 *
 * Masking keeps a fixed, non-identifying part visible: identity numbers keep the first 6 (division)
 * and last 4 characters; credit codes keep the first 8 (authority, category, division) and the last
 * 2, so both show 10 and hide 8 characters of an 18-character value; names keep the first code point.
 * The other types are described in `../platform/identifier-masking.ts` (`maskSubjectIdentifier`).
 */

import {
  maskCreditCode,
  maskName,
  maskPassport,
  maskPermanentResidence,
  maskResidentId,
  maskTravelPermit,
} from '../platform/identifier-masking.js';
import { iso3166Alpha3ByNumeric, iso3166Alpha3Codes } from './countries.js';

// ---------------------------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------------------------

export const identifierFailureCodes = [
  'id_number_length',
  'id_number_characters',
  'id_number_division',
  'id_number_birth_date',
  'id_number_check',
  'credit_code_length',
  'credit_code_characters',
  'credit_code_authority',
  'credit_code_division',
  'credit_code_organisation_check',
  'credit_code_check',
  'id_number_permanent_residence',
  'nationality_not_applicable',
  'passport_length',
  'passport_characters',
  'passport_nationality_missing',
  'passport_nationality',
  'travel_permit_renewal_count',
  'travel_permit_format',
  'permanent_residence_length',
  'permanent_residence_characters',
  'permanent_residence_prefix',
  'permanent_residence_division',
  'permanent_residence_nationality',
  'permanent_residence_birth_date',
  'permanent_residence_check',
] as const;

export type IdentifierFailureCode = (typeof identifierFailureCodes)[number];

export interface IdentifierFailure {
  ok: false;
  code: IdentifierFailureCode;
  /** English, for the window clerk; never contains the number or a part of it. */
  message: string;
  /** The same in Simplified Chinese, the clerk's default language. */
  messageZh: string;
}

export interface ParsedResidentId {
  ok: true;
  kind: 'resident_id';
  /** The normalised 18-character number (upper-case `X`; 15-digit input converted). */
  value: string;
  divisionCode: string;
  /** YYYY-MM-DD */
  birthDate: string;
  sex: 'male' | 'female';
  convertedFrom15: boolean;
}

export interface ParsedCreditCode {
  ok: true;
  kind: 'credit_code';
  /** The normalised 18-character code (upper case). */
  value: string;
  authorityCode: string;
  categoryCode: string;
  divisionCode: string;
  /** Positions 9-17: the GB 11714 organisation code including its own check character. */
  organisationCode: string;
}

export interface ParsedPassport {
  ok: true;
  kind: 'passport';
  /** The subject's identifier: nationality, a colon and the number, e.g. `USA:123456789`. */
  value: string;
  /** ISO 3166-1 alpha-3, upper case. */
  nationality: string;
  /** The passport number, upper case. */
  number: string;
}

export interface ParsedMainlandTravelPermit {
  ok: true;
  kind: 'mainland_travel_permit';
  /** `H12345678`, `M12345678` (lifelong number, renewal count left out) or `12345678` (Taiwan). */
  value: string;
  /** Whose permit: Hong Kong (`H`), Macao (`M`) or Taiwan (8 digits) residents. */
  region: 'hong_kong' | 'macao' | 'taiwan';
}

export interface ParsedForeignPermanentResidence {
  ok: true;
  kind: 'foreign_permanent_residence';
  /** The normalised number: 18 characters (2023 card, upper-case `X`) or 15 (2017 card, upper case). */
  value: string;
  /** Which card the number belongs to. */
  form: '2023' | '2017';
  /** ISO 3166-1 alpha-3 (the 2023 number's numeric code translated). */
  nationality: string;
  /** Province-level GB/T 2260 code of the issuing place, two digits. */
  issuingProvinceCode: string;
  /** YYYY-MM-DD for the 2023 form; null for the 2017 form, whose birth year has no century. */
  birthDate: string | null;
}

/** The identifier types a subject is resolved by, in the order the API lists them. */
export const subjectIdentifierTypes = [
  'resident_id',
  'credit_code',
  'passport',
  'mainland_travel_permit',
  'foreign_permanent_residence',
] as const;

export type SubjectIdentifierType = (typeof subjectIdentifierTypes)[number];

/** The types that identify natural persons; every other type (the credit code) an organisation. */
export const personIdentifierTypes: ReadonlySet<SubjectIdentifierType> = new Set([
  'resident_id',
  'passport',
  'mainland_travel_permit',
  'foreign_permanent_residence',
]);

export type ParsedSubjectIdentifier =
  | ParsedResidentId
  | ParsedCreditCode
  | ParsedPassport
  | ParsedMainlandTravelPermit
  | ParsedForeignPermanentResidence;

export interface ResidentIdOptions {
  /** The reference date for "not in the future"; default: now. */
  today?: Date;
}

export interface PassportOptions {
  /** The passport's nationality, ISO 3166-1 alpha-3; required. */
  nationality?: string | undefined;
}

/** Options of `parseSubjectIdentifier`: `today` for birth dates, `nationality` for passports only. */
export interface SubjectIdentifierOptions extends ResidentIdOptions, PassportOptions {}

function failure(code: IdentifierFailureCode, message: string, messageZh: string): IdentifierFailure {
  return { ok: false, code, message, messageZh };
}

function expand(ranges: ReadonlyArray<readonly [number, number]>): ReadonlySet<string> {
  const codes = new Set<string>();
  for (const [from, to] of ranges) for (let n = from; n <= to; n++) codes.add(String(n));
  return codes;
}

const GB2260_PROVINCE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [11, 15], // Beijing, Tianjin, Hebei, Shanxi, Inner Mongolia
  [21, 23], // Liaoning, Jilin, Heilongjiang
  [31, 37], // Shanghai .. Shandong
  [41, 46], // Henan .. Hainan
  [50, 54], // Chongqing, Sichuan, Guizhou, Yunnan, Tibet
  [61, 65], // Shaanxi, Gansu, Qinghai, Ningxia, Xinjiang
  [71, 71], // Taiwan
  [81, 82], // Hong Kong, Macau
];

/** First two digits accepted in an identity number: GB/T 2260 provinces plus 83 and 91. */
export const residentIdProvincePrefixes: ReadonlySet<string> = expand([
  ...GB2260_PROVINCE_RANGES,
  [83, 83], // residence permits of Taiwan residents (830000)
  [91, 91], // accepted as agreed for this project
]);

/** First two digits accepted in a credit code's division; `100000` (national level) is also accepted. */
export const creditCodeProvincePrefixes: ReadonlySet<string> = expand(GB2260_PROVINCE_RANGES);

/**
 * Issuing places of foreign permanent resident ID cards: the mainland's province-level GB/T 2260
 * codes (the card is issued by the immigration authorities of a mainland province).
 */
export const permanentResidenceProvinceCodes: ReadonlySet<string> = expand(
  GB2260_PROVINCE_RANGES.filter(([from]) => from < 70),
);

/** Nationalities a foreign permanent resident ID card never carries: Chinese citizens hold none. */
const CHINESE_NATIONALITIES: ReadonlySet<string> = new Set(['CHN', 'HKG', 'MAC', 'TWN']);

/** The alpha-3 code of a foreign (non-Chinese) nationality given as ISO 3166-1 numeric, or undefined. */
function foreignNationalityOfNumeric(numeric: string): string | undefined {
  const alpha3 = iso3166Alpha3ByNumeric.get(numeric);
  return alpha3 === undefined || CHINESE_NATIONALITIES.has(alpha3) ? undefined : alpha3;
}

function isForeignNationality(alpha3: string): boolean {
  return iso3166Alpha3Codes.has(alpha3) && !CHINESE_NATIONALITIES.has(alpha3);
}

/**
 * True for an upper-cased value shaped like a foreign permanent resident ID card number: `9`,
 * a mainland province code and a foreign numeric nationality (2023), or a foreign alpha-3
 * nationality and 12 digits (2017). Neither form can be a resident identity number.
 */
function looksLikePermanentResidence(value: string): boolean {
  if (/^9\d{16}[\dX]$/.test(value)) {
    return (
      permanentResidenceProvinceCodes.has(value.slice(1, 3)) &&
      foreignNationalityOfNumeric(value.slice(3, 6)) !== undefined
    );
  }
  return /^[A-Z]{3}\d{12}$/.test(value) && isForeignNationality(value.slice(0, 3));
}

const NATIONAL_DIVISION = '100000';

// ---------------------------------------------------------------------------------------------
// Resident identity number (GB 11643-1999)
// ---------------------------------------------------------------------------------------------

const RESIDENT_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;

/** The ISO 7064 MOD 11-2 check character (`0`-`9` or `X`) for the first 17 digits. */
export function residentIdCheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('residentIdCheckCharacter needs exactly 17 digits');
  let sum = 0;
  RESIDENT_ID_WEIGHTS.forEach((weight, i) => {
    sum += (first17.charCodeAt(i) - 48) * weight;
  });
  const check = (12 - (sum % 11)) % 11;
  return check === 10 ? 'X' : String(check);
}

const CST_OFFSET_MS = 8 * 60 * 60 * 1000;

/** The calendar date of `instant` in China Standard Time, as YYYY-MM-DD. */
function chinaDate(instant: Date): string {
  return new Date(instant.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function isRealDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Checks an 8-digit yyyyMMdd date at characters `from`–`to`; the failure's messages, or undefined when acceptable. */
function birthDateProblem(
  yyyymmdd: string,
  today: string,
  [from, to]: readonly [number, number],
  document: { en: string; zh: string } = { en: 'identity number', zh: '居民身份证号码' },
): { en: string; zh: string } | undefined {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  const where = {
    en: `The birth date in the ${document.en} (characters ${from} to ${to})`,
    zh: `${document.zh}中的出生日期（第 ${from} 至 ${to} 位）`,
  };
  if (!isRealDate(year, month, day))
    return { en: `${where.en} is not a real calendar date.`, zh: `${where.zh}不是真实的日期。` };
  if (year < 1800) return { en: `${where.en} is before 1800.`, zh: `${where.zh}早于 1800 年。` };
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
  if (iso > today) return { en: `${where.en} is in the future.`, zh: `${where.zh}晚于今天。` };
  return undefined;
}

export function parseResidentIdNumber(
  input: string,
  options?: ResidentIdOptions,
): ParsedResidentId | IdentifierFailure {
  const raw = input.trim().toUpperCase();
  const length = [...raw].length;
  if (length !== 18 && length !== 15) {
    return failure(
      'id_number_length',
      `An identity number has 18 characters (15 on first-generation cards); the one given has ${length}.`,
      `居民身份证号码为 18 位（第一代证为 15 位），所填的是 ${length} 位。`,
    );
  }
  if (looksLikePermanentResidence(raw)) {
    return failure(
      'id_number_permanent_residence',
      'This is the number of a foreign permanent resident ID card, not a resident identity number: resolve it with ' +
        'the identifier type foreign_permanent_residence.',
      '这是外国人永久居留身份证号码，不是居民身份证号码：请用证件类型 foreign_permanent_residence。',
    );
  }
  const legacy = length === 15;
  if (legacy ? !/^\d{15}$/.test(raw) : !/^\d{17}[\dX]$/.test(raw)) {
    return failure(
      'id_number_characters',
      legacy
        ? 'A 15-character identity number may contain digits only.'
        : 'An identity number may contain digits only; just the last of its 18 characters may be the letter X.',
      legacy ? '15 位居民身份证号码只能是数字。' : '居民身份证号码只能是数字，18 位中仅最后一位可以是字母 X。',
    );
  }
  // First-generation numbers (issued until 2004) carry GB/T 2260 provinces only: 83 (2018) and
  // 91 are never 15-digit, and a `91` one would convert to a permanent resident card's shape.
  if (!(legacy ? creditCodeProvincePrefixes : residentIdProvincePrefixes).has(raw.slice(0, 2))) {
    return failure(
      'id_number_division',
      'The first two digits of the identity number are not a valid province code.',
      '居民身份证号码的前两位不是有效的省级行政区划代码。',
    );
  }
  const birth = legacy ? `19${raw.slice(6, 12)}` : raw.slice(6, 14);
  const today = chinaDate(options?.today ?? new Date());
  const dateProblem = birthDateProblem(birth, today, legacy ? [7, 12] : [7, 14]);
  if (dateProblem !== undefined) return failure('id_number_birth_date', dateProblem.en, dateProblem.zh);

  let value: string;
  if (legacy) {
    const first17 = `${raw.slice(0, 6)}19${raw.slice(6)}`;
    value = first17 + residentIdCheckCharacter(first17);
  } else {
    if (residentIdCheckCharacter(raw.slice(0, 17)) !== raw.slice(17)) {
      return failure(
        'id_number_check',
        'The identity number is not valid: its last character does not match the others. A digit has probably been ' +
          'mistyped or two digits swapped.',
        '居民身份证号码无效：最后一位校验码与前面各位不符，可能有数字输错或前后颠倒。',
      );
    }
    value = raw;
  }
  const sequence = Number(value.slice(14, 17));
  return {
    ok: true,
    kind: 'resident_id',
    value,
    divisionCode: value.slice(0, 6),
    birthDate: `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}`,
    sex: sequence % 2 === 1 ? 'male' : 'female',
    convertedFrom15: legacy,
  };
}

// ---------------------------------------------------------------------------------------------
// Unified social credit code (GB 32100-2015) and organisation code (GB 11714)
// ---------------------------------------------------------------------------------------------

/** The 31 characters a credit code is written in, in check-value order (I, O, S, V and Z are unused). */
export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;
const ORGANISATION_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;

/**
 * Registration-management departments (position 1) and the institution categories (position 2)
 * each may assign, from GB 32100-2015 Annex (as amended, adding A and N):
 *
 * | 1 | Institution staffing (机构编制)      | 1 organ of state, 2 public institution, 3 mass organisation staffed by the central staffing office, 9 other |
 * | 2 | Foreign affairs (外交)               | 1 resident foreign news agency, 9 other |
 * | 3 | Justice administration (司法行政)    | 1 law firm, 2 notary office, 3 grassroots legal service, 4 forensic institution, 5 arbitration commission, 9 other |
 * | 4 | Culture (文化)                       | 1 foreign cultural centre in China, 9 other |
 * | 5 | Civil affairs (民政)                 | 1 social organisation, 2 private non-enterprise unit, 3 foundation, 9 other |
 * | 6 | Tourism (旅游)                       | 1 foreign tourism office, 2 HK/Macau/Taiwan tourism office, 9 other |
 * | 7 | Religious affairs (宗教)             | 1 venue for religious activities, 2 religious school, 9 other |
 * | 8 | Trade unions (工会)                  | 1 grassroots trade union, 9 other |
 * | 9 | Industry & commerce / market regulation (工商) | 1 enterprise, 2 individual business, 3 farmers' cooperative (no 9) |
 * | A | CMC reform and staffing office (中央军委改革和编制办公室) | 1 military public institution, 9 other |
 * | N | Agriculture (农业)                   | 1 group-level, 2 village-level, 3 township-level collective economic organisation, 9 other |
 * | Y | Other (其他)                         | 1 |
 */
export const creditCodeAuthorities: Readonly<Record<string, { name: string; categories: readonly string[] }>> = {
  '1': { name: 'institution staffing', categories: ['1', '2', '3', '9'] },
  '2': { name: 'foreign affairs', categories: ['1', '9'] },
  '3': { name: 'justice administration', categories: ['1', '2', '3', '4', '5', '9'] },
  '4': { name: 'culture', categories: ['1', '9'] },
  '5': { name: 'civil affairs', categories: ['1', '2', '3', '9'] },
  '6': { name: 'tourism', categories: ['1', '2', '9'] },
  '7': { name: 'religious affairs', categories: ['1', '2', '9'] },
  '8': { name: 'trade unions', categories: ['1', '9'] },
  '9': { name: 'market regulation (industry and commerce)', categories: ['1', '2', '3'] },
  A: { name: 'CMC reform and staffing office', categories: ['1', '9'] },
  N: { name: 'agriculture', categories: ['1', '2', '3', '9'] },
  Y: { name: 'other', categories: ['1'] },
};

/** The GB 11714 check character (`0`-`9` or `X`) over the 8-character organisation code body. */
export function organisationCodeCheckCharacter(first8: string): string {
  if (!/^[0-9A-Z]{8}$/.test(first8)) {
    throw new RangeError('organisationCodeCheckCharacter needs exactly 8 digits or upper-case letters');
  }
  let sum = 0;
  ORGANISATION_CODE_WEIGHTS.forEach((weight, i) => {
    const c = first8.charCodeAt(i);
    const value = c <= 57 ? c - 48 : c - 65 + 10; // '0'-'9' → 0-9, 'A'-'Z' → 10-35
    sum += value * weight;
  });
  const check = 11 - (sum % 11);
  if (check === 10) return 'X';
  if (check === 11) return '0';
  return String(check);
}

/** The GB 32100 MOD 31 check character over the first 17 characters of a credit code. */
export function creditCodeCheckCharacter(first17: string): string {
  if (first17.length !== 17) throw new RangeError('creditCodeCheckCharacter needs exactly 17 characters');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = CREDIT_CODE_CHARSET.indexOf(first17.charAt(i));
    if (value < 0) throw new RangeError('creditCodeCheckCharacter: character outside the credit-code set');
    sum += value * (CREDIT_CODE_WEIGHTS[i] ?? 0);
  }
  // 31 - (sum mod 31) is 31 when the sum is a multiple of 31; the check value is then 0, not 31.
  const check = (31 - (sum % 31)) % 31;
  return CREDIT_CODE_CHARSET.charAt(check);
}

const CREDIT_CODE_PATTERN = new RegExp(`^[${CREDIT_CODE_CHARSET}]{18}$`);

export function parseCreditCode(input: string): ParsedCreditCode | IdentifierFailure {
  const value = input.trim().toUpperCase();
  const length = [...value].length;
  if (length !== 18) {
    return failure(
      'credit_code_length',
      `A unified social credit code has 18 characters; the one given has ${length}.`,
      `统一社会信用代码为 18 位，所填的是 ${length} 位。`,
    );
  }
  if (!CREDIT_CODE_PATTERN.test(value)) {
    return failure(
      'credit_code_characters',
      'A unified social credit code contains only digits and upper-case letters other than I, O, S, V and Z; ' +
        'check whether 1, 0, 5, U or 2 was meant.',
      '统一社会信用代码只含数字和除 I、O、S、V、Z 以外的大写字母；请核对是否应为 1、0、5、U 或 2。',
    );
  }
  const authorityCode = value.charAt(0);
  const categoryCode = value.charAt(1);
  const authority = creditCodeAuthorities[authorityCode];
  if (authority === undefined) {
    return failure(
      'credit_code_authority',
      'The first character of the credit code is not a known registration department code.',
      '统一社会信用代码的第一位不是已知的登记管理部门代码。',
    );
  }
  if (!authority.categories.includes(categoryCode)) {
    return failure(
      'credit_code_authority',
      'The second character of the credit code is not an organisation category that its registration department (first character) uses.',
      '统一社会信用代码的第二位不是该登记管理部门（第一位）使用的机构类别代码。',
    );
  }
  const divisionCode = value.slice(2, 8);
  if (
    !/^\d{6}$/.test(divisionCode) ||
    (divisionCode !== NATIONAL_DIVISION && !creditCodeProvincePrefixes.has(divisionCode.slice(0, 2)))
  ) {
    return failure(
      'credit_code_division',
      'Characters 3 to 8 of the credit code must be the six-digit administrative division of the registering office.',
      '统一社会信用代码的第 3 至 8 位应为登记管理机关的六位行政区划代码。',
    );
  }
  const organisationCode = value.slice(8, 17);
  if (organisationCodeCheckCharacter(organisationCode.slice(0, 8)) !== organisationCode.charAt(8)) {
    return failure(
      'credit_code_organisation_check',
      'The credit code is not valid: its 17th character does not match characters 9 to 16. A character has probably been mistyped.',
      '统一社会信用代码无效：第 17 位与第 9 至 16 位（组织机构代码）不符，可能有字符输错。',
    );
  }
  if (creditCodeCheckCharacter(value.slice(0, 17)) !== value.charAt(17)) {
    return failure(
      'credit_code_check',
      'The credit code is not valid: its last character does not match the others. A character has probably been mistyped or two swapped.',
      '统一社会信用代码无效：最后一位校验码与前面各位不符，可能有字符输错或前后颠倒。',
    );
  }
  return { ok: true, kind: 'credit_code', value, authorityCode, categoryCode, divisionCode, organisationCode };
}

// ---------------------------------------------------------------------------------------------
// Passport (any country), with its nationality
// ---------------------------------------------------------------------------------------------

export const PASSPORT_NUMBER_MIN_LENGTH = 5;
export const PASSPORT_NUMBER_MAX_LENGTH = 20;

export function parsePassport(input: string, options?: PassportOptions): ParsedPassport | IdentifierFailure {
  const number = input.trim().toUpperCase();
  const length = [...number].length;
  if (length < PASSPORT_NUMBER_MIN_LENGTH || length > PASSPORT_NUMBER_MAX_LENGTH) {
    return failure(
      'passport_length',
      `A passport number has ${PASSPORT_NUMBER_MIN_LENGTH} to ${PASSPORT_NUMBER_MAX_LENGTH} characters; the one given has ${length}.`,
      `护照号码为 ${PASSPORT_NUMBER_MIN_LENGTH} 至 ${PASSPORT_NUMBER_MAX_LENGTH} 位，所填的是 ${length} 位。`,
    );
  }
  if (!/^[A-Z0-9]+$/.test(number)) {
    return failure(
      'passport_characters',
      'A passport number is written with the letters A to Z and digits only, without spaces, hyphens or other signs.',
      '护照号码只由字母 A 至 Z 和数字组成，不含空格、连字符或其他符号。',
    );
  }
  const nationality = options?.nationality?.trim().toUpperCase() ?? '';
  if (nationality === '') {
    return failure(
      'passport_nationality_missing',
      "A passport needs its nationality: the issuing country's three-letter code (ISO 3166-1 alpha-3, e.g. CHN, USA, DEU).",
      '护照须注明国籍：签发国的三字母代码（ISO 3166-1 alpha-3，如 CHN、USA、DEU）。',
    );
  }
  if (!/^[A-Z]{3}$/.test(nationality) || !iso3166Alpha3Codes.has(nationality)) {
    return failure(
      'passport_nationality',
      'The nationality of a passport must be a three-letter country code from ISO 3166-1 alpha-3 (e.g. CHN, USA, DEU).',
      '护照的国籍须为 ISO 3166-1 alpha-3 三字母国家代码（如 CHN、USA、DEU）。',
    );
  }
  return { ok: true, kind: 'passport', value: `${nationality}:${number}`, nationality, number };
}

// ---------------------------------------------------------------------------------------------
// Mainland Travel Permit for Hong Kong, Macao and Taiwan residents
// ---------------------------------------------------------------------------------------------

export function parseMainlandTravelPermit(input: string): ParsedMainlandTravelPermit | IdentifierFailure {
  const value = input.trim().toUpperCase();
  if (/^[HM]\d{8}$/.test(value)) {
    return { ok: true, kind: 'mainland_travel_permit', value, region: value.startsWith('H') ? 'hong_kong' : 'macao' };
  }
  if (/^\d{8}$/.test(value)) return { ok: true, kind: 'mainland_travel_permit', value, region: 'taiwan' };
  if (/^[HM]\d{10}$/.test(value)) {
    return failure(
      'travel_permit_renewal_count',
      'Leave out the last two digits: they count how often the permit was renewed and are not part of the number, ' +
        'which is the letter and the 8 digits before them.',
      '请去掉最后两位：那是换证次数，不属于证件号码；号码是字母加其后的 8 位数字。',
    );
  }
  return failure(
    'travel_permit_format',
    'A Mainland Travel Permit number is H (Hong Kong) or M (Macao) followed by 8 digits, or 8 digits for Taiwan ' +
      'residents (cards issued since 2015).',
    '港澳居民来往内地通行证号码为 H（香港）或 M（澳门）加 8 位数字；台湾居民来往大陆通行证（2015 年起签发）为 8 位数字。',
  );
}

// ---------------------------------------------------------------------------------------------
// Foreign permanent resident ID card (2023 and 2017 forms)
// ---------------------------------------------------------------------------------------------

export function parseForeignPermanentResidence(
  input: string,
  options?: ResidentIdOptions,
): ParsedForeignPermanentResidence | IdentifierFailure {
  const value = input.trim().toUpperCase();
  const length = [...value].length;
  if (length !== 18 && length !== 15) {
    return failure(
      'permanent_residence_length',
      'A foreign permanent resident ID card number has 18 characters (15 on cards issued before December 2023); the ' +
        `one given has ${length}.`,
      `外国人永久居留身份证号码为 18 位（2023 年 12 月前签发的为 15 位），所填的是 ${length} 位。`,
    );
  }
  return length === 18 ? parsePermanentResidence2023(value, options) : parsePermanentResidence2017(value);
}

function parsePermanentResidence2023(
  value: string,
  options?: ResidentIdOptions,
): ParsedForeignPermanentResidence | IdentifierFailure {
  if (!/^\d{17}[\dX]$/.test(value)) {
    return failure(
      'permanent_residence_characters',
      'An 18-character permanent resident ID card number may contain digits only; just its last character may be the letter X.',
      '18 位永久居留身份证号码只能是数字，仅最后一位可以是字母 X。',
    );
  }
  if (!value.startsWith('9')) {
    return failure(
      'permanent_residence_prefix',
      'An 18-character permanent resident ID card number starts with 9; a number starting with another digit is a ' +
        'resident identity number: resolve it with the identifier type resident_id.',
      '18 位永久居留身份证号码以 9 开头；以其他数字开头的是居民身份证号码：请用证件类型 resident_id。',
    );
  }
  const issuingProvinceCode = value.slice(1, 3);
  if (!permanentResidenceProvinceCodes.has(issuingProvinceCode)) {
    return failure(
      'permanent_residence_division',
      'Characters 2 and 3 of the permanent resident ID card number must be the province code of the issuing place.',
      '永久居留身份证号码的第 2、3 位应为受理地的省级代码。',
    );
  }
  const nationality = foreignNationalityOfNumeric(value.slice(3, 6));
  if (nationality === undefined) {
    return failure(
      'permanent_residence_nationality',
      'Characters 4 to 6 of the permanent resident ID card number must be the numeric code of a foreign nationality (ISO 3166-1).',
      '永久居留身份证号码的第 4 至 6 位应为外国国籍的数字代码（ISO 3166-1）。',
    );
  }
  const birth = value.slice(6, 14);
  const today = chinaDate(options?.today ?? new Date());
  const dateProblem = birthDateProblem(birth, today, [7, 14], {
    en: 'permanent resident ID card number',
    zh: '永久居留身份证号码',
  });
  if (dateProblem !== undefined) return failure('permanent_residence_birth_date', dateProblem.en, dateProblem.zh);
  if (residentIdCheckCharacter(value.slice(0, 17)) !== value.slice(17)) {
    return failure(
      'permanent_residence_check',
      'The permanent resident ID card number is not valid: its last character does not match the others. A digit has ' +
        'probably been mistyped or two digits swapped.',
      '永久居留身份证号码无效：最后一位校验码与前面各位不符，可能有数字输错或前后颠倒。',
    );
  }
  return {
    ok: true,
    kind: 'foreign_permanent_residence',
    value,
    form: '2023',
    nationality,
    issuingProvinceCode,
    birthDate: `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}`,
  };
}

function parsePermanentResidence2017(value: string): ParsedForeignPermanentResidence | IdentifierFailure {
  if (!/^[A-Z]{3}\d{12}$/.test(value)) {
    return failure(
      'permanent_residence_characters',
      'A 15-character permanent resident ID card number is three letters (the nationality) followed by 12 digits.',
      '15 位永久居留身份证号码为 3 个字母（国籍）加 12 位数字。',
    );
  }
  const nationality = value.slice(0, 3);
  if (!isForeignNationality(nationality)) {
    return failure(
      'permanent_residence_nationality',
      'The first three letters of the permanent resident ID card number must be the code of a foreign nationality (ISO 3166-1 alpha-3).',
      '永久居留身份证号码的前三个字母应为外国国籍代码（ISO 3166-1 alpha-3）。',
    );
  }
  const issuingProvinceCode = value.slice(3, 5);
  if (!permanentResidenceProvinceCodes.has(issuingProvinceCode)) {
    return failure(
      'permanent_residence_division',
      'Characters 4 and 5 of the permanent resident ID card number must be the province code of the issuing place.',
      '永久居留身份证号码的第 4、5 位应为受理地的省级代码。',
    );
  }
  // yyMMdd without a century: accepted when it is a real date in 19yy or in 20yy (29 February).
  const yy = Number(value.slice(5, 7));
  const month = Number(value.slice(7, 9));
  const day = Number(value.slice(9, 11));
  if (!isRealDate(1900 + yy, month, day) && !isRealDate(2000 + yy, month, day)) {
    return failure(
      'permanent_residence_birth_date',
      'The birth date in the permanent resident ID card number (characters 6 to 11) is not a real calendar date.',
      '永久居留身份证号码中的出生日期（第 6 至 11 位）不是真实的日期。',
    );
  }
  return {
    ok: true,
    kind: 'foreign_permanent_residence',
    value,
    form: '2017',
    nationality,
    issuingProvinceCode,
    birthDate: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Dispatch and masking
// ---------------------------------------------------------------------------------------------

export function parseSubjectIdentifier(
  type: 'resident_id',
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedResidentId | IdentifierFailure;
export function parseSubjectIdentifier(
  type: 'credit_code',
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedCreditCode | IdentifierFailure;
export function parseSubjectIdentifier(
  type: 'passport',
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedPassport | IdentifierFailure;
export function parseSubjectIdentifier(
  type: 'mainland_travel_permit',
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedMainlandTravelPermit | IdentifierFailure;
export function parseSubjectIdentifier(
  type: 'foreign_permanent_residence',
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedForeignPermanentResidence | IdentifierFailure;
export function parseSubjectIdentifier(
  type: SubjectIdentifierType,
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedSubjectIdentifier | IdentifierFailure;
export function parseSubjectIdentifier(
  type: SubjectIdentifierType,
  input: string,
  options?: SubjectIdentifierOptions,
): ParsedSubjectIdentifier | IdentifierFailure {
  if (type !== 'passport' && options?.nationality !== undefined) {
    return failure(
      'nationality_not_applicable',
      'A nationality is given with passports only; the other identifier types carry it themselves or need none.',
      '只有护照需要填写国籍；其他证件类型自带国籍或不需要。',
    );
  }
  switch (type) {
    case 'resident_id':
      return parseResidentIdNumber(input, options);
    case 'credit_code':
      return parseCreditCode(input);
    case 'passport':
      return parsePassport(input, options);
    case 'mainland_travel_permit':
      return parseMainlandTravelPermit(input);
    case 'foreign_permanent_residence':
      return parseForeignPermanentResidence(input, options);
  }
}

// Masking lives in the platform, which masks identifiers in what it logs; re-exported for identity's callers.
export { maskCreditCode, maskName, maskPassport, maskPermanentResidence, maskResidentId, maskTravelPermit };

/** A subject's stored identifier masked the way its type is masked (see the platform's masks). */
export function maskSubjectIdentifier(type: SubjectIdentifierType, value: string): string {
  switch (type) {
    case 'resident_id':
      return maskResidentId(value);
    case 'credit_code':
      return maskCreditCode(value);
    case 'passport':
      return maskPassport(value);
    case 'mainland_travel_permit':
      return maskTravelPermit(value);
    case 'foreign_permanent_residence':
      return maskPermanentResidence(value);
  }
}

/**
 * A certificate or document number masked like an ID number when it is one: a resident ID card's
 * and a household register's number are the holder's ID number. Other numbers are returned as
 * they are.
 */
export function maskIfResidentIdNumber(value: string): string {
  return /^\d{17}[\dXx]$/.test(value) ? maskResidentId(value) : value;
}
