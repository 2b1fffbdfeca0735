/**
 * A stand-in for a Chinese SMS platform (短信平台) speaking the API of protocol.ts, on the SDK's
 * simulator kit: signed requests (HMAC-SHA256 over the sorted parameters with a time stamp and a
 * nonce), approved sign names (签名) and templates (模板), per-number flow control, deduplication
 * by `outId`, receipts (回执) by query and, with a callback URL, pushed.
 *
 * Refusals, as the real platforms give them:
 *  - 400 `MissingParameter` / `InvalidParameter`: a signature header or a parameter missing or malformed;
 *  - 403 `InvalidAppKey`, `InvalidTimeStamp.Expired` (not within ±window of the platform's clock),
 *    `SignatureNonceUsed` (a nonce seen within the window), `SignatureDoesNotMatch`;
 *  - 200 `isv.MOBILE_NUMBER_ILLEGAL` (not a mainland mobile number), `isv.SMS_SIGNATURE_ILLEGAL`,
 *    `isv.SMS_TEMPLATE_ILLEGAL` (not approved), `isv.TEMPLATE_MISSING_PARAMETERS`,
 *    `isv.TEMPLATE_PARAMS_ILLEGAL` (a value over 100 characters or holding 【】),
 *    `isv.BUSINESS_LIMIT_CONTROL` (more messages to one number per hour or day than `limits`).
 *
 * A message is rendered as the handset shows it (`【签名】` + the template with its variables), kept
 * for inspection (`messages()`, `GET /__sms/messages`), and its receipt is final `receiptDelayMs`
 * after acceptance: delivered (`DELIVRD`), or failed with the network's code for numbers marked
 * undeliverable.
 *
 * Protocol-shaped faults: `business_error` → `isv.BUSINESS_LIMIT_CONTROL`; `malformed` → JSON cut
 * short (a message is still accepted: the answer is lost, not the message, which a resend with the
 * same `outId` must survive); `oversized` → a valid answer of about 9 MiB; `wrong_subject` → an
 * answer about another `outId` (or other messages' receipts). In-process, `refuseNext(code)`
 * refuses the next sends with any platform code; over HTTP (loopback, unsigned):
 *
 *     GET  /__sms/messages                 → {count, messages: [...]}
 *     POST /__sms/refusals   {"code": "isv.SMS_TEMPLATE_ILLEGAL", "times": 1}
 *     POST /__sms/undeliverable {"phoneNumber": "13900000000", "code": "MK:0001"}   (code null: deliverable again)
 */
import type { ServerResponse } from 'node:http';
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorDefinition,
  type SimulatorRequest,
  type StartSimulatorOptions,
} from '../sdk/simulator.js';
import {
  MAINLAND_MOBILE,
  MAX_RECEIPT_QUERY,
  NONCE_MIN_LENGTH,
  SIGNATURE_METHOD,
  SMS_HEADERS,
  SMS_PATHS,
  beijingDateTime,
  computeSignature,
  freshNonce,
  pushSignature,
  signatureMatches,
  smsMessages,
  type PushedReceiptWire,
  type ReceiptWire,
  type SmsCode,
  type SmsOperation,
} from './protocol.js';

/** The credentials and sign name the demo configuration uses. */
export const SMS_DEMO_APP_KEY = 'onewindow-demo';
export const SMS_DEMO_APP_SECRET = 'sms-demo-secret-0123456789abcdef';
export const SMS_DEMO_SIGN_NAME = '某某市政务服务中心';
/** Suggested port beside the demo gateway (the departments' simulators use 7101–7103). */
export const SMS_SIMULATOR_DEFAULT_PORT = 7104;

