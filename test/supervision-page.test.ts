/**
 * The supervision page as a person sees it: the gateway started as a process would start it
 * (startGateway, demo clients, the department simulators beside it) on a loopback port, seeded
 * with cases around a fixed day (its clock is stopped, so the test never depends on the day it runs), and opened in headless Chromium (Debian's `chromium` driven by
 * playwright-core). Signed in with the demo auditor's client credentials over HTTP Basic, the
 * page shows its headings, the warnings in red and amber, the on-time rate, the reuse bar chart,
 * the departments and the dead letters, and the browser reports no Content-Security-Policy
 * violation; without credentials, or with wrong ones, it shows 401.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); skipped with a message without it.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { type Browser, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { auditEntries } from '../gateway/db/schema.js';
import { addDays, chinaToday } from '../gateway/materials/dates.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { ensureCalendarYears, seedCase, seedDelivery, seedSubject } from '../gateway/supervision/test-fixtures.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `test/supervision-page.test.ts: SKIPPED — ${CHROMIUM} is missing; install it with \`apt-get install chromium\` to run the browser test.`,
  );
}

const AUDITOR = { username: 'cli_demo_auditor', password: 'demo-auditor-secret' };
/** A computed CSS property of the element, as the browser resolved it (e.g. `background-color`). */
function computed(locator: Locator, property: string): Promise<string> {
  return locator.evaluate((element, name) => {
    const view = element.ownerDocument.defaultView;
    return view ? view.getComputedStyle(element).getPropertyValue(name) : '';
  }, property);
}

const OVERDUE_RED = 'rgb(254, 226, 226)';
const APPROACHING_AMBER = 'rgb(254, 243, 199)';

