/**
 * Applicant notifications on PostgreSQL with concurrent transactions, which PGlite (one
 * connection) cannot show: an event that commits below an id already visible is still read (the
 * cursor waits for its transaction), and the rate limit holds for two workers sending to one
 * number at the same moment. Runs on a private cluster when PostgreSQL's binaries are installed.
 * (A file of its own: statements built once per process bind to the first driver they meet.)
 */
import pino from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationAdapter } from '../adapters/sdk/notification.js';
import { type DatabaseHandle, openDatabase } from '../gateway/db/client.js';
import { caseEvents, cases, items, notifications, subjects } from '../gateway/db/schema.js';
import type { NotificationChannel } from '../gateway/notifications/channel.js';
import { notificationSettingsFrom, notificationsConfigSchema } from '../gateway/notifications/config.js';
import { NotificationWorker } from '../gateway/notifications/worker.js';
import { createMetrics } from '../gateway/platform/metrics.js';
import { Cluster, findPostgresBin } from './support/processes.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const MOBILE = '13812341234';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pgBin = findPostgresBin();

describe.skipIf(pgBin === undefined)('notifications on PostgreSQL, with concurrent transactions', () => {
  let cluster: Cluster;
  let database: DatabaseHandle;
  const sent: string[] = [];
  const slowAdapter: NotificationAdapter = {
    kind: 'fake',
    channel: 'sms',
    send: async (message) => {
      sent.push(message.idempotencyKey);
      await sleep(100);
      return { messageId: `fake-${sent.length}` };
    },
    close: async () => undefined,
  };
  const channel = (max: number): NotificationChannel => ({
    code: 'SMS',
    settings: notificationSettingsFrom(
      notificationsConfigSchema.parse({
        baseUrl: 'https://sms.example.cn',
        rateLimit: { max, windowMinutes: 60 },
        delivery: { batchSize: 2 },
      }),
    ),
    adapter: slowAdapter,
    client: {} as NotificationChannel['client'],
  });
  const workerOn = (max: number, owner: string) =>
    new NotificationWorker({
      db: database.db,
      channel: channel(max),
      metrics: createMetrics({ processMetrics: false }).registry,
      logger: pino({ level: process.env.DEBUG_NOTIFY ? 'debug' : 'silent' }),
      owner,
      // Names in the departments' words are not what this test is about (review-10-sms-reason-names).
      caseNames: async () => new Map(),
    });

  beforeAll(async () => {
    cluster = new Cluster(pgBin!);
    await cluster.start();
    database = await openDatabase({ kind: 'postgres', url: cluster.url, poolSize: 6 });
    await database.migrate();
    await database.db.insert(items).values({
      code: 'cursor_item',
      name: 'Cursor item',
      nameZh: '游标事项',
      kind: 'promised',
      departments: ['AMR'],
      statutoryDays: 5,
      promisedDays: 3,
    });
    await database.db.insert(subjects).values({
      id: 'sub_cursor',
      kind: 'person',
      identifierType: 'resident_id',
      identifier: ZHANG_SAN.identifier,
      identifierLookup: ZHANG_SAN.identifier,
      name: ZHANG_SAN.name,
      createdByClientId: 'cli_test',
    });
    await database.db.insert(cases).values({
      id: 'case_cursor',
      caseNumber: 'OW20261218900001',
      itemCode: 'cursor_item',
      subjectId: 'sub_cursor',
      clientId: 'cli_test',
      status: 'submitted',
      promisedDays: 3,
      dueOn: '2026-12-23',
      contactMobile: MOBILE,
    });
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await cluster?.remove();
  }, 60_000);

  it('reads an event that commits below an id already visible: the cursor waits for its transaction', async () => {
    const collector = workerOn(5, 'collector');
    await collector.collectOnce();
    const slow = postgres(cluster.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let insertedSlow!: () => void;
    const slowInserted = new Promise<void>((resolve) => (insertedSlow = resolve));
    try {
      // A transaction takes the lower id and stays open…
      const running = slow.begin(async (tx) => {
        await tx`insert into case_events (case_id, kind, detail) values ('case_cursor', 'submitted', ${tx.json({ dueOn: '2026-12-23' })})`;
        insertedSlow();
        await released;
      });
      await slowInserted;
      // …while a higher id commits at once.
      await database.db.insert(caseEvents).values({ caseId: 'case_cursor', kind: 'completed', detail: {} });
      for (let pass = 0; pass < 3; pass += 1) await collector.collectOnce();
      expect(await database.db.select().from(notifications)).toEqual([]);
      release();
      await running;
      await collector.collectOnce();
      await collector.collectOnce();
      const queued = await database.db
        .select({ about: notifications.eventKind, template: notifications.template })
        .from(notifications)
        .orderBy(notifications.eventId);
      expect(queued).toEqual([
        { about: 'submitted', template: 'case_accepted' },
        { about: 'completed', template: 'case_completed' },
      ]);
    } finally {
      release();
      await slow.end({ timeout: 5 });
    }
  });

  it('holds the rate limit for two workers sending to one number at the same moment', async () => {
    await database.db.delete(notifications);
    const base = {
      caseId: 'case_cursor',
      eventKind: 'submitted',
      mobile: '13612345678',
      template: 'case_accepted',
      templateCode: 'OW_CASE_ACCEPTED',
      language: 'zh-CN',
      params: { itemName: '游标事项', caseNumber: 'OW20261218900001', dueOn: '2026年12月23日' },
    };
    // Different cases' news to one number (the newest of a case would supersede the others): one case each.
    for (let index = 0; index < 4; index += 1) {
      const caseId = `case_rate${String(index).padStart(12, '0')}`;
      await database.db.insert(cases).values({
        id: caseId,
        caseNumber: `OW2026121890010${index}`,
        itemCode: 'cursor_item',
        subjectId: 'sub_cursor',
        clientId: 'cli_test',
        status: 'submitted',
        promisedDays: 3,
      });
      await database.db
        .insert(notifications)
        .values({ ...base, caseId, id: `ntf_rate_${index}`, eventId: 990_000 + index });
    }
    sent.length = 0;
    const [one, two] = [workerOn(2, 'worker-one'), workerOn(2, 'worker-two')];
    expect(await Promise.all([one.sendOnce(), two.sendOnce()])).toEqual([2, 2]);
    expect(sent).toHaveLength(2);
    const rows = await database.db
      .select({ status: notifications.status, lastError: notifications.lastError })
      .from(notifications);
    expect(rows.filter((row) => row.status === 'sent')).toHaveLength(2);
    expect(rows.filter((row) => row.status === 'pending' && row.lastError?.startsWith('rate_limited'))).toHaveLength(2);
  });
});
