/**
 * Compares two versions of an OpenAPI 3.0/3.1 document and classifies every change as breaking or
 * compatible for the clients of the old version.
 *
 * Written here rather than taken from a library: the maintained JavaScript OpenAPI diff tools
 * either support only Swagger 2.0 / OpenAPI 3.0 or are unmaintained, and none understands 3.1's
 * JSON Schema (type arrays, numeric exclusive bounds, `const`, `$ref` with siblings).
 *
 * The rule behind every classification is the direction data flows:
 * - in a **request** the server must still accept everything it accepted before, so narrowing
 *   (a new required field, a removed enum value, a stricter bound, a new format) is breaking and
 *   widening is not;
 * - in a **response** clients must still understand everything they get, so widening (a new enum
 *   value, a new type, a looser bound, a lost format) and losing something they relied on (a
 *   removed or now optional property) is breaking, and adding properties is not;
 * - removing anything clients send or read (a parameter, a request or response property, a
 *   response header, a webhook or callback), required or optional, is breaking: what they send is
 *   silently ignored, what they read is gone. Deprecate first, remove in the next major version;
 * - webhooks and callbacks are requests the provider sends, so their bodies follow response rules.
 * The table of every change and its reason is docs/contract-gate.md.
 *
 * How schemas are compared, and why:
 * - `$ref`s are local (`#/...`, checked at publication) and followed lazily. A dangling or looping
 *   reference is an error, not a guess.
 * - Aliases — a `$ref` with only annotations beside it, an `allOf` of one member, a `oneOf`/`anyOf`
 *   of one schema and `{type: "null"}` — are followed to the schema they name, so a component keeps
 *   one identity however it is reached; whether the alias admits null is judged on its own.
 * - Every other schema is normalised before comparison: `allOf` merged into one schema, the
 *   nullable idioms of both versions made one (3.0 `nullable: true`, 3.1 `type: [..., "null"]`,
 *   null listed or not in a nullable enum, `format: binary` / `contentMediaType`), so upgrading a
 *   document from 3.0 to 3.1 changes nothing. Normalised schemas are memoised (one identity each).
 * - Each pair of (normalised previous, normalised next) schemas in one direction is compared once
 *   into a node of a graph: its own changes plus edges to the pairs beneath it. A recursive
 *   schema is a cycle in that graph, a shared component a node with several parents, so the work
 *   is linear in the size of the documents whatever their shape. The comparison runs off a work
 *   queue, not the call stack, so deep documents cannot overflow it.
 * - The changes are then read out of the graph once per place a schema is used (an operation's
 *   parameter, request body or response), so a change in a shared component is reported for every
 *   operation it affects, each with a pointer along the route to it.
 */

import { ANNOTATION_KEYWORDS as CHECK_ANNOTATION_KEYWORDS } from '../../adapters/sdk/schema-keywords.js';
import { HTTP_METHODS } from '../../adapters/sdk/schema-pointers.js';

export type ChangeSeverity = 'breaking' | 'compatible';
export type DataDirection = 'request' | 'response';

export interface ChangeLocation {
  method?: string;
  path?: string;
  /** `in:name`, e.g. `query:page`, `header:x-trace` (header names lower-cased). */
  parameter?: string;
  /**
   * JSON pointer along the route the comparison took through the new document (the old one for
   * removals), with `$ref`s followed as if inlined: `/paths/~1people/get/responses/200/…`.
   */
  pointer?: string;
  direction?: DataDirection;
}

export interface ContractChange {
  /** Stable machine-readable code, e.g. `response_property_removed`. */
  code: string;
  severity: ChangeSeverity;
  location: ChangeLocation;
  message: string;
}

/** A document the diff cannot read: not an OpenAPI 3.0/3.1 object, or a `$ref` that dangles or loops. */
export class ContractDiffError extends Error {
  override readonly name = 'ContractDiffError';
}

type JsonObject = Record<string, unknown>;

/** `$ref` hops followed from one place; real documents need a handful, a longer chain is a loop or an attack. */
const MAX_REF_HOPS = 64;
/** `allOf` members nested inside each other while merging; beyond it the merge gives up (and says so). */
const MAX_MERGE_DEPTH = 256;
/**
 * Schema pairs compared at most. A 2 MiB document (the publication limit) holds far fewer schemas;
 * the cap only stops a hostile pair of documents from holding the publisher's request for long.
 */
const MAX_SCHEMA_PAIRS = 250_000;
/**
 * Changes listed at most. A schema's changes are listed once per operation that uses it, so one
 * 500-property schema shared by 900 operations (0.16 MB of document) made 450,000 changes: 128 MB
 * that publication stored and answered, holding the gateway's event loop for seconds. Past the
 * cap one `changes_not_listed` entry counts the rest, breaking when any of them is, so whether a
 * version breaks its clients is decided as on the whole list.
 */
export const MAX_LISTED_CHANGES = 1_000;
/**
 * Characters of JSON the listed changes take at most. A change repeats its path (in `path`, in
 * `pointer` and often in `message`), so 1,000 changes under one 20,000-character path (a 60 KB
 * document) made 40 MB of list: publishing its next version held the event loop 2.7 s on PGlite,
 * reading the version 1.9 s, its catalogue entry 0.7 s, the diff 1.7 s. 1,000 changes of usual
 * paths take ~0.25 MB. Past the budget, changes are counted as past `MAX_LISTED_CHANGES`.
 */
export const MAX_LISTED_CHANGE_CHARS = 512 * 1024;
/**
 * Keywords that describe a schema without constraining its values: those the run-time check skips
 * too, and the ones the diff also treats as description (identifiers, `nullable`, content hints).
 */
const ANNOTATION_KEYWORDS = new Set([
  ...CHECK_ANNOTATION_KEYWORDS,
  '$schema',
  '$id',
  '$anchor',
  'nullable',
  'contentMediaType',
  'contentEncoding',
]);
/** Annotations that still change what a client sees: null admitted, a direction hidden, a deprecation. */
const MEANINGFUL_ANNOTATIONS = new Set(['nullable', 'readOnly', 'writeOnly', 'deprecated']);
/** Header parameters OpenAPI says to ignore: they are governed by the media types and security. */
const IGNORED_HEADER_PARAMETERS = new Set(['accept', 'content-type', 'authorization']);
/** Formats that admit every value of a narrower one: `int32` values are all valid `int64`s. */
const WIDER_FORMATS: Record<string, string[]> = {
  int32: ['int64'],
  float: ['double'],
  email: ['idn-email'],
  hostname: ['idn-hostname'],
  uri: ['iri', 'uri-reference', 'iri-reference'],
  iri: ['iri-reference'],
  'uri-reference': ['iri-reference'],
};

