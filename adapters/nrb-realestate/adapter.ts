/**
 * Adapter for the Natural Resources real-estate registry (REST/JSON, OAuth 2.0 client credentials,
 * asynchronous paged certificate queries, idempotent transfer-registration submissions).
 *
 * Every API call goes the same way: a bearer token from the cache (see `token-cache.ts`; fetched
 * before the call, never inside the client's `prepare`, so the token request is not nested inside
 * the call's breaker slot), the call through the SDK client, one fresh token and one retry on a 401,
 * then the answer decoded as UTF-8 JSON, checked against the published contract (`nrb.real-estate`)
 * — error answers too — and only then mapped. The registry's `{code, message}` errors (404, 409,
 * 422 and a failed job's `error`) are read by `meaningOfCode`; 400 and 5xx are left to the client
 * (`rejected`, `unavailable`).
 *
 * `fetchCertificate` is a query job: POST the query (202), poll the job with backoff (bounded by
 * `maxPollAttempts`, `jobBudgetMs` and the caller's signal), read every result page (bounded by
 * `maxPages`), choose one certificate (`chooseCertificate`: the most recent valid one) and fetch its
 * PDF. Every step is a read and marked idempotent (a repeated query only creates another job).
 * `submitCase` takes two submission types, a transfer registration (转移登记) and a mortgage
 * cancellation (抵押权注销登记, contract 1.1.0), each on its own endpoint; both are idempotent, the
 * registry deduplicates by the `Idempotency-Key` header. `queryCaseStatus` tells the two apart by
 * the application number's prefix (`ZY…`, `ZX…`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  defineAdapter,
  type AdapterEnvironment,
  type DepartmentResponse,
  type HttpMethod,
} from '@onewindow/adapter-sdk';
import { DepartmentError, type DepartmentErrorDetails, type DepartmentErrorKind } from '@onewindow/adapter-sdk';
import type {
  CallContext,
  CaseStatusResult,
  CaseSubmissionReceipt,
  CaseSubmissionRequest,
  CertificateRequest,
  CertificateResult,
  DepartmentAdapter,
  HealthResult,
  SubmissionTypeDeclaration,
} from '@onewindow/adapter-sdk';
import { unknownSubmissionType } from '@onewindow/adapter-sdk';
import {
  caseStatusOf,
  certificateMetadata,
  certificateNumbered,
  chooseCertificate,
  formText,
  holderEntry,
  partyOf,
  REAL_ESTATE_CERTIFICATE,
  transfereeOf,
} from './mapping.js';
import { pollUntilDone } from './polling.js';
import {
  APPLICATION_PREFIX,
  basicCredentials,
  cancellationReasonNames,
  IDEMPOTENCY_HEADER,
  meaningOfCode,
  NRB_PATHS,
  NRB_TOKEN_PATH,
  type CertificateDocumentWire,
  type CertificateQueryWireRequest,
  type CertificateRecordWire,
  type HealthWire,
  type MortgageCancellationReceiptWire,
  type MortgageCancellationStatusWire,
  type MortgageCancellationWireRequest,
  type NrbOperation,
  type NrbWireError,
  type OAuthWireError,
  type PartyWire,
  type QueryJobWire,
  type ResultPageWire,
  type TokenWireResponse,
  type TransferReceiptWire,
  type TransferRegistrationWireRequest,
  type TransferStatusWire,
} from './protocol.js';
import { AccessTokenCache, type IssuedAccessToken } from './token-cache.js';

export const NRB_RESOURCE = 'nrb.real-estate';
export const NRB_ADAPTER_KIND = 'nrb-realestate';

/**
 * What the registry takes: transfer registrations and mortgage cancellations. Both need the
 * certificate number of the property; the applicant is the subject (a right holder). A transfer's
 * buyer may come from the case's parties instead of the form's `transferee`.
 */
