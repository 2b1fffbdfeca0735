/**
 * Reading a contract's OpenAPI document: JSON or YAML text (or an already parsed object), bounded
 * in size, YAML aliases capped (no "billion laughs"), only local `$ref`s (the gateway never reads
 * files or fetches URLs for a contract), then validated by @readme/openapi-parser as OpenAPI 3.0.x
 * or 3.1.x. Every refusal is a 422 `contract_invalid` listing what is wrong, with JSON pointers.
 */
import { createHash } from 'node:crypto';
import { dereference, validate } from '@readme/openapi-parser';
import { isMap, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { methodDispatchProblems } from '../../adapters/sdk/method-dispatch.js';
import { HTTP_METHODS } from '../../adapters/sdk/schema-pointers.js';
import { checkCostProblems } from './check-cost.js';
import { ApiError, type Message, message } from '../platform/errors.js';
import { type FieldProblem, fieldProblem } from '../platform/field-problems.js';
import { ContractDiff, ContractDiffError } from './diff.js';
import { parseSemver } from './semver.js';

/**
 * The largest document accepted, in bytes: of its text as sent, and of its JSON (YAML aliases
 * expanded, numbers written out) — the form the gateway stores, diffs and loads.
 */
export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;
/**
 * JSON values in one document, aliases expanded: every object, array and scalar (an object's
 * members counted by their values). Loading a published document for the run-time checks parses
 * it on the event loop, and parsing costs per value, not per byte: 600,000 empty objects fit in
 * 1.8 MB and held the loop 0.4 s. At this many the worst shapes parse in tens of milliseconds
 * (docs/contract-gate.md); real contracts have one value per ~25 bytes, so 2 MiB of them ~85,000.
 */
export const MAX_DOCUMENT_NODES = 120_000;
/** YAML aliases allowed in one document; real contracts need few, expansion bombs need many. */
const MAX_YAML_ALIASES = 20;
/** Nesting deeper than this is not a real contract; it would only make the walkers work hard. */
const MAX_NESTING = 200;
/** Validator messages reported at most. */
const MAX_REPORTED_ERRORS = 50;
/**
 * Operations (path × method) in one document. Real department contracts have tens; the validator's
 * work grows faster than linearly with operations sharing one invalid schema, so a cap keeps it short.
 */
export const MAX_OPERATIONS = 1_000;
/** Keys in one mapping (object). A real schema has tens of properties; this is far above any. */
export const MAX_KEYS_PER_OBJECT = 20_000;

/** A problem of the document: where (a JSON pointer, a line, `(document)`) and what, in both languages. */
export type DocumentProblem = FieldProblem;

export interface ParsedContractDocument {
  document: Record<string, unknown>;
  /** The document as compact JSON (aliases expanded): what is stored, diffed and loaded. */
  documentJson: string;
  /** The text as sent (or, for a parsed object, its JSON), kept with every version. */
  sourceText: string;
  sourceFormat: 'json' | 'yaml';
  sourceSha256: string;
  openapiVersion: string;
  /** `info.version`, a semantic version. */
  version: string;
}

function invalid(detail: Message, errors: DocumentProblem[]): ApiError {
  // One mistake in a shared schema is found once per use; it is one problem.
  const distinct = new Map(errors.map((problem) => [`${problem.path}\u0000${problem.message}`, problem]));
  return new ApiError('contract_invalid', detail, { errors: [...distinct.values()].slice(0, MAX_REPORTED_ERRORS) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Text → value, as JSON when it looks like JSON, otherwise as YAML (1.2 core schema, unique keys). */
function parseText(text: string): { value: unknown; format: 'json' | 'yaml' } {
  if (/^\s*[{[]/.test(text)) {
    try {
      return { value: JSON.parse(text) as unknown, format: 'json' };
    } catch (error) {
      const reason = (error as Error).message;
      throw invalid(message('contract.not_json'), [fieldProblem('(document)', reason, `JSON 解析出错：${reason}`)]);
    }
  }
  // Duplicate keys are found below with one set per mapping: the parser's own check compares each
  // key with every earlier one, quadratic in the keys of a mapping (40,000 keys took over a minute).
  const lineCounter = new LineCounter();
  const parsed = parseDocument(text, {
    schema: 'core',
    uniqueKeys: false,
    prettyErrors: true,
    merge: false,
    strict: true,
    logLevel: 'error',
    lineCounter,
  });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return '(document)';
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  if (parsed.errors.length > 0) {
    throw invalid(
      message('contract.not_yaml'),
      parsed.errors.map((error) => {
        const reason = error.message.split('\n')[0] ?? error.message;
        return fieldProblem(at(error.pos[0]), reason, `YAML 解析出错：${reason}`);
      }),
    );
  }
  const duplicates: DocumentProblem[] = [];
  visit(parsed, {
    Map(_, map) {
      if (!isMap(map)) return;
      if (map.items.length > MAX_KEYS_PER_OBJECT) {
        duplicates.push(
          fieldProblem(
            at(map.range?.[0]),
            `a mapping with more than ${MAX_KEYS_PER_OBJECT} keys`,
            `一个映射中的键超过 ${MAX_KEYS_PER_OBJECT} 个`,
          ),
        );
        return visit.BREAK;
      }
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (seen.has(key))
          duplicates.push(
            fieldProblem(
              at(isScalar(pair.key) ? pair.key.range?.[0] : undefined),
              `Map keys must be unique: "${key.slice(0, 100)}"`,
              `映射中的键不能重复：“${key.slice(0, 100)}”`,
            ),
          );
        seen.add(key);
        if (duplicates.length >= MAX_REPORTED_ERRORS) return visit.BREAK;
      }
      return undefined;
    },
  });
  if (duplicates.length > 0) throw invalid(message('contract.not_yaml'), duplicates);
  try {
    return { value: parsed.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown, format: 'yaml' };
  } catch (error) {
    const reason = (error as Error).message;
    throw invalid(message('contract.yaml_aliases'), [
      fieldProblem('(document)', reason, `YAML 别名展开出错：${reason}`),
    ]);
  }
}

/**
 * Checks the value is plain JSON data of bounded depth without cycles (YAML aliases can build
 * those), collects every `$ref` that is not local and counts the values (a value reached through
 * several aliases once per place).
 */
function checkStructure(root: unknown): { problems: DocumentProblem[]; nodes: number } {
  const problems: DocumentProblem[] = [];
  const onPath = new Set<object>();
  let nodes = 0;
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (problems.length >= MAX_REPORTED_ERRORS) return;
    nodes += 1;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value))
        problems.push(fieldProblem(pointer || '/', 'numbers must be finite', '数值必须是有限数'));
      return;
    }
    if (typeof value !== 'object') {
      problems.push(
        fieldProblem(pointer || '/', `a ${typeof value} is not JSON data`, `${typeof value} 类型的值不是 JSON 数据`),
      );
      return;
    }
    if (depth > MAX_NESTING) {
      problems.push(
        fieldProblem(pointer || '/', `nested deeper than ${MAX_NESTING} levels`, `嵌套超过 ${MAX_NESTING} 层`),
      );
      return;
    }
    if (onPath.has(value)) {
      problems.push(
        fieldProblem(
          pointer || '/',
          'the document refers to itself (a recursive YAML alias)',
          '文档引用了它自身（递归的 YAML 别名）',
        ),
      );
      return;
    }
    onPath.add(value);
    if (!Array.isArray(value) && Object.keys(value).length > MAX_KEYS_PER_OBJECT) {
      problems.push(
        fieldProblem(
          pointer || '/',
          `an object with more than ${MAX_KEYS_PER_OBJECT} keys`,
          `一个对象中的键超过 ${MAX_KEYS_PER_OBJECT} 个`,
        ),
      );
      onPath.delete(value);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${pointer}/${index}`, depth + 1));
    } else {
      for (const [key, item] of Object.entries(value)) {
        if ((key === '$ref' || key === '$dynamicRef') && typeof item === 'string' && !item.startsWith('#')) {
          problems.push(
            fieldProblem(
              `${pointer}/${escapePointerToken(key)}`,
              `only local references (#/…) are allowed, not "${item.slice(0, 200)}"`,
              `只允许本地引用（#/…），不能引用“${item.slice(0, 200)}”`,
            ),
          );
        }
        walk(item, `${pointer}/${escapePointerToken(key)}`, depth + 1);
      }
    }
    onPath.delete(value);
  };
  walk(root, '', 0);
  return { problems, nodes };
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

