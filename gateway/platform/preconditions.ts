/**
 * RFC 9110 §13 conditional requests for a resource that exists and has a strong entity tag
 * (and possibly a last-modification date): `If-Match`, `If-None-Match`, `If-Modified-Since`,
 * `If-Unmodified-Since` and `If-Range`.
 *
 * Malformed header values never make a condition succeed: an entity-tag list that does not parse
 * matches nothing, and a date that does not parse is ignored, as RFC 9110 requires for dates.
 * For If-Match that means a garbled value fails with 412 rather than letting a write through.
 */

export type PreconditionOutcome = 'proceed' | 'not_modified' | 'precondition_failed';

export interface ConditionalRequestHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export interface PreconditionInput {
  /** The request method; methods are case-sensitive (RFC 9110 §9.1), so `get` is not GET. */
  method: string;
  /** The resource's current strong entity tag, quoted, e.g. from `strongEtagForDigest`. */
  etag: string;
  lastModified?: Date;
  headers: ConditionalRequestHeaders;
}

/**
 * Evaluates the request's preconditions in the order of RFC 9110 §13.2.2:
 * 1. If-Match; when false, 412.
 * 2. Only without If-Match: If-Unmodified-Since; when false, 412.
 * 3. If-None-Match; when false, 304 for GET/HEAD and 412 for other methods.
 * 4. Only without If-None-Match, and only for GET/HEAD: If-Modified-Since; when false, 304.
 * Otherwise the request proceeds. (Step 5 of §13.2.2, If-Range, is `ifRangeAllowsPartial`.)
 */
export function evaluatePreconditions(input: PreconditionInput): PreconditionOutcome {
  const current = parseOwnEntityTag(input.etag);
  const lastModified = toWholeSeconds(input.lastModified);
  const readsOnly = input.method === 'GET' || input.method === 'HEAD';
  const { ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince } = input.headers;

  if (ifMatch !== undefined) {
    if (!ifMatchHolds(ifMatch, current)) return 'precondition_failed';
  } else if (ifUnmodifiedSince !== undefined && lastModified !== undefined) {
    const since = parseHttpDate(ifUnmodifiedSince);
    if (since !== undefined && lastModified > toSeconds(since)) return 'precondition_failed';
  }

  if (ifNoneMatch !== undefined) {
    if (!ifNoneMatchHolds(ifNoneMatch, current)) return readsOnly ? 'not_modified' : 'precondition_failed';
  } else if (readsOnly && ifModifiedSince !== undefined && lastModified !== undefined) {
    const since = parseHttpDate(ifModifiedSince);
    if (since !== undefined && lastModified <= toSeconds(since)) return 'not_modified';
  }

  return 'proceed';
}

/**
 * Whether a Range request may be answered with the requested range (true) or must be answered
 * in full because the client's copy is stale (false), per `If-Range` (RFC 9110 §13.1.5).
 * Absent: true. An entity tag: strong comparison, so a weak tag never matches. An HTTP-date:
 * true only when it equals `lastModified` exactly, at one-second resolution. Anything else,
 * including an empty value, is false: a full response is always a safe answer.
 */