export const nrbSubmissionTypes = {
  transfer_registration: {
    name: 'Real-estate transfer registration',
    nameZh: '不动产转移登记',
    formSchema: {
      type: 'object',
      required: ['certificateNo'],
      properties: {
        certificateNo: {
          type: 'string',
          description: '不动产权证号 of the property transferred (also read as bdcqzh)',
        },
        transferee: {
          type: 'object',
          description: "受让人 {name, idNumber}; the case's counterparty (the buyer) when it names one",
        },
        transferReason: { type: 'string', description: '转移原因, e.g. sale, gift, exchange' },
      },
    },
  },
  mortgage_cancellation: {
    name: 'Mortgage cancellation registration',
    nameZh: '抵押权注销登记',
    formSchema: {
      type: 'object',
      required: ['certificateNo'],
      properties: {
        certificateNo: { type: 'string', description: '不动产权证号 of the mortgaged property (also read as bdcqzh)' },
        mortgagee: {
          type: 'string',
          description: '抵押权人 (the bank); when given the registry checks it against the mortgage',
        },
        cancellationReason: {
          type: 'string',
          description: `注销原因: ${Object.keys(cancellationReasonNames).join(', ')} (or the registry's words)`,
        },
      },
    },
  },
} as const satisfies Record<string, SubmissionTypeDeclaration>;

export const nrbRealEstateOptionsSchema = z.object({
  clientId: z.string().min(1).describe('OAuth 2.0 client id the real-estate registry issued to the gateway.'),
  clientSecret: z
    .string()
    .min(8)
    .describe('OAuth 2.0 client secret (at least 8 characters); keep it in the environment, not in files.'),
  tokenPath: z
    .string()
    .regex(/^\/[A-Za-z0-9/_.-]*$/)
    .default(NRB_TOKEN_PATH)
    .describe('Path of the token endpoint below the base URL (client-credentials grant).'),
  tokenAuthMethod: z
    .enum(['client_secret_post', 'client_secret_basic'])
    .default('client_secret_post')
    .describe(
      'How the client authenticates at the token endpoint: id and secret as form fields (default) or HTTP Basic (RFC 6749 §2.3.1).',
    ),
  tokenRefreshSkewSeconds: z
    .number()
    .int()
    .min(0)
    .max(600)
    .default(30)
    .describe(
      'Fetch a new token this long before the cached one expires (at most half its lifetime), so no call goes out with a token about to lapse.',
    ),
  pollInitialDelayMs: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(200)
    .describe('Wait before the first poll of a query job; doubled after each unfinished poll.'),
  pollMaxDelayMs: z
    .number()
    .int()
    .min(1)
    .max(30_000)
    .default(2000)
    .describe('The longest wait between two polls of a query job.'),
  maxPollAttempts: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .describe('Polls of a query job at most before the call fails as a timeout.'),
  jobBudgetMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(15_000)
    .describe(
      "Time for polling one query job, all waits and polls included; the caller's own deadline (its abort signal) ends it sooner.",
    ),
  pageSize: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .describe('Certificates per result page asked for (the registry allows 1-100).'),
  maxPages: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe(
      'Result pages read at most; a holder with more certificates than maxPages × pageSize fails as oversized rather than being read without end.',
    ),
});
export type NrbRealEstateOptions = z.infer<typeof nrbRealEstateOptionsSchema>;

const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Statuses the adapter reads itself: success, the 401 that triggers a refresh, and `{code, message}` refusals. */
const READ_STATUSES = new Set([200, 201, 202, 401, 404, 409, 422]);

