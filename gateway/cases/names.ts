/**
 * The names a case holds (its applicant's and parties'), opened: masked wherever a form or free
 * text repeats them for a caller who sees subjects masked.
 */
import { eq, inArray } from 'drizzle-orm';
import type { Queryable } from '../db/client.js';
import { caseParties, cases, subjects } from '../db/schema.js';
import { openSubjectName } from '../identity/subjects.js';
import type { DataProtection } from '../protection/data-protection.js';

/**
 * The names of each case's applicant and parties, opened, by case id: oversight masks them wherever
 * a form or free text repeats them (「李梅（买方）」), which keeping a leading third would not.
 */
export async function namesOfCases(
  tx: Queryable,
  protection: DataProtection,
  caseIds: readonly string[],
): Promise<Map<string, string[]>> {
  const names = new Map<string, string[]>();
  if (caseIds.length === 0) return names;
  const ids = [...new Set(caseIds)];
  const named = await tx
    .select({ caseId: cases.id, subjectId: subjects.id, name: subjects.name })
    .from(cases)
    .innerJoin(subjects, eq(subjects.id, cases.subjectId))
    .where(inArray(cases.id, ids))
    .unionAll(
      tx
        .select({ caseId: caseParties.caseId, subjectId: subjects.id, name: subjects.name })
        .from(caseParties)
        .innerJoin(subjects, eq(subjects.id, caseParties.subjectId))
        .where(inArray(caseParties.caseId, ids)),
    );
  for (const row of named) {
    const name = await openSubjectName(protection, row.subjectId, row.name);
    names.set(row.caseId, [...(names.get(row.caseId) ?? []), name]);
  }
  return names;
}

export async function namesInCase(tx: Queryable, protection: DataProtection, caseId: string): Promise<string[]> {
  return (await namesOfCases(tx, protection, [caseId])).get(caseId) ?? [];
}
