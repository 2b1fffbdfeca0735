/**
 * An item's application form is described by a JSON Schema (draft 2020-12) in the catalogue;
 * a case's form data is checked against it before anything is written, and each problem is
 * reported with its JSON pointer so the window clerk knows which field to fix.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { linearPatternProblem, linearRegExpEngine } from '../../adapters/sdk/linear-patterns.js';
import { useLinearUniqueItems } from '../../adapters/sdk/unique-items.js';
import { ApiError, message } from '../platform/errors.js';

// ajv-formats is CommonJS: under ESM its plugin is the module's `default`.
const addFormats = formatsModule.default;

// Strict, so a misspelt keyword in an administrator's schema is refused rather than ignored; except
// `required` naming a property defined elsewhere (in `if`/`then` branches), which is legitimate.
// Window systems send the text patterns run against: patterns match in linear time (re2js, see
// adapters/sdk/linear-patterns.ts), and `uniqueItems` is decided without comparing every pair.
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictRequired: false,
  code: { regExp: linearRegExpEngine },
});
useLinearUniqueItems(ajv);
addFormats(ajv);

/** Compiled validators by schema text: items are few and their schemas rarely change. */
const compiled = new Map<string, ValidateFunction>();
/**
 * The same by schema object: the item catalogue hands out one object per item until it reloads,
 * and writing it out as the key cost every case check a serialisation (bench:cases profile).
 */
const compiledByObject = new WeakMap<Record<string, unknown>, ValidateFunction>();

/** Compiles a form schema, throwing the compiler's message when it is not a valid strict schema. */
export function compileFormSchema(schema: Record<string, unknown>): ValidateFunction {
  const known = compiledByObject.get(schema);
  if (known) return known;
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  compiledByObject.set(schema, validate);
  return validate;
}

/**
 * The `pattern`s (and `patternProperties` keys) of a form schema that no linear-time engine can
 * match (backreferences, lookaround), each with the reason: refused when the item is saved, as
 * the form check could not run them.
 */
export function nonLinearPatterns(schema: unknown): { pattern: string; problem: string }[] {
  const found: { pattern: string; problem: string }[] = [];
  const check = (pattern: string): void => {
    const problem = linearPatternProblem(pattern);
    // A pattern that is no regular expression at all is reported by the strict compile.
    if (problem !== undefined && !problem.startsWith('not a regular expression')) found.push({ pattern, problem });
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const entry of node) visit(entry);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'pattern' && typeof value === 'string') check(value);
      if (key === 'patternProperties' && value !== null && typeof value === 'object') {
        for (const property of Object.keys(value)) check(property);
      }
      visit(value);
    }
  };
  visit(schema);
  return found;
}

/** Checks a case's form data; `form_invalid` (422) lists every problem with its pointer. */
export function checkForm(itemCode: string, schema: Record<string, unknown>, form: Record<string, unknown>): void {
  const validate = compileFormSchema(schema);
  if (validate(form)) return;
  const errors = (validate.errors ?? []).map((error) => ({
    path: error.instancePath || '/',
    message:
      error.keyword === 'additionalProperties'
        ? `unknown field ${String((error.params as { additionalProperty?: unknown }).additionalProperty)}`
        : (error.message ?? error.keyword),
  }));
  throw new ApiError(
    'form_invalid',
    message('item.form_invalid', {
      itemCode,
      errors: errors.map((error) => `${error.path} ${error.message}`).join('; '),
    }),
    { errors },
  );
}