interface ApiCall {
  operation: NrbOperation;
  method: HttpMethod;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

interface ApiAnswer<Body> {
  status: number;
  body: Body;
}

function headerValue(response: DepartmentResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createNrbRealEstateAdapter(
  options: NrbRealEstateOptions,
  environment: AdapterEnvironment,
): DepartmentAdapter {
  const { client, contracts, logger } = environment;

  function fail(
    kind: DepartmentErrorKind,
    message: string,
    operation: NrbOperation,
    extra: Omit<DepartmentErrorDetails, 'department' | 'operation'> = {},
  ): never {
    throw new DepartmentError(kind, `nrb-realestate: ${message}`, {
      department: environment.department,
      operation,
      ...extra,
    });
  }

  const cancelledDuring = (operation: NrbOperation) => () =>
    new DepartmentError('timeout', 'nrb-realestate: the caller cancelled the call', {
      department: environment.department,
      operation,
    });

  /** UTF-8 JSON, or `malformed`. */
  function decodeJson(response: DepartmentResponse, operation: NrbOperation): unknown {
    if (!JSON_MEDIA_TYPE.test(headerValue(response, 'content-type') ?? ''))
      fail('malformed', 'the answer is not JSON (media type)', operation, { status: response.status });
    try {
      return JSON.parse(utf8.decode(response.body));
    } catch {
      // No `cause`: V8's JSON errors quote the text around the fault, which may be personal data.
      fail('malformed', 'the answer is not valid UTF-8 JSON', operation, { status: response.status });
    }
  }

  // ---- the access token ----

  async function requestToken(requestId: string): Promise<IssuedAccessToken> {
    const operation = 'issueToken';
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (options.tokenAuthMethod === 'client_secret_basic')
      headers['authorization'] = basicCredentials(options.clientId, options.clientSecret);
    else {
      form.set('client_id', options.clientId);
      form.set('client_secret', options.clientSecret);
    }
    const response = await client.request({
      operation,
      method: 'POST',
      path: options.tokenPath,
      headers,
      body: form.toString(),
      // Issuing a token has no effect beyond the token: safe to retry.
      idempotent: true,
      // No caller signal: the request is shared by every caller waiting for a token.
      context: { requestId },
      // 400 and 401 carry an RFC 6749 §5.2 error code worth keeping (`invalid_client`,
      // `unauthorized_client`, …); both mean our client or its grant is wrong, so neither is retried.
      acceptStatus: (status) => status === 200 || status === 400 || status === 401,
    });
    const body = decodeJson(response, operation);
    contracts.checkResponse(NRB_RESOURCE, operation, response.status, body);
    if (response.status !== 200) {
      const { error } = body as OAuthWireError;
      const reason =
        response.status === 401
          ? 'the registry refused the client credentials'
          : 'the registry refused the token request';
      fail('rejected', `${reason} (${error})`, operation, { status: response.status, departmentCode: error });
    }
    const token = body as TokenWireResponse;
    return { token: token.access_token, expiresInSeconds: token.expires_in };
  }

  const tokens = new AccessTokenCache({
    issue: requestToken,
    now: () => environment.now().getTime(),
    refreshSkewMs: options.tokenRefreshSkewSeconds * 1000,
    cancelled: cancelledDuring('issueToken'),
  });

  function tokenFor(context: CallContext): Promise<string> {
    return tokens.get(context.requestId, context.signal);
  }

  // ---- one API call ----

  function send(
    call: ApiCall,
    bytes: Buffer | undefined,
    token: string,
    context: CallContext,
  ): Promise<DepartmentResponse> {
    return client.request({
      operation: call.operation,
      method: call.method,
      path: call.path,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        ...(bytes === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' }),
        ...call.headers,
      },
      ...(bytes === undefined ? {} : { body: bytes }),
      // Every operation is safe to repeat: reads, query jobs (a repeat only creates another job),
      // and submissions, which the registry deduplicates by their Idempotency-Key.
      idempotent: true,
      context,
      acceptStatus: (status) => READ_STATUSES.has(status),
    });
  }

  /**
   * One call with a bearer token: a 401 (the token expired early, was revoked, or the registry
   * restarted) gets one fresh token and one retry. Returns the contract-checked 2xx answer; throws
   * for the registry's `{code, message}` refusals.
   */
  async function callApi<Body>(call: ApiCall, context: CallContext): Promise<ApiAnswer<Body>> {
    const bytes = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body), 'utf8');
    let token = await tokenFor(context);
    let response = await send(call, bytes, token, context);
    if (response.status === 401) {
      logger.info(
        { department: environment.department, operation: call.operation, requestId: context.requestId },
        'access token refused; fetching a new one',
      );
      tokens.invalidate(token);
      token = await tokenFor(context);
      response = await send(call, bytes, token, context);
      if (response.status === 401)
        fail('rejected', 'the registry refused a freshly issued access token', call.operation, { status: 401 });
    }
    const body = decodeJson(response, call.operation);
    contracts.checkResponse(NRB_RESOURCE, call.operation, response.status, body);
    if (response.status >= 400) {
      const { code, message } = body as NrbWireError;
      const meaning = meaningOfCode(code);
      // A business refusal's message is the registry's fixed reason (e.g. 该不动产已被查封，不予办理转移登记): kept verbatim.
      const words =
        meaning === 'business_error' && typeof message === 'string' && message !== ''
          ? { departmentMessage: message }
          : {};
      fail(meaning, `the registry answered ${response.status} with code ${code}`, call.operation, {
        status: response.status,
        departmentCode: code,
        ...words,
      });
    }
    return { status: response.status, body: body as Body };
  }

