/**
 * The stage of the stories about a company's case with a legal representative (reviews 11 and 12):
 * the PSB and AMR simulators, a gateway on a fixed day whose delivery worker runs only when a test
 * calls `runOnce()`, and a case window granted both departments' resources.
 */
import { startAmrEnterpriseSimulator } from '../../adapters/amr-enterprise/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { simulatedDepartmentsJson } from './simulated-departments.js';

export const LI_MEI = { identifier: '330106198503150120', name: '李梅' };
export const COMPANY = { identifier: '91330106MA2B7K1Q20', name: '杭州西湖云栖科技有限公司' };
export const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

/** A call as the window (or as `token`): a body goes as JSON, POST; none is a GET. */
export type Call = (
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
  token?: string,
) => Promise<Response>;

export interface LicenceReissueStage {
  gw: TestGateway;
  /** The case window's token. */
  token: string;
  call: Call;
  /** Resolves (or creates) a subject as the window; its id. */
  resolve(identifierType: 'resident_id' | 'credit_code', who: { identifier: string; name: string }): Promise<string>;
  close(): Promise<void>;
}

export async function licenceReissueStage(): Promise<LicenceReissueStage> {
  const psb = await startPsbPopulationSimulator();
  const amr = await startAmrEnterpriseSimulator();
  const gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  const { token } = await caseWindow(gw, ['psb.population', 'amr.enterprise'], [...CASE_WINDOW_SCOPES]);
  const call: Call = (path, body, headers = {}, as = token) =>
    gw.request(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: bearer(as, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    gw,
    token,
    call,
    resolve: async (identifierType, who) => {
      const response = await call('/v1/subjects/resolve', { identifierType, ...who }, PURPOSE);
      if (response.status !== 200 && response.status !== 201) throw new Error(await response.text());
      return ((await response.json()) as { id: string }).id;
    },
    close: async () => {
      await gw.close();
      await Promise.all([psb.close(), amr.close()]);
    },
  };
}
