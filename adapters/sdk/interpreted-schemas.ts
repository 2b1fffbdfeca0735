/**
 * Response schemas too large to compile are checked by an interpreting validator.
 *
 * Ajv turns a schema into JavaScript: fast to run, but generating and compiling that code holds
 * the event loop for 0.1–0.4 ms per schema node (measured: a 1,000-property response schema held it
 * 0.3–1.1 s at the department's first answer, a 10,000-property one 2–3.6 s). A contract under the
 * size limit may hold 20,000 properties in one schema, so above `MAX_COMPILED_SCHEMA_NODES` the
 * answer is checked by @cfworker/json-schema instead, which walks schema and answer together: no
 * set-up cost, a check proportional to the answer (a 10,000-property answer: ~20 ms, Ajv's ~9 ms).
 *
 * `$ref`s are resolved on demand against the document (`lookup` is read lazily), so nothing walks
 * the whole schema before the first answer; only local references (`#/…`) resolve, as in Ajv.
 * String formats are Ajv's own (below). One difference from the compiled check: the OpenAPI number
 * formats (`int32`, `int64`) are not checked here (the interpreter checks formats of strings only).
 *
 * The interpreter's own `pattern` (a backtracking RegExp) and `uniqueItems` (every pair compared)
 * could hold the event loop for seconds on a crafted answer, so it is given a rewritten copy of
 * each schema it walks (`linearCopy`): see there. `patternProperties` it would still match with a
 * backtracking RegExp, so publication refuses it in schemas checked here (gateway/contracts/check-cost.ts).
 */
import {
  format as interpreterFormats,
  type OutputUnit,
  type Schema,
  type SchemaDraft,
  validate,
} from '@cfworker/json-schema';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { type LinearPattern, linearPattern } from './linear-patterns.js';
import {
  SCHEMA_LIST_KEYWORDS,
  SCHEMA_MAP_KEYWORDS,
  SCHEMA_VALUED_KEYWORDS,
  type SchemaPart,
  partUnder,
} from './schema-keywords.js';
import { type JsonObject, isObject, resolveLocalPointer } from './schema-pointers.js';

/** OpenAPI's `byte`: standard base64 with padding (both validators). */
export const OPENAPI_BYTE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The interpreter checks string formats with Ajv's own definitions (ajv-formats, as the compiled
 * check has them), so a format gives one verdict whichever validator runs: its table of formats
 * is the library's exported object, filled here once. Number formats (`int32`, …) it cannot check.
 */
const interpreterFormatTable = interpreterFormats as Record<string, (value: string) => boolean>;

function useCompiledCheckFormats(): void {
  const table = interpreterFormatTable;
  for (const [name, definition] of Object.entries(fullFormats)) {
    if (definition instanceof RegExp) table[name] = (value) => definition.test(value);
    else if (typeof definition === 'function') table[name] = (value) => definition(value);
    else if (typeof definition === 'boolean') table[name] = () => definition;
    else if (typeof definition === 'string') table[name] = (value) => new RegExp(definition, 'u').test(value);
    else if ('type' in definition && definition.type === 'number') delete table[name];
    else {
      const check = definition.validate;
      if (check instanceof RegExp) table[name] = (value) => check.test(value);
      else if (typeof check === 'string') table[name] = (value) => new RegExp(check, 'u').test(value);
      else table[name] = (value) => (check as (candidate: string) => boolean)(value);
    }
  }
  table['byte'] = (value) => OPENAPI_BYTE.test(value);
}
useCompiledCheckFormats();

/**
 * Above this many nodes (see `schemaNodeCount`) a response schema is interpreted, not compiled:
 * Ajv's compile of a schema this size held the event loop 20–80 ms on this project's 2-core
 * machine (worst shape: flat string properties, first compile in a fresh process). The shipped
 * departments' response schemas have 50–170.
 */
export const MAX_COMPILED_SCHEMA_NODES = 200;

/**
 * The JSON nodes of `schema` and of what its local `$ref`s reach, counted where each reference
 * is used (Ajv inlines small referenced schemas, so a schema used twice costs twice; a reference
 * already being counted on the way down is not entered again). Stops counting past `limit`: the
 * count costs at most `limit` steps whatever the document's size. Adds each local reference it
 * followed to `references` (all of them when the count is within `limit`).
 */