  // ---- certificates ----

  async function awaitJob(jobId: string, context: CallContext): Promise<QueryJobWire> {
    const operation = 'getQueryJob';
    const outcome = await pollUntilDone(
      async () => {
        const { body: job } = await callApi<QueryJobWire>(
          { operation, method: 'GET', path: NRB_PATHS.job(jobId) },
          context,
        );
        if (job.jobId !== jobId)
          fail('wrong_subject', 'the registry answered with the state of another job', operation);
        return job.status === 'PENDING' || job.status === 'RUNNING' ? undefined : job;
      },
      {
        initialDelayMs: options.pollInitialDelayMs,
        maxDelayMs: options.pollMaxDelayMs,
        maxAttempts: options.maxPollAttempts,
        budgetMs: options.jobBudgetMs,
        ...(context.signal === undefined ? {} : { signal: context.signal }),
        cancelled: cancelledDuring(operation),
      },
    );
    if (outcome.outcome === 'exhausted') {
      const limit = outcome.reason === 'attempts' ? `${options.maxPollAttempts} polls` : `${options.jobBudgetMs} ms`;
      fail('timeout', `the registry's query job did not finish within ${limit}`, operation);
    }
    return outcome.result;
  }

  /** Every certificate of the job's result, page by page; each must name `party` as a holder. */
  async function readResults(
    jobId: string,
    expectedTotal: number,
    party: PartyWire,
    context: CallContext,
  ): Promise<CertificateRecordWire[]> {
    const operation = 'getQueryResults';
    const records: CertificateRecordWire[] = [];
    let totalPages = 1;
    for (let page = 1; page <= totalPages; page++) {
      const { body } = await callApi<ResultPageWire>(
        { operation, method: 'GET', path: NRB_PATHS.jobResults(jobId, page, options.pageSize) },
        context,
      );
      // Whose records these are is checked first: an answer about someone else is the worst fault.
      if (body.jobId !== jobId || body.items.some((record) => holderEntry(record, party) === undefined)) {
        fail('wrong_subject', 'the result page holds certificates of another holder', operation);
      }
      if (body.page !== page || body.items.length > options.pageSize || body.totalCount !== expectedTotal) {
        fail('malformed', 'the result page does not fit the job (page number, size or total)', operation);
      }
      if (page === 1) {
        totalPages = body.totalPages;
        if (totalPages > options.maxPages)
          fail(
            'oversized',
            `the result has ${totalPages} pages, more than the ${options.maxPages} read at most`,
            operation,
          );
      } else if (body.totalPages !== totalPages)
        fail('malformed', 'the number of result pages changed while reading', operation);
      records.push(...body.items);
    }
    if (records.length !== expectedTotal)
      fail(
        'malformed',
        `the result pages hold ${records.length} certificates, the job reported ${expectedTotal}`,
        operation,
      );
    return records;
  }

  async function certificatePdf(record: CertificateRecordWire, context: CallContext): Promise<Uint8Array> {
    const operation = 'getCertificateDocument';
    const { body } = await callApi<CertificateDocumentWire>(
      { operation, method: 'GET', path: NRB_PATHS.certificateDocument(record.certificateId) },
      context,
    );
    if (body.certificateId !== record.certificateId)
      fail('wrong_subject', 'the document is of another certificate', operation);
    const compact = body.fileContent.replace(/\s+/g, '');
    if (!BASE64.test(compact)) fail('malformed', 'the certificate file is not base64', operation);
    const bytes = Buffer.from(compact, 'base64');
    if (createHash('sha256').update(bytes).digest('hex') !== body.sha256)
      fail('malformed', 'the certificate file does not match its SHA-256', operation);
    if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-')
      fail('malformed', 'the certificate file is not a PDF', operation);
    return new Uint8Array(bytes);
  }

