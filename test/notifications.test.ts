/**
 * Applicant notifications end to end: a gateway on PGlite with the department simulators and the
 * SMS platform simulator. A case opened with a mobile number gets an SMS on acceptance and on
 * completion with the right template and parameters as the platform received them; a 503 and the
 * platform's flow control are retried; receipts are recorded; the timeline says who was told what
 * and when, never the text or the number; the number is masked in every answer; an invalid number
 * is refused with nothing written; a flapping case cannot spam the applicant; refusals dead-letter
 * and can be requeued; configuration mistakes stop the start.
 */
import { and, count, eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAmrEnterpriseSimulator } from '../adapters/amr-enterprise/simulator.js';
import { notificationAdapterFactories } from '../adapters/index.js';
import { createDepartmentMetrics } from '../adapters/sdk/metrics.js';
import { startNrbRealEstateSimulator } from '../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  type RunningSmsSimulator,
  startSmsGatewaySimulator,
} from '../adapters/sms-gateway/simulator.js';
import { ConfigError, parseConfig } from '../gateway/config.js';
import { auditEntries, cases, notifications } from '../gateway/db/schema.js';
import { createNotificationChannel } from '../gateway/notifications/channel.js';
import {
  defaultTemplateCode,
  notificationLanguages,
  notificationTemplates,
  templateIds,
} from '../gateway/notifications/templates.js';
import type { NotificationWorker } from '../gateway/notifications/worker.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createMetrics } from '../gateway/platform/metrics.js';
import { pdfDocument } from './fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway, problemOf, caseWindow, ok, windowCaller } from './harness.js';
import { simulatedDepartmentsJson } from './support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const MOBILE = '13812341234';
const _json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const establishmentForm = {
  companyName: '北京朝阳晨星咨询有限公司',
  registeredCapital: '100万元人民币',
  businessScope: '企业管理咨询',
};
/** The gateway's clock stands still on a Friday, so acceptance days and due dates never depend on the day the test runs. */
const clock = fixedClock('2026-12-18T02:00:00.000Z');
const tuning = { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 };
/** The gateway's templates as the platform approved them, under their default codes. */
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
let windowToken: string;
let amrToken: string;
let adminToken: string;
let zhangSan: string;

interface CaseBody {
  id: string;
  caseNumber: string;
  status: string;
  dueOn: string | null;
  contact: { mobile: string } | null;
  notice: { readyToSubmit: boolean };
}
interface NotificationBody {
  id: string;
  caseNumber: string;
  about: string;
  template: string;
  templateCode: string;
  mobile: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  messageId: string | null;
  receipt: { code: string | null; at: string | null } | null;
}
interface TimelineItem {
  kind: string;
  detail: Record<string, unknown>;
}

const call = windowCaller(
  () => gw,
  () => windowToken,
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads new case events (twice: the first reading sets the horizon the second may go up to). */
async function collect(): Promise<void> {
  await worker.collectOnce();
  await worker.collectOnce();
}

/** Everything the worker would do over a few passes: read events, send, retry, ask for receipts. */
async function deliverAll(rounds = 3): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await collect();
    await worker.sendOnce();
    await worker.pollReceiptsOnce();
    await sleep(30);
  }
}

async function notificationsOf(caseId: string, token = windowToken): Promise<NotificationBody[]> {
  return (await ok<{ items: NotificationBody[] }>(await call(`/v1/cases/${caseId}/notifications`, { token }))).items;
}

async function timelineOf(caseId: string): Promise<TimelineItem[]> {
  return (await ok<{ items: TimelineItem[] }>(await call(`/v1/cases/${caseId}/timeline`))).items;
}

let submissions = 0;

/** Opens an establishment case (with `contact` when given) and submits it; the materials were collected once in beforeAll. */
async function submittedCase(contact?: { mobile: string }): Promise<CaseBody> {
  const opened = await ok<CaseBody>(
    await call('/v1/cases', {
      body: { itemCode: 'enterprise_establishment', subjectId: zhangSan, ...(contact ? { contact } : {}) },
    }),
    201,
  );
  expect(opened.notice.readyToSubmit).toBe(true);
  submissions += 1;
  return ok<CaseBody>(
    await call(`/v1/cases/${opened.id}/submit`, {
      body: { form: establishmentForm },
      headers: { 'idempotency-key': `notify-submit-${submissions}` },
    }),
  );
}

let eventSequence = 0;

