/**
 * The contract diff on labelled pairs of whole documents: each pair is one edit to a realistic
 * subjects-registry contract, labelled breaking, compatible or none (documentation at most) for
 * the clients of the old version, with the change codes and locations expected. Both directions
 * of the request/response asymmetry are covered, then 3.0 ↔ 3.1 equivalence, then robustness:
 * huge, deep and recursive documents, and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { readContractDocument } from './document.js';
import {
  type ContractChange,
  ContractDiff,
  ContractDiffError,
  MAX_LISTED_CHANGES,
  MAX_LISTED_CHANGE_CHARS,
  diffContracts,
} from './diff.js';

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `path` inside `root`; a test fixture typo fails loudly here rather than later. */
function obj(root: unknown, ...path: (string | number)[]): Obj {
  let current = root;
  for (const token of path)
    current = Array.isArray(current) ? current[Number(token)] : isObj(current) ? current[String(token)] : undefined;
  if (!isObj(current)) throw new Error(`fixture: no object at ${path.join('/')}`);
  return current;
}

function arr(root: unknown, ...path: (string | number)[]): unknown[] {
  const parent = obj(root, ...path.slice(0, -1));
  const value = parent[String(path[path.length - 1])];
  if (!Array.isArray(value)) throw new Error(`fixture: no array at ${path.join('/')}`);
  return value;
}

const schema = (doc: Obj, name: string) => obj(doc, 'components', 'schemas', name);
const props = (doc: Obj, name: string) => obj(doc, 'components', 'schemas', name, 'properties');
const prop = (doc: Obj, name: string, property: string) =>
  obj(doc, 'components', 'schemas', name, 'properties', property);
const required = (doc: Obj, name: string) => arr(doc, 'components', 'schemas', name, 'required');
const operation = (doc: Obj, path: string, method: string) => obj(doc, 'paths', path, method);
function parameter(doc: Obj, path: string, method: string, name: string): Obj {
  const found = arr(doc, 'paths', path, method, 'parameters').find((item) => isObj(item) && item.name === name);
  if (!isObj(found)) throw new Error(`fixture: no parameter ${name} on ${method} ${path}`);
  return found;
}
function remove(list: unknown[], value: unknown): void {
  const index = list.indexOf(value);
  if (index < 0) throw new Error(`fixture: ${String(value)} not in list`);
  list.splice(index, 1);
}
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schemaValue: unknown) => ({ 'application/json': { schema: schemaValue } });

/**
 * The 3.1 contract every pair edits: subjects (shared by four operations, recursive through a
 * nullable `parent`), subject input (shared by three request bodies), a shared address used in
 * both directions, oneOf/anyOf contacts, a map, a binary download and a recursive tree.
 */
function base(): Obj {
  return {
    openapi: '3.1.0',
    info: { title: 'Subjects registry', version: '1.0.0', description: 'Registered persons and enterprises.' },
    security: [{ appKey: [] }],
    paths: {
      '/subjects': {
        get: {
          operationId: 'listSubjects',
          summary: 'Lists subjects',
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string', enum: ['active', 'closed', 'pending'] } },
            { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 1 } },
            { name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
            { name: 'X-Trace', in: 'header', schema: { type: 'string' } },
          ],
          responses: {
            '200': { description: 'A page of subjects', content: json(ref('SubjectPage')) },
            '400': { $ref: '#/components/responses/Problem' },
          },
        },
        post: {
          operationId: 'createSubject',
          summary: 'Registers a subject',
          requestBody: {
            required: true,
            content: { ...json(ref('SubjectInput')), 'application/xml': { schema: ref('SubjectInput') } },
          },
          responses: {
            '201': {
              description: 'Registered',
              headers: {
                Location: { required: true, schema: { type: 'string', format: 'uri-reference' } },
                'X-Rate-Limit': { schema: { type: 'integer' } },
              },
              content: json(ref('Subject')),
            },
            '400': { $ref: '#/components/responses/Problem' },
          },
        },
      },
      '/subjects/{id}': {
        parameters: [{ $ref: '#/components/parameters/SubjectId' }],
        get: {
          operationId: 'getSubject',
          parameters: [{ name: 'fields', in: 'query', schema: { type: 'string', maxLength: 200 } }],
          responses: {
            '200': { description: 'The subject', content: json(ref('Subject')) },
            '404': { $ref: '#/components/responses/Problem' },
          },
        },
        put: {
          operationId: 'updateSubject',
          requestBody: { required: false, content: json(ref('SubjectInput')) },
          responses: {
            '200': { description: 'Updated', content: json(ref('Subject')) },
            '404': { $ref: '#/components/responses/Problem' },
          },
        },
        delete: { operationId: 'deleteSubject', responses: { '204': { description: 'Deleted' } } },
      },
      '/certificates/{certificateNo}/file': {
        get: {
          operationId: 'getCertificateFile',
          parameters: [
            {
              name: 'certificateNo',
              in: 'path',
              required: true,
              schema: { type: 'string', pattern: '^[A-Z0-9]{12}$' },
            },
          ],
          responses: {
            '200': {
              description: 'The certificate',
              content: { 'application/pdf': { schema: { type: 'string', contentMediaType: 'application/pdf' } } },
            },
          },
        },
      },
      '/trees/{id}': {
        get: {
          operationId: 'getTree',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'A tree', content: json(ref('Tree')) } },
        },
      },
    },
    components: {
      securitySchemes: { appKey: { type: 'apiKey', in: 'header', name: 'X-App-Key' } },
      parameters: {
        SubjectId: { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9A-Z]{18}$' } },
      },
      responses: {
        Problem: { description: 'A problem', content: { 'application/problem+json': { schema: ref('Problem') } } },
      },
      schemas: {
        Subject: {
          type: 'object',
          required: ['id', 'name', 'kind', 'createdAt'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string', maxLength: 100, examples: ['Zhang San'] },
            kind: { type: 'string', enum: ['person', 'enterprise'] },
            status: { type: ['string', 'null'], enum: ['active', 'closed', null] },
            createdAt: { type: 'string', format: 'date-time' },
            score: { type: 'number', minimum: 0, maximum: 100 },
            count: { type: 'integer', format: 'int32' },
            photo: { type: 'string', contentEncoding: 'base64' },
            tags: { type: 'array', items: { type: 'string' } },
            nickname: { type: ['string', 'null'] },
            address: ref('Address'),
            contact: { oneOf: [ref('Phone'), ref('Email')] },
            attributes: { type: 'object', additionalProperties: { type: 'string' } },
            parent: { anyOf: [ref('Subject'), { type: 'null' }] },
          },
        },
        SubjectPage: {
          type: 'object',
          required: ['items'],
          properties: { items: { type: 'array', items: ref('Subject') }, next: { type: ['string', 'null'] } },
        },
        SubjectInput: {
          type: 'object',
          required: ['name', 'kind'],
          properties: {
            id: { type: 'string', readOnly: true },
            name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^\\S' },
            kind: { type: 'string', enum: ['person', 'enterprise'] },
            idNumber: { type: 'string', pattern: '^[0-9]{17}[0-9X]$' },
            birthDate: { type: 'string', format: 'date' },
            score: { type: 'integer', minimum: 0, maximum: 100 },
            amount: { type: 'number', multipleOf: 0.01, exclusiveMinimum: 0 },
            tags: { type: 'array', items: { type: 'string', maxLength: 20 }, maxItems: 10 },
            address: ref('Address'),
            notify: { type: 'boolean', default: false },
            contact: { anyOf: [ref('Phone'), ref('Email')] },
          },
        },
        Address: {
          type: 'object',
          required: ['line1'],
          properties: { line1: { type: 'string' }, city: { type: 'string' }, postcode: { type: 'string' } },
        },
        Phone: { type: 'object', title: 'Phone', required: ['phone'], properties: { phone: { type: 'string' } } },
        Email: {
          type: 'object',
          title: 'Email',
          required: ['email'],
          properties: { email: { type: 'string', format: 'email' } },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title'],
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' } },
        },
        Tree: {
          type: 'object',
          required: ['value'],
          properties: {
            value: { type: 'string' },
            children: { type: 'array', items: ref('Tree') },
            meta: ref('TreeMeta'),
          },
        },
        TreeMeta: { type: 'object', properties: { label: { type: 'string', maxLength: 10 }, owner: ref('Tree') } },
      },
    },
  };
}

/** The same contract written in OpenAPI 3.0, in the idioms 3.0 documents really use. */
function base30(): Obj {
  const doc = base();
  doc.openapi = '3.0.3';
  const subject = props(doc, 'Subject');
  subject.name = { type: 'string', maxLength: 100, example: 'Zhang San' };
  subject.status = { type: 'string', enum: ['active', 'closed'], nullable: true };
  subject.photo = { type: 'string', format: 'byte' };
  subject.nickname = { type: 'string', nullable: true };
  subject.parent = { allOf: [ref('Subject')], nullable: true };
  props(doc, 'SubjectPage').next = { type: 'string', nullable: true };
  props(doc, 'SubjectInput').amount = { type: 'number', multipleOf: 0.01, minimum: 0, exclusiveMinimum: true };
  obj(
    doc,
    'paths',
    '/certificates/{certificateNo}/file',
    'get',
    'responses',
    '200',
    'content',
    'application/pdf',
  ).schema = { type: 'string', format: 'binary' };
  return doc;
}

function variant(edit: (doc: Obj) => void, from: () => Obj = base): Obj {
  const doc = from();
  edit(doc);
  return doc;
}

/** The response contact with a discriminator on `propertyName`; both alternatives carry both names. */
function withDiscriminator(propertyName: string): Obj {
  return variant((d) => {
    for (const name of ['Phone', 'Email']) {
      Object.assign(props(d, name), { channel: { type: 'string' }, medium: { type: 'string' } });
      required(d, name).push('channel', 'medium');
    }
    prop(d, 'Subject', 'contact').discriminator = {
      propertyName,
      mapping: { phone: '#/components/schemas/Phone', email: '#/components/schemas/Email' },
    };
  });
}

/** Enterprises must send more: `if` kind is enterprise `then` these are required. */
function withConditional(requiredWhenEnterprise: string[]): Obj {
  return variant((d) => {
    Object.assign(schema(d, 'SubjectInput'), {
      if: { properties: { kind: { const: 'enterprise' } }, required: ['kind'] },
      then: { required: requiredWhenEnterprise },
    });
  });
}

/** A webhook and a callback sending the same event schema. */
function withEvents(): Obj {
  return variant((d) => {
    obj(d, 'components', 'schemas').SubjectEvent = {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
    };
    const eventDelivery = () => ({
      post: {
        requestBody: { required: true, content: json(ref('SubjectEvent')) },
        responses: { '200': { description: 'Received' } },
      },
    });
    d.webhooks = { subjectChanged: eventDelivery() };
    operation(d, '/subjects', 'post').callbacks = { onRegistered: { '{$request.body#/callbackUrl}': eventDelivery() } };
  });
}

