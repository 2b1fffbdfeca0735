/**
 * The contract diff on labelled pairs: each pair is one change, known to be breaking or compatible
 * for the clients of the old version, with the change code expected. Then a realistic
 * multi-operation document with several changes at once, and recursive schemas.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type ContractChange, diffContracts } from './diff.js';

type Schema = Record<string, unknown>;
type Doc = Record<string, unknown>;

interface ApiShape {
  openapi?: string;
  request?: Schema;
  response?: Schema;
  parameters?: Schema[];
  requestBodyRequired?: boolean;
  requestMediaTypes?: string[];
  responseStatuses?: string[];
  security?: Record<string, string[]>[];
  extraPaths?: Record<string, unknown>;
  components?: Record<string, unknown>;
  removeOperation?: boolean;
  withRequestBody?: boolean;
  description?: string;
}

/** A one-operation API, POST /things/{id}, shaped by the case. */
function api(shape: ApiShape = {}): Doc {
  const requestSchema = shape.request ?? { type: 'object', properties: { name: { type: 'string' } } };
  const responseSchema = shape.response ?? { type: 'object', required: ['id'], properties: { id: { type: 'string' } } };
  const operation: Record<string, unknown> = {
    operationId: 'createThing',
    description: shape.description ?? 'Creates a thing',
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, ...(shape.parameters ?? [])],
    responses: Object.fromEntries(
      (shape.responseStatuses ?? ['200']).map((status) => [
        status,
        { description: 'ok', content: { 'application/json': { schema: responseSchema } } },
      ]),
    ),
  };
  if (shape.withRequestBody !== false) {
    operation.requestBody = {
      required: shape.requestBodyRequired ?? true,
      content: Object.fromEntries(
        (shape.requestMediaTypes ?? ['application/json']).map((type) => [type, { schema: requestSchema }]),
      ),
    };
  }
  if (shape.security) operation.security = shape.security;
  return {
    openapi: shape.openapi ?? '3.1.0',
    info: { title: 'Things', version: '1.0.0' },
    paths: { ...(shape.removeOperation ? {} : { '/things/{id}': { post: operation } }), ...shape.extraPaths },
    components: {
      securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'X-Key' }, oauth: { type: 'oauth2', flows: {} } },
      ...shape.components,
    },
  };
}

const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  required,
});
const reqProp = (schema: Schema, required: string[] = []) => api({ request: obj({ value: schema }, required) });
const resProp = (schema: Schema, required: string[] = ['value']) => api({ response: obj({ value: schema }, required) });
const query = (schema: Schema, required = false): Schema => ({ name: 'q', in: 'query', required, schema });

interface LabelledPair {
  label: string;
  before: Doc;
  after: Doc;
  severity: 'breaking' | 'compatible';
  code: string;
}

