/**
 * The courier's configuration: `COURIER_JSON`, read once at start with the gateway's configuration
 * (gateway/config.ts). Without it no result goes by courier: express results wait, `preparing`.
 * Like NOTIFICATIONS_JSON, any string may be `{"$env": "NAME"}` (the check word), and the adapter's
 * own options are checked by its schema when the channel is built (courier.ts).
 */
import { z } from 'zod';
import { departmentConfigSchema, resolveEnvReferences } from '../departments/config.js';

const senderSchema = z
  .object({
    name: z.string().min(1).max(50),
    mobile: z.string().regex(/^1[3-9]\d{9}$/, 'a mainland mobile number'),
    province: z.string().min(2),
    city: z.string().min(2),
    district: z.string().min(2),
    detail: z.string().min(4),
  })
  .strict();

export const courierConfigSchema = z
  .object({
    /** Courier adapter kind (adapters/index.ts `courierAdapterFactories`). */
    adapter: z.string().min(1).default('courier-express'),
    /** The channel's label in metrics and logs. */
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{1,15}$/, 'upper-case letters, digits and _ (2–16)')
      .default('EXPRESS'),
    baseUrl: z.string().min(1),
    /** The adapter's options (partner id, check word, carrier name), checked by the adapter's schema. */
    options: z.record(z.string(), z.unknown()).default({}),
    tuning: departmentConfigSchema.shape.tuning,
    /** Who sends: the service centre's mail room, printed on every waybill. */
    sender: senderSchema,
    /** What the parcel holds (托寄物), as printed on the waybill. */
    contents: z.string().min(2).max(60).default('政务服务办理结果'),
    delivery: z
      .object({
        /** Waybill attempts before the result is left to a clerk (its last error on the case). */
        maxAttempts: z.number().int().min(1).max(50).default(8),
        /** Backoff after a failed attempt: a random delay up to base·2^(attempt−1), at most the maximum. */
        backoffBaseMs: z.number().int().min(0).max(3_600_000).default(5_000),
        backoffMaxMs: z.number().int().min(0).max(86_400_000).default(600_000),
        /** How long one worker holds a waybill it is making. */
        leaseMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
      })
      .strict()
      .default({ maxAttempts: 8, backoffBaseMs: 5_000, backoffMaxMs: 600_000, leaseMs: 60_000 }),
    /** How often the routes of a parcel on its way are asked for. */
    routes: z
      .object({ pollIntervalMs: z.number().int().min(0).max(86_400_000).default(1_800_000) })
      .strict()
      .default({ pollIntervalMs: 1_800_000 }),
  })
  .strict();

export type CourierSettings = z.infer<typeof courierConfigSchema>;

/** Parses COURIER_JSON; the settings, or every problem naming where it is. */
export function parseCourier(
  text: string,
  source: string,
  lookup: (name: string) => string | undefined,
): { settings: CourierSettings | null; problems: string[] } {
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
  const result = courierConfigSchema.safeParse(resolved);
  if (!result.success) {
    for (const issue of result.error.issues)
      problems.push(`${source}${issue.path.map((part) => `.${String(part)}`).join('')}: ${issue.message}`);
    return { settings: null, problems };
  }
  return problems.length > 0 ? { settings: null, problems } : { settings: result.data, problems };
}
