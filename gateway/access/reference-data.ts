/**
 * The reference data requests read over and over — published resources (owner, sharing type),
 * approved access grants and material-type grants, which the access policy decides from, and the
 * material-type and item catalogues — kept in memory, so a request reads only what is its own. These change
 * a few times a day; requests read them thousands of times a second.
 *
 * Kept current across instances: triggers on the three tables bump `reference_generations` and
 * NOTIFY `onewindow_reference` in the writing transaction (migration 0009), whatever wrote the
 * rows. A notification, a write through this instance (`invalidate()`) or a newer generation seen
 * by the periodic check (a notification lost while the listening connection was down) marks the
 * copy stale, and the next decision reloads it first. Grant expiry needs no reload: it is checked
 * against the request's time at every decision.
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { Database, DatabaseHandle, Queryable } from '../db/client.js';
import {
  accessRequests,
  centreItems,
  centres,
  clientCentres,
  contractResources,
  itemMaterials,
  items,
  materialTypeGrants,
  materialTypes,
  operators,
  referenceGenerations,
} from '../db/schema.js';
import { ApiError, errorForLog } from '../platform/errors.js';
import type { CentreFacts, GrantFacts, OperatorRole, ResourceFacts } from './policy.js';

export const REFERENCE_CHANNEL = 'onewindow_reference';
const GENERATION_NAME = 'reference';

interface Grant {
  resourceCode: string;
  id: string;
  expiresAt: number | null;
}

export type MaterialTypeRow = typeof materialTypes.$inferSelect;
export type ItemRow = typeof items.$inferSelect;
export type ItemMaterialRow = typeof itemMaterials.$inferSelect;
export type CentreRow = typeof centres.$inferSelect;
export type CentreItemRow = typeof centreItems.$inferSelect;
export type OperatorRow = typeof operators.$inferSelect;

/** The centre tree and who works where, as the policy and the case services read it. */
export interface CentreDirectory {
  centres: ReadonlyMap<string, CentreRow>;
  /** Client id → the centres it serves. */
  clientCentres: ReadonlyMap<string, readonly string[]>;
  /** `centre code␟operator id` → the operator (disabled ones included). */
  operators: ReadonlyMap<string, OperatorRow>;
  /** `centre code␟item code` → how the centre offers the item. */
  centreItems: ReadonlyMap<string, CentreItemRow>;
}

export const pairKey = (first: string, second: string): string => `${first}\u001f${second}`;

interface Snapshot {
  generation: number;
  materialTypes: ReadonlyMap<string, MaterialTypeRow>;
  items: ReadonlyMap<string, { row: ItemRow; requirements: readonly ItemMaterialRow[] }>;
  resources: ReadonlyMap<string, ResourceFacts>;
  /** Approved grants per client, newest decision first. */
  grants: ReadonlyMap<string, readonly Grant[]>;
  typeGrants: ReadonlyMap<string, ReadonlySet<string>>;
  directory: CentreDirectory;
}

const NO_TYPES: ReadonlySet<string> = new Set();

export interface ReferenceDataOptions {
  /** How often the generation is checked, in case a notification was lost (default 1 s). */
  checkIntervalMs?: number;
}

async function readGeneration(db: Queryable): Promise<number> {
  const [row] = await db
    .select({ generation: referenceGenerations.generation })
    .from(referenceGenerations)
    .where(eq(referenceGenerations.name, GENERATION_NAME));
  return row?.generation ?? 0;
}

