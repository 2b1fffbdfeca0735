/**
 * The public view of the item catalogue (政务服务事项 and their 办事指南): what any applicant may read
 * without a token — names, departments, time limits, required materials and the guide. Built only
 * from catalogue rows (no subject, case or personal data), so serving it needs no access decision.
 */
import { createHash } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import type { Queryable } from '../db/client.js';
import { materialTypes } from '../db/schema.js';
import type { DepartmentRegistry } from '../departments/registry.js';
import { ApiError, message } from '../platform/errors.js';
import { strongEtagForDigest } from '../platform/preconditions.js';
import { type ItemDefinition, type ItemGuide, type PartyRole, findItem, listItems } from './catalogue.js';

export interface PublicMaterialType {
  code: string;
  name: string;
  nameZh: string;
}

export interface PublicRequirement {
  requirementCode: string;
  name: string;
  acceptedTypes: PublicMaterialType[];
  optional: boolean;
  deferrableDays: number | null;
  party: PartyRole;
  /** Departments the gateway can fetch a satisfying certificate from: the applicant need not bring it. */
  fetchableFrom: string[];
}

export interface PublicItem {
  code: string;
  name: string;
  nameZh: string;
  kind: ItemDefinition['kind'];
  subjectKind: ItemDefinition['subjectKind'];
  departments: { code: string; name: string }[];
  statutoryDays: number;
  promisedDays: number;
  materials: PublicRequirement[];
  guide: ItemGuide | null;
}

type Providers = Pick<DepartmentRegistry, 'get' | 'providersOf'>;

async function typeNames(
  db: Queryable,
  definitions: readonly ItemDefinition[],
): Promise<Map<string, PublicMaterialType>> {
  const codes = [...new Set(definitions.flatMap((item) => item.materials.flatMap((entry) => entry.acceptedTypes)))];
  if (codes.length === 0) return new Map();
  const rows = await db
    .select({ code: materialTypes.code, name: materialTypes.name, nameZh: materialTypes.nameZh })
    .from(materialTypes)
    .where(inArray(materialTypes.code, codes));
  return new Map(rows.map((row) => [row.code, row]));
}

function toPublicItem(item: ItemDefinition, types: Map<string, PublicMaterialType>, providers: Providers): PublicItem {
  return {
    code: item.code,
    name: item.name,
    nameZh: item.nameZh,
    kind: item.kind,
    subjectKind: item.subjectKind,
    departments: item.departments.map((code) => ({ code, name: providers.get(code)?.name ?? code })),
    statutoryDays: item.statutoryDays,
    promisedDays: item.promisedDays,
    materials: item.materials.map((entry) => ({
      requirementCode: entry.requirementCode,
      name: entry.name,
      acceptedTypes: entry.acceptedTypes.map((code) => types.get(code) ?? { code, name: code, nameZh: code }),
      optional: entry.optional,
      deferrableDays: entry.deferrableDays,
      party: entry.party,
      fetchableFrom: [
        ...new Set(entry.acceptedTypes.flatMap((code) => providers.providersOf(code).map((provider) => provider.code))),
      ],
    })),
    guide: item.guide ?? null,
  };
}

/** Every active item, public facts only, ordered by code. */
export async function listPublicItems(db: Queryable, providers: Providers): Promise<PublicItem[]> {
  const active = (await listItems(db)).filter((item) => item.active);
  const types = await typeNames(db, active);
  return active.map((item) => toPublicItem(item, types, providers));
}

/** One active item's public facts; an unknown or withdrawn item is `not_found` (404). */
export async function publicItem(db: Queryable, providers: Providers, code: string): Promise<PublicItem> {
  const item = await findItem(db, code);
  if (!item || !item.active)
    throw new ApiError('not_found', message('item.public_not_found', { itemCode: code }), { itemCode: code });
  return toPublicItem(item, await typeNames(db, [item]), providers);
}

/** A strong entity tag for a representation: its SHA-256, so any change to the bytes changes it. */
export function entityTagOf(body: string): string {
  return strongEtagForDigest(createHash('sha256').update(body).digest('hex'));
}

/** Public pages change only when an administrator edits an item: caches may keep them five minutes. */
export const PUBLIC_CATALOGUE_CACHE_CONTROL = 'public, max-age=300';
