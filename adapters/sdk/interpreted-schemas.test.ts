import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileContract } from './contract-validation.js';
import { DepartmentError } from './errors.js';
import { MAX_COMPILED_SCHEMA_NODES, schemaNodeCount } from './interpreted-schemas.js';

type Json = Record<string, unknown>;

/** A contract whose one operation answers 200 with `schema`; `schemas` become components. */
function contractWith(openapi: '3.0.3' | '3.1.0', schema: unknown, schemas: Json = {}): Json {
  return {
    openapi,
    info: { title: 'Differential', version: '1.0.0' },
    paths: {
      '/thing': {
        get: {
          operationId: 'getThing',
          responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } },
        },
      },
    },
    components: { schemas },
  };
}

const meta = { department: 'TEST', resourceCode: 'test.thing', version: '1.0.0' };

/**
 * The interpreter stops at its first violation (gathering all costs schema size × answer size);
 * the compiled check reports all of a small answer's. Same findings: the same verdict, and what
 * the interpreter reports is among what the compiled check reports.
 */
function expectSameFindings(found: { compiled: string[] | null; interpreted: string[] | null }, label: string) {
  if (found.compiled === null) {
    expect(found.interpreted, label).toBeNull();
    return;
  }
  expect(found.interpreted, label).not.toBeNull();
  expect(found.interpreted!.length, label).toBeGreaterThan(0);
  expect(found.compiled, label).toEqual(expect.arrayContaining(found.interpreted!));
}

/** The same answer checked by Ajv's compiled code and by the interpreter. */
function bothWays(document: Json, answer: unknown) {
  const compiled = compileContract(document, meta).check('getThing', 200, answer);
  const interpreted = compileContract(document, meta, { maxCompiledSchemaNodes: 0 }).check('getThing', 200, answer);
  const sorted = (found: typeof compiled) =>
    found === null ? null : found.map((violation) => `${violation.path} ${violation.keyword}`).sort();
  return { compiled: sorted(compiled), interpreted: sorted(interpreted) };
}

const person = {
  type: 'object',
  required: ['name', 'idNumber'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 20 },
    idNumber: { type: 'string', pattern: '^[0-9]{17}[0-9X]$' },
    born: { type: 'string', format: 'date' },
    sex: { enum: ['1', '2'] },
    'a/b~c': { type: 'integer', minimum: 0 },
    'with space#': { type: 'boolean' },
    spouse: { $ref: '#/components/schemas/Person' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 2, uniqueItems: true },
  },
};

const cases31: Array<[string, unknown, Json, unknown[]]> = [
  [
    'object keywords, formats, escaping and a recursive $ref',
    { $ref: '#/components/schemas/Person' },
    { Person: person },
    [
      { name: '张三', idNumber: '11010119900307777X' },
      { name: '', idNumber: 'x', born: '2019-02-30', sex: '3', extra: 1, other: 2 },
      { 'a/b~c': -1, 'with space#': 'no', tags: ['a', 'a', 'b'] },
      { name: '李四', idNumber: '11010119900307777X', spouse: { name: 5 } },
      'not an object',
      null,
    ],
  ],
  [
    'anyOf, oneOf and not',
    {
      type: 'object',
      properties: {
        either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
        exactly: { oneOf: [{ type: 'number' }, { type: 'integer' }] },
        never: { not: { type: 'null' } },
      },
    },
    {},
    [
      { either: true, exactly: 3, never: null },
      { either: 'x', exactly: 1.5, never: 1 },
    ],
  ],
  [
    'JSON Schema 2020-12 keywords',
    {
      type: 'object',
      properties: {
        list: { type: 'array', prefixItems: [{ type: 'integer' }], minItems: 2 },
        map: { type: 'object', patternProperties: { '^x': { type: 'string' } } },
        pair: { type: 'object', dependentRequired: { a: ['b'] } },
        closed: { type: 'object', properties: { a: {} }, unevaluatedProperties: false },
        conditional: { if: { properties: { kind: { const: 'x' } } }, then: { required: ['z'] } },
      },
    },
    {},
    [
      { list: ['a'], map: { x1: 1, long: 'a' }, pair: { a: 1 }, closed: { a: 1, b: 2 }, conditional: { kind: 'x' } },
      { list: [1, 'a'], map: { x1: 'a' }, pair: { a: 1, b: 2 }, closed: { a: 1 }, conditional: { kind: 'y' } },
    ],
  ],
];