async function loadSnapshot(db: Queryable): Promise<Snapshot> {
  // The generation first: the rows read after it are at least that new.
  const generation = await readGeneration(db);
  const [
    resourceRows,
    grantRows,
    typeRows,
    typeDefinitions,
    itemRows,
    requirementRows,
    centreRows,
    servingRows,
    operatorRows,
    centreItemRows,
  ] = await Promise.all([
    db
      .select({
        code: contractResources.resourceCode,
        departmentCode: contractResources.departmentCode,
        sharingType: contractResources.sharingType,
      })
      .from(contractResources),
    db
      .select({
        clientId: accessRequests.clientId,
        resourceCode: accessRequests.resourceCode,
        id: accessRequests.id,
        expiresAt: accessRequests.expiresAt,
      })
      .from(accessRequests)
      .where(and(eq(accessRequests.status, 'approved')))
      .orderBy(desc(accessRequests.decidedAt), desc(accessRequests.id)),
    db
      .select({ clientId: materialTypeGrants.clientId, typeCode: materialTypeGrants.typeCode })
      .from(materialTypeGrants),
    db.select().from(materialTypes),
    db.select().from(items),
    db.select().from(itemMaterials),
    db.select().from(centres),
    db.select().from(clientCentres),
    db.select().from(operators),
    db.select().from(centreItems),
  ]);
  const serving = new Map<string, string[]>();
  for (const row of servingRows) serving.set(row.clientId, [...(serving.get(row.clientId) ?? []), row.centreCode]);
  const grants = new Map<string, Grant[]>();
  for (const row of grantRows) {
    const list = grants.get(row.clientId) ?? [];
    list.push({ resourceCode: row.resourceCode, id: row.id, expiresAt: row.expiresAt?.getTime() ?? null });
    grants.set(row.clientId, list);
  }
  const typeGrants = new Map<string, Set<string>>();
  for (const row of typeRows) {
    const set = typeGrants.get(row.clientId) ?? new Set<string>();
    set.add(row.typeCode);
    typeGrants.set(row.clientId, set);
  }
  return {
    generation,
    materialTypes: new Map(typeDefinitions.map((row) => [row.code, row])),
    items: new Map(
      itemRows.map((row) => [
        row.code,
        { row, requirements: requirementRows.filter((entry) => entry.itemCode === row.code) },
      ]),
    ),
    resources: new Map(resourceRows.map((row) => [row.code, row])),
    grants,
    typeGrants,
    directory: {
      centres: new Map(centreRows.map((row) => [row.code, row])),
      clientCentres: serving,
      operators: new Map(operatorRows.map((row) => [pairKey(row.centreCode, row.operatorId), row])),
      centreItems: new Map(centreItemRows.map((row) => [pairKey(row.centreCode, row.itemCode), row])),
    },
  };
}

const NO_CENTRES: readonly string[] = [];

/** What the policy knows of the caller's place in the centre tree. */
function centreFactsOf(directory: CentreDirectory, principal: Principal): CentreFacts {
  const own =
    principal.subjectId === null ? (directory.clientCentres.get(principal.clientId) ?? NO_CENTRES) : NO_CENTRES;
  return {
    own,
    pathOf: (code) => directory.centres.get(code)?.path,
    operatorRole: (operatorId) => {
      for (const centre of own) {
        const operator = directory.operators.get(pairKey(centre, operatorId));
        if (operator && operator.disabledAt === null) return operator.role as OperatorRole;
      }
      return undefined;
    },
  };
}

