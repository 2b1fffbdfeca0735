/**
 * A simulator of the NRB real-estate registry: a real HTTP server on loopback (the SDK's simulator
 * kit) speaking the registry's protocol — OAuth 2.0 client credentials with expiring tokens, the
 * asynchronous certificate query (202, a job that takes a configurable number of polls, paged
 * results), certificate documents, idempotent transfer-registration and mortgage-cancellation
 * submissions (抵押权注销登记, contract 1.1.0) and their status.
 *
 * Protocol-shaped faults, per operation (the kit applies the generic ones):
 *
 * | operation | business_error | wrong_subject |
 * |---|---|---|
 * | issueToken | 400 `unauthorized_client` | a token issued to another client (API calls with it get 401) |
 * | createCertificateQuery | 422 `BDC-4222` | the job queries another holder |
 * | getQueryJob | the job `FAILED` with `BDC-4222` | another job's state |
 * | getQueryResults | 422 `BDC-4222` | another holder's certificates |
 * | getCertificateDocument | 422 `BDC-4225` | another certificate's document |
 * | submitTransferRegistration | 422 `BDC-4220` | the receipt names another idempotency key |
 * | getTransferRegistration | 422 `BDC-4220` | another application's status |
 * | submitMortgageCancellation | 422 `BDC-4220` | the receipt names another idempotency key |
 * | getMortgageCancellation | 422 `BDC-4220` | another application's status |
 * | health | 200 with `status: DOWN` (the contract has no refusal here) | (no subject: answered normally) |
 *
 * `malformed` cuts every answer short (its status kept), `oversized` pads a valid answer past 9 MiB.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorDefinition,
  type SimulatorRequest,
  type StartSimulatorOptions,
} from '@onewindow/adapter-sdk';
import { certificateDocument } from './documents.js';
import {
  applicationStatusNames,
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY,
  nrbCodes,
  nrbMessages,
  operationOfRequest,
  parseBasicCredentials,
  type ApplicationStatus,
  type CertificateDocumentWire,
  type CertificateRecordWire,
  APPLICATION_PREFIX,
  type IdType,
  type MortgageCancellationReceiptWire,
  type MortgageCancellationStatusWire,
  type NrbOperation,
  type NrbWireError,
  type QueryJobWire,
  type ResultPageWire,
  type TokenWireResponse,
  type TransferReceiptWire,
  type TransferStatusWire,
} from './protocol.js';
import { seededCertificates } from './seed.js';

/** The credentials the demo configuration uses. */
export const NRB_DEMO_CLIENT_ID = 'onewindow';
export const NRB_DEMO_CLIENT_SECRET = 'nrb-demo-secret';
/** Suggested port for the simulator beside the demo gateway. */
export const NRB_SIMULATOR_DEFAULT_PORT = 7103;

export interface NrbSimulatorOptions {
  /** OAuth clients the registry knows. Default: the demo pair. */
  clients?: readonly { clientId: string; clientSecret: string }[];
  /** Lifetime of an access token (`expires_in`). Default 300 s. */
  tokenLifetimeSeconds?: number;
  /** Polls of `GET /api/v1/jobs/{id}` until a query job is finished (this poll included). Default 2. */
  jobPolls?: number;
  /** Time a transfer registration takes per status step (受理 → 审核中 → 已登簿). Default 60 s. */
  statusStepMs?: number;
  /** The registry's certificates. Default: `seededCertificates`. */
  certificates?: readonly CertificateRecordWire[];
  /** The registry's clock, ms since epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * Test hook: rewrites every answer body (after faults) before it is sent, e.g. to break the
   * contract with a field of the wrong type. Not used by the demo.
   */
  rewriteAnswer?: (operation: NrbOperation, status: number, body: unknown) => unknown;
}

export interface JobFailure {
  code: string;
  message?: string;
}

