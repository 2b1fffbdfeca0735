/**
 * Review 10 (attacker's eye): the SMS a department's 补正 request or refusal triggers passes the
 * department's words on as `${reason}` after `reasonParam` (gateway/notifications/templates.ts),
 * which masks identifier-shaped runs only. The templates' own contract (templates.ts header,
 * docs/notifications.md) is "never the applicant's name, ID number or anything else about them —
 * the text passes through the platform and the networks and shows on a lock screen". A reason
 * such as 「张三请补充股东会决议」 puts the applicant's full name on the SMS platform and the lock
 * screen, though the case knows the name and masks it for every supervisor (`maskNamesInText`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  type RunningSmsSimulator,
  startSmsGatewaySimulator,
} from '../../adapters/sms-gateway/simulator.js';
import {
  defaultTemplateCode,
  notificationLanguages,
  notificationTemplates,
  templateIds,
} from '../../gateway/notifications/templates.js';
import type { NotificationWorker } from '../../gateway/notifications/worker.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { pdfDocument } from '../fixtures/documents.js';
import { type TestGateway, bearer, caseWindow, createTestGateway, ok, windowCaller } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const MOBILE = '13812349876';
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const form = {
  companyName: '北京朝阳晨星咨询有限公司',
  registeredCapital: '100万元人民币',
  businessScope: '企业管理咨询',
};
const clock = fixedClock('2026-12-18T02:00:00.000Z');
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };
const approvedTemplates = Object.fromEntries(
  templateIds.flatMap((id) =>
    notificationLanguages.map((language) => [
      defaultTemplateCode(id, language),
      notificationTemplates[id].text[language],
    ]),
  ),
);

let psb: RunningSimulator;
let amr: RunningSimulator;
let nrb: RunningSimulator;
let sms: RunningSmsSimulator;
let gw: TestGateway;
let worker: NotificationWorker;
let windowToken = '';
let amrToken = '';
let caseNumber = '';

const call = windowCaller(
  () => gw,
  () => windowToken,
);

async function deliverAll(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await worker.collectOnce();
    await worker.collectOnce();
    await worker.sendOnce();
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  nrb = await startNrbRealEstateSimulator();
  sms = await startSmsGatewaySimulator({ templates: approvedTemplates });
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: nrb.url }, tuning),
      NOTIFICATIONS_JSON: JSON.stringify({
        adapter: 'sms-gateway',
        baseUrl: sms.url,
        options: { appKey: SMS_DEMO_APP_KEY, appSecret: { $env: 'TEST_SMS_SECRET' }, signName: SMS_DEMO_SIGN_NAME },
        tuning,
        delivery: {
          maxAttempts: 3,
          backoffBaseMs: 10,
          backoffMaxMs: 20,
          platformLimitBackoffMs: 0,
          pollIntervalMs: 50,
        },
        receipts: { pollIntervalMs: 0 },
      }),
      TEST_SMS_SECRET: SMS_DEMO_APP_SECRET,
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
      NOTIFICATION_WORKER: 'false',
    },
    { clock },
  );
  worker = gw.services.notifications.worker!;
  await worker.collectOnce();
  windowToken = (await caseWindow(gw)).token;
  amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
  const subjectId = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;
  const opened = await ok<{ id: string }>(
    await call('/v1/cases', {
      body: { itemCode: 'enterprise_establishment', subjectId, contact: { mobile: MOBILE } },
    }),
    201,
  );
  await ok(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
  const uploaded = await gw.request(
    `/v1/subjects/${subjectId}/materials?typeCode=articles_of_association&fileName=a.pdf`,
    {
      method: 'POST',
      headers: bearer(windowToken, { ...purpose, 'content-type': 'application/pdf' }),
      body: Buffer.from(pdfDocument('articles')),
    },
  );
  await ok(
    await call(`/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'articles', materialId: (await ok<{ id: string }>(uploaded, 201)).id },
    }),
  );
  const submitted = await ok<{ caseNumber: string }>(
    await call(`/v1/cases/${opened.id}/submit`, { body: { form }, headers: { 'idempotency-key': 'r10-sms-submit' } }),
  );
  caseNumber = submitted.caseNumber;
  await deliverAll();
  // AMR asks the applicant for a document, naming them as its clerks write.
  await ok(
    await call('/v1/case-status-callbacks', {
      body: {
        caseNumber,
        eventId: 'r10-amr-1',
        status: 'awaiting_applicant',
        occurredAt: new Date(clock.now().getTime() + 1000).toISOString(),
        message: `${ZHANG_SAN.name}请补充股东会决议`,
      },
      token: amrToken,
    }),
  );
  await deliverAll();
}, 90_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close(), sms?.close()]);
});

describe('review 10: the SMS reason and the names the case holds', () => {
  it('the 补正 SMS does not carry the applicant’s full name to the platform and the lock screen', () => {
    const received = sms.messages().filter((message) => message.phoneNumber === MOBILE);
    const supplement = received.find((message) => message.templateCode === 'OW_CASE_SUPPLEMENT_REASON');
    expect(supplement, JSON.stringify(received)).toBeDefined();
    // Before a fix: templateParams.reason === '张三请补充股东会决议'.
    expect(JSON.stringify(supplement!.templateParams)).not.toContain(ZHANG_SAN.name);
  });
});
