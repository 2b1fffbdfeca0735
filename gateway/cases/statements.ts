/**
 * The statements a case's open, submit and delivery run every time, built once
 * (gateway/db/statements.ts): on the submission path, building drizzle queries per request cost
 * about a fifth of the gateway's CPU.
 */
import { asc, eq, sql } from 'drizzle-orm';
import {
  auditEntries,
  caseEvents,
  caseMaterials,
  caseParties,
  caseResults,
  cases,
  certificates,
  clients,
  deliveries,
  items,
  materials,
  subjects,
} from '../db/schema.js';
import type { Queryable } from '../db/client.js';
import { reusableStatement, tableRowReader, textStatement, valuePlaceholder } from '../db/statements.js';
import { type AuditEntryValues, auditEntryPlaceholders } from '../audit/record.js';
import type { CaseResultRow } from '../results/results.js';
import type { CaseRow, DeliveryRow } from './status.js';

const placeholder = sql.placeholder;

export const selectCase = reusableStatement<{ caseId: string }, CaseRow[]>((on) =>
  on
    .select()
    .from(cases)
    .where(eq(cases.id, placeholder('caseId')))
    .prepare('select_case'),
);

export const selectCaseForUpdate = reusableStatement<{ caseId: string }, CaseRow[]>((on) =>
  on
    .select()
    .from(cases)
    .where(eq(cases.id, placeholder('caseId')))
    .for('update')
    .prepare('select_case_for_update'),
);

export const selectDeliveries = reusableStatement<{ caseId: string }, DeliveryRow[]>((on) =>
  on
    .select()
    .from(deliveries)
    .where(eq(deliveries.caseId, placeholder('caseId')))
    .prepare('select_case_deliveries'),
);

/** The case's requirement rows, each with its attached material (if any). */
export const selectCaseMaterials = reusableStatement<
  { caseId: string },
  {
    entry: typeof caseMaterials.$inferSelect;
    material: typeof materials.$inferSelect | null;
    certificate: Record<string, unknown> | null;
  }[]
>((on) =>
  on
    // A fetched certificate's metadata (its restrictions, the holder's other certificates) comes along: no second round trip.
    .select({ entry: caseMaterials, material: materials, certificate: certificates.metadata })
    .from(caseMaterials)
    .leftJoin(materials, eq(materials.id, caseMaterials.materialId))
    .leftJoin(certificates, eq(certificates.materialId, caseMaterials.materialId))
    .where(eq(caseMaterials.caseId, placeholder('caseId')))
    .prepare('select_case_materials'),
);

/** A requirement row with its attached material and that material's certificate metadata (if any). */
export type JoinedRequirementRow = Awaited<ReturnType<typeof selectCaseMaterials>>[number];

/** What a submission reads of its case after locking it. */
export interface SubmissionParts {
  deliveries: DeliveryRow[];
  requirements: JoinedRequirementRow[];
  result: CaseResultRow | null;
}

const submissionPartsStatement = textStatement<
  [caseId: string],
  { deliveries: unknown[]; requirements: [unknown, unknown, unknown][]; result: unknown }
>(
  `select
     (select coalesce(json_agg(d), '[]') from deliveries d where d.case_id = $1) as deliveries,
     (select coalesce(json_agg(json_build_array(cm, m, c.metadata)), '[]')
        from case_materials cm
        left join materials m on m.id = cm.material_id
        left join certificates c on c.material_id = cm.material_id
       where cm.case_id = $1) as requirements,
     (select to_json(r) from case_results r where r.case_id = $1) as result`,
);

const deliveryRow = tableRowReader(deliveries);
const requirementRow = tableRowReader(caseMaterials);
const materialRow = tableRowReader(materials);
const resultRow = tableRowReader(caseResults);
const certificateMetadata = (raw: unknown): Record<string, unknown> =>
  certificates.metadata.mapFromDriverValue(typeof raw === 'string' ? JSON.stringify(raw) : raw) as Record<
    string,
    unknown
  >;

/**
 * A case's deliveries, its requirement rows (each with its material and that material's
 * certificate metadata, as `selectCaseMaterials`) and its result row, in one statement (JSON
 * aggregates: one execution instead of three, bench:cases). A submission sends it right after the
 * case's `for update`, as a statement of its own: it reads with a snapshot taken after the lock.
 */
