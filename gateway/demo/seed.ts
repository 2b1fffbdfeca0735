/**
 * Demo data for `npm start`: one client of each kind with well-known secrets, so the README's
 * walk-through can be pasted as it is. Idempotent: existing demo clients are left alone.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { createClient } from '../auth/clients.js';
import type { ClientSecrets } from '../auth/secrets.js';
import { type ClientKind, scopesAllowedForKind } from '../auth/scopes.js';
import type { Database, Queryable } from '../db/client.js';
import { newAccessRequestId } from '../contracts/access.js';
import { accessRequests, clients, contractResources } from '../db/schema.js';

/**
 * Conditional resources the demo window client holds a grant for from the start. The population
 * registry (psb.population) is left out on purpose: the README walk-through shows the grant
 * being requested and approved by the demo PSB client before the first identity verification.
 */
const demoGrantedResources = ['amr.enterprise', 'nrb.real-estate'];

export interface DemoClient {
  id: string;
  secret: string;
  kind: ClientKind;
  name: string;
  departmentCode?: string;
}

export const demoClients: DemoClient[] = [
  { id: 'cli_demo_window', secret: 'demo-window-secret', kind: 'window', name: 'Demo city service centre window' },
  { id: 'cli_demo_department', secret: 'demo-department-secret', kind: 'department', name: 'Demo public security bureau', departmentCode: 'PSB' },
  { id: 'cli_demo_integrator', secret: 'demo-integrator-secret', kind: 'integrator', name: 'Demo integrator' },
  { id: 'cli_demo_auditor', secret: 'demo-auditor-secret', kind: 'auditor', name: 'Demo supervision office' },
  { id: 'cli_demo_admin', secret: 'demo-admin-secret', kind: 'admin', name: 'Demo administrator' },
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
    await seedDemoClients(tx, secrets);
    await seedDemoGrants(tx, 'cli_demo_window');
  });
  return demoClients;
}

async function seedDemoClients(db: Queryable, secrets: ClientSecrets): Promise<void> {
  const existing = await db
    .select({ id: clients.id })
    .from(clients)
    .where(inArray(clients.id, demoClients.map((client) => client.id)));
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
  }
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
