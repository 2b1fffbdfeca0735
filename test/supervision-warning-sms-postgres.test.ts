/**
 * Supervision warnings by SMS on PostgreSQL with real concurrency, which PGlite (one connection)
 * cannot show: two workers looking for warnings and sending at the same moment, pass after pass,
 * queue and send each warning once (the unique warning key and the claim's lease). Runs when
 * DATABASE_URL points at a PostgreSQL server, in a database of its own that it drops afterwards.
 * (A file of its own: statements built once per process bind to the first driver they meet.)
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationAdapter } from '../adapters/sdk/notification.js';
import { CalendarService } from '../gateway/calendar/service.js';
import { type DatabaseHandle, openDatabase } from '../gateway/db/client.js';
import {
  caseEvents,
  cases,
  centreRepresentatives,
  centres,
  deliveries,
  items,
  notifications,
  subjects,
} from '../gateway/db/schema.js';
import type { NotificationChannel } from '../gateway/notifications/channel.js';
import { notificationSettingsFrom, notificationsConfigSchema } from '../gateway/notifications/config.js';
import { NotificationWorker } from '../gateway/notifications/worker.js';
import { createMetrics } from '../gateway/platform/metrics.js';

const serverUrl = process.env['DATABASE_URL'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const REPRESENTATIVE_MOBILE = '13912345678';

describe.skipIf(!serverUrl?.startsWith('postgres'))('supervision warnings on PostgreSQL, two workers at once', () => {
  const databaseName = `repwarn_${randomBytes(4).toString('hex')}`;
  let admin: ReturnType<typeof postgres>;
  let database: DatabaseHandle;
  let calendar: CalendarService;
  const sent: { outId: string; phoneNumber: string; templateCode: string }[] = [];
  // Slow on purpose: both workers' passes overlap while a message is on its way.
  const slowAdapter: NotificationAdapter = {
    kind: 'fake',
    channel: 'sms',
    send: async (message) => {
      sent.push({
        outId: message.idempotencyKey,
        phoneNumber: message.phoneNumber,
        templateCode: message.templateCode,
      });
      await sleep(50);
      return { messageId: `fake-${sent.length}` };
    },
    close: async () => undefined,
  };
  const channel: NotificationChannel = {
    code: 'SMS',
    settings: notificationSettingsFrom(
      notificationsConfigSchema.parse({ baseUrl: 'https://sms.example.cn', rateLimit: { max: 20, windowMinutes: 60 } }),
    ),
    adapter: slowAdapter,
    client: {} as NotificationChannel['client'],
  };
  let today = '2026-12-07';
  const workerNamed = (owner: string) =>
    new NotificationWorker({
      db: database.db,
      channel,
      metrics: createMetrics({ processMetrics: false }).registry,
      logger: pino({ level: 'silent' }),
      owner,
      // Names in the departments' words are not what this test is about (review-10-sms-reason-names).
      caseNames: async () => new Map(),
      supervision: { calendar: () => calendar.current(), warningShare: 0.8, today: () => today },
    });

  beforeAll(async () => {
    admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${databaseName}`);
    const url = new URL(serverUrl!);
    url.pathname = `/${databaseName}`;
    database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 6 });
    await database.migrate();
    calendar = new CalendarService(database.db, pino({ level: 'silent' }));
    await calendar.reload();
    await database.db.insert(centres).values({
      code: '610113000',
      name: '雁塔区政务服务中心',
      level: 'county',
      parentCode: null,
      path: '/610113000/',
    });
    await database.db.insert(items).values({
      code: 'warned_item',
      name: 'Warned item',
      nameZh: '督办事项',
      kind: 'promised',
      departments: ['NRB'],
      statutoryDays: 10,
      promisedDays: 5,
    });
    await database.db.insert(subjects).values({
      id: 'sub_warned',
      kind: 'person',
      identifierType: 'resident_id',
      identifier: '11010519491231002X',
      identifierLookup: '11010519491231002X',
      name: '张三',
      createdByClientId: 'cli_test',
    });
    await database.db
      .insert(centreRepresentatives)
      .values({ centreCode: '610113000', departmentCode: 'NRB', name: '王建国', mobile: REPRESENTATIVE_MOBILE });
    // Five cases accepted Tuesday 2026-12-01, due Tuesday 2026-12-08.
    for (let index = 0; index < 5; index += 1) {
      const id = `case_warned_${index}`;
      await database.db.insert(cases).values({
        id,
        caseNumber: `OW2026120190000${index}`,
        itemCode: 'warned_item',
        subjectId: 'sub_warned',
        clientId: 'cli_test',
        status: 'in_progress',
        acceptedOn: '2026-12-01',
        promisedDays: 5,
        dueOn: '2026-12-08',
        centreCode: '610113000',
      });
      await database.db.insert(deliveries).values({
        id: `dlv_warned_${index}`,
        caseId: id,
        departmentCode: 'NRB',
        status: 'delivered',
        departmentStatus: 'in_progress',
      });
    }
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await admin?.unsafe(`drop database if exists ${databaseName} with (force)`);
    await admin?.end({ timeout: 5 });
  }, 60_000);

  it('queues and sends each warning once, however many passes of however many workers overlap', async () => {
    const [one, two] = [workerNamed('worker-one'), workerNamed('worker-two')];
    for (const day of ['2026-12-07', '2026-12-09']) {
      today = day;
      for (let round = 0; round < 3; round += 1) {
        await Promise.all([
          one.queueWarningsOnce(),
          two.queueWarningsOnce(),
          one.queueWarningsOnce(),
          two.queueWarningsOnce(),
        ]);
        await Promise.all([one.sendOnce(), two.sendOnce()]);
      }
    }
    // Five cases, two levels each: ten messages, each sent once.
    expect(sent).toHaveLength(10);
    expect(new Set(sent.map((message) => message.outId)).size).toBe(10);
    expect(sent.every((message) => message.phoneNumber === REPRESENTATIVE_MOBILE)).toBe(true);
    expect(sent.filter((message) => message.templateCode === 'OW_SUPERVISION_APPROACHING')).toHaveLength(5);
    const rows = await database.db.select().from(notifications);
    expect(rows).toHaveLength(10);
    expect(rows.every((row) => row.status === 'sent' && row.recipientKind === 'representative')).toBe(true);
    const events = await database.db.select().from(caseEvents);
    expect(events.filter((event) => event.kind === 'supervision_warning_sent')).toHaveLength(10);
  });
});