/** Two paths of one shape, `/projects/{key}` and `/projects/{id}`, as a real document had them. */
function withTwinPaths(): Obj {
  return variant((d) => {
    const projectKey = (name: string) => [{ name, in: 'path', required: true, schema: { type: 'string' } }];
    obj(d, 'paths')['/projects/{key}'] = {
      get: {
        parameters: projectKey('key'),
        responses: {
          '200': { description: 'By key', content: json({ type: 'object', properties: { key: { type: 'string' } } }) },
        },
      },
    };
    obj(d, 'paths')['/projects/{id}'] = {
      delete: { parameters: projectKey('id'), responses: { '204': { description: 'Deleted' } } },
    };
  });
}

// Pointers to where the shared schemas are used.
const LIST_200 = '/paths/~1subjects/get/responses/200/content/application~1json/schema';
const CREATE_BODY = '/paths/~1subjects/post/requestBody/content/application~1json/schema';
const CREATE_201 = '/paths/~1subjects/post/responses/201';
const GET_200 = '/paths/~1subjects~1{id}/get/responses/200/content/application~1json/schema';
const UPDATE_BODY = '/paths/~1subjects~1{id}/put/requestBody/content/application~1json/schema';
const TREE_200 = '/paths/~1trees~1{id}/get/responses/200/content/application~1json/schema';

interface ExpectedChange {
  code: string;
  severity: 'breaking' | 'compatible';
  method?: string;
  path?: string;
  parameter?: string;
  pointer?: string;
  direction?: 'request' | 'response';
  /** Exactly this many changes with this code (all locations). */
  count?: number;
}

interface LabelledPair {
  label: string;
  before: Obj;
  after: Obj;
  /** breaking: at least one breaking change; compatible: changes, none breaking; none: documentation at most. */
  classification: 'breaking' | 'compatible' | 'none';
  expected: ExpectedChange[];
}

const breaking = (code: string, where: Omit<ExpectedChange, 'code' | 'severity'> = {}): ExpectedChange => ({
  code,
  severity: 'breaking',
  ...where,
});
const compatible = (code: string, where: Omit<ExpectedChange, 'code' | 'severity'> = {}): ExpectedChange => ({
  code,
  severity: 'compatible',
  ...where,
});

