/**
 * Demo data for `npm start`: one client of each kind with well-known secrets, so the walk-throughs
 * (docs/walk-through.md, the README's flat-transfer story) can be pasted as they are.
 * Idempotent: existing demo clients are left alone.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { createClient } from '../auth/clients.js';
import type { ClientSecrets } from '../auth/secrets.js';
import { type ClientKind, scopesAllowedForKind } from '../auth/scopes.js';
import type { Database, Queryable } from '../db/client.js';
import { newAccessRequestId } from '../contracts/access.js';
import {
  accessRequests,
  centreItems,
  centreRepresentatives,
  centres,
  clientCentres,
  clients,
  contractResources,
  operators,
} from '../db/schema.js';
import { CENTRE_LEVELS, type OperatorRoleName } from '../centres/centres.js';
import { type CentreLevel, seedItems } from '../items/catalogue.js';

/**
 * Conditional resources the demo window client holds a grant for from the start. The population
 * registry (psb.population) is left out on purpose: the 5-minute walk-through shows the grant
 * being requested and approved by the demo PSB client before the first identity verification.
 */
const demoGrantedResources = ['amr.enterprise', 'nrb.real-estate'];

export interface DemoClient {
  id: string;
  secret: string;
  kind: ClientKind;
  name: string;
  departmentCode?: string;
  /** The service centre it serves (demo centre tree). */
  centreCode?: string;
}

export const demoClients: DemoClient[] = [
  { id: 'cli_demo_window', secret: 'demo-window-secret', kind: 'window', name: 'Demo city service centre window' },
  {
    id: 'cli_demo_department',
    secret: 'demo-department-secret',
    kind: 'department',
    name: 'Demo public security bureau',
    departmentCode: 'PSB',
  },
  { id: 'cli_demo_integrator', secret: 'demo-integrator-secret', kind: 'integrator', name: 'Demo integrator' },
  { id: 'cli_demo_auditor', secret: 'demo-auditor-secret', kind: 'auditor', name: 'Demo supervision office' },
  { id: 'cli_demo_admin', secret: 'demo-admin-secret', kind: 'admin', name: 'Demo administrator' },
  // The centre tree's windows and supervision (docs/centres.md): a town window accepts, the county
  // decides, the city supervises, a sibling town sees nothing.
  {
    id: 'cli_demo_town_window',
    secret: 'demo-town-window-secret',
    kind: 'window',
    name: '小寨路街道便民服务中心 window',
    centreCode: '610113001',
  },
  {
    id: 'cli_demo_town2_window',
    secret: 'demo-town2-window-secret',
    kind: 'window',
    name: '电子城街道便民服务中心 window',
    centreCode: '610113002',
  },
  {
    id: 'cli_demo_county_window',
    secret: 'demo-county-window-secret',
    kind: 'window',
    name: '雁塔区政务服务中心 window',
    centreCode: '610113000',
  },
  {
    id: 'cli_demo_city_window',
    secret: 'demo-city-window-secret',
    kind: 'window',
    name: '西安市政务服务中心 window',
    centreCode: '610100000',
  },
  {
    id: 'cli_demo_city_auditor',
    secret: 'demo-city-auditor-secret',
    kind: 'auditor',
    name: '西安市政务服务中心 supervision',
    centreCode: '610100000',
  },
];

/** One city, two counties, a few towns: 陕西省 → 西安市 → 雁塔区 / 长安区 → 街道. */
const demoCentres: { code: string; name: string; level: CentreLevel; parentCode: string | null; address: string }[] = [
  { code: '610000000', name: '陕西省政务服务中心', level: 'province', parentCode: null, address: '西安市未央区' },
  {
    code: '610100000',
    name: '西安市政务服务中心',
    level: 'city',
    parentCode: '610000000',
    address: '西安市未央区凤城八路109号',
  },
  { code: '610113000', name: '雁塔区政务服务中心', level: 'county', parentCode: '610100000', address: '西安市雁塔区' },
  { code: '610116000', name: '长安区政务服务中心', level: 'county', parentCode: '610100000', address: '西安市长安区' },
  {
    code: '610113001',
    name: '小寨路街道便民服务中心',
    level: 'town',
    parentCode: '610113000',
    address: '西安市雁塔区小寨路',
  },
  {
    code: '610113002',
    name: '电子城街道便民服务中心',
    level: 'town',
    parentCode: '610113000',
    address: '西安市雁塔区电子城',
  },
  {
    code: '610116001',
    name: '韦曲街道便民服务中心',
    level: 'town',
    parentCode: '610116000',
    address: '西安市长安区韦曲',
  },
];

