/**
 * Revocations: a department pushes one (its own certificates only), or a fetch finds the
 * department reporting one (`store.ts`). The materials holding the certificate become revoked and
 * are never served as valid again; window systems and anything else holding a reference can
 * poll the revocation feed, and the verify endpoint answers `revoked` for its envelopes.
 */
import { maskIfResidentIdNumber } from '../identity/identifiers.js';
import { and, asc, eq, gt } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import { auditAccess } from '../access/audit.js';
import { type AccessContext, type AllowedDecision, refusal } from '../access/context.js';
import { materialFacts } from '../materials/materials.js';
import type { Database } from '../db/client.js';
import { certificateRevocations } from '../db/schema.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { requireMaterialType } from '../materials/catalogue.js';
import { ApiError, message } from '../platform/errors.js';
import { maskPersonalText } from '../platform/identifier-masking.js';
import type { DataProtection } from '../protection/data-protection.js';
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
  return Promise.all(
    rows.map(async (row) => {
      const view = await revocationView(protection, row);
      return { ...view, certificateNumber: maskIfResidentIdNumber(view.certificateNumber) };
    }),
  );
}
