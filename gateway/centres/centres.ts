/**
 * Service centres (政务服务中心) as data: a tree from the province down to villages, who serves
 * where (client systems), the operators behind the window systems, and how each centre offers the
 * provincial catalogue's items. Writes are checked here — a tree without cycles whose codes follow
 * GB/T 2260, promised time limits no longer than the statutory ones — and audited; the gateway
 * keeps all of it in memory as reference data (access/reference-data.ts), reloaded on every change.
 */
import { and, eq, like, sql } from 'drizzle-orm';
import type {
  CentreDirectory,
  CentreItemRow,
  CentreRow,
  OperatorRow,
  ReferenceData,
} from '../access/reference-data.js';
import { pairKey } from '../access/reference-data.js';
import type { Principal } from '../auth/principal.js';
import { recordAudit } from '../audit/record.js';
import type { Database, Queryable } from '../db/client.js';
import { centreItems, centres, clientCentres, clients, operators } from '../db/schema.js';
import { requireItemFrom } from '../items/catalogue.js';
import type { CentreLevel } from '../items/catalogue.js';
import { ApiError, type Message, message } from '../platform/errors.js';

export const CENTRE_LEVELS: readonly CentreLevel[] = ['province', 'city', 'county', 'town', 'village'];
export const OPERATOR_ROLES = ['acceptance_clerk', 'back_office_approver', 'centre_director', 'supervisor'] as const;
export type OperatorRoleName = (typeof OPERATOR_ROLES)[number];

/**
 * How many leading digits of its code a centre shares with its parent, by the parent's level: a
 * province's two (a city, or a county the province administers directly, such as 仙桃 429004), a
 * city's four, and a county's six for town and village centres (GB/T 2260 codes go no deeper).
 */
const SHARED_WITH_PARENT: Record<CentreLevel, number> = { province: 2, city: 4, county: 6, town: 6, village: 6 };

export interface CentreInput {
  name: string;
  level: CentreLevel;
  parentCode: string | null;
  address: string;
  openingHours: string;
}

export interface CentreView {
  code: string;
  name: string;
  level: CentreLevel;
  parentCode: string | null;
  /** Codes from the root down to this centre. */
  ancestors: string[];
  address: string;
  openingHours: string;
  children: string[];
}

export interface Actor {
  principal: Principal;
  requestId: string;
}

const levelRank = (level: CentreLevel): number => CENTRE_LEVELS.indexOf(level);
const pathCodes = (path: string): string[] => path.split('/').filter((part) => part.length > 0);

export function centreView(directory: CentreDirectory, row: CentreRow): CentreView {
  const children = [...directory.centres.values()]
    .filter((centre) => centre.parentCode === row.code)
    .map((centre) => centre.code)
    .sort();
  return {
    code: row.code,
    name: row.name,
    level: row.level,
    parentCode: row.parentCode,
    ancestors: pathCodes(row.path).slice(0, -1),
    address: row.address,
    openingHours: row.openingHours,
    children,
  };
}

/** The centre, or `centre_not_found` naming the code. */
export function requireCentre(directory: CentreDirectory, code: string): CentreRow {
  const centre = directory.centres.get(code);
  if (!centre)
    throw new ApiError('centre_not_found', message('centre.not_found', { centreCode: code }), { centreCode: code });
  return centre;
}

/** The centres at and below `code`, the root first, each before its children. */
export function subtree(directory: CentreDirectory, code: string): CentreRow[] {
  const root = requireCentre(directory, code);
  return [...directory.centres.values()]
    .filter((centre) => centre.path.startsWith(root.path))
    .sort((a, b) => a.path.localeCompare(b.path));
}

function invalid(problem: Message, extras: Record<string, unknown> = {}): ApiError {
  return new ApiError('centre_invalid', problem, extras);
}

/**
 * Creates or changes a centre. A move (another parent) carries its whole subtree along in the same
 * transaction; a move below itself is `centre_cycle`. Nothing is written when a check fails.
 */
