/**
 * Adapter for the Public Security population registry (REST/JSON, signed requests, pinyin fields,
 * errors as HTTP 200 with a non-`0000` code).
 *
 * Every call goes the same way: sign in `prepare` (so each retry gets a fresh time stamp and nonce;
 * the registry refuses a reused nonce), decode the JSON answer, check it against the published
 * contract (`psb.population`), then read the envelope's `code` (see `meaningOfCode`) and only then
 * map the pinyin record to the gateway's types. Every operation is marked idempotent, so the SDK
 * client may retry it: the reads trivially, and the move-in submission because the registry
 * deduplicates it by its 业务流水号 (`ywlsh`, the delivery's idempotency key).
 */
import { z } from 'zod';
import {
  defineAdapter,
  type AdapterEnvironment,
  type DepartmentResponse,
  type HttpMethod,
} from '@onewindow/adapter-sdk';
import { DepartmentError, type DepartmentErrorKind } from '@onewindow/adapter-sdk';
import type {
  CallContext,
  CaseStatusResult,
  CaseSubmissionReceipt,
  CaseSubmissionRequest,
  CertificateRequest,
  CertificateResult,
  DepartmentAdapter,
  HealthResult,
  IdentityAttributes,
  IdentityVerificationRequest,
  IdentityVerificationResult,
  CaseCancellationRequest,
  CaseCancellationResult,
  SubmissionTypeDeclaration,
} from '@onewindow/adapter-sdk';
import { unknownSubmissionType } from '@onewindow/adapter-sdk';
import {
  caseStatusOf,
  FormValueError,
  householdRegisterMetadata,
  HOUSEHOLD_REGISTER,
  identityAttributesOf,
  isoInstantFromCompactBeijing,
  meaningOfCode,
  moveInApplicationOf,
  RESIDENT_ID_CARD,
  residentIdCardMetadata,
  WireValueError,
} from './mapping.js';
import {
  PSB_PATHS,
  psbCodes,
  signatureHeaders,
  type ApplicationReceiptWire,
  type ApplicationStatusWire,
  type HealthWire,
  type HouseholdRegisterWire,
  type MoveInApplicationWire,
  type PsbEnvelope,
  type PsbOperation,
  type ResidentIdCardWire,
  type VerifyIdentityWireResult,
  type WithdrawalReceiptWire,
  type WithdrawalWireRequest,
} from './protocol.js';

export const PSB_RESOURCE = 'psb.population';
export const PSB_ADAPTER_KIND = 'psb-population';

/**
 * What the registry's application desk (户籍业务受理) takes: household move-ins only. The moving
 * person is the subject, or the buyer after a transfer (the case's `counterparty` party, else the
 * form's `transferee`); without an address the
 * registry takes the address of the property `certificateNo` names.
 */
export const psbSubmissionTypes = {
  household_move_in: {
    name: 'Household registration move-in',
    nameZh: '户口迁入登记',
    formSchema: {
      type: 'object',
      properties: {
        moveToAddress: { type: 'string', description: '迁入地址 (qrdz)' },
        moveInAddress: { type: 'string', description: '迁入地址 (qrdz), another name the registry reads' },
        certificateNo: { type: 'string', description: '不动产权证号 (bdcqzh) of the property moved into' },
        moveOutAddress: { type: 'string', description: '迁出地址 (qcdz)' },
        reason: {
          type: 'string',
          description:
            '迁入类型 (qrlx): home_purchase, employment, family_reunion, education; also read as moveInReason',
        },
        accompanyingPersons: { type: 'array', description: '随迁人员 (sqry): [{name, idNumber, relation}]' },
        transferee: {
          type: 'object',
          description: 'After a transfer: the buyer {name, idNumber}, who moves in instead of the subject',
        },
      },
      anyOf: [{ required: ['moveToAddress'] }, { required: ['moveInAddress'] }, { required: ['certificateNo'] }],
    },
  },
} as const satisfies Record<string, SubmissionTypeDeclaration>;

export const psbPopulationOptionsSchema = z.object({
  appKey: z.string().min(1).describe('App key (x-app-key) the population registry issued to the gateway.'),
  appSecret: z
    .string()
    .min(16)
    .describe(
      'App secret for the HMAC-SHA256 request signature (at least 16 characters); keep it in the environment, not in files.',
    ),
  signatureWindowSeconds: z
    .number()
    .int()
    .positive()
    .max(3600)
    .default(300)
    .describe(
      "The time-stamp window the registry enforces (±seconds). Used to warn when our clock drifts from the registry's (its Date header) by more than half of it, before signed requests start failing as stale.",
    ),
});
export type PsbPopulationOptions = z.infer<typeof psbPopulationOptionsSchema>;

