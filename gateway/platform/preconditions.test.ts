/**
 * Conditional request evaluation (RFC 9110 §13): each precondition alone, their order, entity-tag
 * list syntax, HTTP-date formats and If-Range.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ConditionalRequestHeaders,
  evaluatePreconditions,
  ifRangeAllowsPartial,
  type PreconditionOutcome,
  parseHttpDate,
  strongEtagForDigest,
} from './preconditions.js';

const SHA256_HEX = createHash('sha256').update('a stored document').digest('hex');
const ETAG = strongEtagForDigest(SHA256_HEX);
const WEAK_ETAG = `W/${ETAG}`;
const OTHER_ETAG = strongEtagForDigest(createHash('sha256').update('another document').digest('hex'));

/** Has milliseconds on purpose: HTTP dates do not, and comparisons must truncate them. */
const LAST_MODIFIED = new Date('2024-03-01T08:00:00.750Z');
const SAME_SECOND = 'Fri, 01 Mar 2024 08:00:00 GMT';
const SECOND_BEFORE = 'Fri, 01 Mar 2024 07:59:59 GMT';
const SECOND_AFTER = 'Fri, 01 Mar 2024 08:00:01 GMT';

/** `lastModified` null means the resource has no modification date (undefined would mean the default). */
function evaluate(
  headers: ConditionalRequestHeaders,
  method = 'GET',
  lastModified: Date | null = LAST_MODIFIED,
): PreconditionOutcome {
  return evaluatePreconditions({ method, etag: ETAG, lastModified: lastModified ?? undefined, headers });
}

describe('evaluatePreconditions: no conditions', () => {
  it.each(['GET', 'HEAD', 'PUT', 'DELETE'])('lets %s proceed', (method) => {
    expect(evaluate({}, method)).toBe('proceed');
  });
});

describe('evaluatePreconditions: If-Match', () => {
  it.each([
    ['the current tag', ETAG],
    ['"*" (the resource exists)', '*'],
    ['"*" with whitespace', '  *  '],
    ['a list containing the current tag', `"a", ${ETAG}`],
    ['a list with extra whitespace', `  "a"  ,\t${ETAG}  `],
    ['a list with empty elements', `, "a",, ${ETAG},`],
  ])('proceeds on %s', (_label, ifMatch) => {
    expect(evaluate({ ifMatch }, 'PUT')).toBe('proceed');
    expect(evaluate({ ifMatch }, 'GET')).toBe('proceed');
  });

  it.each([
    ['another tag', OTHER_ETAG],
    ['the weak form of the current tag (strong comparison)', WEAK_ETAG],
    ['an unquoted tag', SHA256_HEX],
    ['a lower-case weak prefix', `w/${ETAG}`],
    ['two tags without a comma', `"a" ${ETAG}`],
    ['an unclosed quote', `${ETAG}, "a`],
    ['"*" mixed with tags', `*, ${ETAG}`],
    ['an empty list', ''],
    ['a tag with a space inside', `"a b", ${ETAG}`],
  ])('fails on %s', (_label, ifMatch) => {
    expect(evaluate({ ifMatch }, 'PUT')).toBe('precondition_failed');
    expect(evaluate({ ifMatch }, 'GET')).toBe('precondition_failed');
  });

  it('never matches a weak current tag, even with itself', () => {
    const outcome = evaluatePreconditions({ method: 'PUT', etag: 'W/"v1"', headers: { ifMatch: 'W/"v1"' } });
    expect(outcome).toBe('precondition_failed');
  });
});

describe('evaluatePreconditions: If-Unmodified-Since', () => {
  it.each([
    ['the same second (milliseconds truncated)', SAME_SECOND],
    ['a later date', SECOND_AFTER],
  ])('proceeds when unmodified since %s', (_label, ifUnmodifiedSince) => {
    expect(evaluate({ ifUnmodifiedSince }, 'PUT')).toBe('proceed');
  });

  it('fails when modified after the date', () => {
    expect(evaluate({ ifUnmodifiedSince: SECOND_BEFORE }, 'PUT')).toBe('precondition_failed');
    expect(evaluate({ ifUnmodifiedSince: SECOND_BEFORE }, 'GET')).toBe('precondition_failed');
  });

  it.each([
    ['an unparsable date', 'yesterday'],
    ['an ISO 8601 date', '2000-01-01T00:00:00Z'],
    ['an empty value', ''],
  ])('ignores %s', (_label, ifUnmodifiedSince) => {
    expect(evaluate({ ifUnmodifiedSince }, 'PUT')).toBe('proceed');
  });

  it('is ignored without a modification date', () => {
    expect(evaluate({ ifUnmodifiedSince: SECOND_BEFORE }, 'PUT', null)).toBe('proceed');
    expect(evaluate({ ifUnmodifiedSince: SECOND_BEFORE }, 'PUT', new Date(Number.NaN))).toBe('proceed');
  });

  it('is not evaluated when If-Match is present', () => {
    expect(evaluate({ ifMatch: ETAG, ifUnmodifiedSince: SECOND_BEFORE }, 'PUT')).toBe('proceed');
    expect(evaluate({ ifMatch: OTHER_ETAG, ifUnmodifiedSince: SECOND_AFTER }, 'PUT')).toBe('precondition_failed');
  });
});

