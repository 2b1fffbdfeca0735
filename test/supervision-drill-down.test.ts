/**
 * The supervision page a director opens every morning, beyond its first screen: the trends (cases
 * per day, on-time rate per week, cases overdue per day) computed at a fixed day, the drill-down
 * from a figure to the cases behind it, and the CSV/XLSX exports of its tables, each scoped to the
 * director's centre exactly like the page, masked, and audited.
 *
 * The figures are worked by hand from six cases seeded around Wednesday 17 June 2026 (the
 * gateway's clock is stopped there): five at 雁塔 (Yanta), one at 未央 (Weiyang), two sibling
 * counties under 西安 (Xi'an).
 *
 *   case  centre   status               accepted  due    concluded  paused
 *   A     Yanta    completed            06-01     06-05  06-04      -        on time (week of 06-01)
 *   B     Yanta    completed            06-02     06-05  06-10      -        late (week of 06-08); overdue 06-06..06-09
 *   C     Yanta    in_progress          06-10     06-12  -          -        overdue 06-13..06-17
 *   D     Yanta    awaiting_applicant   06-10     06-12  -          06-11    clock stopped: never overdue
 *   E     Yanta    submitted            06-17     06-24  -          -
 *   W     Weiyang  in_progress          06-10     06-11  -          -        overdue 06-12..06-17
 */
import { and, eq } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientRecord } from '../gateway/auth/clients.js';
import { auditEntries } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { supervisionCases } from '../gateway/supervision/case-list.js';
import { tableAsCsv } from '../gateway/supervision/export.js';
import {
  SEEDED_APPLICANT,
  ensureCalendarYears,
  seedCase,
  seedDelivery,
  seedSubject,
} from '../gateway/supervision/test-fixtures.js';
import { supervisionTrends } from '../gateway/supervision/trends.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const PROVINCE = '610000000';
const CITY = '610100000';
const YANTA = '610113000';
const WEIYANG = '610112000';
const clock = fixedClock('2026-06-17T02:00:00Z');
const TODAY = '2026-06-17';

let gw: TestGateway;
/** The seeded applicant of every case. */
let subjectId: string;
let yantaDirector: { client: ClientRecord; token: string };
let weiyangDirector: { client: ClientRecord; token: string };
const seeded: Record<string, string> = {};

async function ok(response: Response, status = 200): Promise<Response> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return response;
}

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' }, { clock });
  await ensureCalendarYears(gw.services.db, gw.services.calendar, [2026]);
  const admin = await gw.tokenFor('admin', ['centres:admin', 'clients:admin']);
  const put = async (path: string, body: unknown, status = 201) =>
    ok(
      await gw.request(path, {
        method: 'PUT',
        headers: bearer(admin, { 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      }),
      status,
    );
  await put(`/v1/centres/${PROVINCE}`, { name: '陕西省政务服务中心', level: 'province', parentCode: null });
  await put(`/v1/centres/${CITY}`, { name: '西安市政务服务中心', level: 'city', parentCode: PROVINCE });
  await put(`/v1/centres/${YANTA}`, { name: '雁塔区政务服务中心', level: 'county', parentCode: CITY });
  await put(`/v1/centres/${WEIYANG}`, { name: '未央区政务服务中心', level: 'county', parentCode: CITY });
  const director = async (centre: string) => {
    const { client } = await gw.createClient('auditor');
    await put(`/v1/clients/${client.id}/centres`, { centreCodes: [centre] }, 200);
    return { client, token: (await gw.services.tokens.issue(client, ['supervision:read'])).accessToken };
  };
  yantaDirector = await director(YANTA);
  weiyangDirector = await director(WEIYANG);

  const db = gw.services.db;
  subjectId = await seedSubject(db);
  const seed = async (name: string, input: Omit<Parameters<typeof seedCase>[1], 'subjectId'>) => {
    const openedAt = new Date(`${input.acceptedOn}T09:00:00+08:00`);
    const created = await seedCase(db, { subjectId, openedAt, ...input });
    seeded[name] = created.caseNumber;
    return created.id;
  };
  await seed('A', {
    centreCode: YANTA,
    status: 'completed',
    acceptedOn: '2026-06-01',
    dueOn: '2026-06-05',
    completedOn: '2026-06-04',
  });
  const b = await seed('B', {
    centreCode: YANTA,
    status: 'completed',
    acceptedOn: '2026-06-02',
    dueOn: '2026-06-05',
    completedOn: '2026-06-10',
  });
  await seedDelivery(db, b, { department: 'NRB', status: 'delivered' });
  await seed('C', { centreCode: YANTA, status: 'in_progress', acceptedOn: '2026-06-10', dueOn: '2026-06-12' });
  await seed('D', {
    centreCode: YANTA,
    status: 'awaiting_applicant',
    acceptedOn: '2026-06-10',
    dueOn: '2026-06-12',
    pausedOn: '2026-06-11',
  });
  await seed('E', { centreCode: YANTA, status: 'submitted', acceptedOn: '2026-06-17', dueOn: '2026-06-24' });
  await seed('W', { centreCode: WEIYANG, status: 'in_progress', acceptedOn: '2026-06-10', dueOn: '2026-06-11' });
});

