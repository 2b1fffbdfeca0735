/**
 * Supervision warnings by SMS to the departments' chief representatives (首席代表), end to end: a
 * gateway on PGlite and the SMS platform simulator on loopback. Representatives are named per
 * centre and department (masked in answers, refused with a code for an unknown centre or
 * department or a number that is not a mainland mobile); a case approaching and then overdue
 * sends exactly two messages, with the right text, to the right number; another pass sends
 * nothing; a centre without a representative gets no message and its warning says
 * `representative: null`; each message sent is on the case's timeline and in the supervision answer.
 *
 * Dates are fixed: accepted Tuesday 2026-12-01, promised 5 working days, due Tuesday 2026-12-08;
 * 4 of 5 days used (the 0.8 warning share) on Monday 12-07; one working day overdue on Wednesday 12-09.
 */
import { and, eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAmrCredentials } from '../adapters/amr-enterprise/simulator.js';
import { NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET } from '../adapters/nrb-realestate/simulator.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  type RunningSmsSimulator,
  startSmsGatewaySimulator,
} from '../adapters/sms-gateway/simulator.js';
import {
  auditEntries,
  caseEvents,
  cases,
  centreRepresentatives,
  notifications,
  subjects,
} from '../gateway/db/schema.js';
import {
  defaultTemplateCode,
  notificationLanguages,
  notificationTemplates,
  templateIds,
} from '../gateway/notifications/templates.js';
import { NotificationWorker } from '../gateway/notifications/worker.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createMetrics } from '../gateway/platform/metrics.js';
import { ensureCalendarYears, seedCase, seedDelivery, seedSubject } from '../gateway/supervision/test-fixtures.js';
import type { SupervisionWarnings } from '../gateway/supervision/warnings.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';
import { namesOfCases } from '../gateway/cases/names.js';

const PROVINCE = '610000000';
const CITY = '610100000';
const WITH_REPRESENTATIVE = '610113000';
const WITHOUT_REPRESENTATIVE = '610112000';
const REPRESENTATIVE = { name: '王建国', mobile: '13912345678' };
const AMR_REPRESENTATIVE = { name: '李四', mobile: '13700001111' };
const json = { 'content-type': 'application/json' };
/** The gateway's own clock (the supervision answer's today) stands on the overdue day. */
const clock = fixedClock('2026-12-09T02:00:00.000Z');
const approvedTemplates = Object.fromEntries(
  templateIds.flatMap((id) =>
    notificationLanguages.map((language) => [
      defaultTemplateCode(id, language),
      notificationTemplates[id].text[language],
    ]),
  ),
);
const unreachable = 'http://127.0.0.1:9';

let sms: RunningSmsSimulator;
let gw: TestGateway;
let adminToken: string;
let today = '2026-12-03';

function workerNamed(owner: string): NotificationWorker {
  return new NotificationWorker({
    db: gw.services.db,
    channel: gw.services.notifications.channel!,
    metrics: createMetrics({ processMetrics: false }).registry,
    logger: pino({ level: 'silent' }),
    owner,
    caseNames: (tx, caseIds) => namesOfCases(tx, gw.services.access.protection, caseIds),
    supervision: { calendar: () => gw.services.calendar.current(), warningShare: 0.8, today: () => today },
  });
}

async function put(path: string, body: unknown, token = adminToken): Promise<Response> {
  return gw.request(path, { method: 'PUT', headers: bearer(token, json), body: JSON.stringify(body) });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

const messagesTo = (mobile: string) => sms.messages().filter((message) => message.phoneNumber === mobile);

beforeAll(async () => {
  sms = await startSmsGatewaySimulator({ templates: approvedTemplates });
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'AMR',
          name: 'Enterprise registry',
          adapter: 'amr-enterprise',
          baseUrl: unreachable,
          options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
        },
        {
          code: 'NRB',
          name: 'Real-estate registry',
          adapter: 'nrb-realestate',
          baseUrl: unreachable,
          options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
        },
      ]),
      NOTIFICATIONS_JSON: JSON.stringify({
        adapter: 'sms-gateway',
        baseUrl: sms.url,
        options: { appKey: SMS_DEMO_APP_KEY, appSecret: SMS_DEMO_APP_SECRET, signName: SMS_DEMO_SIGN_NAME },
        tuning: { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5 },
        receipts: { pollIntervalMs: 0 },
      }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
      NOTIFICATION_WORKER: 'false',
    },
    { clock },
  );
  await ensureCalendarYears(gw.services.db, gw.services.calendar, [2026]);
  adminToken = await gw.tokenFor('admin');
  await ok(
    await put(`/v1/centres/${PROVINCE}`, { name: '陕西省政务服务中心', level: 'province', parentCode: null }),
    201,
  );
  await ok(await put(`/v1/centres/${CITY}`, { name: '西安市政务服务中心', level: 'city', parentCode: PROVINCE }), 201);
  await ok(
    await put(`/v1/centres/${WITH_REPRESENTATIVE}`, { name: '雁塔区政务服务中心', level: 'county', parentCode: CITY }),
    201,
  );
  await ok(
    await put(`/v1/centres/${WITHOUT_REPRESENTATIVE}`, {
      name: '未央区政务服务中心',
      level: 'county',
      parentCode: CITY,
    }),
    201,
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await sms?.close();
});