function widerFormatsOf(format: string): string[] {
  return Object.hasOwn(WIDER_FORMATS, format) ? (WIDER_FORMATS[format] ?? []) : [];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOwn(object: JsonObject, key: string): boolean {
  return Object.hasOwn(object, key);
}

/** An own member only: a property called `constructor` or `__proto__` is data, not the prototype's. */
function own(object: JsonObject, key: string): unknown {
  return hasOwn(object, key) ? object[key] : undefined;
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function pointerJoin(base: string, ...tokens: (string | number)[]): string {
  return base + tokens.map((token) => `/${escapePointerToken(String(token))}`).join('');
}

function decodePointerToken(token: string): string {
  let decoded = token;
  try {
    decoded = decodeURIComponent(token);
  } catch {
    // A `%` that is not an escape is a literal `%` in the name.
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const fragment = ref.slice(1);
  if (fragment === '') return root;
  if (!fragment.startsWith('/')) return undefined;
  let current: unknown = root;
  for (const token of fragment.slice(1).split('/').map(decodePointerToken)) {
    if (Array.isArray(current) && /^\d+$/.test(token)) current = current[Number(token)];
    else if (isObject(current)) current = own(current, token);
    else return undefined;
  }
  return current;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** One document with its local `$ref`s resolved on demand, and its normalised schemas memoised. */
class DocumentView {
  private readonly resolved = new WeakMap<object, unknown>();
  readonly normalised = new WeakMap<object, JsonObject>();
  readonly normalising = new Set<object>();
  readonly lifted = new WeakMap<object, Map<string, JsonObject>>();

  constructor(
    readonly root: JsonObject,
    readonly label: 'previous' | 'next',
  ) {}

  /**
   * Follows a `$ref` chain. A pure reference answers the target object itself; 3.1's `$ref` with
   * constraining siblings (and 3.0's common `nullable` sibling) answers the target overlaid with
   * them, memoised per reference so the overlay keeps one identity (recursion detection needs it).
   */
  deref(node: unknown): unknown {
    if (!isObject(node) || typeof node.$ref !== 'string') return node;
    if (this.resolved.has(node)) return this.resolved.get(node);
    const overlay: JsonObject = {};
    const seen = new Set<string>();
    let current: unknown = node;
    while (isObject(current) && typeof current.$ref === 'string') {
      const ref = current.$ref;
      if (seen.has(ref))
        throw new ContractDiffError(`The ${this.label} document's $ref "${ref.slice(0, 200)}" refers back to itself.`);
      if (seen.size >= MAX_REF_HOPS)
        throw new ContractDiffError(
          `The ${this.label} document chains more than ${MAX_REF_HOPS} $refs from "${ref.slice(0, 200)}".`,
        );
      seen.add(ref);
      for (const [key, value] of Object.entries(current)) {
        // The outermost sibling wins; pure documentation at the reference site changes nothing.
        const meaningful = !ANNOTATION_KEYWORDS.has(key) || MEANINGFUL_ANNOTATIONS.has(key);
        if (key !== '$ref' && meaningful && !hasOwn(overlay, key)) overlay[key] = value;
      }
      const target = resolvePointer(this.root, ref);
      if (target === undefined)
        throw new ContractDiffError(
          `The ${this.label} document's $ref "${ref.slice(0, 200)}" does not resolve to anything in the document.`,
        );
      current = target;
    }
    const result = Object.keys(overlay).length > 0 && isObject(current) ? { ...current, ...overlay } : current;
    this.resolved.set(node, result);
    return result;
  }

  refOf(node: unknown): string | undefined {
    return isObject(node) && typeof node.$ref === 'string' ? node.$ref : undefined;
  }
}

// --- schema helpers -------------------------------------------------------------------------

/** The JSON types a schema admits, or undefined when it does not say. 3.0 `nullable` adds null. */
function typesOf(schema: JsonObject): Set<string> | undefined {
  const declared = schema.type;
  let types: string[] | undefined;
  if (typeof declared === 'string') types = [declared];
  else if (Array.isArray(declared)) types = declared.filter((type): type is string => typeof type === 'string');
  if (!types) return undefined;
  const result = new Set(types);
  if (schema.nullable === true) result.add('null');
  return result;
}

/** Whether a value of `type` is admitted by a schema of `types` (integers are numbers). */
function admits(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}

/** Keywords that say what kind of value a schema holds even without `type`. */
function impliesStructure(schema: JsonObject): boolean {
  return [
    'properties',
    'additionalProperties',
    'items',
    'prefixItems',
    'enum',
    'const',
    'oneOf',
    'anyOf',
    'allOf',
    'not',
  ].some((key) => hasOwn(schema, key));
}

function enumOf(schema: JsonObject): unknown[] | undefined {
  let values: unknown[] | undefined;
  if (Array.isArray(schema.enum)) values = schema.enum;
  else if (hasOwn(schema, 'const')) values = [schema.const];
  if (!values) return undefined;
  // 3.0 writes a nullable enum without `null` in the list; 3.1 lists it. Both admit null.
  return typesOf(schema)?.has('null') ? [...values, null] : values;
}

function requiredOf(schema: JsonObject): Set<string> {
  return new Set(
    Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : [],
  );
}

function propertiesOf(schema: JsonObject): JsonObject {
  return isObject(schema.properties) ? schema.properties : {};
}

/** The format a schema promises; 3.1's content keywords are the spelling of 3.0's `binary` / `byte`. */
function formatOf(schema: JsonObject): string | undefined {
  if (typeof schema.format === 'string') return schema.format;
  if (schema.contentEncoding === 'base64' || schema.contentEncoding === 'base64url') return 'byte';
  if (typeof schema.contentMediaType === 'string') return 'binary';
  return undefined;
}

/** A file's bytes: in 3.1 a binary body needs no schema at all, so this is the same as none. */
function isBinaryString(schema: JsonObject): boolean {
  const format = formatOf(schema);
  if (format !== 'binary' && format !== 'byte') return false;
  return (
    Object.keys(schema).every(
      (key) => key === 'type' || key === 'format' || ANNOTATION_KEYWORDS.has(key) || key.startsWith('x-'),
    ) &&
    (schema.type === undefined || schema.type === 'string')
  );
}

/** Whether a schema refuses any value at all (an absent schema, `true` or `{}` admit everything). */
function constrains(schema: JsonObject): boolean {
  if (isBinaryString(schema)) return false;
  return Object.keys(schema).some((key) => !ANNOTATION_KEYWORDS.has(key) && !key.startsWith('x-'));
}

/** Annotations an alias may carry and still be only an alias (not, say, `readOnly` or `default`). */
const ALIAS_ANNOTATIONS = new Set([
  'description',
  'title',
  'summary',
  'example',
  'examples',
  '$comment',
  'externalDocs',
  'xml',
  'nullable',
  'discriminator',
]);

/** `{type: "null"}` (or `const: null`): the other half of 3.1's way of writing a nullable schema. */
function isNullOnly(schema: unknown): boolean {
  if (!isObject(schema)) return false;
  const types = typesOf(schema);
  const onlyNull =
    (types !== undefined && types.size === 1 && types.has('null')) ||
    (hasOwn(schema, 'const') && schema.const === null);
  return (
    onlyNull &&
    Object.keys(schema).every(
      (key) => key === 'type' || key === 'const' || ANNOTATION_KEYWORDS.has(key) || key.startsWith('x-'),
    )
  );
}

function admitsNull(schema: JsonObject): boolean {
  return typesOf(schema)?.has('null') === true;
}

/** The schema without null among its types or values; a new object, so callers memoise it. */
function withoutNull(schema: JsonObject): JsonObject {
  const stripped: JsonObject = { ...schema };
  delete stripped.nullable;
  const types = typesOf({ type: schema.type });
  if (types) stripped.type = [...types].filter((type) => type !== 'null');
  if (Array.isArray(schema.enum)) stripped.enum = schema.enum.filter((value) => value !== null);
  return stripped;
}

function mentionsNull(schema: JsonObject): boolean {
  return admitsNull(schema) || (Array.isArray(schema.enum) && schema.enum.includes(null));
}

function compositionKeywords(schema: JsonObject): ('oneOf' | 'anyOf')[] {
  return (['oneOf', 'anyOf'] as const).filter(
    (keyword) => Array.isArray(schema[keyword]) && (schema[keyword] as unknown[]).length > 0,
  );
}

/** A numeric bound with its exclusivity; 3.0 spells exclusivity as a boolean next to the bound, 3.1 as the bound itself. */
interface Bound {
  value: number;
  exclusive: boolean;
}

function upperBound(schema: JsonObject): Bound | undefined {
  const inclusive =
    typeof schema.maximum === 'number'
      ? { value: schema.maximum, exclusive: schema.exclusiveMaximum === true }
      : undefined;
  const exclusive =
    typeof schema.exclusiveMaximum === 'number' ? { value: schema.exclusiveMaximum, exclusive: true } : undefined;
  if (inclusive && exclusive) return exclusive.value <= inclusive.value ? exclusive : inclusive;
  return inclusive ?? exclusive;
}

function lowerBound(schema: JsonObject): Bound | undefined {
  const inclusive =
    typeof schema.minimum === 'number'
      ? { value: schema.minimum, exclusive: schema.exclusiveMinimum === true }
      : undefined;
  const exclusive =
    typeof schema.exclusiveMinimum === 'number' ? { value: schema.exclusiveMinimum, exclusive: true } : undefined;
  if (inclusive && exclusive) return exclusive.value >= inclusive.value ? exclusive : inclusive;
  return inclusive ?? exclusive;
}

/** -1: `next` admits fewer values than `previous`; 1: more; 0: the same. Undefined bounds are open. */
function compareUpper(previous: Bound | undefined, next: Bound | undefined): number {
  if (!previous && !next) return 0;
  if (!previous) return -1;
  if (!next) return 1;
  if (next.value !== previous.value) return next.value < previous.value ? -1 : 1;
  if (next.exclusive === previous.exclusive) return 0;
  return next.exclusive ? -1 : 1;
}

function compareLower(previous: Bound | undefined, next: Bound | undefined): number {
  if (!previous && !next) return 0;
  if (!previous) return -1;
  if (!next) return 1;
  if (next.value !== previous.value) return next.value > previous.value ? -1 : 1;
  if (next.exclusive === previous.exclusive) return 0;
  return next.exclusive ? -1 : 1;
}

function isMultipleOf(value: number, divisor: number): boolean {
  if (divisor === 0) return false;
  const ratio = value / divisor;
  return Math.abs(ratio - Math.round(ratio)) < 1e-9;
}

/** The schema a parameter or header describes, whether with `schema` or with a one-entry `content`. */
function schemaOfParameter(parameter: JsonObject): unknown {
  if (parameter.schema !== undefined) return parameter.schema;
  if (isObject(parameter.content)) {
    const [first] = Object.values(parameter.content);
    if (isObject(first)) return first.schema;
  }
  return undefined;
}

function normaliseMediaType(mediaType: string): string {
  return (mediaType.split(';')[0] ?? mediaType).trim().toLowerCase();
}

// --- the pair graph ---------------------------------------------------------------------------

/** A change found inside one schema pair, its pointer relative to the pair. */
interface PairChange {
  severity: ChangeSeverity;
  code: string;
  pointer: string;
  message: string;
}

type PairEntry = { change: PairChange } | { edge: { pointer: string; node: PairNode } };

/** One compared pair of schemas: its own changes and the pairs beneath it, in document order. */
class PairNode {
  readonly entries: PairEntry[] = [];
  readonly parents: PairNode[] = [];
  /** Whether a change is found here or anywhere beneath; set once every pair is compared. */
  changed = false;

  constructor(
    readonly direction: DataDirection,
    readonly previous?: JsonObject,
    readonly next?: JsonObject,
  ) {}

  add(severity: ChangeSeverity, code: string, message: string, pointer = ''): void {
    this.entries.push({ change: { severity, code, pointer, message } });
  }

  link(pointer: string, node: PairNode): void {
    this.entries.push({ edge: { pointer, node } });
    node.parents.push(this);
  }

  hasOwnChanges(): boolean {
    return this.entries.some((entry) => 'change' in entry);
  }
}

/** Where a schema is used: the change list gets this pair's changes, located here, in this place. */
interface SchemaUse {
  node: PairNode;
  location: ChangeLocation;
  pointer: string;
}

type OperationLocation = ChangeLocation & { pointer: string };

// --- the comparison -----------------------------------------------------------------------------

export class ContractDiff {
  readonly changes: ContractChange[] = [];
  private readonly previous: DocumentView;
  private readonly next: DocumentView;
  /** Operation-level changes and schema uses, in document order; schema uses expand at the end. */
  private readonly entries: (ContractChange | SchemaUse)[] = [];
  private readonly pairs = new Map<string, PairNode>();
  private readonly pending: PairNode[] = [];
  private readonly allNodes: PairNode[] = [];
  private readonly objectIds = new WeakMap<object, number>();
  private readonly nullStripped = new WeakMap<object, JsonObject>();
  private nextObjectId = 1;
  private comparedPairs = 0;
  /** Set when a limit stopped the comparison short; the result then says so as a breaking change. */
  private incomplete = false;
  /** Changes past `MAX_LISTED_CHANGES` or `MAX_LISTED_CHANGE_CHARS`, counted instead of listed. */
  private readonly notListed = { changes: 0, breaking: 0 };
  /** JSON characters of the listed changes; once one does not fit the list is closed, in order. */
  private listedChars = 0;
  private listClosed = false;
  private ran = false;

  constructor(previous: unknown, next: unknown) {
    this.previous = new DocumentView(assertOpenApiDocument(previous, 'previous'), 'previous');
    this.next = new DocumentView(assertOpenApiDocument(next, 'next'), 'next');
  }

  /** How much work the comparison did; tests use it to show the work stays linear. */
  get stats(): { comparedPairs: number } {
    return { comparedPairs: this.comparedPairs };
  }

  private add(severity: ChangeSeverity, code: string, location: ChangeLocation, message: string): void {
    this.entries.push({ code, severity, location, message });
  }

  /** Whether the next change is listed; when not, it is counted (so callers build only listed ones). */
  private listing(severity: ChangeSeverity): boolean {
    if (!this.listClosed && this.changes.length < MAX_LISTED_CHANGES) return true;
    this.countNotListed(severity);
    return false;
  }

  /** Lists a change `listing` allowed, unless it would take the list past its character budget. */
  private list(change: ContractChange): void {
    const chars = JSON.stringify(change).length;
    if (this.listedChars + chars > MAX_LISTED_CHANGE_CHARS) {
      this.listClosed = true;
      this.countNotListed(change.severity);
      return;
    }
    this.listedChars += chars;
    this.changes.push(change);
  }

  private countNotListed(severity: ChangeSeverity): void {
    this.notListed.changes += 1;
    if (severity === 'breaking') this.notListed.breaking += 1;
  }

  private idOf(value: object): number {
    let id = this.objectIds.get(value);
    if (id === undefined) {
      id = this.nextObjectId;
      this.nextObjectId += 1;
      this.objectIds.set(value, id);
    }
    return id;
  }

  run(): ContractChange[] {
    if (this.ran) return this.changes;
    this.ran = true;
    this.comparePaths();
    this.compareWebhooks();
    this.compareSecuritySchemes();
    this.drainPending();
    this.markChanged();
    for (const entry of this.entries) {
      if ('node' in entry) this.expandUse(entry);
      else if (this.listing(entry.severity)) this.list(entry);
    }
    if (this.notListed.changes > 0) {
      const { changes, breaking } = this.notListed;
      this.changes.push({
        code: 'changes_not_listed',
        severity: breaking > 0 ? 'breaking' : 'compatible',
        location: {},
        message: `${changes} more changes (${breaking} of them breaking) are not listed; the first ${this.changes.length} are.`,
      });
    }
    if (this.incomplete) {
      // Conservative: a comparison that could not finish cannot vouch for compatibility.
      this.changes.push({
        code: 'diff_incomplete',
        severity: 'breaking',
        location: {},
        message: 'The schemas are too large or too deeply composed to compare completely.',
      });
    }
    return this.changes;
  }

  // --- paths and operations ---

  private comparePaths(): void {
    const previousPaths = isObject(this.previous.root.paths) ? this.previous.root.paths : {};
    const nextPaths = isObject(this.next.root.paths) ? this.next.root.paths : {};
    // Paths are matched as written first, then by template shape, so renaming `{id}` to
    // `{personId}` is not a removal, and `/projects/{key}` beside `/projects/{id}` (two paths of one
    // shape) each keep their own counterpart.
    const shape = (path: string) => path.replace(/\{[^}]*\}/g, '{}');
    const counterparts = new Map<string, string>();
    const matchedNext = new Set<string>();
    for (const previousPath of Object.keys(previousPaths)) {
      if (!hasOwn(nextPaths, previousPath)) continue;
      counterparts.set(previousPath, previousPath);
      matchedNext.add(previousPath);
    }
    const unmatchedNextByShape = new Map<string, string[]>();
    for (const path of Object.keys(nextPaths)) {
      if (matchedNext.has(path)) continue;
      unmatchedNextByShape.set(shape(path), [...(unmatchedNextByShape.get(shape(path)) ?? []), path]);
    }
    for (const previousPath of Object.keys(previousPaths)) {
      if (counterparts.has(previousPath)) continue;
      const candidate = unmatchedNextByShape.get(shape(previousPath))?.shift();
      if (candidate === undefined) continue;
      counterparts.set(previousPath, candidate);
      matchedNext.add(candidate);
    }
    for (const previousPath of Object.keys(previousPaths)) {
      const nextPath = counterparts.get(previousPath);
      if (nextPath === undefined) {
        this.add(
          'breaking',
          'path_removed',
          { path: previousPath, pointer: pointerJoin('', 'paths', previousPath) },
          `The path ${previousPath} was removed.`,
        );
        continue;
      }
      this.comparePathItem(previousPath, nextPath, previousPaths[previousPath], nextPaths[nextPath]);
    }
    for (const nextPath of Object.keys(nextPaths)) {
      if (!matchedNext.has(nextPath)) {
        this.add(
          'compatible',
          'path_added',
          { path: nextPath, pointer: pointerJoin('', 'paths', nextPath) },
          `The path ${nextPath} was added.`,
        );
      }
    }
  }

  private comparePathItem(
    previousPath: string,
    nextPath: string,
    previousItemRaw: unknown,
    nextItemRaw: unknown,
  ): void {
    const previousItem = this.previous.deref(previousItemRaw);
    const nextItem = this.next.deref(nextItemRaw);
    const previousItemObject = isObject(previousItem) ? previousItem : {};
    const nextItemObject = isObject(nextItem) ? nextItem : {};
    for (const method of HTTP_METHODS) {
      const previousOperation = this.previous.deref(own(previousItemObject, method));
      const nextOperation = this.next.deref(own(nextItemObject, method));
      const location = { method: method.toUpperCase(), path: nextPath };
      const pointer = pointerJoin('', 'paths', nextPath, method);
      if (isObject(previousOperation) && !isObject(nextOperation)) {
        this.add(
          'breaking',
          'operation_removed',
          { ...location, path: previousPath, pointer: pointerJoin('', 'paths', previousPath, method) },
          `${method.toUpperCase()} ${previousPath} was removed.`,
        );
      } else if (!isObject(previousOperation) && isObject(nextOperation)) {
        this.add(
          'compatible',
          'operation_added',
          { ...location, pointer },
          `${method.toUpperCase()} ${nextPath} was added.`,
        );
      } else if (isObject(previousOperation) && isObject(nextOperation)) {
        this.compareOperation(
          { ...location, pointer },
          { item: previousItemObject, operation: previousOperation, path: previousPath },
          { item: nextItemObject, operation: nextOperation, path: nextPath },
        );
      }
    }
  }

  private compareOperation(
    location: OperationLocation,
    previous: { item: JsonObject; operation: JsonObject; path: string },
    next: { item: JsonObject; operation: JsonObject; path: string },
  ): void {
    const where = `${location.method} ${location.path}`;
    if (previous.operation.deprecated !== true && next.operation.deprecated === true) {
      this.add('compatible', 'operation_deprecated', location, `${where} is now deprecated.`);
    }
    if (
      previous.operation.summary !== next.operation.summary ||
      previous.operation.description !== next.operation.description
    ) {
      this.add('compatible', 'description_changed', location, `The summary or description of ${where} changed.`);
    }
    this.compareParameters(location, this.parametersOf(this.previous, previous), this.parametersOf(this.next, next));
    this.compareRequestBody(location, previous.operation.requestBody, next.operation.requestBody);
    this.compareResponses(location, previous.operation.responses, next.operation.responses);
    this.compareSecurity(location, previous.operation, next.operation);
    this.compareCallbacks(location, previous.operation, next.operation);
  }

  /** Path-level and operation-level parameters, the operation's winning; path parameters keyed by position. */
  private parametersOf(
    view: DocumentView,
    side: { item: JsonObject; operation: JsonObject; path: string },
  ): Map<string, JsonObject> {
    const pathParameterNames = [...side.path.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]);
    const result = new Map<string, JsonObject>();
    for (const list of [side.item.parameters, side.operation.parameters]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const parameter = view.deref(raw);
        if (!isObject(parameter) || typeof parameter.name !== 'string' || typeof parameter.in !== 'string') continue;
        if (parameter.in === 'header' && IGNORED_HEADER_PARAMETERS.has(parameter.name.toLowerCase())) continue;
        let key: string;
        if (parameter.in === 'path') {
          const index = pathParameterNames.indexOf(parameter.name);
          key = index >= 0 ? `path:#${index}` : `path:${parameter.name}`;
        } else {
          key = `${parameter.in}:${parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name}`;
        }
        result.set(key, parameter);
      }
    }
    return result;
  }

  private compareParameters(
    location: OperationLocation,
    previous: Map<string, JsonObject>,
    next: Map<string, JsonObject>,
  ): void {
    const label = (parameter: JsonObject) =>
      `${String(parameter.in)}:${parameter.in === 'header' ? String(parameter.name).toLowerCase() : String(parameter.name)}`;
    const isRequired = (parameter: JsonObject) => parameter.required === true || parameter.in === 'path';
    const style = (parameter: JsonObject) => {
      const styleName =
        typeof parameter.style === 'string'
          ? parameter.style
          : parameter.in === 'query' || parameter.in === 'cookie'
            ? 'form'
            : 'simple';
      const explode = typeof parameter.explode === 'boolean' ? parameter.explode : styleName === 'form';
      return `${styleName}${explode ? '*' : ''}`;
    };
    // A parameter that went from one place to another (query → header) keeps its name.
    const moved = new Map<string, string>();
    for (const [key, parameter] of next) {
      if (previous.has(key)) continue;
      const name = String(parameter.name).toLowerCase();
      for (const [previousKey, previousParameter] of previous) {
        if (next.has(previousKey) || [...moved.values()].includes(previousKey)) continue;
        if (String(previousParameter.name).toLowerCase() === name && previousParameter.in !== parameter.in) {
          moved.set(key, previousKey);
          break;
        }
      }
    }

    for (const [key, nextParameter] of next) {
      const movedFrom = moved.get(key);
      const previousParameter = previous.get(movedFrom ?? key);
      const parameterLocation = {
        ...location,
        parameter: label(nextParameter),
        direction: 'request' as const,
        pointer: pointerJoin(location.pointer, 'parameters', String(nextParameter.name)),
      };
      if (!previousParameter) {
        if (isRequired(nextParameter)) {
          this.add(
            'breaking',
            'request_parameter_added_required',
            parameterLocation,
            `A new required parameter ${label(nextParameter)} was added.`,
          );
        } else {
          this.add(
            'compatible',
            'request_parameter_added',
            parameterLocation,
            `A new optional parameter ${label(nextParameter)} was added.`,
          );
        }
        continue;
      }
      if (movedFrom !== undefined) {
        this.add(
          'breaking',
          'request_parameter_location_changed',
          parameterLocation,
          `The parameter ${label(previousParameter)} moved to ${label(nextParameter)}; clients still send it where it is no longer read.`,
        );
      }
      if (!isRequired(previousParameter) && isRequired(nextParameter)) {
        this.add(
          'breaking',
          'request_parameter_became_required',
          parameterLocation,
          `The parameter ${label(nextParameter)} is now required.`,
        );
      } else if (isRequired(previousParameter) && !isRequired(nextParameter)) {
        this.add(
          'compatible',
          'request_parameter_became_optional',
          parameterLocation,
          `The parameter ${label(nextParameter)} is now optional.`,
        );
      }
      // Each location has its own default style; a moved parameter is already reported as moved.
      if (movedFrom === undefined && style(previousParameter) !== style(nextParameter)) {
        this.add(
          'breaking',
          'request_parameter_style_changed',
          parameterLocation,
          `The parameter ${label(nextParameter)} is serialised differently (${style(previousParameter)} → ${style(nextParameter)}).`,
        );
      }
      if (previousParameter.allowEmptyValue === true && nextParameter.allowEmptyValue !== true) {
        this.add(
          'breaking',
          'request_parameter_empty_value_refused',
          parameterLocation,
          `The parameter ${label(nextParameter)} may no longer be sent empty.`,
        );
      } else if (previousParameter.allowEmptyValue !== true && nextParameter.allowEmptyValue === true) {
        this.add(
          'compatible',
          'request_parameter_empty_value_allowed',
          parameterLocation,
          `The parameter ${label(nextParameter)} may now be sent empty.`,
        );
      }
      if (previousParameter.deprecated !== true && nextParameter.deprecated === true) {
        this.add(
          'compatible',
          'parameter_deprecated',
          parameterLocation,
          `The parameter ${label(nextParameter)} is now deprecated.`,
        );
      }
      if (previousParameter.description !== nextParameter.description) {
        this.add(
          'compatible',
          'description_changed',
          parameterLocation,
          `The description of the parameter ${label(nextParameter)} changed.`,
        );
      }
      this.useSchema(
        schemaOfParameter(previousParameter),
        schemaOfParameter(nextParameter),
        'request',
        parameterLocation,
        pointerJoin(parameterLocation.pointer, 'schema'),
      );
    }
    const movedAway = new Set(moved.values());
    for (const [key, previousParameter] of previous) {
      if (next.has(key) || movedAway.has(key)) continue;
      // What clients send for an effect (a filter, a page size) is silently ignored now: breaking,
      // like every removal; deprecate first, remove in the next major version.
      this.add(
        'breaking',
        'request_parameter_removed',
        {
          ...location,
          parameter: label(previousParameter),
          direction: 'request',
          pointer: pointerJoin(location.pointer, 'parameters', String(previousParameter.name)),
        },
        `The parameter ${label(previousParameter)} was removed; what clients send in it is ignored now.`,
      );
    }
  }

  private contentOf(view: DocumentView, holder: JsonObject): Map<string, JsonObject> {
    const content = isObject(holder.content) ? holder.content : {};
    const result = new Map<string, JsonObject>();
    for (const [mediaType, value] of Object.entries(content)) {
      const media = view.deref(value);
      if (isObject(media)) result.set(normaliseMediaType(mediaType), media);
    }
    return result;
  }

  private compareRequestBody(location: OperationLocation, previousRaw: unknown, nextRaw: unknown): void {
    const previous = this.previous.deref(previousRaw);
    const next = this.next.deref(nextRaw);
    const bodyLocation = {
      ...location,
      direction: 'request' as const,
      pointer: pointerJoin(location.pointer, 'requestBody'),
    };
    if (!isObject(previous) && !isObject(next)) return;
    if (!isObject(previous) && isObject(next)) {
      if (next.required === true)
        this.add('breaking', 'request_body_became_required', bodyLocation, 'A required request body was added.');
      else this.add('compatible', 'request_body_added', bodyLocation, 'An optional request body was added.');
      return;
    }
    if (isObject(previous) && !isObject(next)) {
      this.add(
        'breaking',
        'request_body_removed',
        bodyLocation,
        'The request body was removed; bodies clients send may be refused.',
      );
      return;
    }
    if (!isObject(previous) || !isObject(next)) return;
    if (previous.required !== true && next.required === true) {
      this.add('breaking', 'request_body_became_required', bodyLocation, 'The request body is now required.');
    } else if (previous.required === true && next.required !== true) {
      this.add('compatible', 'request_body_became_optional', bodyLocation, 'The request body may now be left out.');
    }
    const previousContent = this.contentOf(this.previous, previous);
    const nextContent = this.contentOf(this.next, next);
    for (const [mediaType, previousMedia] of previousContent) {
      // A wildcard range in the new version still accepts the specific type clients send.
      const nextMediaType = [mediaType, `${mediaType.split('/')[0]}/*`, '*/*'].find((candidate) =>
        nextContent.has(candidate),
      );
      const nextMedia = nextMediaType === undefined ? undefined : nextContent.get(nextMediaType);
      if (!nextMedia || nextMediaType === undefined) {
        this.add(
          'breaking',
          'request_media_type_removed',
          { ...bodyLocation, pointer: pointerJoin(bodyLocation.pointer, 'content', mediaType) },
          `The request body no longer accepts ${mediaType}.`,
        );
        continue;
      }
      this.useSchema(
        previousMedia.schema,
        nextMedia.schema,
        'request',
        bodyLocation,
        pointerJoin(bodyLocation.pointer, 'content', nextMediaType, 'schema'),
      );
    }
    for (const mediaType of nextContent.keys()) {
      if (!previousContent.has(mediaType)) {
        this.add(
          'compatible',
          'request_media_type_added',
          { ...bodyLocation, pointer: pointerJoin(bodyLocation.pointer, 'content', mediaType) },
          `The request body also accepts ${mediaType}.`,
        );
      }
    }
  }

  private compareResponses(location: OperationLocation, previousRaw: unknown, nextRaw: unknown): void {
    // Status keys are case-insensitive (`2xx` is `2XX`); pointers keep them as written.
    const byStatus = (raw: unknown) =>
      new Map(
        Object.entries(isObject(raw) ? raw : {}).map(
          ([key, response]) => [key.toUpperCase(), { key, response }] as const,
        ),
      );
    const previous = byStatus(previousRaw);
    const next = byStatus(nextRaw);
    const isSuccess = (status: string) => /^2(\d\d|XX)$/.test(status);
    const previousHasSuccess = [...previous.keys()].some(isSuccess);
    for (const [status, { key: previousKey, response: previousResponseRaw }] of previous) {
      const responseLocation = {
        ...location,
        direction: 'response' as const,
        pointer: pointerJoin(location.pointer, 'responses', previousKey),
      };
      // A specific status that became part of a documented range (200 → 2XX) is compared with the range.
      const rangeStatus = `${status.charAt(0)}XX`;
      const counterpart = next.get(status) ?? (/^\d{3}$/.test(status) ? next.get(rangeStatus) : undefined);
      const nextResponse = counterpart === undefined ? undefined : this.next.deref(counterpart.response);
      const previousResponse = this.previous.deref(previousResponseRaw);
      if (!isObject(nextResponse) || counterpart === undefined) {
        // Without any success status documented, `default` is how clients learn the successful answer.
        if (isSuccess(status) || (status === 'DEFAULT' && !previousHasSuccess)) {
          this.add('breaking', 'response_status_removed', responseLocation, `The response ${previousKey} was removed.`);
        } else {
          this.add(
            'compatible',
            'response_error_status_removed',
            responseLocation,
            `The response ${previousKey} is no longer documented.`,
          );
        }
        continue;
      }
      if (!isObject(previousResponse)) continue;
      const nextLocation = {
        ...responseLocation,
        pointer: pointerJoin(location.pointer, 'responses', counterpart.key),
      };
      if (previousResponse.description !== nextResponse.description) {
        this.add(
          'compatible',
          'description_changed',
          nextLocation,
          `The description of the response ${previousKey} changed.`,
        );
      }
      this.compareResponseHeaders(nextLocation, previousResponse, nextResponse, isSuccess(status));
      const previousContent = this.contentOf(this.previous, previousResponse);
      const nextContent = this.contentOf(this.next, nextResponse);
      for (const [mediaType, previousMedia] of previousContent) {
        const nextMedia = nextContent.get(mediaType);
        if (!nextMedia) {
          this.add(
            'breaking',
            'response_media_type_removed',
            { ...nextLocation, pointer: pointerJoin(nextLocation.pointer, 'content', mediaType) },
            `The response ${previousKey} no longer comes as ${mediaType}.`,
          );
          continue;
        }
        this.useSchema(
          previousMedia.schema,
          nextMedia.schema,
          'response',
          nextLocation,
          pointerJoin(nextLocation.pointer, 'content', mediaType, 'schema'),
        );
      }
      for (const mediaType of nextContent.keys()) {
        if (!previousContent.has(mediaType)) {
          this.add(
            'compatible',
            'response_media_type_added',
            { ...nextLocation, pointer: pointerJoin(nextLocation.pointer, 'content', mediaType) },
            `The response ${previousKey} may also come as ${mediaType}.`,
          );
        }
      }
    }
    for (const [status, { key }] of next) {
      if (!previous.has(status)) {
        this.add(
          'compatible',
          'response_status_added',
          { ...location, direction: 'response', pointer: pointerJoin(location.pointer, 'responses', key) },
          `The response ${key} was added.`,
        );
      }
    }
  }

  private compareResponseHeaders(
    location: OperationLocation,
    previous: JsonObject,
    next: JsonObject,
    success: boolean,
  ): void {
    const headersOf = (view: DocumentView, response: JsonObject) => {
      const result = new Map<string, { name: string; header: JsonObject }>();
      for (const [name, raw] of Object.entries(isObject(response.headers) ? response.headers : {})) {
        const header = view.deref(raw);
        if (isObject(header) && name.toLowerCase() !== 'content-type') result.set(name.toLowerCase(), { name, header });
      }
      return result;
    };
    const previousHeaders = headersOf(this.previous, previous);
    const nextHeaders = headersOf(this.next, next);
    for (const [key, { name, header: previousHeader }] of previousHeaders) {
      const headerLocation = { ...location, pointer: pointerJoin(location.pointer, 'headers', name) };
      const counterpart = nextHeaders.get(key);
      // A required header of a successful answer may be relied on always; an optional one whenever it
      // comes, like an optional response property, so removing either is breaking.
      const reliedOn = success && previousHeader.required === true;
      if (!counterpart) {
        this.add('breaking', 'response_header_removed', headerLocation, `The response header ${name} was removed.`);
        continue;
      }
      const nextHeaderLocation = { ...location, pointer: pointerJoin(location.pointer, 'headers', counterpart.name) };
      if (reliedOn && counterpart.header.required !== true) {
        this.add(
          'breaking',
          'response_header_became_optional',
          nextHeaderLocation,
          `The response header ${name} may now be missing.`,
        );
      }
      this.useSchema(
        schemaOfParameter(previousHeader),
        schemaOfParameter(counterpart.header),
        'response',
        nextHeaderLocation,
        pointerJoin(nextHeaderLocation.pointer, 'schema'),
      );
    }
    for (const [key, { name }] of nextHeaders) {
      if (!previousHeaders.has(key))
        this.add(
          'compatible',
          'response_header_added',
          { ...location, pointer: pointerJoin(location.pointer, 'headers', name) },
          `The response header ${name} was added.`,
        );
    }
  }

  /**
   * Webhooks (3.1) and callbacks are requests the provider sends to its clients, which implement
   * them: one that disappears is an event clients stop receiving, so removal is breaking. Their
   * request bodies flow from the provider to the client, so they are compared as responses are.
   */
  private compareWebhooks(): void {
    const previous = isObject(this.previous.root.webhooks) ? this.previous.root.webhooks : {};
    const next = isObject(this.next.root.webhooks) ? this.next.root.webhooks : {};
    for (const name of Object.keys(previous)) {
      const pointer = pointerJoin('', 'webhooks', name);
      if (!hasOwn(next, name)) {
        this.add(
          'breaking',
          'webhook_removed',
          { path: name, pointer },
          `The webhook ${name} was removed; clients no longer receive it.`,
        );
        continue;
      }
      this.compareOutgoingItem('webhook', { path: name, pointer }, previous[name], next[name]);
    }
    for (const name of Object.keys(next)) {
      if (!hasOwn(previous, name))
        this.add(
          'compatible',
          'webhook_added',
          { path: name, pointer: pointerJoin('', 'webhooks', name) },
          `The webhook ${name} was added.`,
        );
    }
  }

  private compareCallbacks(
    location: OperationLocation,
    previousOperation: JsonObject,
    nextOperation: JsonObject,
  ): void {
    const callbacksOf = (operation: JsonObject) => (isObject(operation.callbacks) ? operation.callbacks : {});
    const previous = callbacksOf(previousOperation);
    const next = callbacksOf(nextOperation);
    for (const name of Object.keys(previous)) {
      const previousCallback = this.previous.deref(previous[name]);
      const nextCallback = hasOwn(next, name) ? this.next.deref(next[name]) : undefined;
      const pointer = pointerJoin(location.pointer, 'callbacks', name);
      if (!isObject(previousCallback)) continue;
      for (const expression of Object.keys(previousCallback)) {
        const at = { ...location, pointer: pointerJoin(pointer, expression) };
        if (!isObject(nextCallback) || !hasOwn(nextCallback, expression)) {
          this.add(
            'breaking',
            'callback_removed',
            at,
            `The callback ${name} (${expression}) was removed; clients no longer receive it.`,
          );
          continue;
        }
        this.compareOutgoingItem('callback', at, previousCallback[expression], nextCallback[expression]);
      }
    }
    for (const name of Object.keys(next)) {
      const nextCallback = this.next.deref(next[name]);
      const previousCallback = hasOwn(previous, name) ? this.previous.deref(previous[name]) : undefined;
      if (!isObject(nextCallback)) continue;
      for (const expression of Object.keys(nextCallback)) {
        if (isObject(previousCallback) && hasOwn(previousCallback, expression)) continue;
        this.add(
          'compatible',
          'callback_added',
          { ...location, pointer: pointerJoin(location.pointer, 'callbacks', name, expression) },
          `The callback ${name} (${expression}) was added.`,
        );
      }
    }
  }

  /** A webhook's or callback's path item: its operations, and the bodies the provider sends in them. */
  private compareOutgoingItem(
    kind: 'webhook' | 'callback',
    location: ChangeLocation & { pointer: string },
    previousRaw: unknown,
    nextRaw: unknown,
  ): void {
    const previousItem = this.previous.deref(previousRaw);
    const nextItem = this.next.deref(nextRaw);
    if (!isObject(previousItem)) return;
    for (const method of HTTP_METHODS) {
      const previousOperation = this.previous.deref(own(previousItem, method));
      if (!isObject(previousOperation)) continue;
      const nextOperation = isObject(nextItem) ? this.next.deref(own(nextItem, method)) : undefined;
      const at = { ...location, method: method.toUpperCase(), pointer: pointerJoin(location.pointer, method) };
      if (!isObject(nextOperation)) {
        this.add(
          'breaking',
          `${kind}_removed`,
          at,
          `The ${kind} ${location.path ?? ''} ${method.toUpperCase()} was removed; clients no longer receive it.`,
        );
        continue;
      }
      const previousBody = this.previous.deref(previousOperation.requestBody);
      const nextBody = this.next.deref(nextOperation.requestBody);
      if (!isObject(previousBody) || !isObject(nextBody)) continue;
      const nextContent = this.contentOf(this.next, nextBody);
      for (const [mediaType, previousMedia] of this.contentOf(this.previous, previousBody)) {
        const nextMedia = nextContent.get(mediaType);
        const bodyPointer = pointerJoin(at.pointer, 'requestBody', 'content', mediaType);
        if (!nextMedia) {
          this.add(
            'breaking',
            `${kind}_media_type_changed`,
            { ...at, pointer: bodyPointer },
            `The ${kind} no longer sends ${mediaType}.`,
          );
          continue;
        }
        // The provider sends this body and clients read it: the rules of a response apply.
        this.useSchema(previousMedia.schema, nextMedia.schema, 'response', at, pointerJoin(bodyPointer, 'schema'));
      }
    }
  }

  /**
   * The definitions of the security schemes the previous version's requirements name. A client is
   * written against a scheme's kind and parameters (HTTP basic, an API key in a named header, an
   * OAuth flow at a token URL); changing them locks it out even where requirements look the same.
   */
  private compareSecuritySchemes(): void {
    const schemesOf = (view: DocumentView) => {
      const components = isObject(view.root.components) ? view.root.components : {};
      return isObject(components.securitySchemes) ? components.securitySchemes : {};
    };
    const used = new Set<string>();
    const collect = (requirements: unknown) => {
      if (!Array.isArray(requirements)) return;
      for (const requirement of requirements)
        if (isObject(requirement)) for (const name of Object.keys(requirement)) used.add(name);
    };
    collect(this.previous.root.security);
    const previousPaths = isObject(this.previous.root.paths) ? this.previous.root.paths : {};
    for (const rawItem of Object.values(previousPaths)) {
      const item = this.previous.deref(rawItem);
      if (!isObject(item)) continue;
      for (const method of HTTP_METHODS) {
        const operation = this.previous.deref(own(item, method));
        if (isObject(operation)) collect(operation.security);
      }
    }
    const previousSchemes = schemesOf(this.previous);
    const nextSchemes = schemesOf(this.next);
    // What a client's credentials depend on; descriptions and key order do not matter.
    const essentials = (scheme: JsonObject): string => {
      const type = String(scheme.type ?? '');
      const essential: JsonObject = { type };
      if (type === 'http') {
        // `bearerFormat` is a hint for documentation; the scheme name decides what clients send.
        essential.scheme = String(scheme.scheme ?? '').toLowerCase();
      } else if (type === 'apiKey') {
        essential.in = scheme.in;
        essential.name = scheme.in === 'header' ? String(scheme.name ?? '').toLowerCase() : scheme.name;
      } else if (type === 'openIdConnect') {
        essential.openIdConnectUrl = scheme.openIdConnectUrl;
      } else if (type === 'oauth2' && isObject(scheme.flows)) {
        essential.flows = Object.fromEntries(
          Object.entries(scheme.flows).map(([flow, value]) => {
            const {
              scopes: _scopes,
              refreshUrl: _refreshUrl,
              description: _description,
              ...urls
            } = isObject(value) ? value : {};
            return [flow, urls];
          }),
        );
      }
      return canonical(essential);
    };
    for (const name of [...used].sort()) {
      const previousScheme = this.previous.deref(own(previousSchemes, name));
      if (!isObject(previousScheme)) continue;
      const nextScheme = this.next.deref(own(nextSchemes, name));
      const pointer = pointerJoin('', 'components', 'securitySchemes', name);
      if (!isObject(nextScheme)) {
        this.add(
          'breaking',
          'security_scheme_removed',
          { pointer },
          `The security scheme ${name} that operations required was removed.`,
        );
        continue;
      }
      if (essentials(previousScheme) !== essentials(nextScheme)) {
        this.add(
          'breaking',
          'security_scheme_changed',
          { pointer },
          `The security scheme ${name} changed (${String(previousScheme.type)} → ${String(nextScheme.type)} or its ` +
            "parameters); clients' credentials no longer fit.",
        );
        continue;
      }
      if (previousScheme.type === 'oauth2' && isObject(previousScheme.flows) && isObject(nextScheme.flows)) {
        for (const [flow, previousFlow] of Object.entries(previousScheme.flows)) {
          const nextFlow = own(nextScheme.flows, flow);
          const previousScopes =
            isObject(previousFlow) && isObject(previousFlow.scopes) ? Object.keys(previousFlow.scopes) : [];
          const nextScopes = new Set(
            isObject(nextFlow) && isObject(nextFlow.scopes) ? Object.keys(nextFlow.scopes) : [],
          );
          const removed = previousScopes.filter((scope) => !nextScopes.has(scope));
          if (removed.length > 0)
            this.add(
              'breaking',
              'security_scope_removed',
              { pointer: pointerJoin(pointer, 'flows', flow, 'scopes') },
              `The ${flow} flow no longer grants ${removed.join(', ')}.`,
            );
        }
      }
    }
  }

  /** The alternatives of requirements (OR) of schemes with scopes (AND). Empty or `{}` means anonymous access. */
  private securityOf(view: DocumentView, operation: JsonObject): Map<string, Set<string>>[] {
    const requirements = Array.isArray(operation.security)
      ? operation.security
      : Array.isArray(view.root.security)
        ? view.root.security
        : [];
    return requirements
      .filter(isObject)
      .map(
        (requirement) =>
          new Map(
            Object.entries(requirement).map(([scheme, scopes]) => [
              scheme,
              new Set(Array.isArray(scopes) ? scopes.map(String) : []),
            ]),
          ),
      );
  }

  private compareSecurity(location: OperationLocation, previousOperation: JsonObject, nextOperation: JsonObject): void {
    const previous = this.securityOf(this.previous, previousOperation);
    const next = this.securityOf(this.next, nextOperation);
    const anonymous = (alternatives: Map<string, Set<string>>[]) =>
      alternatives.length === 0 || alternatives.some((requirement) => requirement.size === 0);
    // A requirement `candidate` is met by a client meeting `held` if it asks for nothing more.
    const metBy = (candidate: Map<string, Set<string>>, held: Map<string, Set<string>>) =>
      [...candidate].every(
        ([scheme, scopes]) => held.has(scheme) && [...scopes].every((scope) => held.get(scheme)?.has(scope) === true),
      );
    const securityLocation = { ...location, pointer: pointerJoin(location.pointer, 'security') };
    if (anonymous(previous)) {
      if (!anonymous(next))
        this.add(
          'breaking',
          'security_requirement_added',
          securityLocation,
          'The operation now requires authentication.',
        );
      return;
    }
    if (anonymous(next)) {
      this.add(
        'compatible',
        'security_requirement_removed',
        securityLocation,
        'The operation no longer requires authentication.',
      );
      return;
    }
    const stranded = previous.filter((held) => !next.some((candidate) => metBy(candidate, held)));
    const describe = (alternatives: Map<string, Set<string>>[]) =>
      canonical(
        alternatives.map((requirement) => [...requirement].map(([scheme, scopes]) => [scheme, [...scopes].sort()])),
      );
    if (stranded.length > 0) {
      this.add(
        'breaking',
        'security_requirement_tightened',
        securityLocation,
        'Clients meeting the old security requirements no longer meet the new ones (a scheme or scope was added or replaced).',
      );
    } else if (describe(previous) !== describe(next)) {
      this.add(
        'compatible',
        'security_requirement_relaxed',
        securityLocation,
        'The security requirements were relaxed.',
      );
    }
  }

  // --- schemas: uses, normalisation, pairs ---

  /** Records that a schema pair is used here; its changes are read out of the graph at the end. */
  private useSchema(
    previousRaw: unknown,
    nextRaw: unknown,
    direction: DataDirection,
    location: ChangeLocation,
    pointer: string,
  ): void {
    if (previousRaw === undefined && nextRaw === undefined) return;
    this.entries.push({
      node: this.pairOf(previousRaw, nextRaw, direction),
      location: { ...location, direction },
      pointer,
    });
  }

  /**
   * A schema as it is compared: `$ref` followed, `false` as a schema of no type, `true` and absent as
   * undefined (anything), the nullable idioms made one, `allOf` merged. Memoised per schema object.
   */
  private normalise(view: DocumentView, raw: unknown): JsonObject | undefined {
    const schema = view.deref(raw);
    if (schema === false) return NOTHING;
    if (!isObject(schema)) return undefined;
    const cached = view.normalised.get(schema);
    if (cached) return cached;
    // A schema that includes itself contributes nothing more the second time round.
    if (view.normalising.has(schema)) return {};
    if (view.normalising.size >= MAX_MERGE_DEPTH) {
      this.incomplete = true;
      return {};
    }
    view.normalising.add(schema);
    let result = schema;
    try {
      const unwrapped = this.unwrapNullable(view, schema);
      if (unwrapped) result = unwrapped;
      if (Array.isArray(result.allOf)) result = this.mergeAllOf(view, result);
      if (unwrapped) result = { ...result, nullable: true };
    } finally {
      view.normalising.delete(schema);
    }
    view.normalised.set(schema, result);
    return result;
  }

  /** `oneOf`/`anyOf` of one schema and `{type: "null"}` (3.1's nullable) as that schema merged in, still to be marked nullable. */
  private unwrapNullable(view: DocumentView, schema: JsonObject): JsonObject | undefined {
    const isNullOnlyVariant = (raw: unknown) => isNullOnly(view.deref(raw));
    for (const keyword of compositionKeywords(schema)) {
      const variants = schema[keyword] as unknown[];
      const others = variants.filter((variant) => !isNullOnlyVariant(variant));
      if (variants.length < 2 || others.length !== 1) continue;
      const { [keyword]: _replaced, ...rest } = schema;
      return { ...rest, allOf: [...(Array.isArray(rest.allOf) ? rest.allOf : []), others[0]] };
    }
    return undefined;
  }

  /**
   * Merges `allOf` members into one schema: properties and required lists united, types and enums
   * intersected, the stricter of each bound, other keywords the first member's.
   */
  private mergeAllOf(view: DocumentView, schema: JsonObject): JsonObject {
    const { allOf, ...ownKeywords } = schema;
    const merged: JsonObject = {};
    const properties: JsonObject = {};
    const required = new Set<string>();
    const smallest = new Set(['maxLength', 'maxItems', 'maxProperties', 'maximum']);
    const largest = new Set(['minLength', 'minItems', 'minProperties', 'minimum']);
    for (const member of [...(allOf as unknown[]), ownKeywords]) {
      const flat = member === ownKeywords ? ownKeywords : this.normalise(view, member);
      if (!flat) continue;
      for (const [name, property] of Object.entries(propertiesOf(flat))) {
        properties[name] = hasOwn(properties, name) ? { allOf: [properties[name], property] } : property;
      }
      for (const name of requiredOf(flat)) required.add(name);
      for (const [key, value] of Object.entries(flat)) {
        if (key === 'properties' || key === 'required') continue;
        if (!hasOwn(merged, key)) {
          merged[key] = value;
        } else if (key === 'type') {
          const mergedTypes = typesOf({ type: merged.type });
          const memberTypes = typesOf({ type: value });
          if (mergedTypes && memberTypes) merged.type = [...mergedTypes].filter((type) => admits(memberTypes, type));
        } else if (key === 'enum' && Array.isArray(value) && Array.isArray(merged.enum)) {
          const memberValues = new Set(value.map(canonical));
          merged.enum = merged.enum.filter((item) => memberValues.has(canonical(item)));
        } else {
          const current = merged[key];
          if (typeof value !== 'number' || typeof current !== 'number') continue;
          if (smallest.has(key)) merged[key] = Math.min(current, value);
          if (largest.has(key)) merged[key] = Math.max(current, value);
        }
      }
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.size > 0) merged.required = [...required];
    return merged;
  }

  /** `schema` as the only alternative of a `oneOf`/`anyOf`, to compare with a schema that has several. */
  private lift(view: DocumentView, schema: JsonObject, keyword: 'oneOf' | 'anyOf'): JsonObject {
    let byKeyword = view.lifted.get(schema);
    if (!byKeyword) {
      byKeyword = new Map();
      view.lifted.set(schema, byKeyword);
    }
    let lifted = byKeyword.get(keyword);
    if (!lifted) {
      lifted = { [keyword]: [schema] };
      byKeyword.set(keyword, lifted);
    }
    return lifted;
  }

  /**
   * A schema reached through aliases — a `$ref` with only annotations beside it, an `allOf` of one
   * member, a `oneOf`/`anyOf` of one schema and `{type: "null"}` — as the schema aliased, and
   * whether an alias on the way admitted null. Resolving aliases to their target keeps one identity
   * for a component however it is reached, so its changes are not reported again under the alias.
   */
  private resolve(view: DocumentView, raw: unknown): { schema: JsonObject | undefined; addsNull: boolean } {
    let current = raw;
    let addsNull = false;
    for (let hops = 0; hops < MAX_REF_HOPS; hops += 1) {
      const alias = this.aliasOf(view, current);
      if (!alias) break;
      addsNull ||= alias.addsNull;
      current = alias.target;
    }
    return { schema: this.normalise(view, current), addsNull };
  }

  private aliasOf(view: DocumentView, raw: unknown): { target: unknown; addsNull: boolean } | undefined {
    if (!isObject(raw)) return undefined;
    const onlyAlongside = (schema: JsonObject, keyword: string) =>
      Object.keys(schema).every((key) => key === keyword || ALIAS_ANNOTATIONS.has(key) || key.startsWith('x-'));
    if (typeof raw.$ref === 'string') {
      if (Object.keys(raw).length > 1)
        return onlyAlongside(raw, '$ref') ? { target: { $ref: raw.$ref }, addsNull: raw.nullable === true } : undefined;
      // A plain reference is followed by `deref` anyway; it matters here only when it names an alias.
      const target = view.deref(raw);
      return isObject(target) && typeof target.$ref !== 'string' && this.aliasOf(view, target)
        ? { target, addsNull: false }
        : undefined;
    }
    if (Array.isArray(raw.allOf) && raw.allOf.length === 1 && onlyAlongside(raw, 'allOf'))
      return { target: raw.allOf[0], addsNull: raw.nullable === true };
    for (const keyword of compositionKeywords(raw)) {
      const variants = raw[keyword] as unknown[];
      if (!onlyAlongside(raw, keyword) || variants.length < 2) continue;
      const others = variants.filter((variant) => !isNullOnly(view.deref(variant)));
      if (others.length === 1) return { target: others[0], addsNull: true };
    }
    return undefined;
  }

  /** The node comparing two schemas in a direction: a known one, or a new one queued for comparison. */
  private pairOf(previousRaw: unknown, nextRaw: unknown, direction: DataDirection): PairNode {
    const previous = this.resolve(this.previous, previousRaw);
    const next = this.resolve(this.next, nextRaw);
    if (!previous.schema || !next.schema || (!previous.addsNull && !next.addsNull))
      return this.pairOfSchemas(previous.schema, next.schema, direction);
    // A nullable alias: null-ness is judged here, everything else by the pair of schemas aliased.
    const previousNull = previous.addsNull || admitsNull(previous.schema);
    const nextNull = next.addsNull || admitsNull(next.schema);
    const inner = this.pairOfSchemas(this.withoutNull(previous.schema), this.withoutNull(next.schema), direction);
    if (previousNull === nextNull) return inner;
    const key = `${direction}:null:${String(previousNull)}:${this.idOf(inner)}`;
    const known = this.pairs.get(key);
    if (known) return known;
    const node = new PairNode(direction);
    const request = direction === 'request';
    if (previousNull) {
      if (request) node.add('breaking', 'request_type_changed', 'The value may no longer be null.');
      else node.add('compatible', 'response_type_narrowed', 'The returned value is no longer null.');
    } else if (request) {
      node.add('compatible', 'request_type_widened', 'The value may now be null.');
    } else {
      node.add('breaking', 'response_type_changed', 'The returned value may now be null.');
    }
    node.link('', inner);
    this.pairs.set(key, node);
    this.allNodes.push(node);
    return node;
  }

  /** `withoutNull`, memoised so the stripped schema keeps one identity (recursion detection needs it). */
  private withoutNull(schema: JsonObject): JsonObject {
    if (!mentionsNull(schema)) return schema;
    let stripped = this.nullStripped.get(schema);
    if (!stripped) {
      stripped = withoutNull(schema);
      this.nullStripped.set(schema, stripped);
    }
    return stripped;
  }

  private pairOfSchemas(
    previousSchema: JsonObject | undefined,
    nextSchema: JsonObject | undefined,
    direction: DataDirection,
  ): PairNode {
    let previous = previousSchema;
    let next = nextSchema;
    const request = direction === 'request';
    if (!previous || !next) {
      // An absent schema admits anything.
      const node = new PairNode(direction);
      if (!previous && next && constrains(next)) {
        if (request) node.add('breaking', 'request_schema_added', 'A schema now constrains what used to be free-form.');
        else node.add('compatible', 'response_schema_added', 'What used to be free-form is now described by a schema.');
      } else if (previous && !next && constrains(previous)) {
        if (request)
          node.add('compatible', 'request_schema_removed', 'The value is no longer constrained by a schema.');
        else
          node.add(
            'breaking',
            'response_schema_removed',
            'The response is no longer described by a schema; it may be anything.',
          );
      }
      this.allNodes.push(node);
      return node;
    }
    // A plain schema against a composition is compared as a composition of one alternative.
    const previousCompositions = compositionKeywords(previous);
    const nextCompositions = compositionKeywords(next);
    if (previousCompositions.length === 0 && nextCompositions.length === 1)
      previous = this.lift(this.previous, previous, nextCompositions[0]!);
    else if (nextCompositions.length === 0 && previousCompositions.length === 1)
      next = this.lift(this.next, next, previousCompositions[0]!);

    const key = `${direction}:${this.idOf(previous)}:${this.idOf(next)}`;
    const known = this.pairs.get(key);
    if (known) return known;
    const node = new PairNode(direction, previous, next);
    this.pairs.set(key, node);
    this.allNodes.push(node);
    this.pending.push(node);
    return node;
  }

  private drainPending(): void {
    while (this.pending.length > 0) {
      const node = this.pending.pop()!;
      if (this.comparedPairs >= MAX_SCHEMA_PAIRS) {
        this.incomplete = true;
        return;
      }
      this.comparedPairs += 1;
      this.compareSchemaPair(node);
    }
  }

  /** Sets `changed` on every node with a change of its own and on every node above one. */
  private markChanged(): void {
    const queue = this.allNodes.filter((node) => node.hasOwnChanges());
    for (const node of queue) node.changed = true;
    while (queue.length > 0) {
      const node = queue.pop()!;
      for (const parent of node.parents) {
        if (parent.changed) continue;
        parent.changed = true;
        queue.push(parent);
      }
    }
  }

  /** A schema use's changes, depth first in document order, each pair once per use. */
  private expandUse(use: SchemaUse): void {
    if (!use.node.changed) return;
    const visited = new Set<PairNode>([use.node]);
    const stack: { node: PairNode; pointer: string; index: number }[] = [
      { node: use.node, pointer: use.pointer, index: 0 },
    ];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const entry = frame.node.entries[frame.index];
      if (!entry) {
        stack.pop();
        continue;
      }
      frame.index += 1;
      if ('change' in entry) {
        const { severity, code, pointer, message } = entry.change;
        if (this.listing(severity))
          this.list({
            code,
            severity,
            location: { ...use.location, pointer: frame.pointer + pointer },
            message,
          });
      } else if (entry.edge.node.changed && !visited.has(entry.edge.node)) {
        visited.add(entry.edge.node);
        stack.push({ node: entry.edge.node, pointer: frame.pointer + entry.edge.pointer, index: 0 });
      }
    }
  }

  private compareSchemaPair(node: PairNode): void {
    const { previous, next } = node;
    if (!previous || !next) return;
    const request = node.direction === 'request';
    if (
      previous.description !== next.description &&
      (typeof previous.description === 'string' || typeof next.description === 'string')
    ) {
      node.add('compatible', 'description_changed', 'A description changed.');
    }
    if (previous.deprecated !== true && next.deprecated === true) {
      node.add('compatible', 'schema_deprecated', 'The value is now deprecated.');
    }
    this.compareTypes(node, previous, next, request);
    this.compareEnums(node, previous, next, request);
    this.compareFormat(node, previous, next, request);
    this.compareConstraints(node, previous, next, request);
    this.compareDefault(node, previous, next, request);
    this.compareComposition(node, previous, next, request);
    this.compareObject(node, previous, next, request);
    if (previous.items !== undefined || next.items !== undefined) {
      node.link('/items', this.pairOf(previous.items, next.items, node.direction));
    }
    const previousPrefix = Array.isArray(previous.prefixItems) ? previous.prefixItems : [];
    const nextPrefix = Array.isArray(next.prefixItems) ? next.prefixItems : [];
    for (let index = 0; index < Math.max(previousPrefix.length, nextPrefix.length); index += 1) {
      node.link(`/prefixItems/${index}`, this.pairOf(previousPrefix[index], nextPrefix[index], node.direction));
    }
    if (canonical(previous.not) !== canonical(next.not)) {
      node.add('breaking', `${node.direction}_not_changed`, 'The values excluded by `not` changed.');
    }
    this.compareDiscriminator(node, previous, next, request);
    this.compareApplicators(node, previous, next, request);
    this.compareDependentRequired(node, previous, next, request);
    this.compareConditional(node, previous, next, request);
  }

  /**
   * The discriminator tells clients which alternative a value is: the property they read or send
   * and the values naming each alternative. Renaming the property breaks both directions; a
   * mapping value dropped from a request, or one added to a response, is one clients cannot use.
   */
  private compareDiscriminator(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const before = isObject(previous.discriminator) ? previous.discriminator : undefined;
    const after = isObject(next.discriminator) ? next.discriminator : undefined;
    if (!before && !after) return;
    const direction = node.direction;
    if (!before || !after) {
      node.add(
        after ? 'compatible' : 'breaking',
        `${direction}_discriminator_${after ? 'added' : 'removed'}`,
        after
          ? 'A discriminator now names the alternative.'
          : 'The discriminator that named the alternative was removed.',
        '/discriminator',
      );
      return;
    }
    if (before.propertyName !== after.propertyName) {
      node.add(
        'breaking',
        `${direction}_discriminator_property_changed`,
        `The discriminator property changed: ${String(before.propertyName)} → ${String(after.propertyName)}.`,
        '/discriminator/propertyName',
      );
    }
    const mappingOf = (discriminator: JsonObject) => (isObject(discriminator.mapping) ? discriminator.mapping : {});
    const previousMapping = mappingOf(before);
    const nextMapping = mappingOf(after);
    for (const value of Object.keys(previousMapping)) {
      if (hasOwn(nextMapping, value)) continue;
      node.add(
        request ? 'breaking' : 'compatible',
        `${direction}_discriminator_value_removed`,
        `The discriminator value ${value} is no longer ${request ? 'accepted' : 'returned'}.`,
        '/discriminator/mapping',
      );
    }
    for (const value of Object.keys(nextMapping)) {
      if (hasOwn(previousMapping, value)) continue;
      node.add(
        request ? 'compatible' : 'breaking',
        `${direction}_discriminator_value_added`,
        `The discriminator value ${value} is now ${request ? 'accepted' : 'returned'}.`,
        '/discriminator/mapping',
      );
    }
  }

  /**
   * JSON Schema 2020-12 applicators that constrain parts of a value: compared pairwise when both
   * versions have them; one appearing narrows what is valid (breaking in a request), one
   * disappearing widens it (breaking in a response).
   */
  private compareApplicators(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const direction = node.direction;
    const narrowing = (narrowed: boolean, code: string, message: string, pointer: string) => {
      node.add(narrowed === request ? 'breaking' : 'compatible', `${direction}_${code}`, message, pointer);
    };
    for (const keyword of ['contains', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems'] as const) {
      const before = previous[keyword];
      const after = next[keyword];
      const present = (value: unknown) => value !== undefined && value !== true;
      if (!present(before) && !present(after)) continue;
      if (!present(before))
        narrowing(true, `${snake(keyword)}_added`, `\`${keyword}\` now constrains the value.`, `/${keyword}`);
      else if (!present(after)) {
        // Like `additionalProperties: false` dropped: extra properties in a response are additions clients ignore.
        if (keyword === 'unevaluatedProperties')
          node.add(
            'compatible',
            `${direction}_unevaluated_properties_removed`,
            'Properties not evaluated by the schema are now allowed.',
            `/${keyword}`,
          );
        else
          narrowing(
            false,
            `${snake(keyword)}_removed`,
            `\`${keyword}\` no longer constrains the value.`,
            `/${keyword}`,
          );
      }
      // `contains` asks for at least one matching item: a looser item schema is a looser requirement, as for a property.
      else node.link(`/${keyword}`, this.pairOf(before, after, direction));
    }
    for (const keyword of ['patternProperties', 'dependentSchemas'] as const) {
      const before = isObject(previous[keyword]) ? (previous[keyword] as JsonObject) : {};
      const after = isObject(next[keyword]) ? (next[keyword] as JsonObject) : {};
      for (const key of Object.keys(before)) {
        const pointer = pointerJoin('', keyword, key);
        if (hasOwn(after, key)) node.link(pointer, this.pairOf(before[key], after[key], direction));
        else
          narrowing(
            false,
            `${snake(keyword)}_removed`,
            `\`${keyword}\` "${key}" no longer constrains the value.`,
            pointer,
          );
      }
      for (const key of Object.keys(after)) {
        if (!hasOwn(before, key))
          narrowing(
            true,
            `${snake(keyword)}_added`,
            `\`${keyword}\` "${key}" now constrains the value.`,
            pointerJoin('', keyword, key),
          );
      }
    }
  }

  /** `dependentRequired`: a property that now needs others sent with it narrows what is valid. */
  private compareDependentRequired(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const listOf = (schema: JsonObject, key: string) => {
      const lists = isObject(schema.dependentRequired) ? schema.dependentRequired : {};
      const list = own(lists, key);
      return new Set(Array.isArray(list) ? list.map(String) : []);
    };
    const keys = new Set([
      ...Object.keys(isObject(previous.dependentRequired) ? previous.dependentRequired : {}),
      ...Object.keys(isObject(next.dependentRequired) ? next.dependentRequired : {}),
    ]);
    const direction = node.direction;
    for (const key of keys) {
      const before = listOf(previous, key);
      const after = listOf(next, key);
      const added = [...after].filter((name) => !before.has(name));
      const removed = [...before].filter((name) => !after.has(name));
      const pointer = pointerJoin('', 'dependentRequired', key);
      if (added.length > 0)
        node.add(
          request ? 'breaking' : 'compatible',
          `${direction}_dependent_required_added`,
          `With "${key}", ${added.join(', ')} must now be present too.`,
          pointer,
        );
      if (removed.length > 0)
        node.add(
          request ? 'compatible' : 'breaking',
          `${direction}_dependent_required_removed`,
          `With "${key}", ${removed.join(', ')} need no longer be present.`,
          pointer,
        );
    }
  }

  /**
   * `if`/`then`/`else`: with the same condition, each branch is compared like any schema (a new
   * required property in \`then\` is breaking in a request); a changed condition cannot be judged.
   */
  private compareConditional(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const direction = node.direction;
    const hasCondition = (schema: JsonObject) =>
      schema.if !== undefined && (schema.then !== undefined || schema.else !== undefined);
    const before = hasCondition(previous);
    const after = hasCondition(next);
    if (!before && !after) return;
    if (!before || !after) {
      const narrowed = after;
      node.add(
        narrowed === request ? 'breaking' : 'compatible',
        `${direction}_condition_${after ? 'added' : 'removed'}`,
        after
          ? 'A conditional (if/then/else) now constrains the value.'
          : 'The conditional (if/then/else) was removed.',
        '/if',
      );
      return;
    }
    if (canonical(this.previous.deref(previous.if)) !== canonical(this.next.deref(next.if))) {
      node.add(
        'breaking',
        `${direction}_condition_changed`,
        'The condition (`if`) changed; which values its branches apply to cannot be compared.',
        '/if',
      );
      return;
    }
    for (const branch of ['then', 'else'] as const) {
      if (previous[branch] === undefined && next[branch] === undefined) continue;
      node.link(`/${branch}`, this.pairOf(previous[branch], next[branch], direction));
    }
  }

  private compareTypes(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const previousTypes = typesOf(previous);
    const nextTypes = typesOf(next);
    if (!previousTypes && !nextTypes) return;
    if (!previousTypes || !nextTypes) {
      // A type appearing or disappearing matters only when nothing else says what the value is.
      if (request && !previousTypes && nextTypes && !impliesStructure(previous)) {
        node.add(
          'breaking',
          'request_type_changed',
          `The value used to be of any type and must now be ${[...nextTypes].join(' or ')}.`,
        );
      } else if (!request && previousTypes && !nextTypes && !impliesStructure(next)) {
        node.add(
          'breaking',
          'response_type_changed',
          `The returned value used to be ${[...previousTypes].join(' or ')} and may now be of any type.`,
        );
      }
      return;
    }
    const dropped = [...previousTypes].filter((type) => !admits(nextTypes, type));
    const added = [...nextTypes].filter((type) => !admits(previousTypes, type));
    if (dropped.length === 0 && added.length === 0) return;
    const describe = `type ${[...previousTypes].join('|') || 'none'} → ${[...nextTypes].join('|') || 'none'}`;
    if (request) {
      if (dropped.length > 0)
        node.add(
          'breaking',
          'request_type_changed',
          `The accepted ${describe} no longer admits ${dropped.join(', ')}.`,
        );
      else node.add('compatible', 'request_type_widened', `The accepted ${describe} admits more.`);
    } else if (added.length > 0) {
      node.add('breaking', 'response_type_changed', `The returned ${describe} may now be ${added.join(', ')}.`);
    } else {
      node.add('compatible', 'response_type_narrowed', `The returned ${describe} is narrower.`);
    }
  }

  private compareEnums(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const previousValues = enumOf(previous);
    const nextValues = enumOf(next);
    if (!previousValues && !nextValues) return;
    if (!previousValues) {
      if (request) node.add('breaking', 'request_enum_added', 'The value is now restricted to a list of values.');
      else node.add('compatible', 'response_enum_added', 'The returned value is now restricted to a list of values.');
      return;
    }
    if (!nextValues) {
      if (request) node.add('compatible', 'request_enum_removed', 'The value is no longer restricted to a list.');
      else
        node.add(
          'breaking',
          'response_enum_removed',
          'The returned value is no longer restricted to the listed values.',
        );
      return;
    }
    const previousSet = new Set(previousValues.map(canonical));
    const nextSet = new Set(nextValues.map(canonical));
    const removed = [...previousSet].filter((value) => !nextSet.has(value));
    const added = [...nextSet].filter((value) => !previousSet.has(value));
    if (removed.length > 0) {
      if (request)
        node.add('breaking', 'request_enum_value_removed', `Accepted values were removed: ${removed.join(', ')}.`);
      else
        node.add('compatible', 'response_enum_value_removed', `Returned values were removed: ${removed.join(', ')}.`);
    }
    if (added.length > 0) {
      if (request)
        node.add('compatible', 'request_enum_value_added', `Accepted values were added: ${added.join(', ')}.`);
      else
        node.add(
          'breaking',
          'response_enum_value_added',
          `New values may be returned that clients do not know: ${added.join(', ')}.`,
        );
    }
  }

  private compareFormat(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const before = formatOf(previous);
    const after = formatOf(next);
    if (before === after) return;
    const direction = request ? 'request' : 'response';
    if (before !== undefined && after !== undefined) {
      const widened = widerFormatsOf(before).includes(after);
      const narrowed = widerFormatsOf(after).includes(before);
      if (widened) {
        if (request)
          node.add('compatible', 'request_format_widened', `The accepted format widened from ${before} to ${after}.`);
        else
          node.add(
            'breaking',
            'response_format_changed',
            `The returned format widened from ${before} to ${after}; clients may not hold the new values.`,
          );
      } else if (narrowed) {
        if (request)
          node.add('breaking', 'request_format_changed', `The accepted format narrowed from ${before} to ${after}.`);
        else
          node.add(
            'compatible',
            'response_format_narrowed',
            `The returned format narrowed from ${before} to ${after}.`,
          );
      } else {
        node.add(
          'breaking',
          `${direction}_format_changed`,
          `The ${request ? 'accepted' : 'returned'} format changed from ${before} to ${after}.`,
        );
      }
    } else if (after !== undefined) {
      if (request) node.add('breaking', 'request_format_changed', `The value must now be in the ${after} format.`);
      else
        node.add('compatible', 'response_format_added', `The returned value is now promised in the ${after} format.`);
    } else if (request) {
      node.add(
        'compatible',
        'request_format_removed',
        `The accepted value is no longer restricted to the ${String(before)} format.`,
      );
    } else {
      node.add(
        'breaking',
        'response_format_removed',
        `The returned value is no longer promised in the ${String(before)} format.`,
      );
    }
  }

  /**
   * Bounds, patterns, multiples and uniqueness. Tightening one refuses requests that used to pass;
   * loosening one lets responses carry values old clients never had to handle.
   */
  private compareConstraints(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const direction = request ? 'request' : 'response';
    const report = (tightened: boolean, code: string, message: string) => {
      const breaking = request ? tightened : !tightened;
      node.add(breaking ? 'breaking' : 'compatible', `${direction}_${code}`, message);
    };
    for (const keyword of ['maxLength', 'maxItems', 'maxProperties', 'maxContains'] as const) {
      const before = typeof previous[keyword] === 'number' ? previous[keyword] : Infinity;
      const after = typeof next[keyword] === 'number' ? next[keyword] : Infinity;
      if (after < before)
        report(
          true,
          `${snake(keyword)}_decreased`,
          `${keyword} became stricter: ${String(previous[keyword] ?? 'none')} → ${String(next[keyword])}.`,
        );
      else if (after > before)
        report(
          false,
          `${snake(keyword)}_increased`,
          `${keyword} was relaxed: ${String(previous[keyword])} → ${String(next[keyword] ?? 'none')}.`,
        );
    }
    for (const keyword of ['minLength', 'minItems', 'minProperties', 'minContains'] as const) {
      const before = typeof previous[keyword] === 'number' ? previous[keyword] : 0;
      const after = typeof next[keyword] === 'number' ? next[keyword] : 0;
      if (after > before)
        report(
          true,
          `${snake(keyword)}_increased`,
          `${keyword} became stricter: ${String(previous[keyword] ?? 'none')} → ${String(next[keyword])}.`,
        );
      else if (after < before)
        report(
          false,
          `${snake(keyword)}_decreased`,
          `${keyword} was relaxed: ${String(previous[keyword])} → ${String(next[keyword] ?? 'none')}.`,
        );
    }
    const upper = compareUpper(upperBound(previous), upperBound(next));
    if (upper < 0) report(true, 'maximum_decreased', 'The upper bound (maximum / exclusiveMaximum) became stricter.');
    else if (upper > 0) report(false, 'maximum_increased', 'The upper bound (maximum / exclusiveMaximum) was relaxed.');
    const lower = compareLower(lowerBound(previous), lowerBound(next));
    if (lower < 0) report(true, 'minimum_increased', 'The lower bound (minimum / exclusiveMinimum) became stricter.');
    else if (lower > 0) report(false, 'minimum_decreased', 'The lower bound (minimum / exclusiveMinimum) was relaxed.');
    if (previous.pattern !== next.pattern) {
      if (next.pattern === undefined)
        report(false, 'pattern_removed', `The pattern ${String(previous.pattern)} was removed.`);
      else if (previous.pattern === undefined)
        report(true, 'pattern_added', `A pattern was added: ${String(next.pattern)}.`);
      // Two regular expressions cannot be compared in general: a changed one is breaking either way.
      else
        node.add(
          'breaking',
          `${direction}_pattern_changed`,
          `The pattern changed: ${String(previous.pattern)} → ${String(next.pattern)}.`,
        );
    }
    const multipleBefore = typeof previous.multipleOf === 'number' ? previous.multipleOf : undefined;
    const multipleAfter = typeof next.multipleOf === 'number' ? next.multipleOf : undefined;
    if (multipleBefore !== multipleAfter) {
      if (multipleAfter === undefined) report(false, 'multiple_of_removed', 'multipleOf was removed.');
      else if (multipleBefore === undefined)
        report(true, 'multiple_of_added', `Values must now be multiples of ${multipleAfter}.`);
      else if (isMultipleOf(multipleBefore, multipleAfter))
        report(false, 'multiple_of_changed', `multipleOf was relaxed: ${multipleBefore} → ${multipleAfter}.`);
      else if (isMultipleOf(multipleAfter, multipleBefore))
        report(true, 'multiple_of_changed', `multipleOf became stricter: ${multipleBefore} → ${multipleAfter}.`);
      else
        node.add(
          'breaking',
          `${direction}_multiple_of_changed`,
          `multipleOf changed: ${multipleBefore} → ${multipleAfter}.`,
        );
    }
    if (previous.uniqueItems !== true && next.uniqueItems === true)
      report(true, 'unique_items_added', 'Array items must now be unique.');
    else if (previous.uniqueItems === true && next.uniqueItems !== true)
      report(false, 'unique_items_removed', 'Array items may now repeat.');
  }

  /**
   * A request default is what the server does for clients that leave the value out: changing or
   * dropping it changes their results without their sending anything different. In a response a
   * default documents nothing a client relies on.
   */
  private compareDefault(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const before = hasOwn(previous, 'default') ? canonical(previous.default) : undefined;
    const after = hasOwn(next, 'default') ? canonical(next.default) : undefined;
    if (before === after) return;
    if (!request)
      node.add(
        'compatible',
        'response_default_changed',
        `The documented default changed: ${before ?? 'none'} → ${after ?? 'none'}.`,
      );
    else if (before === undefined)
      node.add('compatible', 'request_default_added', `A default was documented: ${String(after)}.`);
    else if (after === undefined)
      node.add(
        'breaking',
        'request_default_removed',
        `The default ${before} was removed; what leaving the value out means is no longer promised.`,
      );
    else
      node.add(
        'breaking',
        'request_default_changed',
        `The default changed: ${before} → ${after}; clients that leave the value out get different behaviour.`,
      );
  }

  /** Alternatives matched by `$ref`, then equal content, title, type, then position; left-overs were removed or added. */
  private matchVariants(
    previousVariants: unknown[],
    nextVariants: unknown[],
  ): { matched: [number, number][]; removed: number[]; added: number[] } {
    const unmatchedPrevious = new Set(previousVariants.keys());
    const unmatchedNext = new Set(nextVariants.keys());
    const matched: [number, number][] = [];
    const matchBy = (keyOf: (view: DocumentView, variant: unknown) => string | undefined, uniqueOnly: boolean) => {
      const nextByKey = new Map<string, number[]>();
      for (const index of unmatchedNext) {
        const key = keyOf(this.next, nextVariants[index]);
        if (key !== undefined) nextByKey.set(key, [...(nextByKey.get(key) ?? []), index]);
      }
      const previousCount = new Map<string, number>();
      for (const index of unmatchedPrevious) {
        const key = keyOf(this.previous, previousVariants[index]);
        if (key !== undefined) previousCount.set(key, (previousCount.get(key) ?? 0) + 1);
      }
      for (const index of [...unmatchedPrevious]) {
        const key = keyOf(this.previous, previousVariants[index]);
        if (key === undefined) continue;
        const candidates = nextByKey.get(key);
        if (!candidates || candidates.length === 0) continue;
        if (uniqueOnly && (candidates.length !== 1 || previousCount.get(key) !== 1)) continue;
        const counterpart = candidates.shift()!;
        matched.push([index, counterpart]);
        unmatchedPrevious.delete(index);
        unmatchedNext.delete(counterpart);
      }
    };
    matchBy((view, variant) => view.refOf(variant), false);
    matchBy((view, variant) => canonical(view.deref(variant)), false);
    matchBy((view, variant) => {
      const schema = view.deref(variant);
      return isObject(schema) && typeof schema.title === 'string' ? schema.title : undefined;
    }, true);
    matchBy((view, variant) => {
      const schema = this.normalise(view, variant);
      const types = schema ? typesOf(schema) : undefined;
      return types ? [...types].sort().join('|') : undefined;
    }, true);
    const previousLeft = [...unmatchedPrevious];
    const nextLeft = [...unmatchedNext];
    const paired = Math.min(previousLeft.length, nextLeft.length);
    for (let index = 0; index < paired; index += 1) matched.push([previousLeft[index]!, nextLeft[index]!]);
    matched.sort((a, b) => a[1] - b[1]);
    return { matched, removed: previousLeft.slice(paired), added: nextLeft.slice(paired) };
  }

  /** `oneOf` / `anyOf`: the alternatives of each version matched up and compared, removals and additions judged by direction. */
  private compareComposition(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const previousKeywords = compositionKeywords(previous);
    const nextKeywords = compositionKeywords(next);
    if (previousKeywords.length === 0 && nextKeywords.length === 0) return;
    const direction = request ? 'request' : 'response';
    let keywordPairs: ['oneOf' | 'anyOf', 'oneOf' | 'anyOf'][];
    if (previousKeywords.length === 1 && nextKeywords.length === 1) {
      keywordPairs = [[previousKeywords[0]!, nextKeywords[0]!]];
    } else if (
      previousKeywords.length === nextKeywords.length &&
      previousKeywords.every((keyword, index) => nextKeywords[index] === keyword)
    ) {
      keywordPairs = previousKeywords.map((keyword) => [keyword, keyword]);
    } else {
      node.add(
        'breaking',
        `${direction}_composition_changed`,
        `The oneOf/anyOf structure changed (${previousKeywords.join('+') || 'none'} → ` +
          `${nextKeywords.join('+') || 'none'}); clients cannot be assumed to cope.`,
      );
      return;
    }
    for (const [previousKeyword, nextKeyword] of keywordPairs) {
      if (previousKeyword !== nextKeyword) {
        // anyOf → oneOf refuses a value that matches several alternatives; the other way admits more.
        if (request && nextKeyword === 'oneOf')
          node.add(
            'breaking',
            'request_composition_changed',
            'anyOf became oneOf: a value matching several alternatives is now refused.',
          );
        else node.add('compatible', `${direction}_composition_changed`, `${previousKeyword} became ${nextKeyword}.`);
      }
      const previousVariants = previous[previousKeyword] as unknown[];
      const nextVariants = next[nextKeyword] as unknown[];
      const { matched, removed, added } = this.matchVariants(previousVariants, nextVariants);
      for (const [previousIndex, nextIndex] of matched) {
        node.link(
          `/${nextKeyword}/${nextIndex}`,
          this.pairOf(previousVariants[previousIndex], nextVariants[nextIndex], node.direction),
        );
      }
      for (const index of removed) {
        const pointer = `/${previousKeyword}/${index}`;
        if (request)
          node.add(
            'breaking',
            `request_${snake(previousKeyword)}_variant_removed`,
            `An alternative of ${previousKeyword} is no longer accepted.`,
            pointer,
          );
        else
          node.add(
            'compatible',
            `response_${snake(previousKeyword)}_variant_removed`,
            `An alternative of ${previousKeyword} is no longer returned.`,
            pointer,
          );
      }
      if (request && nextKeyword === 'oneOf' && !isObject(next.discriminator)) {
        // `oneOf` refuses a value matching two alternatives: a new one that old requests can also
        // match turns them from valid into refused, though it only seems to widen what is accepted.
        for (const index of added) {
          const addedSchema = this.normalise(this.next, nextVariants[index]);
          const ambiguous = matched.some(([previousIndex]) =>
            this.mayOverlap(
              this.normalise(this.previous, previousVariants[previousIndex]),
              this.previous,
              addedSchema,
              this.next,
            ),
          );
          if (ambiguous)
            node.add(
              'breaking',
              'request_one_of_ambiguous',
              'A new alternative of oneOf also matches requests valid before, which now match two alternatives and are refused.',
              `/oneOf/${index}`,
            );
        }
      }
      for (const index of added) {
        const pointer = `/${nextKeyword}/${index}`;
        if (request)
          node.add(
            'compatible',
            `request_${snake(nextKeyword)}_variant_added`,
            `An alternative of ${nextKeyword} is now accepted.`,
            pointer,
          );
        else
          node.add(
            'breaking',
            `response_${snake(nextKeyword)}_variant_added`,
            `A new alternative of ${nextKeyword} may be returned that clients do not know.`,
            pointer,
          );
      }
    }
  }

  /**
   * Whether some value may be valid against both schemas. Conservative (true unless they are
   * visibly disjoint): by type, by enum/const, by a property both require with disjoint values,
   * or by a property one requires and the other refuses.
   */
  private mayOverlap(
    first: JsonObject | undefined,
    firstView: DocumentView,
    second: JsonObject | undefined,
    secondView: DocumentView,
  ): boolean {
    if (!first || !second) return true;
    const firstTypes = typesOf(first);
    const secondTypes = typesOf(second);
    if (firstTypes && secondTypes) {
      // Integers are numbers, so `integer` and `number` overlap either way round.
      const shared =
        [...firstTypes].some((type) => admits(secondTypes, type)) ||
        [...secondTypes].some((type) => admits(firstTypes, type));
      if (!shared) return false;
    }
    const disjointValues = (a: JsonObject, b: JsonObject) => {
      const aValues = enumOf(a);
      const bValues = enumOf(b);
      if (!aValues || !bValues) return false;
      const bSet = new Set(bValues.map(canonical));
      return !aValues.some((value) => bSet.has(canonical(value)));
    };
    if (disjointValues(first, second)) return false;
    const firstRequired = requiredOf(first);
    const secondRequired = requiredOf(second);
    const firstProperties = propertiesOf(first);
    const secondProperties = propertiesOf(second);
    for (const name of firstRequired) {
      if (second.additionalProperties === false && !hasOwn(secondProperties, name)) return false;
      if (!secondRequired.has(name)) continue;
      const a = firstView.deref(own(firstProperties, name));
      const b = secondView.deref(own(secondProperties, name));
      if (isObject(a) && isObject(b) && disjointValues(a, b)) return false;
    }
    for (const name of secondRequired) {
      if (first.additionalProperties === false && !hasOwn(firstProperties, name)) return false;
    }
    return true;
  }

  private compareObject(node: PairNode, previous: JsonObject, next: JsonObject, request: boolean): void {
    const direction = node.direction;
    const previousProperties = propertiesOf(previous);
    const nextProperties = propertiesOf(next);
    const previousRequired = requiredOf(previous);
    const nextRequired = requiredOf(next);
    const at = (name: string) => pointerJoin('', 'properties', name);
    // readOnly properties are never sent in a request, writeOnly ones never returned in a response.
    const hiddenKeyword = request ? 'readOnly' : 'writeOnly';
    const isHidden = (view: DocumentView, raw: unknown) => this.normalise(view, raw)?.[hiddenKeyword] === true;
    const reportAdded = (name: string) => {
      if (request && nextRequired.has(name))
        node.add(
          'breaking',
          'request_required_property_added',
          `A new required property "${name}" must now be sent.`,
          at(name),
        );
      else
        node.add(
          'compatible',
          `${direction}_property_added`,
          `A new ${nextRequired.has(name) ? 'required' : 'optional'} property "${name}" was added.`,
          at(name),
        );
    };

    for (const name of Object.keys(nextProperties)) {
      const nextProperty = nextProperties[name];
      const hiddenAfter = isHidden(this.next, nextProperty);
      if (!hasOwn(previousProperties, name)) {
        if (!hiddenAfter) reportAdded(name);
        continue;
      }
      const previousProperty = previousProperties[name];
      const hiddenBefore = isHidden(this.previous, previousProperty);
      if (hiddenBefore && hiddenAfter) continue;
      if (hiddenBefore) {
        reportAdded(name);
        continue;
      }
      if (hiddenAfter) {
        if (request)
          node.add(
            'breaking',
            'request_property_became_read_only',
            `The property "${name}" is now read-only; what clients send in it is ignored.`,
            at(name),
          );
        else
          node.add(
            'breaking',
            'response_property_became_write_only',
            `The property "${name}" is now write-only and no longer returned.`,
            at(name),
          );
        continue;
      }
      const wasRequired = previousRequired.has(name);
      const isRequired = nextRequired.has(name);
      if (request && !wasRequired && isRequired) {
        node.add('breaking', 'request_property_became_required', `The property "${name}" must now be sent.`, at(name));
      } else if (request && wasRequired && !isRequired) {
        node.add(
          'compatible',
          'request_property_became_optional',
          `The property "${name}" may now be left out.`,
          at(name),
        );
      } else if (!request && wasRequired && !isRequired) {
        node.add(
          'breaking',
          'response_property_became_optional',
          `The property "${name}" may now be missing from the response.`,
          at(name),
        );
      } else if (!request && !wasRequired && isRequired) {
        node.add(
          'compatible',
          'response_property_became_required',
          `The property "${name}" is now always returned.`,
          at(name),
        );
      }
      node.link(at(name), this.pairOf(previousProperty, nextProperty, direction));
    }
    for (const name of Object.keys(previousProperties)) {
      if (hasOwn(nextProperties, name) || isHidden(this.previous, previousProperties[name])) continue;
      if (!request) {
        node.add(
          'breaking',
          'response_property_removed',
          `The property "${name}" was removed from the response.`,
          at(name),
        );
      } else if (next.additionalProperties === false) {
        node.add(
          'breaking',
          'request_property_removed',
          `The property "${name}" was removed and unknown properties are refused.`,
          at(name),
        );
      } else {
        // Like a removed parameter: what clients send in it no longer has its effect.
        node.add(
          'breaking',
          'request_property_removed',
          `The property "${name}" was removed; what clients send in it is ignored now.`,
          at(name),
        );
      }
    }
    // Names required without being described as properties.
    for (const name of nextRequired) {
      if (previousRequired.has(name) || hasOwn(nextProperties, name) || hasOwn(previousProperties, name)) continue;
      if (request)
        node.add('breaking', 'request_property_became_required', `The property "${name}" must now be sent.`, at(name));
      else
        node.add(
          'compatible',
          'response_property_became_required',
          `The property "${name}" is now always returned.`,
          at(name),
        );
    }
    for (const name of previousRequired) {
      if (nextRequired.has(name) || hasOwn(nextProperties, name) || hasOwn(previousProperties, name)) continue;
      if (request)
        node.add(
          'compatible',
          'request_property_became_optional',
          `The property "${name}" may now be left out.`,
          at(name),
        );
      else
        node.add(
          'breaking',
          'response_property_became_optional',
          `The property "${name}" may now be missing from the response.`,
          at(name),
        );
    }

    const previousExtra = previous.additionalProperties;
    const nextExtra = next.additionalProperties;
    if (request && previousExtra !== false && nextExtra === false) {
      node.add(
        'breaking',
        'request_additional_properties_refused',
        'Properties not listed in the schema are now refused.',
      );
    } else if (previousExtra === false && nextExtra !== false) {
      node.add(
        'compatible',
        `${direction}_additional_properties_allowed`,
        'Properties not listed in the schema are now allowed.',
      );
    }
    if (previousExtra !== false && nextExtra !== false && (isObject(previousExtra) || isObject(nextExtra))) {
      node.link(
        '/additionalProperties',
        this.pairOf(
          isObject(previousExtra) ? previousExtra : undefined,
          isObject(nextExtra) ? nextExtra : undefined,
          direction,
        ),
      );
    }
  }
}

/** A schema that admits nothing (`false`): no type at all. Shared and never modified. */
const NOTHING: JsonObject = { type: [] };

function assertOpenApiDocument(document: unknown, label: 'previous' | 'next'): JsonObject {
  if (!isObject(document))
    throw new ContractDiffError(`The ${label} document is ${describeValue(document)}, not an OpenAPI document object.`);
  if (typeof document.openapi !== 'string' || !/^3\.[01]\.\d+/.test(document.openapi)) {
    const found =
      typeof document.openapi === 'string'
        ? `"${document.openapi.slice(0, 40)}"`
        : document.swagger !== undefined
          ? 'a Swagger 2.0 document'
          : 'no `openapi` field';
    throw new ContractDiffError(`The ${label} document is not OpenAPI 3.0.x or 3.1.x (found ${found}).`);
  }
  if (document.paths !== undefined && !isObject(document.paths)) {
    throw new ContractDiffError(
      `The ${label} document's \`paths\` is ${describeValue(document.paths)}, not an object.`,
    );
  }
  return document;
}

/**
 * Every change between two versions of a contract, in document order. Throws `ContractDiffError`
 * when either is not an OpenAPI 3.0/3.1 document or has a `$ref` that dangles or loops.
 */
export function diffContracts(previous: unknown, next: unknown): ContractChange[] {
  const diff = new ContractDiff(previous, next);
  try {
    return diff.run();
  } catch (error) {
    if (error instanceof ContractDiffError) throw error;
    // Nothing a document holds should get here; if something does, say which comparison failed.
    throw new ContractDiffError(
      `The documents could not be compared: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

export function breakingChanges(changes: readonly ContractChange[]): ContractChange[] {
  return changes.filter((change) => change.severity === 'breaking');
}
