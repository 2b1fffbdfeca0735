/**
 * The SMS adapter against the simulator, through the SDK's resilient client: sending with the
 * sign name and template, retries only where the platform deduplicates, every refusal and fault
 * mapped to its error kind with the platform's code, receipts, health, options.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DepartmentError } from '../sdk/errors.js';
import type { NotificationAdapter } from '../sdk/notification.js';
import { smsGatewayAdapter, smsGatewayOptionsSchema, type SmsGatewayOptions } from './adapter.js';
import {
  SMS_DEMO_APP_KEY,
  SMS_DEMO_APP_SECRET,
  SMS_DEMO_SIGN_NAME,
  startSmsGatewaySimulator,
  type RunningSmsSimulator,
  type SmsSimulatorOptions,
} from './simulator.js';
import { smsTestEnvironment } from './test-environment.js';

const T0 = Date.parse('2026-03-02T02:00:00.000Z');
const TEMPLATES = { SMS_ACCEPTED: '您的${itemName}已受理，受理编号${caseNumber}，承诺${dueOn}前办结。' };
const MESSAGE = {
  idempotencyKey: 'ntf_adapter_0001',
  phoneNumber: '13812341234',
  templateCode: 'SMS_ACCEPTED',
  templateParams: { itemName: '企业设立登记', caseNumber: 'OW20260302000001', dueOn: '2026年3月5日' },
};
const context = { requestId: 'req-sms-test' };
const tuning = {
  retries: 2,
  retryMinDelayMs: 1,
  retryMaxDelayMs: 5,
  headersTimeoutMs: 300,
  budgetMs: 1500,
  breakerFailures: 100,
};

let simulator: RunningSmsSimulator | undefined;
let adapter: NotificationAdapter | undefined;
let clock = T0;

async function start(
  simulatorOptions: SmsSimulatorOptions = {},
  options: Partial<SmsGatewayOptions> = {},
  adapterClock: () => number = () => clock,
): Promise<{ simulator: RunningSmsSimulator; adapter: NotificationAdapter }> {
  clock = T0;
  simulator = await startSmsGatewaySimulator({ templates: TEMPLATES, now: () => clock, ...simulatorOptions });
  adapter = smsGatewayAdapter.create(
    smsGatewayOptionsSchema.parse({
      appKey: SMS_DEMO_APP_KEY,
      appSecret: SMS_DEMO_APP_SECRET,
      signName: SMS_DEMO_SIGN_NAME,
      ...options,
    }),
    smsTestEnvironment(simulator.url, { ...tuning, now: adapterClock }),
  );
  return { simulator, adapter };
}

afterEach(async () => {
  await adapter?.close();
  await simulator?.close();
  adapter = undefined;
  simulator = undefined;
});

async function failure(promise: Promise<unknown>): Promise<DepartmentError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof DepartmentError)) throw new Error(`expected a DepartmentError, got ${String(error)}`);
  return error;
}

describe('sending', () => {
  it('sends the template with its parameters under the sign name, and returns the platform id', async () => {
    const { simulator, adapter } = await start();
    const receipt = await adapter.send(MESSAGE, context);
    expect(receipt.messageId).toMatch(/\^0$/);
    expect(simulator.messages()).toEqual([
      expect.objectContaining({
        bizId: receipt.messageId,
        outId: 'ntf_adapter_0001',
        phoneNumber: '13812341234',
        signName: '某某市政务服务中心',
        templateCode: 'SMS_ACCEPTED',
        templateParams: MESSAGE.templateParams,
        text: '【某某市政务服务中心】您的企业设立登记已受理，受理编号OW20260302000001，承诺2026年3月5日前办结。',
      }),
    ]);
  });

  it('retries after a 503, signing each attempt afresh; the platform failing in its answer (isp.SYSTEM_ERROR) is unavailable', async () => {
    const { simulator, adapter } = await start();
    simulator.setFault({ kind: 'http_5xx', operation: 'sendSms', times: 2 });
    await adapter.send(MESSAGE, context);
    expect(simulator.requestCount('sendSms')).toBe(3);
    expect(simulator.messages()).toHaveLength(1);
    simulator.refuseNext('isp.SYSTEM_ERROR');
    const failed = await failure(adapter.send({ ...MESSAGE, idempotencyKey: 'ntf_adapter_0010' }, context));
    expect(failed).toMatchObject({ kind: 'unavailable', details: { departmentCode: 'isp.SYSTEM_ERROR' } });
    expect(simulator.messages()).toHaveLength(1);
  });

  it('survives a lost answer: the resend with the same key is answered with the first id, one message', async () => {
    const { simulator, adapter } = await start();
    simulator.setFault({ kind: 'malformed', operation: 'sendSms', times: 1 });
    expect((await failure(adapter.send(MESSAGE, context))).kind).toBe('malformed');
    const [first] = simulator.messages();
    const again = await adapter.send(MESSAGE, context);
    expect(again.messageId).toBe(first!.bizId);
    expect(simulator.messages()).toHaveLength(1);
  });

  it('does not retry a send when the platform does not deduplicate by outId', async () => {
    const { simulator, adapter } = await start({}, { deduplicatesByOutId: false });
    simulator.setFault({ kind: 'http_5xx', operation: 'sendSms', times: 1 });
    expect((await failure(adapter.send(MESSAGE, context))).kind).toBe('unavailable');
    expect(simulator.requestCount('sendSms')).toBe(1);
  });

  it('maps the platform’s refusals to business errors carrying its code and words, sent once', async () => {
    const { simulator, adapter } = await start({ limits: { perNumberPerHour: 1 } });
    const limited = await failure(
      (async () => {
        await adapter.send(MESSAGE, context);
        return adapter.send({ ...MESSAGE, idempotencyKey: 'ntf_adapter_0002' }, context);
      })(),
    );
    expect(limited).toMatchObject({
      kind: 'business_error',
      details: {
        department: 'SMS',
        operation: 'sendSms',
        departmentCode: 'isv.BUSINESS_LIMIT_CONTROL',
        departmentMessage: '触发号码天级或小时级流控',
      },
    });
    const template = await failure(
      adapter.send(
        {
          ...MESSAGE,
          idempotencyKey: 'ntf_adapter_0003',
          phoneNumber: '13912345678',
          templateCode: 'SMS_NOT_APPROVED',
        },
        context,
      ),
    );
    expect(template.details.departmentCode).toBe('isv.SMS_TEMPLATE_ILLEGAL');
    expect(template.message).not.toContain('13912345678');
    simulator.resetCounts();
    simulator.refuseNext('isv.MOBILE_NUMBER_ILLEGAL');
    expect(
      (
        await failure(
          adapter.send({ ...MESSAGE, idempotencyKey: 'ntf_adapter_0004', phoneNumber: '13912345678' }, context),
        )
      ).details.departmentCode,
    ).toBe('isv.MOBILE_NUMBER_ILLEGAL');
    expect(simulator.requestCount('sendSms')).toBe(1);
    // A number that is not a mainland mobile number is refused before any call.
    expect(
      (await failure(adapter.send({ ...MESSAGE, phoneNumber: '+8613812341234' }, context))).details.departmentCode,
    ).toBe('isv.MOBILE_NUMBER_ILLEGAL');
    expect(simulator.requestCount('sendSms')).toBe(1);
  });

  it('is refused (rejected, with the code) on wrong credentials or a clock off by more than the window', async () => {
    const { simulator } = await start({
      credentials: [{ appKey: SMS_DEMO_APP_KEY, appSecret: 'another-secret-0123456789abcdef' }],
    });
    expect((await failure(adapter!.send(MESSAGE, context))).details).toMatchObject({
      status: 403,
      departmentCode: 'SignatureDoesNotMatch',
    });
    await adapter!.close();
    adapter = smsGatewayAdapter.create(
      smsGatewayOptionsSchema.parse({
        appKey: SMS_DEMO_APP_KEY,
        appSecret: 'another-secret-0123456789abcdef',
        signName: SMS_DEMO_SIGN_NAME,
      }),
      smsTestEnvironment(simulator.url, { ...tuning, now: () => clock - 600_000 }),
    );
    const stale = await failure(adapter.send(MESSAGE, context));
    expect(stale).toMatchObject({ kind: 'rejected', details: { departmentCode: 'InvalidTimeStamp.Expired' } });
    expect(stale.message).toContain('check the clock');
  });

  it('refuses an answer about another message (wrong_subject), an oversized answer and a platform that does not answer', async () => {
    const { simulator, adapter } = await start();
    simulator.setFault({ kind: 'wrong_subject', operation: 'sendSms', times: 1 });
    expect((await failure(adapter.send(MESSAGE, context))).kind).toBe('wrong_subject');
    simulator.setFault({ kind: 'oversized', operation: 'sendSms', times: 1 });
    expect((await failure(adapter.send({ ...MESSAGE, idempotencyKey: 'ntf_adapter_0005' }, context))).kind).toBe(
      'oversized',
    );
    simulator.setFault({ kind: 'timeout', operation: 'sendSms' });
    expect((await failure(adapter.send({ ...MESSAGE, idempotencyKey: 'ntf_adapter_0006' }, context))).kind).toBe(
      'timeout',
    );
    simulator.setFault(null);
  });
});

describe('receipts and health', () => {
  it('reads receipts: pending, then delivered with the network’s time, or failed with its code', async () => {
    const { adapter } = await start({ receiptDelayMs: 3000, undeliverable: { '13900000000': 'MK:0001' } });
    const delivered = await adapter.send(MESSAGE, context);
    const failed = await adapter.send(
      { ...MESSAGE, idempotencyKey: 'ntf_adapter_0007', phoneNumber: '13900000000' },
      context,
    );
    const queries = [
      { messageId: delivered.messageId, phoneNumber: MESSAGE.phoneNumber, sentAt: new Date(T0) },
      { messageId: failed.messageId, phoneNumber: '13900000000', sentAt: new Date(T0) },
      { messageId: '99999^0', phoneNumber: MESSAGE.phoneNumber, sentAt: new Date(T0) },
    ];
    expect(await adapter.queryDeliveryReports!(queries, context)).toEqual([
      { messageId: delivered.messageId, state: 'pending', code: null, reportedAt: null },
      { messageId: failed.messageId, state: 'pending', code: null, reportedAt: null },
    ]);
    clock += 3000;
    expect(await adapter.queryDeliveryReports!(queries, context)).toEqual([
      {
        messageId: delivered.messageId,
        state: 'delivered',
        code: 'DELIVRD',
        reportedAt: new Date(T0 + 3000).toISOString(),
      },
      { messageId: failed.messageId, state: 'failed', code: 'MK:0001', reportedAt: new Date(T0 + 3000).toISOString() },
    ]);
  });

  it('refuses receipts of messages not asked about', async () => {
    const { simulator, adapter } = await start();
    const one = await adapter.send(MESSAGE, context);
    await adapter.send({ ...MESSAGE, idempotencyKey: 'ntf_adapter_0008' }, context);
    simulator.setFault({ kind: 'wrong_subject', operation: 'querySendDetails', times: 1 });
    expect(
      (
        await failure(
          adapter.queryDeliveryReports!(
            [{ messageId: one.messageId, phoneNumber: MESSAGE.phoneNumber, sentAt: new Date(T0) }],
            context,
          ),
        )
      ).kind,
    ).toBe('wrong_subject');
  });

  it('answers health', async () => {
    const { simulator, adapter } = await start();
    expect(await adapter.health!(context)).toEqual({ ok: true });
    simulator.setFault({ kind: 'business_error', operation: 'health', times: 1 });
    expect(await adapter.health!(context)).toEqual({ ok: false, detail: 'platform answered isp.SYSTEM_ERROR' });
  });
});

describe('options', () => {
  it('refuses a sign name with brackets, a short secret and unknown options, naming them', () => {
    const result = smsGatewayOptionsSchema.safeParse({
      appKey: 'k',
      appSecret: 'short',
      signName: '【某某中心】',
      extra: 1,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.') || issue.code);
    expect(paths).toEqual(expect.arrayContaining(['appSecret', 'signName', 'unrecognized_keys']));
  });
});
