import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { compileContract, createContractSet } from './contract-validation.js';
import { DepartmentError } from './errors.js';
import { createDepartmentMetrics } from './metrics.js';

/** OpenAPI 3.0: nullable, boolean exclusive bounds, examples, xml, x-*, discriminator, $refs, ranges. */
const openapi30 = {
  openapi: '3.0.3',
  info: { title: 'Population registry', version: '1.2.0' },
  'x-owner': 'PSB',
  paths: {
    '/persons/{sfzh}': {
      get: {
        operationId: 'getPerson',
        parameters: [{ name: 'sfzh', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { $ref: '#/components/responses/Person' },
          '4XX': {
            description: 'refused',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
          default: {
            description: 'other',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
    '/legacy/{id}': {
      get: {
        operationId: 'getLegacy',
        responses: {
          '200': {
            description: 'XML answer',
            content: {
              'text/xml': {
                schema: {
                  type: 'object',
                  required: ['Envelope'],
                  xml: { name: 'Envelope' },
                  properties: {
                    Envelope: { type: 'object', required: ['Body'], properties: { Body: { type: 'object' } } },
                  },
                },
              },
            },
          },
          '204': { description: 'nothing' },
        },
      },
    },
  },
  components: {
    responses: {
      Person: {
        description: 'a person',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Person' } } },
      },
    },
    schemas: {
      Person: {
        type: 'object',
        required: ['xm', 'sfzh', 'age', 'score'],
        example: { xm: '张三', sfzh: '110101199003077777' },
        'x-sensitivity': { xm: 'personal' },
        discriminator: { propertyName: 'kind' },
        properties: {
          xm: { type: 'string', minLength: 1 },
          sfzh: { type: 'string', pattern: '^[0-9]{17}[0-9X]$' },
          zz: { type: 'string', nullable: true },
          xb: { type: 'string', enum: ['1', '2'], nullable: true },
          age: { type: 'integer', format: 'int32', minimum: 0, exclusiveMinimum: true },
          score: { type: 'number', maximum: 100, exclusiveMaximum: true },
          csrq: { type: 'string', format: 'date' },
          household: { $ref: '#/components/schemas/Person' },
        },
      },
      Problem: { type: 'object', required: ['title'], properties: { title: { type: 'string' } } },
    },
  },
};

/** OpenAPI 3.1: JSON Schema 2020-12 (type arrays, const, prefixItems), $refs. */
const openapi31 = {
  openapi: '3.1.0',
  info: { title: 'Enterprise registry', version: '2.0.0' },
  paths: {
    '/licences/{code}': {
      get: {
        operationId: 'getLicence',
        responses: {
          '200': {
            description: 'found',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Licence' } } },
          },
          '404': {
            description: 'none',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { found: { const: false } }, required: ['found'] },
              },
            },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Licence: {
        type: 'object',
        required: ['creditCode', 'validUntil', 'issuedOn'],
        examples: [{ creditCode: '91350100M000100Y43' }],
        properties: {
          creditCode: { type: 'string', pattern: '^[0-9A-HJ-NPQRTUWXY]{2}\\d{6}[0-9A-HJ-NPQRTUWXY]{10}$' },
          validUntil: { type: ['string', 'null'], format: 'date' },
          issuedOn: { type: 'string', format: 'date' },
          scopes: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'integer' } },
          capital: { type: 'number', exclusiveMinimum: 0 },
        },
      },
    },
  },
};

const person = { xm: '张三', sfzh: '110101199003077777', age: 30, score: 99.5, zz: null, xb: null, csrq: '1990-03-07' };
const meta30 = { department: 'PSB', resourceCode: 'psb.population', version: '1.2.0' };

describe('compileContract: OpenAPI 3.0', () => {
  const contract = compileContract(openapi30, meta30);

  it('lists operations and accepts a conforming answer through $refs (responses and schemas)', () => {
    expect(contract.openapiVersion).toBe('3.0');
    expect(contract.operationIds).toEqual(['getPerson', 'getLegacy']);
    expect(contract.check('getPerson', 200, person)).toBeNull();
    expect(contract.check('getPerson', 200, { ...person, household: { ...person, zz: 'Beijing' } })).toBeNull();
  });

  it('honours nullable, boolean exclusive bounds and int32', () => {
    expect(contract.check('getPerson', 200, { ...person, age: 0 })).toEqual([
      { path: '/age', keyword: 'exclusiveMinimum' },
    ]);
    expect(contract.check('getPerson', 200, { ...person, score: 100 })).toEqual([
      { path: '/score', keyword: 'exclusiveMaximum' },
    ]);
    expect(contract.check('getPerson', 200, { ...person, age: 2 ** 31 })).toEqual([
      { path: '/age', keyword: 'format' },
    ]);
    expect(contract.check('getPerson', 200, { ...person, xb: '3' })).toEqual([{ path: '/xb', keyword: 'enum' }]);
    expect(contract.check('getPerson', 200, { ...person, xm: null })).toEqual([{ path: '/xm', keyword: 'type' }]);
  });

  it('reports JSON pointers and keywords only, never values', () => {
    const violations = contract.check('getPerson', 200, {
      xm: '',
      sfzh: '11010119900307777Z',
      age: 30,
      csrq: '1990-13-45',
      household: { xm: '李四' },
    });
    expect(violations).toEqual(
      expect.arrayContaining([
        { path: '/score', keyword: 'required' },
        { path: '/xm', keyword: 'minLength' },
        { path: '/sfzh', keyword: 'pattern' },
        { path: '/csrq', keyword: 'format' },
        { path: '/household/sfzh', keyword: 'required' },
      ]),
    );
    expect(JSON.stringify(violations)).not.toMatch(/李四|11010119900307777Z|1990-13-45/);
  });

  it('picks exact status, then ranges, then default; the first schema of a non-JSON media type; no content means no check', () => {
    expect(contract.check('getPerson', 403, { title: 'no' })).toBeNull();
    expect(contract.check('getPerson', 403, {})).toEqual([{ path: '/title', keyword: 'required' }]);
    expect(contract.check('getPerson', 500, { code: 'E1' })).toBeNull();
    expect(contract.check('getPerson', 500, { code: 1 })).toEqual([{ path: '/code', keyword: 'type' }]);
    expect(contract.check('getLegacy', 200, { Envelope: { Body: {} } })).toBeNull();
    expect(contract.check('getLegacy', 200, { Envelope: {} })).toEqual([
      { path: '/Envelope/Body', keyword: 'required' },
    ]);
    expect(contract.check('getLegacy', 204, undefined)).toBeNull();
  });

  it('treats an undeclared status or operation as a contract violation', () => {
    expect(() => contract.check('getLegacy', 500, {})).toThrow(
      expect.objectContaining({ kind: 'contract_violation', message: expect.stringContaining('status 500') }) as Error,
    );
    expect(() => contract.check('deletePerson', 200, {})).toThrow(
      expect.objectContaining({
        kind: 'contract_violation',
        message: expect.stringContaining('no operation deletePerson'),
      }) as Error,
    );
  });

  it('does not change the document it was given', () => {
    expect(openapi30.components.schemas.Person.properties.zz).toEqual({ type: 'string', nullable: true });
  });
});

describe('compileContract: OpenAPI 3.1', () => {
  const contract = compileContract(openapi31, { department: 'AMR', resourceCode: 'amr.enterprise', version: '2.0.0' });
  const licence = {
    creditCode: '91350100M000100Y43',
    validUntil: null,
    issuedOn: '2020-01-02',
    scopes: ['a', 1, 2],
    capital: 10,
  };

  it('validates with JSON Schema 2020-12', () => {
    expect(contract.openapiVersion).toBe('3.1');
    expect(contract.check('getLicence', 200, licence)).toBeNull();
    expect(contract.check('getLicence', 200, { ...licence, scopes: [1] })).toEqual([
      { path: '/scopes/0', keyword: 'type' },
    ]);
    expect(contract.check('getLicence', 200, { ...licence, capital: 0 })).toEqual([
      { path: '/capital', keyword: 'exclusiveMinimum' },
    ]);
    expect(contract.check('getLicence', 200, { ...licence, validUntil: 7 })).toEqual([
      { path: '/validUntil', keyword: 'type' },
    ]);
    expect(contract.check('getLicence', 404, { found: true })).toEqual([{ path: '/found', keyword: 'const' }]);
  });

  it('refuses a document that is not OpenAPI 3.0 or 3.1', () => {
    expect(() => compileContract({ swagger: '2.0' }, { department: 'X', resourceCode: 'x', version: '1' })).toThrow(
      /not an OpenAPI 3.0 or 3.1/,
    );
  });
});

describe('createContractSet', () => {
  it('checks responses, counts violations and returns the version checked against', async () => {
    const registry = new Registry();
    const metrics = createDepartmentMetrics(registry);
    const contracts = createContractSet([{ resourceCode: 'psb.population', document: openapi30, department: 'PSB' }], {
      metrics,
    });
    expect(contracts.checkResponse('psb.population', 'getPerson', 200, person)).toBe('1.2.0');

    let caught: unknown;
    try {
      contracts.checkResponse('psb.population', 'getPerson', 200, { ...person, sfzh: 42 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DepartmentError);
    expect(caught).toMatchObject({
      kind: 'contract_violation',
      details: {
        department: 'PSB',
        operation: 'getPerson',
        status: 200,
        violations: [{ path: '/sfzh', keyword: 'type' }],
      },
    });
    expect((caught as Error).message).not.toContain('42');
    expect(await registry.metrics()).toContain(
      'onewindow_department_contract_violations_total{department="PSB",resource="psb.population",operation="getPerson"} 1',
    );
    expect(metrics.snapshot('PSB').contractViolations).toBe(1);
  });

  it('treats an unknown resource or operation as a contract violation with a clear message', () => {
    const contracts = createContractSet([{ resourceCode: 'psb.population', document: openapi30 }]);
    expect(() => contracts.checkResponse('nr.realestate', 'getDeed', 200, {})).toThrow(
      /no published contract for resource nr\.realestate/,
    );
    expect(() => contracts.checkResponse('psb.population', 'getDeed', 200, {})).toThrow(/no operation getDeed/);
  });

  it('swaps in a newly published version at run time', () => {
    const contracts = createContractSet([{ resourceCode: 'amr.enterprise', document: openapi31 }]);
    const licence = { creditCode: '91350100M000100Y43', validUntil: null, issuedOn: '2020-01-02' };
    expect(contracts.checkResponse('amr.enterprise', 'getLicence', 200, licence)).toBe('2.0.0');
    const next = structuredClone(openapi31);
    next.info.version = '3.0.0';
    next.components.schemas.Licence.required.push('scopes');
    contracts.setContract('amr.enterprise', next);
    expect(contracts.get('amr.enterprise')?.version).toBe('3.0.0');
    expect(() => contracts.checkResponse('amr.enterprise', 'getLicence', 200, licence)).toThrow(
      expect.objectContaining({ kind: 'contract_violation' }) as Error,
    );
    expect(contracts.checkResponse('amr.enterprise', 'getLicence', 200, { ...licence, scopes: [] })).toBe('3.0.0');
  });
});

describe('operations', () => {
  it('are read under HTTP methods only: an x- entry of a path item with an operationId is an extension', () => {
    const answer = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } };
    const strict = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'string' } } } } };
    const document = {
      openapi: '3.1.0',
      info: { title: 'Ghost', version: '1.0.0' },
      paths: {
        '/thing': {
          get: { operationId: 'getThing', responses: answer },
          'x-shadow': { operationId: 'getThing', responses: strict },
        },
      },
    };
    const contract = compileContract(document, { department: 'T', resourceCode: 't.ghost', version: '1.0.0' });
    expect(contract.operationIds).toEqual(['getThing']);
    expect(contract.check('getThing', 200, {})).toBeNull();
  });
});