/** AMR pushes a status of its part of a case (each event a second after the last, on the gateway's clock). */
async function push(caseNumber: string, status: string, message?: string): Promise<string> {
  eventSequence += 1;
  const occurredAt = new Date(clock.now().getTime() + eventSequence * 1000).toISOString();
  const answer = await ok<{ caseStatus: string }>(
    await call('/v1/case-status-callbacks', {
      body: { caseNumber, eventId: `notify-amr-${eventSequence}`, status, occurredAt, ...(message ? { message } : {}) },
      token: amrToken,
    }),
  );
  return answer.caseStatus;
}

function messagesTo(mobile: string) {
  return sms.messages().filter((message) => message.phoneNumber === mobile);
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  amr = await startAmrEnterpriseSimulator();
  nrb = await startNrbRealEstateSimulator();
  sms = await startSmsGatewaySimulator({ templates: approvedTemplates, undeliverable: { '13900000000': 'MK:0001' } });
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, amr: amr.url, nrb: nrb.url }, tuning),
      NOTIFICATIONS_JSON: JSON.stringify({
        adapter: 'sms-gateway',
        baseUrl: sms.url,
        options: { appKey: SMS_DEMO_APP_KEY, appSecret: { $env: 'TEST_SMS_SECRET' }, signName: SMS_DEMO_SIGN_NAME },
        tuning,
        rateLimit: { max: 3, windowMinutes: 60 },
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
  // The cursor starts at the newest event when notifications are first on: from here on.
  await worker.collectOnce();

  const window = await caseWindow(gw);
  windowToken = window.token;
  amrToken = await gw.tokenFor('department', undefined, { departmentCode: 'AMR' });
  adminToken = await gw.tokenFor('admin');
  zhangSan = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
      201,
    )
  ).id;

  // Collect the item's materials once: every later case of Zhang San reuses them.
  const first = await ok<CaseBody>(
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
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), amr?.close(), nrb?.close(), sms?.close()]);
});

describe('the applicant’s mobile number', () => {
  it('is taken when the case is opened, kept in full with the case and masked in every answer', async () => {
    const response = await call('/v1/cases', {
      body: { itemCode: 'enterprise_establishment', subjectId: zhangSan, contact: { mobile: MOBILE } },
    });
    const text = await response.clone().text();
    const opened = await ok<CaseBody>(response, 201);
    expect(opened.contact).toEqual({ mobile: '138****1234' });
    expect(text).not.toContain(MOBILE);
    const [row] = await gw.services.db
      .select({ contactMobile: cases.contactMobile })
      .from(cases)
      .where(eq(cases.id, opened.id));
    expect(row?.contactMobile).toBe(MOBILE);
    const read = await call(`/v1/cases/${opened.id}`);
    const readText = await read.text();
    expect(JSON.parse(readText)).toMatchObject({ contact: { mobile: '138****1234' } });
    expect(readText).not.toContain(MOBILE);
    const without = await ok<CaseBody>(
      await call('/v1/cases', { body: { itemCode: 'enterprise_establishment', subjectId: zhangSan } }),
      201,
    );
    expect(without.contact).toBeNull();
  });

  it('is refused with 400 validation_failed naming contact.mobile unless it is a mainland mobile number, and nothing is written', async () => {
    const [before] = await gw.services.db.select({ cases: count() }).from(cases);
    for (const contact of [
      { mobile: '12812341234' },
      { mobile: '+8613812341234' },
      { mobile: '1381234123' },
      { mobile: '138 1234 1234' },
      { mobile: 13812341234 },
      { mobile: MOBILE, email: 'a@b.cn' },
      {},
    ]) {
      const response = await call('/v1/cases', {
        body: { itemCode: 'enterprise_establishment', subjectId: zhangSan, contact },
      });
      const text = await response.clone().text();
      expect(response.status, JSON.stringify(contact)).toBe(400);
      const problem = await problemOf(response);
      expect(problem.code).toBe('validation_failed');
      expect(
        (problem['errors'] as { path: string }[]).some((error) => error.path.startsWith('contact')),
        text,
      ).toBe(true);
      expect(text).not.toContain('13812341234');
    }
    const refused = await problemOf(
      await call('/v1/cases', {
        body: { itemCode: 'enterprise_establishment', subjectId: zhangSan, contact: { mobile: '12812341234' } },
      }),
    );
    expect(refused['errors']).toEqual([
      {
        path: 'contact.mobile',
        message: 'a mainland mobile number: 11 digits starting 13–19, without country code or spaces',
        messageZh: '应为内地手机号码：以 13–19 开头的 11 位数字，不加国家代码和空格',
      },
    ]);
    const [after] = await gw.services.db.select({ cases: count() }).from(cases);
    expect(after?.cases).toBe(before?.cases);
  });
});

