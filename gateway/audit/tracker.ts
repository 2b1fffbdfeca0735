/**
 * The data tracker: every recorded access to one subject's data — who (client and operator),
 * when, what (fields, material types), why (purpose, case) and with what outcome. Auditors read
 * it for any subject; a citizen reads their own through a portal with a subject-scoped token.
 * Reading the tracker is itself an access and is recorded, so it shows up in the tracker too.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Principal } from '../auth/principal.js';
import type { Database } from '../db/client.js';
import { auditEntries, clients, subjects } from '../db/schema.js';
import { ApiError } from '../platform/errors.js';
import type { AccessPurpose } from '../platform/purpose.js';
import { recordAudit } from './record.js';

export interface TrackerEntry {
  entryId: string;
  occurredAt: string;
  client: { id: string; name: string | null; kind: string };
  operatorId: string | null;
  action: string;
  fields: string[];
  materialTypes: string[];
  purpose: string | null;
  caseRef: string | null;
  outcome: string;
}

export interface TrackerPage {
  subjectId: string;
  items: TrackerEntry[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextBefore: string | null;
}

export interface TrackerQuery {
  subjectId: string;
  limit: number;
  /** Cursor from a previous page. */
  before?: string | undefined;
}

export async function readDataTracker(
  db: Database,
  reader: { principal: Principal; purpose: AccessPurpose; requestId: string },
  query: TrackerQuery,
): Promise<TrackerPage> {
  const before = query.before === undefined ? undefined : Number(query.before);
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw new ApiError('validation_failed', 'before is a cursor from a previous page.', { errors: [{ path: 'before', message: 'not a cursor' }] });
  }
  const page = await db.transaction(async (tx) => {
    const [subject] = await tx.select({ id: subjects.id }).from(subjects).where(eq(subjects.id, query.subjectId));
    if (!subject) return null;
    const rows = await tx
      .select({ entry: auditEntries, clientName: clients.name })
      .from(auditEntries)
      .leftJoin(clients, eq(clients.id, auditEntries.actorClientId))
      .where(and(eq(auditEntries.subjectRef, query.subjectId), before === undefined ? undefined : lt(auditEntries.id, before)))
      .orderBy(desc(auditEntries.id))
      .limit(query.limit);
    await recordAudit(tx, {
      actor: reader.principal,
      operatorId: reader.purpose.operatorId,
      action: reader.principal.subjectId ? 'subject.tracker.read_own' : 'subject.tracker.read',
      subjectRef: query.subjectId,
      fields: ['access_log'],
      purpose: reader.purpose.purpose,
      caseRef: reader.purpose.caseRef,
      outcome: 'allowed',
      requestId: reader.requestId,
    });
    return rows;
  });
  if (!page) throw new ApiError('not_found', 'No such subject.');
  const last = page.at(-1);
  return {
    subjectId: query.subjectId,
    items: page.map(({ entry, clientName }) => ({
      entryId: entry.entryId,
      occurredAt: entry.occurredAt.toISOString(),
      client: { id: entry.actorClientId, name: clientName, kind: entry.actorKind },
      operatorId: entry.operatorId,
      action: entry.action,
      fields: entry.fields,
      materialTypes: entry.materialTypes,
      purpose: entry.purpose,
      caseRef: entry.caseRef,
      outcome: entry.outcome,
    })),
    nextBefore: page.length === query.limit && last ? String(last.entry.id) : null,
  };
}
