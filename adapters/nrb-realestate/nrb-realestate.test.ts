/**
 * The NRB adapter against its simulator: the OAuth token (cached, shared, refreshed, one retry on a
 * 401), the token endpoint's failures, the asynchronous query job (polling bounded by attempts,
 * budget and the caller), result pages, the choice of certificate, answers about someone else,
 * idempotent submissions and status — and the shared conformance suite.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDepartmentAdapters } from '../../gateway/departments/adapter-packages.js';
import { DepartmentError } from '@onewindow/adapter-sdk';
import type { CaseSubmissionRequest, DepartmentAdapter } from '@onewindow/adapter-sdk';
import { nrbRealEstateAdapter, nrbRealEstateOptionsSchema } from './adapter.js';
import { certificateDocument } from './documents.js';
import { chooseCertificate, transfereeOf } from './mapping.js';
import type { CertificateRecordWire, NrbOperation } from './protocol.js';
import {
  LI_MEI,
  NRB_UNKNOWN_CREDIT_CODE,
  NRB_UNKNOWN_ID_NUMBER,
  seededCertificates,
  SUN_YAQIN,
  WANG_JIANGUO,
  WANG_XIUYING,
  YUNQI_TECH,
  ZHANG_SAN,
  ZHAO_ZHIGANG,
} from './seed.js';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  startNrbRealEstateSimulator,
  type NrbSimulatorOptions,
  type RunningNrbSimulator,
} from './simulator.js';
import { nrbTestEnvironment, type NrbTestEnvironmentOptions } from './test-environment.js';
import {
  TRANSFERABLE,
  certificateOf,
  fastPolling,
  mortgageCancellation,
  person,
  seeded,
  transfer,
} from './conformance.js';

const context = { requestId: 'req_nrb_test' };
const fastTuning: NrbTestEnvironmentOptions = {
  retries: 2,
  retryMinDelayMs: 1,
  retryMaxDelayMs: 5,
  headersTimeoutMs: 2000,
  budgetMs: 5000,
};

interface Fixture {
  simulator: RunningNrbSimulator;
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
  simulatorOptions: NrbSimulatorOptions = {},
  environmentOptions: NrbTestEnvironmentOptions = fastTuning,
  adapterOptions: Record<string, unknown> = {},
): Promise<Fixture> {
  const simulator = await startNrbRealEstateSimulator(simulatorOptions);
  const options = nrbRealEstateOptionsSchema.parse({
    clientId: NRB_DEMO_CLIENT_ID,
    clientSecret: NRB_DEMO_CLIENT_SECRET,
    ...fastPolling,
    ...adapterOptions,
  });
  const fixture = {
    simulator,
    adapter: nrbRealEstateAdapter.create(options, nrbTestEnvironment(simulator.url, environmentOptions)),
  };
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

/** Rewrites the answers of one operation (the simulator's test hook). */
function rewrite(
  operation: NrbOperation,
  change: (body: Record<string, unknown>) => unknown,
): NrbSimulatorOptions['rewriteAnswer'] {
  return (answered, _status, body) =>
    answered === operation && typeof body === 'object' && body !== null
      ? change(body as Record<string, unknown>)
      : body;
}

