/**
 * The AMR adapter against its simulator (and, for hostile answers, against a bare HTTP server
 * playing a broken or malicious registry).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DepartmentError } from '@onewindow/adapter-sdk';
import type { CertificateRequest, DepartmentAdapter } from '@onewindow/adapter-sdk';
import { amrEnterpriseAdapter, amrEnterpriseOptionsSchema } from './adapter.js';
import { encodeMessage } from './charset.js';
import { licenceDocument } from './licence-document.js';
import { soapDocument, soapFault } from './protocol.js';
import { seededEnterprises, unknownCreditCode } from './seed.js';
import { defaultAmrCredentials, startAmrEnterpriseSimulator, type RunningAmrSimulator } from './simulator.js';
import { amrTestEnvironment } from './test-environment.js';
import { element } from './xml.js';
import { licenceRequest, reissue, submission } from './conformance.js';

const context = { requestId: 'req_amr_test' };
const [trading, trading2, listed, cancelled, revoked] = seededEnterprises;
if (!trading || !trading2 || !listed || !cancelled || !revoked) throw new Error('seed data changed');

async function failure(promise: Promise<unknown>): Promise<DepartmentError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DepartmentError) return error;
    throw error;
  }
  throw new Error('expected a DepartmentError');
}

let simulator: RunningAmrSimulator;
let adapter: DepartmentAdapter;
let clock = new Date('2026-03-02T02:00:00Z');

async function build(baseUrl: string, options: Record<string, unknown> = {}): Promise<DepartmentAdapter> {
  const parsed = amrEnterpriseOptionsSchema.parse({
    wsUsername: defaultAmrCredentials.username,
    wsPassword: defaultAmrCredentials.password,
    ...options,
  });
  return amrEnterpriseAdapter.create(
    parsed,
    await amrTestEnvironment(baseUrl, { retries: 2, retryMinDelayMs: 1, retryMaxDelayMs: 5, headersTimeoutMs: 1000 }),
  );
}

describe('AMR adapter against the simulator', () => {
  beforeEach(async () => {
    clock = new Date('2026-03-02T02:00:00Z');
    simulator = await startAmrEnterpriseSimulator({ now: () => clock });
    adapter = await build(simulator.url);
  });
  afterEach(async () => {
    await adapter.close();
    await simulator.close();
  });

  it('declares its capabilities and resources', () => {
    expect(adapter.kind).toBe('amr-enterprise');
    expect(adapter.certificateTypes).toEqual(['business_licence']);
    expect(adapter.resources).toEqual({
      fetchCertificate: 'amr.enterprise',
      submitCase: 'amr.enterprise',
      queryCaseStatus: 'amr.enterprise',
      health: 'amr.enterprise',
    });
    expect(Object.keys(adapter.submissionTypes ?? {})).toEqual([
      'enterprise_establishment',
      'business_licence_reissue',
    ]);
    expect(adapter.submissionTypes?.['enterprise_establishment']?.formSchema).toMatchObject({
      required: ['companyName'],
    });
  });

  it('sends each submission type with the enterprise it is about, and refuses what it cannot send without calling', async () => {
    const establishment = await adapter.submitCase!(submission('YW-TYPE-1'), context);
    expect(establishment.duplicate).toBe(false);
    const reissued = await adapter.submitCase!(reissue('YW-TYPE-2'), context);
    expect(reissued.departmentReference).not.toBe(establishment.departmentReference);
    simulator.resetCounts();
    // An establishment names the new enterprise; the applicant's own name is never taken for it.
    const unnamed = await failure(
      adapter.submitCase!(
        { ...submission('YW-TYPE-3'), subject: reissue('x').subject, form: { registeredCapital: '10万元' } },
        context,
      ),
    );
    expect(unnamed).toMatchObject({ kind: 'rejected' });
    // A reissue by a person must name the enterprise.
    expect(
      (await failure(adapter.submitCase!({ ...reissue('YW-TYPE-4'), subject: submission('x').subject }, context))).kind,
    ).toBe('rejected');
    const undeclared = await failure(
      adapter.submitCase!({ ...submission('YW-TYPE-5'), submissionType: 'enterprise_deregistration' }, context),
    );
    expect(undeclared.kind).toBe('rejected');
    expect(undeclared.message).toContain('takes enterprise_establishment, business_licence_reissue');
    expect(simulator.requestCount()).toBe(0);
  });

  it('fetches a business licence with Chinese fields and the PDF intact', async () => {
    const result = await adapter.fetchCertificate?.(licenceRequest(trading.tyshxydm.toLowerCase()), context);
    expect(result).toEqual({
      outcome: 'found',
      metadata: {
        certificateType: 'business_licence',
        certificateNumber: trading.tyshxydm,
        holderName: '杭州西湖云栖科技有限公司',
        holderIdentifier: trading.tyshxydm,
        issuingAuthority: '杭州市西湖区市场监督管理局',
        issueDate: '2023-06-12',
        validFrom: '2023-06-12',
        validUntil: null,
        status: 'valid',
      },
      document: { mediaType: 'application/pdf', bytes: licenceDocument(trading) },
    });
    const fixedTerm = await adapter.fetchCertificate?.(licenceRequest(trading2.tyshxydm), context);
    expect(fixedTerm?.outcome === 'found' && fixedTerm.metadata.validUntil).toBe('2038-05-20');
    const rareName = await adapter.fetchCertificate?.(licenceRequest(listed.tyshxydm), context);
    expect(rareName?.outcome === 'found' && rareName.metadata.holderName).toBe('浙江钱塘江建设工程股份有限公司');
  });

  it('reports cancelled (注销) and revoked (吊销) enterprises as revoked licences', async () => {
    for (const enterprise of [cancelled, revoked]) {
      const result = await adapter.fetchCertificate?.(licenceRequest(enterprise.tyshxydm), context);
      expect(result?.outcome === 'found' && result.metadata.status).toBe('revoked');
    }
  });

  it('answers not_found for an unknown credit code, and for persons without asking', async () => {
    expect(await adapter.fetchCertificate?.(licenceRequest(unknownCreditCode), context)).toEqual({
      outcome: 'not_found',
    });
    simulator.resetCounts();
    const person: CertificateRequest = {
      certificateType: 'business_licence',
      subject: { kind: 'person', idNumber: '11010519491231002X', name: '张三' },
    };
    expect(await adapter.fetchCertificate?.(person, context)).toEqual({ outcome: 'not_found' });
    expect(simulator.requestCount()).toBe(0);
  });

  it('maps protocol faults: wrong subject, business error, malformed, oversized', async () => {
    simulator.setFault({ kind: 'wrong_subject' });
    expect((await failure(adapter.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'wrong_subject',
    );
    expect((await failure(adapter.submitCase!(submission('YW-WS'), context))).kind).toBe('wrong_subject');
    simulator.setFault({ kind: 'business_error' });
    const business = await failure(adapter.fetchCertificate!(licenceRequest(trading.tyshxydm), context));
    expect(business.kind).toBe('business_error');
    expect(business.details.departmentCode).toBe('E422');
    expect(business.message).not.toContain(trading.tyshxydm);
    simulator.setFault({ kind: 'malformed' });
    expect((await failure(adapter.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'malformed',
    );
    simulator.setFault({ kind: 'oversized' });
    expect((await failure(adapter.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'oversized',
    );
  });

  it('maps the kit’s 503 to unavailable and retries the idempotent query', async () => {
    simulator.setFault({ kind: 'http_5xx' });
    simulator.resetCounts();
    expect((await failure(adapter.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'unavailable',
    );
    expect(simulator.requestCount('QueryBusinessLicence')).toBe(3);
    simulator.setFault({ kind: 'http_5xx', times: 1 });
    expect((await adapter.fetchCertificate!(licenceRequest(trading.tyshxydm), context)).outcome).toBe('found');
  });

  it('is rejected with wrong WS-Security credentials', async () => {
    const wrong = await build(simulator.url, { wsPassword: 'not-the-password' });
    const error = await failure(wrong.fetchCertificate!(licenceRequest(trading.tyshxydm), context));
    expect(error.kind).toBe('rejected');
    expect(error.details.departmentCode).toBe('E401');
    expect(error.message).not.toContain('not-the-password');
    await wrong.close();
  });

  it('submits a registration once per idempotency key and reports duplicates', async () => {
    const first = await adapter.submitCase!(submission('YW-0001'), context);
    expect(first.duplicate).toBe(false);
    expect(first.departmentReference).toMatch(/^SL20260302\d{6}$/);
    const again = await adapter.submitCase!(submission('YW-0001'), context);
    expect(again).toEqual({ departmentReference: first.departmentReference, duplicate: true });
    const other = await adapter.submitCase!(submission('YW-0002'), context);
    expect(other.departmentReference).not.toBe(first.departmentReference);
    const conflict = await failure(adapter.submitCase!(submission('YW-0001', '另一家公司'), context));
    expect(conflict).toMatchObject({ kind: 'business_error', details: { departmentCode: 'E409' } });
  });

  it('sends UTF-8 when asked, and when GBK cannot carry a name', async () => {
    const utf8 = await build(simulator.url, { requestCharset: 'UTF-8' });
    expect((await utf8.fetchCertificate!(licenceRequest(listed.tyshxydm), context)).outcome).toBe('found');
    await utf8.close();
    const receipt = await adapter.submitCase!(submission('YW-RARE', '𠮷野家餐饮（杭州）有限公司'), context);
    expect(receipt.duplicate).toBe(false);
  });

  it('follows registration status over time and through the control', async () => {
    const { departmentReference } = await adapter.submitCase!(submission('YW-STATUS'), context);
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toEqual({
      departmentReference,
      status: 'received',
      updatedAt: '2026-03-02T02:00:00.000Z',
    });
    clock = new Date('2026-03-02T02:01:30Z');
    expect((await adapter.queryCaseStatus!(departmentReference, context)).status).toBe('in_progress');
    simulator.setRegistrationStatus(departmentReference, '03', '请补充股东会决议');
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'awaiting_applicant',
      message: '请补充股东会决议',
    });
    simulator.setRegistrationStatus(departmentReference, '05');
    expect((await adapter.queryCaseStatus!(departmentReference, context)).status).toBe('rejected');
    clock = new Date('2026-03-02T03:00:00Z');
    simulator.setRegistrationStatus(departmentReference, '04', '准予设立登记');
    expect(await adapter.queryCaseStatus!(departmentReference, context)).toMatchObject({
      status: 'completed',
      updatedAt: '2026-03-02T03:00:00.000Z',
    });
    const unknown = await failure(adapter.queryCaseStatus!('SL-unknown', context));
    expect(unknown).toMatchObject({ kind: 'business_error', details: { departmentCode: 'E414' } });
  });

  it('reports health with Ping', async () => {
    expect(await adapter.health!(context)).toEqual({ ok: true });
  });
});

describe('AMR adapter against a hostile or broken registry', () => {
  let server: Server;
  let baseUrl = '';
  let next: { status: number; contentType: string; body: Buffer } = {
    status: 200,
    contentType: 'text/xml',
    body: Buffer.alloc(0),
  };
  let hostile: DepartmentAdapter;

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(next.status, { 'content-type': next.contentType, 'content-length': next.body.byteLength });
        response.end(next.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    hostile = await build(baseUrl);
  });
  afterAll(async () => {
    await hostile.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function answer(
    status: number,
    document: string,
    contentType = 'text/xml; charset=UTF-8',
    charset: 'GBK' | 'UTF-8' = 'UTF-8',
  ): void {
    next = { status, contentType, body: encodeMessage(document, charset) };
  }

  const licenceEnvelope = (code: string) =>
    soapDocument(
      element('amr:QueryBusinessLicenceResponse', [
        element('amr:yyzz', [
          ...(
            ['tyshxydm', 'qymc', 'qylx', 'fddbr', 'zczb', 'clrq', 'yyqxz', 'zs', 'djjg', 'fzrq', 'djzt'] as const
          ).map((field) => element(`amr:${field}`, field === 'tyshxydm' ? code : trading[field])),
          element('amr:dzzzwj', Buffer.from(licenceDocument(trading)).toString('base64')),
        ]),
      ]),
      'GBK',
    );

  it('refuses a billion-laughs answer as malformed without expanding it', async () => {
    answer(
      200,
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&lol4;</x></soap:Body></soap:Envelope>`,
    );
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'malformed',
    );
  });

  it('refuses an external-entity answer as malformed, also behind a 500', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE f [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>&xxe;</faultstring></soap:Fault></soap:Body></soap:Envelope>`;
    for (const status of [200, 500]) {
      answer(status, xxe);
      const error = await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context));
      expect(error.kind).toBe('malformed');
      expect(JSON.stringify(error.details)).not.toContain('root:');
    }
  });

  it('decodes GBK declared only in the XML declaration', async () => {
    answer(200, licenceEnvelope(trading.tyshxydm), 'text/xml', 'GBK');
    const result = await hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context);
    expect(result.outcome === 'found' && result.metadata.holderName).toBe(trading.qymc);
  });

  it('refuses unknown charsets, undecodable bytes and non-XML media types as malformed', async () => {
    answer(200, licenceEnvelope(trading.tyshxydm), 'text/xml; charset=Shift_JIS');
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'malformed',
    );
    next = {
      status: 200,
      contentType: 'text/xml; charset=UTF-8',
      body: Buffer.concat([encodeMessage(licenceEnvelope(trading.tyshxydm), 'GBK')]),
    };
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'malformed',
    );
    answer(200, '{"ok":true}', 'application/json');
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'malformed',
    );
  });

  it('maps Server faults and unreadable 500s to unavailable', async () => {
    answer(500, soapDocument(soapFault('Server', 'E500', '内部错误'), 'GBK'), 'text/xml; charset=GBK', 'GBK');
    expect(await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).toMatchObject({
      kind: 'unavailable',
      details: { departmentCode: 'E500' },
    });
    answer(500, '<html>Internal Server Error</html>', 'text/html');
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'unavailable',
    );
    answer(
      500,
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>1</x></soap:Body></soap:Envelope>',
    );
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'unavailable',
    );
  });

  it('refuses an answer that violates the contract before mapping it', async () => {
    answer(
      200,
      licenceEnvelope(trading.tyshxydm).replace(/<amr:djzt>[^<]*<\/amr:djzt>/, '<amr:djzt>UNKNOWN</amr:djzt>'),
    );
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'contract_violation',
    );
    answer(200, soapDocument(soapFault('Client', 'E422', '拒绝'), 'UTF-8'));
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'contract_violation',
    );
  });

  it('refuses a licence about another enterprise as wrong_subject', async () => {
    answer(200, licenceEnvelope(trading2.tyshxydm));
    expect((await failure(hostile.fetchCertificate!(licenceRequest(trading.tyshxydm), context))).kind).toBe(
      'wrong_subject',
    );
  });
});