/** In-process controls (also reachable over HTTP under `/__nrb/`, for the demo). */
export interface NrbSimulatorControl {
  /** Every query job created from now on fails with this error, until `null`. */
  failJobs(failure: JobFailure | null): void;
  /** Forgets every issued token: the next API call with any of them gets 401. */
  revokeTokens(): void;
  /** Pins an application's status; false when the application is unknown. */
  setApplicationStatus(applicationNo: string, status: ApplicationStatus, remark?: string): boolean;
  /** Every application received (first deliveries only), with the parties as the request named them. */
  applications(): NrbApplicationSummary[];
}

export interface NrbApplicationSummary {
  applicationNo: string;
  kind: ApplicationKind;
  certificateNo: string;
  applicant: { name: string; idType: IdType; idNumber: string };
  /** A transfer's buyer (受让人), when the request named one. */
  transferee?: { name: string; idType: IdType; idNumber: string };
}

export type RunningNrbSimulator = RunningSimulator & NrbSimulatorControl;

const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;
/** Live tokens and jobs kept at most; the oldest are forgotten first. */
const MAX_TOKENS = 10_000;
const MAX_JOBS = 10_000;
const MAX_PAGE_SIZE = 100;
const CONTROL_PREFIX = '/__nrb/';
const CST_OFFSET_MS = 8 * 60 * 60 * 1000;
const ID_PATTERNS: Readonly<Record<IdType, RegExp>> = {
  ID_CARD: /^\d{17}[\dX]$/,
  USCC: /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/,
};
/** The client a `wrong_subject` token is issued to: it exists, but may not call the API. */
const FOREIGN_CLIENT = 'another-department-client';

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface IssuedToken {
  clientId: string;
  expiresAtMs: number;
}

interface QueryJob {
  jobId: string;
  clientId: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** Whom the job queries (another holder under `wrong_subject`). */
  subject: { idType: IdType; idNumber: string };
  polls: number;
  failure: JobFailure | null;
  done: boolean;
  results: readonly CertificateRecordWire[];
}

/** 转移登记 or 抵押权注销登记: each has its own endpoints and application numbers (`ZY…`, `ZX…`). */
type ApplicationKind = 'transfer' | 'mortgageCancellation';

interface Application {
  kind: ApplicationKind;
  applicationNo: string;
  idempotencyKey: string;
  fingerprint: string;
  receivedAtMs: number;
  pinned?: { status: ApplicationStatus; remark?: string; atMs: number };
  /** What `applications()` reports of it. */
  summary: NrbApplicationSummary;
}

