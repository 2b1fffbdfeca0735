/**
 * How a case's result reaches the applicant (办理结果送达): collected at the window with a pick-up
 * code (窗口领取), sent by courier (邮寄), or pushed as an electronic certificate (电子证照). An item
 * declares the methods it offers; the window picks one when it opens the case.
 */
import { z } from '@hono/zod-openapi';
import { isMobileNumber } from '../notifications/mobile.js';
import { bilingualCheck } from '../platform/field-problems.js';

export const RESULT_DELIVERY_METHODS = ['window_pickup', 'express', 'electronic'] as const;
export type ResultDeliveryMethod = (typeof RESULT_DELIVERY_METHODS)[number];

export const RESULT_STATUSES = [
  'preparing',
  'ready_for_pickup',
  'collected',
  'shipped',
  'delivered',
  'issued',
  'awaiting_document',
] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

export function isResultDeliveryMethod(value: string): value is ResultDeliveryMethod {
  return (RESULT_DELIVERY_METHODS as readonly string[]).includes(value);
}

/** Where a courier takes the result: a mainland address and a recipient who answers the phone. */
export const DeliveryAddressSchema = z
  .object({
    province: z.string().trim().min(2).max(20),
    city: z.string().trim().min(2).max(30),
    district: z.string().trim().min(2).max(30),
    detail: z.string().trim().min(4).max(120),
    recipientName: z.string().trim().min(1).max(50),
    recipientMobile: z
      .string()
      .refine(
        isMobileNumber,
        bilingualCheck(
          'a mainland mobile number: 11 digits starting with 1',
          '应为内地手机号码：以 1 开头的 11 位数字',
        ),
      ),
  })
  .strict()
  .openapi('DeliveryAddress', { description: 'The courier address (邮寄地址); personal data, masked in every answer' });

export type DeliveryAddress = z.infer<typeof DeliveryAddressSchema>;

export const ResultDeliveryChoiceSchema = z
  .object({
    method: z.enum(RESULT_DELIVERY_METHODS),
    address: DeliveryAddressSchema.optional().openapi({
      description: 'Required for express; refused for the other methods',
    }),
  })
  .strict()
  .openapi('ResultDeliveryChoice', {
    description: "How the result reaches the applicant: one of the item's resultDeliveries (default window_pickup)",
  });

export type ResultDeliveryChoice = z.infer<typeof ResultDeliveryChoiceSchema>;
