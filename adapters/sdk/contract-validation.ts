/**
 * Checks what a department answers against its published contract (an OpenAPI 3.0 or 3.1
 * document), at run time, on every call.
 *
 * - One Ajv instance per contract version (draft-07 Ajv for 3.0 after a small 3.0→JSON Schema
 *   rewrite; Ajv 2020 for 3.1). The whole document is added as one schema, so local `$ref`s
 *   (`#/components/...`), recursive ones included, are resolved by Ajv itself.
 * - Validators are compiled lazily, per operation and status, and cached: a contract with many
 *   operations costs nothing until an operation is used.
 * - A violation lists JSON pointers and keywords only, never values (they may be personal data).
 * - Unknown keywords (`x-*`, `xml`, `example`, `discriminator`, …) are annotations and ignored.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import type { ContractSet } from './adapter.js';
import { DepartmentError } from './errors.js';
import { linearRegExpEngine } from './linear-patterns.js';
import { MAX_COMPILED_SCHEMA_NODES, ajvMisreads, interpretedCheck, schemaNodeCount } from './interpreted-schemas.js';
import type { DepartmentMetrics } from './metrics.js';
import { FORMAT_CHECKS, OPENAPI_FORMATS } from './openapi-formats.js';
import { rewriteOpenApi30 } from './openapi-30-schemas.js';
import {
  HTTP_METHODS,
  type JsonObject,
  escapePointerToken,
  follow,
  fragmentOf,
  isObject,
  resolveLocalPointer,
} from './schema-pointers.js';
import { useLinearUniqueItems } from './unique-items.js';

export interface ContractMeta {
  department: string;
  resourceCode: string;
  version: string;
}

export interface ContractViolation {
  path: string;
  keyword: string;
}

/** A result of checking one answer: `null` when it conforms. */
export type ContractCheck = ContractViolation[] | null;

type ResponseCheck = (body: unknown) => ContractCheck;

export interface CompiledContract extends ContractMeta {
  readonly openapiVersion: '3.0' | '3.1';
  /** Every operationId the contract declares. */
  readonly operationIds: readonly string[];
  hasOperation(operationId: string): boolean;
  /**
   * Violations of `body` against the response schema of `operationId` answering `status`
   * (exact code, then `2XX`-style range, then `default`). Throws `contract_violation` when the
   * operation or the status is not in the contract.
   */
  check(operationId: string, status: number, body: unknown): ContractCheck;
}

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const formatsPlugin = formatsModule.default;

const MAX_VIOLATIONS = 20;

function newAjv(dialect: '3.0' | '3.1', allErrors: boolean): Ajv {
  const options = {
    // Contracts carry annotations Ajv does not know (x-*, xml, example, discriminator): ignore them.
    strict: false,
    allErrors,
    validateSchema: false,
    logger: false as const,
    // `multipleOf: 0.01` must accept 1.13: without it Ajv divides in floating point and refuses it.
    multipleOfPrecision: 9,
    // An answer's `{}` has no property `constructor`, whatever Object.prototype holds (as in the interpreter).
    ownProperties: true,
    // Patterns match in time linear in the answer (see linear-patterns.ts).
    code: { regExp: linearRegExpEngine },
  };
  const ajv = dialect === '3.1' ? new Ajv2020(options) : new Ajv(options);
  // Ajv compares every pair of items unless they are declared scalar: quadratic in the answer.
  useLinearUniqueItems(ajv);
  formatsPlugin(ajv);
  // OpenAPI's own formats (the interpreter reads the same table).
  for (const [name, definition] of Object.entries(OPENAPI_FORMATS)) ajv.addFormat(name, definition);
  // Text formats bounded in length (FORMAT_MAX_LENGTHS: some backtrack on long strings).
  for (const [name, check] of FORMAT_CHECKS)
    if (check.maxLength !== undefined)
      ajv.addFormat(name, { type: 'string', validate: (value: string) => check.test(value) });
  return ajv;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:;|$)/i;

interface OperationEntry {
  tokens: string[];
  responses: JsonObject;
  responsesTokens: string[];
}

let contractCounter = 0;

/**
 * A document holding only `schemaTokens`' schema and the `references` it reaches, each at its
 * own pointer and shared with `document`, not copied. A pointer inside one already placed is
 * already there.
 */
