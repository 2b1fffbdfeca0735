/**
 * Proves the shared conformance suite against the SDK's own test department (a JSON simulator and
 * adapter under testing/), before real department adapters rely on it.
 */
import pino from 'pino';
import { createDepartmentClient } from './client.js';
import type { ConformanceHarness } from './conformance-types.js';
import { describeConformance } from './conformance.js';
import { createContractSet } from './contract-validation.js';
import {
  TEST_DEPARTMENT,
  TEST_RESOURCE,
  startTestDepartmentSimulator,
  testAdapterFactory,
  testDepartmentContract,
  testPeople,
  unknownIdNumber,
} from './testing/test-department.js';
import type { CertificateRequest } from './types.js';

const [first, second] = testPeople as [(typeof testPeople)[number], (typeof testPeople)[number]];

function certificateRequest(idNumber: string, name: string): CertificateRequest {
  return { certificateType: 'resident_id_card', subject: { kind: 'person', idNumber, name } };
}

const harness: ConformanceHarness = {
  name: 'SDK test registry',
  async start(tuning) {
    const simulator = await startTestDepartmentSimulator();
    const client = createDepartmentClient({
      ...tuning,
      department: TEST_DEPARTMENT,
      baseUrl: simulator.url,
      urlPolicy: { allowedHosts: [], allowPrivateNetworks: true },
    });
    const adapter = testAdapterFactory.create(
      {},
      {
        department: TEST_DEPARTMENT,
        client,
        contracts: createContractSet([
          { resourceCode: TEST_RESOURCE, document: testDepartmentContract, department: TEST_DEPARTMENT },
        ]),
        logger: pino({ level: 'silent' }),
        now: () => new Date(),
      },
    );
    return {
      simulator,
      adapter,
      client,
      async close() {
        await adapter.close();
        await simulator.close();
      },
    };
  },
  samples: {
    verifyIdentity: {
      match: { idNumber: first.idNumber, name: first.name },
      mismatch: { idNumber: first.idNumber, name: second.name },
      unknown: { idNumber: unknownIdNumber, name: first.name },
    },
    fetchCertificate: {
      found: [certificateRequest(first.idNumber, first.name), certificateRequest(second.idNumber, second.name)],
      notFound: certificateRequest(unknownIdNumber, '无名'),
    },
    submitCase: {
      idempotencyKey: 'idem-conformance',
      caseNumber: 'C-2025-0001',
      itemCode: 'hukou-transfer',
      submissionType: 'test_application',
      subject: { kind: 'person', idNumber: first.idNumber, name: first.name },
      materials: [],
      form: { reason: 'move' },
    },
    queryCaseStatus: true,
  },
  operations: {
    verifyIdentity: 'verify',
    fetchCertificate: 'certificate',
    submitCase: 'submit',
    queryCaseStatus: 'status',
    health: 'health',
  },
};

describeConformance(harness);
