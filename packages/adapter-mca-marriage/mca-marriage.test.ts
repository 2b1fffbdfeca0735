/**
 * The MCA adapter against its simulator: the signed form (fresh per attempt, also after the front
 * proxy's 502s), the registry's codes (HTTP 200 with an error code), Chinese dates, statuses, the
 * certificate file, answers that break the contract, metrics per method. The shared conformance
 * suite runs on `conformance.ts` (`npm run adapters:conformance`).
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  type CertificateRequest,
  type DepartmentAdapter,
  DepartmentError,
  createDepartmentMetrics,
  interfaceIncompatibility,
} from '@onewindow/adapter-sdk';
import { mcaMarriageAdapter, mcaMarriageOptionsSchema } from './adapter.js';
import { MARRIAGE_CERTIFICATE } from './mapping.js';
import { mcaMethods } from './protocol.js';
import { CHEN_ZHIQIANG, LI_MEI, MA_XIAOYAN, WANG_JIANGUO, ZHANG_SAN, ZHAO_LIHUA, type SeededParty } from './seed.js';
import {
  MCA_DEMO_APP_ID,
  MCA_DEMO_APP_KEY,
  startMcaMarriageSimulator,
  type McaSimulatorOptions,
  type RunningMcaSimulator,
} from './simulator.js';
import { mcaTestEnvironment, type McaTestEnvironmentOptions } from './test-environment.js';

const context = { requestId: 'req_mca_test' };
const fastTuning: McaTestEnvironmentOptions = {
  retries: 2,
  retryMinDelayMs: 1,
  retryMaxDelayMs: 5,
  headersTimeoutMs: 2000,
  budgetMs: 5000,
};

function certificateOf(party: SeededParty, extra: Partial<CertificateRequest> = {}): CertificateRequest {
  return {
    certificateType: MARRIAGE_CERTIFICATE,
    subject: { kind: 'person', idNumber: party.idNumber, name: party.name },
    ...extra,
  };
}

interface Fixture {
  simulator: RunningMcaSimulator;
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
  simulatorOptions: McaSimulatorOptions = {},
  environment: McaTestEnvironmentOptions = {},
  options: Record<string, unknown> = {},
): Promise<Fixture> {
  const simulator = await startMcaMarriageSimulator(simulatorOptions);
  const adapter = mcaMarriageAdapter.create(
    mcaMarriageOptionsSchema.parse({ appId: MCA_DEMO_APP_ID, appKey: MCA_DEMO_APP_KEY, ...options }),
    mcaTestEnvironment(simulator.url, { ...fastTuning, ...environment }),
  );
  const fixture = { simulator, adapter };
  open.push(fixture);
  return fixture;
}

async function failureOf(promise: Promise<unknown>): Promise<DepartmentError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(DepartmentError);
  return outcome as DepartmentError;
}

describe('mca-marriage adapter: certificates', () => {
  it('maps a certificate: Chinese date, registry, status, the holder asked about, a real PDF', async () => {
    const { adapter } = await start();
    const result = await adapter.fetchCertificate!(certificateOf(ZHAO_LIHUA), context);
    if (result.outcome !== 'found') throw new Error('not found');
    expect(result.metadata).toEqual({
      certificateType: 'marriage_certificate',
      certificateNumber: 'J320102-2019-000517',
      holderName: '赵丽华',
      holderIdentifier: ZHAO_LIHUA.idNumber,
      issuingAuthority: '南京市玄武区民政局婚姻登记处',
      issueDate: '2019-05-20',
      validFrom: '2019-05-20',
      validUntil: null,
      status: 'valid',
      holders: [
        { name: '赵丽华', identifier: ZHAO_LIHUA.idNumber },
        { name: '王建国', identifier: WANG_JIANGUO.idNumber },
      ],
    });
    expect(result.document.mediaType).toBe('application/pdf');
    expect(Buffer.from(result.document.bytes.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
    // The other spouse holds the same certificate number.
    const other = await adapter.fetchCertificate!(certificateOf(WANG_JIANGUO), context);
    expect(other.outcome === 'found' && other.metadata.certificateNumber).toBe('J320102-2019-000517');
    // Both spouses are its holders, the one asked about first.
    expect(other.outcome === 'found' && other.metadata.holders?.map((holder) => holder.identifier)).toEqual([
      WANG_JIANGUO.idNumber,
      ZHAO_LIHUA.idNumber,
    ]);
  });

  it('maps 已撤销 to revoked, and 已注销 (ended by divorce) to cancelled: history, not a revocation', async () => {
    const { adapter } = await start();
    const revoked = await adapter.fetchCertificate!(certificateOf(ZHANG_SAN), context);
    expect(revoked.outcome === 'found' && revoked.metadata.status).toBe('revoked');
    const divorced = await adapter.fetchCertificate!(certificateOf(MA_XIAOYAN), context);
    expect(divorced.outcome === 'found' && divorced.metadata.status).toBe('cancelled');
  });

  it('answers not_found without a call for organisations and other certificate types, and for another number', async () => {
    const { adapter, simulator } = await start();
    expect(
      await adapter.fetchCertificate!(
        { certificateType: MARRIAGE_CERTIFICATE, subject: { kind: 'organisation', creditCode: 'x', name: 'x' } },
        context,
      ),
    ).toEqual({ outcome: 'not_found' });
    expect(
      await adapter.fetchCertificate!({ ...certificateOf(LI_MEI), certificateType: 'divorce_certificate' }, context),
    ).toEqual({ outcome: 'not_found' });
    expect(simulator.requestCount()).toBe(0);
    expect(
      await adapter.fetchCertificate!(certificateOf(LI_MEI, { certificateNumber: 'J000000-2000-000000' }), context),
    ).toEqual({ outcome: 'not_found' });
  });

  it('refuses an impossible date (malformed), a file that is not a PDF (malformed) or too large (oversized)', async () => {
    const rewrite =
      (change: (data: Record<string, unknown>) => void): McaSimulatorOptions['rewriteAnswer'] =>
      (answer) => {
        const data = answer['data'];
        if (typeof data === 'object' && data !== null && 'djrq' in data) change(data as Record<string, unknown>);
        return answer;
      };
    let fixture = await start({ rewriteAnswer: rewrite((data) => (data['djrq'] = '2019年02月30日')) });
    expect((await failureOf(fixture.adapter.fetchCertificate!(certificateOf(LI_MEI), context))).kind).toBe('malformed');
    fixture = await start({
      rewriteAnswer: rewrite((data) => (data['zzwj'] = Buffer.from('GIF89a not a pdf').toString('base64'))),
    });
    expect((await failureOf(fixture.adapter.fetchCertificate!(certificateOf(LI_MEI), context))).kind).toBe('malformed');
    fixture = await start({}, {}, { maxDocumentBytes: 100 });
    expect((await failureOf(fixture.adapter.fetchCertificate!(certificateOf(LI_MEI), context))).kind).toBe('oversized');
  });

  it('refuses an answer that breaks the contract (contract_violation), naming the field, not its value', async () => {
    const { adapter } = await start({
      rewriteAnswer: (answer) => {
        const data = answer['data'] as Record<string, unknown> | undefined;
        if (data?.['holder']) data['holder'] = { name: '李梅', id_number: 'not-an-id' };
        return answer;
      },
    });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(LI_MEI), context));
    expect(error.kind).toBe('contract_violation');
    expect(error.details.violations).toContainEqual({ path: '/data/holder/id_number', keyword: 'pattern' });
    expect(error.message).not.toContain('not-an-id');
  });
});

describe('mca-marriage adapter: the signed form and the registry’s codes', () => {
  it('sends a signature the registry accepts, a fresh nonce per attempt, and is refused with a wrong key (HTTP 200, 40001)', async () => {
    const good = await start();
    await good.adapter.fetchCertificate!(certificateOf(LI_MEI), context);
    await good.adapter.fetchCertificate!(certificateOf(LI_MEI), context);
    expect(new Set(good.simulator.noncesSeen()).size).toBe(2);
    const bad = await start({}, {}, { appKey: 'a-wrong-key-of-some-length' });
    const error = await failureOf(bad.adapter.fetchCertificate!(certificateOf(LI_MEI), context));
    expect(error.kind).toBe('rejected');
    expect(error.details).toMatchObject({ departmentCode: '40001', status: 200 });
    // A refusal is not retried.
    expect(bad.simulator.requestCount(mcaMethods.certificateQuery)).toBe(1);
  });

  it('is refused as stale when its clock is off by more than 300 s (40002)', async () => {
    const { adapter } = await start({}, { now: () => Date.now() - 10 * 60 * 1000 });
    const error = await failureOf(adapter.fetchCertificate!(certificateOf(LI_MEI), context));
    expect(error.details.departmentCode).toBe('40002');
    expect(error.kind).toBe('rejected');
  });

  it('gets through the front proxy’s 502s by retrying, each retry freshly signed (no 40003 replay)', async () => {
    const { adapter, simulator } = await start({ frontProxy: { seed: 7 } }, { retries: 3 });
    for (let index = 0; index < 30; index++) {
      const result = await adapter.fetchCertificate!(certificateOf(index % 2 ? LI_MEI : CHEN_ZHIQIANG), context);
      expect(result.outcome).toBe('found');
    }
    const failures = simulator.proxyFailures();
    // Deterministic from the seed: about one in ten, and the same number every run.
    expect(failures).toBeGreaterThan(0);
    expect(simulator.requestCount(mcaMethods.certificateQuery)).toBe(30 + failures);
    const nonces = simulator.noncesSeen();
    expect(nonces).toHaveLength(30 + failures);
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it('fails the same calls for the same seed', async () => {
    const runs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const { adapter, simulator } = await start({ frontProxy: { seed: 20190520 } }, { retries: 0 });
      const failedAt: number[] = [];
      for (let index = 0; index < 40; index++) {
        const outcome = await adapter.fetchCertificate!(certificateOf(LI_MEI), context).then(
          () => 'ok',
          (error: unknown) => (error instanceof DepartmentError ? error.kind : 'other'),
        );
        if (outcome !== 'ok') {
          expect(outcome).toBe('unavailable');
          failedAt.push(index);
        }
      }
      expect(simulator.proxyFailures()).toBe(failedAt.length);
      runs.push(failedAt);
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]!.length).toBeGreaterThan(0);
    expect(runs[0]!.length).toBeLessThan(12);
  });

  it('labels metrics per method (the contract operationId)', async () => {
    const registry = new Registry();
    const metrics = createDepartmentMetrics(registry);
    const { adapter } = await start({}, { metrics });
    await adapter.fetchCertificate!(certificateOf(LI_MEI), context);
    await adapter.health!(context);
    const text = await registry.metrics();
    expect(text).toContain('operation="mca.marriage.certificate.query",outcome="ok"');
    expect(text).toContain('operation="mca.gateway.health",outcome="ok"');
  });

  it("is the package's adapter, for the interface the SDK implements", async () => {
    const entry = await import('./index.js');
    expect(entry.adapter.kind).toBe('mca-marriage');
    const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
      onewindow: { adapterInterface: string };
    };
    expect(interfaceIncompatibility(manifest.onewindow.adapterInterface)).toBeUndefined();
  });
});