afterAll(async () => gw?.close());

/** Days of the trend with something on them (the others are zero). */
function nonZero<T extends { day: string }>(days: T[], pick: (day: T) => number): Record<string, number> {
  return Object.fromEntries(days.filter((day) => pick(day) !== 0).map((day) => [day.day, pick(day)]));
}

/** A CSV body as rows of cells (the exports quote only what needs it). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      index += 1;
    } else cell += char;
  }
  return rows;
}

const get = (token: string, path: string) => gw.request(path, { headers: bearer(token) });

describe('trends at a fixed day', () => {
  it("counts Yanta's cases per day, on-time rate per week and overdue cases per day by hand", async () => {
    const scope = {
      code: YANTA,
      name: '雁塔区政务服务中心',
      level: 'county' as const,
      path: `/${PROVINCE}/${CITY}/${YANTA}/`,
    };
    const trends = await supervisionTrends(gw.services.db, scope, TODAY);
    expect(trends.days).toHaveLength(30);
    expect(trends.days[0]?.day).toBe('2026-05-19');
    expect(trends.days.at(-1)?.day).toBe(TODAY);
    expect(nonZero(trends.days, (day) => day.accepted)).toEqual({
      '2026-06-01': 1,
      '2026-06-02': 1,
      '2026-06-10': 2,
      '2026-06-17': 1,
    });
    expect(nonZero(trends.days, (day) => day.concluded)).toEqual({ '2026-06-04': 1, '2026-06-10': 1 });
    // B from the day after its due date until it was concluded; C from 06-13; D's clock is stopped.
    expect(nonZero(trends.days, (day) => day.overdue)).toEqual({
      '2026-06-06': 1,
      '2026-06-07': 1,
      '2026-06-08': 1,
      '2026-06-09': 1,
      '2026-06-13': 1,
      '2026-06-14': 1,
      '2026-06-15': 1,
      '2026-06-16': 1,
      '2026-06-17': 1,
    });
    expect(trends.weeks).toHaveLength(12);
    expect(trends.weeks[0]).toMatchObject({ weekStart: '2026-03-30', weekEnd: '2026-04-05', concluded: 0 });
    expect(trends.weeks.at(-1)).toEqual({
      weekStart: '2026-06-15',
      weekEnd: TODAY,
      concluded: 0,
      onTime: 0,
      onTimeRate: null,
    });
    expect(trends.weeks.filter((week) => week.concluded > 0)).toEqual([
      { weekStart: '2026-06-01', weekEnd: '2026-06-07', concluded: 1, onTime: 1, onTimeRate: 1 },
      { weekStart: '2026-06-08', weekEnd: '2026-06-14', concluded: 1, onTime: 0, onTimeRate: 0 },
    ]);
  });

  it('draws them as accessible inline SVG charts with the figures as tables, in Chinese by default', async () => {
    const page = await ok(await get(yantaDirector.token, '/supervision'));
    const html = await page.text();
    for (const id of ['chart-cases-per-day', 'chart-on-time-per-week', 'chart-overdue-per-day']) {
      expect(html).toMatch(new RegExp(`<svg id="${id}"[^>]*role="img"[^>]*aria-labelledby="${id}-title ${id}-desc"`));
      expect(html).toContain(`<title id="${id}-title">`);
      expect(html).toContain(`<desc id="${id}-desc">`);
    }
    expect(html).toContain('每日受理与办结件数（2026-05-19 至 2026-06-17）');
    // One bar per day; the bar of 10 June holds C and D.
    expect(html.match(/class="bar-accepted"/g)).toHaveLength(30);
    expect(html).toMatch(/<a href="[^"]*"[^>]*data-day="2026-06-10"><rect class="bar-accepted" data-value="2"/);
    // Two weekly points: 100 % and 0 %.
    expect([...html.matchAll(/class="point-on-time" data-value="([\d.]+)"/g)].map((match) => match[1])).toEqual([
      '1',
      '0',
    ]);
    expect(html).toContain('<table id="trend-days">');
    expect(html).toContain('<table id="trend-weeks">');
    // No script anywhere: the charts are drawn by the server.
    expect(html).not.toContain('<script');
    const english = await (await ok(await get(yantaDirector.token, '/supervision?lang=en'))).text();
    expect(english).toContain('Cases accepted and concluded per day (2026-05-19 to 2026-06-17)');
  });
});

describe('drill-down: from a figure to the cases behind it', () => {
  const hrefs = (html: string) =>
    [...html.matchAll(/href="(\/supervision\/cases\?[^"]+)"/g)].map((match) =>
      (match[1] ?? '').replaceAll('&amp;', '&'),
    );
  const listed = (html: string) => [...html.matchAll(/<tr data-case="([^"]+)"/g)].map((match) => match[1]);

  it('links the overdue bar of a day to the cases overdue that day, masked', async () => {
    const html = await (await ok(await get(yantaDirector.token, '/supervision'))).text();
    const link = hrefs(html).find((href) => href.includes('overdueOn=2026-06-08'));
    expect(link).toBeDefined();
    const list = await (await ok(await get(yantaDirector.token, link ?? ''))).text();
    expect(listed(list)).toEqual([seeded.B]);
    expect(list).toContain('2026-06-08 当日超期');
    expect(list).toContain('监******');
    expect(list).not.toContain(SEEDED_APPLICANT.name);
    expect(list).not.toContain(SEEDED_APPLICANT.identifier.slice(0, 12));
    // The applicant's record says the director looked at their case (masked), and why.
    const onRecord = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.subjectRef, subjectId),
          eq(auditEntries.action, 'supervision.view'),
          eq(auditEntries.caseRef, seeded.B ?? ''),
        ),
      );
    expect(onRecord).toHaveLength(1);
    expect(onRecord[0]).toMatchObject({
      actorClientId: yantaDirector.client.id,
      purpose: 'supervision',
      fields: ['case_list', 'applicant_name:masked', `centre:${YANTA}`],
    });
  });

  it('lists the cases of each figure: on-time card, accepted per day, status rows, a department, outcome', async () => {
    const html = await (await ok(await get(yantaDirector.token, '/supervision?from=2026-06-01&to=2026-06-17'))).text();
    const links = hrefs(html);
    /** The first link whose query holds every `name=value` of `wanted`. */
    const follow = async (wanted: string) => {
      const link = links.find((href) => {
        const query = new URLSearchParams(href.slice(href.indexOf('?') + 1));
        return [...new URLSearchParams(wanted)].every(([name, value]) => query.get(name) === value);
      });
      expect(link, wanted).toBeDefined();
      return listed(await (await ok(await get(yantaDirector.token, link ?? ''))).text());
    };
    // The on-time card: cases concluded in the period.
    expect((await follow('basis=concluded&from=2026-06-01&to=2026-06-17')).sort()).toEqual([seeded.A, seeded.B].sort());
    expect(await follow('basis=accepted&from=2026-06-17&to=2026-06-17')).toEqual([seeded.E]);
    // The row of cases opened in the period now awaiting the applicant: D.
    expect(html).toMatch(/<tr data-status="awaiting_applicant"><th>[^<]*<\/th><td class="number"><a [^>]*>1<\/a>/);
    expect(await follow('basis=opened&status=awaiting_applicant')).toEqual([seeded.D]);
    // The table of centres counts as overdue what is concluded late (B) or open past its due date today,
    // a stopped clock included (C, D): the list behind the figure is the same three.
    expect(html).toMatch(
      new RegExp(`<tr data-centre="${YANTA}">(?:(?!</tr>).)*outcome=overdue[^>]*>\\s*3\\s*</a>`, 's'),
    );
    expect((await follow(`centre=${YANTA}&outcome=overdue`)).sort()).toEqual([seeded.B, seeded.C, seeded.D].sort());
    const department = await ok(
      await get(yantaDirector.token, '/supervision/cases?from=2026-06-01&to=2026-06-17&department=NRB'),
    );
    expect(listed(await department.text())).toEqual([seeded.B]);
  });

  it('pages the list, newest acceptance first, and says how many there are', async () => {
    const scope = { code: YANTA, name: '雁塔', level: 'county' as const, path: `/${PROVINCE}/${CITY}/${YANTA}/` };
    const filter = { period: { from: '2026-06-01', to: TODAY }, basis: 'accepted' as const, page: 1 };
    const first = await supervisionCases(gw.services.db, gw.services.access.protection, scope, filter, TODAY, 2);
    expect({ total: first.total, pages: first.pages }).toEqual({ total: 5, pages: 3 });
    expect(first.items.map((entry) => entry.caseNumber)[0]).toBe(seeded.E);
    const third = await supervisionCases(
      gw.services.db,
      gw.services.access.protection,
      scope,
      { ...filter, page: 3 },
      TODAY,
      2,
    );
    expect(third.items.map((entry) => entry.caseNumber)).toEqual([seeded.A]);
    const beyond = await supervisionCases(
      gw.services.db,
      gw.services.access.protection,
      scope,
      { ...filter, page: 9 },
      TODAY,
      2,
    );
    expect({ total: beyond.total, items: beyond.items }).toEqual({ total: 5, items: [] });
  });
});