describe('chief representatives (首席代表)', () => {
  it('are named per centre and department, answered and listed masked, and audited without the name or number', async () => {
    const appointed = await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/NRB`, REPRESENTATIVE);
    const text = await appointed.clone().text();
    expect(await ok(appointed, 201)).toMatchObject({
      centreCode: WITH_REPRESENTATIVE,
      department: 'NRB',
      name: '王**',
      mobile: '139****5678',
    });
    expect(text).not.toContain(REPRESENTATIVE.mobile);
    expect(text).not.toContain(REPRESENTATIVE.name);
    await ok(
      await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/AMR`, { name: '李', mobile: '13700000000' }),
      201,
    );
    expect(
      await ok(await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/AMR`, AMR_REPRESENTATIVE), 200),
    ).toMatchObject({ name: '李*', mobile: '137****1111' });

    const listed = await gw.request(`/v1/centres/${WITH_REPRESENTATIVE}/representatives`, {
      headers: bearer(adminToken),
    });
    const listedText = await listed.clone().text();
    const body = await ok<{ representatives: { department: string; name: string; mobile: string }[] }>(listed);
    expect(body.representatives.map(({ department, name, mobile }) => ({ department, name, mobile }))).toEqual([
      { department: 'AMR', name: '李*', mobile: '137****1111' },
      { department: 'NRB', name: '王**', mobile: '139****5678' },
    ]);
    expect(listedText).not.toContain(AMR_REPRESENTATIVE.mobile);
    expect(
      await ok(
        await gw.request(`/v1/centres/${WITHOUT_REPRESENTATIVE}/representatives`, { headers: bearer(adminToken) }),
      ),
    ).toEqual({ representatives: [] });

    const audits = await gw.services.db
      .select()
      .from(auditEntries)
      .where(eq(auditEntries.action, 'representative.change'));
    expect(audits).toHaveLength(1);
    expect(audits[0]?.fields).toEqual([
      `centre:${WITH_REPRESENTATIVE}`,
      'department:AMR',
      'representative.name',
      'representative.mobile',
    ]);
    expect(JSON.stringify(audits)).not.toContain(AMR_REPRESENTATIVE.mobile);
  });

  it('are refused with a code for an unknown centre or department, a number that is not a mainland mobile, or a missing scope, and nothing is written', async () => {
    const before = await gw.services.db.select().from(centreRepresentatives);
    const refusals: [Response, number, string][] = [
      [await put('/v1/centres/610199000/representatives/NRB', REPRESENTATIVE), 404, 'centre_not_found'],
      [
        await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/PSB`, REPRESENTATIVE),
        422,
        'representative_department_unknown',
      ],
      [
        await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/NRB`, {
          ...REPRESENTATIVE,
          mobile: '+8613912345678',
        }),
        422,
        'representative_mobile_invalid',
      ],
      [
        await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/NRB`, {
          ...REPRESENTATIVE,
          mobile: '12912345678',
        }),
        422,
        'representative_mobile_invalid',
      ],
      [
        await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/NRB`, {
          name: '',
          mobile: REPRESENTATIVE.mobile,
        }),
        400,
        'validation_failed',
      ],
      [
        await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/NRB`, { ...REPRESENTATIVE, email: 'w@x.cn' }),
        400,
        'validation_failed',
      ],
      [await put(`/v1/centres/${WITH_REPRESENTATIVE}/representatives/nrb`, REPRESENTATIVE), 400, 'validation_failed'],
      [
        await put(
          `/v1/centres/${WITH_REPRESENTATIVE}/representatives/NRB`,
          REPRESENTATIVE,
          await gw.tokenFor('window'),
        ),
        403,
        'insufficient_scope',
      ],
    ];
    for (const [response, status, code] of refusals) {
      expect(response.status, code).toBe(status);
      expect((await problemOf(response)).code).toBe(code);
    }
    expect(await gw.services.db.select().from(centreRepresentatives)).toEqual(before);
  });
});

