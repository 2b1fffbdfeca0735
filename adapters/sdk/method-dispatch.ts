/**
 * The contract convention for single-URL method-dispatch protocols, checked when a contract is
 * published (gateway/contracts/document.ts) and re-exported by `contract-validation.ts`. No Ajv
 * here: the publishing worker imports this alone.
 */

import { HTTP_METHODS, type JsonObject, isObject } from './schema-pointers.js';

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Follows local `$ref`s (a few hops at most); anything else is returned as it is. */
function follow(document: JsonObject, value: unknown, _tokens: string[]): { value: unknown } {
  let current = value;
  for (let hops = 0; hops < 16 && isObject(current) && typeof current['$ref'] === 'string'; hops++) {
    const ref = current['$ref'];
    if (!ref.startsWith('#/')) return { value: undefined };
    let target: unknown = document;
    for (const raw of ref.slice(2).split('/')) {
      const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      target = isObject(target) || Array.isArray(target) ? (target as JsonObject)[token] : undefined;
    }
    current = target;
  }
  return { value: current };
}

/**
 * Single-URL method-dispatch protocols (one URL, the call named by a `method` field in the body,
 * e.g. `POST /gateway` with `method=mca.marriage.query`) are described with ONE OPERATION PER
 * METHOD VALUE, each under its own path key: the URL path, then `#method=` and the value:
 *
 *     paths:
 *       /gateway#method=mca.marriage.query:
 *         post: { operationId: mca.marriage.query, … }
 *       /gateway#method=mca.gateway.health:
 *         post: { operationId: mca.gateway.health, … }
 *
 * A fragment is never part of a request URL, so the key cannot clash with a real path, and every
 * tool that reads OpenAPI (diffs, type generators, the gateway's contract gate) sees separate
 * operations with their own answers. The rules, checked at publish (`methodDispatchProblems`):
 *
 * - the key is `<path>#method=<value>`, `<value>` a dotted name (`[A-Za-z][A-Za-z0-9_]*`
 *   segments); no other use of `#` in a path key;
 * - the path item holds exactly one operation, and its `operationId` IS the method value (so
 *   metrics, logs and contract checks are labelled per method without a mapping);
 * - every method value appears once per URL path, and all operations of one URL path use the same
 *   HTTP method;
 * - a request body schema that declares the `method` property pins it to the value (`const`, or
 *   an `enum` of that one value).
 */
export const METHOD_DISPATCH_MARKER = '#method=';
const METHOD_VALUE = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;

export interface MethodDispatchTarget {
  /** The URL path the request goes to, e.g. `/gateway`. */
  path: string;
  /** The `method` value, e.g. `mca.marriage.query`. */
  method: string;
}

/** `/gateway#method=x.y` → `{path: '/gateway', method: 'x.y'}`; null for a plain path. */
export function parseMethodDispatchPath(pathKey: string): MethodDispatchTarget | null {
  const at = pathKey.indexOf(METHOD_DISPATCH_MARKER);
  if (at < 0) return null;
  return { path: pathKey.slice(0, at), method: pathKey.slice(at + METHOD_DISPATCH_MARKER.length) };
}

export interface ContractProblem {
  /** JSON pointer into the document. */
  path: string;
  message: string;
  /** The same in Simplified Chinese, for the department's and the centres' staff. */
  messageZh: string;
}

/** What is wrong in English and in Chinese. */
interface Wording {
  message: string;
  messageZh: string;
}

function pointer(...tokens: string[]): string {
  return `/${tokens.map(escapePointerToken).join('/')}`;
}

