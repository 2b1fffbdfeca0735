/**
 * Adapter for the Market Regulation (AMR) enterprise registry, a SOAP 1.1 system answering in GBK.
 *
 * Every answer goes the same way: decode by the declared charset (header, then XML declaration),
 * parse safely (no DTDs, bounded), take the `soap:Body` content as a plain object, check it against
 * the published contract (`amr.enterprise`), and only then map it. SOAP faults come with HTTP 500,
 * which the SDK client would turn into `unavailable`, so the adapter accepts 500 and reads the fault
 * itself: Client faults are business answers (E404 = no such enterprise → not found, E401 →
 * rejected, others → business_error), Server faults and unreadable 500s are `unavailable`.
 */
import { z } from 'zod';
import { defineAdapter, type AdapterEnvironment, type DepartmentResponse } from '@onewindow/adapter-sdk';
import { DepartmentError } from '@onewindow/adapter-sdk';
import type {
  CallContext,
  CaseStatusResult,
  CaseSubmissionReceipt,
  CaseSubmissionRequest,
  CertificateDocument,
  CertificateMetadata,
  CertificateRequest,
  CertificateResult,
  DepartmentAdapter,
  DepartmentCaseStatus,
  HealthResult,
  ResultCertificate,
  SubjectRef,
  SubmissionTypeDeclaration,
} from '@onewindow/adapter-sdk';
import { unknownSubmissionType } from '@onewindow/adapter-sdk';
import { CharsetError, decodeMessage, encodeMessage, type WireCharset } from './charset.js';
import {
  faultCodes,
  responseElementOf,
  SERVICE_PATH,
  soapActionOf,
  soapDocument,
  usernameTokenHeader,
  type RegistrationStatusCode,
  type SoapOperation,
} from './protocol.js';
import { element, parseSoapEnvelope, XmlRefusal, type XmlFragment, type XmlObject, type XmlValue } from './xml.js';

export const AMR_RESOURCE = 'amr.enterprise';
export const BUSINESS_LICENCE = 'business_licence';

/**
 * What the registry's registration desk takes. Both go in as one SOAP operation,
 * `SubmitRegistration` (企业登记申请), told apart by the item code (`sxbm`) and the form (`bdsj`):
 * an establishment names the enterprise to be set up (`qymc` from the form), a licence reissue is
 * applied for by the enterprise itself (`qymc` and `tyshxydm` from the subject).
 */
export const amrSubmissionTypes = {
  enterprise_establishment: {
    name: 'Enterprise establishment registration',
    nameZh: '企业设立登记',
    formSchema: {
      type: 'object',
      required: ['companyName'],
      properties: {
        companyName: { type: 'string', description: '企业名称 (qymc) of the enterprise to be set up' },
        registeredCapital: { type: 'string', description: '注册资本' },
        businessScope: { type: 'string', description: '经营范围' },
        address: { type: 'string', description: '住所' },
      },
    },
  },
  business_licence_reissue: {
    name: 'Business licence reissue (lost or damaged)',
    nameZh: '营业执照遗失补领',
    formSchema: {
      type: 'object',
      properties: {
        reason: { type: 'string', description: 'lost 遗失 or damaged 损毁' },
        creditCode: {
          type: 'string',
          description: "统一社会信用代码, when an agent (a person) applies for the enterprise; otherwise the subject's",
        },
        companyName: { type: 'string', description: "企业名称, when an agent applies; otherwise the subject's" },
      },
    },
  },
} as const satisfies Record<string, SubmissionTypeDeclaration>;

export const amrEnterpriseOptionsSchema = z.object({
  wsUsername: z.string().min(1).describe('WS-Security UsernameToken user name the registry issued to the gateway.'),
  wsPassword: z
    .string()
    .min(1)
    .describe(
      'WS-Security UsernameToken password (sent as PasswordText; keep the registry link on a private network or TLS).',
    ),
  requestCharset: z
    .enum(['GBK', 'UTF-8'])
    .default('GBK')
    .describe(
      'Charset of the requests. GBK as the registry expects by default; a request whose text GBK cannot carry is sent in UTF-8.',
    ),
  servicePath: z
    .string()
    .regex(/^\/[A-Za-z0-9/_.-]*$/)
    .default(SERVICE_PATH)
    .describe('Path of the SOAP endpoint below the base URL; operations are told apart by the SOAPAction header.'),
});
export type AmrEnterpriseOptions = z.infer<typeof amrEnterpriseOptionsSchema>;

const XML_MEDIA_TYPE = /^\s*(text\/xml|application\/xml|application\/soap\+xml)\s*(;|$)/i;
const ANSWER_LIMITS = { maxChars: 12 * 1024 * 1024, maxDepth: 24, maxElements: 5_000 };