describe('warnings by SMS', () => {
  let warned: { id: string; caseNumber: string };
  let unrepresented: { id: string; caseNumber: string };
  let notYet: { id: string; caseNumber: string };

  beforeAll(async () => {
    const subjectId = await seedSubject(gw.services.db);
    const seed = async (centreCode: string, acceptedOn: string, dueOn: string) => {
      const seeded = await seedCase(gw.services.db, {
        subjectId,
        status: 'in_progress',
        acceptedOn,
        promisedDays: 5,
        dueOn,
        submittedAt: new Date(`${acceptedOn}T09:00:00+08:00`),
      });
      await gw.services.db
        .update(cases)
        .set({ centreCode, acceptingCentreCode: centreCode })
        .where(eq(cases.id, seeded.id));
      return seeded;
    };
    warned = await seed(WITH_REPRESENTATIVE, '2026-12-01', '2026-12-08');
    // NRB still works on its part; AMR finished its own: only NRB's representative is told.
    await seedDelivery(gw.services.db, warned.id, {
      department: 'NRB',
      status: 'delivered',
      departmentStatus: 'in_progress',
    });
    await seedDelivery(gw.services.db, warned.id, {
      department: 'AMR',
      status: 'delivered',
      departmentStatus: 'completed',
    });
    unrepresented = await seed(WITHOUT_REPRESENTATIVE, '2026-12-01', '2026-12-08');
    await seedDelivery(gw.services.db, unrepresented.id, {
      department: 'NRB',
      status: 'delivered',
      departmentStatus: 'in_progress',
    });
    // Accepted later: nowhere near its due date on any day of the test.
    notYet = await seed(WITH_REPRESENTATIVE, '2026-12-07', '2026-12-14');
    await seedDelivery(gw.services.db, notYet.id, {
      department: 'NRB',
      status: 'delivered',
      departmentStatus: 'in_progress',
    });
  });

  it('sends nothing while no case is near its due date', async () => {
    today = '2026-12-03';
    const worker = workerNamed('w1');
    expect(await worker.runOnce()).toMatchObject({ warnings: 0, sent: 0 });
    expect(messagesTo(REPRESENTATIVE.mobile)).toHaveLength(0);
  });

  it('tells the representative once when the case approaches its due date, and once when it is overdue', async () => {
    const worker = workerNamed('w1');
    today = '2026-12-07';
    expect(await worker.runOnce()).toMatchObject({ warnings: 1, sent: 1 });
    // Another pass, and another worker, the same day: nothing new.
    expect(await worker.runOnce()).toMatchObject({ warnings: 0, sent: 0 });
    expect(await workerNamed('w2').runOnce()).toMatchObject({ warnings: 0, sent: 0 });
    let received = messagesTo(REPRESENTATIVE.mobile);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      templateCode: 'OW_SUPERVISION_APPROACHING',
      templateParams: {
        itemName: '不动产转移登记（含户口迁入）',
        caseNumber: warned.caseNumber,
        dueOn: '2026年12月8日',
      },
    });
    expect(received[0]?.text).toContain(
      `督办提醒：您部门承办的不动产转移登记（含户口迁入）（受理编号${warned.caseNumber}）将于2026年12月8日到期，请抓紧办理。`,
    );

    // Tuesday, the due day itself: still only approaching, already told.
    today = '2026-12-08';
    expect(await worker.runOnce()).toMatchObject({ warnings: 0, sent: 0 });
    today = '2026-12-09';
    expect(await worker.runOnce()).toMatchObject({ warnings: 1, sent: 1 });
    expect(await worker.runOnce()).toMatchObject({ warnings: 0, sent: 0 });
    today = '2026-12-10';
    expect(await workerNamed('w3').runOnce()).toMatchObject({ warnings: 0, sent: 0 });

    received = messagesTo(REPRESENTATIVE.mobile);
    expect(received).toHaveLength(2);
    expect(received[1]).toMatchObject({
      templateCode: 'OW_SUPERVISION_OVERDUE',
      templateParams: { caseNumber: warned.caseNumber, dueOn: '2026年12月8日', days: '1' },
    });
    expect(received[1]?.text).toContain(
      `督办提醒：您部门承办的不动产转移登记（含户口迁入）（受理编号${warned.caseNumber}）应于2026年12月8日办结，已超期1个工作日，请立即办理。`,
    );
    // Nothing about the applicant; the AMR representative (whose part is done) got nothing.
    for (const message of received) expect(message.text).not.toMatch(/监督测试申请人|110105/);
    expect(messagesTo(AMR_REPRESENTATIVE.mobile)).toHaveLength(0);
    expect(sms.messages().some((message) => message.templateParams['caseNumber'] === notYet.caseNumber)).toBe(false);
  });

  it('sends nothing for a case of a centre without a representative', async () => {
    const rows = await gw.services.db.select().from(notifications).where(eq(notifications.caseId, unrepresented.id));
    expect(rows).toHaveLength(0);
    expect(sms.messages().some((message) => message.templateParams['caseNumber'] === unrepresented.caseNumber)).toBe(
      false,
    );
  });

  it('records each message sent on the case timeline, masked, with its department and level, and audits the number handed to the platform', async () => {
    const events = await gw.services.db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, warned.id), eq(caseEvents.kind, 'supervision_warning_sent')))
      .orderBy(caseEvents.id);
    expect(events.map((event) => ({ department: event.departmentCode, detail: event.detail }))).toEqual([
      {
        department: 'NRB',
        detail: expect.objectContaining({
          recipient: 'representative',
          department: 'NRB',
          level: 'approaching',
          representative: { name: '王**', mobile: '139****5678' },
          template: 'supervision_approaching',
        }),
      },
      {
        department: 'NRB',
        detail: expect.objectContaining({
          recipient: 'representative',
          department: 'NRB',
          level: 'overdue',
          representative: { name: '王**', mobile: '139****5678' },
          template: 'supervision_overdue',
        }),
      },
    ]);
    expect(JSON.stringify(events)).not.toContain(REPRESENTATIVE.mobile);

    // The applicant's own progress look-up does not show them.
    const [applicant] = await gw.services.db
      .select({ identifier: subjects.identifier })
      .from(subjects)
      .innerJoin(cases, eq(cases.subjectId, subjects.id))
      .where(eq(cases.id, warned.id));
    const progress = await ok<{ caseNumber: string; timeline: { kind: string }[] }>(
      await gw.request('/v1/progress', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ caseNumber: warned.caseNumber, check: applicant!.identifier.slice(-4) }),
      }),
    );
    expect(progress.caseNumber).toBe(warned.caseNumber);
    expect(progress.timeline.map((entry) => entry.kind)).not.toContain('supervision_warning_sent');
    expect(JSON.stringify(progress)).not.toContain('139****5678');
    const audits = await gw.services.db
      .select()
      .from(auditEntries)
      .where(eq(auditEntries.action, 'case.warn_representative'));
    expect(audits).toHaveLength(2);
    expect(
      audits.every((entry) => entry.caseRef === warned.caseNumber && entry.purpose === 'supervision_warning'),
    ).toBe(true);
  });

  it('shows in the supervision answer who represents each department and the warnings sent, or representative: null', async () => {
    const token = await gw.tokenFor('auditor', ['supervision:read']);
    const response = await gw.request('/v1/supervision/warnings', { headers: bearer(token) });
    const text = await response.clone().text();
    const body = await ok<SupervisionWarnings>(response);
    expect(body.today).toBe('2026-12-09');
    const ofWarned = body.cases.find((warning) => warning.caseNumber === warned.caseNumber);
    expect(ofWarned?.level).toBe('overdue');
    const nrb = ofWarned?.departments.find((department) => department.code === 'NRB');
    expect(nrb?.representative).toEqual({ name: '王**', mobile: '139****5678' });
    expect(nrb?.warned.map((warning) => warning.level)).toEqual(['approaching', 'overdue']);
    expect(nrb?.warned[0]?.representative).toEqual({ name: '王**', mobile: '139****5678' });
    expect(nrb?.warned.every((warning) => !Number.isNaN(Date.parse(warning.at)))).toBe(true);
    const ofUnrepresented = body.cases.find((warning) => warning.caseNumber === unrepresented.caseNumber);
    expect(ofUnrepresented?.departments).toEqual([
      expect.objectContaining({ code: 'NRB', representative: null, warned: [] }),
    ]);
    expect(text).not.toContain(REPRESENTATIVE.mobile);
  });
});
