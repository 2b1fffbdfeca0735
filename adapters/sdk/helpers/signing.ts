/**
 * Request signatures of the common government-gateway style: the request's fields sorted by
 * name, written `name=value` and joined with `&`, the key appended as `&key=<key>`, then hashed
 * (SM3) or MACed (HMAC-SHA256), written as UPPER-CASE hex.
 *
 * The exact string signed, for fields `{method: 'a.b', app_id: 'X1', biz_content: '{"k":1}',
 * sign: '…', empty: ''}` and key `K`:
 *
 *     app_id=X1&biz_content={"k":1}&method=a.b&key=K
 *
 * - field names sorted by UTF-16 code unit (plain `Array.prototype.sort`, i.e. ASCII order for
 *   ASCII names: `app_id` < `biz_content` < `method`; upper case before lower case);
 * - the signature field itself (`sign` by default) and fields whose value is `undefined` or the
 *   empty string are left out;
 * - values are the raw strings, neither URL-encoded nor trimmed (the form body is encoded after
 *   signing; the receiver decodes it before checking);
 * - the key is appended last as `&key=<key>` (also when there are no fields: `key=<key>`);
 * - the string is UTF-8 encoded before hashing.
 *
 * SM3 is GB/T 32905-2016 (OpenSSL's `sm3`, through Node's crypto). With HMAC-SHA256 the key is
 * both the MAC key and appended to the string, as the usual gateways (and WeChat Pay's
 * `HMAC-SHA256` sign type) do it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SignedFields = Readonly<Record<string, string | undefined>>;

export interface CanonicalOptions {
  /** The field that carries the signature, left out of the string. Default `sign`. */
  signatureField?: string;
}

/** `a=1&b=2` from the fields: sorted by name, the signature field and empty values left out. */
export function canonicalFields(fields: SignedFields, options: CanonicalOptions = {}): string {
  const signatureField = options.signatureField ?? 'sign';
  return Object.keys(fields)
    .filter((name) => name !== signatureField && fields[name] !== undefined && fields[name] !== '')
    .sort()
    .map((name) => `${name}=${fields[name] as string}`)
    .join('&');
}

/** The exact string that is hashed: the canonical fields, then `&key=<key>`. */
export function stringToSign(fields: SignedFields, key: string, options: CanonicalOptions = {}): string {
  const canonical = canonicalFields(fields, options);
  return canonical === '' ? `key=${key}` : `${canonical}&key=${key}`;
}

/** SM3 of `text` (UTF-8) as upper-case hex. */
export function sm3Hex(text: string | Uint8Array): string {
  return createHash('sm3').update(text).digest('hex').toUpperCase();
}

/** Upper-case hex SM3 over the sorted fields plus the key. */
export function sm3Sign(fields: SignedFields, key: string, options: CanonicalOptions = {}): string {
  return sm3Hex(stringToSign(fields, key, options));
}

/** Upper-case hex HMAC-SHA256 (keyed with `key`) over the sorted fields plus the key. */
export function hmacSha256Sign(fields: SignedFields, key: string, options: CanonicalOptions = {}): string {
  return createHmac('sha256', key)
    .update(stringToSign(fields, key, options))
    .digest('hex')
    .toUpperCase();
}

export type SignatureAlgorithm = 'SM3' | 'HMAC-SHA256';

export function signFields(
  algorithm: SignatureAlgorithm,
  fields: SignedFields,
  key: string,
  options: CanonicalOptions = {},
): string {
  return algorithm === 'SM3' ? sm3Sign(fields, key, options) : hmacSha256Sign(fields, key, options);
}

/**
 * Whether `fields[signatureField]` is the right signature (case-insensitive hex, compared in
 * constant time). A missing signature is false.
 */
export function verifyFieldsSignature(
  algorithm: SignatureAlgorithm,
  fields: SignedFields,
  key: string,
  options: CanonicalOptions = {},
): boolean {
  const given = fields[options.signatureField ?? 'sign'];
  if (given === undefined || !/^[0-9A-Fa-f]{64}$/.test(given)) return false;
  const expected = Buffer.from(signFields(algorithm, fields, key, options), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}
