/**
 * Small wire formats government systems use: Beijing-time time stamps, nonces, Chinese dates and
 * base64-encoded documents. Each refuses what it cannot read with a `WireFormatError` (an
 * adapter turns it into `DepartmentError('malformed')`); messages never quote the value.
 */
import { randomBytes } from 'node:crypto';

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/**
 * `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+08:00, no daylight saving) for the instant `now`
 * — take it from the adapter's injected clock (`environment.now()`), never from `new Date()`.
 */
export function beijingTimestamp(now: Date): string {
  const shifted = new Date(now.getTime() + BEIJING_OFFSET_MS);
  return `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())} ${pad(
    shifted.getUTCHours(),
  )}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}`;
}

/** The instant a `yyyy-MM-dd HH:mm:ss` Beijing-time stamp names; refuses times that do not exist. */
export function parseBeijingTimestamp(text: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!match) throw new WireFormatError('a time stamp is not yyyy-MM-dd HH:mm:ss');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!isRealDate(year, month, day) || hour > 23 || minute > 59 || second > 59)
    throw new WireFormatError('a time stamp does not exist');
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - BEIJING_OFFSET_MS);
}

/** A random nonce: `bytes` random bytes as lower-case hex (default 16 bytes, 32 characters). */
export function randomNonce(bytes = 16): string {
  if (!Number.isInteger(bytes) || bytes < 8 || bytes > 64) throw new RangeError('a nonce has 8 to 64 bytes');
  return randomBytes(bytes).toString('hex');
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  return day <= days;
}

const CHINESE_DATE = /^(\d{4})年(\d{1,2})月(\d{1,2})日$/;
const DASHED_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;

/**
 * A date as Chinese systems write it — `2019年05月20日` (also `2019年5月20日`), `2019-05-20` or
 * `20190520` — as `YYYY-MM-DD`. Surrounding blanks are ignored; a date that does not exist
 * (`2019年02月30日`) and anything else are refused.
 */
export function parseChineseDate(text: string): string {
  const trimmed = text.trim();
  const match = CHINESE_DATE.exec(trimmed) ?? DASHED_DATE.exec(trimmed) ?? COMPACT_DATE.exec(trimmed);
  if (!match) throw new WireFormatError('a date is not 2019年05月20日, 2019-05-20 or 20190520');
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (!isRealDate(year, month, day)) throw new WireFormatError('a date does not exist');
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

/** `YYYY-MM-DD` → `2019年05月20日` (for requests and documents). */
export function formatChineseDate(isoDate: string): string {
  const match = DASHED_DATE.exec(isoDate);
  if (!match || !isRealDate(Number(match[1]), Number(match[2]), Number(match[3])))
    throw new WireFormatError('a date is not a real YYYY-MM-DD date');
  return `${match[1]}年${match[2]}月${match[3]}日`;
}

export type DocumentKind = 'pdf' | 'ofd';

export interface DecodedDocument {
  mediaType: 'application/pdf' | 'application/ofd';
  bytes: Uint8Array;
}

export interface DecodeDocumentOptions {
  /** Largest decoded size accepted, in bytes. */
  maxBytes: number;
  /** Kinds accepted, told apart by their first bytes: PDF `%PDF-`, OFD a ZIP container `PK\x03\x04`. Default both. */
  accept?: readonly DocumentKind[];
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A base64 document (line breaks and blanks allowed, standard alphabet, padded) decoded and
 * checked: the size limit is enforced on the text before decoding (no large allocation for an
 * oversized answer), the first bytes must be those of an accepted kind. Throws `WireFormatError`
 * (`oversized: true` when it is only too large).
 */
export function decodeBase64Document(text: string, options: DecodeDocumentOptions): DecodedDocument {
  const compact = text.replace(/\s+/g, '');
  // 4 characters carry 3 bytes: refuse before decoding anything larger than the limit.
  if (Math.floor(compact.length / 4) * 3 > options.maxBytes + 2)
    throw new DocumentTooLargeError(`the document is larger than ${options.maxBytes} bytes`);
  if (compact === '' || !STANDARD_BASE64.test(compact)) throw new WireFormatError('the document is not base64');
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.byteLength > options.maxBytes)
    throw new DocumentTooLargeError(`the document is larger than ${options.maxBytes} bytes`);
  const accept = options.accept ?? ['pdf', 'ofd'];
  if (accept.includes('pdf') && bytes.subarray(0, 5).toString('latin1') === '%PDF-')
    return { mediaType: 'application/pdf', bytes: new Uint8Array(bytes) };
  if (accept.includes('ofd') && bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])))
    return { mediaType: 'application/ofd', bytes: new Uint8Array(bytes) };
  throw new WireFormatError(`the document is not ${accept.map((kind) => kind.toUpperCase()).join(' or ')}`);
}

/** A document over the size limit: adapters map it to `oversized` rather than `malformed`. */
export class DocumentTooLargeError extends WireFormatError {
  readonly oversized = true;
}
