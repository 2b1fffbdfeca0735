/**
 * Materials: a subject's documents with their type, content (by digest, stored once), provenance,
 * validity and status. Service functions take an `AccessContext` (caller, purpose, request id),
 * check what the caller may see, run in one transaction and audit every disclosure in it.
 *
 * Visibility: a window client sees every material of a subject for the purpose it states; a
 * department client sees what its department issued or provided, what it uploaded, and the types
 * it has been granted. Anything else — another subject's material, an id or digest guessed — is
 * answered exactly like a material that does not exist.
 */
import { randomBytes } from 'node:crypto';
import { type SQL, and, asc, desc, eq, inArray, isNull, lte, or, gte, sql } from 'drizzle-orm';
import type { Principal } from '../auth/principal.js';
import type { Queryable } from '../db/client.js';
import { materialTypeGrants, materials, subjects } from '../db/schema.js';
import { type AccessContext, auditAccess, auditRefusal } from '../identity/subjects.js';
import { ApiError } from '../platform/errors.js';
import { type MaterialTypeRow, findMaterialTypes, requireMaterialType } from './catalogue.js';
import { addDays, chinaToday } from './dates.js';

export type MaterialRow = typeof materials.$inferSelect;
export type MaterialStatus = 'valid' | 'expired' | 'revoked' | 'superseded';
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

