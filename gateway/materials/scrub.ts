/**
 * The scrub: checks every stored blob against its SHA-256 and every material's content for
 * presence, so that damage is found before a reader runs into it. Reads one blob at a time
 * (memory stays at one buffer), marks what is corrupt (the store quarantines it), and names the
 * materials that refer to each bad blob, by id only. Run by `npm run blobs:scrub`
 * (gateway/cli/scrub-blobs.ts); see docs/blob-integrity.md.
 */
import { asc, eq, gt } from 'drizzle-orm';
import type { Queryable } from '../db/client.js';
import { materials } from '../db/schema.js';
import type { BlobStore } from './blob-store.js';

/** Material digests looked up per query when looking for missing content. */
const DIGEST_PAGE = 500;

export interface CorruptBlob {
  sha256: string;
  /** SHA-256 of the bytes found; null when part of them is missing. */
  actualSha256: string | null;
  /** Bytes found. */
  size: number;
  /** False when an earlier read or scrub had quarantined it already. */
  newlyQuarantined: boolean;
  /** The materials whose content it is. */
  materialIds: string[];
}

export interface MissingBlob {
  sha256: string;
  /** The materials whose content it should be. */
  materialIds: string[];
}

export interface ScrubReport {
  /** Blobs read and checked. */
  checked: number;
  /** Their bytes. */
  bytesChecked: number;
  intact: number;
  corrupt: CorruptBlob[];
  /** Content that materials refer to and the store does not hold. */
  missing: MissingBlob[];
  /** Quarantined blobs found intact again (restored behind the store's back), now served again. */
  released: string[];
}

export interface ScrubOptions {
  /** Called after each blob, with the number checked so far. */
  onProgress?: (checked: number) => void;
}

async function materialIdsOf(db: Queryable, sha256: string): Promise<string[]> {
  const rows = await db
    .select({ id: materials.id })
    .from(materials)
    .where(eq(materials.contentSha256, sha256))
    .orderBy(asc(materials.id));
  return rows.map((row) => row.id);
}

export async function scrubBlobs(store: BlobStore, db: Queryable, options: ScrubOptions = {}): Promise<ScrubReport> {
  const report: ScrubReport = { checked: 0, bytesChecked: 0, intact: 0, corrupt: [], missing: [], released: [] };
  for await (const sha256 of store.list()) {
    const check = await store.verify(sha256);
    if (check.status === 'missing') continue; // deleted since it was listed
    report.checked += 1;
    report.bytesChecked += check.size;
    if (check.status === 'intact') {
      report.intact += 1;
      if (check.released) report.released.push(sha256);
    } else {
      const { actualSha256, size, newlyQuarantined } = check;
      report.corrupt.push({
        sha256,
        actualSha256,
        size,
        newlyQuarantined,
        materialIds: await materialIdsOf(db, sha256),
      });
    }
    options.onProgress?.(report.checked);
  }

  let after = '';
  for (;;) {
    const page = await db
      .selectDistinct({ sha256: materials.contentSha256 })
      .from(materials)
      .where(gt(materials.contentSha256, after))
      .orderBy(asc(materials.contentSha256))
      .limit(DIGEST_PAGE);
    for (const { sha256 } of page) {
      if (!(await store.stat(sha256))) report.missing.push({ sha256, materialIds: await materialIdsOf(db, sha256) });
    }
    const last = page.at(-1);
    if (!last || page.length < DIGEST_PAGE) break;
    after = last.sha256;
  }
  return report;
}

/** Whether the scrub found a corrupt or a missing blob. */
export function scrubFoundProblems(report: ScrubReport): boolean {
  return report.corrupt.length > 0 || report.missing.length > 0;
}
