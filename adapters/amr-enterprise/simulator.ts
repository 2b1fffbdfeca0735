/**
 * A simulator of the Market Regulation (AMR) enterprise registry: SOAP 1.1 over HTTP at
 * `/services/EnterpriseRegistry` (routed by the SOAPAction header) and at
 * `/services/EnterpriseRegistry/{operation}` (the form the published contract documents). Requests
 * in GBK or UTF-8 — whatever they declare; answers in GBK. Errors are SOAP faults with HTTP 500.
 *
 * Operations: QueryBusinessLicence, SubmitRegistration (deduplicated by `ywlsh`),
 * QueryRegistrationStatus (advances with time, or set by control), Ping. Every operation except
 * Ping needs a WS-Security UsernameToken.
 *
 * Control (beside the kit's `/__simulator/faults`): `POST /__amr/registrations/{slbh}/status` with
 * JSON `{ "blzt": "03", "bz": "…" }` pins a registration's status.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorDefinition,
  type SimulatorRequest,
  type StartSimulatorOptions,
} from '@onewindow/adapter-sdk';
import { CharsetError, decodeMessage, encodeMessage, type WireCharset } from './charset.js';
import { licenceDocument } from './licence-document.js';
import {
  faultCodes,
  licenceFieldOrder,
  operationOfSoapAction,
  registrationStatuses,
  repeatedElements,
  SERVICE_PATH,
  soapDocument,
  soapFault,
  soapOperations,
  type LicenceRecord,
  type RegistrationStatusCode,
  type SoapOperation,
} from './protocol.js';
import { seededEnterprises } from './seed.js';
import { element, parseSoapEnvelope, XmlRefusal, type XmlFragment, type XmlObject, type XmlValue } from './xml.js';

export interface AmrSimulatorOptions {
  /** WS-Security user name the registry accepts. Default `onewindow`. */
  username?: string;
  /** WS-Security password the registry accepts. Default `amr-demo-password`. */
  password?: string;
  /** The enterprises on the register. Default: `seededEnterprises`. */
  enterprises?: readonly LicenceRecord[];
  /** The clock (tests move it). */
  now?: () => Date;
  /** A registration moves 已接收 → 审查中 → 已核准, one step per this many ms. Default 60 000. */
  statusStepMs?: number;
  /** Charset of the answers. Default GBK, as the real system. */
  responseCharset?: WireCharset;
}

export const defaultAmrCredentials = { username: 'onewindow', password: 'amr-demo-password' } as const;

interface Registration {
  slbh: string;
  ywlsh: string;
  /** Digest of the submission's content, to tell a retry from a reused key. */
  fingerprint: string;
  receivedAt: Date;
  pinned?: { blzt: RegistrationStatusCode; bz?: string; at: Date };
  /** A new enterprise (no credit code yet): what its licence will say when approved. */
  establishment?: { qymc: string; fddbr: string; form: Record<string, unknown> };
  /** The licence issued at approval (once). */
  licence?: LicenceRecord;
}

const CREDIT_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORGANISATION_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

/** A new enterprise's unified social credit code (GB 32100, with the GB 11714 organisation code inside), from a sequence number. */
export function issuedCreditCode(sequence: number): string {
  const body = `MA6U${String(sequence % 10_000).padStart(4, '0')}`;
  const organisationSum = [...body].reduce(
    (sum, char, index) =>
      sum + (char <= '9' ? Number(char) : char.charCodeAt(0) - 55) * (ORGANISATION_WEIGHTS[index] ?? 0),
    0,
  );
  const organisationCheck = 11 - (organisationSum % 11);
  const first17 = `91610112${body}${organisationCheck === 10 ? 'X' : organisationCheck === 11 ? '0' : String(organisationCheck)}`;
  const creditSum = [...first17].reduce(
    (sum, char, index) => sum + CREDIT_CHARSET.indexOf(char) * (CREDIT_WEIGHTS[index] ?? 0),
    0,
  );
  return first17 + CREDIT_CHARSET.charAt((31 - (creditSum % 31)) % 31);
}

