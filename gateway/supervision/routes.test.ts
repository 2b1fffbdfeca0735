/**
 * The supervision page and warnings API in process: who gets in (HTTP Basic with an auditor's or
 * administrator's client credentials, or a token with supervision:read) and who does not (no
 * credentials, a wrong secret, a disabled client, a client without the scope), the challenges a
 * browser needs, the page's Content-Security-Policy, audit entries for every view, the OpenAPI
 * description of the page, and a calendar year that is not loaded.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableClient } from '../auth/clients.js';
import { addDays, chinaToday } from '../materials/dates.js';
import { fixedClock } from '../platform/clock.js';
import { auditEntries, calendarYears } from '../db/schema.js';
import { buildOpenApiDocument } from '../operations/docs-routes.js';
import { bearer, createTestGateway, problemOf, type TestGateway } from '../../test/harness.js';
import { BASIC_CHALLENGE, BEARER_CHALLENGE } from './access.js';
import { ensureCalendarYears, seedCase, seedDelivery, seedSubject } from './test-fixtures.js';
import type { SupervisionWarnings } from './warnings.js';

let gw: TestGateway;
let auditor: { id: string; secret: string };
let overdueCase: string;
// A fixed day, so the test does not depend on the day it runs.
const clock = fixedClock('2026-06-17T02:00:00Z');
const today = chinaToday(clock.now());

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' }, { clock });
  const created = await gw.createClient('auditor');
  auditor = { id: created.client.id, secret: created.secret };
  const db = gw.services.db;
  const acceptedOn = addDays(today, -40);
  await ensureCalendarYears(db, gw.services.calendar, [Number(acceptedOn.slice(0, 4)), Number(today.slice(0, 4))]);
  const calendar = await gw.services.calendar.current();
  const subjectId = await seedSubject(db);
  const seeded = await seedCase(db, {
    subjectId,
    status: 'in_progress',
    acceptedOn,
    promisedDays: 5,
    dueOn: calendar.addWorkingDays(acceptedOn, 5),
  });
  await seedDelivery(db, seeded.id, { department: 'NRB', status: 'delivered', departmentStatus: 'in_progress' });
  overdueCase = seeded.caseNumber;
});

afterAll(async () => gw?.close());

async function auditedViews(clientId: string) {
  return gw.services.db
    .select()
    .from(auditEntries)
    .where(and(eq(auditEntries.actorClientId, clientId), eq(auditEntries.action, 'supervision.view')));
}

describe('GET /supervision', () => {
  it('asks an API client for credentials with both challenges, Bearer first', async () => {
    const response = await gw.request('/supervision');
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('unauthenticated');
    expect(response.headers.get('www-authenticate')).toBe(`${BEARER_CHALLENGE}, ${BASIC_CHALLENGE}`);
  });

  it('shows a browser a sign-in page rather than a problem document', async () => {
    const response = await gw.request('/supervision', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    // Basic alone: a browser reads one challenge per header line and would not prompt for Bearer.
    expect(response.headers.get('www-authenticate')).toBe(BASIC_CHALLENGE);
    const html = await response.text();
    expect(html).toContain('<h1>需要登录</h1>');
    expect(html).not.toContain(overdueCase);
    expect(response.headers.get('content-language')).toBe('zh-CN');
    const english = await gw.request('/supervision', { headers: { accept: 'text/html', 'accept-language': 'en' } });
    expect(await english.text()).toContain('<h1>Sign-in required</h1>');
    expect(english.headers.get('content-language')).toBe('en');
  });

  it('shows an auditor signed in with HTTP Basic the page, under a nonce policy, and audits the view', async () => {
    const response = await gw.request('/supervision', { headers: basic(auditor.id, auditor.secret) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = response.headers.get('content-security-policy') ?? '';
    const nonce = /style-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    expect(policy).toContain("default-src 'none'");
    const html = await response.text();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<style nonce="${nonce}">`);
    expect(html).not.toMatch(/<script|style="/);
    expect(html).toContain('<h1>电子监察</h1>');
    expect(html).toMatch(new RegExp(`<tr class="level-overdue" data-level="overdue" data-case="${overdueCase}">`));
    expect(html).toContain(`当前登录：${auditor.id}`);
    expect(await auditedViews(auditor.id)).toMatchObject([
      {
        outcome: 'allowed',
        actorKind: 'auditor',
        purpose: 'supervision',
        fields: ['warnings', 'summary', 'ratings', 'rankings', 'trends'],
      },
    ]);
  });

  it('may not be framed, signed in or not (frame-ancestors, and X-Frame-Options for old browsers)', async () => {
    const answers = [
      await gw.request('/supervision', { headers: basic(auditor.id, auditor.secret) }),
      await gw.request('/supervision', { headers: { accept: 'text/html' } }),
      await gw.request('/supervision'),
    ];
    for (const response of answers) {
      expect(response.headers.get('content-security-policy'), String(response.status)).toContain(
        "frame-ancestors 'none'",
      );
      expect(response.headers.get('x-frame-options'), String(response.status)).toBe('DENY');
    }
  });

  it('gives every request its own nonce', async () => {
    const nonces = new Set<string>();
    for (let index = 0; index < 3; index += 1) {
      const response = await gw.request('/supervision', { headers: basic(auditor.id, auditor.secret) });
      nonces.add(response.headers.get('content-security-policy') ?? '');
    }
    expect(nonces.size).toBe(3);
  });

  it('lets an administrator in, and scripts with a supervision:read token', async () => {
    const admin = await gw.createClient('admin');
    expect((await gw.request('/supervision', { headers: basic(admin.client.id, admin.secret) })).status).toBe(200);
    const token = await gw.tokenFor('auditor', ['supervision:read']);
    const response = await gw.request('/supervision?from=2026-10-01&to=2026-10-31', { headers: bearer(token) });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('value="2026-10-01"');
  });

  it('refuses a wrong secret, an unknown or disabled client and malformed Basic with 401, asking again', async () => {
    const disabled = await gw.createClient('auditor');
    await disableClient(gw.services.db, disabled.client.id);
    const attempts = {
      'wrong secret': basic(auditor.id, `${auditor.secret}x`),
      'unknown client': basic('cli_nobody_here', auditor.secret),
      'disabled client': basic(disabled.client.id, disabled.secret),
      'no colon': { authorization: `Basic ${Buffer.from('just-an-id').toString('base64')}` },
    };
    for (const [name, headers] of Object.entries(attempts)) {
      const response = await gw.request('/supervision', { headers });
      expect(response.status, name).toBe(401);
      expect((await problemOf(response)).code, name).toBe('invalid_client');
      expect(response.headers.get('www-authenticate'), name).toContain('Basic realm=');
    }
    expect(await auditedViews(disabled.client.id)).toEqual([]);
  });

  it('refuses a client that does not hold supervision:read with 403', async () => {
    const window = await gw.createClient('window');
    const response = await gw.request('/supervision', { headers: basic(window.client.id, window.secret) });
    expect(response.status).toBe(403);
    expect((await problemOf(response)).code).toBe('insufficient_scope');
    expect(await auditedViews(window.client.id)).toEqual([]);
  });

  it('is described in the OpenAPI document with its two ways in', () => {
    const document = buildOpenApiDocument(gw.app);
    expect(document.paths?.['/supervision']?.get?.security).toEqual([
      { bearerAuth: ['supervision:read'] },
      { clientBasicAuth: ['supervision:read'] },
    ]);
    expect(document.components?.securitySchemes?.['clientBasicAuth']).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(document.paths?.['/v1/supervision/warnings']?.get?.security).toEqual([{ bearerAuth: ['supervision:read'] }]);
  });
});

describe('GET /v1/supervision/warnings', () => {
  it('answers the current warnings and audits the read', async () => {
    const token = await gw.tokenFor('auditor', ['supervision:read']);
    const response = await gw.request('/v1/supervision/warnings', { headers: bearer(token) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as SupervisionWarnings;
    expect(body).toMatchObject({ today, warningShare: 0.8, counts: { overdue: 1, approaching: 0 } });
    expect(body.cases[0]).toMatchObject({
      caseNumber: overdueCase,
      level: 'overdue',
      departments: [{ code: 'NRB', delivery: 'delivered', departmentStatus: 'in_progress' }],
    });
    const clientId = (await gw.services.tokens.verify(token)).clientId;
    expect(
      await gw.services.db
        .select()
        .from(auditEntries)
        .where(and(eq(auditEntries.actorClientId, clientId), eq(auditEntries.action, 'supervision.read'))),
    ).toMatchObject([{ fields: ['warnings'] }]);
  });
});

describe('a calendar year that is not loaded', () => {
  it('counts its days by weekday alone and marks the warnings provisional, on the API and the page', async () => {
    const year = Number(today.slice(0, 4));
    await gw.services.db.delete(calendarYears).where(eq(calendarYears.year, year));
    await gw.services.calendar.reload();
    const token = await gw.tokenFor('auditor', ['supervision:read']);
    const api = await gw.request('/v1/supervision/warnings', { headers: bearer(token) });
    expect(api.status).toBe(200);
    const body = (await api.json()) as SupervisionWarnings;
    expect(body.provisionalYears).toEqual([year]);
    expect(body.cases[0]).toMatchObject({ caseNumber: overdueCase, level: 'overdue', provisional: true });
    const page = await gw.request('/supervision', { headers: basic(auditor.id, auditor.secret) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`${year} 年的节假日尚未导入`);
    expect(html).toMatch(/超期 \d+ 天 \*<\/td>/);
    const english = await gw.request('/supervision?lang=en', { headers: basic(auditor.id, auditor.secret) });
    const englishHtml = await english.text();
    expect(englishHtml).toContain(`The holidays of ${year} are not loaded`);
    expect(englishHtml).toMatch(/over \*<\/td>/);
  });
});