const pairs: LabelledPair[] = [
  // paths and operations
  {
    label: 'path removed',
    before: api(),
    after: api({
      removeOperation: true,
      extraPaths: { '/other': { get: { responses: { '200': { description: 'ok' } } } } },
    }),
    severity: 'breaking',
    code: 'path_removed',
  },
  {
    label: 'operation removed (path kept)',
    before: api({
      extraPaths: {
        '/things': {
          get: { responses: { '200': { description: 'ok' } } },
          delete: { responses: { '204': { description: 'gone' } } },
        },
      },
    }),
    after: api({ extraPaths: { '/things': { get: { responses: { '200': { description: 'ok' } } } } } }),
    severity: 'breaking',
    code: 'operation_removed',
  },
  {
    label: 'operation added',
    before: api(),
    after: api({ extraPaths: { '/things': { get: { responses: { '200': { description: 'ok' } } } } } }),
    severity: 'compatible',
    code: 'path_added',
  },
  {
    label: 'description changed',
    before: api(),
    after: api({ description: 'Makes a thing' }),
    severity: 'compatible',
    code: 'description_changed',
  },
  // responses
  {
    label: 'success status removed',
    before: api({ responseStatuses: ['200', '201'] }),
    after: api({ responseStatuses: ['200'] }),
    severity: 'breaking',
    code: 'response_status_removed',
  },
  {
    label: 'error status removed',
    before: api({ responseStatuses: ['200', '404'] }),
    after: api({ responseStatuses: ['200'] }),
    severity: 'compatible',
    code: 'response_error_status_removed',
  },
  {
    label: 'response status added',
    before: api(),
    after: api({ responseStatuses: ['200', '409'] }),
    severity: 'compatible',
    code: 'response_status_added',
  },
  {
    label: 'response property removed',
    before: api({ response: obj({ id: { type: 'string' }, name: { type: 'string' } }) }),
    after: api({ response: obj({ id: { type: 'string' } }) }),
    severity: 'breaking',
    code: 'response_property_removed',
  },
  {
    label: 'response property became optional',
    before: resProp({ type: 'string' }, ['value']),
    after: resProp({ type: 'string' }, []),
    severity: 'breaking',
    code: 'response_property_became_optional',
  },
  {
    label: 'response property added',
    before: api({ response: obj({ id: { type: 'string' } }) }),
    after: api({ response: obj({ id: { type: 'string' }, extra: { type: 'integer' } }) }),
    severity: 'compatible',
    code: 'response_property_added',
  },
  {
    label: 'response property type changed',
    before: resProp({ type: 'string' }),
    after: resProp({ type: 'integer' }),
    severity: 'breaking',
    code: 'response_type_changed',
  },
  {
    label: 'response property may now be null (3.1 type array)',
    before: resProp({ type: 'string' }),
    after: resProp({ type: ['string', 'null'] }),
    severity: 'breaking',
    code: 'response_type_changed',
  },
  {
    label: 'response property may now be null (3.0 nullable)',
    before: { ...resProp({ type: 'string' }), openapi: '3.0.3' },
    after: { ...resProp({ type: 'string', nullable: true }), openapi: '3.0.3' },
    severity: 'breaking',
    code: 'response_type_changed',
  },
  {
    label: 'response integer narrowed from number',
    before: resProp({ type: 'number' }),
    after: resProp({ type: 'integer' }),
    severity: 'compatible',
    code: 'response_type_narrowed',
  },
  {
    label: 'response enum widened',
    before: resProp({ type: 'string', enum: ['a', 'b'] }),
    after: resProp({ type: 'string', enum: ['a', 'b', 'c'] }),
    severity: 'breaking',
    code: 'response_enum_value_added',
  },
  {
    label: 'response enum narrowed',
    before: resProp({ type: 'string', enum: ['a', 'b'] }),
    after: resProp({ type: 'string', enum: ['a'] }),
    severity: 'compatible',
    code: 'response_enum_value_removed',
  },
  {
    label: 'response media type removed',
    before: api(),
    after: {
      ...api(),
      paths: {
        '/things/{id}': {
          post: {
            ...((api().paths as Doc)['/things/{id}'] as { post: Doc }).post,
            responses: { '200': { description: 'ok', content: { 'application/xml': { schema: { type: 'string' } } } } },
          },
        },
      },
    },
    severity: 'breaking',
    code: 'response_media_type_removed',
  },
  {
    label: 'response oneOf variant added',
    before: resProp({ oneOf: [{ type: 'string' }, { type: 'integer' }] }),
    after: resProp({ oneOf: [{ type: 'string' }, { type: 'integer' }, { type: 'boolean' }] }),
    severity: 'breaking',
    code: 'response_one_of_variant_added',
  },
  {
    label: 'response format changed',
    before: resProp({ type: 'string', format: 'date' }),
    after: resProp({ type: 'string', format: 'date-time' }),
    severity: 'breaking',
    code: 'response_format_changed',
  },
  // parameters
  {
    label: 'new required query parameter',
    before: api(),
    after: api({ parameters: [query({ type: 'string' }, true)] }),
    severity: 'breaking',
    code: 'request_parameter_added_required',
  },
  {
    label: 'new optional query parameter',
    before: api(),
    after: api({ parameters: [query({ type: 'string' })] }),
    severity: 'compatible',
    code: 'request_parameter_added',
  },
  {
    label: 'parameter became required',
    before: api({ parameters: [query({ type: 'string' })] }),
    after: api({ parameters: [query({ type: 'string' }, true)] }),
    severity: 'breaking',
    code: 'request_parameter_became_required',
  },
  {
    label: 'parameter became optional',
    before: api({ parameters: [query({ type: 'string' }, true)] }),
    after: api({ parameters: [query({ type: 'string' })] }),
    severity: 'compatible',
    code: 'request_parameter_became_optional',
  },
  {
    label: 'parameter removed',
    before: api({ parameters: [query({ type: 'string' })] }),
    after: api(),
    severity: 'breaking',
    code: 'request_parameter_removed',
  },
  {
    label: 'parameter type changed',
    before: api({ parameters: [query({ type: 'string' })] }),
    after: api({ parameters: [query({ type: 'integer' })] }),
    severity: 'breaking',
    code: 'request_type_changed',
  },
  {
    label: 'parameter type widened (integer → number)',
    before: api({ parameters: [query({ type: 'integer' })] }),
    after: api({ parameters: [query({ type: 'number' })] }),
    severity: 'compatible',
    code: 'request_type_widened',
  },
  {
    label: 'header parameter required (case-insensitive name)',
    before: api({ parameters: [{ name: 'X-Trace', in: 'header', schema: { type: 'string' } }] }),
    after: api({ parameters: [{ name: 'x-trace', in: 'header', required: true, schema: { type: 'string' } }] }),
    severity: 'breaking',
    code: 'request_parameter_became_required',
  },
  {
    label: 'parameter pattern added',
    before: api({ parameters: [query({ type: 'string' })] }),
    after: api({ parameters: [query({ type: 'string', pattern: '^[a-z]+$' })] }),
    severity: 'breaking',
    code: 'request_pattern_added',
  },
  // request bodies
  {
    label: 'new required request-body property',
    before: api({ request: obj({ a: { type: 'string' } }) }),
    after: api({ request: obj({ a: { type: 'string' }, b: { type: 'string' } }, ['b']) }),
    severity: 'breaking',
    code: 'request_required_property_added',
  },
  {
    label: 'request-body property became required',
    before: reqProp({ type: 'string' }, []),
    after: reqProp({ type: 'string' }, ['value']),
    severity: 'breaking',
    code: 'request_property_became_required',
  },
  {
    label: 'new optional request-body property',
    before: api({ request: obj({ a: { type: 'string' } }) }),
    after: api({ request: obj({ a: { type: 'string' }, b: { type: 'string' } }) }),
    severity: 'compatible',
    code: 'request_property_added',
  },
  {
    label: 'request property became optional',
    before: reqProp({ type: 'string' }, ['value']),
    after: reqProp({ type: 'string' }, []),
    severity: 'compatible',
    code: 'request_property_became_optional',
  },
  {
    label: 'request property type changed',
    before: reqProp({ type: 'string' }),
    after: reqProp({ type: 'boolean' }),
    severity: 'breaking',
    code: 'request_type_changed',
  },
  {
    label: 'request enum narrowed',
    before: reqProp({ type: 'string', enum: ['a', 'b', 'c'] }),
    after: reqProp({ type: 'string', enum: ['a', 'b'] }),
    severity: 'breaking',
    code: 'request_enum_value_removed',
  },
  {
    label: 'request enum widened',
    before: reqProp({ type: 'string', enum: ['a', 'b'] }),
    after: reqProp({ type: 'string', enum: ['a', 'b', 'c'] }),
    severity: 'compatible',
    code: 'request_enum_value_added',
  },
  {
    label: 'request const changed',
    before: reqProp({ const: 'v1' }),
    after: reqProp({ const: 'v2' }),
    severity: 'breaking',
    code: 'request_enum_value_removed',
  },
  {
    label: 'maxLength decreased',
    before: reqProp({ type: 'string', maxLength: 100 }),
    after: reqProp({ type: 'string', maxLength: 50 }),
    severity: 'breaking',
    code: 'request_max_length_decreased',
  },
  {
    label: 'maxLength increased',
    before: reqProp({ type: 'string', maxLength: 50 }),
    after: reqProp({ type: 'string', maxLength: 100 }),
    severity: 'compatible',
    code: 'request_max_length_increased',
  },
  {
    label: 'minLength increased',
    before: reqProp({ type: 'string', minLength: 1 }),
    after: reqProp({ type: 'string', minLength: 5 }),
    severity: 'breaking',
    code: 'request_min_length_increased',
  },
  {
    label: 'maximum decreased',
    before: reqProp({ type: 'integer', maximum: 100 }),
    after: reqProp({ type: 'integer', maximum: 10 }),
    severity: 'breaking',
    code: 'request_maximum_decreased',
  },
  {
    label: 'maximum removed',
    before: reqProp({ type: 'integer', maximum: 100 }),
    after: reqProp({ type: 'integer' }),
    severity: 'compatible',
    code: 'request_maximum_increased',
  },
  {
    label: 'minimum increased',
    before: reqProp({ type: 'integer', minimum: 0 }),
    after: reqProp({ type: 'integer', minimum: 1 }),
    severity: 'breaking',
    code: 'request_minimum_increased',
  },
  {
    label: 'minimum became exclusive (3.1 numeric)',
    before: reqProp({ type: 'number', minimum: 0 }),
    after: reqProp({ type: 'number', exclusiveMinimum: 0 }),
    severity: 'breaking',
    code: 'request_minimum_increased',
  },
  {
    label: 'maximum became exclusive (3.0 boolean)',
    before: { ...reqProp({ type: 'number', maximum: 10 }), openapi: '3.0.3' },
    after: { ...reqProp({ type: 'number', maximum: 10, exclusiveMaximum: true }), openapi: '3.0.3' },
    severity: 'breaking',
    code: 'request_maximum_decreased',
  },
  {
    label: 'maxItems decreased',
    before: reqProp({ type: 'array', items: { type: 'string' }, maxItems: 10 }),
    after: reqProp({ type: 'array', items: { type: 'string' }, maxItems: 5 }),
    severity: 'breaking',
    code: 'request_max_items_decreased',
  },
  {
    label: 'minItems increased',
    before: reqProp({ type: 'array', items: { type: 'string' } }),
    after: reqProp({ type: 'array', items: { type: 'string' }, minItems: 1 }),
    severity: 'breaking',
    code: 'request_min_items_increased',
  },
  {
    label: 'pattern changed',
    before: reqProp({ type: 'string', pattern: '^[a-z]+$' }),
    after: reqProp({ type: 'string', pattern: '^[a-z]{2,}$' }),
    severity: 'breaking',
    code: 'request_pattern_changed',
  },
  {
    label: 'pattern removed',
    before: reqProp({ type: 'string', pattern: '^[a-z]+$' }),
    after: reqProp({ type: 'string' }),
    severity: 'compatible',
    code: 'request_pattern_removed',
  },
  {
    label: 'array item type changed in request',
    before: reqProp({ type: 'array', items: { type: 'string' } }),
    after: reqProp({ type: 'array', items: { type: 'integer' } }),
    severity: 'breaking',
    code: 'request_type_changed',
  },
  {
    label: 'request body became required',
    before: api({ requestBodyRequired: false }),
    after: api({ requestBodyRequired: true }),
    severity: 'breaking',
    code: 'request_body_became_required',
  },
  {
    label: 'required request body added',
    before: api({ withRequestBody: false }),
    after: api(),
    severity: 'breaking',
    code: 'request_body_became_required',
  },
  {
    label: 'request media type removed',
    before: api({ requestMediaTypes: ['application/json', 'application/xml'] }),
    after: api({ requestMediaTypes: ['application/json'] }),
    severity: 'breaking',
    code: 'request_media_type_removed',
  },
  {
    label: 'request media type added',
    before: api(),
    after: api({ requestMediaTypes: ['application/json', 'application/xml'] }),
    severity: 'compatible',
    code: 'request_media_type_added',
  },
  {
    label: 'additionalProperties: false added to request',
    before: api(),
    after: api({ request: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false } }),
    severity: 'breaking',
    code: 'request_additional_properties_refused',
  },
  {
    label: 'request oneOf variant removed',
    before: reqProp({ oneOf: [{ type: 'string' }, { type: 'integer' }] }),
    after: reqProp({ oneOf: [{ type: 'string' }] }),
    severity: 'breaking',
    code: 'request_one_of_variant_removed',
  },
  {
    label: 'request anyOf variant added',
    before: reqProp({ anyOf: [{ type: 'string' }] }),
    after: reqProp({ anyOf: [{ type: 'string' }, { type: 'integer' }] }),
    severity: 'compatible',
    code: 'request_any_of_variant_added',
  },
  {
    label: 'required property added through allOf',
    before: api({ request: { allOf: [obj({ a: { type: 'string' } }), obj({ b: { type: 'string' } })] } }),
    after: api({ request: { allOf: [obj({ a: { type: 'string' } }), obj({ b: { type: 'string' } }, ['b'])] } }),
    severity: 'breaking',
    code: 'request_property_became_required',
  },
  {
    label: 'response property removed from an allOf member',
    before: api({ response: { allOf: [obj({ id: { type: 'string' } }, ['id']), obj({ name: { type: 'string' } })] } }),
    after: api({ response: { allOf: [obj({ id: { type: 'string' } }, ['id']), obj({})] } }),
    severity: 'breaking',
    code: 'response_property_removed',
  },
  // security
  {
    label: 'security added to an open operation',
    before: api(),
    after: api({ security: [{ key: [] }] }),
    severity: 'breaking',
    code: 'security_requirement_added',
  },
  {
    label: 'security scope added',
    before: api({ security: [{ oauth: ['read'] }] }),
    after: api({ security: [{ oauth: ['read', 'write'] }] }),
    severity: 'breaking',
    code: 'security_requirement_tightened',
  },
  {
    label: 'security alternative added',
    before: api({ security: [{ key: [] }] }),
    after: api({ security: [{ key: [] }, { oauth: [] }] }),
    severity: 'compatible',
    code: 'security_requirement_relaxed',
  },
  {
    label: 'security removed',
    before: api({ security: [{ key: [] }] }),
    after: api({ security: [] }),
    severity: 'compatible',
    code: 'security_requirement_removed',
  },
];