describe('nrb-realestate adapter: options and declarations', () => {
  it('documents every option, refuses a short secret, and accepts the demo configuration', () => {
    for (const field of Object.values(nrbRealEstateOptionsSchema.shape)) expect(field.description).toBeTruthy();
    expect(nrbRealEstateOptionsSchema.safeParse({ clientId: 'onewindow', clientSecret: 'short' }).success).toBe(false);
    expect(nrbRealEstateOptionsSchema.safeParse({ clientId: '', clientSecret: NRB_DEMO_CLIENT_SECRET }).success).toBe(
      false,
    );
    expect(
      nrbRealEstateOptionsSchema.safeParse({
        clientId: 'onewindow',
        clientSecret: NRB_DEMO_CLIENT_SECRET,
        pageSize: 101,
      }).success,
    ).toBe(false);
    const parsed = nrbRealEstateOptionsSchema.parse({
      clientId: NRB_DEMO_CLIENT_ID,
      clientSecret: NRB_DEMO_CLIENT_SECRET,
    });
    expect(parsed).toMatchObject({
      tokenPath: '/oauth/token',
      tokenAuthMethod: 'client_secret_post',
      tokenRefreshSkewSeconds: 30,
      pageSize: 20,
      maxPages: 10,
    });
  });

  it('is loaded by the gateway from its package, also under its kind', async () => {
    const options = { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET };
    const base = { name: 'NRB', baseUrl: 'https://nrb.example.gov.cn', options, tuning: {} };
    const loaded = await loadDepartmentAdapters(
      [
        { ...base, code: 'NRB', adapterPackage: '@onewindow/adapter-nrb-realestate' },
        { ...base, code: 'NR2', adapter: 'nrb-realestate' },
      ],
      [],
    );
    expect(loaded.departments.map((department) => department.adapter)).toEqual(['nrb-realestate', 'nrb-realestate']);
    const factory = loaded.factories.find((candidate) => candidate.kind === 'nrb-realestate');
    expect(factory).toBeDefined();
    expect(
      factory?.optionsSchema.safeParse({ clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET }).success,
    ).toBe(true);
  });

  it('declares its capabilities and resources', async () => {
    const { adapter } = await start();
    expect(adapter.kind).toBe('nrb-realestate');
    expect(adapter.department).toBe('NRB');
    expect(adapter.certificateTypes).toEqual(['real_estate_certificate']);
    expect(adapter.resources).toEqual({
      fetchCertificate: 'nrb.real-estate',
      submitCase: 'nrb.real-estate',
      queryCaseStatus: 'nrb.real-estate',
      health: 'nrb.real-estate',
    });
    expect(adapter.verifyIdentity).toBeUndefined();
  });

  it('declares the two submission types the registry takes, each needing the certificate number', async () => {
    const { adapter } = await start();
    expect(Object.keys(adapter.submissionTypes ?? {})).toEqual(['transfer_registration', 'mortgage_cancellation']);
    expect(adapter.submissionTypes?.['mortgage_cancellation']).toMatchObject({
      nameZh: '抵押权注销登记',
      formSchema: { type: 'object', required: ['certificateNo'] },
    });
    expect(adapter.submissionTypes?.['transfer_registration']).toMatchObject({
      nameZh: '不动产转移登记',
      formSchema: { required: ['certificateNo'] },
    });
  });
});

describe('nrb-realestate adapter: the access token', () => {
  it('fetches one token and reuses it for every later call', async () => {
    const { adapter, simulator } = await start();
    await expect(adapter.health!(context)).resolves.toEqual({ ok: true });
    await adapter.health!(context);
    expect((await adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context)).outcome).toBe('found');
    expect(simulator.requestCount('issueToken')).toBe(1);
    expect(simulator.requestCount('health')).toBe(2);
  });

  it('makes a burst of calls at start wait for one token request', async () => {
    const { adapter, simulator } = await start();
    const answers = await Promise.all(Array.from({ length: 6 }, () => adapter.health!(context)));
    expect(answers).toEqual(Array.from({ length: 6 }, () => ({ ok: true })));
    expect(simulator.requestCount('issueToken')).toBe(1);
  });

  it('refreshes the token shortly before it expires, not after', async () => {
    let clock = Date.parse('2026-03-02T02:00:00Z');
    const now = () => clock;
    const { adapter, simulator } = await start(
      { now, tokenLifetimeSeconds: 300 },
      { ...fastTuning, now },
      { tokenRefreshSkewSeconds: 30 },
    );
    await adapter.health!(context);
    clock += 269_000;
    await adapter.health!(context);
    expect(simulator.requestCount('issueToken')).toBe(1);
    clock += 2_000; // 271 s: inside the 30 s before expiry
    await adapter.health!(context);
    expect(simulator.requestCount('issueToken')).toBe(2);
    expect(simulator.requestCount('health')).toBe(3);
  });

  it('authenticates with HTTP Basic when configured', async () => {
    const { adapter, simulator } = await start({}, fastTuning, { tokenAuthMethod: 'client_secret_basic' });
    await expect(adapter.health!(context)).resolves.toEqual({ ok: true });
    expect(simulator.requestCount('issueToken')).toBe(1);
  });

  it('answers a 401 with one fresh token and one retry of the call', async () => {
    const { adapter, simulator } = await start();
    await adapter.health!(context);
    simulator.revokeTokens();
    simulator.resetCounts();
    await expect(adapter.health!(context)).resolves.toEqual({ ok: true });
    expect(simulator.requestCount('issueToken')).toBe(1);
    expect(simulator.requestCount('health')).toBe(2);
    // The fresh token is cached in turn.
    await adapter.health!(context);
    expect(simulator.requestCount('issueToken')).toBe(1);
  });

  it('gives up as rejected when a freshly issued token is refused too, after exactly one refresh', async () => {
    const { adapter, simulator } = await start();
    // Tokens issued to another client: the API refuses every one of them.
    simulator.setFault({ kind: 'wrong_subject', operation: 'issueToken' });
    const error = await failureOf(adapter.health!(context));
    expect(error).toMatchObject({ kind: 'rejected', details: { status: 401, operation: 'health' } });
    expect(simulator.requestCount('issueToken')).toBe(2);
    expect(simulator.requestCount('health')).toBe(2);
  });

  it('shares the 401 refresh between calls that held the same refused token', async () => {
    const { adapter, simulator } = await start();
    await adapter.health!(context);
    simulator.revokeTokens();
    simulator.resetCounts();
    await Promise.all(Array.from({ length: 4 }, () => adapter.health!(context)));
    expect(simulator.requestCount('issueToken')).toBe(1);
  });
});

