/**
 * Every way a department call can fail, as one error class with a `kind`. The gateway maps kinds
 * to its stable error codes (`departmentErrorCodes`); adapters throw these and nothing else, so
 * a department's quirks never leak out as a 500.
 *
 * Messages must not carry personal data: they end up in logs.
 */

export const departmentErrorKinds = [
  /** The department answered, but with a business error (e.g. HTTP 200 and a non-success code, a SOAP fault). */
  'business_error',
  /** The department refused the request (4xx): our request or credentials are wrong. */
  'rejected',
  /** The department failed (5xx) or its queue/job failed. */
  'unavailable',
  /** No answer (connect, headers or body) within its timeout, or the total time budget ran out. */
  'timeout',
  /** The connection was refused, reset or closed early. */
  'connection',
  /** The answer could not be parsed (not JSON / not XML / wrong encoding / wrong media type). */
  'malformed',
  /** The answer was larger than the response-size cap. */
  'oversized',
  /** The answer parsed but does not satisfy the department's published contract. */
  'contract_violation',
  /** The answer is about a different subject than the one asked for. */
  'wrong_subject',
  /** The circuit breaker is open: the department failed repeatedly and is not called for now. */
  'circuit_open',
  /** Too many calls to this department are in flight already. */
  'overloaded',
  /** The base URL is not allowed (allowlist, private ranges) or a redirect was answered. */
  'not_allowed',
] as const;

export type DepartmentErrorKind = (typeof departmentErrorKinds)[number];

export interface DepartmentErrorDetails {
  department: string;
  /** The operation (contract operationId or adapter step), for logs and metrics. */
  operation?: string;
  /** HTTP status the department answered, if any. */
  status?: number;
  /** The department's own error code (business errors, SOAP fault codes). */
  departmentCode?: string;
  /**
   * The department's own words with a business refusal of a case (e.g. 该不动产已被查封，不予办理转移登记),
   * verbatim: kept with the case and shown to the window and the applicant. Only for refusals
   * whose text is the department's fixed reason, never an echo of the request.
   */
  departmentMessage?: string;
  /** Contract violations: JSON pointers and keywords, never values. */
  violations?: { path: string; keyword: string }[];
  cause?: unknown;
}

export class DepartmentError extends Error {
  override readonly name = 'DepartmentError';
  readonly kind: DepartmentErrorKind;
  readonly details: DepartmentErrorDetails;

  constructor(kind: DepartmentErrorKind, message: string, details: DepartmentErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.details = details;
  }
}

/**
 * Whether a failure of this kind counts against the department's circuit breaker. A business
 * error, a not-found or a refused request is a healthy department saying no; only failures that
 * suggest the department (or the way to it) is broken open the breaker.
 */
export function countsAsDepartmentFailure(kind: DepartmentErrorKind): boolean {
  return (
    kind === 'unavailable' ||
    kind === 'timeout' ||
    kind === 'connection' ||
    kind === 'malformed' ||
    kind === 'oversized'
  );
}

/** Whether an idempotent call may be retried after a failure of this kind. */
export function isRetryable(kind: DepartmentErrorKind): boolean {
  return kind === 'unavailable' || kind === 'timeout' || kind === 'connection';
}