function reachableParts(
  document: JsonObject,
  schemaTokens: readonly string[],
  references: ReadonlySet<string>,
): JsonObject {
  if (references.has('#')) return document;
  const pointers = [
    schemaTokens,
    ...[...references].map((reference) => resolveLocalPointer(document, reference).tokens),
  ];
  pointers.sort((left, right) => left.length - right.length);
  const parts: JsonObject = {};
  const placed: string[] = [];
  for (const tokens of pointers) {
    const joined = tokens.map((token) => `/${escapePointerToken(token)}`).join('');
    if (placed.some((prefix) => joined === prefix || joined.startsWith(`${prefix}/`))) continue;
    placed.push(joined);
    let into: Record<string, unknown> = parts;
    let from = document as Record<string, unknown>;
    for (const token of tokens.slice(0, -1)) {
      from = from[token] as Record<string, unknown>;
      // Arrays stay arrays (a reference into `allOf/0`): Ajv walks them as it would the original.
      into[token] ??= Array.isArray(from) ? [] : {};
      into = into[token] as Record<string, unknown>;
    }
    const last = tokens.at(-1);
    if (last !== undefined) into[last] = from[last];
  }
  return parts;
}

/** Compiles a contract document; throws a plain Error when it is not an OpenAPI 3.0/3.1 document. */
export interface CompileOptions {
  /** Response schemas with more nodes are interpreted, not compiled (tests set 0 to compare). */
  maxCompiledSchemaNodes?: number;
  /**
   * The document's 3.0 schemas were already rewritten as JSON Schema (`rewriteOpenApi30`, which
   * the gateway runs in its contract worker for large documents): used as it is, not walked.
   */
  schemasRewritten?: boolean;
}

