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

/** The pattern in RE2's syntax, JavaScript's meaning kept (see above). */
export function toRe2Syntax(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '\\') {
      const next = pattern[index + 1] ?? '';
      index += 1;
      if (next === 's') out += inClass ? JS_WHITE_SPACE : `[${JS_WHITE_SPACE}]`;
      else if (next === 'S' && !inClass) out += `[^${JS_WHITE_SPACE}]`;
      else if (next === 'p' || next === 'P') {
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
      inClass = true;
      out += char;
      // A `]` first in a class (`[]a]`, `[^]]`) is JavaScript's empty class, copied as written.
      continue;
    }
    out += char === '.' ? JS_DOT : char;
  }
  return RE2JS.translateRegExp(out);
}

/** Compiled patterns, shared by every contract (a pattern is compiled once per process). */
const compiled = new Map<string, RE2JS>();
/** Enough for every pattern of every contract a province publishes; past it, compiled per use. */
const MAX_CACHED_PATTERNS = 20_000;

function compile(pattern: string): RE2JS {
  const known = compiled.get(pattern);
  if (known) return known;
  const re2 = RE2JS.compile(toRe2Syntax(pattern));
  if (compiled.size < MAX_CACHED_PATTERNS) compiled.set(pattern, re2);
  return re2;
}

/** Whether `value` contains a match of `pattern` (as `new RegExp(pattern, 'u').test(value)`). */
export function matchesPattern(pattern: string, value: string): boolean {
  return compile(pattern).test(value);
}

/** Why `pattern` cannot be matched in linear time (or is no regular expression); undefined if it can. */
export function linearPatternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `not a regular expression: ${(error as Error).message}`;
  }
  try {
    compile(pattern);
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
