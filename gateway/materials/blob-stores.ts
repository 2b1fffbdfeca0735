/**
 * Builds the blob store the configuration names (BLOB_STORE): for the gateway's services and for
 * the scrub command, which must read the same store the same way.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { BlobIntegrityOptions } from './blob-integrity.js';
import type { BlobStore } from './blob-store.js';
import { createFilesystemBlobStore } from './blob-store-fs.js';
import { createPostgresBlobStore } from './blob-store-postgres.js';

/** The configured driver's short name: the `store` label of the blob metrics. */
export function blobStoreKind(materials: Config['materials']): 'filesystem' | 'postgres' {
  return materials.blobStore.kind;
}

export function createConfiguredBlobStore(
  materials: Config['materials'],
  db: Database,
  integrity: BlobIntegrityOptions = {},
): BlobStore {
  const { blobStore, sm3, rangeVerificationMaxAgeMs } = materials;
  const options = { sm3, rangeVerificationMaxAgeMs, ...integrity };
  return blobStore.kind === 'filesystem'
    ? createFilesystemBlobStore({ directory: blobStore.directory, ...options })
    : createPostgresBlobStore({ db, ...options });
}