const demoOperators: { centreCode: string; operatorId: string; name: string; role: OperatorRoleName }[] = [
  { centreCode: '610113001', operatorId: 'clerk-0042', name: '王芳', role: 'acceptance_clerk' },
  // Answers for the town centre: the follow-ups of its bad ratings (好差评) in the walk-through.
  { centreCode: '610113001', operatorId: 'director-0013', name: '孙丽', role: 'centre_director' },
  { centreCode: '610113002', operatorId: 'clerk-0077', name: '赵强', role: 'acceptance_clerk' },
  { centreCode: '610113000', operatorId: 'approver-0100', name: '刘洋', role: 'back_office_approver' },
  { centreCode: '610100000', operatorId: 'director-0001', name: '陈静', role: 'centre_director' },
];

/**
 * The departments' chief representatives (首席代表) at the town centre of the walk-throughs: the
 * supervision warnings about its cases go to them by SMS (the demo's SMS simulator).
 */
const demoRepresentatives: { centreCode: string; departmentCode: string; name: string; mobile: string }[] = [
  { centreCode: '610113001', departmentCode: 'PSB', name: '周敏', mobile: '13700137001' },
  { centreCode: '610113001', departmentCode: 'NRB', name: '吴磊', mobile: '13700137002' },
  { centreCode: '610113001', departmentCode: 'AMR', name: '郑洁', mobile: '13700137003' },
];

/**
 * Taken for the whole seed, so instances started together on an empty database (a scaled-out demo)
 * seed one after the other: the second finds the clients and grants there instead of failing on a
 * duplicate client id and stopping.
 */
const SEED_LOCK_KEY = 7_461_230_004;

export async function seedDemoData(db: Database, secrets: ClientSecrets): Promise<DemoClient[]> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`);
    await seedDemoCentres(tx);
    await seedDemoClients(tx, secrets);
    for (const client of demoClients.filter((demo) => demo.kind === 'window')) await seedDemoGrants(tx, client.id);
  });
  return demoClients;
}

async function seedDemoClients(db: Queryable, secrets: ClientSecrets): Promise<void> {
  const existing = await db
    .select({ id: clients.id })
    .from(clients)
    .where(
      inArray(
        clients.id,
        demoClients.map((client) => client.id),
      ),
    );
  const have = new Set(existing.map((row) => row.id));
  for (const demo of demoClients) {
    if (have.has(demo.id)) continue;
    await createClient(db, secrets, {
      id: demo.id,
      secret: demo.secret,
      name: demo.name,
      kind: demo.kind,
      departmentCode: demo.departmentCode ?? null,
      // Demo clients hold every scope their kind allows (including subjects:unmask, which a
      // token carries only when asked for), so the walk-through can show both views.
      scopes: [...scopesAllowedForKind[demo.kind]],
    });
    if (demo.centreCode) await db.insert(clientCentres).values({ clientId: demo.id, centreCode: demo.centreCode });
  }
}

async function seedDemoCentres(db: Queryable): Promise<void> {
  const byCode = new Map(demoCentres.map((centre) => [centre.code, centre]));
  const pathOf = (code: string): string => {
    const centre = byCode.get(code);
    return `${centre?.parentCode ? pathOf(centre.parentCode) : '/'}${code}/`;
  };
  await db
    .insert(centres)
    .values(
      demoCentres.map((centre) => ({
        ...centre,
        path: pathOf(centre.code),
        openingHours: '周一至周五 9:00-12:00, 13:30-17:00',
      })),
    )
    .onConflictDoNothing();
  await db.insert(operators).values(demoOperators).onConflictDoNothing();
  await db.insert(centreRepresentatives).values(demoRepresentatives).onConflictDoNothing();
  // Every seed item at every demo centre, at the catalogue's promised days; an escalated item
  // only at or below the level that decides it (a centre above could not report it up).
  const offers = demoCentres.flatMap((centre) =>
    seedItems
      .filter(
        (item) =>
          item.decidingLevel === null ||
          CENTRE_LEVELS.indexOf(centre.level) >= CENTRE_LEVELS.indexOf(item.decidingLevel),
      )
      .map((item) => ({ centreCode: centre.code, itemCode: item.code, enabled: true })),
  );
  await db.insert(centreItems).values(offers).onConflictDoNothing();
}

async function seedDemoGrants(db: Queryable, clientId: string): Promise<void> {
  const published = await db
    .select({ resourceCode: contractResources.resourceCode })
    .from(contractResources)
    .where(inArray(contractResources.resourceCode, demoGrantedResources));
  for (const { resourceCode } of published) {
    const existing = await db
      .select({ id: accessRequests.id })
      .from(accessRequests)
      .where(and(eq(accessRequests.clientId, clientId), eq(accessRequests.resourceCode, resourceCode)));
    if (existing.length > 0) continue;
    const now = new Date();
    await db.insert(accessRequests).values({
      id: newAccessRequestId(),
      resourceCode,
      clientId,
      purpose: 'Demo: fetching certificates at the service-centre window',
      legalBasis: 'Demo data; no legal basis needed',
      status: 'approved',
      requestedAt: now,
      decidedAt: now,
      decidedByClientId: 'system:demo',
      decisionReason: 'Granted by the demo seed',
    });
  }
}
