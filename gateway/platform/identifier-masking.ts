/**
 * Masking of subject identifiers: resident ID numbers (GB 11643), unified social credit codes
 * (GB 32100), passports, Mainland Travel Permits of Hong Kong, Macao and Taiwan residents and
 * foreign permanent resident ID cards. Pure functions. They live in the platform because the
 * platform itself masks identifiers wherever client-supplied text could reach a log line or a
 * response (error messages, request ids) and may not import a capability; identity re-exports
 * them for its own use.
 *
 * Masking keeps a fixed, non-identifying part visible: ID numbers keep the first 6 (division) and
 * last 4 characters; credit codes keep the first 8 (authority, category, division) and the last 2;
 * passports their nationality and, from 8 characters on, the first character (a document series
 * such as the E or G of PRC passports) and the last 2; travel permits the H or M (whose permit) and
 * the last 2; permanent resident ID cards of 2023 like ID numbers (first 6: the 9, the issuing
 * province, the nationality; last 4), those of 2017 the first 5 (nationality, issuing province)
 * and the last 2. Every mask hides the birth date where the number has one.
 */

/**
 * Keeps `keepStart` leading and `keepEnd` trailing code points and replaces each one between with
 * `*`. A value too short to hide anything that way is masked completely.
 */
function maskMiddle(value: string, keepStart: number, keepEnd: number): string {
  const chars = [...value];
  if (chars.length <= keepStart + keepEnd) return '*'.repeat(chars.length);
  return [
    ...chars.slice(0, keepStart),
    '*'.repeat(chars.length - keepStart - keepEnd),
    ...chars.slice(chars.length - keepEnd),
  ].join('');
}

/** `110105********1234`: division and last four kept, birth date and sequence hidden. */
export function maskResidentId(value: string): string {
  return maskMiddle(value, 6, 4);
}

/**
 * `91350100********43`: authority, category and division kept, the organisation-code body hidden;
 * like `maskResidentId`, 10 of 18 characters visible and 8 hidden.
 */
export function maskCreditCode(value: string): string {
  return maskMiddle(value, 8, 2);
}

/**
 * `USA:1******89`: the nationality kept; of the number, the first character and the last 2 when it
 * has 8 characters or more (at least 5 hidden), nothing when it is shorter. A value without a
 * nationality (a bare passport number in free text) is masked the same way.
 */
export function maskPassport(value: string): string {
  const colon = value.indexOf(':');
  const nationality = colon < 0 ? '' : value.slice(0, colon + 1);
  const number = value.slice(colon + 1);
  return nationality + ([...number].length >= 8 ? maskMiddle(number, 1, 2) : '*'.repeat([...number].length));
}

/**
 * `H******78` / `******78`: the H or M (Hong Kong or Macao) kept, and the last 2 digits; a number
 * quoted with its renewal count (`H1234567801`) keeps the letter and the renewal count.
 */
export function maskTravelPermit(value: string): string {
  return /^[HM]/i.test(value) ? maskMiddle(value, 1, 2) : maskMiddle(value, 0, 2);
}

/**
 * The 2023 card's 18 characters like an ID number (`911840********123X`: the 9, the issuing
 * province and the nationality, and the last 4), the 2017 card's 15 keeping nationality and
 * issuing province and the last 2 (`USA11********01`); the birth date is hidden in both.
 */
export function maskPermanentResidence(value: string): string {
  return [...value].length === 15 ? maskMiddle(value, 5, 2) : maskResidentId(value);
}

/**
 * Anything shaped like an identifier, standing alone (not inside a longer run of letters and
 * digits): an 18-character ID number (which is also the shape of a 2023 permanent resident ID card
 * number), a credit code (its 31-character alphabet, either case), the 15-digit first-generation
 * ID number, a 2017 permanent resident ID card number (three letters and 12 digits), a Hong Kong or
 * Macao residents' travel permit (H or M and 8 digits, or 10 with the renewal count), and a PRC
 * ordinary passport (E or G and 8 digits, or E, a letter and 7 digits). Check characters are
 * deliberately not verified: a mistyped number is still someone's number, and masking a
 * look-alike in a log line costs nothing. Passports of other countries (any 5 to 20 letters and
 * digits) and Taiwan residents' permits (8 digits, like a date or an amount) have no shape that
 * can be told apart from ordinary text, and are not looked for.
 */
