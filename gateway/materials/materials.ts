/**
 * Materials: a subject's documents with their type, content (by digest, stored once), provenance,
 * validity and status. Service functions take an `AccessContext` (caller, purpose, request id),
 * check what the caller may see, run in one transaction and audit every disclosure in it.
 *
 * Who may see and change which material is the access policy's decision (access/policy.ts): a
 * window sees handed-in documents, and department-supplied ones under that department's sharing
 * terms; a department sees its own and the types granted to it; provenance decides who replaces
 * or revokes. Anything not visible — another subject's material, an id or digest guessed — is
 * answered exactly like a material that does not exist.
 */
import { randomBytes } from 'node:crypto';
import { type SQL, and, asc, desc, eq, gte, inArray, isNull, lte, ne, or, sql } from 'drizzle-orm';
import { auditAccess, auditRefusals } from '../access/audit.js';
import type { AccessContext, AllowedDecision, RequestAccess } from '../access/context.js';
import type { CaseFacts, GrantFacts, MaterialFacts } from '../access/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Queryable } from '../db/client.js';
import type { CertificateMetadata } from '../../adapters/sdk/types.js';
import { certificates, materials, subjects } from '../db/schema.js';
import { reusableStatement } from '../db/statements.js';
import { ApiError, type DetailText, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { openSubjectValues } from '../identity/subjects.js';
import { maskIdentifiersInNote, maskPersonalText } from '../platform/identifier-masking.js';
import { type MaterialTypeRow, findMaterialTypes, requireMaterialType } from './catalogue.js';
import { addDays, chinaToday } from './dates.js';

export type MaterialRow = typeof materials.$inferSelect;
export type MaterialStatus = 'valid' | 'expired' | 'revoked' | 'superseded' | 'cancelled';
export type Provenance = 'handed_in' | 'fetched' | 'issued';

export interface MaterialView {
  id: string;
  subjectId: string;
  typeCode: string;
  /** As of today (China Standard Time): `expired` once `validUntil` has passed. */
  status: MaterialStatus;
  validFrom: string;
  validUntil: string | null;
  content: { sha256: string; sm3: string | null; size: number; mediaType: string; fileName: string | null };
  provenance: {
    kind: Provenance;
    providedBy: string;
    operatorId: string | null;
    departmentCode: string | null;
    sourceRef: string | null;
    caseRef: string | null;
  };
  supersedes: string | null;
  supersededBy: string | null;
  revocation: { at: string; reason: string; by: string } | null;
  createdAt: string;
}

export function newMaterialId(): string {
  return `mat_${randomBytes(12).toString('base64url')}`;
}

export function statusOn(row: Pick<MaterialRow, 'status' | 'validUntil'>, date: string): MaterialStatus {
  if (row.status !== 'valid') return row.status;
  return row.validUntil !== null && row.validUntil < date ? 'expired' : 'valid';
}

/**
 * `names`: the subject's name when the caller sees the subject masked (`namesMaskedFor`), masked
 * wherever the material's free text repeats it (a scan named 「欧阳娜娜-身份证.pdf」).
 */
export function materialView(
  row: MaterialRow,
  today: string = chinaToday(),
  names: readonly string[] = [],
): MaterialView {
  return {
    id: row.id,
    subjectId: row.subjectId,
    typeCode: row.typeCode,
    status: statusOn(row, today),
    validFrom: row.validFrom,
    validUntil: row.validUntil,
    content: {
      sha256: row.contentSha256,
      sm3: row.contentSm3,
      size: row.contentSize,
      mediaType: row.mediaType,
      // Typed in by whoever handed it in: an ID number, a mobile or the subject's name in it is masked.
      fileName: materialFileName(row, names),
    },
    provenance: {
      kind: row.provenance,
      providedBy: row.providedByClientId,
      // The window's own references (headers it chose): often the applicant's ID number. Stored
      // masked since review 6; masked here too for rows written before.
      operatorId: maskIdentifiersInNote(row.operatorId),
      departmentCode: row.departmentCode,
      // A certificate's number; an ID card's is its holder's ID number: masked in every view.
      sourceRef: maskIdentifiersInNote(row.sourceRef),
      caseRef: maskIdentifiersInNote(row.caseRef),
    },
    supersedes: row.supersedesId,
    supersededBy: row.supersededById,
    revocation:
      row.revokedAt && row.revokedReason && row.revokedByClientId
        ? {
            at: row.revokedAt.toISOString(),
            reason: maskPersonalText(row.revokedReason, names),
            by: row.revokedByClientId,
          }
        : null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The same answer for "no such material", "another subject's material" and "not yours to see". */
/** A material's file name as a caller is shown it (the view and a download's `Content-Disposition`). */
export function materialFileName(row: Pick<MaterialRow, 'fileName'>, names: readonly string[] = []): string | null {
  return row.fileName === null ? null : maskPersonalText(row.fileName, names);
}

/**
 * The names a material's free text is masked with for this caller: the subject's, unless the
 * policy unmasks the subject for it (as the subject's own view is masked).
 */
async function namesMaskedFor(
  tx: Queryable,
  context: AccessContext,
  subjectId: string,
  rows: readonly Pick<MaterialRow, 'id' | 'fileName' | 'revokedReason'>[],
): Promise<string[]> {
  // Nothing typed in to mask: no decision to make, no name to open (most fetched certificates).
  if (!rows.some((row) => row.fileName !== null || row.revokedReason !== null)) return [];
  if ((await context.access.decide(tx, 'subject.unmask', { kind: 'subject', subjectId })).allowed) return [];
  const [row] = await tx
    .select({ identifier: subjects.identifier, name: subjects.name })
    .from(subjects)
    .where(eq(subjects.id, subjectId));
  const own = row ? [(await openSubjectValues(context.access.protection, subjectId, row)).name] : [];
  // A revocation's reason may name the co-holders of a jointly held certificate too (review 23).
  const revoked = rows.filter((entry) => entry.revokedReason !== null).map((entry) => entry.id);
  return [...own, ...(await certificateHolderNames(tx, revoked))];
}

/**
 * The names of the holders a stored certificate lists (a jointly held flat: 「张三」「王秀英」), for
 * masking the department's words about it; none for a material without a certificate.
 */
export async function certificateHolderNames(tx: Queryable, materialIds: readonly string[]): Promise<string[]> {
  if (materialIds.length === 0) return [];
  const rows = await tx
    .select({ metadata: certificates.metadata })
    .from(certificates)
    .where(inArray(certificates.materialId, [...materialIds]));
  return rows.flatMap(({ metadata }) =>
    ((metadata as unknown as Pick<CertificateMetadata, 'holders'>).holders ?? []).map((holder) => holder.name),
  );
}

export function materialNotFound(): ApiError {
  return new ApiError('not_found', message('material.not_found'));
}

/**
 * The columns the access policy decides a material from (besides its id and subject, which it
 * only carries). Queries that want "the preferred material per type that the caller may read"
 * take one row per type and combination of these (DISTINCT ON), then let the policy choose: the
 * same answer as deciding every row, at a fraction of the rows.
 */
export const policyColumns = [
  materials.provenance,
  materials.providedByClientId,
  materials.departmentCode,
  materials.sharingResource,
] as const;

/** What the access policy knows of a material (see `policyColumns`). */
export function materialFacts(row: MaterialRow): MaterialFacts {
  return {
    id: row.id,
    subjectId: row.subjectId,
    typeCode: row.typeCode,
    provenance: row.provenance,
    providedByClientId: row.providedByClientId,
    departmentCode: row.departmentCode,
    sharingResource: row.sharingResource,
  };
}

/**
 * The rows the caller may read, in their order: the policy decides each one (with the grant facts
 * loaded once). Every door that shows a material — list, metadata, content, reuse answers, case
 * notices, case attachments — goes through here or `findVisibleMaterial`.
 */
export async function visibleMaterials<Row extends MaterialRow>(
  tx: Queryable,
  access: RequestAccess,
  rows: readonly Row[],
  viaCase?: CaseFacts,
): Promise<Row[]> {
  if (rows.length === 0) return [];
  const decideAll = (facts: GrantFacts) =>
    rows.map((row) =>
      access.decideWith(facts, 'material.read', {
        kind: 'material',
        material: materialFacts(row),
        ...(viaCase ? { viaCase } : {}),
      }),
    );
  const decisions = await access.decideConfirmed(tx, decideAll, (made) => made);
  return rows.filter((_, index) => decisions[index]?.allowed === true);
}

async function subjectExists(tx: Queryable, subjectId: string): Promise<{ kind: 'person' | 'organisation' } | null> {
  const [row] = await tx.select({ kind: subjects.kind }).from(subjects).where(eq(subjects.id, subjectId));
  return row ?? null;
}

/**
 * One material of the subject and the policy's yes to `action` on it, or the refusal: `not_found`
 * for a material the caller may not see (exactly like a missing one), the reason otherwise.
 * Locks the row when `forUpdate`.
 */
async function requireMaterialAccess(
  tx: Queryable,
  context: AccessContext,
  subjectId: string,
  materialId: string,
  action: 'material.read' | 'material.supersede' | 'material.revoke',
  options: { forUpdate?: boolean; notFoundDetail?: DetailText } = {},
): Promise<{ row: MaterialRow; decision: AllowedDecision }> {
  const query = tx
    .select()
    .from(materials)
    .where(and(eq(materials.id, materialId), eq(materials.subjectId, subjectId)));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  const notFoundDetail = options.notFoundDetail ?? message('material.not_found');
  if (!row) throw new ApiError('not_found', notFoundDetail);
  const decision = await context.access.require(
    tx,
    action,
    { kind: 'material', material: materialFacts(row) },
    notFoundDetail,
  );
  return { row, decision };
}

/** A material read, with the names its free text is masked with for the caller (`namesMaskedFor`). */
export interface ReadMaterial {
  row: MaterialRow;
  names: string[];
}

/** What else a read puts on record in its transaction (the co-holders of a certificate it shows). */
export type AlsoOnRecord = (
  tx: Queryable,
  context: AccessContext,
  read: { row: MaterialRow; decision: AllowedDecision; action: string; field: string },
) => Promise<void>;

export async function readMaterial(
  context: AccessContext,
  subjectId: string,
  materialId: string,
  action = 'material.read',
  alsoOnRecord?: AlsoOnRecord,
): Promise<ReadMaterial> {
  return auditRefusals(context, { action, subjectId }, () =>
    context.db.transaction(async (tx) => {
      const { row, decision } = await requireMaterialAccess(tx, context, subjectId, materialId, 'material.read');
      const field = action === 'material.download' ? 'content' : 'metadata';
      await auditAccess(tx, context, { decision, action, subjectId, fields: [field], materialTypes: [row.typeCode] });
      await alsoOnRecord?.(tx, context, { row, decision, action, field });
      return { row, names: await namesMaskedFor(tx, context, subjectId, [row]) };
    }),
  );
}

export interface ListOptions {
  types?: string[] | undefined;
  /** Only materials usable today (status valid, not expired). */
  currentOnly?: boolean | undefined;
}

/** A disclosure decision for a listing (which itself reveals only what the policy allowed). */
async function listingDecision(tx: Queryable, context: AccessContext, subjectId: string): Promise<AllowedDecision> {
  return context.access.require(tx, 'subject.read', { kind: 'subject', subjectId }, message('subject.not_found'));
}

/** What the audit entry of a listing says was left out, so the record shows the policy at work. */
function withheldField(total: number, shown: number): string[] {
  return total > shown ? [`withheld:${total - shown}`] : [];
}

export async function listMaterials(
  context: AccessContext,
  subjectId: string,
  options: ListOptions,
): Promise<MaterialView[]> {
  const today = chinaToday(context.access.now);
  const rows = await auditRefusals(context, { action: 'material.list', subjectId }, () =>
    context.db.transaction(async (tx) => {
      if (!(await subjectExists(tx, subjectId))) throw new ApiError('not_found', message('subject.not_found'));
      const decision = await listingDecision(tx, context, subjectId);
      const found = await tx
        .select()
        .from(materials)
        .where(
          and(
            eq(materials.subjectId, subjectId),
            options.types?.length ? inArray(materials.typeCode, options.types) : undefined,
            options.currentOnly
              ? and(eq(materials.status, 'valid'), or(isNull(materials.validUntil), gte(materials.validUntil, today)))
              : undefined,
          ),
        )
        .orderBy(asc(materials.typeCode), desc(materials.validFrom), desc(materials.createdAt))
        .limit(1000);
      const shown = await visibleMaterials(tx, context.access, found);
      await auditAccess(tx, context, {
        decision,
        action: 'material.list',
        subjectId,
        fields: ['metadata', ...withheldField(found.length, shown.length)],
        materialTypes: shown.map((row) => row.typeCode),
      });
      return { shown, names: await namesMaskedFor(tx, context, subjectId, shown) };
    }),
  );
  return rows.shown.map((row) => materialView(row, today, rows.names));
}

export interface ReuseAnswer {
  subjectId: string;
  on: string;
  found: { typeCode: string; material: MaterialView }[];
  missing: string[];
}

/**
 * Which material to reuse among several valid ones of a type: provenance is authority, so a
 * department's own copy (issued or fetched) comes before a copy handed in at a window; then the
 * newest.
 */
export const reusePreference = [
  asc(sql`case when ${materials.provenance} = 'handed_in' then 1 else 0 end`),
  desc(materials.validFrom),
  desc(materials.createdAt),
];

/** The order of `reusePreference`, for rows already read. */
function preferred(a: MaterialRow, b: MaterialRow): number {
  const rank = (row: MaterialRow) => (row.provenance === 'handed_in' ? 1 : 0);
  return rank(a) - rank(b) || b.validFrom.localeCompare(a.validFrom) || b.createdAt.getTime() - a.createdAt.getTime();
}

/** The candidates' conditions: the subject's valid materials of the types, valid on `day`. */
const candidateConditions = (subjectId: unknown, typeCodes: SQL, day: unknown) => [
  eq(materials.subjectId, subjectId as string),
  typeCodes,
  eq(materials.status, 'valid'),
  lte(materials.validFrom, day as string),
  or(isNull(materials.validUntil), gte(materials.validUntil, day as string)),
];

/** The candidates' order: by type and policy columns, the preferred first (`distinct on` keeps it). */
const candidateOrder = [asc(materials.typeCode), ...policyColumns.map((column) => asc(column)), ...reusePreference];

/** The candidates' conditions with the subject, the types (one array) and the day as placeholders. */
const candidatesOfTypes = () =>
  and(
    ...candidateConditions(
      sql.placeholder('subjectId'),
      sql`${materials.typeCode} = any(${sql.placeholder('typeCodes')}::text[])`,
      sql.placeholder('day'),
    ),
  );

/** The candidates' statement when no certificate number binds a type (every case open): built once. */
const selectReuseCandidates = reusableStatement<{ subjectId: string; typeCodes: string[]; day: string }, MaterialRow[]>(
  (on) =>
    on
      .selectDistinctOn([materials.typeCode, ...policyColumns])
      .from(materials)
      .where(candidatesOfTypes())
      .orderBy(...candidateOrder)
      .prepare('select_reuse_candidates'),
);

/** A candidate with its certificate's metadata (restrictions, alternatives), null for other materials. */
interface CandidateWithCertificate {
  material: MaterialRow;
  certificate: Record<string, unknown> | null;
}

/** `selectReuseCandidates` with each certificate's metadata: a case's opening needs both (one statement). */
const selectReuseCandidatesWithCertificates = reusableStatement<
  { subjectId: string; typeCodes: string[]; day: string },
  CandidateWithCertificate[]
>((on) =>
  on
    .selectDistinctOn([materials.typeCode, ...policyColumns], {
      material: materials,
      certificate: certificates.metadata,
    })
    .from(materials)
    .leftJoin(certificates, eq(certificates.materialId, materials.id))
    .where(candidatesOfTypes())
    .orderBy(...candidateOrder)
    .prepare('select_reuse_candidates_with_certificates'),
);

/** The preferred readable materials by type, and the metadata of those that are certificates, by material id. */
export interface PreferredMaterials {
  chosen: Map<string, MaterialRow>;
  /** Filled only when asked for (`withCertificates`). */
  certificates: Map<string, Record<string, unknown>>;
}

/**
 * For each type, the preferred material valid on `day` that the caller may read. The database
 * returns the best row of each type and policy-relevant combination (see `policyColumns`); the
 * policy decides which of those the caller may read, and the best readable one per type wins.
 */
export async function preferredReadableMaterials(
  tx: Queryable,
  access: RequestAccess,
  subjectId: string,
  typeCodes: readonly string[],
  day: string,
  /** Per type, the one certificate meant (normalised number): materials of the type with another number are left out. */
  references: ReadonlyMap<string, string> = new Map(),
): Promise<Map<string, MaterialRow>> {
  return (await preferredReadableMaterialsWith(tx, access, subjectId, typeCodes, day, references, false)).chosen;
}

/**
 * `preferredReadableMaterials`, with the metadata of the chosen certificates read by the same
 * statement when `withCertificates` (a case's opening: no statement of their own).
 */
export async function preferredReadableMaterialsWith(
  tx: Queryable,
  access: RequestAccess,
  subjectId: string,
  typeCodes: readonly string[],
  day: string,
  references: ReadonlyMap<string, string>,
  withCertificates: boolean,
): Promise<PreferredMaterials> {
  if (typeCodes.length === 0) return { chosen: new Map(), certificates: new Map() };
  // A handed-in document carries no number (source_ref null) and is not bound.
  const bound = [...references].map(([type, reference]) =>
    or(
      ne(materials.typeCode, type),
      isNull(materials.sourceRef),
      sql`regexp_replace(normalize(${materials.sourceRef}, NFKC), '[[:space:]]', '', 'g') = ${reference}`,
    ),
  );
  const values = { subjectId, typeCodes: [...typeCodes], day };
  const boundConditions = () =>
    and(...candidateConditions(subjectId, inArray(materials.typeCode, [...typeCodes]), day), ...bound);
  const candidates: CandidateWithCertificate[] =
    bound.length === 0
      ? withCertificates
        ? await selectReuseCandidatesWithCertificates(tx, values)
        : (await selectReuseCandidates(tx, values)).map((material) => ({ material, certificate: null }))
      : withCertificates
        ? await tx
            .selectDistinctOn([materials.typeCode, ...policyColumns], {
              material: materials,
              certificate: certificates.metadata,
            })
            .from(materials)
            .leftJoin(certificates, eq(certificates.materialId, materials.id))
            .where(boundConditions())
            .orderBy(...candidateOrder)
        : (
            await tx
              .selectDistinctOn([materials.typeCode, ...policyColumns])
              .from(materials)
              .where(boundConditions())
              .orderBy(...candidateOrder)
          ).map((material) => ({ material, certificate: null }));
  const chosen = new Map<string, MaterialRow>();
  const readable = await visibleMaterials(
    tx,
    access,
    candidates.map((candidate) => candidate.material),
  );
  for (const row of readable.sort(preferred)) if (!chosen.has(row.typeCode)) chosen.set(row.typeCode, row);
  const metadata = new Map<string, Record<string, unknown>>();
  if (withCertificates)
    for (const { material, certificate } of candidates)
      if (certificate && chosen.get(material.typeCode)?.id === material.id) metadata.set(material.id, certificate);
  return { chosen, certificates: metadata };
}

/**
 * The reuse question: for each requested type, the preferred material of the subject that the
 * caller may read and that is valid on `on` (not revoked or superseded, validFrom ≤ on ≤
 * validUntil), and the types with none.
 */
export async function findReusableMaterials(
  context: AccessContext,
  subjectId: string,
  typeCodes: string[],
  on: string,
): Promise<ReuseAnswer> {
  const wanted = [...new Set(typeCodes)];
  const rows = await auditRefusals(context, { action: 'material.reuse_check', subjectId }, () =>
    context.db.transaction(async (tx) => {
      const known = await findMaterialTypes(tx, wanted);
      const unknown = wanted.filter((code) => !known.has(code));
      if (unknown.length > 0) {
        throw new ApiError(
          'unknown_material_type',
          message('material.unknown_types', { typeCodes: unknown.join(', ') }),
          {
            typeCodes: unknown,
          },
        );
      }
      if (!(await subjectExists(tx, subjectId))) throw new ApiError('not_found', message('subject.not_found'));
      const decision = await listingDecision(tx, context, subjectId);
      const chosen = await preferredReadableMaterials(tx, context.access, subjectId, wanted, on);
      await auditAccess(tx, context, {
        decision,
        action: 'material.reuse_check',
        subjectId,
        fields: ['metadata'],
        materialTypes: [...chosen.keys()],
      });
      return { chosen, names: await namesMaskedFor(tx, context, subjectId, [...chosen.values()]) };
    }),
  );
  const today = chinaToday(context.access.now);
  return {
    subjectId,
    on,
    found: wanted.flatMap((code) => {
      const row = rows.chosen.get(code);
      return row ? [{ typeCode: code, material: materialView(row, today, rows.names) }] : [];
    }),
    missing: wanted.filter((code) => !rows.chosen.has(code)),
  };
}

export interface NewMaterialInput {
  typeCode: string;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
  fileName?: string | undefined;
  sourceRef?: string | undefined;
  supersedes?: string | undefined;
}

export interface PlannedMaterial {
  type: MaterialTypeRow;
  validFrom: string;
  validUntil: string | null;
}

/** Where a material comes from, decided by the route from the caller (never by the request body). */
export interface ProvenanceInput {
  kind: Provenance;
  departmentCode: string | null;
  /** The department resource whose sharing terms govern it (see MaterialFacts). */
  sharingResource: string | null;
}

/**
 * A department's upload is issued by it, under the terms of the resource through which it shares
 * certificates of that type (`sharingResourceOf`); anyone else's is handed in.
 */
export function provenanceOf(
  principal: Principal,
  typeCode: string,
  sharingResourceOf: (departmentCode: string, typeCode: string) => string | null,
): ProvenanceInput {
  if (principal.kind === 'department') {
    const departmentCode = principal.departmentCode;
    return {
      kind: 'issued',
      departmentCode,
      sharingResource: departmentCode === null ? null : sharingResourceOf(departmentCode, typeCode),
    };
  }
  return { kind: 'handed_in', departmentCode: null, sharingResource: null };
}

/**
 * Checks everything about a new material that does not need its bytes, before any byte is read:
 * subject, type, who may hold it, validity dates and the material it supersedes.
 */
export async function planMaterial(
  context: AccessContext,
  subjectId: string,
  input: NewMaterialInput,
  provenance: ProvenanceInput,
): Promise<PlannedMaterial> {
  const db = context.db;
  return auditRefusals(
    context,
    { action: input.supersedes ? 'material.supersede' : 'material.create', subjectId, materialTypes: [input.typeCode] },
    async () => {
      const subject = await subjectExists(db, subjectId);
      if (!subject) throw new ApiError('not_found', message('subject.not_found'));
      await context.access.require(db, 'material.create', { kind: 'subject', subjectId }, message('subject.not_found'));
      return planChecked(context, subjectId, subject.kind, input, provenance);
    },
  );
}

async function planChecked(
  context: AccessContext,
  subjectId: string,
  subjectKind: 'person' | 'organisation',
  input: NewMaterialInput,
  provenance: ProvenanceInput,
): Promise<PlannedMaterial> {
  const db = context.db;
  const subject = { kind: subjectKind };
  const type = await requireMaterialType(db, input.typeCode);
  // Provenance is authority (a department's copy is reused before one handed in), so a department
  // issues only the types the catalogue names it for, or that it shares through a resource of its own.
  if (
    provenance.kind === 'issued' &&
    type.issuingDepartment !== null &&
    type.issuingDepartment !== provenance.departmentCode &&
    provenance.sharingResource === null
  ) {
    const department = provenance.departmentCode ?? '';
    throw new ApiError(
      'not_issuer',
      message('material.not_issuer', { department, typeCode: type.code, issuer: type.issuingDepartment }),
      { department, typeCode: type.code },
    );
  }
  if (type.subjectKind && type.subjectKind !== subject.kind) {
    throw new ApiError(
      'unprocessable',
      message('material.type_for_other_subject', { typeCode: type.code, subjectKind: type.subjectKind ?? 'person' }),
    );
  }
  const validFrom = input.validFrom ?? chinaToday(context.access.now);
  const validUntil =
    input.validUntil ?? (type.defaultValidityDays === null ? null : addDays(validFrom, type.defaultValidityDays - 1));
  if (validUntil !== null && validUntil < validFrom) {
    throw new ApiError('validation_failed', message('material.valid_until_before_from'), {
      errors: [fieldProblem('validUntil', 'before validFrom', '有效期截止日早于起始日')],
    });
  }
  if (input.supersedes) await requireSupersedable(db, context, subjectId, input.supersedes, type.code);
  return { type, validFrom, validUntil };
}

/** The material a new version replaces: the caller must be its provider (provenance is authority). */
async function requireSupersedable(
  tx: Queryable,
  context: AccessContext,
  subjectId: string,
  materialId: string,
  typeCode: string,
  forUpdate = false,
): Promise<MaterialRow> {
  const { row: old } = await requireMaterialAccess(tx, context, subjectId, materialId, 'material.supersede', {
    forUpdate,
    notFoundDetail: message('material.to_supersede_not_found'),
  });
  if (old.typeCode !== typeCode)
    throw new ApiError('unprocessable', message('material.cannot_supersede', { typeCode, oldTypeCode: old.typeCode }));
  if (old.status !== 'valid')
    throw new ApiError('material_not_current', message('material.to_supersede_not_current', { status: old.status }));
  return old;
}

export interface StoredContent {
  sha256: string;
  sm3?: string | undefined;
  size: number;
  mediaType: string;
}

/**
 * Records a material whose content is already in the blob store, superseding the old version in
 * the same transaction. `lockContent` serialises with the cleanup of unreferenced content.
 */
export async function insertMaterial(
  context: AccessContext,
  subjectId: string,
  input: NewMaterialInput,
  plan: PlannedMaterial,
  content: StoredContent,
  provenance: ProvenanceInput,
): Promise<MaterialView> {
  const action = input.supersedes ? 'material.supersede' : 'material.create';
  const row = await auditRefusals(context, { action, subjectId, materialTypes: [plan.type.code] }, () =>
    context.db.transaction(async (tx) => {
      await lockContent(tx, content.sha256);
      const id = newMaterialId();
      const decision = await context.access.require(
        tx,
        'material.create',
        { kind: 'subject', subjectId },
        message('subject.not_found'),
      );
      if (input.supersedes) await requireSupersedable(tx, context, subjectId, input.supersedes, plan.type.code, true);
      const [inserted] = await tx
        .insert(materials)
        .values({
          id,
          subjectId,
          typeCode: plan.type.code,
          contentSha256: content.sha256,
          contentSm3: content.sm3 ?? null,
          contentSize: content.size,
          mediaType: content.mediaType,
          fileName: input.fileName ?? null,
          provenance: provenance.kind,
          providedByClientId: context.principal.clientId,
          // Kept as the audit entry keeps them: a window's reference may be the applicant's ID number.
          operatorId: maskIdentifiersInNote(context.purpose.operatorId),
          departmentCode: provenance.departmentCode,
          sharingResource: provenance.sharingResource,
          sourceRef: input.sourceRef ?? null,
          caseRef: maskIdentifiersInNote(context.purpose.caseRef),
          validFrom: plan.validFrom,
          validUntil: plan.validUntil,
          supersedesId: input.supersedes ?? null,
        })
        .returning();
      if (!inserted) throw new Error('insert returned no row');
      if (input.supersedes) {
        await tx
          .update(materials)
          .set({ status: 'superseded', supersededById: id })
          .where(eq(materials.id, input.supersedes));
      }
      await auditAccess(tx, context, {
        decision,
        action,
        subjectId,
        fields: ['content', 'metadata', ...(input.supersedes ? [`supersedes:${input.supersedes}`] : [])],
        materialTypes: [plan.type.code],
      });
      return inserted;
    }),
  );
  return materialView(row, chinaToday(context.access.now));
}

/** Transaction-scoped lock on one digest: material inserts and content cleanup take turns. */
export async function lockContent(tx: Queryable, sha256: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`content:${sha256}`}, 0))`);
}

/** Whether any material still references this content (inside the `lockContent` lock). */
export async function isContentReferenced(tx: Queryable, sha256: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: materials.id })
    .from(materials)
    .where(eq(materials.contentSha256, sha256))
    .limit(1);
  return row !== undefined;
}

/**
 * Revokes a material. Only its provider may: the client that uploaded it, or the department that
 * issued it or that it was fetched from.
 */
export async function revokeMaterial(
  context: AccessContext,
  subjectId: string,
  materialId: string,
  reason: string,
): Promise<MaterialView> {
  const { principal } = context;
  const row = await auditRefusals(context, { action: 'material.revoke', subjectId }, () =>
    context.db.transaction(async (tx) => {
      const { row: found, decision } = await requireMaterialAccess(
        tx,
        context,
        subjectId,
        materialId,
        'material.revoke',
        { forUpdate: true },
      );
      if (found.status !== 'valid')
        throw new ApiError('material_not_current', message('material.not_current', { status: found.status }));
      const [updated] = await tx
        .update(materials)
        .set({ status: 'revoked', revokedAt: new Date(), revokedReason: reason, revokedByClientId: principal.clientId })
        .where(eq(materials.id, materialId))
        .returning();
      if (!updated) throw new Error('update returned no row');
      await auditAccess(tx, context, {
        decision,
        action: 'material.revoke',
        subjectId,
        fields: ['metadata'],
        materialTypes: [found.typeCode],
      });
      return { updated, names: await namesMaskedFor(tx, context, subjectId, [updated]) };
    }),
  );
  return materialView(row.updated, chinaToday(context.access.now), row.names);
}
