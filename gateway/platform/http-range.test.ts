/**
 * Range decisions for representations of known size, and the Content-Range values.
 * Most cases use a 1000-byte representation, so valid positions are 0-999.
 */
import { describe, expect, it } from 'vitest';
import { contentRangeHeader, decideRange, type RangeDecision, unsatisfiedRangeHeader } from './http-range.js';

const SIZE = 1000;
const FULL: RangeDecision = { kind: 'full' };
const UNSATISFIABLE: RangeDecision = { kind: 'unsatisfiable' };

function partial(start: number, end: number): RangeDecision {
  return { kind: 'partial', start, end };
}

describe('decideRange: single ranges', () => {
  it('serves the full representation when there is no Range header', () => {
    expect(decideRange(undefined, SIZE)).toEqual(FULL);
  });

  it.each([
    ['bytes=0-499', partial(0, 499)],
    ['bytes=500-999', partial(500, 999)],
    ['bytes=0-0', partial(0, 0)],
    ['bytes=999-999', partial(999, 999)],
    ['bytes=500-', partial(500, 999)],
    ['bytes=999-', partial(999, 999)],
    ['bytes=0-', partial(0, 999)],
    ['bytes=-500', partial(500, 999)],
    ['bytes=-1', partial(999, 999)],
    ['bytes=007-010', partial(7, 10)],
  ])('%s', (header, expected) => {
    expect(decideRange(header, SIZE)).toEqual(expected);
  });

  it('clamps a last position past the end to the last byte', () => {
    expect(decideRange('bytes=0-1000', SIZE)).toEqual(partial(0, 999));
    expect(decideRange('bytes=900-5000', SIZE)).toEqual(partial(900, 999));
  });

  it('serves everything for a suffix longer than the representation', () => {
    expect(decideRange('bytes=-1000', SIZE)).toEqual(partial(0, 999));
    expect(decideRange('bytes=-5000', SIZE)).toEqual(partial(0, 999));
  });

  it('treats the range unit case-insensitively', () => {
    expect(decideRange('Bytes=0-9', SIZE)).toEqual(partial(0, 9));
    expect(decideRange('BYTES=0-9', SIZE)).toEqual(partial(0, 9));
  });

  it('handles sizes beyond 32 bits', () => {
    const size = 2 ** 40;
    expect(decideRange(`bytes=${size - 10}-`, size)).toEqual(partial(size - 10, size - 1));
  });
});

describe('decideRange: unsatisfiable ranges', () => {
  it.each([
    ['a start at the size', 'bytes=1000-'],
    ['a start past the size', 'bytes=5000-6000'],
    ['a zero-length suffix', 'bytes=-0'],
    ['several unsatisfiable ranges', 'bytes=1000-1001, 2000-, -0'],
    ['the largest safe start', `bytes=${Number.MAX_SAFE_INTEGER}-`],
  ])('reports %s as unsatisfiable', (_label, header) => {
    expect(decideRange(header, SIZE)).toEqual(UNSATISFIABLE);
  });

  it('ignores unsatisfiable ranges next to a satisfiable one', () => {
    expect(decideRange('bytes=0-9, 5000-6000', SIZE)).toEqual(partial(0, 9));
    expect(decideRange('bytes=-0, 10-19', SIZE)).toEqual(partial(10, 19));
  });
});

describe('decideRange: several ranges', () => {
  it.each([
    ['adjacent ranges', 'bytes=0-9,10-19', partial(0, 19)],
    ['overlapping ranges', 'bytes=0-50, 25-75', partial(0, 75)],
    ['ranges out of order', 'bytes=500-599, 0-499', partial(0, 599)],
    ['a range inside another', 'bytes=0-999, 10-20', partial(0, 999)],
    ['a repeated range', 'bytes=5-9, 5-9', partial(5, 9)],
    ['an open range and a range it covers', 'bytes=100-, 200-300', partial(100, 999)],
    ['a suffix overlapping a range', 'bytes=-600, 0-500', partial(0, 999)],
    ['ranges that touch only after clamping', 'bytes=900-2000, 800-899', partial(800, 999)],
    ['three ranges chained together', 'bytes=20-29, 0-9, 10-19', partial(0, 29)],
  ])('serves %s as one span', (_label, header, expected) => {
    expect(decideRange(header, SIZE)).toEqual(expected);
  });

  it.each([
    ['two disjoint ranges', 'bytes=0-9, 20-29'],
    ['ranges one byte apart', 'bytes=0-9, 11-19'],
    ['the first and last bytes', 'bytes=0-0, -1'],
    ['three ranges of which two join', 'bytes=0-9, 10-19, 30-39'],
  ])('serves %s in full rather than as multipart/byteranges', (_label, header) => {
    expect(decideRange(header, SIZE)).toEqual(FULL);
  });
});

describe('decideRange: list syntax', () => {
  it.each([
    ['spaces around commas', 'bytes=0-9 , 10-19'],
    ['tabs around commas', 'bytes=0-9\t,\t10-19'],
    ['empty list elements', 'bytes=0-9,,10-19'],
    ['a leading empty element', 'bytes=,0-9, 10-19'],
    ['a trailing comma', 'bytes=0-9, 10-19,'],
  ])('tolerates %s', (_label, header) => {
    expect(decideRange(header, SIZE)).toEqual(partial(0, 19));
  });
});