describe('nrb-realestate adapter: token endpoint failures', () => {
  it('maps wrong client credentials to rejected (invalid_client), without retrying or leaking the secret', async () => {
    const { adapter, simulator } = await start({}, fastTuning, { clientSecret: 'not-the-registry-secret' });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context));
    expect(error).toMatchObject({
      kind: 'rejected',
      details: { operation: 'issueToken', status: 401, departmentCode: 'invalid_client' },
    });
    expect(error.message).not.toContain('not-the-registry-secret');
    expect(simulator.requestCount('issueToken')).toBe(1);
    expect(simulator.requestCount('createCertificateQuery')).toBe(0);
  });

  it('maps an unauthorised client (400 unauthorized_client) to rejected with the OAuth error code', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'business_error', operation: 'issueToken' });
    const error = await failureOf(adapter.health!(context));
    expect(error).toMatchObject({
      kind: 'rejected',
      details: { operation: 'issueToken', status: 400, departmentCode: 'unauthorized_client' },
    });
    expect(simulator.requestCount('issueToken')).toBe(1);
  });

  it('retries a failing token endpoint (5xx) as unavailable, and does not cache the failure', async () => {
    const { adapter, simulator } = await start();
    simulator.setFault({ kind: 'http_5xx', operation: 'issueToken' });
    expect(await failureOf(adapter.health!(context))).toMatchObject({
      kind: 'unavailable',
      details: { operation: 'issueToken', status: 503 },
    });
    expect(simulator.requestCount('issueToken')).toBe(3);
    expect(simulator.requestCount('health')).toBe(0);
    simulator.setFault(null);
    await expect(adapter.health!(context)).resolves.toEqual({ ok: true });
    expect(simulator.requestCount('issueToken')).toBe(4);
  });

  it('maps a cut-off token answer to malformed and a token against the contract to contract_violation', async () => {
    const cut = await start();
    cut.simulator.setFault({ kind: 'malformed', operation: 'issueToken' });
    expect((await failureOf(cut.adapter.health!(context))).kind).toBe('malformed');
    const zeroLifetime = await start({ rewriteAnswer: rewrite('issueToken', (body) => ({ ...body, expires_in: 0 })) });
    const error = await failureOf(zeroLifetime.adapter.health!(context));
    expect(error.kind).toBe('contract_violation');
    expect(JSON.stringify(error.details.violations)).toContain('/expires_in');
  });
});

