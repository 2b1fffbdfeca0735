/**
 * The conformance harness of this package (the SDK's shared suite against the simulator), for
 * `npm run adapters:conformance`: test-only, like the SDK's `conformance` export.
 */
import type { CertificateRequest, ConformanceHarness } from '@onewindow/adapter-sdk';
import { mcaMarriageAdapter, mcaMarriageOptionsSchema } from './adapter.js';
import { MARRIAGE_CERTIFICATE } from './mapping.js';
import { mcaMethods } from './protocol.js';
import { LI_MEI, MA_XIAOYAN, MCA_UNKNOWN_ID_NUMBER, WANG_JIANGUO, type SeededParty } from './seed.js';
import { MCA_DEMO_APP_ID, MCA_DEMO_APP_KEY, startMcaMarriageSimulator } from './simulator.js';
import { mcaTestEnvironment } from './test-environment.js';

function certificateOf(party: Pick<SeededParty, 'idNumber' | 'name'>): CertificateRequest {
  return {
    certificateType: MARRIAGE_CERTIFICATE,
    subject: { kind: 'person', idNumber: party.idNumber, name: party.name },
  };
}

export const conformanceHarness: ConformanceHarness = {
  name: 'MCA marriage registry',
  async start(tuning) {
    const simulator = await startMcaMarriageSimulator();
    const environment = mcaTestEnvironment(simulator.url, tuning);
    const adapter = mcaMarriageAdapter.create(
      mcaMarriageOptionsSchema.parse({ appId: MCA_DEMO_APP_ID, appKey: MCA_DEMO_APP_KEY }),
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
      found: [certificateOf(LI_MEI), certificateOf(WANG_JIANGUO), certificateOf(MA_XIAOYAN)],
      notFound: certificateOf({ idNumber: MCA_UNKNOWN_ID_NUMBER, name: '某某' }),
    },
  },
  operations: { fetchCertificate: mcaMethods.certificateQuery, health: mcaMethods.health },
};