describe('evaluatePreconditions: If-None-Match', () => {
  it.each([
    ['the current tag', ETAG],
    ['the weak form of the current tag (weak comparison)', WEAK_ETAG],
    ['"*"', '*'],
    ['a list containing the current tag', `"a", W/"b", ${ETAG}`],
  ])('answers 304 to GET and HEAD on %s', (_label, ifNoneMatch) => {
    expect(evaluate({ ifNoneMatch }, 'GET')).toBe('not_modified');
    expect(evaluate({ ifNoneMatch }, 'HEAD')).toBe('not_modified');
  });

  it.each(['PUT', 'POST', 'DELETE', 'PATCH'])('answers 412 to %s on a match', (method) => {
    expect(evaluate({ ifNoneMatch: ETAG }, method)).toBe('precondition_failed');
    expect(evaluate({ ifNoneMatch: '*' }, method)).toBe('precondition_failed');
  });

  it('treats methods case-sensitively: "get" is not GET', () => {
    expect(evaluate({ ifNoneMatch: ETAG }, 'get')).toBe('precondition_failed');
  });

  it.each([
    ['another tag', OTHER_ETAG],
    ['a list of other tags', '"a", W/"b"'],
    ['an unquoted form of the current tag', SHA256_HEX],
    ['a malformed list containing the current tag', `${ETAG} ${ETAG}`],
    ['an empty list', ''],
  ])('proceeds on %s', (_label, ifNoneMatch) => {
    expect(evaluate({ ifNoneMatch }, 'GET')).toBe('proceed');
    expect(evaluate({ ifNoneMatch }, 'PUT')).toBe('proceed');
  });

  it('reads a comma inside quotes as part of the tag, as the etagc grammar allows', () => {
    const withComma = (ifNoneMatch: string): PreconditionOutcome =>
      evaluatePreconditions({ method: 'GET', etag: '"a,b"', headers: { ifNoneMatch } });
    expect(withComma('"a,b"')).toBe('not_modified');
    expect(withComma('"x", "a,b"')).toBe('not_modified');
    expect(withComma('"a", "b"')).toBe('proceed');
  });
});

describe('evaluatePreconditions: If-Modified-Since', () => {
  it.each([
    ['the same second (milliseconds truncated)', SAME_SECOND],
    ['a later date', SECOND_AFTER],
  ])('answers 304 when not modified since %s', (_label, ifModifiedSince) => {
    expect(evaluate({ ifModifiedSince }, 'GET')).toBe('not_modified');
    expect(evaluate({ ifModifiedSince }, 'HEAD')).toBe('not_modified');
  });

  it('proceeds when modified after the date', () => {
    expect(evaluate({ ifModifiedSince: SECOND_BEFORE }, 'GET')).toBe('proceed');
  });

  it.each([
    ['IMF-fixdate', 'Fri, 01 Mar 2024 08:00:00 GMT'],
    ['rfc850-date', 'Friday, 01-Mar-24 08:00:00 GMT'],
    ['asctime-date', 'Fri Mar  1 08:00:00 2024'],
  ])('understands the %s format', (_label, ifModifiedSince) => {
    expect(evaluate({ ifModifiedSince }, 'GET')).toBe('not_modified');
  });

  it.each(['PUT', 'POST', 'DELETE'])('is ignored for %s', (method) => {
    expect(evaluate({ ifModifiedSince: SECOND_AFTER }, method)).toBe('proceed');
  });

  it('is ignored when If-None-Match is present', () => {
    expect(evaluate({ ifNoneMatch: OTHER_ETAG, ifModifiedSince: SECOND_AFTER }, 'GET')).toBe('proceed');
  });

  it.each([
    ['an unparsable date', 'not a date'],
    ['a number of seconds', '1709280000'],
    ['two dates', `${SAME_SECOND}, ${SAME_SECOND}`],
  ])('ignores %s', (_label, ifModifiedSince) => {
    expect(evaluate({ ifModifiedSince }, 'GET')).toBe('proceed');
  });

  it('is ignored without a modification date', () => {
    expect(evaluate({ ifModifiedSince: SECOND_AFTER }, 'GET', null)).toBe('proceed');
  });
});

