/**
 * The one path from a gateway service function to a department: find the department, check that
 * it offers the capability, enforce the sharing rules of the contract resource it uses (grants
 * for conditional resources, audited), call the adapter without holding a database transaction,
 * and turn department failures into the gateway's stable errors.
 */
import type { Logger } from 'pino';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import type { CapabilityName, CallContext, DepartmentAdapter } from '../../adapters/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import { enforceResourceAccess } from '../contracts/access.js';
import type { Database } from '../db/client.js';
import { ApiError } from '../platform/errors.js';
import { toApiError } from './errors.js';
import type { DepartmentRegistry, RegisteredDepartment } from './registry.js';

export interface DepartmentCallContext {
  db: Database;
  principal: Principal;
  requestId: string;
  logger: Logger;
  /** Recorded with the access decision. */
  purpose?: string | null;
  caseRef?: string | null;
  subjectRef?: string | null;
  signal?: AbortSignal;
}

export function requireDepartment(registry: DepartmentRegistry, code: string): RegisteredDepartment {
  const department = registry.get(code);
  if (!department) throw new ApiError('unknown_department', `No department system has the code ${code}.`, { department: code });
  return department;
}

/**
 * Runs `call` against the department's adapter for `capability`. The caller must hold a grant
 * when the contract resource behind the capability is conditional.
 */
export async function callDepartment<Result>(
  context: DepartmentCallContext,
  department: RegisteredDepartment,
  capability: CapabilityName,
  call: (adapter: DepartmentAdapter, callContext: CallContext) => Promise<Result>,
): Promise<Result> {
  requireCapability(department, capability);
  const resourceCode = department.adapter.resources[capability];
  if (resourceCode !== undefined) {
    await enforceResourceAccess(context.db, { principal: context.principal, requestId: context.requestId, purpose: context.purpose ?? null, caseRef: context.caseRef ?? null, subjectRef: context.subjectRef ?? null }, resourceCode);
  }
  return invokeDepartment(context, department, capability, call);
}

export function requireCapability(department: RegisteredDepartment, capability: CapabilityName): void {
  if (department.adapter[capability] === undefined) {
    throw new ApiError('capability_not_offered', `${department.code} does not offer ${capability}.`, { department: department.code, capability });
  }
}

/**
 * Calls the adapter and maps its failures, for callers that have already checked access (the
 * certificate flow checks every resource of a request in one transaction).
 */
export async function invokeDepartment<Result>(
  context: Pick<DepartmentCallContext, 'requestId' | 'logger' | 'signal'>,
  department: RegisteredDepartment,
  capability: CapabilityName,
  call: (adapter: DepartmentAdapter, callContext: CallContext) => Promise<Result>,
): Promise<Result> {
  try {
    return await call(department.adapter, { requestId: context.requestId, ...(context.signal ? { signal: context.signal } : {}) });
  } catch (error) {
    if (!(error instanceof DepartmentError)) throw error;
    // Kind, operation and violation paths only: the department's answer may carry personal data.
    context.logger.warn(
      {
        department: department.code,
        capability,
        kind: error.kind,
        operation: error.details.operation,
        status: error.details.status,
        departmentCode: error.details.departmentCode,
        violations: error.details.violations?.slice(0, 10),
      },
      'department call failed',
    );
    throw toApiError(error);
  }
}
