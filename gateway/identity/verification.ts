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
import { subjects } from '../db/schema.js';
import { eq } from 'drizzle-orm';
import { ApiError } from '../platform/errors.js';
import { type AccessContext, auditRefusal } from './subjects.js';

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
  if (!first) throw new ApiError('no_identity_verifier', 'No configured department system verifies identities.');
  return first;
}

export async function verifySubjectIdentity(
  context: VerificationContext,
  subjectId: string,
  input: { department?: string | undefined },
): Promise<IdentityVerificationView> {
  const [subject] = await context.db.select().from(subjects).where(eq(subjects.id, subjectId));
  if (!subject) {
    await auditRefusal(context, ACTION, subjectId, 'not_found');
    throw new ApiError('not_found', 'No such subject.');
  }
  if (subject.kind !== 'person') {
    throw new ApiError('identity_verification_not_applicable', 'Only persons (resident ID numbers) can be verified against the population register.');
  }
  const department = chooseVerifier(context.departments, input.department);
  const disclosure = { actor: context.principal, operatorId: context.purpose.operatorId, action: ACTION, subjectRef: subject.id, purpose: context.purpose.purpose, caseRef: context.purpose.caseRef, requestId: context.requestId };
  let result: IdentityVerificationResult;
  try {
    result = await callDepartment(
      {
        db: context.db,
        principal: context.principal,
        requestId: context.requestId,
        logger: context.logger,
        purpose: context.purpose.purpose,
        caseRef: context.purpose.caseRef,
        subjectRef: subject.id,
        ...(context.signal ? { signal: context.signal } : {}),
      },
      department,
      'verifyIdentity',
      (adapter, callContext) => adapter.verifyIdentity!({ idNumber: subject.identifier, name: subject.name }, callContext),
    );
  } catch (error) {
    // The identifier and name may have reached the department even when its answer failed.
    if (error instanceof ApiError && error.code.startsWith('department_')) {
      await recordAudit(context.db, { ...disclosure, fields: ['identifier', 'name', `department:${department.code}`], outcome: 'failed' });
    }
    throw error;
  }
  const checkedAt = new Date();
  await recordAudit(context.db, { ...disclosure, fields: ['identifier', 'name', `department:${department.code}`, `result:${result.outcome}`], outcome: 'allowed' });
  return { subjectId: subject.id, department: department.code, outcome: result.outcome, checkedAt: checkedAt.toISOString() };
}