describe('evaluatePreconditions: evaluation order (RFC 9110 §13.2.2)', () => {
  it('fails on If-Match before looking at If-None-Match', () => {
    expect(evaluate({ ifMatch: OTHER_ETAG, ifNoneMatch: ETAG }, 'GET')).toBe('precondition_failed');
  });

  it('fails on If-Unmodified-Since before looking at If-None-Match', () => {
    expect(evaluate({ ifUnmodifiedSince: SECOND_BEFORE, ifNoneMatch: ETAG }, 'GET')).toBe('precondition_failed');
  });

  it('answers 304 when If-Match holds and If-None-Match matches on GET', () => {
    expect(evaluate({ ifMatch: ETAG, ifNoneMatch: ETAG }, 'GET')).toBe('not_modified');
  });

  it('lets If-None-Match decide over If-Modified-Since when both are present', () => {
    expect(evaluate({ ifNoneMatch: ETAG, ifModifiedSince: SECOND_BEFORE }, 'GET')).toBe('not_modified');
  });

  it('proceeds when every condition holds', () => {
    const headers = {
      ifMatch: ETAG,
      ifUnmodifiedSince: SECOND_BEFORE,
      ifNoneMatch: OTHER_ETAG,
      ifModifiedSince: SECOND_AFTER,
    };
    expect(evaluate(headers, 'GET')).toBe('proceed');
    expect(evaluate(headers, 'PUT')).toBe('proceed');
  });

  it('rejects a current tag that is not an entity-tag', () => {
    expect(() => evaluatePreconditions({ method: 'GET', etag: SHA256_HEX, headers: {} })).toThrow(TypeError);
    expect(() => evaluatePreconditions({ method: 'GET', etag: `${ETAG} `, headers: {} })).toThrow(TypeError);
  });
});

describe('ifRangeAllowsPartial', () => {
  it('allows a range when If-Range is absent', () => {
    expect(ifRangeAllowsPartial(undefined, ETAG, LAST_MODIFIED)).toBe(true);
    expect(ifRangeAllowsPartial(undefined, ETAG)).toBe(true);
  });

  it('allows a range for the current tag', () => {
    expect(ifRangeAllowsPartial(ETAG, ETAG, LAST_MODIFIED)).toBe(true);
    expect(ifRangeAllowsPartial(` ${ETAG} `, ETAG)).toBe(true);
  });

  it.each([
    ['the weak form of the current tag', WEAK_ETAG],
    ['another tag', OTHER_ETAG],
    ['a list (If-Range takes one validator)', `"a", ${ETAG}`],
    ['"*"', '*'],
    ['an unclosed tag', ETAG.slice(0, -1)],
    ['an empty value', ''],
    ['an unquoted tag', SHA256_HEX],
  ])('refuses a range for %s', (_label, ifRange) => {
    expect(ifRangeAllowsPartial(ifRange, ETAG, LAST_MODIFIED)).toBe(false);
  });

  it('allows a range for a date equal to the modification date at second resolution', () => {
    expect(ifRangeAllowsPartial(SAME_SECOND, ETAG, LAST_MODIFIED)).toBe(true);
    expect(ifRangeAllowsPartial('Fri Mar  1 08:00:00 2024', ETAG, LAST_MODIFIED)).toBe(true);
  });

  it.each([
    ['an earlier date', SECOND_BEFORE],
    ['a later date (the match must be exact)', SECOND_AFTER],
    ['an unparsable date', 'Fri, 01 Mar 2024'],
  ])('refuses a range for %s', (_label, ifRange) => {
    expect(ifRangeAllowsPartial(ifRange, ETAG, LAST_MODIFIED)).toBe(false);
  });

  it('refuses a range for a date when there is no modification date', () => {
    expect(ifRangeAllowsPartial(SAME_SECOND, ETAG)).toBe(false);
    expect(ifRangeAllowsPartial(SAME_SECOND, ETAG, new Date(Number.NaN))).toBe(false);
  });
});

