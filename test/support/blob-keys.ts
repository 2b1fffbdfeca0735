/**
 * Data keys for blob stores in tests, without a database: one active sealing key of the given
 * algorithm (or none: protection off), and the keys made before it, which still open.
 */
import { randomBytes } from 'node:crypto';
import type { BlobKeys, BlobSealingKey } from '../../gateway/materials/blob-sealing.js';
import { sealedSize } from '../../gateway/materials/blob-sealing.js';
import { KEY_BYTES, type ProtectionAlgorithm } from '../../gateway/platform/aead.js';
import { SealBrokenError } from '../../gateway/platform/aead.js';

export type BlobProtection = 'off' | ProtectionAlgorithm;

export interface TestBlobKeys extends BlobKeys {
  /** Makes a new active key (protection turned on, or a rotation). */
  rotate(algorithm: ProtectionAlgorithm): BlobSealingKey;
  /** Turns protection off: new blobs are stored in clear; sealed ones still open. */
  turnOff(): void;
}

let keysMade = 0;

export function testBlobKeys(protection: BlobProtection): TestBlobKeys {
  const known = new Map<string, BlobSealingKey>();
  let active: BlobSealingKey | undefined;
  const keys: TestBlobKeys = {
    get activeSealingKey() {
      return active;
    },
    async sealingKeyById(id) {
      const key = known.get(id);
      if (!key) throw new SealBrokenError(`the data key ${id} is unknown`);
      return key;
    },
    rotate(algorithm) {
      keysMade += 1;
      // Twelve characters, as DataProtection's ids.
      const id = `testkey${String(keysMade).padStart(5, '0')}`;
      active = { id, algorithm, key: randomBytes(KEY_BYTES[algorithm]) };
      known.set(id, active);
      return active;
    },
    turnOff() {
      active = undefined;
    },
  };
  if (protection !== 'off') keys.rotate(protection);
  return keys;
}

/** The stored size of `size` content bytes sealed under a twelve-character key id. */
export const sealedTestSize = (size: number): number => sealedSize(size, { keyIdBytes: 12 });
