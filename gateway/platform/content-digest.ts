/**
 * RFC 9530 `Content-Digest` fields: reading the digest a client announces for an upload, and
 * writing the one the gateway sends with a download. Only SHA-256 is used; other algorithms are
 * parsed and listed so that the caller can say which ones it received and does not support.
 *
 * The field is an RFC 8941 structured-field Dictionary whose values are Byte Sequences
 * (`sha-256=:base64:, sha-512=:base64:`). The parser follows RFC 8941 §4.2 for the dictionary,
 * including parameters, which the digest fields do not use but the grammar allows.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

/** The field value is not a Dictionary of Byte Sequences, or its `sha-256` is not 32 bytes. */
export class ContentDigestSyntaxError extends Error {
  constructor(message: string) {
    super(`Content-Digest: ${message}`);
    this.name = 'ContentDigestSyntaxError';
  }
}

export interface ParsedContentDigest {
  /** The `sha-256` member's 32 bytes, when present. */
  sha256?: Uint8Array;
  /** Every key of the dictionary, once each, in order of first appearance. */
  algorithms: string[];
}

const SHA256_LENGTH = 32;

/**
 * Parses a Content-Digest (or Repr-Digest) field value. Throws `ContentDigestSyntaxError` when
 * the value is empty, is not a valid Dictionary, has a member that is not a Byte Sequence, or has
 * a `sha-256` member that is not 32 bytes long.
 */
