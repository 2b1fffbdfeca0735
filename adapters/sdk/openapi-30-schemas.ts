/**
 * OpenAPI 3.0's schema dialect as JSON Schema (draft-07), for the run-time checks of department
 * answers. Its own module, free of Ajv: the gateway's contract worker runs it on large documents
 * so that the event loop does not walk them.
 */
import { type JsonObject, isObject } from './schema-pointers.js';

/**
 * Rewrites OpenAPI 3.0 schema dialect into what draft-07 Ajv understands, on a copy: `nullable`
 * becomes a `null` type (and a `null` enum member), boolean `exclusiveMinimum`/`exclusiveMaximum`
 * become the numeric form, and keywords beside a `$ref` are dropped (3.0 ignores them). Walks the
 * whole document; the rewrite only touches shapes that only schemas have.
 */
export function rewriteOpenApi30(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteOpenApi30);
  if (!isObject(value)) return value;
  // A 3.0 Reference Object: anything beside `$ref` is ignored (the specification), so not checked.
  if (typeof value['$ref'] === 'string') return { $ref: value['$ref'] };
  const result: JsonObject = {};
  // Defined, not assigned: assigning a `__proto__` member (a schema may be named so) set the copy's
  // prototype instead, and the member vanished from the rewritten document.
  for (const [key, child] of Object.entries(value))
    Object.defineProperty(result, key, {
      value: rewriteOpenApi30(child),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  if (result['nullable'] === true) {
    delete result['nullable'];
    const type = result['type'];
    if (typeof type === 'string') result['type'] = [type, 'null'];
    if (Array.isArray(result['enum']) && !result['enum'].includes(null)) result['enum'] = [...result['enum'], null];
  } else if (result['nullable'] === false) delete result['nullable'];
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (result[flag] === true && typeof result[bound] === 'number') {
      result[flag] = result[bound];
      delete result[bound];
    } else if (typeof result[flag] === 'boolean') delete result[flag];
  }
  return result;
}
