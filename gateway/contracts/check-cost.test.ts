import { describe, expect, it } from 'vitest';
import { readContractDocument } from './document.js';
import { MAX_COMPILED_SCHEMA_NODES } from '../../adapters/sdk/interpreted-schemas.js';
import { MAX_DISTINCT_PATTERNS, MAX_EXPANDED_SCHEMA_NODES, checkCostProblems } from './check-cost.js';

type Json = Record<string, unknown>;

function contract(schema: unknown, schemas: Json = {}): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'Cost', version: '1.0.0' },
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

const answerSchema = '/paths/~1thing/get/responses/200/content/application~1json/schema';
/** A schema applying itself in place, in Chinese. */
const NEVER_ENDS_ZH = '该模式对应答的同一部分反复套用自身：检查永远不会结束';

describe('what checking answers would cost, bounded at publication', () => {
  it('refuses references that fan out (each schema an allOf of the next twice)', () => {
    const schemas: Json = { S19: { type: 'object' } };
    for (let level = 18; level >= 0; level -= 1)
      schemas[`S${level}`] = {
        allOf: [{ $ref: `#/components/schemas/S${level + 1}` }, { $ref: `#/components/schemas/S${level + 1}` }],
      };
    const problems = checkCostProblems(contract({ $ref: '#/components/schemas/S0' }, schemas));
    expect(problems).toEqual([
      {
        path: answerSchema,
        message: expect.stringContaining(String(MAX_EXPANDED_SCHEMA_NODES)),
        messageZh: expect.stringContaining(`超过 ${MAX_EXPANDED_SCHEMA_NODES} 个模式节点`),
      },
    ]);
  });

  it('accepts a recursive schema, a wide flat one and schemas shared many times without fan-out', () => {
    const tree = {
      type: 'object',
      properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Tree' } } },
    };
    expect(checkCostProblems(contract({ $ref: '#/components/schemas/Tree' }, { Tree: tree }))).toEqual([]);
    const wide: Json = {};
    for (let index = 0; index < 19_000; index += 1) wide[`field${index}`] = { type: 'string' };
    expect(checkCostProblems(contract({ type: 'object', properties: wide }))).toEqual([]);
    const name = { type: 'string', maxLength: 20 };
    const shared: Json = {};
    for (let index = 0; index < 500; index += 1) shared[`p${index}`] = { $ref: '#/components/schemas/Name' };
    expect(checkCostProblems(contract({ type: 'object', properties: shared }, { Name: name }))).toEqual([]);
  });

  it('refuses $id, $anchor and dynamic references in response schemas', () => {
    const schemas = {
      Node: { $id: 'https://example.org/node', $dynamicAnchor: 'node', type: 'object' },
    };
    const problems = checkCostProblems(contract({ $ref: '#/components/schemas/Node' }, schemas));
    expect(problems.map((problem) => problem.path)).toEqual(['/components/schemas/Node/$id']);
  });

  it('refuses patterns no linear-time engine can match, and accepts nested quantifiers (matched linearly)', () => {
    const schemas = {
      Person: {
        type: 'object',
        properties: {
          same: { type: 'string', pattern: '^(a)\\1$' },
          ahead: { type: 'string', pattern: '^(?=.*\\d).+$' },
          nested: { type: 'string', pattern: '^(a+)+$' },
          amount: { type: 'string', pattern: '^\\d{1,9}(\\.\\d{1,2})?$' },
          pattern: { type: 'string' },
          choice: { enum: [{ pattern: '(a)\\1' }] },
        },
        patternProperties: { '^(?<!x)y$': { type: 'string' } },
      },
    };
    const problems = checkCostProblems(contract({ $ref: '#/components/schemas/Person' }, schemas));
    expect(problems).toEqual([
      {
        path: '/components/schemas/Person/properties/same/pattern',
        message: expect.stringContaining('backreferences'),
        messageZh: expect.stringMatching(/^该正则表达式不能用于检查应答：.*backreferences/),
      },
      {
        path: '/components/schemas/Person/properties/ahead/pattern',
        message: expect.stringContaining('lookahead'),
        messageZh: expect.stringContaining('该正则表达式'),
      },
      {
        path: '/components/schemas/Person/patternProperties/^(?<!x)y$',
        message: expect.any(String),
        messageZh: expect.stringContaining('该正则表达式'),
      },
    ]);
  });

  it('accepts uniqueItems and patternProperties in schemas of any size (both checks are linear)', () => {
    const tags = { type: 'array', items: { type: 'string' }, uniqueItems: true };
    const small = { type: 'object', patternProperties: { '^x-': { type: 'string' } } };
    const properties: Json = { tags };
    for (let index = 0; index < MAX_COMPILED_SCHEMA_NODES; index += 1) properties[`p${index}`] = { type: 'string' };
    const large = { type: 'object', properties, additionalProperties: { $ref: '#/components/schemas/Small' } };
    expect(checkCostProblems(contract({ $ref: '#/components/schemas/Large' }, { Small: small, Large: large }))).toEqual(
      [],
    );
  });

  it('refuses 3.1 response schemas that are not JSON Schema 2020-12 (no validator could check answers)', () => {
    const schemas = {
      Odd: {
        type: 'object',
        required: 'name',
        properties: {
          born: { type: 'date' },
          pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] },
          count: { type: 'integer', minimum: 0, exclusiveMinimum: true },
          title: { type: 'string', enum: 'a' },
        },
      },
    };
    const paths = checkCostProblems(contract({ $ref: '#/components/schemas/Odd' }, schemas)).map(
      (problem) => problem.path,
    );
    expect(paths).toEqual(
      expect.arrayContaining([
        '/components/schemas/Odd/required',
        '/components/schemas/Odd/properties/born/type',
        '/components/schemas/Odd/properties/pair/items',
        '/components/schemas/Odd/properties/count/exclusiveMinimum',
        '/components/schemas/Odd/properties/title/enum',
      ]),
    );
  });

  it('reads a property named like a keyword as a property: its schema is walked and checked', () => {
    const schemas: Json = { S18: { type: 'object' } };
    for (let level = 17; level >= 0; level -= 1)
      schemas[`S${level}`] = {
        allOf: [{ $ref: `#/components/schemas/S${level + 1}` }, { $ref: `#/components/schemas/S${level + 1}` }],
      };
    for (const name of ['title', 'description', 'x-note', 'enum', 'example']) {
      const hidden = { type: 'object', properties: { [name]: { $ref: '#/components/schemas/S0' } } };
      expect(checkCostProblems(contract(hidden, schemas)), name).toHaveLength(1);
    }
    const lookahead = { type: 'object', properties: { description: { type: 'string', pattern: '^(?=a).+$' } } };
    expect(checkCostProblems(contract(lookahead))).toEqual([
      {
        path: `${answerSchema}/properties/description/pattern`,
        message: expect.stringContaining('lookahead'),
        messageZh: expect.stringContaining('该正则表达式'),
      },
    ]);
    // An enum member is data: a `pattern` in it is no pattern.
    expect(checkCostProblems(contract({ enum: [{ pattern: '(a)\\1' }] }))).toEqual([]);
  });

  it('refuses recursion that checks one part of the answer twice per level, or applies itself in place', () => {
    const twice = {
      T: { type: 'object', properties: { c: { $ref: '#/components/schemas/C' } } },
      C: { allOf: [{ $ref: '#/components/schemas/T' }, { $ref: '#/components/schemas/T' }] },
    };
    expect(checkCostProblems(contract({ $ref: '#/components/schemas/T' }, twice))).toEqual([
      {
        path: '/components/schemas/T',
        message: expect.stringContaining('twice for the same part of the answer (/c)'),
        messageZh: expect.stringContaining('同一部分（/c）两次引用自身'),
      },
    ]);
    const inPlace = { A: { type: 'object', allOf: [{ $ref: '#/components/schemas/A' }] } };
    expect(checkCostProblems(contract({ $ref: '#/components/schemas/A' }, inPlace))).toEqual([
      { path: '/components/schemas/A', message: expect.stringContaining('never end'), messageZh: NEVER_ENDS_ZH },
    ]);
    const throughAReference = {
      A: { $ref: '#/components/schemas/B' },
      B: { allOf: [{ $ref: '#/components/schemas/A' }] },
    };
    expect(checkCostProblems(contract({ $ref: '#/components/schemas/A' }, throughAReference))).toEqual([
      { path: '/components/schemas/A', message: expect.stringContaining('never end'), messageZh: NEVER_ENDS_ZH },
    ]);
  });

  it('refuses more distinct patterns than the gateway compiles quickly at a first answer', () => {
    const properties: Json = {};
    for (let index = 0; index <= MAX_DISTINCT_PATTERNS; index += 1)
      properties[`p${index}`] = { type: 'string', pattern: `^p${index}$` };
    expect(checkCostProblems(contract({ type: 'object', properties }))).toEqual([
      {
        path: expect.any(String),
        message: expect.stringContaining(`more than ${MAX_DISTINCT_PATTERNS} distinct patterns`),
        messageZh: expect.stringContaining(`超过 ${MAX_DISTINCT_PATTERNS} 个`),
      },
    ]);
    delete properties[`p${MAX_DISTINCT_PATTERNS}`];
    expect(checkCostProblems(contract({ type: 'object', properties }))).toEqual([]);
  });

  it('accepts trees: one reference per child, however many children', () => {
    const trees = {
      Node: {
        type: 'object',
        properties: {
          left: { $ref: '#/components/schemas/Node' },
          right: { $ref: '#/components/schemas/Node' },
          children: { type: 'array', items: { $ref: '#/components/schemas/Wrapped' } },
        },
      },
      Wrapped: { oneOf: [{ type: 'string' }, { $ref: '#/components/schemas/Node' }] },
    };
    expect(checkCostProblems(contract({ $ref: '#/components/schemas/Node' }, trees))).toEqual([]);
  });

  it('is part of publication: the document is refused as contract_too_complex, with the places', async () => {
    const document = contract({ $ref: '#/components/schemas/Node' }, { Node: { $anchor: 'node', type: 'object' } });
    (document['info'] as Json)['x-onewindow-catalogue'] = {
      resourceCode: 'tst.cost',
      departmentCode: 'TESTDEPT',
      sharingType: 'unconditional',
      updateFrequency: 'daily',
      sla: { availabilityPercent: 99.9, p95LatencyMs: 800, supportHours: 'Mon-Fri' },
    };
    await expect(readContractDocument(document)).rejects.toMatchObject({
      code: 'contract_too_complex',
      extras: { errors: [{ path: '/components/schemas/Node/$anchor' }] },
    });
  });
});
