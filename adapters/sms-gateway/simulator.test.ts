/**
 * The SMS platform simulator as a client meets it over HTTP: the signature check (every way a
 * request can be badly signed), the platform's refusals, flow control, outId deduplication,
 * receipts by query and pushed, and the fault switches.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SMS_HEADERS, SMS_PATHS, pushSignature, signatureHeaders, type PushedReceiptWire } from './protocol.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  startSmsGatewaySimulator,
  type RunningSmsSimulator,
  type SmsSimulatorOptions,
} from './simulator.js';

const T0 = Date.parse('2026-03-02T02:00:00.000Z');
const TEMPLATES = { SMS_ACCEPTED: '您的${itemName}已受理，受理编号${caseNumber}。', SMS_PLAIN: '您有一条新消息。' };
const credentials = { appKey: SMS_DEMO_APP_KEY, appSecret: SMS_DEMO_APP_SECRET };
const MOBILE = '13812341234';

let simulator: RunningSmsSimulator | undefined;
let clock = T0;

async function start(options: SmsSimulatorOptions = {}): Promise<RunningSmsSimulator> {
  clock = T0;
  simulator = await startSmsGatewaySimulator({ templates: TEMPLATES, now: () => clock, ...options });
  return simulator;
}

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

function sendBody(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    phoneNumbers: MOBILE,
    signName: SMS_DEMO_SIGN_NAME,
    templateCode: 'SMS_ACCEPTED',
    templateParam: JSON.stringify({ itemName: '企业设立登记', caseNumber: 'OW20260302000001' }),
    outId: 'ntf_test_0001',
    ...overrides,
  };
}

interface Answer {
  status: number;
  body: {
    code: string;
    message: string;
    requestId: string;
    bizId?: string;
    outId?: string;
    receipts?: { bizId: string; sendStatus: number; errCode: string; receiveDate: string | null }[];
  };
}

/** A request signed by `sign` (default: correctly, at the simulator's clock) with `body` sent. */
async function post(
  path: string,
  body: Record<string, string>,
  sign: (headers: Record<string, string>) => Record<string, string> = (headers) => headers,
  signedBody = body,
): Promise<Answer> {
  const headers = sign(signatureHeaders(credentials, 'POST', path, signedBody, clock));
  const response = await fetch(`${simulator!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

describe('the signature check', () => {
  it('accepts a correctly signed send and renders the message as the handset shows it', async () => {
    await start();
    const answer = await post(SMS_PATHS.send, sendBody());
    expect(answer).toMatchObject({ status: 200, body: { code: 'OK', message: 'OK', outId: 'ntf_test_0001' } });
    expect(answer.body.bizId).toMatch(/^\d+\^0$/);
    const [message] = simulator!.messages();
    expect(message).toMatchObject({
      bizId: answer.body.bizId,
      phoneNumber: MOBILE,
      templateCode: 'SMS_ACCEPTED',
      templateParams: { itemName: '企业设立登记', caseNumber: 'OW20260302000001' },
      text: '【某某市政务服务中心】您的企业设立登记已受理，受理编号OW20260302000001。',
    });
  });

  it('refuses missing headers, an unknown app key, a stale time stamp, a short nonce and a wrong signature', async () => {
    await start();
    const without = (name: string) => (headers: Record<string, string>) =>
      Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
    for (const header of Object.values(SMS_HEADERS)) {
      expect(await post(SMS_PATHS.send, sendBody(), without(header)), header).toMatchObject({
        status: 400,
        body: { code: 'MissingParameter' },
      });
    }
    expect(
      await post(SMS_PATHS.send, sendBody(), (headers) => ({ ...headers, [SMS_HEADERS.appKey]: 'someone-else' })),
    ).toMatchObject({ status: 403, body: { code: 'InvalidAppKey' } });
    expect(
      await post(SMS_PATHS.send, sendBody(), (headers) => ({ ...headers, [SMS_HEADERS.signatureMethod]: 'HMAC-SHA1' })),
    ).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    expect(
      await post(SMS_PATHS.send, sendBody(), (headers) => ({ ...headers, [SMS_HEADERS.nonce]: 'short' })),
    ).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    const stale = signatureHeaders(credentials, 'POST', SMS_PATHS.send, sendBody(), clock - 301_000);
    expect(await post(SMS_PATHS.send, sendBody(), () => stale)).toMatchObject({
      status: 403,
      body: { code: 'InvalidTimeStamp.Expired' },
    });
    const future = signatureHeaders(credentials, 'POST', SMS_PATHS.send, sendBody(), clock + 301_000);
    expect(await post(SMS_PATHS.send, sendBody(), () => future)).toMatchObject({
      status: 403,
      body: { code: 'InvalidTimeStamp.Expired' },
    });
    const wrongSecret = signatureHeaders(
      { appKey: SMS_DEMO_APP_KEY, appSecret: 'not-the-secret-0123456789' },
      'POST',
      SMS_PATHS.send,
      sendBody(),
      clock,
    );
    expect(await post(SMS_PATHS.send, sendBody(), () => wrongSecret)).toMatchObject({
      status: 403,
      body: { code: 'SignatureDoesNotMatch' },
    });
    expect(simulator!.messages()).toEqual([]);
  });

  it('covers every parameter: a changed number, template parameter or path breaks the signature', async () => {
    await start();
    const signedFor = sendBody();
    expect(await post(SMS_PATHS.send, sendBody({ phoneNumbers: '13912345678' }), undefined, signedFor)).toMatchObject({
      status: 403,
      body: { code: 'SignatureDoesNotMatch' },
    });
    expect(
      await post(
        SMS_PATHS.send,
        sendBody({ templateParam: JSON.stringify({ itemName: 'x', caseNumber: 'y' }) }),
        undefined,
        signedFor,
      ),
    ).toMatchObject({ status: 403, body: { code: 'SignatureDoesNotMatch' } });
    expect(await post(SMS_PATHS.send, { ...signedFor, extra: '1' }, undefined, signedFor)).toMatchObject({
      status: 403,
      body: { code: 'SignatureDoesNotMatch' },
    });
    const forReceipts = signatureHeaders(credentials, 'POST', SMS_PATHS.receipts, signedFor, clock);
    expect(await post(SMS_PATHS.send, signedFor, () => forReceipts)).toMatchObject({
      status: 403,
      body: { code: 'SignatureDoesNotMatch' },
    });
    expect(simulator!.messages()).toEqual([]);
  });

  it('refuses a replayed nonce, but a badly signed request does not use one up', async () => {
    await start();
    const headers = signatureHeaders(credentials, 'POST', SMS_PATHS.send, sendBody(), clock);
    const forged = { ...headers, [SMS_HEADERS.signature]: '0'.repeat(64) };
    expect(await post(SMS_PATHS.send, sendBody(), () => forged)).toMatchObject({
      status: 403,
      body: { code: 'SignatureDoesNotMatch' },
    });
    expect(await post(SMS_PATHS.send, sendBody(), () => headers)).toMatchObject({ status: 200, body: { code: 'OK' } });
    expect(await post(SMS_PATHS.send, sendBody(), () => headers)).toMatchObject({
      status: 403,
      body: { code: 'SignatureNonceUsed' },
    });
  });
});

describe('the platform', () => {
  it('refuses an invalid number, an unknown sign name, a template not approved, missing or illegal variables', async () => {
    await start();
    expect((await post(SMS_PATHS.send, sendBody({ phoneNumbers: '12812341234' }))).body.code).toBe(
      'isv.MOBILE_NUMBER_ILLEGAL',
    );
    expect((await post(SMS_PATHS.send, sendBody({ phoneNumbers: '1381234123' }))).body.code).toBe(
      'isv.MOBILE_NUMBER_ILLEGAL',
    );
    expect((await post(SMS_PATHS.send, sendBody({ signName: '别的中心' }))).body.code).toBe(
      'isv.SMS_SIGNATURE_ILLEGAL',
    );
    expect((await post(SMS_PATHS.send, sendBody({ templateCode: 'SMS_UNKNOWN' }))).body.code).toBe(
      'isv.SMS_TEMPLATE_ILLEGAL',
    );
    expect(
      (await post(SMS_PATHS.send, sendBody({ templateParam: JSON.stringify({ itemName: '企业设立登记' }) }))).body.code,
    ).toBe('isv.TEMPLATE_MISSING_PARAMETERS');
    expect(
      (
        await post(
          SMS_PATHS.send,
          sendBody({ templateParam: JSON.stringify({ itemName: '【假冒】', caseNumber: 'x' }) }),
        )
      ).body.code,
    ).toBe('isv.TEMPLATE_PARAMS_ILLEGAL');
    expect((await post(SMS_PATHS.send, sendBody({ templateParam: '["not", "an object"]' }))).body.code).toBe(
      'isv.TEMPLATE_PARAMS_ILLEGAL',
    );
    expect((await post(SMS_PATHS.send, { signName: SMS_DEMO_SIGN_NAME, templateCode: 'SMS_PLAIN' })).body.code).toBe(
      'MissingParameter',
    );
    expect(simulator!.messages()).toEqual([]);
  });

  it('applies flow control per number and hour (isv.BUSINESS_LIMIT_CONTROL), and lets the number through again an hour later', async () => {
    await start({ limits: { perNumberPerHour: 2, perNumberPerDay: 3 } });
    for (const outId of ['a1', 'a2']) expect((await post(SMS_PATHS.send, sendBody({ outId }))).body.code).toBe('OK');
    expect((await post(SMS_PATHS.send, sendBody({ outId: 'a3' }))).body).toMatchObject({
      code: 'isv.BUSINESS_LIMIT_CONTROL',
      message: '触发号码天级或小时级流控',
    });
    expect((await post(SMS_PATHS.send, sendBody({ outId: 'b1', phoneNumbers: '13912345678' }))).body.code).toBe('OK');
    clock += 3600_001;
    expect((await post(SMS_PATHS.send, sendBody({ outId: 'a4' }))).body.code).toBe('OK');
    // The day's limit holds across hours.
    clock += 3600_001;
    expect((await post(SMS_PATHS.send, sendBody({ outId: 'a5' }))).body.code).toBe('isv.BUSINESS_LIMIT_CONTROL');
  });

  it('answers a resend with the same outId with the first bizId and sends nothing twice', async () => {
    await start();
    const first = await post(SMS_PATHS.send, sendBody());
    const again = await post(SMS_PATHS.send, sendBody());
    expect(again.body).toMatchObject({ code: 'OK', bizId: first.body.bizId, outId: 'ntf_test_0001' });
    expect(simulator!.messages()).toHaveLength(1);
  });

  it('keeps receipts by query: waiting, then delivered or failed with the network code', async () => {
    await start({ receiptDelayMs: 5000, undeliverable: { '13900000000': 'MK:0001' } });
    const delivered = (await post(SMS_PATHS.send, sendBody())).body.bizId!;
    const failed = (await post(SMS_PATHS.send, sendBody({ phoneNumbers: '13900000000', outId: 'ntf_test_0002' }))).body
      .bizId!;
    const query = () => post(SMS_PATHS.receipts, { bizIds: `${delivered},${failed},unknown^0` });
    const waiting = await query();
    expect(waiting.body.receipts?.map((receipt) => [receipt.sendStatus, receipt.errCode, receipt.receiveDate])).toEqual(
      [
        [1, '', null],
        [1, '', null],
      ],
    );
    clock += 5000;
    const final = await query();
    expect(final.body.receipts).toEqual([
      expect.objectContaining({
        bizId: delivered,
        phoneNumber: MOBILE,
        outId: 'ntf_test_0001',
        sendStatus: 3,
        errCode: 'DELIVRD',
        sendDate: '2026-03-02 10:00:00',
        receiveDate: '2026-03-02 10:00:05',
      }),
      expect.objectContaining({ bizId: failed, sendStatus: 2, errCode: 'MK:0001' }),
    ]);
    expect((await post(SMS_PATHS.receipts, { bizIds: '' })).status).toBe(400);
    expect(
      (await post(SMS_PATHS.receipts, { bizIds: Array.from({ length: 51 }, (_, index) => `b${index}`).join(',') }))
        .status,
    ).toBe(400);
  });

  it('pushes final receipts to the callback URL, signed', async () => {
    const received: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const callback: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
        response.writeHead(200).end('{"code":0}');
      });
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    try {
      await start({
        callbackUrl: `http://127.0.0.1:${(callback.address() as AddressInfo).port}/receipts`,
        undeliverable: { '13900000000': 'UNDELIV' },
      });
      await post(SMS_PATHS.send, sendBody({ phoneNumbers: '13900000000' }));
      await expect.poll(() => simulator!.pushes()).toEqual({ attempted: 1, accepted: 1 });
      const [push] = received;
      const [report] = JSON.parse(push!.body) as PushedReceiptWire[];
      expect(report).toMatchObject({
        phone_number: '13900000000',
        success: false,
        err_code: 'UNDELIV',
        out_id: 'ntf_test_0001',
      });
      const header = (name: string) => String(push!.headers[name]);
      expect(header(SMS_HEADERS.signature)).toBe(
        pushSignature(SMS_DEMO_APP_SECRET, header(SMS_HEADERS.timestamp), header(SMS_HEADERS.nonce), push!.body),
      );
    } finally {
      await new Promise<void>((resolve) => callback.close(() => resolve()));
    }
  });

  it('answers health unsigned, and 404 for an unknown path', async () => {
    await start();
    expect(await (await fetch(`${simulator!.url}${SMS_PATHS.health}`)).json()).toMatchObject({ code: 'OK' });
    expect((await fetch(`${simulator!.url}/sms/other`, { method: 'POST' })).status).toBe(404);
  });
});

