/**
 * The provincial civil-affairs marriage registry's open-platform gateway (婚姻登记信息共享平台), as
 * both the adapter and the simulator speak it. One URL for every call:
 *
 *     POST /gateway   Content-Type: application/x-www-form-urlencoded; charset=UTF-8
 *     method=mca.marriage.certificate.query&app_id=…&timestamp=2019-05-20 10:00:00&nonce=…
 *       &version=1.0&sign_type=SM3&biz_content={"id_number":"…","name":"…"}&sign=…
 *
 * - `timestamp` is Beijing time (`yyyy-MM-dd HH:mm:ss`), refused when more than 300 s away from
 *   the registry's clock; `nonce` is refused when seen before within that window;
 * - `sign` is the upper-case hex SM3 of the sorted fields plus the app key (`sm3Sign` in
 *   `sdk/helpers/signing.ts`): `app_id=…&biz_content=…&method=…&nonce=…&sign_type=SM3&timestamp=…&version=1.0&key=<app key>`;
 * - every answer is HTTP 200 `{"code": "…", "msg": "…", "data": …}` (errors included); dates are
 *   `2019年05月20日`; the certificate file is base64 PDF.
 * - in front of it sits a proxy that answers 502 now and then (the reason every call is retried).
 */
import type { components } from '../../contracts/mca/mca.marriage.types.js';
import type { EnvelopeTable } from '@onewindow/adapter-sdk';

export const MCA_GATEWAY_PATH = '/gateway';
export const MCA_SIGNATURE_WINDOW_SECONDS = 300;
export const MCA_PROTOCOL_VERSION = '1.0';

/** The method values; each is an operation of the contract (`/gateway#method=<value>`). */
export const mcaMethods = {
  certificateQuery: 'mca.marriage.certificate.query',
  health: 'mca.gateway.health',
} as const;
export type McaMethod = (typeof mcaMethods)[keyof typeof mcaMethods];

export const mcaCodes = {
  success: '10000',
  signatureInvalid: '40001',
  timestampStale: '40002',
  nonceReplayed: '40003',
  noRecord: '40004',
  unknownApp: '40005',
  parameterInvalid: '40006',
  recordSealed: '40301',
  busy: '50001',
} as const;

/** What each code means to the gateway (an unknown code is a business error). */
export const mcaEnvelopeTable: EnvelopeTable = {
  codes: {
    [mcaCodes.success]: 'success',
    [mcaCodes.noRecord]: 'not_found',
    [mcaCodes.signatureInvalid]: 'rejected',
    [mcaCodes.timestampStale]: 'rejected',
    [mcaCodes.nonceReplayed]: 'rejected',
    [mcaCodes.unknownApp]: 'rejected',
    [mcaCodes.parameterInvalid]: 'rejected',
    [mcaCodes.recordSealed]: 'business_error',
    [mcaCodes.busy]: 'unavailable',
  },
};

export type McaEnvelope = components['schemas']['Envelope'];
export type MarriageCertificateWire = components['schemas']['MarriageCertificate'];
export type HealthWire = components['schemas']['Health'];

/** `djzt` 登记状态 as the registry writes it. */
export const registrationStates = ['有效', '已注销', '已撤销'] as const;
export type RegistrationState = (typeof registrationStates)[number];
