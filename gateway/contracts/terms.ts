/**
 * Sharing terms: the part of a contract's catalogue data that says who may read the resource —
 * its owner, sharing type, sharing conditions and how sensitive each field is. Only the owning
 * department may change them (access/policy.ts); a version that does is listed with the changes
 * below, shown in the diff and audited.
 */
import type { CatalogueData } from './catalogue-data.js';
import type { ContractChange } from './diff.js';

const SENSITIVITY_ORDER = ['public', 'internal', 'sensitive', 'secret'] as const;

/** The changes to the sharing terms from one version's catalogue data to the next one's. */
export function sharingTermChanges(previous: CatalogueData, next: CatalogueData): ContractChange[] {
  const changes: ContractChange[] = [];
  const change = (code: string, pointer: string, message: string) =>
    changes.push({ code, severity: 'compatible', location: { pointer }, message });
  if (previous.departmentCode !== next.departmentCode) {
    change(
      'sharing_owner_changed',
      '/catalogue/departmentCode',
      `The owner changes from ${previous.departmentCode} to ${next.departmentCode}.`,
    );
  }
  if (previous.sharingType !== next.sharingType) {
    change(
      'sharing_type_changed',
      '/catalogue/sharingType',
      `The sharing type changes from ${previous.sharingType} to ${next.sharingType}.`,
    );
  }
  if ((previous.sharingConditions ?? '') !== (next.sharingConditions ?? '')) {
    change('sharing_conditions_changed', '/catalogue/sharingConditions', 'The sharing conditions change.');
  }
  for (const [field, level] of Object.entries(previous.fieldSensitivity)) {
    const nextLevel = next.fieldSensitivity[field];
    const pointer = `/catalogue/fieldSensitivity/${field.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (nextLevel === undefined)
      change('field_sensitivity_removed', pointer, `${field} loses its sensitivity (${level}).`);
    else if (nextLevel !== level) {
      const direction = SENSITIVITY_ORDER.indexOf(nextLevel) < SENSITIVITY_ORDER.indexOf(level) ? 'lowered' : 'raised';
      change(
        'field_sensitivity_changed',
        pointer,
        `${field}'s sensitivity is ${direction} from ${level} to ${nextLevel}.`,
      );
    }
  }
  return changes;
}

/** The terms as an audit entry lists them. */
export function termsFields(catalogue: CatalogueData): string[] {
  return [`owner:${catalogue.departmentCode}`, `sharing:${catalogue.sharingType}`];
}
