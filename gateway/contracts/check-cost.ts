/**
 * What checking a department's answers against a contract would cost, bounded at publication.
 *
 * Every answer is checked against its response schema on the gateway's event loop (see
 * adapters/sdk/interpreted-schemas.ts). A schema whose `$ref`s fan out makes that check cost far
 * more than the answer's size, whichever validator runs it: 19 small schemas, each an `allOf` of
 * the next one twice, make every check walk 2^19 schemas (measured 0.6–1.4 s for the answer `{}`).
 * So the walk one check may make, references followed where they are used, is counted here (in
 * the contract worker; each schema once, memoised) and bounded by `MAX_EXPANDED_SCHEMA_NODES`; a
 * recursive schema (a tree) counts once, as its cost follows the answer's depth. Response schemas
 * may not use `$id`, `$anchor` or dynamic references either (see below).
 *
 * Patterns are matched in linear time at run time (adapters/sdk/linear-patterns.ts), so a response
 * schema's `pattern`s and `patternProperties` must be ones a linear-time engine can match (no
 * backreferences or lookaround). Everything else a check does costs in proportion to the answer
 * (the interpreter of large schemas counts its steps: adapters/sdk/schema-interpreter.ts).
 */

import { Ajv2020 } from 'ajv/dist/2020.js';
import { linearPatternProblem } from '../../adapters/sdk/linear-patterns.js';
import { type SchemaPart, partUnder } from '../../adapters/sdk/schema-keywords.js';
import { HTTP_METHODS, escapePointerToken, isObject, resolveLocalPointer } from '../../adapters/sdk/schema-pointers.js';
import { type FieldProblem, fieldProblem } from '../platform/field-problems.js';

/** Schema nodes one check may walk (a flat 20,000-property schema has ~60,000). */
export const MAX_EXPANDED_SCHEMA_NODES = 100_000;

/**
 * Distinct patterns in a document's response schemas. Each is compiled when an answer first meets
 * it, on the event loop: 10,000 at one answer held it 0.25–0.35 s; 1,000 take ~30 ms.
 */
export const MAX_DISTINCT_PATTERNS = 1_000;

type Json = Record<string, unknown>;

/**
 * Keywords that give a schema its own base or a dynamic target. Answers are checked with local
 * `#/…` references resolved against the document: under these the two validators disagree (one
 * ignores `$dynamicRef`, the other cannot compile a component with its own `$id`), so a response
 * schema may not use them.
 */
const EMBEDDED_IDENTIFIERS = new Set([
  '$id',
  '$anchor',
  '$dynamicRef',
  '$dynamicAnchor',
  '$recursiveRef',
  '$recursiveAnchor',
]);

function pointerOf(tokens: readonly string[]): string {
  return tokens.map((token) => `/${escapePointerToken(token)}`).join('');
}

/** The `$ref` target, or undefined when it does not resolve (the OpenAPI validation reports that). */
function resolve(document: Json, ref: string): unknown {
  if (ref === '#') return document;
  try {
    return resolveLocalPointer(document, ref).value;
  } catch {
    return undefined;
  }
}

/** Where a response schema costs too much to check, and why, in both languages. */
export type CheckCostProblem = FieldProblem;

