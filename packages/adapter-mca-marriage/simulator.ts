/**
 * The provincial marriage registry's open-platform gateway on a loopback port, on the SDK's
 * simulator kit: one URL (`POST /gateway`), form-encoded, named by `method`; SM3-signed with the
 * app key, time stamps within ±300 s of its clock, nonces never replayed; answers always HTTP 200
 * `{code, msg, data}`; dates as `2019年05月20日`.
 *
 * With `frontProxy`, a front proxy answers `502 Bad Gateway` (an HTML page) to about one call in
 * ten (`failureRate`), chosen by a pseudo-random sequence from `seed`: the same seed fails the same
 * calls. It is off unless asked for (the conformance suite counts attempts exactly); the demo runs
 * with it.
 *
 * Faults, as the kit passes them: `business_error` → code `40301` (record sealed), `malformed` →
 * JSON cut short, `oversized` → a certificate file padded past 8 MiB, `wrong_subject` → another
 * person's certificate.
 */
import type { ServerResponse } from 'node:http';
import { verifyFieldsSignature } from '@onewindow/adapter-sdk';
import { parseBeijingTimestamp } from '@onewindow/adapter-sdk';
import {
  formMethodOperation,
  readFormBody,
  startSimulator,
  type RunningSimulator,
  type StartSimulatorOptions,
} from '@onewindow/adapter-sdk';
import { marriageCertificateDocument } from './documents.js';
import {
  MCA_GATEWAY_PATH,
  MCA_PROTOCOL_VERSION,
  MCA_SIGNATURE_WINDOW_SECONDS,
  mcaCodes,
  mcaMethods,
  type MarriageCertificateWire,
} from './protocol.js';
import { marriageOf, seededMarriages } from './seed.js';

export const MCA_DEMO_APP_ID = 'onewindow-demo';
/** Demo only, well known like the demo clients' secrets. */
export const MCA_DEMO_APP_KEY = 'mca-marriage-demo-app-key-2019';
export const MCA_SIMULATOR_DEFAULT_PORT = 7106;
export const MCA_DEMO_PROXY_SEED = 20190520;

const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;

export interface McaSimulatorOptions extends StartSimulatorOptions {
  /** App ids and their keys. Default: the demo app. */
  apps?: Record<string, string>;
  /** The registry's clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
  /** A front proxy failing about one call in ten with 502, deterministically from `seed`. */
  frontProxy?: { seed: number; failureRate?: number };
  /** Test hook: replaces an answer before it is sent (contract-breaking answers). */
  rewriteAnswer?: (answer: Record<string, unknown>, method: string) => unknown;
}

export interface RunningMcaSimulator extends RunningSimulator {
  /** Calls the front proxy answered with 502. */
  proxyFailures(): number;
  /** Every nonce that reached the front proxy, in order (retries included). */
  noncesSeen(): readonly string[];
}

