/**
 * Content-Digest parsing and formatting. Expected digests are computed here with node:crypto
 * (for the RFC 9530 examples) or are the published SHA-256 test vectors.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ContentDigestSyntaxError,
  formatContentDigest,
  parseContentDigest,
  sha256HexFromBytes,
} from './content-digest.js';

/** The response body of the RFC 9530 examples (§2, Figure 1 and on). */
const RFC9530_BODY = new TextEncoder().encode('{"hello": "world"}');

function digest(algorithm: 'sha256' | 'sha512' | 'md5', bytes: Uint8Array): Buffer {
  return createHash(algorithm).update(bytes).digest();
}

const SHA256 = digest('sha256', RFC9530_BODY);
const SHA256_BASE64 = SHA256.toString('base64');
const SHA512_BASE64 = digest('sha512', RFC9530_BODY).toString('base64');
const MD5_BASE64 = digest('md5', RFC9530_BODY).toString('base64');

function base64OfLength(length: number): string {
  return Buffer.alloc(length, 7).toString('base64');
}

function expectSyntaxError(value: string, messagePart?: RegExp): void {
  let caught: unknown;
  try {
    parseContentDigest(value);
  } catch (error) {
    caught = error;
  }
  expect(caught, `parsing ${JSON.stringify(value)} should fail`).toBeInstanceOf(ContentDigestSyntaxError);
  if (messagePart !== undefined) expect((caught as Error).message).toMatch(messagePart);
}

describe('parseContentDigest: RFC 9530 examples', () => {
  it('reads the sha-256 digest of the example body', () => {
    const parsed = parseContentDigest(`sha-256=:${SHA256_BASE64}:`);
    expect(parsed.sha256).toEqual(new Uint8Array(SHA256));
    expect(parsed.algorithms).toEqual(['sha-256']);
  });

  it('reads sha-256 from a field with both sha-256 and sha-512', () => {
    const parsed = parseContentDigest(`sha-256=:${SHA256_BASE64}:, sha-512=:${SHA512_BASE64}:`);
    expect(parsed.sha256).toEqual(new Uint8Array(SHA256));
    expect(parsed.algorithms).toEqual(['sha-256', 'sha-512']);
  });

  it('returns a plain Uint8Array of exactly 32 bytes', () => {
    const { sha256 } = parseContentDigest(`sha-256=:${SHA256_BASE64}:`);
    expect(sha256).toBeInstanceOf(Uint8Array);
    expect(sha256?.length).toBe(32);
  });
});

describe('parseContentDigest: whitespace', () => {
  it.each([
    ['no space after the comma', `sha-256=:${SHA256_BASE64}:,sha-512=:${SHA512_BASE64}:`],
    ['spaces around the comma', `sha-256=:${SHA256_BASE64}:   ,   sha-512=:${SHA512_BASE64}:`],
    ['tabs around the comma', `sha-256=:${SHA256_BASE64}:\t,\tsha-512=:${SHA512_BASE64}:`],
    ['leading and trailing spaces', `  sha-256=:${SHA256_BASE64}:, sha-512=:${SHA512_BASE64}:  `],
  ])('accepts %s', (_label, value) => {
    const parsed = parseContentDigest(value);
    expect(parsed.sha256).toEqual(new Uint8Array(SHA256));
    expect(parsed.algorithms).toEqual(['sha-256', 'sha-512']);
  });

  it.each([
    ['before "="', `sha-256 =:${SHA256_BASE64}:`],
    ['after "="', `sha-256= :${SHA256_BASE64}:`],
    ['inside the byte sequence', `sha-256=: ${SHA256_BASE64}:`],
    ['before a parameter', `sha-256=:${SHA256_BASE64}: ;a=1`],
  ])('rejects whitespace %s', (_label, value) => {
    expectSyntaxError(value);
  });
});

