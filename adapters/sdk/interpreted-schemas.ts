/**
 * Response schemas too large to compile are checked by an interpreter (schema-interpreter.ts).
 *
 * Ajv turns a schema into JavaScript: fast to run, but generating and compiling that code holds
 * the event loop for 0.1–0.4 ms per schema node (measured: a 1,000-property response schema held it
 * 0.3–1.1 s at the department's first answer, a 10,000-property one 2–3.6 s). A contract under the
 * size limit may hold 20,000 properties in one schema, so above `MAX_COMPILED_SCHEMA_NODES` the
 * answer is checked by the interpreter instead: no set-up beyond reading each schema node it
 * reaches once, and a check whose cost follows the answer, not the schema.
 */
import { SchemaInterpreter, type InterpretedViolation } from './schema-interpreter.js';
import { type SchemaPart, partUnder } from './schema-keywords.js';
import { type JsonObject, isObject, resolveLocalPointer } from './schema-pointers.js';

/**
 * Above this many nodes (see `schemaNodeCount`) a response schema is interpreted, not compiled:
 * Ajv's compile of a schema this size held the event loop 20–80 ms on this project's 2-core
 * machine (worst shape: flat string properties, first compile in a fresh process). The shipped
 * departments' response schemas have 50–170.
 */
export const MAX_COMPILED_SCHEMA_NODES = 200;

/** What a Unicode property class in a pattern counts towards `MAX_COMPILED_SCHEMA_NODES`. */
const UNICODE_CLASS_NODES = 20;

function unicodeClassNodes(pattern: string): number {
  return UNICODE_CLASS_NODES * (pattern.match(/\\[pP]\{/g)?.length ?? 0);
}

/**
 * Whether Ajv (8.20) misreads a schema using these keywords, letting answers through that JSON
 * Schema refuses; such schemas are interpreted whatever their size (schema-interpreter.test.ts):
 * - `contains` is not checked on an empty array that follows one that met it (under `items` or
 *   `additionalProperties`), nor beside a tuple in first-error mode;
 * - an `if` whose subschemas use `additionalProperties` can count properties evaluated for an
 *   enclosing `unevaluatedProperties` although its branch is not taken, and a passing `if`'s own
 *   annotations are dropped (JSON Schema counts them; the interpreter does).
 */
export function ajvMisreads(keywords: ReadonlySet<string>): boolean {
  const unevaluated = keywords.has('unevaluatedProperties') || keywords.has('unevaluatedItems');
  return keywords.has('contains') || (keywords.has('if') && unevaluated);
}

/**
 * The JSON nodes of `schema` and of what its local `$ref`s reach, counted where each reference
 * is used (Ajv inlines small referenced schemas, so a schema used twice costs twice; a reference
 * already being counted on the way down is not entered again). Stops counting past `limit`: the
 * count costs at most `limit` steps whatever the document's size. Adds each local reference it
 * followed to `references`, and each keyword it read in a schema to `keywords` (all of them when
 * the count is within `limit`).
 */
export function schemaNodeCount(
  document: JsonObject,
  schema: unknown,
  limit: number,
  references?: Set<string>,
  keywords?: Set<string>,
): number {
  let count = 0;
  const entered = new Set<unknown>();
  const visit = (value: unknown, part: SchemaPart): void => {
    // Long strings cost Ajv in proportion to their length (a 10 KB enum member or property name is
    // written into the code it compiles): one node per 64 characters.
    count += typeof value === 'string' ? 1 + Math.floor(value.length / 64) : 1;
    if (count > limit) return;
    if (Array.isArray(value)) {
      for (const item of value) {
        visit(item, part);
        if (count > limit) return;
      }
      return;
    }
    if (!isObject(value)) return;
    for (const key in value) {
      // Every key is walked (Ajv walks them too), annotations' values are not.
      if (key.length > 64) count += Math.floor(key.length / 64);
      const under = partUnder(part, key);
      if (part === 'schema') {
        keywords?.add(key);
        // A pattern costs Ajv its compiling too, mostly for Unicode property classes (`\p{L}` has
        // hundreds of ranges: 1–2.5 ms a pattern): a compiled schema holds a few of those at most.
        if (key === 'pattern' && typeof value[key] === 'string') count += unicodeClassNodes(value[key]);
        else if (key === 'patternProperties' && isObject(value[key]))
          for (const pattern in value[key]) count += unicodeClassNodes(pattern);
      }
      if (under === 'annotation') count += 1;
      else visit(value[key], under);
      if (count > limit) return;
    }
    const ref = value['$ref'];
    if (part !== 'schema' || typeof ref !== 'string') return;
    let target: unknown;
    try {
      target = ref === '#' ? document : resolveLocalPointer(document, ref).value;
    } catch {
      return; // Ajv refuses it when compiling; nothing to count.
    }
    references?.add(ref);
    if (entered.has(target)) return;
    entered.add(target);
    visit(target, 'schema');
    entered.delete(target);
  };
  visit(schema, 'schema');
  return count;
}

/** Violations of `body`: the first, or (`every`) up to 20; none when it conforms. */
export type InterpretedCheck = (body: unknown, every: boolean) => InterpretedViolation[];

/**
 * A check of answers against `schema` (a schema inside `document`, after the 3.0 rewrite for a
 * 3.0 contract). Throws `UncheckableAnswer` when the schema cannot be read (an unresolvable `$ref`,
 * an invalid `pattern`) or the answer cannot be checked in bounded time: the caller reports that
 * as the contract's fault, as it does Ajv's compile errors.
 */
export function interpretedCheck(document: JsonObject, schema: unknown, dialect: '3.0' | '3.1'): InterpretedCheck {
  const interpreter = new SchemaInterpreter(document, dialect === '3.1' ? '2020-12' : 'draft-07');
  // Every violation is gathered for small answers only, as the compiled check does: the step
  // budget bounds either, but a first violation is all a large answer needs.
  return (body, every) => interpreter.check(schema, body, every);
}
