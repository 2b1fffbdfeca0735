/**
 * The API shapes of notifications: the contact a window gives when it opens a case, and the
 * masked contact and notifications every answer shows. The full number is never in an answer.
 */
import { z } from '@hono/zod-openapi';
import { bilingualCheck } from '../platform/field-problems.js';
import { MOBILE_PATTERN } from './mobile.js';
import { templateIds } from './templates.js';

export const CaseContactSchema = z
  .object({
    mobile: z
      .string()
      .regex(
        MOBILE_PATTERN,
        bilingualCheck(
          'a mainland mobile number: 11 digits starting 13–19, without country code or spaces',
          '应为内地手机号码：以 13–19 开头的 11 位数字，不加国家代码和空格',
        ),
      )
      .openapi({
        example: '13812341234',
        description:
          'Where the applicant is told about the case by SMS (受理, 补正, 办结, 不予受理/不予许可); masked in every answer',
      }),
  })
  .strict()
  .openapi('CaseContact');

export const MaskedContactSchema = z
  .object({ mobile: z.string().openapi({ example: '138****1234' }) })
  .nullable()
  .openapi({ description: 'How the applicant is told about the case, masked; null: no SMS' });

export const NotificationSchema = z
  .object({
    id: z.string().openapi({ description: "Also the platform's outId: a resend is recognised, never delivered twice" }),
    caseId: z.string(),
    caseNumber: z.string(),
    about: z.string().openapi({
      description: 'The case event told about: submitted, clock_stopped, completed, rejected, partially_rejected',
    }),
    template: z.enum(templateIds as [string, ...string[]]),
    templateCode: z.string().openapi({ description: "The platform's approved code of the template" }),
    language: z.string(),
    mobile: z.string().openapi({ example: '138****1234', description: 'Masked' }),
    status: z.enum(['pending', 'sent', 'delivered', 'failed', 'dead', 'superseded']).openapi({
      description:
        'pending: to be sent (or waiting for room in the number’s rate limit); sent: accepted, receipt awaited; ' +
        'delivered/failed: the receipt; dead: never accepted; superseded: newer news of the case went instead',
    }),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable().openapi({ format: 'date-time', description: 'While pending' }),
    lastError: z
      .string()
      .nullable()
      .openapi({ description: "Error kind, the platform's code and the adapter's message of the last failed attempt" }),
    messageId: z.string().nullable().openapi({ description: "The platform's id of the accepted message (bizId)" }),
    sentAt: z.string().nullable().openapi({ format: 'date-time' }),
    receipt: z
      .object({ code: z.string().nullable(), at: z.string().nullable().openapi({ format: 'date-time' }) })
      .nullable()
      .openapi({ description: 'The receipt (回执): DELIVRD, or the network’s code of a failure' }),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Notification');