/** ISO 8601 in China Standard Time, e.g. `2026-03-02T10:00:00+08:00`. */
export function registryTimestamp(ms: number): string {
  return `${new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

function error(status: number, code: string, message = nrbMessages[code] ?? '未知错误'): Answer {
  const body: NrbWireError = { code, message };
  return { status, body };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown, max = 200): value is string {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max;
}

function isParty(value: unknown): value is { name: string; idType: IdType; idNumber: string } {
  if (!isObject(value) || !nonEmpty(value['name'])) return false;
  const { idType, idNumber } = value;
  return (
    (idType === 'ID_CARD' || idType === 'USCC') && typeof idNumber === 'string' && ID_PATTERNS[idType].test(idNumber)
  );
}

/** Keys sorted at every level, so the fingerprint of a body does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function headerOf(request: SimulatorRequest['request'], name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function rememberBounded<Value>(map: Map<string, Value>, key: string, value: Value, capacity: number): void {
  if (map.size >= capacity) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

function parseJsonBody(simulated: SimulatorRequest): unknown {
  if (!/^\s*application\/json\s*(;|$)/i.test(headerOf(simulated.request, 'content-type') ?? '')) return undefined;
  try {
    return JSON.parse(simulated.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function createNrbRealEstateSimulator(options: NrbSimulatorOptions = {}): {
  definition: SimulatorDefinition;
  control: NrbSimulatorControl;
} {
  const clients = new Map(
    (options.clients ?? [{ clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET }]).map((client) => [
      client.clientId,
      client.clientSecret,
    ]),
  );
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 300;
  const jobPolls = Math.max(1, options.jobPolls ?? 2);
  const stepMs = options.statusStepMs ?? 60_000;
  const certificates = options.certificates ?? seededCertificates;
  const now = options.now ?? Date.now;

  const tokens = new Map<string, IssuedToken>();
  const jobs = new Map<string, QueryJob>();
  const applicationsByKey = new Map<string, Application>();
  const applicationsByNumber = new Map<string, Application>();
  let jobFailure: JobFailure | null = null;
  let applicationSequence = 0;

  function holdersCertificates(idType: IdType, idNumber: string): CertificateRecordWire[] {
    return certificates.filter((record) =>
      record.rightHolders.some((holder) => holder.idType === idType && holder.idNumber === idNumber),
    );
  }

  /** A holder with certificates other than `idNumber` (for `wrong_subject`). */
  function anotherHolder(idNumber: string): { idType: IdType; idNumber: string } {
    for (const record of certificates) {
      const holder = record.rightHolders.find((candidate) => candidate.idNumber !== idNumber);
      if (holder && !record.rightHolders.some((candidate) => candidate.idNumber === idNumber)) return holder;
    }
    throw new Error('the seed needs certificates of at least two holders');
  }

  // ---- OAuth 2.0 token endpoint ----

  function oauthError(status: 400 | 401, code: string, description: string): Answer {
    return {
      status,
      body: { error: code, error_description: description },
      headers: { 'cache-control': 'no-store', ...(status === 401 ? { 'www-authenticate': 'Basic realm="nrb"' } : {}) },
    };
  }

  function issueTokenFor(clientId: string): Answer {
    const nowMs = now();
    if (tokens.size >= MAX_TOKENS) {
      for (const [token, issued] of tokens) if (issued.expiresAtMs <= nowMs) tokens.delete(token);
    }
    const accessToken = `nrb_${randomBytes(24).toString('base64url')}`;
    rememberBounded(tokens, accessToken, { clientId, expiresAtMs: nowMs + tokenLifetimeSeconds * 1000 }, MAX_TOKENS);
    const body: TokenWireResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: tokenLifetimeSeconds,
    };
    return { status: 200, body, headers: { 'cache-control': 'no-store', pragma: 'no-cache' } };
  }

  function issueToken(simulated: SimulatorRequest): Answer {
    if (!/^\s*application\/x-www-form-urlencoded\s*(;|$)/i.test(headerOf(simulated.request, 'content-type') ?? '')) {
      return oauthError(400, 'invalid_request', 'the token request must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(simulated.body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials')
      return oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
    const basic = parseBasicCredentials(headerOf(simulated.request, 'authorization'));
    const inBody = form.has('client_id') || form.has('client_secret');
    // RFC 6749 §2.3: one authentication method per request.
    if (basic && inBody)
      return oauthError(400, 'invalid_request', 'client credentials sent both in the header and in the body');
    const clientId = basic?.clientId ?? form.get('client_id') ?? '';
    const clientSecret = basic?.clientSecret ?? form.get('client_secret') ?? '';
    const expected = clients.get(clientId);
    if (expected === undefined || !sameSecret(clientSecret, expected))
      return oauthError(401, 'invalid_client', 'unknown client or wrong secret');
    if (simulated.fault === 'business_error')
      return oauthError(400, 'unauthorized_client', '该应用未获授权调用不动产登记接口');
    return issueTokenFor(simulated.fault === 'wrong_subject' ? FOREIGN_CLIENT : clientId);
  }

  /** The client a bearer token belongs to, or null when the token is missing, unknown, expired or foreign. */
  function authenticate(simulated: SimulatorRequest): string | null {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(headerOf(simulated.request, 'authorization') ?? '');
    const issued = match?.[1] === undefined ? undefined : tokens.get(match[1]);
    if (!issued || issued.expiresAtMs <= now() || !clients.has(issued.clientId)) return null;
    return issued.clientId;
  }

  // ---- certificate queries ----

  function jobWire(job: QueryJob): QueryJobWire {
    const base = {
      jobId: job.jobId,
      createdAt: registryTimestamp(job.createdAtMs),
      updatedAt: registryTimestamp(job.updatedAtMs),
    };
    if (!job.done) return { ...base, status: job.polls <= 1 ? 'PENDING' : 'RUNNING' };
    if (job.failure)
      return {
        ...base,
        status: 'FAILED',
        error: { code: job.failure.code, message: job.failure.message ?? nrbMessages[job.failure.code] ?? '查询失败' },
      };
    return { ...base, status: 'SUCCEEDED', totalCount: job.results.length };
  }

  function createCertificateQuery(simulated: SimulatorRequest, clientId: string): Answer {
    const query = parseJsonBody(simulated);
    if (!isObject(query)) return error(400, nrbCodes.invalidRequest);
    const holder: unknown = { name: query['holderName'], idType: query['idType'], idNumber: query['idNumber'] };
    if (!isParty(holder)) return error(400, nrbCodes.invalidRequest);
    if (simulated.fault === 'business_error') return error(422, nrbCodes.queryRefused);
    const requested = { idType: holder.idType, idNumber: holder.idNumber };
    const subject = simulated.fault === 'wrong_subject' ? anotherHolder(requested.idNumber) : requested;
    const nowMs = now();
    const job: QueryJob = {
      jobId: `job_${randomBytes(10).toString('hex')}`,
      clientId,
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
      subject,
      polls: 0,
      failure: jobFailure,
      done: false,
      results: holdersCertificates(subject.idType, subject.idNumber),
    };
    rememberBounded(jobs, job.jobId, job, MAX_JOBS);
    return { status: 202, body: jobWire(job), headers: { location: `/api/v1/jobs/${job.jobId}` } };
  }

  /** The job named in the path, visible to its own client only. */
  function jobOf(simulated: SimulatorRequest, clientId: string): QueryJob | null {
    const jobId = decodeURIComponent(simulated.url.pathname.split('/')[4] ?? '');
    const job = jobs.get(jobId);
    return job && job.clientId === clientId ? job : null;
  }

  function getQueryJob(simulated: SimulatorRequest, clientId: string): Answer {
    const job = jobOf(simulated, clientId);
    if (!job) return error(404, nrbCodes.jobNotFound);
    if (!job.done) {
      job.polls += 1;
      if (job.polls >= jobPolls) {
        job.done = true;
        job.updatedAtMs = now();
      } else if (job.polls === 2) job.updatedAtMs = now();
    }
    if (simulated.fault === 'business_error') {
      return {
        status: 200,
        body: {
          ...jobWire(job),
          status: 'FAILED',
          error: { code: nrbCodes.queryRefused, message: nrbMessages[nrbCodes.queryRefused] },
        },
      };
    }
    if (simulated.fault === 'wrong_subject')
      return { status: 200, body: { ...jobWire(job), jobId: `job_${randomBytes(10).toString('hex')}` } };
    return { status: 200, body: jobWire(job) };
  }

  function pageNumber(value: string | null, fallback: number): number {
    if (value === null) return fallback;
    return /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  }

  function getQueryResults(simulated: SimulatorRequest, clientId: string): Answer {
    const job = jobOf(simulated, clientId);
    if (!job) return error(404, nrbCodes.jobNotFound);
    if (!job.done || job.failure) return error(409, nrbCodes.jobNotSucceeded);
    const page = pageNumber(simulated.url.searchParams.get('page'), 1);
    const pageSize = pageNumber(simulated.url.searchParams.get('pageSize'), 20);
    if (!(page >= 1) || !(pageSize >= 1 && pageSize <= MAX_PAGE_SIZE))
      return error(400, nrbCodes.invalidRequest, '分页参数错误');
    if (simulated.fault === 'business_error') return error(422, nrbCodes.queryRefused);
    const stranger = simulated.fault === 'wrong_subject' ? anotherHolder(job.subject.idNumber) : null;
    const results = stranger ? holdersCertificates(stranger.idType, stranger.idNumber) : job.results;
    const body: ResultPageWire = {
      jobId: job.jobId,
      page,
      pageSize,
      totalCount: results.length,
      totalPages: Math.ceil(results.length / pageSize),
      items: results.slice((page - 1) * pageSize, page * pageSize),
    };
    return { status: 200, body };
  }

  function getCertificateDocument(simulated: SimulatorRequest): Answer {
    const certificateId = decodeURIComponent(simulated.url.pathname.split('/')[4] ?? '');
    const found = certificates.find((record) => record.certificateId === certificateId);
    if (!found) return error(404, nrbCodes.certificateNotFound);
    if (simulated.fault === 'business_error') return error(422, nrbCodes.documentUnavailable);
    const record =
      simulated.fault === 'wrong_subject'
        ? (certificates.find((other) => other.certificateId !== certificateId) ?? found)
        : found;
    const pdf = Buffer.from(certificateDocument(record));
    const body: CertificateDocumentWire = {
      certificateId: record.certificateId,
      certificateNo: record.certificateNo,
      fileName: `${record.certificateId}.pdf`,
      mediaType: 'application/pdf',
      fileContent: pdf.toString('base64'),
      sha256: createHash('sha256').update(pdf).digest('hex'),
    };
    return { status: 200, body };
  }

  // ---- transfer registrations ----

  function statusOf(application: Application): { status: ApplicationStatus; remark?: string; atMs: number } {
    if (application.pinned) return application.pinned;
    const steps = Math.floor((now() - application.receivedAtMs) / stepMs);
    if (steps <= 0) return { status: 'RECEIVED', atMs: application.receivedAtMs };
    if (steps === 1) return { status: 'UNDER_REVIEW', atMs: application.receivedAtMs + stepMs };
    const remark = application.kind === 'transfer' ? '已登簿，新证书已缮证' : '已登簿，抵押权已注销';
    return { status: 'REGISTERED', remark, atMs: application.receivedAtMs + 2 * stepMs };
  }

  function receiptOf(
    application: Application,
    duplicate: boolean,
    echoedKey: string,
  ): TransferReceiptWire & MortgageCancellationReceiptWire {
    return {
      applicationNo: application.applicationNo,
      idempotencyKey: echoedKey,
      duplicate,
      status: statusOf(application).status,
      receivedAt: registryTimestamp(application.receivedAtMs),
    };
  }

  function isTransferRequest(
    body: unknown,
  ): body is Record<string, unknown> & { applicant: { idNumber: string }; certificateNo: string } {
    if (!isObject(body)) return false;
    if (!nonEmpty(body['caseNumber'], 64) || !nonEmpty(body['itemCode'], 64) || !nonEmpty(body['certificateNo'], 100))
      return false;
    if (!isParty(body['applicant']) || (body['transferee'] !== undefined && !isParty(body['transferee']))) return false;
    if (!isObject(body['formData']) || !Array.isArray(body['materials'])) return false;
    return body['materials'].every(
      (material) =>
        isObject(material) &&
        nonEmpty(material['typeCode']) &&
        typeof material['sha256'] === 'string' &&
        /^[0-9a-f]{64}$/.test(material['sha256']),
    );
  }

  function isMortgageCancellationRequest(
    body: unknown,
  ): body is Record<string, unknown> & { applicant: { idNumber: string }; certificateNo: string; mortgagee?: string } {
    if (!isObject(body)) return false;
    if (
      !nonEmpty(body['caseNumber'], 64) ||
      !nonEmpty(body['itemCode'], 64) ||
      !nonEmpty(body['certificateNo'], 100) ||
      !isParty(body['applicant'])
    )
      return false;
    if (body['mortgagee'] !== undefined && !nonEmpty(body['mortgagee'])) return false;
    if (
      body['cancellationReason'] !== undefined &&
      (typeof body['cancellationReason'] !== 'string' || body['cancellationReason'].length > 100)
    )
      return false;
    if (!isObject(body['formData']) || !Array.isArray(body['materials'])) return false;
    return body['materials'].every(
      (material) =>
        isObject(material) &&
        nonEmpty(material['typeCode']) &&
        typeof material['sha256'] === 'string' &&
        /^[0-9a-f]{64}$/.test(material['sha256']),
    );
  }

  /**
   * One registration submission, deduplicated by its Idempotency-Key across both kinds: a repeat
   * with the same body answers the first receipt (200, duplicate), another body 409 BDC-4090.
   * `refusal` is the kind's business check of a first delivery (null: accepted).
   */
  function submitApplication<Body extends { certificateNo: string }>(
    simulated: SimulatorRequest,
    kind: ApplicationKind,
    valid: (body: unknown) => body is Body,
    refusal: (body: Body, certificate: CertificateRecordWire) => Answer | null,
  ): Answer {
    const key = headerOf(simulated.request, IDEMPOTENCY_HEADER);
    if (key === undefined || !IDEMPOTENCY_KEY.test(key))
      return error(400, nrbCodes.invalidRequest, '缺少或无效的 Idempotency-Key');
    const body = parseJsonBody(simulated);
    if (!valid(body)) return error(400, nrbCodes.invalidRequest);
    if (simulated.fault === 'business_error') return error(422, nrbCodes.businessRefused);
    const echoedKey = simulated.fault === 'wrong_subject' ? `${key}-other` : key;
    const fingerprint = createHash('sha256')
      .update(`${kind}:${canonical(body)}`)
      .digest('hex');
    const known = applicationsByKey.get(key);
    if (known) {
      if (known.fingerprint !== fingerprint) return error(409, nrbCodes.idempotencyConflict);
      return { status: 200, body: receiptOf(known, true, echoedKey) };
    }
    const certificate = certificates.find((record) => record.certificateNo === body.certificateNo.trim());
    if (!certificate) return error(422, nrbCodes.certificateNoUnknown);
    const refused = refusal(body, certificate);
    if (refused) return refused;
    applicationSequence += 1;
    const receivedAtMs = now();
    const day = registryTimestamp(receivedAtMs).slice(0, 10).replace(/-/g, '');
    const applicationNo = `${APPLICATION_PREFIX[kind]}${day}${String(applicationSequence % 1_000_000).padStart(6, '0')}`;
    const parties = body as unknown as { applicant: NrbApplicationSummary['applicant']; transferee?: unknown };
    const summary: NrbApplicationSummary = {
      applicationNo,
      kind,
      certificateNo: body.certificateNo.trim(),
      applicant: { ...parties.applicant },
      ...(isParty(parties.transferee) ? { transferee: { ...parties.transferee } } : {}),
    };
    const application: Application = { kind, applicationNo, idempotencyKey: key, fingerprint, receivedAtMs, summary };
    applicationsByKey.set(key, application);
    applicationsByNumber.set(application.applicationNo, application);
    return { status: 201, body: receiptOf(application, false, echoedKey) };
  }

  function submitTransferRegistration(simulated: SimulatorRequest): Answer {
    return submitApplication(simulated, 'transfer', isTransferRequest, (body, certificate) => {
      if (certificate.certificateStatus === 'CANCELLED') return error(422, nrbCodes.certificateCancelled);
      if (!certificate.rightHolders.some((holder) => holder.idNumber === body.applicant.idNumber))
        return error(422, nrbCodes.applicantNotHolder);
      if (certificate.restrictions.some((restriction) => restriction.type === 'SEAL'))
        return error(422, nrbCodes.propertySealed);
      // 预告登记: not disposed of without the pre-notice holder's consent (Civil Code art. 221). An
      // objection (异议登记) only warns the applicant at the registry, so it is not refused here.
      if (certificate.restrictions.some((restriction) => restriction.type === 'PRE_NOTICE'))
        return error(422, nrbCodes.businessRefused, '该不动产已办理预告登记，未经预告登记权利人同意，不予办理转移登记');
      return null;
    });
  }

  /** 抵押权注销登记: the mortgagor (a right holder) applies; the property must carry a mortgage, the mortgagee's when named. */
  function submitMortgageCancellation(simulated: SimulatorRequest): Answer {
    return submitApplication(simulated, 'mortgageCancellation', isMortgageCancellationRequest, (body, certificate) => {
      if (certificate.certificateStatus === 'CANCELLED') return error(422, nrbCodes.certificateCancelled);
      if (!certificate.rightHolders.some((holder) => holder.idNumber === body.applicant.idNumber))
        return error(422, nrbCodes.applicantNotHolder);
      const mortgages = certificate.restrictions.filter((restriction) => restriction.type === 'MORTGAGE');
      if (mortgages.length === 0) return error(422, nrbCodes.noMortgage);
      if (body.mortgagee !== undefined && !mortgages.some((mortgage) => mortgage.party === body.mortgagee?.trim())) {
        return error(422, nrbCodes.businessRefused, '抵押权人与登记簿记载不一致，不予办理抵押权注销登记');
      }
      return null;
    });
  }

  /** The status of an application of this kind; another kind's number is unknown here (404). */
  function getApplication(simulated: SimulatorRequest, kind: ApplicationKind): Answer {
    const applicationNo = decodeURIComponent(simulated.url.pathname.split('/')[4] ?? '');
    const application = applicationsByNumber.get(applicationNo);
    if (!application || application.kind !== kind) return error(404, nrbCodes.applicationNotFound);
    if (simulated.fault === 'business_error') return error(422, nrbCodes.businessRefused);
    const current = statusOf(application);
    const body: TransferStatusWire & MortgageCancellationStatusWire = {
      // Another application's number: the last digit turned over.
      applicationNo:
        simulated.fault === 'wrong_subject'
          ? `${applicationNo.slice(0, -1)}${(Number(applicationNo.slice(-1)) + 1) % 10}`
          : applicationNo,
      status: current.status,
      statusName: applicationStatusNames[current.status],
      updatedAt: registryTimestamp(current.atMs),
      ...(current.remark === undefined ? {} : { remark: current.remark }),
    };
    return { status: 200, body };
  }

  function getTransferRegistration(simulated: SimulatorRequest): Answer {
    return getApplication(simulated, 'transfer');
  }

  function getMortgageCancellation(simulated: SimulatorRequest): Answer {
    return getApplication(simulated, 'mortgageCancellation');
  }

  // ---- controls ----

  const control: NrbSimulatorControl = {
    failJobs(failure) {
      jobFailure = failure === null ? null : { ...failure };
    },
    revokeTokens() {
      tokens.clear();
    },
    setApplicationStatus(applicationNo, status, remark) {
      const application = applicationsByNumber.get(applicationNo);
      if (!application) return false;
      application.pinned = remark === undefined ? { status, atMs: now() } : { status, remark, atMs: now() };
      return true;
    },
    applications() {
      return [...applicationsByNumber.values()].map((application) => structuredClone(application.summary));
    },
  };

  function handleControl(simulated: SimulatorRequest): Answer {
    const { request, url } = simulated;
    let parsed: unknown;
    try {
      parsed = JSON.parse(simulated.body.toString('utf8') || 'null');
    } catch {
      return { status: 400, body: { error: 'the body is not JSON' } };
    }
    if (request.method !== 'POST') return { status: 404, body: { error: 'unknown control' } };
    if (url.pathname === '/__nrb/jobs/failure') {
      if (
        parsed !== null &&
        (!isObject(parsed) || typeof parsed['code'] !== 'string' || !/^BDC-\d{4}$/.test(parsed['code']))
      ) {
        return { status: 400, body: { error: 'body is null or {"code": "BDC-nnnn", "message"?: string}' } };
      }
      control.failJobs(
        parsed === null
          ? null
          : {
              code: parsed['code'] as string,
              ...(typeof parsed['message'] === 'string' ? { message: parsed['message'] } : {}),
            },
      );
      return { status: 200, body: { failJobs: parsed } };
    }
    if (url.pathname === '/__nrb/tokens/revoke') {
      control.revokeTokens();
      return { status: 200, body: { revoked: true } };
    }
    const match = /^\/__nrb\/applications\/([^/]+)\/status$/.exec(url.pathname);
    if (match?.[1]) {
      const status = isObject(parsed) ? parsed['status'] : undefined;
      const remark = isObject(parsed) ? parsed['remark'] : undefined;
      if (
        typeof status !== 'string' ||
        !(status in applicationStatusNames) ||
        (remark !== undefined && typeof remark !== 'string')
      ) {
        return {
          status: 400,
          body: { error: `body is {"status": ${Object.keys(applicationStatusNames).join('|')}, "remark"?: string}` },
        };
      }
      const known = control.setApplicationStatus(decodeURIComponent(match[1]), status as ApplicationStatus, remark);
      return known
        ? { status: 200, body: { applicationNo: match[1], status } }
        : { status: 404, body: { error: 'unknown applicationNo' } };
    }
    return { status: 404, body: { error: 'unknown control' } };
  }

  // ---- dispatch ----

  function answerFor(operation: NrbOperation, simulated: SimulatorRequest): Answer {
    if (operation === 'issueToken') return issueToken(simulated);
    const clientId = authenticate(simulated);
    if (clientId === null) {
      return {
        ...error(401, nrbCodes.unauthorised),
        headers: { 'www-authenticate': 'Bearer realm="nrb", error="invalid_token"' },
      };
    }
    switch (operation) {
      case 'createCertificateQuery':
        return createCertificateQuery(simulated, clientId);
      case 'getQueryJob':
        return getQueryJob(simulated, clientId);
      case 'getQueryResults':
        return getQueryResults(simulated, clientId);
      case 'getCertificateDocument':
        return getCertificateDocument(simulated);
      case 'submitTransferRegistration':
        return submitTransferRegistration(simulated);
      case 'getTransferRegistration':
        return getTransferRegistration(simulated);
      case 'submitMortgageCancellation':
        return submitMortgageCancellation(simulated);
      case 'getMortgageCancellation':
        return getMortgageCancellation(simulated);
      case 'health':
        // The contract's health answer has no refusal: a registry that cannot serve says DOWN.
        return {
          status: 200,
          body: { status: simulated.fault === 'business_error' ? 'DOWN' : 'UP', time: registryTimestamp(now()) },
        };
    }
  }

  function send(response: ServerResponse, answer: Answer, text: string): void {
    response.writeHead(answer.status, {
      ...answer.headers,
      'content-type': 'application/json;charset=UTF-8',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  const definition: SimulatorDefinition = {
    name: 'NRB real-estate registry',
    operationOf(request, url) {
      if (url.pathname.startsWith(CONTROL_PREFIX)) return 'control';
      return operationOfRequest(request.method ?? 'GET', url.pathname) ?? 'unknown';
    },
    handle(simulated) {
      const { request, response, url, fault } = simulated;
      if (url.pathname.startsWith(CONTROL_PREFIX)) {
        const answer = handleControl(simulated);
        return send(response, answer, JSON.stringify(answer.body));
      }
      const operation = operationOfRequest(request.method ?? 'GET', url.pathname);
      if (operation === null) {
        const answer = error(404, nrbCodes.invalidRequest, '接口不存在');
        return send(response, answer, JSON.stringify(answer.body));
      }
      let answer = answerFor(operation, simulated);
      if (fault === 'malformed') {
        // A proxy cut the answer short: the start of the JSON and nothing more.
        return send(response, answer, JSON.stringify(answer.body).slice(0, 24));
      }
      if (fault === 'oversized' && isObject(answer.body))
        answer = { ...answer, body: { ...answer.body, padding: 'x'.repeat(OVERSIZED_PADDING_BYTES) } };
      const body = options.rewriteAnswer ? options.rewriteAnswer(operation, answer.status, answer.body) : answer.body;
      send(response, answer, JSON.stringify(body));
    },
  };
  return { definition, control };
}

/** Starts the simulator on loopback (port 0 = any free port; the demo uses 7103). */
export async function startNrbRealEstateSimulator(
  options: NrbSimulatorOptions & StartSimulatorOptions = {},
): Promise<RunningNrbSimulator> {
  const { port, host, ...protocol } = options;
  const { definition, control } = createNrbRealEstateSimulator(protocol);
  const running = await startSimulator(definition, {
    ...(port === undefined ? {} : { port }),
    ...(host === undefined ? {} : { host }),
  });
  return Object.assign(running, control);
}
