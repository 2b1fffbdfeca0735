/**
 * Satisfaction ratings (好差评), end to end in process on PGlite (or on PostgreSQL when
 * DATABASE_URL is set): the applicant rates a completed case through the progress look-up with the
 * look-up's proof and its count of wrong guesses; every refusal (not completed, rated already,
 * wrong proof, bad input) writes nothing of the rating; a 差评 opens a follow-up due 3 working days
 * later on the 2026 calendar; the centre's director lists it (comment masked, read audited) and
 * answers it, another centre's users are answered as if it did not exist; past its due date it is
 * a supervision warning; the figures per centre, operator, department and item and the monthly
 * rankings come out at the numbers worked out by hand below (and in docs/ratings.md).
 *
 * Fixed days of December 2026 (no holiday in it): the ratings are given on Friday 12-18, so a 差评's
 * follow-up is due Wednesday 12-23 (Mon 21, Tue 22, Wed 23); it is overdue on Thursday 12-24.
 */
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEntries,
  caseEvents,
  caseRatings,
  cases,
  progressLookupFailures,
  subjects,
} from '../gateway/db/schema.js';
import type { Clock } from '../gateway/platform/clock.js';
import { rank } from '../gateway/ratings/figures.js';
import { ensureCalendarYears, seedCase, seedDelivery, seedSubject } from '../gateway/supervision/test-fixtures.js';
import type { SupervisionWarnings } from '../gateway/supervision/warnings.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const PROVINCE = '610000000';
const CITY = '610100000';
const YANTA = '610113000';
const WEIYANG = '610112000';
const json = { 'content-type': 'application/json' };

/** The gateway's clock: moved by the tests from day to day, never read from the wall. */
let instant = Date.parse('2026-12-18T02:00:00.000Z');
const clock: Clock = { now: () => new Date(instant) };
const setDay = (day: string) => {
  instant = Date.parse(`${day}T02:00:00.000Z`);
};

type ClientRecord = Awaited<ReturnType<TestGateway['createClient']>>['client'];
/** A client whose token is minted at each call, at the gateway's clock of the moment (tokens are short-lived). */
interface Caller {
  id: string;
  token: () => Promise<string>;
}

let gw: TestGateway;
let admin: Caller;
let auditor: Caller;
const nobody: Caller = { id: '', token: async () => '' };
const windows: Record<'yanta' | 'weiyang' | 'city', Caller> = { yanta: nobody, weiyang: nobody, city: nobody };

function callerOf(client: ClientRecord, scopes: Parameters<TestGateway['services']['tokens']['issue']>[1]): Caller {
  return { id: client.id, token: async () => (await gw.services.tokens.issue(client, scopes)).accessToken };
}

interface SeededCase {
  id: string;
  caseNumber: string;
  check: string;
}

/** Rated in the figures: Yanta's window (clerk-1: Y1–Y3, clerk-2: Y4–Y5) and Weiyang's (clerk-w: W1–W3). */
const seeded: Record<string, SeededCase> = {};