/** The local `$ref`'s target pointer, normalised (tokens decoded and escaped again), or undefined. */
function refTargetPointer(ref: string): string | undefined {
  if (!ref.startsWith('#')) return undefined;
  const fragment = ref.slice(1);
  if (fragment === '') return '';
  if (!fragment.startsWith('/')) return undefined;
  return fragment
    .slice(1)
    .split('/')
    .map((token) => `/${escapePointerToken(decodePointerToken(token))}`)
    .join('');
}

function resolvePointer(root: unknown, pointer: string): unknown {
  let current: unknown = root;
  for (const token of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const name = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current) && /^\d+$/.test(name)) current = current[Number(name)];
    else if (isObject(current) && Object.hasOwn(current, name)) current = current[name];
    else return undefined;
  }
  return current;
}

/**
 * The JSON pointer of each line of `JSON.stringify(shown, null, 2)`, where `shown` is what the
 * validator checked: `original` with its `$ref`s replaced by their targets. The validator points at
 * its findings with a code frame over that text, so its line numbers map back to pointers. A line
 * reached through a `$ref` is named where it is written in `original` (`/components/schemas/…`),
 * not along the route the validator took, so one mistake in a shared schema has one pointer.
 */
export function linePointers(shown: unknown, original: unknown = shown): string[] {
  const lines: string[] = [];
  const visit = (node: unknown, pointer: string, source: unknown, hops: number): void => {
    // Follow the original's reference to where the shown content is really written.
    let writtenAt = pointer;
    let written = source;
    let siblings: Record<string, unknown> = {};
    const siblingsPointer = pointer;
    while (
      hops < 64 &&
      isObject(written) &&
      typeof written.$ref === 'string' &&
      !(isObject(node) && typeof node.$ref === 'string')
    ) {
      const target = refTargetPointer(written.$ref);
      if (target === undefined) break;
      siblings = { ...written, ...siblings };
      writtenAt = target;
      written = resolvePointer(original, target);
      hops += 1;
    }
    lines.push(writtenAt);
    const childOf = (key: string | number): [string, unknown] => {
      const token = escapePointerToken(String(key));
      if (typeof key === 'string' && key !== '$ref' && Object.hasOwn(siblings, key)) {
        return [`${siblingsPointer}/${token}`, siblings[key]];
      }
      const from = Array.isArray(written) ? written[Number(key)] : isObject(written) ? written[String(key)] : undefined;
      return [`${writtenAt}/${token}`, from];
    };
    if (Array.isArray(node)) {
      if (node.length === 0) return;
      node.forEach((item, index) => {
        const [childPointer, childSource] = childOf(index);
        visit(item, childPointer, childSource, hops);
      });
      lines.push(writtenAt);
    } else if (isObject(node)) {
      const entries = Object.entries(node).filter(([, item]) => item !== undefined);
      if (entries.length === 0) return;
      for (const [key, item] of entries) {
        const [childPointer, childSource] = childOf(key);
        visit(item, childPointer, childSource, hops);
      }
      lines.push(writtenAt);
    }
  };
  visit(shown, '', original, 0);
  return lines;
}

