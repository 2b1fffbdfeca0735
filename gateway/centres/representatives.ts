/**
 * Chief representatives (首席代表): per service centre and department, the person who represents
 * the department at the centre and answers for its parts of the centre's cases. Supervision
 * deadline warnings about those parts go to them by SMS (notifications/supervision-warnings.ts).
 *
 * The name and the mobile number are personal data: stored whole (the SMS needs the number), shown
 * masked in every answer, and every change is audited with the centre and department only.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Database, Queryable } from '../db/client.js';
import { centreRepresentatives } from '../db/schema.js';
import { maskName } from '../identity/identifiers.js';
import { isMobileNumber, maskMobile } from '../notifications/mobile.js';
import { ApiError, message } from '../platform/errors.js';
import type { ReferenceData } from '../access/reference-data.js';
import { type Actor, requireCentre } from './centres.js';

export interface RepresentativeInput {
  name: string;
  mobile: string;
}

/** A representative as answers show them: name and number masked. */
export interface RepresentativeView {
  centreCode: string;
  department: string;
  name: string;
  mobile: string;
  updatedAt: string;
}

/** The representative masked, as the timeline and the supervision answer name them. */
export interface MaskedRepresentative {
  name: string;
  mobile: string;
}

export function maskRepresentative(representative: { name: string; mobile: string }): MaskedRepresentative {
  return { name: maskName(representative.name), mobile: maskMobile(representative.mobile) };
}

function viewOf(row: typeof centreRepresentatives.$inferSelect): RepresentativeView {
  return {
    centreCode: row.centreCode,
    department: row.departmentCode,
    ...maskRepresentative(row),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Names (or replaces) the department's chief representative at the centre. Refused when the centre
 * does not exist, the department is not one this gateway delivers to, or the number is not a
 * mainland mobile number (an SMS could not reach it).
 */
export async function setRepresentative(
  db: Database,
  reference: ReferenceData,
  isConfiguredDepartment: (code: string) => boolean,
  actor: Actor,
  centreCode: string,
  departmentCode: string,
  input: RepresentativeInput,
): Promise<{ representative: RepresentativeView; created: boolean }> {
  requireCentre(await reference.centreDirectoryWith(db, [centreCode]), centreCode);
  if (!isConfiguredDepartment(departmentCode)) {
    throw new ApiError(
      'representative_department_unknown',
      message('centre.representative_department_unknown', { department: departmentCode }),
      { department: departmentCode },
    );
  }
  if (!isMobileNumber(input.mobile)) {
    throw new ApiError('representative_mobile_invalid', message('centre.representative_mobile_invalid'), {
      field: 'mobile',
    });
  }
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ centreCode: centreRepresentatives.centreCode })
      .from(centreRepresentatives)
      .where(
        and(eq(centreRepresentatives.centreCode, centreCode), eq(centreRepresentatives.departmentCode, departmentCode)),
      );
    const [row] = await tx
      .insert(centreRepresentatives)
      .values({ centreCode, departmentCode, name: input.name, mobile: input.mobile })
      .onConflictDoUpdate({
        target: [centreRepresentatives.centreCode, centreRepresentatives.departmentCode],
        set: { name: input.name, mobile: input.mobile, updatedAt: sql`now()` },
      })
      .returning();
    // The audit names what changed, never the name or the number.
    await recordAudit(tx, {
      actor: actor.principal,
      action: existing ? 'representative.change' : 'representative.appoint',
      fields: [`centre:${centreCode}`, `department:${departmentCode}`, 'representative.name', 'representative.mobile'],
      outcome: 'allowed',
      requestId: actor.requestId,
    });
    if (!row) throw new Error('representative not written');
    return { representative: viewOf(row), created: !existing };
  });
}

/** The centre's chief representatives, by department, masked. */
export async function listRepresentatives(
  db: Queryable,
  reference: ReferenceData,
  centreCode: string,
): Promise<RepresentativeView[]> {
  requireCentre(await reference.centreDirectoryWith(db, [centreCode]), centreCode);
  const rows = await db
    .select()
    .from(centreRepresentatives)
    .where(eq(centreRepresentatives.centreCode, centreCode))
    .orderBy(asc(centreRepresentatives.departmentCode));
  return rows.map(viewOf);
}
