/**
 * The conformance harness of this package (the SDK's shared suite against the simulator) and the
 * samples it uses, for `npm run adapters:conformance` (and npm test): test-only, like the SDK's
 * `conformance` export. The AMR adapter tests import the samples from here.
 */
import type { CaseSubmissionRequest, CertificateRequest, ConformanceHarness } from '@onewindow/adapter-sdk';
import { amrEnterpriseAdapter, amrEnterpriseOptionsSchema } from './adapter.js';
import { seededEnterprises, unknownCreditCode } from './seed.js';
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from './simulator.js';
import { amrTestEnvironment } from './test-environment.js';

const [trading, , , cancelled] = seededEnterprises;
if (!trading || !cancelled) throw new Error('seed data changed');

export function licenceRequest(creditCode: string, name = '某公司'): CertificateRequest {
  return { certificateType: 'business_licence', subject: { kind: 'organisation', creditCode, name } };
}

export function submission(
  idempotencyKey: string,
  companyName = '杭州西湖新设R&D<测试>有限公司',
): CaseSubmissionRequest {
  return {
    idempotencyKey,
    caseNumber: 'CASE-2026-0001',
    itemCode: 'amr.enterprise.establish',
    submissionType: 'enterprise_establishment',
    subject: { kind: 'person', idNumber: '330106198503150120', name: '李梅' },
    materials: [
      { typeCode: 'articles_of_association', sha256: 'b'.repeat(64), mediaType: 'application/pdf', size: 2048 },
    ],
    form: { companyName, registeredCapital: '100万元人民币' },
  };
}

/** 杭州西湖云栖科技 lost its licence and applies for a new one itself. */
export function reissue(idempotencyKey: string): CaseSubmissionRequest {
  const enterprise = seededEnterprises[0];
  if (!enterprise) throw new Error('seed data changed');
  return {
    idempotencyKey,
    caseNumber: 'CASE-2026-0002',
    itemCode: 'business_licence_reissue',
    submissionType: 'business_licence_reissue',
    subject: { kind: 'organisation', creditCode: enterprise.tyshxydm, name: enterprise.qymc },
    materials: [],
    form: { reason: 'lost' },
  };
}

export const conformanceHarness: ConformanceHarness = {
  name: 'AMR enterprise registry',
  async start(tuning) {
    const running = await startAmrEnterpriseSimulator();
    const options = amrEnterpriseOptionsSchema.parse({
      wsUsername: defaultAmrCredentials.username,
      wsPassword: defaultAmrCredentials.password,
    });
    const environment = await amrTestEnvironment(running.url, tuning);
    const conformanceAdapter = amrEnterpriseAdapter.create(options, environment);
    return {
      simulator: running,
      adapter: conformanceAdapter,
      client: environment.client,
      async close() {
        await conformanceAdapter.close();
        await running.close();
      },
    };
  },
  samples: {
    fetchCertificate: {
      found: [licenceRequest(trading.tyshxydm, trading.qymc), licenceRequest(cancelled.tyshxydm, cancelled.qymc)],
      notFound: licenceRequest(unknownCreditCode),
    },
    submitCase: submission('YW-CONFORMANCE-1'),
    otherSubmissionTypes: [reissue('YW-CONFORMANCE-REISSUE')],
    queryCaseStatus: true,
  },
  operations: {
    fetchCertificate: 'QueryBusinessLicence',
    submitCase: 'SubmitRegistration',
    queryCaseStatus: 'QueryRegistrationStatus',
    health: 'Ping',
  },
};