export function compileContract(document: object, meta: ContractMeta, options: CompileOptions = {}): CompiledContract {
  const maxCompiledNodes = options.maxCompiledSchemaNodes ?? MAX_COMPILED_SCHEMA_NODES;
  if (!isObject(document)) throw new Error(`${meta.resourceCode}: the contract is not an object`);
  const declared = document['openapi'];
  const dialect =
    typeof declared === 'string' && declared.startsWith('3.1')
      ? '3.1'
      : typeof declared === 'string' && declared.startsWith('3.0')
        ? '3.0'
        : null;
  if (dialect === null)
    throw new Error(
      `${meta.resourceCode}: the contract is not an OpenAPI 3.0 or 3.1 document (openapi: ${String(declared)})`,
    );
  // Nothing below changes the document: a copy of its top level is enough to drop its own `$id`
  // (rare at the top of an OpenAPI document), which would override the key Ajv knows it by. A deep
  // copy of a 2 MB document would hold the event loop ~0.1 s.
  const source =
    dialect === '3.0' && options.schemasRewritten !== true
      ? (rewriteOpenApi30(document) as JsonObject)
      : { ...document };
  delete source['$id'];
  delete source['$schema'];
  const checkedDialect: '3.0' | '3.1' = dialect;
  // Answers are checked up to their first violation (`firstError`): a failing answer then costs no
  // more than a conforming one. Gathering every violation costs schema size × answer size (an
  // `anyOf` of 30 branches over 20,000 wrong items: 0.13 s), so it is done for small answers only.
  let firstError: Ajv | undefined;
  let allErrors: Ajv | undefined;

  const operations = new Map<string, OperationEntry>();
  const paths = isObject(source['paths']) ? source['paths'] : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = follow(source, rawItem, ['paths', path]);
    if (!isObject(item.value)) continue;
    for (const [method, operation] of Object.entries(item.value)) {
      // Only HTTP methods hold operations: an `x-…` entry with an operationId is an extension, and
      // the publication checks (and the diff) never read it.
      if (!(HTTP_METHODS as readonly string[]).includes(method)) continue;
      if (!isObject(operation) || typeof operation['operationId'] !== 'string') continue;
      const tokens = [...item.tokens, method];
      const responses = isObject(operation['responses']) ? operation['responses'] : {};
      operations.set(operation['operationId'], { tokens, responses, responsesTokens: [...tokens, 'responses'] });
    }
  }

  /** Per `operationId status`: the check, or null when the answer has no schema to meet. */
  const validators = new Map<string, ResponseCheck | null>();

  /**
   * Compiled by Ajv when the schema is small enough to compile quickly and uses nothing Ajv
   * misreads, interpreted otherwise (see interpreted-schemas.ts): either way the event loop is
   * never held for long.
   */
  function responseCheck(schemaTokens: string[], schema: unknown): ResponseCheck {
    const references = new Set<string>();
    const keywords = new Set<string>();
    const nodes = schemaNodeCount(source, schema, maxCompiledNodes, references, keywords);
    if (nodes > maxCompiledNodes || ajvMisreads(keywords)) {
      const interpreted = interpretedCheck(source, schema, checkedDialect);
      return (body) => {
        const found = interpreted(body, isSmallAnswer(body));
        return found.length === 0 ? null : distinctViolations(found);
      };
    }
    // Ajv reads the schemas it is given whole: it gets the response schema and what it references,
    // each at its own pointer, not the whole document (adding a 2 MB document cost ~0.1 s).
    firstError ??= newAjv(checkedDialect, false);
    contractCounter += 1;
    const key = `urn:onewindow:contract:${contractCounter}`;
    const parts = reachableParts(source, schemaTokens, references);
    const target = { $ref: `${key}#/${fragmentOf(schemaTokens)}` };
    firstError.addSchema(parts, key);
    const validate = firstError.compile(target);
    let everyError: ValidateFunction | undefined;
    return (body) => {
      if (validate(body)) return null;
      if (!isSmallAnswer(body)) return violationsOf(validate.errors ?? []);
      if (!everyError) {
        allErrors ??= newAjv(checkedDialect, true);
        allErrors.addSchema(parts, key);
        everyError = allErrors.compile(target);
      }
      everyError(body);
      return violationsOf(everyError.errors ?? validate.errors ?? []);
    };
  }

  function responseKeyFor(entry: OperationEntry, status: number): string | undefined {
    const exact = String(status);
    if (exact in entry.responses) return exact;
    const range = `${Math.floor(status / 100)}XX`;
    for (const candidate of Object.keys(entry.responses)) if (candidate.toUpperCase() === range) return candidate;
    return 'default' in entry.responses ? 'default' : undefined;
  }

  function validatorFor(operationId: string, entry: OperationEntry, status: number): ResponseCheck | null {
    const responseKey = responseKeyFor(entry, status);
    if (responseKey === undefined) {
      throw new DepartmentError(
        'contract_violation',
        `${meta.resourceCode} ${operationId}: status ${status} is not in the contract`,
        {
          department: meta.department,
          operation: operationId,
          status,
          violations: [{ path: '', keyword: 'status' }],
        },
      );
    }
    const cacheKey = `${operationId} ${responseKey}`;
    const cached = validators.get(cacheKey);
    if (cached !== undefined) return cached;
    const response = follow(source, entry.responses[responseKey], [...entry.responsesTokens, responseKey]);
    let validator: ResponseCheck | null = null;
    const content = isObject(response.value) && isObject(response.value['content']) ? response.value['content'] : null;
    if (content) {
      // JSON media types first; otherwise the first media type with a schema (XML departments
      // validate their parsed document against the schema given for text/xml or SOAP).
      const mediaTypes = Object.keys(content);
      const chosen =
        mediaTypes.find(
          (mediaType) =>
            JSON_MEDIA_TYPE.test(mediaType) &&
            isObject(content[mediaType]) &&
            (content[mediaType] as JsonObject)['schema'] !== undefined,
        ) ??
        mediaTypes.find(
          (mediaType) => isObject(content[mediaType]) && (content[mediaType] as JsonObject)['schema'] !== undefined,
        );
      if (chosen !== undefined) {
        const schemaTokens = [...response.tokens, 'content', chosen, 'schema'];
        try {
          validator = responseCheck(schemaTokens, (content[chosen] as JsonObject)['schema']);
        } catch (error) {
          throw new DepartmentError(
            'contract_violation',
            `${meta.resourceCode} ${operationId}: the contract's schema for status ${responseKey} cannot be compiled`,
            {
              department: meta.department,
              operation: operationId,
              status,
              cause: error,
            },
          );
        }
      }
    }
    validators.set(cacheKey, validator);
    return validator;
  }

  return {
    ...meta,
    openapiVersion: dialect,
    operationIds: [...operations.keys()],
    hasOperation: (operationId) => operations.has(operationId),
    check(operationId, status, body) {
      const entry = operations.get(operationId);
      if (!entry) {
        throw new DepartmentError(
          'contract_violation',
          `${meta.resourceCode} ${meta.version}: the contract has no operation ${operationId}`,
          {
            department: meta.department,
            operation: operationId,
            status,
            violations: [{ path: '', keyword: 'operationId' }],
          },
        );
      }
      const validate = validatorFor(operationId, entry, status);
      if (validate === null) return null;
      try {
        return validate(body);
      } catch (error) {
        // Only the interpreter throws while checking (a `$ref` that does not resolve, a `pattern`
        // that is no regular expression, an answer past its step budget): the contract's fault, as
        // a schema Ajv cannot compile.
        throw new DepartmentError(
          'contract_violation',
          `${meta.resourceCode} ${operationId}: the contract's schema for status ${status} cannot be checked`,
          { department: meta.department, operation: operationId, status, cause: error },
        );
      }
    },
  };
}

/** JSON values in an answer small enough to gather all its violations (at most ~1 ms per 100 values). */
export const MAX_VALUES_FOR_EVERY_VIOLATION = 1_000;

/**
 * Whether `body` has at most `MAX_VALUES_FOR_EVERY_VIOLATION` values; stops counting past it.
 * Gathering every violation costs schema size × answer size, so only small values get it.
 */