export function materialView(row: MaterialRow, today: string = chinaToday()): MaterialView {
  return {
    id: row.id,
    subjectId: row.subjectId,
    typeCode: row.typeCode,
    status: statusOn(row, today),
    validFrom: row.validFrom,
    validUntil: row.validUntil,
    content: { sha256: row.contentSha256, sm3: row.contentSm3, size: row.contentSize, mediaType: row.mediaType, fileName: row.fileName },
    provenance: {
      kind: row.provenance,
      providedBy: row.providedByClientId,
      operatorId: row.operatorId,
      departmentCode: row.departmentCode,
      sourceRef: row.sourceRef,
      caseRef: row.caseRef,
    },
    supersedes: row.supersedesId,
    supersededBy: row.supersededById,
    revocation:
      row.revokedAt && row.revokedReason && row.revokedByClientId
        ? { at: row.revokedAt.toISOString(), reason: row.revokedReason, by: row.revokedByClientId }
        : null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The same answer for "no such material", "another subject's material" and "not yours to see". */
export function materialNotFound(): ApiError {
  return new ApiError('not_found', 'No such material for this subject.');
}

/**
 * The SQL condition restricting materials to what `principal` may see, or undefined for callers
 * that see all of a subject's materials (window systems, with a stated purpose).
 */
export function visibilityCondition(principal: Principal): SQL | undefined {
  if (principal.kind === 'window') return undefined;
  if (principal.kind !== 'department') return sql`false`;
  const granted = sql`exists (select 1 from ${materialTypeGrants} where ${materialTypeGrants.typeCode} = ${materials.typeCode} and ${materialTypeGrants.clientId} = ${principal.clientId})`;
  const own = eq(materials.providedByClientId, principal.clientId);
  return principal.departmentCode ? or(own, eq(materials.departmentCode, principal.departmentCode), granted) : or(own, granted);
}

async function subjectExists(tx: Queryable, subjectId: string): Promise<{ kind: 'person' | 'organisation' } | null> {
  const [row] = await tx.select({ kind: subjects.kind }).from(subjects).where(eq(subjects.id, subjectId));
  return row ?? null;
}

async function auditMaterialAccess(tx: Queryable, context: AccessContext, action: string, subjectId: string, types: string[], fields: string[]): Promise<void> {
  await auditAccess(tx, context, { action, subjectId, fields, materialTypes: types });
}

/** One visible material of the subject, or null. Locks the row when `forUpdate`. */
async function findVisibleMaterial(
  tx: Queryable,
  principal: Principal,
  subjectId: string,
  materialId: string,
  forUpdate = false,
): Promise<MaterialRow | null> {
  const query = tx
    .select()
    .from(materials)
    .where(and(eq(materials.id, materialId), eq(materials.subjectId, subjectId), visibilityCondition(principal)));
  const [row] = forUpdate ? await query.for('update') : await query;
  return row ?? null;
}

export async function readMaterial(context: AccessContext, subjectId: string, materialId: string, action = 'material.read'): Promise<MaterialRow> {
  const row = await context.db.transaction(async (tx) => {
    const found = await findVisibleMaterial(tx, context.principal, subjectId, materialId);
    if (!found) return null;
    await auditMaterialAccess(tx, context, action, subjectId, [found.typeCode], action === 'material.download' ? ['content'] : ['metadata']);
    return found;
  });
  if (!row) {
    await auditRefusal(context, action, subjectId, 'not_found');
    throw materialNotFound();
  }
  return row;
}

export interface ListOptions {
  types?: string[] | undefined;
  /** Only materials usable today (status valid, not expired). */
  currentOnly?: boolean | undefined;
}

export async function listMaterials(context: AccessContext, subjectId: string, options: ListOptions): Promise<MaterialView[]> {
  const today = chinaToday();
  const rows = await context.db.transaction(async (tx) => {
    if (!(await subjectExists(tx, subjectId))) return null;
    const found = await tx
      .select()
      .from(materials)
      .where(
        and(
          eq(materials.subjectId, subjectId),
          options.types?.length ? inArray(materials.typeCode, options.types) : undefined,
          options.currentOnly ? and(eq(materials.status, 'valid'), or(isNull(materials.validUntil), gte(materials.validUntil, today))) : undefined,
          visibilityCondition(context.principal),
        ),
      )
      .orderBy(asc(materials.typeCode), desc(materials.validFrom), desc(materials.createdAt))
      .limit(1000);
    await auditMaterialAccess(tx, context, 'material.list', subjectId, found.map((row) => row.typeCode), ['metadata']);
    return found;
  });
  if (!rows) {
    await auditRefusal(context, 'material.list', subjectId, 'not_found');
    throw new ApiError('not_found', 'No such subject.');
  }
  return rows.map((row) => materialView(row, today));
}

export interface ReuseAnswer {
  subjectId: string;
  on: string;
  found: { typeCode: string; material: MaterialView }[];
  missing: string[];
}

/**
 * The reuse question in one query: for each requested type, the newest material of the subject
 * that is valid on `on` (not revoked or superseded, validFrom ≤ on ≤ validUntil), and the types
 * with none.
 */
export async function findReusableMaterials(context: AccessContext, subjectId: string, typeCodes: string[], on: string): Promise<ReuseAnswer> {
  const wanted = [...new Set(typeCodes)];
  const answer = await context.db.transaction(async (tx) => {
    const known = await findMaterialTypes(tx, wanted);
    const unknown = wanted.filter((code) => !known.has(code));
    if (unknown.length > 0) {
      throw new ApiError('unknown_material_type', `Unknown material types: ${unknown.join(', ')}.`, { typeCodes: unknown });
    }
    if (!(await subjectExists(tx, subjectId))) return null;
    // DISTINCT ON picks one row per type: the first in the ORDER BY, i.e. the newest valid one.
    const rows = await tx
      .selectDistinctOn([materials.typeCode])
      .from(materials)
      .where(
        and(
          eq(materials.subjectId, subjectId),
          inArray(materials.typeCode, wanted),
          eq(materials.status, 'valid'),
          lte(materials.validFrom, on),
          or(isNull(materials.validUntil), gte(materials.validUntil, on)),
          visibilityCondition(context.principal),
        ),
      )
      .orderBy(asc(materials.typeCode), desc(materials.validFrom), desc(materials.createdAt));
    await auditMaterialAccess(tx, context, 'material.reuse_check', subjectId, rows.map((row) => row.typeCode), ['metadata']);
    return rows;
  });
  if (!answer) {
    await auditRefusal(context, 'material.reuse_check', subjectId, 'not_found');
    throw new ApiError('not_found', 'No such subject.');
  }
  const byType = new Map(answer.map((row) => [row.typeCode, row]));
  const today = chinaToday();
  return {
    subjectId,
    on,
    found: wanted.flatMap((code) => {
      const row = byType.get(code);
      return row ? [{ typeCode: code, material: materialView(row, today) }] : [];
    }),
    missing: wanted.filter((code) => !byType.has(code)),
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
}

export function provenanceOf(principal: Principal): ProvenanceInput {
  if (principal.kind === 'department') return { kind: 'issued', departmentCode: principal.departmentCode };
  return { kind: 'handed_in', departmentCode: null };
}

/**
 * Checks everything about a new material that does not need its bytes, before any byte is read:
 * subject, type, who may hold it, validity dates and the material it supersedes.
 */
export async function planMaterial(context: AccessContext, subjectId: string, input: NewMaterialInput): Promise<PlannedMaterial> {
  const db = context.db;
  const subject = await subjectExists(db, subjectId);
  if (!subject) throw new ApiError('not_found', 'No such subject.');
  const type = await requireMaterialType(db, input.typeCode);
  if (type.subjectKind && type.subjectKind !== subject.kind) {
    throw new ApiError('unprocessable', `A ${type.code} belongs to ${type.subjectKind === 'person' ? 'a person' : 'an organisation'}, and this subject is not one.`);
  }
  const validFrom = input.validFrom ?? chinaToday();
  const validUntil = input.validUntil ?? (type.defaultValidityDays === null ? null : addDays(validFrom, type.defaultValidityDays - 1));
  if (validUntil !== null && validUntil < validFrom) {
    throw new ApiError('validation_failed', 'validUntil is before validFrom.', { errors: [{ path: 'validUntil', message: 'before validFrom' }] });
  }
  if (input.supersedes) await requireSupersedable(db, context.principal, subjectId, input.supersedes, type.code);
  return { type, validFrom, validUntil };
}

async function requireSupersedable(tx: Queryable, principal: Principal, subjectId: string, materialId: string, typeCode: string, forUpdate = false): Promise<MaterialRow> {
  const old = await findVisibleMaterial(tx, principal, subjectId, materialId, forUpdate);
  if (!old) throw new ApiError('not_found', 'The material to supersede does not exist for this subject.');
  if (old.typeCode !== typeCode) throw new ApiError('unprocessable', `A ${typeCode} cannot supersede a ${old.typeCode}.`);
  if (old.status !== 'valid') throw new ApiError('material_not_current', `The material to supersede is already ${old.status}.`);
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
  const row = await context.db.transaction(async (tx) => {
    await lockContent(tx, content.sha256);
    const id = newMaterialId();
    if (input.supersedes) await requireSupersedable(tx, context.principal, subjectId, input.supersedes, plan.type.code, true);
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
        operatorId: context.purpose.operatorId,
        departmentCode: provenance.departmentCode,
        sourceRef: input.sourceRef ?? null,
        caseRef: context.purpose.caseRef,
        validFrom: plan.validFrom,
        validUntil: plan.validUntil,
        supersedesId: input.supersedes ?? null,
      })
      .returning();
    if (!inserted) throw new Error('insert returned no row');
    if (input.supersedes) {
      await tx.update(materials).set({ status: 'superseded', supersededById: id }).where(eq(materials.id, input.supersedes));
    }
    await auditMaterialAccess(tx, context, input.supersedes ? 'material.supersede' : 'material.create', subjectId, [plan.type.code], ['content', 'metadata']);
    return inserted;
  });
  return materialView(row);
}

/** Transaction-scoped lock on one digest: material inserts and content cleanup take turns. */
export async function lockContent(tx: Queryable, sha256: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`content:${sha256}`}, 0))`);
}

/** Whether any material still references this content (inside the `lockContent` lock). */
export async function isContentReferenced(tx: Queryable, sha256: string): Promise<boolean> {
  const [row] = await tx.select({ id: materials.id }).from(materials).where(eq(materials.contentSha256, sha256)).limit(1);
  return row !== undefined;
}

/**
 * Revokes a material. Only its provider may: the client that uploaded it, or the department that
 * issued it or that it was fetched from.
 */
export async function revokeMaterial(context: AccessContext, subjectId: string, materialId: string, reason: string): Promise<MaterialView> {
  const { principal } = context;
  const row = await context.db.transaction(async (tx) => {
    const found = await findVisibleMaterial(tx, principal, subjectId, materialId, true);
    if (!found) return null;
    const isProvider =
      found.providedByClientId === principal.clientId ||
      (principal.kind === 'department' && principal.departmentCode !== null && found.departmentCode === principal.departmentCode);
    if (!isProvider) throw new ApiError('forbidden', 'Only the provider of a material (the uploading client or the issuing department) may revoke it.');
    if (found.status !== 'valid') throw new ApiError('material_not_current', `The material is already ${found.status}.`);
    const [updated] = await tx
      .update(materials)
      .set({ status: 'revoked', revokedAt: new Date(), revokedReason: reason, revokedByClientId: principal.clientId })
      .where(eq(materials.id, materialId))
      .returning();
    if (!updated) throw new Error('update returned no row');
    await auditMaterialAccess(tx, context, 'material.revoke', subjectId, [found.typeCode], ['metadata']);
    return updated;
  });
  if (!row) {
    await auditRefusal(context, 'material.revoke', subjectId, 'not_found');
    throw materialNotFound();
  }
  return materialView(row);
}
