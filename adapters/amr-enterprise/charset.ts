/**
 * Character sets on the AMR wire. The registry is an older provincial system: it answers in GBK and
 * accepts GBK or UTF-8 requests. Both sides decode by the charset a message declares — the HTTP
 * `Content-Type` parameter first, then the XML declaration, else UTF-8 (the XML default) — and
 * refuse any charset outside a short list, because guessing an encoding turns Chinese names into
 * mojibake silently.
 */
import iconv from 'iconv-lite';

/** The charsets the registry and the adapter understand, by the canonical name used on the wire. */
export const wireCharsets = ['GBK', 'GB18030', 'GB2312', 'UTF-8'] as const;
export type WireCharset = (typeof wireCharsets)[number];

const ALIASES: Readonly<Record<string, WireCharset>> = {
  gbk: 'GBK',
  cp936: 'GBK',
  gb18030: 'GB18030',
  gb2312: 'GB2312',
  'utf-8': 'UTF-8',
  utf8: 'UTF-8',
};

/** Why a message could not be turned into text. */
export class CharsetError extends Error {
  override readonly name = 'CharsetError';
  constructor(
    readonly reason: 'unknown_charset' | 'invalid_bytes',
    message: string,
  ) {
    super(message);
  }
}

function canonicalCharset(label: string): WireCharset {
  const charset = ALIASES[label.trim().toLowerCase()];
  if (charset === undefined)
    throw new CharsetError('unknown_charset', 'the message declares a charset this system does not accept');
  return charset;
}

/** The `charset` parameter of a Content-Type header, if any. */
function charsetParameter(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match?.[1];
}

/** The `encoding` of the XML declaration. The declaration is ASCII in every charset we accept. */
function declarationEncoding(body: Uint8Array): string | undefined {
  const head = Buffer.from(body.subarray(0, 256)).toString('latin1');
  const match = /^\uFEFF?\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  return match?.[1];
}

/** The charset a message declares (header, then XML declaration, else UTF-8). */
export function declaredCharset(contentType: string | undefined, body: Uint8Array): WireCharset {
  const label = charsetParameter(contentType) ?? declarationEncoding(body);
  return label === undefined ? 'UTF-8' : canonicalCharset(label);
}

/** Decodes a message by its declared charset; invalid bytes are refused, never replaced. */
export function decodeMessage(
  contentType: string | undefined,
  body: Uint8Array,
): { text: string; charset: WireCharset } {
  const charset = declaredCharset(contentType, body);
  if (charset === 'UTF-8') {
    try {
      return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body), charset };
    } catch {
      throw new CharsetError('invalid_bytes', 'the message is not valid UTF-8');
    }
  }
  const text = iconv.decode(Buffer.from(body), charset);
  // iconv-lite replaces undecodable sequences with U+FFFD instead of failing.
  if (text.includes('\uFFFD')) throw new CharsetError('invalid_bytes', `the message is not valid ${charset}`);
  return { text, charset };
}

/** Encodes text; characters the charset cannot represent are refused rather than turned into `?`. */
export function encodeMessage(text: string, charset: WireCharset): Buffer {
  if (charset === 'UTF-8') return Buffer.from(text, 'utf8');
  const bytes = iconv.encode(text, charset);
  if (iconv.decode(bytes, charset) !== text)
    throw new CharsetError('invalid_bytes', `the text has characters ${charset} cannot encode`);
  return bytes;
}
