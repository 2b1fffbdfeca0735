/**
 * Authenticated encryption of personal data at rest: AES-256-GCM (Node's OpenSSL) or SM4-GCM
 * (GB/T 32907 in GCM mode as RFC 8998 uses it; OpenSSL 3.0 has no SM4-GCM, so sm-crypto-v2,
 * checked against RFC 8998's vector). A sealed value is `iv (12) ‖ ciphertext ‖ tag (16)`; the
 * associated data binds it to where it is kept, so a value copied to another column or row
 * does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { sm4 } from 'sm-crypto-v2';

export const PROTECTION_ALGORITHMS = ['aes-256-gcm', 'sm4-gcm'] as const;
export type ProtectionAlgorithm = (typeof PROTECTION_ALGORITHMS)[number];

const IV_BYTES = 12;
const TAG_BYTES = 16;

export const KEY_BYTES: Readonly<Record<ProtectionAlgorithm, number>> = { 'aes-256-gcm': 32, 'sm4-gcm': 16 };
/** The hash of the blind index's HMAC and of key derivation: SM3 beside SM4, SHA-256 beside AES. */
export const HASH_OF: Readonly<Record<ProtectionAlgorithm, 'sha256' | 'sm3'>> = {
  'aes-256-gcm': 'sha256',
  'sm4-gcm': 'sm3',
};

/** A sealed value that does not open: wrong key, changed bytes, or moved from where it was sealed. */
export class SealBrokenError extends Error {
  override name = 'SealBrokenError';
}

export function aeadSeal(
  algorithm: ProtectionAlgorithm,
  key: Uint8Array,
  plaintext: Uint8Array,
  associated: Uint8Array,
): Buffer {
  return aeadSealWithIv(algorithm, key, randomBytes(IV_BYTES), plaintext, associated);
}

/** `aeadSeal` with a given 96-bit IV: only for known-answer tests (an IV must never repeat under a key). */
export function aeadSealWithIv(
  algorithm: ProtectionAlgorithm,
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  associated: Uint8Array,
): Buffer {
  if (algorithm === 'aes-256-gcm') {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associated);
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }
  const sealed = sm4.encrypt(plaintext, key, {
    mode: 'gcm',
    iv,
    associatedData: associated,
    padding: 'none',
    output: 'array',
    outputTag: true,
  });
  return Buffer.concat([iv, sealed.output, sealed.tag ?? new Uint8Array(0)]);
}

export function aeadOpen(
  algorithm: ProtectionAlgorithm,
  key: Uint8Array,
  sealed: Uint8Array,
  associated: Uint8Array,
): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new SealBrokenError('the sealed value is too short');
  const iv = sealed.subarray(0, IV_BYTES);
  const ciphertext = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  try {
    if (algorithm === 'aes-256-gcm') {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associated);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    }
    const opened = sm4.decrypt(ciphertext, key, {
      mode: 'gcm',
      iv,
      associatedData: associated,
      tag,
      padding: 'none',
      output: 'array',
    });
    return Buffer.from(opened);
  } catch (error) {
    throw new SealBrokenError('the sealed value does not open (wrong key or changed bytes)', { cause: error });
  }
}
