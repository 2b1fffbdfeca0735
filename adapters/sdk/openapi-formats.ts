/**
 * The string and number formats answers are checked for: ajv-formats' full set plus OpenAPI's own
 * (`int32`, `int64`, `float`, `double`, `byte`, `binary`, `password`). One table for both the
 * compiled check (Ajv) and the interpreter, so a format gives one verdict whichever runs.
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';

/** OpenAPI's `byte`: standard base64 with padding. */
export const OPENAPI_BYTE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const INT32 = 2 ** 31;

/** OpenAPI's formats, in the shapes Ajv's `addFormat` takes. */
export const OPENAPI_FORMATS = {
  int32: {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value >= -INT32 && value < INT32,
  },
  int64: { type: 'number', validate: (value: number) => Number.isInteger(value) },
  float: { type: 'number', validate: () => true },
  double: { type: 'number', validate: () => true },
  byte: OPENAPI_BYTE,
  binary: true,
  password: true,
} as const;

/** A format as the interpreter applies it: to strings, or to numbers. */
export interface FormatCheck {
  appliesTo: 'string' | 'number';
  test(value: string | number): boolean;
  /**
   * Longest string that can meet the format (see `FORMAT_MAX_LENGTHS`); set for the formats whose
   * check may backtrack, so their cost grows faster than the string.
   */
  maxLength?: number;
}

/**
 * The longest string each text format accepts, from its standard where it has one (an e-mail
 * address 254, a host name 253), otherwise generous (URIs 4,096, pointers 4,096). ajv-formats
 * checks several with backtracking regular expressions: `url` took 0.25 s on a 20 KB string and
 * 3 s on 50 KB, `regex` compiles the answer as a JavaScript regular expression (50,000 `(`: 75 ms).
 * Bounded in length, each costs at most a few milliseconds; longer strings do not meet the format,
 * in both checks.
 */
export const FORMAT_MAX_LENGTHS: Readonly<Record<string, number>> = {
  date: 10,
  time: 64,
  'date-time': 64,
  'iso-time': 64,
  'iso-date-time': 64,
  duration: 64,
  uri: 4096,
  'uri-reference': 4096,
  'uri-template': 4096,
  url: 4096,
  email: 254,
  hostname: 253,
  ipv4: 15,
  ipv6: 45,
  regex: 2000,
  uuid: 45,
  'json-pointer': 4096,
  'json-pointer-uri-fragment': 4096,
  'relative-json-pointer': 4096,
};

function formatCheckOf(definition: unknown): FormatCheck | undefined {
  if (definition instanceof RegExp) return { appliesTo: 'string', test: (value) => definition.test(String(value)) };
  if (typeof definition === 'boolean') return { appliesTo: 'string', test: () => definition };
  if (typeof definition === 'function') {
    const check = definition as (value: string) => boolean;
    return { appliesTo: 'string', test: (value) => check(String(value)) };
  }
  if (typeof definition !== 'object' || definition === null || !('validate' in definition)) return undefined;
  const { validate } = definition as { validate: unknown };
  const appliesTo = (definition as { type?: unknown }).type === 'number' ? 'number' : 'string';
  if (validate instanceof RegExp) return { appliesTo, test: (value) => validate.test(String(value)) };
  if (typeof validate !== 'function') return undefined;
  return { appliesTo, test: (value) => (validate as (candidate: string | number) => boolean)(value) };
}

function boundedInLength(check: FormatCheck, maxLength: number | undefined): FormatCheck {
  if (maxLength === undefined || check.appliesTo !== 'string') return check;
  return {
    appliesTo: 'string',
    maxLength,
    test: (value) => typeof value === 'string' && value.length <= maxLength && check.test(value),
  };
}

/** Every format both checks know, by name (a Map: a format named `__proto__` is just unknown). */
export const FORMAT_CHECKS: ReadonlyMap<string, FormatCheck> = new Map(
  Object.entries({ ...fullFormats, ...OPENAPI_FORMATS }).flatMap(([name, definition]) => {
    const check = formatCheckOf(definition);
    return check ? [[name, boundedInLength(check, FORMAT_MAX_LENGTHS[name])] as const] : [];
  }),
);
