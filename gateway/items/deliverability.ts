/**
 * Whether an item's cases can be delivered: every department of the item is configured, its
 * adapter receives cases (`submitCase`), declares the submission type the item names for it, and
 * the item's form requires every field that type requires. Checked when an item is saved (`422
 * item_not_deliverable` with every gap), at start (a stored item a changed adapter can no longer
 * take is logged) and when a case is submitted (`department_not_receiving`).
 *
 * A type's requirements are read from its form schema's top level (`required`, and an `anyOf` of
 * `{required: [...]}` sets, see `formRequirements`); the item's form must list the same fields in
 * its own top-level `required` — a field the item only sometimes requires (a conditional) does not
 * count. Where a type and the item both give a field a `type`, they must agree.
 */
import type { Logger } from 'pino';
import { formPropertyType, formRequirements } from '../../adapters/sdk/submissions.js';
import type { DepartmentAdapter } from '../../adapters/sdk/types.js';

/** What stands in the way, per department (stable codes). */
export const DELIVERABILITY_PROBLEMS = [
  /** No department system with this code is configured. */
  'department_not_configured',
  /** Its adapter does not receive cases (no `submitCase`). */
  'not_receiving',
  /** The item names no submission type for it, and its adapter declares several. */
  'submission_type_missing',
  /** Its adapter does not declare the submission type the item names. */
  'submission_type_not_declared',
  /** The type requires form fields the item's form does not require. */
  'form_field_not_required',
  /** The item's form gives a field another type than the submission type reads. */
  'form_field_type_mismatch',
] as const;
export type DeliverabilityProblem = (typeof DELIVERABILITY_PROBLEMS)[number];

export interface DeliverabilityGap {
  department: string;
  /** The submission type concerned; null when none could be chosen. */
  submissionType: string | null;
  problem: DeliverabilityProblem;
  /** The form fields concerned (`form_field_*`). */
  fields?: string[];
  /** For people: what is wrong and how to fix it. */
  message: string;
}

/** The departments as the check needs them (the gateway's DepartmentRegistry). */
export interface ReceivingDepartments {
  get(code: string): { adapter: Pick<DepartmentAdapter, 'submitCase' | 'submissionTypes'> } | undefined;
}

/** What the check reads of an item. */
export interface DeliverableItem {
  code: string;
  departments: readonly string[];
  submissions: Readonly<Record<string, string>>;
  formSchema: Record<string, unknown>;
}

/**
 * The submission type a department receives the item's cases as: the one the item names, or —
 * for an item saved before items named types — the adapter's only declared type. Null: none.
 */
export function submissionTypeFor(
  submissions: Readonly<Record<string, string>>,
  department: string,
  adapter: Pick<DepartmentAdapter, 'submissionTypes'> | undefined,
): string | null {
  const named = Object.hasOwn(submissions, department) ? submissions[department] : undefined;
  if (named !== undefined) return named;
  const declared = Object.keys(adapter?.submissionTypes ?? {});
  return declared.length === 1 ? declared[0]! : null;
}

/** The item's submissions with the unambiguous ones filled in (a department whose adapter declares one type). */
export function completedSubmissions(
  item: Pick<DeliverableItem, 'departments' | 'submissions'>,
  departments: ReceivingDepartments,
): Record<string, string> {
  const completed: Record<string, string> = { ...item.submissions };
  for (const code of item.departments) {
    const type = submissionTypeFor(item.submissions, code, departments.get(code)?.adapter);
    if (type !== null) completed[code] = type;
  }
  return completed;
}

function typesOf(type: string | string[] | undefined): string[] | undefined {
  if (type === undefined) return undefined;
  const list = Array.isArray(type) ? type : [type];
  // An integer is a number: a type reading numbers takes an item's integers, and the other way round.
  return list.flatMap((entry) => (entry === 'integer' || entry === 'number' ? ['integer', 'number'] : [entry]));
}

