/**
 * Revocations: a department pushes one (its own certificates only), or a fetch finds the
 * department reporting one (`store.ts`). The materials holding the certificate become revoked and
 * are never served as valid again; window systems and anything else holding a reference can
 * poll the revocation feed, and the verify endpoint answers `revoked` for its envelopes.
 */
import { maskIfResidentIdNumber } from '../identity/identifiers.js';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import { auditAccess } from '../access/audit.js';
import { type AccessContext, type AllowedDecision, refusal } from '../access/context.js';
import { materialFacts } from '../materials/materials.js';
import type { Database } from '../db/client.js';
import { certificateRevocations, certificates, materials, subjects } from '../db/schema.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { requireMaterialType } from '../materials/catalogue.js';
import { ApiError, message } from '../platform/errors.js';
import { openSubjectName } from '../identity/subjects.js';
import { maskNamesInText, maskPersonalText } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
import { normaliseCertificateNumber } from './numbers.js';
import { type RevocationRow, revocationNumberPlace, revokeCertificate } from './store.js';

export interface RevocationView {
  id: string;
  department: string;
  certificateType: string;
  certificateNumber: string;
  reason: string;
  reportedBy: string;
  materialsRevoked: number;
  revokedAt: string;
}

/** The revocation as shown; its number opened when it was sealed (data protection on). */
export async function revocationView(protection: DataProtection, row: RevocationRow): Promise<RevocationView> {
  return {
    id: row.id,
    department: row.departmentCode,
    certificateType: row.certificateType,
    certificateNumber:
      row.certificateNumberSealed === null
        ? row.certificateNumber
        : await protection.openText(revocationNumberPlace(row.id), row.certificateNumberSealed),
    // The department's words: an ID number or mobile quoted in them masked, as in every reason shown.
    reason: maskPersonalText(row.reason),
    reportedBy: row.reportedBy,
    materialsRevoked: row.materialsRevoked,
    revokedAt: row.revokedAt.toISOString(),
  };
}

export interface PushedRevocation {
  certificateType: string;
  certificateNumber: string;
  reason: string;
}

/**
 * A department client revokes one of its own certificates: every stored copy (the access policy
 * checks the department may revoke each), audited once for the revocation and once for each
 * subject whose copy it revoked, so the holder's access log shows it.
 */
export async function pushRevocation(
  context: AccessContext & { departments: DepartmentRegistry },
  input: PushedRevocation,
): Promise<RevocationView> {
  const { principal } = context;
  const department = principal.departmentCode;
  if (principal.kind !== 'department' || department === null)
    throw new ApiError('forbidden', message('certificate.revoke_departments_only'));
  const type = await requireMaterialType(context.db, input.certificateType);
  const issues =
    type.issuingDepartment === department ||
    (context.departments.get(department)?.adapter.certificateTypes ?? []).includes(type.code);
  if (!issues)
    throw new ApiError('forbidden', message('certificate.revoke_not_issuer', { department, type: type.code }));
  return context.db.transaction(async (tx) => {
    const facts = await context.access.grantFacts(tx);
    const decisions = new Map<string, AllowedDecision>();
    const { revocation, revoked } = await revokeCertificate(
      tx,
      context.access.protection,
      { department, ...input, reportedBy: principal.clientId },
      new Date(),
      (material) => {
        const decision = context.access.decideWith(facts, 'material.revoke', {
          kind: 'material',
          material: materialFacts(material),
        });
        if (!decision.allowed) throw refusal(decision, { kind: 'material', material: materialFacts(material) });
        decisions.set(material.id, decision);
      },
    );
    // The audit log is read by auditors and citizens' trackers: an ID number appears in it masked.
    const certificateField = `certificate:${type.code}:${maskIfResidentIdNumber(input.certificateNumber)}`;
    await recordAudit(tx, {
      actor: principal,
      action: 'certificate.revoke',
      fields: [certificateField, ...revoked.map((material) => `material:${material.id}`)],
      materialTypes: [type.code],
      outcome: 'allowed',
      requestId: context.requestId,
    });
    for (const material of revoked) {
      const decision = decisions.get(material.id);
      if (decision)
        await auditAccess(tx, context, {
          decision,
          action: 'material.revoke',
          subjectId: material.subjectId,
          fields: ['status', certificateField],
          materialTypes: [type.code],
        });
    }
    return revocationView(context.access.protection, revocation);
  });
}