describe('exports', () => {
  it('writes a table as CSV with a byte order mark and Chinese headers, English with ?lang=en', async () => {
    const response = await ok(await get(yantaDirector.token, '/supervision/export?table=trend-days&format=csv'));
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="supervision-trend-days-2026-06-17.csv"',
    );
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(new TextDecoder().decode(bytes.slice(3)));
    expect(rows[0]).toEqual(['日期', '受理', '办结', '当日超期件数']);
    expect(rows).toHaveLength(31);
    expect(rows.find((row) => row[0] === '2026-06-10')).toEqual(['2026-06-10', '2', '1', '0']);
    expect(rows.find((row) => row[0] === '2026-06-13')).toEqual(['2026-06-13', '0', '0', '1']);

    const english = await ok(
      await get(yantaDirector.token, '/supervision/export?table=trend-weeks&format=csv&lang=en'),
    );
    const weeks = parseCsv((await english.text()).replace(/^\uFEFF/, ''));
    expect(weeks[0]).toEqual(['Week', 'Concluded', 'On time', 'On-time rate (%)']);
    expect(weeks.filter((row) => row[1] !== '0').slice(1)).toEqual([
      ['2026-06-01 – 2026-06-07', '1', '1', '100'],
      ['2026-06-08 – 2026-06-14', '1', '0', '0'],
    ]);
  });

  it('writes every table of the page as one workbook that exceljs reads back', async () => {
    const response = await ok(await get(yantaDirector.token, '/supervision/export?table=all&format=xlsx'));
    expect(response.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await response.arrayBuffer());
    const names = workbook.worksheets.map((sheet) => sheet.name);
    expect(names).toHaveLength(14);
    expect(names).toContain('办件时限预警');
    expect(names).toContain('本期新建办件（按状态）');
    const warnings = workbook.getWorksheet('办件时限预警');
    const header = warnings?.getRow(1).values as unknown[];
    expect(header.slice(1, 3)).toEqual(['预警级别', '办件']);
    const caseNumbers = [];
    for (let row = 2; row <= (warnings?.rowCount ?? 0); row += 1)
      caseNumbers.push(warnings?.getRow(row).getCell(2).value);
    // C is overdue at Yanta; W (Weiyang) is not Yanta's.
    expect(caseNumbers).toContain(seeded.C);
    expect(caseNumbers).not.toContain(seeded.W);
    const trend = workbook.worksheets.find((sheet) => sheet.name.startsWith('每日受理与办结'));
    const tenth = trend?.getRows(2, 30)?.find((row) => row.getCell(1).value === '2026-06-10');
    // Figures are numbers in the sheet, not text.
    expect([tenth?.getCell(2).value, tenth?.getCell(3).value]).toEqual([2, 1]);
  });

  it('exports the case list behind a figure, masked, in English on request', async () => {
    const response = await ok(
      await get(
        yantaDirector.token,
        '/supervision/export?table=cases&format=xlsx&lang=en&from=2026-06-01&to=2026-06-17&basis=concluded',
      ),
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await response.arrayBuffer());
    const [sheet] = workbook.worksheets;
    if (!sheet) throw new Error('the workbook has no worksheet');
    expect((sheet.getRow(1).values as unknown[]).slice(1, 6)).toEqual([
      'Case',
      'Item',
      'Status',
      'Centre',
      'Applicant',
    ]);
    const rows = sheet.getRows(2, sheet.rowCount - 1) ?? [];
    expect(rows.map((row) => row.getCell(1).value).sort()).toEqual([seeded.A, seeded.B].sort());
    expect(rows.map((row) => row.getCell(5).value)).toEqual(['监******', '监******']);
    const exported = await gw.services.db
      .select({ caseRef: auditEntries.caseRef })
      .from(auditEntries)
      .where(and(eq(auditEntries.subjectRef, subjectId), eq(auditEntries.action, 'supervision.export')));
    expect(exported.map((entry) => entry.caseRef).sort()).toEqual([seeded.A, seeded.B].sort());
  });

  it('refuses CSV for the whole page, and audits every export with its table and row counts', async () => {
    const refused = await get(yantaDirector.token, '/supervision/export?table=all&format=csv');
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).code).toBe('validation_failed');
    const entries = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(eq(auditEntries.actorClientId, yantaDirector.client.id), eq(auditEntries.action, 'supervision.export')),
      );
    const trendDays = entries.find((entry) => (entry.fields as string[]).includes('table:trend-days'));
    expect(trendDays?.fields).toEqual(expect.arrayContaining(['format:csv', 'rows:trend-days:30', `centre:${YANTA}`]));
  });

  it('writes a formula-looking cell as text in CSV', () => {
    const csv = tableAsCsv({ id: 'x', title: 'x', columns: ['a', 'b'], rows: [['=HYPERLINK("x")', -3]] });
    expect(csv).toBe('\uFEFFa,b\r\n"\'=HYPERLINK(""x"")",-3\r\n');
  });
});

