/**
 * A minimal department system used only to prove the SDK: a JSON simulator built on the simulator
 * kit, its contract, and an adapter over the SDK client. Real departments live in their own
 * folders; this one exists so the conformance suite is itself tested before they use it.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { defineAdapter, type AdapterEnvironment, type DepartmentResponse } from '../adapter.js';
import { DepartmentError } from '../errors.js';
import { startSimulator, type RunningSimulator, type SimulatorDefinition } from '../simulator.js';
import { unknownSubmissionType } from '../submissions.js';
import type {
  CaseStatusResult,
  CertificateMetadata,
  DepartmentAdapter,
  SubjectRef,
  SubmissionTypeDeclaration,
} from '../types.js';

export const TEST_RESOURCE = 'test.registry';
export const TEST_DEPARTMENT = 'TEST';

interface Person {
  idNumber: string;
  name: string;
}

/** The one kind of case the test registry takes. */
export const testSubmissionTypes = {
  test_application: {
    name: 'Test application',
    nameZh: '测试申请',
    formSchema: { type: 'object', required: ['reason'], properties: { reason: { type: 'string' } } },
  },
} as const satisfies Record<string, SubmissionTypeDeclaration>;

export const testPeople: Person[] = [
  { idNumber: '11010519491231002X', name: '王芳' },
  { idNumber: '110101199003077777', name: '张伟' },
];
export const unknownIdNumber = '440106198001010016';
const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;

/** The smallest thing that starts like a PDF: the suite checks the magic bytes only. */
function pdfOf(person: Person): string {
  return Buffer.from(`%PDF-1.4\n% resident certificate ${person.idNumber}\n%%EOF\n`).toString('base64');
}

function certificateOf(person: Person): CertificateMetadata {
  return {
    certificateType: 'resident_id_card',
    certificateNumber: `RID-${person.idNumber.slice(-6)}`,
    holderName: person.name,
    holderIdentifier: person.idNumber,
    issuingAuthority: 'Test Public Security Bureau',
    issueDate: '2020-01-02',
    validFrom: '2020-01-02',
    validUntil: '2040-01-02',
    status: 'valid',
  };
}

