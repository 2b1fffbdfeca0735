/**
 * The notification channel's configuration: `NOTIFICATIONS_JSON`, read once at start as part of
 * the gateway's configuration (gateway/config.ts). Without it notifications are off. Like the
 * departments' file, any string value may be `{"$env": "NAME"}`, so secrets come from the
 * environment; the adapter's own options are checked against its schema when the channel is built
 * (channel.ts), because only the adapter knows them.
 */
import { z } from 'zod';
import { departmentConfigSchema, resolveEnvReferences } from '../departments/config.js';
import {
  type NotificationLanguage,
  type TemplateId,
  defaultTemplateCode,
  notificationLanguages,
  templateIds,
} from './templates.js';

const templateCode = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a template code is 1–64 letters, digits, _ . -');

const templateCodesSchema = z
  .record(z.string(), templateCode)
  .default({})
  .check((ctx) => {
    for (const key of Object.keys(ctx.value)) {
      if (!(templateIds as string[]).includes(key))
        ctx.issues.push({
          code: 'custom',
          input: key,
          path: [key],
          message: `unknown template (known: ${templateIds.join(', ')})`,
        });
    }
  });

export const notificationsConfigSchema = z
  .object({
    /** Notification adapter kind (adapters/index.ts `notificationAdapterFactories`). */
    adapter: z.string().min(1).default('sms-gateway'),
    /** The channel's label in metrics and logs (`onewindow_department_calls_total{department="SMS"}`). */
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{1,15}$/, 'upper-case letters, digits and _ (2–16)')
      .default('SMS'),
    baseUrl: z.string().min(1),
    /** The adapter's options (credentials, sign name), checked by the adapter's schema. */
    options: z.record(z.string(), z.unknown()).default({}),
    /** The resilient client's settings, as for a department. */
    tuning: departmentConfigSchema.shape.tuning,
    /** The language of the messages. */
    language: z.enum(notificationLanguages).default('zh-CN'),
    /** The platform's approved code per template (default `OW_<TEMPLATE>`, `…_EN` in English). */
    templateCodes: templateCodesSchema,
    /** At most `max` messages to one phone number per `windowMinutes`, across all its cases. */
    rateLimit: z
      .object({
        max: z.number().int().min(1).max(100).default(5),
        windowMinutes: z.number().int().min(1).max(1440).default(60),
      })
      .strict()
      .default({ max: 5, windowMinutes: 60 }),
    delivery: z
      .object({
        /** Attempts before a message is dead-lettered (a definitive refusal is at once). */
        maxAttempts: z.number().int().min(1).max(50).default(8),
        /** Backoff after a failed attempt: a random delay up to base·2^(attempt−1), at most the maximum. */
        backoffBaseMs: z.number().int().min(10).max(3_600_000).default(2000),
        backoffMaxMs: z.number().int().min(10).max(86_400_000).default(600_000),
        /** The least wait after the platform's own flow control refused a message. */
        platformLimitBackoffMs: z.number().int().min(0).max(86_400_000).default(300_000),
        /** Messages one worker claims at a time. */
        batchSize: z.number().int().min(1).max(1000).default(20),
        /** How often an idle worker looks for new case events and due messages. */
        pollIntervalMs: z.number().int().min(50).max(600_000).default(1000),
        /** How long a claimed message is reserved for its worker. */
        leaseMs: z.number().int().min(1000).max(3_600_000).default(30_000),
      })
      .strict()
      .default({
        maxAttempts: 8,
        backoffBaseMs: 2000,
        backoffMaxMs: 600_000,
        platformLimitBackoffMs: 300_000,
        batchSize: 20,
        pollIntervalMs: 1000,
        leaseMs: 30_000,
      }),
    receipts: z
      .object({
        /** Least time between two receipt queries about one message (0: every pass). */
        pollIntervalMs: z.number().int().min(0).max(86_400_000).default(60_000),
        /** Receipts are no longer asked for after this long (platforms keep them about three days). */
        giveUpAfterHours: z.number().int().min(1).max(720).default(72),
      })
      .strict()
      .default({ pollIntervalMs: 60_000, giveUpAfterHours: 72 }),
  })
  .strict()
  .check((ctx) => {
    if (ctx.value.delivery.backoffMaxMs < ctx.value.delivery.backoffBaseMs) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value.delivery.backoffMaxMs,
        path: ['delivery', 'backoffMaxMs'],
        message: 'must be at least backoffBaseMs',
      });
    }
  });

type ParsedNotifications = z.output<typeof notificationsConfigSchema>;

/** The notification channel as the gateway runs it (NOTIFICATIONS_JSON, parsed). */
export interface NotificationSettings {
  adapter: string;
  code: string;
  baseUrl: string;
  options: Record<string, unknown>;
  tuning: ParsedNotifications['tuning'];
  language: NotificationLanguage;
  /** The platform's code of every template, in the configured language. */
  templateCodes: Record<TemplateId, string>;
  rateLimit: { max: number; windowMs: number };
  delivery: ParsedNotifications['delivery'];
  receipts: { pollIntervalMs: number; giveUpAfterMs: number };
}

/** Fills in what a parsed configuration leaves to defaults (template codes, milliseconds). */
export function notificationSettingsFrom(parsed: ParsedNotifications): NotificationSettings {
  return {
    adapter: parsed.adapter,
    code: parsed.code,
    baseUrl: parsed.baseUrl,
    options: parsed.options,
    tuning: parsed.tuning,
    language: parsed.language,
    templateCodes: Object.fromEntries(
      templateIds.map((id) => [id, parsed.templateCodes[id] ?? defaultTemplateCode(id, parsed.language)]),
    ) as Record<TemplateId, string>,
    rateLimit: { max: parsed.rateLimit.max, windowMs: parsed.rateLimit.windowMinutes * 60_000 },
    delivery: parsed.delivery,
    receipts: {
      pollIntervalMs: parsed.receipts.pollIntervalMs,
      giveUpAfterMs: parsed.receipts.giveUpAfterHours * 3_600_000,
    },
  };
}

/**
 * Parses NOTIFICATIONS_JSON (JSON text). Returns the settings, or the problems found, each naming
 * where it is (`NOTIFICATIONS_JSON.rateLimit.max: …`).
 */
export function parseNotifications(
  text: string,
  source: string,
  lookup: (name: string) => string | undefined,
): { settings: NotificationSettings | null; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      settings: null,
      problems: [`${source}: not valid JSON (${error instanceof Error ? error.message : String(error)})`],
    };
  }
  const missing: string[] = [];
  const resolved = resolveEnvReferences(raw, lookup, '', missing);
  const problems = missing.map((problem) => `${source}.${problem}`);
  const result = notificationsConfigSchema.safeParse(resolved);
  if (!result.success) {
    for (const issue of result.error.issues)
      problems.push(`${source}${issue.path.map((part) => `.${String(part)}`).join('')}: ${issue.message}`);
    return { settings: null, problems };
  }
  if (problems.length > 0) return { settings: null, problems };
  return { settings: notificationSettingsFrom(result.data), problems };
}
