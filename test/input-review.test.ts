/**
 * Input an independent review (2026-12-07) found answered with a 500, or not at all, instead of a
 * stable 4xx problem document: dates and times outside what the database and date arithmetic
 * hold (years are now 1900–2199 everywhere), and a failed upload of new content, which on embedded
 * PGlite held the only connection for ever.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfDocument } from './fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

/** The answer, or 'no answer' when none came within `ms` (the request hangs). */
async function within(ms: number, answer: Promise<Response>): Promise<Response | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), ms);
  });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function resolveSubject(gw: TestGateway, token: string): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('dates the validators accept but the code behind them cannot handle', () => {
  let gw: TestGateway;
  let windowToken: string;
  let adminToken: string;
  let subjectId: string;
  const document = pdfDocument('input-review');

  beforeAll(async () => {
    gw = await createTestGateway();
    windowToken = await gw.tokenFor('window');
    adminToken = await gw.tokenFor('admin');
    subjectId = await resolveSubject(gw, windowToken);
    // The document's bytes are stored once here, so the failing uploads below do not store new
    // content (the last describe is about a failed upload of new content).
    const stored = await gw.request(`/v1/subjects/${subjectId}/materials?typeCode=household_register`, {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/pdf', ...purpose }),
      body: document,
    });
    expect(stored.status).toBe(201);
  });
  afterAll(async () => gw?.close());

  it('GET /v1/calendar/due-date?from=9999-12-31 answers 400 validation_failed, not 500, each field in both languages', async () => {
    const response = await gw.request('/v1/calendar/due-date?from=9999-12-31&workingDays=1', {
      headers: bearer(windowToken),
    });
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.code).toBe('validation_failed');
    expect(problem['errors']).toEqual([
      {
        path: 'from',
        message: '"9999-12-31" is not a calendar date written YYYY-MM-DD (years 1900–2199)',
        messageZh: '"9999-12-31" 不是格式为 YYYY-MM-DD 的真实日期（年份 1900–2199）',
      },
    ]);
    const wrongKind = await problemOf(
      await gw.request('/v1/calendar/due-date?from=2026-10-01&workingDays=many', { headers: bearer(windowToken) }),
    );
    expect(wrongKind['errors']).toEqual([
      { path: 'workingDays', message: expect.any(String), messageZh: expect.stringMatching(/^无效输入：期望 数字/) },
    ]);
  });

  it('POST /v1/subjects/{id}/materials?validFrom=0000-01-01 answers 400 validation_failed, not 500', async () => {
    const response = await gw.request(
      `/v1/subjects/${subjectId}/materials?typeCode=resident_id_card&validFrom=0000-01-01`,
      {
        method: 'POST',
        headers: bearer(windowToken, { 'content-type': 'application/pdf', ...purpose }),
        body: document,
      },
    );
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('validation_failed');
  });

  it('GET /v1/subjects/{id}/reusable-materials?on=0000-01-01 answers 400 validation_failed in both languages', async () => {
    const response = await gw.request(
      `/v1/subjects/${subjectId}/reusable-materials?types=resident_id_card&on=0000-01-01`,
      { headers: bearer(windowToken, purpose) },
    );
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.code).toBe('validation_failed');
    expect(problem['errors']).toEqual([
      {
        path: 'on',
        message: 'a calendar date YYYY-MM-DD of a year 1900–2199',
        messageZh: '应为 1900–2199 年间的真实日期，格式 YYYY-MM-DD',
      },
    ]);
  });

  it('GET /supervision/cases?overdueOn=0000-01-01 answers 400 validation_failed, not 500', async () => {
    const response = await gw.request('/supervision/cases?overdueOn=0000-01-01', { headers: bearer(adminToken) });
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('validation_failed');
  });

  it('GET /supervision/cases?centre=6101 names the centre code in Chinese, and a period problem found by hand too', async () => {
    const badCentre = await problemOf(
      await gw.request('/supervision/cases?centre=6101', { headers: bearer(adminToken) }),
    );
    expect(badCentre['errors']).toEqual([
      { path: 'centre', message: 'a centre code is 9 digits', messageZh: '服务中心代码为 9 位数字' },
    ]);
    const backwards = await problemOf(
      await gw.request('/supervision/cases?from=2026-03-01&to=2026-02-01', { headers: bearer(adminToken) }),
    );
    expect(backwards.code).toBe('validation_failed');
    expect(backwards['errors']).toEqual([
      { path: 'from', message: '2026-03-01 is after 2026-02-01', messageZh: '起始日 2026-03-01 晚于截止日 2026-02-01' },
    ]);
  });
});

