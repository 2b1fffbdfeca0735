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
import type { DepartmentMetrics } from './metrics.js';

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

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A JSON pointer as a URI fragment (Ajv percent-decodes it before reading the pointer). */
function fragmentOf(tokens: readonly string[]): string {
  return tokens.map((token) => encodeURIComponent(escapePointerToken(token))).join('/');
}

function resolveLocalPointer(document: JsonObject, ref: string): { value: unknown; tokens: string[] } {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported (${ref})`);
  const tokens = ref
    .slice(2)
    .split('/')
    .map((token) => decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~'));
  let value: unknown = document;
  for (const token of tokens) {
    if (!isObject(value) && !Array.isArray(value)) throw new Error(`reference ${ref} does not resolve`);
    value = (value as JsonObject)[token];
  }
  if (value === undefined) throw new Error(`reference ${ref} does not resolve`);
  return { value, tokens };
}

/** Follows `$ref`s of non-schema objects (path items, responses), keeping where they led. */
function follow(document: JsonObject, value: unknown, tokens: string[]): { value: unknown; tokens: string[] } {
  let current = { value, tokens };
  for (let hops = 0; hops < 16 && isObject(current.value) && typeof current.value['$ref'] === 'string'; hops++) {
    current = resolveLocalPointer(document, current.value['$ref']);
  }
  return current;
}

/**
 * Rewrites OpenAPI 3.0 schema dialect into what draft-07 Ajv understands, on a copy: `nullable`
 * becomes a `null` type (and a `null` enum member), boolean `exclusiveMinimum`/`exclusiveMaximum`
 * become the numeric form. Walks the whole document; the rewrite only touches shapes that only
 * schemas have.
 */
function rewriteOpenApi30(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteOpenApi30);
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) result[key] = rewriteOpenApi30(child);
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

const INT32 = 2 ** 31;

function newAjv(dialect: '3.0' | '3.1'): Ajv {
  const options = {
    // Contracts carry annotations Ajv does not know (x-*, xml, example, discriminator): ignore them.
    strict: false,
    allErrors: true,
    validateSchema: false,
    logger: false as const,
  };
  const ajv = dialect === '3.1' ? new Ajv2020(options) : new Ajv(options);
  formatsPlugin(ajv);
  // OpenAPI's own formats.
  ajv.addFormat('int32', {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value >= -INT32 && value < INT32,
  });
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isInteger(value) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('binary', true);
  ajv.addFormat('password', true);
  return ajv;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:;|$)/i;

interface OperationEntry {
  tokens: string[];
  responses: JsonObject;
  responsesTokens: string[];
}

let contractCounter = 0;

/** Compiles a contract document; throws a plain Error when it is not an OpenAPI 3.0/3.1 document. */
export function compileContract(document: object, meta: ContractMeta): CompiledContract {
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
  const source = (dialect === '3.0' ? rewriteOpenApi30(document) : structuredClone(document)) as JsonObject;
  contractCounter += 1;
  const key = `urn:onewindow:contract:${contractCounter}`;
  // The document's own `$id` (rare at the top of an OpenAPI document) would override the key.
  delete source['$id'];
  delete source['$schema'];
  const ajv = newAjv(dialect);
  ajv.addSchema(source, key);

  const operations = new Map<string, OperationEntry>();
  const paths = isObject(source['paths']) ? source['paths'] : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = follow(source, rawItem, ['paths', path]);
    if (!isObject(item.value)) continue;
    for (const [method, operation] of Object.entries(item.value)) {
      if (!isObject(operation) || typeof operation['operationId'] !== 'string') continue;
      const tokens = [...item.tokens, method];
      const responses = isObject(operation['responses']) ? operation['responses'] : {};
      operations.set(operation['operationId'], { tokens, responses, responsesTokens: [...tokens, 'responses'] });
    }
  }

  /** Per `operationId status`: the validator, or null when the answer has no schema to meet. */
  const validators = new Map<string, ValidateFunction | null>();

  function responseKeyFor(entry: OperationEntry, status: number): string | undefined {
    const exact = String(status);
    if (exact in entry.responses) return exact;
    const range = `${Math.floor(status / 100)}XX`;
    for (const candidate of Object.keys(entry.responses)) if (candidate.toUpperCase() === range) return candidate;
    return 'default' in entry.responses ? 'default' : undefined;
  }

  function validatorFor(operationId: string, entry: OperationEntry, status: number): ValidateFunction | null {
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
    let validator: ValidateFunction | null = null;
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
        const pointer = fragmentOf([...response.tokens, 'content', chosen, 'schema']);
        try {
          validator = ajv.compile({ $ref: `${key}#/${pointer}` });
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
      if (validate === null || validate(body)) return null;
      return violationsOf(validate.errors ?? []);
    },
  };
}

function violationsOf(errors: readonly ErrorObject[]): ContractViolation[] {
  const violations: ContractViolation[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (violations.length >= MAX_VIOLATIONS) break;
    // A missing property's NAME comes from the schema, not the data: safe and useful to show.
    const missing =
      error.keyword === 'required' ? (error.params as { missingProperty?: unknown }).missingProperty : undefined;
    const path =
      typeof missing === 'string' ? `${error.instancePath}/${escapePointerToken(missing)}` : error.instancePath;
    // Branches of oneOf/anyOf report the same miss once each: list it once.
    const key = `${path} ${error.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    violations.push({ path, keyword: error.keyword });
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
  setContract(resourceCode: string, document: object, version?: string, department?: string): CompiledContract;
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

  function setContract(resourceCode: string, document: object, version?: string, department = ''): CompiledContract {
    const compiled = compileContract(document, { resourceCode, version: version ?? versionOf(document), department });
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
