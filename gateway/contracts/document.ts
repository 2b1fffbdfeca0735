/**
 * Reading a contract's OpenAPI document: JSON or YAML text (or an already parsed object), bounded
 * in size, YAML aliases capped (no "billion laughs"), only local `$ref`s (the gateway never reads
 * files or fetches URLs for a contract), then validated by @readme/openapi-parser as OpenAPI 3.0.x
 * or 3.1.x. Every refusal is a 422 `contract_invalid` listing what is wrong, with JSON pointers.
 */
import { createHash } from 'node:crypto';
import { validate } from '@readme/openapi-parser';
import { parseDocument } from 'yaml';
import { ApiError } from '../platform/errors.js';
import { parseSemver } from './semver.js';

/** The largest document accepted, in bytes of its text. */
export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;
/** YAML aliases allowed in one document; real contracts need few, expansion bombs need many. */
const MAX_YAML_ALIASES = 20;
/** Nesting deeper than this is not a real contract; it would only make the walkers work hard. */
const MAX_NESTING = 200;
/** Validator messages reported at most. */
const MAX_REPORTED_ERRORS = 50;

export interface DocumentProblem {
  path: string;
  message: string;
}

export interface ParsedContractDocument {
  document: Record<string, unknown>;
  /** The text as sent (or, for a parsed object, its JSON), kept with every version. */
  sourceText: string;
  sourceFormat: 'json' | 'yaml';
  sourceSha256: string;
  openapiVersion: string;
  /** `info.version`, a semantic version. */
  version: string;
}

function invalid(detail: string, errors: DocumentProblem[]): ApiError {
  return new ApiError('contract_invalid', detail, { errors: errors.slice(0, MAX_REPORTED_ERRORS) });
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
      throw invalid('The document is not well-formed JSON.', [{ path: '(document)', message: (error as Error).message }]);
    }
  }
  const parsed = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true, merge: false, strict: true, logLevel: 'error' });
  if (parsed.errors.length > 0) {
    throw invalid(
      'The document is not well-formed YAML.',
      parsed.errors.map((error) => ({ path: error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '(document)', message: error.message.split('\n')[0] ?? error.message })),
    );
  }
  try {
    return { value: parsed.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown, format: 'yaml' };
  } catch (error) {
    throw invalid('The YAML document uses too many aliases or cannot become JSON.', [{ path: '(document)', message: (error as Error).message }]);
  }
}

/**
 * Checks the value is plain JSON data of bounded depth without cycles (YAML aliases can build
 * those) and collects every `$ref` that is not local.
 */
function checkStructure(root: unknown): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const onPath = new Set<object>();
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (problems.length >= MAX_REPORTED_ERRORS) return;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) problems.push({ path: pointer || '/', message: 'numbers must be finite' });
      return;
    }
    if (typeof value !== 'object') {
      problems.push({ path: pointer || '/', message: `a ${typeof value} is not JSON data` });
      return;
    }
    if (depth > MAX_NESTING) {
      problems.push({ path: pointer || '/', message: `nested deeper than ${MAX_NESTING} levels` });
      return;
    }
    if (onPath.has(value)) {
      problems.push({ path: pointer || '/', message: 'the document refers to itself (a recursive YAML alias)' });
      return;
    }
    onPath.add(value);
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${pointer}/${index}`, depth + 1));
    } else {
      for (const [key, item] of Object.entries(value)) {
        if ((key === '$ref' || key === '$dynamicRef') && typeof item === 'string' && !item.startsWith('#')) {
          problems.push({ path: `${pointer}/${escapePointerToken(key)}`, message: `only local references (#/…) are allowed, not "${item.slice(0, 200)}"` });
        }
        walk(item, `${pointer}/${escapePointerToken(key)}`, depth + 1);
      }
    }
    onPath.delete(value);
  };
  walk(root, '', 0);
  return problems;
}

/**
 * The JSON pointer of each line of `JSON.stringify(value, null, 2)`. The validator points at its
 * findings with a code frame over exactly that text, so its line numbers map back to pointers.
 */