export async function upsertCentre(
  db: Database,
  reference: ReferenceData,
  actor: Actor,
  code: string,
  input: CentreInput,
): Promise<{ centre: CentreView; created: boolean }> {
  const result = await db.transaction(async (tx) => {
    // Serialised with every other change of the tree: two concurrent moves could otherwise build a cycle.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('onewindow_centres'))`);
    const existing = (await tx.select().from(centres).where(eq(centres.code, code)))[0];
    const parent =
      input.parentCode === null
        ? undefined
        : (await tx.select().from(centres).where(eq(centres.code, input.parentCode)))[0];
    if (input.parentCode !== null && !parent)
      throw new ApiError(
        'centre_not_found',
        message('centre.parent_not_found', { parentCode: input.parentCode, centreCode: code }),
        {
          centreCode: input.parentCode,
        },
      );
    // A cycle first: a centre placed under itself or below is refused as such, whatever the levels.
    if (parent !== undefined && existing && parent.path.startsWith(existing.path)) {
      throw new ApiError('centre_cycle', message('centre.cycle', { centreCode: code, parentCode: parent.code }), {
        centreCode: code,
        parentCode: parent.code,
      });
    }
    if (parent === undefined && input.level !== 'province')
      throw invalid(message('centre.top_is_province'), {
        level: input.level,
      });
    if (parent !== undefined) {
      if (levelRank(parent.level) >= levelRank(input.level))
        throw invalid(message('centre.level_under_parent', { level: input.level, parentLevel: parent.level }), {
          level: input.level,
          parentLevel: parent.level,
        });
      const shared = SHARED_WITH_PARENT[parent.level];
      if (code.slice(0, shared) !== parent.code.slice(0, shared)) {
        throw invalid(
          message('centre.code_prefix', { level: input.level, digits: shared, prefix: parent.code.slice(0, shared) }),
          { parentCode: parent.code },
        );
      }
    }
    const path = `${parent?.path ?? '/'}${code}/`;
    if (existing && existing.level !== input.level) {
      const children = await tx.select({ level: centres.level }).from(centres).where(eq(centres.parentCode, code));
      if (children.some((child) => levelRank(child.level) <= levelRank(input.level)))
        throw invalid(message('centre.children_level', { centreCode: code }), { level: input.level });
    }
    const values = {
      name: input.name,
      level: input.level,
      parentCode: input.parentCode,
      path,
      address: input.address,
      openingHours: input.openingHours,
      updatedAt: new Date(),
    };
    if (existing) {
      await tx.update(centres).set(values).where(eq(centres.code, code));
      if (existing.path !== path) {
        // The subtree moves with it: one statement rewrites the paths below.
        await tx
          .update(centres)
          .set({ path: sql`${path} || substr(${centres.path}, ${existing.path.length + 1})`, updatedAt: new Date() })
          .where(and(like(centres.path, `${existing.path}%`), sql`${centres.code} <> ${code}`));
      }
    } else {
      await tx.insert(centres).values({ code, ...values });
    }
    await recordAudit(tx, {
      actor: actor.principal,
      action: existing ? 'centre.change' : 'centre.create',
      fields: [
        `centre:${code}`,
        ...(existing && existing.parentCode !== input.parentCode
          ? [`moved:${existing.parentCode}->${input.parentCode}`]
          : []),
      ],
      outcome: 'allowed',
      requestId: actor.requestId,
    });
    return { created: !existing };
  });
  reference.invalidate();
  const directory = await reference.centreDirectory(db);
  return { centre: centreView(directory, requireCentre(directory, code)), created: result.created };
}

export interface OperatorInput {
  name: string;
  role: OperatorRoleName;
  active: boolean;
}

export interface OperatorView {
  centreCode: string;
  operatorId: string;
  name: string;
  role: OperatorRoleName;
  active: boolean;
}

const operatorView = (row: OperatorRow): OperatorView => ({
  centreCode: row.centreCode,
  operatorId: row.operatorId,
  name: row.name,
  role: row.role,
  active: row.disabledAt === null,
});

export async function upsertOperator(
  db: Database,
  reference: ReferenceData,
  actor: Actor,
  centreCode: string,
  operatorId: string,
  input: OperatorInput,
): Promise<{ operator: OperatorView; created: boolean }> {
  requireCentre(await reference.centreDirectoryWith(db, [centreCode]), centreCode);
  const created = await db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(operators)
      .where(and(eq(operators.centreCode, centreCode), eq(operators.operatorId, operatorId)));
    const disabledAt = input.active ? null : (existing?.disabledAt ?? new Date());
    await tx
      .insert(operators)
      .values({ centreCode, operatorId, name: input.name, role: input.role, disabledAt })
      .onConflictDoUpdate({
        target: [operators.centreCode, operators.operatorId],
        set: { name: input.name, role: input.role, disabledAt },
      });
    await recordAudit(tx, {
      actor: actor.principal,
      action: existing ? 'operator.change' : 'operator.register',
      fields: [`centre:${centreCode}`, `operator:${operatorId}`, `role:${input.role}`],
      outcome: 'allowed',
      requestId: actor.requestId,
    });
    return !existing;
  });
  reference.invalidate();
  const row = (await reference.centreDirectory(db)).operators.get(pairKey(centreCode, operatorId));
  if (!row) throw new Error('operator not found after writing it');
  return { operator: operatorView(row), created };
}

export async function listOperators(
  db: Queryable,
  reference: ReferenceData,
  centreCode: string,
): Promise<OperatorView[]> {
  const directory = await reference.centreDirectoryWith(db, [centreCode]);
  requireCentre(directory, centreCode);
  return [...directory.operators.values()]
    .filter((row) => row.centreCode === centreCode)
    .map(operatorView)
    .sort((a, b) => a.operatorId.localeCompare(b.operatorId));
}

export interface CentreItemInput {
  enabled: boolean;
  /** Null: the catalogue's promised days. */
  promisedDays: number | null;
  notes: string;
  fees: { name: string; amountFen: number }[];
}