const CODE_FRAME_LINE = /^>\s*(\d+)\s*\|/m;

/** The copy as the validator checked it: `$ref`s replaced by their targets, circular ones left. */
/**
 * A chain of hundreds of `$ref`s (each schema an `anyOf` of the next) exhausts the validator's
 * dereference depth or the stack of a walk: refused as too complex, not a server error.
 */
function refuseDeepNesting(error: unknown): never {
  const deep =
    error instanceof RangeError || (error instanceof Error && /dereference depth|call stack/i.test(error.message));
  if (!deep) throw error;
  throw new ApiError('contract_too_complex', message('contract.check_cost'), {
    errors: [
      fieldProblem(
        '(document)',
        `its references nest too deeply to check (${error.message.slice(0, 120)}): flatten the chain`,
        `引用嵌套过深，无法检查（${error.message.slice(0, 120)}）：请减少引用链的层数`,
      ),
    ],
  });
}

async function dereferencedAsValidated(copy: Record<string, unknown>): Promise<unknown> {
  return dereference(copy as unknown as Parameters<typeof dereference>[0], {
    resolve: { external: false, file: false },
    dereference: { circular: 'ignore' },
  });
}

async function validatorProblems(
  messages: { message: string }[],
  shown: () => Promise<unknown>,
  original: unknown,
): Promise<DocumentProblem[]> {
  let pointers: string[] | undefined;
  if (messages.some(({ message }) => CODE_FRAME_LINE.test(message))) pointers = linePointers(await shown(), original);
  return messages.map(({ message }) => {
    const [headline = message] = message.split('\n');
    const line = CODE_FRAME_LINE.exec(message)?.[1];
    let path = '(document)';
    if (line !== undefined && pointers) path = pointers[Number(line) - 1] || '/';
    return fieldProblem(path, headline.trim(), `不符合 OpenAPI 规范：${headline.trim()}`);
  });
}