  async function fetchCertificate(request: CertificateRequest, context: CallContext): Promise<CertificateResult> {
    if (request.certificateType !== REAL_ESTATE_CERTIFICATE) return { outcome: 'not_found' };
    const party = partyOf(request.subject);
    const query: CertificateQueryWireRequest = {
      idType: party.idType,
      idNumber: party.idNumber,
      holderName: party.name,
    };
    const { body: accepted } = await callApi<QueryJobWire>(
      { operation: 'createCertificateQuery', method: 'POST', path: NRB_PATHS.certificateQueries, body: query },
      context,
    );
    const job =
      accepted.status === 'PENDING' || accepted.status === 'RUNNING'
        ? await awaitJob(accepted.jobId, context)
        : accepted;
    if (job.status === 'FAILED') {
      const { code } = job.error;
      fail(meaningOfCode(code), `the registry's query job failed with code ${code}`, 'getQueryJob', {
        departmentCode: code,
      });
    }
    if (job.status !== 'SUCCEEDED') fail('malformed', `the query job is in state ${job.status}`, 'getQueryJob');
    if (job.totalCount === 0) return { outcome: 'not_found' };
    const records = await readResults(job.jobId, job.totalCount, party, context);
    const chosen =
      request.certificateNumber === undefined
        ? chooseCertificate(records)
        : certificateNumbered(records, request.certificateNumber);
    const holder = chosen === undefined ? undefined : holderEntry(chosen, party);
    if (chosen === undefined || holder === undefined) return { outcome: 'not_found' };
    const pdf = await certificatePdf(chosen, context);
    // Asked by type alone, the holder's other valid certificates are listed to choose from.
    const others =
      request.certificateNumber === undefined
        ? records.filter((record) => record.certificateStatus === 'VALID' && holderEntry(record, party))
        : [];
    return {
      outcome: 'found',
      metadata: certificateMetadata(chosen, holder, others),
      document: { mediaType: 'application/pdf', bytes: pdf },
    };
  }

  // ---- registrations: transfers and mortgage cancellations ----

  async function submitCase(request: CaseSubmissionRequest, context: CallContext): Promise<CaseSubmissionReceipt> {
    switch (request.submissionType) {
      case 'transfer_registration':
        return submitTransferRegistration(request, context);
      case 'mortgage_cancellation':
        return submitMortgageCancellation(request, context);
      default:
        throw unknownSubmissionType(NRB_ADAPTER_KIND, environment.department, request, nrbSubmissionTypes);
    }
  }

  /** The registry's receipt, checked to be this submission's (both kinds answer the same shape). */
  function receiptOf(
    receipt: TransferReceiptWire | MortgageCancellationReceiptWire,
    request: CaseSubmissionRequest,
    operation: NrbOperation,
  ): CaseSubmissionReceipt {
    if (receipt.idempotencyKey !== request.idempotencyKey)
      fail('wrong_subject', 'the receipt is for another submission', operation);
    return { departmentReference: receipt.applicationNo, duplicate: receipt.duplicate };
  }

  async function submitMortgageCancellation(
    request: CaseSubmissionRequest,
    context: CallContext,
  ): Promise<CaseSubmissionReceipt> {
    const operation = 'submitMortgageCancellation';
    const { form } = request;
    const certificateNo = formText(form, 'certificateNo', 'bdcqzh');
    if (certificateNo === undefined)
      fail('rejected', 'the form names no certificateNo (不动产权证号) of the mortgaged property', operation);
    const mortgagee = formText(form, 'mortgagee');
    const reason = formText(form, 'cancellationReason');
    const cancellationReason =
      reason === undefined ? undefined : (cancellationReasonNames[reason] ?? reason.slice(0, 100));
    const body: MortgageCancellationWireRequest = {
      caseNumber: request.caseNumber,
      itemCode: request.itemCode,
      applicant: partyOf(request.subject),
      certificateNo,
      ...(mortgagee === undefined ? {} : { mortgagee: mortgagee.slice(0, 200) }),
      ...(cancellationReason === undefined ? {} : { cancellationReason }),
      materials: request.materials.map((material) => ({
        typeCode: material.typeCode,
        sha256: material.sha256.toLowerCase(),
        mediaType: material.mediaType,
        size: material.size,
      })),
      formData: form,
    };
    // Deduplicated by the key like a transfer: a retried submission has no double effect.
    const { body: receipt } = await callApi<MortgageCancellationReceiptWire>(
      {
        operation,
        method: 'POST',
        path: NRB_PATHS.mortgageCancellations,
        body,
        headers: { [IDEMPOTENCY_HEADER]: request.idempotencyKey },
      },
      context,
    );
    return receiptOf(receipt, request, operation);
  }

