/**
 * Adapter for the provincial civil-affairs marriage registry's open-platform gateway (one URL,
 * form-encoded, named by `method`, SM3-signed over the sorted fields plus the app key; every
 * answer HTTP 200 `{code, msg, data}`; dates as `2019年05月20日`). See protocol.ts and README.md.
 *
 * Each call is built afresh per attempt (`build`): the time stamp, nonce and signature sit inside
 * the body, and the registry refuses a replayed nonce, so a retry after the front proxy's 502 must
 * not resend the first attempt's body. Every call is a read and marked idempotent.
 */
import { z } from 'zod';
import { defineAdapter, type AdapterEnvironment } from '@onewindow/adapter-sdk';
import { DepartmentError, type DepartmentErrorKind } from '@onewindow/adapter-sdk';
import { readEnvelope } from '@onewindow/adapter-sdk';
import { sm3Sign } from '@onewindow/adapter-sdk';
import {
  beijingTimestamp,
  decodeBase64Document,
  DocumentTooLargeError,
  randomNonce,
  WireFormatError,
} from '@onewindow/adapter-sdk';
import type {
  CallContext,
  CertificateRequest,
  CertificateResult,
  DepartmentAdapter,
  HealthResult,
} from '@onewindow/adapter-sdk';
import { MARRIAGE_CERTIFICATE, marriageCertificateMetadata } from './mapping.js';
import {
  MCA_GATEWAY_PATH,
  MCA_PROTOCOL_VERSION,
  mcaEnvelopeTable,
  mcaMethods,
  type HealthWire,
  type MarriageCertificateWire,
  type McaEnvelope,
  type McaMethod,
} from './protocol.js';

export const MCA_RESOURCE = 'mca.marriage';
export const MCA_ADAPTER_KIND = 'mca-marriage';

export const mcaMarriageOptionsSchema = z.object({
  appId: z.string().min(1).max(64).describe('The app_id the marriage registry issued to the gateway.'),
  appKey: z
    .string()
    .min(16)
    .describe('The app key the SM3 signature is computed with; keep it in the environment ($env), not in files.'),
  maxDocumentBytes: z
    .number()
    .int()
    .positive()
    .max(16 * 1024 * 1024)
    .default(5 * 1024 * 1024)
    .describe('Largest certificate PDF accepted (decoded), in bytes. Default 5 MiB.'),
});
export type McaMarriageOptions = z.infer<typeof mcaMarriageOptionsSchema>;

const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';
const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function createMcaMarriageAdapter(
  options: McaMarriageOptions,
  environment: AdapterEnvironment,
): DepartmentAdapter {
  const { client, contracts } = environment;

  function fail(
    kind: DepartmentErrorKind,
    message: string,
    operation: McaMethod,
    extra: Omit<DepartmentError['details'], 'department' | 'operation'> = {},
  ): never {
    throw new DepartmentError(kind, `${MCA_ADAPTER_KIND}: ${message}`, {
      department: environment.department,
      operation,
      ...extra,
    });
  }

  /** The signed form of one attempt: a fresh time stamp (the injected clock), nonce and SM3 sign. */
  function signedForm(method: McaMethod, biz: Record<string, unknown>): string {
    const fields: Record<string, string> = {
      method,
      app_id: options.appId,
      timestamp: beijingTimestamp(environment.now()),
      nonce: randomNonce(),
      version: MCA_PROTOCOL_VERSION,
      sign_type: 'SM3',
      biz_content: JSON.stringify(biz),
    };
    return new URLSearchParams({ ...fields, sign: sm3Sign(fields, options.appKey) }).toString();
  }

  /** One call: `data` with success, null for "no record"; throws for every other code. */
  async function call<Data>(
    method: McaMethod,
    biz: Record<string, unknown>,
    context: CallContext,
  ): Promise<Data | null> {
    const response = await client.request({
      // The method value is the contract's operationId: metrics, logs and checks are per method.
      operation: method,
      method: 'POST',
      path: MCA_GATEWAY_PATH,
      headers: { accept: 'application/json' },
      idempotent: true,
      context,
      build: () => ({
        method: 'POST',
        path: MCA_GATEWAY_PATH,
        headers: { 'content-type': FORM },
        body: signedForm(method, biz),
      }),
    });
    const contentType = response.headers['content-type'];
    if (!JSON_MEDIA_TYPE.test((Array.isArray(contentType) ? contentType[0] : contentType) ?? ''))
      fail('malformed', 'the answer is not JSON (media type)', method, { status: response.status });
    let decoded: unknown;
    try {
      decoded = JSON.parse(utf8.decode(response.body));
    } catch {
      // No `cause`: JSON errors quote the text around the fault, which may be personal data.
      fail('malformed', 'the answer is not valid UTF-8 JSON', method, { status: response.status });
    }
    contracts.checkResponse(MCA_RESOURCE, method, response.status, decoded);
    const result = readEnvelope(decoded as McaEnvelope & { data?: Data | null }, mcaEnvelopeTable, {
      department: environment.department,
      operation: method,
      source: MCA_ADAPTER_KIND,
      status: response.status,
    });
    if (result.outcome === 'not_found') return null;
    if (result.data === undefined || result.data === null)
      fail('malformed', 'a successful answer carries no data', method, { status: response.status });
    return result.data;
  }

  async function fetchCertificate(request: CertificateRequest, context: CallContext): Promise<CertificateResult> {
    if (request.certificateType !== MARRIAGE_CERTIFICATE || request.subject.kind !== 'person')
      return { outcome: 'not_found' };
    const method = mcaMethods.certificateQuery;
    const idNumber = request.subject.idNumber.trim().toUpperCase();
    const data = await call<MarriageCertificateWire>(
      method,
      { id_number: idNumber, name: request.subject.name.trim() },
      context,
    );
    if (data === null) return { outcome: 'not_found' };
    if (data.holder.id_number.toUpperCase() !== idNumber)
      fail('wrong_subject', 'the answer is about another person', method);
    // A certificate number the caller named that this is not: the registry holds one per person.
    if (request.certificateNumber !== undefined && request.certificateNumber !== data.cert_no)
      return { outcome: 'not_found' };
    try {
      const metadata = marriageCertificateMetadata(data);
      const document = decodeBase64Document(data.zzwj, { maxBytes: options.maxDocumentBytes, accept: ['pdf', 'ofd'] });
      return { outcome: 'found', metadata, document };
    } catch (error) {
      if (error instanceof DocumentTooLargeError) fail('oversized', error.message, method, { status: 200 });
      if (error instanceof WireFormatError) fail('malformed', error.message, method, { status: 200, cause: error });
      throw error;
    }
  }

  async function health(context: CallContext): Promise<HealthResult> {
    const data = await call<HealthWire>(mcaMethods.health, {}, context);
    return data?.status === 'UP'
      ? { ok: true }
      : { ok: false, detail: `registry reports state ${data?.status ?? 'unknown'}` };
  }

  return {
    department: environment.department,
    kind: MCA_ADAPTER_KIND,
    resources: { fetchCertificate: MCA_RESOURCE, health: MCA_RESOURCE },
    certificateTypes: [MARRIAGE_CERTIFICATE],
    fetchCertificate,
    health,
    close: () => client.close(),
  };
}

export const mcaMarriageAdapter = defineAdapter<McaMarriageOptions>({
  kind: MCA_ADAPTER_KIND,
  description:
    'Civil-affairs marriage registry (single-URL open-platform gateway, form-encoded, SM3-signed): marriage certificates (结婚证).',
  optionsSchema: mcaMarriageOptionsSchema,
  create: createMcaMarriageAdapter,
});