/** How many operations the document declares (path items' methods, `$ref`'d path items included). */
function countOperations(document: Record<string, unknown>): number {
  let operations = 0;
  const containers = [document.paths, document.webhooks];
  for (const container of containers) {
    if (!isObject(container)) continue;
    for (const raw of Object.values(container)) {
      const item =
        isObject(raw) && typeof raw.$ref === 'string'
          ? resolvePointer(document, refTargetPointer(raw.$ref) ?? '#')
          : raw;
      if (!isObject(item)) continue;
      for (const method of HTTP_METHODS) if (isObject(item[method])) operations += 1;
    }
  }
  return operations;
}

/**
 * The copy the validator sees. OpenAPI 3.1 lets a Reference Object carry `summary` and
 * `description` beside `$ref` (they override the target's); the validator's schema refuses them
 * outside schemas, so they are dropped from its copy. They are documentation only.
 */
function forValidator(document: Record<string, unknown>, openapiVersion: string): Record<string, unknown> {
  const copy = structuredClone(document);
  if (!openapiVersion.startsWith('3.1')) return copy;
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (isObject(value)) {
      if (typeof value.$ref === 'string') {
        delete value.summary;
        if (typeof value.description === 'string') delete value.description;
      }
      for (const item of Object.values(value)) stack.push(item);
    }
  }
  return copy;
}