function send(response: ServerResponse, status: number, value: unknown, paddingBytes = 0): void {
  const body =
    paddingBytes > 0
      ? JSON.stringify({ ...(value as object), padding: 'x'.repeat(paddingBytes) })
      : JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** Starts the test department's simulator on a free loopback port. */
export async function startTestDepartmentSimulator(): Promise<RunningSimulator> {
  const cases = new Map<string, { reference: string; updatedAt: string }>();
  const definition: SimulatorDefinition = {
    name: 'test registry',
    operationOf(request, url) {
      if (url.pathname === '/verify') return 'verify';
      if (url.pathname.startsWith('/certificates/')) return 'certificate';
      if (url.pathname === '/cases' && request.method === 'POST') return 'submit';
      if (url.pathname.startsWith('/cases/')) return 'status';
      if (url.pathname === '/health') return 'health';
      return 'unknown';
    },
    handle({ request, response, body, url, fault }) {
      if (fault === 'business_error') return send(response, 200, { code: 'E1001', message: 'record locked' });
      if (fault === 'malformed') {
        response.writeHead(200, { 'content-type': 'application/json' });
        return void response.end('{"code":"0","data":');
      }
      const padding = fault === 'oversized' ? OVERSIZED_PADDING_BYTES : 0;
      const operation = definition.operationOf(request, url, body);
      if (operation === 'verify') {
        const asked = JSON.parse(body.toString('utf8')) as Person;
        const person = testPeople.find((candidate) => candidate.idNumber === asked.idNumber);
        const idNumber = fault === 'wrong_subject' ? unknownIdNumber : asked.idNumber;
        const result = !person ? 'none' : person.name === asked.name ? 'match' : 'mismatch';
        return send(response, 200, { code: '0', data: { idNumber, result } }, padding);
      }
      if (operation === 'certificate') {
        const idNumber = decodeURIComponent(url.pathname.split('/')[3] ?? '');
        const person = testPeople.find((candidate) => candidate.idNumber === idNumber);
        if (!person) return send(response, 404, { code: 'NOT_FOUND' });
        const subject = fault === 'wrong_subject' ? (testPeople.find((other) => other !== person) ?? person) : person;
        return send(
          response,
          200,
          { code: '0', data: { certificate: certificateOf(subject), document: pdfOf(subject) } },
          padding,
        );
      }
      if (operation === 'submit') {
        const key = request.headers['idempotency-key'];
        if (typeof key !== 'string') return send(response, 400, { code: 'NO_KEY' });
        const existing = cases.get(key);
        if (existing)
          return send(response, 200, { code: '0', data: { reference: existing.reference, duplicate: true } }, padding);
        const created = { reference: `T-${randomUUID()}`, updatedAt: new Date().toISOString() };
        cases.set(key, created);
        return send(response, 200, { code: '0', data: { reference: created.reference, duplicate: false } }, padding);
      }
      if (operation === 'status') {
        const reference = decodeURIComponent(url.pathname.split('/')[2] ?? '');
        const found = [...cases.values()].find((entry) => entry.reference === reference);
        if (!found) return send(response, 404, { code: 'NOT_FOUND' });
        return send(
          response,
          200,
          { code: '0', data: { reference, status: 'received', updatedAt: found.updatedAt } },
          padding,
        );
      }
      if (operation === 'health') return send(response, 200, { code: '0', data: { up: true } });
      return send(response, 404, { code: 'NO_ROUTE' });
    },
  };
  return startSimulator(definition);
}

const dateSchema = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' };

/** The test department's contract (OpenAPI 3.1). */
export const testDepartmentContract = {
  openapi: '3.1.0',
  info: { title: 'Test registry', version: '1.0.0' },
  paths: {
    '/verify': { post: { operationId: 'verify', responses: { '200': { $ref: '#/components/responses/Envelope' } } } },
    '/certificates/{type}/{id}': {
      get: {
        operationId: 'certificate',
        responses: {
          '200': { $ref: '#/components/responses/Envelope' },
          '404': {
            description: 'none',
            content: { 'application/json': { schema: { type: 'object', required: ['code'] } } },
          },
        },
      },
    },
    '/cases': { post: { operationId: 'submit', responses: { '200': { $ref: '#/components/responses/Envelope' } } } },
    '/cases/{reference}': {
      get: { operationId: 'status', responses: { '200': { $ref: '#/components/responses/Envelope' } } },
    },
    '/health': { get: { operationId: 'health', responses: { '200': { $ref: '#/components/responses/Envelope' } } } },
  },
  components: {
    responses: {
      Envelope: {
        description: 'an answer',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } },
      },
    },
    schemas: {
      Envelope: {
        type: 'object',
        required: ['code'],
        properties: { code: { type: 'string' }, message: { type: 'string' }, data: { type: 'object' } },
      },
      Certificate: {
        type: 'object',
        required: ['certificateNumber', 'holderName', 'holderIdentifier', 'issueDate'],
        properties: { issueDate: dateSchema, validFrom: dateSchema },
      },
    },
  },
};