/**
 * Revocations after `since` (oldest first), for consumers that poll. A number that is an ID number
 * (revoked ID cards, household registers) is always masked: the feed is the province's, read
 * without a purpose or a subject, so it is no door to anyone's ID number. Whose certificate was
 * revoked shows where the policy decides it: the subject's materials (status `revoked`).
 */
export async function listRevocations(
  db: Database,
  protection: DataProtection,
  filters: { since?: Date; department?: string; limit: number },
): Promise<RevocationView[]> {
  const rows = await db
    .select()
    .from(certificateRevocations)
    .where(
      and(
        filters.since ? gt(certificateRevocations.revokedAt, filters.since) : undefined,
        filters.department ? eq(certificateRevocations.departmentCode, filters.department) : undefined,
      ),
    )
    .orderBy(asc(certificateRevocations.revokedAt), asc(certificateRevocations.id))
    .limit(filters.limit);
  const views = await Promise.all(rows.map((row) => revocationView(protection, row)));
  const holders = await holderNamesOf(db, protection, views);
  return views.map((view) => ({
    ...view,
    certificateNumber: maskIfResidentIdNumber(view.certificateNumber),
    // The department's words may name the holder (「张三名下房产登记错误」): next to the number in
    // clear they would tell every window who holds it (review 19).
    reason: maskNamesInText(view.reason, holders.get(view.id) ?? []),
  }));
}

/**
 * The names of the persons holding a copy of each revoked certificate (fetched copies and the
 * department's own issued documents, as `revokeCertificate` finds them), by revocation id.
 */
async function holderNamesOf(
  db: Database,
  protection: DataProtection,
  views: readonly RevocationView[],
): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  if (views.length === 0) return byId;
  const formsOf = (view: RevocationView) => [
    ...new Set([normaliseCertificateNumber(view.certificateNumber), view.certificateNumber]),
  ];
  const lookupsOf = (view: RevocationView) =>
    new Set(formsOf(view).flatMap((form) => protection.certificateNumberLookups(view.certificateType, form)));
  const wanted = views.map((view) => ({ view, lookups: lookupsOf(view), forms: new Set(formsOf(view)) }));
  const [copies, issued] = await Promise.all([
    db
      .select({
        department: certificates.departmentCode,
        type: certificates.certificateType,
        number: certificates.certificateNumber,
        subjectId: subjects.id,
        kind: subjects.kind,
        name: subjects.name,
      })
      .from(certificates)
      .innerJoin(materials, eq(materials.id, certificates.materialId))
      .innerJoin(subjects, eq(subjects.id, materials.subjectId))
      .where(inArray(certificates.certificateNumber, [...new Set(wanted.flatMap(({ lookups }) => [...lookups]))])),
    db
      .select({
        department: materials.departmentCode,
        type: materials.typeCode,
        number: materials.sourceRef,
        subjectId: subjects.id,
        kind: subjects.kind,
        name: subjects.name,
      })
      .from(materials)
      .innerJoin(subjects, eq(subjects.id, materials.subjectId))
      .where(
        and(
          eq(materials.provenance, 'issued'),
          inArray(materials.sourceRef, [...new Set(wanted.flatMap(({ forms }) => [...forms]))]),
        ),
      ),
  ]);
  for (const { view, lookups, forms } of wanted) {
    const names: string[] = [];
    const held = [
      ...copies.filter((copy) => lookups.has(copy.number)),
      ...issued.filter((copy) => copy.number !== null && forms.has(copy.number)),
    ].filter((copy) => copy.department === view.department && copy.type === view.certificateType);
    for (const holder of held)
      if (holder.kind === 'person') names.push(await openSubjectName(protection, holder.subjectId, holder.name));
    byId.set(view.id, names);
  }
  return byId;
}
