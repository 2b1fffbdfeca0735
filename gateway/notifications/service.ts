/**
 * Notifications as the gateway holds them: the channel (adapter over its client) and the worker,
 * both absent when NOTIFICATIONS_JSON is not set. Built once at start by the services; the
 * server starts the worker when NOTIFICATION_WORKER is on.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DepartmentMetrics } from '../../adapters/sdk/metrics.js';
import type { RegisteredNotificationAdapterFactory } from '../../adapters/sdk/notification.js';
import type { UrlPolicy } from '../../adapters/sdk/url-policy.js';
import type { Database } from '../db/client.js';
import type { NotificationSettings } from './config.js';
import { type NotificationChannel, createNotificationChannel } from './channel.js';
import { NotificationWorker, type NotificationWorkerOptions, type SupervisionWarningSettings } from './worker.js';

export interface NotificationServiceOptions {
  settings: NotificationSettings | null;
  urlPolicy: UrlPolicy;
  factories: readonly RegisteredNotificationAdapterFactory[];
  db: Database;
  registry: Registry;
  departmentMetrics: DepartmentMetrics;
  logger: Logger;
  /** Supervision warnings to the departments' chief representatives, sent by the same worker. */
  supervision?: SupervisionWarningSettings;
  /** The names each case holds, masked in the department's words an SMS quotes (the worker's `caseNames`). */
  caseNames: NotificationWorkerOptions['caseNames'];
}

export class NotificationService {
  private constructor(
    /** Null: notifications are off. */
    readonly channel: NotificationChannel | null,
    readonly worker: NotificationWorker | null,
  ) {}

  static create(options: NotificationServiceOptions): NotificationService {
    const { settings, logger } = options;
    if (settings === null) {
      logger.info('notifications are off: NOTIFICATIONS_JSON is not set, so applicants get no SMS about their cases');
      return new NotificationService(null, null);
    }
    const channel = createNotificationChannel(settings, {
      urlPolicy: options.urlPolicy,
      factories: options.factories,
      metrics: options.departmentMetrics,
      logger,
    });
    const worker = new NotificationWorker({
      db: options.db,
      channel,
      metrics: options.registry,
      logger,
      caseNames: options.caseNames,
      ...(options.supervision ? { supervision: options.supervision } : {}),
    });
    logger.info(
      {
        channel: channel.code,
        adapter: settings.adapter,
        origin: new URL(channel.client.baseUrl).origin,
        language: settings.language,
        rateLimit: settings.rateLimit,
      },
      'notifications are on: applicants with a mobile number get SMS about their cases',
    );
    return new NotificationService(channel, worker);
  }

  get enabled(): boolean {
    return this.channel !== null;
  }

  start(): void {
    this.worker?.start();
  }

  wake(): void {
    this.worker?.wake();
  }

  /** Stops the worker (sends in flight finish within `graceMs`), then releases the channel's connections. */
  async close(graceMs: number): Promise<void> {
    await this.worker?.stop(graceMs);
    await this.channel?.adapter.close();
  }
}