export interface CentreItemView extends CentreItemInput {
  centreCode: string;
  itemCode: string;
  itemName: string;
  statutoryDays: number;
  /** What a case accepted here is promised: the centre's days, or the catalogue's. */
  effectivePromisedDays: number;
}

/** Enables (or disables) an item at a centre with its promised days (承诺时限 ≤ 法定时限), notes and fees. */
export async function setCentreItem(
  db: Database,
  reference: ReferenceData,
  actor: Actor,
  centreCode: string,
  itemCode: string,
  input: CentreItemInput,
): Promise<CentreItemView> {
  const item = await requireItemFrom(reference, db, itemCode);
  const centre = requireCentre(await reference.centreDirectoryWith(db, [centreCode]), centreCode);
  if (input.enabled && item.decidingLevel !== null && levelRank(centre.level) < levelRank(item.decidingLevel)) {
    throw new ApiError(
      'centre_above_deciding_level',
      message('centre.above_deciding_level', {
        itemName: item.name,
        decidingLevel: item.decidingLevel,
        level: centre.level,
      }),
      {
        itemCode,
        decidingLevel: item.decidingLevel,
        level: centre.level,
      },
    );
  }
  if (input.promisedDays !== null && input.promisedDays > item.statutoryDays) {
    throw new ApiError(
      'promised_days_above_statutory',
      message('centre.promised_above_statutory', {
        itemName: item.name,
        statutoryDays: item.statutoryDays,
        promisedDays: input.promisedDays,
      }),
      {
        itemCode,
        statutoryDays: item.statutoryDays,
        promisedDays: input.promisedDays,
      },
    );
  }
  await db.transaction(async (tx) => {
    const values = {
      enabled: input.enabled,
      promisedDays: input.promisedDays,
      notes: input.notes,
      fees: input.fees,
      updatedAt: new Date(),
    };
    await tx
      .insert(centreItems)
      .values({ centreCode, itemCode, ...values })
      .onConflictDoUpdate({ target: [centreItems.centreCode, centreItems.itemCode], set: values });
    await recordAudit(tx, {
      actor: actor.principal,
      action: 'centre.item',
      fields: [`centre:${centreCode}`, `item:${itemCode}`, `enabled:${input.enabled}`],
      outcome: 'allowed',
      requestId: actor.requestId,
    });
  });
  reference.invalidate();
  return (await listCentreItems(db, reference, centreCode)).find(
    (entry) => entry.itemCode === itemCode,
  ) as CentreItemView;
}

export async function listCentreItems(
  db: Queryable,
  reference: ReferenceData,
  centreCode: string,
): Promise<CentreItemView[]> {
  const directory = await reference.centreDirectoryWith(db, [centreCode]);
  requireCentre(directory, centreCode);
  const rows: CentreItemRow[] = [...directory.centreItems.values()].filter((row) => row.centreCode === centreCode);
  const views: CentreItemView[] = [];
  for (const row of rows.sort((a, b) => a.itemCode.localeCompare(b.itemCode))) {
    const item = await requireItemFrom(reference, db, row.itemCode);
    views.push({
      centreCode,
      itemCode: row.itemCode,
      itemName: item.name,
      enabled: row.enabled,
      promisedDays: row.promisedDays,
      notes: row.notes,
      fees: row.fees,
      statutoryDays: item.statutoryDays,
      effectivePromisedDays: row.promisedDays ?? item.promisedDays,
    });
  }
  return views;
}

/**
 * Registers the centres a client system serves: a window system exactly one, a department system
 * one or more, an auditor (supervision) at most one — none: the whole province; others none.
 */
export async function setClientCentres(
  db: Database,
  reference: ReferenceData,
  actor: Actor,
  clientId: string,
  centreCodes: readonly string[],
): Promise<{ clientId: string; centreCodes: string[] }> {
  const directory = await reference.centreDirectoryWith(db, centreCodes);
  for (const code of centreCodes) requireCentre(directory, code);
  const codes = [...new Set(centreCodes)].sort();
  await db.transaction(async (tx) => {
    const [client] = await tx.select({ kind: clients.kind }).from(clients).where(eq(clients.id, clientId));
    if (!client) throw new ApiError('not_found', message('client.not_found', { clientId }));
    const allowed: Record<string, (count: number) => boolean> = {
      window: (count) => count === 1,
      department: (count) => count >= 1,
      auditor: (count) => count <= 1,
    };
    const rule = allowed[client.kind];
    if (!rule?.(codes.length)) {
      throw new ApiError('client_centres_invalid', message('centre.client_centres'), {
        kind: client.kind,
        centreCodes: codes,
      });
    }
    await tx.delete(clientCentres).where(eq(clientCentres.clientId, clientId));
    if (codes.length > 0) await tx.insert(clientCentres).values(codes.map((centreCode) => ({ clientId, centreCode })));
    await recordAudit(tx, {
      actor: actor.principal,
      action: 'client.centres',
      fields: [`client:${clientId}`, ...codes.map((code) => `centre:${code}`)],
      outcome: 'allowed',
      requestId: actor.requestId,
    });
  });
  reference.invalidate();
  return { clientId, centreCodes: codes };
}
