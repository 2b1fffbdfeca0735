/**
 * Reading a contract document: the refusals publication depends on (issue 18's bugs) — a `$ref`
 * loop refused at once rather than blocking every later version, 3.1 Reference Objects with
 * `summary`/`description`, validator pointers behind a `$ref`, linear YAML key checks and limits.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../platform/errors.js';
import { diffContracts } from './diff.js';
import {
  MAX_DOCUMENT_BYTES,
  MAX_DOCUMENT_NODES,
  MAX_KEYS_PER_OBJECT,
  MAX_OPERATIONS,
  readContractDocument,
} from './document.js';

type Obj = Record<string, unknown>;

function documentWith(paths: Obj, components: Obj = {}, openapi = '3.1.0'): Obj {
  return { openapi, info: { title: 'Document tests', version: '1.0.0' }, paths, components };
}

const returning = (schema: unknown): Obj => ({
  get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } } },
});

/** JSON values in `value`: every object, array and scalar, as publication counts them. */
function valuesIn(value: unknown): number {
  let count = 0;
  const stack = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    count += 1;
    if (Array.isArray(item)) stack.push(...item);
    else if (typeof item === 'object' && item !== null) stack.push(...Object.values(item));
  }
  return count;
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An honest contract of about `targetBytes` as JSON: the repository's own contracts (their paths
 * and components, descriptions and examples included) copied side by side under new names until
 * the size is reached, within the operation limit.
 */
function honestDocument(targetBytes: number): Obj {
  const sources = ['amr/amr.enterprise', 'nrb/nrb.real-estate', 'psb/psb.population'].map(
    (name) => parseYaml(readFileSync(new URL(`../../contracts/${name}.openapi.yaml`, import.meta.url), 'utf8')) as Obj,
  );
  const renamed = (value: unknown, suffix: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => renamed(item, suffix));
    if (!isObj(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        // Security schemes are named by requirements, not referenced: they are kept once.
        if (key === '$ref' && typeof item === 'string' && /^#\/components\/(?!securitySchemes)/.test(item))
          return [key, `${item}_${suffix}`];
        if (key === 'operationId' && typeof item === 'string') return [key, `${item}_${suffix}`];
        return [key, renamed(item, suffix)];
      }),
    );
  };
  const nrb = sources[1]!;
  const paths: Obj = {};
  const components: Record<string, Obj> = { securitySchemes: (nrb.components as Obj).securitySchemes as Obj };
  const document: Obj = { ...nrb, paths, components };
  let operations = 0;
  for (let copy = 0; JSON.stringify(document).length < targetBytes; copy += 1) {
    for (const [index, source] of sources.entries()) {
      const suffix = `${copy}x${index}`;
      const copied = renamed({ paths: source.paths, components: source.components }, suffix) as {
        paths: Obj;
        components: Record<string, Obj>;
      };
      const copiedOperations = JSON.stringify(copied.paths).split('"operationId"').length - 1;
      // Past the operation limit, only the components (shared models) are copied.
      if (operations + copiedOperations <= MAX_OPERATIONS) {
        for (const [path, item] of Object.entries(copied.paths)) paths[`/v${suffix}${path}`] = item;
        operations += copiedOperations;
      }
      for (const [section, members] of Object.entries(copied.components)) {
        if (section === 'securitySchemes') continue;
        components[section] ??= {};
        for (const [name, member] of Object.entries(members)) components[section]![`${name}_${suffix}`] = member;
      }
    }
  }
  return document;
}

/** A number the refusal's detail message was given. */
function numberArgument(error: ApiError, name: string): number {
  const detail = error.detail as unknown as { args?: Record<string, unknown> };
  return Number(detail.args?.[name]);
}

