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
 * Household move-in applications (`POST /api/v1/hjyw/hkqr`) are received by the application desk
 * (applications.ts): deduplicated by `ywlsh`, checked against the register, and moved through
 * 受理 → 办理中 → 办结 by time (`statusStepMs`) or by hand: in-process `advanceApplication`, or
 * over HTTP (unsigned, loopback, like the kit's fault switch):
 *
 *     POST /__psb/applications/{slbh}/status   {"blzt": "03", "bz": "请补充购房合同"}
 *          → 200 {slbh, blzt} | 400 bad body | 404 unknown slbh | 409 already 办结 / 不予受理
 *     GET  /__psb/applications                 → 200 {count, applications: [{slbh, ywlsh, blzt, gxsj}]}
 *
 * Protocol-shaped faults: `business_error` → 4001 (record restricted; 4000 for health and the
 * application desk, which then creates nothing); `malformed` → a truncated JSON body;
 * `oversized` → a valid answer of about 9 MiB; `wrong_subject` → a well-formed answer about
 * another seeded person (another `ywlsh` or `slbh` for applications). A submission under
 * `malformed` or `oversized` is still received: the answer, not the application, is lost on the
 * way back, which is what a sender's retry with the same `ywlsh` must survive.
 */
import type { ServerResponse } from 'node:http';
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorDefinition,
  type SimulatorRequest,
  type StartSimulatorOptions,
} from '@onewindow/adapter-sdk';
import { ApplicationDesk, isMoveInApplication, type AdvanceOutcome, type ApplicationSummary } from './applications.js';
import { householdRegisterDocument, residentIdCardDocument } from './documents.js';
import { NonceCache } from './nonce-cache.js';
import {
  applicationStatusNames,
  computeSignature,
  NONCE_MIN_LENGTH,
  PSB_PATHS,
  psbCodes,
  psbMessages,
  signatureMatches,
  type ApplicationStatusCode,
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
  /**
   * A move-in application goes 受理 → 办理中 → 办结, one step per this many ms. `false`: it stays
   * 受理 until `advanceApplication` moves it. Default 60 000.
   */
  statusStepMs?: number | false;
}

/** In-process controls of the application desk (also reachable over HTTP under `/__psb/`). */
export interface PsbSimulatorControl {
  /**
   * Moves an application to a status (`blzt`, e.g. `applicationStatusCodes.awaitingApplicant`),
   * with an optional remark (`bz`: what to supply, why not accepted). From then on the application
   * stays where it was put (no automatic steps). `unknown`: no such 受理编号; `final`: it is
   * already 办结 or 不予受理 and cannot move.
   */
  advanceApplication(slbh: string, blzt: ApplicationStatusCode, bz?: string): AdvanceOutcome;
  /** Distinct applications received; resubmissions of a known `ywlsh` do not count. */
  applicationCount(): number;
  /** Every application with its current status. */
  applications(): ApplicationSummary[];
}

export type RunningPsbSimulator = RunningSimulator & PsbSimulatorControl;

const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;
const ID_NUMBER = /^\d{17}[\dX]$/;
const CONTROL_PREFIX = '/__psb/';
const APPLICATION_STATUS_CONTROL = /^\/__psb\/applications\/([^/]+)\/status$/;

const operationsByPath: ReadonlyMap<string, { operation: PsbOperation; method: 'GET' | 'POST' }> = new Map([
  [PSB_PATHS.verifyIdentity, { operation: 'verifyIdentity', method: 'POST' }],
  [PSB_PATHS.residentIdCard, { operation: 'getResidentIdCertificate', method: 'GET' }],
  [PSB_PATHS.householdRegister, { operation: 'getHouseholdRegister', method: 'GET' }],
  [PSB_PATHS.householdMoveIn, { operation: 'submitHouseholdMoveIn', method: 'POST' }],
  [PSB_PATHS.applicationStatus, { operation: 'getApplicationStatus', method: 'GET' }],
  [PSB_PATHS.withdrawApplication, { operation: 'withdrawApplication', method: 'POST' }],
  [PSB_PATHS.health, { operation: 'health', method: 'GET' }],
]);

