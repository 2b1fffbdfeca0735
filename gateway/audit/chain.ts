/**
 * The hash chain over audit entries. Each sealed entry's hash covers its position, the previous
 * entry's hash and every content column, so modifying, deleting, reordering or inserting a row
 * breaks the chain at that row. Signed checkpoints of the head catch a rewritten or cut-off tail.
 */
import { createHash } from 'node:crypto';
import type { auditEntries } from '../db/schema.js';

export const GENESIS_HASH = '0'.repeat(64);
export const CHECKPOINT_TYPE = 'onewindow-audit-checkpoint+json';

export type AuditRow = typeof auditEntries.$inferSelect;

/** The hash of an entry at `seq` following `prevHash`. Field order is fixed: changing it breaks every chain. */
export function entryHash(row: AuditRow, seq: number, prevHash: string): string {
  // Format 2 adds the actor's centre at the end; entries without one keep format 1, so every
  // chain sealed before centres existed verifies as it did.
  const centre = row.centreCode === null ? [] : [row.centreCode];
  const canonical = JSON.stringify([
    centre.length === 0 ? 1 : 2, // format version
    seq,
    prevHash,
    row.entryId,
    row.occurredAt.toISOString(),
    row.actorClientId,
    row.actorKind,
    row.operatorId,
    row.action,
    row.subjectRef,
    row.fields,
    row.materialTypes,
    row.purpose,
    row.caseRef,
    row.outcome,
    row.requestId,
    ...centre,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface CheckpointPayload {
  seq: number;
  headHash: string;
  createdAt: string;
}