/** Parses, bounds and validates a contract document. Throws `contract_invalid` with the reasons. */
export async function readContractDocument(input: string | Record<string, unknown>): Promise<ParsedContractDocument> {
  let sourceText: string;
  let value: unknown;
  let format: 'json' | 'yaml';
  let structure: ReturnType<typeof checkStructure> | undefined;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > MAX_DOCUMENT_BYTES) {
      throw new ApiError('contract_too_large', message('contract.too_large', { maxBytes: MAX_DOCUMENT_BYTES }));
    }
    sourceText = input;
    ({ value, format } = parseText(input));
  } else {
    // Before anything stringifies it: a cycle or a BigInt is not JSON data.
    structure = checkStructure(input);
    if (structure.problems.length > 0) throw invalid(message('contract.not_self_contained'), structure.problems);
    sourceText = JSON.stringify(input, null, 2);
    if (Buffer.byteLength(sourceText, 'utf8') > MAX_DOCUMENT_BYTES) {
      throw new ApiError('contract_too_large', message('contract.too_large', { maxBytes: MAX_DOCUMENT_BYTES }));
    }
    value = input;
    format = 'json';
  }
  if (!isObject(value))
    throw invalid(message('contract.not_openapi'), [
      fieldProblem('/', 'the document must be an object', '文档必须是一个对象'),
    ]);
  structure ??= checkStructure(value);
  if (structure.problems.length > 0) throw invalid(message('contract.not_self_contained'), structure.problems);
  // What the event loop handles later is the parsed document, so its size is bounded as well as the text's.
  if (structure.nodes > MAX_DOCUMENT_NODES) {
    throw new ApiError(
      'contract_too_complex',
      message('contract.too_many_nodes', { nodes: structure.nodes, maxNodes: MAX_DOCUMENT_NODES }),
      {
        errors: [
          fieldProblem(
            '(document)',
            `${structure.nodes} JSON values, more than ${MAX_DOCUMENT_NODES}`,
            `共 ${structure.nodes} 个 JSON 值，超过上限 ${MAX_DOCUMENT_NODES}`,
          ),
        ],
      },
    );
  }
  const documentJson = JSON.stringify(value);
  const jsonBytes = Buffer.byteLength(documentJson, 'utf8');
  if (jsonBytes > MAX_DOCUMENT_BYTES) {
    throw new ApiError(
      'contract_too_large',
      message('contract.too_large_as_json', { bytes: jsonBytes, maxBytes: MAX_DOCUMENT_BYTES }),
      {
        errors: [
          fieldProblem(
            '(document)',
            `${jsonBytes} bytes as JSON, more than ${MAX_DOCUMENT_BYTES}`,
            `转成 JSON 后共 ${jsonBytes} 字节，超过上限 ${MAX_DOCUMENT_BYTES}`,
          ),
        ],
      },
    );
  }

  const openapiVersion = typeof value.openapi === 'string' ? value.openapi : undefined;
  if (value.swagger !== undefined) {
    throw invalid(message('contract.swagger2'), [
      fieldProblem('/swagger', 'only OpenAPI 3.0.x and 3.1.x are accepted', '只接受 OpenAPI 3.0.x 和 3.1.x'),
    ]);
  }
  if (!openapiVersion || !/^3\.[01]\.\d+$/.test(openapiVersion)) {
    throw invalid(message('contract.openapi_version'), [
      openapiVersion
        ? fieldProblem(
            '/openapi',
            `"${openapiVersion.slice(0, 40)}" is not 3.0.x or 3.1.x`,
            `“${openapiVersion.slice(0, 40)}”不是 3.0.x 或 3.1.x`,
          )
        : fieldProblem(
            '/openapi',
            'the `openapi` field with the version (3.0.x or 3.1.x) is missing',
            '缺少注明版本（3.0.x 或 3.1.x）的 `openapi` 字段',
          ),
    ]);
  }

  const operations = countOperations(value);
  if (operations > MAX_OPERATIONS) {
    throw new ApiError(
      'contract_too_complex',
      message('contract.too_many_operations', { operations, maxOperations: MAX_OPERATIONS }),
      {
        errors: [
          fieldProblem(
            '/paths',
            `${operations} operations, more than ${MAX_OPERATIONS}`,
            `共 ${operations} 个操作，超过上限 ${MAX_OPERATIONS}`,
          ),
        ],
      },
    );
  }

  const validatorCopy = forValidator(value, openapiVersion);
  const result = await validate(validatorCopy as unknown as Parameters<typeof validate>[0], {
    resolve: { external: false, file: false },
    validate: { errors: { colorize: false } },
  }).catch(refuseDeepNesting);
  if (!result.valid) {
    // The validator reports against its dereferenced copy; rebuild that only when a message needs it.
    const shown = () => dereferencedAsValidated(forValidator(value, openapiVersion));
    const problems = await validatorProblems(result.errors, shown, value);
    if (result.additionalErrors > 0)
      problems.push(
        fieldProblem(
          '(document)',
          `and ${result.additionalErrors} more errors`,
          `另有 ${result.additionalErrors} 处错误未列出`,
        ),
      );
    throw invalid(message('contract.not_valid_openapi'), problems);
  }
  const dispatchProblems = methodDispatchProblems(value);
  if (dispatchProblems.length > 0) throw invalid(message('contract.method_dispatch'), dispatchProblems);
  let costProblems: ReturnType<typeof checkCostProblems>;
  try {
    costProblems = checkCostProblems(value);
  } catch (error) {
    refuseDeepNesting(error);
  }
  if (costProblems.length > 0)
    throw new ApiError('contract_too_complex', message('contract.check_cost'), { errors: costProblems });
  try {
    // The check every later version's publication makes: a document the diff cannot read (a `$ref`
    // that loops without reaching a schema) would be accepted now and then block every successor.
    new ContractDiff(value, value).run();
  } catch (error) {
    if (!(error instanceof ContractDiffError)) refuseDeepNesting(error);
    const reason = error.message.replace(/^The previous document's/, "The document's");
    throw invalid(message('contract.not_comparable'), [
      fieldProblem('(document)', reason, `文档无法用于比较版本：${reason}`),
    ]);
  }

  const info = value.info as Record<string, unknown>;
  const version = String(info.version);
  if (!parseSemver(version)) {
    throw invalid(message('contract.version_not_semver'), [
      fieldProblem(
        '/info/version',
        `"${version.slice(0, 100)}" is not a semantic version such as 1.2.0`,
        `“${version.slice(0, 100)}”不是语义化版本号（如 1.2.0）`,
      ),
    ]);
  }
  return {
    document: value,
    documentJson,
    sourceText,
    sourceFormat: format,
    sourceSha256: createHash('sha256').update(sourceText, 'utf8').digest('hex'),
    openapiVersion,
    version,
  };
}
