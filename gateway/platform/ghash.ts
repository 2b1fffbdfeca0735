/**
 * GHASH, the universal hash of GCM (NIST SP 800-38D, 6.4), for SM4-GCM built on OpenSSL's SM4
 * (aead.ts): OpenSSL 3.0 has SM4-CTR but no SM4-GCM, and a pure-JS SM4-GCM runs at a fraction of
 * the speed a document store needs.
 *
 * Multiplication by H uses tables: for each of the 16 byte positions of a block and each byte
 * value, the product of that block (only that byte set) with H, so one multiplication is 16
 * lookups and XORs (64 KiB of tables per H). Blocks are handled as four big-endian 32-bit words.
 * The lookups are indexed by the running state (state · H ⊕ block), which depends on H: like any
 * table-driven software GHASH, this is open to cache-timing attacks by code sharing the CPU with
 * the gateway (not by a remote client, who sees no per-lookup timing). Hardware GHASH (OpenSSL's
 * AES-GCM path) does not have this; docs/national-cryptography.md says so.
 */

const BLOCK_BYTES = 16;
/** x^128 + x^7 + x^2 + x + 1, as the first word of GCM's reflected bit order. */
const R = 0xe1000000;

/** The product tables of H: entry (position, byte) at (position * 256 + byte) * 4. */
export type GhashTables = Uint32Array;

/** The tables of H (build once per key: about 64 KiB, a fraction of a millisecond). */
export function ghashTables(h: Uint8Array): GhashTables {
  // V_i = H · x^i, i = 0..127 (Algorithm 1's V after i steps): the product of the block with only bit i set.
  const powers = new Uint32Array(128 * 4);
  const view = new DataView(h.buffer, h.byteOffset, BLOCK_BYTES);
  let v0 = view.getUint32(0);
  let v1 = view.getUint32(4);
  let v2 = view.getUint32(8);
  let v3 = view.getUint32(12);
  for (let bit = 0; bit < 128; bit++) {
    powers.set([v0, v1, v2, v3], bit * 4);
    const carry = v3 & 1;
    v3 = ((v3 >>> 1) | (v2 << 31)) >>> 0;
    v2 = ((v2 >>> 1) | (v1 << 31)) >>> 0;
    v1 = ((v1 >>> 1) | (v0 << 31)) >>> 0;
    v0 = (v0 >>> 1) ^ (carry ? R : 0);
  }
  const tables = new Uint32Array(BLOCK_BYTES * 256 * 4);
  for (let position = 0; position < BLOCK_BYTES; position++) {
    for (let byte = 1; byte < 256; byte++) {
      const at = (position * 256 + byte) * 4;
      for (let k = 0; k < 8; k++) {
        if (!(byte & (0x80 >>> k))) continue;
        const power = (position * 8 + k) * 4;
        tables[at] = (tables[at] ?? 0) ^ (powers[power] ?? 0);
        tables[at + 1] = (tables[at + 1] ?? 0) ^ (powers[power + 1] ?? 0);
        tables[at + 2] = (tables[at + 2] ?? 0) ^ (powers[power + 2] ?? 0);
        tables[at + 3] = (tables[at + 3] ?? 0) ^ (powers[power + 3] ?? 0);
      }
    }
  }
  return tables;
}

/** GHASH_H(A ‖ 0-pad ‖ C ‖ 0-pad ‖ len(A) ‖ len(C)), lengths in bits, 64-bit big-endian each. */
export function ghash(tables: GhashTables, associated: Uint8Array, ciphertext: Uint8Array): Buffer {
  const state = new Uint32Array(4);
  absorb(tables, state, associated);
  absorb(tables, state, ciphertext);
  const lengths = new Uint8Array(BLOCK_BYTES);
  const view = new DataView(lengths.buffer);
  view.setBigUint64(0, BigInt(associated.byteLength) * 8n);
  view.setBigUint64(8, BigInt(ciphertext.byteLength) * 8n);
  absorb(tables, state, lengths);
  const out = Buffer.alloc(BLOCK_BYTES);
  for (let word = 0; word < 4; word++) out.writeUInt32BE(state[word] ?? 0, word * 4);
  return out;
}

/** Folds `data` (zero-padded to whole blocks) into `state`: state = (state ⊕ block) · H per block. */
function absorb(tables: GhashTables, state: Uint32Array, data: Uint8Array): void {
  let s0 = state[0] ?? 0;
  let s1 = state[1] ?? 0;
  let s2 = state[2] ?? 0;
  let s3 = state[3] ?? 0;
  const whole = data.byteLength - (data.byteLength % BLOCK_BYTES);
  let last: Uint8Array | undefined;
  if (whole < data.byteLength) {
    last = new Uint8Array(BLOCK_BYTES);
    last.set(data.subarray(whole));
  }
  const blocks = [
    [data, whole],
    [last, last ? BLOCK_BYTES : 0],
  ] as const;
  for (const [bytes, end] of blocks) {
    if (!bytes) continue;
    for (let offset = 0; offset < end; offset += BLOCK_BYTES) {
      s0 ^=
        ((bytes[offset] ?? 0) << 24) |
        ((bytes[offset + 1] ?? 0) << 16) |
        ((bytes[offset + 2] ?? 0) << 8) |
        (bytes[offset + 3] ?? 0);
      s1 ^=
        ((bytes[offset + 4] ?? 0) << 24) |
        ((bytes[offset + 5] ?? 0) << 16) |
        ((bytes[offset + 6] ?? 0) << 8) |
        (bytes[offset + 7] ?? 0);
      s2 ^=
        ((bytes[offset + 8] ?? 0) << 24) |
        ((bytes[offset + 9] ?? 0) << 16) |
        ((bytes[offset + 10] ?? 0) << 8) |
        (bytes[offset + 11] ?? 0);
      s3 ^=
        ((bytes[offset + 12] ?? 0) << 24) |
        ((bytes[offset + 13] ?? 0) << 16) |
        ((bytes[offset + 14] ?? 0) << 8) |
        (bytes[offset + 15] ?? 0);
      let z0 = 0;
      let z1 = 0;
      let z2 = 0;
      let z3 = 0;
      const words = [s0, s1, s2, s3];
      for (let word = 0; word < 4; word++) {
        const value = words[word] ?? 0;
        for (let shift = 24, position = word * 4; shift >= 0; shift -= 8, position++) {
          const at = (position * 256 + ((value >>> shift) & 0xff)) * 4;
          z0 ^= tables[at] ?? 0;
          z1 ^= tables[at + 1] ?? 0;
          z2 ^= tables[at + 2] ?? 0;
          z3 ^= tables[at + 3] ?? 0;
        }
      }
      s0 = z0;
      s1 = z1;
      s2 = z2;
      s3 = z3;
    }
  }
  state[0] = s0 >>> 0;
  state[1] = s1 >>> 0;
  state[2] = s2 >>> 0;
  state[3] = s3 >>> 0;
}
