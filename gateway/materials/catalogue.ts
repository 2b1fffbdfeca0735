/**
 * The catalogue of material types: what a document is, whose it is, which formats it may come in
 * and how long it stays valid. A seed set of common service-centre materials is applied at every
 * start (new codes are added, existing rows are left as administrators changed them); the
 * catalogue admin API adds and edits types.
 */
import { and, eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Database, Queryable } from '../db/client.js';
import { clients, materialTypeGrants, materialTypes } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import type { DocumentMediaType } from './media-type.js';

export type MaterialTypeRow = typeof materialTypes.$inferSelect;

export interface MaterialTypeDefinition {
  code: string;
  name: string;
  nameZh: string;
  subjectKind: 'person' | 'organisation' | null;
  allowedMediaTypes: DocumentMediaType[];
  defaultValidityDays: number | null;
  issuingDepartment: string | null;
  /** Certificates fetched from the issuing department: reused without asking again for this long (null: ask every time). */
  freshForSeconds?: number | null;
  /** …and served, marked stale, up to this age when the department cannot answer (null: never). */
  staleGraceSeconds?: number | null;
}

const DAY = 86_400;

const scans: DocumentMediaType[] = ['application/pdf', 'application/ofd', 'image/jpeg', 'image/png'];
const documents: DocumentMediaType[] = ['application/pdf', 'application/ofd'];

/**
 * Department codes used here: PSB public security (household register, ID cards), MCA civil
 * affairs (the marriage registry: marriage and divorce certificates), AMR market regulation
 * (business licences), NRB natural resources (real estate), HRSS human resources and social
 * security, TAX taxation, HEALTH health commission.
 */
export const seedMaterialTypes: readonly MaterialTypeDefinition[] = [
  {
    code: 'resident_id_card',
    name: 'Resident identity card',
    nameZh: '居民身份证',
    subjectKind: 'person',
    allowedMediaTypes: scans,
    defaultValidityDays: 3650,
    issuingDepartment: 'PSB',
    freshForSeconds: 7 * DAY,
    staleGraceSeconds: 90 * DAY,
  },
  {
    code: 'household_register',
    name: 'Household register (hukou booklet)',
    nameZh: '居民户口簿',
    subjectKind: 'person',
    allowedMediaTypes: scans,
    defaultValidityDays: null,
    issuingDepartment: 'PSB',
    freshForSeconds: 30 * DAY,
    staleGraceSeconds: 90 * DAY,
  },
  {
    code: 'marriage_certificate',
    name: 'Marriage certificate',
    nameZh: '结婚证',
    subjectKind: 'person',
    allowedMediaTypes: scans,
    defaultValidityDays: null,
    issuingDepartment: 'MCA',
  },
  {
    code: 'divorce_certificate',
    name: 'Divorce certificate',
    nameZh: '离婚证',
    subjectKind: 'person',
    allowedMediaTypes: scans,
    defaultValidityDays: null,
    issuingDepartment: 'MCA',
  },
  {
    code: 'birth_medical_certificate',
    name: 'Medical certificate of birth',
    nameZh: '出生医学证明',
    subjectKind: 'person',
    allowedMediaTypes: scans,
    defaultValidityDays: null,
    issuingDepartment: 'HEALTH',
  },
  {
    code: 'no_criminal_record',
    name: 'Certificate of no criminal record',
    nameZh: '无犯罪记录证明',
    subjectKind: 'person',
    allowedMediaTypes: documents,
    defaultValidityDays: 90,
    issuingDepartment: 'PSB',
  },
  {
    code: 'social_insurance_record',
    name: 'Social insurance contribution record',
    nameZh: '社会保险参保缴费记录',
    subjectKind: null,
    allowedMediaTypes: documents,
    defaultValidityDays: 30,
    issuingDepartment: 'HRSS',
  },
  {
    code: 'business_licence',
    name: 'Business licence',
    nameZh: '营业执照',
    subjectKind: 'organisation',
    allowedMediaTypes: scans,
    defaultValidityDays: null,
    issuingDepartment: 'AMR',
    freshForSeconds: DAY,
    staleGraceSeconds: 30 * DAY,
  },
  // Drafted and handed in by the founders before the company exists, so not tied to organisations.
  {
    code: 'articles_of_association',
    name: 'Articles of association',
    nameZh: '公司章程',
    subjectKind: null,
    allowedMediaTypes: documents,
    defaultValidityDays: null,
    issuingDepartment: null,
  },
  {
    code: 'tax_clearance_certificate',
    name: 'Tax payment certificate',
    nameZh: '完税证明',
    subjectKind: null,
    allowedMediaTypes: documents,
    defaultValidityDays: 90,
    issuingDepartment: 'TAX',
  },
  {
    code: 'real_estate_certificate',
    name: 'Real-estate title certificate',
    nameZh: '不动产权证书',
    subjectKind: null,
    allowedMediaTypes: scans,
    defaultValidityDays: null,
    issuingDepartment: 'NRB',
    freshForSeconds: DAY,
    staleGraceSeconds: null,
  },
  {
    code: 'lease_contract',
    name: 'Lease contract',
    nameZh: '房屋租赁合同',
    subjectKind: null,
    allowedMediaTypes: scans,
    defaultValidityDays: 365,
    issuingDepartment: null,
  },
  {
    code: 'power_of_attorney',
    name: 'Power of attorney',
    nameZh: '授权委托书',
    subjectKind: null,
    allowedMediaTypes: scans,
    defaultValidityDays: 180,
    issuingDepartment: null,
  },
  {
    code: 'id_photo',
    name: 'Identity photo',
    nameZh: '证件照片',
    subjectKind: 'person',
    allowedMediaTypes: ['image/jpeg', 'image/png'],
    defaultValidityDays: 180,
    issuingDepartment: null,
  },
];

