/**
 * `pattern`s of response schemas, matched in time linear in the answer.
 *
 * JavaScript's regular expressions backtrack: `^(a+)+$` takes seconds on a 30-character answer, so
 * a contract's pattern could hold the gateway's event loop on every answer. Both validators
 * (Ajv through `code.regExp`, the interpreter through a rewritten schema) match patterns with
 * re2js, a port of RE2: an automaton, linear in the input whatever the pattern. RE2 has no
 * backreferences or lookaround (nothing linear can have them); publication refuses patterns that
 * use them (`linearPatternProblem`).
 *
 * Patterns are ECMAScript regular expressions (JSON Schema says so), RE2's syntax differs in a few
 * places; `toRe2Syntax` rewrites those so that a pattern means what it means to JavaScript with the
 * `u` flag (as Ajv compiles it): `\s` includes the ideographic space U+3000 and the other Unicode
 * spaces, `.` stops at every line terminator, `\p{Script=Han}` is `\p{Han}`.
 */
import { RE2JS } from 're2js';

/** JavaScript's `\s`: ASCII white space, line terminators and Unicode's space separators. */
const JS_WHITE_SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/** `.` without the `s` flag: anything but a line terminator. */
const JS_DOT = '[^\\n\\r\\u2028\\u2029]';

/** `\p{Script=Han}`, `\p{sc=Han}`, `\p{gc=Lu}`: RE2 names scripts and categories bare. */
const PROPERTY_NAME = /^\{(?:Script|sc|Script_Extensions|scx|General_Category|gc)=([A-Za-z_]+)\}/;

/** `\uD83D\uDE00`: with the `u` flag, an escaped surrogate pair is the one code point it encodes. */
const SURROGATE_PAIR = /^u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})/i;

const WHITE_SPACE_RANGES: Array<[number, number]> = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

const hex = (codePoint: number) => `\\u{${codePoint.toString(16)}}`;

/** JavaScript's `\S` inside a class: every code point that is not `\s`, as ranges. */
const JS_NOT_WHITE_SPACE = (() => {
  let out = '';
  let from = 0;
  for (const [start, end] of WHITE_SPACE_RANGES) {
    if (start > from) out += `${hex(from)}-${hex(start - 1)}`;
    from = end + 1;
  }
  return `${out}${hex(from)}-${hex(0x10ffff)}`;
})();

/** The pattern in RE2's syntax, JavaScript's meaning kept (see above); throws what RE2 lacks. */
export function toRe2Syntax(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '\\') {
      const next = pattern[index + 1] ?? '';
      index += 1;
      if (next === 's') out += inClass ? JS_WHITE_SPACE : `[${JS_WHITE_SPACE}]`;
      else if (next === 'S') out += inClass ? JS_NOT_WHITE_SPACE : `[^${JS_WHITE_SPACE}]`;
      else if (next === 'k') throw new Error('invalid escape sequence: `\\k` (a named backreference)');
      else if (next === 'u' && SURROGATE_PAIR.test(pattern.slice(index))) {
        const pair = SURROGATE_PAIR.exec(pattern.slice(index))!;
        const high = Number.parseInt(pair[1]!, 16);
        const low = Number.parseInt(pair[2]!, 16);
        out += hex((high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000);
        index += pair[0].length - 1;
      } else if (next === 'p' || next === 'P') {
        const named = PROPERTY_NAME.exec(pattern.slice(index + 1));
        if (named) {
          out += `\\${next}{${named[1]}}`;
          index += named[0].length;
        } else out += `\\${next}`;
      } else out += `\\${next}`;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      out += char;
      continue;
    }
    if (char === '[') {
      // `[]` matches nothing and `[^]` anything in JavaScript; RE2 reads a `]` first as a member.
      const empty = /^\[\^?\]/.exec(pattern.slice(index));
      if (empty) {
        out += empty[0] === '[]' ? `[^${hex(0)}-${hex(0x10ffff)}]` : `[${hex(0)}-${hex(0x10ffff)}]`;
        index += empty[0].length - 1;
        continue;
      }
      inClass = true;
      out += char;
      continue;
    }
    out += char === '.' ? JS_DOT : char;
  }
  return RE2JS.translateRegExp(out);
}