/**
 * Operations whose answer has no "no record" outcome at the gateway: for them a 2xxx code (2003 no
 * such application, or a 2001 about an applicant) is the registry refusing the request.
 */
const OPERATIONS_WITHOUT_NOT_FOUND: ReadonlySet<PsbOperation> = new Set([
  'submitHouseholdMoveIn',
  'getApplicationStatus',
  'withdrawApplication',
]);

const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function headerValue(response: DepartmentResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createPsbPopulationAdapter(
  options: PsbPopulationOptions,
  environment: AdapterEnvironment,
): DepartmentAdapter {
  const { client, contracts, logger } = environment;
  const credentials = { appKey: options.appKey, appSecret: options.appSecret };
  const windowMs = options.signatureWindowSeconds * 1000;
  // The client appends request paths to the base URL's path; the registry signs the full target.
  const targetPrefix = new URL(client.baseUrl).pathname.replace(/\/+$/, '');

  function fail(
    kind: DepartmentErrorKind,
    message: string,
    operation: PsbOperation,
    extra: Omit<DepartmentError['details'], 'department' | 'operation'> = {},
  ): never {
    throw new DepartmentError(kind, `psb-population: ${message}`, {
      department: environment.department,
      operation,
      ...extra,
    });
  }

  /** Warns once per answer when the registry's clock and ours are far enough apart to matter. */
  function watchClockSkew(response: DepartmentResponse, operation: PsbOperation): void {
    const date = headerValue(response, 'date');
    const registryMs = date === undefined ? Number.NaN : Date.parse(date);
    if (Number.isNaN(registryMs)) return;
    const skewMs = environment.now().getTime() - registryMs;
    if (Math.abs(skewMs) > windowMs / 2) {
      logger.warn(
        { department: environment.department, operation, skewSeconds: Math.round(skewMs / 1000) },
        'clock differs from the population registry; signed requests may be refused as stale',
      );
    }
  }

  /**
   * One signed call. Returns the checked envelope: `data` for `0000`, null for "no record";
   * throws for every other code.
   */
  async function call<Data>(
    operation: PsbOperation,
    method: HttpMethod,
    target: string,
    body: unknown,
    context: CallContext,
  ): Promise<Data | null> {
    const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const response = await client.request({
      operation,
      method,
      path: target,
      headers: {
        accept: 'application/json',
        'x-request-id': context.requestId,
        ...(bytes === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' }),
      },
      ...(bytes === undefined ? {} : { body: bytes }),
      // Reads, and submissions the registry deduplicates by ywlsh: a retry has no double effect.
      idempotent: true,
      context,
      // Signed per attempt: a retry with the first attempt's nonce would be refused as a replay.
      prepare: (attempt) =>
        signatureHeaders(
          credentials,
          { method: attempt.method, target: targetPrefix + attempt.path, body: attempt.body },
          environment.now().getTime(),
        ),
    });
    watchClockSkew(response, operation);
    if (response.status !== 200)
      fail('malformed', `unexpected HTTP ${response.status}`, operation, { status: response.status });
    if (!JSON_MEDIA_TYPE.test(headerValue(response, 'content-type') ?? ''))
      fail('malformed', 'the answer is not JSON (media type)', operation, { status: 200 });
    let decoded: unknown;
    try {
      decoded = JSON.parse(utf8.decode(response.body));
    } catch {
      // No `cause`: V8's JSON errors quote the text around the fault, which may be personal data.
      fail('malformed', 'the answer is not valid UTF-8 JSON', operation, { status: 200 });
    }
    contracts.checkResponse(PSB_RESOURCE, operation, response.status, decoded);

    const envelope = decoded as PsbEnvelope<Data>;
    const meaning = meaningOfCode(envelope.code);
    const details = { status: 200, departmentCode: envelope.code };
    switch (meaning) {
      case 'success':
        return envelope.data;
      case 'not_found':
        if (OPERATIONS_WITHOUT_NOT_FOUND.has(operation))
          fail('business_error', `the registry refused the request (code ${envelope.code})`, operation, details);
        return null;
      case 'rejected':
        if (envelope.code === psbCodes.timestampStale) {
          fail(
            'rejected',
            `the registry refused the time stamp (outside its ±${options.signatureWindowSeconds} s window; check the clock)`,
            operation,
            details,
          );
        }
        return fail('rejected', `the registry refused the request (code ${envelope.code})`, operation, details);
      case 'unavailable':
        return fail('unavailable', `the registry is busy (code ${envelope.code})`, operation, details);
      case 'business_error':
        // The registry's own reason for saying no (e.g. 该申请人有正在办理的户籍迁移业务), verbatim.
        fail('business_error', `the registry answered with business error ${envelope.code}`, operation, {
          ...details,
          ...(envelope.msg ? { departmentMessage: envelope.msg } : {}),
        });
    }
  }

  /** The data must be about the person asked for; anything else is someone else's record. */
  function requireSubject(answeredIdNumber: string, requestedIdNumber: string, operation: PsbOperation): void {
    if (answeredIdNumber.trim().toUpperCase() !== requestedIdNumber)
      fail('wrong_subject', 'the answer is about another person', operation);
  }

  function pdfBytes(wjnr: string, operation: PsbOperation): Uint8Array {
    const compact = wjnr.replace(/\s+/g, '');
    if (!BASE64.test(compact)) fail('malformed', 'the certificate file is not base64', operation);
    const bytes = Buffer.from(compact, 'base64');
    if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-')
      fail('malformed', 'the certificate file is not a PDF', operation);
    return new Uint8Array(bytes);
  }

  async function verifyIdentity(
    request: IdentityVerificationRequest,
    context: CallContext,
  ): Promise<IdentityVerificationResult> {
    const operation = 'verifyIdentity';
    const sfzh = request.idNumber.trim().toUpperCase();
    const data = await call<VerifyIdentityWireResult>(
      operation,
      'POST',
      PSB_PATHS.verifyIdentity,
      { xm: request.name.trim(), sfzh },
      context,
    );
    if (data === null) return { outcome: 'not_found' };
    requireSubject(data.sfzh, sfzh, operation);
    if (data.pp !== '1') return { outcome: 'name_mismatch' };
    let attributes: IdentityAttributes | undefined;
    try {
      attributes = identityAttributesOf(data);
    } catch (error) {
      if (error instanceof WireValueError) fail('malformed', error.message, operation, { status: 200, cause: error });
      throw error;
    }
    return attributes ? { outcome: 'match', attributes } : { outcome: 'match' };
  }

  async function fetchCertificate(request: CertificateRequest, context: CallContext): Promise<CertificateResult> {
    // The registry keeps certificates of natural persons only, keyed by resident ID number.
    if (request.subject.kind !== 'person') return { outcome: 'not_found' };
    const sfzh = request.subject.idNumber.trim().toUpperCase();
    const query = `?${new URLSearchParams({ sfzh }).toString()}`;
    try {
      if (request.certificateType === RESIDENT_ID_CARD) {
        const operation = 'getResidentIdCertificate';
        const data = await call<ResidentIdCardWire>(
          operation,
          'GET',
          `${PSB_PATHS.residentIdCard}${query}`,
          undefined,
          context,
        );
        if (data === null) return { outcome: 'not_found' };
        requireSubject(data.sfzh, sfzh, operation);
        const metadata = residentIdCardMetadata(data);
        return {
          outcome: 'found',
          metadata,
          document: { mediaType: 'application/pdf', bytes: pdfBytes(data.wjnr, operation) },
        };
      }
      if (request.certificateType === HOUSEHOLD_REGISTER) {
        const operation = 'getHouseholdRegister';
        const data = await call<HouseholdRegisterWire>(
          operation,
          'GET',
          `${PSB_PATHS.householdRegister}${query}`,
          undefined,
          context,
        );
        if (data === null) return { outcome: 'not_found' };
        requireSubject(data.sfzh, sfzh, operation);
        const metadata = householdRegisterMetadata(data);
        return {
          outcome: 'found',
          metadata,
          document: { mediaType: 'application/pdf', bytes: pdfBytes(data.wjnr, operation) },
        };
      }
    } catch (error) {
      if (error instanceof WireValueError) {
        const operation =
          request.certificateType === RESIDENT_ID_CARD ? 'getResidentIdCertificate' : 'getHouseholdRegister';
        fail('malformed', error.message, operation, { status: 200, cause: error });
      }
      throw error;
    }
    return { outcome: 'not_found' };
  }

  /** The case as the registry's application; a case it cannot take is refused here, without a call. */
  function moveInApplicationFor(request: CaseSubmissionRequest): MoveInApplicationWire {
    try {
      return moveInApplicationOf(request);
    } catch (error) {
      if (error instanceof FormValueError) fail('rejected', error.message, 'submitHouseholdMoveIn', { cause: error });
      throw error;
    }
  }

  async function submitCase(request: CaseSubmissionRequest, context: CallContext): Promise<CaseSubmissionReceipt> {
    switch (request.submissionType) {
      case 'household_move_in':
        return submitHouseholdMoveIn(request, context);
      default:
        throw unknownSubmissionType(PSB_ADAPTER_KIND, environment.department, request, psbSubmissionTypes);
    }
  }

  async function submitHouseholdMoveIn(
    request: CaseSubmissionRequest,
    context: CallContext,
  ): Promise<CaseSubmissionReceipt> {
    const operation = 'submitHouseholdMoveIn';
    const data = await call<ApplicationReceiptWire>(
      operation,
      'POST',
      PSB_PATHS.householdMoveIn,
      moveInApplicationFor(request),
      context,
    );
    if (data === null) fail('malformed', 'the acceptance carries no data', operation, { status: 200 });
    if (data.ywlsh !== request.idempotencyKey)
      fail('wrong_subject', 'the acceptance is for another submission', operation);
    return { departmentReference: data.slbh, duplicate: data.cfbz === '1' };
  }

  async function queryCaseStatus(departmentReference: string, context: CallContext): Promise<CaseStatusResult> {
    const operation = 'getApplicationStatus';
    const query = `?${new URLSearchParams({ slbh: departmentReference }).toString()}`;
    const data = await call<ApplicationStatusWire>(
      operation,
      'GET',
      `${PSB_PATHS.applicationStatus}${query}`,
      undefined,
      context,
    );
    if (data === null) fail('malformed', 'the status answer carries no data', operation, { status: 200 });
    if (data.slbh !== departmentReference) fail('wrong_subject', 'the status is about another application', operation);
    let updatedAt: string;
    try {
      updatedAt = isoInstantFromCompactBeijing(data.gxsj);
    } catch (error) {
      if (error instanceof WireValueError) fail('malformed', error.message, operation, { status: 200, cause: error });
      throw error;
    }
    const message = data.bz?.trim();
    return { departmentReference, status: caseStatusOf[data.blzt], updatedAt, ...(message ? { message } : {}) };
  }

  /**
   * Withdraws an application (撤回申请, since contract 1.2.0). The registry answers a repeat with the
   * same withdrawal; an application it already concluded (4006) cannot be withdrawn: `cancelled: false`.
   */
  async function cancelCase(request: CaseCancellationRequest, context: CallContext): Promise<CaseCancellationResult> {
    const operation = 'withdrawApplication';
    const body: WithdrawalWireRequest = { slbh: request.departmentReference, cxyy: request.reason.slice(0, 500) };
    try {
      const data = await call<WithdrawalReceiptWire>(operation, 'POST', PSB_PATHS.withdrawApplication, body, context);
      if (data === null) fail('malformed', 'the withdrawal answer carries no data', operation, { status: 200 });
      if (data.slbh !== request.departmentReference)
        fail('wrong_subject', 'the withdrawal is about another application', operation);
      return { cancelled: true };
    } catch (error) {
      if (error instanceof DepartmentError && error.details.departmentCode === psbCodes.applicationConcluded)
        return { cancelled: false };
      throw error;
    }
  }

  async function health(context: CallContext): Promise<HealthResult> {
    const data = await call<HealthWire>('health', 'GET', PSB_PATHS.health, undefined, context);
    return data?.zt === 'UP' ? { ok: true } : { ok: false, detail: `registry reports state ${data?.zt ?? 'unknown'}` };
  }

  return {
    department: environment.department,
    kind: PSB_ADAPTER_KIND,
    resources: {
      verifyIdentity: PSB_RESOURCE,
      fetchCertificate: PSB_RESOURCE,
      submitCase: PSB_RESOURCE,
      queryCaseStatus: PSB_RESOURCE,
      cancelCase: PSB_RESOURCE,
      health: PSB_RESOURCE,
    },
    certificateTypes: [RESIDENT_ID_CARD, HOUSEHOLD_REGISTER],
    submissionTypes: psbSubmissionTypes,
    verifyIdentity,
    fetchCertificate,
    submitCase,
    queryCaseStatus,
    cancelCase,
    health,
    close: () => client.close(),
  };
}

export const psbPopulationAdapter = defineAdapter<PsbPopulationOptions>({
  kind: PSB_ADAPTER_KIND,
  description:
    'Public Security population registry (REST/JSON, HMAC-signed requests): identity verification, resident ID card and household register; receives household move-in applications and reports their status.',
  optionsSchema: psbPopulationOptionsSchema,
  create: createPsbPopulationAdapter,
});