/** mulberry32: a small, fast, seeded pseudo-random sequence in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function send(response: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(200, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

export async function startMcaMarriageSimulator(options: McaSimulatorOptions = {}): Promise<RunningMcaSimulator> {
  const apps = options.apps ?? { [MCA_DEMO_APP_ID]: MCA_DEMO_APP_KEY };
  const now = options.now ?? Date.now;
  const windowMs = MCA_SIGNATURE_WINDOW_SECONDS * 1000;
  const proxyRandom = options.frontProxy ? seededRandom(options.frontProxy.seed) : null;
  const proxyRate = options.frontProxy?.failureRate ?? 0.1;
  let proxyFailures = 0;
  const nonces: string[] = [];
  /** Nonces accepted within the window: nonce → when it stops mattering. */
  const usedNonces = new Map<string, number>();

  function nonceReplayed(nonce: string, at: number): boolean {
    for (const [seen, expires] of usedNonces) if (expires < at) usedNonces.delete(seen);
    if (usedNonces.has(nonce)) return true;
    usedNonces.set(nonce, at + 2 * windowMs);
    return false;
  }

  function certificateAnswer(idNumber: string, wrongSubject: boolean, oversized: boolean): Record<string, unknown> {
    const marriage = marriageOf(idNumber);
    if (!marriage) return { code: mcaCodes.noRecord, msg: '未查询到婚姻登记信息' };
    let holder = marriage.spouses.find((spouse) => spouse.idNumber === idNumber) ?? marriage.spouses[0];
    let record = marriage;
    if (wrongSubject) {
      // Someone else's certificate, well formed: another marriage's first spouse.
      record = seededMarriages.find((other) => other !== marriage) ?? marriage;
      holder = record.spouses[0];
    }
    const spouse = record.spouses[0].idNumber === holder.idNumber ? record.spouses[1] : record.spouses[0];
    const data: MarriageCertificateWire = {
      cert_no: record.certNo,
      holder: { name: holder.name, id_number: holder.idNumber },
      spouse: { name: spouse.name, id_number: spouse.idNumber },
      djrq: record.registeredOn,
      djjg: record.registry,
      djzt: record.state,
      zzwj: oversized
        ? 'A'.repeat(OVERSIZED_PADDING_BYTES)
        : Buffer.from(marriageCertificateDocument(record, holder)).toString('base64'),
    };
    return { code: mcaCodes.success, msg: 'Success', data };
  }

  const simulator = await startSimulator(
    {
      name: 'mca-marriage',
      operationOf: formMethodOperation(MCA_GATEWAY_PATH),
      handle({ request, response, body, url, fault }) {
        const form = readFormBody(body);
        if (form['nonce'] !== undefined) nonces.push(form['nonce']);
        if (proxyRandom && proxyRandom() < proxyRate) {
          proxyFailures += 1;
          const page = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
          response.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) });
          return void response.end(page);
        }
        const answer = (value: Record<string, unknown>): void => {
          if (fault === 'malformed') {
            response.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
            return void response.end(JSON.stringify(value).slice(0, 40));
          }
          send(response, options.rewriteAnswer ? options.rewriteAnswer(value, form['method'] ?? '') : value);
        };
        if (url.pathname !== MCA_GATEWAY_PATH || request.method !== 'POST')
          return answer({ code: mcaCodes.parameterInvalid, msg: '请求地址或方式错误' });
        const contentType = request.headers['content-type'] ?? '';
        if (!/^application\/x-www-form-urlencoded/i.test(contentType))
          return answer({ code: mcaCodes.parameterInvalid, msg: '请求格式错误' });
        const key = apps[form['app_id'] ?? ''];
        if (key === undefined) return answer({ code: mcaCodes.unknownApp, msg: '应用不存在' });
        if (!verifyFieldsSignature('SM3', form, key))
          return answer({ code: mcaCodes.signatureInvalid, msg: '签名错误' });
        let stamped: number;
        try {
          stamped = parseBeijingTimestamp(form['timestamp'] ?? '').getTime();
        } catch {
          return answer({ code: mcaCodes.timestampStale, msg: '时间戳格式错误' });
        }
        const at = now();
        if (Math.abs(at - stamped) > windowMs) return answer({ code: mcaCodes.timestampStale, msg: '时间戳已过期' });
        const nonce = form['nonce'] ?? '';
        if (nonce.length < 16 || nonceReplayed(nonce, at))
          return answer({ code: mcaCodes.nonceReplayed, msg: '重复请求' });
        if (form['version'] !== MCA_PROTOCOL_VERSION || form['sign_type'] !== 'SM3')
          return answer({ code: mcaCodes.parameterInvalid, msg: '版本或签名类型错误' });
        if (fault === 'business_error')
          return answer({ code: mcaCodes.recordSealed, msg: '该婚姻登记档案已封存，暂不提供共享' });
        let biz: unknown;
        try {
          biz = JSON.parse(form['biz_content'] ?? '');
        } catch {
          return answer({ code: mcaCodes.parameterInvalid, msg: 'biz_content 格式错误' });
        }
        if (typeof biz !== 'object' || biz === null)
          return answer({ code: mcaCodes.parameterInvalid, msg: 'biz_content 格式错误' });
        switch (form['method']) {
          case mcaMethods.health:
            return answer({ code: mcaCodes.success, msg: 'Success', data: { status: 'UP' } });
          case mcaMethods.certificateQuery: {
            const idNumber = (biz as { id_number?: unknown }).id_number;
            if (typeof idNumber !== 'string' || !/^\d{17}[\dX]$/.test(idNumber))
              return answer({ code: mcaCodes.parameterInvalid, msg: 'id_number 格式错误' });
            return answer(certificateAnswer(idNumber, fault === 'wrong_subject', fault === 'oversized'));
          }
          default:
            return answer({ code: mcaCodes.parameterInvalid, msg: '不支持的 method' });
        }
      },
    },
    options,
  );
  return {
    ...simulator,
    proxyFailures: () => proxyFailures,
    noncesSeen: () => nonces,
  };
}
