/**
 * The wire protocol of the Public Security population registry (公安人口信息共享接口), shared by the
 * adapter and the simulator: paths, result codes, the record shapes with their pinyin-abbreviated
 * field names, and the request signature.
 *
 * Signature: every request carries `x-app-key`, `x-timestamp` (ms since epoch), `x-nonce` (random,
 * at least 16 characters) and `x-signature`, the lower-case hex HMAC-SHA256 with the app secret over
 *
 *     METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n SHA256HEX(body)
 *
 * where PATH?QUERY is the request target exactly as sent (no `?` without a query) and the body hash
 * is over the raw body bytes (the hash of the empty string for a GET).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { components, operations } from '../../contracts/psb/psb.population.types.js';

export const PSB_PATHS = {
  verifyIdentity: '/api/v1/rkxx/hc',
  residentIdCard: '/api/v1/zzxx/jmsfz',
  householdRegister: '/api/v1/zzxx/hjb',
  /** 户籍业务 · 户口迁入: receives a household move-in application. */
  householdMoveIn: '/api/v1/hjyw/hkqr',
  /** 户籍业务 · 办理状态: the status of an application, `?slbh=`. */
  applicationStatus: '/api/v1/hjyw/blzt',
  /** 户籍业务 · 撤回申请 (since 1.2.0): withdraws an application not yet concluded. */
  withdrawApplication: '/api/v1/hjyw/chsq',
  health: '/api/v1/health',
} as const;

/** The contract's operationIds, also the simulator's operation names. */
export type PsbOperation =
  | 'verifyIdentity'
  | 'getResidentIdCertificate'
  | 'getHouseholdRegister'
  | 'submitHouseholdMoveIn'
  | 'getApplicationStatus'
  | 'withdrawApplication'
  | 'health';

/**
 * Result codes (`code` in every answer; HTTP status is 200 whatever the outcome).
 *  - 0000 success;
 *  - 1xxx the request was not accepted: its signature, time stamp, nonce or app key;
 *  - 2xxx no record: 2001 no such person, 2002 the person has no household-register record,
 *    2003 no application with this 受理编号;
 *  - 3001 request parameters invalid;
 *  - 4xxx business refusals (4000 the request could not be processed, 4001 the record is
 *    restricted and may not be shared, 4002 the applicant's name does not match the number,
 *    4003 a household migration of the applicant is in progress, 4004 a purchase move-in without
 *    a property certificate number, 4005 the 业务流水号 was used before for another application);
 *  - 9999 the registry is busy or failed.
 */
export const psbCodes = {
  success: '0000',
  signatureInvalid: '1001',
  timestampStale: '1002',
  nonceReplayed: '1003',
  appKeyUnknown: '1004',
  personNotFound: '2001',
  householdNotFound: '2002',
  applicationNotFound: '2003',
  parameterInvalid: '3001',
  businessFailure: '4000',
  recordRestricted: '4001',
  applicantMismatch: '4002',
  migrationInProgress: '4003',
  propertyCertificateRequired: '4004',
  serialNumberConflict: '4005',
  applicationConcluded: '4006',
  systemBusy: '9999',
} as const;

export const psbMessages: Readonly<Record<string, string>> = {
  '0000': '成功',
  '1001': '签名无效',
  '1002': '时间戳超出有效范围',
  '1003': '请求重复（nonce 已使用）',
  '1004': '应用标识无效',
  '2001': '查无此人',
  '2002': '无户籍登记信息',
  '2003': '查无此受理编号',
  '3001': '请求参数错误',
  '4000': '业务处理失败',
  '4001': '该人员信息受限，暂不提供共享',
  '4002': '申请人姓名与公民身份号码不符',
  '4003': '申请人有在办的户籍迁移业务',
  '4004': '购房迁入须提供不动产权证号',
  '4005': '业务流水号已用于内容不同的申请',
  '4006': '该申请已办结，不能撤回',
  '9999': '系统繁忙，请稍后再试',
};

export interface PsbEnvelope<Data> {
  code: string;
  msg: string;
  data: Data | null;
}

// The record shapes come from the published contract (openapi-typescript output), so the adapter
// and the simulator cannot drift from what the contract promises.
type Schemas = components['schemas'];
/** The `0000` answer of an operation (the 200 answer minus the failure envelope). */
type SuccessAnswer<Operation extends keyof operations> = Exclude<
  operations[Operation]['responses'][200]['content']['application/json'],
  Schemas['Failure']
>;

/** `POST /api/v1/rkxx/hc` (人口信息核查) body. */
export type VerifyIdentityWireRequest = operations['verifyIdentity']['requestBody']['content']['application/json'];

/** `data` of a verification answer: `pp` (匹配) is `1` when the name matches the number, `0` when not. */
export type VerifyIdentityWireResult = SuccessAnswer<'verifyIdentity'>['data'];

/** The person fields both certificates carry (xm 姓名, sfzh, xb 1 男 2 女, mz GB/T 3304, csrq yyyyMMdd, zz 住址). */
export type PersonWireFields = Schemas['Person'];

/** Certificate fields common to both documents (zjhm, qfjg, yxqxq, yxqjzrq or 长期, zjzt 1 有效 2 作废, wjlx, wjnr base64). */
export type CertificateWireFields = Schemas['CertificateFields'];

