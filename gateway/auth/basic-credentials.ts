/**
 * HTTP Basic client credentials (RFC 7617, with RFC 6749 §2.3.1's form-encoding of both parts):
 * read by the token endpoint and by the supervision page, which supervisors open in a browser.
 */

/** The credentials of an `Authorization: Basic …` header: undefined without a header, null when it is not valid Basic. */
export function parseBasicCredentials(header: string | undefined): { id: string; secret: string } | null | undefined {
  if (!header) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}