export const testAdapterFactory = defineAdapter({
  kind: 'test-registry',
  description: 'A minimal JSON department system used to test the adapter SDK.',
  optionsSchema: z.object({}),
  create(_options: Record<string, never>, environment: AdapterEnvironment): DepartmentAdapter {
    const { client, contracts } = environment;

    /** Decodes the envelope, checks the contract, turns business errors into DepartmentErrors. */
    function decode(operation: string, response: DepartmentResponse): Record<string, unknown> | null {
      let parsed: unknown;
      try {
        parsed = JSON.parse(response.body.toString('utf8'));
      } catch (error) {
        throw new DepartmentError('malformed', `TEST ${operation}: the answer is not JSON`, {
          department: TEST_DEPARTMENT,
          operation,
          status: response.status,
          cause: error,
        });
      }
      contracts.checkResponse(TEST_RESOURCE, operation, response.status, parsed);
      const envelope = parsed as { code: string; data?: Record<string, unknown> };
      if (response.status === 404) return null;
      if (envelope.code !== '0') {
        throw new DepartmentError('business_error', `TEST ${operation}: the registry answered code ${envelope.code}`, {
          department: TEST_DEPARTMENT,
          operation,
          departmentCode: envelope.code,
        });
      }
      return envelope.data ?? {};
    }

    function identifierOf(subject: SubjectRef): string {
      return subject.kind === 'person' ? subject.idNumber : subject.creditCode;
    }

    function wrongSubject(operation: string): DepartmentError {
      return new DepartmentError('wrong_subject', `TEST ${operation}: the answer is about a different subject`, {
        department: TEST_DEPARTMENT,
        operation,
      });
    }

    const json = { 'content-type': 'application/json' };
    return {
      department: TEST_DEPARTMENT,
      kind: 'test-registry',
      resources: {
        verifyIdentity: TEST_RESOURCE,
        fetchCertificate: TEST_RESOURCE,
        submitCase: TEST_RESOURCE,
        queryCaseStatus: TEST_RESOURCE,
        health: TEST_RESOURCE,
      },
      certificateTypes: ['resident_id_card'],
      submissionTypes: testSubmissionTypes,
      async verifyIdentity(request, context) {
        const response = await client.request({
          operation: 'verify',
          method: 'POST',
          path: '/verify',
          headers: json,
          body: JSON.stringify({ idNumber: request.idNumber, name: request.name }),
          idempotent: true,
          context,
        });
        const data = decode('verify', response) ?? {};
        if (data['idNumber'] !== request.idNumber) throw wrongSubject('verify');
        return data['result'] === 'match'
          ? { outcome: 'match' }
          : data['result'] === 'mismatch'
            ? { outcome: 'name_mismatch' }
            : { outcome: 'not_found' };
      },
      async fetchCertificate(request, context) {
        const identifier = identifierOf(request.subject);
        const response = await client.request({
          operation: 'certificate',
          method: 'GET',
          path: `/certificates/${encodeURIComponent(request.certificateType)}/${encodeURIComponent(identifier)}`,
          idempotent: true,
          context,
          acceptStatus: (status) => status === 200 || status === 404,
        });
        const data = decode('certificate', response);
        if (data === null) return { outcome: 'not_found' };
        const metadata = data['certificate'] as CertificateMetadata;
        if (metadata.holderIdentifier !== identifier) throw wrongSubject('certificate');
        return {
          outcome: 'found',
          metadata,
          document: { mediaType: 'application/pdf', bytes: Buffer.from(String(data['document']), 'base64') },
        };
      },
      async submitCase(request, context) {
        if (!Object.hasOwn(testSubmissionTypes, request.submissionType))
          throw unknownSubmissionType('test-department', TEST_DEPARTMENT, request, testSubmissionTypes);
        const response = await client.request({
          operation: 'submit',
          method: 'POST',
          path: '/cases',
          headers: { ...json, 'idempotency-key': request.idempotencyKey },
          body: JSON.stringify({ caseNumber: request.caseNumber, itemCode: request.itemCode, form: request.form }),
          // The registry drops duplicates by the idempotency key, so a retry has no double effect.
          idempotent: true,
          context,
        });
        const data = decode('submit', response) ?? {};
        return { departmentReference: String(data['reference']), duplicate: data['duplicate'] === true };
      },
      async queryCaseStatus(departmentReference, context): Promise<CaseStatusResult> {
        const response = await client.request({
          operation: 'status',
          method: 'GET',
          path: `/cases/${encodeURIComponent(departmentReference)}`,
          idempotent: true,
          context,
        });
        const data = decode('status', response) ?? {};
        return {
          departmentReference: String(data['reference']),
          status: 'received',
          updatedAt: String(data['updatedAt']),
        };
      },
      async health(context) {
        const response = await client.request({
          operation: 'health',
          method: 'GET',
          path: '/health',
          idempotent: true,
          context,
        });
        decode('health', response);
        return { ok: true };
      },
      close: () => client.close(),
    };
  },
});