describe('parseContentDigest: parameters', () => {
  it.each([
    ['a token parameter', ';a=b'],
    ['a boolean parameter without value', ';a'],
    [
      'several parameters of every bare item type',
      ';int=-42;dec=3.141;str="a \\"q\\" \\\\";tok=x/y:z;bool=?0;bytes=:AAE=:',
    ],
    ['a space after ";"', '; a=1'],
    ['a key starting with "*"', ';*x=1'],
  ])('ignores %s', (_label, parameters) => {
    const parsed = parseContentDigest(`sha-256=:${SHA256_BASE64}:${parameters}, md5=:${MD5_BASE64}:${parameters}`);
    expect(parsed.sha256).toEqual(new Uint8Array(SHA256));
    expect(parsed.algorithms).toEqual(['sha-256', 'md5']);
  });

  it.each([
    ['an upper-case key', ';A=1'],
    ['a missing key', ';=1'],
    ['a decimal ending in "."', ';a=1.'],
    ['a decimal with four fractional digits', ';a=1.2345'],
    ['an integer with 16 digits', ';a=1234567890123456'],
    ['a decimal with 13 integer digits', ';a=1234567890123.5'],
    ['a lone minus sign', ';a=-'],
    ['an unclosed string', ';a="abc'],
    ['an invalid escape', ';a="\\n"'],
    ['a control character in a string', ';a="a\tb"'],
    ['an invalid boolean', ';a=?2'],
    ['an unclosed byte sequence', ';a=:AAE='],
    ['a value that is no bare item', ';a=(1)'],
  ])('rejects %s', (_label, parameters) => {
    expectSyntaxError(`sha-256=:${SHA256_BASE64}:${parameters}`);
  });
});

describe('parseContentDigest: algorithms', () => {
  it('lists algorithms without sha-256 and returns no sha256', () => {
    const parsed = parseContentDigest(`md5=:${MD5_BASE64}:, sha-512=:${SHA512_BASE64}:`);
    expect(parsed.sha256).toBeUndefined();
    expect('sha256' in parsed).toBe(false);
    expect(parsed.algorithms).toEqual(['md5', 'sha-512']);
  });

  it('does not check the length of algorithms other than sha-256', () => {
    expect(parseContentDigest('unixsum=:AAE=:, crc32c=::').algorithms).toEqual(['unixsum', 'crc32c']);
  });

  it('keeps the last value of a repeated key, at the position of its first appearance', () => {
    const other = Buffer.alloc(32, 1);
    const parsed = parseContentDigest(
      `sha-256=:${SHA256_BASE64}:, md5=:${MD5_BASE64}:, sha-256=:${other.toString('base64')}:`,
    );
    expect(parsed.sha256).toEqual(new Uint8Array(other));
    expect(parsed.algorithms).toEqual(['sha-256', 'md5']);
  });

  it('checks the length of the sha-256 value that wins, not of one it replaced', () => {
    expect(parseContentDigest(`sha-256=:${base64OfLength(5)}:, sha-256=:${SHA256_BASE64}:`).sha256).toEqual(
      new Uint8Array(SHA256),
    );
    expectSyntaxError(`sha-256=:${SHA256_BASE64}:, sha-256=:${base64OfLength(5)}:`, /32 bytes/);
  });

  it('accepts keys with digits, "_", "-", "." and "*"', () => {
    expect(parseContentDigest('a1_-.*=::, *=::').algorithms).toEqual(['a1_-.*', '*']);
  });
});

describe('parseContentDigest: byte sequences', () => {
  it('tolerates missing base64 padding', () => {
    const unpadded = SHA256_BASE64.replace(/=+$/, '');
    expect(unpadded).not.toBe(SHA256_BASE64);
    expect(parseContentDigest(`sha-256=:${unpadded}:`).sha256).toEqual(new Uint8Array(SHA256));
  });

  it('tolerates non-zero pad bits, as RFC 8941 asks', () => {
    // "AAE=" is 00 01; "AAF=" has the same bytes with a non-zero last pad bit.
    expect(parseContentDigest('x=:AAE=:, y=:AAF=:').algorithms).toEqual(['x', 'y']);
  });

  it.each([
    ['a character outside the alphabet', `sha-256=:${SHA256_BASE64.slice(0, -2)}!=:`],
    ['the URL-safe alphabet', 'sha-256=:-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_A=:'],
    ['padding in the middle', `sha-256=:AA==${SHA256_BASE64}:`],
    ['incomplete padding', 'x=:AA=:'],
    ['too much padding', 'x=:AAA==:'],
    ['three padding characters', 'x=:A===:'],
    ['a lone trailing character', 'x=:AAAAA:'],
    ['only padding', 'x=:==:'],
  ])('rejects %s', (_label, value) => {
    expectSyntaxError(value, /base64/);
  });

  it.each([
    ['31 bytes', base64OfLength(31)],
    ['33 bytes', base64OfLength(33)],
    ['a SHA-512 digest', SHA512_BASE64],
    ['no bytes', ''],
  ])('rejects a sha-256 value of %s', (_label, encoded) => {
    expectSyntaxError(`sha-256=:${encoded}:`, /sha-256 digest is \d+ bytes/);
  });

  it.each([
    ['both colons', `sha-256=${SHA256_BASE64}`],
    ['the closing colon', `sha-256=:${SHA256_BASE64}`],
    ['the opening colon', `sha-256=${SHA256_BASE64}:`],
  ])('rejects a value missing %s', (_label, value) => {
    expectSyntaxError(value);
  });
});

