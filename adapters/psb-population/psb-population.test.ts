/**
 * The PSB adapter against its simulator: happy paths, the registry's result codes, protocol faults,
 * retries re-signed by `prepare`, contract violations, and the shared conformance suite.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeConformance } from '../sdk/conformance.js';
import type { ConformanceHarness } from '../sdk/conformance-types.js';
import { DepartmentError } from '../sdk/errors.js';
import type { RunningSimulator } from '../sdk/simulator.js';
import type { DepartmentAdapter } from '../sdk/types.js';
import { psbPopulationAdapter, psbPopulationOptionsSchema } from './adapter.js';
import { residentIdCardDocument } from './documents.js';
import { PSB_NO_HOUSEHOLD_ID_NUMBER, PSB_UNKNOWN_ID_NUMBER, seededPeople } from './seed.js';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET, startPsbPopulationSimulator, type PsbSimulatorOptions } from './simulator.js';
import { psbTestEnvironment, type PsbTestEnvironmentOptions } from './test-environment.js';

const ZHANG_SAN = { idNumber: '11010519491231002X', name: '张三' };
const LI_MEI = { idNumber: '330106198503150120', name: '李梅' };
const context = { requestId: 'req_psb_test' };
const fastTuning = { retries: 2, retryMinDelayMs: 1, retryMaxDelayMs: 5, headersTimeoutMs: 2000, budgetMs: 5000 };

interface Fixture {
  simulator: RunningSimulator;
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
  const options = psbPopulationOptionsSchema.parse({ appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET, ...adapterOptions });
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

const person = (who: { idNumber: string; name: string }) => ({ kind: 'person' as const, ...who });

describe('psb-population adapter: options', () => {
  it('documents every option and refuses a short secret', () => {
    for (const field of Object.values(psbPopulationOptionsSchema.shape)) expect(field.description).toBeTruthy();
    expect(psbPopulationOptionsSchema.safeParse({ appKey: 'k', appSecret: 'too-short' }).success).toBe(false);
    expect(psbPopulationOptionsSchema.parse({ appKey: 'k', appSecret: '0123456789abcdef' }).signatureWindowSeconds).toBe(300);
  });

  it('declares its capabilities and resources', async () => {
    const { adapter } = await start();
    expect(adapter.kind).toBe('psb-population');
    expect(adapter.department).toBe('PSB');
    expect(adapter.certificateTypes).toEqual(['resident_id_card', 'household_register']);
    expect(adapter.resources).toEqual({ verifyIdentity: 'psb.population', fetchCertificate: 'psb.population', health: 'psb.population' });
    expect(adapter.submitCase).toBeUndefined();
  });
});

describe('psb-population adapter: happy paths', () => {
  it('verifies identities: match, name mismatch, unknown number', async () => {
    const { adapter } = await start();
    await expect(adapter.verifyIdentity!(ZHANG_SAN, context)).resolves.toEqual({ outcome: 'match' });
    await expect(adapter.verifyIdentity!({ ...LI_MEI, name: '李美' }, context)).resolves.toEqual({ outcome: 'name_mismatch' });
    await expect(adapter.verifyIdentity!({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }, context)).resolves.toEqual({ outcome: 'not_found' });
  });

  it('accepts a lower-case x in the number', async () => {
    const { adapter } = await start();
    await expect(adapter.verifyIdentity!({ idNumber: ZHANG_SAN.idNumber.toLowerCase(), name: '张三' }, context)).resolves.toEqual({ outcome: 'match' });
  });

  it('fetches the resident ID card with its metadata and PDF (长期 → validUntil null)', async () => {
    const { adapter } = await start();
    const result = await adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context);
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
    const register = await adapter.fetchCertificate!({ certificateType: 'household_register', subject: person(LI_MEI) }, context);
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
    const card = await adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(LI_MEI) }, context);
    if (card.outcome !== 'found') throw new Error('expected found');
    expect(card.metadata.validUntil).toBe('2038-07-22');
    const voided = await adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person({ idNumber: '440304199205180047', name: '赵丽华' }) }, context);
    if (voided.outcome !== 'found') throw new Error('expected found');
    expect(voided.metadata.status).toBe('revoked');
  });

  it('answers not_found for an unknown person, a person without household record, and other subjects', async () => {
    const { adapter, simulator } = await start();
    await expect(adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }) }, context)).resolves.toEqual({ outcome: 'not_found' });
    await expect(adapter.fetchCertificate!({ certificateType: 'household_register', subject: person({ idNumber: PSB_NO_HOUSEHOLD_ID_NUMBER, name: '马晓燕' }) }, context)).resolves.toEqual({ outcome: 'not_found' });
    simulator.resetCounts();
    await expect(adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: { kind: 'organisation', creditCode: '91110105MA01ABCD2X', name: 'x' } }, context)).resolves.toEqual({ outcome: 'not_found' });
    await expect(adapter.fetchCertificate!({ certificateType: 'no_criminal_record', subject: person(ZHANG_SAN) }, context)).resolves.toEqual({ outcome: 'not_found' });
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
    expect((await failureOf(adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context))).kind).toBe('malformed');
  });

  it('maps an answer about another person to wrong_subject', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'wrong_subject' });
    expect((await failureOf(adapter.verifyIdentity!(LI_MEI, context))).kind).toBe('wrong_subject');
    expect((await failureOf(adapter.fetchCertificate!({ certificateType: 'household_register', subject: person(ZHANG_SAN) }, context))).kind).toBe('wrong_subject');
  });

  it('refuses an answer over the size cap as oversized', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'oversized' });
    expect((await failureOf(adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context))).kind).toBe('oversized');
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
    const error = await failureOf(adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context));
    expect(error.kind).toBe('contract_violation');
    expect(JSON.stringify(error.details.violations)).toContain('/data/csrq');
    expect(JSON.stringify(error.details)).not.toContain('19491231');
    // Other operations are unaffected.
    await expect(adapter.verifyIdentity!(ZHANG_SAN, context)).resolves.toEqual({ outcome: 'match' });
  });

  it('refuses a success envelope without data and an unknown match flag', async () => {
    const missing = await start({ rewriteAnswer: (_operation, envelope) => ({ ...envelope, data: null }) });
    expect((await failureOf(missing.adapter.verifyIdentity!(ZHANG_SAN, context))).kind).toBe('contract_violation');
    const flag = await start({ rewriteAnswer: (_operation, envelope) => ({ ...envelope, data: { sfzh: ZHANG_SAN.idNumber, pp: 'Y' } }) });
    expect((await failureOf(flag.adapter.verifyIdentity!(ZHANG_SAN, context))).kind).toBe('contract_violation');
  });

  it('refuses an impossible date the schema cannot catch as malformed', async () => {
    const { adapter } = await start({
      rewriteAnswer: (_operation, envelope) =>
        envelope.data !== null && typeof envelope.data === 'object' ? { ...envelope, data: { ...envelope.data, yxqxq: '20230231' } } : envelope,
    });
    expect((await failureOf(adapter.fetchCertificate!({ certificateType: 'resident_id_card', subject: person(ZHANG_SAN) }, context))).kind).toBe('malformed');
  });

  it('refuses a certificate file that is not a PDF as malformed', async () => {
    const { adapter } = await start({
      rewriteAnswer: (_operation, envelope) =>
        envelope.data !== null && typeof envelope.data === 'object' ? { ...envelope, data: { ...envelope.data, wjnr: Buffer.from('<html></html>').toString('base64') } } : envelope,
    });
    expect((await failureOf(adapter.fetchCertificate!({ certificateType: 'household_register', subject: person(ZHANG_SAN) }, context))).kind).toBe('malformed');
  });
});

export const psbConformanceHarness: ConformanceHarness = {
  name: 'PSB population registry',
  async start(tuning) {
    const simulator = await startPsbPopulationSimulator();
    const environment = await psbTestEnvironment(simulator.url, tuning);
    const adapter = psbPopulationAdapter.create(psbPopulationOptionsSchema.parse({ appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET }), environment);
    return {
      simulator,
      adapter,
      async close() {
        await adapter.close();
        await simulator.close();
      },
    };
  },
  samples: {
    verifyIdentity: {
      match: ZHANG_SAN,
      mismatch: { idNumber: LI_MEI.idNumber, name: '李美' },
      unknown: { idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' },
    },
    fetchCertificate: {
      found: [
        { certificateType: 'resident_id_card', subject: person(ZHANG_SAN) },
        { certificateType: 'household_register', subject: person(LI_MEI) },
      ],
      notFound: { certificateType: 'resident_id_card', subject: person({ idNumber: PSB_UNKNOWN_ID_NUMBER, name: '某某' }) },
    },
  },
  operations: { verifyIdentity: 'verifyIdentity', fetchCertificate: 'getResidentIdCertificate', health: 'health' },
};

describeConformance(psbConformanceHarness);