describe('an SMS on acceptance and on completion', () => {
  let accepted: CaseBody;

  it('texts the applicant on acceptance with the template and parameters the platform received, retrying after a 503', async () => {
    accepted = await submittedCase({ mobile: MOBILE });
    expect(accepted.status).toBe('submitted');
    // Two 503s: the client's one retry meets the second, so the worker's first attempt fails…
    sms.setFault({ kind: 'http_5xx', operation: 'sendSms', times: 2 });
    await collect();
    expect(await worker.sendOnce()).toBe(1);
    const [failed] = await gw.services.db.select().from(notifications).where(eq(notifications.caseId, accepted.id));
    expect(failed).toMatchObject({
      status: 'pending',
      attempts: 1,
      template: 'case_accepted',
      templateCode: 'OW_CASE_ACCEPTED',
      mobile: MOBILE,
    });
    expect(failed?.lastError).toMatch(/^unavailable/);
    expect(messagesTo(MOBILE)).toHaveLength(0);
    // …and the worker's second attempt goes through.
    await sleep(30);
    expect(await worker.sendOnce()).toBe(1);
    expect(sms.requestCount('sendSms')).toBe(3);

    const [message] = messagesTo(MOBILE);
    expect(message).toMatchObject({
      signName: '某某市政务服务中心',
      templateCode: 'OW_CASE_ACCEPTED',
      templateParams: { itemName: '企业设立登记', caseNumber: accepted.caseNumber, dueOn: '2026年12月23日' },
      text: `【某某市政务服务中心】您的企业设立登记已受理，受理编号${accepted.caseNumber}，承诺2026年12月23日前办结。`,
    });
    expect(accepted.dueOn).toBe('2026-12-23');
    const [sent] = await notificationsOf(accepted.id);
    expect(sent).toMatchObject({
      about: 'submitted',
      template: 'case_accepted',
      status: 'sent',
      attempts: 2,
      mobile: '138****1234',
      messageId: message!.bizId,
      lastError: null,
    });
  });

  it('records the receipt', async () => {
    await worker.pollReceiptsOnce();
    const [delivered] = await notificationsOf(accepted.id);
    expect(delivered).toMatchObject({ status: 'delivered', receipt: { code: 'DELIVRD', at: expect.any(String) } });
  });

  it('puts `notified` on the timeline: the applicant, the template, when; never the text or the number', async () => {
    const response = await call(`/v1/cases/${accepted.id}/timeline`);
    const text = await response.clone().text();
    const items = (await ok<{ items: TimelineItem[] }>(response)).items;
    const notified = items.filter((item) => item.kind === 'notified');
    expect(notified).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({
          recipient: 'applicant',
          channel: 'sms',
          template: 'case_accepted',
          templateCode: 'OW_CASE_ACCEPTED',
          about: 'submitted',
        }),
      }),
    ]);
    expect(text).not.toContain(MOBILE);
    expect(text).not.toContain('已受理');
  });

  it('audits handing the number to the platform, on behalf of the window, with the case', async () => {
    const entries = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'case.notify'), eq(auditEntries.caseRef, accepted.caseNumber)));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      subjectRef: zhangSan,
      actorKind: 'window',
      purpose: 'applicant_notification',
      outcome: 'allowed',
    });
    expect(entries[0]!.fields).toEqual(
      expect.arrayContaining(['contact.mobile', 'template:case_accepted', 'channel:SMS']),
    );
  });

  it('texts the applicant on completion: a result collected at the window comes with its pick-up code (one message, not two)', async () => {
    expect(await push(accepted.caseNumber, 'completed')).toBe('completed');
    await deliverAll(1);
    const completions = messagesTo(MOBILE).filter(
      (message) => message.templateCode === 'OW_RESULT_READY_PICKUP_WINDOW',
    );
    expect(completions).toHaveLength(1);
    const pickupCode = completions[0]?.templateParams['pickupCode'];
    expect(pickupCode).toMatch(/^\d{6}$/);
    expect(completions[0]).toMatchObject({
      templateParams: { itemName: '企业设立登记', caseNumber: accepted.caseNumber, pickupCode },
      text: `【某某市政务服务中心】您的企业设立登记（受理编号${accepted.caseNumber}）办理结果已可领取，取件码${pickupCode}，请携带本人有效身份证件到受理窗口领取，取件码请勿告知他人。`,
    });
    expect(messagesTo(MOBILE).filter((message) => message.templateCode === 'OW_CASE_COMPLETED')).toHaveLength(0);
    expect(
      (await notificationsOf(accepted.id)).map((notification) => [notification.about, notification.status]),
    ).toEqual([
      ['submitted', 'delivered'],
      ['result_ready', 'delivered'],
    ]);
    expect(
      (await timelineOf(accepted.id)).filter((item) => item.kind === 'notified').map((item) => item.detail['template']),
    ).toEqual(['case_accepted', 'result_ready_pickup_window']);
  });

  it('shows the notifications only to whoever may read the case', async () => {
    const stranger = await gw.tokenFor('window');
    const hidden = await call(`/v1/cases/${accepted.id}/notifications`, { token: stranger });
    const missing = await call('/v1/cases/case_AAAAAAAAAAAAAAAA/notifications', { token: stranger });
    expect([hidden.status, missing.status]).toEqual([404, 404]);
    expect(await notificationsOf(accepted.id, amrToken)).toHaveLength(2);
    const refusals = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.notifications'),
          eq(auditEntries.outcome, 'not_found'),
          eq(auditEntries.subjectRef, zhangSan),
        ),
      );
    expect(refusals.length).toBeGreaterThan(0);
  });

  it('counts messages in the metrics, and the platform calls under the channel’s code', async () => {
    const exposition = await gw.services.metrics.registry.metrics();
    expect(exposition).toMatch(/onewindow_notifications_total\{template="case_accepted",outcome="sent"\} 1/);
    expect(exposition).toMatch(/onewindow_notifications_total\{template="case_accepted",outcome="retried"\} 1/);
    expect(exposition).toMatch(/onewindow_department_calls_total\{department="SMS",operation="sendSms",outcome="ok"\}/);
  });
});

