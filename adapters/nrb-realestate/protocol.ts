/**
 * The wire protocol of the Natural Resources real-estate registry (不动产登记信息共享接口), shared by
 * the adapter and the simulator: paths, operation names, error codes, the record shapes (from the
 * published contract's generated types) and the OAuth 2.0 client-credentials details.
 *
 * Flow of a certificate query: token (cached) → `POST /api/v1/certificate-queries` (202, a job) →
 * `GET /api/v1/jobs/{jobId}` until `SUCCEEDED`/`FAILED` → `GET /api/v1/jobs/{jobId}/results`
 * page by page → `GET /api/v1/certificates/{certificateId}/document` for the chosen certificate.
 */
import type { components, operations } from '../../contracts/nrb/nrb.real-estate.types.js';

export const NRB_TOKEN_PATH = '/oauth/token';

export const NRB_PATHS = {
  certificateQueries: '/api/v1/certificate-queries',
  job: (jobId: string) => `/api/v1/jobs/${encodeURIComponent(jobId)}`,
  jobResults: (jobId: string, page: number, pageSize: number) =>
    `/api/v1/jobs/${encodeURIComponent(jobId)}/results?${new URLSearchParams({ page: String(page), pageSize: String(pageSize) }).toString()}`,
  certificateDocument: (certificateId: string) => `/api/v1/certificates/${encodeURIComponent(certificateId)}/document`,
  transferRegistrations: '/api/v1/transfer-registrations',
  transferRegistration: (applicationNo: string) =>
    `/api/v1/transfer-registrations/${encodeURIComponent(applicationNo)}`,
  mortgageCancellations: '/api/v1/mortgage-cancellations',
  mortgageCancellation: (applicationNo: string) =>
    `/api/v1/mortgage-cancellations/${encodeURIComponent(applicationNo)}`,
  health: '/api/v1/health',
} as const;

/** The contract's operationIds, also the simulator's operation names (for faults and counts). */
export const nrbOperations = [
  'issueToken',
  'createCertificateQuery',
  'getQueryJob',
  'getQueryResults',
  'getCertificateDocument',
  'submitTransferRegistration',
  'getTransferRegistration',
  'submitMortgageCancellation',
  'getMortgageCancellation',
  'health',
] as const;
export type NrbOperation = (typeof nrbOperations)[number];

/** Which operation a request addresses, by method and path; null for anything else. */
export function operationOfRequest(method: string, pathname: string): NrbOperation | null {
  if (method === 'POST' && pathname === NRB_TOKEN_PATH) return 'issueToken';
  if (method === 'POST' && pathname === NRB_PATHS.certificateQueries) return 'createCertificateQuery';
  if (method === 'GET' && /^\/api\/v1\/jobs\/[^/]+$/.test(pathname)) return 'getQueryJob';
  if (method === 'GET' && /^\/api\/v1\/jobs\/[^/]+\/results$/.test(pathname)) return 'getQueryResults';
  if (method === 'GET' && /^\/api\/v1\/certificates\/[^/]+\/document$/.test(pathname)) return 'getCertificateDocument';
  if (method === 'POST' && pathname === NRB_PATHS.transferRegistrations) return 'submitTransferRegistration';
  if (method === 'GET' && /^\/api\/v1\/transfer-registrations\/[^/]+$/.test(pathname)) return 'getTransferRegistration';
  if (method === 'POST' && pathname === NRB_PATHS.mortgageCancellations) return 'submitMortgageCancellation';
  if (method === 'GET' && /^\/api\/v1\/mortgage-cancellations\/[^/]+$/.test(pathname)) return 'getMortgageCancellation';
  if (method === 'GET' && pathname === NRB_PATHS.health) return 'health';
  return null;
}

/**
 * Error codes, in `{code, message}` answers and in a failed job's `error.code`. The thousands
 * digit follows HTTP: 4xxx our request or a business refusal, 5xxx the registry failed.
 */
export const nrbCodes = {
  invalidRequest: 'BDC-4000',
  invalidCriteria: 'BDC-4001',
  unauthorised: 'BDC-4010',
  jobNotFound: 'BDC-4040',
  applicationNotFound: 'BDC-4041',
  certificateNotFound: 'BDC-4042',
  idempotencyConflict: 'BDC-4090',
  jobNotSucceeded: 'BDC-4091',
  businessRefused: 'BDC-4220',
  propertySealed: 'BDC-4221',
  queryRefused: 'BDC-4222',
  certificateNoUnknown: 'BDC-4223',
  applicantNotHolder: 'BDC-4224',
  documentUnavailable: 'BDC-4225',
  certificateCancelled: 'BDC-4226',
  noMortgage: 'BDC-4227',
  internal: 'BDC-5000',
  queryFailed: 'BDC-5001',
  busy: 'BDC-5030',
  queryTimedOut: 'BDC-5040',
} as const;