function summarise(changes: ContractChange[]): string {
  return changes.map((change) => `${change.severity} ${change.code} ${change.location.pointer ?? ''}`).join('\n');
}

describe('contract diff on labelled pairs', () => {
  it('has at least 30 labelled pairs of each kind together', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(30);
    expect(pairs.filter((pair) => pair.severity === 'breaking').length).toBeGreaterThanOrEqual(15);
    expect(pairs.filter((pair) => pair.severity === 'compatible').length).toBeGreaterThanOrEqual(15);
  });

  it.each(pairs)('$label → $severity ($code)', ({ before, after, severity, code }) => {
    const changes = diffContracts(before, after);
    expect(
      changes.some((change) => change.code === code && change.severity === severity),
      summarise(changes),
    ).toBe(true);
    const breaking = changes.filter((change) => change.severity === 'breaking');
    if (severity === 'compatible') expect(breaking, summarise(changes)).toEqual([]);
    else expect(breaking.length).toBeGreaterThan(0);
  });

  it('finds nothing between a document and itself', () => {
    for (const { before } of pairs) expect(diffContracts(before, structuredClone(before))).toEqual([]);
  });

  it('does not count a renamed path parameter as a removed path', () => {
    const before = api();
    const after = api();
    const operation = (after.paths as Doc)['/things/{id}'] as { post: { parameters: Schema[] } };
    operation.post.parameters = [{ name: 'thingId', in: 'path', required: true, schema: { type: 'string' } }];
    after.paths = { '/things/{thingId}': operation };
    expect(diffContracts(before, after).filter((change) => change.severity === 'breaking')).toEqual([]);
  });

  it('follows $refs into components and points at the change', () => {
    const before = api({
      response: { $ref: '#/components/schemas/Thing' },
      components: { schemas: { Thing: obj({ id: { type: 'string' }, size: { type: 'integer' } }, ['id']) } },
    });
    const after = api({
      response: { $ref: '#/components/schemas/Thing' },
      components: { schemas: { Thing: obj({ id: { type: 'string' } }, ['id']) } },
    });
    const [change] = diffContracts(before, after);
    expect(change).toMatchObject({
      code: 'response_property_removed',
      severity: 'breaking',
      location: {
        method: 'POST',
        path: '/things/{id}',
        direction: 'response',
        pointer: '/paths/~1things~1{id}/post/responses/200/content/application~1json/schema/properties/size',
      },
    });
  });

  it('terminates on recursive schemas and still sees changes inside the cycle', () => {
    const tree = (leafType: string) =>
      api({
        response: { $ref: '#/components/schemas/Node' },
        components: {
          schemas: {
            Node: {
              type: 'object',
              properties: {
                value: { type: leafType },
                children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
                parent: { $ref: '#/components/schemas/Node' },
              },
            },
          },
        },
      });
    expect(diffContracts(tree('string'), tree('string'))).toEqual([]);
    const changes = diffContracts(tree('string'), tree('integer'));
    expect(changes.filter((change) => change.code === 'response_type_changed')).toHaveLength(1);
  });

  it('terminates on a schema that includes itself through allOf', () => {
    const looping = api({
      response: { $ref: '#/components/schemas/A' },
      components: {
        schemas: { A: { allOf: [{ $ref: '#/components/schemas/A' }, obj({ x: { $ref: '#/components/schemas/A' } })] } },
      },
    });
    expect(() => diffContracts(looping, structuredClone(looping))).not.toThrow();
  });
});

