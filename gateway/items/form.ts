/**
 * An item's application form is described by a JSON Schema (draft 2020-12) in the catalogue;
 * a case's form data is checked against it before anything is written, and each problem is
 * reported with its JSON pointer so the window clerk knows which field to fix.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { isSmallAnswer } from '../../adapters/sdk/contract-validation.js';
import { linearPatternProblem, linearRegExpEngine } from '../../adapters/sdk/linear-patterns.js';
import { useLinearUniqueItems } from '../../adapters/sdk/unique-items.js';
import { ApiError, message } from '../platform/errors.js';

// ajv-formats is CommonJS: under ESM its plugin is the module's `default`.
const addFormats = formatsModule.default;

// Strict, so a misspelt keyword in an administrator's schema is refused rather than ignored; except
// `required` naming a property defined elsewhere (in `if`/`then` branches), which is legitimate.
// Window systems send the text patterns run against: patterns match in linear time (re2js, see
// adapters/sdk/linear-patterns.ts), and `uniqueItems` is decided without comparing every pair.
function newFormAjv(allErrors: boolean): Ajv2020 {
  const instance = new Ajv2020({
    allErrors,
    strict: true,
    strictRequired: false,
    code: { regExp: linearRegExpEngine },
  });
  useLinearUniqueItems(instance);
  addFormats(instance);
  return instance;
}

/**
 * Forms are checked up to their first problem, then (when small) again for every problem: with
 * every problem gathered at once, a form of a million failing array items held the event loop
 * 1.5 s (test/security/hostile-input.test.ts).
 */
const firstProblem = newFormAjv(false);
const everyProblem = newFormAjv(true);

interface CompiledForms {
  byText: Map<string, ValidateFunction>;
  /**
   * The same by schema object: the item catalogue hands out one object per item until it
   * reloads, and writing it out as the key cost every case check a serialisation (bench:cases).
   */
  byObject: WeakMap<Record<string, unknown>, ValidateFunction>;
}

const compiledForms = new Map<Ajv2020, CompiledForms>();

function compiledWith(instance: Ajv2020, schema: Record<string, unknown>): ValidateFunction {
  let forms = compiledForms.get(instance);
  if (!forms) {
    forms = { byText: new Map(), byObject: new WeakMap() };
    compiledForms.set(instance, forms);
  }
  const known = forms.byObject.get(schema);
  if (known) return known;
  const key = JSON.stringify(schema);
  let validate = forms.byText.get(key);
  if (!validate) {
    validate = instance.compile(schema);
    forms.byText.set(key, validate);
  }
  forms.byObject.set(schema, validate);
  return validate;
}

/** Compiles a form schema, throwing the compiler's message when it is not a valid strict schema. */
export function compileFormSchema(schema: Record<string, unknown>): ValidateFunction {
  return compiledWith(everyProblem, schema);
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

/** Problems one `form_invalid` answer lists at most. */
const MAX_LISTED_PROBLEMS = 20;

/**
 * Checks a case's form data; `form_invalid` (422) lists its problems with their pointers: every
 * one (up to 20) for a form of at most 1,000 values, the first for a larger one.
 */
export function checkForm(itemCode: string, schema: Record<string, unknown>, form: Record<string, unknown>): void {
  const first = compiledWith(firstProblem, schema);
  if (first(form)) return;
  let found = first.errors ?? [];
  if (isSmallAnswer(form)) {
    const every = compileFormSchema(schema);
    every(form);
    found = every.errors ?? found;
  }
  const errors = found.slice(0, MAX_LISTED_PROBLEMS).map((error) => ({
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