/** A compiled pattern: `test` answers whether the value contains a match. */
export interface LinearPattern {
  test(value: string): boolean;
}

/** Compiled patterns, shared by every contract; the oldest is dropped when full. */
const compiled = new Map<string, RE2JS>();
// Each compiled pattern may grow an automaton cache of its own as it is used: the cache is kept
// small; what a schema uses, its validator holds anyway.
const MAX_CACHED_PATTERNS = 2_000;

/**
 * Patterns publication accepts: at most this long, and compiled to at most this many automaton
 * instructions. When RE2's cached automaton overflows it simulates one thread per instruction:
 * `a[ab]{1000}c` (1,004 instructions) took ~0.4 s on a 100 KB answer, 300 take ~0.1 s.
 */
export const MAX_PATTERN_LENGTH = 2_000;
export const MAX_PATTERN_INSTRUCTIONS = 300;

function compile(pattern: string): RE2JS {
  const known = compiled.get(pattern);
  if (known) return known;
  const re2 = RE2JS.compile(toRe2Syntax(pattern));
  if (compiled.size >= MAX_CACHED_PATTERNS) compiled.delete(compiled.keys().next().value as string);
  compiled.set(pattern, re2);
  return re2;
}

/** `pattern` compiled for matching in linear time (as `new RegExp(pattern, 'u')` reads it). */
export function linearPattern(pattern: string): LinearPattern {
  return compile(pattern);
}

/** Instructions of RE2's program for a compiled pattern (re2js keeps it on an internal field). */
function instructionsOf(re2: RE2JS): number | undefined {
  const internal = (re2 as unknown as { re2Input?: { prog?: { numInst?: () => number } } }).re2Input;
  return internal?.prog?.numInst?.();
}

/**
 * What compiling `pattern` costs, in units of about 10 µs: its automaton's instructions and the
 * ranges of its character classes (`\\p{L}` alone has hundreds: such a pattern took 1–2.5 ms to
 * compile, `^[a-z]+$` 0.03–0.7 ms). Compiles it if it is not compiled yet.
 */
export function compileCostOf(pattern: string): number {
  const re2 = compile(pattern);
  const program = (re2 as unknown as { re2Input?: { prog?: { inst?: Array<{ runes?: unknown[] }> } } }).re2Input?.prog;
  let cost = 1;
  for (const instruction of program?.inst ?? []) cost += 1 + (instruction.runes?.length ?? 0) / 8;
  return Math.ceil(cost);
}

/** Why `pattern` cannot be matched in linear time (or is no regular expression); undefined if it can. */
export function linearPatternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `not a regular expression: ${(error as Error).message}`;
  }
  if (pattern.length > MAX_PATTERN_LENGTH)
    return `is longer than ${MAX_PATTERN_LENGTH} characters (${pattern.length}): matching it costs in proportion to its size on every answer`;
  try {
    const instructions = instructionsOf(compile(pattern)) ?? 0;
    if (instructions > MAX_PATTERN_INSTRUCTIONS)
      return `compiles to ${instructions} automaton instructions, over ${MAX_PATTERN_INSTRUCTIONS} (large counted repetitions such as {1000}): matching it costs in proportion to that on every answer; use maxLength for lengths`;
    return undefined;
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    return `cannot be matched in time linear in the answer (${reason}); backreferences, lookahead and lookbehind are not supported`;
  }
}

/** Ajv's `code.regExp`: patterns and patternProperties compiled by Ajv match through re2js. */
export const linearRegExpEngine = Object.assign(
  (pattern: string, _flags: string) => {
    const re2 = compile(pattern);
    // Ajv shares one compiled pattern per `toString()`: it must tell patterns apart.
    return { test: (value: string) => re2.test(value), toString: () => `/${pattern}/u` };
  },
  { code: 'linearRegExpEngine' },
);
