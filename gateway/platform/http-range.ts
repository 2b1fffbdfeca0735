/**
 * RFC 9110 §14 byte ranges: what to send for a `Range` request header, given the size of the
 * representation, and the `Content-Range` values that go with the answer.
 *
 * Only single-part answers are produced, never `multipart/byteranges`: documents are fetched by
 * viewers (PDF.js and the like) that ask for one range at a time, and a full 200 response is
 * always a valid answer to a Range request (RFC 9110 §14.2: a server MAY ignore Range). So a
 * request for several ranges is served as one span when they overlap or touch, and in full
 * otherwise. Whenever the header is not understood, the answer is likewise the full
 * representation.
 *
 * Conditional ranges (`If-Range`) are decided separately, in preconditions.ts.
 */

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/** Longer headers are not parsed at all: no viewer needs them, and parsing them costs. */
const MAX_RANGE_HEADER_LENGTH = 1024;
/** More ranges than this are treated as abuse (RFC 9110 §17.15) and answered in full. */
const MAX_RANGE_COUNT = 100;

const FULL: RangeDecision = { kind: 'full' };
const UNSATISFIABLE: RangeDecision = { kind: 'unsatisfiable' };

/** A parsed range-spec: `first-last`, `first-` (last undefined) or the suffix `-length`. */
type RangeSpec = { kind: 'from'; first: number; last: number | undefined } | { kind: 'suffix'; length: number };

/** An inclusive byte span within the representation. */
interface Span {
  start: number;
  end: number;
}

/**
 * Decides how to answer a request whose `Range` header is `rangeHeader` (undefined when absent)
 * for a representation of `size` bytes: in full (200), with one span (206), or as unsatisfiable
 * (416, with `unsatisfiedRangeHeader`).
 */
export function decideRange(rangeHeader: string | undefined, size: number): RangeDecision {
  assertSize(size);
  if (rangeHeader === undefined || rangeHeader.length > MAX_RANGE_HEADER_LENGTH) return FULL;
  const specs = parseByteRangesSpecifier(rangeHeader);
  if (specs === null) return FULL;

  if (size === 0) {
    // RFC 9110 §14.1.1: for an empty representation only a non-zero suffix is satisfiable, and
    // it means "all of it": nothing that a 206 can express, so the whole (empty) body is sent.
    return specs.some((spec) => spec.kind === 'suffix' && spec.length > 0) ? FULL : UNSATISFIABLE;
  }

  const spans = specs.map((spec) => satisfiableSpan(spec, size)).filter((span): span is Span => span !== null);
  if (spans.length === 0) return UNSATISFIABLE;
  const merged = coalesce(spans);
  const only = merged[0];
  if (merged.length !== 1 || only === undefined) return FULL;
  return { kind: 'partial', start: only.start, end: only.end };
}

/** The `Content-Range` value of a 206 response: `bytes start-end/size`. */
export function contentRangeHeader(decision: { start: number; end: number }, size: number): string {
  assertSize(size);
  const { start, end } = decision;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end >= size) {
    throw new RangeError(`bytes ${start}-${end} is not a range within a representation of ${size} bytes`);
  }
  return `bytes ${start}-${end}/${size}`;
}

/** The `Content-Range` value of a 416 response: `bytes *` then a slash and the size. */
export function unsatisfiedRangeHeader(size: number): string {
  assertSize(size);
  return `bytes */${size}`;
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`a representation size must be a non-negative integer, not ${size}`);
  }
}

const DIGITS = /^[0-9]+$/;
const RANGE_UNIT = 'bytes';

/**
 * RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set, with range-set a
 * comma-separated list (§5.6.1, so empty elements and whitespace around commas are allowed).
 * Returns null when the unit is not `bytes` (units are case-insensitive) or any element is
 * invalid: one bad range-spec makes the whole header one we ignore.
 */
function parseByteRangesSpecifier(header: string): RangeSpec[] | null {
  const equals = header.indexOf('=');
  if (equals === -1 || header.slice(0, equals).toLowerCase() !== RANGE_UNIT) return null;
  const specs: RangeSpec[] = [];
  for (const element of header.slice(equals + 1).split(',')) {
    const trimmed = element.replace(/^[ \t]+|[ \t]+$/g, '');
    if (trimmed === '') continue;
    const spec = parseRangeSpec(trimmed);
    if (spec === null) return null;
    specs.push(spec);
    if (specs.length > MAX_RANGE_COUNT) return null;
  }
  return specs.length === 0 ? null : specs;
}

/** int-range = first-pos "-" [ last-pos ] / suffix-range = "-" suffix-length. */
function parseRangeSpec(text: string): RangeSpec | null {
  const dash = text.indexOf('-');
  if (dash === -1) return null;
  const firstText = text.slice(0, dash);
  const lastText = text.slice(dash + 1);
  if (firstText === '') {
    const length = parseDigits(lastText);
    return length === null ? null : { kind: 'suffix', length };
  }
  const first = parseDigits(firstText);
  if (first === null) return null;
  if (lastText === '') return { kind: 'from', first, last: undefined };
  const last = parseDigits(lastText);
  // RFC 9110 §14.1.1: a last-pos before the first-pos makes the range-spec invalid.
  if (last === null || last < first) return null;
  return { kind: 'from', first, last };
}

/** 1*DIGIT as a safe integer; anything else (signs, spaces, huge values) is null. */
function parseDigits(text: string): number | null {
  if (!DIGITS.test(text)) return null;
  const value = Number(text);
  // Every value above MAX_SAFE_INTEGER rounds to 2^53 or more, so this rejects all of them.
  return Number.isSafeInteger(value) ? value : null;
}

/** The bytes a range-spec selects from a non-empty representation, or null if none. */
function satisfiableSpan(spec: RangeSpec, size: number): Span | null {
  if (spec.kind === 'suffix') {
    if (spec.length === 0) return null;
    // A suffix longer than the representation means all of it (RFC 9110 §14.1.1).
    return { start: Math.max(0, size - spec.length), end: size - 1 };
  }
  if (spec.first >= size) return null;
  return { start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) };
}

/** Merges spans that overlap or are adjacent; the result is sorted by start. */
function coalesce(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const span of sorted) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && span.start <= previous.end + 1) {
      previous.end = Math.max(previous.end, span.end);
    } else {
      merged.push({ ...span });
    }
  }
  return merged;
}