describe('refusals and receipts', () => {
  it('tells a rejection with the department’s reason', async () => {
    const rejected = await submittedCase({ mobile: '13512345678' });
    await deliverAll(1);
    expect(await push(rejected.caseNumber, 'rejected', '经营范围含需前置审批的项目，请先取得许可。')).toBe('rejected');
    await deliverAll(1);
    const [acceptance, refusal] = messagesTo('13512345678');
    expect(acceptance?.templateCode).toBe('OW_CASE_ACCEPTED');
    expect(refusal).toMatchObject({
      templateCode: 'OW_CASE_REJECTED_REASON',
      templateParams: {
        itemName: '企业设立登记',
        caseNumber: rejected.caseNumber,
        reason: '经营范围含需前置审批的项目，请先取得许可',
      },
      text: `【某某市政务服务中心】您的企业设立登记（受理编号${rejected.caseNumber}）审批结果为不予许可，原因：经营范围含需前置审批的项目，请先取得许可。`,
    });
  });

  it('dead-letters a definitive refusal at once, puts it on the timeline, and lets an administrator requeue it', async () => {
    const refusedCase = await submittedCase({ mobile: '13612345678' });
    sms.refuseNext('isv.SMS_TEMPLATE_ILLEGAL');
    await deliverAll(1);
    const [dead] = await notificationsOf(refusedCase.id);
    expect(dead).toMatchObject({ status: 'dead', attempts: 1 });
    expect(dead?.lastError).toContain('isv.SMS_TEMPLATE_ILLEGAL');
    const failed = (await timelineOf(refusedCase.id)).filter((item) => item.kind === 'notification_failed');
    expect(failed).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({
          template: 'case_accepted',
          reason: 'business_error',
          platformCode: 'isv.SMS_TEMPLATE_ILLEGAL',
        }),
      }),
    ]);

    const listed = await ok<{ items: NotificationBody[] }>(
      await call('/v1/notifications?status=dead', { token: adminToken }),
    );
    expect(listed.items.map((item) => item.id)).toContain(dead!.id);
    expect(JSON.stringify(listed)).not.toContain('13612345678');
    expect((await call(`/v1/notifications/${dead!.id}/retry`, { method: 'POST', token: windowToken })).status).toBe(
      403,
    );
    const requeued = await ok<NotificationBody>(
      await call(`/v1/notifications/${dead!.id}/retry`, { method: 'POST', token: adminToken }),
    );
    expect(requeued).toMatchObject({ status: 'pending', attempts: 0 });
    expect(
      (await problemOf(await call(`/v1/notifications/${dead!.id}/retry`, { method: 'POST', token: adminToken }))).code,
    ).toBe('conflict');
    expect(
      (await problemOf(await call('/v1/notifications/ntf_nothing_here/retry', { method: 'POST', token: adminToken })))
        .code,
    ).toBe('not_found');
    await deliverAll(1);
    expect((await notificationsOf(refusedCase.id))[0]).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(messagesTo('13612345678')).toHaveLength(1);
  });

  it('retries after the platform’s own flow control (isv.BUSINESS_LIMIT_CONTROL) instead of dead-lettering', async () => {
    const limited = await submittedCase({ mobile: '13712345678' });
    sms.refuseNext('isv.BUSINESS_LIMIT_CONTROL');
    await collect();
    await worker.sendOnce();
    const [waiting] = await notificationsOf(limited.id);
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting?.lastError).toContain('isv.BUSINESS_LIMIT_CONTROL');
    // The retry is due after a jittered backoff (at most 20 ms here): wait for it rather than race it.
    await sleep(Math.max(0, Date.parse(waiting!.nextAttemptAt!) - Date.now()) + 5);
    await deliverAll(1);
    expect((await notificationsOf(limited.id))[0]?.status).toBe('delivered');
  });

  it('records a failed receipt and tells the window through the timeline', async () => {
    const unreachable = await submittedCase({ mobile: '13900000000' });
    await deliverAll(1);
    const [failed] = await notificationsOf(unreachable.id);
    expect(failed).toMatchObject({ status: 'failed', receipt: { code: 'MK:0001' } });
    expect((await timelineOf(unreachable.id)).filter((item) => item.kind === 'notification_failed')).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({ reason: 'undelivered', receiptCode: 'MK:0001', template: 'case_accepted' }),
      }),
    ]);
  });

  it('sends nothing for a case opened without a mobile number', async () => {
    const quiet = await submittedCase();
    await deliverAll(1);
    expect(await gw.services.db.select().from(notifications).where(eq(notifications.caseId, quiet.id))).toEqual([]);
    expect(await notificationsOf(quiet.id)).toEqual([]);
  });
});