/** The problems of `document`'s response schemas, at most `limit` of them. */
export function checkCostProblems(document: Json, limit = 20): CheckCostProblem[] {
  const problems: CheckCostProblem[] = [];
  const expanded = new Map<object, number>();
  const onPath = new Set<object>();
  const identifiersSeen = new Set<object>();
  /** Response schemas and the schemas their references reach, with where each is. */
  const schemaRoots = new Map<object, string[]>();
  const responseSchemas: Array<[Json, string[]]> = [];

  const patterns = new Set<string>();
  const patternProblem = (pattern: string, tokens: string[]): void => {
    patterns.add(pattern);
    if (patterns.size === MAX_DISTINCT_PATTERNS + 1 && problems.length < limit)
      problems.push(
        fieldProblem(
          pointerOf(tokens),
          `the response schemas use more than ${MAX_DISTINCT_PATTERNS} distinct patterns: each is compiled on the gateway at its first answer (~30 µs each)`,
          `应答模式中不同的正则表达式超过 ${MAX_DISTINCT_PATTERNS} 个：每个都要在网关首次收到应答时编译（每个约 30 微秒）`,
        ),
      );
    const problem = linearPatternProblem(pattern);
    if (problem !== undefined && problems.length < limit)
      problems.push(
        fieldProblem(pointerOf(tokens), `this pattern ${problem}`, `该正则表达式不能用于检查应答：${problem}`),
      );
  };

  /**
   * Nodes a check walks from `value` read as `part` (see schema-keywords.ts: a property named
   * `title` is a schema, an `enum` member is data), each reference followed; stops adding past the
   * bound. Schemas are memoised; data is counted where it is.
   */
  const size = (value: unknown, tokens: string[], part: SchemaPart): number => {
    if (part === 'annotation') return 1;
    if (Array.isArray(value)) {
      let total = 1;
      value.forEach((item, index) => {
        if (total <= MAX_EXPANDED_SCHEMA_NODES) total += size(item, [...tokens, String(index)], part);
      });
      return total;
    }
    if (!isObject(value)) return 1;
    const memo = part === 'data' ? undefined : expanded;
    const known = memo?.get(value);
    if (known !== undefined) return known;
    if (onPath.has(value)) return 1;
    onPath.add(value);
    let total = 1;
    for (const key in value) {
      total += 1;
      if (total > MAX_EXPANDED_SCHEMA_NODES) break;
      const child = value[key];
      if (part === 'schema') schemaKeywordProblems(value, key, child, tokens);
      total += size(child, [...tokens, key], partUnder(part, key));
    }
    const ref = value['$ref'];
    if (part === 'schema' && typeof ref === 'string' && total <= MAX_EXPANDED_SCHEMA_NODES) {
      const target = resolve(document, ref);
      if (target !== undefined) {
        if (isObject(target)) schemaRoots.set(target, resolveLocalPointer(document, ref).tokens);
        total += size(target, ref.slice(2).split('/'), 'schema');
      }
    }
    onPath.delete(value);
    const bounded = Math.min(total, MAX_EXPANDED_SCHEMA_NODES + 1);
    memo?.set(value, bounded);
    return bounded;
  };

  /** What publication refuses in a response schema's own keywords. */
  const schemaKeywordProblems = (schema: Json, key: string, child: unknown, tokens: string[]): void => {
    if (problems.length >= limit) return;
    if (EMBEDDED_IDENTIFIERS.has(key) && !identifiersSeen.has(schema)) {
      identifiersSeen.add(schema);
      problems.push(
        fieldProblem(
          pointerOf([...tokens, key]),
          `${key} is not supported in response schemas (answers are checked with local #/ references only): use a #/components reference`,
          `应答模式不支持 ${key}（检查应答时只用本地 #/ 引用）：请改用 #/components 引用`,
        ),
      );
    }
    if (key === 'pattern' && typeof child === 'string') patternProblem(child, [...tokens, key]);
    if (key === 'patternProperties' && isObject(child))
      for (const pattern in child) patternProblem(pattern, [...tokens, key, pattern]);
    // The validators look formats up by name in plain objects: `constructor` would be found.
    if (key === 'format' && typeof child === 'string' && child in Object.prototype)
      problems.push(fieldProblem(pointerOf([...tokens, key]), `${child} is not a format`, `${child} 不是一种 format`));
  };

  const paths = isObject(document['paths']) ? document['paths'] : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item =
      isObject(rawItem) && typeof rawItem['$ref'] === 'string' ? resolve(document, rawItem['$ref']) : rawItem;
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!isObject(operation) || !isObject(operation['responses'])) continue;
      for (const [status, rawResponse] of Object.entries(operation['responses'])) {
        const response =
          isObject(rawResponse) && typeof rawResponse['$ref'] === 'string'
            ? resolve(document, rawResponse['$ref'])
            : rawResponse;
        if (!isObject(response) || !isObject(response['content'])) continue;
        for (const [mediaType, media] of Object.entries(response['content'])) {
          if (!isObject(media) || media['schema'] === undefined) continue;
          const tokens = ['paths', path, method, 'responses', status, 'content', mediaType, 'schema'];
          if (isObject(media['schema'])) {
            schemaRoots.set(media['schema'], tokens);
            responseSchemas.push([media['schema'], tokens]);
          }
          const walked = size(media['schema'], tokens, 'schema');
          if (walked > MAX_EXPANDED_SCHEMA_NODES && problems.length < limit)
            problems.push(
              fieldProblem(
                pointerOf(tokens),
                `checking an answer against this schema walks more than ${MAX_EXPANDED_SCHEMA_NODES} schema nodes (its references fan out): share less, or flatten it`,
                `按此模式检查应答要遍历超过 ${MAX_EXPANDED_SCHEMA_NODES} 个模式节点（引用层层展开）：请减少共用，或把它展平`,
              ),
            );
        }
      }
    }
  }
  if (problems.length < limit)
    problems.push(...recursiveFanOut(document, responseSchemas).slice(0, limit - problems.length));
  if (typeof document['openapi'] === 'string' && document['openapi'].startsWith('3.1'))
    for (const [schema, tokens] of schemaRoots) {
      if (problems.length >= limit) break;
      problems.push(...notJsonSchema(schema, tokens).slice(0, limit - problems.length));
    }
  return problems;
}

let metaSchemaChecker: Ajv2020 | undefined;

/**
 * Where a 3.1 response schema is not JSON Schema 2020-12 (checked against its meta-schema):
 * `items` as a list, `exclusiveMinimum: true`, `type: date`, `required` as a string. Neither
 * validator could check answers against such a schema, so every answer would be refused.
 */
