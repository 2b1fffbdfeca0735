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
 *   (a new required field, a removed enum value, a stricter bound) is breaking and widening is not;
 * - in a **response** clients must still understand everything they get, so widening (a new enum
 *   value, a new type) and losing something they relied on (a removed or now optional property) is
 *   breaking, and adding properties is not.
 *
 * `$ref`s are local (`#/...`, checked at publication) and followed lazily, so recursive schemas
 * terminate through a visited set of compared pairs. `allOf` is merged into one schema; `oneOf` /
 * `anyOf` variants are matched by their `$ref` (else by position) and judged conservatively.
 */

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

type JsonObject = Record<string, unknown>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const MAX_SCHEMA_DEPTH = 64;
const MAX_REF_HOPS = 32;
/** Schema pairs compared at most; merged `allOf`s in a recursive schema could otherwise fan out without end. */
const MAX_SCHEMA_COMPARISONS = 50_000;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function pointerJoin(base: string, ...tokens: (string | number)[]): string {
  return base + tokens.map((token) => `/${escapePointerToken(String(token))}`).join('');
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const tokens = ref.slice(1).split('/').slice(1).map((token) => decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~'));
  let current: unknown = root;
  for (const token of tokens) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isObject(current)) current = current[token];
    else return undefined;
  }
  return current;
}

/** One document with its local `$ref`s resolved on demand. */
class DocumentView {
  constructor(readonly root: JsonObject) {}

