/** Request schemas shared by the materials routes and the upload reader. */
import { z } from '@hono/zod-openapi';
import { isCalendarDate } from './dates.js';

export const MaterialIdSchema = z
  .string()
  .regex(/^mat_[A-Za-z0-9_-]{16}$/, 'a material id looks like mat_ followed by 16 characters')

  .openapi({ example: 'mat_8fJ2kq0ZrT5bW1xY' });

export const TypeCodeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,63}$/, 'a material type code is lower-case letters, digits and _')
  .openapi({ example: 'household_register' });

export const DateSchema = z.string().refine(isCalendarDate, 'a calendar date YYYY-MM-DD of a year 1900–2199');

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