const IDENTIFIER_SHAPES =
  /(?<![0-9A-Za-z])(?:(?<residentId>\d{17}[\dX])|(?<creditCode>[0-9A-HJ-NPQRTUWXY]{18})|(?<residentId15>\d{15})|(?<permanentResidence2017>[A-Z]{3}\d{12})|(?<travelPermit>[HM]\d{8}(?:\d{2})?)|(?<prcPassport>[EG]\d{8}|E[A-Z]\d{7}))(?![0-9A-Za-z])/gi;

type ShapeGroups = Partial<
  Record<
    'residentId' | 'creditCode' | 'residentId15' | 'permanentResidence2017' | 'travelPermit' | 'prcPassport',
    string
  >
>;

/** `text` with every identifier-shaped run masked (see IDENTIFIER_SHAPES). */
export function maskIdentifiersInText(text: string): string {
  return text.replace(IDENTIFIER_SHAPES, (whole: string, ...rest: unknown[]) => {
    const groups = rest.at(-1) as ShapeGroups;
    if (groups.creditCode !== undefined) return maskCreditCode(whole);
    if (groups.permanentResidence2017 !== undefined) return maskPermanentResidence(whole);
    if (groups.travelPermit !== undefined) return maskTravelPermit(whole);
    if (groups.prcPassport !== undefined) return maskPassport(whole);
    return maskResidentId(whole);
  });
}

/** `138****1234`: the network prefix and the last four digits, as Chinese services show a number. */
export function maskMobile(value: string): string {
  if (value.length < 8) return '*'.repeat(value.length);
  return `${value.slice(0, 3)}${'*'.repeat(value.length - 7)}${value.slice(-4)}`;
}

/** A mainland mobile number standing alone in text (not inside a longer run of digits). */
const MOBILE_IN_TEXT = /(?<!\d)1[3-9]\d{9}(?!\d)/g;

/**
 * `text` with identifiers (see IDENTIFIER_SHAPES) and mainland mobile numbers masked, and each of
 * the known `names` given (`maskNamesInText`).
 */
export function maskPersonalText(text: string, names: readonly string[] = []): string {
  const masked = maskIdentifiersInText(text).replace(MOBILE_IN_TEXT, (mobile) => maskMobile(mobile));
  return names.length === 0 ? masked : maskNamesInText(masked, names);
}

/**
 * Free text from elsewhere (a department's reason, a courier's remark such as 「签收人 张三
 * 13812345678」) as shown to anyone: identifiers and mobile numbers masked; null stays null.
 */
export function maskIdentifiersInNote(text: string | null): string | null {
  return text === null ? null : maskPersonalText(text);
}

/** A personal name's shape: two to four Han characters (or a minority name with 「·」). */
const PERSON_NAME_SHAPE = /^[\u4e00-\u9fff·]{2,4}$/u;
/** How the names of organisations end (a bank, court, company, bureau, centre, association …). */
const ORGANISATION_ENDING = /(公司|银行|法院|局|中心|会|社|所|院|厂|店|处|部|行)$/u;

/**
 * Whether `party` (who holds a certificate's restriction) is a person, whose name is personal data
 * masked like a holder's (review 9: a pre-notice secures a private buyer's purchase, an objection
 * may be a person's). Banks, courts and companies stay readable: the window tells the applicant
 * who to settle with.
 */
export function isPersonName(party: string): boolean {
  return PERSON_NAME_SHAPE.test(party) && !ORGANISATION_ENDING.test(party);
}

/** `张**`: the first code point kept, one `*` for every further code point (surrogate pairs count once). */
export function maskName(name: string): string {
  const chars = [...name];
  const first = chars[0];
  if (first === undefined) return '';
  return first + '*'.repeat(chars.length - 1);
}

