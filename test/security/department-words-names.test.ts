/**
 * A department's words name the case's people (「张三、李梅请携带身份证原件补正」). A caller who sees
 * subjects masked (no `subjects:unmask`, not the window system that opened the case) reads the
 * case's names masked there too, as it reads them in the form and the subject views: in the case
 * view's deliveries and on the timeline. The opening window reads the words as the department wrote
 * them, with identifiers masked as everyone does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { seedDelivery } from '../../gateway/supervision/test-fixtures.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const LI_MEI = { identifier: '330106198503150120', name: '李梅' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const WORDS = '张三、李梅请携带身份证原件到不动产登记中心补正';
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let psb: RunningSimulator;
let nrb: RunningSimulator;
let gw: TestGateway;
let openerToken = '';
let caseId = '';

async function call(token: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return gw.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: bearer(token, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

interface Readable {
  deliveries: { department: string; departmentMessage: string | null }[];
}
interface TimelineEvent {
  kind: string;
  detail: { message?: string };
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, nrb: nrb.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  const window = await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES]);
  openerToken = window.token;
  const resolve = async (who: typeof ZHANG_SAN) =>
    (
      await ok<{ id: string }>(
        await call(openerToken, '/v1/subjects/resolve', { identifierType: 'resident_id', ...who }, purpose),
        201,
      )
    ).id;
  const zhangSan = await resolve(ZHANG_SAN);
  const liMei = await resolve(LI_MEI);
  const opened = await ok<{ id: string; caseNumber: string }>(
    await call(openerToken, '/v1/cases', {
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
  caseId = opened.id;
  await seedDelivery(gw.services.db, caseId, { department: 'NRB', status: 'delivered' });
  // The department's words arrive through its status callback, as a real NRB system sends them.
  const nrbStatus = await gw.tokenFor('department', ['cases:status'], { departmentCode: 'NRB' });
  await ok(
    await call(nrbStatus, '/v1/case-status-callbacks', {
      caseNumber: opened.caseNumber,
      eventId: 'nrb-evt-words-1',
      status: 'awaiting_applicant',
      occurredAt: '2026-12-18T01:30:00.000Z',
      message: `${WORDS}（${LI_MEI.identifier}）`,
    }),
  );
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe("a department's words: the case's names masked for a caller who sees subjects masked", () => {
  it('a department reading the case without subjects:unmask sees the names masked in the delivery and on the timeline', async () => {
    const reader = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'NRB' });
    const view = await ok<Readable>(await call(reader, `/v1/cases/${caseId}`, undefined, purpose));
    const words = view.deliveries.find((delivery) => delivery.department === 'NRB')?.departmentMessage ?? '';
    expect(words).toContain('请携带身份证原件');
    for (const name of [ZHANG_SAN.name, LI_MEI.name, LI_MEI.identifier]) expect(words).not.toContain(name);
    const timeline = await ok<{ items: TimelineEvent[] }>(
      await call(reader, `/v1/cases/${caseId}/timeline`, undefined, purpose),
    );
    const said = timeline.items.find((event) => event.kind === 'department_status')?.detail.message ?? '';
    expect(said).toContain('请携带身份证原件');
    for (const name of [ZHANG_SAN.name, LI_MEI.name]) expect(said).not.toContain(name);
  });

  it('control: the window system that opened the case reads the words as written, the ID number masked', async () => {
    const view = await ok<Readable>(await call(openerToken, `/v1/cases/${caseId}`, undefined, purpose));
    const words = view.deliveries.find((delivery) => delivery.department === 'NRB')?.departmentMessage ?? '';
    expect(words).toContain(WORDS);
    expect(words).not.toContain(LI_MEI.identifier);
    const timeline = await ok<{ items: TimelineEvent[] }>(
      await call(openerToken, `/v1/cases/${caseId}/timeline`, undefined, purpose),
    );
    expect(timeline.items.find((event) => event.kind === 'department_status')?.detail.message).toContain(WORDS);
  });
});