export const nrbMessages: Readonly<Record<string, string>> = {
  'BDC-4000': '请求参数错误',
  'BDC-4001': '查询条件不合法',
  'BDC-4010': '访问令牌无效或已过期',
  'BDC-4040': '查询任务不存在',
  'BDC-4041': '登记申请不存在',
  'BDC-4042': '不动产权证书不存在',
  'BDC-4090': '幂等键已用于另一笔申请',
  'BDC-4091': '查询任务尚未完成',
  'BDC-4220': '业务系统拒绝办理该请求',
  'BDC-4221': '该不动产已被查封，不予办理转移登记',
  'BDC-4222': '该权利人信息受限，不予查询',
  'BDC-4223': '不动产权证号不存在',
  'BDC-4224': '申请人不是该不动产的权利人',
  'BDC-4225': '电子证照暂不可提供',
  'BDC-4226': '该不动产权证书已注销',
  'BDC-4227': '该不动产无抵押登记，不予办理抵押权注销登记',
  'BDC-5000': '系统内部错误',
  'BDC-5001': '查询执行失败',
  'BDC-5030': '系统繁忙，请稍后再试',
  'BDC-5040': '查询执行超时',
};

/** What an error code means for the gateway. */
export type CodeMeaning = 'rejected' | 'business_error' | 'unavailable';

/** Answers that contradict what the registry itself said a moment ago: it lost state. */
const inconsistentCodes = new Set<string>([
  nrbCodes.jobNotFound,
  nrbCodes.certificateNotFound,
  nrbCodes.jobNotSucceeded,
]);

/**
 * 5xxx: the registry failed → `unavailable`, and so did it when it no longer knows the job or the
 * certificate it just named to us (4040, 4042, 4091); 4000/4001 (invalid request or criteria)
 * and 4010 (token) → `rejected`, our request is wrong; every other 4xxx is the registry saying
 * no → `business_error`.
 */
export function meaningOfCode(code: string): CodeMeaning {
  if (/^BDC-5\d{3}$/.test(code) || inconsistentCodes.has(code)) return 'unavailable';
  if (code === nrbCodes.invalidRequest || code === nrbCodes.invalidCriteria || code === nrbCodes.unauthorised)
    return 'rejected';
  return 'business_error';
}

// The record shapes come from the published contract (openapi-typescript output), so the adapter
// and the simulator cannot drift from what the contract promises.
type Schemas = components['schemas'];

export type TokenWireResponse = Schemas['TokenResponse'];
export type OAuthWireError = Schemas['OAuthError'];
export type NrbWireError = Schemas['Error'];
export type IdType = Schemas['IdType'];
export type CertificateQueryWireRequest = Schemas['CertificateQueryRequest'];
export type QueryJobWire = Schemas['QueryJob'];
export type QueryJobState = QueryJobWire['status'];
export type ResultPageWire = Schemas['ResultPage'];
export type CertificateRecordWire = Schemas['CertificateRecord'];
export type RightHolderWire = Schemas['RightHolder'];
export type RestrictionWire = Schemas['Restriction'];
export type CertificateDocumentWire = Schemas['CertificateDocument'];
export type PartyWire = Schemas['Party'];
export type TransferRegistrationWireRequest =
  operations['submitTransferRegistration']['requestBody']['content']['application/json'];
export type TransferReceiptWire = Schemas['TransferReceipt'];
export type TransferStatusWire = Schemas['TransferStatus'];
export type MortgageCancellationWireRequest =
  operations['submitMortgageCancellation']['requestBody']['content']['application/json'];
export type MortgageCancellationReceiptWire = Schemas['MortgageCancellationReceipt'];
export type MortgageCancellationStatusWire = Schemas['MortgageCancellationStatus'];
export type ApplicationStatus = Schemas['ApplicationStatus'];
export type HealthWire = operations['health']['responses'][200]['content']['application/json'];

/** 办理状态 names, as the registry shows them. */
export const applicationStatusNames: Readonly<Record<ApplicationStatus, string>> = {
  RECEIVED: '已受理',
  UNDER_REVIEW: '审核中',
  SUPPLEMENT_REQUIRED: '待补正',
  REGISTERED: '已登簿',
  REJECTED: '不予登记',
};

/** Application numbers: 转移登记 `ZY…`, 抵押权注销登记 `ZX…` (the kind of application is told by the prefix). */
export const APPLICATION_PREFIX = { transfer: 'ZY', mortgageCancellation: 'ZX' } as const;

/** 注销原因 in the registry's words, by the gateway form's code. */
export const cancellationReasonNames: Readonly<Record<string, string>> = {
  debt_repaid: '主债权消灭',
  mortgagee_waiver: '抵押权人放弃抵押权',
  realised: '抵押权已经实现',
  other: '其他',
};

/** The idempotency header of a registration submission (transfer or mortgage cancellation). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * HTTP Basic credentials of an OAuth client (RFC 6749 §2.3.1): id and secret are
 * form-urlencoded first, so a `:` in either survives.
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`, 'utf8').toString('base64')}`;
}

/** The client id and secret of a Basic `Authorization` header, or null when it is not one. */
export function parseBasicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const decode = (value: string) => new URLSearchParams(`v=${value}`).get('v') ?? '';
  return { clientId: decode(decoded.slice(0, colon)), clientSecret: decode(decoded.slice(colon + 1)) };
}
