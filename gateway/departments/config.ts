/**
 * The departments the gateway talks to: read from a JSON file (`DEPARTMENTS_FILE`) or inline
 * (`DEPARTMENTS_JSON`) once at start, as part of the configuration. Secrets do not belong in the
 * file: any string value may instead be `{ "$env": "NAME" }`, resolved from the environment here,
 * so the file can be committed and the secrets come from the deployment's secret store.
 *
 * Adapter options are checked against the adapter's own schema when the registry is built
 * (`registry.ts`), because only the adapter knows them.
 */
import { z } from 'zod';
import { personIdentifierTypes } from '../../adapters/sdk/types.js';

const departmentCode = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{1,15}$/, 'department codes are upper-case letters, digits and _ (2–16), e.g. PSB');

const tuningSchema = z
  .object({
    connections: z.number().int().min(1).max(256),
    connectTimeoutMs: z.number().int().min(10).max(60_000),
    headersTimeoutMs: z.number().int().min(10).max(120_000),
    bodyTimeoutMs: z.number().int().min(10).max(300_000),
    maxResponseBytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024),
    retries: z.number().int().min(0).max(5),
    retryMinDelayMs: z.number().int().min(0).max(10_000),
    retryMaxDelayMs: z.number().int().min(0).max(60_000),
    budgetMs: z.number().int().min(10).max(600_000),
    breakerFailures: z.number().int().min(1).max(1000),
    breakerHalfOpenAfterMs: z.number().int().min(10).max(3_600_000),
    maxConcurrent: z.number().int().min(1).max(10_000),
  })
  .partial()
  .strict();

export const departmentConfigSchema = z
  .object({
    code: departmentCode,
    name: z.string().min(1).max(200),
    /**
     * A shipped adapter's kind, e.g. `psb-population`, standing for its package
     * (`shippedAdapterKinds`, adapter-packages.ts), or a kind a fork compiles in (adapters/index.ts).
     * After an adapter package is loaded (adapter-packages.ts), the kind it exports.
     */
    adapter: z.string().min(1).optional(),
    /** An adapter package: one shipped with the gateway, or an npm package installed beside it (node_modules). */
    adapterPackage: z
      .string()
      .regex(
        /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/,
        'an npm package name, e.g. @acme/onewindow-adapter-cab',
      )
      .optional(),
    /** An out-of-tree adapter: a folder with a package.json (relative to the working directory). */
    adapterPath: z
      .string()
      .min(1)
      // Loaded as a file path whatever it says; a URL here is a mistake to name, not a folder to look for.
      .refine(
        (path) => !/^[a-z][a-z0-9+.-]+:/i.test(path),
        'a folder on this machine (an absolute path, or relative to the working directory), not a URL',
      )
      .optional(),
    baseUrl: z.string().min(1),
    /** Adapter-specific options (credentials, paths), checked by the adapter's schema. */
    options: z.record(z.string(), z.unknown()).default({}),
    tuning: tuningSchema.default({}),
    /**
     * Which identity verifications this department answers when a caller names no department:
     * one department per identifier type, across the whole file. A department not listed for a
     * type is never asked about it unless a caller names it.
     */
    identityVerification: z
      .object({
        identifierTypes: z
          .array(
            z.enum(personIdentifierTypes, {
              error: `an identifier type of persons: ${personIdentifierTypes.join(', ')} (organisations are not verified)`,
            }),
          )
          .min(1, 'name at least one identifier type, or leave identityVerification out'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type DepartmentConfig = z.output<typeof departmentConfigSchema>;

const adapterSources = ['adapter', 'adapterPackage', 'adapterPath'] as const;

export const departmentsFileSchema = z.array(departmentConfigSchema).check((ctx) => {
  const seen = new Set<string>();
  ctx.value.forEach((department, index) => {
    const named = adapterSources.filter((source) => department[source] !== undefined);
    if (named.length !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: department,
        path: [index],
        message:
          named.length === 0
            ? 'name the adapter: "adapterPackage" (an npm package), "adapterPath" (a folder) or "adapter" (a shipped kind)'
            : `name the adapter once: ${named.join(' and ')} are both given`,
      });
    }
    if (seen.has(department.code)) {
      ctx.issues.push({
        code: 'custom',
        input: department.code,
        path: [index, 'code'],
        message: `department ${department.code} is listed twice`,
      });
    }
    seen.add(department.code);
  });
});

type EnvironmentLookup = (name: string) => string | undefined;

/** Replaces every `{ "$env": "NAME" }` by the variable's value; names each missing variable. */
export function resolveEnvReferences(
  value: unknown,
  lookup: EnvironmentLookup,
  path: string,
  missing: string[],
): unknown {
  if (Array.isArray(value))
    return value.map((item, index) => resolveEnvReferences(item, lookup, `${path}[${index}]`, missing));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === '$env' && typeof entries[0][1] === 'string') {
    const name = entries[0][1];
    const resolved = lookup(name);
    if (resolved === undefined || resolved === '') missing.push(`${path}: environment variable ${name} is not set`);
    return resolved ?? '';
  }
  return Object.fromEntries(
    entries.map(([key, item]) => [key, resolveEnvReferences(item, lookup, path ? `${path}.${key}` : key, missing)]),
  );
}

/**
 * Parses the departments document (JSON text). Returns the departments or the problems found,
 * each naming where it is (`DEPARTMENTS_FILE[0].baseUrl: …`).
 */
export function parseDepartments(
  text: string,
  source: string,
  lookup: EnvironmentLookup,
): { departments: DepartmentConfig[]; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      departments: [],
      problems: [`${source}: not valid JSON (${error instanceof Error ? error.message : String(error)})`],
    };
  }
  const missing: string[] = [];
  const resolved = resolveEnvReferences(raw, lookup, '', missing);
  const result = departmentsFileSchema.safeParse(resolved);
  const problems = missing.map((problem) => `${source}${problem.startsWith('[') ? '' : '.'}${problem}`);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const where = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
      problems.push(`${source}${where}: ${issue.message}`);
    }
    return { departments: [], problems };
  }
  return { departments: result.data, problems };
}