describe('decideRange: headers that are ignored', () => {
  it.each([
    ['another unit', 'items=0-9'],
    ['a unit that only starts with bytes', 'bytesx=0-9'],
    ['no unit', '0-9'],
    ['an empty header', ''],
    ['no "="', 'bytes'],
    ['whitespace before "="', 'bytes =0-9'],
    ['an empty range set', 'bytes='],
    ['a range set of empty elements', 'bytes=,, ,'],
    ['a missing dash', 'bytes=10'],
    ['a lone dash', 'bytes=-'],
    ['two dashes', 'bytes=1-2-3'],
    ['a negative suffix', 'bytes=--5'],
    ['a plus sign', 'bytes=+1-2'],
    ['hex digits', 'bytes=0x10-20'],
    ['a fraction', 'bytes=1.5-2'],
    ['an exponent', 'bytes=1e3-'],
    ['spaces around the dash', 'bytes=1 - 2'],
    ['non-ASCII digits', 'bytes=\u0661-\u0662'],
    ['last before first', 'bytes=5-4'],
    ['one invalid range among valid ones', 'bytes=0-9, 5-4, 10-19'],
    ['a first position above 2^53 - 1', 'bytes=9007199254740992-'],
    ['a last position above 2^53 - 1', 'bytes=0-99999999999999999999'],
    ['a suffix above 2^53 - 1', 'bytes=-9007199254740993'],
  ])('serves in full with %s', (_label, header) => {
    expect(decideRange(header, SIZE)).toEqual(FULL);
  });

  it('accepts 100 ranges and ignores 101', () => {
    const ranges = (count: number): string => `bytes=${Array.from({ length: count }, () => '0-1').join(',')}`;
    expect(decideRange(ranges(100), SIZE)).toEqual(partial(0, 1));
    expect(decideRange(ranges(101), SIZE)).toEqual(FULL);
  });

  it('ignores 101 unsatisfiable ranges too, rather than answering 416', () => {
    expect(decideRange(`bytes=${Array.from({ length: 101 }, () => '5000-').join(',')}`, SIZE)).toEqual(FULL);
  });

  it('parses a header of 1024 characters and ignores one of 1025', () => {
    const header = (length: number): string => `bytes=${'0'.repeat(length - 'bytes=-9'.length)}-9`;
    expect(header(1024)).toHaveLength(1024);
    expect(decideRange(header(1024), SIZE)).toEqual(partial(0, 9));
    expect(decideRange(header(1025), SIZE)).toEqual(FULL);
  });
});

describe('decideRange: tiny representations', () => {
  it.each([
    ['bytes=0-', UNSATISFIABLE],
    ['bytes=0-0', UNSATISFIABLE],
    ['bytes=-0', UNSATISFIABLE],
    ['bytes=-5', FULL],
    ['bytes=0-0, -5', FULL],
    ['bytes=5-4', FULL],
    ['items=0-', FULL],
  ])('size 0, %s', (header, expected) => {
    expect(decideRange(header, 0)).toEqual(expected);
  });

  it.each([
    ['bytes=0-', partial(0, 0)],
    ['bytes=0-100', partial(0, 0)],
    ['bytes=-1', partial(0, 0)],
    ['bytes=-100', partial(0, 0)],
    ['bytes=1-', UNSATISFIABLE],
  ])('size 1, %s', (header, expected) => {
    expect(decideRange(header, 1)).toEqual(expected);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects the size %s', (size) => {
    expect(() => decideRange('bytes=0-1', size)).toThrow(RangeError);
  });
});

describe('contentRangeHeader', () => {
  it('formats a range of a representation', () => {
    expect(contentRangeHeader({ start: 0, end: 499 }, SIZE)).toBe('bytes 0-499/1000');
    expect(contentRangeHeader({ start: 999, end: 999 }, SIZE)).toBe('bytes 999-999/1000');
    expect(contentRangeHeader({ start: 0, end: 0 }, 1)).toBe('bytes 0-0/1');
  });

  it('accepts a partial decision as it is', () => {
    const decision = decideRange('bytes=-10', SIZE);
    if (decision.kind !== 'partial') throw new Error('expected a partial decision');
    expect(contentRangeHeader(decision, SIZE)).toBe('bytes 990-999/1000');
  });

  it.each([
    ['an end at the size', { start: 0, end: 1000 }, SIZE],
    ['a start after the end', { start: 10, end: 9 }, SIZE],
    ['a negative start', { start: -1, end: 9 }, SIZE],
    ['a fractional position', { start: 0.5, end: 9 }, SIZE],
    ['an empty representation', { start: 0, end: 0 }, 0],
  ])('rejects %s', (_label, range, size) => {
    expect(() => contentRangeHeader(range, size)).toThrow(RangeError);
  });
});

describe('unsatisfiedRangeHeader', () => {
  it('formats the size with an asterisk for the range', () => {
    expect(unsatisfiedRangeHeader(SIZE)).toBe('bytes */1000');
    expect(unsatisfiedRangeHeader(0)).toBe('bytes */0');
  });

  it('rejects a negative size', () => {
    expect(() => unsatisfiedRangeHeader(-1)).toThrow(RangeError);
  });
});
