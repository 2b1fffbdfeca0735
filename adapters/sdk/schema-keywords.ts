/**
 * What each key of a JSON Schema holds, for the walks that count, copy or search response
 * schemas. A key's meaning depends on where it sits: `title` is an annotation in a schema but a
 * property's name inside `properties`, and `{ "$ref": … }` inside an `enum` is data. Walks that
 * skipped every key named like an annotation let a property called `title` hide 4,000 properties
 * from the compile bound and a `$ref` from the check-cost walk.
 */

/** Keywords Ajv generates no code for: their values are never checked. */
export const ANNOTATION_KEYWORDS = new Set([
  'description',
  'title',
  'summary',
  'example',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  'externalDocs',
  'xml',
  'discriminator',
]);

/** Keywords whose value is one schema (for `items`, possibly a list of schemas). */
export const SCHEMA_VALUED_KEYWORDS = new Set([
  'additionalProperties',
  'additionalItems',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'items',
]);

/** Keywords whose value is a list of schemas. */
export const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);

/** Keywords whose value maps names (or patterns) to schemas. */
export const SCHEMA_MAP_KEYWORDS = new Set([
  'properties',
  'patternProperties',
  'dependentSchemas',
  'dependencies',
  '$defs',
  'definitions',
]);

/**
 * How a walk reads a value: as a schema, as a map of names to schemas, as data (every node
 * counts, nothing is a keyword), or not at all (an annotation).
 */
export type SchemaPart = 'schema' | 'names' | 'data' | 'annotation';

/** How the value under `key` of a value read as `part` is read. */
export function partUnder(part: SchemaPart, key: string): SchemaPart {
  if (part === 'data' || part === 'annotation') return part;
  if (part === 'names') return 'schema';
  if (ANNOTATION_KEYWORDS.has(key) || key.startsWith('x-')) return 'annotation';
  if (SCHEMA_MAP_KEYWORDS.has(key)) return 'names';
  if (SCHEMA_LIST_KEYWORDS.has(key) || SCHEMA_VALUED_KEYWORDS.has(key)) return 'schema';
  return 'data';
}
