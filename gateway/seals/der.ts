/**
 * A small DER (X.690) encoder and a strict decoder, for the electronic seal structures of
 * GB/T 38540 and the seal's X.509 certificate. Only what those need: universal types by tag,
 * definite lengths, context-specific explicit tags. The decoder refuses what DER forbids (long
 * forms where a short one fits, leading zero length bytes, indefinite lengths, trailing bytes),
 * so a structure decodes to one encoding only and a signature over it cannot be re-framed.
 *
 * No ASN.1 library is installed (node_modules is shared); this is tested against `openssl asn1parse`.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A structure that does not decode as the DER it should be; `path` says where. */
export class DerError extends Error {
  override name = 'DerError';
}

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag, length, value. */
export function tlv(tag: number, value: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(tag), lengthBytes(value.length), value]);
}

export const sequence = (...elements: Uint8Array[]): Buffer => tlv(TAG.sequence, Buffer.concat(elements));
export const set = (...elements: Uint8Array[]): Buffer => tlv(TAG.set, Buffer.concat(elements));
/** [n] EXPLICIT: a constructed context-specific tag around one element. */
export const explicit = (n: number, element: Uint8Array): Buffer => tlv(0xa0 | n, element);
export const octetString = (bytes: Uint8Array): Buffer => tlv(TAG.octetString, bytes);
/** A BIT STRING of whole bytes (no unused bits), as every field of the seal structures is. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(TAG.bitString, Buffer.concat([Buffer.of(0), bytes]));
export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
export const nullValue = (): Buffer => Buffer.of(TAG.null, 0);
export const boolean = (value: boolean): Buffer => Buffer.of(TAG.boolean, 1, value ? 0xff : 0);

export function ia5String(text: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(text)) throw new DerError(`IA5String takes ASCII only: ${JSON.stringify(text)}`);
  return tlv(TAG.ia5String, Buffer.from(text, 'latin1'));
}

export function printableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new DerError(`not a PrintableString: ${JSON.stringify(text)}`);
  return tlv(TAG.printableString, Buffer.from(text, 'latin1'));
}

/** INTEGER, two's complement, minimal. */
export function integer(value: bigint | number): Buffer {
  let rest = BigInt(value);
  if (rest >= 0n) {
    let hex = rest.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
    return tlv(TAG.integer, bytes);
  }
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (!(rest === -1n && ((bytes[0] ?? 0) & 0x80) !== 0));
  return tlv(TAG.integer, Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new DerError(`not an object identifier: ${dotted}`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n)
    throw new DerError(`not an object identifier: ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) groups.unshift(Number(value & 0x7fn) | 0x80);
    bytes.push(...groups);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** GeneralizedTime in UTC to the second (`YYYYMMDDHHMMSSZ`), the DER form. */
export function generalizedTime(at: Date): Buffer {
  const text = `${pad(at.getUTCFullYear(), 4)}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}Z`;
  return tlv(TAG.generalizedTime, Buffer.from(text, 'latin1'));
}

/** UTCTime (`YYMMDDHHMMSSZ`) for 1950–2049; X.509 validity must use it in those years (RFC 5280 §4.1.2.5). */
export function utcTime(at: Date): Buffer {
  const year = at.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new DerError(`UTCTime cannot hold the year ${year}`);
  const text = `${pad(year % 100)}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}Z`;
  return tlv(TAG.utcTime, Buffer.from(text, 'latin1'));
}

/** X.509 time: UTCTime through 2049, GeneralizedTime after. */
export const x509Time = (at: Date): Buffer => (at.getUTCFullYear() < 2050 ? utcTime(at) : generalizedTime(at));

/** One decoded element: its tag, its value bytes and its whole encoding (for re-hashing). */
export interface DerElement {
  tag: number;
  value: Buffer;
  encoded: Buffer;
}

/** Reads one element at `offset`; strict DER lengths. */
function readElement(input: Buffer, offset: number, path: string): DerElement {
  if (offset + 2 > input.length) throw new DerError(`${path}: truncated`);
  const tag = input[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${path}: multi-byte tags are not used here`);
  const first = input[offset + 1] as number;
  let length = first;
  let header = 2;
  if (first === 0x80) throw new DerError(`${path}: indefinite length is not DER`);
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count > 4 || offset + 2 + count > input.length) throw new DerError(`${path}: bad length`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (input[offset + 2 + i] as number);
    if (input[offset + 2] === 0 || length < 0x80) throw new DerError(`${path}: length not in its shortest form`);
    header += count;
  }
  const end = offset + header + length;
  if (end > input.length) throw new DerError(`${path}: truncated`);
  return { tag, value: input.subarray(offset + header, end), encoded: input.subarray(offset, end) };
}

/** The one element `input` holds, nothing after it. */
export function decode(input: Uint8Array, path = 'value'): DerElement {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const element = readElement(bytes, 0, path);
  if (element.encoded.length !== bytes.length) throw new DerError(`${path}: bytes after the end`);
  return element;
}

/** The elements inside a constructed element (SEQUENCE, SET, explicit tag). */
export function children(element: DerElement, path = 'value'): DerElement[] {
  if ((element.tag & 0x20) === 0) throw new DerError(`${path}: not a constructed element`);
  const elements: DerElement[] = [];
  for (let offset = 0; offset < element.value.length; ) {
    const child = readElement(element.value, offset, `${path}[${elements.length}]`);
    elements.push(child);
    offset += child.encoded.length;
  }
  return elements;
}