export async function selectSubmissionParts(on: Queryable, caseId: string): Promise<SubmissionParts> {
  const [parts] = await submissionPartsStatement(on, [caseId]);
  if (!parts) throw new Error('selectSubmissionParts: the statement answered no row');
  return {
    deliveries: parts.deliveries.map(deliveryRow),
    requirements: parts.requirements.map(([entry, material, certificate]) => ({
      entry: requirementRow(entry),
      material: material === null ? null : materialRow(material),
      certificate: certificate === null ? null : certificateMetadata(certificate),
    })),
    result: parts.result === null ? null : resultRow(parts.result),
  };
}

/** Restrictions and alternatives of certificates, by material id (the ids as one array). */
export const selectCertificateFacts = reusableStatement<
  { materialIds: string[] },
  { materialId: string; metadata: Record<string, unknown> }[]
>((on) =>
  on
    .select({ materialId: certificates.materialId, metadata: certificates.metadata })
    .from(certificates)
    .where(sql`${certificates.materialId} = any(${placeholder('materialIds')}::text[])`)
    .prepare('select_certificate_facts'),
);

export const selectSubjectKind = reusableStatement<
  { subjectId: string },
  { id: string; kind: string; identifierType: string }[]
>((on) =>
  on
    .select({ id: subjects.id, kind: subjects.kind, identifierType: subjects.identifierType })
    .from(subjects)
    .where(eq(subjects.id, placeholder('subjectId')))
    .prepare('select_subject_kind'),
);

export const insertCaseEvent = reusableStatement<
  { caseId: string; kind: string; detail: Record<string, unknown> },
  unknown
>((on) =>
  on
    .insert(caseEvents)
    .values({ caseId: placeholder('caseId'), kind: placeholder('kind'), detail: placeholder('detail') })
    .prepare('insert_case_event'),
);

/**
 * The applicant subject (id, kind, identifier type) and, when it exists, the next case number:
 * `OW` and the acceptance date (`$2`, the prefix), then a sequence shared by every instance. Drawn
 * with the opening's first reads, so the case's writes can all go together; one statement (the
 * number is drawn once, for the one row found; none when the subject is unknown).
 */
export const selectSubjectNumberingCase = textStatement<
  [subjectId: string, numberPrefix: string],
  { id: string; kind: (typeof subjects.$inferSelect)['kind']; identifierType: string; caseNumber: string }
>(
  `select s.id, s.kind, s.identifier_type as "identifierType",
          $2::text || lpad(nextval('case_number_seq')::text, 6, '0') as "caseNumber"
     from subjects s where s.id = $1`,
);

export type NewCase = Omit<
  typeof cases.$inferInsert,
  'caseNumber' | 'status' | 'openedAt' | 'updatedAt' | 'submittedAt'
> & {
  /** From `selectSubjectNumberingCase`. */
  caseNumber: string;
};

const newCasePlaceholders = {
  id: placeholder('id'),
  caseNumber: placeholder('caseNumber'),
  itemCode: placeholder('itemCode'),
  subjectId: placeholder('subjectId'),
  clientId: placeholder('clientId'),
  operatorId: placeholder('operatorId'),
  acceptingCentreCode: placeholder('acceptingCentreCode'),
  centreCode: placeholder('centreCode'),
  form: placeholder('form'),
  promisedDays: placeholder('promisedDays'),
  materialsRequired: placeholder('materialsRequired'),
  contactMobile: placeholder('contactMobile'),
};

/** The values of a new case row. */
export type NewCaseValues = Required<
  Pick<
    NewCase,
    | 'id'
    | 'itemCode'
    | 'subjectId'
    | 'clientId'
    | 'operatorId'
    | 'acceptingCentreCode'
    | 'centreCode'
    | 'form'
    | 'promisedDays'
    | 'materialsRequired'
    | 'contactMobile'
    | 'caseNumber'
  >
>;

/**
 * A new case's requirement rows from a JSON array of rows (drizzle built a multi-row insert per
 * opening: ~0.3 ms of the gateway's CPU per case, bench:cases profile), as a part of
 * `insertOpenedCase` (placeholders `id`, `requirementRows`, `materialsUpdatedAt`).
 */
const requirementRowsInsert = sql`insert into case_materials (case_id, requirement_code, party_subject_id, material_id, resolution, due_on, updated_at)
   select ${placeholder('id')}::text, r.requirement_code, r.party_subject_id, r.material_id, r.resolution::case_material_resolution, null, ${placeholder('materialsUpdatedAt')}::timestamptz
     from jsonb_to_recordset(${placeholder('requirementRows')}::jsonb) as r(requirement_code text, party_subject_id text, material_id text, resolution text)`;

