/**
 * The gateway's signature on a certificate answer: a compact JWS (RFC 7515) over the certificate
 * metadata, the digest of its rendition and where it came from, signed with the gateway's active
 * key and carrying its `kid`, so anyone can verify it offline against `/.well-known/jwks.json`
 * with any JOSE library. `typ` keeps it from being mistaken for an access token or an audit
 * checkpoint signed by the same key.
 */
import { decodeProtectedHeader, errors as joseErrors } from 'jose';
import { isCanonicalBase64url } from '../auth/compact-jws.js';
import { signCompactJws, verifyCompactJws } from '../auth/jws.js';
import type { KeyStore } from '../auth/keys.js';
import { ApiError, message } from '../platform/errors.js';

export const CERTIFICATE_ENVELOPE_TYPE = 'onewindow-certificate+jws';

export interface CertificateClaims {
  /** The gateway (its issuer URL). */
  iss: string;
  /** Seconds since the epoch, when the gateway signed. */
  iat: number;
  materialId: string;
  subjectId: string;
  certificate: {
    certificateType: string;
    certificateNumber: string;
    /** Masked unless the caller could see unmasked personal data. */
    holderName: string;
    holderIdentifier: string;
    issuingAuthority: string;
    issueDate: string;
    validFrom: string;
    validUntil: string | null;
    status: 'valid' | 'revoked' | 'cancelled';
    /** What the department reported about the object and the right; absent when it reports none. */
    location?: string;
    shareType?: 'sole' | 'joint' | 'shares';
    /** Every holder; names and identifiers masked like the holder's. */
    holders?: { name: string; identifier: string; share?: string }[];
    restrictions?: { kind: 'mortgage' | 'seizure' | 'objection' | 'pre_notice'; registeredOn: string; party: string }[];
  };
  /**
   * The rendition's digests: SHA-256, and SM3 (GB/T 32905, lower-case hex) for every copy stored
   * or refreshed since SM3 digests were recorded (absent only on older copies not yet refreshed).
   */
  content: { sha256: string; sm3?: string; mediaType: string; size: number };
  source: {
    department: string;
    contractResource: string | null;
    contractVersion: string | null;
    fetchedAt: string;
    checkedAt: string;
  };
  /** True when served from a copy past its freshness because the department could not answer. */
  stale: boolean;
}

export async function signCertificate(keys: KeyStore, claims: CertificateClaims): Promise<string> {
  const key = await keys.activeKey();
  return signCompactJws(
    { alg: key.alg, kid: key.kid, typ: CERTIFICATE_ENVELOPE_TYPE },
    new TextEncoder().encode(JSON.stringify(claims)),
    key.signKey,
  );
}

/**
 * Envelopes already signed, so a certificate answered from storage again and again is signed once
 * per version, status and view (masked or not) and signing key, not once per request: an ES256
 * signature costs more CPU than the rest of a cached answer. The envelope then carries the `iat` of
 * its first signing. Least recently used entries leave first.
 */
export class EnvelopeCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly maxEntries = 10_000) {}

  async sign(keys: KeyStore, claims: Omit<CertificateClaims, 'iat'>, now: Date): Promise<string> {
    const key = await keys.activeKey();
    const cacheKey = `${key.kid}\n${JSON.stringify(claims)}`;
    const cached = this.entries.get(cacheKey);
    if (cached !== undefined) {
      this.entries.delete(cacheKey);
      this.entries.set(cacheKey, cached);
      return cached;
    }
    const envelope = await signCertificate(keys, { ...claims, iat: Math.floor(now.getTime() / 1000) });
    this.entries.set(cacheKey, envelope);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return envelope;
  }
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function isClaims(value: unknown): value is CertificateClaims {
  if (typeof value !== 'object' || value === null) return false;
  const claims = value as Record<string, unknown>;
  return (
    typeof claims['materialId'] === 'string' &&
    typeof claims['subjectId'] === 'string' &&
    typeof claims['certificate'] === 'object' &&
    claims['certificate'] !== null &&
    typeof claims['content'] === 'object' &&
    claims['content'] !== null
  );
}

/**
 * Checks an envelope's form, key and signature; returns its claims. Each failure has its own code:
 * `envelope_malformed` (not a compact JWS of ours), `envelope_unknown_key` (a `kid` we never
 * published), `envelope_signature_invalid` (altered or forged).
 */
export async function verifyCertificateEnvelope(
  keys: KeyStore,
  envelope: string,
): Promise<{ claims: CertificateClaims; kid: string }> {
  // Canonical base64url only: otherwise one signature has several spellings that all verify.
  if (!COMPACT_JWS.test(envelope) || !envelope.split('.').every(isCanonicalBase64url)) {
    throw new ApiError('envelope_malformed', message('envelope.not_compact_jws'));
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(envelope);
  } catch {
    throw new ApiError('envelope_malformed', message('envelope.header_undecodable'));
  }
  if (header.typ !== CERTIFICATE_ENVELOPE_TYPE)
    throw new ApiError('envelope_malformed', message('envelope.wrong_type', { type: CERTIFICATE_ENVELOPE_TYPE }));
  if (typeof header.kid !== 'string') throw new ApiError('envelope_malformed', message('envelope.no_kid'));
  const key = await keys.historicalVerificationKey(header.kid);
  if (!key)
    throw new ApiError('envelope_unknown_key', message('envelope.unknown_key', { kid: String(header.kid) }), {
      kid: header.kid,
    });
  if (header.alg !== key.alg)
    throw new ApiError(
      'envelope_signature_invalid',
      message('envelope.wrong_algorithm', { kid: key.kid, algorithm: key.alg, headerAlgorithm: String(header.alg) }),
    );
  let payload: Uint8Array;
  try {
    ({ payload } = await verifyCompactJws(envelope, key.verifyKey, key.alg));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError)
      throw new ApiError('envelope_signature_invalid', message('envelope.signature_mismatch'));
    throw error;
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new ApiError('envelope_malformed', message('envelope.payload_not_json'));
  }
  if (!isClaims(claims)) throw new ApiError('envelope_malformed', message('envelope.payload_not_certificate'));
  return { claims, kid: key.kid };
}
