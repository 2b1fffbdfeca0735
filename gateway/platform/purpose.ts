/**
 * The purpose of an access to personal data. Every route that answers with a subject's personal
 * data needs one — a case reference, or a purpose code from the configured list — and writes it
 * into the audit entry of the access. The caller states it in request headers, so GET requests can
 * carry it and it never ends up in URLs (which proxies and logs keep).
 */
import { z } from '@hono/zod-openapi';
import { ApiError, message } from './errors.js';
import { bilingualCheck } from './field-problems.js';

export const PURPOSE_HEADER = 'onewindow-purpose';
export const CASE_REF_HEADER = 'onewindow-case-ref';
export const OPERATOR_HEADER = 'onewindow-operator';

const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

/** Header parameters of every personal-data route (Hono hands header names over in lower case). */
export const PurposeHeadersSchema = z.object({
  [PURPOSE_HEADER]: z.string().optional().openapi({
    description: 'Purpose code from the configured list (PURPOSE_CODES); required unless a case reference is sent.',
    example: 'case_acceptance',
  }),
  [CASE_REF_HEADER]: z
    .string()
    .regex(
      REFERENCE,
      bilingualCheck(
        'a case reference is 1-64 letters, digits and . _ : / -',
        '办件参考号为 1–64 个字母、数字或 . _ : / -',
      ),
    )
    .optional()
    .openapi({ description: 'The case this access serves.', example: 'CASE-2026-000123' }),
  [OPERATOR_HEADER]: z
    .string()
    .regex(
      REFERENCE,
      bilingualCheck(
        'an operator id is 1-64 letters, digits and . _ : / -',
        '经办人标识为 1–64 个字母、数字或 . _ : / -',
      ),
    )
    .optional()
    .openapi({
      description: 'The person at the window or desk, as the calling system knows them; recorded in the audit log.',
      example: 'clerk-0042',
    }),
});
export type PurposeHeaders = z.infer<typeof PurposeHeadersSchema>;

export interface AccessPurpose {
  purpose: string | null;
  caseRef: string | null;
  operatorId: string | null;
}

/** The stated purpose, or a `purpose_required` / `purpose_unknown` error. */
export function requirePurpose(headers: PurposeHeaders, purposeCodes: readonly string[]): AccessPurpose {
  const purpose = headers[PURPOSE_HEADER]?.trim() || null;
  const caseRef = headers[CASE_REF_HEADER] ?? null;
  const operatorId = headers[OPERATOR_HEADER] ?? null;
  if (purpose === null && caseRef === null) {
    throw new ApiError(
      'purpose_required',
      message('purpose.required', { caseHeader: CASE_REF_HEADER, purposeHeader: PURPOSE_HEADER }),
      { purposeCodes },
    );
  }
  if (purpose !== null && !purposeCodes.includes(purpose)) {
    throw new ApiError('purpose_unknown', message('purpose.unknown', { purposeCodes: purposeCodes.join(', ') }), {
      purposeCodes,
    });
  }
  return { purpose, caseRef, operatorId };
}