describe('nrb-realestate adapter: certificates', () => {
  it("chooses 张三's most recent valid certificate (not the later cancelled one) with its metadata and PDF", async () => {
    const { adapter } = await start();
    const result = await adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context);
    if (result.outcome !== 'found') throw new Error('expected found');
    const joint = seeded('ZS11010520190107652');
    expect(result.metadata).toEqual({
      certificateType: 'real_estate_certificate',
      certificateNumber: '京(2019)朝阳区不动产权第0107652号',
      holderName: '张三',
      holderIdentifier: ZHANG_SAN.idNumber,
      issuingAuthority: '北京市规划和自然资源委员会朝阳分局',
      issueDate: '2019-11-12',
      validFrom: '2019-11-06',
      validUntil: null,
      status: 'valid',
      location: '北京市朝阳区望京西园四区412号楼8单元801',
      shareType: 'joint',
      holders: [
        { name: '张三', identifier: ZHANG_SAN.idNumber },
        { name: '王秀英', identifier: WANG_XIUYING.idNumber },
      ],
      restrictions: [{ kind: 'mortgage', registeredOn: '2019-11-06', party: '中国工商银行股份有限公司北京望京支行' }],
      // Asked by type alone: the other valid flat is listed to choose from (the cancelled one is not).
      alternatives: [
        {
          certificateNumber: '京(2015)朝阳区不动产权第0031287号',
          status: 'valid',
          location: '北京市朝阳区建国路88号院3号楼1单元502',
        },
      ],
    });
    expect(result.document.mediaType).toBe('application/pdf');
    expect(Buffer.from(result.document.bytes).equals(Buffer.from(certificateDocument(joint)))).toBe(true);
  });

  it('fetches the certificate the caller names by number (full-width brackets and spaces as typed at a window), and no other', async () => {
    const { adapter } = await start();
    const named = await adapter.fetchCertificate!(
      { ...certificateOf(person(ZHANG_SAN)), certificateNumber: '京（2015）朝阳区不动产权第 0031287号' },
      context,
    );
    if (named.outcome !== 'found') throw new Error('expected found');
    expect(named.metadata).toMatchObject({
      certificateNumber: '京(2015)朝阳区不动产权第0031287号',
      shareType: 'sole',
      restrictions: [],
      status: 'valid',
    });
    expect(named.metadata.alternatives).toBeUndefined();
    expect(
      Buffer.from(named.document.bytes).equals(Buffer.from(certificateDocument(seeded('ZS11010520150031287')))),
    ).toBe(true);
    // A number the holder does not hold (李梅's flat) is not found for 张三: never another holder's certificate.
    expect(
      await adapter.fetchCertificate!(
        { ...certificateOf(person(ZHANG_SAN)), certificateNumber: '浙(2020)杭州市不动产权第0234567号' },
        context,
      ),
    ).toEqual({ outcome: 'not_found' });
    // A cancelled certificate (注销) named by number is reported as it is: cancelled, not revoked.
    const cancelled = await adapter.fetchCertificate!(
      { ...certificateOf(person(ZHANG_SAN)), certificateNumber: '京(2021)朝阳区不动产权第0045218号' },
      context,
    );
    expect(cancelled.outcome === 'found' && cancelled.metadata.status).toBe('cancelled');
  });

  it("reports a court's seizure as a restriction of kind seizure, with the day and the court", async () => {
    const { adapter } = await start();
    const sealed = await adapter.fetchCertificate!(
      { ...certificateOf(person(LI_MEI)), certificateNumber: '浙(2020)杭州市不动产权第0234567号' },
      context,
    );
    expect(sealed.outcome === 'found' && sealed.metadata.restrictions).toEqual([
      { kind: 'seizure', registeredOn: '2024-05-20', party: '杭州市西湖区人民法院' },
    ]);
  });

  it('reports an objection (异议登记) and a pre-notice (预告登记) with the day and who holds them', async () => {
    const { adapter } = await start();
    const objected = await adapter.fetchCertificate!(certificateOf(person(ZHAO_ZHIGANG)), context);
    expect(objected.outcome === 'found' && objected.metadata.restrictions).toEqual([
      { kind: 'objection', registeredOn: '2025-10-14', party: '杭州恒达建设工程有限公司' },
    ]);
    const preNoticed = await adapter.fetchCertificate!(certificateOf(person(SUN_YAQIN)), context);
    expect(preNoticed.outcome === 'found' && preNoticed.metadata.restrictions).toEqual([
      { kind: 'pre_notice', registeredOn: '2025-06-30', party: '杭州西湖云栖科技有限公司' },
    ]);
  });

  it('answers for each joint holder in their own name', async () => {
    const { adapter } = await start();
    const result = await adapter.fetchCertificate!(certificateOf(person(WANG_XIUYING)), context);
    if (result.outcome !== 'found') throw new Error('expected found');
    expect(result.metadata).toMatchObject({
      certificateNumber: '京(2019)朝阳区不动产权第0107652号',
      holderName: '王秀英',
      holderIdentifier: WANG_XIUYING.idNumber,
    });
  });

  it('finds certificates of organisations, and reports a holder with only cancelled certificates as cancelled', async () => {
    const { adapter } = await start();
    const company = await adapter.fetchCertificate!(
      certificateOf({ kind: 'organisation', creditCode: YUNQI_TECH.idNumber.toLowerCase(), name: YUNQI_TECH.name }),
      context,
    );
    expect(company.outcome === 'found' && company.metadata).toMatchObject({
      certificateNumber: '浙(2022)杭州市不动产权第0301122号',
      holderIdentifier: YUNQI_TECH.idNumber,
      status: 'valid',
    });
    const cancelled = await adapter.fetchCertificate!(certificateOf(person(WANG_JIANGUO)), context);
    expect(cancelled.outcome === 'found' && cancelled.metadata).toMatchObject({
      certificateNumber: '苏(2016)南京市不动产权第0067890号',
      status: 'cancelled',
    });
  });

  it('answers not_found for holders without real estate, and for other certificate types without a call', async () => {
    const { adapter, simulator } = await start();
    expect(
      await adapter.fetchCertificate!(
        certificateOf(person({ idNumber: NRB_UNKNOWN_ID_NUMBER, name: '某某' })),
        context,
      ),
    ).toEqual({ outcome: 'not_found' });
    expect(
      await adapter.fetchCertificate!(
        certificateOf({ kind: 'organisation', creditCode: NRB_UNKNOWN_CREDIT_CODE, name: '某公司' }),
        context,
      ),
    ).toEqual({ outcome: 'not_found' });
    // No results: no page is read.
    expect(simulator.requestCount('getQueryResults')).toBe(0);
    simulator.resetCounts();
    expect(
      await adapter.fetchCertificate!({ certificateType: 'business_licence', subject: person(ZHANG_SAN) }, context),
    ).toEqual({ outcome: 'not_found' });
    expect(simulator.requestCount()).toBe(0);
  });

  it('orders certificates the same whatever order the registry pages in', () => {
    const zhangSan = seededCertificates.filter((record) =>
      record.rightHolders.some((holder) => holder.idNumber === ZHANG_SAN.idNumber),
    );
    expect(zhangSan).toHaveLength(3);
    const expected = 'ZS11010520190107652';
    expect(chooseCertificate(zhangSan)?.certificateId).toBe(expected);
    expect(chooseCertificate([...zhangSan].reverse())?.certificateId).toBe(expected);
    expect(chooseCertificate([zhangSan[2]!, zhangSan[0]!, zhangSan[1]!])?.certificateId).toBe(expected);
    expect(chooseCertificate([])).toBeUndefined();
  });

  it('reads every result page, and stops at maxPages as oversized', async () => {
    const paged = await start({}, fastTuning, { pageSize: 1 });
    const result = await paged.adapter.fetchCertificate!(certificateOf(person(LI_MEI)), context);
    // The sealed flat is still the most recent valid certificate.
    expect(result.outcome === 'found' && result.metadata.certificateNumber).toBe('浙(2020)杭州市不动产权第0234567号');
    expect(paged.simulator.requestCount('getQueryResults')).toBe(3);

    const capped = await start({}, fastTuning, { pageSize: 1, maxPages: 2 });
    const error = await failureOf(capped.adapter.fetchCertificate!(certificateOf(person(LI_MEI)), context));
    expect(error).toMatchObject({ kind: 'oversized', details: { operation: 'getQueryResults' } });
    expect(capped.simulator.requestCount('getQueryResults')).toBe(1);
  });

  it('refuses result pages that do not add up as malformed', async () => {
    const { adapter } = await start({
      rewriteAnswer: rewrite('getQueryResults', (body) => ({ ...body, totalCount: 7 })),
    });
    expect((await failureOf(adapter.fetchCertificate!(certificateOf(person(LI_MEI)), context))).kind).toBe('malformed');
  });

  it('refuses a field of the wrong type as a contract violation, naming the path and not the value', async () => {
    const { adapter } = await start({
      rewriteAnswer: rewrite('getQueryResults', (body) => ({
        ...body,
        items: (body['items'] as CertificateRecordWire[]).map((record) => ({
          ...record,
          landArea: String(record.landArea),
        })),
      })),
    });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context));
    expect(error.kind).toBe('contract_violation');
    expect(JSON.stringify(error.details.violations)).toContain('/items/0/landArea');
    expect(JSON.stringify(error.details)).not.toContain('21.37');
  });
});