describe('contract diff on a realistic document', () => {
  const fixture = parseYaml(
    readFileSync(new URL('./fixtures/people-1.0.0.openapi.yaml', import.meta.url), 'utf8'),
  ) as Doc;

  it('classifies every change in a release that mixes compatible and breaking changes', () => {
    const next = structuredClone(fixture) as {
      info: Doc;
      paths: Record<string, Record<string, Doc>>;
      components: { schemas: Record<string, { properties: Record<string, Schema>; required: string[] }> };
    };
    next.info.version = '2.0.0';
    // Compatible: a new endpoint, a new optional response field, a relaxed request limit.
    next.paths['/people'] = { get: { operationId: 'searchPeople', responses: { '200': { description: 'matches' } } } };
    next.components.schemas.Person!.properties.nationality = { type: 'string' };
    const verification = next.paths['/people/{idNumber}/verification']!.post as {
      requestBody: {
        content: { 'application/json': { schema: { properties: Record<string, Schema>; required: string[] } } };
      };
    };
    verification.requestBody.content['application/json'].schema.properties.name = {
      type: 'string',
      minLength: 1,
      maxLength: 100,
    };
    // Breaking: gender may now be "unspecified"; birthDate no longer always present; purpose now required with one value fewer.
    next.components.schemas.Person!.properties.gender = { type: 'string', enum: ['male', 'female', 'unspecified'] };
    next.components.schemas.Person!.required = ['idNumber', 'name', 'gender'];
    verification.requestBody.content['application/json'].schema.required = ['name', 'purpose'];
    verification.requestBody.content['application/json'].schema.properties.purpose = {
      type: 'string',
      enum: ['case_acceptance'],
    };
    // Breaking: the household endpoint is gone.
    delete next.paths['/households/{householdNumber}'];

    const changes = diffContracts(fixture, next as unknown as Doc);
    const byCode = (code: string) => changes.filter((change) => change.code === code);
    expect(byCode('path_added')).toHaveLength(1);
    expect(byCode('request_max_length_increased')[0]).toMatchObject({
      severity: 'compatible',
      location: { method: 'POST', path: '/people/{idNumber}/verification' },
    });
    expect(byCode('response_property_added').length).toBeGreaterThan(0);
    expect(byCode('response_enum_value_added')[0]).toMatchObject({
      severity: 'breaking',
      location: { method: 'GET', path: '/people/{idNumber}' },
    });
    expect(byCode('response_property_became_optional')[0]?.location.pointer).toMatch(/properties\/birthDate$/);
    expect(byCode('request_property_became_required')[0]?.location.pointer).toMatch(/properties\/purpose$/);
    expect(byCode('request_enum_value_removed')).toHaveLength(1);
    expect(byCode('path_removed')[0]).toMatchObject({
      severity: 'breaking',
      location: { path: '/households/{householdNumber}' },
    });
    // Nothing unexpected is called breaking.
    const breakingCodes = new Set(
      changes.filter((change) => change.severity === 'breaking').map((change) => change.code),
    );
    expect([...breakingCodes].sort()).toEqual(
      [
        'path_removed',
        'request_enum_value_removed',
        'request_property_became_required',
        'response_enum_value_added',
        'response_property_became_optional',
      ].sort(),
    );
  });
});