describe('interpreted response checks find what compiled ones find', () => {
  for (const [name, schema, schemas, answers] of cases31) {
    it(`OpenAPI 3.1: ${name}`, () => {
      for (const answer of answers) {
        expectSameFindings(bothWays(contractWith('3.1.0', schema, schemas), answer), JSON.stringify(answer));
      }
    });
  }

  it('contains and propertyNames: the same verdict', () => {
    const schema = {
      type: 'object',
      properties: {
        list: { type: 'array', contains: { type: 'string' } },
        map: { type: 'object', propertyNames: { maxLength: 3 } },
      },
    };
    const { compiled, interpreted } = bothWays(contractWith('3.1.0', schema), { list: [1], map: { long: 1 } });
    // Ajv also lists each item that is not a string, and the object for the long name.
    expect(compiled).toEqual(expect.arrayContaining(['/list contains', '/map propertyNames']));
    // The interpreter reports each keyword once, where it failed.
    expect(interpreted).toEqual(['/list contains', '/map propertyNames']);
    expect(bothWays(contractWith('3.1.0', schema), { list: ['a'], map: { ok: 1 } })).toEqual({
      compiled: null,
      interpreted: null,
    });
  });

  it('OpenAPI 3.0: nullable, boolean exclusive bounds, required and additionalProperties', () => {
    const schema = {
      type: 'object',
      required: ['count'],
      additionalProperties: false,
      properties: {
        count: { type: 'integer', minimum: 0, exclusiveMinimum: true },
        note: { type: 'string', nullable: true },
        kind: { type: 'string', enum: ['a', 'b'], nullable: true },
      },
    };
    for (const answer of [{ count: 1, note: null, kind: null }, { count: 0, note: 3, kind: 'c', extra: true }, {}]) {
      expectSameFindings(bothWays(contractWith('3.0.3', schema), answer), JSON.stringify(answer));
    }
  });

  it('says so when the answer conforms, and reports pointers and keywords, never values', () => {
    const document = contractWith('3.1.0', { $ref: '#/components/schemas/Person' }, { Person: person });
    const interpreted = compileContract(document, meta, { maxCompiledSchemaNodes: 0 });
    expect(interpreted.check('getThing', 200, { name: '张三', idNumber: '11010119900307777X' })).toBeNull();
    const found = interpreted.check('getThing', 200, { name: '张三', idNumber: '秘密' });
    expect(found).toEqual([{ path: '/idNumber', keyword: 'pattern' }]);
    expect(JSON.stringify(found)).not.toContain('秘密');
  });

  it("reports a schema it cannot check as the contract's fault", () => {
    const document = contractWith('3.1.0', { $ref: '#/components/schemas/Missing' });
    const interpreted = compileContract(document, meta, { maxCompiledSchemaNodes: 0 });
    expect(() => interpreted.check('getThing', 200, {})).toThrow(DepartmentError);
    const badPattern = compileContract(contractWith('3.1.0', { type: 'string', pattern: '(' }), meta, {
      maxCompiledSchemaNodes: 0,
    });
    expect(() => badPattern.check('getThing', 200, 'x')).toThrow(/cannot be checked/);
  });

  it('checks the OpenAPI number formats (int32, int64) as the compiled check does', () => {
    const document = contractWith('3.1.0', { type: 'integer', format: 'int32' });
    expect(bothWays(document, 2 ** 40)).toEqual({ compiled: [' format'], interpreted: [' format'] });
    expect(bothWays(document, 2 ** 30)).toEqual({ compiled: null, interpreted: null });
  });
});

