/**
 * Department failures as the gateway's stable errors. Adapters throw `DepartmentError` with a
 * kind; callers of the gateway see one error code per kind and the department's code, never the
 * department's raw answer (it may carry personal data).
 */
import { DepartmentError, type DepartmentErrorKind } from '../../adapters/sdk/errors.js';
import { ApiError, type ErrorCode, message } from '../platform/errors.js';

export const departmentErrorCodes: Record<DepartmentErrorKind, ErrorCode> = {
  business_error: 'department_error',
  rejected: 'department_rejected',
  unavailable: 'department_unavailable',
  timeout: 'department_timeout',
  connection: 'department_connection_failed',
  malformed: 'department_malformed_response',
  oversized: 'department_response_too_large',
  contract_violation: 'department_contract_violation',
  wrong_subject: 'department_wrong_subject',
  circuit_open: 'department_circuit_open',
  overloaded: 'department_overloaded',
  not_allowed: 'department_not_allowed',
};

/** How long a caller should wait before trying a department again, for the 503 kinds. */
const RETRY_AFTER_SECONDS: Partial<Record<DepartmentErrorKind, number>> = {
  circuit_open: 10,
  overloaded: 1,
  unavailable: 5,
};

export function toApiError(error: DepartmentError): ApiError {
  const { department, departmentCode, departmentMessage, operation } = error.details;
  const retryAfter = RETRY_AFTER_SECONDS[error.kind];
  return new ApiError(
    departmentErrorCodes[error.kind],
    message(`department.${error.kind}`, { department, operation: operation ?? 'none' }),
    {
      department,
      // The adapter's own words, for the integrator's diagnosis: technical English, no personal data.
      reason: error.message,
      ...(operation === undefined ? {} : { operation }),
      ...(departmentCode === undefined ? {} : { departmentCode }),
      ...(departmentMessage === undefined ? {} : { departmentMessage }),
    },
    retryAfter === undefined ? {} : { headers: { 'Retry-After': String(retryAfter) } },
  );
}

/** Converts a department failure thrown by an adapter; anything else passes through unchanged. */
export function mapDepartmentFailure(error: unknown): unknown {
  return error instanceof DepartmentError ? toApiError(error) : error;
}
