/**
 * Subject identifiers: the resident identity number (GB 11643-1999) of a natural person and the
 * unified social credit code (GB 32100-2015) of a legal person or other organisation. Pure
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
 *  - characters: digits only, except that the 18th character may be `X`;
 *  - division (positions 1-6): the first two digits must be a province-level code from
 *    `residentIdProvincePrefixes` (GB/T 2260 provinces, 71 Taiwan, 81 Hong Kong, 82 Macau, plus
 *    83 for Taiwan residents' residence permits and 91 as agreed for this project). Positions 3-6
 *    are only required to be digits. The full six-digit code is NOT looked up in GB/T 2260: codes
 *    change every year and numbers issued under abolished codes stay valid for life, so a lookup
 *    table would wrongly reject real numbers. `110000`-style codes (zeros in 3-6) are accepted.
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
 *    19yy (first-generation numbers of people born in the 1800s are not supported).
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
 * Masking keeps a fixed, non-identifying part visible: identity numbers keep the first 6 (division)
 * and last 4 characters; credit codes keep the first 8 (authority, category, division) and the last
 * 2, so both show 10 and hide 8 characters of an 18-character value; names keep the first code point.
 */

import { maskCreditCode, maskResidentId } from '../platform/identifier-masking.js';

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
] as const;

export type IdentifierFailureCode = (typeof identifierFailureCodes)[number];

export interface IdentifierFailure {
  ok: false;
  code: IdentifierFailureCode;
  /** English, for the window clerk; never contains the number or a part of it. */
  message: string;
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

export type SubjectIdentifierType = 'resident_id' | 'credit_code';

export interface ResidentIdOptions {
  /** The reference date for "not in the future"; default: now. */
  today?: Date;
}

function failure(code: IdentifierFailureCode, message: string): IdentifierFailure {
  return { ok: false, code, message };
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

/** Checks an 8-digit yyyyMMdd date; returns a failure message or undefined when acceptable. */
function birthDateProblem(yyyymmdd: string, today: string, positions: string): string | undefined {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return `The birth date in the identity number (${positions}) is not a real calendar date.`;
  }
  if (year < 1800) return `The birth date in the identity number (${positions}) is before 1800.`;
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
  if (iso > today) return `The birth date in the identity number (${positions}) is in the future.`;
  return undefined;
}

export function parseResidentIdNumber(input: string, options?: ResidentIdOptions): ParsedResidentId | IdentifierFailure {
  const raw = input.trim().toUpperCase();
  const length = [...raw].length;
  if (length !== 18 && length !== 15) {
    return failure(
      'id_number_length',
      `An identity number has 18 characters (15 on first-generation cards); the one given has ${length}.`,
    );
  }
  const legacy = length === 15;
  if (legacy ? !/^\d{15}$/.test(raw) : !/^\d{17}[\dX]$/.test(raw)) {
    return failure(
      'id_number_characters',
      legacy
        ? 'A 15-character identity number may contain digits only.'
        : 'An identity number may contain digits only; just the last of its 18 characters may be the letter X.',
    );
  }
  if (!residentIdProvincePrefixes.has(raw.slice(0, 2))) {
    return failure('id_number_division', 'The first two digits of the identity number are not a valid province code.');
  }
  const birth = legacy ? `19${raw.slice(6, 12)}` : raw.slice(6, 14);
  const today = chinaDate(options?.today ?? new Date());
  const dateProblem = birthDateProblem(birth, today, legacy ? 'characters 7 to 12' : 'characters 7 to 14');
  if (dateProblem !== undefined) return failure('id_number_birth_date', dateProblem);

  let value: string;
  if (legacy) {
    const first17 = `${raw.slice(0, 6)}19${raw.slice(6)}`;
    value = first17 + residentIdCheckCharacter(first17);
  } else {
    if (residentIdCheckCharacter(raw.slice(0, 17)) !== raw.slice(17)) {
      return failure(
        'id_number_check',
        'The identity number is not valid: its last character does not match the others. A digit has probably been mistyped or two digits swapped.',
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
    return failure('credit_code_length', `A unified social credit code has 18 characters; the one given has ${length}.`);
  }
  if (!CREDIT_CODE_PATTERN.test(value)) {
    return failure(
      'credit_code_characters',
      'A unified social credit code contains only digits and upper-case letters other than I, O, S, V and Z; ' +
        'check whether 1, 0, 5, U or 2 was meant.',
    );
  }
  const authorityCode = value.charAt(0);
  const categoryCode = value.charAt(1);
  const authority = creditCodeAuthorities[authorityCode];
  if (authority === undefined) {
    return failure(
      'credit_code_authority',
      'The first character of the credit code is not a known registration department code.',
    );
  }
  if (!authority.categories.includes(categoryCode)) {
    return failure(
      'credit_code_authority',
      'The second character of the credit code is not an organisation category that its registration department (first character) uses.',
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
    );
  }
  const organisationCode = value.slice(8, 17);
  if (organisationCodeCheckCharacter(organisationCode.slice(0, 8)) !== organisationCode.charAt(8)) {
    return failure(
      'credit_code_organisation_check',
      'The credit code is not valid: its 17th character does not match characters 9 to 16. A character has probably been mistyped.',
    );
  }
  if (creditCodeCheckCharacter(value.slice(0, 17)) !== value.charAt(17)) {
    return failure(
      'credit_code_check',
      'The credit code is not valid: its last character does not match the others. A character has probably been mistyped or two swapped.',
    );
  }
  return { ok: true, kind: 'credit_code', value, authorityCode, categoryCode, divisionCode, organisationCode };
}

// ---------------------------------------------------------------------------------------------
// Dispatch and masking
// ---------------------------------------------------------------------------------------------

export function parseSubjectIdentifier(
  type: 'resident_id',
  input: string,
  options?: ResidentIdOptions,
): ParsedResidentId | IdentifierFailure;
export function parseSubjectIdentifier(
  type: 'credit_code',
  input: string,
  options?: ResidentIdOptions,
): ParsedCreditCode | IdentifierFailure;
export function parseSubjectIdentifier(
  type: SubjectIdentifierType,
  input: string,
  options?: ResidentIdOptions,
): ParsedResidentId | ParsedCreditCode | IdentifierFailure;
export function parseSubjectIdentifier(
  type: SubjectIdentifierType,
  input: string,
  options?: ResidentIdOptions,
): ParsedResidentId | ParsedCreditCode | IdentifierFailure {
  switch (type) {
    case 'resident_id':
      return parseResidentIdNumber(input, options);
    case 'credit_code':
      return parseCreditCode(input);
  }
}

// Masking lives in the platform, which masks identifiers in what it logs; re-exported for identity's callers.
export { maskCreditCode, maskResidentId };

/**
 * A certificate or document number masked like an ID number when it is one: a resident ID card's
 * and a household register's number are the holder's ID number. Other numbers are returned as
 * they are.
 */
export function maskIfResidentIdNumber(value: string): string {
  return /^\d{17}[\dXx]$/.test(value) ? maskResidentId(value) : value;
}

/** `张**`: the first code point kept, one `*` for every further code point (surrogate pairs count once). */
export function maskName(name: string): string {
  const chars = [...name];
  const first = chars[0];
  if (first === undefined) return '';
  return first + '*'.repeat(chars.length - 1);
}
