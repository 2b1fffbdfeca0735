/**
 * A JSON Schema interpreter for department answers whose response schema is too large to compile
 * (see interpreted-schemas.ts), written so that no schema makes an answer expensive to check:
 *
 * - It walks the ANSWER: an object's keys are looked up in the schema (`properties`, patterns,
 *   `dependentRequired`…), never the schema's lists walked per object. A general-purpose
 *   interpreter (@cfworker/json-schema, used before) walked each object schema's properties for
 *   every answer object: 200 empty objects under a 5,000-property schema held the event loop
 *   0.5 s, 33,000 under an ordinary 50-property one 0.35 s.
 * - Each schema node is read once into a `SchemaNode` (only the keywords it has), on first use.
 * - Patterns match with re2js (linear), `uniqueItems` and `enum` compare canonical texts in a set.
 * - What remains is work the schema asks for per value (an `anyOf` of 1,000 branches tries each
 *   of them): every step is counted, and past a budget proportional to the answer's size the
 *   answer is refused as uncheckable (`UncheckableAnswer`, the contract's fault) instead of
 *   holding the event loop.
 *
 * Verdicts follow Ajv's, which checks the same contracts when their schemas are small (the
 * differential tests compare both), including where Ajv reads the standard its own way: `$ref`
 * siblings apply in draft-07 too, `if` without `then`/`else` is ignored and its annotations do
 * not count for `unevaluated*`, a passing `contains` marks every item evaluated, `multipleOf`
 * allows 1e-9 of rounding. It stops at the first violation and reports it as Ajv would (keyword
 * and instance path), so what it reports is among what Ajv reports.
 */
import { compileCostOf, linearPattern, type LinearPattern } from './linear-patterns.js';
import { FORMAT_CHECKS, type FormatCheck } from './openapi-formats.js';
import { escapePointerToken, isObject, type JsonObject, resolveLocalPointer } from './schema-pointers.js';
import { canonicalText } from './unique-items.js';

export interface InterpretedViolation {
  /** JSON pointer into the answer, escaped as Ajv's `instancePath` is. */
  path: string;
  keyword: string;
}

/** The answer could not be checked in bounded time, or the schema cannot be read: the contract's fault. */
export class UncheckableAnswer extends Error {
  override name = 'UncheckableAnswer';
}

/** The JSON Schema dialect: draft-07 (OpenAPI 3.0 after its rewrite) or 2020-12 (OpenAPI 3.1). */
export type SchemaDialect = 'draft-07' | '2020-12';

/**
 * Steps allowed per answer: a fixed allowance plus some per JSON value and per string character.
 * A step is a schema applied to a value, a key or item visited, or a pattern, format or equality
 * test (those count more, and in proportion to the string's length). Ordinary schemas take 4–12
 * steps per value (19,000 string fields: 4; 500 records of a six-variant `oneOf` with patterns
 * and formats: 11.7). A step takes 35–100 ns here: an answer of 50,000 one-byte items that spends
 * its whole budget held the event loop 30–60 ms on a loaded machine (test/interpreter-attacks).
 */
const BASE_STEPS = 100_000;
const STEPS_PER_VALUE = 16;
const STEPS_PER_CHARACTER = 2;
/** Pattern compiling one answer may do (units of ~10 µs, `compileCostOf`): 20–50 ms. */
const COMPILE_UNITS_PER_ANSWER = 5_000;
/** New schema nodes one answer may read, besides one per JSON value in it. */
const BASE_NODE_READS = 10_000;
/** Characters a format, length or equality test covers per step (native code, 1–3 ns each). */
const CHARACTERS_PER_TEST_STEP = 32;
/** Characters a pattern covers per step (re2js, an automaton in JavaScript: 15–80 ns each). */
const CHARACTERS_PER_PATTERN_STEP = 1;
/** Steps of a pattern test besides its characters (re2js sets up a matcher: 0.7–6 µs a test). */
const PATTERN_TEST_STEPS = 12;
/** Characters of canonical text (an `enum` or `uniqueItems` over objects) made per step. */
const CHARACTERS_PER_CANONICAL_STEP = 8;
/** Violations gathered at most when every one is asked for (contract-validation.ts shows 20). */
const MAX_GATHERED = 20;

const TYPE_BITS = {
  null: 1,
  boolean: 2,
  object: 4,
  array: 8,
  number: 16,
  integer: 32,
  string: 64,
} as const;

function typeBitsOf(value: unknown): number {
  if (value === null) return TYPE_BITS.null;
  switch (typeof value) {
    case 'boolean':
      return TYPE_BITS.boolean;
    case 'string':
      return TYPE_BITS.string;
    case 'number':
      return Number.isInteger(value) ? TYPE_BITS.number | TYPE_BITS.integer : TYPE_BITS.number;
    default:
      return Array.isArray(value) ? TYPE_BITS.array : TYPE_BITS.object;
  }
}

/** Members of an `enum` (or a `const`): scalars in one set, objects and arrays by canonical text. */
interface MemberSet {
  scalars: Set<unknown>;
  texts: Set<string>;
}

interface NumberRules {
  minimum: number | undefined;
  maximum: number | undefined;
  exclusiveMinimum: number | undefined;
  exclusiveMaximum: number | undefined;
  multipleOf: number | undefined;
}