export interface AmrSimulatorControl {
  /** Pins a registration's status (as `POST /__amr/registrations/{slbh}/status` does). False if unknown. */
  setRegistrationStatus(slbh: string, blzt: RegistrationStatusCode, bz?: string): boolean;
}

const MAX_REQUEST_CHARS = 1024 * 1024;
/** The `oversized` fault pads a valid answer beyond the gateway's 8 MiB cap. */
const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;
const CONTROL_PREFIX = '/__amr/registrations/';
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time, the registry's timestamp format. */
export function registryTimestamp(instant: Date): string {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Text of a child element, or undefined when absent or not text. */
function textOf(parent: XmlValue | undefined, name: string): string | undefined {
  if (parent === undefined || typeof parent !== 'object' || Array.isArray(parent)) return undefined;
  const value = parent[name];
  return typeof value === 'string' ? value : undefined;
}

function objectOf(parent: XmlValue | undefined, name: string): XmlObject | undefined {
  if (parent === undefined || typeof parent !== 'object' || Array.isArray(parent)) return undefined;
  const value = parent[name];
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/** Canonical JSON (sorted keys) for fingerprints. */
function canonical(value: XmlValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key] as XmlValue)}`)
    .join(',')}}`;
}

class ClientFault extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export function createAmrEnterpriseSimulator(options: AmrSimulatorOptions = {}): {
  definition: SimulatorDefinition;
  control: AmrSimulatorControl;
} {
  const username = options.username ?? defaultAmrCredentials.username;
  const password = options.password ?? defaultAmrCredentials.password;
  const enterprises = options.enterprises ?? seededEnterprises;
  const byCode = new Map(enterprises.map((enterprise) => [enterprise.tyshxydm, enterprise]));
  const now = options.now ?? (() => new Date());
  const stepMs = options.statusStepMs ?? 60_000;
  const charset = options.responseCharset ?? 'GBK';
  const registrationsByKey = new Map<string, Registration>();
  const registrationsByNumber = new Map<string, Registration>();
  let sequence = 0;
  /** Licences issued to new enterprises so far. */
  let issued = 0;

  function send(response: ServerResponse, status: number, document: string, padding = 0): void {
    const bytes = encodeMessage(document, charset);
    const body =
      padding > 0
        ? Buffer.concat([
            bytes.subarray(0, bytes.indexOf('?>') + 2),
            Buffer.from(`<!--${'x'.repeat(padding)}-->`),
            bytes.subarray(bytes.indexOf('?>') + 2),
          ])
        : bytes;
    response.writeHead(status, { 'content-type': `text/xml; charset=${charset}`, 'content-length': body.byteLength });
    response.end(body);
  }

  function sendFault(response: ServerResponse, side: 'Client' | 'Server', errorCode: string, message: string): void {
    send(response, 500, soapDocument(soapFault(side, errorCode, message), charset));
  }

  function statusOf(registration: Registration): { blzt: RegistrationStatusCode; bz?: string; at: Date } {
    if (registration.pinned) return registration.pinned;
    const steps = Math.floor((now().getTime() - registration.receivedAt.getTime()) / stepMs);
    const at = (k: number) => new Date(registration.receivedAt.getTime() + k * stepMs);
    if (steps <= 0) return { blzt: '01', at: registration.receivedAt };
    if (steps === 1) return { blzt: '02', at: at(1) };
    return { blzt: '04', bz: '准予设立登记', at: at(2) };
  }

  function licenceElement(record: LicenceRecord): XmlFragment {
    const fields = licenceFieldOrder.map((field) => element(`amr:${field}`, record[field]));
    const pdf = Buffer.from(licenceDocument(record)).toString('base64');
    return element('amr:yyzz', [...fields, element('amr:dzzzwj', pdf)]);
  }

  function licenceResponse(record: LicenceRecord): XmlFragment {
    return element('amr:QueryBusinessLicenceResponse', [licenceElement(record)]);
  }

  function queryBusinessLicence(request: XmlObject, fault: SimulatorRequest['fault']): XmlFragment {
    const code = textOf(request, 'tyshxydm')?.trim().toUpperCase();
    if (!code) throw new ClientFault(faultCodes.badRequest, '缺少统一社会信用代码(tyshxydm)');
    const record = byCode.get(code);
    if (record === undefined)
      throw new ClientFault(faultCodes.enterpriseNotFound, '未查询到该统一社会信用代码对应的企业');
    if (fault === 'wrong_subject') {
      const other = enterprises.find((enterprise) => enterprise.tyshxydm !== code);
      if (other) return licenceResponse(other);
    }
    return licenceResponse(record);
  }

  function submitRegistration(request: XmlObject, fault: SimulatorRequest['fault']): XmlFragment {
    const ywlsh = textOf(request, 'ywlsh')?.trim();
    if (!ywlsh) throw new ClientFault(faultCodes.badRequest, '缺少业务流水号(ywlsh)');
    const applicant = objectOf(request, 'sqr');
    if (!textOf(applicant, 'mc') || !textOf(applicant, 'zjhm'))
      throw new ClientFault(faultCodes.badRequest, '缺少申请人信息(sqr)');
    if (!textOf(request, 'qymc')) throw new ClientFault(faultCodes.businessRefused, '企业名称(qymc)不能为空');
    const materials = objectOf(request, 'clxx')?.['cl'] ?? [];
    for (const material of Array.isArray(materials) ? materials : [materials]) {
      if (!/^[0-9a-f]{64}$/.test(textOf(material, 'sha256') ?? ''))
        throw new ClientFault(faultCodes.badRequest, '材料摘要(sha256)格式不正确');
    }
    const fingerprint = createHash('sha256').update(canonical(request)).digest('hex');
    let registration = registrationsByKey.get(ywlsh);
    const duplicate = registration !== undefined;
    if (registration !== undefined && registration.fingerprint !== fingerprint) {
      throw new ClientFault(faultCodes.idempotencyConflict, '业务流水号(ywlsh)已用于另一笔申请');
    }
    if (registration === undefined) {
      sequence += 1;
      const receivedAt = now();
      const day = registryTimestamp(receivedAt).slice(0, 10).replace(/-/g, '');
      registration = { slbh: `SL${day}${String(sequence).padStart(6, '0')}`, ywlsh, fingerprint, receivedAt };
      // No credit code in the application: a new enterprise, licensed when approved.
      if (!textOf(request, 'tyshxydm')) {
        let form: Record<string, unknown> = {};
        try {
          const parsed: unknown = JSON.parse(textOf(request, 'bdsj') ?? '{}');
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
            form = parsed as Record<string, unknown>;
        } catch {
          // A form that is not JSON: the licence shows the registry's defaults.
        }
        registration.establishment = {
          qymc: textOf(request, 'qymc') ?? '',
          fddbr: textOf(applicant, 'mc') ?? '',
          form,
        };
      }
      registrationsByKey.set(ywlsh, registration);
      registrationsByNumber.set(registration.slbh, registration);
    }
    const echoedKey = fault === 'wrong_subject' ? `${ywlsh}-other` : ywlsh;
    return element('amr:SubmitRegistrationResponse', [
      element('amr:slbh', registration.slbh),
      element('amr:ywlsh', echoedKey),
      element('amr:cfbz', duplicate ? '1' : '0'),
      element('amr:slsj', registryTimestamp(registration.receivedAt)),
    ]);
  }

  function queryRegistrationStatus(request: XmlObject, fault: SimulatorRequest['fault']): XmlFragment {
    const slbh = textOf(request, 'slbh')?.trim();
    if (!slbh) throw new ClientFault(faultCodes.badRequest, '缺少受理编号(slbh)');
    const registration = registrationsByNumber.get(slbh);
    if (registration === undefined)
      throw new ClientFault(faultCodes.registrationNotFound, '未查询到该受理编号对应的登记申请');
    const status = statusOf(registration);
    const licence = status.blzt === '04' ? issuedLicence(registration, status.at) : undefined;
    return element('amr:QueryRegistrationStatusResponse', [
      element('amr:slbh', fault === 'wrong_subject' ? `${slbh}9` : slbh),
      element('amr:blzt', status.blzt),
      element('amr:blztmc', registrationStatuses[status.blzt]),
      element('amr:gxsj', registryTimestamp(status.at)),
      element('amr:bz', status.bz),
      ...(licence ? [licenceElement(licence)] : []),
    ]);
  }

  /** The licence an approved establishment gets, issued once and kept in the register (QueryBusinessLicence finds it). */
  function issuedLicence(registration: Registration, approvedAt: Date): LicenceRecord | undefined {
    if (registration.establishment === undefined) return undefined;
    if (registration.licence === undefined) {
      issued += 1;
      const { qymc, fddbr, form } = registration.establishment;
      const day = registryTimestamp(approvedAt).slice(0, 10).replace(/-/g, '');
      const formText = (name: string, fallback: string) =>
        typeof form[name] === 'string' && form[name] !== '' ? (form[name] as string) : fallback;
      registration.licence = {
        tyshxydm: issuedCreditCode(issued),
        qymc,
        qylx: '有限责任公司（自然人投资或控股）',
        fddbr,
        zczb: formText('registeredCapital', '未申报'),
        clrq: day,
        yyqxz: '长期',
        zs: formText('address', '陕西省西安市未央区'),
        djjg: '西安市未央区市场监督管理局',
        fzrq: day,
        djzt: '存续',
      };
      byCode.set(registration.licence.tyshxydm, registration.licence);
    }
    return registration.licence;
  }

  function ping(): XmlFragment {
    return element('amr:PingResponse', [element('amr:zt', 'OK'), element('amr:fwsj', registryTimestamp(now()))]);
  }

  const control: AmrSimulatorControl = {
    setRegistrationStatus(slbh, blzt, bz) {
      const registration = registrationsByNumber.get(slbh);
      if (registration === undefined) return false;
      registration.pinned = bz === undefined ? { blzt, at: now() } : { blzt, bz, at: now() };
      return true;
    },
  };

  function handleControl({ request, response, body, url }: SimulatorRequest): void {
    const match = /^\/__amr\/registrations\/([^/]+)\/status$/.exec(url.pathname);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const blzt = (parsed as { blzt?: unknown } | undefined)?.blzt;
    const bz = (parsed as { bz?: unknown } | undefined)?.bz;
    const answer = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
    if (request.method !== 'POST' || !match?.[1]) return answer(404, { error: 'unknown control' });
    if (typeof blzt !== 'string' || !(blzt in registrationStatuses) || (bz !== undefined && typeof bz !== 'string')) {
      return answer(400, { error: `body is {"blzt": ${Object.keys(registrationStatuses).join('|')}, "bz"?: string}` });
    }
    const known = control.setRegistrationStatus(decodeURIComponent(match[1]), blzt as RegistrationStatusCode, bz);
    return known ? answer(200, { slbh: match[1], blzt }) : answer(404, { error: 'unknown slbh' });
  }

  /** The operation a request addresses: by path suffix, else by SOAPAction. Null if neither. */
  function operationOfRequest(soapAction: string | undefined, pathname: string): SoapOperation | 'mismatch' | null {
    const fromHeader = operationOfSoapAction(soapAction);
    if (pathname === SERVICE_PATH) return fromHeader;
    const suffix = pathname.startsWith(`${SERVICE_PATH}/`) ? pathname.slice(SERVICE_PATH.length + 1) : undefined;
    const fromPath = (soapOperations as readonly string[]).includes(suffix ?? '') ? (suffix as SoapOperation) : null;
    if (fromPath !== null && fromHeader !== null && fromHeader !== fromPath) return 'mismatch';
    return fromPath;
  }

  const definition: SimulatorDefinition = {
    name: 'AMR enterprise registry',
    operationOf(request, url) {
      if (url.pathname.startsWith(CONTROL_PREFIX)) return 'control';
      const soapAction = request.headers['soapaction'];
      const operation = operationOfRequest(Array.isArray(soapAction) ? soapAction[0] : soapAction, url.pathname);
      return operation === null || operation === 'mismatch' ? 'unknown' : operation;
    },
    handle(simulatorRequest) {
      const { request, response, body, url, fault } = simulatorRequest;
      if (url.pathname.startsWith(CONTROL_PREFIX)) return handleControl(simulatorRequest);
      if (url.pathname !== SERVICE_PATH && !url.pathname.startsWith(`${SERVICE_PATH}/`)) {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not found');
        return;
      }
      try {
        if (request.method !== 'POST') throw new ClientFault(faultCodes.badRequest, 'SOAP 请求须使用 POST');
        const soapAction = request.headers['soapaction'];
        const operation = operationOfRequest(Array.isArray(soapAction) ? soapAction[0] : soapAction, url.pathname);
        if (operation === null) throw new ClientFault(faultCodes.badRequest, '无法识别的操作(SOAPAction)');
        if (operation === 'mismatch') throw new ClientFault(faultCodes.badRequest, 'SOAPAction 与请求路径不一致');
        const contentType = request.headers['content-type'];
        if (!/^\s*text\/xml\b/i.test(contentType ?? ''))
          throw new ClientFault(faultCodes.badRequest, 'SOAP 1.1 请求的 Content-Type 须为 text/xml');
        const message = parseSoapEnvelope(decodeMessage(contentType, body).text, {
          limits: { maxChars: MAX_REQUEST_CHARS, maxDepth: 16, maxElements: 2_000 },
          repeated: repeatedElements,
        });
        const operationRequest = message.body[operation];
        if (operationRequest === undefined || Array.isArray(operationRequest)) {
          throw new ClientFault(faultCodes.badRequest, `请求体中缺少 ${operation} 元素`);
        }
        const requestObject: XmlObject = typeof operationRequest === 'string' ? {} : operationRequest;
        if (operation !== 'Ping') {
          const token = objectOf(objectOf(message.header, 'Security'), 'UsernameToken');
          const givenUser = textOf(token, 'Username');
          const givenPassword = textOf(token, 'Password');
          if (
            givenUser === undefined ||
            givenPassword === undefined ||
            !sameSecret(givenUser, username) ||
            !sameSecret(givenPassword, password)
          ) {
            throw new ClientFault(faultCodes.unauthenticated, 'WS-Security 身份认证失败');
          }
        }
        if (fault === 'business_error') throw new ClientFault(faultCodes.businessRefused, '业务系统拒绝办理该请求');
        if (fault === 'malformed') {
          const truncated = encodeMessage(soapDocument(element('amr:Broken', '截断'), charset), charset).subarray(
            0,
            90,
          );
          response.writeHead(200, {
            'content-type': `text/xml; charset=${charset}`,
            'content-length': truncated.byteLength,
          });
          response.end(truncated);
          return;
        }
        let answer: XmlFragment;
        switch (operation) {
          case 'QueryBusinessLicence':
            answer = queryBusinessLicence(requestObject, fault);
            break;
          case 'SubmitRegistration':
            answer = submitRegistration(requestObject, fault);
            break;
          case 'QueryRegistrationStatus':
            answer = queryRegistrationStatus(requestObject, fault);
            break;
          case 'Ping':
            answer = ping();
            break;
        }
        send(response, 200, soapDocument(answer, charset), fault === 'oversized' ? OVERSIZED_PADDING_BYTES : 0);
      } catch (error) {
        if (error instanceof ClientFault) return sendFault(response, 'Client', error.errorCode, error.message);
        if (error instanceof XmlRefusal || error instanceof CharsetError) {
          return sendFault(response, 'Client', faultCodes.badRequest, `请求报文不合法: ${error.message}`);
        }
        return sendFault(response, 'Server', faultCodes.internal, '登记系统内部错误');
      }
    },
  };
  return { definition, control };
}

export type RunningAmrSimulator = RunningSimulator & AmrSimulatorControl;

/** Starts the simulator on loopback (port 0 picks a free one; the demo uses 7102). */
export async function startAmrEnterpriseSimulator(
  options: AmrSimulatorOptions & StartSimulatorOptions = {},
): Promise<RunningAmrSimulator> {
  const { definition, control } = createAmrEnterpriseSimulator(options);
  const running = await startSimulator(
    definition,
    options.port === undefined && options.host === undefined
      ? {}
      : {
          ...(options.port === undefined ? {} : { port: options.port }),
          ...(options.host === undefined ? {} : { host: options.host }),
        },
  );
  return Object.assign(running, control);
}
