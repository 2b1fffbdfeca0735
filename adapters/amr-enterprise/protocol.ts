/**
 * The AMR enterprise registry's wire protocol: SOAP 1.1 operations, namespaces, field names (the
 * registry's pinyin abbreviations), fault codes and status codes. Shared by the adapter and the
 * simulator so both speak exactly the same dialect.
 */
import { element, fragments, xmlDocument, type XmlFragment } from './xml.js';

export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const AMR_NS = 'urn:amr:enterprise:v1';
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSSE_PASSWORD_TEXT =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

/** The single SOAP endpoint; each operation is also served at `${SERVICE_PATH}/${operation}`. */
export const SERVICE_PATH = '/services/EnterpriseRegistry';

export const soapOperations = [
  'QueryBusinessLicence',
  'SubmitRegistration',
  'QueryRegistrationStatus',
  'Ping',
] as const;
export type SoapOperation = (typeof soapOperations)[number];

/** The SOAPAction header value of an operation (quoted, as SOAP 1.1 sends it). */
export function soapActionOf(operation: SoapOperation): string {
  return `"urn:amr:${operation}"`;
}

/** The operation a SOAPAction header names, or null. Quotes are optional on the wire. */
export function operationOfSoapAction(header: string | undefined): SoapOperation | null {
  if (header === undefined) return null;
  const match = /^"?urn:amr:([A-Za-z]+)"?$/.exec(header.trim());
  const name = match?.[1];
  return name !== undefined && (soapOperations as readonly string[]).includes(name) ? (name as SoapOperation) : null;
}

/** Response element name of each operation (the child of `soap:Body`). */
export function responseElementOf(operation: SoapOperation): `${SoapOperation}Response` {
  return `${operation}Response`;
}

/**
 * Fault codes in `<detail><amr:errorCode>`. Client faults are the caller's problem or a business
 * refusal; Server faults are the registry's own failures.
 */
export const faultCodes = {
  /** The request is not a well-formed, safe SOAP message (DTDs refused), or a field is missing. */
  badRequest: 'E400',
  /** WS-Security UsernameToken missing or wrong. */
  unauthenticated: 'E401',
  /** No enterprise with this unified social credit code. */
  enterpriseNotFound: 'E404',
  /** The same `ywlsh` was used before for a different submission. */
  idempotencyConflict: 'E409',
  /** No registration with this receipt number (`slbh`). */
  registrationNotFound: 'E414',
  /** The registry refuses the business request (e.g. missing company name, enterprise under restriction). */
  businessRefused: 'E422',
  /** The registry failed internally. */
  internal: 'E500',
} as const;

/** Registration status codes (`blzt`) and their display names (`blztmc`). */
export const registrationStatuses = {
  '01': '已接收',
  '02': '审查中',
  '03': '待补正',
  '04': '已核准',
  '05': '不予登记',
} as const;
export type RegistrationStatusCode = keyof typeof registrationStatuses;

/** Registration states (`djzt`) of an enterprise. 存续 (and its synonym 在业) means trading. */
export const enterpriseStates = ['存续', '在业', '注销', '吊销'] as const;
export type EnterpriseState = (typeof enterpriseStates)[number];

/** A business licence as the registry sends it (all text; dates `yyyyMMdd`). */
export interface LicenceRecord {
  /** 统一社会信用代码 */
  tyshxydm: string;
  /** 企业名称 */
  qymc: string;
  /** 企业类型 */
  qylx: string;
  /** 法定代表人 */
  fddbr: string;
  /** 注册资本 */
  zczb: string;
  /** 成立日期, yyyyMMdd */
  clrq: string;
  /** 营业期限至: yyyyMMdd or 长期 */
  yyqxz: string;
  /** 住所 */
  zs: string;
  /** 登记机关 */
  djjg: string;
  /** 发照日期, yyyyMMdd */
  fzrq: string;
  /** 登记状态 */
  djzt: EnterpriseState;
}

/** The licence fields in wire order. */
export const licenceFieldOrder = [
  'tyshxydm',
  'qymc',
  'qylx',
  'fddbr',
  'zczb',
  'clrq',
  'yyqxz',
  'zs',
  'djjg',
  'fzrq',
  'djzt',
] as const;

/** Elements that are always lists, however many items a message has. */
export const repeatedElements: ReadonlySet<string> = new Set(['cl']);

/** A SOAP 1.1 envelope around body content, with an optional header. */
export function soapEnvelope(body: XmlFragment, header?: XmlFragment): XmlFragment {
  return element(
    'soap:Envelope',
    [header === undefined ? fragments([]) : element('soap:Header', [header]), element('soap:Body', [body])],
    {
      'xmlns:soap': SOAP_ENVELOPE_NS,
      'xmlns:amr': AMR_NS,
    },
  );
}

/** A whole SOAP document in the given charset's declaration. */
export function soapDocument(body: XmlFragment, charset: string, header?: XmlFragment): string {
  return xmlDocument(soapEnvelope(body, header), charset);
}

/** The WS-Security UsernameToken header (PasswordText). */
export function usernameTokenHeader(username: string, password: string): XmlFragment {
  return element(
    'wsse:Security',
    [
      element('wsse:UsernameToken', [
        element('wsse:Username', username),
        element('wsse:Password', password, { Type: WSSE_PASSWORD_TEXT }),
      ]),
    ],
    { 'xmlns:wsse': WSSE_NS, 'soap:mustUnderstand': '1' },
  );
}

/** A SOAP 1.1 fault body. */
export function soapFault(side: 'Client' | 'Server', errorCode: string, message: string): XmlFragment {
  return element('soap:Fault', [
    element('faultcode', `soap:${side}`),
    element('faultstring', message),
    element('detail', [element('amr:errorCode', errorCode)]),
  ]);
}