  /**
   * Follows `$ref` chains. A pure reference answers the target object itself (stable identity,
   * which the cycle check relies on); 3.1's `$ref` with siblings answers the target overlaid with them.
   */
  deref(node: unknown): unknown {
    let current = node;
    for (let hops = 0; hops < MAX_REF_HOPS && isObject(current) && typeof current.$ref === 'string'; hops += 1) {
      const { $ref, ...siblings } = current;
      const target = resolvePointer(this.root, $ref as string);
      if (!isObject(target)) return {};
      const meaningfulSiblings = Object.keys(siblings).filter((key) => key !== 'description' && key !== 'summary');
      current = meaningfulSiblings.length === 0 ? target : { ...target, ...siblings };
    }
    return current;
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

function enumOf(schema: JsonObject): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum;
  if ('const' in schema) return [schema.const];
  return undefined;
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

function requiredOf(schema: JsonObject): Set<string> {
  return new Set(Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : []);
}

function propertiesOf(schema: JsonObject): JsonObject {
  return isObject(schema.properties) ? schema.properties : {};
}

/** A numeric bound with its exclusivity; 3.0 spells exclusivity as a boolean next to the bound, 3.1 as the bound itself. */
interface Bound {
  value: number;
  exclusive: boolean;
}

function upperBound(schema: JsonObject): Bound | undefined {
  const inclusive = typeof schema.maximum === 'number' ? { value: schema.maximum, exclusive: schema.exclusiveMaximum === true } : undefined;
  const exclusive = typeof schema.exclusiveMaximum === 'number' ? { value: schema.exclusiveMaximum, exclusive: true } : undefined;
  if (inclusive && exclusive) return exclusive.value <= inclusive.value ? exclusive : inclusive;
  return inclusive ?? exclusive;
}

function lowerBound(schema: JsonObject): Bound | undefined {
  const inclusive = typeof schema.minimum === 'number' ? { value: schema.minimum, exclusive: schema.exclusiveMinimum === true } : undefined;
  const exclusive = typeof schema.exclusiveMinimum === 'number' ? { value: schema.exclusiveMinimum, exclusive: true } : undefined;
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

// --- the comparison -----------------------------------------------------------------------------

interface SchemaContext {
  direction: DataDirection;
  location: ChangeLocation;
  pointer: string;
  depth: number;
}

export class ContractDiff {
  readonly changes: ContractChange[] = [];
  private readonly previous: DocumentView;
  private readonly next: DocumentView;
  private readonly compared = new Set<string>();
  private readonly objectIds = new WeakMap<object, number>();
  private nextObjectId = 1;
  private comparisons = 0;

  constructor(previous: JsonObject, next: JsonObject) {
    this.previous = new DocumentView(previous);
    this.next = new DocumentView(next);
  }

  private add(severity: ChangeSeverity, code: string, location: ChangeLocation, message: string): void {
    this.changes.push({ code, severity, location, message });
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
    const previousPaths = isObject(this.previous.root.paths) ? this.previous.root.paths : {};
    const nextPaths = isObject(this.next.root.paths) ? this.next.root.paths : {};
    // Paths are matched by their template shape, so renaming `{id}` to `{personId}` is not a removal.
    const shape = (path: string) => path.replace(/\{[^}]*\}/g, '{}');
    const nextByShape = new Map(Object.keys(nextPaths).map((path) => [shape(path), path]));
    const matchedNext = new Set<string>();
    for (const previousPath of Object.keys(previousPaths)) {
      const nextPath = nextByShape.get(shape(previousPath));
      const pointer = pointerJoin('', 'paths', previousPath);
      if (nextPath === undefined) {
        this.add('breaking', 'path_removed', { path: previousPath, pointer }, `The path ${previousPath} was removed.`);
        continue;
      }
      matchedNext.add(nextPath);
      this.comparePathItem(previousPath, nextPath, previousPaths[previousPath], nextPaths[nextPath]);
    }
    for (const nextPath of Object.keys(nextPaths)) {
      if (!matchedNext.has(nextPath)) {
        this.add('compatible', 'path_added', { path: nextPath, pointer: pointerJoin('', 'paths', nextPath) }, `The path ${nextPath} was added.`);
      }
    }
    return this.changes;
  }

  private comparePathItem(previousPath: string, nextPath: string, previousItemRaw: unknown, nextItemRaw: unknown): void {
    const previousItem = this.previous.deref(previousItemRaw);
    const nextItem = this.next.deref(nextItemRaw);
    if (!isObject(previousItem) || !isObject(nextItem)) return;
    for (const method of HTTP_METHODS) {
      const previousOperation = this.previous.deref(previousItem[method]);
      const nextOperation = this.next.deref(nextItem[method]);
      const location = { method: method.toUpperCase(), path: nextPath };
      const pointer = pointerJoin('', 'paths', nextPath, method);
      if (isObject(previousOperation) && !isObject(nextOperation)) {
        this.add('breaking', 'operation_removed', { ...location, path: previousPath, pointer: pointerJoin('', 'paths', previousPath, method) }, `${method.toUpperCase()} ${previousPath} was removed.`);
      } else if (!isObject(previousOperation) && isObject(nextOperation)) {
        this.add('compatible', 'operation_added', { ...location, pointer }, `${method.toUpperCase()} ${nextPath} was added.`);
      } else if (isObject(previousOperation) && isObject(nextOperation)) {
        this.compareOperation(
          { ...location, pointer },
          { item: previousItem, operation: previousOperation, path: previousPath },
          { item: nextItem, operation: nextOperation, path: nextPath },
        );
      }
    }
  }

  private compareOperation(
    location: ChangeLocation & { pointer: string },
    previous: { item: JsonObject; operation: JsonObject; path: string },
    next: { item: JsonObject; operation: JsonObject; path: string },
  ): void {
    const where = `${location.method} ${location.path}`;
    if (previous.operation.deprecated !== true && next.operation.deprecated === true) {
      this.add('compatible', 'operation_deprecated', location, `${where} is now deprecated.`);
    }
    if (previous.operation.summary !== next.operation.summary || previous.operation.description !== next.operation.description) {
      this.add('compatible', 'description_changed', location, `The summary or description of ${where} changed.`);
    }
    this.compareParameters(location, this.parametersOf(this.previous, previous), this.parametersOf(this.next, next));
    this.compareRequestBody(location, previous.operation.requestBody, next.operation.requestBody);
    this.compareResponses(location, previous.operation.responses, next.operation.responses);
    this.compareSecurity(location, previous.operation, next.operation);
  }

  /** Path-level and operation-level parameters, the operation's winning; path parameters keyed by position. */
  private parametersOf(view: DocumentView, side: { item: JsonObject; operation: JsonObject; path: string }): Map<string, JsonObject> {
    const pathParameterNames = [...side.path.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]);
    const result = new Map<string, JsonObject>();
    for (const list of [side.item.parameters, side.operation.parameters]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const parameter = view.deref(raw);
        if (!isObject(parameter) || typeof parameter.name !== 'string' || typeof parameter.in !== 'string') continue;
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

  private compareParameters(location: ChangeLocation & { pointer: string }, previous: Map<string, JsonObject>, next: Map<string, JsonObject>): void {
    const label = (parameter: JsonObject) => `${String(parameter.in)}:${String(parameter.name)}`;
    for (const [key, nextParameter] of next) {
      const previousParameter = previous.get(key);
      const parameterLocation = { ...location, parameter: label(nextParameter), direction: 'request' as const, pointer: pointerJoin(location.pointer, 'parameters', String(nextParameter.name)) };
      if (!previousParameter) {
        if (nextParameter.required === true) {
          this.add('breaking', 'request_parameter_added_required', parameterLocation, `A new required parameter ${label(nextParameter)} was added.`);
        } else {
          this.add('compatible', 'request_parameter_added', parameterLocation, `A new optional parameter ${label(nextParameter)} was added.`);
        }
        continue;
      }
      if (previousParameter.required !== true && nextParameter.required === true) {
        this.add('breaking', 'request_parameter_became_required', parameterLocation, `The parameter ${label(nextParameter)} is now required.`);
      } else if (previousParameter.required === true && nextParameter.required !== true) {
        this.add('compatible', 'request_parameter_became_optional', parameterLocation, `The parameter ${label(nextParameter)} is now optional.`);
      }
      this.compareSchema(previousParameter.schema, nextParameter.schema, {
        direction: 'request',
        location: parameterLocation,
        pointer: pointerJoin(parameterLocation.pointer, 'schema'),
        depth: 0,
      });
    }
    for (const [key, previousParameter] of previous) {
      if (next.has(key)) continue;
      this.add(
        'compatible',
        'request_parameter_removed',
        { ...location, parameter: label(previousParameter), direction: 'request', pointer: pointerJoin(location.pointer, 'parameters', String(previousParameter.name)) },
        `The parameter ${label(previousParameter)} was removed; the server ignores it now.`,
      );
    }
  }

  private contentOf(view: DocumentView, holder: JsonObject): Map<string, JsonObject> {
    const content = isObject(holder.content) ? holder.content : {};
    const result = new Map<string, JsonObject>();
    for (const [mediaType, value] of Object.entries(content)) {
      const media = view.deref(value);
      if (isObject(media)) result.set(mediaType.split(';')[0]!.trim().toLowerCase(), media);
    }
    return result;
  }

  private compareRequestBody(location: ChangeLocation & { pointer: string }, previousRaw: unknown, nextRaw: unknown): void {
    const previous = this.previous.deref(previousRaw);
    const next = this.next.deref(nextRaw);
    const bodyLocation = { ...location, direction: 'request' as const, pointer: pointerJoin(location.pointer, 'requestBody') };
    if (!isObject(previous) && !isObject(next)) return;
    if (!isObject(previous) && isObject(next)) {
      if (next.required === true) this.add('breaking', 'request_body_became_required', bodyLocation, 'A required request body was added.');
      else this.add('compatible', 'request_body_added', bodyLocation, 'An optional request body was added.');
      return;
    }
    if (isObject(previous) && !isObject(next)) {
      this.add('breaking', 'request_body_removed', bodyLocation, 'The request body was removed; bodies clients send may be refused.');
      return;
    }
    if (!isObject(previous) || !isObject(next)) return;
    if (previous.required !== true && next.required === true) {
      this.add('breaking', 'request_body_became_required', bodyLocation, 'The request body is now required.');
    }
    const previousContent = this.contentOf(this.previous, previous);
    const nextContent = this.contentOf(this.next, next);
    for (const [mediaType, previousMedia] of previousContent) {
      const nextMedia = nextContent.get(mediaType);
      const mediaPointer = pointerJoin(bodyLocation.pointer, 'content', mediaType);
      if (!nextMedia) {
        this.add('breaking', 'request_media_type_removed', { ...bodyLocation, pointer: mediaPointer }, `The request body no longer accepts ${mediaType}.`);
        continue;
      }
      this.compareSchema(previousMedia.schema, nextMedia.schema, { direction: 'request', location: bodyLocation, pointer: pointerJoin(mediaPointer, 'schema'), depth: 0 });
    }
    for (const mediaType of nextContent.keys()) {
      if (!previousContent.has(mediaType)) {
        this.add('compatible', 'request_media_type_added', { ...bodyLocation, pointer: pointerJoin(bodyLocation.pointer, 'content', mediaType) }, `The request body also accepts ${mediaType}.`);
      }
    }
  }

  private compareResponses(location: ChangeLocation & { pointer: string }, previousRaw: unknown, nextRaw: unknown): void {
    const previous = isObject(previousRaw) ? previousRaw : {};
    const next = isObject(nextRaw) ? nextRaw : {};
    const isSuccess = (status: string) => /^2(\d\d|XX)$/i.test(status);
    for (const [status, previousResponseRaw] of Object.entries(previous)) {
      const responseLocation = { ...location, direction: 'response' as const, pointer: pointerJoin(location.pointer, 'responses', status) };
      const nextResponse = this.next.deref(next[status]);
      const previousResponse = this.previous.deref(previousResponseRaw);
      if (!isObject(nextResponse)) {
        if (isSuccess(status)) this.add('breaking', 'response_status_removed', responseLocation, `The success response ${status} was removed.`);
        else this.add('compatible', 'response_error_status_removed', responseLocation, `The response ${status} is no longer documented.`);
        continue;
      }
      if (!isObject(previousResponse)) continue;
      this.compareResponseHeaders(responseLocation, previousResponse, nextResponse, isSuccess(status));
      const previousContent = this.contentOf(this.previous, previousResponse);
      const nextContent = this.contentOf(this.next, nextResponse);
      for (const [mediaType, previousMedia] of previousContent) {
        const nextMedia = nextContent.get(mediaType);
        const mediaPointer = pointerJoin(responseLocation.pointer, 'content', mediaType);
        if (!nextMedia) {
          this.add('breaking', 'response_media_type_removed', { ...responseLocation, pointer: mediaPointer }, `The response ${status} no longer comes as ${mediaType}.`);
          continue;
        }
        this.compareSchema(previousMedia.schema, nextMedia.schema, { direction: 'response', location: responseLocation, pointer: pointerJoin(mediaPointer, 'schema'), depth: 0 });
      }
      for (const mediaType of nextContent.keys()) {
        if (!previousContent.has(mediaType)) {
          this.add('compatible', 'response_media_type_added', { ...responseLocation, pointer: pointerJoin(responseLocation.pointer, 'content', mediaType) }, `The response ${status} may also come as ${mediaType}.`);
        }
      }
    }
    for (const status of Object.keys(next)) {
      if (!(status in previous)) {
        this.add('compatible', 'response_status_added', { ...location, direction: 'response', pointer: pointerJoin(location.pointer, 'responses', status) }, `The response ${status} was added.`);
      }
    }
  }

  private compareResponseHeaders(location: ChangeLocation & { pointer: string }, previous: JsonObject, next: JsonObject, success: boolean): void {
    const previousHeaders = isObject(previous.headers) ? previous.headers : {};
    const nextHeaders = new Map(Object.entries(isObject(next.headers) ? next.headers : {}).map(([name, value]) => [name.toLowerCase(), value]));
    for (const name of Object.keys(previousHeaders)) {
      if (nextHeaders.has(name.toLowerCase())) continue;
      const header = this.previous.deref(previousHeaders[name]);
      if (success && isObject(header) && header.required === true) {
        this.add('breaking', 'response_header_removed', { ...location, pointer: pointerJoin(location.pointer, 'headers', name) }, `The response header ${name} was removed.`);
      }
    }
  }

  /** The alternatives of requirements (OR) of schemes with scopes (AND). Empty or `{}` means anonymous access. */
  private securityOf(view: DocumentView, operation: JsonObject): Map<string, Set<string>>[] {
    const requirements = Array.isArray(operation.security) ? operation.security : Array.isArray(view.root.security) ? view.root.security : [];
    return requirements.filter(isObject).map(
      (requirement) =>
        new Map(
          Object.entries(requirement).map(([scheme, scopes]) => [scheme, new Set(Array.isArray(scopes) ? scopes.map(String) : [])]),
        ),
    );
  }

  private compareSecurity(location: ChangeLocation & { pointer: string }, previousOperation: JsonObject, nextOperation: JsonObject): void {
    const previous = this.securityOf(this.previous, previousOperation);
    const next = this.securityOf(this.next, nextOperation);
    const anonymous = (alternatives: Map<string, Set<string>>[]) => alternatives.length === 0 || alternatives.some((requirement) => requirement.size === 0);
    // A requirement `candidate` is met by a client meeting `held` if it asks for nothing more.
    const metBy = (candidate: Map<string, Set<string>>, held: Map<string, Set<string>>) =>
      [...candidate].every(([scheme, scopes]) => held.has(scheme) && [...scopes].every((scope) => held.get(scheme)!.has(scope)));
    const securityLocation = { ...location, pointer: pointerJoin(location.pointer, 'security') };
    if (anonymous(previous)) {
      if (!anonymous(next)) this.add('breaking', 'security_requirement_added', securityLocation, 'The operation now requires authentication.');
      return;
    }
    if (anonymous(next)) {
      this.add('compatible', 'security_requirement_removed', securityLocation, 'The operation no longer requires authentication.');
      return;
    }
    const stranded = previous.filter((held) => !next.some((candidate) => metBy(candidate, held)));
    if (stranded.length > 0) {
      this.add('breaking', 'security_requirement_tightened', securityLocation, 'Clients meeting the old security requirements no longer meet the new ones (a scheme or scope was added or replaced).');
    } else if (canonical(previous.map((r) => [...r].map(([s, v]) => [s, [...v].sort()]))) !== canonical(next.map((r) => [...r].map(([s, v]) => [s, [...v].sort()])))) {
      this.add('compatible', 'security_requirement_relaxed', securityLocation, 'The security requirements were relaxed.');
    }
  }

  // --- schemas ---

  private readonly flattened = new WeakMap<object, JsonObject>();
  private readonly flattening = new Set<object>();

  /**
   * Merges `allOf` members into one schema: properties and required lists united, types
   * intersected, other keywords the first member's. Memoised per schema object, so a merged
   * schema keeps one identity and the visited-pair check also stops recursion through `allOf`.
   */
  private flatten(view: DocumentView, raw: unknown): JsonObject | undefined {
    const schema = view.deref(raw);
    if (!isObject(schema)) return schema === true || schema === undefined ? undefined : {};
    if (!Array.isArray(schema.allOf)) return schema;
    const cached = this.flattened.get(schema);
    if (cached) return cached;
    // A schema that includes itself contributes nothing more the second time round.
    if (this.flattening.has(schema)) return {};
    this.flattening.add(schema);
    const { allOf, ...own } = schema;
    const merged: JsonObject = {};
    const properties: JsonObject = {};
    const required = new Set<string>();
    for (const member of [...(allOf as unknown[]), own]) {
      const flat = this.flatten(view, member);
      if (!flat) continue;
      for (const [name, property] of Object.entries(propertiesOf(flat))) {
        properties[name] = name in properties ? { allOf: [properties[name], property] } : property;
      }
      for (const name of requiredOf(flat)) required.add(name);
      for (const [key, value] of Object.entries(flat)) {
        if (key === 'properties' || key === 'required') continue;
        if (key === 'type' && 'type' in merged) {
          const previousTypes = typesOf(merged);
          const memberTypes = typesOf(flat);
          if (previousTypes && memberTypes) merged.type = [...previousTypes].filter((type) => admits(memberTypes, type));
          continue;
        }
        if (!(key in merged)) merged[key] = value;
      }
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.size > 0) merged.required = [...required];
    this.flattening.delete(schema);
    this.flattened.set(schema, merged);
    return merged;
  }

  private compareSchema(previousRaw: unknown, nextRaw: unknown, context: SchemaContext): void {
    if (context.depth > MAX_SCHEMA_DEPTH) return;
    this.comparisons += 1;
    if (this.comparisons === MAX_SCHEMA_COMPARISONS) {
      // Conservative: a comparison that could not finish cannot vouch for compatibility.
      this.add('breaking', 'diff_incomplete', { pointer: context.pointer }, 'The schemas are too large or too recursive to compare completely.');
    }
    if (this.comparisons >= MAX_SCHEMA_COMPARISONS) return;
    const previousResolved = this.previous.deref(previousRaw);
    const nextResolved = this.next.deref(nextRaw);
    // A pair already compared in this direction (a recursive schema) is not compared again.
    if (isObject(previousResolved) && isObject(nextResolved)) {
      const key = `${context.direction}:${this.idOf(previousResolved)}:${this.idOf(nextResolved)}`;
      if (this.compared.has(key)) return;
      this.compared.add(key);
    }
    const previous = this.flatten(this.previous, previousResolved);
    const next = this.flatten(this.next, nextResolved);
    if (previous && next && (previous !== previousResolved || next !== nextResolved)) {
      const key = `${context.direction}:${this.idOf(previous)}:${this.idOf(next)}`;
      if (this.compared.has(key)) return;
      this.compared.add(key);
    }
    const request = context.direction === 'request';
    const location = { ...context.location, pointer: context.pointer, direction: context.direction };
    if (!previous || !next) {
      // An absent schema admits anything.
      if (!previous && next && request && Object.keys(next).length > 0) this.add('breaking', 'request_schema_added', location, 'A schema now constrains what used to be free-form.');
      if (previous && !next && !request && Object.keys(previous).length > 0) this.add('breaking', 'response_schema_removed', location, 'The response is no longer described by a schema.');
      return;
    }

    if (typeof previous.description === 'string' && typeof next.description === 'string' && previous.description !== next.description) {
      this.add('compatible', 'description_changed', location, 'A description changed.');
    }
    this.compareTypes(previous, next, location, request);
    this.compareEnums(previous, next, location, request);
    this.compareFormat(previous, next, location, request);
    if (request) this.compareRequestConstraints(previous, next, location);
    this.compareComposition(previous, next, context, location);
    this.compareObject(previous, next, context, location);
    if (previous.items !== undefined || next.items !== undefined) {
      this.compareSchema(previous.items, next.items, { ...context, pointer: pointerJoin(context.pointer, 'items'), depth: context.depth + 1 });
    }
  }

  private compareTypes(previous: JsonObject, next: JsonObject, location: ChangeLocation, request: boolean): void {
    const previousTypes = typesOf(previous);
    const nextTypes = typesOf(next);
    if (!previousTypes || !nextTypes) return;
    const dropped = [...previousTypes].filter((type) => !admits(nextTypes, type));
    const added = [...nextTypes].filter((type) => !admits(previousTypes, type));
    if (dropped.length === 0 && added.length === 0) return;
    const describe = `type ${[...previousTypes].join('|')} → ${[...nextTypes].join('|')}`;
    if (request) {
      if (dropped.length > 0) this.add('breaking', 'request_type_changed', location, `The accepted ${describe} no longer admits ${dropped.join(', ')}.`);
      else this.add('compatible', 'request_type_widened', location, `The accepted ${describe} admits more.`);
    } else if (added.length > 0) {
      this.add('breaking', 'response_type_changed', location, `The returned ${describe} may now be ${added.join(', ')}.`);
    } else {
      this.add('compatible', 'response_type_narrowed', location, `The returned ${describe} is narrower.`);
    }
  }

  private compareEnums(previous: JsonObject, next: JsonObject, location: ChangeLocation, request: boolean): void {
    const previousValues = enumOf(previous);
    const nextValues = enumOf(next);
    if (!previousValues && !nextValues) return;
    if (!previousValues) {
      if (request) this.add('breaking', 'request_enum_added', location, 'The value is now restricted to a list of values.');
      else this.add('compatible', 'response_enum_added', location, 'The returned value is now restricted to a list of values.');
      return;
    }
    if (!nextValues) {
      if (request) this.add('compatible', 'request_enum_removed', location, 'The value is no longer restricted to a list.');
      else this.add('breaking', 'response_enum_removed', location, 'The returned value is no longer restricted to the listed values.');
      return;
    }
    const previousSet = new Set(previousValues.map(canonical));
    const nextSet = new Set(nextValues.map(canonical));
    const removed = [...previousSet].filter((value) => !nextSet.has(value));
    const added = [...nextSet].filter((value) => !previousSet.has(value));
    if (removed.length > 0) {
      if (request) this.add('breaking', 'request_enum_value_removed', location, `Accepted values were removed: ${removed.join(', ')}.`);
      else this.add('compatible', 'response_enum_value_removed', location, `Returned values were removed: ${removed.join(', ')}.`);
    }
    if (added.length > 0) {
      if (request) this.add('compatible', 'request_enum_value_added', location, `Accepted values were added: ${added.join(', ')}.`);
      else this.add('breaking', 'response_enum_value_added', location, `New values may be returned that clients do not know: ${added.join(', ')}.`);
    }
  }

  private compareFormat(previous: JsonObject, next: JsonObject, location: ChangeLocation, request: boolean): void {
    if (previous.format === next.format) return;
    if (request) {
      if (next.format !== undefined) this.add('breaking', 'request_format_changed', location, `The accepted format changed from ${String(previous.format ?? 'any')} to ${String(next.format)}.`);
      else this.add('compatible', 'request_format_removed', location, 'The accepted format is no longer restricted.');
    } else if (previous.format !== undefined && next.format !== undefined) {
      this.add('breaking', 'response_format_changed', location, `The returned format changed from ${String(previous.format)} to ${String(next.format)}.`);
    } else {
      this.add('compatible', 'response_format_changed', location, 'The returned format annotation was added or removed.');
    }
  }

  /** Stricter bounds, patterns and multiples in a request refuse values that used to pass. */
  private compareRequestConstraints(previous: JsonObject, next: JsonObject, location: ChangeLocation): void {
    const maxima = ['maxLength', 'maxItems', 'maxProperties'] as const;
    const minima = ['minLength', 'minItems', 'minProperties'] as const;
    for (const keyword of maxima) {
      const before = typeof previous[keyword] === 'number' ? previous[keyword] : Infinity;
      const after = typeof next[keyword] === 'number' ? next[keyword] : Infinity;
      if (after < before) this.add('breaking', `request_${snake(keyword)}_decreased`, location, `${keyword} became stricter: ${String(previous[keyword] ?? 'none')} → ${String(next[keyword])}.`);
      else if (after > before) this.add('compatible', `request_${snake(keyword)}_increased`, location, `${keyword} was relaxed.`);
    }
    for (const keyword of minima) {
      const before = typeof previous[keyword] === 'number' ? previous[keyword] : 0;
      const after = typeof next[keyword] === 'number' ? next[keyword] : 0;
      if (after > before) this.add('breaking', `request_${snake(keyword)}_increased`, location, `${keyword} became stricter: ${String(previous[keyword] ?? 'none')} → ${String(next[keyword])}.`);
      else if (after < before) this.add('compatible', `request_${snake(keyword)}_decreased`, location, `${keyword} was relaxed.`);
    }
    const upper = compareUpper(upperBound(previous), upperBound(next));
    if (upper < 0) this.add('breaking', 'request_maximum_decreased', location, 'The upper bound (maximum / exclusiveMaximum) became stricter.');
    else if (upper > 0) this.add('compatible', 'request_maximum_increased', location, 'The upper bound was relaxed.');
    const lower = compareLower(lowerBound(previous), lowerBound(next));
    if (lower < 0) this.add('breaking', 'request_minimum_increased', location, 'The lower bound (minimum / exclusiveMinimum) became stricter.');
    else if (lower > 0) this.add('compatible', 'request_minimum_decreased', location, 'The lower bound was relaxed.');
    if (previous.pattern !== next.pattern) {
      if (next.pattern === undefined) this.add('compatible', 'request_pattern_removed', location, 'The pattern was removed.');
      else if (previous.pattern === undefined) this.add('breaking', 'request_pattern_added', location, `A pattern was added: ${String(next.pattern)}.`);
      else this.add('breaking', 'request_pattern_changed', location, `The pattern changed: ${String(previous.pattern)} → ${String(next.pattern)}.`);
    }
    if (previous.multipleOf !== next.multipleOf) {
      if (next.multipleOf === undefined) this.add('compatible', 'request_multiple_of_removed', location, 'multipleOf was removed.');
      else this.add('breaking', 'request_multiple_of_changed', location, `multipleOf changed to ${String(next.multipleOf)}.`);
    }
    if (previous.uniqueItems !== true && next.uniqueItems === true) this.add('breaking', 'request_unique_items_added', location, 'Array items must now be unique.');
  }

  /** `oneOf` / `anyOf`: variants matched by `$ref`, else by position; a vanished composition is judged breaking. */
  private compareComposition(previous: JsonObject, next: JsonObject, context: SchemaContext, location: ChangeLocation): void {
    const request = context.direction === 'request';
    for (const keyword of ['oneOf', 'anyOf'] as const) {
      const previousVariants = Array.isArray(previous[keyword]) ? (previous[keyword] as unknown[]) : undefined;
      const nextVariants = Array.isArray(next[keyword]) ? (next[keyword] as unknown[]) : undefined;
      if (!previousVariants && !nextVariants) continue;
      if (!previousVariants || !nextVariants) {
        this.add('breaking', `${snake(keyword)}_changed`, location, `The ${keyword} composition was ${previousVariants ? 'removed' : 'introduced'}; clients cannot be assumed to cope.`);
        continue;
      }
      const keyOf = (view: DocumentView, variant: unknown, index: number) => view.refOf(variant) ?? `#${index}`;
      const previousByKey = new Map(previousVariants.map((variant, index) => [keyOf(this.previous, variant, index), variant]));
      const nextByKey = new Map(nextVariants.map((variant, index) => [keyOf(this.next, variant, index), variant]));
      for (const [key, variant] of previousByKey) {
        const counterpart = nextByKey.get(key);
        const pointer = pointerJoin(context.pointer, keyword, key);
        if (counterpart === undefined) {
          if (request) this.add('breaking', `request_${snake(keyword)}_variant_removed`, { ...location, pointer }, `A ${keyword} alternative (${key}) is no longer accepted.`);
          else this.add('compatible', `response_${snake(keyword)}_variant_removed`, { ...location, pointer }, `A ${keyword} alternative (${key}) is no longer returned.`);
          continue;
        }
        this.compareSchema(variant, counterpart, { ...context, pointer, depth: context.depth + 1 });
      }
      for (const key of nextByKey.keys()) {
        if (previousByKey.has(key)) continue;
        const pointer = pointerJoin(context.pointer, keyword, key);
        if (request) this.add('compatible', `request_${snake(keyword)}_variant_added`, { ...location, pointer }, `A ${keyword} alternative (${key}) is now accepted.`);
        else this.add('breaking', `response_${snake(keyword)}_variant_added`, { ...location, pointer }, `A new ${keyword} alternative (${key}) may be returned.`);
      }
    }
  }

  private compareObject(previous: JsonObject, next: JsonObject, context: SchemaContext, location: ChangeLocation): void {
    const request = context.direction === 'request';
    const previousProperties = propertiesOf(previous);
    const nextProperties = propertiesOf(next);
    const previousRequired = requiredOf(previous);
    const nextRequired = requiredOf(next);
    const at = (name: string) => ({ ...location, pointer: pointerJoin(context.pointer, 'properties', name) });
    const isReadOnly = (view: DocumentView, raw: unknown) => {
      const property = view.deref(raw);
      return isObject(property) && property.readOnly === true;
    };

    for (const [name, nextProperty] of Object.entries(nextProperties)) {
      if (!(name in previousProperties)) {
        if (request && nextRequired.has(name) && !isReadOnly(this.next, nextProperty)) {
          this.add('breaking', 'request_required_property_added', at(name), `A new required property "${name}" must now be sent.`);
        } else {
          this.add('compatible', request ? 'request_property_added' : 'response_property_added', at(name), `A new ${nextRequired.has(name) ? 'required' : 'optional'} property "${name}" was added.`);
        }
        continue;
      }
      const wasRequired = previousRequired.has(name);
      const isRequired = nextRequired.has(name);
      if (request && !wasRequired && isRequired && !isReadOnly(this.next, nextProperty)) {
        this.add('breaking', 'request_property_became_required', at(name), `The property "${name}" must now be sent.`);
      } else if (request && wasRequired && !isRequired) {
        this.add('compatible', 'request_property_became_optional', at(name), `The property "${name}" may now be left out.`);
      } else if (!request && wasRequired && !isRequired) {
        this.add('breaking', 'response_property_became_optional', at(name), `The property "${name}" may now be missing from the response.`);
      } else if (!request && !wasRequired && isRequired) {
        this.add('compatible', 'response_property_became_required', at(name), `The property "${name}" is now always returned.`);
      }
      this.compareSchema(previousProperties[name], nextProperty, { ...context, pointer: pointerJoin(context.pointer, 'properties', name), depth: context.depth + 1 });
    }
    for (const name of Object.keys(previousProperties)) {
      if (name in nextProperties) continue;
      if (!request) {
        this.add('breaking', 'response_property_removed', at(name), `The property "${name}" was removed from the response.`);
      } else if (next.additionalProperties === false) {
        this.add('breaking', 'request_property_removed', at(name), `The property "${name}" was removed and unknown properties are refused.`);
      } else {
        this.add('compatible', 'request_property_removed', at(name), `The property "${name}" was removed; the server ignores it now.`);
      }
    }
    if (request && previous.additionalProperties !== false && next.additionalProperties === false) {
      this.add('breaking', 'request_additional_properties_refused', location, 'Properties not listed in the schema are now refused.');
    }
    if (isObject(previous.additionalProperties) && isObject(next.additionalProperties)) {
      this.compareSchema(previous.additionalProperties, next.additionalProperties, {
        ...context,
        pointer: pointerJoin(context.pointer, 'additionalProperties'),
        depth: context.depth + 1,
      });
    }
  }
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Every change between two versions of a contract, in document order. */
export function diffContracts(previous: Record<string, unknown>, next: Record<string, unknown>): ContractChange[] {
  return new ContractDiff(previous, next).run();
}

export function breakingChanges(changes: readonly ContractChange[]): ContractChange[] {
  return changes.filter((change) => change.severity === 'breaking');
}
