/**
 * Strict reading of compact JWS text (RFC 7515 §7.1), before any JOSE library sees it.
 *
 * Base64url decoders are lenient: they accept `=` padding, and ignore the unused low bits of the
 * last character, so one signature has several spellings that all verify (RFC 8725 §3.11 warns
 * about such malleability). A token or envelope is only read here when each segment is spelled
 * exactly as RFC 7515 §2 writes it, and its JSON parts only when they are written the way our
 * signer writes them: compact, with no member name repeated (JSON.parse would silently keep the
 * last of two `alg`s).
 */

const BASE64URL_ALPHABET = /^[A-Za-z0-9_-]+$/;
/** Refuses malformed UTF-8 instead of replacing it, and keeps a byte-order mark (which JSON.parse then refuses). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** True when `segment` is non-empty, unpadded base64url whose last character has its unused bits zero. */
export function isCanonicalBase64url(segment: string): boolean {
  // Re-encoding what the decoder read gives the one canonical spelling of those bytes.
  return BASE64URL_ALPHABET.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

export interface CompactJwsText {
  /** The decoded protected header (JSON text). */
  header: string;
  /** The decoded payload. */
  payload: string;
}

/** The decoded header and payload of a compact JWS of three canonical segments; undefined for anything else. */
export function readCanonicalCompactJws(text: string): CompactJwsText | undefined {
  const segments = text.split('.');
  if (segments.length !== 3 || !segments.every(isCanonicalBase64url)) return undefined;
  const [header = '', payload = ''] = segments;
  try {
    return {
      header: strictUtf8.decode(Buffer.from(header, 'base64url')),
      payload: strictUtf8.decode(Buffer.from(payload, 'base64url')),
    };
  } catch {
    return undefined;
  }
}

/**
 * A JSON object written compactly with each member name once, as `JSON.stringify` writes it;
 * undefined for anything else. Serialising what was parsed gives back the same text only when no
 * member was repeated (the parser keeps the last), no insignificant whitespace was added, and
 * nothing was spelled unusually (escapes, number forms).
 */
export function parseCompactJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return JSON.stringify(value) === text ? (value as Record<string, unknown>) : undefined;
}