describe('nrb-realestate adapter: the query job', () => {
  it('polls until the job is done', async () => {
    const { adapter, simulator } = await start({ jobPolls: 4 });
    expect((await adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context)).outcome).toBe('found');
    expect(simulator.requestCount('createCertificateQuery')).toBe(1);
    expect(simulator.requestCount('getQueryJob')).toBe(4);
  });

  it('stops polling after maxPollAttempts as a timeout', async () => {
    const { adapter, simulator } = await start({ jobPolls: 50 }, fastTuning, { maxPollAttempts: 3 });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context));
    expect(error).toMatchObject({ kind: 'timeout', details: { operation: 'getQueryJob' } });
    expect(error.message).toContain('3 polls');
    expect(simulator.requestCount('getQueryJob')).toBe(3);
    expect(simulator.requestCount('getQueryResults')).toBe(0);
  });

  it('does not start a wait that would end past jobBudgetMs', async () => {
    // First wait 60 ms, then 120 ms: the second would end past the 100 ms budget.
    const { adapter, simulator } = await start({ jobPolls: 50 }, fastTuning, {
      pollInitialDelayMs: 60,
      pollMaxDelayMs: 1000,
      jobBudgetMs: 100,
    });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context));
    expect(error).toMatchObject({ kind: 'timeout', details: { operation: 'getQueryJob' } });
    expect(error.message).toContain('100 ms');
    expect(simulator.requestCount('getQueryJob')).toBe(1);
  });

  it('stops polling when the caller gives up', async () => {
    const caller = new AbortController();
    // The caller's deadline passes while the registry answers the first poll.
    const { adapter, simulator } = await start({
      jobPolls: 50,
      rewriteAnswer: (operation, _status, body) => {
        if (operation === 'getQueryJob') caller.abort();
        return body;
      },
    });
    const error = await failureOf(
      adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), {
        requestId: 'req_nrb_abort',
        signal: caller.signal,
      }),
    );
    expect(error.kind).toBe('timeout');
    expect(simulator.requestCount('getQueryJob')).toBe(1);
  });

  it("maps a failed job by its error code: the registry's failure, a refusal, our criteria", async () => {
    const { adapter, simulator } = await start();
    const cases = [
      ['BDC-5001', 'unavailable'],
      ['BDC-5040', 'unavailable'],
      ['BDC-4222', 'business_error'],
      ['BDC-4001', 'rejected'],
    ] as const;
    for (const [code, kind] of cases) {
      simulator.failJobs({ code });
      const error = await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context));
      expect(error, code).toMatchObject({ kind, details: { departmentCode: code } });
    }
    simulator.failJobs(null);
    expect((await adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context)).outcome).toBe('found');
  });

  it('retries a poll that failed with a 5xx', async () => {
    const { adapter, simulator } = await start({ jobPolls: 2 });
    simulator.setFault({ kind: 'http_5xx', operation: 'getQueryJob', times: 2 });
    expect((await adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context)).outcome).toBe('found');
    expect(simulator.requestCount('getQueryJob')).toBe(4);
  });
});