/** `data` of `GET /api/v1/zzxx/jmsfz` (居民身份证电子证照). */
export type ResidentIdCardWire = SuccessAnswer<'getResidentIdCertificate'>['data'];

/** `data` of `GET /api/v1/zzxx/hjb` (常住人口登记表 / 户籍证明): also hh 户号, hzxm 户主姓名, yhzgx 与户主关系, hb 户别. */
export type HouseholdRegisterWire = SuccessAnswer<'getHouseholdRegister'>['data'];

/** `data` of `GET /api/v1/health`. */
export type HealthWire = SuccessAnswer<'health'>['data'];

/**
 * `POST /api/v1/hjyw/hkqr` (户口迁入申请) body: ywlsh 业务流水号 (idempotency key), ajbh 案件编号,
 * sxbm 事项编码, sqr 申请人 {xm, sfzh}, qrlx 迁入类型, qrdz 迁入地址, qcdz 迁出地址, bdcqzh 不动产权证号,
 * sqry 随迁人员, clxx 材料信息 by digest, bdsj 表单数据.
 */
export type MoveInApplicationWire = Schemas['MoveInApplication'];

/** One material of an application, referenced by digest: cllx 材料类型, sha256, mtlx 媒体类型, dx 字节数. */
export type MaterialWire = MoveInApplicationWire['clxx'][number];

/** `data` of an acceptance: slbh 受理编号, ywlsh echoed, cfbz 重复标志 1/0, blzt, slsj 受理时间. */
export type ApplicationReceiptWire = SuccessAnswer<'submitHouseholdMoveIn'>['data'];

/** `data` of `GET /api/v1/hjyw/blzt`: slbh, blzt, blztmc, gxsj 更新时间, bz 备注. */
export type ApplicationStatusWire = SuccessAnswer<'getApplicationStatus'>['data'];

/** `POST /api/v1/hjyw/chsq` (撤回申请) body: slbh, cxyy 撤回原因. */
export type WithdrawalWireRequest = operations['withdrawApplication']['requestBody']['content']['application/json'];

/** `data` of a withdrawal: slbh, blzt 06, cxsj 撤回时间. */
export type WithdrawalReceiptWire = SuccessAnswer<'withdrawApplication'>['data'];

/** 办理状态 codes. */
export type ApplicationStatusCode = Schemas['ApplicationStatusCode'];

export const applicationStatusCodes = {
  received: '01',
  inProgress: '02',
  awaitingApplicant: '03',
  completed: '04',
  rejected: '05',
  withdrawn: '06',
} as const satisfies Record<string, ApplicationStatusCode>;

/** 办理状态名称, as `blztmc` carries them. */
export const applicationStatusNames: Readonly<Record<ApplicationStatusCode, string>> = {
  '01': '受理',
  '02': '办理中',
  '03': '待补正',
  '04': '办结',
  '05': '不予受理',
  '06': '已撤回',
};

/** 办结, 不予受理 and 已撤回 end an application; its status never changes after them. */
export function isFinalApplicationStatus(code: ApplicationStatusCode): boolean {
  return (
    code === applicationStatusCodes.completed ||
    code === applicationStatusCodes.rejected ||
    code === applicationStatusCodes.withdrawn
  );
}

/** 迁入类型 codes. */
export type MoveInTypeCode = MoveInApplicationWire['qrlx'];

export const moveInTypeCodes = {
  purchase: '01',
  relatives: '02',
  employment: '03',
  education: '04',
  other: '09',
} as const satisfies Record<string, MoveInTypeCode>;

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `yyyyMMddHHmmss` in Beijing time, the registry's time-stamp format in application records. */
export function compactBeijingTimestamp(instantMs: number): string {
  return new Date(instantMs + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** Lower-case hex SHA-256 of the body bytes. */
export function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface SignatureInput {
  method: string;
  /** The request target: path and query exactly as sent. */
  target: string;
  timestamp: string;
  nonce: string;
  body: Uint8Array;
}

export function canonicalString(input: SignatureInput): string {
  return [input.method.toUpperCase(), input.target, input.timestamp, input.nonce, sha256Hex(input.body)].join('\n');
}

/** Lower-case hex HMAC-SHA256 of the canonical string. */
export function computeSignature(appSecret: string, input: SignatureInput): string {
  return createHmac('sha256', appSecret).update(canonicalString(input), 'utf8').digest('hex');
}

/** Compares a presented hex signature with the expected one in constant time. */
export function signatureMatches(expectedHex: string, presented: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(presented)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(presented, 'hex'));
}

export const NONCE_MIN_LENGTH = 16;

/** A fresh nonce: 16 random bytes as 32 hex characters. */
export function freshNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The four signature headers for one request (fresh time stamp and nonce each call). */
export function signatureHeaders(
  credentials: { appKey: string; appSecret: string },
  request: { method: string; target: string; body: Uint8Array },
  nowMs: number,
): Record<string, string> {
  const timestamp = String(nowMs);
  const nonce = freshNonce();
  return {
    'x-app-key': credentials.appKey,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-signature': computeSignature(credentials.appSecret, { ...request, timestamp, nonce }),
  };
}
