/**
 * The verify endpoint: is this envelope one the gateway signed, unaltered, and is the certificate
 * it vouches for still good? The signature check is what an offline verifier does with the JWKS;
 * the status check is what only the gateway knows (revoked or superseded since it was signed).
 */
import { eq } from 'drizzle-orm';
import type { KeyStore } from '../auth/keys.js';
import type { Database } from '../db/client.js';
import { materials } from '../db/schema.js';
import { certificateHolderNames } from '../materials/materials.js';
import { requireSubject } from '../identity/subjects.js';
import { maskPersonalText } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
import { type CertificateClaims, verifyCertificateEnvelope } from './envelope.js';

export interface EnvelopeVerification {
  /** Signature good and the certificate neither revoked nor superseded. */
  valid: boolean;
  signature: 'valid';
  kid: string;
  /** What the gateway knows now about the material the envelope names. */
  currentStatus: 'valid' | 'revoked' | 'superseded' | 'cancelled' | 'unknown';
  revocation: { at: string; reason: string } | null;
  claims: CertificateClaims;
}

export async function verifyEnvelope(
  db: Database,
  keys: KeyStore,
  protection: DataProtection,
  envelope: string,
): Promise<EnvelopeVerification> {
  const { claims, kid } = await verifyCertificateEnvelope(keys, envelope);
  const [material] = await db
    .select({
      id: materials.id,
      status: materials.status,
      contentSha256: materials.contentSha256,
      revokedAt: materials.revokedAt,
      revokedReason: materials.revokedReason,
      subjectId: materials.subjectId,
    })
    .from(materials)
    .where(eq(materials.id, claims.materialId));
  // A signed envelope whose content digest differs from the material's cannot happen unless the
  // records were tampered with; treat it as unknown rather than vouch for either.
  const currentStatus = !material || material.contentSha256 !== claims.content.sha256 ? 'unknown' : material.status;
  return {
    valid: currentStatus === 'valid',
    signature: 'valid',
    kid,
    currentStatus,
    revocation:
      material?.revokedAt && material.revokedReason
        ? {
            at: material.revokedAt.toISOString(),
            reason: await publicReason(db, protection, material, material.revokedReason),
          }
        : null,
    claims,
  };
}

/**
 * The department's words as anyone holding an envelope may read them (no token): identifiers,
 * mobile numbers and the holder's name masked (review 10: 「张三户口已迁出，联系电话138…」).
 */
async function publicReason(
  db: Database,
  protection: DataProtection,
  material: { id: string; subjectId: string },
  reason: string,
): Promise<string> {
  const { name } = await requireSubject(db, protection, material.subjectId);
  // The co-holders of a jointly held certificate too (review 23: 「张*、王秀英名下…」).
  return maskPersonalText(reason, [name, ...(await certificateHolderNames(db, [material.id]))]);
}