interface CallInit {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

async function call(caller: Caller, path: string, init: CallInit = {}): Promise<Response> {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(await caller.token(), { ...(init.body === undefined ? {} : json), ...(init.headers ?? {}) }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status) {
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as T;
}

async function refused(response: Response, status: number, code: string): Promise<{ detail?: string; code: string }> {
  const problem = await problemOf(response);
  expect({ status: response.status, code: problem.code }).toEqual({ status, code });
  return problem as { detail?: string; code: string };
}

const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
const supervising = (operatorId: string) => ({ 'onewindow-operator': operatorId, 'onewindow-purpose': 'supervision' });
/** A centre's list of ratings, read by `operatorId` at `caller`'s desk. */
const ratingsAt = (caller: Caller, operatorId: string, query = '') =>
  call(caller, `/v1/ratings${query}`, { headers: supervising(operatorId) });
/** A follow-up answered by `operatorId` at `caller`'s desk. */
const answerAt = (caller: Caller, operatorId: string, ratingId: string, answer: string, contacted = true) =>
  call(caller, `/v1/ratings/${ratingId}/follow-up`, { body: { answer, contacted }, headers: supervising(operatorId) });

function rate(body: Record<string, unknown>): Promise<Response> {
  return gw.request('/v1/progress/rating', { method: 'POST', headers: json, body: JSON.stringify(body) });
}

function lookUp(caseNumber: string, check: string): Promise<Response> {
  return gw.request('/v1/progress', { method: 'POST', headers: json, body: JSON.stringify({ caseNumber, check }) });
}

async function windowAt(code: string): Promise<Caller> {
  const { client } = await gw.createClient('window');
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  return callerOf(client, ['cases:read', 'cases:write', 'centres:read']);
}

/** A case of `window` at `centre`, opened by `operatorId`; completed on 12-10 (on time: due 12-15; late: due 12-08). */
interface SeedOptions {
  onTime: boolean;
  status?: 'completed' | 'in_progress';
  department?: string;
}

async function seedCompleted(
  window: Caller,
  centre: string,
  operatorId: string,
  options: SeedOptions,
): Promise<SeededCase> {
  const db = gw.services.db;
  const subjectId = await seedSubject(db);
  const status = options.status ?? 'completed';
  const created = await seedCase(db, {
    subjectId,
    status,
    acceptedOn: '2026-12-01',
    promisedDays: 5,
    dueOn: options.onTime ? '2026-12-15' : '2026-12-08',
    completedOn: status === 'completed' ? '2026-12-10' : null,
  });
  await db
    .update(cases)
    .set({ clientId: window.id, centreCode: centre, acceptingCentreCode: centre, operatorId })
    .where(eq(cases.id, created.id));
  await seedDelivery(db, created.id, {
    department: options.department ?? 'NRB',
    status: 'delivered',
    departmentStatus: status === 'completed' ? 'completed' : 'in_progress',
  });
  const [subject] = await db
    .select({ identifier: subjects.identifier })
    .from(subjects)
    .where(eq(subjects.id, subjectId));
  return { ...created, check: subject!.identifier.slice(-4) };
}

async function rowsWritten(caseId: string) {
  const db = gw.services.db;
  const [ratings] = await db.select({ n: count() }).from(caseRatings).where(eq(caseRatings.caseId, caseId));
  const [events] = await db.select({ n: count() }).from(caseEvents).where(eq(caseEvents.caseId, caseId));
  const [audits] = await db.select({ n: count() }).from(auditEntries).where(eq(auditEntries.action, 'case.rating'));
  return { ratings: ratings?.n ?? 0, events: events?.n ?? 0, ratingAudits: audits?.n ?? 0 };
}

beforeAll(async () => {
  const environment = {
    DELIVERY_WORKER: 'false',
    NOTIFICATION_WORKER: 'false',
    PROGRESS_MAX_FAILURES: '3',
    PROGRESS_LOOKUPS_PER_MINUTE: '1000',
  };
  gw = await createTestGateway(environment, { clock });
  await ensureCalendarYears(gw.services.db, gw.services.calendar, [2026]);
  admin = callerOf((await gw.createClient('admin')).client, ['centres:admin', 'clients:admin']);
  await ok(
    await put(`/v1/centres/${PROVINCE}`, { name: '陕西省政务服务中心', level: 'province', parentCode: null }),
    201,
  );
  await ok(await put(`/v1/centres/${CITY}`, { name: '西安市政务服务中心', level: 'city', parentCode: PROVINCE }), 201);
  await ok(await put(`/v1/centres/${YANTA}`, { name: '雁塔区政务服务中心', level: 'county', parentCode: CITY }), 201);
  await ok(await put(`/v1/centres/${WEIYANG}`, { name: '未央区政务服务中心', level: 'county', parentCode: CITY }), 201);
  for (const [centre, operatorId, role] of [
    [YANTA, 'director-y', 'centre_director'],
    [YANTA, 'clerk-1', 'acceptance_clerk'],
    [YANTA, 'clerk-2', 'acceptance_clerk'],
    [WEIYANG, 'director-w', 'centre_director'],
    [WEIYANG, 'clerk-w', 'acceptance_clerk'],
    [CITY, 'supervisor-c', 'supervisor'],
  ] as const) {
    await ok(await put(`/v1/centres/${centre}/operators/${operatorId}`, { name: `${operatorId} 姓名`, role }), 201);
  }
  windows.yanta = await windowAt(YANTA);
  windows.weiyang = await windowAt(WEIYANG);
  windows.city = await windowAt(CITY);
  auditor = callerOf((await gw.createClient('auditor')).client, ['supervision:read']);

  seeded['Y1'] = await seedCompleted(windows.yanta, YANTA, 'clerk-1', { onTime: true });
  seeded['Y2'] = await seedCompleted(windows.yanta, YANTA, 'clerk-1', { onTime: true });
  seeded['Y3'] = await seedCompleted(windows.yanta, YANTA, 'clerk-1', { onTime: false });
  seeded['Y4'] = await seedCompleted(windows.yanta, YANTA, 'clerk-2', { onTime: true });
  seeded['Y5'] = await seedCompleted(windows.yanta, YANTA, 'clerk-2', { onTime: true });
  seeded['W1'] = await seedCompleted(windows.weiyang, WEIYANG, 'clerk-w', { onTime: true, department: 'AMR' });
  seeded['W2'] = await seedCompleted(windows.weiyang, WEIYANG, 'clerk-w', { onTime: true, department: 'AMR' });
  seeded['W3'] = await seedCompleted(windows.weiyang, WEIYANG, 'clerk-w', { onTime: true, department: 'AMR' });
}, 60_000);

afterAll(async () => gw?.close());

const BAD_COMMENT = '排队两个小时，窗口说材料不全让我再跑一趟。我的电话13912345678，身份证11010519491231002X。';

describe('rating a case through the progress look-up', () => {
  it('refuses a case that is not completed, with nothing written', async () => {
    setDay('2026-12-18');
    const open = await seedCompleted(windows.yanta, YANTA, 'clerk-1', { onTime: true, status: 'in_progress' });
    const before = await rowsWritten(open.id);
    const problem = await refused(
      await rate({ caseNumber: open.caseNumber, check: open.check, score: 5 }),
      409,
      'case_not_rateable',
    );
    expect(problem).toMatchObject({
      caseStatus: 'in_progress',
      message: {
        zh: expect.stringContaining('“办理中”，办结后才能评价'),
        en: expect.stringContaining('is in_progress'),
      },
    });
    expect(await rowsWritten(open.id)).toEqual(before);
    const progress = await ok<{ canRate: boolean; rating: unknown }>(await lookUp(open.caseNumber, open.check));
    expect(progress).toMatchObject({ canRate: false, rating: null });
  });

  it('refuses bad input before anything else: a score out of 1–5, a comment over 500 characters, unknown members', async () => {
    const { caseNumber, check, id } = seeded['Y1']!;
    const before = await rowsWritten(id);
    await refused(await rate({ caseNumber, check, score: 6 }), 400, 'validation_failed');
    await refused(await rate({ caseNumber, check, score: 0 }), 400, 'validation_failed');
    await refused(await rate({ caseNumber, check, score: 4.5 }), 400, 'validation_failed');
    await refused(await rate({ caseNumber, check, score: 5, comment: '好'.repeat(501) }), 400, 'validation_failed');
    await refused(await rate({ caseNumber, check, score: 5, name: '张三' }), 400, 'validation_failed');
    expect(await rowsWritten(id)).toEqual(before);
  });

  it('rates a completed case once: the look-up shows the rating, a second rating is refused', async () => {
    const { caseNumber, check, id } = seeded['Y1']!;
    expect(await ok<{ canRate: boolean }>(await lookUp(caseNumber, check))).toMatchObject({ canRate: true });
    const receipt = await ok<Record<string, unknown>>(
      await rate({ caseNumber, check: check.toLowerCase(), score: 5, comment: '窗口人员服务热情，一次办好。' }),
      201,
    );
    expect(receipt).toEqual({
      caseNumber,
      score: 5,
      ratedAt: '2026-12-18T02:00:00.000Z',
      hasComment: true,
      followUp: null,
      message: { zh: '感谢您的评价。', en: 'Thank you for your rating.' },
    });
    const written = await rowsWritten(id);
    const [row] = await gw.services.db.select().from(caseRatings).where(eq(caseRatings.caseId, id));
    expect(row).toMatchObject({
      centreCode: YANTA,
      clientId: windows.yanta.id,
      operatorId: 'clerk-1',
      itemCode: 'real_estate_transfer',
      departments: ['NRB'],
      onTime: true,
      ratedOn: '2026-12-18',
      followUpStatus: null,
    });

    const again = await refused(await rate({ caseNumber, check, score: 1 }), 409, 'rating_exists');
    expect(again).toMatchObject({
      message: { zh: expect.stringContaining('已评价'), en: expect.stringContaining('rated already') },
    });
    expect(await rowsWritten(id)).toEqual(written);

    const progress = await ok<{ canRate: boolean; rating: unknown; timeline: { kind: string }[] }>(
      await lookUp(caseNumber, check),
    );
    expect(progress.canRate).toBe(false);
    expect(progress.rating).toEqual({
      score: 5,
      ratedAt: '2026-12-18T02:00:00.000Z',
      hasComment: true,
      followUp: null,
    });
    expect(progress.timeline.map((event) => event.kind)).toContain('rated');
    // The look-up never echoes the comment to whoever holds the proof.
    expect(JSON.stringify(progress)).not.toContain('服务热情');
  });

  it('answers an unknown number and a wrong check alike, and counts wrong checks with the look-up towards one lock', async () => {
    const { caseNumber, check, id } = seeded['Y2']!;
    const wrong = check === '0000' ? '1111' : '0000';
    const unknown = await refused(await rate({ caseNumber: 'OW20269999999999', check, score: 5 }), 404, 'not_found');
    const wrongCheck = await refused(await rate({ caseNumber, check: wrong, score: 5 }), 404, 'not_found');
    expect(wrongCheck.detail).toBe(unknown.detail);
    expect((await rowsWritten(id)).ratings).toBe(0);
    // The wrong check is on the applicant's access log.
    const [denied] = await gw.services.db
      .select()
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.rating'),
          eq(auditEntries.outcome, 'denied'),
          eq(auditEntries.caseRef, caseNumber),
        ),
      );
    expect(denied?.fields).toContain('refused:wrong_check');
    // PROGRESS_MAX_FAILURES is 3 here: one more wrong rating and one wrong look-up lock the number for both doors.
    await refused(await rate({ caseNumber, check: wrong, score: 5 }), 404, 'not_found');
    await refused(await lookUp(caseNumber, wrong), 404, 'not_found');
    const [failures] = await gw.services.db
      .select({ n: count() })
      .from(progressLookupFailures)
      .where(eq(progressLookupFailures.caseNumber, caseNumber));
    expect(failures?.n).toBe(3);
    await refused(await lookUp(caseNumber, check), 429, 'rate_limited');
    await refused(await rate({ caseNumber, check, score: 5 }), 429, 'rate_limited');
    expect((await rowsWritten(id)).ratings).toBe(0);
    // The lock lasts 15 minutes: 16 minutes later the right proof rates.
    instant += 16 * 60_000;
    await ok(await rate({ caseNumber, check, score: 4 }), 201);
    setDay('2026-12-18');
  });

  it('takes one of two ratings sent at once and refuses the other', async () => {
    const { caseNumber, check, id } = seeded['Y3']!;
    const answers = await Promise.all([rate({ caseNumber, check, score: 5 }), rate({ caseNumber, check, score: 3 })]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect((await rowsWritten(id)).ratings).toBe(1);
    // The figures below count Y3 as a 5: make it so whichever of the two won.
    await gw.services.db.update(caseRatings).set({ score: 5 }).where(eq(caseRatings.caseId, id));
  });
});

describe('a 差评 and its follow-up', () => {
  let ratingId = '';

  it('opens a follow-up due 3 working days later, across the weekend', async () => {
    setDay('2026-12-18');
    const { caseNumber, check } = seeded['Y4']!;
    const receipt = await ok<{ followUp: { state: string; dueOn: string }; message: { zh: string } }>(
      await rate({ caseNumber, check, score: 1, comment: BAD_COMMENT }),
      201,
    );
    expect(receipt.followUp).toEqual({
      state: 'open',
      dueOn: '2026-12-23',
      answer: null,
      contacted: null,
      answeredAt: null,
    });
    expect(receipt.message.zh).toContain('2026-12-23');
    const [row] = await gw.services.db.select().from(caseRatings).where(eq(caseRatings.caseNumber, caseNumber));
    ratingId = row!.id;
    for (const key of ['Y5', 'W1', 'W2'])
      await ok(await rate({ caseNumber: seeded[key]!.caseNumber, check: seeded[key]!.check, score: 5 }), 201);
    await ok(await rate({ caseNumber: seeded['W3']!.caseNumber, check: seeded['W3']!.check, score: 4 }), 201);
  });

  it("is listed to the centre's director with the comment masked, and the read is on the applicant's access log", async () => {
    const listed = await call(windows.yanta, '/v1/ratings?status=open', {
      headers: { ...supervising('director-y'), 'x-request-id': 'req-ratings-list' },
    });
    const text = await listed.clone().text();
    const body = await ok<{
      centre: string;
      ratings: { id: string; score: number; comment: string; followUp: { state: string; dueOn: string } }[];
    }>(listed);
    expect(body.centre).toBe(YANTA);
    expect(body.ratings.map((rating) => rating.id)).toEqual([ratingId]);
    expect(body.ratings[0]).toMatchObject({ score: 1, followUp: { state: 'open', dueOn: '2026-12-23' } });
    expect(body.ratings[0]!.comment).toContain('139****5678');
    expect(text).not.toContain('13912345678');
    expect(text).not.toContain('11010519491231002X');
    const audits = await gw.services.db
      .select()
      .from(auditEntries)
      .where(eq(auditEntries.requestId, 'req-ratings-list'));
    const [y4] = await gw.services.db
      .select({ subjectId: cases.subjectId })
      .from(cases)
      .where(eq(cases.id, seeded['Y4']!.id));
    expect(audits).toEqual([
      expect.objectContaining({
        action: 'rating.read',
        subjectRef: y4!.subjectId,
        caseRef: seeded['Y4']!.caseNumber,
        operatorId: 'director-y',
        outcome: 'allowed',
      }),
    ]);

    // All ratings of the centre without a status; the city supervisor reads them too.
    const all = await ok<{ ratings: unknown[] }>(await ratingsAt(windows.yanta, 'director-y'));
    expect(all.ratings).toHaveLength(5);
    const city = await ok<{ ratings: { id: string }[] }>(
      await ratingsAt(windows.city, 'supervisor-c', `?centre=${YANTA}&status=open`),
    );
    expect(city.ratings.map((rating) => rating.id)).toEqual([ratingId]);
  });

  it("refuses a clerk, and answers another centre's users as if the rating did not exist", async () => {
    await refused(await ratingsAt(windows.yanta, 'clerk-1'), 403, 'operator_unknown');
    await refused(await answerAt(windows.yanta, 'clerk-1', ratingId, '已处理'), 403, 'operator_unknown');
    await refused(await ratingsAt(windows.weiyang, 'director-w', `?centre=${YANTA}`), 404, 'not_found');
    const other = await refused(await answerAt(windows.weiyang, 'director-w', ratingId, '已处理'), 404, 'not_found');
    const missing = await refused(
      await answerAt(windows.weiyang, 'director-w', 'rat_AAAAAAAAAAAAAAAA', '已处理'),
      404,
      'not_found',
    );
    expect(other.detail).toBe(missing.detail);
    // The centre above reads it but does not answer for the centre.
    await refused(
      await answerAt(windows.city, 'supervisor-c', ratingId, '已处理'),
      403,
      'rating_answered_at_its_centre',
    );
    const [row] = await gw.services.db.select().from(caseRatings).where(eq(caseRatings.id, ratingId));
    expect(row).toMatchObject({ followUpStatus: 'open', followUpAnswer: null });
    // Each refusal is on the record.
    const refusals = await gw.services.db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.action, 'rating.follow_up'), eq(auditEntries.outcome, 'not_found')));
    // The other centre's try at an existing rating is on the applicant's access log.
    const [y4Subject] = await gw.services.db
      .select({ subjectId: cases.subjectId })
      .from(cases)
      .where(eq(cases.id, seeded['Y4']!.id));
    expect(refusals.filter((entry) => entry.subjectRef === y4Subject!.subjectId)).toHaveLength(1);
    expect(refusals.length).toBeGreaterThanOrEqual(2);
  });

  it('is not a warning on its due day, and is an overdue supervision warning with its centre the working day after', async () => {
    setDay('2026-12-23');
    const onDueDay = await ok<SupervisionWarnings>(await call(auditor, `/v1/supervision/warnings?centre=${CITY}`));
    expect(onDueDay.ratingFollowUps).toEqual([]);
    setDay('2026-12-24');
    const overdue = await ok<SupervisionWarnings>(await call(auditor, `/v1/supervision/warnings?centre=${CITY}`));
    expect(overdue.counts.ratingFollowUpsOverdue).toBe(1);
    expect(overdue.ratingFollowUps).toEqual([
      {
        kind: 'rating_follow_up',
        level: 'overdue',
        ratingId,
        caseNumber: seeded['Y4']!.caseNumber,
        itemCode: 'real_estate_transfer',
        itemName: expect.any(String),
        score: 1,
        centreCode: YANTA,
        centreName: '雁塔区政务服务中心',
        ratedOn: '2026-12-18',
        dueOn: '2026-12-23',
        workingDaysOver: 1,
        provisional: false,
      },
    ]);
    // Not in another centre's warnings.
    expect(
      (await ok<SupervisionWarnings>(await call(auditor, `/v1/supervision/warnings?centre=${WEIYANG}`)))
        .ratingFollowUps,
    ).toEqual([]);
    const listed = await ok<{ ratings: { id: string }[] }>(
      await ratingsAt(windows.yanta, 'director-y', '?status=overdue'),
    );
    expect(listed.ratings.map((rating) => rating.id)).toEqual([ratingId]);
    const page = await (await call(auditor, `/supervision?from=2026-12-01&to=2026-12-24&centre=${CITY}`)).text();
    expect(page).toContain(`data-rating="${ratingId}"`);
  });

  it("is answered by the centre's director once; the applicant reads the answer in the look-up", async () => {
    const answered = await ok<{ followUp: Record<string, unknown> }>(
      await answerAt(
        windows.yanta,
        'director-y',
        ratingId,
        '已电话联系申请人（13812345678）致歉，窗口已增设材料预审。',
      ),
    );
    // The centre's words may quote the applicant's number: shown masked, as the comment is.
    expect(answered.followUp).toEqual({
      state: 'answered',
      dueOn: '2026-12-23',
      answer: '已电话联系申请人（138****5678）致歉，窗口已增设材料预审。',
      contacted: true,
      answeredAt: '2026-12-24T02:00:00.000Z',
      answeredBy: 'director-y',
    });
    await refused(await answerAt(windows.yanta, 'director-y', ratingId, '再次答复'), 409, 'rating_follow_up_not_open');
    const [good] = await gw.services.db
      .select({ id: caseRatings.id })
      .from(caseRatings)
      .where(eq(caseRatings.caseId, seeded['Y1']!.id));
    await refused(
      await answerAt(windows.yanta, 'director-y', good!.id, '无需回访', false),
      409,
      'rating_follow_up_not_open',
    );
    const progress = await ok<{ rating: { followUp: { state: string; answer: string } } }>(
      await lookUp(seeded['Y4']!.caseNumber, seeded['Y4']!.check),
    );
    expect(progress.rating.followUp).toMatchObject({
      state: 'answered',
      answer: '已电话联系申请人（138****5678）致歉，窗口已增设材料预审。',
    });
    expect(
      (await ok<SupervisionWarnings>(await call(auditor, `/v1/supervision/warnings?centre=${CITY}`))).ratingFollowUps,
    ).toEqual([]);
  });
});

