/** Request schemas shared by the materials routes and the upload reader. */
import { z } from '@hono/zod-openapi';
import { isCalendarDate } from './dates.js';
import { bilingualCheck } from '../platform/field-problems.js';

export const MaterialIdSchema = z
  .string()
  .regex(
    /^mat_[A-Za-z0-9_-]{16}$/,
    bilingualCheck('a material id looks like mat_ followed by 16 characters', '材料标识为 mat_ 加 16 个字符'),
  )
  .openapi({ example: 'mat_8fJ2kq0ZrT5bW1xY' });

export const TypeCodeSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{1,63}$/,
    bilingualCheck(
      'a material type code is lower-case letters, digits and _',
      '材料类型代码由小写字母、数字和下划线组成，以字母开头',
    ),
  )
  .openapi({ example: 'household_register' });

export const DateSchema = z
  .string()
  .refine(
    isCalendarDate,
    bilingualCheck('a calendar date YYYY-MM-DD of a year 1900–2199', '应为 1900–2199 年间的真实日期，格式 YYYY-MM-DD'),
  );

export const DocumentMediaTypeSchema = z.enum(['application/pdf', 'application/ofd', 'image/jpeg', 'image/png']);

/** Upload metadata; in the query string, or as multipart fields before the file part. */
export const UploadMetadataSchema = z.object({
  typeCode: TypeCodeSchema,
  validFrom: DateSchema.optional().openapi({ description: 'Default: today (China Standard Time)' }),
  validUntil: DateSchema.optional().openapi({
    description: "Default: validFrom plus the type's default validity; none for types without one",
  }),
  fileName: z.string().trim().min(1).max(200).optional(),
  sourceRef: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "The issuer's reference, e.g. a certificate number" }),
  supersedes: MaterialIdSchema.optional().openapi({
    description: 'The material this one replaces; it becomes superseded',
  }),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/)
    .openapi({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
    .optional()
    .openapi({
      description: 'Expected SHA-256 (hex) of the document, for multipart uploads; raw uploads send Content-Digest',
    }),
});
export type UploadMetadata = z.infer<typeof UploadMetadataSchema>;
