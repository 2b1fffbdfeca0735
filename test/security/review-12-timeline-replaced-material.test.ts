/**
 * Review 12 (attacker's eye): a department the case was delivered to reads on the timeline the ids
 * (and, on its audit entry, the types) of materials the window attached and then replaced before
 * submitting — documents that were never sent to it and that the case view no longer names.
 * `caseTimeline` (gateway/cases/cases.ts) decides every `materialId` an event mentions through
 * `attachedMaterials(…, viaCase)`, and the policy's `material.sent_with_a_delivered_case` lets a
 * delivered department read any material asked about "via the case", attached now or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, bearer, ok } from '../harness.js';
import { pdfDocument } from '../fixtures/documents.js';
import {
  type Call,
  COMPANY,
  type LicenceReissueStage,
  PURPOSE,
  licenceReissueStage,
} from '../support/licence-reissue.js';

const purpose = PURPOSE;

let stage: LicenceReissueStage;
let gw: TestGateway;
let token = '';
let caseId = '';
let replacedId = '';
let keptId = '';

const call: Call = (...args) => stage.call(...args);

async function upload(subjectId: string, label: string): Promise<string> {
  const response = await gw.request(`/v1/subjects/${subjectId}/materials?typeCode=power_of_attorney`, {
    method: 'POST',
    headers: bearer(token, { ...purpose, 'content-type': 'application/pdf' }),
    body: Buffer.from(pdfDocument(label)),
  });
  return (await ok<{ id: string }>(response, 201)).id;
}

beforeAll(async () => {
  stage = await licenceReissueStage();
  ({ gw, token } = stage);
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
  await stage?.close();
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
