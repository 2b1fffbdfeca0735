/** The result's shapes in answers: the window's (masked, no code) and the applicant's (progress look-up). */
import { z } from '@hono/zod-openapi';
import { RESULT_DELIVERY_METHODS, RESULT_STATUSES } from './methods.js';

const MaskedAddressSchema = z
  .object({
    province: z.string(),
    city: z.string(),
    district: z.string(),
    detail: z.string(),
    recipientName: z.string(),
    recipientMobile: z.string(),
  })
  .openapi('MaskedDeliveryAddress', {
    description: 'The courier address, masked: the street, the name and the number partly hidden',
  });

export const WindowResultSchema = z
  .object({
    method: z.enum(RESULT_DELIVERY_METHODS),
    status: z.enum(RESULT_STATUSES),
    address: MaskedAddressSchema.nullable(),
    readyAt: z.string().nullable(),
    collectedAt: z.string().nullable(),
    pickupFailures: z.number().int().openapi({ description: 'Wrong pick-up codes since the last right one' }),
    pickupLockedUntil: z
      .string()
      .nullable()
      .openapi({ description: 'After 5 wrong codes: no code is tried until then' }),
    carrier: z.string().nullable().openapi({ description: 'Express: the carrier' }),
    trackingNumber: z
      .string()
      .nullable()
      .openapi({ description: 'Express: the tracking number (运单号) once the waybill is made' }),
    lastRoute: z
      .object({ at: z.string(), place: z.string(), remark: z.string(), state: z.string() })
      .nullable()
      .openapi({
        description:
          "Express: the parcel's newest route node; state collected, in_transit, out_for_delivery, delivered or exception",
      }),
    deliveredAt: z.string().nullable().openapi({ description: 'Express: signed for (签收)' }),
    courierError: z.string().nullable().openapi({
      description:
        'Express: why the waybill could not be made (retried while an attempt is due; otherwise left to a clerk)',
    }),
    materialId: z.string().nullable().openapi({
      description: 'Electronic: the certificate material the issuing department handed over, once received',
    }),
  })
  .openapi('CaseResult');

export const ApplicantResultSchema = z
  .object({
    method: z.enum(RESULT_DELIVERY_METHODS),
    status: z.enum(RESULT_STATUSES),
    pickupCode: z
      .string()
      .nullable()
      .openapi({ description: 'Only while the result waits at the window: say it there' }),
    carrier: z.string().nullable(),
    trackingNumber: z.string().nullable(),
    lastRoute: z
      .string()
      .nullable()
      .openapi({ description: "Express: the parcel's newest route node, in the carrier's words" }),
    materialId: z.string().nullable(),
    collectAt: z
      .object({ code: z.string(), name: z.string(), address: z.string(), openingHours: z.string() })
      .nullable(),
    certificate: z
      .object({
        certificateType: z.string(),
        typeName: z.string().openapi({ example: '营业执照' }),
        certificateNumber: z
          .string()
          .openapi({ description: 'Masked when it is an identifier (a credit code, an ID number)' }),
        issuingAuthority: z.string(),
        issueDate: z.string(),
        issuedAt: z.string().nullable(),
        revoked: z.boolean().openapi({ description: 'The issuing department revoked it since; then it is not served' }),
        download: z.object({ method: z.literal('POST'), path: z.string() }).nullable(),
      })
      .nullable()
      .openapi({ description: 'Electronic, once issued: the certificate and where to download the signed document' }),
    howToCollect: z.object({ zh: z.string(), en: z.string() }),
  })
  .openapi('ApplicantResult');