interface StringRules {
  minLength: number | undefined;
  maxLength: number | undefined;
  pattern: PatternSlot | undefined;
}

interface ArrayRules {
  minItems: number | undefined;
  maxItems: number | undefined;
  uniqueItems: boolean;
  prefixItems: readonly unknown[] | undefined;
  items: unknown;
  additionalItems: unknown;
  contains: unknown;
  minContains: number;
  maxContains: number | undefined;
  unevaluatedItems: unknown;
}

interface Dependency {
  keyword: string;
  required: readonly string[] | undefined;
  schema: unknown;
}

interface ObjectRules {
  minProperties: number | undefined;
  maxProperties: number | undefined;
  required: readonly string[] | undefined;
  properties: Map<string, unknown> | undefined;
  patternProperties: ReadonlyArray<readonly [PatternSlot, unknown]> | undefined;
  additionalProperties: unknown;
  propertyNames: unknown;
  /** `dependentRequired`, `dependentSchemas` and `dependencies`, by the property that triggers them. */
  dependencies: Map<string, Dependency[]> | undefined;
  unevaluatedProperties: unknown;
}

interface LogicRules {
  allOf: readonly unknown[] | undefined;
  anyOf: readonly unknown[] | undefined;
  oneOf: readonly unknown[] | undefined;
  not: unknown;
  if: unknown;
  then: unknown;
  else: unknown;
}

/**
 * One schema object, read once: only the keywords it has, grouped by the kind of value they
 * check (a node of forty fields took ten times as long to make: a 40,000-node schema read in
 * 140 ms instead of 14).
 */
interface SchemaNode {
  /** `true` and `false` schemas, and schemas that check nothing. */
  always: boolean | undefined;
  ref: string | undefined;
  types: number;
  enumMembers: MemberSet | undefined;
  constMember: MemberSet | undefined;
  format: FormatCheck | undefined;
  numbers: NumberRules | undefined;
  strings: StringRules | undefined;
  arrays: ArrayRules | undefined;
  objects: ObjectRules | undefined;
  logic: LogicRules | undefined;
  /** Only a `$ref`: the walk follows it without a call (a deep answer under a recursive schema). */
  refOnly: boolean;
}

/** What an in-place walk evaluated, for `unevaluatedProperties` and `unevaluatedItems`. */
interface Evaluated {
  properties: Set<string>;
  allProperties: boolean;
  /** Items before this index (`prefixItems`). */
  items: number;
  /** Items `contains` matched. */
  itemIndices: Set<number>;
  allItems: boolean;
}

function newEvaluated(): Evaluated {
  return { properties: new Set(), allProperties: false, items: 0, itemIndices: new Set(), allItems: false };
}

function unreadable(keyword: string, detail: string): never {
  throw new UncheckableAnswer(`the schema's ${keyword} ${detail}`);
}

function numberOf(schema: JsonObject, keyword: string): number | undefined {
  const value = schema[keyword];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) unreadable(keyword, 'is not a number');
  return value;
}

function countOf(schema: JsonObject, keyword: string): number | undefined {
  const value = numberOf(schema, keyword);
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) unreadable(keyword, 'is not a count');
  return value;
}

function schemaListOf(schema: JsonObject, keyword: string): readonly unknown[] | undefined {
  const value = schema[keyword];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) unreadable(keyword, 'is not a list of schemas');
  return value;
}

function namesOf(value: unknown, keyword: string): readonly string[] {
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string'))
    unreadable(keyword, 'is not a list of names');
  return [...new Set(value as string[])];
}

function mapOf(schema: JsonObject, keyword: string): JsonObject | undefined {
  const value = schema[keyword];
  if (value === undefined) return undefined;
  if (!isObject(value)) unreadable(keyword, 'is not an object');
  return value;
}

function memberSetOf(members: readonly unknown[]): MemberSet {
  const set: MemberSet = { scalars: new Set(), texts: new Set() };
  for (const member of members) {
    if (member !== null && typeof member === 'object') set.texts.add(canonicalText(member));
    else set.scalars.add(member);
  }
  return set;
}

function typesOf(value: unknown): number {
  const names = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(names)) return unreadable('type', 'is not a type or a list of types');
  let bits = 0;
  for (const name of names) {
    const bit =
      typeof name === 'string' && Object.hasOwn(TYPE_BITS, name) ? TYPE_BITS[name as keyof typeof TYPE_BITS] : 0;
    if (bit === 0) unreadable('type', `names an unknown type`);
    bits |= bit;
  }
  return bits;
}

/** Keywords this walk checks (in either dialect): a schema with none of them holds for every value. */
const CHECKED_KEYWORDS = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
  'uniqueItems',
  'prefixItems',
  'items',
  'additionalItems',
  'contains',
  'unevaluatedItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'patternProperties',
  'additionalProperties',
  'propertyNames',
  'dependencies',
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'minContains',
  'maxContains',
]);

function emptyNode(always: boolean | undefined): SchemaNode {
  return {
    always,
    ref: undefined,
    types: 0,
    enumMembers: undefined,
    constMember: undefined,
    format: undefined,
    numbers: undefined,
    strings: undefined,
    arrays: undefined,
    objects: undefined,
    logic: undefined,
    refOnly: false,
  };
}