describe('faults', () => {
  it('answers 503 under http_5xx and refuses under business_error with flow control, for the operation switched', async () => {
    await start();
    simulator!.setFault({ kind: 'http_5xx', operation: 'sendSms', times: 1 });
    expect((await post(SMS_PATHS.send, sendBody())).status).toBe(503);
    simulator!.setFault({ kind: 'business_error', operation: 'sendSms', times: 1 });
    expect((await post(SMS_PATHS.send, sendBody())).body.code).toBe('isv.BUSINESS_LIMIT_CONTROL');
    expect((await post(SMS_PATHS.send, sendBody())).body.code).toBe('OK');
    expect(simulator!.requestCount('sendSms')).toBe(3);
  });

  it('loses the answer but keeps the message under malformed, and answers about another outId under wrong_subject', async () => {
    await start();
    simulator!.setFault({ kind: 'malformed', operation: 'sendSms', times: 1 });
    const response = await fetch(`${simulator!.url}${SMS_PATHS.send}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signatureHeaders(credentials, 'POST', SMS_PATHS.send, sendBody(), clock),
      },
      body: JSON.stringify(sendBody()),
    });
    const text = Buffer.from(await response.arrayBuffer()).toString('utf8');
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(simulator!.messages()).toHaveLength(1);
    simulator!.setFault({ kind: 'wrong_subject', operation: 'sendSms', times: 1 });
    expect((await post(SMS_PATHS.send, sendBody({ outId: 'ntf_test_0009' }))).body.outId).toBe('other-ntf_test_0009');
  });

  it('refuses the next sends with any platform code, in process or over HTTP, and marks numbers undeliverable', async () => {
    await start();
    simulator!.refuseNext('isv.SMS_TEMPLATE_ILLEGAL');
    expect((await post(SMS_PATHS.send, sendBody())).body.code).toBe('isv.SMS_TEMPLATE_ILLEGAL');
    const control = await fetch(`${simulator!.url}/__sms/refusals`, {
      method: 'POST',
      body: JSON.stringify({ code: 'isp.SYSTEM_ERROR', times: 2 }),
    });
    expect(control.status).toBe(200);
    expect((await post(SMS_PATHS.send, sendBody())).body.code).toBe('isp.SYSTEM_ERROR');
    expect((await post(SMS_PATHS.send, sendBody())).body.code).toBe('isp.SYSTEM_ERROR');
    expect(
      (
        await fetch(`${simulator!.url}/__sms/undeliverable`, {
          method: 'POST',
          body: JSON.stringify({ phoneNumber: MOBILE, code: 'MK:0001' }),
        })
      ).status,
    ).toBe(200);
    expect((await post(SMS_PATHS.send, sendBody())).body.code).toBe('OK');
    const listed = (await (await fetch(`${simulator!.url}/__sms/messages`)).json()) as {
      count: number;
      messages: { receipt: { state: string; code: string } }[];
    };
    expect(listed).toMatchObject({ count: 1, messages: [{ receipt: { state: 'failed', code: 'MK:0001' } }] });
    expect(
      (await fetch(`${simulator!.url}/__sms/refusals`, { method: 'POST', body: JSON.stringify({ code: 'OK' }) }))
        .status,
    ).toBe(400);
  });
});