/** What `insertOpenedCase` writes besides the case row. */
export type OpenedCaseExtras = {
  /** The requirement rows as a JSON array of `{requirement_code, party_subject_id, material_id, resolution}`; `[]` for none. */
  requirementRows: string;
  materialsUpdatedAt: string;
  /** The `opened` event's detail. */
  eventDetail: Record<string, unknown>;
  /** The result choice (`checkResultChoice`): its method and its address (sealed when protection is on). */
  resultMethod: string;
  resultAddress: (typeof caseResults.$inferInsert)['address'];
};

/**
 * A new case, its requirement rows, its `opened` event, its result choice and the applicant's
 * audit entry, in one statement (data-modifying CTEs: one execution instead of five, bench:cases). Every part runs
 * whether or not the main insert reads it, all in the opening's transaction; the foreign keys
 * are checked at the end of the statement, when the case row is there.
 */
export const insertOpenedCase = reusableStatement<NewCaseValues & OpenedCaseExtras & AuditEntryValues, CaseRow[]>(
  (on) => {
    const requirementRows = on.$with('requirement_rows', {}).as(requirementRowsInsert);
    const openedEvent = on.$with('opened_event', {}).as(
      on
        .insert(caseEvents)
        .values({ caseId: placeholder('id'), kind: 'opened', detail: placeholder('eventDetail') })
        .getSQL(),
    );
    const resultChoice = on.$with('result_choice', {}).as(
      on
        .insert(caseResults)
        .values({
          caseId: valuePlaceholder<string>('id'),
          method: valuePlaceholder<string>('resultMethod'),
          address: valuePlaceholder<(typeof caseResults.$inferInsert)['address']>('resultAddress'),
        })
        .getSQL(),
    );
    const audit = on.$with('audit_entry', {}).as(on.insert(auditEntries).values(auditEntryPlaceholders).getSQL());
    return on
      .with(requirementRows, openedEvent, resultChoice, audit)
      .insert(cases)
      .values(newCasePlaceholders)
      .returning()
      .prepare('insert_opened_case');
  },
);

/** A submission's delivery row when its item goes to one department (the common case). */
export const insertDelivery = reusableStatement<
  { id: string; caseId: string; departmentCode: string; stage: number; status: 'pending' | 'held' },
  DeliveryRow[]