describe.skipIf(!haveChromium)(`the supervision page in headless Chromium (${CHROMIUM})`, () => {
  let database: TestDatabase;
  let gateway: RunningGateway;
  let browser: Browser;
  // A Wednesday in June: the deadlines seeded below stay inside the shipped 2026 calendar.
  const clock = fixedClock('2026-06-17T02:00:00Z');
  const today = chinaToday(clock.now());
  const seeded = { overdue: '', approaching: '', deadLetterCase: '' };

  beforeAll(async () => {
    database = await freshDatabase();
    gateway = await startGateway(
      parseConfig({
        ...database.environment,
        PORT: '0',
        HOST: '127.0.0.1',
        ONEWINDOW_DEMO: 'true',
        DEMO_SIMULATOR_BASE_PORT: '0',
        DELIVERY_WORKER: 'false',
      }),
      createLogger('info', new LogCapture()),
      { clock },
    );
    const db = gateway.services.db;
    await ensureCalendarYears(db, gateway.services.calendar, [
      Number(addDays(today, -60).slice(0, 4)),
      Number(today.slice(0, 4)),
    ]);
    const calendar = await gateway.services.calendar.current();
    const subjectId = await seedSubject(db);

    // Overdue: accepted 30 days ago with 5 promised working days.
    const overdueAccepted = addDays(today, -30);
    const overdue = await seedCase(db, {
      subjectId,
      status: 'in_progress',
      acceptedOn: overdueAccepted,
      promisedDays: 5,
      dueOn: calendar.addWorkingDays(overdueAccepted, 5),
    });
    await seedDelivery(db, overdue.id, { department: 'NRB', status: 'delivered', departmentStatus: 'in_progress' });
    seeded.overdue = overdue.caseNumber;

    // Approaching: the latest acceptance day with 4 of its 5 promised working days used by today.
    let approachingAccepted = today;
    for (let back = 1; back <= 40 && calendar.workingDaysBetween(approachingAccepted, today) < 4; back += 1)
      approachingAccepted = addDays(today, -back);
    expect(calendar.workingDaysBetween(approachingAccepted, today)).toBe(4);
    const approaching = await seedCase(db, {
      subjectId,
      status: 'submitted',
      acceptedOn: approachingAccepted,
      promisedDays: 5,
      dueOn: calendar.addWorkingDays(approachingAccepted, 5),
    });
    await seedDelivery(db, approaching.id, { department: 'PSB', status: 'pending', attempts: 2 });
    seeded.approaching = approaching.caseNumber;

    // Accepted today with time to spare: no warning.
    await seedCase(db, {
      subjectId,
      status: 'submitted',
      acceptedOn: today,
      promisedDays: 20,
      dueOn: calendar.addWorkingDays(today, 20),
    });

    // Concluded in the last 30 days: three on time, one late; 4 handed in of 16 required.
    const materials = { required: 4, handedIn: 1, reused: 2, fetched: 1 };
    const concluded = [
      { completedOn: addDays(today, -3), dueOn: addDays(today, -1) },
      { completedOn: addDays(today, -3), dueOn: addDays(today, -3) },
      { completedOn: addDays(today, -4), dueOn: addDays(today, -1) },
      { completedOn: addDays(today, -2), dueOn: addDays(today, -5) },
    ];
    for (const [index, dates] of concluded.entries()) {
      const submittedAt = new Date(clock.now().getTime() - (index + 5) * 86_400_000);
      const row = await seedCase(db, {
        subjectId,
        status: 'completed',
        acceptedOn: addDays(today, -10),
        promisedDays: 5,
        submittedAt,
        materials,
        ...dates,
      });
      await seedDelivery(db, row.id, {
        department: 'PSB',
        status: 'delivered',
        createdAt: submittedAt,
        deliveredAt: new Date(submittedAt.getTime() + 120),
      });
      if (index === 3) {
        await seedDelivery(db, row.id, {
          department: 'NRB',
          status: 'dead',
          attempts: 8,
          createdAt: submittedAt,
          deadAt: clock.now(),
          lastError: 'department_rejected (NRB 422): refused',
        });
        seeded.deadLetterCase = row.caseNumber;
      }
    }

    // CI runs as root, where Chromium's own sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.shutdown('test done');
    await database?.drop();
  });

  /**
   * Answers every sign-in prompt of the page with Cancel, as a person without credentials does.
   * (Headless Chromium cannot show the prompt; left alone it fails the navigation instead.)
   */
  async function cancelSignInPrompts(page: Page): Promise<void> {
    const session = await page.context().newCDPSession(page);
    session.on(
      'Fetch.requestPaused',
      (event) => void session.send('Fetch.continueRequest', { requestId: event.requestId }),
    );
    session.on(
      'Fetch.authRequired',
      (event) =>
        void session.send('Fetch.continueWithAuth', {
          requestId: event.requestId,
          authChallengeResponse: { response: 'CancelAuth' },
        }),
    );
    await session.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] });
  }

  /**
   * Opens the page in a fresh browser context, signed in with `credentials` or cancelling the
   * prompt without them; collects Content-Security-Policy complaints.
   */
  async function open(
    credentials?: { username: string; password: string },
    options: { acceptLanguage?: string; width?: number; path?: string } = {},
  ): Promise<{ page: Page; status: number; cspViolations: string[] }> {
    const context = await browser.newContext({
      ...(credentials ? { httpCredentials: credentials } : {}),
      // Chromium sends its own Accept-Language (the system's, often en-US): each run names its own.
      extraHTTPHeaders: { 'Accept-Language': options.acceptLanguage ?? 'zh-CN,zh;q=0.9' },
      viewport: { width: options.width ?? 1280, height: 900 },
    });
    const page = await context.newPage();
    if (!credentials) await cancelSignInPrompts(page);
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const response = await page.goto(`${gateway.url}${options.path ?? '/supervision'}`);
    return { page, status: response?.status() ?? 0, cspViolations };
  }

  it('shows a signed-in auditor the figures at a glance', async () => {
    const { page, status, cspViolations } = await open(AUDITOR);
    try {
      expect(status).toBe(200);
      await expect(page.title()).resolves.toBe('电子监察 — onewindow');
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
      expect(await page.locator('h1').innerText()).toBe('电子监察');
      expect(await page.locator('h2').allInnerTexts()).toEqual([
        '趋势',
        '办件时限预警',
        '满意度评价（好差评）',
        '材料：实交与应交',
        '部门系统',
        '投递失败（死信）',
        '本期新建办件（按状态）',
      ]);
      expect(await page.locator('header').innerText()).toContain(`当前登录：${AUDITOR.username}`);
      expect(await page.locator('#language-switch').innerText()).toBe('English（英文）');
      expect(await page.locator('#language-switch').getAttribute('href')).toContain('lang=en');

      // Warnings: the overdue case first, in red; the approaching one in amber.
      const rows = page.locator('#case-warnings tbody tr');
      expect(await rows.count()).toBe(2);
      const overdueRow = rows.nth(0);
      const approachingRow = rows.nth(1);
      expect(await overdueRow.getAttribute('data-case')).toBe(seeded.overdue);
      expect(await overdueRow.locator('td.level').innerText()).toBe('超期');
      expect(await computed(overdueRow, 'background-color')).toBe(OVERDUE_RED);
      expect(await computed(overdueRow.locator('td.level'), 'color')).toBe('rgb(185, 28, 28)');
      expect(await overdueRow.innerText()).toContain('NRB');
      expect(await approachingRow.getAttribute('data-case')).toBe(seeded.approaching);
      expect(await approachingRow.locator('td.level').innerText()).toBe('临近到期');
      expect(await computed(approachingRow, 'background-color')).toBe(APPROACHING_AMBER);
      expect(await approachingRow.innerText()).toContain('已用 4 / 5（80.0%）');
      expect(await approachingRow.innerText()).toContain('剩余 1 天');

      // The on-time rate: 3 of 4 concluded cases.
      expect(await page.locator('#on-time .value').innerText()).toBe('75.0%');
      expect(await page.locator('#on-time .note').innerText()).toContain('办结 4 件，按时办结 3 件');
      expect(await page.locator('#overdue-count .value').innerText()).toBe('1');
      expect(await page.locator('#approaching-count .value').innerText()).toBe('1');

      // Reuse: the handed-in bar is a quarter of the required one (4 of 16).
      expect(await page.locator('#handed-in .note').innerText()).toBe('应交材料 16 份，实交 4 份');
      const totalGroup = page.locator('#materials-chart g[data-item="total"]');
      const required = await totalGroup.locator('rect[data-bar="required"]').boundingBox();
      const handedIn = await totalGroup.locator('rect[data-bar="handed_in"]').boundingBox();
      const reused = await totalGroup.locator('rect[data-bar="reused"]').boundingBox();
      expect(required?.width).toBeGreaterThan(100);
      expect((handedIn?.width ?? 0) / (required?.width ?? 1)).toBeCloseTo(0.25, 2);
      expect((reused?.width ?? 0) / (required?.width ?? 1)).toBeCloseTo(0.5, 2);
      expect(await page.locator('#materials-chart').isVisible()).toBe(true);

      // Departments: the three simulated systems, healthy, with PSB's delivery latency.
      const departments = await page
        .locator('#departments tbody tr')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-department')));
      expect(departments).toEqual(['AMR', 'MCA', 'NRB', 'PSB']);
      const psb = page.locator('#departments tr[data-department="PSB"]');
      expect(await psb.innerText()).toContain('闭合（正常）');
      expect(await psb.locator('td').nth(8).innerText()).toBe('120 ms');
      expect(await computed(psb.locator('td.breaker-closed'), 'color')).toBe('rgb(21, 128, 61)');

      // Dead letters.
      const deadLetters = page.locator('#dead-letters tbody tr');
      expect(await deadLetters.count()).toBe(1);
      expect(await deadLetters.first().innerText()).toContain(seeded.deadLetterCase);
      expect(await deadLetters.first().innerText()).toContain('department_rejected');
      expect(await page.locator('#dead-letter-count .value').innerText()).toBe('1');

      expect(cspViolations).toEqual([]);
    } finally {
      await page.context().close();
    }
    const views = await gateway.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.actorClientId, AUDITOR.username), eq(auditEntries.action, 'supervision.view')));
    expect(views.length).toBeGreaterThanOrEqual(1);
  });

  it('reads in English with Accept-Language: en, and ?lang= overrides the header', async () => {
    const { page, status, cspViolations } = await open(AUDITOR, { acceptLanguage: 'en-GB,en;q=0.9' });
    try {
      expect(status).toBe(200);
      await expect(page.title()).resolves.toBe('Supervision — onewindow');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      expect(await page.locator('h1').innerText()).toBe('Supervision');
      expect(await page.locator('h2').allInnerTexts()).toEqual([
        'Trends',
        'Deadline warnings',
        'Satisfaction ratings',
        'Materials: handed in versus required',
        'Departments',
        'Dead letters',
        'Cases opened in the period, by status',
      ]);
      expect(await page.locator('header').innerText()).toContain(`signed in as ${AUDITOR.username}`);
      const approachingRow = page.locator(`#case-warnings tr[data-case="${seeded.approaching}"]`);
      expect(await approachingRow.locator('td.level').innerText()).toBe('Approaching');
      expect(await approachingRow.innerText()).toContain('4 of 5 (80.0%)');
      expect(await approachingRow.innerText()).toContain('1 left');
      expect(await page.locator('#on-time .note').innerText()).toContain('3 of 4 cases concluded');
      expect(await page.locator('#handed-in .note').innerText()).toBe('4 of 16 required materials');
      expect(await page.locator('#departments tr[data-department="PSB"]').innerText()).toContain('closed');
      expect(cspViolations).toEqual([]);

      // The switch link leads back to Chinese although the browser still asks for English.
      await page.locator('#language-switch').click();
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
      expect(await page.locator('h1').innerText()).toBe('电子监察');
    } finally {
      await page.context().close();
    }
  });

  it('answers in the configured default without Accept-Language, naming the language', async () => {
    const basic = Buffer.from(`${AUDITOR.username}:${AUDITOR.password}`).toString('base64');
    const plain = await fetch(`${gateway.url}/supervision`, { headers: { authorization: `Basic ${basic}` } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-language')).toBe('zh-CN');
    expect(plain.headers.get('vary') ?? '').toMatch(/accept-language/i);
    expect(await plain.text()).toContain('<html lang="zh-CN">');
    const english = await fetch(`${gateway.url}/supervision`, {
      headers: { authorization: `Basic ${basic}`, 'accept-language': 'en' },
    });
    expect(english.headers.get('content-language')).toBe('en');
    expect(await english.text()).toContain('<html lang="en">');
    const unknown = await fetch(`${gateway.url}/supervision?lang=fr`, { headers: { authorization: `Basic ${basic}` } });
    expect(unknown.status).toBe(400);
  });

  it('fits a 390 px phone without scrolling sideways, and leaves screenshots for a person to look at', async () => {
    const screenshots = mkdtempSync(join(tmpdir(), 'supervision-page-'));
    const desktop = await open(AUDITOR, { width: 1280 });
    try {
      await desktop.page.screenshot({ path: join(screenshots, 'desktop-zh-CN.png'), fullPage: true });
      await desktop.page
        .locator('section[aria-labelledby="trends-heading"]')
        .screenshot({ path: join(screenshots, 'desktop-trends-zh-CN.png') });
      // Desktop: the three charts side by side, each drawn at a readable size.
      const boxes = await Promise.all(
        ['#chart-cases-per-day', '#chart-on-time-per-week', '#chart-overdue-per-day'].map((id) =>
          desktop.page.locator(id).boundingBox(),
        ),
      );
      for (const box of boxes) expect(box?.width ?? 0).toBeGreaterThan(300);
    } finally {
      await desktop.page.context().close();
    }
    for (const acceptLanguage of ['zh-CN', 'en']) {
      const { page, status, cspViolations } = await open(AUDITOR, { width: 390, acceptLanguage });
      try {
        expect(status).toBe(200);
        const widths = await page.locator('html').evaluate((root) => ({
          document: root.scrollWidth,
          viewport: root.ownerDocument.defaultView?.innerWidth ?? 0,
        }));
        expect(widths.viewport).toBe(390);
        // Whatever reaches past the right edge, named, so a failure says what to fix.
        const tooWide = await page.locator('body *').evaluateAll((elements) =>
          elements
            .filter((element) => element.getBoundingClientRect().right > 390.5 && !element.closest('.scroll'))
            .map((element) => `${element.tagName.toLowerCase()}#${element.id}.${element.className}`)
            .slice(0, 5),
        );
        expect(tooWide).toEqual([]);
        expect(widths.document).toBeLessThanOrEqual(390);
        // The chart scales into the phone's width, still drawn in proportion.
        const chart = await page.locator('#materials-chart').boundingBox();
        expect(chart?.width ?? 0).toBeGreaterThan(200);
        expect(chart?.width ?? 1000).toBeLessThanOrEqual(390);
        // So do the trend charts, one under the other, with their bars.
        for (const id of ['#chart-cases-per-day', '#chart-on-time-per-week', '#chart-overdue-per-day']) {
          const box = await page.locator(id).boundingBox();
          expect(box?.width ?? 0, id).toBeGreaterThan(300);
          expect(box?.width ?? 1000, id).toBeLessThanOrEqual(390);
        }
        expect(await page.locator('#chart-overdue-per-day rect.bar-overdue').count()).toBe(30);
        await page
          .locator('section[aria-labelledby="trends-heading"]')
          .screenshot({ path: join(screenshots, `phone-trends-${acceptLanguage}.png`) });
        // The wide tables scroll inside their box instead.
        const departments = await page.locator('#departments').evaluate((table) => ({
          table: table.scrollWidth,
          box: table.parentElement?.clientWidth ?? 0,
          overflow: table.parentElement
            ? (table.ownerDocument.defaultView?.getComputedStyle(table.parentElement).overflowX ?? '')
            : '',
        }));
        expect(departments.overflow).toBe('auto');
        expect(departments.box).toBeLessThanOrEqual(390);
        expect(cspViolations).toEqual([]);
        await page.screenshot({ path: join(screenshots, `phone-${acceptLanguage}.png`), fullPage: true });
      } finally {
        await page.context().close();
      }
    }
    for (const name of [
      'desktop-zh-CN.png',
      'desktop-trends-zh-CN.png',
      'phone-zh-CN.png',
      'phone-en.png',
      'phone-trends-zh-CN.png',
      'phone-trends-en.png',
    ])
      expect(statSync(join(screenshots, name)).size).toBeGreaterThan(10_000);
    console.info(`test/supervision-page.test.ts: screenshots in ${screenshots}`);
  });

  it('drills down from a chart bar to the cases behind it, and downloads a table as CSV and Excel', async () => {
    const { page, cspViolations } = await open(AUDITOR, { width: 390 });
    try {
      // Today's overdue bar: the one overdue case.
      const bar = page.locator(`#chart-overdue-per-day a[data-day="${today}"]`);
      expect(await bar.locator('rect').getAttribute('data-value')).toBe('1');
      await bar.locator('rect').click();
      await page.waitForURL(/\/supervision\/cases\?/);
      expect(await page.locator('h1').innerText()).toBe('办件清单');
      expect(
        await page.locator('#cases tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-case'))),
      ).toEqual([seeded.overdue]);
      expect(await page.locator('#cases tbody tr').first().innerText()).toContain('监******');
      expect(await page.locator('body').innerText()).not.toContain('监督测试申请人');
      const widths = await page.locator('html').evaluate((root) => root.scrollWidth);
      expect(widths).toBeLessThanOrEqual(390);
      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('a[data-export="cases.csv"]').click(),
      ]);
      expect(csv.suggestedFilename()).toBe(`supervision-cases-${today}.csv`);
      const path = await csv.path();
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith('\uFEFF办件,事项,状态')).toBe(true);
      expect(text).toContain(seeded.overdue);

      await page.locator('#back').click();
      await page.waitForURL(/\/supervision\?/);
      const [xlsx] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('a[data-export="trend-days.xlsx"]').first().click(),
      ]);
      expect(xlsx.suggestedFilename()).toBe(`supervision-trend-days-${today}.xlsx`);
      // An XLSX file is a zip archive.
      expect(
        readFileSync(await xlsx.path())
          .subarray(0, 2)
          .toString('latin1'),
      ).toBe('PK');
      expect(cspViolations).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('shows 401 to someone who cancels the sign-in prompt', async () => {
    const { page, status } = await open();
    try {
      expect(status).toBe(401);
      expect(await page.locator('h1').innerText()).toBe('需要登录');
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
      expect(await page.locator('body').innerText()).not.toContain(seeded.overdue);
    } finally {
      await page.context().close();
    }
  });

  it('shows 401 to someone with a wrong secret', async () => {
    const { page, status } = await open({ username: AUDITOR.username, password: 'not-the-secret' });
    try {
      expect(status).toBe(401);
      expect(await page.locator('body').innerText()).not.toContain(seeded.overdue);
    } finally {
      await page.context().close();
    }
  });
});
