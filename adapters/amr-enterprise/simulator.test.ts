/**
 * The simulator as a department system, driven with raw HTTP: routing, charsets, WS-Security,
 * request safety, idempotent submissions and status progress.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from './charset.js';
import {
  faultCodes,
  SERVICE_PATH,
  soapActionOf,
  soapDocument,
  usernameTokenHeader,
  type SoapOperation,
} from './protocol.js';
import { seededEnterprises, unknownCreditCode } from './seed.js';
import { defaultAmrCredentials, startAmrEnterpriseSimulator, type RunningAmrSimulator } from './simulator.js';
import { element, parseSoapEnvelope, type XmlFragment, type XmlObject } from './xml.js';

let simulator: RunningAmrSimulator;
let clock = new Date('2026-03-02T02:00:00Z');

beforeEach(async () => {
  clock = new Date('2026-03-02T02:00:00Z');
  simulator = await startAmrEnterpriseSimulator({ now: () => clock, statusStepMs: 60_000 });
});
afterEach(() => simulator.close());

const auth = usernameTokenHeader(defaultAmrCredentials.username, defaultAmrCredentials.password);

interface Answer {
  status: number;
  contentType: string;
  body: XmlObject;
}

async function soap(
  operation: SoapOperation,
  body: XmlFragment,
  options: {
    charset?: 'GBK' | 'UTF-8';
    header?: XmlFragment | null;
    path?: string;
    soapAction?: string | null;
    raw?: string;
  } = {},
): Promise<Answer> {
  const charset = options.charset ?? 'GBK';
  const header = options.header === null ? undefined : (options.header ?? auth);
  const document = options.raw ?? soapDocument(body, charset, header);
  const headers: Record<string, string> = { 'content-type': `text/xml; charset=${charset}` };
  if (options.soapAction !== null) headers['soapaction'] = options.soapAction ?? soapActionOf(operation);
  const response = await fetch(`${simulator.url}${options.path ?? SERVICE_PATH}`, {
    method: 'POST',
    headers,
    body: encodeMessage(document, charset),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const contentType = response.headers.get('content-type') ?? '';
  return { status: response.status, contentType, body: parseSoapEnvelope(decodeMessage(contentType, bytes).text).body };
}

function licenceRequest(code: string): XmlFragment {
  return element('amr:QueryBusinessLicence', [element('amr:tyshxydm', code)]);
}

function faultCode(answer: Answer): string | undefined {
  const fault = answer.body['Fault'] as XmlObject | undefined;
  return (fault?.['detail'] as XmlObject | undefined)?.['errorCode'] as string | undefined;
}

function submission(ywlsh: string, companyName = '杭州西湖新设测试有限公司'): XmlFragment {
  return element('amr:SubmitRegistration', [
    element('amr:ywlsh', ywlsh),
    element('amr:sqr', [
      element('amr:mc', '李梅'),
      element('amr:zjlx', 'sfz'),
      element('amr:zjhm', '330106198503150120'),
    ]),
    element('amr:qymc', companyName),
    element('amr:clxx', [
      element('amr:cl', [
        element('amr:cllx', 'articles_of_association'),
        element('amr:sha256', 'a'.repeat(64)),
        element('amr:mtlx', 'application/pdf'),
        element('amr:dx', '1024'),
      ]),
    ]),
  ]);
}

describe('AMR simulator: licences and charsets', () => {
  it('answers a licence in GBK with Chinese fields intact, to GBK and UTF-8 requests alike', async () => {
    const [enterprise] = seededEnterprises;
    if (!enterprise) throw new Error('seed');
    for (const charset of ['GBK', 'UTF-8'] as const) {
      const answer = await soap('QueryBusinessLicence', licenceRequest(enterprise.tyshxydm), { charset });
      expect(answer.status).toBe(200);
      expect(answer.contentType).toBe('text/xml; charset=GBK');
      const licence = (answer.body['QueryBusinessLicenceResponse'] as XmlObject)['yyzz'] as XmlObject;
      expect(licence['qymc']).toBe(enterprise.qymc);
      expect(licence['fddbr']).toBe(enterprise.fddbr);
      expect(licence['zs']).toBe(enterprise.zs);
      expect(
        Buffer.from(licence['dzzzwj'] as string, 'base64')
          .subarray(0, 8)
          .toString('latin1'),
      ).toBe('%PDF-1.7');
    }
  });

  it('serves each operation at its own path too, and refuses a SOAPAction that contradicts the path', async () => {
    const code = seededEnterprises[0]?.tyshxydm ?? '';
    const byPath = await soap('QueryBusinessLicence', licenceRequest(code), {
      path: `${SERVICE_PATH}/QueryBusinessLicence`,
      soapAction: null,
    });
    expect(byPath.status).toBe(200);
    const contradicting = await soap('QueryBusinessLicence', licenceRequest(code), {
      path: `${SERVICE_PATH}/QueryBusinessLicence`,
      soapAction: soapActionOf('Ping'),
    });
    expect(faultCode(contradicting)).toBe(faultCodes.badRequest);
    const noAction = await soap('QueryBusinessLicence', licenceRequest(code), { soapAction: null });
    expect(faultCode(noAction)).toBe(faultCodes.badRequest);
  });

  it('answers an unknown credit code with a Client fault E404', async () => {
    const answer = await soap('QueryBusinessLicence', licenceRequest(unknownCreditCode));
    expect(answer.status).toBe(500);
    expect((answer.body['Fault'] as XmlObject)['faultcode']).toBe('soap:Client');
    expect(faultCode(answer)).toBe(faultCodes.enterpriseNotFound);
  });

  it('checks the WS-Security UsernameToken (Ping excepted)', async () => {
    const code = seededEnterprises[0]?.tyshxydm ?? '';
    expect(faultCode(await soap('QueryBusinessLicence', licenceRequest(code), { header: null }))).toBe(
      faultCodes.unauthenticated,
    );
    const wrong = usernameTokenHeader(defaultAmrCredentials.username, 'wrong-password');
    expect(faultCode(await soap('QueryBusinessLicence', licenceRequest(code), { header: wrong }))).toBe(
      faultCodes.unauthenticated,
    );
    expect((await soap('Ping', element('amr:Ping', ''), { header: null })).body).toMatchObject({
      PingResponse: { zt: 'OK' },
    });
  });

  it('refuses requests with a DTD, an external entity or an unknown charset as Client faults, without expansion', async () => {
    const bomb = `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><amr:QueryBusinessLicence xmlns:amr="urn:amr:enterprise:v1"><amr:tyshxydm>&b;</amr:tyshxydm></amr:QueryBusinessLicence></soap:Body></soap:Envelope>`;
    const xxe = `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><amr:QueryBusinessLicence xmlns:amr="urn:amr:enterprise:v1"><amr:tyshxydm>&e;</amr:tyshxydm></amr:QueryBusinessLicence></soap:Body></soap:Envelope>`;
    for (const raw of [bomb, xxe]) {
      const answer = await soap('QueryBusinessLicence', licenceRequest(''), { raw, charset: 'UTF-8' });
      expect(answer.status).toBe(500);
      expect(faultCode(answer)).toBe(faultCodes.badRequest);
      expect(JSON.stringify(answer.body)).not.toContain('root:');
    }
    const response = await fetch(`${simulator.url}${SERVICE_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=KOI8-R', soapaction: soapActionOf('Ping') },
      body: '<x/>',
    });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('E400');
  });
});

describe('AMR simulator: registrations', () => {
  it('deduplicates by ywlsh, refuses a reused ywlsh with other content, and advances status with time', async () => {
    const first = (await soap('SubmitRegistration', submission('YW-1'))).body[
      'SubmitRegistrationResponse'
    ] as XmlObject;
    expect(first).toMatchObject({ ywlsh: 'YW-1', cfbz: '0', slsj: '2026-03-02 10:00:00' });
    const again = (await soap('SubmitRegistration', submission('YW-1'), { charset: 'UTF-8' })).body[
      'SubmitRegistrationResponse'
    ] as XmlObject;
    expect(again).toMatchObject({ slbh: first['slbh'], cfbz: '1' });
    expect(faultCode(await soap('SubmitRegistration', submission('YW-1', '另一家公司')))).toBe(
      faultCodes.idempotencyConflict,
    );
    expect(faultCode(await soap('SubmitRegistration', submission('YW-2', '')))).toBe(faultCodes.businessRefused);

    const status = async () =>
      (
        await soap(
          'QueryRegistrationStatus',
          element('amr:QueryRegistrationStatus', [element('amr:slbh', String(first['slbh']))]),
        )
      ).body['QueryRegistrationStatusResponse'] as XmlObject;
    expect(await status()).toMatchObject({ blzt: '01', blztmc: '已接收' });
    clock = new Date(clock.getTime() + 61_000);
    expect(await status()).toMatchObject({ blzt: '02', gxsj: '2026-03-02 10:01:00' });
    clock = new Date(clock.getTime() + 120_000);
    expect(await status()).toMatchObject({ blzt: '04' });

    const control = await fetch(`${simulator.url}/__amr/registrations/${String(first['slbh'])}/status`, {
      method: 'POST',
      body: JSON.stringify({ blzt: '03', bz: '请补充公司章程' }),
    });
    expect(control.status).toBe(200);
    expect(await status()).toMatchObject({ blzt: '03', blztmc: '待补正', bz: '请补充公司章程' });
    expect(simulator.setRegistrationStatus(String(first['slbh']), '05')).toBe(true);
    expect(await status()).toMatchObject({ blzt: '05' });
    expect(
      faultCode(
        await soap('QueryRegistrationStatus', element('amr:QueryRegistrationStatus', [element('amr:slbh', 'SL-none')])),
      ),
    ).toBe(faultCodes.registrationNotFound);
  });

  it('counts requests per operation for the kit', async () => {
    await soap('Ping', element('amr:Ping', ''));
    await soap('QueryBusinessLicence', licenceRequest(unknownCreditCode), {
      path: `${SERVICE_PATH}/QueryBusinessLicence`,
      soapAction: null,
    });
    expect(simulator.requestCount('Ping')).toBe(1);
    expect(simulator.requestCount('QueryBusinessLicence')).toBe(1);
  });
});