function operationOf(pathname: string): PsbOperation | 'unknown' {
  return operationsByPath.get(pathname)?.operation ?? 'unknown';
}

function headerOf(request: SimulatorRequest['request'], name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function envelope<Data>(code: string, data: Data | null = null): PsbEnvelope<Data> {
  return { code, msg: psbMessages[code] ?? '未知错误', data };
}

function writeJson(response: ServerResponse, text: string, status = 200): void {
  response.writeHead(status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isApplicationStatusCode(value: unknown): value is ApplicationStatusCode {
  return typeof value === 'string' && Object.hasOwn(applicationStatusNames, value);
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

export function createPsbPopulationSimulator(options: PsbSimulatorOptions = {}): {
  definition: SimulatorDefinition;
  control: PsbSimulatorControl;
} {
  const secrets = new Map(
    (options.credentials ?? [{ appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET }]).map((c) => [
      c.appKey,
      c.appSecret,
    ]),
  );
  const windowMs = (options.signatureWindowSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const nonces = new NonceCache(options.nonceCapacity ?? 100_000, windowMs);
  const people = new Map(seededPeople.map((person) => [person.sfzh, person]));
  const desk = new ApplicationDesk({ people, now, statusStepMs: options.statusStepMs ?? 60_000 });

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
    const expected = computeSignature(secret, {
      method: request.method ?? 'GET',
      target: request.url ?? '/',
      timestamp,
      nonce,
      body,
    });
    if (!signatureMatches(expected, signature)) return psbCodes.signatureInvalid;
    // Only a correctly signed request may take a place in the nonce cache.
    const verdict = nonces.remember(appKey, nonce, timestampMs, nowMs);
    if (verdict === 'replayed') return psbCodes.nonceReplayed;
    if (verdict === 'full') return psbCodes.systemBusy;
    return null;
  }

  /** The requested ID number: query `sfzh` for GETs, body `sfzh` (with `xm`) for the verification. */
  function requestedSubject(
    operation: PsbOperation,
    simulated: SimulatorRequest,
  ): { sfzh: string; xm?: string } | null {
    if (operation === 'verifyIdentity') {
      const parsed = parseJson(simulated.body);
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
      return simulated.fault === 'business_error'
        ? envelope(psbCodes.businessFailure)
        : envelope<HealthWire>(psbCodes.success, { zt: 'UP' });
    }
    if (operation === 'submitHouseholdMoveIn') {
      const application = parseJson(simulated.body);
      if (!isMoveInApplication(application)) return envelope(psbCodes.parameterInvalid);
      // Refused before the desk sees it: nothing is created.
      if (simulated.fault === 'business_error') return envelope(psbCodes.businessFailure);
      const decision = desk.submit(application, simulated.fault === 'wrong_subject');
      return 'data' in decision ? envelope(decision.code, decision.data) : envelope(decision.code);
    }
    if (operation === 'getApplicationStatus') {
      const slbh = simulated.url.searchParams.get('slbh')?.trim() ?? '';
      if (!/^[A-Z0-9]{1,32}$/.test(slbh)) return envelope(psbCodes.parameterInvalid);
      if (simulated.fault === 'business_error') return envelope(psbCodes.businessFailure);
      const decision = desk.status(slbh, simulated.fault === 'wrong_subject');
      return 'data' in decision ? envelope(decision.code, decision.data) : envelope(decision.code);
    }
    if (operation === 'withdrawApplication') {
      const request = parseJson(simulated.body) as { slbh?: unknown; cxyy?: unknown } | null;
      const slbh = typeof request?.slbh === 'string' ? request.slbh.trim() : '';
      const reason = typeof request?.cxyy === 'string' ? request.cxyy.trim() : '';
      if (!/^[A-Z0-9]{1,32}$/.test(slbh) || reason === '' || reason.length > 500)
        return envelope(psbCodes.parameterInvalid);
      if (simulated.fault === 'business_error') return envelope(psbCodes.businessFailure);
      const decision = desk.withdraw(slbh, reason);
      return 'data' in decision ? envelope(decision.code, decision.data) : envelope(decision.code);
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
        // The marital status only with a match (contract 1.3.0), and only where the registry has one.
        const marital = matches && person.marital ? person.marital : {};
        return envelope<VerifyIdentityWireResult>(psbCodes.success, {
          sfzh: person.sfzh,
          pp: matches ? '1' : '0',
          ...marital,
        });
      }
      case 'getResidentIdCertificate':
        return envelope(psbCodes.success, residentIdCardOf(person));
      case 'getHouseholdRegister': {
        const register = householdRegisterOf(person);
        return register ? envelope(psbCodes.success, register) : envelope(psbCodes.householdNotFound);
      }
    }
  }

  const control: PsbSimulatorControl = {
    advanceApplication: (slbh, blzt, bz) => desk.advance(slbh, blzt, bz),
    applicationCount: () => desk.count(),
    applications: () => desk.list(),
  };

  function handleControl({ request, response, body, url }: SimulatorRequest): void {
    const answer = (status: number, value: unknown) => writeJson(response, JSON.stringify(value), status);
    if (url.pathname === `${CONTROL_PREFIX}applications` && request.method === 'GET') {
      return answer(200, { count: desk.count(), applications: desk.list() });
    }
    const match = APPLICATION_STATUS_CONTROL.exec(url.pathname);
    if (request.method !== 'POST' || !match?.[1]) return answer(404, { error: 'unknown control' });
    const parsed = parseJson(body);
    const blzt: unknown =
      typeof parsed === 'object' && parsed !== null ? (parsed as { blzt?: unknown }).blzt : undefined;
    const bz: unknown = typeof parsed === 'object' && parsed !== null ? (parsed as { bz?: unknown }).bz : undefined;
    if (!isApplicationStatusCode(blzt) || (bz !== undefined && typeof bz !== 'string')) {
      return answer(400, {
        error: `body is {"blzt": ${Object.keys(applicationStatusNames).join('|')}, "bz"?: string}`,
      });
    }
    let slbh: string;
    try {
      slbh = decodeURIComponent(match[1]);
    } catch {
      return answer(404, { error: 'unknown slbh' });
    }
    const outcome = control.advanceApplication(slbh, blzt, bz);
    if (outcome === 'unknown') return answer(404, { error: 'unknown slbh' });
    if (outcome === 'final') return answer(409, { error: 'the application is already 办结 or 不予受理' });
    return answer(200, { slbh, blzt });
  }

  const definition: SimulatorDefinition = {
    name: 'psb-population',
    operationOf: (_request, url) => (url.pathname.startsWith(CONTROL_PREFIX) ? 'control' : operationOf(url.pathname)),
    handle(simulated) {
      if (simulated.url.pathname.startsWith(CONTROL_PREFIX)) return handleControl(simulated);
      const operation = operationOf(simulated.url.pathname);
      const method = simulated.request.method ?? 'GET';
      if (operation === 'unknown' || method !== operationsByPath.get(simulated.url.pathname)?.method) {
        simulated.response.writeHead(404, { 'content-type': 'application/json;charset=UTF-8' });
        simulated.response.end(JSON.stringify({ code: '404', msg: '接口不存在', data: null }));
        return;
      }
      const refusal = authenticate(simulated);
      if (refusal !== null) return writeJson(simulated.response, JSON.stringify(envelope(refusal)));

      if (simulated.fault === 'malformed') {
        // A submission is received before the answer is lost: a retry must find it by its ywlsh.
        if (operation === 'submitHouseholdMoveIn') answerFor(operation, { ...simulated, fault: null });
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
  return { definition, control };
}

/** Starts the simulator on loopback (port 0 = any free port; the demo uses 7101). */
export async function startPsbPopulationSimulator(
  options: PsbSimulatorOptions & StartSimulatorOptions = {},
): Promise<RunningPsbSimulator> {
  const { port, host, ...protocol } = options;
  const { definition, control } = createPsbPopulationSimulator(protocol);
  const running = await startSimulator(definition, {
    ...(port === undefined ? {} : { port }),
    ...(host === undefined ? {} : { host }),
  });
  return Object.assign(running, control);
}
