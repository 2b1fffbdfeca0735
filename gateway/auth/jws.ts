/**
 * Compact JWS signing and verification for every algorithm the gateway signs with. ES256 and
 * EdDSA go to jose; SM2 (which jose does not know) is done here, in the same compact form:
 *
 * - `alg` is `SM2SM3`: an SM2 signature (GB/T 32918.2) whose message digest is SM3 (GB/T 32905)
 *   over Z_A ‖ signing input, with the default signer ID `1234567812345678` (GM/T 0009). No JOSE
 *   algorithm is registered for SM2 at IANA; the name says both parts, as ES256 does, and cannot
 *   be mistaken for a registered one.
 * - The signing input is RFC 7515's: ASCII(BASE64URL(header) ‖ '.' ‖ BASE64URL(payload)).
 * - The signature is r ‖ s, 32 bytes each, big-endian (64 bytes), like ECDSA in RFC 7518 §3.4;
 *   OpenSSL wants DER SEQUENCE { r, s } instead, which `signatureToDer` (and the offline steps in
 *   docs/national-cryptography.md) convert to.
 *
 * Failures throw jose's own error classes, so callers handle every algorithm in one `catch`.
 */
import {
  CompactSign,
  compactVerify,
  errors as joseErrors,
  type JWK,
  exportJWK,
  generateKeyPair,
  importJWK,
} from 'jose';
import type { webcrypto } from 'node:crypto';
import type { SigningSettings } from '../config.js';
import {
  Sm2PrivateKey,
  Sm2PublicKey,
  generateSm2PrivateKey,
  signatureFromRaw,
  signatureToRaw,
  sm2VerifySignature,
} from '../../adapters/sdk/helpers/sm2.js';
import { isCanonicalBase64url, parseCompactJsonObject, readCanonicalCompactJws } from './compact-jws.js';

/** The JWS `alg` of SM2 signatures with SM3 (not IANA-registered; see above). */
export const SM2_JWS_ALG = 'SM2SM3';

export type SigningAlg = SigningSettings['alg'];
export const signingAlgorithms: readonly SigningAlg[] = ['ES256', 'EdDSA', SM2_JWS_ALG];

export function isSigningAlg(value: unknown): value is SigningAlg {
  return value === 'ES256' || value === 'EdDSA' || value === SM2_JWS_ALG;
}

/** A key that signs: a WebCrypto key (jose) or an SM2 private key. */
export type SignKey = webcrypto.CryptoKey | Sm2PrivateKey;
/** A key that verifies: a WebCrypto key (jose) or an SM2 public key. */
export type VerifyKey = webcrypto.CryptoKey | Sm2PublicKey;

export interface ProtectedHeader {
  alg: SigningAlg;
  kid: string;
  typ: string;
}

export async function signCompactJws(header: ProtectedHeader, payload: Uint8Array, key: SignKey): Promise<string> {
  if (!(key instanceof Sm2PrivateKey)) return new CompactSign(payload).setProtectedHeader({ ...header }).sign(key);
  if (header.alg !== SM2_JWS_ALG) throw new TypeError(`jws: an SM2 key signs with ${SM2_JWS_ALG}, not ${header.alg}`);
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  const signature = signatureToRaw(key.sign(Buffer.from(signingInput, 'ascii')));
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * Verifies a compact JWS with `key`, which must sign with `alg`. For SM2 the header must be a
 * compact JSON object naming `alg: SM2SM3`, with no `crit` (no extension is understood) and no
 * `b64` (unencoded payloads are not accepted), and every part canonical base64url.
 */
export async function verifyCompactJws(
  jws: string,
  key: VerifyKey,
  alg: SigningAlg,
): Promise<{ payload: Uint8Array; protectedHeader: Record<string, unknown> }> {
  if (!(key instanceof Sm2PublicKey)) {
    const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: [alg] });
    return { payload, protectedHeader: { ...protectedHeader } };
  }
  if (alg !== SM2_JWS_ALG) throw new joseErrors.JOSENotSupported(`an SM2 key verifies ${SM2_JWS_ALG} only`);
  const parts = readCanonicalCompactJws(jws);
  if (!parts) throw new joseErrors.JWSInvalid('not a compact JWS of three canonical base64url parts');
  const header = parseCompactJsonObject(parts.header);
  if (!header) throw new joseErrors.JWSInvalid('the protected header is not a compact JSON object');
  if (header['alg'] !== SM2_JWS_ALG)
    throw new joseErrors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
  if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64'))
    throw new joseErrors.JWSInvalid('no critical extension or unencoded payload is accepted');
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = jws.split('.');
  if (!isCanonicalBase64url(encodedSignature)) throw new joseErrors.JWSInvalid('signature is not base64url');
  const signature = signatureFromRaw(Buffer.from(encodedSignature, 'base64url'));
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  if (!signature || !sm2VerifySignature(key, signingInput, signature))
    throw new joseErrors.JWSSignatureVerificationFailed();
  return { payload: Buffer.from(encodedPayload, 'base64url'), protectedHeader: header };
}

/** A new key pair as JWKs (the private one carries the public members too). */
export async function generateSigningJwks(alg: SigningAlg): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  if (alg === SM2_JWS_ALG) {
    const key = generateSm2PrivateKey();
    return { privateJwk: key.toJwk(), publicJwk: key.publicKey.toJwk() };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

export async function importSignKey(privateJwk: JWK, alg: SigningAlg): Promise<SignKey> {
  if (alg === SM2_JWS_ALG) return Sm2PrivateKey.fromJwk(privateJwk);
  return (await importJWK(privateJwk, alg)) as webcrypto.CryptoKey;
}

/** Only the public members of `publicJwk` are read. */
export async function importVerifyKey(publicJwk: JWK, alg: SigningAlg): Promise<VerifyKey> {
  if (alg === SM2_JWS_ALG) return Sm2PublicKey.fromJwk(publicJwk);
  const { kty, crv, x, y } = publicJwk;
  const members = Object.fromEntries(Object.entries({ kty, crv, x, y }).filter(([, value]) => value !== undefined));
  return (await importJWK(members, alg)) as webcrypto.CryptoKey;
}