const pairs: LabelledPair[] = [
  // --- paths and operations ---
  {
    label: 'path removed',
    before: base(),
    after: variant((d) => delete obj(d, 'paths')['/certificates/{certificateNo}/file']),
    classification: 'breaking',
    expected: [
      breaking('path_removed', {
        path: '/certificates/{certificateNo}/file',
        pointer: '/paths/~1certificates~1{certificateNo}~1file',
      }),
    ],
  },
  {
    label: 'operation removed, path kept',
    before: base(),
    after: variant((d) => delete obj(d, 'paths', '/subjects/{id}').delete),
    classification: 'breaking',
    expected: [breaking('operation_removed', { method: 'DELETE', path: '/subjects/{id}' })],
  },
  {
    label: 'path added',
    before: base(),
    after: variant(
      (d) =>
        (obj(d, 'paths')['/subjects/{id}/history'] = {
          get: {
            parameters: [{ $ref: '#/components/parameters/SubjectId' }],
            responses: { '200': { description: 'History' } },
          },
        }),
    ),
    classification: 'compatible',
    expected: [compatible('path_added', { path: '/subjects/{id}/history' })],
  },
  {
    label: 'operation added to an existing path',
    before: base(),
    after: variant(
      (d) => (obj(d, 'paths', '/subjects/{id}').patch = { responses: { '200': { description: 'Patched' } } }),
    ),
    classification: 'compatible',
    expected: [compatible('operation_added', { method: 'PATCH', path: '/subjects/{id}' })],
  },
  {
    label: 'path parameter renamed (/{id} → /{subjectId})',
    before: base(),
    after: variant((d) => {
      const paths = obj(d, 'paths');
      paths['/subjects/{subjectId}'] = paths['/subjects/{id}'];
      delete paths['/subjects/{id}'];
      obj(d, 'components', 'parameters', 'SubjectId').name = 'subjectId';
    }),
    classification: 'none',
    expected: [],
  },
  {
    label: 'path parameter renamed and its pattern changed',
    before: base(),
    after: variant((d) => {
      const paths = obj(d, 'paths');
      paths['/subjects/{subjectId}'] = paths['/subjects/{id}'];
      delete paths['/subjects/{id}'];
      obj(d, 'components', 'parameters', 'SubjectId').name = 'subjectId';
      obj(d, 'components', 'parameters', 'SubjectId', 'schema').pattern = '^[0-9]{18}$';
    }),
    classification: 'breaking',
    expected: [
      breaking('request_pattern_changed', {
        method: 'GET',
        path: '/subjects/{subjectId}',
        parameter: 'path:subjectId',
        pointer: '/paths/~1subjects~1{subjectId}/get/parameters/subjectId/schema',
        count: 3,
      }),
    ],
  },
  {
    label: 'path-level parameter moved into each operation',
    before: base(),
    after: variant((d) => {
      const item = obj(d, 'paths', '/subjects/{id}');
      delete item.parameters;
      for (const method of ['get', 'put', 'delete']) {
        const target = obj(item, method);
        target.parameters = [
          { $ref: '#/components/parameters/SubjectId' },
          ...(Array.isArray(target.parameters) ? target.parameters : []),
        ];
      }
    }),
    classification: 'none',
    expected: [],
  },
  {
    label: 'query parameter moved to a header',
    before: base(),
    after: variant((d) => (parameter(d, '/subjects/{id}', 'get', 'fields').in = 'header')),
    classification: 'breaking',
    expected: [
      breaking('request_parameter_location_changed', {
        method: 'GET',
        path: '/subjects/{id}',
        parameter: 'header:fields',
        count: 1,
      }),
    ],
  },
  {
    label: 'new required query parameter',
    before: base(),
    after: variant((d) =>
      arr(d, 'paths', '/subjects', 'get', 'parameters').push({
        name: 'registry',
        in: 'query',
        required: true,
        schema: { type: 'string' },
      }),
    ),
    classification: 'breaking',
    expected: [
      breaking('request_parameter_added_required', {
        method: 'GET',
        path: '/subjects',
        parameter: 'query:registry',
        direction: 'request',
      }),
    ],
  },
  {
    label: 'new optional query parameter',
    before: base(),
    after: variant((d) =>
      arr(d, 'paths', '/subjects', 'get', 'parameters').push({
        name: 'registry',
        in: 'query',
        schema: { type: 'string' },
      }),
    ),
    classification: 'compatible',
    expected: [compatible('request_parameter_added', { parameter: 'query:registry' })],
  },
  {
    label: 'query parameter became required',
    before: base(),
    after: variant((d) => (parameter(d, '/subjects', 'get', 'status').required = true)),
    classification: 'breaking',
    expected: [breaking('request_parameter_became_required', { parameter: 'query:status' })],
  },
  {
    label: 'header parameter became optional',
    before: variant((d) => (parameter(d, '/subjects', 'get', 'X-Trace').required = true)),
    after: base(),
    classification: 'compatible',
    expected: [compatible('request_parameter_became_optional', { parameter: 'header:x-trace' })],
  },
  {
    label: 'optional query parameter removed',
    before: base(),
    after: variant((d) =>
      remove(arr(d, 'paths', '/subjects', 'get', 'parameters'), parameter(d, '/subjects', 'get', 'tags')),
    ),
    classification: 'breaking',
    expected: [breaking('request_parameter_removed', { parameter: 'query:tags' })],
  },
  {
    label: 'parameter default changed',
    before: base(),
    after: variant((d) => (obj(parameter(d, '/subjects', 'get', 'page'), 'schema').default = 10)),
    classification: 'breaking',
    expected: [
      breaking('request_default_changed', {
        parameter: 'query:page',
        pointer: '/paths/~1subjects/get/parameters/page/schema',
      }),
    ],
  },
  {
    label: 'array parameter serialisation changed (explode)',
    before: base(),
    after: variant((d) => (parameter(d, '/subjects', 'get', 'tags').explode = false)),
    classification: 'breaking',
    expected: [breaking('request_parameter_style_changed', { parameter: 'query:tags' })],
  },
  {
    label: 'parameter deprecated',
    before: base(),
    after: variant((d) => (parameter(d, '/subjects', 'get', 'status').deprecated = true)),
    classification: 'compatible',
    expected: [compatible('parameter_deprecated', { parameter: 'query:status' })],
  },
  {
    label: 'parameter maximum raised',
    before: base(),
    after: variant((d) => (obj(parameter(d, '/subjects', 'get', 'page'), 'schema').maximum = 500)),
    classification: 'compatible',
    expected: [compatible('request_maximum_increased', { parameter: 'query:page' })],
  },
  {
    label: 'parameter maximum lowered',
    before: base(),
    after: variant((d) => (obj(parameter(d, '/subjects', 'get', 'page'), 'schema').maximum = 50)),
    classification: 'breaking',
    expected: [breaking('request_maximum_decreased', { parameter: 'query:page' })],
  },
  {
    label: 'parameter enum narrowed',
    before: base(),
    after: variant((d) => remove(arr(parameter(d, '/subjects', 'get', 'status'), 'schema', 'enum'), 'pending')),
    classification: 'breaking',
    expected: [breaking('request_enum_value_removed', { parameter: 'query:status' })],
  },
  {
    label: 'parameter enum widened',
    before: base(),
    after: variant((d) => arr(parameter(d, '/subjects', 'get', 'status'), 'schema', 'enum').push('archived')),
    classification: 'compatible',
    expected: [compatible('request_enum_value_added', { parameter: 'query:status' })],
  },
  {
    label: 'parameter type widened (integer → number)',
    before: base(),
    after: variant((d) => (obj(parameter(d, '/subjects', 'get', 'page'), 'schema').type = 'number')),
    classification: 'compatible',
    expected: [compatible('request_type_widened', { parameter: 'query:page' })],
  },
  {
    label: 'parameter type changed (integer → string)',
    before: base(),
    after: variant((d) => (obj(parameter(d, '/subjects', 'get', 'page'), 'schema').type = 'string')),
    classification: 'breaking',
    expected: [breaking('request_type_changed', { parameter: 'query:page' })],
  },
  {
    label: 'header parameter name re-cased',
    before: base(),
    after: variant((d) => (parameter(d, '/subjects', 'get', 'X-Trace').name = 'x-trace')),
    classification: 'none',
    expected: [],
  },
  {
    label: 'required Authorization header parameter documented (ignored by OpenAPI)',
    before: base(),
    after: variant((d) =>
      arr(d, 'paths', '/subjects', 'get', 'parameters').push({
        name: 'Authorization',
        in: 'header',
        required: true,
        schema: { type: 'string' },
      }),
    ),
    classification: 'none',
    expected: [],
  },

  // --- request bodies ---
  {
    label: 'new required request-body property',
    before: base(),
    after: variant((d) => {
      props(d, 'SubjectInput').registryCode = { type: 'string' };
      required(d, 'SubjectInput').push('registryCode');
    }),
    classification: 'breaking',
    expected: [
      breaking('request_required_property_added', {
        method: 'POST',
        path: '/subjects',
        pointer: `${CREATE_BODY}/properties/registryCode`,
        direction: 'request',
        count: 3,
      }),
      breaking('request_required_property_added', {
        method: 'PUT',
        path: '/subjects/{id}',
        pointer: `${UPDATE_BODY}/properties/registryCode`,
      }),
    ],
  },
  {
    label: 'new optional request-body property',
    before: base(),
    after: variant((d) => (props(d, 'SubjectInput').registryCode = { type: 'string' })),
    classification: 'compatible',
    expected: [compatible('request_property_added', { pointer: `${CREATE_BODY}/properties/registryCode` })],
  },
  {
    label: 'request property became optional',
    before: base(),
    after: variant((d) => remove(required(d, 'SubjectInput'), 'kind')),
    classification: 'compatible',
    expected: [compatible('request_property_became_optional', { pointer: `${CREATE_BODY}/properties/kind` })],
  },
  {
    label: 'request property became required',
    before: base(),
    after: variant((d) => required(d, 'SubjectInput').push('birthDate')),
    classification: 'breaking',
    expected: [breaking('request_property_became_required', { pointer: `${CREATE_BODY}/properties/birthDate` })],
  },
  {
    label: 'request name required without being described as a property',
    before: base(),
    after: variant((d) => required(d, 'SubjectInput').push('channel')),
    classification: 'breaking',
    expected: [breaking('request_property_became_required', { pointer: `${CREATE_BODY}/properties/channel` })],
  },
  {
    label: 'request property type changed',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'score').type = 'string')),
    classification: 'breaking',
    expected: [breaking('request_type_changed', { pointer: `${CREATE_BODY}/properties/score` })],
  },
  {
    label: 'request minLength raised',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'name').minLength = 2)),
    classification: 'breaking',
    expected: [breaking('request_min_length_increased', { pointer: `${CREATE_BODY}/properties/name` })],
  },
  {
    label: 'request minLength lowered',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'name').minLength = 0)),
    classification: 'compatible',
    expected: [compatible('request_min_length_decreased', { pointer: `${CREATE_BODY}/properties/name` })],
  },
  {
    label: 'request maxLength lowered',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'name').maxLength = 50)),
    classification: 'breaking',
    expected: [breaking('request_max_length_decreased', { pointer: `${CREATE_BODY}/properties/name` })],
  },
  {
    label: 'request maxLength raised',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'name').maxLength = 200)),
    classification: 'compatible',
    expected: [compatible('request_max_length_increased', { pointer: `${CREATE_BODY}/properties/name` })],
  },
  {
    label: 'request minimum raised',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'score').minimum = 1)),
    classification: 'breaking',
    expected: [breaking('request_minimum_increased', { pointer: `${CREATE_BODY}/properties/score` })],
  },
  {
    label: 'request maximum removed',
    before: base(),
    after: variant((d) => delete prop(d, 'SubjectInput', 'score').maximum),
    classification: 'compatible',
    expected: [compatible('request_maximum_increased', { pointer: `${CREATE_BODY}/properties/score` })],
  },
  {
    label: 'request exclusive minimum made inclusive (3.1 numeric form)',
    before: base(),
    after: variant((d) => {
      delete prop(d, 'SubjectInput', 'amount').exclusiveMinimum;
      prop(d, 'SubjectInput', 'amount').minimum = 0;
    }),
    classification: 'compatible',
    expected: [compatible('request_minimum_decreased', { pointer: `${CREATE_BODY}/properties/amount` })],
  },
  {
    label: 'request minimum made exclusive (3.0 boolean form)',
    before: variant((d) => (prop(d, 'SubjectInput', 'score').minimum = 0), base30),
    after: variant((d) => (prop(d, 'SubjectInput', 'score').exclusiveMinimum = true), base30),
    classification: 'breaking',
    expected: [breaking('request_minimum_increased', { pointer: `${CREATE_BODY}/properties/score` })],
  },
  {
    label: 'request pattern changed',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'idNumber').pattern = '^[0-9]{18}$')),
    classification: 'breaking',
    expected: [breaking('request_pattern_changed', { pointer: `${CREATE_BODY}/properties/idNumber` })],
  },
  {
    label: 'request pattern removed',
    before: base(),
    after: variant((d) => delete prop(d, 'SubjectInput', 'idNumber').pattern),
    classification: 'compatible',
    expected: [compatible('request_pattern_removed', { pointer: `${CREATE_BODY}/properties/idNumber` })],
  },
  {
    label: 'request pattern added to array items',
    before: base(),
    after: variant((d) => (obj(prop(d, 'SubjectInput', 'tags'), 'items').pattern = '^[a-z]+$')),
    classification: 'breaking',
    expected: [breaking('request_pattern_added', { pointer: `${CREATE_BODY}/properties/tags/items` })],
  },
  {
    label: 'request format changed (date → date-time)',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'birthDate').format = 'date-time')),
    classification: 'breaking',
    expected: [breaking('request_format_changed', { pointer: `${CREATE_BODY}/properties/birthDate` })],
  },
  {
    label: 'request format removed',
    before: base(),
    after: variant((d) => delete prop(d, 'SubjectInput', 'birthDate').format),
    classification: 'compatible',
    expected: [compatible('request_format_removed', { pointer: `${CREATE_BODY}/properties/birthDate` })],
  },
  {
    label: 'request format added',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'idNumber').format = 'uuid')),
    classification: 'breaking',
    expected: [breaking('request_format_changed', { pointer: `${CREATE_BODY}/properties/idNumber` })],
  },
  {
    label: 'request enum narrowed',
    before: base(),
    after: variant((d) => remove(arr(prop(d, 'SubjectInput', 'kind'), 'enum'), 'enterprise')),
    classification: 'breaking',
    expected: [breaking('request_enum_value_removed', { pointer: `${CREATE_BODY}/properties/kind` })],
  },
  {
    label: 'request enum widened',
    before: base(),
    after: variant((d) => arr(prop(d, 'SubjectInput', 'kind'), 'enum').push('organisation')),
    classification: 'compatible',
    expected: [compatible('request_enum_value_added', { pointer: `${CREATE_BODY}/properties/kind` })],
  },
  {
    label: 'request multipleOf made coarser',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'amount').multipleOf = 0.05)),
    classification: 'breaking',
    expected: [breaking('request_multiple_of_changed', { pointer: `${CREATE_BODY}/properties/amount` })],
  },
  {
    label: 'request multipleOf made finer',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'amount').multipleOf = 0.001)),
    classification: 'compatible',
    expected: [compatible('request_multiple_of_changed', { pointer: `${CREATE_BODY}/properties/amount` })],
  },
  {
    label: 'request uniqueItems added',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'tags').uniqueItems = true)),
    classification: 'breaking',
    expected: [breaking('request_unique_items_added', { pointer: `${CREATE_BODY}/properties/tags` })],
  },
  {
    label: 'request body became optional',
    before: base(),
    after: variant((d) => (obj(operation(d, '/subjects', 'post'), 'requestBody').required = false)),
    classification: 'compatible',
    expected: [compatible('request_body_became_optional', { method: 'POST', path: '/subjects' })],
  },
  {
    label: 'request body became required',
    before: base(),
    after: variant((d) => (obj(operation(d, '/subjects/{id}', 'put'), 'requestBody').required = true)),
    classification: 'breaking',
    expected: [breaking('request_body_became_required', { method: 'PUT', path: '/subjects/{id}' })],
  },
  {
    label: 'request media type removed',
    before: base(),
    after: variant((d) => delete obj(operation(d, '/subjects', 'post'), 'requestBody', 'content')['application/xml']),
    classification: 'breaking',
    expected: [
      breaking('request_media_type_removed', {
        method: 'POST',
        pointer: '/paths/~1subjects/post/requestBody/content/application~1xml',
      }),
    ],
  },
  {
    label: 'request media type gains a charset parameter',
    before: base(),
    after: variant((d) => {
      const content = obj(operation(d, '/subjects', 'post'), 'requestBody', 'content');
      content['application/json; charset=utf-8'] = content['application/json'];
      delete content['application/json'];
    }),
    classification: 'none',
    expected: [],
  },
  {
    label: 'request media types broadened to a wildcard range',
    before: base(),
    after: variant(
      (d) =>
        (obj(operation(d, '/subjects', 'post'), 'requestBody').content = {
          'application/*': { schema: ref('SubjectInput') },
        }),
    ),
    classification: 'compatible',
    expected: [
      compatible('request_media_type_added', { pointer: '/paths/~1subjects/post/requestBody/content/application~1*' }),
    ],
  },
  {
    label: 'additionalProperties: false added to a request schema',
    before: base(),
    after: variant((d) => (schema(d, 'SubjectInput').additionalProperties = false)),
    classification: 'breaking',
    expected: [breaking('request_additional_properties_refused', { pointer: CREATE_BODY, count: 3 })],
  },
  {
    label: 'additionalProperties: false removed from a request schema',
    before: variant((d) => (schema(d, 'SubjectInput').additionalProperties = false)),
    after: base(),
    classification: 'compatible',
    expected: [compatible('request_additional_properties_allowed', { pointer: CREATE_BODY })],
  },
  {
    label: 'request array item type changed',
    before: base(),
    after: variant((d) => (obj(prop(d, 'SubjectInput', 'tags'), 'items').type = 'integer')),
    classification: 'breaking',
    expected: [breaking('request_type_changed', { pointer: `${CREATE_BODY}/properties/tags/items` })],
  },
  {
    label: 'request maxItems lowered',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'tags').maxItems = 5)),
    classification: 'breaking',
    expected: [breaking('request_max_items_decreased', { pointer: `${CREATE_BODY}/properties/tags` })],
  },
  {
    label: 'request array item constraint loosened',
    before: base(),
    after: variant((d) => (obj(prop(d, 'SubjectInput', 'tags'), 'items').maxLength = 40)),
    classification: 'compatible',
    expected: [compatible('request_max_length_increased', { pointer: `${CREATE_BODY}/properties/tags/items` })],
  },
  {
    label: 'request default value changed',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'notify').default = true)),
    classification: 'breaking',
    expected: [breaking('request_default_changed', { pointer: `${CREATE_BODY}/properties/notify` })],
  },
  {
    label: 'request default value documented',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'score').default = 50)),
    classification: 'compatible',
    expected: [compatible('request_default_added', { pointer: `${CREATE_BODY}/properties/score` })],
  },
  {
    label: 'request property deprecated',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'idNumber').deprecated = true)),
    classification: 'compatible',
    expected: [compatible('schema_deprecated', { pointer: `${CREATE_BODY}/properties/idNumber` })],
  },
  {
    label: 'request property may now be null (3.1 type array)',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'birthDate').type = ['string', 'null'])),
    classification: 'compatible',
    expected: [compatible('request_type_widened', { pointer: `${CREATE_BODY}/properties/birthDate` })],
  },
  {
    label: 'request property no longer nullable (3.0 nullable)',
    before: variant((d) => (prop(d, 'SubjectInput', 'birthDate').nullable = true), base30),
    after: base30(),
    classification: 'breaking',
    expected: [breaking('request_type_changed', { pointer: `${CREATE_BODY}/properties/birthDate` })],
  },
  {
    label: 'read-only property listed as required in the request schema',
    before: base(),
    after: variant((d) => required(d, 'SubjectInput').push('id')),
    classification: 'none',
    expected: [],
  },
  {
    label: 'request anyOf alternative removed',
    before: base(),
    after: variant((d) => arr(prop(d, 'SubjectInput', 'contact'), 'anyOf').pop()),
    classification: 'breaking',
    expected: [breaking('request_any_of_variant_removed', { pointer: `${CREATE_BODY}/properties/contact/anyOf/1` })],
  },
  {
    label: 'request value became anyOf with one more alternative',
    before: base(),
    after: variant(
      (d) =>
        (props(d, 'SubjectInput').birthDate = {
          anyOf: [
            { type: 'string', format: 'date' },
            { type: 'string', format: 'date-time' },
          ],
        }),
    ),
    classification: 'compatible',
    expected: [compatible('request_any_of_variant_added', { pointer: `${CREATE_BODY}/properties/birthDate/anyOf/1` })],
  },
  {
    label: 'request anyOf became oneOf',
    before: base(),
    after: variant((d) => {
      const contact = prop(d, 'SubjectInput', 'contact');
      contact.oneOf = contact.anyOf;
      delete contact.anyOf;
    }),
    classification: 'breaking',
    expected: [breaking('request_composition_changed', { pointer: `${CREATE_BODY}/properties/contact` })],
  },
  {
    label: 'required property added to a component shared by requests and responses',
    before: base(),
    after: variant((d) => {
      props(d, 'Address').country = { type: 'string' };
      required(d, 'Address').push('country');
    }),
    classification: 'breaking',
    expected: [
      breaking('request_required_property_added', {
        method: 'POST',
        pointer: `${CREATE_BODY}/properties/address/properties/country`,
      }),
      breaking('request_required_property_added', {
        method: 'PUT',
        pointer: `${UPDATE_BODY}/properties/address/properties/country`,
      }),
      compatible('response_property_added', {
        method: 'GET',
        path: '/subjects/{id}',
        pointer: `${GET_200}/properties/address/properties/country`,
      }),
    ],
  },

  // --- responses ---
  {
    label: 'response property removed from a schema four operations return',
    before: base(),
    after: variant((d) => delete props(d, 'Subject').score),
    classification: 'breaking',
    expected: [
      breaking('response_property_removed', {
        method: 'GET',
        path: '/subjects',
        pointer: `${LIST_200}/properties/items/items/properties/score`,
      }),
      breaking('response_property_removed', {
        method: 'POST',
        path: '/subjects',
        pointer: `${CREATE_201}/content/application~1json/schema/properties/score`,
      }),
      breaking('response_property_removed', {
        method: 'GET',
        path: '/subjects/{id}',
        pointer: `${GET_200}/properties/score`,
        direction: 'response',
      }),
      breaking('response_property_removed', { method: 'PUT', path: '/subjects/{id}' }),
    ],
  },
  {
    label: 'optional response property added',
    before: base(),
    after: variant((d) => (props(d, 'Subject').registeredBy = { type: 'string' })),
    classification: 'compatible',
    expected: [compatible('response_property_added', { pointer: `${GET_200}/properties/registeredBy` })],
  },
  {
    label: 'response property became optional',
    before: base(),
    after: variant((d) => remove(required(d, 'Subject'), 'createdAt')),
    classification: 'breaking',
    expected: [breaking('response_property_became_optional', { pointer: `${GET_200}/properties/createdAt` })],
  },
  {
    label: 'response property became required',
    before: base(),
    after: variant((d) => required(d, 'Subject').push('score')),
    classification: 'compatible',
    expected: [compatible('response_property_became_required', { pointer: `${GET_200}/properties/score` })],
  },
  {
    label: 'response enum widened',
    before: base(),
    after: variant((d) => arr(prop(d, 'Subject', 'kind'), 'enum').push('organisation')),
    classification: 'breaking',
    expected: [breaking('response_enum_value_added', { pointer: `${GET_200}/properties/kind` })],
  },
  {
    label: 'response enum narrowed',
    before: base(),
    after: variant((d) => remove(arr(prop(d, 'Subject', 'kind'), 'enum'), 'enterprise')),
    classification: 'compatible',
    expected: [compatible('response_enum_value_removed', { pointer: `${GET_200}/properties/kind` })],
  },
  {
    label: 'response type changed',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'score').type = 'string')),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/score` })],
  },
  {
    label: 'response type narrowed (number → integer)',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'score').type = 'integer')),
    classification: 'compatible',
    expected: [compatible('response_type_narrowed', { pointer: `${GET_200}/properties/score` })],
  },
  {
    label: 'response value may now be null (3.1 type array)',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'name').type = ['string', 'null'])),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/name` })],
  },
  {
    label: 'response value may now be null (3.0 nullable)',
    before: base30(),
    after: variant((d) => (prop(d, 'Subject', 'name').nullable = true), base30),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/name` })],
  },
  {
    label: 'response value may now be null (3.1 anyOf with null)',
    before: base(),
    after: variant((d) => (props(d, 'Subject').address = { anyOf: [ref('Address'), { type: 'null' }] })),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/address` })],
  },
  {
    label: 'response value no longer null',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'nickname').type = 'string')),
    classification: 'compatible',
    expected: [compatible('response_type_narrowed', { pointer: `${GET_200}/properties/nickname` })],
  },
  {
    label: 'response format changed (date-time → date)',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'createdAt').format = 'date')),
    classification: 'breaking',
    expected: [breaking('response_format_changed', { pointer: `${GET_200}/properties/createdAt` })],
  },
  {
    label: 'response integer format widened (int32 → int64)',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'count').format = 'int64')),
    classification: 'breaking',
    expected: [breaking('response_format_changed', { pointer: `${GET_200}/properties/count` })],
  },
  {
    label: 'response integer format narrowed (int64 → int32)',
    before: variant((d) => (prop(d, 'Subject', 'count').format = 'int64')),
    after: base(),
    classification: 'compatible',
    expected: [compatible('response_format_narrowed', { pointer: `${GET_200}/properties/count` })],
  },
  {
    label: 'response format removed',
    before: base(),
    after: variant((d) => delete prop(d, 'Subject', 'createdAt').format),
    classification: 'breaking',
    expected: [breaking('response_format_removed', { pointer: `${GET_200}/properties/createdAt` })],
  },
  {
    label: 'response maxLength raised',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'name').maxLength = 200)),
    classification: 'breaking',
    expected: [breaking('response_max_length_increased', { pointer: `${GET_200}/properties/name` })],
  },
  {
    label: 'response maxLength lowered',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'name').maxLength = 50)),
    classification: 'compatible',
    expected: [compatible('response_max_length_decreased', { pointer: `${GET_200}/properties/name` })],
  },
  {
    label: 'response maximum removed',
    before: base(),
    after: variant((d) => delete prop(d, 'Subject', 'score').maximum),
    classification: 'breaking',
    expected: [breaking('response_maximum_increased', { pointer: `${GET_200}/properties/score` })],
  },
  {
    label: 'success status changed (201 → 200)',
    before: base(),
    after: variant((d) => {
      const responses = obj(operation(d, '/subjects', 'post'), 'responses');
      responses['200'] = responses['201'];
      delete responses['201'];
    }),
    classification: 'breaking',
    expected: [
      breaking('response_status_removed', { method: 'POST', pointer: CREATE_201 }),
      compatible('response_status_added', { pointer: '/paths/~1subjects/post/responses/200' }),
    ],
  },
  {
    label: 'error status removed',
    before: base(),
    after: variant((d) => delete obj(operation(d, '/subjects/{id}', 'get'), 'responses')['404']),
    classification: 'compatible',
    expected: [compatible('response_error_status_removed', { method: 'GET', path: '/subjects/{id}' })],
  },
  {
    label: 'error status added',
    before: base(),
    after: variant(
      (d) => (obj(operation(d, '/subjects', 'post'), 'responses')['409'] = { $ref: '#/components/responses/Problem' }),
    ),
    classification: 'compatible',
    expected: [compatible('response_status_added', { pointer: '/paths/~1subjects/post/responses/409' })],
  },
  {
    label: 'specific success status folded into its 2XX range',
    before: base(),
    after: variant((d) => {
      const responses = obj(operation(d, '/subjects/{id}', 'get'), 'responses');
      responses['2XX'] = responses['200'];
      delete responses['200'];
    }),
    classification: 'compatible',
    expected: [compatible('response_status_added', { pointer: '/paths/~1subjects~1{id}/get/responses/2XX' })],
  },
  {
    label: 'response media type replaced',
    before: base(),
    after: variant(
      (d) =>
        (obj(operation(d, '/subjects/{id}', 'get'), 'responses', '200').content = {
          'application/xml': { schema: ref('Subject') },
        }),
    ),
    classification: 'breaking',
    expected: [
      breaking('response_media_type_removed', {
        pointer: '/paths/~1subjects~1{id}/get/responses/200/content/application~1json',
      }),
      compatible('response_media_type_added', {
        pointer: '/paths/~1subjects~1{id}/get/responses/200/content/application~1xml',
      }),
    ],
  },
  {
    label: 'response media type added',
    before: base(),
    after: variant(
      (d) =>
        (obj(operation(d, '/subjects/{id}', 'get'), 'responses', '200', 'content')['application/xml'] = {
          schema: ref('Subject'),
        }),
    ),
    classification: 'compatible',
    expected: [compatible('response_media_type_added')],
  },
  {
    label: 'binary download media type changed',
    before: base(),
    after: variant(
      (d) =>
        (obj(operation(d, '/certificates/{certificateNo}/file', 'get'), 'responses', '200').content = {
          'application/octet-stream': {},
        }),
    ),
    classification: 'breaking',
    expected: [
      breaking('response_media_type_removed', {
        pointer: '/paths/~1certificates~1{certificateNo}~1file/get/responses/200/content/application~1pdf',
      }),
    ],
  },
  {
    label: 'required response header removed',
    before: base(),
    after: variant((d) => delete obj(operation(d, '/subjects', 'post'), 'responses', '201', 'headers').Location),
    classification: 'breaking',
    expected: [breaking('response_header_removed', { pointer: `${CREATE_201}/headers/Location` })],
  },
  {
    label: 'response header became optional',
    before: base(),
    after: variant(
      (d) => (obj(operation(d, '/subjects', 'post'), 'responses', '201', 'headers', 'Location').required = false),
    ),
    classification: 'breaking',
    expected: [breaking('response_header_became_optional', { pointer: `${CREATE_201}/headers/Location` })],
  },
  {
    label: 'optional response header removed',
    before: base(),
    after: variant((d) => delete obj(operation(d, '/subjects', 'post'), 'responses', '201', 'headers')['X-Rate-Limit']),
    classification: 'breaking',
    expected: [breaking('response_header_removed', { pointer: `${CREATE_201}/headers/X-Rate-Limit` })],
  },
  {
    label: 'response header type changed',
    before: base(),
    after: variant(
      (d) =>
        (obj(operation(d, '/subjects', 'post'), 'responses', '201', 'headers', 'X-Rate-Limit', 'schema').type =
          'string'),
    ),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${CREATE_201}/headers/X-Rate-Limit/schema` })],
  },
  {
    label: 'response oneOf alternative added',
    before: base(),
    after: variant((d) => {
      obj(d, 'components', 'schemas').Fax = {
        type: 'object',
        title: 'Fax',
        required: ['fax'],
        properties: { fax: { type: 'string' } },
      };
      arr(prop(d, 'Subject', 'contact'), 'oneOf').push(ref('Fax'));
    }),
    classification: 'breaking',
    expected: [breaking('response_one_of_variant_added', { pointer: `${GET_200}/properties/contact/oneOf/2` })],
  },
  {
    label: 'response oneOf alternative removed',
    before: base(),
    after: variant((d) => arr(prop(d, 'Subject', 'contact'), 'oneOf').pop()),
    classification: 'compatible',
    expected: [compatible('response_one_of_variant_removed', { pointer: `${GET_200}/properties/contact/oneOf/1` })],
  },
  {
    label: 'response oneOf alternatives reordered',
    before: base(),
    after: variant((d) => arr(prop(d, 'Subject', 'contact'), 'oneOf').reverse()),
    classification: 'none',
    expected: [],
  },
  {
    label: 'response value became oneOf with another alternative',
    before: base(),
    after: variant((d) => (props(d, 'Subject').address = { oneOf: [ref('Address'), { type: 'string' }] })),
    classification: 'breaking',
    expected: [breaking('response_one_of_variant_added', { pointer: `${GET_200}/properties/address/oneOf/1` })],
  },
  {
    label: 'response schema restructured into an equivalent allOf',
    before: base(),
    after: variant((d) => {
      const properties = props(d, 'Subject');
      const core = ['id', 'name', 'kind', 'createdAt'];
      obj(d, 'components', 'schemas').SubjectCore = {
        type: 'object',
        required: core,
        properties: Object.fromEntries(core.map((name) => [name, properties[name]])),
      };
      obj(d, 'components', 'schemas').Subject = {
        allOf: [
          ref('SubjectCore'),
          {
            type: 'object',
            properties: Object.fromEntries(Object.entries(properties).filter(([name]) => !core.includes(name))),
          },
        ],
      };
    }),
    classification: 'none',
    expected: [],
  },
  {
    label: 'response property removed from an allOf member',
    before: base(),
    after: variant((d) => {
      const properties = props(d, 'Subject');
      obj(d, 'components', 'schemas').SubjectCore = {
        type: 'object',
        required: ['id', 'name', 'kind'],
        properties: { id: properties.id, name: properties.name, kind: properties.kind },
      };
      delete properties.id;
      delete properties.name;
      delete properties.kind;
      delete properties.createdAt;
      obj(d, 'components', 'schemas').Subject = { allOf: [ref('SubjectCore'), { type: 'object', properties }] };
    }),
    classification: 'breaking',
    expected: [breaking('response_property_removed', { pointer: `${GET_200}/properties/createdAt` })],
  },
  {
    label: 'response map value type changed (additionalProperties)',
    before: base(),
    after: variant((d) => (obj(prop(d, 'Subject', 'attributes'), 'additionalProperties').type = 'integer')),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/attributes/additionalProperties` })],
  },
  {
    label: 'response map loses its value schema',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'attributes').additionalProperties = true)),
    classification: 'breaking',
    expected: [
      breaking('response_schema_removed', { pointer: `${GET_200}/properties/attributes/additionalProperties` }),
    ],
  },
  {
    label: 'additionalProperties: false lifted from a schema used both ways',
    before: variant((d) => (schema(d, 'Address').additionalProperties = false)),
    after: base(),
    classification: 'compatible',
    expected: [
      compatible('request_additional_properties_allowed'),
      compatible('response_additional_properties_allowed'),
    ],
  },
  {
    label: 'response array item type changed',
    before: base(),
    after: variant((d) => (obj(prop(d, 'Subject', 'tags'), 'items').type = 'integer')),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/tags/items` })],
  },
  {
    label: 'response property deprecated',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'nickname').deprecated = true)),
    classification: 'compatible',
    expected: [compatible('schema_deprecated', { pointer: `${GET_200}/properties/nickname` })],
  },
  {
    label: 'response default documented',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'score').default = 0)),
    classification: 'compatible',
    expected: [compatible('response_default_changed', { pointer: `${GET_200}/properties/score` })],
  },
  {
    label: 'response property called "constructor" removed',
    before: variant((d) => Object.assign(props(d, 'Subject'), { constructor: { type: 'string' } })),
    after: base(),
    classification: 'breaking',
    expected: [breaking('response_property_removed', { pointer: `${GET_200}/properties/constructor` })],
  },
  {
    label: 'write-only property dropped from a schema used both ways',
    before: variant((d) => (props(d, 'Address').password = { type: 'string', writeOnly: true })),
    after: base(),
    classification: 'breaking',
    expected: [
      breaking('request_property_removed', { pointer: `${CREATE_BODY}/properties/address/properties/password` }),
    ],
  },
  {
    label: 'response property became write-only',
    before: base(),
    after: variant((d) => (prop(d, 'Subject', 'nickname').writeOnly = true)),
    classification: 'breaking',
    expected: [breaking('response_property_became_write_only', { pointer: `${GET_200}/properties/nickname` })],
  },

  // --- documentation, deprecation, security ---
  {
    label: 'descriptions and summaries only',
    before: base(),
    after: variant((d) => {
      operation(d, '/subjects', 'get').summary = 'Lists the registered subjects, newest first';
      obj(operation(d, '/subjects', 'post'), 'responses', '201').description = 'The subject was registered';
      prop(d, 'Subject', 'name').description = 'The legal name';
      parameter(d, '/subjects', 'get', 'page').description = 'Page number, from 1';
      obj(d, 'info').description = 'Registered persons and enterprises of the province.';
    }),
    classification: 'none',
    expected: [compatible('description_changed', { method: 'GET', path: '/subjects' })],
  },
  {
    label: 'operation deprecated',
    before: base(),
    after: variant((d) => (operation(d, '/subjects/{id}', 'delete').deprecated = true)),
    classification: 'compatible',
    expected: [compatible('operation_deprecated', { method: 'DELETE', path: '/subjects/{id}' })],
  },
  {
    label: 'public operation now requires authentication',
    before: variant((d) => (operation(d, '/certificates/{certificateNo}/file', 'get').security = [])),
    after: base(),
    classification: 'breaking',
    expected: [breaking('security_requirement_added', { method: 'GET', path: '/certificates/{certificateNo}/file' })],
  },

  // --- $refs, components, recursion ---
  {
    label: 'component renamed, references updated',
    before: base(),
    after: variant((d) => {
      const schemas = obj(d, 'components', 'schemas');
      schemas.PostalAddress = schemas.Address;
      delete schemas.Address;
      props(d, 'Subject').address = ref('PostalAddress');
      props(d, 'SubjectInput').address = ref('PostalAddress');
    }),
    classification: 'none',
    expected: [],
  },
  {
    label: 'inline response schema extracted into a component',
    before: variant(
      (d) =>
        (obj(operation(d, '/subjects', 'get'), 'responses', '200', 'content', 'application/json').schema =
          structuredClone(schema(d, 'SubjectPage'))),
    ),
    after: base(),
    classification: 'none',
    expected: [],
  },
  {
    label: 'change inside a recursive schema',
    before: base(),
    after: variant((d) => (prop(d, 'Tree', 'value').type = 'integer')),
    classification: 'breaking',
    expected: [
      breaking('response_type_changed', {
        method: 'GET',
        path: '/trees/{id}',
        pointer: `${TREE_200}/properties/value`,
        count: 1,
      }),
    ],
  },
  {
    label: 'change inside mutually recursive schemas',
    before: base(),
    after: variant((d) => (prop(d, 'TreeMeta', 'label').maxLength = 20)),
    classification: 'breaking',
    expected: [
      breaking('response_max_length_increased', { pointer: `${TREE_200}/properties/meta/properties/label`, count: 1 }),
    ],
  },

  {
    label: 'request nullable type array rewritten as anyOf with null',
    before: variant((d) => (prop(d, 'SubjectInput', 'birthDate').type = ['string', 'null'])),
    after: variant(
      (d) => (props(d, 'SubjectInput').birthDate = { anyOf: [{ type: 'string', format: 'date' }, { type: 'null' }] }),
    ),
    classification: 'none',
    expected: [],
  },
  {
    label: '$ref wrapped in a one-member allOf to carry a description',
    before: base(),
    after: variant(
      (d) =>
        (props(d, 'Subject').address = { allOf: [ref('Address')], description: 'Where the subject is registered' }),
    ),
    classification: 'none',
    expected: [],
  },
  {
    label: 'nullable $ref alias (3.0 sibling) rewritten as 3.1 anyOf with null',
    before: variant(
      (d) => (props(d, 'Subject').parent = { $ref: '#/components/schemas/Subject', nullable: true }),
      base30,
    ),
    after: base(),
    classification: 'none',
    expected: [],
  },
  {
    label: 'nullable alias moved into its own component',
    before: base(),
    after: variant((d) => {
      obj(d, 'components', 'schemas').NullableSubject = structuredClone(prop(d, 'Subject', 'parent'));
      props(d, 'Subject').parent = ref('NullableSubject');
    }),
    classification: 'none',
    expected: [],
  },
  {
    label: 'property removed from a schema also reached through a nullable alias component',
    before: variant((d) => {
      obj(d, 'components', 'schemas').NullableSubject = structuredClone(prop(d, 'Subject', 'parent'));
      props(d, 'Subject').parent = ref('NullableSubject');
    }),
    after: variant((d) => {
      obj(d, 'components', 'schemas').NullableSubject = structuredClone(prop(d, 'Subject', 'parent'));
      props(d, 'Subject').parent = ref('NullableSubject');
      delete props(d, 'Subject').nickname;
    }),
    classification: 'breaking',
    expected: [
      breaking('response_property_removed', {
        method: 'GET',
        path: '/subjects/{id}',
        pointer: `${GET_200}/properties/nickname`,
        count: 4,
      }),
    ],
  },
  {
    label: 'response value that was always null may now be a string',
    before: variant((d) => (props(d, 'Subject').closedAt = { type: 'null' })),
    after: variant(
      (d) => (props(d, 'Subject').closedAt = { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] }),
    ),
    classification: 'breaking',
    expected: [breaking('response_type_changed', { pointer: `${GET_200}/properties/closedAt` })],
  },

  // --- issue 18: classes an outside check found the gate accepting, each with a counterpart ---
  {
    label: 'security scheme changed from an API key to HTTP basic',
    before: base(),
    after: variant((d) => (obj(d, 'components', 'securitySchemes').appKey = { type: 'http', scheme: 'basic' })),
    classification: 'breaking',
    expected: [breaking('security_scheme_changed', { pointer: '/components/securitySchemes/appKey' })],
  },
  {
    label: 'API key moved from a header to the query string',
    before: base(),
    after: variant((d) => (obj(d, 'components', 'securitySchemes', 'appKey').in = 'query')),
    classification: 'breaking',
    expected: [breaking('security_scheme_changed', { pointer: '/components/securitySchemes/appKey' })],
  },
  {
    label: 'security scheme unchanged but its members reordered, re-cased and described',
    before: base(),
    after: variant(
      (d) =>
        (obj(d, 'components', 'securitySchemes').appKey = {
          description: 'The key issued to each department',
          name: 'x-app-key',
          in: 'header',
          type: 'apiKey',
        }),
    ),
    classification: 'none',
    expected: [],
  },
  {
    label: 'security scheme the operations require removed (requirement replaced)',
    before: base(),
    after: variant((d) => {
      obj(d, 'components').securitySchemes = { token: { type: 'http', scheme: 'bearer' } };
      d.security = [{ token: [] }];
    }),
    classification: 'breaking',
    expected: [
      breaking('security_scheme_removed', { pointer: '/components/securitySchemes/appKey' }),
      breaking('security_requirement_tightened'),
    ],
  },
  {
    label: 'oneOf discriminator property renamed',
    before: withDiscriminator('channel'),
    after: withDiscriminator('medium'),
    classification: 'breaking',
    expected: [
      breaking('response_discriminator_property_changed', {
        pointer: `${GET_200}/properties/contact/discriminator/propertyName`,
      }),
    ],
  },
  {
    label: 'oneOf discriminator mapping rewritten in another order',
    before: withDiscriminator('channel'),
    after: variant(
      (d) => {
        const discriminator = obj(d, 'components', 'schemas', 'Subject', 'properties', 'contact', 'discriminator');
        discriminator.mapping = { email: '#/components/schemas/Email', phone: '#/components/schemas/Phone' };
      },
      () => withDiscriminator('channel'),
    ),
    classification: 'none',
    expected: [],
  },
  {
    label: 'oneOf discriminator value added to a response',
    before: withDiscriminator('channel'),
    after: variant(
      (d) =>
        (obj(d, 'components', 'schemas', 'Subject', 'properties', 'contact', 'discriminator', 'mapping').fax =
          '#/components/schemas/Phone'),
      () => withDiscriminator('channel'),
    ),
    classification: 'breaking',
    expected: [breaking('response_discriminator_value_added')],
  },
  {
    label: 'request body wrapped in oneOf with an alternative old requests also match',
    before: base(),
    after: variant((d) => {
      obj(operation(d, '/subjects', 'post'), 'requestBody', 'content', 'application/json').schema = {
        oneOf: [
          ref('SubjectInput'),
          { type: 'object', required: ['name'], properties: { name: { type: 'string' }, batch: { type: 'boolean' } } },
        ],
      };
    }),
    classification: 'breaking',
    expected: [
      breaking('request_one_of_ambiguous', { pointer: `${CREATE_BODY}/oneOf/1`, count: 1 }),
      compatible('request_one_of_variant_added'),
    ],
  },
  {
    label: 'request body wrapped in oneOf with an alternative told apart by a constant',
    before: base(),
    after: variant((d) => {
      obj(operation(d, '/subjects', 'post'), 'requestBody', 'content', 'application/json').schema = {
        oneOf: [
          ref('SubjectInput'),
          {
            type: 'object',
            required: ['kind', 'items'],
            properties: { kind: { const: 'batch' }, items: { type: 'array', items: ref('SubjectInput') } },
          },
        ],
      };
    }),
    classification: 'compatible',
    expected: [compatible('request_one_of_variant_added', { pointer: `${CREATE_BODY}/oneOf/1` })],
  },
  {
    label: 'request body wrapped in oneOf with an array alternative',
    before: base(),
    after: variant((d) => {
      obj(operation(d, '/subjects', 'post'), 'requestBody', 'content', 'application/json').schema = {
        oneOf: [ref('SubjectInput'), { type: 'array', items: ref('SubjectInput') }],
      };
    }),
    classification: 'compatible',
    expected: [compatible('request_one_of_variant_added')],
  },
  {
    label: 'allowEmptyValue removed from a query parameter',
    before: variant((d) => (parameter(d, '/subjects', 'get', 'status').allowEmptyValue = true), base30),
    after: base30(),
    classification: 'breaking',
    expected: [breaking('request_parameter_empty_value_refused', { parameter: 'query:status' })],
  },
  {
    label: 'allowEmptyValue added to a query parameter',
    before: base30(),
    after: variant((d) => (parameter(d, '/subjects', 'get', 'status').allowEmptyValue = true), base30),
    classification: 'compatible',
    expected: [compatible('request_parameter_empty_value_allowed', { parameter: 'query:status' })],
  },
  {
    label: 'contains added to a request array',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'tags').contains = { const: 'primary' })),
    classification: 'breaking',
    expected: [breaking('request_contains_added', { pointer: `${CREATE_BODY}/properties/tags/contains` })],
  },
  {
    label: 'contains loosened in a request array',
    before: variant((d) => (prop(d, 'SubjectInput', 'tags').contains = { type: 'string', maxLength: 5 })),
    after: variant((d) => (prop(d, 'SubjectInput', 'tags').contains = { type: 'string' })),
    classification: 'compatible',
    expected: [compatible('request_max_length_increased', { pointer: `${CREATE_BODY}/properties/tags/contains` })],
  },
  {
    label: 'dependentRequired added to a request',
    before: base(),
    after: variant((d) => (schema(d, 'SubjectInput').dependentRequired = { idNumber: ['birthDate'] })),
    classification: 'breaking',
    expected: [breaking('request_dependent_required_added', { pointer: `${CREATE_BODY}/dependentRequired/idNumber` })],
  },
  {
    label: 'dependentRequired removed from a request',
    before: variant((d) => (schema(d, 'SubjectInput').dependentRequired = { idNumber: ['birthDate'] })),
    after: base(),
    classification: 'compatible',
    expected: [compatible('request_dependent_required_removed')],
  },
  {
    label: 'dependentSchemas added to a request',
    before: base(),
    after: variant((d) => (schema(d, 'SubjectInput').dependentSchemas = { idNumber: { required: ['birthDate'] } })),
    classification: 'breaking',
    expected: [breaking('request_dependent_schemas_added', { pointer: `${CREATE_BODY}/dependentSchemas/idNumber` })],
  },
  {
    label: 'dependentSchemas loosened in a request',
    before: variant((d) => (schema(d, 'SubjectInput').dependentSchemas = { idNumber: { required: ['birthDate'] } })),
    after: variant((d) => (schema(d, 'SubjectInput').dependentSchemas = { idNumber: { required: [] } })),
    classification: 'compatible',
    expected: [
      compatible('request_property_became_optional', {
        pointer: `${CREATE_BODY}/dependentSchemas/idNumber/properties/birthDate`,
      }),
    ],
  },
  {
    label: 'if/then: a new required property inside then (request)',
    before: withConditional(['idNumber']),
    after: withConditional(['idNumber', 'birthDate']),
    classification: 'breaking',
    expected: [breaking('request_property_became_required', { pointer: `${CREATE_BODY}/then/properties/birthDate` })],
  },
  {
    label: 'if/then: an optional property added inside then (request)',
    before: withConditional(['idNumber']),
    after: variant(
      (d) => (obj(d, 'components', 'schemas', 'SubjectInput', 'then').properties = { licence: { type: 'string' } }),
      () => withConditional(['idNumber']),
    ),
    classification: 'compatible',
    expected: [compatible('request_property_added', { pointer: `${CREATE_BODY}/then/properties/licence` })],
  },
  {
    label: 'if/then condition changed',
    before: withConditional(['idNumber']),
    after: variant(
      (d) => (obj(d, 'components', 'schemas', 'SubjectInput', 'if', 'properties', 'kind').const = 'person'),
      () => withConditional(['idNumber']),
    ),
    classification: 'breaking',
    expected: [breaking('request_condition_changed')],
  },
  {
    label: 'if/then added to a request',
    before: base(),
    after: withConditional(['idNumber']),
    classification: 'breaking',
    expected: [breaking('request_condition_added')],
  },
  {
    label: 'patternProperties added to a request object',
    before: variant((d) => (props(d, 'SubjectInput').labels = { type: 'object' })),
    after: variant(
      (d) => (props(d, 'SubjectInput').labels = { type: 'object', patternProperties: { '^x-': { type: 'string' } } }),
    ),
    classification: 'breaking',
    expected: [
      breaking('request_pattern_properties_added', {
        pointer: `${CREATE_BODY}/properties/labels/patternProperties/^x-`,
      }),
    ],
  },
  {
    label: 'patternProperties removed from a request object',
    before: variant(
      (d) => (props(d, 'SubjectInput').labels = { type: 'object', patternProperties: { '^x-': { type: 'string' } } }),
    ),
    after: variant((d) => (props(d, 'SubjectInput').labels = { type: 'object' })),
    classification: 'compatible',
    expected: [compatible('request_pattern_properties_removed')],
  },
  {
    label: 'patternProperties value schema widened in a response',
    before: variant(
      (d) => (prop(d, 'Subject', 'attributes').patternProperties = { '^x-': { type: 'string', maxLength: 10 } }),
    ),
    after: variant(
      (d) => (prop(d, 'Subject', 'attributes').patternProperties = { '^x-': { type: 'string', maxLength: 20 } }),
    ),
    classification: 'breaking',
    expected: [
      breaking('response_max_length_increased', { pointer: `${GET_200}/properties/attributes/patternProperties/^x-` }),
    ],
  },
  {
    label: 'propertyNames added to a request object',
    before: base(),
    after: variant((d) => (schema(d, 'SubjectInput').propertyNames = { maxLength: 20 })),
    classification: 'breaking',
    expected: [breaking('request_property_names_added', { pointer: `${CREATE_BODY}/propertyNames` })],
  },
  {
    label: 'propertyNames relaxed in a request object',
    before: variant((d) => (schema(d, 'SubjectInput').propertyNames = { maxLength: 20 })),
    after: variant((d) => (schema(d, 'SubjectInput').propertyNames = { maxLength: 40 })),
    classification: 'compatible',
    expected: [compatible('request_max_length_increased', { pointer: `${CREATE_BODY}/propertyNames` })],
  },
  {
    label: 'unevaluatedProperties: false added to a request',
    before: base(),
    after: variant((d) => (schema(d, 'SubjectInput').unevaluatedProperties = false)),
    classification: 'breaking',
    expected: [breaking('request_unevaluated_properties_added', { pointer: `${CREATE_BODY}/unevaluatedProperties` })],
  },
  {
    label: 'unevaluatedProperties: false removed from a response',
    before: variant((d) => (schema(d, 'Subject').unevaluatedProperties = false)),
    after: base(),
    classification: 'compatible',
    expected: [compatible('response_unevaluated_properties_removed')],
  },
  {
    label: 'unevaluatedItems: false added to a request array',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'tags').unevaluatedItems = false)),
    classification: 'breaking',
    expected: [breaking('request_unevaluated_items_added')],
  },
  {
    label: 'webhook removed',
    before: withEvents(),
    after: variant((d) => delete d.webhooks, withEvents),
    classification: 'breaking',
    expected: [breaking('webhook_removed', { path: 'subjectChanged', pointer: '/webhooks/subjectChanged' })],
  },
  {
    label: 'webhook added',
    before: variant((d) => delete d.webhooks, withEvents),
    after: withEvents(),
    classification: 'compatible',
    expected: [compatible('webhook_added', { path: 'subjectChanged' })],
  },
  {
    label: 'webhook payload property removed',
    before: withEvents(),
    after: variant((d) => delete props(d, 'SubjectEvent').at, withEvents),
    classification: 'breaking',
    expected: [
      breaking('response_property_removed', {
        pointer: '/webhooks/subjectChanged/post/requestBody/content/application~1json/schema/properties/at',
        count: 2,
      }),
    ],
  },
  {
    label: 'webhook payload property added',
    before: withEvents(),
    after: variant((d) => (props(d, 'SubjectEvent').by = { type: 'string' }), withEvents),
    classification: 'compatible',
    expected: [compatible('response_property_added', { count: 2 })],
  },
  {
    label: 'callback removed',
    before: withEvents(),
    after: variant((d) => delete operation(d, '/subjects', 'post').callbacks, withEvents),
    classification: 'breaking',
    expected: [
      breaking('callback_removed', {
        method: 'POST',
        path: '/subjects',
        pointer: '/paths/~1subjects/post/callbacks/onRegistered/{$request.body#~1callbackUrl}',
      }),
    ],
  },
  {
    label: 'callback added',
    before: variant((d) => delete operation(d, '/subjects', 'post').callbacks, withEvents),
    after: withEvents(),
    classification: 'compatible',
    expected: [compatible('callback_added', { method: 'POST', path: '/subjects' })],
  },
  {
    label: 'optional request-body property removed',
    before: base(),
    after: variant((d) => delete props(d, 'SubjectInput').notify),
    classification: 'breaking',
    expected: [breaking('request_property_removed', { pointer: `${CREATE_BODY}/properties/notify` })],
  },
  {
    label: 'optional response property removed',
    before: base(),
    after: variant((d) => delete props(d, 'Subject').score),
    classification: 'breaking',
    expected: [breaking('response_property_removed', { pointer: `${GET_200}/properties/score` })],
  },
  {
    label: 'optional request-body property deprecated (the step before removing it)',
    before: base(),
    after: variant((d) => (prop(d, 'SubjectInput', 'notify').deprecated = true)),
    classification: 'compatible',
    expected: [compatible('schema_deprecated', { pointer: `${CREATE_BODY}/properties/notify` })],
  },
  {
    label: 'paths differing only in template names, republished unchanged',
    before: withTwinPaths(),
    after: withTwinPaths(),
    classification: 'none',
    expected: [],
  },
  {
    label: 'one of two paths differing only in template names removed',
    before: withTwinPaths(),
    after: variant((d) => delete obj(d, 'paths')['/projects/{id}'], withTwinPaths),
    classification: 'breaking',
    expected: [breaking('path_removed', { path: '/projects/{id}', count: 1 })],
  },
  {
    label: '3.1 $refs with summary and description beside them',
    before: base(),
    after: variant((d) => {
      obj(operation(d, '/subjects', 'get'), 'responses')['400'] = {
        $ref: '#/components/responses/Problem',
        summary: 'Bad input',
        description: 'The query is not valid',
      };
      props(d, 'Subject').address = {
        $ref: '#/components/schemas/Address',
        description: 'Where the subject is registered',
      };
    }),
    classification: 'none',
    expected: [],
  },

  // --- OpenAPI 3.0 ↔ 3.1 ---
  {
    label: 'OpenAPI 3.0 document upgraded to its 3.1 equivalent',
    before: base30(),
    after: base(),
    classification: 'none',
    expected: [],
  },
  {
    label: 'OpenAPI 3.1 document written back as 3.0',
    before: base(),
    after: base30(),
    classification: 'none',
    expected: [],
  },
  {
    label: 'upgraded to 3.1 while widening a response enum',
    before: base30(),
    after: variant((d) => arr(prop(d, 'Subject', 'status'), 'enum').push('suspended')),
    classification: 'breaking',
    expected: [breaking('response_enum_value_added', { pointer: `${GET_200}/properties/status` })],
  },
];

const DOCUMENTATION_CODES = new Set(['description_changed']);

function summarise(changes: readonly ContractChange[]): string {
  return changes
    .map(
      (change) =>
        `${change.severity} ${change.code} ${change.location.method ?? ''} ${change.location.path ?? ''} ${change.location.pointer ?? ''}`,
    )
    .join('\n');
}

function classify(changes: readonly ContractChange[]): LabelledPair['classification'] {
  if (changes.some((change) => change.severity === 'breaking')) return 'breaking';
  return changes.some((change) => !DOCUMENTATION_CODES.has(change.code)) ? 'compatible' : 'none';
}

function matches(change: ContractChange, expected: ExpectedChange): boolean {
  if (change.code !== expected.code || change.severity !== expected.severity) return false;
  const { method, path, parameter: parameterLabel, pointer, direction } = expected;
  return (
    (method === undefined || change.location.method === method) &&
    (path === undefined || change.location.path === path) &&
    (parameterLabel === undefined || change.location.parameter === parameterLabel) &&
    (pointer === undefined || change.location.pointer === pointer) &&
    (direction === undefined || change.location.direction === direction)
  );
}

describe('contract diff on labelled document pairs', () => {
  it('has at least 40 labelled pairs, with both classifications well represented', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(40);
    expect(pairs.filter((pair) => pair.classification === 'breaking').length).toBeGreaterThanOrEqual(20);
    expect(pairs.filter((pair) => pair.classification === 'compatible').length).toBeGreaterThanOrEqual(20);
    expect(new Set(pairs.map((pair) => pair.label)).size).toBe(pairs.length);
  });

  it.each(pairs)('$label → $classification', ({ before, after, classification, expected }) => {
    const changes = diffContracts(before, after);
    const summary = summarise(changes);
    expect(classify(changes), summary).toBe(classification);
    for (const change of expected) {
      expect(
        changes.some((candidate) => matches(candidate, change)),
        `expected ${change.severity} ${change.code} ${JSON.stringify(change)}\n${summary}`,
      ).toBe(true);
      if (change.count !== undefined)
        expect(
          changes.filter((candidate) => candidate.code === change.code),
          summary,
        ).toHaveLength(change.count);
    }
    // Nothing is called breaking that the label does not expect.
    const expectedBreaking = new Set(
      expected.filter((change) => change.severity === 'breaking').map((change) => change.code),
    );
    expect(
      changes.filter((change) => change.severity === 'breaking' && !expectedBreaking.has(change.code)),
      summary,
    ).toEqual([]);
  });

  it('scores the gate on its labelled pairs (precision and recall of "breaking")', () => {
    // Printed so a run shows the figures; the outside check scored 0.93/0.83 and 0.80/0.55 before issue 18.
    const score = (selected: readonly LabelledPair[]) => {
      let truePositives = 0;
      let falsePositives = 0;
      let falseNegatives = 0;
      for (const { before, after, classification } of selected) {
        const flagged = diffContracts(before, after).some((change) => change.severity === 'breaking');
        const labelled = classification === 'breaking';
        if (flagged && labelled) truePositives += 1;
        else if (flagged) falsePositives += 1;
        else if (labelled) falseNegatives += 1;
      }
      const precision = truePositives / Math.max(1, truePositives + falsePositives);
      const recall = truePositives / Math.max(1, truePositives + falseNegatives);
      return { pairs: selected.length, truePositives, falsePositives, falseNegatives, precision, recall };
    };
    const first = pairs.findIndex((pair) => pair.label === 'security scheme changed from an API key to HTTP basic');
    const last = pairs.findIndex((pair) => pair.label === '3.1 $refs with summary and description beside them');
    const all = score(pairs);
    const issue18 = score(pairs.slice(first, last + 1));
    const format = (name: string, result: ReturnType<typeof score>) =>
      `${name}: ${result.pairs} pairs, TP ${result.truePositives} FP ${result.falsePositives} FN ${result.falseNegatives}, ` +
      `precision ${result.precision.toFixed(2)}, recall ${result.recall.toFixed(2)}`;
    console.info(`${format('all labelled pairs', all)}\n${format('issue 18 pairs', issue18)}`);
    expect(first).toBeGreaterThan(0);
    expect([all.precision, all.recall, issue18.precision, issue18.recall]).toEqual([1, 1, 1, 1]);
  });

  it('finds nothing between each labelled document and a copy of it', () => {
    for (const { before, after } of pairs) {
      expect(diffContracts(before, structuredClone(before))).toEqual([]);
      expect(diffContracts(after, structuredClone(after))).toEqual([]);
    }
  });

  // The validator takes a few hundred milliseconds a document, so this checks both base documents
  // and a fixed sixth of the edited ones (every document passed when the pairs were written).
  it('uses valid OpenAPI documents in its pairs', { timeout: 60_000 }, async () => {
    const distinct = new Map<string, { label: string; doc: Obj }>();
    for (const { label, before, after } of pairs)
      for (const doc of [before, after]) distinct.set(JSON.stringify(doc), { label, doc });
    const sample = [
      { label: 'base', doc: base() },
      { label: 'base30', doc: base30() },
      ...[...distinct.values()].filter((_, index) => index % 6 === 0),
    ];
    for (const { label, doc } of sample) {
      const problems = await readContractDocument(structuredClone(doc)).then(
        () => [],
        (error: unknown) => [label, String(error), isObj(error) ? JSON.stringify(error.extras ?? {}) : ''],
      );
      expect(problems).toEqual([]);
    }
  });
});

// --- robustness ---------------------------------------------------------------------------------

type Schemas = Record<string, Obj>;

function documentWith(paths: Obj, schemas: Schemas, openapi = '3.1.0'): Obj {
  return { openapi, info: { title: 'generated', version: '1.0.0' }, paths, components: { schemas } };
}

const getReturning = (schemaValue: unknown): Obj => ({
  get: { responses: { '200': { description: 'ok', content: json(schemaValue) } } },
});

describe('contract diff on huge, deep and recursive documents', () => {
  it('reports a change deep in a component chain once for each of 1,500 operations (the first 1,000 listed), with linear work', () => {
    const chain = (leafType: string): Schemas => {
      const schemas: Schemas = {};
      for (let index = 0; index < 200; index += 1) {
        const properties: Obj = {
          a: { type: 'string' },
          b: { type: 'integer' },
          c: { type: 'boolean' },
          d: { type: 'array', items: { type: 'string' } },
        };
        properties.next = index < 199 ? ref(`C${index + 1}`) : { type: leafType };
        schemas[`C${index}`] = { type: 'object', properties };
      }
      return schemas;
    };
    const paths: Obj = {};
    for (let index = 0; index < 1500; index += 1) paths[`/resources${index}/{id}`] = getReturning(ref('C0'));
    const diff = new ContractDiff(documentWith(paths, chain('string')), documentWith(paths, chain('integer')));
    const changes = diff.run();
    // Listed up to the cap, here the one on characters (each pointer is 3,300 long); the others are
    // counted in one entry, breaking as they are.
    const listed = changes.length - 1;
    expect(listed).toBeGreaterThan(100);
    expect(listed).toBeLessThan(MAX_LISTED_CHANGES);
    expect(JSON.stringify(changes.slice(0, listed)).length).toBeLessThanOrEqual(MAX_LISTED_CHANGE_CHARS);
    expect(
      changes
        .slice(0, listed)
        .every((change) => change.code === 'response_type_changed' && change.severity === 'breaking'),
    ).toBe(true);
    expect(changes.at(-1)).toEqual({
      code: 'changes_not_listed',
      severity: 'breaking',
      location: {},
      message: expect.stringContaining(`${1500 - listed} more changes (${1500 - listed} of them breaking)`),
    });
    expect(changes[0]?.location.pointer).toBe(
      `/paths/~1resources0~1{id}/get/responses/200/content/application~1json/schema${'/properties/next'.repeat(200)}`,
    );
    // Each pair of schemas is compared once, not once per operation: 200 objects, 5 properties, 1 item schema each.
    expect(diff.stats.comparedPairs).toBeLessThanOrEqual(200 * 7);
  });

  it('does not blow up on a diamond of references (2^40 routes to the bottom)', () => {
    const diamond = (leafType: string): Schemas => {
      const schemas: Schemas = {};
      for (let level = 0; level < 40; level += 1)
        schemas[`D${level}`] = {
          type: 'object',
          properties: { left: ref(`D${level + 1}`), right: ref(`D${level + 1}`) },
        };
      schemas.D40 = { type: leafType };
      return schemas;
    };
    const diff = new ContractDiff(
      documentWith({ '/d': getReturning(ref('D0')) }, diamond('string')),
      documentWith({ '/d': getReturning(ref('D0')) }, diamond('number')),
    );
    const changes = diff.run();
    expect(changes.map((change) => change.code)).toEqual(['response_type_changed']);
    expect(diff.stats.comparedPairs).toBeLessThanOrEqual(50);
  });

  it('does not blow up on self-references with siblings ($ref + nullable / readOnly)', () => {
    const node = (leafType: string): Schemas => ({
      Node: {
        type: 'object',
        properties: {
          value: { type: leafType },
          first: { $ref: '#/components/schemas/Node', readOnly: true },
          second: { $ref: '#/components/schemas/Node', nullable: true },
          third: { anyOf: [ref('Node'), { type: 'null' }] },
        },
      },
    });
    const diff = new ContractDiff(
      documentWith({ '/n': getReturning(ref('Node')) }, node('string')),
      documentWith({ '/n': getReturning(ref('Node')) }, node('boolean')),
    );
    const changes = diff.run();
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.every((change) => change.code === 'response_type_changed')).toBe(true);
    expect(diff.stats.comparedPairs).toBeLessThanOrEqual(20);
  });

  it('does not blow up on allOf diamonds', () => {
    const layers = (leafType: string): Schemas => {
      const schemas: Schemas = {};
      for (let level = 0; level < 30; level += 1)
        schemas[`A${level}`] = {
          allOf: [
            ref(`A${level + 1}`),
            ref(`A${level + 1}`),
            { type: 'object', properties: { [`p${level}`]: { type: 'string' } } },
          ],
        };
      schemas.A30 = { type: 'object', properties: { leaf: { type: leafType } } };
      return schemas;
    };
    const changes = diffContracts(
      documentWith({ '/a': getReturning(ref('A0')) }, layers('string')),
      documentWith({ '/a': getReturning(ref('A0')) }, layers('integer')),
    );
    expect(changes.map((change) => change.code)).toEqual(['response_type_changed']);
    expect(changes[0]?.location.pointer).toMatch(/\/properties\/leaf$/);
  });

  it('finds a change 90 inline levels deep', () => {
    const nested = (leafType: string) => {
      let current: Obj = { type: leafType };
      for (let level = 0; level < 90; level += 1)
        current = { type: 'object', required: ['p'], properties: { p: current } };
      return current;
    };
    const changes = diffContracts(
      documentWith({ '/deep': getReturning(nested('string')) }, {}),
      documentWith({ '/deep': getReturning(nested('integer')) }, {}),
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ code: 'response_type_changed', severity: 'breaking' });
    expect(changes[0]?.location.pointer).toBe(
      `/paths/~1deep/get/responses/200/content/application~1json/schema${'/properties/p'.repeat(90)}`,
    );
  });

  it('follows a chain of 5,000 references without exhausting the stack', () => {
    const chain = (leafType: string): Schemas => {
      const schemas: Schemas = {};
      for (let index = 0; index < 5000; index += 1)
        schemas[`L${index}`] = {
          type: 'object',
          properties: { next: index < 4999 ? ref(`L${index + 1}`) : { type: leafType } },
        };
      return schemas;
    };
    const changes = diffContracts(
      documentWith({ '/long': getReturning(ref('L0')) }, chain('string')),
      documentWith({ '/long': getReturning(ref('L0')) }, chain('integer')),
    );
    expect(changes.map((change) => change.code)).toEqual(['response_type_changed']);
  });

  it('compares a schema with 20,000 properties and finds the one that changed', () => {
    const wide = (lastType: string): Obj => {
      const properties: Obj = {};
      for (let index = 0; index < 20_000; index += 1)
        properties[`field${index}`] = { type: index === 19_999 ? lastType : 'string' };
      return { type: 'object', properties };
    };
    const changes = diffContracts(
      documentWith({ '/wide': getReturning(wide('string')) }, {}),
      documentWith({ '/wide': getReturning(wide('integer')) }, {}),
    );
    expect(changes.map((change) => change.location.pointer)).toEqual([
      '/paths/~1wide/get/responses/200/content/application~1json/schema/properties/field19999',
    ]);
  });
});

describe('contract diff on malformed input', () => {
  const valid = base();

  it('refuses what is not a document object with a clear error naming the side', () => {
    for (const junk of [null, undefined, 'openapi: 3.1.0', 42, [], true]) {
      expect(() => diffContracts(junk, valid)).toThrow(ContractDiffError);
      expect(() => diffContracts(junk, valid)).toThrow(/previous document is .*not an OpenAPI document object/);
      expect(() => diffContracts(valid, junk)).toThrow(/next document is/);
    }
  });

  it('refuses documents that are not OpenAPI 3.0 or 3.1', () => {
    expect(() => diffContracts({}, valid)).toThrow(/not OpenAPI 3\.0\.x or 3\.1\.x \(found no `openapi` field\)/);
    expect(() => diffContracts({ swagger: '2.0', paths: {} }, valid)).toThrow(/Swagger 2\.0/);
    expect(() => diffContracts(valid, { ...valid, openapi: '4.0.0' })).toThrow(
      /next document is not OpenAPI .*"4\.0\.0"/,
    );
    expect(() => diffContracts(valid, { ...valid, paths: ['/subjects'] })).toThrow(
      /`paths` is an array, not an object/,
    );
  });

  it('refuses a dangling or looping $ref, naming it', () => {
    const dangling = variant((d) => (props(d, 'Subject').address = ref('Nowhere')));
    expect(() => diffContracts(valid, dangling)).toThrow(ContractDiffError);
    expect(() => diffContracts(valid, dangling)).toThrow(
      /next document's \$ref "#\/components\/schemas\/Nowhere" does not resolve/,
    );
    const looping = variant((d) => {
      obj(d, 'components', 'schemas').Loop1 = ref('Loop2');
      obj(d, 'components', 'schemas').Loop2 = ref('Loop1');
      props(d, 'Subject').loop = ref('Loop1');
    });
    expect(() => diffContracts(looping, valid)).toThrow(
      /previous document's \$ref "#\/components\/schemas\/Loop1" refers back to itself/,
    );
  });

  it('reads $refs to names with "%", "~" and "/" in them', () => {
    const odd = (type: string) =>
      documentWith(
        { '/odd': getReturning({ $ref: '#/components/schemas/100%25~1per~0cent' }) },
        { '100%/per~cent': { type: 'object', properties: { x: { type } } } },
      );
    expect(diffContracts(odd('string'), odd('string'))).toEqual([]);
    expect(diffContracts(odd('string'), odd('integer')).map((change) => change.code)).toEqual([
      'response_type_changed',
    ]);
    const unescaped = documentWith(
      { '/odd': getReturning({ $ref: '#/components/schemas/a%zz' }) },
      { 'a%zz': { type: 'string' } },
    );
    expect(diffContracts(unescaped, structuredClone(unescaped))).toEqual([]);
  });

  it('treats keys such as __proto__ and constructor as plain names', () => {
    const build = (extra: boolean) => {
      const properties: Obj = JSON.parse('{"__proto__": {"type": "string"}, "toString": {"type": "string"}}') as Obj;
      if (extra) Object.assign(properties, { valueOf: { type: 'string' } });
      const responses: Obj = JSON.parse('{"200": {"description": "ok"}, "__proto__": {"description": "odd"}}') as Obj;
      obj(responses, '200').content = json({ type: 'object', properties });
      const paths: Obj = JSON.parse('{"/constructor": {}, "__proto__": {}}') as Obj;
      obj(paths, '/constructor').get = {
        parameters: [{ name: '__proto__', in: 'query', schema: { type: 'string' } }],
        responses,
      };
      return documentWith(paths, {});
    };
    expect(diffContracts(build(false), build(false))).toEqual([]);
    const changes = diffContracts(build(true), build(false));
    expect(changes.map((change) => `${change.severity} ${change.code} ${change.location.pointer ?? ''}`)).toEqual([
      'breaking response_property_removed /paths/~1constructor/get/responses/200/content/application~1json/schema/properties/valueOf',
    ]);
  });

  it('never crashes on junk anywhere in a document: it answers or throws ContractDiffError', () => {
    // A small deterministic generator (mulberry32), so a failure can be replayed.
    let seed = 20_240_601;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const junkValues: unknown[] = [
      null,
      0,
      -1,
      'x',
      '',
      true,
      false,
      [],
      [1, 'a'],
      {},
      { $ref: 7 },
      { type: 12 },
      { $ref: '#/nowhere' },
    ];
    const containers = (root: unknown): { holder: Obj | unknown[]; key: string | number }[] => {
      const found: { holder: Obj | unknown[]; key: string | number }[] = [];
      const walk = (value: unknown) => {
        if (Array.isArray(value))
          value.forEach((item, index) => (found.push({ holder: value, key: index }), walk(item)));
        else if (isObj(value))
          for (const [key, item] of Object.entries(value)) found.push({ holder: value, key }), walk(item);
      };
      walk(root);
      return found;
    };
    let answered = 0;
    for (let round = 0; round < 150; round += 1) {
      const broken = base();
      for (let edits = 0; edits < 3; edits += 1) {
        const places = containers(broken);
        const place = places[Math.floor(random() * places.length)]!;
        const junk = structuredClone(junkValues[Math.floor(random() * junkValues.length)]);
        if (Array.isArray(place.holder)) place.holder[Number(place.key)] = junk;
        else place.holder[String(place.key)] = junk;
      }
      for (const [previous, next] of [
        [valid, broken],
        [broken, valid],
      ]) {
        try {
          expect(Array.isArray(diffContracts(previous, next))).toBe(true);
          answered += 1;
        } catch (error) {
          expect(error, `round ${round}: ${String(error)}`).toBeInstanceOf(ContractDiffError);
        }
      }
    }
    expect(answered).toBeGreaterThan(150);
  });
});