export class ReferenceData {
  private snapshot: Snapshot | undefined;
  /**
   * Bumped by every sign of a change (a write here, a notification, a newer generation). A copy is
   * current only if no sign came since its read began: callers never get the old copy while
   * another caller's reload is still on its way.
   */
  private changesSeen = 0;
  private snapshotSeen = -1;
  private stopListening: (() => Promise<void>) | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly checkIntervalMs: number;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    options: ReferenceDataOptions = {},
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
  }

  /** Loads the copy and starts following changes (notifications and the periodic check). */
  async start(database: Pick<DatabaseHandle, 'listen'>): Promise<void> {
    this.stopListening = await database.listen(REFERENCE_CHANNEL, (payload) => {
      const generation = Number(payload);
      if (!(this.snapshot && Number.isFinite(generation) && generation <= this.snapshot.generation))
        this.changesSeen += 1;
    });
    await this.reload(this.db);
    this.checkTimer = setInterval(() => void this.checkGeneration(), this.checkIntervalMs);
    this.checkTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    await this.stopListening?.().catch(() => undefined);
    this.stopListening = undefined;
  }

  /** Marks the copy stale: the next decision reloads it (after a write through this instance). */
  invalidate(): void {
    this.changesSeen += 1;
  }

  /** The material types with these codes (unknown codes are absent), as currently defined. */
  async materialTypes(db: Queryable, codes: readonly string[]): Promise<Map<string, MaterialTypeRow>> {
    const snapshot = await this.current(db);
    const found = new Map<string, MaterialTypeRow>();
    for (const code of codes) {
      const type = snapshot.materialTypes.get(code);
      if (type) found.set(code, type);
    }
    return found;
  }

  /** An item with its requirement rows as currently defined, or undefined. */
  async item(
    db: Queryable,
    code: string,
  ): Promise<{ row: ItemRow; requirements: readonly ItemMaterialRow[] } | undefined> {
    return (await this.current(db)).items.get(code);
  }

  /** The centre tree, who serves where, operators and centre items, as currently defined. */
  async centreDirectory(db: Queryable): Promise<CentreDirectory> {
    return (await this.current(db)).directory;
  }

  /**
   * The centre tree, confirmed current first when it lacks one of `codes`: a centre created
   * through another instance moments ago is found, an unknown one costs one small read more.
   */
  async centreDirectoryWith(db: Queryable, codes: readonly (string | undefined)[]): Promise<CentreDirectory> {
    const directory = (await this.current(db)).directory;
    const missing = codes.some((code) => code !== undefined && !directory.centres.has(code));
    if (!missing || !(await this.confirmCurrent(db))) return directory;
    return (await this.current(db)).directory;
  }

  /**
   * Makes sure the copy is not older than the database's generation (one small read on `db`),
   * reloading it when it is; true when it changed. Called before a refusal that a change made
   * through another instance moments ago could turn (a grant approved there): its notification
   * may still be on its way.
   */
  async confirmCurrent(db: Queryable): Promise<boolean> {
    const generation = await readGeneration(db);
    if (this.isCurrent() && this.snapshot && generation <= this.snapshot.generation) return false;
    await this.reload(db);
    return true;
  }

  /**
   * Runs `decide` on the copy; when it refuses (an `ApiError`), confirms the copy is current and,
   * if a change had not reached it yet, decides once more on the fresh copy. Something created
   * through another instance moments ago (an item, a centre, a material type) is never refused
   * here while its notification is still on its way.
   */
  async decideConfirmingRefusal<T>(db: Queryable, decide: () => Promise<T>): Promise<T> {
    try {
      return await decide();
    } catch (error) {
      if (!(error instanceof ApiError) || !(await this.confirmCurrent(db))) throw error;
      return decide();
    }
  }

  private current(db: Queryable): Promise<Snapshot> {
    return this.snapshot && this.isCurrent() ? Promise.resolve(this.snapshot) : this.reload(db);
  }

  private isCurrent(): boolean {
    return this.snapshotSeen === this.changesSeen;
  }

  /**
   * What the policy knows of `principal`'s grants at `now`, from a copy no older than the last
   * change seen; a stale copy is read again on `db`, the caller's own connection or transaction.
   */
  async grantFacts(db: Queryable, principal: Principal, now: Date): Promise<GrantFacts> {
    const snapshot = await this.current(db);
    const centreFacts = centreFactsOf(snapshot.directory, principal);
    if (principal.subjectId !== null)
      return {
        resources: snapshot.resources,
        liveGrants: new Map(),
        materialTypeGrants: NO_TYPES,
        centres: centreFacts,
      };
    const liveGrants = new Map<string, string>();
    const at = now.getTime();
    for (const grant of snapshot.grants.get(principal.clientId) ?? []) {
      if ((grant.expiresAt === null || grant.expiresAt > at) && !liveGrants.has(grant.resourceCode))
        liveGrants.set(grant.resourceCode, grant.id);
    }
    const materialTypeGrants =
      principal.kind === 'department' ? (snapshot.typeGrants.get(principal.clientId) ?? NO_TYPES) : NO_TYPES;
    return { resources: snapshot.resources, liveGrants, materialTypeGrants, centres: centreFacts };
  }

  /**
   * Reads the data again on `db`. Callers do not share a read: one in a transaction must not wait
   * for a read on another connection (on PGlite, the only connection, which its transaction holds).
   * Changes are rare, so concurrent reads right after one cost little.
   */
  private async reload(db: Queryable): Promise<Snapshot> {
    // A sign of a change arriving during the read makes this copy not current, so the next caller reads again.
    const seen = this.changesSeen;
    const snapshot = await loadSnapshot(db);
    if (
      !this.snapshot ||
      snapshot.generation > this.snapshot.generation ||
      (snapshot.generation === this.snapshot.generation && seen >= this.snapshotSeen)
    ) {
      this.snapshot = snapshot;
      this.snapshotSeen = seen;
    }
    return snapshot;
  }

  private async checkGeneration(): Promise<void> {
    try {
      const generation = await readGeneration(this.db);
      if (!this.snapshot || generation > this.snapshot.generation) this.changesSeen += 1;
    } catch (error) {
      this.logger.debug({ err: errorForLog(error) }, 'checking the reference data generation failed');
    }
  }
}