describe('the rate limit per phone number', () => {
  it('holds when a case flaps: at most 3 an hour, the rest wait unsent, and only the newest news is kept', async () => {
    const flapping = await submittedCase({ mobile: '15012345678' });
    await deliverAll(1);
    for (let flap = 0; flap < 4; flap += 1) {
      expect(await push(flapping.caseNumber, 'awaiting_applicant', '请补充股东会决议。')).toBe('awaiting_applicant');
      await deliverAll(1);
      expect(await push(flapping.caseNumber, 'in_progress')).toBe('in_progress');
    }
    await deliverAll(1);
    const received = messagesTo('15012345678');
    expect(received.map((message) => message.templateCode)).toEqual([
      'OW_CASE_ACCEPTED',
      'OW_CASE_SUPPLEMENT_REASON',
      'OW_CASE_SUPPLEMENT_REASON',
    ]);
    expect(received[1]?.templateParams['reason']).toBe('请补充股东会决议');
    const rows = await gw.services.db
      .select()
      .from(notifications)
      .where(eq(notifications.caseId, flapping.id))
      .orderBy(notifications.eventId);
    expect(rows.map((row) => row.status)).toEqual(['delivered', 'delivered', 'delivered', 'superseded', 'pending']);
    const waiting = rows[4]!;
    expect(waiting.attempts).toBe(0);
    expect(waiting.lastError).toMatch(/^rate_limited/);
    // It waits until the oldest of the three messages leaves the hour's window.
    const oldestSlot = Math.min(...rows.slice(0, 3).map((row) => row.slotAt!.getTime()));
    expect(waiting.nextAttemptAt.getTime()).toBe(oldestSlot + 3_600_000);
    // Another case of the same number is held back too: the limit is per number.
    const sibling = await submittedCase({ mobile: '15012345678' });
    await deliverAll(1);
    expect((await notificationsOf(sibling.id))[0]?.status).toBe('pending');
    expect(messagesTo('15012345678')).toHaveLength(3);
  });
});