export function expectTag(element: DerElement | undefined, tag: number, path: string): DerElement {
  if (!element) throw new DerError(`${path}: missing`);
  if (element.tag !== tag)
    throw new DerError(`${path}: expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
  return element;
}

/** The children of a SEQUENCE at `path`. */
export function sequenceOf(element: DerElement | undefined, path: string): DerElement[] {
  return children(expectTag(element, TAG.sequence, path), path);
}

export function readInteger(element: DerElement | undefined, path: string): bigint {
  const { value } = expectTag(element, TAG.integer, path);
  if (value.length === 0) throw new DerError(`${path}: empty INTEGER`);
  if (
    value.length > 1 &&
    ((value[0] === 0 && !((value[1] as number) & 0x80)) || (value[0] === 0xff && (value[1] as number) & 0x80))
  )
    throw new DerError(`${path}: INTEGER not in its shortest form`);
  const unsigned = BigInt(`0x${value.toString('hex')}`);
  return (value[0] as number) & 0x80 ? unsigned - (1n << BigInt(value.length * 8)) : unsigned;
}

/** A small non-negative INTEGER (version, type, millimetres). */
export function readSmallInteger(element: DerElement | undefined, path: string): number {
  const value = readInteger(element, path);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new DerError(`${path}: out of range`);
  return Number(value);
}

/** The longest arc read: 20 bytes of 7 bits, room for the 128-bit UUID arcs under 2.25 (X.667). */
const OID_ARC_MAX_BYTES = 20;
const OID_ARC_MAX_BITS = OID_ARC_MAX_BYTES * 7;

export function readOid(element: DerElement | undefined, path: string): string {
  const { value } = expectTag(element, TAG.oid, path);
  if (value.length === 0 || (value[value.length - 1] as number) & 0x80) throw new DerError(`${path}: bad OID`);
  const arcs: bigint[] = [];
  let current = 0n;
  let arcBytes = 0;
  for (const [index, byte] of value.entries()) {
    if (current === 0n && byte === 0x80 && (index === 0 || !((value[index - 1] as number) & 0x80)))
      throw new DerError(`${path}: OID arc not in its shortest form`);
    // Each byte shifts the whole arc: an unbounded arc is quadratic work (a 190 kB arc took seconds).
    if (++arcBytes > OID_ARC_MAX_BYTES) throw new DerError(`${path}: OID arc longer than ${OID_ARC_MAX_BITS} bits`);
    current = (current << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(current);
      current = 0n;
      arcBytes = 0;
    }
  }
  const [head, ...rest] = arcs as [bigint, ...bigint[]];
  const first = head < 40n ? 0n : head < 80n ? 1n : 2n;
  return [first, head - first * 40n, ...rest].join('.');
}

export const readOctetString = (element: DerElement | undefined, path: string): Buffer =>
  expectTag(element, TAG.octetString, path).value;

/** A BIT STRING of whole bytes. */
export function readBitString(element: DerElement | undefined, path: string): Buffer {
  const { value } = expectTag(element, TAG.bitString, path);
  if (value[0] !== 0) throw new DerError(`${path}: a BIT STRING of whole bytes was expected`);
  return value.subarray(1);
}

export function readText(element: DerElement | undefined, tag: number, path: string): string {
  const { value } = expectTag(element, tag, path);
  if (tag === TAG.utf8String) {
    const text = value.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(value)) throw new DerError(`${path}: not UTF-8`);
    return text;
  }
  if (value.some((byte) => byte > 0x7f)) throw new DerError(`${path}: not ASCII`);
  return value.toString('latin1');
}

/**
 * GeneralizedTime in its DER form: `YYYYMMDDHHMMSSZ`, or with a fraction of a second without
 * trailing zeros (`YYYYMMDDHHMMSS.5Z`), which other seal products write; milliseconds are kept.
 */
export function readGeneralizedTime(element: DerElement | undefined, path: string): Date {
  const text = readText(element, TAG.generalizedTime, path);
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/.exec(text);
  if (!match) throw new DerError(`${path}: GeneralizedTime is not YYYYMMDDHHMMSS[.fff]Z`);
  const [year, month, day, hours, minutes, seconds] = match.slice(1, 7).map(Number) as number[];
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const at = new Date(Date.UTC(year as number, (month as number) - 1, day, hours, minutes, seconds, milliseconds));
  // Date.UTC reads the years 0–99 as 1900–1999: the year is set on its own.
  at.setUTCFullYear(year as number, (month as number) - 1, day);
  if (at.getUTCMonth() !== (month as number) - 1 || at.getUTCDate() !== day) throw new DerError(`${path}: not a date`);
  return at;
}

/** X.509 Time: UTCTime or GeneralizedTime. */
export function readX509Time(element: DerElement | undefined, path: string): Date {
  if (element?.tag === TAG.generalizedTime) return readGeneralizedTime(element, path);
  const text = readText(element, TAG.utcTime, path);
  const match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new DerError(`${path}: UTCTime is not YYMMDDHHMMSSZ`);
  const [, yy, month, day, hours, minutes, seconds] = match.map(Number) as number[];
  const year = (yy as number) < 50 ? 2000 + (yy as number) : 1900 + (yy as number);
  const at = new Date(Date.UTC(year, (month as number) - 1, day, hours, minutes, seconds));
  if (at.getUTCMonth() !== (month as number) - 1 || at.getUTCDate() !== day) throw new DerError(`${path}: not a date`);
  return at;
}