describe('timestamps the validators accept but PostgreSQL cannot store', () => {
  let gw: TestGateway;
  let windowToken: string;
  beforeAll(async () => {
    gw = await createTestGateway();
    windowToken = await gw.tokenFor('window');
  });
  afterAll(async () => gw?.close());

  for (const since of ['0000-01-01T00:00:00+01:00', '9999-12-31T23:00:00-10:00'])
    it(`GET /v1/certificates/revocations?since=${since} answers 400 validation_failed, not 500`, async () => {
      const response = await gw.request(`/v1/certificates/revocations?since=${encodeURIComponent(since)}`, {
        headers: bearer(windowToken),
      });
      expect(response.status).toBe(400);
      expect((await problemOf(response)).code).toBe('validation_failed');
    });

  it('POST /v1/contracts/{resourceCode}/access-requests with expiresAt 9999-12-31T23:00:00-10:00 answers 400, not 500', async () => {
    const response = await gw.request('/v1/contracts/psb.population/access-requests', {
      method: 'POST',
      headers: bearer(windowToken, json),
      body: JSON.stringify({ purpose: 'window cases', legalBasis: 'test', expiresAt: '9999-12-31T23:00:00-10:00' }),
    });
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('validation_failed');
  });
});

describe('a failed upload of new content on embedded PGlite (the default database)', () => {
  let gw: TestGateway;
  let windowToken: string;
  let subjectId: string;

  beforeAll(async () => {
    gw = await createTestGateway();
    windowToken = await gw.tokenFor('window');
    subjectId = await resolveSubject(gw, windowToken);
  });
  // Bounded: were the only connection held again, closing would wait for it.
  afterAll(async () => {
    await within(
      20_000,
      gw.close().then(() => new Response()),
    );
  });

  it('POST /v1/subjects/{id}/materials (multipart, an over-long field after the file) answers 400 invalid_multipart and the gateway keeps serving', async () => {
    const boundary = 'review-boundary';
    const file = Buffer.from(pdfDocument(randomBytes(8).toString('hex')));
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="typeCode"\r\n\r\nhousehold_register\r\n`),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="hukou.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
      ),
      file,
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="sourceRef"\r\n\r\n${'x'.repeat(5000)}\r\n`,
      ),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    // Generous (a loaded CI machine), and still short of the test's own 30 s: a held connection never answers.
    const answer = await within(
      15_000,
      gw.request(`/v1/subjects/${subjectId}/materials`, {
        method: 'POST',
        headers: bearer(windowToken, { 'content-type': `multipart/form-data; boundary=${boundary}`, ...purpose }),
        body,
      }),
    );
    expect(answer, 'the upload was never answered').not.toBe('no answer');
    expect((answer as Response).status).toBe(400);
    expect((await problemOf(answer as Response)).code).toBe('invalid_multipart');
    const next = await within(10_000, gw.request('/v1/calendar/years', { headers: bearer(windowToken) }));
    expect(next, 'the gateway stopped answering after the failed upload').not.toBe('no answer');
    expect((next as Response).status).toBe(200);
    // Nothing of the failed upload is left: its content was removed with it.
    expect(await gw.services.blobStore.storedForm(createHash('sha256').update(file).digest('hex'))).toBeNull();
  });
});
