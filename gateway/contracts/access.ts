/**
 * Access grants to shared resources. An unconditional resource is open to every client; a
 * conditional one needs an access grant: the consumer asks (purpose, legal basis, optional
 * expiry), the owning department approves or denies, and an approved, unexpired request is the
 * grant. A resource that is not shared is refused to everyone. Requests and decisions are audited
 * here; enforcing them is the access policy's (access/policy.ts `resourceRule`).
 */
import { randomBytes } from 'node:crypto';
import { type SQL, and, desc, eq } from 'drizzle-orm';
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Database, Queryable } from '../db/client.js';
import { accessRequests, contractResources } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { requireContractResource } from './contracts.js';

export type AccessRequestRow = typeof accessRequests.$inferSelect;
export type AccessRequestStatus = 'pending' | 'approved' | 'denied';

export interface AccessRequestView {
  id: string;
  resourceCode: string;
  clientId: string;
  purpose: string;
  legalBasis: string;
  expiresAt: string | null;
  status: AccessRequestStatus;
  requestedAt: string;
  decision: { at: string; by: string; reason: string } | null;
}

export function newAccessRequestId(): string {
  return `acr_${randomBytes(12).toString('base64url')}`;
}

export function accessRequestView(row: AccessRequestRow): AccessRequestView {
  return {
    id: row.id,
    resourceCode: row.resourceCode,
    clientId: row.clientId,
    purpose: row.purpose,
    legalBasis: row.legalBasis,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    status: row.status,
    requestedAt: row.requestedAt.toISOString(),
    decision:
      row.decidedAt && row.decidedByClientId
        ? { at: row.decidedAt.toISOString(), by: row.decidedByClientId, reason: row.decisionReason ?? '' }
        : null,
  };
}

export interface AccessRequestInput {
  purpose: string;
  legalBasis: string;
  expiresAt?: Date;
  requestId?: string | null;
}

/** A consumer asks for access to a conditional resource. */
export async function requestResourceAccess(
  db: Database,
  principal: Principal,
  resourceCode: string,
  input: AccessRequestInput,
): Promise<AccessRequestView> {
  return db.transaction(async (tx) => {
    const resource = await requireContractResource(tx, resourceCode);
    if (resource.sharingType === 'not_shared') {
      throw new ApiError('resource_not_shared', message('contract.resource_not_shared', { resourceCode }), {
        resourceCode,
      });
    }
    if (resource.sharingType === 'unconditional') {
      throw new ApiError('unprocessable', message('contract.shared_unconditionally', { resourceCode }), {
        resourceCode,
      });
    }
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new ApiError('validation_failed', message('contract.grant_expiry_past'), {
        errors: [fieldProblem('expiresAt', 'must be in the future', '到期时间须晚于当前时间')],
      });
    }
    const [row] = await tx
      .insert(accessRequests)
      .values({
        id: newAccessRequestId(),
        resourceCode,
        clientId: principal.clientId,
        purpose: input.purpose,
        legalBasis: input.legalBasis,
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await recordAudit(tx, {
      actor: principal,
      action: 'contract.access_request',
      fields: [`resource:${resourceCode}`, `access_request:${row.id}`],
      purpose: input.purpose,
      outcome: 'allowed',
      requestId: input.requestId,
    });
    return accessRequestView(row);
  });
}

export interface AccessRequestFilters {
  status?: AccessRequestStatus;
  resourceCode?: string;
}

/**
 * The requests a client may see: a department deciding grants sees those for its department's
 * resources; a consumer sees its own. Anyone else is refused.
 */
export async function listAccessRequests(
  db: Queryable,
  principal: Principal,
  filters: AccessRequestFilters = {},
): Promise<AccessRequestView[]> {
  const conditions: SQL[] = [];
  if (principal.kind === 'department' && principal.scopes.has('grants:decide') && principal.departmentCode) {
    conditions.push(eq(contractResources.departmentCode, principal.departmentCode));
  } else if (principal.scopes.has('grants:request')) {
    conditions.push(eq(accessRequests.clientId, principal.clientId));
  } else {
    throw new ApiError('forbidden', message('contract.access_requests_visibility'));
  }
  if (filters.status) conditions.push(eq(accessRequests.status, filters.status));
  if (filters.resourceCode) conditions.push(eq(accessRequests.resourceCode, filters.resourceCode));
  const rows = await db
    .select({ request: accessRequests })
    .from(accessRequests)
    .innerJoin(contractResources, eq(contractResources.resourceCode, accessRequests.resourceCode))
    .where(and(...conditions))
    .orderBy(desc(accessRequests.requestedAt), desc(accessRequests.id))
    .limit(500);
  return rows.map(({ request }) => accessRequestView(request));
}

export interface AccessDecisionInput {
  decision: 'approve' | 'deny';
  reason: string;
  requestId?: string | null;
}

/** The owning department approves or denies a pending request; a decided request stays decided. */
export async function decideAccessRequest(
  db: Database,
  principal: Principal,
  accessRequestId: string,
  input: AccessDecisionInput,
): Promise<AccessRequestView> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ request: accessRequests, departmentCode: contractResources.departmentCode })
      .from(accessRequests)
      .innerJoin(contractResources, eq(contractResources.resourceCode, accessRequests.resourceCode))
      .where(eq(accessRequests.id, accessRequestId))
      .for('update', { of: accessRequests });
    if (!found) throw new ApiError('not_found', message('contract.no_access_request'));
    if (principal.kind !== 'department' || principal.departmentCode !== found.departmentCode) {
      throw new ApiError('forbidden', message('contract.owner_decides'));
    }
    if (found.request.status !== 'pending') {
      throw new ApiError(
        'access_request_decided',
        message('contract.access_request_decided', { status: found.request.status }),
        {
          status: found.request.status,
        },
      );
    }
    const [row] = await tx
      .update(accessRequests)
      .set({
        status: input.decision === 'approve' ? 'approved' : 'denied',
        decidedAt: new Date(),
        decidedByClientId: principal.clientId,
        decisionReason: input.reason,
      })
      .where(eq(accessRequests.id, accessRequestId))
      .returning();
    if (!row) throw new Error('update returned no row');
    await recordAudit(tx, {
      actor: principal,
      action: input.decision === 'approve' ? 'contract.access_approve' : 'contract.access_deny',
      fields: [`resource:${row.resourceCode}`, `access_request:${row.id}`, `client:${row.clientId}`],
      outcome: 'allowed',
      requestId: input.requestId,
    });
    return accessRequestView(row);
  });
}