describe('scope: another centre’s director gets nothing of yours', () => {
  it("shows Weiyang's director Weiyang's cases and trends only", async () => {
    const rows = parseCsv(
      (
        await (await ok(await get(weiyangDirector.token, '/supervision/export?table=trend-days&format=csv'))).text()
      ).replace(/^\uFEFF/, ''),
    );
    expect(rows.filter((row) => row[1] !== '0' && row[0] !== '日期')).toEqual([['2026-06-10', '1', '0', '0']]);
    expect(rows.filter((row) => row[3] === '1').map((row) => row[0])).toEqual([
      '2026-06-12',
      '2026-06-13',
      '2026-06-14',
      '2026-06-15',
      '2026-06-16',
      '2026-06-17',
    ]);
    const list = await (
      await ok(await get(weiyangDirector.token, '/supervision/cases?from=2026-06-01&to=2026-06-17'))
    ).text();
    expect([...list.matchAll(/<tr data-case="([^"]+)"/g)].map((match) => match[1])).toEqual([seeded.W]);
  });

  it("refuses Yanta's list and exports to Weiyang's director", async () => {
    for (const path of [
      `/supervision/cases?centre=${YANTA}`,
      `/supervision/export?table=cases&format=csv&centre=${YANTA}`,
      `/supervision/export?table=all&format=xlsx&centre=${YANTA}`,
    ]) {
      const response = await get(weiyangDirector.token, path);
      expect(response.status, path).toBe(403);
      expect((await problemOf(response)).code).toBe('centre_outside_your_tree');
    }
  });

  it('needs supervision:read, like the page', async () => {
    const window = await gw.tokenFor('window', ['cases:read']);
    for (const path of ['/supervision/cases', '/supervision/export?table=trend-days']) {
      const response = await get(window, path);
      expect(response.status, path).toBe(403);
    }
    expect((await gw.request('/supervision/export?table=trend-days')).status).toBe(401);
  });
});
