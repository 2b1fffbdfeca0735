/**
 * Authenticated encryption of personal data at rest: AES-256-GCM (Node's OpenSSL) or SM4-GCM
 * (GB/T 32907 in GCM mode as RFC 8998 uses it). OpenSSL 3.0 has no SM4-GCM, so it is built here
 * from OpenSSL's SM4 (ECB for H, CTR for the keystream) and GHASH (ghash.ts), per NIST SP 800-38D,
 * checked against RFC 8998's vector and against sm-crypto-v2's pure-JS SM4-GCM (aead.test.ts),
 * which is several times slower. A sealed value is `iv (12) ‖ ciphertext ‖ tag (16)`; the
 * associated data binds it to where it is kept, so a value copied to another column or row
 * does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { type GhashTables, ghash, ghashTables } from './ghash.js';

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

const BLOCK_BYTES = 16;
/** GCM's 32-bit block counter starts at 2 for the text: at most 2^32 - 2 blocks (SP 800-38D, 5.2.1.1). */
const MAX_SM4_GCM_BYTES = (2 ** 32 - 2) * BLOCK_BYTES;

/** GHASH tables per SM4 key object (keys are long-lived data keys), with a copy of the key they were made for. */
const sm4Hashes = new WeakMap<Uint8Array, { key: Buffer; tables: GhashTables }>();

function sm4GhashTables(key: Uint8Array): GhashTables {
  const cached = sm4Hashes.get(key);
  if (cached?.key.equals(key)) return cached.tables;
  const ecb = createCipheriv('sm4-ecb', key, null).setAutoPadding(false);
  const h = Buffer.concat([ecb.update(Buffer.alloc(BLOCK_BYTES)), ecb.final()]);
  const tables = ghashTables(h);
  sm4Hashes.set(key, { key: Buffer.from(key), tables });
  return tables;
}

/**
 * SM4 in counter mode from J0 = iv ‖ 0^31 ‖ 1 over 16 zero bytes and then `data`: answers E(J0)
 * (which masks the tag) and `data` XOR the keystream from inc32(J0). OpenSSL's CTR increments
 * all 128 bits, GCM only the last 32: the same for up to 2^32 - 2 blocks, which `data` is held to.
 */
function sm4Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): { mask: Buffer; output: Buffer } {
  if (data.byteLength > MAX_SM4_GCM_BYTES) throw new RangeError('SM4-GCM seals at most 64 GiB at once');
  const j0 = Buffer.alloc(BLOCK_BYTES);
  j0.set(iv, 0);
  j0[BLOCK_BYTES - 1] = 1;
  const ctr = createCipheriv('sm4-ctr', key, j0);
  const mask = ctr.update(Buffer.alloc(BLOCK_BYTES));
  const output = Buffer.concat([ctr.update(data), ctr.final()]);
  return { mask, output };
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.byteLength);
  for (let index = 0; index < out.length; index++) out[index] = (a[index] ?? 0) ^ (b[index] ?? 0);
  return out;
}

function sm4GcmSeal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, associated: Uint8Array): Buffer {
  const { mask, output } = sm4Ctr(key, iv, plaintext);
  const tag = xor(ghash(sm4GhashTables(key), associated, output), mask);
  return Buffer.concat([iv, output, tag]);
}

function sm4GcmOpen(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, associated: Uint8Array) {
  // Authenticated before anything is deciphered: a forged value yields nothing.
  const expected = ghash(sm4GhashTables(key), associated, ciphertext);
  const { mask } = sm4Ctr(key, iv, new Uint8Array(0));
  if (!timingSafeEqual(xor(expected, mask), tag)) throw new Error('SM4-GCM tag mismatch');
  return sm4Ctr(key, iv, ciphertext).output;
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
  return sm4GcmSeal(key, iv, plaintext, associated);
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
    return sm4GcmOpen(key, iv, ciphertext, tag, associated);
  } catch (error) {
    throw new SealBrokenError('the sealed value does not open (wrong key or changed bytes)', { cause: error });
  }
}