export function schemaNodeCount(
  document: JsonObject,
  schema: unknown,
  limit: number,
  references?: Set<string>,
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

export interface InterpretedViolation {
  /** JSON pointer into the answer, escaped as Ajv's `instancePath` is. */
  path: string;
  keyword: string;
}

/**
 * Results the interpreter reports around the errors that say what is wrong (a `$ref` or
 * `properties` failed because something inside failed); Ajv does not report these.
 */
const WRAPPER_KEYWORDS = new Set([
  '$ref',
  '$recursiveRef',
  'properties',
  'patternProperties',
  'items',
  'prefixItems',
  'additionalItems',
  'allOf',
  'dependentSchemas',
  'unevaluatedItems',
]);

const REQUIRED_PROPERTY = /required property "(.*)"\.$/;

/** `#/a%20b/0` (the interpreter's instance location) as Ajv's `/a b/0`. */
function instancePathOf(location: string): string {
  return location
    .slice(1)
    .split('/')
    .map((token) => decodeURIComponent(token))
    .join('/');
}

function parentOf(location: string): string {
  return location.slice(0, location.lastIndexOf('/'));
}

function violationOf(unit: OutputUnit): InterpretedViolation | null {
  if (WRAPPER_KEYWORDS.has(unit.keyword)) return null;
  const path = instancePathOf(unit.instanceLocation);
  // The rewritten copy's stand-ins (see `linearCopy`) report the keyword they stand for.
  if (unit.keyword === 'format' && unit.error.includes(`"${PATTERN_FORMAT_PREFIX}`))
    return { path, keyword: 'pattern' };
  if (unit.keyword === 'maxItems' && unit.keywordLocation.endsWith(UNIQUE_ITEMS_ELSE))
    return { path, keyword: 'uniqueItems' };
  if (unit.keyword === 'required') {
    // The missing property's NAME comes from the schema, so it is safe to show (as Ajv's is).
    const missing = REQUIRED_PROPERTY.exec(unit.error)?.[1];
    return {
      path: missing === undefined ? path : `${path}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      keyword: 'required',
    };
  }
  if (unit.keyword === 'false') return { path, keyword: 'false schema' };
  return { path, keyword: unit.keyword };
}

/**
 * Arrays at most this long are checked for `uniqueItems` by the interpreter, which compares every
 * pair (1,000 objects: ~1 million comparisons, 10–40 ms). A longer one under `uniqueItems` is
 * refused as not unique: the interpreter cannot tell in bounded time (the compiled check can).
 */
export const MAX_INTERPRETED_UNIQUE_ITEMS = 1000;

const PATTERN_FORMAT_PREFIX = 'onewindow-linear-pattern:';
/** Where the `uniqueItems` stand-in reports (see `linearCopy`). */
const UNIQUE_ITEMS_THEN = '/then/uniqueItems';
const UNIQUE_ITEMS_ELSE = '/else/maxItems';

/** Copies already made, per original schema object (documents do not change once loaded). */
const linearCopies = new WeakMap<object, unknown>();

/**
 * `schema` with the interpreter's unbounded keywords replaced by bounded stand-ins:
 * - `pattern: P` becomes an `allOf` entry `{format: "onewindow-linear-pattern:P"}`, a string
 *   format this module registers to match P with re2js, in time linear in the answer;
 * - `uniqueItems: true` becomes `{if: {maxItems: 1000}, then: {uniqueItems: true}, else:
 *   {maxItems: 1000}}`: arrays up to the bound are checked, longer ones refused.
 * Subschemas are copied as they are reached, `$ref` targets when the lookup resolves them; values
 * that are not schemas (`enum`, `const`, `default`, …) are shared, not copied.
 */
function linearCopy(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(linearCopy);
  if (!isObject(schema)) return schema;
  const known = linearCopies.get(schema);
  if (known !== undefined) return known;
  const copy: JsonObject = {};
  linearCopies.set(schema, copy);
  const standIns: JsonObject[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern' && typeof value === 'string') {
      const name = `${PATTERN_FORMAT_PREFIX}${value}`;
      if (!Object.hasOwn(interpreterFormatTable, name)) {
        // Compiled at its first use, then held here: never again, whatever the pattern cache holds.
        let compiled: LinearPattern | undefined;
        interpreterFormatTable[name] = (candidate) => (compiled ??= linearPattern(value)).test(candidate);
      }
      standIns.push({ format: name });
    } else if (key === 'format' && typeof value === 'string' && !Object.hasOwn(interpreterFormatTable, value)) {
      // An unknown format is ignored, as Ajv ignores it; the table is a plain object, so a name
      // such as `hasOwnProperty` must not reach its prototype.
    } else if (key === 'uniqueItems' && value === true) {
      const bound = { maxItems: MAX_INTERPRETED_UNIQUE_ITEMS };
      standIns.push({ if: bound, then: { uniqueItems: true }, else: bound });
    } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) copy[key] = value.map(linearCopy);
    else if (SCHEMA_VALUED_KEYWORDS.has(key)) copy[key] = linearCopy(value);
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
      const map: JsonObject = {};
      for (const [name, subschema] of Object.entries(value)) map[name] = linearCopy(subschema);
      copy[key] = map;
    } else copy[key] = value;
  }
  if (standIns.length > 0) copy['allOf'] = [...((copy['allOf'] as unknown[] | undefined) ?? []), ...standIns];
  return copy;
}

/** Resolves `#…` references against the document on first use, each once. */
function lazyLookup(document: JsonObject): Record<string, Schema> {
  const resolved = new Map<string, Schema | undefined>();
  return new Proxy({} as Record<string, Schema>, {
    get(_target, uri) {
      if (typeof uri !== 'string') return undefined;
      if (resolved.has(uri)) return resolved.get(uri);
      let schema: Schema | undefined;
      try {
        const value = uri === '#' ? document : resolveLocalPointer(document, uri).value;
        schema = isObject(value) || typeof value === 'boolean' ? (linearCopy(value) as Schema) : undefined;
      } catch {
        schema = undefined;
      }
      resolved.set(uri, schema);
      return schema;
    },
  });
}

export type InterpretedCheck = (body: unknown) => InterpretedViolation[];

/**
 * A check of answers against `schema` (a schema inside `document`, after the 3.0 rewrite for a
 * 3.0 contract). Throws when the schema cannot be checked (an unresolvable `$ref`, an invalid
 * `pattern`): the caller reports that as the contract's fault, as it does Ajv's compile errors.
 */
export function interpretedCheck(document: JsonObject, schema: unknown, dialect: '3.0' | '3.1'): InterpretedCheck {
  const draft: SchemaDraft = dialect === '3.1' ? '2020-12' : '7';
  const lookup = lazyLookup(document);
  const root = linearCopy(schema) as Schema;
  return (body) => {
    // Up to the first violation: gathering every one costs schema size × answer size (10,000
    // required names × 30 items: 0.3 s), and the compiled check reports them for small answers.
    const result = validate(body, root, draft, lookup, true);
    if (result.valid) return [];
    const violations: InterpretedViolation[] = [];
    // `additionalProperties: false` also reports each extra property as failing a `false` schema;
    // Ajv reports the object once, under `additionalProperties`: so does this.
    const closedObjects = new Set<string>();
    // The `if` around the `uniqueItems` stand-in reports too; the compiled check has no such `if`.
    const standInConditions = new Set<string>();
    for (const unit of result.errors) {
      if (unit.keyword === 'additionalProperties' || unit.keyword === 'unevaluatedProperties')
        closedObjects.add(unit.instanceLocation);
      for (const suffix of [UNIQUE_ITEMS_THEN, UNIQUE_ITEMS_ELSE])
        if (unit.keywordLocation.endsWith(suffix))
          standInConditions.add(`${unit.keywordLocation.slice(0, -suffix.length)}/if`);
    }
    for (const unit of result.errors) {
      if (unit.keyword === 'false' && closedObjects.has(parentOf(unit.instanceLocation))) continue;
      if (unit.keyword === 'if' && standInConditions.has(unit.keywordLocation)) continue;
      const violation = violationOf(unit);
      if (violation) violations.push(violation);
    }
    // Never "invalid" with nothing to show: the outermost result says where, at least.
    const outermost = result.errors.at(-1);
    if (violations.length === 0 && outermost)
      violations.push({ path: instancePathOf(outermost.instanceLocation), keyword: outermost.keyword });
    return violations;
  };
}