>((on) =>
  on
    .insert(deliveries)
    .values({
      id: valuePlaceholder<string>('id'),
      caseId: valuePlaceholder<string>('caseId'),
      departmentCode: valuePlaceholder<string>('departmentCode'),
      stage: valuePlaceholder<number>('stage'),
      status: valuePlaceholder<'pending' | 'held'>('status'),
    })
    .returning()
    .prepare('insert_delivery'),
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

/** A submission's update of the case row, its values as placeholders (`SubmittedCase`). */
const submittedCaseSet = {
  status: 'submitted' as const,
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
};

export const markCaseSubmitted = reusableStatement<SubmittedCase, CaseRow[]>((on) =>
  on
    .update(cases)
    .set(submittedCaseSet)
    .where(eq(cases.id, placeholder('caseId')))
    .returning()
    .prepare('mark_case_submitted'),
);

/**
 * A submission to one department: the case row's update, its delivery row, its `submitted` event
 * and the audit entry, in one statement (data-modifying CTEs: one execution instead of four,
 * bench:cases). Answers the case's id when the case row was updated (nothing, the other rows
 * written all the same: the caller fails the transaction).
 */
export const submitCaseWrites = reusableStatement<
  SubmittedCase & {
    deliveryId: string;
    departmentCode: string;
    stage: number;
    deliveryStatus: 'pending' | 'held';
    eventDetail: Record<string, unknown>;
  } & AuditEntryValues,
  { id: string }[]
>((on) => {
  const delivery = on.$with('delivery', {}).as(
    on
      .insert(deliveries)
      .values({
        id: valuePlaceholder<string>('deliveryId'),
        caseId: valuePlaceholder<string>('caseId'),
        departmentCode: valuePlaceholder<string>('departmentCode'),
        stage: valuePlaceholder<number>('stage'),
        status: valuePlaceholder<'pending' | 'held'>('deliveryStatus'),
      })
      .getSQL(),
  );
  const submittedEvent = on.$with('submitted_event', {}).as(
    on
      .insert(caseEvents)
      .values({ caseId: placeholder('caseId'), kind: 'submitted', detail: placeholder('eventDetail') })
      .getSQL(),
  );
  const audit = on.$with('audit_entry', {}).as(on.insert(auditEntries).values(auditEntryPlaceholders).getSQL());
  return on
    .with(delivery, submittedEvent, audit)
    .update(cases)
    .set(submittedCaseSet)
    .where(eq(cases.id, placeholder('caseId')))
    .returning({ id: cases.id })
    .prepare('submit_case_writes');
});

// --- The delivery worker ---------------------------------------------------------------------

/**
 * What a department receives of each case besides its materials: the case, its subject and who
 * submitted it. For every case of a delivery pass at once (`caseIds`): one statement, not one per delivery.
 */
export const selectSubmittedCases = reusableStatement<
  { caseIds: string[] },
  {
    caseId: string;
    caseNumber: string;
    itemCode: string;
    form: Record<string, unknown>;
    submittedAt: Date | null;
    openedAt: Date;
    clientId: string;
    clientKind: (typeof clients.$inferSelect)['kind'] | null;
    operatorId: string | null;
    subjectId: string;
    subjectKind: (typeof subjects.$inferSelect)['kind'];
    identifierType: string;
    identifier: string;
    name: string;
    submissions: Record<string, string>;
  }[]
>((on) =>
  on
    .select({
      caseId: cases.id,
      caseNumber: cases.caseNumber,
      itemCode: cases.itemCode,
      form: cases.form,
      submittedAt: cases.submittedAt,
      openedAt: cases.openedAt,
      clientId: cases.clientId,
      clientKind: clients.kind,
      operatorId: cases.operatorId,
      subjectId: subjects.id,
      subjectKind: subjects.kind,
      identifierType: subjects.identifierType,
      identifier: subjects.identifier,
      name: subjects.name,
      submissions: items.submissions,
    })
    .from(cases)
    .innerJoin(subjects, eq(subjects.id, cases.subjectId))
    .innerJoin(items, eq(items.code, cases.itemCode))
    .leftJoin(clients, eq(clients.id, cases.clientId))
    .where(sql`${cases.id} = any(${placeholder('caseIds')}::text[])`)
    .prepare('select_submitted_cases'),
);

/**
 * The cases' materials by digest, ordered within a case so that a redelivery carries exactly the
 * same content: departments refuse a known idempotency key with different content.
 */
export const selectSubmittedMaterials = reusableStatement<
  { caseIds: string[] },
  { caseId: string; partySubjectId: string | null; typeCode: string; sha256: string; mediaType: string; size: number }[]
>((on) =>
  on
    .select({
      caseId: caseMaterials.caseId,
      partySubjectId: caseMaterials.partySubjectId,
      typeCode: materials.typeCode,
      sha256: materials.contentSha256,
      mediaType: materials.mediaType,
      size: materials.contentSize,
    })
    .from(caseMaterials)
    .innerJoin(materials, eq(materials.id, caseMaterials.materialId))
    .where(sql`${caseMaterials.caseId} = any(${placeholder('caseIds')}::text[])`)
    .orderBy(asc(caseMaterials.caseId), asc(caseMaterials.requirementCode), asc(materials.id))
    .prepare('select_submitted_materials_of_cases'),
);

/** The parties a department receives with the case (every buyer, an agent): role, kind, identifier and name. */
export const selectSubmittedParties = reusableStatement<
  { caseIds: string[] },
  {
    caseId: string;
    role: string;
    subjectId: string;
    kind: 'person' | 'organisation';
    identifierType: string;
    identifier: string;
    name: string;
  }[]
>((on) =>
  on
    .select({
      caseId: caseParties.caseId,
      role: caseParties.role,
      subjectId: subjects.id,
      kind: subjects.kind,
      identifierType: subjects.identifierType,
      identifier: subjects.identifier,
      name: subjects.name,
    })
    .from(caseParties)
    .innerJoin(subjects, eq(subjects.id, caseParties.subjectId))
    .where(sql`${caseParties.caseId} = any(${placeholder('caseIds')}::text[])`)
    // Within a role in the order named: a department taking one buyer takes the first.
    .orderBy(asc(caseParties.caseId), asc(caseParties.role), asc(caseParties.position), asc(caseParties.subjectId))
    .prepare('select_submitted_parties_of_cases'),
);