describe('schemas Ajv misreads are interpreted, whatever their size', () => {
  it('contains on an empty array after one that met it (Ajv 8.20 lets it through)', () => {
    const document = contractWith('3.1.0', { type: 'array', items: { contains: { type: 'string' } } });
    expect(compileContract(document, meta).check('getThing', 200, [['a'], []])).toEqual([
      { path: '/1', keyword: 'contains' },
    ]);
    expect(compileContract(document, meta).check('getThing', 200, [['a'], ['b']])).toBeNull();
  });

  it('an if whose branch is not taken evaluates nothing for unevaluatedProperties', () => {
    const schema = {
      unevaluatedProperties: false,
      if: { required: ['c'] },
      then: { if: { additionalProperties: false }, then: {} },
    };
    const document = contractWith('3.1.0', schema);
    expect(compileContract(document, meta).check('getThing', 200, { a: false })).toEqual([
      { path: '', keyword: 'unevaluatedProperties' },
    ]);
  });
});

describe('schemaNodeCount', () => {
  it('counts what Ajv compiles: references where they are used, not annotations', () => {
    const document = { components: { schemas: { Name: { type: 'string', description: 'x'.repeat(1000) } } } };
    const twice = {
      type: 'object',
      properties: { a: { $ref: '#/components/schemas/Name' }, b: { $ref: '#/components/schemas/Name' } },
    };
    // object(1) + 'object'(1) + properties(1)
    //   + 2 × ({$ref}(1) + its string(1) + Name(1) + 'string'(1) + the description's key, not its 1,000 characters(1))
    expect(schemaNodeCount(document, twice, 1_000)).toBe(13);
    // A long string costs Ajv its length: an enum of five 6,400-character members is 500 nodes.
    const longEnum = { enum: Array.from({ length: 5 }, (_, index) => String(index).repeat(6_400)) };
    expect(schemaNodeCount(document, longEnum, 1_000)).toBeGreaterThan(500);
  });

  it('enters a recursive reference once and stops counting past its limit', () => {
    const document: Json = { components: { schemas: {} } };
    const node = { type: 'object', properties: { next: { $ref: '#/components/schemas/Node' } } };
    (document['components'] as { schemas: Json }).schemas['Node'] = node;
    expect(schemaNodeCount(document, node, 1_000)).toBeLessThan(20);

    const wide: Json = {};
    for (let index = 0; index < 20_000; index += 1) wide[`field${index}`] = { type: 'string' };
    expect(schemaNodeCount(document, { type: 'object', properties: wide }, MAX_COMPILED_SCHEMA_NODES)).toBe(
      MAX_COMPILED_SCHEMA_NODES + 1,
    );
  });

  it("keeps every shipped department's response schemas compiled (Ajv's faster checks)", () => {
    const contractsDirectory = fileURLToPath(new URL('../../contracts/', import.meta.url));
    let counted = 0;
    for (const department of ['psb', 'amr', 'nrb', 'mca']) {
      for (const file of readdirSync(join(contractsDirectory, department))) {
        if (!file.endsWith('.openapi.yaml')) continue;
        const document = parse(readFileSync(join(contractsDirectory, department, file), 'utf8')) as Json;
        for (const item of Object.values(document['paths'] as Record<string, Record<string, Json>>))
          for (const operation of Object.values(item)) {
            const responses = (operation['responses'] ?? {}) as Record<string, Json>;
            for (const response of Object.values(responses)) {
              const content = (response['content'] ?? {}) as Record<string, Json>;
              for (const media of Object.values(content)) {
                counted += 1;
                const nodes = schemaNodeCount(document, media['schema'], MAX_COMPILED_SCHEMA_NODES);
                expect(nodes, `${file} ${String(operation['operationId'])}`).toBeLessThanOrEqual(
                  MAX_COMPILED_SCHEMA_NODES,
                );
              }
            }
          }
      }
    }
    expect(counted).toBeGreaterThan(10);
  });
});
