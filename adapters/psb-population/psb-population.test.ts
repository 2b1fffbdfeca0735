/**
 * The PSB adapter against its simulator: happy paths, the registry's result codes, protocol faults,
 * retries re-signed by `prepare`, contract violations, household move-in cases (deduplication,
 * status, refusals), and the shared conformance suite.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DepartmentError } from '@onewindow/adapter-sdk';
import type { CaseSubmissionRequest, DepartmentAdapter } from '@onewindow/adapter-sdk';
import { psbPopulationAdapter, psbPopulationOptionsSchema } from './adapter.js';
import { residentIdCardDocument } from './documents.js';
import { PSB_NO_HOUSEHOLD_ID_NUMBER, PSB_UNKNOWN_ID_NUMBER, seededPeople } from './seed.js';
import { applicationStatusCodes } from './protocol.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
  type PsbSimulatorOptions,
  type RunningPsbSimulator,
} from './simulator.js';
import { psbTestEnvironment, type PsbTestEnvironmentOptions } from './test-environment.js';
import { LI_MEI, MOVE_IN, ZHANG_SAN, person } from './conformance.js';

const context = { requestId: 'req_psb_test' };
const fastTuning = { retries: 2, retryMinDelayMs: 1, retryMaxDelayMs: 5, headersTimeoutMs: 2000, budgetMs: 5000 };

interface Fixture {
  simulator: RunningPsbSimulator;
  adapter: DepartmentAdapter;
}

const open: Fixture[] = [];
afterEach(async () => {
  for (const fixture of open.splice(0)) {
    await fixture.adapter.close();
    await fixture.simulator.close();
  }
});

async function start(
  simulatorOptions: PsbSimulatorOptions = {},
  environmentOptions: PsbTestEnvironmentOptions = fastTuning,
  adapterOptions: Record<string, unknown> = {},
): Promise<Fixture> {
  const simulator = await startPsbPopulationSimulator(simulatorOptions);
  const environment = await psbTestEnvironment(simulator.url, environmentOptions);
  const options = psbPopulationOptionsSchema.parse({
    appKey: PSB_DEMO_APP_KEY,
    appSecret: PSB_DEMO_APP_SECRET,
    ...adapterOptions,
  });
  const fixture = { simulator, adapter: psbPopulationAdapter.create(options, environment) };
  open.push(fixture);
  return fixture;
}

async function failureOf(promise: Promise<unknown>): Promise<DepartmentError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof DepartmentError)) throw new Error(`expected a DepartmentError, got ${String(error)}`);
  return error;
}

const moveIn = (changes: Partial<CaseSubmissionRequest>): CaseSubmissionRequest => ({ ...MOVE_IN, ...changes });

describe('psb-population adapter: options', () => {
  it('documents every option and refuses a short secret', () => {
    for (const field of Object.values(psbPopulationOptionsSchema.shape)) expect(field.description).toBeTruthy();
    expect(psbPopulationOptionsSchema.safeParse({ appKey: 'k', appSecret: 'too-short' }).success).toBe(false);
    expect(
      psbPopulationOptionsSchema.parse({ appKey: 'k', appSecret: '0123456789abcdef' }).signatureWindowSeconds,
    ).toBe(300);
  });

  it('declares its capabilities and resources', async () => {
    const { adapter } = await start();
    expect(adapter.kind).toBe('psb-population');
    expect(adapter.department).toBe('PSB');
    expect(adapter.certificateTypes).toEqual(['resident_id_card', 'household_register']);
    expect(adapter.resources).toEqual({
      verifyIdentity: 'psb.population',
      fetchCertificate: 'psb.population',
      submitCase: 'psb.population',
      queryCaseStatus: 'psb.population',
      cancelCase: 'psb.population',
      health: 'psb.population',
    });
    expect(adapter.submitCase).toBeTypeOf('function');
    expect(adapter.queryCaseStatus).toBeTypeOf('function');
  });

  it('declares the one submission type its application desk takes: a move-in needs an address or the property', async () => {
    const { adapter } = await start();
    expect(Object.keys(adapter.submissionTypes ?? {})).toEqual(['household_move_in']);
    expect(adapter.submissionTypes?.['household_move_in']).toMatchObject({
      nameZh: '户口迁入登记',
      formSchema: {
        type: 'object',
        anyOf: [{ required: ['moveToAddress'] }, { required: ['moveInAddress'] }, { required: ['certificateNo'] }],
      },
    });
  });
});

describe('psb-population adapter: happy paths', () => {
  it('verifies identities: match, name mismatch, unknown number', async () => {
    const { adapter } = await start();
    await expect(adapter.verifyIdentity!(ZHANG_SAN, context)).resolves.toEqual({ outcome: 'match' });
    await expect(adapter.verifyIdentity!({ ...LI_MEI, name: '李美' }, context)).resolves.toEqual({
      outcome: 'name_mismatch',
    });
    await expect(adapter.verifyIdentity!({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }, context)).resolves.toEqual({
      outcome: 'not_found',
    });
  });

  it('carries the registered marital status of a match as typed attributes (contract 1.3.0), never with a mismatch', async () => {
    const { adapter } = await start();
    await expect(adapter.verifyIdentity!(LI_MEI, context)).resolves.toEqual({
      outcome: 'match',
      attributes: { maritalStatus: 'married', maritalStatusSince: '2023-10-08' },
    });
    const maXiaoyan = seededPeople.find((person) => person.xm === '马晓燕');
    if (!maXiaoyan) throw new Error('seed: 马晓燕');
    await expect(adapter.verifyIdentity!({ idNumber: maXiaoyan.sfzh, name: '马晓燕' }, context)).resolves.toEqual({
      outcome: 'match',
      attributes: { maritalStatus: 'divorced', maritalStatusSince: '2022-09-15' },
    });
    await expect(adapter.verifyIdentity!({ idNumber: maXiaoyan.sfzh, name: '马小燕' }, context)).resolves.toEqual({
      outcome: 'name_mismatch',
    });
  });

  it('accepts a lower-case x in the number', async () => {
    const { adapter } = await start();
    await expect(
      adapter.verifyIdentity!({ idNumber: ZHANG_SAN.idNumber.toLowerCase(), name: '张三' }, context),
    ).resolves.toEqual({ outcome: 'match' });
  });

  it('fetches the resident ID card with its metadata and PDF (长期 → validUntil null)', async () => {
    const { adapter } = await start();
    const result = await adapter.fetchCertificate!(
      { certificateType: 'resident_id_card', subject: person(ZHANG_SAN) },
      context,
    );
    expect(result.outcome).toBe('found');
    if (result.outcome !== 'found') return;
    expect(result.metadata).toEqual({
      certificateType: 'resident_id_card',
      certificateNumber: '11010519491231002X',
      holderName: '张三',
      holderIdentifier: '11010519491231002X',
      issuingAuthority: '北京市公安局朝阳分局',
      issueDate: '2015-06-10',
      validFrom: '2015-06-10',
      validUntil: null,
      status: 'valid',
    });
    expect(result.document.mediaType).toBe('application/pdf');
    const zhangSan = seededPeople.find((p) => p.sfzh === ZHANG_SAN.idNumber)!;
    expect(Buffer.from(result.document.bytes).equals(Buffer.from(residentIdCardDocument(zhangSan)))).toBe(true);
  });

  it('gives the same PDF bytes on every fetch (the content store deduplicates)', async () => {
    const { adapter } = await start();
    const request = { certificateType: 'household_register', subject: person(LI_MEI) };
    const first = await adapter.fetchCertificate!(request, context);
    const second = await adapter.fetchCertificate!(request, context);
    if (first.outcome !== 'found' || second.outcome !== 'found') throw new Error('expected found');
    expect(Buffer.from(first.document.bytes).equals(Buffer.from(second.document.bytes))).toBe(true);
    expect(Buffer.from(first.document.bytes).subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');
  });

  it('fetches the household register with a dated validity and a voided card as revoked', async () => {
    const { adapter } = await start();
    const register = await adapter.fetchCertificate!(
      { certificateType: 'household_register', subject: person(LI_MEI) },
      context,
    );
    if (register.outcome !== 'found') throw new Error('expected found');
    expect(register.metadata).toMatchObject({
      certificateType: 'household_register',
      certificateNumber: 'HJ330106078901',
      holderIdentifier: LI_MEI.idNumber,
      issuingAuthority: '杭州市公安局西湖分局文新派出所',
      issueDate: '2009-05-06',
      validUntil: null,
      status: 'valid',
    });
    const card = await adapter.fetchCertificate!(
      { certificateType: 'resident_id_card', subject: person(LI_MEI) },
      context,
    );
    if (card.outcome !== 'found') throw new Error('expected found');
    expect(card.metadata.validUntil).toBe('2038-07-22');
    const voided = await adapter.fetchCertificate!(
      { certificateType: 'resident_id_card', subject: person({ idNumber: '440304199205180047', name: '赵丽华' }) },
      context,
    );
    if (voided.outcome !== 'found') throw new Error('expected found');
    expect(voided.metadata.status).toBe('revoked');
  });

  it('answers not_found for an unknown person, a person without household record, and other subjects', async () => {
    const { adapter, simulator } = await start();
    await expect(
      adapter.fetchCertificate!(
        { certificateType: 'resident_id_card', subject: person({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }) },
        context,
      ),
    ).resolves.toEqual({ outcome: 'not_found' });
    await expect(
      adapter.fetchCertificate!(
        {
          certificateType: 'household_register',
          subject: person({ idNumber: PSB_NO_HOUSEHOLD_ID_NUMBER, name: '马晓燕' }),
        },
        context,
      ),
    ).resolves.toEqual({ outcome: 'not_found' });
    simulator.resetCounts();
    await expect(
      adapter.fetchCertificate!(
        {
          certificateType: 'resident_id_card',
          subject: { kind: 'organisation', creditCode: '91110105MA01ABCD2X', name: 'x' },
        },
        context,
      ),
    ).resolves.toEqual({ outcome: 'not_found' });
    await expect(
      adapter.fetchCertificate!({ certificateType: 'no_criminal_record', subject: person(ZHANG_SAN) }, context),
    ).resolves.toEqual({ outcome: 'not_found' });
    expect(simulator.requestCount()).toBe(0);
  });

  it('reports health', async () => {
    const { adapter } = await start();
    await expect(adapter.health!(context)).resolves.toEqual({ ok: true });
  });
});

describe('psb-population adapter: the registry says no', () => {
  it('maps a business refusal (4001) to business_error with the department code', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'business_error' });
    const error = await failureOf(adapter.verifyIdentity!(ZHANG_SAN, context));
    expect(error.kind).toBe('business_error');
    expect(error.details).toMatchObject({ department: 'PSB', operation: 'verifyIdentity', departmentCode: '4001' });
    expect(error.message).not.toContain('张三');
    expect(error.message).not.toContain(ZHANG_SAN.idNumber);
    expect((await failureOf(adapter.health!(context))).details.departmentCode).toBe('4000');
  });

  it('maps a wrong app secret (1001) and an unknown app key (1004) to rejected, without retrying', async () => {
    const badSecret = await start({}, fastTuning, { appSecret: 'not-the-registry-secret' });
    const error = await failureOf(badSecret.adapter.verifyIdentity!(ZHANG_SAN, context));
    expect(error.kind).toBe('rejected');
    expect(error.details.departmentCode).toBe('1001');
    expect(badSecret.simulator.requestCount()).toBe(1);
    const badKey = await start({}, fastTuning, { appKey: 'someone-else' });
    expect((await failureOf(badKey.adapter.health!(context))).details.departmentCode).toBe('1004');
  });

  it('maps a stale clock (1002) to rejected and says so', async () => {
    const { adapter } = await start({}, { ...fastTuning, now: () => Date.now() - 10 * 60 * 1000 });
    const error = await failureOf(adapter.verifyIdentity!(ZHANG_SAN, context));
    expect(error.kind).toBe('rejected');
    expect(error.details.departmentCode).toBe('1002');
    expect(error.message).toMatch(/window/);
  });

  it('accepts a clock within the window', async () => {
    const { adapter } = await start({}, { ...fastTuning, now: () => Date.now() - 4 * 60 * 1000 });
    await expect(adapter.verifyIdentity!(ZHANG_SAN, context)).resolves.toEqual({ outcome: 'match' });
  });

  it('maps 9999 (busy) to unavailable', async () => {
    const { adapter } = await start({ rewriteAnswer: () => ({ code: '9999', msg: '系统繁忙', data: null }) });
    const error = await failureOf(adapter.health!(context));
    expect(error.kind).toBe('unavailable');
    expect(error.details.departmentCode).toBe('9999');
  });
});

describe('psb-population adapter: faults', () => {
  it('retries after a 5xx, re-signing each attempt (a reused nonce would be refused)', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'http_5xx', times: 2 });
    await expect(adapter.verifyIdentity!(ZHANG_SAN, context)).resolves.toEqual({ outcome: 'match' });
    expect(simulator.requestCount('verifyIdentity')).toBe(3);
  });

  it('maps a truncated JSON answer to malformed', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'malformed' });
    expect(
      (
        await failureOf(
          adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context),
        )
      ).kind,
    ).toBe('malformed');
  });

  it('maps an answer about another person to wrong_subject', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'wrong_subject' });
    expect((await failureOf(adapter.verifyIdentity!(LI_MEI, context))).kind).toBe('wrong_subject');
    expect(
      (
        await failureOf(
          adapter.fetchCertificate!({ certificateType: 'household_register', subject: person(ZHANG_SAN) }, context),
        )
      ).kind,
    ).toBe('wrong_subject');
  });

  it('refuses an answer over the size cap as oversized', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'oversized' });
    expect(
      (
        await failureOf(
          adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context),
        )
      ).kind,
    ).toBe('oversized');
  });
});

describe('psb-population adapter: contract', () => {
  it('refuses a field of the wrong type as a contract violation, naming the path and not the value', async () => {
    const { adapter } = await start({
      rewriteAnswer: (operation, envelope) =>
        operation === 'getResidentIdCertificate' && envelope.data !== null && typeof envelope.data === 'object'
          ? { ...envelope, data: { ...envelope.data, csrq: 19491231 } }
          : envelope,
    });
    const error = await failureOf(
      adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context),
    );
    expect(error.kind).toBe('contract_violation');
    expect(JSON.stringify(error.details.violations)).toContain('/data/csrq');
    expect(JSON.stringify(error.details)).not.toContain('19491231');
    // Other operations are unaffected.
    await expect(adapter.verifyIdentity!(ZHANG_SAN, context)).resolves.toEqual({ outcome: 'match' });
  });

  it('refuses a success envelope without data and an unknown match flag', async () => {
    const missing = await start({ rewriteAnswer: (_operation, envelope) => ({ ...envelope, data: null }) });
    expect((await failureOf(missing.adapter.verifyIdentity!(ZHANG_SAN, context))).kind).toBe('contract_violation');
    const flag = await start({
      rewriteAnswer: (_operation, envelope) => ({ ...envelope, data: { sfzh: ZHANG_SAN.idNumber, pp: 'Y' } }),
    });
    expect((await failureOf(flag.adapter.verifyIdentity!(ZHANG_SAN, context))).kind).toBe('contract_violation');
  });

  it('refuses an impossible date the schema cannot catch as malformed', async () => {
    const { adapter } = await start({
      rewriteAnswer: (_operation, envelope) =>
        envelope.data !== null && typeof envelope.data === 'object'
          ? { ...envelope, data: { ...envelope.data, yxqxq: '20230231' } }
          : envelope,
    });
    expect(
      (
        await failureOf(
          adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context),
        )
      ).kind,
    ).toBe('malformed');
  });

  it('refuses a certificate file that is not a PDF as malformed', async () => {
    const { adapter } = await start({
      rewriteAnswer: (_operation, envelope) =>
        envelope.data !== null && typeof envelope.data === 'object'
          ? { ...envelope, data: { ...envelope.data, wjnr: Buffer.from('<html></html>').toString('base64') } }
          : envelope,
    });
    expect(
      (
        await failureOf(
          adapter.fetchCertificate!({ certificateType: 'household_register', subject: person(ZHANG_SAN) }, context),
        )
      ).kind,
    ).toBe('malformed');
  });
});

describe('psb-population adapter: household move-in cases', () => {
  it('refuses a submission type it does not declare without calling the registry', async () => {
    const { adapter, simulator } = await start();
    simulator.resetCounts();
    const error = await failureOf(
      adapter.submitCase!(
        moveIn({ idempotencyKey: 'dlv_wrong_type', submissionType: 'transfer_registration' }),
        context,
      ),
    );
    expect(error).toMatchObject({ kind: 'rejected', details: { department: 'PSB', operation: 'submitCase' } });
    expect(error.message).toBe(
      'psb-population: the department takes no submission type "transfer_registration"; it takes household_move_in',
    );
    expect(simulator.requestCount()).toBe(0);
  });

  it('submits a case and recognises a resubmission with the same key as a duplicate, creating one application', async () => {
    const { adapter, simulator } = await start();
    const first = await adapter.submitCase!(MOVE_IN, context);
    expect(first).toEqual({ departmentReference: expect.stringMatching(/^HK\d{14}$/), duplicate: false });
    const again = await adapter.submitCase!(MOVE_IN, context);
    expect(again).toEqual({ departmentReference: first.departmentReference, duplicate: true });
    expect(simulator.requestCount('submitHouseholdMoveIn')).toBe(2);
    expect(simulator.applicationCount()).toBe(1);
    const other = await adapter.submitCase!(moveIn({ idempotencyKey: 'dlv_psb_move_in_0002' }), context);
    expect(other.departmentReference).not.toBe(first.departmentReference);
    expect(simulator.applicationCount()).toBe(2);
  });

  it('survives a lost answer: the registry kept the application, the retry with the same key finds it', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'malformed', operation: 'submitHouseholdMoveIn', times: 1 });
    expect((await failureOf(adapter.submitCase!(MOVE_IN, context))).kind).toBe('malformed');
    expect(simulator.applicationCount()).toBe(1);
    const retried = await adapter.submitCase!(MOVE_IN, context);
    expect(retried.duplicate).toBe(true);
    expect(simulator.applicationCount()).toBe(1);
  });

  it('retries a submission that timed out while the registry was still working on it, without a second application', async () => {
    const duplicateFlags: unknown[] = [];
    const { adapter, simulator } = await start(
      {
        rewriteAnswer: (operation, envelope) => {
          const data = envelope.data;
          if (operation === 'submitHouseholdMoveIn' && typeof data === 'object' && data !== null && 'cfbz' in data)
            duplicateFlags.push(data.cfbz);
          return envelope;
        },
      },
      { ...fastTuning, headersTimeoutMs: 200, budgetMs: 10_000 },
    );
    // The first attempt reaches the registry's desk only after the client gave up (undici's
    // timers are coarse, so the delay is generous); the retry is received first.
    simulator.setFault({ kind: 'delay', delayMs: 3000, operation: 'submitHouseholdMoveIn', times: 1 });
    const receipt = await adapter.submitCase!(MOVE_IN, context);
    expect(receipt.duplicate).toBe(false);
    for (let waited = 0; duplicateFlags.length < 2 && waited < 100; waited++) await sleep(50);
    expect(duplicateFlags).toEqual(['0', '1']);
    expect(simulator.requestCount('submitHouseholdMoveIn')).toBe(2);
    expect(simulator.applicationCount()).toBe(1);
  });

  it('normalises the applicant as the registry keys people (upper-case X, trimmed name)', async () => {
    const received: unknown[] = [];
    const { adapter } = await start({
      rewriteAnswer: (operation, envelope) => {
        if (operation === 'submitHouseholdMoveIn') received.push(envelope.data);
        return envelope;
      },
    });
    const receipt = await adapter.submitCase!(
      moveIn({ subject: person({ idNumber: ZHANG_SAN.idNumber.toLowerCase(), name: ' 张三 ' }) }),
      context,
    );
    expect(receipt.duplicate).toBe(false);
    expect(received).toEqual([
      {
        slbh: receipt.departmentReference,
        ywlsh: MOVE_IN.idempotencyKey,
        cfbz: '0',
        blzt: '01',
        slsj: expect.stringMatching(/^\d{14}$/),
      },
    ]);
  });

  it('follows the registry through 受理 → 办理中 → 办结 as its clock moves', async () => {
    let clock = Date.UTC(2026, 2, 16, 1, 30, 0);
    const { adapter } = await start({ now: () => clock, statusStepMs: 60_000 }, { ...fastTuning, now: () => clock });
    const { departmentReference } = await adapter.submitCase!(MOVE_IN, context);
    expect(departmentReference).toMatch(/^HK20260316\d{6}$/);
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'received',
      updatedAt: '2026-03-16T01:30:00.000Z',
    });
    clock += 60_000;
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'in_progress',
      updatedAt: '2026-03-16T01:31:00.000Z',
    });
    clock += 60_000;
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'completed',
      updatedAt: '2026-03-16T01:32:00.000Z',
      message: expect.stringMatching(/\S/),
    });
  });

  it('reports statuses set by hand: awaiting the applicant with what to supply, in progress again, rejected with the reason', async () => {
    let clock = Date.UTC(2026, 9, 9, 2, 0, 0);
    const { adapter, simulator } = await start(
      { now: () => clock, statusStepMs: false },
      { ...fastTuning, now: () => clock },
    );
    const { departmentReference } = await adapter.submitCase!(MOVE_IN, context);
    clock += 3_600_000;
    expect((await adapter.queryCaseStatus!(departmentReference, context)).status).toBe('received');

    expect(
      simulator.advanceApplication(
        departmentReference,
        applicationStatusCodes.awaitingApplicant,
        '请补充提交购房合同原件',
      ),
    ).toBe('advanced');
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'awaiting_applicant',
      updatedAt: '2026-10-09T03:00:00.000Z',
      message: '请补充提交购房合同原件',
    });
    clock += 60_000;
    expect(simulator.advanceApplication(departmentReference, applicationStatusCodes.inProgress)).toBe('advanced');
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'in_progress',
      updatedAt: '2026-10-09T03:01:00.000Z',
    });
    expect(
      simulator.advanceApplication(departmentReference, applicationStatusCodes.rejected, '迁入地址与产权登记不一致'),
    ).toBe('advanced');
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'rejected',
      message: '迁入地址与产权登记不一致',
    });
    // 不予受理 is final.
    expect(simulator.advanceApplication(departmentReference, applicationStatusCodes.completed)).toBe('final');
    expect(simulator.advanceApplication('HK20261009999999', applicationStatusCodes.completed)).toBe('unknown');
    expect(simulator.applications()).toEqual([
      {
        slbh: departmentReference,
        ywlsh: MOVE_IN.idempotencyKey,
        sqr: { xm: ZHANG_SAN.name, sfzh: ZHANG_SAN.idNumber },
        blzt: '05',
        gxsj: '20261009110100',
      },
    ]);
  });

  it("maps the registry's refusals to business_error with its code, creates nothing, and does not retry them", async () => {
    const { adapter, simulator } = await start();
    const refusals: [CaseSubmissionRequest, string][] = [
      [
        moveIn({ idempotencyKey: 'dlv_mismatch', subject: person({ idNumber: LI_MEI.idNumber, name: '李美' }) }),
        '4002',
      ],
      // After a transfer the buyer moves in: the registry checks the transferee, not the seller.
      [
        moveIn({
          idempotencyKey: 'dlv_buyer_mismatch',
          form: {
            certificateNo: '京(2026)海淀区不动产权第0012345号',
            transferee: { name: '李美', idNumber: LI_MEI.idNumber },
            transferReason: 'sale',
          },
        }),
        '4002',
      ],
      [
        moveIn({
          idempotencyKey: 'dlv_moving',
          subject: person({ idNumber: PSB_NO_HOUSEHOLD_ID_NUMBER, name: '马晓燕' }),
        }),
        '4003',
      ],
      [
        moveIn({
          idempotencyKey: 'dlv_no_property',
          form: { moveInAddress: '北京市海淀区学院路30号', moveInReason: 'purchase' },
        }),
        '4004',
      ],
    ];
    for (const [request, code] of refusals) {
      simulator.resetCounts();
      const error = await failureOf(adapter.submitCase!(request, context));
      expect(error.kind, code).toBe('business_error');
      expect(error.details).toMatchObject({
        department: 'PSB',
        operation: 'submitHouseholdMoveIn',
        departmentCode: code,
      });
      expect(error.message).not.toContain(request.subject.name);
      expect(simulator.requestCount('submitHouseholdMoveIn')).toBe(1);
    }
    expect(simulator.applicationCount()).toBe(0);
  });

  it('accepts a move-in from another province (an applicant not on this register) and the joint transfer form without an address', async () => {
    const { adapter, simulator } = await start();
    await adapter.submitCase!(
      moveIn({
        idempotencyKey: 'dlv_from_elsewhere',
        subject: person({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }),
      }),
      context,
    );
    const joint = moveIn({
      idempotencyKey: 'dlv_joint_transfer',
      itemCode: 'real_estate_transfer',
      form: {
        certificateNo: '京(2026)海淀区不动产权第0012345号',
        transferee: { name: '李梅', idNumber: LI_MEI.idNumber },
        transferReason: 'sale',
        price: '3000000',
      },
    });
    expect((await adapter.submitCase!(joint, context)).duplicate).toBe(false);
    expect(simulator.applicationCount()).toBe(2);
  });

  it('refuses a key reused for a different case (4005) and a status query for an unknown reference (2003)', async () => {
    const { adapter, simulator } = await start();
    await adapter.submitCase!(MOVE_IN, context);
    const conflict = await failureOf(
      adapter.submitCase!(moveIn({ form: { ...MOVE_IN.form, moveInAddress: '上海市浦东新区世纪大道100号' } }), context),
    );
    expect(conflict).toMatchObject({ kind: 'business_error', details: { departmentCode: '4005' } });
    expect(simulator.applicationCount()).toBe(1);
    const unknown = await failureOf(adapter.queryCaseStatus!('HK20260316999999', context));
    expect(unknown).toMatchObject({
      kind: 'business_error',
      details: { operation: 'getApplicationStatus', departmentCode: '2003' },
    });
  });

  it('refuses, without calling, a case the registry could not take: an organisation, no address nor property, an unknown reason', async () => {
    const { adapter, simulator } = await start();
    const cases = [
      moveIn({ subject: { kind: 'organisation', creditCode: '91110105MA01ABCD2X', name: '某公司' } }),
      moveIn({ form: { moveOutAddress: '河北省保定市莲池区东风路1号' } }),
      moveIn({ form: { ...MOVE_IN.form, transferee: { name: '某公司', idNumber: '91110105MA01ABCD2X' } } }),
      moveIn({ form: { ...MOVE_IN.form, moveInReason: 'marriage' } }),
      moveIn({ form: { ...MOVE_IN.form, accompanyingPersons: [{ name: '张小三' }] } }),
    ];
    for (const request of cases) expect((await failureOf(adapter.submitCase!(request, context))).kind).toBe('rejected');
    expect(simulator.requestCount()).toBe(0);
  });

  it('maps an acceptance for another submission and a status of another application to wrong_subject', async () => {
    const { adapter, simulator } = await start();
    const { departmentReference } = await adapter.submitCase!(MOVE_IN, context);
    simulator.setFault({ kind: 'wrong_subject' });
    expect((await failureOf(adapter.submitCase!(moveIn({ idempotencyKey: 'dlv_other' }), context))).kind).toBe(
      'wrong_subject',
    );
    expect((await failureOf(adapter.queryCaseStatus!(departmentReference, context))).kind).toBe('wrong_subject');
  });

  it('withdraws an application not yet concluded (06 已撤回), answers a repeat the same, and reports a concluded one as not cancelled', async () => {
    const { adapter, simulator } = await start();
    const { departmentReference } = await adapter.submitCase!(MOVE_IN, context);
    const request = {
      departmentReference,
      idempotencyKey: 'dlv_1.cancel',
      caseNumber: 'OW20261218000001',
      reason: '联办件已被NRB退回，请撤销本部门办理。',
    };
    expect(await adapter.cancelCase!(request, context)).toEqual({ cancelled: true });
    expect(await adapter.cancelCase!(request, context)).toEqual({ cancelled: true });
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'rejected',
      message: request.reason,
    });
    const concluded = await adapter.submitCase!(moveIn({ idempotencyKey: 'dlv_concluded' }), context);
    expect(simulator.advanceApplication(concluded.departmentReference, '04', '已办结')).toBe('advanced');
    expect(
      await adapter.cancelCase!({ ...request, departmentReference: concluded.departmentReference }, context),
    ).toEqual({ cancelled: false });
    expect(
      (await failureOf(adapter.cancelCase!({ ...request, departmentReference: 'HK20991231999999' }, context))).kind,
    ).toBe('business_error');
  });

  it('checks application answers against the contract and refuses a time that does not exist', async () => {
    const unknownStatus = await start({
      rewriteAnswer: (operation, envelope) =>
        operation === 'getApplicationStatus' && envelope.data !== null && typeof envelope.data === 'object'
          ? { ...envelope, data: { ...envelope.data, blzt: '07' } }
          : envelope,
    });
    const first = await unknownStatus.adapter.submitCase!(MOVE_IN, context);
    const violation = await failureOf(unknownStatus.adapter.queryCaseStatus!(first.departmentReference, context));
    expect(violation.kind).toBe('contract_violation');
    expect(JSON.stringify(violation.details.violations)).toContain('/data/blzt');

    const impossibleTime = await start({
      rewriteAnswer: (operation, envelope) =>
        operation === 'getApplicationStatus' && envelope.data !== null && typeof envelope.data === 'object'
          ? { ...envelope, data: { ...envelope.data, gxsj: '20260231120000' } }
          : envelope,
    });
    const second = await impossibleTime.adapter.submitCase!(MOVE_IN, context);
    expect((await failureOf(impossibleTime.adapter.queryCaseStatus!(second.departmentReference, context))).kind).toBe(
      'malformed',
    );

    const noFlag = await start({
      rewriteAnswer: (operation, envelope) =>
        operation === 'submitHouseholdMoveIn' && envelope.data !== null && typeof envelope.data === 'object'
          ? { ...envelope, data: { ...envelope.data, cfbz: undefined } }
          : envelope,
    });
    expect((await failureOf(noFlag.adapter.submitCase!(MOVE_IN, context))).kind).toBe('contract_violation');
  });
});