export function ifRangeAllowsPartial(ifRange: string | undefined, etag: string, lastModified?: Date): boolean {
  if (ifRange === undefined) return true;
  const current = parseOwnEntityTag(etag);
  const value = trimWhitespace(ifRange);
  // §13.1.5: an entity-tag starts with DQUOTE or W/"; an HTTP-date never does.
  if (value.startsWith('"') || value.startsWith('W/')) {
    const tag = parseSingleEntityTag(value);
    return tag !== null && strongMatch(tag, current);
  }
  const date = parseHttpDate(value);
  const modified = toWholeSeconds(lastModified);
  return date !== undefined && modified !== undefined && toSeconds(date) === modified;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** The strong entity tag of content with this hex SHA-256: `"sha256-<lower-case hex>"`. */
export function strongEtagForDigest(sha256Hex: string): string {
  if (!SHA256_HEX.test(sha256Hex)) throw new TypeError(`not a hex SHA-256 digest: ${JSON.stringify(sha256Hex)}`);
  return `"sha256-${sha256Hex.toLowerCase()}"`;
}

// ---------------------------------------------------------------------------------------------
// Entity tags (RFC 9110 §8.8.3).

interface EntityTag {
  weak: boolean;
  /** The characters between the quotes. */
  opaque: string;
}

/** etagc = %x21 / %x23-7E / obs-text. This includes ",": a comma inside quotes is part of the tag. */
function isEntityTagCharacter(code: number): boolean {
  return code === 0x21 || (code >= 0x23 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

/** An entity-tag starting at `start`, and the index just after it; null when there is none. */
function readEntityTag(text: string, start: number): { tag: EntityTag; end: number } | null {
  let position = start;
  // The weak prefix is case-sensitive (%s"W/"); a lower-case w/ is not an entity-tag.
  const weak = text.startsWith('W/', position);
  if (weak) position += 2;
  if (text[position] !== '"') return null;
  const opaqueStart = position + 1;
  position = opaqueStart;
  while (position < text.length && isEntityTagCharacter(text.charCodeAt(position))) position += 1;
  if (text[position] !== '"') return null;
  return { tag: { weak, opaque: text.slice(opaqueStart, position) }, end: position + 1 };
}

function parseSingleEntityTag(text: string): EntityTag | null {
  const read = readEntityTag(text, 0);
  return read !== null && read.end === text.length ? read.tag : null;
}

/** The server's own tag: a caller bug, not a client error, if it is not a valid entity-tag. */
function parseOwnEntityTag(etag: string): EntityTag {
  const tag = parseSingleEntityTag(etag);
  if (tag === null) throw new TypeError(`not an entity-tag: ${JSON.stringify(etag)}`);
  return tag;
}

function isWhitespace(character: string | undefined): boolean {
  return character === ' ' || character === '\t';
}

function trimWhitespace(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * `"*" / #entity-tag` (RFC 9110 §13.1.1, §13.1.2). List elements are separated by commas with
 * optional whitespace, and empty elements are skipped (§5.6.1). Returns null for anything
 * else — a bare token, a missing comma, an unclosed quote, `*` mixed with tags — so that the
 * caller treats the field as matching nothing.
 */
function parseEntityTagList(value: string): '*' | EntityTag[] | null {
  const text = trimWhitespace(value);
  if (text === '*') return '*';
  const tags: EntityTag[] = [];
  let position = 0;
  for (;;) {
    while (isWhitespace(text[position]) || text[position] === ',') position += 1;
    if (position >= text.length) return tags;
    const read = readEntityTag(text, position);
    if (read === null) return null;
    tags.push(read.tag);
    position = read.end;
    while (isWhitespace(text[position])) position += 1;
    if (position < text.length && text[position] !== ',') return null;
  }
}

/** Strong comparison (§8.8.3.2): neither tag weak, and identical opaque tags. */
function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison: identical opaque tags, whatever their weakness. */
function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/** §13.1.1: `*` holds because the resource exists; otherwise some tag must match strongly. */
function ifMatchHolds(value: string, current: EntityTag): boolean {
  const list = parseEntityTagList(value);
  if (list === '*') return true;
  return list !== null && list.some((tag) => strongMatch(tag, current));
}

/** §13.1.2: false (the client's copy is current) on `*` or on a weakly matching tag. */
function ifNoneMatchHolds(value: string, current: EntityTag): boolean {
  const list = parseEntityTagList(value);
  if (list === '*') return false;
  return list === null || !list.some((tag) => weakMatch(tag, current));
}

// ---------------------------------------------------------------------------------------------
// HTTP dates (RFC 9110 §5.6.7). Date.parse is not used: it accepts far more than HTTP-date
// (ISO 8601, bare numbers, local times) and would turn garbage into a valid condition.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const DAY_NAME = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const LONG_DAY_NAME = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

/** `Sun, 06 Nov 1994 08:49:37 GMT`, the only format senders may generate. */
const IMF_FIXDATE = new RegExp(`^(?:${DAY_NAME}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete). */
const RFC850_DATE = new RegExp(`^(?:${LONG_DAY_NAME}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` (obsolete; the day is space-padded). */
const ASCTIME_DATE = new RegExp(`^(?:${DAY_NAME}) (${MONTH}) (\\d{2}| \\d) ${TIME} (\\d{4})$`);

/**
 * Parses an HTTP-date in any of the three formats recipients must accept (case-sensitive, as the
 * grammar is), or returns undefined. The day name is not checked against the date: RFC 9110 does
 * not ask recipients to. A two-digit rfc850 year more than 50 years after `now`'s year is taken
 * to be in the previous century, as §5.6.7 requires.
 */
export function parseHttpDate(value: string, now: Date = new Date()): Date | undefined {
  const text = trimWhitespace(value);
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) {
    const [, day, month, year, hour, minute, second] = match;
    return buildDate(Number(year), month, Number(day), Number(hour), Number(minute), Number(second));
  }
  match = RFC850_DATE.exec(text);
  if (match !== null) {
    const [, day, month, shortYear, hour, minute, second] = match;
    const year = expandTwoDigitYear(Number(shortYear), now.getUTCFullYear());
    return buildDate(year, month, Number(day), Number(hour), Number(minute), Number(second));
  }
  match = ASCTIME_DATE.exec(text);
  if (match !== null) {
    const [, month, day, hour, minute, second, year] = match;
    return buildDate(Number(year), month, Number(day), Number(hour), Number(minute), Number(second));
  }
  return undefined;
}

function expandTwoDigitYear(shortYear: number, currentYear: number): number {
  const year = currentYear - (currentYear % 100) + shortYear;
  return year > currentYear + 50 ? year - 100 : year;
}

/** A UTC date from calendar fields, or undefined when a field is out of range (e.g. 31 Feb). */
function buildDate(
  year: number,
  monthName: string | undefined,
  day: number,
  hour: number,
  minute: number,
  second: number,
): Date | undefined {
  const month = MONTHS.indexOf(monthName ?? '');
  // Second 60 is a leap second (RFC 5322 allows it); it rolls over into the next minute.
  if (month === -1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month || date.getUTCDate() !== day) {
    return undefined;
  }
  date.setUTCHours(hour, minute, second, 0);
  return date;
}

/** HTTP dates have one-second resolution, so stored times are compared truncated to seconds. */
function toSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function toWholeSeconds(date: Date | undefined): number | undefined {
  if (date === undefined || Number.isNaN(date.getTime())) return undefined;
  return toSeconds(date);
}
