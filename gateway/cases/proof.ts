/**
 * The applicant's proof of a case (the progress look-up's second factor): the case number and the
 * last four characters of their identifier, with the count of wrong guesses that locks a case
 * number. Shared by every door an applicant opens with it — the look-up and the rating — so they
 * share one count.
 */
import { timingSafeEqual } from 'node:crypto';
import { and, count, eq, gte, min, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Database } from '../db/client.js';
import type { DataProtection } from '../protection/data-protection.js';

/** Where a proof is checked: the database and the key that opens the applicant's identifier. */
export interface ProofStore {
  db: Database;
  protection: DataProtection;
}
import { cases, progressLookupFailures, subjects } from '../db/schema.js';
import { openSubjectIdentifier } from '../identity/subjects.js';
import { ApiError, message } from '../platform/errors.js';

export interface ProgressLookup {
  caseNumber: string;
  /** The last four characters of the applicant's ID number or credit code. */
  check: string;
}

function sameCheck(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toUpperCase());
  const b = Buffer.from(given.toUpperCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The first key of the proof's advisory locks (the second is the case number's hash): a space of its own. */
const PROOF_LOCK_SPACE = 0x70726f66;

const notFound = () => new ApiError('not_found', message('case.proof_not_found'));

const DAY_MS = 24 * 60 * 60 * 1000;
/** At most this many locks' worth of wrong checks per case number in any 24 hours (20 at the defaults). */
const DAILY_FAILURES_PER_LOCK = 4;

/** A case proved by its number and check: the case row and its applicant's subject. */
export interface ProvedCase {
  caseRow: typeof cases.$inferSelect;
}

/**
 * The applicant's proof of a case: the case number and the last four characters of their
 * identifier. A case number locked by wrong checks is refused (429); an unknown number and a wrong
 * check are the same 404, counted towards the lock, and a wrong check on a real case is on the
 * applicant's access log under `action`. Every door that an applicant opens with the proof (the
 * look-up, the rating) goes through here, so they share one count of wrong guesses.
 */
export async function proveCase(
  { db, protection }: ProofStore,
  limits: { maxFailures: number; lockMs: number },
  lookup: ProgressLookup,
  requestId: string,
  now: Date,
  action: string,
): Promise<ProvedCase> {
  const since = new Date(now.getTime() - limits.lockMs);
  const dayAgo = new Date(now.getTime() - Math.max(DAY_MS, limits.lockMs));
  // One proof of a case number at a time, counted and compared under a lock: guesses sent at once
  // are each checked against the count of those before them, so no more than `maxFailures` are
  // ever compared with the identifier.
  const outcome = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${PROOF_LOCK_SPACE}, hashtext(${lookup.caseNumber}))`);
    const recentOnly = sql`filter (where ${progressLookupFailures.occurredAt} >= ${since.toISOString()}::timestamptz)`;
    const [failures] = await tx
      .select({
        recent: sql<number>`count(*) ${recentOnly}`.mapWith(Number),
        firstRecent: sql<Date | string | null>`min(${progressLookupFailures.occurredAt}) ${recentOnly}`,
        daily: count(),
        firstDaily: min(progressLookupFailures.occurredAt),
      })
      .from(progressLookupFailures)
      .where(
        and(eq(progressLookupFailures.caseNumber, lookup.caseNumber), gte(progressLookupFailures.occurredAt, dayAgo)),
      );
    if (failures && failures.recent >= limits.maxFailures) {
      const first = failures.firstRecent === null ? now : new Date(failures.firstRecent);
      return { kind: 'locked', unlocksAt: first.getTime() + limits.lockMs } as const;
    }
    // Locks that run out would otherwise allow `maxFailures` more every `lockMs`, forever: 480 a
    // day at the defaults, enough to try every last four of an ID number in days. A day's wrong
    // checks are capped too.
    if (failures && failures.daily >= limits.maxFailures * DAILY_FAILURES_PER_LOCK) {
      return { kind: 'locked', unlocksAt: (failures.firstDaily ?? now).getTime() + DAY_MS } as const;
    }
    const [row] = await tx
      .select({ caseRow: cases, identifier: subjects.identifier })
      .from(cases)
      .innerJoin(subjects, eq(subjects.id, cases.subjectId))
      .where(eq(cases.caseNumber, lookup.caseNumber));
    const identifier = row ? await openSubjectIdentifier(protection, row.caseRow.subjectId, row.identifier) : '';
    if (row && sameCheck(identifier.slice(-4), lookup.check)) return { kind: 'proved', caseRow: row.caseRow } as const;
    await tx.insert(progressLookupFailures).values({ caseNumber: lookup.caseNumber, occurredAt: now });
    // A wrong check on a real case is someone trying the applicant's case: on their access log.
    if (row) {
      await recordAudit(tx, {
        actor: { clientId: 'applicant', kind: 'applicant' },
        action,
        subjectRef: row.caseRow.subjectId,
        fields: ['case_status', 'refused:wrong_check'],
        caseRef: row.caseRow.caseNumber,
        outcome: 'denied',
        requestId,
      });
    }
    return { kind: 'wrong' } as const;
  });
  if (outcome.kind === 'proved') return { caseRow: outcome.caseRow };
  if (outcome.kind === 'wrong') throw notFound();
  const retryAfter = Math.max(1, Math.ceil((outcome.unlocksAt - now.getTime()) / 1000));
  const minutes = Math.ceil(retryAfter / 60);
  throw new ApiError(
    'rate_limited',
    message('case.proof_locked', { minutes }),
    { retryAfterSeconds: retryAfter },
    { headers: { 'Retry-After': String(retryAfter) } },
  );
}