function notJsonSchema(schema: object, tokens: readonly string[]): CheckCostProblem[] {
  metaSchemaChecker ??= new Ajv2020({ strict: false, allErrors: true, logger: false });
  if (metaSchemaChecker.validateSchema(schema) === true) return [];
  const seen = new Set<string>();
  const problems: CheckCostProblem[] = [];
  for (const error of metaSchemaChecker.errors ?? []) {
    // The meta-schema's branches report one mistake several times: once per place.
    const path = `${pointerOf(tokens)}${error.instancePath}`;
    if (seen.has(path)) continue;
    seen.add(path);
    const reason = error.message ?? error.keyword;
    problems.push(
      fieldProblem(path, `not a JSON Schema 2020-12 schema: ${reason}`, `不是 JSON Schema 2020-12 模式：${reason}`),
    );
  }
  return problems;
}

/** The part of the answer each applicator applies its schema to, relative to the schema's own. */
const ANSWER_STEP: Record<string, string> = {
  allOf: '',
  anyOf: '',
  oneOf: '',
  not: '',
  if: '',
  then: '',
  else: '',
  dependentSchemas: '',
  items: '/[]',
  prefixItems: '/[]',
  additionalItems: '/[]',
  contains: '/[]',
  unevaluatedItems: '/[]',
  additionalProperties: '/*',
  unevaluatedProperties: '/*',
  patternProperties: '/*',
  propertyNames: '/#name',
};

/** A way from a schema back to `head`, a schema it is inside of, applying to the answer at `at`. */
interface Loop {
  head: object;
  at: string;
  /** Every schema on the way is a bare `{$ref}`: a loop of references, the document check's to refuse. */
  bare: boolean;
}

const MAX_LOOPS_PER_SCHEMA = 256;

/**
 * Recursive schemas whose checks grow exponentially with the answer's depth. A tree that refers
 * to itself once per child (`children: {items: {$ref: Node}}`) is checked in time linear in the
 * answer; one that refers to itself twice for the same part of the answer (`c: {allOf: [{$ref:
 * T}, {$ref: T}]}`) checks that part twice per level, 2^depth in all (a 140-byte answer held the
 * loop seconds), and one that applies itself to the same part (`allOf: [{$ref: A}]` inside A)
 * never ends. Each schema's ways back to the schemas it is inside of are summarised once
 * (memoised), so this costs time linear in the document.
 */
function recursiveFanOut(document: Json, roots: ReadonlyArray<[Json, string[]]>): CheckCostProblem[] {
  const problems: CheckCostProblem[] = [];
  const summaries = new Map<object, Loop[]>();
  const onPath = new Set<object>();
  const where = new Map<object, string[]>();

  const visit = (value: unknown, tokens: string[]): Loop[] => {
    if (!isObject(value)) return [];
    if (onPath.has(value)) return [{ head: value, at: '', bare: true }];
    const known = summaries.get(value);
    if (known) return known;
    onPath.add(value);
    where.set(value, tokens);
    const loops: Loop[] = [];
    const bare = Object.keys(value).length === 1 && typeof value['$ref'] === 'string';
    const add = (found: readonly Loop[], step: string): void => {
      for (const loop of found)
        if (loops.length < MAX_LOOPS_PER_SCHEMA)
          loops.push({ head: loop.head, at: step + loop.at, bare: bare && loop.bare });
    };
    for (const key in value) {
      const child = value[key];
      if (key === 'properties' && isObject(child)) {
        for (const name in child) add(visit(child[name], [...tokens, key, name]), `/${name}`);
        continue;
      }
      const step = ANSWER_STEP[key];
      if (step === undefined) continue;
      if (Array.isArray(child)) child.forEach((item, index) => add(visit(item, [...tokens, key, String(index)]), step));
      else if ((key === 'patternProperties' || key === 'dependentSchemas') && isObject(child))
        for (const name in child) add(visit(child[name], [...tokens, key, name]), step);
      else add(visit(child, [...tokens, key]), step);
    }
    const ref = value['$ref'];
    if (typeof ref === 'string') {
      const target = resolve(document, ref);
      if (target !== undefined) add(visit(target, ref === '#' ? [] : resolveLocalPointer(document, ref).tokens), '');
    }
    onPath.delete(value);
    const ownLoops = loops.filter((loop) => loop.head === value);
    const own = ownLoops.map((loop) => loop.at);
    const path = pointerOf(where.get(value) ?? tokens);
    if (ownLoops.some((loop) => loop.at === '' && !loop.bare))
      problems.push(
        fieldProblem(
          path,
          'this schema applies itself to the same part of the answer: a check would never end',
          '该模式对应答的同一部分反复套用自身：检查永远不会结束',
        ),
      );
    else if (new Set(own).size < own.length) {
      const twice = own.find((at, index) => own.indexOf(at) !== index) ?? '';
      problems.push(
        fieldProblem(
          path,
          `this recursive schema refers back to itself twice for the same part of the answer (${twice}): checking an answer would cost 2 to the power of its depth`,
          `该递归模式对应答的同一部分（${twice}）两次引用自身：检查一个应答的代价是 2 的嵌套深度次方`,
        ),
      );
    }
    const rest = loops.filter((loop) => loop.head !== value);
    summaries.set(value, rest);
    return rest;
  };
  for (const [schema, tokens] of roots) visit(schema, tokens);
  return problems;
}
