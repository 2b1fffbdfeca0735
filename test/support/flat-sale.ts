/**
 * The stage of the stories about a second-hand flat's sale read by others (review 11, 14, a
 * department's words): the PSB and NRB simulators, a gateway on a fixed day whose delivery worker
 * does not run, a case window granted both departments' resources (its tokens carry no
 * `subjects:unmask`), and the case it opened: 张三 sells his sole flat to 李梅, a party
 * (`counterparty`) whom the form names too (`transferee`, with her ID number).
 */
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from './simulated-departments.js';

export const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
export const LI_MEI = { identifier: '330106198503150120', name: '李梅' };
export const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
export const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

/** A call with `token`: a body goes as JSON, POST; none is a GET. */
export type CallAs = (
  token: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Response>;

export interface FlatSaleStage {
  gw: TestGateway;
  /** The token of the window system that opened the case. */
  openerToken: string;
  call: CallAs;
  caseId: string;
  caseNumber: string;
  /** Subject ids of the seller (the applicant) and the buyer (the party). */
  zhangSan: string;
  liMei: string;
  close(): Promise<void>;
}

export async function flatSaleStage(): Promise<FlatSaleStage> {
  const psb = await startPsbPopulationSimulator();
  const nrb = await startNrbRealEstateSimulator();
  const gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, nrb: nrb.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  const close = async () => {
    await gw.close();
    await Promise.all([psb.close(), nrb.close()]);
  };
  try {
    const { token } = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES]);
    const call: CallAs = (as, path, body, headers = {}) =>
      gw.request(path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: bearer(as, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const resolve = async (who: typeof ZHANG_SAN) =>
      (
        await ok<{ id: string }>(
          await call(token, '/v1/subjects/resolve', { identifierType: 'resident_id', ...who }, PURPOSE),
          201,
        )
      ).id;
    const zhangSan = await resolve(ZHANG_SAN);
    const liMei = await resolve(LI_MEI);
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call(token, '/v1/cases', {
        itemCode: 'real_estate_transfer',
        subjectId: zhangSan,
        form: {
          certificateNo: SOLE_FLAT,
          transferee: { name: LI_MEI.name, idNumber: LI_MEI.identifier },
          transferReason: 'sale',
        },
        parties: [{ role: 'counterparty', subjectId: liMei }],
      }),
      201,
    );
    return { gw, openerToken: token, call, caseId: opened.id, caseNumber: opened.caseNumber, zhangSan, liMei, close };
  } catch (error) {
    await close();
    throw error;
  }
}