export function linePointers(value: unknown): string[] {
  const lines: string[] = [];
  const visit = (node: unknown, pointer: string): void => {
    lines.push(pointer);
    if (Array.isArray(node)) {
      if (node.length === 0) return;
      node.forEach((item, index) => visit(item, `${pointer}/${index}`));
      lines.push(pointer);
    } else if (isObject(node)) {
      const entries = Object.entries(node).filter(([, item]) => item !== undefined);
      if (entries.length === 0) return;
      for (const [key, item] of entries) visit(item, `${pointer}/${escapePointerToken(key)}`);
      lines.push(pointer);
    }
  };
  visit(value, '');
  return lines;
}

function validatorProblems(messages: { message: string }[], document: unknown): DocumentProblem[] {
  let pointers: string[] | undefined;
  return messages.map(({ message }) => {
    const [headline = message] = message.split('\n');
    const line = /^>\s*(\d+)\s*\|/m.exec(message)?.[1];
    let path = '(document)';
    if (line !== undefined) {
      pointers ??= linePointers(document);
      path = pointers[Number(line) - 1] || '/';
    }
    return { path, message: headline.trim() };
  });
}

/** Parses, bounds and validates a contract document. Throws `contract_invalid` with the reasons. */
export async function readContractDocument(input: string | Record<string, unknown>): Promise<ParsedContractDocument> {
  let sourceText: string;
  let value: unknown;
  let format: 'json' | 'yaml';
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > MAX_DOCUMENT_BYTES) {
      throw new ApiError('contract_too_large', `The document is larger than ${MAX_DOCUMENT_BYTES} bytes.`);
    }
    sourceText = input;
    ({ value, format } = parseText(input));
  } else {
    const structureProblems = checkStructure(input);
    if (structureProblems.length > 0) throw invalid('The document is not plain JSON data or refers outside itself.', structureProblems);
    sourceText = JSON.stringify(input, null, 2);
    if (Buffer.byteLength(sourceText, 'utf8') > MAX_DOCUMENT_BYTES) {
      throw new ApiError('contract_too_large', `The document is larger than ${MAX_DOCUMENT_BYTES} bytes.`);
    }
    value = input;
    format = 'json';
  }
  if (!isObject(value)) throw invalid('The document is not an OpenAPI document.', [{ path: '/', message: 'the document must be an object' }]);
  const structureProblems = checkStructure(value);
  if (structureProblems.length > 0) throw invalid('The document is not plain JSON data or refers outside itself.', structureProblems);

  const openapiVersion = typeof value.openapi === 'string' ? value.openapi : undefined;
  if (value.swagger !== undefined) {
    throw invalid('Swagger 2.0 documents are not accepted; convert the contract to OpenAPI 3.0 or 3.1.', [{ path: '/swagger', message: 'only OpenAPI 3.0.x and 3.1.x are accepted' }]);
  }
  if (!openapiVersion || !/^3\.[01]\.\d+$/.test(openapiVersion)) {
    throw invalid('Only OpenAPI 3.0.x and 3.1.x documents are accepted.', [
      { path: '/openapi', message: openapiVersion ? `"${openapiVersion.slice(0, 40)}" is not 3.0.x or 3.1.x` : 'the `openapi` field with the version (3.0.x or 3.1.x) is missing' },
    ]);
  }

  const result = await validate(structuredClone(value) as unknown as Parameters<typeof validate>[0], {
    resolve: { external: false, file: false },
    validate: { errors: { colorize: false } },
  });
  if (!result.valid) {
    const problems = validatorProblems(result.errors, value);
    if (result.additionalErrors > 0) problems.push({ path: '(document)', message: `and ${result.additionalErrors} more errors` });
    throw invalid('The document is not valid OpenAPI; see `errors`.', problems);
  }

  const info = value.info as Record<string, unknown>;
  const version = String(info.version);
  if (!parseSemver(version)) {
    throw invalid('The contract version must be a semantic version.', [{ path: '/info/version', message: `"${version.slice(0, 100)}" is not a semantic version such as 1.2.0` }]);
  }
  return {
    document: value,
    sourceText,
    sourceFormat: format,
    sourceSha256: createHash('sha256').update(sourceText, 'utf8').digest('hex'),
    openapiVersion,
    version,
  };
}
