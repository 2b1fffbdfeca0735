/**
 * Identity verification (人口信息核查): asks a department that keeps the population register
 * whether a person subject's name matches its ID number. The subject's identifier and name leave
 * the gateway for this, so the call is a disclosure like any other: it needs a purpose, a grant
 * when the department's resource is conditional, and an audit entry naming the department.
 * No database transaction is held while the department answers.
 */
import type { Logger } from 'pino';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { checkIdentityAttributes } from '../../adapters/sdk/identity.js';
import {
  type IdentityAttributes,
  type IdentityVerificationRequest,
  type IdentityVerificationResult,
  type PersonIdentifierType,
  personIdentifierTypes,
} from '../../adapters/sdk/types.js';
import { recordAudit } from '../audit/record.js';
import { callDepartment, requireCapability, requireDepartment } from '../departments/calls.js';
import {
  type DepartmentRegistry,
  type RegisteredDepartment,
  verifiableIdentifierTypes,
} from '../departments/registry.js';
import { auditAccess, auditRefusals } from '../access/audit.js';
import type { AccessContext, AllowedDecision } from '../access/context.js';
import { ApiError, message } from '../platform/errors.js';
import { requireSubject, subjectDisclosure } from './subjects.js';

export interface VerificationContext extends AccessContext {
  departments: DepartmentRegistry;
  logger: Logger;
  signal?: AbortSignal;
}

function attributesOf(result: IdentityVerificationResult): IdentityAttributes | undefined {
  return result.outcome === 'match' ? result.attributes : undefined;
}

export interface IdentityVerificationView {
  subjectId: string;
  department: string;
  outcome: IdentityVerificationResult['outcome'];
  /** What the register holds about the person beyond the match (only with `match`, when it says). */
  attributes?: IdentityAttributes;
  checkedAt: string;
}

const ACTION = 'subject.identity_verification';

function isPersonIdentifierType(type: string): type is PersonIdentifierType {
  return (personIdentifierTypes as readonly string[]).includes(type);
}

/**
 * The department that answers: the one the caller names, else the one the configuration routes
 * this identifier type to (`identityVerification.identifierTypes`). Never the first in the list.
 */
function chooseVerifier(
  departments: DepartmentRegistry,
  identifierType: PersonIdentifierType,
  code: string | undefined,
): RegisteredDepartment {
  const department =
    code !== undefined ? requireDepartment(departments, code) : departments.identityVerifierFor(identifierType);
  if (department === undefined) {
    if (Object.keys(departments.identityVerificationRoutes()).length === 0)
      throw new ApiError('no_identity_verifier', message('identity.no_verifier'), { identifierType });
    throw new ApiError(
      'identifier_type_not_supported_by_department',
      message('identity.type_not_routed', { identifierType }),
      { identifierType },
    );
  }
  requireCapability(department, 'verifyIdentity');
  if (!verifiableIdentifierTypes(department.adapter).includes(identifierType))
    throw new ApiError(
      'identifier_type_not_supported_by_department',
      message('identity.department_does_not_verify_type', { department: department.code, identifierType }),
      { identifierType, department: department.code },
    );
  return department;
}

/** What the department is sent: the number without the gateway's `NATIONALITY:` prefix of passports. */
function verificationRequest(
  subject: { identifier: string; name: string },
  identifierType: PersonIdentifierType,
): IdentityVerificationRequest {
  if (identifierType === 'resident_id') return { idNumber: subject.identifier, name: subject.name };
  if (identifierType === 'passport') {
    const separator = subject.identifier.indexOf(':');
    return {
      idNumber: subject.identifier.slice(separator + 1),
      name: subject.name,
      identifierType,
      nationality: subject.identifier.slice(0, separator),
    };
  }
  return { idNumber: subject.identifier, name: subject.name, identifierType };
}

/**
 * The adapter's answer with its attributes checked against the SDK's schema: a malformed or
 * unknown attribute is the department breaking its contract (502 department_contract_violation),
 * and attributes never travel with anything but a match.
 */
export function checkedResult(department: string, result: IdentityVerificationResult): IdentityVerificationResult {
  if (result.outcome !== 'match') return { outcome: result.outcome };
  if (result.attributes === undefined) return { outcome: 'match' };
  const checked = checkIdentityAttributes(result.attributes);
  if (!checked.ok)
    throw new DepartmentError('contract_violation', `${department} verifyIdentity: attributes break the SDK's types`, {
      department,
      operation: 'verifyIdentity',
      violations: checked.problems.map((problem) => ({
        path: problem.split(':')[0] ?? '/attributes',
        keyword: 'attributes',
      })),
    });
  return Object.keys(checked.attributes).length === 0
    ? { outcome: 'match' }
    : { outcome: 'match', attributes: checked.attributes };
}

export async function verifySubjectIdentity(
  context: VerificationContext,
  subjectId: string,
  input: { department?: string | undefined },
): Promise<IdentityVerificationView> {
  const subject = await auditRefusals(context, { action: ACTION, subjectId }, async () => {
    const row = await requireSubject(context.db, context.access.protection, subjectId);
    // Sending the name and number to a department discloses them: the caller must be allowed to see them.
    await subjectDisclosure(context.db, context, row.id);
    return row;
  });
  if (subject.kind !== 'person' || !isPersonIdentifierType(subject.identifierType)) {
    throw new ApiError('identity_verification_not_applicable', message('identity.persons_only_any_register'));
  }
  // Chosen (and refused when nobody verifies this kind of document) before any department is called.
  const department = chooseVerifier(context.departments, subject.identifierType, input.department);
  const request = verificationRequest(subject, subject.identifierType);
  let answer: { result: IdentityVerificationResult; decision: AllowedDecision };
  try {
    answer = await callDepartment(
      { ...context, subjectRef: subject.id },
      department,
      'verifyIdentity',
      async (adapter, callContext) =>
        checkedResult(department.code, await adapter.verifyIdentity!(request, callContext)),
    );
  } catch (error) {
    // The identifier and name may have reached the department even when its answer failed.
    if (error instanceof ApiError && error.code.startsWith('department_')) {
      await recordAudit(context.db, {
        actor: context.principal,
        operatorId: context.purpose.operatorId,
        action: ACTION,
        subjectRef: subject.id,
        purpose: context.purpose.purpose,
        caseRef: context.purpose.caseRef,
        requestId: context.requestId,
        fields: ['identifier', 'name', `department:${department.code}`],
        outcome: 'failed',
      });
    }
    throw error;
  }
  const checkedAt = new Date();
  await context.db.transaction((tx) =>
    auditAccess(tx, context, {
      decision: answer.decision,
      action: ACTION,
      subjectId: subject.id,
      fields: [
        'identifier',
        'name',
        `department:${department.code}`,
        `result:${answer.result.outcome}`,
        // Which facts the register disclosed (names only: the values are personal data).
        ...Object.keys(attributesOf(answer.result) ?? {}).map((name) => `attribute:${name}`),
      ],
    }),
  );
  return {
    subjectId: subject.id,
    department: department.code,
    outcome: answer.result.outcome,
    ...(attributesOf(answer.result) ? { attributes: attributesOf(answer.result) } : {}),
    checkedAt: checkedAt.toISOString(),
  };
}
