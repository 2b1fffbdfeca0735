/**
 * The statements a case's open, submit and delivery run every time, built once
 * (gateway/db/statements.ts): on the submission path, building drizzle queries per request cost
 * about a fifth of the gateway's CPU.
 */
import { eq, sql } from 'drizzle-orm';
import { caseEvents, caseMaterials, cases, deliveries, materials, subjects } from '../db/schema.js';
import { reusableStatement } from '../db/statements.js';
import type { CaseRow, DeliveryRow } from './status.js';

const placeholder = sql.placeholder;

export const selectCase = reusableStatement<{ caseId: string }, CaseRow[]>((on) =>
  on.select().from(cases).where(eq(cases.id, placeholder('caseId'))).prepare('select_case'),
);

export const selectCaseForUpdate = reusableStatement<{ caseId: string }, CaseRow[]>((on) =>
  on.select().from(cases).where(eq(cases.id, placeholder('caseId'))).for('update').prepare('select_case_for_update'),
);

export const selectDeliveries = reusableStatement<{ caseId: string }, DeliveryRow[]>((on) =>
  on.select().from(deliveries).where(eq(deliveries.caseId, placeholder('caseId'))).prepare('select_case_deliveries'),
);

/** The case's requirement rows, each with its attached material (if any). */
export const selectCaseMaterials = reusableStatement<
  { caseId: string },
  { entry: typeof caseMaterials.$inferSelect; material: typeof materials.$inferSelect | null }[]
>((on) =>
  on
    .select({ entry: caseMaterials, material: materials })
    .from(caseMaterials)
    .leftJoin(materials, eq(materials.id, caseMaterials.materialId))
    .where(eq(caseMaterials.caseId, placeholder('caseId')))
    .prepare('select_case_materials'),
);

export const selectSubjectKind = reusableStatement<{ subjectId: string }, { id: string; kind: string }[]>((on) =>
  on.select({ id: subjects.id, kind: subjects.kind }).from(subjects).where(eq(subjects.id, placeholder('subjectId'))).prepare('select_subject_kind'),
);

export const insertCaseEvent = reusableStatement<{ caseId: string; kind: string; detail: Record<string, unknown> }, unknown>((on) =>
  on
    .insert(caseEvents)
    .values({ caseId: placeholder('caseId'), kind: placeholder('kind'), detail: placeholder('detail') })
    .prepare('insert_case_event'),
);

export type NewCase = Omit<typeof cases.$inferInsert, 'caseNumber' | 'status' | 'openedAt' | 'updatedAt' | 'submittedAt'> & {
  /** `OW` and the acceptance date; the database appends a sequence shared by every instance. */
  numberPrefix: string;
};

export const insertCase = reusableStatement<Required<Pick<NewCase, 'id' | 'itemCode' | 'subjectId' | 'clientId' | 'operatorId' | 'form' | 'promisedDays' | 'materialsRequired' | 'numberPrefix'>>, CaseRow[]>(
  (on) =>
    on
      .insert(cases)
      .values({
        id: placeholder('id'),
        caseNumber: sql`${placeholder('numberPrefix')}::text || lpad(nextval('case_number_seq')::text, 6, '0')`,
        itemCode: placeholder('itemCode'),
        subjectId: placeholder('subjectId'),
        clientId: placeholder('clientId'),
        operatorId: placeholder('operatorId'),
        form: placeholder('form'),
        promisedDays: placeholder('promisedDays'),
        materialsRequired: placeholder('materialsRequired'),
      })
      .returning()
      .prepare('insert_case'),
);

/** What a submission writes on the case row. */
export type SubmittedCase = {
  caseId: string;
  form: Record<string, unknown>;
  submittedAt: Date;
  acceptedOn: string;
  promisedDays: number;
  dueOn: string | null;
  statutoryDueOn: string | null;
  materialsRequired: number;
  materialsHandedIn: number;
  materialsReused: number;
  materialsFetched: number;
  materialsDeferred: number;
};

/**
 * A placeholder where drizzle's `update().set()` types want the column's value: at run time
 * drizzle wraps it with the column's encoder like any value (jsonb, timestamps), and fills it in.
 */
const valuePlaceholder = <Value>(name: string): Value => placeholder(name) as unknown as Value;

export const markCaseSubmitted = reusableStatement<SubmittedCase, CaseRow[]>((on) =>
  on
    .update(cases)
    .set({
      status: 'submitted',
      form: valuePlaceholder<Record<string, unknown>>('form'),
      submittedAt: valuePlaceholder<Date>('submittedAt'),
      acceptedOn: valuePlaceholder<string>('acceptedOn'),
      promisedDays: valuePlaceholder<number>('promisedDays'),
      dueOn: valuePlaceholder<string | null>('dueOn'),
      statutoryDueOn: valuePlaceholder<string | null>('statutoryDueOn'),
      materialsRequired: valuePlaceholder<number>('materialsRequired'),
      materialsHandedIn: valuePlaceholder<number>('materialsHandedIn'),
      materialsReused: valuePlaceholder<number>('materialsReused'),
      materialsFetched: valuePlaceholder<number>('materialsFetched'),
      materialsDeferred: valuePlaceholder<number>('materialsDeferred'),
      updatedAt: valuePlaceholder<Date>('submittedAt'),
    })
    .where(eq(cases.id, placeholder('caseId')))
    .returning()
    .prepare('mark_case_submitted'),
);
