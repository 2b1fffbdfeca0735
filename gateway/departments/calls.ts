/**
 * The one path from a gateway service function to a department: find the department, check that
 * it offers the capability, enforce the sharing rules of the contract resource it uses (grants
 * for conditional resources, audited), call the adapter without holding a database transaction,
 * and turn department failures into the gateway's stable errors.
 */
import type { Logger } from 'pino';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import type { CapabilityName, CallContext, DepartmentAdapter } from '../../adapters/sdk/types.js';
import { auditRefusal } from '../access/audit.js';
import { type AccessContext, type AllowedDecision, refusal } from '../access/context.js';
import { ApiError, message } from '../platform/errors.js';
import { toApiError } from './errors.js';
import type { DepartmentRegistry, RegisteredDepartment } from './registry.js';

export interface DepartmentCallContext extends AccessContext {
  logger: Logger;
  /** Whose data the call sends, recorded with the access decision. */
  subjectRef: string | null;
  signal?: AbortSignal;
}

export function requireDepartment(registry: DepartmentRegistry, code: string): RegisteredDepartment {
  const department = registry.get(code);
  if (!department)
    throw new ApiError('unknown_department', message('department.unknown', { department: code }), { department: code });
  return department;
}

/**
 * Runs `call` against the department's adapter for `capability`, once the access policy allowed
 * the caller to use the contract resource behind it (conditional ones need a grant). The decision
 * is audited either way, a refusal in its own transaction. Returns the adapter's answer and the
 * decision, for the caller's audit entry of what was disclosed.
 */
export async function callDepartment<Result>(
  context: DepartmentCallContext,
  department: RegisteredDepartment,
  capability: CapabilityName,
  call: (adapter: DepartmentAdapter, callContext: CallContext) => Promise<Result>,
): Promise<{ result: Result; decision: AllowedDecision }> {
  requireCapability(department, capability);
  const decision = await requireResourceUse(context, department.adapter.resources[capability] ?? null);
  return { result: await invokeDepartment(context, department, capability, call), decision };
}

/** The policy's yes to using a department resource (none: the department publishes no terms), audited. */
export async function requireResourceUse(
  context: DepartmentCallContext,
  resourceCode: string | null,
): Promise<AllowedDecision> {
  const resource = { kind: 'department_resource' as const, code: resourceCode ?? '' };
  if (resourceCode === null) return { allowed: true, rule: 'resource.none', grantId: null };
  const decision = await context.access.decide(context.db, 'resource.use', resource);
  const fields = [
    `resource:${resourceCode}`,
    decision.allowed ? `grant:${decision.grantId ?? 'unconditional'}` : `refused:${decision.reason}`,
  ];
  // Allowed or refused, in a transaction of its own: the department call that follows holds none.
  await auditRefusal(context, {
    action: 'contract.access_check',
    subjectId: context.subjectRef,
    fields,
    outcome: decision.allowed ? 'allowed' : decision.reason === 'unknown_resource' ? 'not_found' : 'denied',
  });
  if (!decision.allowed) throw refusal(decision, resource);
  return decision;
}

export function requireCapability(department: RegisteredDepartment, capability: CapabilityName): void {
  if (department.adapter[capability] === undefined) {
    throw new ApiError(
      'capability_not_offered',
      message('department.capability_not_offered', { department: department.code, capability }),
      {
        department: department.code,
        capability,
      },
    );
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
    const result = await call(department.adapter, {
      requestId: context.requestId,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    department.metrics.observeResult?.(department.code, capability, 'ok');
    return result;
  } catch (error) {
    // A business error inside a 200 is an `ok` call for the client: only here does it show.
    department.metrics.observeResult?.(
      department.code,
      capability,
      error instanceof DepartmentError ? error.kind : 'gateway_error',
    );
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
