/**
 * Verifying what the gateway signs as an outside party would, whatever SIGNING_ALG the suite runs
 * under: ES256 and EdDSA with jose (a standard JOSE library), SM2SM3 with OpenSSL's command line
 * (openssl-sm2.ts) — jose does not know SM2. Given the compact JWS and the published JWKS only.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JWK } from 'jose';
import { opensslVerifySm2Jws } from './openssl-sm2.js';

/** The JWS payload, decoded as JSON, once its signature verifies against `jwks`; throws otherwise. */
export async function verifyOffline(jws: string, jwks: { keys: JWK[] }): Promise<Record<string, unknown>> {
  const header = decodeProtectedHeader(jws);
  if (header.alg === 'SM2SM3') {
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) throw new Error(`no key ${String(header.kid)} in the JWKS`);
    const verdict = await opensslVerifySm2Jws(jws, jwk);
    if (!verdict.verified) throw new Error(`OpenSSL refused the SM2 signature: ${verdict.output}`);
    const [, payload = ''] = jws.split('.');
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  }
  const { payload } = await compactVerify(jws, createLocalJWKSet(jwks));
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
}
