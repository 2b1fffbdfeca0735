/**
 * Submission types: the kinds of case a department's system takes (`submissionTypes` on the
 * adapter, each with the JSON Schema of the form fields it reads), what such a schema requires,
 * and the one refusal every adapter gives for a type it does not declare.
 */
import { DepartmentError } from './errors.js';
import type { CaseSubmissionRequest, SubmissionTypeDeclaration } from './types.js';

/** A submission-type code: lower-case words joined by `_` (`transfer_registration`). */
export const SUBMISSION_TYPE_CODE = /^[a-z][a-z0-9_]{1,59}$/;

/** What a type's form schema requires: every field of `all`, and one whole set of `oneSetOf` (when not empty). */
export interface FormRequirements {
  all: string[];
  oneSetOf: string[][];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? (value as string[]) : null;
}

/**
 * The fields a form schema requires at its top level: `required`, and the `anyOf` (or `oneOf`)
 * whose branches are each `{required: [...]}` — one of those sets. Other keywords (conditionals,
 * nested objects) are not read: what a type cannot do without belongs in these two.
 */
export function formRequirements(schema: Readonly<Record<string, unknown>>): FormRequirements {
  const all = stringList(schema['required']) ?? [];
  const branches: unknown[] = Array.isArray(schema['anyOf'])
    ? schema['anyOf']
    : Array.isArray(schema['oneOf'])
      ? schema['oneOf']
      : [];
  const oneSetOf = branches.flatMap((branch) => {
    const required = isRecord(branch) ? stringList(branch['required']) : null;
    return required === null ? [] : [required];
  });
  return { all, oneSetOf };
}

/** The `type` a form schema gives a top-level property (a string or a list), or undefined. */
export function formPropertyType(
  schema: Readonly<Record<string, unknown>>,
  field: string,
): string | string[] | undefined {
  const properties = schema['properties'];
  const property = isRecord(properties) ? properties[field] : undefined;
  if (!isRecord(property)) return undefined;
  const type = property['type'];
  return typeof type === 'string' ? type : (stringList(type) ?? undefined);
}

/**
 * What is wrong with an adapter's declaration (empty: nothing): codes, names, an object schema
 * whose required fields are all described in `properties`. The conformance suite checks it.
 */
export function submissionTypeProblems(declared: Readonly<Record<string, SubmissionTypeDeclaration>>): string[] {
  const problems: string[] = [];
  const codes = Object.keys(declared);
  if (codes.length === 0) problems.push('no submission type is declared');
  for (const code of codes) {
    const declaration = declared[code]!;
    if (!SUBMISSION_TYPE_CODE.test(code))
      problems.push(`${code}: a code is lower-case letters, digits and underscores (2-60)`);
    if (typeof declaration.name !== 'string' || declaration.name.trim() === '') problems.push(`${code}: no name`);
    if (typeof declaration.nameZh !== 'string' || declaration.nameZh.trim() === '') problems.push(`${code}: no nameZh`);
    const schema = declaration.formSchema;
    if (!isRecord(schema) || schema['type'] !== 'object') {
      problems.push(`${code}: formSchema is an object schema ({type: "object", properties, required})`);
      continue;
    }
    if (schema['required'] !== undefined && stringList(schema['required']) === null)
      problems.push(`${code}: required is a list of field names`);
    const properties = isRecord(schema['properties']) ? schema['properties'] : {};
    const { all, oneSetOf } = formRequirements(schema);
    for (const field of new Set([...all, ...oneSetOf.flat()])) {
      if (!isRecord(properties[field]))
        problems.push(`${code}: the required field ${field} is not described in properties`);
    }
  }
  return problems;
}

/**
 * The refusal of a submission whose type the adapter does not declare: `rejected` (our request is
 * wrong, retrying cannot help), before anything is sent. Throw it from `submitCase`'s dispatch.
 */
export function unknownSubmissionType(
  adapterKind: string,
  department: string,
  request: Pick<CaseSubmissionRequest, 'submissionType'>,
  declared: Readonly<Record<string, SubmissionTypeDeclaration>>,
): DepartmentError {
  const given = SUBMISSION_TYPE_CODE.test(request.submissionType) ? `"${request.submissionType}"` : 'given';
  return new DepartmentError(
    'rejected',
    `${adapterKind}: the department takes no submission type ${given}; it takes ${Object.keys(declared).join(', ') || 'none'}`,
    {
      department,
      operation: 'submitCase',
    },
  );
}