describe('nrb-realestate adapter: answers about someone else', () => {
  it('refuses result pages holding another holder’s certificates', async () => {
    const { adapter } = await start({
      rewriteAnswer: rewrite('getQueryResults', (body) => ({
        ...body,
        items: (body['items'] as CertificateRecordWire[]).map((record) => ({ ...record, rightHolders: [LI_MEI] })),
      })),
    });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context));
    expect(error).toMatchObject({ kind: 'wrong_subject', details: { operation: 'getQueryResults' } });
    expect(error.message).not.toContain(ZHANG_SAN.idNumber);
  });

  it('refuses a job that queried someone else, another job’s state and another certificate’s document', async () => {
    for (const operation of [
      'createCertificateQuery',
      'getQueryJob',
      'getQueryResults',
      'getCertificateDocument',
    ] as const) {
      const { adapter, simulator } = await start();
      simulator.setFault({ kind: 'wrong_subject', operation });
      expect(
        (await failureOf(adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context))).kind,
        operation,
      ).toBe('wrong_subject');
    }
  });

  it('refuses a document whose bytes do not match its SHA-256, or that is not a PDF', async () => {
    const tampered = await start({
      rewriteAnswer: rewrite('getCertificateDocument', (body) => ({ ...body, sha256: 'a'.repeat(64) })),
    });
    expect((await failureOf(tampered.adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context))).kind).toBe(
      'malformed',
    );
    const html = Buffer.from('<html>not a certificate</html>');
    const notPdf = await start({
      rewriteAnswer: rewrite('getCertificateDocument', (body) => ({
        ...body,
        fileContent: html.toString('base64'),
        sha256: createHash('sha256').update(html).digest('hex'),
      })),
    });
    expect((await failureOf(notPdf.adapter.fetchCertificate!(certificateOf(person(ZHANG_SAN)), context))).kind).toBe(
      'malformed',
    );
  });
});

