/**
 * Identity verification (人口信息核查): asks a department that keeps the population register
 * whether a person subject's name matches its ID number. The subject's identifier and name leave
 * the gateway for this, so the call is a disclosure like any other: it needs a purpose, a grant
 * when the department's resource is conditional, and an audit entry naming the department.
 * No database transaction is held while the department answers.
 */
import type { Logger } from 'pino';
import type { IdentityVerificationResult } from '../../adapters/sdk/types.js';
import { recordAudit } from '../audit/record.js';
import { callDepartment, requireDepartment } from '../departments/calls.js';
import type { DepartmentRegistry, RegisteredDepartment } from '../departments/registry.js';
import { auditAccess, auditRefusals } from '../access/audit.js';
import type { AccessContext, AllowedDecision } from '../access/context.js';
import { ApiError, message } from '../platform/errors.js';
import { departmentSubjectRef, requireSubject, subjectDisclosure } from './subjects.js';

export interface VerificationContext extends AccessContext {
  departments: DepartmentRegistry;
  logger: Logger;
  signal?: AbortSignal;
}

export interface IdentityVerificationView {
  subjectId: string;
  department: string;
  outcome: IdentityVerificationResult['outcome'];
  checkedAt: string;
}

const ACTION = 'subject.identity_verification';

function chooseVerifier(departments: DepartmentRegistry, code: string | undefined): RegisteredDepartment {
  if (code !== undefined) return requireDepartment(departments, code);
  const [first] = departments.identityVerifiers();
  if (!first) throw new ApiError('no_identity_verifier', message('identity.no_verifier'));
  return first;
}

export async function verifySubjectIdentity(
  context: VerificationContext,
  subjectId: string,
  input: { department?: string | undefined },
): Promise<IdentityVerificationView> {
  const subject = await auditRefusals(context, { action: ACTION, subjectId }, async () => {
    const row = await requireSubject(context.db, subjectId);
    // Sending the name and number to a department discloses them: the caller must be allowed to see them.
    await subjectDisclosure(context.db, context, row.id);
    return row;
  });
  if (subject.kind !== 'person') {
    throw new ApiError('identity_verification_not_applicable', message('identity.persons_only'));
  }
  // A person known by a passport, travel permit or permanent resident card is refused before any
  // department is chosen or called: the register is asked by resident ID number only.
  const ref = departmentSubjectRef(subject, input.department);
  if (ref.kind !== 'person') {
    throw new ApiError('identity_verification_not_applicable', message('identity.persons_only'));
  }
  const department = chooseVerifier(context.departments, input.department);
  let answer: { result: IdentityVerificationResult; decision: AllowedDecision };
  try {
    answer = await callDepartment(
      { ...context, subjectRef: subject.id },
      department,
      'verifyIdentity',
      (adapter, callContext) => adapter.verifyIdentity!({ idNumber: ref.idNumber, name: ref.name }, callContext),
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
      fields: ['identifier', 'name', `department:${department.code}`, `result:${answer.result.outcome}`],
    }),
  );
  return {
    subjectId: subject.id,
    department: department.code,
    outcome: answer.result.outcome,
    checkedAt: checkedAt.toISOString(),
  };
}
