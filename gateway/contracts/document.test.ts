/**
 * Reading a contract document: the refusals publication depends on (issue 18's bugs) — a `$ref`
 * loop refused at once rather than blocking every later version, 3.1 Reference Objects with
 * `summary`/`description`, validator pointers behind a `$ref`, linear YAML key checks and limits.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../platform/errors.js';
import { diffContracts } from './diff.js';
import { MAX_KEYS_PER_OBJECT, MAX_OPERATIONS, readContractDocument } from './document.js';

type Obj = Record<string, unknown>;

function documentWith(paths: Obj, components: Obj = {}, openapi = '3.1.0'): Obj {
  return { openapi, info: { title: 'Document tests', version: '1.0.0' }, paths, components };
}

const returning = (schema: unknown): Obj => ({
  get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } } },
});

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
      { path: '/components/schemas/Bad/properties/a/type', message: expect.stringContaining('allowed values') },
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
      },
    ]);
  });

  it('still refuses duplicate YAML keys, naming the line', async () => {
    const text = ['openapi: 3.1.0', 'info:', '  title: t', '  version: 1.0.0', '  title: again', 'paths: {}', ''].join(
      '\n',
    );
    const error = await refusal(text);
    expect(error.code).toBe('contract_invalid');
    expect(error.extras.errors).toEqual([{ path: 'line 5, column 3', message: 'Map keys must be unique: "title"' }]);
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
