/**
 * The conformance harness of this package (the SDK's shared suite against the simulator) and the
 * samples it uses, for `npm run adapters:conformance` (and npm test): test-only, like the SDK's
 * `conformance` export. The PSB adapter tests import the samples from here.
 */
import type { CaseSubmissionRequest, ConformanceHarness } from '@onewindow/adapter-sdk';
import { psbPopulationAdapter, psbPopulationOptionsSchema } from './adapter.js';
import { PSB_UNKNOWN_ID_NUMBER } from './seed.js';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET, startPsbPopulationSimulator } from './simulator.js';
import { psbTestEnvironment } from './test-environment.js';

export const ZHANG_SAN = { idNumber: '11010519491231002X', name: '张三' };

export const LI_MEI = { idNumber: '330106198503150120', name: '李梅' };

export const person = (who: { idNumber: string; name: string }) => ({ kind: 'person' as const, ...who });

/** 张三 moves into the flat she bought: the PSB half of "real-estate transfer + household move-in". */
export const MOVE_IN: CaseSubmissionRequest = {
  idempotencyKey: 'dlv_psb_move_in_0001',
  caseNumber: 'OW-2026-000123',
  itemCode: 'household_move_in',
  submissionType: 'household_move_in',
  subject: person(ZHANG_SAN),
  materials: [
    { typeCode: 'real_estate_certificate', sha256: 'A1'.repeat(32), mediaType: 'application/pdf', size: 48_213 },
    { typeCode: 'household_register', sha256: '0f'.repeat(32), mediaType: 'application/pdf', size: 20_117 },
  ],
  form: {
    moveInAddress: '北京市海淀区中关村南大街5号院2号楼1单元101室',
    certificateNo: '京(2026)海淀区不动产权第0012345号',
  },
};

export const conformanceHarness: ConformanceHarness = {
  name: 'PSB population registry',
  async start(tuning) {
    const simulator = await startPsbPopulationSimulator();
    const environment = await psbTestEnvironment(simulator.url, tuning);
    const adapter = psbPopulationAdapter.create(
      psbPopulationOptionsSchema.parse({ appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET }),
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
    verifyIdentity: {
      match: ZHANG_SAN,
      mismatch: { idNumber: LI_MEI.idNumber, name: '李美' },
      unknown: { idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' },
    },
    fetchCertificate: {
      found: [
        { certificateType: 'resident_id_card', subject: person(ZHANG_SAN) },
        { certificateType: 'household_register', subject: person(LI_MEI) },
      ],
      notFound: {
        certificateType: 'resident_id_card',
        subject: person({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }),
      },
    },
    submitCase: MOVE_IN,
    queryCaseStatus: true,
  },
  operations: {
    verifyIdentity: 'verifyIdentity',
    fetchCertificate: 'getResidentIdCertificate',
    submitCase: 'submitHouseholdMoveIn',
    queryCaseStatus: 'getApplicationStatus',
    health: 'health',
  },
};