describe('nrb-realestate adapter: transfer registrations', () => {
  it('submits once per Idempotency-Key and reports a repeat as a duplicate of the same application', async () => {
    const { adapter, simulator } = await start();
    const first = await adapter.submitCase!(transfer('idem-0001'), context);
    expect(first.duplicate).toBe(false);
    expect(first.departmentReference).toMatch(/^ZY\d{14}$/);
    expect(await adapter.submitCase!(transfer('idem-0001'), context)).toEqual({
      departmentReference: first.departmentReference,
      duplicate: true,
    });
    const other = await adapter.submitCase!(transfer('idem-0002'), context);
    expect(other.duplicate).toBe(false);
    expect(other.departmentReference).not.toBe(first.departmentReference);
    expect(simulator.requestCount('submitTransferRegistration')).toBe(3);
  });

  it('retries a submission whose answer was lost with the same key, so the registry does not register it twice', async () => {
    let lose = true;
    const { adapter, simulator } = await start({
      rewriteAnswer: (operation, _status, body) => {
        // The registry recorded the application, then failed before answering (the kit answers 500).
        if (operation === 'submitTransferRegistration' && lose) {
          lose = false;
          throw new Error('answer lost');
        }
        return body;
      },
    });
    const receipt = await adapter.submitCase!(transfer('idem-lost'), context);
    expect(receipt.duplicate).toBe(true);
    expect(simulator.requestCount('submitTransferRegistration')).toBe(2);
    // The application the first attempt created is the one reported.
    expect((await adapter.queryCaseStatus!(receipt.departmentReference, context)).status).toBe('received');
    const next = await adapter.submitCase!(transfer('idem-after-lost'), context);
    expect(Number(next.departmentReference.slice(-6))).toBe(Number(receipt.departmentReference.slice(-6)) + 1);
  });

  it('refuses the same key with another application (BDC-4090)', async () => {
    const { adapter } = await start();
    await adapter.submitCase!(transfer('idem-conflict'), context);
    const error = await failureOf(adapter.submitCase!(transfer('idem-conflict', { price: '4800000' }), context));
    expect(error).toMatchObject({ kind: 'business_error', details: { status: 409, departmentCode: 'BDC-4090' } });
  });

  it("maps the registry's refusals to business errors with their codes", async () => {
    const { adapter } = await start();
    const refusals: [CaseSubmissionRequest, string][] = [
      [
        {
          ...transfer('idem-sealed', { certificateNo: seeded('ZS33010620200234567').certificateNo }),
          subject: person(LI_MEI),
        },
        'BDC-4221',
      ],
      [transfer('idem-cancelled', { certificateNo: seeded('ZS11010520210045218').certificateNo }), 'BDC-4226'],
      [transfer('idem-not-holder', { certificateNo: seeded('ZS33010620180156789').certificateNo }), 'BDC-4224'],
      [transfer('idem-unknown', { certificateNo: '京(2015)朝阳区不动产权第9999999号' }), 'BDC-4223'],
    ];
    for (const [request, code] of refusals) {
      expect(await failureOf(adapter.submitCase!(request, context)), code).toMatchObject({
        kind: 'business_error',
        details: { status: 422, departmentCode: code },
      });
    }
  });

  it('refuses a form without the certificate number before calling, and a receipt for another key', async () => {
    const { adapter, simulator } = await start();
    const { certificateNo: _omitted, ...withoutNumber } = transfer('idem-no-number').form;
    const error = await failureOf(adapter.submitCase!({ ...transfer('idem-no-number'), form: withoutNumber }, context));
    expect(error.kind).toBe('rejected');
    expect(simulator.requestCount('submitTransferRegistration')).toBe(0);
    simulator.setFault({ kind: 'wrong_subject', operation: 'submitTransferRegistration' });
    expect((await failureOf(adapter.submitCase!(transfer('idem-echo'), context))).kind).toBe('wrong_subject');
  });

  it('reads the transferee from the form, guessing the ID type from the number when not given', () => {
    expect(transfereeOf({ transferee: { name: ' 李梅 ', idNumber: '330106198503150120' } })).toEqual({
      name: '李梅',
      idType: 'ID_CARD',
      idNumber: '330106198503150120',
    });
    expect(transfereeOf({ transferee: { name: '云栖科技', idNumber: '91330106ma2b7k1q20' } })).toEqual({
      name: '云栖科技',
      idType: 'USCC',
      idNumber: '91330106MA2B7K1Q20',
    });
    expect(transfereeOf({ transferee: { name: '李梅' } })).toBeUndefined();
    expect(transfereeOf({})).toBeUndefined();
  });
});