const numbersOf = (node: SchemaNode): NumberRules =>
  (node.numbers ??= {
    minimum: undefined,
    maximum: undefined,
    exclusiveMinimum: undefined,
    exclusiveMaximum: undefined,
    multipleOf: undefined,
  });
const stringsOf = (node: SchemaNode): StringRules =>
  (node.strings ??= { minLength: undefined, maxLength: undefined, pattern: undefined });
const arraysOf = (node: SchemaNode): ArrayRules =>
  (node.arrays ??= {
    minItems: undefined,
    maxItems: undefined,
    uniqueItems: false,
    prefixItems: undefined,
    items: undefined,
    additionalItems: undefined,
    contains: undefined,
    minContains: 1,
    maxContains: undefined,
    unevaluatedItems: undefined,
  });
const objectsOf = (node: SchemaNode): ObjectRules =>
  (node.objects ??= {
    minProperties: undefined,
    maxProperties: undefined,
    required: undefined,
    properties: undefined,
    patternProperties: undefined,
    additionalProperties: undefined,
    propertyNames: undefined,
    dependencies: undefined,
    unevaluatedProperties: undefined,
  });
const logicOf = (node: SchemaNode): LogicRules =>
  (node.logic ??= {
    allOf: undefined,
    anyOf: undefined,
    oneOf: undefined,
    not: undefined,
    if: undefined,
    then: undefined,
    else: undefined,
  });

const ALWAYS_VALID_NODE = emptyNode(true);
const ALWAYS_INVALID_NODE = emptyNode(false);

function readNode(schema: JsonObject, dialect: SchemaDialect): SchemaNode {
  const node = emptyNode(undefined);
  const modern = dialect === '2020-12';
  // Only the keys the schema has are read (most nodes have one to three): a schema node is read
  // once per contract, at the first answer that reaches it.
  let checksSomething = false;
  for (const key in schema) {
    if (!CHECKED_KEYWORDS.has(key)) {
      if (key === '$dynamicRef' || key === '$recursiveRef') unreadable(key, 'is not supported');
      continue;
    }
    checksSomething = true;
    readKeyword(node, schema, key, modern);
  }
  if (!checksSomething) return ALWAYS_VALID_NODE;
  // Ajv reads OpenAPI's `nullable` in every dialect: with a `type`, null is one more.
  if (schema['nullable'] === true) {
    if (node.types === 0) unreadable('nullable', 'is used without type');
    node.types |= TYPE_BITS.null;
  }
  const arrays = node.arrays;
  if (arrays !== undefined) {
    if (modern) {
      if (Array.isArray(arrays.items)) unreadable('items', 'is a list (2020-12 has prefixItems for that)');
    } else if (Array.isArray(arrays.items)) {
      // draft-07: `items` as a list is the prefix, `additionalItems` what follows it.
      arrays.prefixItems = arrays.items;
      arrays.items = undefined;
    } else arrays.additionalItems = undefined;
  }
  node.refOnly =
    node.ref !== undefined &&
    node.types === 0 &&
    node.enumMembers === undefined &&
    node.constMember === undefined &&
    node.format === undefined &&
    node.numbers === undefined &&
    node.strings === undefined &&
    node.arrays === undefined &&
    node.objects === undefined &&
    node.logic === undefined;
  return node;
}

function addDependencies(node: SchemaNode, schema: JsonObject, keyword: string): void {
  const dependencies = mapOf(schema, keyword) ?? {};
  const rules = objectsOf(node);
  rules.dependencies ??= new Map();
  for (const name of Object.keys(dependencies)) {
    const dependency = dependencies[name];
    const names = keyword === 'dependentRequired' || (keyword === 'dependencies' && Array.isArray(dependency));
    const list = rules.dependencies.get(name) ?? [];
    list.push(
      names
        ? { keyword, required: namesOf(dependency, keyword), schema: undefined }
        : { keyword, required: undefined, schema: dependency },
    );
    rules.dependencies.set(name, list);
  }
}

