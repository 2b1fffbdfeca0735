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
 * backreferences or lookaround); and a schema large enough to be interpreted rather than compiled
 * may not use `patternProperties`, which the interpreter matches with a backtracking RegExp.
 */

import { MAX_COMPILED_SCHEMA_NODES, schemaNodeCount } from '../../adapters/sdk/interpreted-schemas.js';
import { linearPatternProblem } from '../../adapters/sdk/linear-patterns.js';
import { escapePointerToken, isObject, resolveLocalPointer } from '../../adapters/sdk/schema-pointers.js';

/** Schema nodes one check may walk (a flat 20,000-property schema has ~60,000). */
export const MAX_EXPANDED_SCHEMA_NODES = 100_000;

/** Values that are data, not schemas: a `pattern` inside an `enum` member is no pattern. */
const DATA_VALUED = new Set(['example', 'examples', 'description', 'enum', 'const', 'default']);

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

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

export interface CheckCostProblem {
  path: string;
  message: string;
}

/** The problems of `document`'s response schemas, at most `limit` of them. */
export function checkCostProblems(document: Json, limit = 20): CheckCostProblem[] {
  const problems: CheckCostProblem[] = [];
  const expanded = new Map<object, number>();
  const onPath = new Set<object>();
  const identifiersSeen = new Set<object>();
  /** Schemas that use `patternProperties`, with where. */
  const patternPropertiesAt = new Map<object, string[]>();
  const searched = new Set<string>();

  const patternProblem = (pattern: string, tokens: string[]): void => {
    const problem = linearPatternProblem(pattern);
    if (problem !== undefined && problems.length < limit)
      problems.push({ path: pointerOf(tokens), message: `this pattern ${problem}` });
  };

  /** Nodes a check walks from `value`, each reference followed; stops adding past the bound. */
  const size = (value: unknown, tokens: string[]): number => {
    if (Array.isArray(value)) {
      let total = 1;
      value.forEach((item, index) => {
        if (total <= MAX_EXPANDED_SCHEMA_NODES) total += size(item, [...tokens, String(index)]);
      });
      return total;
    }
    if (!isObject(value)) return 1;
    const known = expanded.get(value);
    if (known !== undefined) return known;
    if (onPath.has(value)) return 1;
    onPath.add(value);
    let total = 1;
    for (const key in value) {
      total += 1;
      if (total > MAX_EXPANDED_SCHEMA_NODES) break;
      const child = value[key];
      if (EMBEDDED_IDENTIFIERS.has(key) && problems.length < limit && !identifiersSeen.has(value)) {
        identifiersSeen.add(value);
        problems.push({
          path: pointerOf([...tokens, key]),
          message: `${key} is not supported in response schemas (answers are checked with local #/ references only): use a #/components reference`,
        });
      }
      if (key.startsWith('x-') || DATA_VALUED.has(key)) continue;
      if (key === 'pattern' && typeof child === 'string') patternProblem(child, [...tokens, key]);
      if (key === 'patternProperties' && isObject(child)) {
        for (const pattern in child) patternProblem(pattern, [...tokens, key, pattern]);
        patternPropertiesAt.set(value, [...tokens, key]);
      }
      total += size(child, [...tokens, key]);
    }
    const ref = value['$ref'];
    if (typeof ref === 'string' && total <= MAX_EXPANDED_SCHEMA_NODES) {
      const target = resolve(document, ref);
      if (target !== undefined) total += size(target, ref.slice(2).split('/'));
    }
    onPath.delete(value);
    const bounded = Math.min(total, MAX_EXPANDED_SCHEMA_NODES + 1);
    expanded.set(value, bounded);
    return bounded;
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
          const walked = size(media['schema'], tokens);
          if (walked > MAX_EXPANDED_SCHEMA_NODES && problems.length < limit)
            problems.push({
              path: pointerOf(tokens),
              message: `checking an answer against this schema walks more than ${MAX_EXPANDED_SCHEMA_NODES} schema nodes (its references fan out): share less, or flatten it`,
            });
          else if (patternPropertiesAt.size > 0 && problems.length < limit) {
            const schema = media['schema'];
            // Operations share schemas through references: each shared one is searched once.
            const ref = isObject(schema) && typeof schema['$ref'] === 'string' ? schema['$ref'] : undefined;
            if (ref !== undefined && searched.has(ref)) continue;
            if (ref !== undefined) searched.add(ref);
            const interpreted =
              schemaNodeCount(document, schema, MAX_COMPILED_SCHEMA_NODES) > MAX_COMPILED_SCHEMA_NODES;
            const used = interpreted ? firstReached(document, schema, patternPropertiesAt) : undefined;
            if (used !== undefined)
              problems.push({
                path: pointerOf(used),
                message: `patternProperties is not supported in a response schema of more than ${MAX_COMPILED_SCHEMA_NODES} nodes (${pointerOf(tokens)}): such answers are checked by an interpreter that cannot match it in bounded time; use properties or additionalProperties, or a smaller schema`,
              });
          }
        }
      }
    }
  }
  return problems;
}

/**
 * The first of `marked`'s schemas reachable from `schema` (references followed), or undefined.
 * Each schema object is entered once per call: bounded by the document's size.
 */
function firstReached(document: Json, schema: unknown, marked: ReadonlyMap<object, string[]>): string[] | undefined {
  const entered = new Set<object>();
  const pending: unknown[] = [schema];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) {
      pending.push(...value);
      continue;
    }
    if (!isObject(value) || entered.has(value)) continue;
    entered.add(value);
    const found = marked.get(value);
    if (found) return found;
    for (const key in value) if (!key.startsWith('x-') && !DATA_VALUED.has(key)) pending.push(value[key]);
    const ref = value['$ref'];
    if (typeof ref === 'string') pending.push(resolve(document, ref));
  }
  return undefined;
}
