/** How a department system is doing: its public description, call figures, and a live health check. */
import type { DepartmentMetricsRecorder } from '../../adapters/sdk/metrics.js';
import type { CapabilityName } from '../../adapters/sdk/types.js';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { ApiError, message } from '../platform/errors.js';
import { toApiError } from './errors.js';
import { type RegisteredDepartment, verifiableIdentifierTypes } from './registry.js';

const capabilityNames: readonly CapabilityName[] = [
  'verifyIdentity',
  'fetchCertificate',
  'submitCase',
  'queryCaseStatus',
  'cancelCase',
  'health',
];

export function departmentView(department: RegisteredDepartment, metrics: DepartmentMetricsRecorder) {
  const { adapter } = department;
  const snapshot = metrics.snapshot(department.code);
  return {
    code: department.code,
    name: department.name,
    adapterKind: department.adapterKind,
    // The origin only: a base URL's path or query may carry a tenant key.
    origin: new URL(department.baseUrl).origin,
    capabilities: capabilityNames.filter((capability) => adapter[capability] !== undefined),
    certificateTypes: [...(adapter.certificateTypes ?? [])],
    identityVerification: {
      identifierTypes: [...verifiableIdentifierTypes(adapter)],
      answersByDefault: [...department.answersIdentityVerification],
    },
    // What an item may name as this department's submission type, with the form fields each needs.
    submissionTypes: Object.entries(adapter.submissionTypes ?? {}).map(([code, declared]) => ({
      code,
      name: declared.name,
      nameZh: declared.nameZh,
      formSchema: declared.formSchema,
    })),
    resources: Object.fromEntries(
      Object.entries(adapter.resources).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
    // The client knows the breaker's state even before the first call is recorded.
    breakerState: department.client.breakerState(),
    calls: snapshot.calls,
    errors: snapshot.errors,
    errorsByKind: snapshot.errorsByKind,
    lastError: snapshot.lastError,
    latencyMs: snapshot.latencyMs,
    contractViolations: snapshot.contractViolations,
    // Retries made visible: a 502 answered by a retry's 200 is an ok call but not an ok attempt.
    traffic: {
      since: snapshot.since,
      calls: snapshot.calls,
      attempts: snapshot.attempts,
      retries: snapshot.retries,
      outcomes: snapshot.outcomes,
      operations: snapshot.operations,
      lastFailure: snapshot.lastFailure,
    },
  };
}

export async function checkDepartmentHealth(department: RegisteredDepartment, requestId: string) {
  const { adapter } = department;
  if (!adapter.health) {
    throw new ApiError(
      'capability_not_offered',
      message('department.capability_not_offered', { department: department.code, capability: 'health' }),
      {
        department: department.code,
        capability: 'health',
      },
    );
  }
  const started = performance.now();
  let outcome: {
    ok: boolean;
    detail: string | null;
    error: { code: string; message: string; reason: string } | null;
  };
  try {
    const result = await adapter.health({ requestId });
    outcome = { ok: result.ok, detail: result.detail ?? null, error: null };
  } catch (error) {
    if (!(error instanceof DepartmentError)) throw error;
    const mapped = toApiError(error);
    // `reason`: the adapter's own words (why exactly), for the operator diagnosing the link.
    outcome = { ok: false, detail: null, error: { code: mapped.code, message: mapped.message, reason: error.message } };
  }
  return {
    code: department.code,
    ...outcome,
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
    checkedAt: new Date().toISOString(),
    breakerState: department.client.breakerState(),
  };
}
