/**
 * The notification channel of this deployment, built once at start from NOTIFICATIONS_JSON: the
 * SDK's resilient client (its own pool, timeouts, retries, breaker, concurrency cap, URL policy,
 * metrics under the channel's code) and the notification adapter over it, like a department's
 * (departments/registry.ts). Problems are collected and thrown together, so a misconfigured
 * channel stops the start instead of failing on the first case.
 */
import type { Logger } from 'pino';
import type { DepartmentClient } from '../../adapters/sdk/adapter.js';
import { createDepartmentClient } from '../../adapters/sdk/client.js';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import type { DepartmentMetrics } from '../../adapters/sdk/metrics.js';
import type { NotificationAdapter, RegisteredNotificationAdapterFactory } from '../../adapters/sdk/notification.js';
import type { UrlPolicy } from '../../adapters/sdk/url-policy.js';
import { ConfigError } from '../config.js';
import type { NotificationSettings } from './config.js';

export interface NotificationChannel {
  /** The channel's label in metrics and logs. */
  code: string;
  settings: NotificationSettings;
  adapter: NotificationAdapter;
  client: DepartmentClient;
}

export interface NotificationChannelOptions {
  urlPolicy: UrlPolicy;
  factories: readonly RegisteredNotificationAdapterFactory[];
  metrics: DepartmentMetrics;
  logger: Logger;
  now?: () => Date;
}

export function createNotificationChannel(
  settings: NotificationSettings,
  options: NotificationChannelOptions,
): NotificationChannel {
  const where = 'NOTIFICATIONS_JSON';
  const factory = options.factories.find((candidate) => candidate.kind === settings.adapter);
  if (!factory)
    throw new ConfigError([
      `${where}.adapter: unknown notification adapter "${settings.adapter}" (known: ` +
        `${options.factories.map((known) => known.kind).join(', ')})`,
    ]);
  const parsed = factory.optionsSchema.safeParse(settings.options);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${where}.options.${issue.path.join('.')}: ${issue.message}`),
    );
  let client: DepartmentClient;
  try {
    client = createDepartmentClient({
      ...settings.tuning,
      department: settings.code,
      baseUrl: settings.baseUrl,
      urlPolicy: options.urlPolicy,
      metrics: options.metrics,
      logger: options.logger,
    });
  } catch (error) {
    if (error instanceof DepartmentError)
      throw new ConfigError([`${where}.baseUrl ${settings.baseUrl}: ${error.message}`]);
    throw error;
  }
  const adapter = factory.create(parsed.data, {
    channel: settings.code,
    client,
    logger: options.logger.child({ channel: settings.code }),
    now: options.now ?? (() => new Date()),
  });
  return { code: settings.code, settings, adapter, client };
}
