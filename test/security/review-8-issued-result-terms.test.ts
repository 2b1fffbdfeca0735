/**
 * Review 8 (attacker's eye), fixed: an electronic result (电子证照) a department issues with its completion
 * was stored as an issued certificate material with NO sharing resource (`recordResultCertificate`
 * passes `contractResource: null`), whereas the same certificate fetched from the department
 * carries the resource it was fetched under, and a document the department uploads carries the
 * resource through which it shares that type (`sharingResourceOf`). With no resource the policy's
 * `resourceRule` answers `resource.none` (allow): every window system, of any centre, without the
 * department's grant, reads and downloads the issued licence of a case it has nothing to do with —
 * while the certificate route refuses it the very same licence (`403 no_grant`).
 *
 * Docs promise (security.md, "Who may see and change what"): a window reads "a department's
 * certificates and documents ... only under the department's terms (unconditional, or conditional
 * with a live grant)"; access-policy.md: "A department that makes a resource conditional withdraws
 * its documents from windows without grants at once."
 *
 * Scenario: AMR's `amr.enterprise` resource is conditional (as if AMR published conditional terms;
 * set in the table, like the contract's publication would). A case of 张三 results in the new
 * enterprise's business licence; an unrelated window with no grant lists the enterprise's
 * materials and downloads the licence.
 *
 * Now the issued document is stored under the resource its department shares the type through
 * (`sharingResourceOf`), and one stored before is put under it at start
 * (`shareIssuedResultsUnderTerms`); the applicant's own download, proven by the case, stays open.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { caseResults, cases, contractResources, deliveries, materials } from '../../gateway/db/schema.js';
import { shareIssuedResultsUnderTerms } from '../../gateway/results/electronic.js';
import type { Clock } from '../../gateway/platform/clock.js';
import { pdfDocument } from '../fixtures/documents.js';
import { type TestGateway, bearer, caseWindow, createTestGateway, ok, windowCaller } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const _json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const establishmentForm = {
  companyName: '西安未央晨星咨询有限公司',
  registeredCapital: '100万元人民币',
  businessScope: '企业管理咨询',
};
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };
const instant = new Date('2026-12-18T02:00:00.000Z').getTime();
const clock: Clock = { now: () => new Date(instant) };
let registryInstant = instant;

let psb: RunningSimulator;
let amr: RunningSimulator;
let nrb: RunningSimulator;
let gw: TestGateway;
let windowToken: string;
let strangerToken: string;
let zhangSan: string;
let licenceId = '';
let caseNumber = '';
let enterpriseId = '';

const call = windowCaller(
  () => gw,
  () => windowToken,
);

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator({ now: () => new Date(registryInstant) });
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: nrb.url }, tuning),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
      NOTIFICATION_WORKER: 'false',
      COURIER_WORKER: 'false',
    },
    { clock },
  );
  // The handling window holds every grant; the stranger (another window system) holds none.
  windowToken = (await caseWindow(gw)).token;
  strangerToken = (await caseWindow(gw, [])).token;
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;
  const first = await ok<{ id: string }>(
    await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
    201,
  );
  await ok(await call(`/v1/cases/${first.id}/certificates`, { body: {} }));
  const uploaded = await gw.request(
    `/v1/subjects/${zhangSan}/materials?typeCode=articles_of_association&fileName=articles.pdf`,
    {
      method: 'POST',
      headers: bearer(windowToken, { ...purpose, 'content-type': 'application/pdf' }),
      body: Buffer.from(pdfDocument('articles')),
    },
  );
  await ok(
    await call(`/v1/cases/${first.id}/materials`, {
      body: { requirementCode: 'articles', materialId: (await ok<{ id: string }>(uploaded, 201)).id },
    }),
  );
  const opened = await ok<{ id: string }>(
    await call('/v1/cases', {
      body: { itemCode: 'enterprise_establishment', subjectId: zhangSan, resultDelivery: { method: 'electronic' } },
    }),
    201,
  );
  await ok(
    await call(`/v1/cases/${opened.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': 'review8-ecert-submit-1' },
    }),
  );
  expect(await gw.services.deliveryWorker.runOnce()).toBe(1);
  registryInstant = instant + 3 * 60_000;
  await gw.services.db.update(deliveries).set({ lastPolledAt: null }).where(eq(deliveries.caseId, opened.id));
  expect(await gw.services.deliveryWorker.pollStatusesOnce()).toBe(1);
  const [result] = await gw.services.db.select().from(caseResults).where(eq(caseResults.caseId, opened.id));
  licenceId = result?.materialId ?? '';
  caseNumber = (await gw.services.db.select().from(cases).where(eq(cases.id, opened.id)))[0]?.caseNumber ?? '';
  const [licence] = await gw.services.db.select().from(materials).where(eq(materials.id, licenceId));
  enterpriseId = licence?.subjectId ?? '';
  if (!licenceId || !enterpriseId) throw new Error('no licence issued');

  // AMR's terms: its enterprise data is shared only with a grant (what a conditional publication sets).
  await gw.services.db
    .update(contractResources)
    .set({ sharingType: 'conditional' })
    .where(eq(contractResources.resourceCode, 'amr.enterprise'));
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close()]);
});

describe('review 8: an issued electronic result keeps its department’s sharing terms', () => {
  it('the certificate route refuses the stranger window the licence (control: denied, resource_grant_required)', async () => {
    const fetched = await call(`/v1/subjects/${enterpriseId}/certificates`, {
      token: strangerToken,
      body: { types: ['business_licence'] },
      headers: purpose,
    });
    expect(fetched.status).toBe(200);
    const answer = (await fetched.json()) as { results: { status: string; error: { code: string } | null }[] };
    expect(answer.results[0]).toMatchObject({ status: 'denied', error: { code: 'resource_grant_required' } });
  });

  it('a window without AMR’s grant does not see the issued licence among the enterprise’s materials', async () => {
    const listed = await call(`/v1/subjects/${enterpriseId}/materials`, { token: strangerToken, headers: purpose });
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { items?: { id: string }[] } | { id: string }[];
    const items = Array.isArray(body) ? body : (body.items ?? []);
    // Before a fix: the licence is listed (stored with sharing_resource null → resource.none).
    expect(items.map((item) => item.id)).not.toContain(licenceId);
  });

  it('a window without AMR’s grant cannot download the issued licence', async () => {
    const content = await call(`/v1/subjects/${enterpriseId}/materials/${licenceId}/content`, {
      token: strangerToken,
      headers: purpose,
    });
    // Before a fix: 200 with the licence PDF.
    expect(content.status).toBe(404);
  });

  it('the licence is stored governed by AMR’s resource, as an AMR upload or fetch of the type would be', async () => {
    const [licence] = await gw.services.db.select().from(materials).where(eq(materials.id, licenceId));
    expect(licence?.provenance).toBe('issued');
    expect(licence?.departmentCode).toBe('AMR');
    // Before a fix: null.
    expect(licence?.sharingResource).toBe('amr.enterprise');
  });

  it('the applicant still downloads the licence through the look-up: proven by the case, not by a grant', async () => {
    const response = await gw.request('/v1/progress/result/document', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ caseNumber, check: ZHANG_SAN.identifier.slice(-4) }),
    });
    expect(response.status).toBe(200);
    const document = (await response.json()) as { contentBase64: string };
    expect(Buffer.from(document.contentBase64, 'base64').subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('a licence stored before the fix, without terms, is put under AMR’s at start', async () => {
    await gw.services.db.update(materials).set({ sharingResource: null }).where(eq(materials.id, licenceId));
    expect(await shareIssuedResultsUnderTerms(gw.services.db, gw.services.departments)).toBe(1);
    const [licence] = await gw.services.db.select().from(materials).where(eq(materials.id, licenceId));
    expect(licence?.sharingResource).toBe('amr.enterprise');
    // Once put right, nothing is left to do.
    expect(await shareIssuedResultsUnderTerms(gw.services.db, gw.services.departments)).toBe(0);
  });
});