function readKeyword(node: SchemaNode, schema: JsonObject, key: string, modern: boolean): void {
  const value = schema[key];
  switch (key) {
    case '$ref':
      if (typeof value !== 'string') unreadable('$ref', 'is not a string');
      node.ref = value;
      return;
    case 'type':
      node.types = typesOf(value);
      return;
    case 'enum':
      if (!Array.isArray(value)) unreadable('enum', 'is not a list');
      node.enumMembers = memberSetOf(value);
      return;
    case 'const':
      node.constMember = memberSetOf([value]);
      return;
    case 'format':
      // Unknown formats are ignored, as Ajv ignores them.
      if (typeof value === 'string') node.format = FORMAT_CHECKS.get(value);
      return;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      numbersOf(node)[key] = numberOf(schema, key);
      return;
    case 'multipleOf': {
      const divisor = numberOf(schema, key);
      if (divisor !== undefined && divisor <= 0) unreadable('multipleOf', 'is not positive');
      numbersOf(node).multipleOf = divisor;
      return;
    }
    case 'minLength':
    case 'maxLength':
      stringsOf(node)[key] = countOf(schema, key);
      return;
    case 'pattern':
      if (typeof value !== 'string') unreadable('pattern', 'is not a string');
      stringsOf(node).pattern = patternOf(value);
      return;
    case 'minItems':
    case 'maxItems':
      arraysOf(node)[key] = countOf(schema, key);
      return;
    case 'maxContains':
      if (modern) arraysOf(node).maxContains = countOf(schema, key);
      return;
    case 'minContains':
      if (modern) arraysOf(node).minContains = countOf(schema, key) ?? 1;
      return;
    case 'uniqueItems':
      arraysOf(node).uniqueItems = value === true;
      return;
    case 'prefixItems':
      if (modern) arraysOf(node).prefixItems = schemaListOf(schema, key);
      return;
    case 'unevaluatedItems':
      if (modern) arraysOf(node).unevaluatedItems = value;
      return;
    case 'items':
    case 'additionalItems':
    case 'contains':
      arraysOf(node)[key] = value;
      return;
    case 'minProperties':
    case 'maxProperties':
      objectsOf(node)[key] = countOf(schema, key);
      return;
    case 'required':
      objectsOf(node).required = namesOf(value, 'required');
      return;
    case 'properties':
      objectsOf(node).properties = new Map(Object.entries(mapOf(schema, key) ?? {}));
      return;
    case 'patternProperties':
      objectsOf(node).patternProperties = Object.entries(mapOf(schema, key) ?? {}).map(([source, subschema]) => [
        patternOf(source),
        subschema,
      ]);
      return;
    case 'additionalProperties':
    case 'propertyNames':
      objectsOf(node)[key] = value;
      return;
    case 'unevaluatedProperties':
      if (modern) objectsOf(node).unevaluatedProperties = value;
      return;
    case 'dependencies':
      addDependencies(node, schema, key);
      return;
    case 'dependentRequired':
    case 'dependentSchemas':
      if (modern) addDependencies(node, schema, key);
      return;
    case 'allOf':
    case 'anyOf':
    case 'oneOf':
      logicOf(node)[key] = schemaListOf(schema, key);
      return;
    case 'not':
    case 'if':
    case 'then':
    case 'else':
      logicOf(node)[key] = value;
      return;
  }
}

/** A pattern of the schema, compiled at its first test (see `SchemaInterpreter.compile`). */
interface PatternSlot {
  source: string;
  compiled: LinearPattern | undefined;
}

function patternOf(source: string): PatternSlot {
  return { source, compiled: undefined };
}

/** Code points in `text` (what `minLength`/`maxLength` count, as Ajv does). */
function codePointLength(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length -= 1;
        index += 1;
      }
    }
  }
  return length;
}

/** JSON values and string characters in an answer, without recursion. */
function answerSize(body: unknown): { values: number; characters: number } {
  let values = 0;
  let characters = 0;
  const pending: unknown[] = [body];
  while (pending.length > 0) {
    const value = pending.pop();
    values += 1;
    if (typeof value === 'string') characters += value.length;
    else if (Array.isArray(value)) for (const item of value) pending.push(item);
    else if (isObject(value))
      for (const key in value) {
        characters += key.length;
        pending.push(value[key]);
      }
  }
  return { values, characters };
}

/** Schemas of one contract document, read into nodes once and reused by every answer. */
export class SchemaInterpreter {
  private readonly nodes = new WeakMap<object, SchemaNode>();
  private readonly references = new Map<string, unknown>();
  /** Schema nodes the current check may still read (see `check`). */
  private readsLeft = 0;
  /** Pattern compiling the current check may still do, in `compileCostOf` units. */
  private compileUnitsLeft = 0;
  /** Steps the last check took (for tests and benchmarks: how far an answer is from its budget). */
  stepsOfLastCheck = 0;

  constructor(
    private readonly document: JsonObject,
    readonly dialect: SchemaDialect,
  ) {}

  nodeOf(schema: unknown): SchemaNode {
    if (typeof schema === 'boolean') return schema ? ALWAYS_VALID_NODE : ALWAYS_INVALID_NODE;
    if (!isObject(schema)) return unreadable('subschema', 'is neither an object nor a boolean');
    let node = this.nodes.get(schema);
    if (node === undefined) {
      this.readsLeft -= 1;
      if (this.readsLeft < 0)
        throw new UncheckableAnswer(
          'checking the answer would read more new schema nodes than its budget (those read so far are kept)',
        );
      node = readNode(schema, this.dialect);
      this.nodes.set(schema, node);
    }
    return node;
  }

  /**
   * `slot`'s pattern, compiled. Compiling costs 0.03–2.5 ms a pattern, once per contract: one answer
   * may compile patterns worth `COMPILE_UNITS_PER_ANSWER` (a contract may hold 1,000; the next
   * answer goes on where this one stopped).
   */
  compiled(slot: PatternSlot): LinearPattern {
    if (slot.compiled !== undefined) return slot.compiled;
    if (this.compileUnitsLeft <= 0)
      throw new UncheckableAnswer(
        'checking the answer would compile more patterns than its budget (those compiled are kept)',
      );
    try {
      this.compileUnitsLeft -= compileCostOf(slot.source);
      slot.compiled = linearPattern(slot.source);
    } catch (error) {
      return unreadable('pattern', `is not a regular expression (${(error as Error).message})`);
    }
    return slot.compiled;
  }