async function refusal(input: string | Obj): Promise<ApiError> {
  try {
    await readContractDocument(input);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the document to be refused');
}

describe('readContractDocument', () => {
  it('refuses a pure $ref loop at once, so it cannot block every later version', async () => {
    const looping = documentWith(
      { '/a': returning({ $ref: '#/components/schemas/A' }) },
      {
        schemas: { A: { $ref: '#/components/schemas/B' }, B: { $ref: '#/components/schemas/A' } },
      },
    );
    const error = await refusal(looping);
    expect(error.code).toBe('contract_invalid');
    expect(JSON.stringify(error.extras.errors)).toMatch(/refers back to itself/);
    // A recursive schema (a loop through properties) is fine: it describes a tree.
    const recursive = documentWith(
      { '/tree': returning({ $ref: '#/components/schemas/Node' }) },
      {
        schemas: {
          Node: {
            type: 'object',
            properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } },
          },
        },
      },
    );
    await expect(readContractDocument(recursive)).resolves.toMatchObject({ version: '1.0.0' });
  });

  it('accepts 3.1 Reference Objects with summary and description beside $ref', async () => {
    const document = documentWith(
      {
        '/a': {
          get: {
            parameters: [{ $ref: '#/components/parameters/Q', description: 'here' }],
            responses: { '200': { $ref: '#/components/responses/R', summary: 'S', description: 'D' } },
          },
        },
      },
      {
        parameters: { Q: { name: 'q', in: 'query', schema: { type: 'string' } } },
        responses: {
          R: {
            description: 'r',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/A', description: 'an A' } } },
          },
        },
        schemas: { A: { type: 'string' } },
      },
    );
    const parsed = await readContractDocument(document);
    expect(diffContracts(parsed.document, structuredClone(parsed.document))).toEqual([]);
  });

  it('points at a mistake behind a $ref where it is written, once however often it is used', async () => {
    const paths: Obj = {};
    for (let index = 0; index < 40; index += 1) paths[`/r${index}`] = returning({ $ref: '#/components/schemas/Bad' });
    const error = await refusal(
      documentWith(paths, { schemas: { Bad: { type: 'object', properties: { a: { type: 'strin' } } } } }, '3.0.3'),
    );
    expect(error.extras.errors).toEqual([
      {
        path: '/components/schemas/Bad/properties/a/type',
        message: expect.stringContaining('allowed values'),
        messageZh: expect.stringMatching(/^不符合 OpenAPI 规范：.*allowed values/),
      },
    ]);
  });

  it('points at an inline mistake along its own path', async () => {
    const error = await refusal(
      documentWith({ '/x': returning({ type: 'object', properties: { a: { type: 'strin' } } }) }, {}, '3.0.3'),
    );
    expect(error.extras.errors).toEqual([
      {
        path: '/paths/~1x/get/responses/200/content/application~1json/schema/properties/a/type',
        message: expect.stringContaining('allowed values'),
        messageZh: expect.stringMatching(/^不符合 OpenAPI 规范：/),
      },
    ]);
  });

  it('still refuses duplicate YAML keys, naming the line', async () => {
    const text = ['openapi: 3.1.0', 'info:', '  title: t', '  version: 1.0.0', '  title: again', 'paths: {}', ''].join(
      '\n',
    );
    const error = await refusal(text);
    expect(error.code).toBe('contract_invalid');
    expect(error.extras.errors).toEqual([
      {
        path: 'line 5, column 3',
        message: 'Map keys must be unique: "title"',
        messageZh: '映射中的键不能重复：“title”',
      },
    ]);
  });

  it('refuses a mapping or object with more keys than the limit, and more operations than the limit', async () => {
    const keys = ['openapi: 3.1.0', 'info: {title: t, version: 1.0.0}', 'paths: {}', 'x-many:'];
    for (let index = 0; index <= MAX_KEYS_PER_OBJECT; index += 1) keys.push(`  k${index}: 1`);
    expect(JSON.stringify((await refusal(`${keys.join('\n')}\n`)).extras.errors)).toContain(
      `more than ${MAX_KEYS_PER_OBJECT} keys`,
    );

    const wide: Obj = {};
    for (let index = 0; index <= MAX_KEYS_PER_OBJECT; index += 1) wide[`k${index}`] = 1;
    expect(JSON.stringify((await refusal({ ...documentWith({}), 'x-many': wide })).extras.errors)).toContain(
      `more than ${MAX_KEYS_PER_OBJECT} keys`,
    );

    const paths: Obj = {};
    for (let index = 0; index <= MAX_OPERATIONS; index += 1)
      paths[`/r${index}`] = { get: { responses: { '200': { description: 'ok' } } } };
    const tooMany = await refusal(documentWith(paths));
    expect(tooMany.code).toBe('contract_too_complex');
    expect(tooMany.status).toBe(422);
  });

  it('refuses more JSON values than the limit, saying how many, and accepts a document at the limit', async () => {
    const base = documentWith({ '/a': returning({ type: 'string' }) });
    const filled = (zeros: number): Obj => ({ ...base, 'x-filler': Array.from({ length: zeros }, () => 0) });
    // The filler array is a value too.
    const atLimit = filled(MAX_DOCUMENT_NODES - valuesIn(base) - 1);
    expect(valuesIn(atLimit)).toBe(MAX_DOCUMENT_NODES);
    await expect(readContractDocument(JSON.stringify(atLimit))).resolves.toMatchObject({ version: '1.0.0' });

    const over = await refusal(JSON.stringify(filled(MAX_DOCUMENT_NODES - valuesIn(base))));
    expect(over.code).toBe('contract_too_complex');
    expect(over.status).toBe(422);
    expect(over.detail).toEqual({
      key: 'contract.too_many_nodes',
      args: { nodes: MAX_DOCUMENT_NODES + 1, maxNodes: MAX_DOCUMENT_NODES },
    });
    expect(over.extras.errors).toEqual([
      {
        path: '(document)',
        message: `${MAX_DOCUMENT_NODES + 1} JSON values, more than ${MAX_DOCUMENT_NODES}`,
        messageZh: `共 ${MAX_DOCUMENT_NODES + 1} 个 JSON 值，超过上限 ${MAX_DOCUMENT_NODES}`,
      },
    ]);

    // 600,000 empty objects fit in 1.8 MB of text: under the size limit, far over the value limit.
    const empties = `${JSON.stringify(base).slice(0, -1)},"x-filler":[${Array.from({ length: 600_000 }, () => '{}').join(',')}]}`;
    expect(Buffer.byteLength(empties)).toBeLessThan(MAX_DOCUMENT_BYTES);
    expect((await refusal(empties)).detail).toMatchObject({ args: { nodes: valuesIn(base) + 1 + 600_000 } });
    // The same as an object (a publish request's `document`).
    const asObject = { ...base, 'x-filler': Array.from({ length: 300_000 }, () => ({})) };
    expect((await refusal(asObject)).code).toBe('contract_too_large');
  });

  it('counts values behind YAML aliases once per place, and bounds the JSON they expand to', async () => {
    const head = ['openapi: 3.1.0', 'info: {title: t, version: 1.0.0}', 'paths: {}'];
    const withAliases = (anchored: string, aliases: number) =>
      `${[...head, `x-base: &a ${anchored}`, 'x-copies:', ...Array.from({ length: aliases }, () => '  - *a')].join('\n')}\n`;
    // 0.3 MB: 100,000 empty objects, then 19 aliases of them (the most the reader allows): 2,000,000 values.
    const bomb = withAliases(`[${Array.from({ length: 100_000 }, () => '{}').join(',')}]`, 19);
    expect(Buffer.byteLength(bomb)).toBeLessThan(400_000);
    const manyValues = await refusal(bomb);
    expect(manyValues.code).toBe('contract_too_complex');
    expect(manyValues.detail).toMatchObject({ key: 'contract.too_many_nodes' });
    expect(numberArgument(manyValues, 'nodes')).toBeGreaterThan(2_000_000);

    // Few values but long strings: 0.2 MB of YAML that is 4 MB of JSON once its aliases are expanded.
    const long = withAliases(
      `[${Array.from({ length: 1_000 }, (_, index) => `"${String(index).padEnd(200, '.')}"`).join(',')}]`,
      19,
    );
    expect(Buffer.byteLength(long)).toBeLessThan(MAX_DOCUMENT_BYTES / 8);
    const large = await refusal(long);
    expect(large.code).toBe('contract_too_large');
    expect(large.status).toBe(413);
    expect(large.detail).toMatchObject({ key: 'contract.too_large_as_json', args: { maxBytes: MAX_DOCUMENT_BYTES } });
    expect(numberArgument(large, 'bytes')).toBeGreaterThan(4_000_000);
  });

  it('accepts an honest 2 MiB contract: real contracts hold about one value per 20 bytes', {
    timeout: 60_000,
  }, async () => {
    const document = honestDocument(MAX_DOCUMENT_BYTES - 100_000);
    const text = JSON.stringify(document);
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_DOCUMENT_BYTES - 100_000);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);
    // Under the value limit with room to spare.
    expect(valuesIn(document)).toBeLessThan(MAX_DOCUMENT_NODES * 0.9);
    await expect(readContractDocument(text)).resolves.toMatchObject({ version: '2.0.0' });
  });

  it('parses a mapping of many keys in time linear in the keys', async () => {
    // Work, not wall time: the duplicate check visits each key once (the parser's own check
    // compared every key with every earlier one). 19,000 keys parse and validate.
    const lines = [
      'openapi: 3.1.0',
      'info: {title: t, version: 1.0.0}',
      'components: {schemas: {A: {type: string}}}',
      'x-many:',
    ];
    for (let index = 0; index < MAX_KEYS_PER_OBJECT - 1_000; index += 1) lines.push(`  k${index}: 1`);
    const parsed = await readContractDocument(`${lines.join('\n')}\n`);
    expect(Object.keys(parsed.document['x-many'] as Obj)).toHaveLength(MAX_KEYS_PER_OBJECT - 1_000);
  });

  it('refuses single-URL method-dispatch operations that break the convention, and accepts those that keep it', async () => {
    const operation = (operationId: string): Obj => ({
      post: { operationId, responses: { '200': { description: 'ok' } } },
    });
    await expect(
      readContractDocument(
        documentWith({ '/gateway#method=mca.a': operation('mca.a'), '/gateway#method=mca.b': operation('mca.b') }),
      ),
    ).resolves.toMatchObject({ version: '1.0.0' });
    const error = await refusal(documentWith({ '/gateway#method=mca.a': operation('getA') }));
    expect(error.code).toBe('contract_invalid');
    expect(error.extras).toMatchObject({
      errors: [{ path: '/paths/~1gateway#method=mca.a/post/operationId', message: expect.stringMatching(/mca\.a/) }],
    });
  });
});