const statusByCode: Readonly<Record<RegistrationStatusCode, DepartmentCaseStatus>> = {
  '01': 'received',
  '02': 'in_progress',
  '03': 'awaiting_applicant',
  '04': 'completed',
  '05': 'rejected',
};

function fail(
  kind: DepartmentError['kind'],
  message: string,
  operation: string,
  extra: Omit<DepartmentError['details'], 'department' | 'operation'> = {},
): never {
  throw new DepartmentError(kind, `amr-enterprise: ${message}`, { department: 'AMR', operation, ...extra });
}

function child(parent: XmlValue | undefined, name: string): XmlValue | undefined {
  return parent !== undefined && typeof parent === 'object' && !Array.isArray(parent) ? parent[name] : undefined;
}

function text(parent: XmlValue | undefined, name: string): string {
  const value = child(parent, name);
  return typeof value === 'string' ? value : '';
}

/** `yyyyMMdd` → `YYYY-MM-DD`, refusing impossible dates. */
function isoDate(compact: string, operation: string): string {
  const iso = `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
  const parsed = new Date(`${iso}T00:00:00Z`);
  if (!/^\d{8}$/.test(compact) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== iso) {
    fail('malformed', 'the answer has an impossible date', operation);
  }
  return iso;
}

/** `yyyy-MM-dd HH:mm:ss` in China Standard Time → ISO 8601 UTC. */
function isoInstant(registryTime: string, operation: string): string {
  const instant = new Date(`${registryTime.replace(' ', 'T')}+08:00`);
  if (Number.isNaN(instant.getTime())) fail('malformed', 'the answer has an impossible timestamp', operation);
  return instant.toISOString();
}

function headerValue(response: DepartmentResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function applicantOf(subject: SubjectRef): XmlFragment {
  return subject.kind === 'person'
    ? element('amr:sqr', [
        element('amr:mc', subject.name),
        element('amr:zjlx', 'sfz'),
        element('amr:zjhm', subject.idNumber),
      ])
    : element('amr:sqr', [
        element('amr:mc', subject.name),
        element('amr:zjlx', 'tyshxydm'),
        element('amr:zjhm', subject.creditCode),
      ]);
}

function formText(form: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = form[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** A licence just issued has no status to report: it is valid by being issued. */
function withoutStatus(metadata: CertificateMetadata): ResultCertificate['metadata'] {
  const { status: _status, ...rest } = metadata;
  return rest;
}

export function createAmrEnterpriseAdapter(
  options: AmrEnterpriseOptions,
  environment: AdapterEnvironment,
): DepartmentAdapter {
  const { client, contracts } = environment;

  /** Encodes in the configured charset, or UTF-8 when GBK cannot carry a character (rare names). */
  function encodeRequest(body: XmlFragment): { bytes: Buffer; charset: WireCharset } {
    const header = usernameTokenHeader(options.wsUsername, options.wsPassword);
    if (options.requestCharset === 'GBK') {
      try {
        return { bytes: encodeMessage(soapDocument(body, 'GBK', header), 'GBK'), charset: 'GBK' };
      } catch (error) {
        if (!(error instanceof CharsetError)) throw error;
      }
    }
    return { bytes: encodeMessage(soapDocument(body, 'UTF-8', header), 'UTF-8'), charset: 'UTF-8' };
  }

  /**
   * One SOAP call. Returns the checked content of the operation's response element; a fault is
   * checked too and thrown as the matching DepartmentError, except that E404 from
   * QueryBusinessLicence comes back as `null` (the enterprise is not on the register).
   */
  async function call(
    operation: SoapOperation,
    body: XmlFragment,
    context: CallContext,
    idempotent: boolean,
  ): Promise<XmlObject | null> {
    const { bytes, charset } = encodeRequest(body);
    const response = await client.request({
      operation,
      method: 'POST',
      path: options.servicePath,
      headers: {
        'content-type': `text/xml; charset=${charset}`,
        accept: 'text/xml',
        soapaction: soapActionOf(operation),
        'x-request-id': context.requestId,
      },
      body: bytes,
      idempotent,
      context,
      acceptStatus: (status) => (status >= 200 && status < 300) || status === 500,
    });
    const isFaultStatus = response.status === 500;
    // A 500 that is not a readable SOAP fault is a failing registry (or a proxy in front of it).
    const unreadable = (kind: 'malformed', message: string, cause?: unknown): never =>
      isFaultStatus
        ? fail('unavailable', `HTTP 500 without a readable SOAP fault (${message})`, operation, { status: 500, cause })
        : fail(kind, message, operation, { status: response.status, cause });

    if (response.status !== 200 && !isFaultStatus)
      unreadable('malformed', `unexpected HTTP ${response.status} for a SOAP call`);
    const contentType = headerValue(response, 'content-type');
    if (!XML_MEDIA_TYPE.test(contentType ?? '')) unreadable('malformed', 'the answer is not XML (media type)');
    let message: { body: XmlObject };
    try {
      message = parseSoapEnvelope(decodeMessage(contentType, response.body).text, { limits: ANSWER_LIMITS });
    } catch (error) {
      if (error instanceof XmlRefusal && error.reason === 'dtd')
        fail('malformed', error.message, operation, { status: response.status });
      if (error instanceof XmlRefusal || error instanceof CharsetError) unreadable('malformed', error.message, error);
      throw error;
    }
    if (isFaultStatus && child(message.body, 'Fault') === undefined) unreadable('malformed', 'no Fault element');
    contracts.checkResponse(AMR_RESOURCE, operation, response.status, message.body);

    const fault = child(message.body, 'Fault');
    if (fault !== undefined) {
      const side = text(fault, 'faultcode').split(':').pop()?.split('.')[0] ?? '';
      const errorCode = text(child(fault, 'detail'), 'errorCode') || undefined;
      const details = { status: response.status, ...(errorCode === undefined ? {} : { departmentCode: errorCode }) };
      if (side === 'Server')
        fail(
          'unavailable',
          `the registry failed (SOAP Server fault ${errorCode ?? 'without code'})`,
          operation,
          details,
        );
      if (side !== 'Client')
        fail('rejected', `the registry refused the message (SOAP ${side} fault)`, operation, details);
      if (errorCode === faultCodes.enterpriseNotFound && operation === 'QueryBusinessLicence') return null;
      if (errorCode === faultCodes.unauthenticated)
        fail('rejected', 'the registry refused the WS-Security credentials', operation, details);
      if (errorCode === faultCodes.badRequest)
        fail('rejected', 'the registry refused the request as invalid', operation, details);
      fail(
        'business_error',
        `the registry answered with business error ${errorCode ?? 'without code'}`,
        operation,
        details,
      );
    }
    const answer = child(message.body, responseElementOf(operation));
    if (answer === undefined || typeof answer !== 'object' || Array.isArray(answer))
      fail('malformed', 'the answer has no response element', operation);
    return answer;
  }

  async function fetchCertificate(request: CertificateRequest, context: CallContext): Promise<CertificateResult> {
    const operation = 'QueryBusinessLicence';
    // The registry holds licences of organisations only, keyed by credit code.
    if (request.certificateType !== BUSINESS_LICENCE || request.subject.kind !== 'organisation')
      return { outcome: 'not_found' };
    const creditCode = request.subject.creditCode.trim().toUpperCase();
    const answer = await call(
      operation,
      element('amr:QueryBusinessLicence', [element('amr:tyshxydm', creditCode)]),
      context,
      true,
    );
    if (answer === null) return { outcome: 'not_found' };
    const licence = child(answer, 'yyzz');
    if (text(licence, 'tyshxydm').trim().toUpperCase() !== creditCode)
      fail('wrong_subject', 'the licence is about another enterprise', operation);
    return { outcome: 'found', ...licenceOf(licence, operation) };
  }

  /** A licence element (营业执照) as certificate metadata and its PDF: a queried one, or one issued at approval. */
  function licenceOf(
    licence: XmlValue | undefined,
    operation: string,
  ): { metadata: CertificateMetadata; document: CertificateDocument } {
    const creditCode = text(licence, 'tyshxydm').trim().toUpperCase();
    const pdf = Buffer.from(text(licence, 'dzzzwj'), 'base64');
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-')
      fail('malformed', 'the licence file is not a PDF', operation);
    const term = text(licence, 'yyqxz');
    const issueDate = isoDate(text(licence, 'fzrq'), operation);
    const state = text(licence, 'djzt');
    return {
      metadata: {
        certificateType: BUSINESS_LICENCE,
        certificateNumber: creditCode,
        holderName: text(licence, 'qymc'),
        holderIdentifier: creditCode,
        issuingAuthority: text(licence, 'djjg'),
        issueDate,
        validFrom: issueDate,
        validUntil: term === '长期' ? null : isoDate(term, operation),
        status: state === '存续' || state === '在业' ? 'valid' : 'revoked',
      },
      document: { mediaType: 'application/pdf', bytes: new Uint8Array(pdf) },
    };
  }

  async function submitCase(request: CaseSubmissionRequest, context: CallContext): Promise<CaseSubmissionReceipt> {
    const operation = 'SubmitRegistration';
    const { subject, form } = request;
    let enterprise: { companyName: string; creditCode: string | undefined };
    switch (request.submissionType) {
      case 'enterprise_establishment': {
        // The enterprise does not exist yet: its name comes from the form, never from the applicant.
        const companyName = formText(form, 'companyName', 'qymc');
        if (companyName === undefined)
          fail('rejected', 'an establishment names the enterprise to be set up (companyName, 企业名称)', operation);
        enterprise = { companyName, creditCode: formText(form, 'creditCode', 'tyshxydm') };
        break;
      }
      case 'business_licence_reissue': {
        // The licence is the enterprise's own: it applies itself, or an agent names it in the form.
        const companyName = subject.kind === 'organisation' ? subject.name : formText(form, 'companyName', 'qymc');
        const creditCode =
          subject.kind === 'organisation' ? subject.creditCode : formText(form, 'creditCode', 'tyshxydm');
        if (companyName === undefined || creditCode === undefined)
          fail(
            'rejected',
            'a licence reissue names the enterprise (an organisation applicant, or companyName and creditCode)',
            operation,
          );
        enterprise = { companyName, creditCode };
        break;
      }
      default:
        throw unknownSubmissionType('amr-enterprise', environment.department, request, amrSubmissionTypes);
    }
    const body = element('amr:SubmitRegistration', [
      element('amr:ywlsh', request.idempotencyKey),
      element('amr:ajbh', request.caseNumber),
      element('amr:sxbm', request.itemCode),
      applicantOf(subject),
      element('amr:qymc', enterprise.companyName),
      element('amr:tyshxydm', enterprise.creditCode?.toUpperCase()),
      element('amr:bdsj', JSON.stringify(form)),
      element(
        'amr:clxx',
        request.materials.map((material) =>
          element('amr:cl', [
            element('amr:cllx', material.typeCode),
            element('amr:sha256', material.sha256.toLowerCase()),
            element('amr:mtlx', material.mediaType),
            element('amr:dx', String(material.size)),
          ]),
        ),
      ),
    ]);
    // The registry deduplicates by ywlsh, so a retried submission has no double effect.
    const answer = await call(operation, body, context, true);
    if (answer === null) fail('malformed', 'the answer has no receipt', operation);
    if (text(answer, 'ywlsh') !== request.idempotencyKey)
      fail('wrong_subject', 'the receipt is for another submission', operation);
    return { departmentReference: text(answer, 'slbh'), duplicate: text(answer, 'cfbz') === '1' };
  }

  async function queryCaseStatus(departmentReference: string, context: CallContext): Promise<CaseStatusResult> {
    const operation = 'QueryRegistrationStatus';
    const answer = await call(
      operation,
      element('amr:QueryRegistrationStatus', [element('amr:slbh', departmentReference)]),
      context,
      true,
    );
    if (answer === null) fail('malformed', 'the answer has no status', operation);
    if (text(answer, 'slbh') !== departmentReference)
      fail('wrong_subject', 'the status is about another registration', operation);
    const code = text(answer, 'blzt') as RegistrationStatusCode;
    const remark = text(answer, 'bz');
    // An approved establishment comes with the licence the registry issued: the case's result (电子营业执照).
    const issued =
      code === '04' && child(answer, 'yyzz') !== undefined ? licenceOf(child(answer, 'yyzz'), operation) : null;
    return {
      departmentReference,
      status: statusByCode[code],
      updatedAt: isoInstant(text(answer, 'gxsj'), operation),
      ...(remark === '' ? {} : { message: remark }),
      ...(issued ? { resultCertificate: { metadata: withoutStatus(issued.metadata), document: issued.document } } : {}),
    };
  }

  async function health(context: CallContext): Promise<HealthResult> {
    const answer = await call('Ping', element('amr:Ping', ''), context, true);
    const state = text(answer ?? undefined, 'zt');
    return state === 'OK' ? { ok: true } : { ok: false, detail: `registry reports state ${state || 'unknown'}` };
  }

  return {
    department: environment.department,
    kind: 'amr-enterprise',
    resources: {
      fetchCertificate: AMR_RESOURCE,
      submitCase: AMR_RESOURCE,
      queryCaseStatus: AMR_RESOURCE,
      health: AMR_RESOURCE,
    },
    certificateTypes: [BUSINESS_LICENCE],
    submissionTypes: amrSubmissionTypes,
    fetchCertificate,
    submitCase,
    queryCaseStatus,
    health,
    close: () => client.close(),
  };
}

export const amrEnterpriseAdapter = defineAdapter<AmrEnterpriseOptions>({
  kind: 'amr-enterprise',
  description:
    'Market Regulation enterprise registry (SOAP 1.1, GBK): business licences, registration submissions and their status.',
  optionsSchema: amrEnterpriseOptionsSchema,
  create: createAmrEnterpriseAdapter,
});