/** Every gap that keeps the item's cases from being delivered (empty: deliverable). */
export function deliverabilityGaps(item: DeliverableItem, departments: ReceivingDepartments): DeliverabilityGap[] {
  const gaps: DeliverabilityGap[] = [];
  const itemRequires = new Set(formRequirements(item.formSchema).all);
  for (const department of new Set(item.departments)) {
    const adapter = departments.get(department)?.adapter;
    const named = Object.hasOwn(item.submissions, department) ? (item.submissions[department] ?? null) : null;
    if (adapter === undefined) {
      gaps.push({
        department,
        submissionType: named,
        problem: 'department_not_configured',
        message: `No department system ${department} is configured.`,
      });
      continue;
    }
    if (adapter.submitCase === undefined) {
      gaps.push({
        department,
        submissionType: named,
        problem: 'not_receiving',
        message: `${department}'s system does not receive cases.`,
      });
      continue;
    }
    const declared = adapter.submissionTypes ?? {};
    const offered = Object.keys(declared).join(', ') || 'none';
    const type = submissionTypeFor(item.submissions, department, adapter);
    if (type === null) {
      gaps.push({
        department,
        submissionType: null,
        problem: 'submission_type_missing',
        message: `Name the submission type of ${department} in submissions; it takes ${offered}.`,
      });
      continue;
    }
    const declaration = Object.hasOwn(declared, type) ? declared[type] : undefined;
    if (declaration === undefined) {
      gaps.push({
        department,
        submissionType: type,
        problem: 'submission_type_not_declared',
        message: `${department} takes no submission type ${type}; it takes ${offered}.`,
      });
      continue;
    }
    const { all, oneSetOf } = formRequirements(declaration.formSchema);
    const missing = all.filter((field) => !itemRequires.has(field));
    if (missing.length > 0) {
      gaps.push({
        department,
        submissionType: type,
        problem: 'form_field_not_required',
        fields: missing,
        message:
          `${declaration.name} (${declaration.nameZh}) at ${department} needs ${missing.join(', ')}: the ` +
          `item's formSchema must require ${missing.length === 1 ? 'it' : 'them'}.`,
      });
    }
    if (oneSetOf.length > 0 && !oneSetOf.some((set) => set.every((field) => itemRequires.has(field)))) {
      gaps.push({
        department,
        submissionType: type,
        problem: 'form_field_not_required',
        fields: [...new Set(oneSetOf.flat())],
        message:
          `${declaration.name} (${declaration.nameZh}) at ${department} needs one of ` +
          `${oneSetOf.map((set) => set.join(' + ')).join(' or ')}: the item's formSchema must require one of them.`,
      });
    }
    const properties = declaration.formSchema['properties'];
    const read = typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
    const mismatched = read.filter((field) => {
      const wanted = typesOf(formPropertyType(declaration.formSchema, field));
      const given = typesOf(formPropertyType(item.formSchema, field));
      return wanted !== undefined && given !== undefined && !given.some((entry) => wanted.includes(entry));
    });
    if (mismatched.length > 0) {
      gaps.push({
        department,
        submissionType: type,
        problem: 'form_field_type_mismatch',
        fields: mismatched,
        message: `${declaration.name} at ${department} reads ${mismatched.map((field) => `${field} as ${String(formPropertyType(declaration.formSchema, field))}`).join(', ')}; the item's form gives ${mismatched.length === 1 ? 'it' : 'them'} another type.`,
      });
    }
  }
  return gaps;
}

/**
 * At start: every stored active item whose cases can no longer be delivered (a department's
 * adapter changed or is gone) is logged as a warning; submitting its cases is refused until an
 * administrator fixes the item.
 */
export function warnUndeliverableItems(
  items: readonly DeliverableItem[],
  departments: ReceivingDepartments,
  logger: Pick<Logger, 'warn'>,
): string[] {
  const undeliverable: string[] = [];
  for (const item of items) {
    const gaps = deliverabilityGaps(item, departments);
    if (gaps.length === 0) continue;
    undeliverable.push(item.code);
    logger.warn(
      {
        item: item.code,
        gaps: gaps.map(({ department, submissionType, problem, fields }) => ({
          department,
          submissionType,
          problem,
          ...(fields ? { fields } : {}),
        })),
      },
      'item cannot be delivered: its cases will not be accepted for submission until the item or the department is fixed',
    );
  }
  return undeliverable;
}
