/**
 * The data tracker: every recorded access to one subject's data — who (client and operator),
 * when, what (fields, material types), why (purpose, case) and with what outcome, refusals
 * included. Auditors read it for any subject; a citizen reads their own through a portal with a
 * subject-scoped token, and sees the organisation, department, purpose, time, outcome and data
 * categories of each access, not other agencies' internal operator ids or case numbers.
 * Reading the tracker is itself an access and is recorded, so it shows up in the tracker too.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Principal } from '../auth/principal.js';
import type { Database } from '../db/client.js';
import { auditEntries, centres, clients, subjects } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import type { AccessPurpose } from '../platform/purpose.js';
import { recordAudit } from './record.js';

export interface TrackerEntry {
  entryId: string;
  occurredAt: string;
  /** For the citizen, the organisation only: its internal client id is withheld (null). */
  client: { id: string | null; name: string | null; kind: string; department: string | null };
  /** Withheld (null) from the citizen: another agency's internal reference. */
  operatorId: string | null;
  /** Where the data was used: the service centre the actor acted at (shown to the citizen too). */
  centre: { code: string; name: string | null } | null;
  action: string;
  fields: string[];
  materialTypes: string[];
  purpose: string | null;
  /** Withheld (null) from the citizen unless it is a case the citizen can look up (`OW…`). */
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

/** Who reads the tracker, and which view they get. */
export interface TrackerReader {
  principal: Principal;
  purpose: AccessPurpose;
  requestId: string;
  /** The citizen's own view: organisations and data categories, no internal references. */
  citizenView: boolean;
}

/** Case numbers the gateway gives out (the citizen can look those up), not other systems' references. */
const GATEWAY_CASE_NUMBER = /^OW\d{14}$/;

export async function readDataTracker(db: Database, reader: TrackerReader, query: TrackerQuery): Promise<TrackerPage> {
  const before = query.before === undefined ? undefined : Number(query.before);
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw new ApiError('validation_failed', message('audit.cursor_invalid'), {
      errors: [fieldProblem('before', 'not a cursor', '不是有效的翻页游标')],
    });
  }
  const page = await db.transaction(async (tx) => {
    const [subject] = await tx.select({ id: subjects.id }).from(subjects).where(eq(subjects.id, query.subjectId));
    if (!subject) return null;
    const rows = await tx
      .select({
        entry: auditEntries,
        clientName: clients.name,
        clientDepartment: clients.departmentCode,
        centreName: centres.name,
      })
      .from(auditEntries)
      .leftJoin(clients, eq(clients.id, auditEntries.actorClientId))
      .leftJoin(centres, eq(centres.code, auditEntries.centreCode))
      .where(
        and(
          eq(auditEntries.subjectRef, query.subjectId),
          before === undefined ? undefined : lt(auditEntries.id, before),
        ),
      )
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
  if (!page) throw new ApiError('not_found', message('subject.not_found'));
  const last = page.at(-1);
  return {
    subjectId: query.subjectId,
    items: page.map(({ entry, clientName, clientDepartment, centreName }) => ({
      entryId: entry.entryId,
      occurredAt: entry.occurredAt.toISOString(),
      client: {
        id: reader.citizenView ? null : entry.actorClientId,
        name: clientName,
        kind: entry.actorKind,
        department: clientDepartment ?? departmentOfActor(entry.actorClientId),
      },
      operatorId: reader.citizenView ? null : entry.operatorId,
      centre: entry.centreCode === null ? null : { code: entry.centreCode, name: centreName },
      action: entry.action,
      fields: reader.citizenView ? dataCategories(entry.fields) : entry.fields,
      materialTypes: entry.materialTypes,
      purpose: entry.purpose,
      caseRef: reader.citizenView && !(entry.caseRef && GATEWAY_CASE_NUMBER.test(entry.caseRef)) ? null : entry.caseRef,
      outcome: entry.outcome,
    })),
    nextBefore: page.length === query.limit && last ? String(last.entry.id) : null,
  };
}

/** A department that acted through the gateway itself (a fetched certificate's provider). */
function departmentOfActor(actorClientId: string): string | null {
  return actorClientId.startsWith('department:') ? actorClientId.slice('department:'.length) : null;
}

/**
 * Prefixed fields a citizen may read: who received their data and in which role. Every other
 * prefixed field is an internal reference (material, delivery, grant and request ids, another
 * holder's subject id, operators, routes): withheld by default, so a reference added later to an
 * entry does not reach the citizen unless it is listed here.
 */
const CITIZEN_READABLE_PREFIXES: ReadonlySet<string> = new Set(['department', 'departments', 'party']);

/** The kinds of data an entry lists, for the citizen: field names and categories, no internal references. */
function dataCategories(fields: readonly string[]): string[] {
  const readable = (field: string) => {
    const colon = field.indexOf(':');
    // `identifier:masked` is a category as shown masked, not a reference.
    if (colon === -1 || field.endsWith(':masked')) return true;
    return CITIZEN_READABLE_PREFIXES.has(field.slice(0, colon));
  };
  return [...new Set(fields.filter(readable).map((field) => field.replace(/:masked$/, '')))];
}