/** Adds the seed types that are missing; never overwrites what an administrator changed. */
export async function applySeedMaterialTypes(db: Database): Promise<void> {
  await db
    .insert(materialTypes)
    .values(seedMaterialTypes.map((type) => ({ ...type, allowedMediaTypes: [...type.allowedMediaTypes] })))
    .onConflictDoNothing();
}

export async function listMaterialTypes(db: Queryable): Promise<MaterialTypeRow[]> {
  return db.select().from(materialTypes).orderBy(materialTypes.code);
}

export async function findMaterialTypes(
  db: Queryable,
  codes: readonly string[],
): Promise<Map<string, MaterialTypeRow>> {
  if (codes.length === 0) return new Map();
  const rows = await db
    .select()
    .from(materialTypes)
    .where(sql`${materialTypes.code} in ${[...new Set(codes)]}`);
  return new Map(rows.map((row) => [row.code, row]));
}

/** The material type, or `unknown_material_type` naming the code. */
export async function requireMaterialType(db: Queryable, code: string): Promise<MaterialTypeRow> {
  const [row] = await db.select().from(materialTypes).where(eq(materialTypes.code, code));
  if (!row)
    throw new ApiError('unknown_material_type', message('material.unknown_type', { typeCode: code }), {
      typeCode: code,
    });
  return row;
}

/** Creates or replaces a material type definition (catalogue administrators). */
export async function upsertMaterialType(
  db: Queryable,
  definition: MaterialTypeDefinition,
): Promise<{ type: MaterialTypeRow; created: boolean }> {
  const values = { ...definition, allowedMediaTypes: [...definition.allowedMediaTypes] };
  const [row] = await db
    .insert(materialTypes)
    .values(values)
    .onConflictDoUpdate({ target: materialTypes.code, set: { ...values, updatedAt: new Date() } })
    .returning();
  if (!row) throw new Error('upsert returned no row');
  // An untouched row keeps updated_at = created_at (both default to the transaction time).
  return { type: row, created: row.updatedAt.getTime() === row.createdAt.getTime() };
}

/** Lets a department client read every subject's materials of one type. */
export async function grantMaterialType(
  db: Queryable,
  typeCode: string,
  clientId: string,
  grantedBy: string,
): Promise<boolean> {
  await requireMaterialType(db, typeCode);
  const [client] = await db.select({ kind: clients.kind }).from(clients).where(eq(clients.id, clientId));
  if (!client) throw new ApiError('not_found', message('client.not_found', { clientId }));
  if (client.kind !== 'department') throw new ApiError('unprocessable', message('material.grants_for_departments'));
  const inserted = await db
    .insert(materialTypeGrants)
    .values({ typeCode, clientId, grantedByClientId: grantedBy })
    .onConflictDoNothing()
    .returning({ typeCode: materialTypeGrants.typeCode });
  return inserted.length > 0;
}

export async function revokeMaterialTypeGrant(db: Queryable, typeCode: string, clientId: string): Promise<boolean> {
  const deleted = await db
    .delete(materialTypeGrants)
    .where(and(eq(materialTypeGrants.typeCode, typeCode), eq(materialTypeGrants.clientId, clientId)))
    .returning({ typeCode: materialTypeGrants.typeCode });
  return deleted.length > 0;
}

export async function grantedTypesOf(db: Queryable, clientId: string): Promise<Set<string>> {
  const rows = await db
    .select({ typeCode: materialTypeGrants.typeCode })
    .from(materialTypeGrants)
    .where(eq(materialTypeGrants.clientId, clientId));
  return new Set(rows.map((row) => row.typeCode));
}

/** Grants or withdraws a material type grant, and audits the change. */
export async function applyGrant(
  db: Database,
  principal: Principal,
  typeCode: string,
  clientId: string,
  grant: boolean,
): Promise<{ typeCode: string; clientId: string; granted: boolean }> {
  return db.transaction(async (tx) => {
    if (grant) await grantMaterialType(tx, typeCode, clientId, principal.clientId);
    else {
      await requireMaterialType(tx, typeCode);
      await revokeMaterialTypeGrant(tx, typeCode, clientId);
    }
    await recordAudit(tx, {
      actor: principal,
      action: grant ? 'material_type.grant' : 'material_type.withdraw_grant',
      fields: [`grant:${typeCode}:${clientId}`],
      materialTypes: [typeCode],
      outcome: 'allowed',
    });
    return { typeCode, clientId, granted: grant };
  });
}
