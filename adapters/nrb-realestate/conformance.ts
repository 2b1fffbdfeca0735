/**
 * The conformance harness of this package (the SDK's shared suite against the simulator) and the
 * samples it uses, for `npm run adapters:conformance` (and npm test): test-only, like the SDK's
 * `conformance` export. The NRB adapter tests import the samples from here.
 */
import type { CaseSubmissionRequest, CertificateRequest, ConformanceHarness, SubjectRef } from '@onewindow/adapter-sdk';
import { nrbRealEstateAdapter, nrbRealEstateOptionsSchema } from './adapter.js';
import type { CertificateRecordWire } from './protocol.js';
import { LI_MEI, NRB_UNKNOWN_ID_NUMBER, YUNQI_TECH, ZHANG_SAN, seededCertificates } from './seed.js';
import { NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET, startNrbRealEstateSimulator } from './simulator.js';
import { nrbTestEnvironment } from './test-environment.js';

/** Quick polls: the simulator's jobs finish after a set number of polls, not after a time. */
export const seeded = (certificateId: string): CertificateRecordWire => {
  const record = seededCertificates.find((candidate) => candidate.certificateId === certificateId);
  if (!record) throw new Error(`seed has no ${certificateId}`);
  return record;
};

/** 张三's sole-owned flat: valid, not sealed, so it may be transferred. */
export const TRANSFERABLE = seeded('ZS11010520150031287');

/** 张三 and 王秀英's jointly owned flat, mortgaged to ICBC 望京支行: its mortgage may be cancelled. */
export const MORTGAGED = seeded('ZS11010520190107652');

export const fastPolling = { pollInitialDelayMs: 2, pollMaxDelayMs: 10 };

export const person = (holder: { idNumber: string; name: string }): SubjectRef => ({
  kind: 'person',
  idNumber: holder.idNumber,
  name: holder.name,
});

export const certificateOf = (subject: SubjectRef): CertificateRequest => ({
  certificateType: 'real_estate_certificate',
  subject,
});

export function transfer(idempotencyKey: string, form: Record<string, unknown> = {}): CaseSubmissionRequest {
  return {
    idempotencyKey,
    caseNumber: 'CASE-2026-0107',
    itemCode: 'nrb.real-estate.transfer',
    submissionType: 'transfer_registration',
    subject: person(ZHANG_SAN),
    materials: [{ typeCode: 'sale_contract', sha256: 'C'.repeat(64), mediaType: 'application/pdf', size: 4096 }],
    form: {
      certificateNo: TRANSFERABLE.certificateNo,
      transferee: { name: '李梅', idNumber: LI_MEI.idNumber },
      transferReason: '买卖',
      price: '5200000',
      ...form,
    },
  };
}

export function mortgageCancellation(
  idempotencyKey: string,
  form: Record<string, unknown> = {},
): CaseSubmissionRequest {
  return {
    idempotencyKey,
    caseNumber: 'CASE-2026-0211',
    itemCode: 'real_estate_mortgage_cancellation',
    submissionType: 'mortgage_cancellation',
    subject: person(ZHANG_SAN),
    materials: [
      { typeCode: 'real_estate_certificate', sha256: 'D'.repeat(64), mediaType: 'application/pdf', size: 8192 },
    ],
    form: {
      certificateNo: MORTGAGED.certificateNo,
      mortgagee: '中国工商银行股份有限公司北京望京支行',
      cancellationReason: 'debt_repaid',
      ...form,
    },
  };
}

export const conformanceHarness: ConformanceHarness = {
  name: 'NRB real-estate registry',
  async start(tuning) {
    const simulator = await startNrbRealEstateSimulator();
    const environment = nrbTestEnvironment(simulator.url, tuning);
    const adapter = nrbRealEstateAdapter.create(
      nrbRealEstateOptionsSchema.parse({
        clientId: NRB_DEMO_CLIENT_ID,
        clientSecret: NRB_DEMO_CLIENT_SECRET,
        ...fastPolling,
      }),
      environment,
    );
    return {
      simulator,
      adapter,
      client: environment.client,
      async close() {
        await adapter.close();
        await simulator.close();
      },
    };
  },
  samples: {
    fetchCertificate: {
      found: [
        certificateOf(person(ZHANG_SAN)),
        certificateOf({ kind: 'organisation', creditCode: YUNQI_TECH.idNumber, name: YUNQI_TECH.name }),
      ],
      notFound: certificateOf(person({ idNumber: NRB_UNKNOWN_ID_NUMBER, name: '某某' })),
    },
    submitCase: transfer('conformance'),
    otherSubmissionTypes: [mortgageCancellation('conformance-mc')],
    queryCaseStatus: true,
  },
  // Faults hit the step that starts each capability: the query (then polls, pages and the PDF
  // follow), the submission, the status read.
  operations: {
    fetchCertificate: 'createCertificateQuery',
    submitCase: 'submitTransferRegistration',
    queryCaseStatus: 'getTransferRegistration',
    health: 'health',
  },
};