/**
 * `text` with every occurrence of a known name (the case's applicant and parties) masked as
 * `maskName` masks it: 「李梅（买方）」 → 「李*（买方）」. Names are not recognisable in free text,
 * but the names a case holds are known. Single characters are left alone: they are common words.
 */
export function maskNamesInText(text: string, names: readonly string[]): string {
  let masked = text;
  // Longest first, so 「欧阳娜娜」 is masked whole before a shorter name inside it.
  for (const name of [...new Set(names)].sort((a, b) => [...b].length - [...a].length)) {
    if ([...name].length < 2) continue;
    masked = masked.replaceAll(name, maskName(name));
  }
  return masked;
}

/**
 * Free text shown to someone who oversees the case but does not work it (a supervisor above its
 * centre): the leading third (at most six characters, e.g. 「北京市海淀区」 of an address, 「张」 of
 * a name) kept, the rest hidden; identifiers, mobile numbers and the case's known `names` masked
 * first, so a name at the start of a reason is not kept whole.
 */
export function maskForOversight(text: string, names: readonly string[] = []): string {
  const chars = [...maskPersonalText(text, names)];
  const keep = Math.min(6, Math.ceil(chars.length / 3));
  return chars.slice(0, keep).join('') + '*'.repeat(chars.length - keep);
}

/** A number of six digits or more: a mobile, an account or a house number typed as a JSON number. */
const LONG_NUMBER = /^-?\d{6,}(\.\d+)?$/;

/**
 * A JSON value with `mask` applied to every string in it and, with `numbersToo`, to the text of
 * every number of six digits or more; other numbers, booleans and keys kept.
 */
function maskStrings(value: unknown, mask: (text: string) => string, numbersToo = false): unknown {
  if (typeof value === 'string') return mask(value);
  if (numbersToo && typeof value === 'number' && LONG_NUMBER.test(String(value))) return mask(String(value));
  if (Array.isArray(value)) return value.map((entry) => maskStrings(entry, mask, numbersToo));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, maskStrings(entry, mask, numbersToo)]));
  }
  return value;
}

/**
 * Every string in a JSON value masked for oversight (`maskForOversight`), and every number of six
 * digits or more as its text masked the same way (a form may take a mobile as a number); shorter
 * numbers (an age, a floor area), booleans and keys kept.
 */
export function maskJsonForOversight(value: unknown, names: readonly string[] = []): unknown {
  return maskStrings(value, (text) => maskForOversight(text, names), true);
}

/**
 * Text someone wrote (a department's words, a clerk's reason, an operator's note, a courier's
 * error), as opposed to a code, an id or a time: it holds a space, a Han character or punctuation
 * other than `. : - / + @ _`. Decided by the value, so a field added later is covered unlisted.
 */
const PROSE = /[^\w.:\-/+@]/;

/**
 * A JSON record of codes and free text (an event's detail) for someone who oversees the case:
 * every string that is prose kept to its leading third (`maskForOversight`), every other string
 * with its identifiers and mobile numbers masked (`maskPersonalText`).
 */
export function maskProseForOversight(value: unknown, names: readonly string[] = []): unknown {
  return maskStrings(value, (text) =>
    PROSE.test(text) ? maskForOversight(text, names) : maskPersonalText(text, names),
  );
}

/**
 * Every string in a JSON value with its identifiers, mobile numbers and the known `names` given
 * masked (`maskPersonalText`).
 */
export function maskPersonalJson(value: unknown, names: readonly string[] = []): unknown {
  return maskStrings(value, (text) => maskPersonalText(text, names));
}

/** The same shapes without the global flag, whose `lastIndex` would make `test` stateful. */
const IDENTIFIER_SHAPE = new RegExp(IDENTIFIER_SHAPES.source, 'i');

/** True when `text` holds something shaped like an identifier. */
export function containsIdentifier(text: string): boolean {
  return IDENTIFIER_SHAPE.test(text);
}