/** Pins `schema.properties.method` to `value`? (Only local `$ref`s of the schema itself are followed.) */
function methodPropertyProblem(document: JsonObject, schema: unknown, value: string): Wording | null {
  const resolved = follow(document, schema, []).value;
  if (!isObject(resolved) || !isObject(resolved['properties'])) return null;
  const property = follow(document, resolved['properties']['method'], []).value;
  if (property === undefined) return null;
  if (!isObject(property))
    return { message: 'the `method` property is not a schema', messageZh: '`method` 属性不是一个模式' };
  if (property['const'] === value) return null;
  const enumValues = property['enum'];
  if (Array.isArray(enumValues) && enumValues.length === 1 && enumValues[0] === value) return null;
  return {
    message: `the request body's \`method\` property must be pinned to "${value}" (const, or an enum of that one value)`,
    messageZh: `请求体的 \`method\` 属性必须固定为“${value}”（用 const，或只含这一个值的 enum）`,
  };
}

/**
 * The problems of a document's single-URL method-dispatch operations (none when it has none); see
 * `METHOD_DISPATCH_MARKER` for the convention. Linear in the number of paths.
 */
export function methodDispatchProblems(document: Record<string, unknown>): ContractProblem[] {
  const problems: ContractProblem[] = [];
  const paths = isObject(document['paths']) ? document['paths'] : {};
  const seen = new Map<string, { methods: Set<string>; httpMethod: string }>();
  for (const [pathKey, rawItem] of Object.entries(paths)) {
    if (!pathKey.includes('#')) continue;
    const where = pointer('paths', pathKey);
    const target = parseMethodDispatchPath(pathKey);
    if (target === null || target.path === '' || target.path.includes('#') || !METHOD_VALUE.test(target.method)) {
      problems.push({
        path: where,
        message: `a path with "#" must be a method-dispatch path "<path>${METHOD_DISPATCH_MARKER}<dotted.method.name>"`,
        messageZh: `含“#”的路径必须是方法分派路径“<path>${METHOD_DISPATCH_MARKER}<dotted.method.name>”`,
      });
      continue;
    }
    const item = follow(document as JsonObject, rawItem, []).value;
    const operations = isObject(item)
      ? HTTP_METHODS.filter((method) => isObject(item[method])).map((method) => ({
          httpMethod: method,
          operation: item[method] as JsonObject,
        }))
      : [];
    if (operations.length !== 1) {
      problems.push({
        path: where,
        message: `a method-dispatch path holds exactly one operation (found ${operations.length})`,
        messageZh: `一个方法分派路径只能有一个操作（现有 ${operations.length} 个）`,
      });
      continue;
    }
    const [{ httpMethod, operation }] = operations as [{ httpMethod: string; operation: JsonObject }];
    if (operation['operationId'] !== target.method)
      problems.push({
        path: pointer('paths', pathKey, httpMethod, 'operationId'),
        message: `the operationId of a method-dispatch operation must be its method value "${target.method}"`,
        messageZh: `方法分派操作的 operationId 必须是它的方法值“${target.method}”`,
      });
    const group = seen.get(target.path);
    if (!group) seen.set(target.path, { methods: new Set([target.method]), httpMethod });
    else {
      if (group.methods.has(target.method))
        problems.push({
          path: where,
          message: `the method "${target.method}" is declared twice for ${target.path}`,
          messageZh: `方法“${target.method}”在 ${target.path} 上声明了两次`,
        });
      group.methods.add(target.method);
      if (group.httpMethod !== httpMethod)
        problems.push({
          path: pointer('paths', pathKey, httpMethod),
          message: `every method-dispatch operation of ${target.path} must use the same HTTP method (${group.httpMethod})`,
          messageZh: `${target.path} 的所有方法分派操作必须使用同一个 HTTP 方法（${group.httpMethod}）`,
        });
    }
    const requestBody = follow(document as JsonObject, operation['requestBody'], []).value;
    const content = isObject(requestBody) && isObject(requestBody['content']) ? requestBody['content'] : {};
    for (const [mediaType, media] of Object.entries(content)) {
      if (!isObject(media)) continue;
      const problem = methodPropertyProblem(document as JsonObject, media['schema'], target.method);
      if (problem)
        problems.push({
          path: pointer('paths', pathKey, httpMethod, 'requestBody', 'content', mediaType, 'schema'),
          ...problem,
        });
    }
  }
  return problems;
}