describe('configuration', () => {
  it('is off without NOTIFICATIONS_JSON, and says so once at start', async () => {
    const quiet = await createTestGateway();
    try {
      expect(quiet.services.notifications.enabled).toBe(false);
      expect(quiet.services.notifications.worker).toBeNull();
      expect(quiet.logs.lines.filter((line) => line.includes('notifications are off'))).toHaveLength(1);
    } finally {
      await quiet.close();
    }
    expect(gw.logs.lines.filter((line) => line.includes('notifications are on'))).toHaveLength(1);
  });

  it('stops the start on bad NOTIFICATIONS_JSON, naming every problem', () => {
    const problemsOf = (value: string, extra: Record<string, string> = {}) => {
      try {
        parseConfig({ PGLITE_DATA_DIR: 'memory://', NOTIFICATIONS_JSON: value, ...extra });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problemsOf('{not json')).toEqual([expect.stringMatching(/^NOTIFICATIONS_JSON: not valid JSON/)]);
    expect(
      problemsOf(
        JSON.stringify({
          options: {},
          templateCodes: { case_accpeted: 'SMS_1' },
          rateLimit: { max: 0 },
          language: 'fr',
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^NOTIFICATIONS_JSON\.baseUrl: /),
        expect.stringMatching(/^NOTIFICATIONS_JSON\.templateCodes\.case_accpeted: unknown template/),
        expect.stringMatching(/^NOTIFICATIONS_JSON\.rateLimit\.max: /),
        expect.stringMatching(/^NOTIFICATIONS_JSON\.language: /),
      ]),
    );
    expect(
      problemsOf(
        JSON.stringify({ baseUrl: 'https://sms.example.cn', options: { appSecret: { $env: 'NO_SUCH_SECRET' } } }),
      ),
    ).toEqual(['NOTIFICATIONS_JSON.options.appSecret: environment variable NO_SUCH_SECRET is not set']);
    const parsed = parseConfig({
      PGLITE_DATA_DIR: 'memory://',
      NOTIFICATIONS_JSON: JSON.stringify({
        baseUrl: 'https://sms.example.cn',
        language: 'en',
        templateCodes: { case_accepted: 'SMS_270115001' },
      }),
    });
    expect(parsed.notifications.channel).toMatchObject({
      adapter: 'sms-gateway',
      code: 'SMS',
      language: 'en',
      rateLimit: { max: 5, windowMs: 3_600_000 },
      templateCodes: { case_accepted: 'SMS_270115001', case_completed: 'OW_CASE_COMPLETED_EN' },
    });
    expect(parsed.notifications).toMatchObject({ workerEnabled: true, demoSimulator: false });
    expect(parseConfig({ PGLITE_DATA_DIR: 'memory://' }).notifications).toEqual({
      channel: null,
      workerEnabled: true,
      demoSimulator: true,
    });
  });

  it('refuses an unknown adapter, options the adapter does not accept and a base URL the policy refuses', () => {
    const build = (changes: Record<string, unknown>, urlPolicy = { allowedHosts: [], allowPrivateNetworks: false }) => {
      const settings = parseConfig({
        PGLITE_DATA_DIR: 'memory://',
        NOTIFICATIONS_JSON: JSON.stringify({
          baseUrl: 'https://sms.example.cn',
          options: { appKey: 'k', appSecret: SMS_DEMO_APP_SECRET, signName: SMS_DEMO_SIGN_NAME },
          ...changes,
        }),
      }).notifications.channel!;
      try {
        const channel = createNotificationChannel(settings, {
          urlPolicy,
          factories: notificationAdapterFactories,
          metrics: createDepartmentMetrics(createMetrics({ processMetrics: false }).registry),
          logger: pino({ level: 'silent' }),
        });
        void channel.adapter.close();
        return [];
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
    };
    expect(build({})).toEqual([]);
    expect(build({ adapter: 'carrier-pigeon' })).toEqual([
      expect.stringMatching(
        /^NOTIFICATIONS_JSON\.adapter: unknown notification adapter "carrier-pigeon" \(known: sms-gateway\)/,
      ),
    ]);
    expect(build({ options: { appKey: 'k', appSecret: 'short', signName: '【中心】' } })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^NOTIFICATIONS_JSON\.options\.appSecret: /),
        expect.stringMatching(/^NOTIFICATIONS_JSON\.options\.signName: /),
      ]),
    );
    expect(build({ baseUrl: 'http://127.0.0.1:7104' })).toEqual([
      expect.stringMatching(/^NOTIFICATIONS_JSON\.baseUrl http:\/\/127\.0\.0\.1:7104: /),
    ]);
  });
});