  resolve(ref: string): unknown {
    let target = this.references.get(ref);
    if (target === undefined) {
      try {
        target = ref === '#' ? this.document : resolveLocalPointer(this.document, ref).value;
      } catch (error) {
        return unreadable('$ref', `${JSON.stringify(ref)} does not resolve (${(error as Error).message})`);
      }
      this.references.set(ref, target);
    }
    return target;
  }

  /**
   * The violations of `body` against `schema` (none when it conforms): the first only, or up to 20
   * when `every` is asked for. Throws `UncheckableAnswer` past the answer's step budget.
   */
  check(schema: unknown, body: unknown, every = false): InterpretedViolation[] {
    const size = answerSize(body);
    // Reading a node costs 1–5 µs, once per contract: one answer may read a bounded number of new
    // ones (an answer needs more only when one value meets thousands of schemas; a later answer
    // then goes on where it stopped).
    this.readsLeft = BASE_NODE_READS + size.values;
    this.compileUnitsLeft = COMPILE_UNITS_PER_ANSWER;
    const walk = new AnswerWalk(
      this,
      BASE_STEPS + STEPS_PER_VALUE * size.values + STEPS_PER_CHARACTER * size.characters,
      every,
    );
    let holds: boolean;
    try {
      holds = walk.validate(body, schema, null);
    } catch (error) {
      if (error instanceof RangeError)
        throw new UncheckableAnswer(`the answer nests too deeply to check against this schema (${error.message})`);
      throw error;
    } finally {
      this.stepsOfLastCheck = walk.steps;
    }
    if (holds) return [];
    // Never "invalid" with nothing to show (a failing branch reports nothing of its own).
    return walk.violations.length > 0 ? walk.violations : [{ path: '', keyword: 'schema' }];
  }
}

class AnswerWalk {
  steps = 0;
  /** Where the walk is in the answer, as pointer tokens (joined only when a violation is found). */
  private readonly tokens: Array<string | number> = [];
  /** Above 0 inside `anyOf`, `oneOf`, `not`, `if`, `contains`, `propertyNames`: a failure there is no violation. */
  private trying = 0;
  readonly violations: InterpretedViolation[] = [];
  private readonly canonicalTexts = new WeakMap<object, string>();

  constructor(
    private readonly interpreter: SchemaInterpreter,
    private readonly stepLimit: number,
    /** Report every violation (up to `MAX_GATHERED`), not only the first. */
    private readonly gatherAll: boolean,
  ) {}

  /** After a violation: whether to go on looking for more (never while only trying a branch). */
  private goesOn(): boolean {
    return this.gatherAll && this.trying === 0 && this.violations.length < MAX_GATHERED;
  }

  private step(count = 1): void {
    this.steps += count;
    if (this.steps > this.stepLimit)
      throw new UncheckableAnswer(`checking the answer against this schema takes over ${this.stepLimit} steps`);
  }

  private fail(keyword: string, missing?: string): false {
    if (this.trying === 0 && (this.gatherAll ? this.violations.length < MAX_GATHERED : this.violations.length === 0)) {
      let path = '';
      for (const token of this.tokens) path += `/${typeof token === 'number' ? token : escapePointerToken(token)}`;
      if (missing !== undefined) path += `/${escapePointerToken(missing)}`;
      this.violations.push({ path, keyword });
    }
    return false;
  }

  /** `value` (at `token` below the current place) against `schema`. */
  private below(token: string | number, value: unknown, schema: unknown, evaluated: Evaluated | null): boolean {
    this.tokens.push(token);
    const valid = this.validate(value, schema, evaluated);
    this.tokens.pop();
    return valid;
  }

  /** Whether `value` meets `schema` without it counting as a violation if it does not. */
  private tries(value: unknown, schema: unknown, evaluated: Evaluated | null): boolean {
    this.trying += 1;
    try {
      return this.validate(value, schema, evaluated);
    } finally {
      this.trying -= 1;
    }
  }

  /**
   * Whether `value` meets `schema`. `evaluated`, when given, gathers what this schema evaluated of
   * the value (for an enclosing `unevaluated*`); the caller drops it if the schema fails.
   */
  validate(value: unknown, schema: unknown, evaluated: Evaluated | null): boolean {
    this.step();
    let node = this.interpreter.nodeOf(schema);
    while (node.refOnly) {
      this.step();
      node = this.interpreter.nodeOf(this.interpreter.resolve(node.ref as string));
    }
    if (node.always === true) return true;
    if (node.always === false) return this.fail('false schema');
    const unevaluatedItems = node.arrays?.unevaluatedItems;
    const unevaluatedProperties = node.objects?.unevaluatedProperties;
    const hasUnevaluated = unevaluatedItems !== undefined || unevaluatedProperties !== undefined;
    // A schema with its own `unevaluated*` sees only its own annotations, then passes them on.
    const own = hasUnevaluated ? newEvaluated() : evaluated;

    let valid = true;
    if (node.ref !== undefined && !this.validate(value, this.interpreter.resolve(node.ref), own)) {
      if (!this.goesOn()) return false;
      valid = false;
    }
    const type = typeBitsOf(value);
    if (node.types !== 0 && (node.types & type) === 0) return this.fail('type');
    if (node.enumMembers !== undefined && !this.isMember(value, node.enumMembers)) return this.fail('enum');
    if (node.constMember !== undefined && !this.isMember(value, node.constMember)) return this.fail('const');

    let ownKeywords = true;
    if (type & TYPE_BITS.number) ownKeywords = this.checkNumber(value as number, node);
    else if (type === TYPE_BITS.string) ownKeywords = this.checkString(value as string, node);
    else if (type === TYPE_BITS.array && node.arrays !== undefined)
      ownKeywords = this.checkArray(value as unknown[], node.arrays, own);
    else if (type === TYPE_BITS.object && node.objects !== undefined)
      ownKeywords = this.checkObject(value as JsonObject, node.objects, own);
    if (!ownKeywords) {
      if (!this.goesOn()) return false;
      valid = false;
    }
    if (node.logic !== undefined && !this.checkLogic(value, node.logic, own)) return false;
    if (!valid) return false;

    if (own !== null && hasUnevaluated) {
      if (type === TYPE_BITS.object && unevaluatedProperties !== undefined) {
        if (!this.checkUnevaluatedProperties(value as JsonObject, unevaluatedProperties, own)) return false;
      } else if (type === TYPE_BITS.array && unevaluatedItems !== undefined) {
        if (!this.checkUnevaluatedItems(value as unknown[], unevaluatedItems, own)) return false;
      }
      if (evaluated !== null) this.merge(evaluated, own);
    }
    return true;
  }