export interface SmsSimulatorOptions {
  /** App keys and their secrets the platform knows. Default: the demo pair. */
  credentials?: readonly { appKey: string; appSecret: string }[];
  /** Sign names (签名) the platform approved. Default: the demo's. */
  signNames?: readonly string[];
  /**
   * Approved templates: code → text with `${name}` variables. Default: every code counts as
   * approved and is rendered as the code followed by its parameters.
   */
  templates?: Readonly<Record<string, string>>;
  /** Accepted clock difference of `x-sms-timestamp`, either way. Default 300 s. */
  signatureWindowSeconds?: number;
  /** The platform's clock, ms since epoch. Default `Date.now`. */
  now?: () => number;
  /** Flow control per phone number. Defaults: 10 an hour, 20 a day. */
  limits?: { perNumberPerHour?: number; perNumberPerDay?: number };
  /** Time from acceptance to the final receipt. Default 0 (at once). */
  receiptDelayMs?: number;
  /** Numbers the network cannot deliver to, with the receipt code it reports (e.g. `MK:0001` 关机). */
  undeliverable?: Readonly<Record<string, string>>;
  /** Where receipts are pushed once final (JSON array, signed); absent: receipts only by query. */
  callbackUrl?: string;
}

export interface SimulatedMessage {
  bizId: string;
  outId: string | null;
  appKey: string;
  phoneNumber: string;
  signName: string;
  templateCode: string;
  templateParams: Record<string, string>;
  /** As the handset shows it. */
  text: string;
  acceptedAt: Date;
  /** The receipt as it stands now. */
  receipt: { state: 'pending' | 'delivered' | 'failed'; code: string | null; reportedAt: Date | null };
}

export interface SmsSimulatorControl {
  /** Every accepted message, oldest first (resends of a known `outId` are not messages of their own). */
  messages(): SimulatedMessage[];
  /** Refuses the next `times` sends (default 1) with this platform code, e.g. `isv.SMS_TEMPLATE_ILLEGAL` or `isp.SYSTEM_ERROR`. */
  refuseNext(code: SmsCode, times?: number): void;
  /** Marks a number undeliverable with this receipt code from now on; null: deliverable again. */
  setUndeliverable(phoneNumber: string, code: string | null): void;
  /** Receipt pushes attempted so far, and those the callback answered with 2xx. */
  pushes(): { attempted: number; accepted: number };
}

export type RunningSmsSimulator = RunningSimulator & SmsSimulatorControl;

const OVERSIZED_PADDING_BYTES = 9 * 1024 * 1024;
const CONTROL_PREFIX = '/__sms/';
const MAX_VARIABLE_CHARS = 100;
const MAX_NUMBERS_PER_SEND = 1000;
const OUT_ID_MEMORY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

const operationsByPath: ReadonlyMap<string, { operation: SmsOperation; method: 'GET' | 'POST' }> = new Map([
  [SMS_PATHS.send, { operation: 'sendSms', method: 'POST' }],
  [SMS_PATHS.receipts, { operation: 'querySendDetails', method: 'POST' }],
  [SMS_PATHS.health, { operation: 'health', method: 'GET' }],
]);

