/**
 * The catalogue data of a contract: what the resource is, who owns it, whether and how it is
 * shared, how sensitive each field is, how often it changes and what service level it comes
 * with. It comes in the publish request, or from `info.x-onewindow-catalogue` in the document
 * (handy for contract files kept in a repository); members in the request win.
 */
import { z } from '@hono/zod-openapi';
import { ApiError, message } from '../platform/errors.js';
import { bilingualCheck, fieldProblem, fieldProblemsOf } from '../platform/field-problems.js';

export const ResourceCodeSchema = z
  .string()
  .max(100)
  .regex(
    /^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9-]*)+$/,
    bilingualCheck(
      'a resource code is dotted lower-case words, e.g. psb.population',
      '资源代码为以点分隔的小写单词，如 psb.population',
    ),
  )
  .openapi({ example: 'psb.population' });

export const DepartmentCodeSchema = z
  .string()
  .regex(
    /^[A-Z][A-Z0-9_]{1,15}$/,
    bilingualCheck(
      'department codes are upper-case letters, digits and _ (2–16), e.g. PSB',
      '部门代码为 2–16 位大写字母、数字或下划线，如 PSB',
    ),
  )
  .openapi({ example: 'PSB' });

export const sharingTypes = ['unconditional', 'conditional', 'not_shared'] as const;
export const SharingTypeSchema = z.enum(sharingTypes);
export type SharingType = (typeof sharingTypes)[number];

export const SensitivitySchema = z.enum(['public', 'internal', 'sensitive', 'secret']);
export const UpdateFrequencySchema = z.enum(['realtime', 'daily', 'weekly', 'monthly', 'on_change']);

export const ServiceLevelSchema = z
  .object({
    availabilityPercent: z.number().min(0).max(100).openapi({ example: 99.9 }),
    p95LatencyMs: z.number().int().positive().max(600_000).openapi({ example: 800 }),
    supportHours: z.string().trim().min(1).max(100).openapi({ example: 'Mon–Fri 08:30–17:30 CST' }),
  })
  .strict()
  .openapi('ServiceLevel');

export const CatalogueDataSchema = z
  .object({
    resourceCode: ResourceCodeSchema,
    departmentCode: DepartmentCodeSchema,
    title: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).optional(),
    sharingType: SharingTypeSchema,
    /** The conditions on which a conditional resource is shared (共享条件), e.g. the purposes and legal bases accepted. */
    sharingConditions: z.string().trim().min(1).max(2000).optional(),
    /** Field path (dotted, `[]` for array items) → sensitivity. */
    fieldSensitivity: z
      .record(
        z
          .string()
          .min(1)
          .max(200)
          .regex(
            /^[A-Za-z0-9_$.[\]-]+$/,
            bilingualCheck(
              'a field path is dotted names, e.g. person.name',
              '字段路径为以点分隔的名称，如 person.name',
            ),
          ),
        SensitivitySchema,
      )
      .default({})
      .refine(
        (fields) => Object.keys(fields).length <= 1000,
        bilingualCheck('at most 1000 fields', '最多 1000 个字段'),
      ),
    updateFrequency: UpdateFrequencySchema,
    sla: ServiceLevelSchema,
  })
  .strict()
  .openapi('ContractCatalogueData');

export type CatalogueData = z.infer<typeof CatalogueDataSchema>;

/** The same members, every one optional: what a publish request may carry. */
export const PartialCatalogueDataSchema = CatalogueDataSchema.partial().openapi('ContractCatalogueDataInput');
export type PartialCatalogueData = z.infer<typeof PartialCatalogueDataSchema>;

/** Merges the document's embedded catalogue data with the request's (request wins) and validates the result. */
export function resolveCatalogueData(
  document: Record<string, unknown>,
  fromRequest: PartialCatalogueData | undefined,
): CatalogueData {
  const info = (document.info ?? {}) as Record<string, unknown>;
  const embedded = info['x-onewindow-catalogue'];
  if (embedded !== undefined && (typeof embedded !== 'object' || embedded === null || Array.isArray(embedded))) {
    throw new ApiError('contract_catalogue_invalid', message('contract.catalogue_not_object'), {
      errors: [fieldProblem('info.x-onewindow-catalogue', 'must be an object', '应为一个对象')],
    });
  }
  const merged: Record<string, unknown> = {
    ...withDepartmentCode(embedded as Record<string, unknown> | undefined),
    ...stripUndefined(fromRequest ?? {}),
  };
  if (merged.title === undefined && typeof info.title === 'string') merged.title = info.title;
  const result = CatalogueDataSchema.safeParse(merged);
  if (!result.success) {
    throw new ApiError('contract_catalogue_invalid', message('contract.catalogue_invalid'), {
      errors: fieldProblemsOf(result.error.issues, '(catalogue)'),
    });
  }
  return result.data;
}

/** `department` is accepted as another name for `departmentCode` in embedded catalogue data. */
function withDepartmentCode(embedded: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!embedded || !('department' in embedded)) return embedded ?? {};
  const { department, ...rest } = embedded;
  return rest.departmentCode === undefined ? { ...rest, departmentCode: department } : rest;
}

function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined));
}