  private isMember(value: unknown, members: MemberSet): boolean {
    if (value === null || typeof value !== 'object') return members.scalars.has(value);
    if (members.texts.size === 0) return false;
    return members.texts.has(this.canonicalTextOf(value));
  }

  /** An object's or array's canonical text, made once per check (an enum in each of 1,000 branches). */
  private canonicalTextOf(value: object): string {
    this.step();
    let text = this.canonicalTexts.get(value);
    if (text === undefined) {
      text = canonicalText(value);
      this.step(Math.ceil(text.length / CHARACTERS_PER_CANONICAL_STEP));
      this.canonicalTexts.set(value, text);
    }
    return text;
  }

  /** Adds what a branch evaluated; the copying is counted (a chain of branches copies each name again). */
  private merge(into: Evaluated, from: Evaluated): void {
    // `from` is dropped after: an empty set is replaced, not filled (a chain of branches passes one
    // set up instead of copying it at every level). Copies are counted: ~250 ns an entry.
    if (into.properties.size === 0) into.properties = from.properties;
    else {
      this.step(4 * from.properties.size);
      for (const name of from.properties) into.properties.add(name);
    }
    if (into.itemIndices.size === 0) into.itemIndices = from.itemIndices;
    else {
      this.step(4 * from.itemIndices.size);
      for (const index of from.itemIndices) into.itemIndices.add(index);
    }
    into.allProperties ||= from.allProperties;
    into.items = Math.max(into.items, from.items);
    into.allItems ||= from.allItems;
  }

  private checkNumber(value: number, node: SchemaNode): boolean {
    const rules = node.numbers;
    if (rules !== undefined) {
      if (rules.minimum !== undefined && value < rules.minimum) return this.fail('minimum');
      if (rules.maximum !== undefined && value > rules.maximum) return this.fail('maximum');
      if (rules.exclusiveMinimum !== undefined && value <= rules.exclusiveMinimum) return this.fail('exclusiveMinimum');
      if (rules.exclusiveMaximum !== undefined && value >= rules.exclusiveMaximum) return this.fail('exclusiveMaximum');
      if (rules.multipleOf !== undefined) {
        // Ajv's test with `multipleOfPrecision: 9` (contract-validation.ts), so both agree at the edges.
        const quotient = value / rules.multipleOf;
        if (Math.abs(Math.round(quotient) - quotient) > 1e-9) return this.fail('multipleOf');
      }
    }
    if (node.format?.appliesTo === 'number' && !node.format.test(value)) return this.fail('format');
    return true;
  }

  private checkString(value: string, node: SchemaNode): boolean {
    const rules = node.strings;
    if (rules !== undefined) {
      if (rules.minLength !== undefined || rules.maxLength !== undefined) {
        this.step(Math.ceil(value.length / CHARACTERS_PER_TEST_STEP));
        const length = codePointLength(value);
        if (rules.maxLength !== undefined && length > rules.maxLength) return this.fail('maxLength');
        if (rules.minLength !== undefined && length < rules.minLength) return this.fail('minLength');
      }
      if (rules.pattern !== undefined) {
        this.step(PATTERN_TEST_STEPS + Math.ceil(value.length / CHARACTERS_PER_PATTERN_STEP));
        if (!this.interpreter.compiled(rules.pattern).test(value)) return this.fail('pattern');
      }
    }
    const format = node.format;
    if (format?.appliesTo === 'string') {
      // A format that may backtrack is bounded in length and counted as if quadratic in it.
      const length = Math.min(value.length, format.maxLength ?? 0);
      this.step(1 + Math.ceil(value.length / CHARACTERS_PER_TEST_STEP) + Math.ceil((length * length) / 256));
      if (!format.test(value)) return this.fail('format');
    }
    return true;
  }

