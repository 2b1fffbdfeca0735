/**
 * Builds the blob store the configuration names (BLOB_STORE): for the gateway's services and for
 * the scrub command, which must read the same store the same way.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { BlobIntegrityOptions } from './blob-integrity.js';
import type { BlobKeys } from './blob-sealing.js';
import type { BlobStore } from './blob-store.js';
import { createFilesystemBlobStore } from './blob-store-fs.js';
import { createPostgresBlobStore } from './blob-store-postgres.js';

/** The configured driver's short name: the `store` label of the blob metrics. */
export function blobStoreKind(materials: Config['materials']): 'filesystem' | 'postgres' {
  return materials.blobStore.kind;
}

/**
 * `keys` (the services' `DataProtection`) seal new documents when protection is on, and open
 * sealed ones whatever the mode: without them a sealed document cannot be read.
 */
export function createConfiguredBlobStore(
  materials: Config['materials'],
  db: Database,
  integrity: BlobIntegrityOptions = {},
  keys?: BlobKeys,
): BlobStore {
  const { blobStore, sm3, rangeVerificationMaxAgeMs } = materials;
  const options = { sm3, rangeVerificationMaxAgeMs, ...integrity, ...(keys ? { keys } : {}) };
  return blobStore.kind === 'filesystem'
    ? createFilesystemBlobStore({ directory: blobStore.directory, ...options })
    : createPostgresBlobStore({ db, ...options });
}