export function isSmallAnswer(body: unknown): boolean {
  let values = 0;
  const pending: unknown[] = [body];
  while (pending.length > 0) {
    const value = pending.pop();
    values += 1;
    if (values > MAX_VALUES_FOR_EVERY_VIOLATION) return false;
    if (Array.isArray(value)) pending.push(...value.slice(0, MAX_VALUES_FOR_EVERY_VIOLATION));
    else if (isObject(value)) for (const key in value) pending.push(value[key]);
  }
  return true;
}

function violationsOf(errors: readonly ErrorObject[]): ContractViolation[] {
  return distinctViolations(
    errors.map((error) => {
      // A missing property's NAME comes from the schema, not the data: safe and useful to show.
      const missing =
        error.keyword === 'required' ? (error.params as { missingProperty?: unknown }).missingProperty : undefined;
      const path =
        typeof missing === 'string' ? `${error.instancePath}/${escapePointerToken(missing)}` : error.instancePath;
      return { path, keyword: error.keyword };
    }),
  );
}

/** At most `MAX_VIOLATIONS`, each once (branches of oneOf/anyOf report the same miss once each). */
function distinctViolations(found: readonly ContractViolation[]): ContractViolation[] {
  const violations: ContractViolation[] = [];
  const seen = new Set<string>();
  for (const violation of found) {
    if (violations.length >= MAX_VIOLATIONS) break;
    const key = `${violation.path} ${violation.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    violations.push(violation);
  }
  return violations;
}

export interface ContractEntry {
  resourceCode: string;
  document: object;
  /** Default: the document's `info.version`. */
  version?: string;
  /** The owning department, for errors and metrics. Default: ''. */
  department?: string;
}

export interface ContractSetOptions {
  metrics?: DepartmentMetrics;
}

/** The gateway's contract set: every resource's current contract, replaceable at run time. */
export interface MutableContractSet extends ContractSet {
  /** Compiles and swaps in `document` for `resourceCode` (a newly published version). */
  setContract(
    resourceCode: string,
    document: object,
    version?: string,
    department?: string,
    compileOptions?: CompileOptions,
  ): CompiledContract;
  removeContract(resourceCode: string): void;
  get(resourceCode: string): CompiledContract | undefined;
}

function versionOf(document: object): string {
  const info = (document as { info?: unknown }).info;
  const version = isObject(info) ? info['version'] : undefined;
  return typeof version === 'string' ? version : 'unversioned';
}

export function createContractSet(
  entries: readonly ContractEntry[] = [],
  options: ContractSetOptions = {},
): MutableContractSet {
  const contracts = new Map<string, CompiledContract>();

  function setContract(
    resourceCode: string,
    document: object,
    version?: string,
    department = '',
    compileOptions: CompileOptions = {},
  ): CompiledContract {
    const meta = { resourceCode, version: version ?? versionOf(document), department };
    const compiled = compileContract(document, meta, compileOptions);
    // One assignment: calls in flight keep the version they started with, later ones see the new one.
    contracts.set(resourceCode, compiled);
    return compiled;
  }
  for (const entry of entries) setContract(entry.resourceCode, entry.document, entry.version, entry.department);

  return {
    setContract,
    removeContract: (resourceCode) => void contracts.delete(resourceCode),
    get: (resourceCode) => contracts.get(resourceCode),
    checkResponse(resourceCode, operationId, status, body) {
      const contract = contracts.get(resourceCode);
      if (!contract) {
        options.metrics?.countContractViolation('', resourceCode, operationId);
        throw new DepartmentError('contract_violation', `no published contract for resource ${resourceCode}`, {
          department: '',
          operation: operationId,
          status,
          violations: [{ path: '', keyword: 'resource' }],
        });
      }
      let violations: ContractCheck;
      try {
        violations = contract.check(operationId, status, body);
      } catch (error) {
        options.metrics?.countContractViolation(contract.department, resourceCode, operationId);
        throw error;
      }
      if (violations === null) return contract.version;
      options.metrics?.countContractViolation(contract.department, resourceCode, operationId);
      const summary = violations
        .slice(0, 3)
        .map((violation) => `${violation.path || '/'} (${violation.keyword})`)
        .join(', ');
      throw new DepartmentError(
        'contract_violation',
        `${resourceCode} ${contract.version} ${operationId}: the answer (status ${status}) does not satisfy the contract: ${summary}${violations.length > 3 ? ', …' : ''}`,
        { department: contract.department, operation: operationId, status, violations },
      );
    },
  };
}

// The method-dispatch convention and its publish-time check live in their own small module (the
// contract worker imports it without Ajv); re-exported here with the rest of contract validation.
export * from './method-dispatch.js';
