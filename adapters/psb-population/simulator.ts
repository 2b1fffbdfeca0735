/**
 * A stand-in for the provincial Public Security population registry: REST/JSON over HTTP with signed
 * requests, pinyin field names and errors as HTTP 200 with a non-`0000` code (see protocol.ts and
 * contracts/psb/psb.population.openapi.yaml).
 *
 * Every request must be signed. Refusals, all HTTP 200 like the real system:
 *  - 1001 signature headers missing, nonce shorter than 16 characters, or signature wrong;
 *  - 1004 unknown app key;
 *  - 1002 time stamp not within ±window (default 300 s) of the simulator's clock;
 *  - 1003 nonce already used within the window (bounded cache; when full, 9999 busy).
 *
 * Protocol-shaped faults: `business_error` → 4001 (record restricted; 4000 for health);
 * `malformed` → a truncated JSON body; `oversized` → a valid answer of about 9 MiB;
 * `wrong_subject` → a well-formed answer about another seeded person.
 */
import type { ServerResponse } from 'node:http';
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorDefinition,
  type SimulatorRequest,
  type StartSimulatorOptions,
} from '../sdk/simulator.js';
import { householdRegisterDocument, residentIdCardDocument } from './documents.js';
import { NonceCache } from './nonce-cache.js';
import {
  computeSignature,
  NONCE_MIN_LENGTH,
  PSB_PATHS,
  psbCodes,
  psbMessages,
  signatureMatches,
  type HealthWire,
  type HouseholdRegisterWire,
  type PsbEnvelope,
  type PsbOperation,
  type ResidentIdCardWire,
  type VerifyIdentityWireResult,
} from './protocol.js';
import { seededPeople, type SeededPerson } from './seed.js';

/** The credentials the demo configuration uses. */
export const PSB_DEMO_APP_KEY = 'onewindow-demo';
export const PSB_DEMO_APP_SECRET = 'psb-demo-secret-0123456789abcdef';
/** Suggested port for the simulator beside the demo gateway. */
export const PSB_SIMULATOR_DEFAULT_PORT = 7101;

export interface PsbSimulatorOptions {
  /** App keys and their secrets the registry knows. Default: the demo pair. */
  credentials?: readonly { appKey: string; appSecret: string }[];
  /** Accepted clock difference of `x-timestamp`, either way. Default 300 s. */
  signatureWindowSeconds?: number;
  /** Nonces remembered at most (within the window). Default 100 000. */
  nonceCapacity?: number;
  /** The registry's clock, ms since epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * Test hook: rewrites every answer envelope before it is sent, e.g. to break the contract with a
   * field of the wrong type. Not used by the demo.
   */
  rewriteAnswer?: (operation: PsbOperation, envelope: PsbEnvelope<unknown>) => unknown;
}

const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;
const ID_NUMBER = /^\d{17}[\dX]$/;

function operationOf(pathname: string): PsbOperation | 'unknown' {
  switch (pathname) {
    case PSB_PATHS.verifyIdentity:
      return 'verifyIdentity';
    case PSB_PATHS.residentIdCard:
      return 'getResidentIdCertificate';
    case PSB_PATHS.householdRegister:
      return 'getHouseholdRegister';
    case PSB_PATHS.health:
      return 'health';
    default:
      return 'unknown';
  }
}