  private checkArray(items: unknown[], rules: ArrayRules, evaluated: Evaluated | null): boolean {
    if (rules.maxItems !== undefined && items.length > rules.maxItems) return this.fail('maxItems');
    if (rules.minItems !== undefined && items.length < rules.minItems) return this.fail('minItems');
    if (rules.uniqueItems && this.hasDuplicates(items)) return this.fail('uniqueItems');
    const modern = this.interpreter.dialect === '2020-12';
    if (rules.prefixItems !== undefined) {
      const prefix = rules.prefixItems;
      let valid = true;
      let next = 0;
      for (; next < prefix.length && next < items.length; next++) {
        this.step();
        this.tokens.push(next);
        const holds = this.validate(items[next], prefix[next], null);
        this.tokens.pop();
        if (!holds) {
          if (!this.goesOn()) return false;
          valid = false;
        }
      }
      if (!valid) return false;
      if (evaluated !== null) evaluated.items = Math.max(evaluated.items, next);
      // What follows the prefix: `items` in 2020-12, `additionalItems` in draft-07.
      const rest = modern ? rules.items : rules.additionalItems;
      if (rest === false && items.length > prefix.length) return this.fail(modern ? 'items' : 'additionalItems');
      if (rest !== undefined && !this.eachItem(items, prefix.length, rest, evaluated)) return false;
    } else if (rules.items !== undefined) {
      // The common case, checked in this frame: a deep answer of arrays nests as deep as objects.
      let valid = true;
      for (let index = 0; index < items.length; index++) {
        this.step();
        this.tokens.push(index);
        const holds = this.validate(items[index], rules.items, null);
        this.tokens.pop();
        if (!holds) {
          if (!this.goesOn()) return false;
          valid = false;
        }
      }
      if (!valid) return false;
      if (evaluated !== null) evaluated.allItems = true;
    }
    if (rules.contains !== undefined && !this.checkContains(items, rules, evaluated)) return false;
    return true;
  }

  private eachItem(items: unknown[], from: number, schema: unknown, evaluated: Evaluated | null): boolean {
    let valid = true;
    for (let index = from; index < items.length; index++) {
      this.step();
      this.tokens.push(index);
      const holds = this.validate(items[index], schema, null);
      this.tokens.pop();
      if (!holds) {
        if (!this.goesOn()) return false;
        valid = false;
      }
    }
    if (valid && evaluated !== null) evaluated.allItems = true;
    return valid;
  }

  /**
   * `contains` as JSON Schema reads it: the items it matched count as evaluated (Ajv marks every
   * item, and skips `minContains: 0` alone: schemas with `contains` are interpreted, `ajvMisreads`).
   */
  private checkContains(items: unknown[], rules: ArrayRules, evaluated: Evaluated | null): boolean {
    const least = rules.minContains;
    const most = rules.maxContains;
    if (most !== undefined && least > most) return this.fail('contains');
    if (evaluated === null && least === 0 && most === undefined) return true;
    if (this.interpreter.nodeOf(rules.contains).always === true) {
      if (items.length < least || (most !== undefined && items.length > most)) return this.fail('contains');
      if (evaluated !== null) evaluated.allItems = true;
      return true;
    }
    let matches = 0;
    for (let index = 0; index < items.length; index++) {
      this.step();
      this.tokens.push(index);
      const matched = this.tries(items[index], rules.contains, null);
      this.tokens.pop();
      if (!matched) continue;
      matches += 1;
      evaluated?.itemIndices.add(index);
      if (most !== undefined && matches > most) return this.fail('contains');
      // Every match is an annotation when they are gathered; otherwise enough is enough.
      if (evaluated === null && most === undefined && matches >= least) break;
    }
    if (matches < least) return this.fail('contains');
    return true;
  }

  private hasDuplicates(items: unknown[]): boolean {
    const scalars = new Set<unknown>();
    const texts = new Set<string>();
    for (const item of items) {
      this.step();
      if (item !== null && typeof item === 'object') {
        const text = this.canonicalTextOf(item);
        if (texts.has(text)) return true;
        texts.add(text);
      } else {
        if (scalars.has(item)) return true;
        scalars.add(item);
      }
    }
    return false;
  }

  private checkObject(object: JsonObject, rules: ObjectRules, evaluated: Evaluated | null): boolean {
    let valid = true;
    if (rules.required !== undefined) {
      for (const name of rules.required) {
        this.step();
        if (!Object.hasOwn(object, name)) {
          this.fail('required', name);
          if (!this.goesOn()) return false;
          valid = false;
        }
      }
    }
    const readsKeys =
      rules.properties !== undefined ||
      rules.patternProperties !== undefined ||
      rules.additionalProperties !== undefined ||
      rules.propertyNames !== undefined ||
      rules.dependencies !== undefined;
    if (rules.minProperties === undefined && rules.maxProperties === undefined && !readsKeys) return valid;
    const keys = Object.keys(object);
    this.step(keys.length);
    if (rules.maxProperties !== undefined && keys.length > rules.maxProperties) return this.fail('maxProperties');
    if (rules.minProperties !== undefined && keys.length < rules.minProperties) return this.fail('minProperties');
    if (!readsKeys) return valid;
    // Most keys are declared properties under a schema with nothing else reading keys: those are
    // checked here, one stack frame per level of the answer fewer than through `checkKey`.
    const onlyProperties =
      rules.patternProperties === undefined && rules.propertyNames === undefined && rules.dependencies === undefined;
    for (const key of keys) {
      this.step();
      const declared = onlyProperties ? rules.properties?.get(key) : undefined;
      let holds: boolean;
      if (declared !== undefined) {
        this.tokens.push(key);
        holds = this.validate(object[key], declared, null);
        this.tokens.pop();
        if (holds) evaluated?.properties.add(key);
      } else holds = this.checkKey(object, key, rules, evaluated);
      if (!holds) {
        if (!this.goesOn()) return false;
        valid = false;
      }
    }
    if (valid && rules.additionalProperties !== undefined && evaluated !== null) evaluated.allProperties = true;
    return valid;
  }