export function parseContentDigest(value: string): ParsedContentDigest {
  const members = parseByteSequenceDictionary(value);
  if (members.size === 0) {
    throw new ContentDigestSyntaxError('the field is empty; expected e.g. "sha-256=:<base64>:"');
  }
  const algorithms = [...members.keys()];
  const sha256 = members.get('sha-256');
  if (sha256 === undefined) return { algorithms };
  if (sha256.length !== SHA256_LENGTH) {
    throw new ContentDigestSyntaxError(
      `the sha-256 digest is ${sha256.length} bytes long; a SHA-256 digest is ${SHA256_LENGTH} bytes`,
    );
  }
  return { sha256, algorithms };
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** The Content-Digest field value for a SHA-256 digest given in hex: `sha-256=:<base64>:`. */
export function formatContentDigest(sha256Hex: string): string {
  if (!SHA256_HEX.test(sha256Hex)) {
    // Buffer.from(hex) silently drops what it cannot decode; a wrong digest must not go out.
    throw new TypeError(`not a hex SHA-256 digest: ${JSON.stringify(sha256Hex)}`);
  }
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}

/** Lower-case hex SHA-256 of `bytes`, the form the blob store names blobs by. */
export function sha256HexFromBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// RFC 8941 parsing, restricted to what a digest field may hold: a Dictionary whose member values
// are Byte Sequences. Parameter values may be any Bare Item, so those are parsed (and dropped).

/** The text being parsed and the index of the next character. */
interface Input {
  readonly text: string;
  position: number;
}

function peek(input: Input): string | undefined {
  return input.text[input.position];
}

function atEnd(input: Input): boolean {
  return input.position >= input.text.length;
}

function fail(input: Input, problem: string): never {
  throw new ContentDigestSyntaxError(`${problem} at character ${input.position + 1}`);
}

/** RFC 8941's OWS: spaces and horizontal tabs. */
function skipOptionalWhitespace(input: Input): void {
  while (peek(input) === ' ' || peek(input) === '\t') input.position += 1;
}

function skipSpaces(input: Input): void {
  while (peek(input) === ' ') input.position += 1;
}

function isLowerAlpha(character: string | undefined): boolean {
  return character !== undefined && character >= 'a' && character <= 'z';
}

function isAlpha(character: string | undefined): boolean {
  return character !== undefined && /^[A-Za-z]$/.test(character);
}

function isDigit(character: string | undefined): boolean {
  return character !== undefined && character >= '0' && character <= '9';
}

/** RFC 8941 §4.2 (parsing a Dictionary), with the top-level whitespace handling of §4.2. */
function parseByteSequenceDictionary(text: string): Map<string, Uint8Array> {
  const input: Input = { text, position: 0 };
  // HTTP strips OWS around a field value; tolerate it here too in case a caller did not.
  skipOptionalWhitespace(input);
  const members = new Map<string, Uint8Array>();
  while (!atEnd(input)) {
    const key = parseKey(input);
    if (peek(input) !== '=') {
      fail(input, `the member "${key}" has no value (a bare key is Boolean true, not a Byte Sequence)`);
    }
    input.position += 1;
    const value = parseMemberByteSequence(input, key);
    skipParameters(input);
    // Map.set on an existing key keeps its position and replaces its value: RFC 8941's
    // "overwrite its value", so the last duplicate wins.
    members.set(key, value);
    skipOptionalWhitespace(input);
    if (atEnd(input)) break;
    if (peek(input) !== ',') fail(input, `expected "," after the member "${key}"`);
    input.position += 1;
    skipOptionalWhitespace(input);
    if (atEnd(input)) fail(input, 'a trailing "," is not allowed');
  }
  return members;
}

/** RFC 8941 §4.2.3.3: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ). */
function parseKey(input: Input): string {
  const first = peek(input);
  if (!isLowerAlpha(first) && first !== '*') {
    fail(input, `a key must start with a lower-case letter or "*", not ${describe(first)}`);
  }
  const start = input.position;
  input.position += 1;
  for (;;) {
    const character = peek(input);
    const allowed =
      isLowerAlpha(character) ||
      isDigit(character) ||
      character === '_' ||
      character === '-' ||
      character === '.' ||
      character === '*';
    if (!allowed) break;
    input.position += 1;
  }
  return input.text.slice(start, input.position);
}

function parseMemberByteSequence(input: Input, key: string): Uint8Array {
  const first = peek(input);
  if (first !== ':') {
    const kind = first === '(' ? 'an Inner List' : describe(first);
    fail(input, `the value of "${key}" must be a Byte Sequence (":<base64>:"), not ${kind}`);
  }
  return parseByteSequence(input);
}

/** RFC 8941 §4.2.3.2: `;key` or `;key=bare-item`, any number of times. Values are discarded. */
function skipParameters(input: Input): void {
  while (peek(input) === ';') {
    input.position += 1;
    skipSpaces(input);
    parseKey(input);
    if (peek(input) === '=') {
      input.position += 1;
      parseBareItem(input);
    }
  }
}

/** RFC 8941 §4.2.3.1; the value itself is of no use here, only whether it is well-formed. */
function parseBareItem(input: Input): void {
  const first = peek(input);
  if (first === '-' || isDigit(first)) parseNumber(input);
  else if (first === '"') parseString(input);
  else if (first === ':') parseByteSequence(input);
  else if (first === '?') parseBoolean(input);
  else if (isAlpha(first) || first === '*') parseToken(input);
  else fail(input, `expected a parameter value, found ${describe(first)}`);
}

/** RFC 8941 §4.2.4: Integer (up to 15 digits) or Decimal (up to 12.3 digits). */
function parseNumber(input: Input): void {
  if (peek(input) === '-') input.position += 1;
  if (!isDigit(peek(input))) fail(input, 'expected a digit');
  let integerDigits = 0;
  let fractionDigits: number | undefined;
  while (!atEnd(input)) {
    const character = peek(input);
    if (isDigit(character)) {
      if (fractionDigits === undefined) integerDigits += 1;
      else fractionDigits += 1;
    } else if (character === '.' && fractionDigits === undefined) {
      if (integerDigits > 12) fail(input, 'a Decimal has at most 12 integer digits');
      fractionDigits = 0;
    } else {
      break;
    }
    input.position += 1;
    if (fractionDigits === undefined && integerDigits > 15) fail(input, 'an Integer has at most 15 digits');
    if (fractionDigits !== undefined && fractionDigits > 3) fail(input, 'a Decimal has at most 3 fractional digits');
  }
  if (fractionDigits === 0) fail(input, 'a Decimal must not end with "."');
}

/** RFC 8941 §4.2.5: printable ASCII in double quotes; only `\"` and `\\` are escapes. */
function parseString(input: Input): void {
  input.position += 1;
  while (!atEnd(input)) {
    const character = input.text.charCodeAt(input.position);
    input.position += 1;
    if (character === 0x5c) {
      const escaped = peek(input);
      if (escaped !== '"' && escaped !== '\\') fail(input, 'only \\" and \\\\ may be escaped in a String');
      input.position += 1;
    } else if (character === 0x22) {
      return;
    } else if (character < 0x20 || character > 0x7e) {
      input.position -= 1;
      fail(input, 'a String may hold only printable ASCII');
    }
  }
  fail(input, 'a String is not closed');
}

/** RFC 8941 §4.2.6: ( ALPHA / "*" ) *( tchar / ":" / "/" ). */
function parseToken(input: Input): void {
  input.position += 1;
  while (/^[!#$%&'*+\-.^_`|~0-9A-Za-z:/]$/.test(peek(input) ?? '')) input.position += 1;
}

/** RFC 8941 §4.2.8: `?0` or `?1`. */
function parseBoolean(input: Input): void {
  input.position += 1;
  const value = peek(input);
  if (value !== '0' && value !== '1') fail(input, 'a Boolean is "?0" or "?1"');
  input.position += 1;
}

/** RFC 8941 §4.2.7: `:` base64 `:`. */
function parseByteSequence(input: Input): Uint8Array {
  const open = input.position;
  const close = input.text.indexOf(':', open + 1);
  if (close === -1) fail(input, 'a Byte Sequence is not closed with ":"');
  const encoded = input.text.slice(open + 1, close);
  const decoded = decodeBase64(encoded);
  if (decoded === null) {
    input.position = open;
    fail(input, `${JSON.stringify(encoded)} is not base64 (RFC 4648, standard alphabet)`);
  }
  input.position = close + 1;
  return decoded;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Standard base64, with or without its `=` padding: RFC 8941 asks parsers to tolerate missing
 * padding. Padding that is present must be complete, and a lone trailing character (which
 * cannot encode a whole byte) is rejected. Non-zero pad bits are tolerated, also as RFC 8941
 * asks. Returns null when `encoded` is not base64.
 */
function decodeBase64(encoded: string): Uint8Array | null {
  if (!BASE64.test(encoded)) return null;
  const data = encoded.replace(/=+$/, '');
  const padded = data.length !== encoded.length;
  if (data.length % 4 === 1) return null;
  if (padded && encoded.length % 4 !== 0) return null;
  // Buffer's decoder would skip invalid characters silently; the checks above leave it none.
  return new Uint8Array(Buffer.from(data, 'base64'));
}

function describe(character: string | undefined): string {
  return character === undefined ? 'the end of the value' : JSON.stringify(character);
}