describe('figures and rankings', () => {
  const period = 'from=2026-12-01&to=2026-12-31';

  it('counts per centre, operator, department and item, with the share of 差评 and the follow-ups on time', async () => {
    setDay('2026-12-28');
    const byCentre = await ok<{ totals: unknown; rows: unknown[] }>(
      await call(auditor, `/v1/supervision/ratings?centre=${CITY}&${period}&by=centre`),
    );
    // 8 ratings: 5+4+5+1+5 at Yanta (20), 5+5+4 at Weiyang (14); one 差评, answered a day late.
    const lateFollowUp = { total: 1, answeredOnTime: 0, answeredLate: 1, open: 0, overdue: 0, onTimeRate: 0 };
    const noFollowUp = { total: 0, answeredOnTime: 0, answeredLate: 0, open: 0, overdue: 0, onTimeRate: null };
    expect(byCentre.totals).toEqual({
      ratings: 8,
      averageScore: 4.25,
      badRatings: 1,
      badShare: 0.125,
      followUps: lateFollowUp,
    });
    expect(byCentre.rows).toEqual([
      {
        key: YANTA,
        name: '雁塔区政务服务中心',
        centreCode: null,
        ratings: 5,
        averageScore: 4,
        badRatings: 1,
        badShare: 0.2,
        followUps: lateFollowUp,
      },
      {
        key: WEIYANG,
        name: '未央区政务服务中心',
        centreCode: null,
        ratings: 3,
        averageScore: 4.67,
        badRatings: 0,
        badShare: 0,
        followUps: noFollowUp,
      },
    ]);
    const byOperator = await ok<{
      rows: { key: string; centreCode: string; name: string; ratings: number; averageScore: number }[];
    }>(await call(auditor, `/v1/supervision/ratings?centre=${CITY}&${period}&by=operator`));
    expect(
      byOperator.rows.map(({ key, centreCode, name, ratings, averageScore }) => ({
        key,
        centreCode,
        name,
        ratings,
        averageScore,
      })),
    ).toEqual([
      // Most ratings first; equal counts by centre and id.
      { key: 'clerk-w', centreCode: WEIYANG, name: 'clerk-w 姓名', ratings: 3, averageScore: 4.67 },
      { key: 'clerk-1', centreCode: YANTA, name: 'clerk-1 姓名', ratings: 3, averageScore: 4.67 },
      { key: 'clerk-2', centreCode: YANTA, name: 'clerk-2 姓名', ratings: 2, averageScore: 3 },
    ]);
    const byDepartment = await ok<{ rows: { key: string; ratings: number; badRatings: number }[] }>(
      await call(auditor, `/v1/supervision/ratings?centre=${CITY}&${period}&by=department`),
    );
    expect(byDepartment.rows.map(({ key, ratings, badRatings }) => ({ key, ratings, badRatings }))).toEqual([
      { key: 'NRB', ratings: 5, badRatings: 1 },
      { key: 'AMR', ratings: 3, badRatings: 0 },
    ]);
    const byItem = await ok<{ rows: { key: string; ratings: number }[] }>(
      await call(auditor, `/v1/supervision/ratings?centre=${YANTA}&${period}&by=item`),
    );
    expect(byItem.rows.map(({ key, ratings }) => ({ key, ratings }))).toEqual([
      { key: 'real_estate_transfer', ratings: 5 },
    ]);
    const byWindow = await ok<{ rows: { key: string; ratings: number }[] }>(
      await call(auditor, `/v1/supervision/ratings?centre=${WEIYANG}&${period}&by=window`),
    );
    expect(byWindow.rows.map(({ key, ratings }) => ({ key, ratings }))).toEqual([
      { key: windows.weiyang.id, ratings: 3 },
    ]);
    // Another month has none.
    const november = await ok<{ totals: { ratings: number } }>(
      await call(auditor, `/v1/supervision/ratings?centre=${CITY}&from=2026-11-01&to=2026-11-30`),
    );
    expect(november.totals.ratings).toBe(0);
  });

  it("ranks the month's windows and operators by the documented formula (docs/ratings.md)", async () => {
    const rankings = await ok<{
      minimumRatings: number;
      satisfiedWindows: { ranked: Record<string, unknown>[]; unranked: number };
      serviceStars: { ranked: Record<string, unknown>[]; unranked: number };
    }>(await call(auditor, `/v1/supervision/rankings?centre=${CITY}&month=2026-12`));
    expect(rankings.minimumRatings).toBe(3);
    // Weiyang: average 14/3, 3 of 3 on time, volume 3 of the highest 5 → 55 + 30 + 6 = 91.
    // Yanta: average 4, 4 of 5 on time (Y3 was late), volume 5 → 45 + 24 + 10 = 79.
    expect(rankings.satisfiedWindows).toEqual({
      ranked: [
        {
          rank: 1,
          id: windows.weiyang.id,
          name: expect.any(String),
          centreCode: null,
          ratings: 3,
          averageScore: 4.67,
          volume: 3,
          onTime: 3,
          onTimeRate: 1,
          points: 91,
        },
        {
          rank: 2,
          id: windows.yanta.id,
          name: expect.any(String),
          centreCode: null,
          ratings: 5,
          averageScore: 4,
          volume: 5,
          onTime: 4,
          onTimeRate: 0.8,
          points: 79,
        },
      ],
      unranked: 0,
    });
    // clerk-w: 55 + 30 + 10 = 95; clerk-1: 55 + 30·2/3 + 10 = 85; clerk-2 has 2 ratings, below the minimum of 3.
    expect(rankings.serviceStars).toEqual({
      ranked: [
        {
          rank: 1,
          id: 'clerk-w',
          name: 'clerk-w 姓名',
          centreCode: WEIYANG,
          ratings: 3,
          averageScore: 4.67,
          volume: 3,
          onTime: 3,
          onTimeRate: 1,
          points: 95,
        },
        {
          rank: 2,
          id: 'clerk-1',
          name: 'clerk-1 姓名',
          centreCode: YANTA,
          ratings: 3,
          averageScore: 4.67,
          volume: 3,
          onTime: 2,
          onTimeRate: 0.6667,
          points: 85,
        },
      ],
      unranked: 1,
    });
    // Scoped: Yanta's own rankings hold its window alone (volume 5 is now the highest: still 79).
    const yanta = await ok<{ satisfiedWindows: { ranked: { id: string; points: number }[] } }>(
      await call(auditor, `/v1/supervision/rankings?centre=${YANTA}&month=2026-12`),
    );
    expect(yanta.satisfiedWindows.ranked.map(({ id, points }) => ({ id, points }))).toEqual([
      { id: windows.yanta.id, points: 79 },
    ]);
    await refused(
      await call(auditor, `/v1/supervision/rankings?centre=${CITY}&month=2026-13`),
      400,
      'validation_failed',
    );
  });

  it('breaks ties by the average, then the number of ratings, then the volume, then the id', () => {
    const candidate = (id: string, ratings: number, scoreSum: number, volume: number, onTime: number) => ({
      centre_code: null,
      id,
      name: null,
      ratings,
      score_sum: scoreSum,
      volume,
      on_time: onTime,
    });
    const ranked = rank(
      [
        candidate('win-d', 4, 16, 4, 4),
        candidate('win-c', 3, 12, 4, 4),
        candidate('win-b', 4, 16, 4, 4),
        candidate('win-a', 4, 16, 3, 3),
        candidate('win-e', 2, 10, 9, 9),
      ],
      3,
    );
    // Every ranked one averages 4 with all cases on time; a, with less volume, has fewer points.
    expect(ranked.ranked.map((entry) => [entry.id, entry.points])).toEqual([
      ['win-b', 85],
      ['win-d', 85],
      ['win-c', 85],
      ['win-a', 82.5],
    ]);
    expect(ranked.unranked).toBe(1);
  });

  it('shows the figures and the rankings on the supervision page in Chinese and English', async () => {
    const response = await call(auditor, `/supervision?${period}&centre=${CITY}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<h2 id="ratings-heading">满意度评价（好差评）</h2>');
    expect(html).toContain('群众满意窗口');
    expect(html).toContain('为民服务标兵');
    const english = await (await call(auditor, `/supervision?${period}&centre=${CITY}&lang=en`)).text();
    expect(english).toContain('<h2 id="ratings-heading">Satisfaction ratings</h2>');
    expect(english).toContain('Most satisfying windows');
    expect(english).toContain('Service stars');
    expect(html).toMatch(new RegExp(`<tr data-rank="1" data-id="${windows.weiyang.id}">`));
    expect(html).toContain('data-id="clerk-w"');
    expect(html).not.toContain('13912345678');
    expect(html).not.toContain('排队两个小时');
  });
});