describe('nrb-realestate adapter: submission types', () => {
  it('sends a mortgage cancellation to its own endpoint, never as a transfer, and follows its status', async () => {
    const { adapter, simulator } = await start();
    const receipt = await adapter.submitCase!(mortgageCancellation('idem-mc-1'), context);
    expect(receipt).toEqual({ departmentReference: expect.stringMatching(/^ZX\d{14}$/), duplicate: false });
    expect(simulator.requestCount('submitMortgageCancellation')).toBe(1);
    expect(simulator.requestCount('submitTransferRegistration')).toBe(0);
    expect(await adapter.submitCase!(mortgageCancellation('idem-mc-1'), context)).toEqual({
      ...receipt,
      duplicate: true,
    });
    expect(await adapter.queryCaseStatus!(receipt.departmentReference, context)).toMatchObject({
      departmentReference: receipt.departmentReference,
      status: 'received',
    });
    expect(simulator.requestCount('getMortgageCancellation')).toBe(1);
    expect(simulator.requestCount('getTransferRegistration')).toBe(0);
    // The same flat as a transfer goes to the transfer endpoint, with a ZY number.
    const transferred = await adapter.submitCase!(
      { ...transfer('idem-mc-transfer'), form: { certificateNo: TRANSFERABLE.certificateNo } },
      context,
    );
    expect(transferred.departmentReference).toMatch(/^ZY\d{14}$/);
  });

  it("maps the registry's refusals of a cancellation: no mortgage, another mortgagee, not a holder; a form without the number is refused before calling", async () => {
    const { adapter, simulator } = await start();
    const refusals: [CaseSubmissionRequest, string][] = [
      [
        mortgageCancellation('idem-mc-none', { certificateNo: TRANSFERABLE.certificateNo, mortgagee: undefined }),
        'BDC-4227',
      ],
      [mortgageCancellation('idem-mc-other-bank', { mortgagee: '某某银行' }), 'BDC-4220'],
      [{ ...mortgageCancellation('idem-mc-stranger'), subject: person(LI_MEI) }, 'BDC-4224'],
    ];
    for (const [request, code] of refusals) {
      expect(await failureOf(adapter.submitCase!(request, context)), code).toMatchObject({
        kind: 'business_error',
        details: { status: 422, departmentCode: code },
      });
    }
    simulator.resetCounts();
    const { certificateNo: _omitted, ...withoutNumber } = mortgageCancellation('idem-mc-no-number').form;
    expect(
      (
        await failureOf(
          adapter.submitCase!({ ...mortgageCancellation('idem-mc-no-number'), form: withoutNumber }, context),
        )
      ).kind,
    ).toBe('rejected');
    expect(simulator.requestCount()).toBe(0);
  });

  it('refuses a submission type it does not declare, naming the ones it takes, without calling the registry', async () => {
    const { adapter, simulator } = await start();
    const error = await failureOf(
      adapter.submitCase!({ ...transfer('idem-unknown-type'), submissionType: 'household_move_in' }, context),
    );
    expect(error.kind).toBe('rejected');
    expect(error.message).toBe(
      'nrb-realestate: the department takes no submission type "household_move_in"; it takes transfer_registration, mortgage_cancellation',
    );
    expect(simulator.requestCount()).toBe(0);
  });
});

describe('nrb-realestate adapter: status', () => {
  it('maps every registry status, with the time of the last change and the remark', async () => {
    let clock = Date.parse('2026-03-02T02:00:00Z');
    const now = () => clock;
    const { adapter, simulator } = await start({ now, statusStepMs: 60_000 }, { ...fastTuning, now });
    const { departmentReference } = await adapter.submitCase!(transfer('idem-status'), context);
    expect(departmentReference).toMatch(/^ZY20260302\d{6}$/);
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'received',
      updatedAt: '2026-03-02T02:00:00.000Z',
    });
    clock += 90_000;
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'in_progress',
      updatedAt: '2026-03-02T02:01:00.000Z',
    });
    clock += 60_000;
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'completed',
      updatedAt: '2026-03-02T02:02:00.000Z',
      message: '已登簿，新证书已缮证',
    });
    expect(simulator.setApplicationStatus(departmentReference, 'SUPPLEMENT_REQUIRED', '请补充完税证明')).toBe(true);
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'awaiting_applicant',
      message: '请补充完税证明',
    });
    simulator.setApplicationStatus(departmentReference, 'REJECTED', '申请材料不符合法定形式');
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'rejected',
      message: '申请材料不符合法定形式',
    });
    simulator.setApplicationStatus(departmentReference, 'UNDER_REVIEW');
    expect((await adapter.queryCaseStatus!(departmentReference, context)).status).toBe('in_progress');
    simulator.setApplicationStatus(departmentReference, 'REGISTERED');
    expect((await adapter.queryCaseStatus!(departmentReference, context)).status).toBe('completed');
  });

  it('maps an unknown application to a business error and another application’s status to wrong_subject', async () => {
    const { adapter, simulator } = await start();
    expect(await failureOf(adapter.queryCaseStatus!('ZY20260302999999', context))).toMatchObject({
      kind: 'business_error',
      details: { status: 404, departmentCode: 'BDC-4041' },
    });
    const { departmentReference } = await adapter.submitCase!(transfer('idem-other-status'), context);
    simulator.setFault({ kind: 'wrong_subject', operation: 'getTransferRegistration' });
    expect((await failureOf(adapter.queryCaseStatus!(departmentReference, context))).kind).toBe('wrong_subject');
  });
});

describe('nrb-realestate adapter: health', () => {
  it('reports a registry that says DOWN as not ok', async () => {
    const { adapter, simulator } = await start();
    await expect(adapter.health!(context)).resolves.toEqual({ ok: true });
    simulator.setFault({ kind: 'business_error', operation: 'health' });
    expect(await adapter.health!(context)).toEqual({ ok: false, detail: 'registry reports state DOWN' });
  });
});
