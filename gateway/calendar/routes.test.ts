/**
 * The calendar through the HTTP API and the database: the shipped 2026 year seeded at start (once,
 * also when several instances seed at the same moment), an administrator loading 2027, refusals
 * (non-admin, invalid document, year mismatch), the due-date endpoint before and after 2027 is
 * loaded, and other instances picking up a load within the refresh interval.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, createTestGateway, problemOf, type TestGateway } from '../../test/harness.js';
import { auditEntries, calendarDays, calendarYears } from '../db/schema.js';
import { CalendarService } from './service.js';
import { readShippedCalendars, seedShippedCalendars } from './store.js';
import { invented2027, shipped2026 } from './test-fixtures.js';

let gw: TestGateway;
let adminToken: string;
let adminClientId: string;
let windowToken: string;

beforeAll(async () => {
  gw = await createTestGateway();
  const admin = await gw.createClient('admin');
  adminClientId = admin.client.id;
  adminToken = (await gw.services.tokens.issue(admin.client, ['catalogue:admin', 'contracts:read'])).accessToken;
  windowToken = await gw.tokenFor('window');
});
afterAll(async () => gw?.close());

const putYear = (year: number | string, body: unknown, token = adminToken) =>
  gw.request(`/v1/calendar/years/${year}`, {
    method: 'PUT',
    headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
const get = (path: string, token = windowToken) => gw.request(path, { headers: bearer(token) });

interface DueDate {
  from: string;
  workingDays: number;
  dueDate: string;
  calendarDays: number;
  skipped: { day: string; kind: string; name: string | null }[];
  adjustedWorkdays: string[];
}

describe('the shipped 2026 calendar', () => {
  it('is loaded at start, as seeded by the gateway', async () => {
    const response = await get('/v1/calendar/years');
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as {
      items: {
        year: number;
        loadedBy: string | null;
        workingDayCount: number;
        holidayWeekdayCount: number;
        adjustedWorkdayCount: number;
      }[];
    };
    expect(items.find((item) => item.year === 2026)).toMatchObject({
      loadedBy: null,
      workingDayCount: 248,
      holidayWeekdayCount: 19,
      adjustedWorkdayCount: 6,
    });
  });

  it('reads back as the shipped document', async () => {
    const response = await get('/v1/calendar/years/2026');
    expect(response.status).toBe(200);
    const year = (await response.json()) as { source: string; holidays: unknown[]; adjustedWorkdays: string[] };
    const shipped = shipped2026();
    expect(year.source).toBe(shipped.source);
    expect(year.holidays).toEqual(shipped.holidays);
    expect(year.adjustedWorkdays).toEqual(shipped.adjustedWorkdays);
  });

  it('is seeded once however often and however concurrently instances start', async () => {
    const db = gw.services.db;
    expect(await seedShippedCalendars(db, gw.services.logger)).toEqual([]);
    await db.delete(calendarYears).where(eq(calendarYears.year, 2026));
    const runs = await Promise.all([1, 2, 3, 4].map(() => seedShippedCalendars(db, gw.services.logger)));
    expect(runs.flat()).toEqual([2026]);
    const days = await db.select().from(calendarDays).where(eq(calendarDays.year, 2026));
    expect(days).toHaveLength(33 + 6);
  });

  it('every shipped file is a valid calendar document', () => {
    expect(readShippedCalendars().map((document) => document.year)).toContain(2026);
  });

  it('answers 404 for a year that is not loaded', async () => {
    const response = await get('/v1/calendar/years/2031');
    expect(response.status).toBe(404);
    expect((await problemOf(response)).code).toBe('not_found');
  });
});

describe('due dates', () => {
  it('counts 3 working days from 30 September 2026 to Saturday 10 October, skipping National Day', async () => {
    const response = await get('/v1/calendar/due-date?from=2026-09-30&workingDays=3');
    expect(response.status).toBe(200);
    const due = (await response.json()) as DueDate;
    expect(due).toMatchObject({
      from: '2026-09-30',
      workingDays: 3,
      dueDate: '2026-10-10',
      calendarDays: 10,
      adjustedWorkdays: ['2026-10-10'],
    });
    expect(due.skipped).toHaveLength(7);
    expect(due.skipped.every((day) => day.kind === 'holiday' && day.name === 'National Day')).toBe(true);
  });

  it('names weekends as skipped and answers the acceptance day for 0 days', async () => {
    const weekend = (await (await get('/v1/calendar/due-date?from=2026-03-06&workingDays=1')).json()) as DueDate;
    expect(weekend.dueDate).toBe('2026-03-09');
    expect(weekend.skipped).toEqual([
      { day: '2026-03-07', kind: 'weekend', name: null },
      { day: '2026-03-08', kind: 'weekend', name: null },
    ]);
    const none = (await (await get('/v1/calendar/due-date?from=2026-03-06&workingDays=0')).json()) as DueDate;
    expect(none).toMatchObject({ dueDate: '2026-03-06', calendarDays: 0, skipped: [] });
  });

  it('refuses malformed input with 400', async () => {
    for (const query of [
      'from=2026-02-30&workingDays=1',
      'from=2026-03-06&workingDays=-1',
      'from=2026-03-06&workingDays=1.5',
      'from=2026-03-06',
      'workingDays=3',
    ]) {
      const response = await get(`/v1/calendar/due-date?${query}`);
      expect(response.status, query).toBe(400);
      expect((await problemOf(response)).code, query).toBe('validation_failed');
    }
  });
});

describe('loading a year', () => {
  it('answers a due date in 2027 before 2027 is loaded provisionally: weekdays alone, the year named', async () => {
    const response = await get('/v1/calendar/due-date?from=2026-12-30&workingDays=5');
    expect(response.status).toBe(200);
    // 12-31 (Thu), then 2027-01-01 (Fri: a holiday in reality, unknown here), 01-04, 01-05, 01-06.
    expect(await response.json()).toMatchObject({ dueDate: '2027-01-06', provisional: true, provisionalYears: [2027] });
    const within2026 = await (await get('/v1/calendar/due-date?from=2026-12-01&workingDays=5')).json();
    expect(within2026).toMatchObject({ provisional: false, provisionalYears: [] });
  });

  it('refuses a client without catalogue:admin with 403', async () => {
    const response = await putYear(2027, invented2027(), windowToken);
    expect(response.status).toBe(403);
    expect((await problemOf(response)).code).toBe('insufficient_scope');
  });

  it('refuses an invalid document with 422 calendar_invalid listing every problem, and changes nothing', async () => {
    const document = {
      ...invented2027(),
      holidays: [{ name: 'Backwards', from: '2027-10-07', to: '2027-10-01' }],
      adjustedWorkdays: ['2027-03-03', '2027-02-30'],
    };
    const response = await putYear(2027, document);
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.code).toBe('calendar_invalid');
    expect(problem.errors).toEqual([
      {
        path: 'adjustedWorkdays.1',
        message: expect.stringMatching(/not a calendar date/),
        messageZh: '"2027-02-30" 不是格式为 YYYY-MM-DD 的真实日期（年份 1900–2199）',
      },
      {
        path: 'holidays.0.to',
        message: expect.stringMatching(/ends \(2027-10-01\) before it begins \(2027-10-07\)/),
        messageZh: '“Backwards”的结束日（2027-10-01）早于开始日（2027-10-07）',
      },
      {
        path: 'adjustedWorkdays.0',
        message: expect.stringMatching(/2027-03-03 is a Wednesday/),
        messageZh: '2027-03-03 是星期三，本来就是工作日：调休上班日只能是要上班的星期六或星期日',
      },
    ]);
    expect((await get('/v1/calendar/years/2027')).status).toBe(404);
  });

  it('refuses a document for another year than the path names', async () => {
    const response = await putYear(2028, invented2027());
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.code).toBe('calendar_invalid');
    expect(problem.errors).toEqual([
      {
        path: 'year',
        message: 'The document is for 2027, but the path names 2028',
        messageZh: '文档是 2027 年的日历，但路径中的年份是 2028',
      },
    ]);
  });

  it('refuses malformed JSON and an impossible year in the path with 400', async () => {
    const malformed = await gw.request('/v1/calendar/years/2027', {
      method: 'PUT',
      headers: bearer(adminToken, { 'content-type': 'application/json' }),
      body: '{"year":',
    });
    expect(malformed.status).toBe(400);
    expect((await problemOf(malformed)).code).toBe('malformed_json');
    const badYear = await putYear('twenty', invented2027());
    expect(badYear.status).toBe(400);
    expect((await problemOf(badYear)).code).toBe('validation_failed');
  });

  it('loads 2027 (201, audited), after which due dates run into 2027', async () => {
    const response = await putYear(2027, invented2027());
    expect(response.status).toBe(201);
    const year = (await response.json()) as {
      year: number;
      loadedBy: string;
      holidays: unknown[];
      adjustedWorkdays: string[];
    };
    expect(year).toMatchObject({
      year: 2027,
      loadedBy: adminClientId,
      holidays: invented2027().holidays,
      adjustedWorkdays: ['2027-02-20'],
    });

    const due = (await (await get('/v1/calendar/due-date?from=2026-12-30&workingDays=5')).json()) as DueDate;
    expect(due.dueDate).toBe('2027-01-07');
    expect(due.skipped.filter((day) => day.kind === 'holiday').map((day) => day.day)).toEqual([
      '2027-01-01',
      '2027-01-02',
      '2027-01-03',
    ]);

    const audit = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'calendar.load'), eq(auditEntries.actorClientId, adminClientId)));
    expect(audit).toHaveLength(1);
    expect(audit[0]?.fields).toEqual(['calendar:2027']);
  });

  it('replaces a loaded year (200): the old days are gone', async () => {
    const corrected = {
      ...invented2027(),
      holidays: [{ name: "New Year's Day", from: '2027-01-01', to: '2027-01-01' }],
      adjustedWorkdays: [],
    };
    const response = await putYear(2027, corrected);
    expect(response.status).toBe(200);
    const year = (await response.json()) as { holidays: unknown[]; adjustedWorkdays: string[] };
    expect(year.holidays).toEqual(corrected.holidays);
    expect(year.adjustedWorkdays).toEqual([]);
    const calendar = await gw.services.calendar.current();
    expect(calendar.isWorkingDay('2027-02-08')).toBe(true);
    expect(calendar.isWorkingDay('2027-02-20')).toBe(false);
    expect(await gw.services.db.select().from(calendarDays).where(eq(calendarDays.year, 2027))).toHaveLength(1);
  });

  it('leaves a year an administrator loaded alone when the gateway seeds again', async () => {
    const amended = { ...shipped2026(), source: 'Amended by the administrator' };
    expect((await putYear(2026, amended)).status).toBe(200);
    expect(await seedShippedCalendars(gw.services.db, gw.services.logger)).toEqual([]);
    const year = (await (await get('/v1/calendar/years/2026')).json()) as { source: string; loadedBy: string };
    expect(year).toMatchObject({ source: 'Amended by the administrator', loadedBy: adminClientId });
  });
});

describe('the in-memory calendar of other instances', () => {
  it('sees a year loaded elsewhere once its copy is older than the refresh interval', async () => {
    let now = 0;
    const otherInstance = new CalendarService(gw.services.db, gw.services.logger, {
      refreshIntervalMs: 60_000,
      now: () => now,
    });
    expect((await otherInstance.current()).years).not.toContain(2029);

    const document = { year: 2029, source: 'test', holidays: [], adjustedWorkdays: [] };
    expect((await putYear(2029, document)).status).toBe(201);
    expect((await gw.services.calendar.current()).years).toContain(2029);

    now = 59_999;
    expect((await otherInstance.current()).years).not.toContain(2029);
    now = 60_000;
    // The stale copy is answered at once and re-read in the background.
    await vi.waitFor(async () => expect((await otherInstance.current()).years).toContain(2029));
  });

  it('keeps its copy when a refresh fails', async () => {
    let now = 0;
    let failing = false;
    const db = gw.services.db;
    const flakyDb = new Proxy(db, {
      get(target, property, receiver) {
        if (failing && property === 'select') throw new Error('connection lost');
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const instance = new CalendarService(flakyDb, gw.services.logger, { now: () => now });
    const before = await instance.current();
    failing = true;
    now = 120_000;
    expect(await instance.current()).toBe(before);
    await vi.waitFor(() => expect(gw.logs.text()).toMatch(/refreshing the working-day calendar failed/));
    expect(await instance.current()).toBe(before);
  });
});
