/**
 * The simulator as a department system, driven with raw HTTP: the OAuth token endpoint, bearer
 * authentication, the query job and its pages, documents, idempotent submissions and their status,
 * the controls and the faults — and every answer checked against the published contract, so the
 * simulator cannot drift from what the registry promises.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContractSet } from '@onewindow/adapter-sdk';
import { NRB_RESOURCE } from './adapter.js';
import {
  basicCredentials,
  operationOfRequest,
  type QueryJobWire,
  type ResultPageWire,
  type TransferReceiptWire,
} from './protocol.js';
import { LI_MEI, NRB_UNKNOWN_ID_NUMBER, SUN_YAQIN, ZHAO_ZHIGANG, seededCertificates, ZHANG_SAN } from './seed.js';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  registryTimestamp,
  startNrbRealEstateSimulator,
  type RunningNrbSimulator,
} from './simulator.js';
import { nrbContracts } from './test-environment.js';

const OTHER_CLIENT = { clientId: 'another-window', clientSecret: 'another-window-secret' };
let simulator: RunningNrbSimulator;
let clock = Date.parse('2026-03-02T02:00:00Z');
let contracts: ContractSet;

beforeEach(async () => {
  clock = Date.parse('2026-03-02T02:00:00Z');
  contracts ??= nrbContracts();
  simulator = await startNrbRealEstateSimulator({
    now: () => clock,
    jobPolls: 3,
    statusStepMs: 60_000,
    clients: [{ clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET }, OTHER_CLIENT],
  });
});
afterEach(() => simulator.close());

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** One raw request; a JSON answer is checked against the contract of its operation. */
async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { token?: string; json?: unknown; form?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = options.form;
  }
  const response = await fetch(`${simulator.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const parsed = (await response.json()) as Record<string, unknown>;
  const operation = operationOfRequest(method, new URL(path, 'http://x').pathname);
  if (operation !== null) contracts.checkResponse(NRB_RESOURCE, operation, response.status, parsed);
  return { status: response.status, headers: response.headers, body: parsed };
}

const demoForm = `grant_type=client_credentials&client_id=${NRB_DEMO_CLIENT_ID}&client_secret=${NRB_DEMO_CLIENT_SECRET}`;

async function token(form = demoForm): Promise<string> {
  const answer = await call('POST', '/oauth/token', { form });
  expect(answer.status).toBe(200);
  return answer.body['access_token'] as string;
}

async function finishedJob(
  accessToken: string,
  holder: { idType: string; idNumber: string; name: string },
): Promise<QueryJobWire> {
  const created = await call('POST', '/api/v1/certificate-queries', {
    token: accessToken,
    json: { idType: holder.idType, idNumber: holder.idNumber, holderName: holder.name },
  });
  expect(created.status).toBe(202);
  const jobId = created.body['jobId'] as string;
  for (let poll = 0; poll < 3; poll++) {
    const job = (await call('GET', `/api/v1/jobs/${jobId}`, { token: accessToken })).body as unknown as QueryJobWire;
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return job;
  }
  throw new Error('the job did not finish in the configured 3 polls');
}

function transferBody(certificateNo: string, applicant = ZHANG_SAN): Record<string, unknown> {
  return {
    caseNumber: 'CASE-2026-0107',
    itemCode: 'nrb.real-estate.transfer',
    applicant,
    certificateNo,
    transferee: LI_MEI,
    transferReason: '买卖',
    materials: [{ typeCode: 'sale_contract', sha256: 'c'.repeat(64), mediaType: 'application/pdf', size: 4096 }],
    formData: { price: '5200000' },
  };
}

const transferable = seededCertificates.find((record) => record.certificateId === 'ZS11010520150031287')!;

describe('NRB simulator: the token endpoint', () => {
  it('issues bearer tokens for form or Basic client credentials', async () => {
    const answer = await call('POST', '/oauth/token', { form: demoForm });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const basic = await call('POST', '/oauth/token', {
      form: 'grant_type=client_credentials',
      headers: { authorization: basicCredentials(NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET) },
    });
    expect(basic.status).toBe(200);
    expect(basic.body['access_token']).not.toBe(answer.body['access_token']);
  });

  it('refuses wrong credentials, other grants, credentials sent twice and other media types', async () => {
    const wrongSecret = await call('POST', '/oauth/token', {
      form: `grant_type=client_credentials&client_id=${NRB_DEMO_CLIENT_ID}&client_secret=wrong-secret`,
    });
    expect(wrongSecret).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(wrongSecret.headers.get('www-authenticate')).toContain('Basic');
    expect(
      await call('POST', '/oauth/token', {
        form: 'grant_type=client_credentials&client_id=nobody&client_secret=whatever-secret',
      }),
    ).toMatchObject({ status: 401 });
    expect(
      await call('POST', '/oauth/token', {
        form: `grant_type=password&client_id=${NRB_DEMO_CLIENT_ID}&client_secret=${NRB_DEMO_CLIENT_SECRET}`,
      }),
    ).toMatchObject({
      status: 400,
      body: { error: 'unsupported_grant_type' },
    });
    const twice = await call('POST', '/oauth/token', {
      form: demoForm,
      headers: { authorization: basicCredentials(NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET) },
    });
    expect(twice).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const json = await call('POST', '/oauth/token', {
      form: JSON.stringify({ grant_type: 'client_credentials' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(json).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});

describe('NRB simulator: bearer authentication', () => {
  it('refuses API calls without a token, with an unknown one, an expired one and a revoked one', async () => {
    const missing = await call('GET', '/api/v1/health');
    expect(missing).toMatchObject({ status: 401, body: { code: 'BDC-4010' } });
    expect(missing.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await call('GET', '/api/v1/health', { token: 'nrb_not-a-token-the-registry-issued' })).status).toBe(401);
    expect(
      (
        await call('GET', '/api/v1/health', {
          headers: {
            authorization: `Basic ${Buffer.from(`${NRB_DEMO_CLIENT_ID}:${NRB_DEMO_CLIENT_SECRET}`).toString('base64')}`,
          },
        })
      ).status,
    ).toBe(401);

    const accessToken = await token();
    expect(await call('GET', '/api/v1/health', { token: accessToken })).toMatchObject({
      status: 200,
      body: { status: 'UP', time: '2026-03-02T10:00:00+08:00' },
    });
    clock += 299_000;
    expect((await call('GET', '/api/v1/health', { token: accessToken })).status).toBe(200);
    clock += 1_000;
    expect((await call('GET', '/api/v1/health', { token: accessToken })).status).toBe(401);

    const fresh = await token();
    simulator.revokeTokens();
    expect((await call('GET', '/api/v1/health', { token: fresh })).status).toBe(401);
  });

  it('revokes tokens over the HTTP control too', async () => {
    const accessToken = await token();
    const revoked = await fetch(`${simulator.url}/__nrb/tokens/revoke`, { method: 'POST' });
    expect(revoked.status).toBe(200);
    expect((await call('GET', '/api/v1/health', { token: accessToken })).status).toBe(401);
  });
});

describe('NRB simulator: certificate queries', () => {
  it('runs a query as a job: 202 with a Location, pending, running, succeeded, then paged results', async () => {
    const accessToken = await token();
    const created = await call('POST', '/api/v1/certificate-queries', {
      token: accessToken,
      json: { idType: 'ID_CARD', idNumber: LI_MEI.idNumber, holderName: LI_MEI.name },
    });
    expect(created).toMatchObject({ status: 202, body: { status: 'PENDING', createdAt: '2026-03-02T10:00:00+08:00' } });
    const jobId = created.body['jobId'] as string;
    expect(created.headers.get('location')).toBe(`/api/v1/jobs/${jobId}`);
    expect(await call('GET', `/api/v1/jobs/${jobId}/results`, { token: accessToken })).toMatchObject({
      status: 409,
      body: { code: 'BDC-4091' },
    });

    expect((await call('GET', `/api/v1/jobs/${jobId}`, { token: accessToken })).body['status']).toBe('PENDING');
    expect((await call('GET', `/api/v1/jobs/${jobId}`, { token: accessToken })).body['status']).toBe('RUNNING');
    expect((await call('GET', `/api/v1/jobs/${jobId}`, { token: accessToken })).body).toMatchObject({
      status: 'SUCCEEDED',
      totalCount: 3,
    });
    // Finished jobs stay finished.
    expect((await call('GET', `/api/v1/jobs/${jobId}`, { token: accessToken })).body).toMatchObject({
      status: 'SUCCEEDED',
      totalCount: 3,
    });

    const pages: ResultPageWire[] = [];
    for (let page = 1; page <= 3; page++)
      pages.push(
        (await call('GET', `/api/v1/jobs/${jobId}/results?page=${page}&pageSize=2`, { token: accessToken }))
          .body as unknown as ResultPageWire,
      );
    expect(pages.map((page) => [page.page, page.totalPages, page.totalCount, page.items.length])).toEqual([
      [1, 2, 3, 2],
      [2, 2, 3, 1],
      [3, 2, 3, 0],
    ]);
    const ids = pages.flatMap((page) => page.items.map((item) => item.certificateId));
    expect(new Set(ids).size).toBe(3);
    for (const item of pages.flatMap((page) => page.items))
      expect(item.rightHolders.map((holder) => holder.idNumber)).toContain(LI_MEI.idNumber);
    // Defaults: page 1 of 20.
    expect((await call('GET', `/api/v1/jobs/${jobId}/results`, { token: accessToken })).body).toMatchObject({
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
  });

  it('refuses bad page parameters and bad criteria, and finds nothing for an unknown holder', async () => {
    const accessToken = await token();
    const job = await finishedJob(accessToken, {
      idType: 'ID_CARD',
      idNumber: ZHANG_SAN.idNumber,
      name: ZHANG_SAN.name,
    });
    for (const query of ['pageSize=101', 'pageSize=0', 'page=0', 'page=x']) {
      expect(
        await call('GET', `/api/v1/jobs/${job.jobId}/results?${query}`, { token: accessToken }),
        query,
      ).toMatchObject({ status: 400, body: { code: 'BDC-4000' } });
    }
    for (const criteria of [
      { idType: 'ID_CARD', idNumber: '123', holderName: '张三' },
      { idType: 'PASSPORT', idNumber: ZHANG_SAN.idNumber, holderName: '张三' },
      { idType: 'ID_CARD', idNumber: ZHANG_SAN.idNumber },
    ]) {
      expect((await call('POST', '/api/v1/certificate-queries', { token: accessToken, json: criteria })).status).toBe(
        400,
      );
    }
    expect(
      await finishedJob(accessToken, { idType: 'ID_CARD', idNumber: NRB_UNKNOWN_ID_NUMBER, name: '某某' }),
    ).toMatchObject({ status: 'SUCCEEDED', totalCount: 0 });
  });

  it('shows a job to the client that created it only', async () => {
    const mine = await token();
    const theirs = await token(
      `grant_type=client_credentials&client_id=${OTHER_CLIENT.clientId}&client_secret=${OTHER_CLIENT.clientSecret}`,
    );
    const job = await finishedJob(mine, { idType: 'ID_CARD', idNumber: ZHANG_SAN.idNumber, name: ZHANG_SAN.name });
    expect(await call('GET', `/api/v1/jobs/${job.jobId}`, { token: theirs })).toMatchObject({
      status: 404,
      body: { code: 'BDC-4040' },
    });
    expect((await call('GET', `/api/v1/jobs/${job.jobId}/results`, { token: theirs })).status).toBe(404);
  });

  it('fails jobs on request, in process and over HTTP', async () => {
    const accessToken = await token();
    simulator.failJobs({ code: 'BDC-5040' });
    const failed = await finishedJob(accessToken, {
      idType: 'ID_CARD',
      idNumber: ZHANG_SAN.idNumber,
      name: ZHANG_SAN.name,
    });
    expect(failed).toMatchObject({ status: 'FAILED', error: { code: 'BDC-5040', message: '查询执行超时' } });
    expect((await call('GET', `/api/v1/jobs/${failed.jobId}/results`, { token: accessToken })).status).toBe(409);
    const cleared = await fetch(`${simulator.url}/__nrb/jobs/failure`, { method: 'POST', body: 'null' });
    expect(cleared.status).toBe(200);
    expect(
      (await finishedJob(accessToken, { idType: 'ID_CARD', idNumber: ZHANG_SAN.idNumber, name: ZHANG_SAN.name }))
        .status,
    ).toBe('SUCCEEDED');
    expect(
      (await fetch(`${simulator.url}/__nrb/jobs/failure`, { method: 'POST', body: '{"code":"oops"}' })).status,
    ).toBe(400);
  });

  it('serves each certificate as a base64 PDF with its SHA-256', async () => {
    const accessToken = await token();
    const answer = await call('GET', `/api/v1/certificates/${transferable.certificateId}/document`, {
      token: accessToken,
    });
    expect(answer.status).toBe(200);
    const bytes = Buffer.from(answer.body['fileContent'] as string, 'base64');
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(answer.body['sha256']);
    expect(answer.body).toMatchObject({ certificateNo: transferable.certificateNo, mediaType: 'application/pdf' });
    expect(
      await call('GET', '/api/v1/certificates/ZS00000000000000000/document', { token: accessToken }),
    ).toMatchObject({ status: 404, body: { code: 'BDC-4042' } });
  });
});

describe('NRB simulator: transfer registrations', () => {
  it('deduplicates by Idempotency-Key, refuses a reused key with another body, and needs the key', async () => {
    const accessToken = await token();
    const submit = (key: string | undefined, body: Record<string, unknown>) =>
      call('POST', '/api/v1/transfer-registrations', {
        token: accessToken,
        json: body,
        headers: key === undefined ? {} : { 'idempotency-key': key },
      });
    const first = await submit('idem-1', transferBody(transferable.certificateNo));
    expect(first).toMatchObject({
      status: 201,
      body: { idempotencyKey: 'idem-1', duplicate: false, status: 'RECEIVED', receivedAt: '2026-03-02T10:00:00+08:00' },
    });
    expect((first.body as unknown as TransferReceiptWire).applicationNo).toMatch(/^ZY20260302\d{6}$/);
    // Key order does not matter: the same application.
    const reordered = Object.fromEntries(Object.entries(transferBody(transferable.certificateNo)).reverse());
    expect(await submit('idem-1', reordered)).toMatchObject({
      status: 200,
      body: { applicationNo: first.body['applicationNo'], duplicate: true },
    });
    expect(
      await submit('idem-1', { ...transferBody(transferable.certificateNo), transferReason: '赠与' }),
    ).toMatchObject({ status: 409, body: { code: 'BDC-4090' } });
    expect(await submit(undefined, transferBody(transferable.certificateNo))).toMatchObject({
      status: 400,
      body: { code: 'BDC-4000' },
    });
    expect((await submit('bad key with spaces', transferBody(transferable.certificateNo))).status).toBe(400);
    expect(
      (
        await submit('idem-2', {
          ...transferBody(transferable.certificateNo),
          materials: [{ typeCode: 'x', sha256: 'XYZ' }],
        })
      ).status,
    ).toBe(400);
  });

  it('refuses sealed, cancelled and unknown certificates and applicants who are not holders', async () => {
    const accessToken = await token();
    const byId = (id: string) => seededCertificates.find((record) => record.certificateId === id)!.certificateNo;
    const cases: [Record<string, unknown>, string][] = [
      [transferBody(byId('ZS33010620200234567'), LI_MEI), 'BDC-4221'],
      [transferBody(byId('ZS11010520210045218')), 'BDC-4226'],
      [transferBody(byId('ZS33010620180156789')), 'BDC-4224'],
      [transferBody('京(2015)朝阳区不动产权第9999999号'), 'BDC-4223'],
      // Pre-noticed to a buyer: refused without the pre-notice holder's consent (Civil Code art. 221).
      [transferBody(byId('ZS33010620210264315'), SUN_YAQIN), 'BDC-4220'],
    ];
    for (const [body, code] of cases) {
      expect(
        await call('POST', '/api/v1/transfer-registrations', {
          token: accessToken,
          json: body,
          headers: { 'idempotency-key': `idem-${code}` },
        }),
        code,
      ).toMatchObject({
        status: 422,
        body: { code },
      });
    }
    // An objection (异议登记) only warns at the registry: the transfer is received; the gateway's item rules refuse it first.
    const objected = await call('POST', '/api/v1/transfer-registrations', {
      token: accessToken,
      json: transferBody(byId('ZS33010620190211408'), ZHAO_ZHIGANG),
      headers: { 'idempotency-key': 'idem-objection' },
    });
    expect(objected.status).toBe(201);
  });

  it('advances the status with time and pins it through the control', async () => {
    const accessToken = await token();
    const receipt = await call('POST', '/api/v1/transfer-registrations', {
      token: accessToken,
      json: transferBody(transferable.certificateNo),
      headers: { 'idempotency-key': 'idem-s' },
    });
    const applicationNo = receipt.body['applicationNo'] as string;
    const status = async () =>
      (await call('GET', `/api/v1/transfer-registrations/${applicationNo}`, { token: accessToken })).body;
    expect(await status()).toEqual({
      applicationNo,
      status: 'RECEIVED',
      statusName: '已受理',
      updatedAt: '2026-03-02T10:00:00+08:00',
    });
    clock += 61_000;
    expect(await status()).toMatchObject({
      status: 'UNDER_REVIEW',
      statusName: '审核中',
      updatedAt: '2026-03-02T10:01:00+08:00',
    });
    clock += 60_000;
    expect(await status()).toMatchObject({ status: 'REGISTERED', statusName: '已登簿' });
    const pinned = await fetch(`${simulator.url}/__nrb/applications/${applicationNo}/status`, {
      method: 'POST',
      body: JSON.stringify({ status: 'SUPPLEMENT_REQUIRED', remark: '请补充完税证明' }),
    });
    expect(pinned.status).toBe(200);
    expect(await status()).toMatchObject({
      status: 'SUPPLEMENT_REQUIRED',
      statusName: '待补正',
      remark: '请补充完税证明',
      updatedAt: registryTimestamp(clock),
    });
    expect(
      (
        await fetch(`${simulator.url}/__nrb/applications/${applicationNo}/status`, {
          method: 'POST',
          body: '{"status":"DONE"}',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await fetch(`${simulator.url}/__nrb/applications/ZY20260302999999/status`, {
          method: 'POST',
          body: '{"status":"REJECTED"}',
        })
      ).status,
    ).toBe(404);
    expect(await call('GET', '/api/v1/transfer-registrations/ZY20260302999999', { token: accessToken })).toMatchObject({
      status: 404,
      body: { code: 'BDC-4041' },
    });
  });
});

const mortgaged = seededCertificates.find((record) => record.certificateId === 'ZS11010520190107652')!;

function cancellationBody(certificateNo: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    caseNumber: 'CASE-2026-0211',
    itemCode: 'real_estate_mortgage_cancellation',
    applicant: ZHANG_SAN,
    certificateNo,
    mortgagee: '中国工商银行股份有限公司北京望京支行',
    cancellationReason: '主债权消灭',
    materials: [
      { typeCode: 'real_estate_certificate', sha256: 'd'.repeat(64), mediaType: 'application/pdf', size: 8192 },
    ],
    formData: { certificateNo },
    ...changes,
  };
}

describe('NRB simulator: mortgage cancellations (contract 1.1.0)', () => {
  const cancel = (accessToken: string, key: string | undefined, body: Record<string, unknown>) =>
    call('POST', '/api/v1/mortgage-cancellations', {
      token: accessToken,
      json: body,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });

  it('receives a cancellation of a mortgaged flat once per Idempotency-Key, with a ZX number', async () => {
    const accessToken = await token();
    const first = await cancel(accessToken, 'idem-mc-1', cancellationBody(mortgaged.certificateNo));
    expect(first).toMatchObject({
      status: 201,
      body: {
        idempotencyKey: 'idem-mc-1',
        duplicate: false,
        status: 'RECEIVED',
        receivedAt: '2026-03-02T10:00:00+08:00',
      },
    });
    expect(first.body['applicationNo']).toMatch(/^ZX20260302\d{6}$/);
    expect(await cancel(accessToken, 'idem-mc-1', cancellationBody(mortgaged.certificateNo))).toMatchObject({
      status: 200,
      body: { applicationNo: first.body['applicationNo'], duplicate: true },
    });
    expect(
      await cancel(
        accessToken,
        'idem-mc-1',
        cancellationBody(mortgaged.certificateNo, { cancellationReason: '抵押权人放弃抵押权' }),
      ),
    ).toMatchObject({ status: 409, body: { code: 'BDC-4090' } });
    expect(await cancel(accessToken, undefined, cancellationBody(mortgaged.certificateNo))).toMatchObject({
      status: 400,
      body: { code: 'BDC-4000' },
    });
    expect(
      (
        await cancel(
          accessToken,
          'idem-mc-2',
          cancellationBody(mortgaged.certificateNo, { applicant: { name: '张三' } }),
        )
      ).status,
    ).toBe(400);
    // A key already used for a transfer is another application.
    await call('POST', '/api/v1/transfer-registrations', {
      token: accessToken,
      json: transferBody(transferable.certificateNo),
      headers: { 'idempotency-key': 'idem-shared' },
    });
    expect(await cancel(accessToken, 'idem-shared', cancellationBody(mortgaged.certificateNo))).toMatchObject({
      status: 409,
      body: { code: 'BDC-4090' },
    });
  });

  it('refuses a flat without a mortgage, another mortgagee, an applicant who is no holder and an unknown or cancelled certificate', async () => {
    const accessToken = await token();
    const byId = (id: string) => seededCertificates.find((record) => record.certificateId === id)!.certificateNo;
    const refusals: [Record<string, unknown>, string][] = [
      [cancellationBody(transferable.certificateNo), 'BDC-4227'],
      [cancellationBody(mortgaged.certificateNo, { mortgagee: '某某银行' }), 'BDC-4220'],
      [cancellationBody(mortgaged.certificateNo, { applicant: LI_MEI }), 'BDC-4224'],
      [cancellationBody('京(2015)朝阳区不动产权第9999999号'), 'BDC-4223'],
      [cancellationBody(byId('ZS11010520210045218')), 'BDC-4226'],
    ];
    for (const [body, code] of refusals)
      expect(await cancel(accessToken, `idem-mc-${code}`, body), code).toMatchObject({ status: 422, body: { code } });
    // Without a named mortgagee any mortgage of the flat is cancelled.
    expect(
      (await cancel(accessToken, 'idem-mc-any', cancellationBody(mortgaged.certificateNo, { mortgagee: undefined })))
        .status,
    ).toBe(201);
  });

  it('reports its status on its own path (not as a transfer), advancing with time and pinned by the control', async () => {
    const accessToken = await token();
    const receipt = await cancel(accessToken, 'idem-mc-s', cancellationBody(mortgaged.certificateNo));
    const applicationNo = receipt.body['applicationNo'] as string;
    const status = async () =>
      (await call('GET', `/api/v1/mortgage-cancellations/${applicationNo}`, { token: accessToken })).body;
    expect(await status()).toEqual({
      applicationNo,
      status: 'RECEIVED',
      statusName: '已受理',
      updatedAt: '2026-03-02T10:00:00+08:00',
    });
    clock += 121_000;
    expect(await status()).toMatchObject({ status: 'REGISTERED', remark: '已登簿，抵押权已注销' });
    expect(simulator.setApplicationStatus(applicationNo, 'REJECTED', '抵押权人未到场')).toBe(true);
    expect(await status()).toMatchObject({ status: 'REJECTED', remark: '抵押权人未到场' });
    expect(await call('GET', `/api/v1/transfer-registrations/${applicationNo}`, { token: accessToken })).toMatchObject({
      status: 404,
      body: { code: 'BDC-4041' },
    });
    expect(await call('GET', '/api/v1/mortgage-cancellations/ZX20260302999999', { token: accessToken })).toMatchObject({
      status: 404,
      body: { code: 'BDC-4041' },
    });
    expect((await call('GET', `/api/v1/mortgage-cancellations/${applicationNo}`)).status).toBe(401);
  });
});

describe('NRB simulator: faults', () => {
  it('answers protocol-shaped business errors per operation', async () => {
    const accessToken = await token();
    simulator.setFault({ kind: 'business_error', operation: 'createCertificateQuery', times: 1 });
    expect(
      await call('POST', '/api/v1/certificate-queries', {
        token: accessToken,
        json: { idType: 'ID_CARD', idNumber: ZHANG_SAN.idNumber, holderName: '张三' },
      }),
    ).toMatchObject({
      status: 422,
      body: { code: 'BDC-4222' },
    });
    const created = await call('POST', '/api/v1/certificate-queries', {
      token: accessToken,
      json: { idType: 'ID_CARD', idNumber: ZHANG_SAN.idNumber, holderName: '张三' },
    });
    simulator.setFault({ kind: 'business_error', operation: 'getQueryJob', times: 1 });
    expect(
      (await call('GET', `/api/v1/jobs/${created.body['jobId'] as string}`, { token: accessToken })).body,
    ).toMatchObject({ status: 'FAILED', error: { code: 'BDC-4222' } });
    simulator.setFault({ kind: 'business_error', operation: 'issueToken', times: 1 });
    expect(await call('POST', '/oauth/token', { form: demoForm })).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client' },
    });
    simulator.setFault({ kind: 'business_error', operation: 'health', times: 1 });
    expect((await call('GET', '/api/v1/health', { token: accessToken })).body['status']).toBe('DOWN');
  });

  it('answers about someone else on wrong_subject', async () => {
    const accessToken = await token();
    simulator.setFault({ kind: 'wrong_subject', operation: 'getQueryResults' });
    const job = await finishedJob(accessToken, {
      idType: 'ID_CARD',
      idNumber: ZHANG_SAN.idNumber,
      name: ZHANG_SAN.name,
    });
    const page = (await call('GET', `/api/v1/jobs/${job.jobId}/results`, { token: accessToken }))
      .body as unknown as ResultPageWire;
    expect(page.items.length).toBeGreaterThan(0);
    for (const item of page.items)
      expect(item.rightHolders.map((holder) => holder.idNumber)).not.toContain(ZHANG_SAN.idNumber);
    simulator.setFault({ kind: 'wrong_subject', operation: 'issueToken', times: 1 });
    const foreign = await token();
    expect((await call('GET', '/api/v1/health', { token: foreign })).status).toBe(401);
  });

  it('cuts answers short on malformed and pads them past 9 MiB on oversized', async () => {
    const accessToken = await token();
    simulator.setFault({ kind: 'malformed', operation: 'health', times: 1 });
    const cut = await fetch(`${simulator.url}/api/v1/health`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(cut.status).toBe(200);
    const text = await cut.text();
    expect(() => JSON.parse(text)).toThrow();
    simulator.setFault({ kind: 'oversized', operation: 'health', times: 1 });
    const padded = await fetch(`${simulator.url}/api/v1/health`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(Number(padded.headers.get('content-length'))).toBeGreaterThan(9 * 1024 * 1024);
    expect(JSON.parse(await padded.text())).toMatchObject({ status: 'UP' });
  });

  it('takes generic faults over HTTP and counts requests per operation', async () => {
    const accessToken = await token();
    const switched = await fetch(`${simulator.url}/__simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"kind":"http_5xx","operation":"health"}',
    });
    expect(switched.status).toBe(200);
    expect(
      (await fetch(`${simulator.url}/api/v1/health`, { headers: { authorization: `Bearer ${accessToken}` } })).status,
    ).toBe(503);
    // Other operations are unaffected.
    expect((await call('GET', '/api/v1/transfer-registrations/ZY20260302999999', { token: accessToken })).status).toBe(
      404,
    );
    await fetch(`${simulator.url}/__simulator/faults`, { method: 'POST', body: 'null' });
    expect((await call('GET', '/api/v1/health', { token: accessToken })).status).toBe(200);
    expect(simulator.requestCount('issueToken')).toBe(1);
    expect(simulator.requestCount('health')).toBe(2);
    expect(simulator.requestCount('getTransferRegistration')).toBe(1);
  });

  it('answers unknown paths with 404', async () => {
    expect((await fetch(`${simulator.url}/api/v2/anything`)).status).toBe(404);
  });
});
