/**
 * The facts the policy decides from, loaded for one caller: the published resources with their
 * owners and sharing types, the caller's live access grants, and the material types an
 * administrator granted it. Three small reads sent together (pipelined on one connection).
 */
import { and, desc, eq, gt, isNull, or } from 'drizzle-orm';
import type { Principal } from '../auth/principal.js';
import type { Queryable } from '../db/client.js';
import { accessRequests, contractResources, materialTypeGrants } from '../db/schema.js';
import type { GrantFacts, ResourceFacts } from './policy.js';

export async function loadGrantFacts(db: Queryable, principal: Principal, now: Date): Promise<GrantFacts> {
  const isClient = principal.subjectId === null;
  const [resourceRows, grantRows, typeRows] = await Promise.all([
    db
      .select({ code: contractResources.resourceCode, departmentCode: contractResources.departmentCode, sharingType: contractResources.sharingType })
      .from(contractResources),
    isClient
      ? db
          .select({ resourceCode: accessRequests.resourceCode, id: accessRequests.id })
          .from(accessRequests)
          .where(
            and(
              eq(accessRequests.clientId, principal.clientId),
              eq(accessRequests.status, 'approved'),
              or(isNull(accessRequests.expiresAt), gt(accessRequests.expiresAt, now)),
            ),
          )
          .orderBy(desc(accessRequests.decidedAt))
      : Promise.resolve([]),
    principal.kind === 'department' && isClient
      ? db.select({ typeCode: materialTypeGrants.typeCode }).from(materialTypeGrants).where(eq(materialTypeGrants.clientId, principal.clientId))
      : Promise.resolve([]),
  ]);
  const liveGrants = new Map<string, string>();
  // Newest decision first: the first grant seen for a resource is the one recorded as used.
  for (const grant of grantRows) if (!liveGrants.has(grant.resourceCode)) liveGrants.set(grant.resourceCode, grant.id);
  return {
    resources: new Map<string, ResourceFacts>(resourceRows.map((row) => [row.code, row])),
    liveGrants,
    materialTypeGrants: new Set(typeRows.map((row) => row.typeCode)),
  };
}