describe('parseHttpDate', () => {
  const RFC_EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37);
  const NOW = new Date('2024-06-01T00:00:00Z');

  it.each([
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['rfc850-date', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime-date', 'Sun Nov  6 08:49:37 1994'],
    ['asctime-date with a two-digit day', 'Sun Nov 06 08:49:37 1994'],
    ['IMF-fixdate with surrounding whitespace', ' Sun, 06 Nov 1994 08:49:37 GMT\t'],
  ])('parses the RFC 9110 example as %s', (_label, value) => {
    expect(parseHttpDate(value, NOW)?.getTime()).toBe(RFC_EXAMPLE);
  });

  it('reads a two-digit year as at most 50 years ahead of now', () => {
    const year = (value: string): number | undefined => parseHttpDate(value, NOW)?.getUTCFullYear();
    expect(year('Thursday, 01-Jan-24 00:00:00 GMT')).toBe(2024);
    expect(year('Thursday, 01-Jan-74 00:00:00 GMT')).toBe(2074);
    expect(year('Thursday, 01-Jan-75 00:00:00 GMT')).toBe(1975);
    expect(year('Thursday, 01-Jan-99 00:00:00 GMT')).toBe(1999);
  });

  it('keeps four-digit years below 100 as they are', () => {
    expect(parseHttpDate('Thu, 01 Jan 0099 00:00:00 GMT')?.getUTCFullYear()).toBe(99);
  });

  it('accepts 29 February in a leap year, and a leap second', () => {
    expect(parseHttpDate('Thu, 29 Feb 2024 12:00:00 GMT')?.toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')?.toISOString()).toBe('2017-01-01T00:00:00.000Z');
  });

  it('does not check the day name against the date', () => {
    expect(parseHttpDate('Mon, 06 Nov 1994 08:49:37 GMT')?.getTime()).toBe(RFC_EXAMPLE);
  });

  it.each([
    ['an empty value', ''],
    ['a one-digit day in IMF-fixdate', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['a lower-case day name', 'sun, 06 Nov 1994 08:49:37 GMT'],
    ['a lower-case month', 'Sun, 06 nov 1994 08:49:37 GMT'],
    ['a zone other than GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['a numeric zone', 'Sun, 06 Nov 1994 08:49:37 +0000'],
    ['a short day name in rfc850-date', 'Sun, 06-Nov-94 08:49:37 GMT'],
    ['a long day name in IMF-fixdate', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
    ['a double space', 'Sun,  06 Nov 1994 08:49:37 GMT'],
    ['trailing text', 'Sun, 06 Nov 1994 08:49:37 GMT x'],
    ['31 February', 'Sun, 31 Feb 1994 08:49:37 GMT'],
    ['29 February in a common year', 'Wed, 29 Feb 2023 08:49:37 GMT'],
    ['day 0', 'Sun, 00 Nov 1994 08:49:37 GMT'],
    ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
    ['second 61', 'Sun, 06 Nov 1994 08:49:61 GMT'],
    ['ISO 8601', '1994-11-06T08:49:37Z'],
    ['seconds since the epoch', '784111777'],
    ['a date Date.parse accepts', 'November 6, 1994'],
  ])('rejects %s', (_label, value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined();
  });
});

describe('strongEtagForDigest', () => {
  it('quotes the lower-case digest with an algorithm prefix', () => {
    expect(strongEtagForDigest(SHA256_HEX)).toBe(`"sha256-${SHA256_HEX}"`);
    expect(strongEtagForDigest(SHA256_HEX.toUpperCase())).toBe(`"sha256-${SHA256_HEX}"`);
  });

  it('produces a tag that strong comparison matches', () => {
    const etag = strongEtagForDigest(SHA256_HEX);
    expect(evaluatePreconditions({ method: 'PUT', etag, headers: { ifMatch: etag } })).toBe('proceed');
    expect(ifRangeAllowsPartial(etag, etag)).toBe(true);
  });

  it.each([
    ['too short', SHA256_HEX.slice(1)],
    ['too long', `${SHA256_HEX}0`],
    ['not hex', 'g'.repeat(64)],
    ['quoted', `"${SHA256_HEX.slice(2)}"`],
    ['empty', ''],
  ])('rejects a digest that is %s', (_label, hex) => {
    expect(() => strongEtagForDigest(hex)).toThrow(TypeError);
  });
});
