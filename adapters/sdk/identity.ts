/**
 * The checks on what a register says about a person beyond "the name matches": every attribute
 * of `IdentityAttributes` with its format, unknown ones refused. The gateway runs it on every
 * verification answer (a violation is the department's `contract_violation`); an adapter may run
 * it on what it built from its department's answer.
 */
import { z } from 'zod';
import { type IdentityAttributes, maritalStatuses } from './types.js';

function isRealDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date written YYYY-MM-DD')
  .refine(isRealDate, 'a real calendar date');

export const identityAttributesSchema = z
  .object({
    maritalStatus: z.enum(maritalStatuses).optional(),
    maritalStatusSince: isoDate.optional(),
    householdDivision: z
      .string()
      .regex(/^\d{6}$/, 'a six-digit division code')
      .optional(),
    deceasedOn: isoDate.optional(),
  })
  .strict() satisfies z.ZodType<IdentityAttributes>;

/** The attributes, checked; or the problems (`path: message`), never echoing a value. */
export function checkIdentityAttributes(
  value: unknown,
): { ok: true; attributes: IdentityAttributes } | { ok: false; problems: string[] } {
  const parsed = identityAttributesSchema.safeParse(value);
  if (parsed.success) {
    const attributes: IdentityAttributes = {};
    for (const [key, item] of Object.entries(parsed.data))
      if (item !== undefined) Object.assign(attributes, { [key]: item });
    return { ok: true, attributes };
  }
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `/attributes/${issue.path.join('/')}: ${issue.message}`),
  };
}