  async function submitTransferRegistration(
    request: CaseSubmissionRequest,
    context: CallContext,
  ): Promise<CaseSubmissionReceipt> {
    const operation = 'submitTransferRegistration';
    const { form } = request;
    const certificateNo = formText(form, 'certificateNo', 'bdcqzh');
    if (certificateNo === undefined)
      fail('rejected', 'the form names no certificateNo (不动产权证号) of the property to transfer', operation);
    // The buyer named as a party of the case (resolved and validated by the gateway) before the form's transferee.
    // The registry's transfer takes one transferee: of several buyers (a married couple) it gets the
    // first named; the gateway sends them all, and the contract is not changed here.
    const buyer = request.parties?.find((party) => party.role === 'counterparty')?.subject;
    const transferee = buyer === undefined ? transfereeOf(form) : partyOf(buyer);
    const transferReason = formText(form, 'transferReason');
    const body: TransferRegistrationWireRequest = {
      caseNumber: request.caseNumber,
      itemCode: request.itemCode,
      applicant: partyOf(request.subject),
      certificateNo,
      ...(transferee === undefined ? {} : { transferee }),
      ...(transferReason === undefined ? {} : { transferReason }),
      materials: request.materials.map((material) => ({
        typeCode: material.typeCode,
        sha256: material.sha256.toLowerCase(),
        mediaType: material.mediaType,
        size: material.size,
      })),
      formData: form,
    };
    // The registry deduplicates by the key, so a retried submission has no double effect.
    const { body: receipt } = await callApi<TransferReceiptWire>(
      {
        operation,
        method: 'POST',
        path: NRB_PATHS.transferRegistrations,
        body,
        headers: { [IDEMPOTENCY_HEADER]: request.idempotencyKey },
      },
      context,
    );
    return receiptOf(receipt, request, operation);
  }

  async function queryCaseStatus(departmentReference: string, context: CallContext): Promise<CaseStatusResult> {
    // The application number says which kind of application it is.
    const cancellation = departmentReference.startsWith(APPLICATION_PREFIX.mortgageCancellation);
    const operation = cancellation ? 'getMortgageCancellation' : 'getTransferRegistration';
    const path = cancellation
      ? NRB_PATHS.mortgageCancellation(departmentReference)
      : NRB_PATHS.transferRegistration(departmentReference);
    const { body } = await callApi<TransferStatusWire | MortgageCancellationStatusWire>(
      { operation, method: 'GET', path },
      context,
    );
    if (body.applicationNo !== departmentReference)
      fail('wrong_subject', 'the status is about another application', operation);
    return {
      departmentReference,
      status: caseStatusOf[body.status],
      updatedAt: new Date(body.updatedAt).toISOString(),
      ...(body.remark === undefined || body.remark === '' ? {} : { message: body.remark }),
    };
  }

  async function health(context: CallContext): Promise<HealthResult> {
    const { body } = await callApi<HealthWire>({ operation: 'health', method: 'GET', path: NRB_PATHS.health }, context);
    return body.status === 'UP' ? { ok: true } : { ok: false, detail: `registry reports state ${body.status}` };
  }

  return {
    department: environment.department,
    kind: NRB_ADAPTER_KIND,
    resources: {
      fetchCertificate: NRB_RESOURCE,
      submitCase: NRB_RESOURCE,
      queryCaseStatus: NRB_RESOURCE,
      health: NRB_RESOURCE,
    },
    certificateTypes: [REAL_ESTATE_CERTIFICATE],
    submissionTypes: nrbSubmissionTypes,
    fetchCertificate,
    submitCase,
    queryCaseStatus,
    health,
    close: () => client.close(),
  };
}

export const nrbRealEstateAdapter = defineAdapter<NrbRealEstateOptions>({
  kind: NRB_ADAPTER_KIND,
  description:
    'Natural Resources real-estate registry (REST/JSON, OAuth 2.0 client credentials, asynchronous paged queries): real-estate certificates, transfer registrations and mortgage cancellations, and their status.',
  optionsSchema: nrbRealEstateOptionsSchema,
  create: createNrbRealEstateAdapter,
});