describe('parseContentDigest: dictionary syntax', () => {
  it.each([
    ['an empty string', ''],
    ['only whitespace', '   '],
  ])('rejects %s', (_label, value) => {
    expectSyntaxError(value, /empty/);
  });

  it.each([
    ['an upper-case key', `SHA-256=:${SHA256_BASE64}:`],
    ['a mixed-case key', `Sha-256=:${SHA256_BASE64}:`],
    ['a key starting with a digit', `256=:${SHA256_BASE64}:`],
    ['a key starting with "-"', `-sha=:${SHA256_BASE64}:`],
  ])('rejects %s', (_label, value) => {
    expectSyntaxError(value, /key must start with a lower-case letter/);
  });

  it('rejects an upper-case letter later in a key', () => {
    expectSyntaxError(`sha-256X=:${SHA256_BASE64}:`);
  });

  it.each([
    ['a bare key (Boolean true)', 'sha-256', /no value/],
    ['a bare key with parameters', 'sha-256;a=1', /no value/],
    ['an Integer', 'sha-256=12', /must be a Byte Sequence/],
    ['a String', 'sha-256="abc"', /must be a Byte Sequence/],
    ['a Token', 'sha-256=abc', /must be a Byte Sequence/],
    ['an explicit Boolean', 'sha-256=?1', /must be a Byte Sequence/],
    ['an Inner List', `sha-256=(:${SHA256_BASE64}:)`, /Inner List/],
  ])('rejects a member value that is %s', (_label, value, message) => {
    expectSyntaxError(value, message);
  });

  it.each([
    ['a trailing comma', `sha-256=:${SHA256_BASE64}:,`],
    ['a trailing comma and space', `sha-256=:${SHA256_BASE64}:, `],
    ['a leading comma', `, sha-256=:${SHA256_BASE64}:`],
    ['an empty member', `sha-256=:${SHA256_BASE64}:,, md5=:${MD5_BASE64}:`],
    ['a missing comma', `sha-256=:${SHA256_BASE64}: md5=:${MD5_BASE64}:`],
    ['junk after a member', `sha-256=:${SHA256_BASE64}:x`],
  ])('rejects %s', (_label, value) => {
    expectSyntaxError(value);
  });

  it('reads a ";" between members as a parameter, as the grammar says, not as a second member', () => {
    const parsed = parseContentDigest(`sha-256=:${SHA256_BASE64}:; md5=:${MD5_BASE64}:`);
    expect(parsed.algorithms).toEqual(['sha-256']);
  });

  it('names the error class and the field in the message', () => {
    try {
      parseContentDigest('SHA-256=::');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('ContentDigestSyntaxError');
      expect((error as Error).message).toMatch(/^Content-Digest: .* at character 1$/);
    }
  });
});

describe('formatContentDigest', () => {
  it('formats the RFC 9530 example digest', () => {
    expect(formatContentDigest(SHA256.toString('hex'))).toBe(`sha-256=:${SHA256_BASE64}:`);
  });

  it('accepts upper-case hex', () => {
    expect(formatContentDigest(SHA256.toString('hex').toUpperCase())).toBe(`sha-256=:${SHA256_BASE64}:`);
  });

  it('round-trips through parseContentDigest', () => {
    const hex = sha256HexFromBytes(new TextEncoder().encode('round trip'));
    const parsed = parseContentDigest(formatContentDigest(hex));
    expect(Buffer.from(parsed.sha256 ?? []).toString('hex')).toBe(hex);
  });

  it.each([
    ['too short', 'ab'.repeat(31)],
    ['too long', 'ab'.repeat(33)],
    ['not hex', 'zz'.repeat(32)],
    ['with a prefix', `0x${'ab'.repeat(31)}`],
    ['empty', ''],
  ])('rejects a digest that is %s', (_label, hex) => {
    expect(() => formatContentDigest(hex)).toThrow(TypeError);
  });
});

describe('sha256HexFromBytes', () => {
  it('matches the published test vectors', () => {
    expect(sha256HexFromBytes(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256HexFromBytes(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('hashes only the bytes of a view, not its whole buffer', () => {
    const buffer = new TextEncoder().encode('xxabcxx');
    expect(sha256HexFromBytes(buffer.subarray(2, 5))).toBe(sha256HexFromBytes(new TextEncoder().encode('abc')));
  });
});