function headerOf(request: SimulatorRequest['request'], name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function writeJson(response: ServerResponse, status: number, text: string): void {
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

/** A flat object of strings (the platform's parameter bodies), or null. */
function stringRecord(value: unknown): Record<string, string> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (!entries.every(([, item]) => typeof item === 'string')) return null;
  return Object.fromEntries(entries) as Record<string, string>;
}

const TEMPLATE_VARIABLE = /\$\{([A-Za-z][A-Za-z0-9_]*)\}/g;

function variablesOf(template: string): string[] {
  return [...template.matchAll(TEMPLATE_VARIABLE)].map((match) => match[1]!);
}

/** Remembers nonces for the signature window; a nonce seen again within it is a replay. */
class NonceMemory {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** False when the nonce was seen within the window. */
  remember(appKey: string, nonce: string, nowMs: number): boolean {
    if (this.seen.size > 10_000) for (const [key, until] of this.seen) if (until < nowMs) this.seen.delete(key);
    const key = `${appKey}\u0000${nonce}`;
    const until = this.seen.get(key);
    if (until !== undefined && until >= nowMs) return false;
    this.seen.set(key, nowMs + 2 * this.windowMs);
    return true;
  }
}

export function createSmsGatewaySimulator(options: SmsSimulatorOptions = {}): {
  definition: SimulatorDefinition;
  control: SmsSimulatorControl;
  close(): void;
} {
  const secrets = new Map(
    (options.credentials ?? [{ appKey: SMS_DEMO_APP_KEY, appSecret: SMS_DEMO_APP_SECRET }]).map((entry) => [
      entry.appKey,
      entry.appSecret,
    ]),
  );
  const signNames = new Set(options.signNames ?? [SMS_DEMO_SIGN_NAME]);
  const templates = options.templates;
  const windowMs = (options.signatureWindowSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const perHour = options.limits?.perNumberPerHour ?? 10;
  const perDay = options.limits?.perNumberPerDay ?? 20;
  const receiptDelayMs = options.receiptDelayMs ?? 0;
  const undeliverable = new Map(Object.entries(options.undeliverable ?? {}));
  const nonces = new NonceMemory(windowMs);
  const messages: (SimulatedMessage & { failureCode: string | null })[] = [];
  const byOutId = new Map<string, SimulatedMessage & { failureCode: string | null }>();
  const refusals: { code: SmsCode; times: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const pushCounts = { attempted: 0, accepted: 0 };
  let sequence = 0;
  let requestSequence = 0;

  const requestId = () => `SIM-${String((requestSequence += 1)).padStart(8, '0')}`;
  const answer = (code: SmsCode, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ code, message: smsMessages[code], requestId: requestId(), ...extra });

  function receiptOf(
    message: SimulatedMessage & { failureCode: string | null },
    nowMs: number,
  ): SimulatedMessage['receipt'] {
    const due = message.acceptedAt.getTime() + receiptDelayMs;
    if (nowMs < due) return { state: 'pending', code: null, reportedAt: null };
    return message.failureCode === null
      ? { state: 'delivered', code: 'DELIVRD', reportedAt: new Date(due) }
      : { state: 'failed', code: message.failureCode, reportedAt: new Date(due) };
  }

  function publicMessage(message: SimulatedMessage & { failureCode: string | null }): SimulatedMessage {
    const { failureCode: _failureCode, ...rest } = message;
    return { ...rest, templateParams: { ...rest.templateParams }, receipt: receiptOf(message, now()) };
  }

  function receiptWire(message: SimulatedMessage & { failureCode: string | null }, nowMs: number): ReceiptWire {
    const receipt = receiptOf(message, nowMs);
    return {
      bizId: message.bizId,
      outId: message.outId,
      phoneNumber: message.phoneNumber,
      sendStatus: receipt.state === 'pending' ? 1 : receipt.state === 'failed' ? 2 : 3,
      errCode: receipt.code ?? '',
      sendDate: beijingDateTime(message.acceptedAt),
      receiveDate: receipt.reportedAt ? beijingDateTime(receipt.reportedAt) : null,
    };
  }

  /** Pushes one message's final receipt to the callback URL, signed; failures are only counted. */
  async function push(message: SimulatedMessage & { failureCode: string | null }): Promise<void> {
    const url = options.callbackUrl;
    const secret = secrets.get(message.appKey);
    if (!url || secret === undefined) return;
    const receipt = receiptOf(message, Number.MAX_SAFE_INTEGER);
    const report: PushedReceiptWire = {
      phone_number: message.phoneNumber,
      send_time: beijingDateTime(message.acceptedAt),
      report_time: beijingDateTime(receipt.reportedAt ?? message.acceptedAt),
      success: receipt.state === 'delivered',
      err_code: receipt.code ?? '',
      err_msg: receipt.state === 'delivered' ? '用户接收成功' : '用户接收失败',
      biz_id: message.bizId,
      out_id: message.outId,
    };
    const body = JSON.stringify([report]);
    const timestamp = String(now());
    const nonce = freshNonce();
    pushCounts.attempted += 1;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SMS_HEADERS.timestamp]: timestamp,
          [SMS_HEADERS.nonce]: nonce,
          [SMS_HEADERS.signature]: pushSignature(secret, timestamp, nonce, body),
        },
        body,
        signal: AbortSignal.timeout(5000),
      });
      await response.arrayBuffer();
      if (response.ok) pushCounts.accepted += 1;
    } catch {
      // A platform retries pushes on its own schedule; the simulator just counts the failure.
    }
  }

  function schedulePush(message: SimulatedMessage & { failureCode: string | null }): void {
    if (!options.callbackUrl) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void push(message);
    }, receiptDelayMs);
    timer.unref();
    timers.add(timer);
  }

  /** The refusal (status and code) of a badly signed request, or null when it is signed correctly. */
  function authenticate(
    simulated: SimulatorRequest,
    path: string,
    parameters: Record<string, string>,
  ): { status: number; code: SmsCode } | null {
    const { request } = simulated;
    const appKey = headerOf(request, SMS_HEADERS.appKey);
    const timestamp = headerOf(request, SMS_HEADERS.timestamp);
    const nonce = headerOf(request, SMS_HEADERS.nonce);
    const method = headerOf(request, SMS_HEADERS.signatureMethod);
    const signature = headerOf(request, SMS_HEADERS.signature);
    if (!appKey || !timestamp || !nonce || !method || !signature) return { status: 400, code: 'MissingParameter' };
    if (method !== SIGNATURE_METHOD || nonce.length < NONCE_MIN_LENGTH || nonce.length > 128)
      return { status: 400, code: 'InvalidParameter' };
    const secret = secrets.get(appKey);
    if (secret === undefined) return { status: 403, code: 'InvalidAppKey' };
    const timestampMs = /^\d{1,15}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
    const nowMs = now();
    if (!Number.isFinite(timestampMs) || Math.abs(nowMs - timestampMs) > windowMs)
      return { status: 403, code: 'InvalidTimeStamp.Expired' };
    const expected = computeSignature(secret, request.method ?? 'POST', path, {
      ...parameters,
      appKey,
      timestamp,
      nonce,
      signatureMethod: method,
    });
    if (!signatureMatches(expected, signature)) return { status: 403, code: 'SignatureDoesNotMatch' };
    // Only a correctly signed request may use up a nonce.
    if (!nonces.remember(appKey, nonce, nowMs)) return { status: 403, code: 'SignatureNonceUsed' };
    return null;
  }

  function render(signName: string, templateCode: string, params: Record<string, string>): string {
    const template = templates?.[templateCode];
    const body =
      template === undefined
        ? `${templateCode} ${JSON.stringify(params)}`
        : template.replace(TEMPLATE_VARIABLE, (_whole, name: string) => params[name] ?? '');
    return `【${signName}】${body}`;
  }

  function sentWithin(phoneNumber: string, nowMs: number, windowLength: number): number {
    return messages.filter(
      (message) => message.phoneNumber === phoneNumber && message.acceptedAt.getTime() > nowMs - windowLength,
    ).length;
  }

  /** One send: the status and answer text. */
  function send(
    simulated: SimulatorRequest,
    appKey: string,
    parameters: Record<string, string>,
  ): { status: number; text: string } {
    const { phoneNumbers, signName, templateCode, templateParam } = parameters;
    if (!phoneNumbers || !signName || !templateCode) return { status: 400, text: answer('MissingParameter') };
    const outId = parameters['outId'] ?? null;
    if (outId !== null && !/^[A-Za-z0-9_.-]{1,64}$/.test(outId))
      return { status: 400, text: answer('InvalidParameter') };
    const numbers = phoneNumbers.split(',').map((number) => number.trim());
    if (numbers.length > MAX_NUMBERS_PER_SEND || !numbers.every((number) => MAINLAND_MOBILE.test(number)))
      return { status: 200, text: answer('isv.MOBILE_NUMBER_ILLEGAL') };
    if (!signNames.has(signName)) return { status: 200, text: answer('isv.SMS_SIGNATURE_ILLEGAL') };
    if (templates !== undefined && templates[templateCode] === undefined)
      return { status: 200, text: answer('isv.SMS_TEMPLATE_ILLEGAL') };
    const params = templateParam === undefined ? {} : stringRecord(parseJson(Buffer.from(templateParam)));
    if (params === null) return { status: 200, text: answer('isv.TEMPLATE_PARAMS_ILLEGAL') };
    const template = templates?.[templateCode];
    if (
      template !== undefined &&
      variablesOf(template).some((name) => params[name] === undefined || params[name] === '')
    )
      return { status: 200, text: answer('isv.TEMPLATE_MISSING_PARAMETERS') };
    if (Object.values(params).some((value) => [...value].length > MAX_VARIABLE_CHARS || /[【】]/.test(value)))
      return { status: 200, text: answer('isv.TEMPLATE_PARAMS_ILLEGAL') };

    const nowMs = now();
    const known = outId === null ? undefined : byOutId.get(`${appKey}\u0000${outId}`);
    if (known && known.acceptedAt.getTime() > nowMs - OUT_ID_MEMORY_MS) {
      // The same message again (a resend after a lost answer): its first id, nothing sent twice.
      return { status: 200, text: answer('OK', { bizId: known.bizId, outId }) };
    }
    const refusal = refusals[0];
    if (refusal) {
      refusal.times -= 1;
      if (refusal.times <= 0) refusals.shift();
      return { status: 200, text: answer(refusal.code) };
    }
    if (simulated.fault === 'business_error') return { status: 200, text: answer('isv.BUSINESS_LIMIT_CONTROL') };
    if (
      numbers.some(
        (number) => sentWithin(number, nowMs, HOUR_MS) >= perHour || sentWithin(number, nowMs, DAY_MS) >= perDay,
      )
    ) {
      return { status: 200, text: answer('isv.BUSINESS_LIMIT_CONTROL') };
    }
    sequence += 1;
    const bizId = `${String(nowMs).padStart(13, '0')}${String(sequence).padStart(6, '0')}^0`;
    let first: (SimulatedMessage & { failureCode: string | null }) | undefined;
    for (const number of numbers) {
      const message = {
        bizId,
        outId,
        appKey,
        phoneNumber: number,
        signName,
        templateCode,
        templateParams: params,
        text: render(signName, templateCode, params),
        acceptedAt: new Date(nowMs),
        receipt: { state: 'pending' as const, code: null, reportedAt: null },
        failureCode: undeliverable.get(number) ?? null,
      };
      messages.push(message);
      first ??= message;
      schedulePush(message);
    }
    if (outId !== null && first) byOutId.set(`${appKey}\u0000${outId}`, first);
    const echoed = simulated.fault === 'wrong_subject' ? `other-${outId ?? 'message'}` : outId;
    return { status: 200, text: answer('OK', { bizId, ...(echoed === null ? {} : { outId: echoed }) }) };
  }

  function receipts(
    simulated: SimulatorRequest,
    appKey: string,
    parameters: Record<string, string>,
  ): { status: number; text: string } {
    const ids = (parameters['bizIds'] ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
    if (ids.length === 0 || ids.length > MAX_RECEIPT_QUERY) return { status: 400, text: answer('InvalidParameter') };
    if (simulated.fault === 'business_error') return { status: 200, text: answer('isv.BUSINESS_LIMIT_CONTROL') };
    const nowMs = now();
    const wanted = new Set(ids);
    const mine = messages.filter((message) => message.appKey === appKey);
    const found =
      simulated.fault === 'wrong_subject'
        ? mine.filter((message) => !wanted.has(message.bizId)).slice(0, 1)
        : mine.filter((message) => wanted.has(message.bizId));
    return { status: 200, text: answer('OK', { receipts: found.map((message) => receiptWire(message, nowMs)) }) };
  }

  const control: SmsSimulatorControl = {
    messages: () => messages.map(publicMessage),
    refuseNext(code, times = 1) {
      refusals.push({ code, times });
    },
    setUndeliverable(phoneNumber, code) {
      if (code === null) undeliverable.delete(phoneNumber);
      else undeliverable.set(phoneNumber, code);
    },
    pushes: () => ({ ...pushCounts }),
  };

  function handleControl({ request, response, body, url }: SimulatorRequest): void {
    const reply = (status: number, value: unknown) => writeJson(response, status, JSON.stringify(value));
    if (url.pathname === `${CONTROL_PREFIX}messages` && request.method === 'GET') {
      const list = control.messages();
      return reply(200, { count: list.length, messages: list });
    }
    const parsed = parseJson(body) as Record<string, unknown> | undefined;
    if (url.pathname === `${CONTROL_PREFIX}refusals` && request.method === 'POST') {
      const code = parsed?.['code'];
      const times = parsed?.['times'] ?? 1;
      if (
        typeof code !== 'string' ||
        !Object.hasOwn(smsMessages, code) ||
        code === 'OK' ||
        typeof times !== 'number' ||
        !Number.isInteger(times) ||
        times < 1
      ) {
        return reply(400, { error: 'body is {"code": a platform code, "times"?: positive integer}' });
      }
      control.refuseNext(code as SmsCode, times);
      return reply(200, { code, times });
    }
    if (url.pathname === `${CONTROL_PREFIX}undeliverable` && request.method === 'POST') {
      const phoneNumber = parsed?.['phoneNumber'];
      const code = parsed?.['code'];
      if (
        typeof phoneNumber !== 'string' ||
        !MAINLAND_MOBILE.test(phoneNumber) ||
        (code !== null && typeof code !== 'string')
      ) {
        return reply(400, { error: 'body is {"phoneNumber": "1xxxxxxxxxx", "code": "MK:0001" | null}' });
      }
      control.setUndeliverable(phoneNumber, code);
      return reply(200, { phoneNumber, code });
    }
    return reply(404, { error: 'unknown control' });
  }

  const definition: SimulatorDefinition = {
    name: 'sms-gateway',
    operationOf: (_request, url) =>
      url.pathname.startsWith(CONTROL_PREFIX)
        ? 'control'
        : (operationsByPath.get(url.pathname)?.operation ?? 'unknown'),
    handle(simulated) {
      const { url, response } = simulated;
      if (url.pathname.startsWith(CONTROL_PREFIX)) return handleControl(simulated);
      const route = operationsByPath.get(url.pathname);
      if (!route || route.method !== (simulated.request.method ?? 'GET'))
        return writeJson(
          response,
          404,
          JSON.stringify({ code: 'InvalidApi.NotFound', message: '接口不存在', requestId: requestId() }),
        );
      if (route.operation === 'health')
        return writeJson(
          response,
          200,
          simulated.fault === 'business_error' ? answer('isp.SYSTEM_ERROR') : answer('OK'),
        );

      const parameters = stringRecord(parseJson(simulated.body));
      if (parameters === null) return writeJson(response, 400, answer('InvalidParameter'));
      const refused = authenticate(simulated, url.pathname, parameters);
      if (refused) return writeJson(response, refused.status, answer(refused.code));
      const appKey = headerOf(simulated.request, SMS_HEADERS.appKey)!;
      const outcome =
        route.operation === 'sendSms' ? send(simulated, appKey, parameters) : receipts(simulated, appKey, parameters);
      if (simulated.fault === 'malformed')
        return writeJson(
          response,
          outcome.status,
          outcome.text.slice(0, Math.max(1, Math.floor(outcome.text.length / 2))),
        );
      if (simulated.fault === 'oversized') {
        const answerObject = JSON.parse(outcome.text) as Record<string, unknown>;
        return writeJson(
          response,
          outcome.status,
          JSON.stringify({ ...answerObject, padding: 'x'.repeat(OVERSIZED_PADDING_BYTES) }),
        );
      }
      return writeJson(response, outcome.status, outcome.text);
    },
  };

  return {
    definition,
    control,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** Starts the simulator on loopback (port 0: a free one). */
export async function startSmsGatewaySimulator(
  options: SmsSimulatorOptions & StartSimulatorOptions = {},
): Promise<RunningSmsSimulator> {
  const { port, host, ...simulatorOptions } = options;
  const { definition, control, close } = createSmsGatewaySimulator(simulatorOptions);
  const running = await startSimulator(definition, {
    ...(port === undefined ? {} : { port }),
    ...(host === undefined ? {} : { host }),
  });
  return {
    ...running,
    ...control,
    close: async () => {
      close();
      await running.close();
    },
  };
}
