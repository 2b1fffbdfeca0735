/**
 * Review 12 (attacker's eye): a department the case was delivered to reads on the timeline the ids
 * (and, on its audit entry, the types) of materials the window attached and then replaced before
 * submitting — documents that were never sent to it and that the case view no longer names.
 * `caseTimeline` (gateway/cases/cases.ts) decides every `materialId` an event mentions through
 * `attachedMaterials(…, viaCase)`, and the policy's `material.sent_with_a_delivered_case` lets a
 * delivered department read any material asked about "via the case", attached now or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../../adapters/amr-enterprise/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { pdfDocument } from '../fixtures/documents.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const COMPANY = { identifier: '91330106MA2B7K1Q20', name: '杭州西湖云栖科技有限公司' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let psb: RunningSimulator;
let amr: RunningSimulator;
let gw: TestGateway;
let token = '';
let caseId = '';
let replacedId = '';
let keptId = '';

async function call(path: string, body?: unknown, headers: Record<string, string> = {}, as = token): Promise<Response> {
  return gw.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: bearer(as, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function upload(subjectId: string, label: string): Promise<string> {
  const response = await gw.request(`/v1/subjects/${subjectId}/materials?typeCode=power_of_attorney`, {
    method: 'POST',
    headers: bearer(token, { ...purpose, 'content-type': 'application/pdf' }),
    body: Buffer.from(pdfDocument(label)),
  });
  return (await ok<{ id: string }>(response, 201)).id;
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  token = (await caseWindow(gw, ['psb.population', 'amr.enterprise'], [...CASE_WINDOW_SCOPES])).token;
  const resolved = await call('/v1/subjects/resolve', { identifierType: 'credit_code', ...COMPANY }, purpose);
  const company = ((await resolved.json()) as { id: string }).id;
  const opened = await ok<{ id: string }>(
    await call('/v1/cases', { itemCode: 'business_licence_reissue', subjectId: company, form: { reason: 'lost' } }),
    201,
  );
  caseId = opened.id;
  // The clerk attaches a power of attorney, then replaces it with the right one.
  replacedId = await upload(company, 'review-12-wrong-attorney');
  await ok(await call(`/v1/cases/${caseId}/materials`, { requirementCode: 'authorisation', materialId: replacedId }));
  keptId = await upload(company, 'review-12-right-attorney');
  await ok(await call(`/v1/cases/${caseId}/materials`, { requirementCode: 'authorisation', materialId: keptId }));
  await ok(await call(`/v1/cases/${caseId}/certificates`, {}));
  await ok(await call(`/v1/cases/${caseId}/submit`, {}, { 'idempotency-key': 'review-12-replaced-0001' }));
  await gw.services.deliveryWorker.runOnce();
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close()]);
});

describe('review 12: a replaced material on the timeline of a delivered department', () => {
  it('control: the case view AMR reads names the power of attorney sent, not the one replaced', async () => {
    const amrToken = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'AMR' });
    const view = await (await call(`/v1/cases/${caseId}`, undefined, purpose, amrToken)).text();
    expect(view).toContain(keptId);
    expect(view).not.toContain(replacedId);
  });

  it("AMR's timeline withholds the id of the power of attorney replaced before submission", async () => {
    const amrToken = await gw.tokenFor('department', ['cases:read'], { departmentCode: 'AMR' });
    const timeline = await (await call(`/v1/cases/${caseId}/timeline`, undefined, purpose, amrToken)).text();
    expect(timeline).toContain(keptId);
    // Before the fix: the first `material_attached` event shows it (`withheld` absent).
    expect(timeline).not.toContain(replacedId);
  });
});