  /** One key of `object` against the keywords that read keys. */
  private checkKey(object: JsonObject, key: string, rules: ObjectRules, evaluated: Evaluated | null): boolean {
    if (rules.propertyNames !== undefined && !this.tries(key, rules.propertyNames, null))
      return this.fail('propertyNames');
    let known = false;
    if (rules.properties !== undefined && rules.properties.has(key)) {
      known = true;
      if (!this.below(key, object[key], rules.properties.get(key), null)) return false;
    }
    if (rules.patternProperties !== undefined) {
      for (const [pattern, subschema] of rules.patternProperties) {
        this.step(PATTERN_TEST_STEPS + Math.ceil(key.length / CHARACTERS_PER_PATTERN_STEP));
        if (!this.interpreter.compiled(pattern).test(key)) continue;
        known = true;
        if (!this.below(key, object[key], subschema, null)) return false;
      }
    }
    if (!known && rules.additionalProperties !== undefined) {
      if (rules.additionalProperties === false) return this.fail('additionalProperties');
      if (!this.below(key, object[key], rules.additionalProperties, null)) return false;
    }
    if (known) evaluated?.properties.add(key);
    for (const dependency of rules.dependencies?.get(key) ?? []) {
      if (dependency.required === undefined) {
        if (!this.validate(object, dependency.schema, evaluated)) return false;
        continue;
      }
      for (const name of dependency.required) {
        this.step();
        if (!Object.hasOwn(object, name)) return this.fail(dependency.keyword);
      }
    }
    return true;
  }

  private checkLogic(value: unknown, rules: LogicRules, evaluated: Evaluated | null): boolean {
    if (rules.allOf !== undefined) {
      let valid = true;
      for (const subschema of rules.allOf) {
        if (this.validate(value, subschema, evaluated)) continue;
        if (!this.goesOn()) return false;
        valid = false;
      }
      if (!valid) return false;
    }
    if (rules.anyOf !== undefined) {
      let any = false;
      for (const subschema of rules.anyOf) {
        // Annotations come from every branch that holds, so all are tried when they are gathered.
        const branch = evaluated === null ? null : newEvaluated();
        if (!this.tries(value, subschema, branch)) continue;
        any = true;
        if (evaluated === null || branch === null) break;
        this.merge(evaluated, branch);
      }
      if (!any) return this.fail('anyOf');
    }
    if (rules.oneOf !== undefined) {
      let holding: Evaluated | null = null;
      let count = 0;
      for (const subschema of rules.oneOf) {
        const branch = evaluated === null ? null : newEvaluated();
        if (!this.tries(value, subschema, branch)) continue;
        count += 1;
        if (count > 1) return this.fail('oneOf');
        holding = branch;
      }
      if (count === 0) return this.fail('oneOf');
      if (holding !== null && evaluated !== null) this.merge(evaluated, holding);
    }
    if (rules.not !== undefined && this.tries(value, rules.not, null)) return this.fail('not');
    if (rules.if !== undefined && (evaluated !== null || rules.then !== undefined || rules.else !== undefined)) {
      // A passing `if` adds its annotations (JSON Schema; Ajv drops them, so schemas where that
      // matters are interpreted: `ajvMisreads`). Without `then`/`else` only they are left to do.
      const annotations = evaluated === null ? null : newEvaluated();
      const holds = this.tries(value, rules.if, annotations);
      if (holds && annotations !== null && evaluated !== null) this.merge(evaluated, annotations);
      const branch = holds ? rules.then : rules.else;
      if (branch !== undefined && !this.validate(value, branch, evaluated)) return false;
    }
    return true;
  }

  private checkUnevaluatedProperties(object: JsonObject, rest: unknown, evaluated: Evaluated): boolean {
    if (evaluated.allProperties) return true;
    for (const key of Object.keys(object)) {
      this.step();
      if (evaluated.properties.has(key)) continue;
      if (rest === false) return this.fail('unevaluatedProperties');
      if (!this.below(key, object[key], rest, null)) return false;
    }
    evaluated.allProperties = true;
    return true;
  }

  private checkUnevaluatedItems(items: unknown[], rest: unknown, evaluated: Evaluated): boolean {
    if (evaluated.allItems || items.length <= evaluated.items) return true;
    for (let index = evaluated.items; index < items.length; index++) {
      this.step();
      if (evaluated.itemIndices.has(index)) continue;
      if (rest === false) return this.fail('unevaluatedItems');
      this.tokens.push(index);
      const holds = this.validate(items[index], rest, null);
      this.tokens.pop();
      if (!holds) return false;
    }
    evaluated.allItems = true;
    return true;
  }
}