function headerOf(request: SimulatorRequest['request'], name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function envelope<Data>(code: string, data: Data | null = null): PsbEnvelope<Data> {
  return { code, msg: psbMessages[code] ?? '未知错误', data };
}

function writeJson(response: ServerResponse, text: string): void {
  response.writeHead(200, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function personFields(person: SeededPerson): Pick<ResidentIdCardWire, 'xm' | 'sfzh' | 'xb' | 'mz' | 'csrq' | 'zz'> {
  return { xm: person.xm, sfzh: person.sfzh, xb: person.xb, mz: person.mz, csrq: person.csrq, zz: person.zz };
}

function residentIdCardOf(person: SeededPerson): ResidentIdCardWire {
  return {
    ...personFields(person),
    zjhm: person.sfzh,
    qfjg: person.idCard.qfjg,
    yxqxq: person.idCard.yxqxq,
    yxqjzrq: person.idCard.yxqjzrq,
    zjzt: person.idCard.zjzt,
    wjlx: 'pdf',
    wjnr: Buffer.from(residentIdCardDocument(person)).toString('base64'),
  };
}

function householdRegisterOf(person: SeededPerson): HouseholdRegisterWire | null {
  const household = person.household;
  const document = householdRegisterDocument(person);
  if (!household || !document) return null;
  return {
    ...personFields(person),
    hh: household.hh,
    hzxm: household.hzxm,
    yhzgx: household.yhzgx,
    hb: household.hb,
    zjhm: household.zjhm,
    qfjg: household.qfjg,
    yxqxq: household.yxqxq,
    yxqjzrq: '长期',
    zjzt: '1',
    wjlx: 'pdf',
    wjnr: Buffer.from(document).toString('base64'),
  };
}

export function psbPopulationSimulator(options: PsbSimulatorOptions = {}): SimulatorDefinition {
  const secrets = new Map((options.credentials ?? [{ appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET }]).map((c) => [c.appKey, c.appSecret]));
  const windowMs = (options.signatureWindowSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const nonces = new NonceCache(options.nonceCapacity ?? 100_000, windowMs);
  const people = new Map(seededPeople.map((person) => [person.sfzh, person]));

  /** Another seeded person than `sfzh` (for `wrong_subject`). */
  function someoneElse(sfzh: string): SeededPerson {
    const other = seededPeople.find((person) => person.sfzh !== sfzh && person.household !== undefined);
    if (!other) throw new Error('the seed needs at least two people with households');
    return other;
  }

  /** The refusal code for a badly signed request, or null when the signature is good. */
  function authenticate(simulated: SimulatorRequest): string | null {
    const { request, body } = simulated;
    const appKey = headerOf(request, 'x-app-key');
    const timestamp = headerOf(request, 'x-timestamp');
    const nonce = headerOf(request, 'x-nonce');
    const signature = headerOf(request, 'x-signature');
    if (!appKey || !timestamp || !nonce || !signature) return psbCodes.signatureInvalid;
    const secret = secrets.get(appKey);
    if (secret === undefined) return psbCodes.appKeyUnknown;
    const timestampMs = /^\d{1,15}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
    const nowMs = now();
    if (!Number.isFinite(timestampMs) || Math.abs(nowMs - timestampMs) > windowMs) return psbCodes.timestampStale;
    if (nonce.length < NONCE_MIN_LENGTH || nonce.length > 128) return psbCodes.signatureInvalid;
    const expected = computeSignature(secret, { method: request.method ?? 'GET', target: request.url ?? '/', timestamp, nonce, body });
    if (!signatureMatches(expected, signature)) return psbCodes.signatureInvalid;
    // Only a correctly signed request may take a place in the nonce cache.
    const verdict = nonces.remember(appKey, nonce, timestampMs, nowMs);
    if (verdict === 'replayed') return psbCodes.nonceReplayed;
    if (verdict === 'full') return psbCodes.systemBusy;
    return null;
  }

  /** The requested ID number: query `sfzh` for GETs, body `sfzh` (with `xm`) for the verification. */
  function requestedSubject(operation: PsbOperation, simulated: SimulatorRequest): { sfzh: string; xm?: string } | null {
    if (operation === 'verifyIdentity') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(simulated.body.toString('utf8'));
      } catch {
        return null;
      }
      if (typeof parsed !== 'object' || parsed === null) return null;
      const { xm, sfzh } = parsed as { xm?: unknown; sfzh?: unknown };
      if (typeof xm !== 'string' || xm.trim() === '' || typeof sfzh !== 'string') return null;
      const normalised = sfzh.trim().toUpperCase();
      return ID_NUMBER.test(normalised) ? { sfzh: normalised, xm: xm.trim() } : null;
    }
    const sfzh = simulated.url.searchParams.get('sfzh')?.trim().toUpperCase() ?? '';
    return ID_NUMBER.test(sfzh) ? { sfzh } : null;
  }

  function answerFor(operation: PsbOperation, simulated: SimulatorRequest): PsbEnvelope<unknown> {
    if (operation === 'health') {
      return simulated.fault === 'business_error' ? envelope(psbCodes.businessFailure) : envelope<HealthWire>(psbCodes.success, { zt: 'UP' });
    }
    const subject = requestedSubject(operation, simulated);
    if (!subject) return envelope(psbCodes.parameterInvalid);
    if (simulated.fault === 'business_error') return envelope(psbCodes.recordRestricted);
    const found = people.get(subject.sfzh);
    if (!found) return envelope(psbCodes.personNotFound);
    const person = simulated.fault === 'wrong_subject' ? someoneElse(subject.sfzh) : found;
    switch (operation) {
      case 'verifyIdentity': {
        const matches = found.xm === subject.xm;
        return envelope<VerifyIdentityWireResult>(psbCodes.success, { sfzh: person.sfzh, pp: matches ? '1' : '0' });
      }
      case 'getResidentIdCertificate':
        return envelope(psbCodes.success, residentIdCardOf(person));
      case 'getHouseholdRegister': {
        const register = householdRegisterOf(person);
        return register ? envelope(psbCodes.success, register) : envelope(psbCodes.householdNotFound);
      }
    }
  }

  return {
    name: 'psb-population',
    operationOf: (_request, url) => operationOf(url.pathname),
    handle(simulated) {
      const operation = operationOf(simulated.url.pathname);
      const method = simulated.request.method ?? 'GET';
      if (operation === 'unknown' || method !== (operation === 'verifyIdentity' ? 'POST' : 'GET')) {
        simulated.response.writeHead(404, { 'content-type': 'application/json;charset=UTF-8' });
        simulated.response.end(JSON.stringify({ code: '404', msg: '接口不存在', data: null }));
        return;
      }
      const refusal = authenticate(simulated);
      if (refusal !== null) return writeJson(simulated.response, JSON.stringify(envelope(refusal)));

      if (simulated.fault === 'malformed') {
        // A proxy cut the answer short: the start of a JSON envelope and nothing more.
        return writeJson(simulated.response, '{"code":"0000","msg":"成功","data":{"sfzh":"1101');
      }
      let answer = answerFor(operation, simulated);
      if (simulated.fault === 'oversized') {
        const data = typeof answer.data === 'object' && answer.data !== null ? answer.data : {};
        answer = { ...answer, data: { ...data, wjnr: 'A'.repeat(OVERSIZED_PADDING_BYTES) } };
      }
      const sent = options.rewriteAnswer ? options.rewriteAnswer(operation, answer) : answer;
      writeJson(simulated.response, JSON.stringify(sent));
    },
  };
}

/** Starts the simulator on loopback (port 0 = any free port; the demo uses 7101). */
export function startPsbPopulationSimulator(options: PsbSimulatorOptions & StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const { port, host, ...protocol } = options;
  return startSimulator(psbPopulationSimulator(protocol), { ...(port === undefined ? {} : { port }), ...(host === undefined ? {} : { host }) });
}
