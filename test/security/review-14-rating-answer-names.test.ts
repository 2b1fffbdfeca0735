/**
 * Review 14 (attacker's eye): `GET /v1/ratings` (gateway/ratings/ratings.ts, `listRatings` /
 * `centreRatingView`) shows each 差评's follow-up with the centre's answer to the applicant
 * (`followUp.answer`) to the centre's director AND to every centre above (a city supervisor). The
 * answer is written to the applicant about them (「已电话联系张三丰本人，…」) but is passed through
 * `maskPersonalText` WITHOUT the case's names (only the comment gets them), and when the rating has
 * no comment the listing writes nothing on the applicant's access log ("Nothing personal
 * disclosed"), although the answer about them is shown.
 *
 * Promises broken:
 * - docs/security.md: "Rating comments, read by the centre and the centres above, keep their words
 *   but not the case's names (「我是张**，…」)" — the same readers get the applicant's name whole in
 *   the centre's answer one member further on; a supervisor above reads "the names the case holds
 *   … masked first wherever the form or that text repeats them".
 * - "every read of personal data audited on the person's record; citizens can see who used their
 *   data" (docs/security.md "The audit log"; ratings.md: "every comment listed writes an entry on
 *   its applicant's access log") — the answer about a comment-less 差评 is read with no entry.
 *
 * Scenario: 雁塔's director answers a comment-less score-1 rating naming the applicant; the city's
 * supervisor lists 雁塔's ratings for supervision and reads the name whole; the applicant's record
 * shows no `rating.read`. Control: the answer's words are still shown (the supervisor needs them).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries, caseRatings, cases, subjects } from '../../gateway/db/schema.js';
import type { Clock } from '../../gateway/platform/clock.js';
import {
  SEEDED_APPLICANT,
  ensureCalendarYears,
  seedCase,
  seedDelivery,
  seedSubject,
} from '../../gateway/supervision/test-fixtures.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const PROVINCE = '610000000';
const CITY = '610100000';
const YANTA = '610113000';
const json = { 'content-type': 'application/json' };
const clock: Clock = { now: () => new Date('2026-12-18T02:00:00.000Z') };
const ANSWER = `已电话联系${SEEDED_APPLICANT.name}本人，说明了补正原因并致歉。`;

type ClientRecord = Awaited<ReturnType<TestGateway['createClient']>>['client'];
interface Caller {
  id: string;
  token: () => Promise<string>;
}
let gw: TestGateway;
let admin: Caller;
let yanta: Caller;
let city: Caller;
let subjectId = '';

function callerOf(client: ClientRecord, scopes: Parameters<TestGateway['services']['tokens']['issue']>[1]): Caller {
  return { id: client.id, token: async () => (await gw.services.tokens.issue(client, scopes)).accessToken };
}
async function call(
  caller: Caller,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(await caller.token(), { ...(init.body === undefined ? {} : json), ...(init.headers ?? {}) }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}
async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}
const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
const supervising = (operatorId: string) => ({ 'onewindow-operator': operatorId, 'onewindow-purpose': 'supervision' });

beforeAll(async () => {
  gw = await createTestGateway(
    { DELIVERY_WORKER: 'false', NOTIFICATION_WORKER: 'false', PROGRESS_LOOKUPS_PER_MINUTE: '1000' },
    { clock },
  );
  await ensureCalendarYears(gw.services.db, gw.services.calendar, [2026]);
  admin = callerOf((await gw.createClient('admin')).client, ['centres:admin', 'clients:admin']);
  await ok(
    await put(`/v1/centres/${PROVINCE}`, { name: '陕西省政务服务中心', level: 'province', parentCode: null }),
    201,
  );
  await ok(await put(`/v1/centres/${CITY}`, { name: '西安市政务服务中心', level: 'city', parentCode: PROVINCE }), 201);
  await ok(await put(`/v1/centres/${YANTA}`, { name: '雁塔区政务服务中心', level: 'county', parentCode: CITY }), 201);
  for (const [centre, operatorId, role] of [
    [YANTA, 'director-y', 'centre_director'],
    [CITY, 'supervisor-c', 'supervisor'],
  ] as const)
    await ok(await put(`/v1/centres/${centre}/operators/${operatorId}`, { name: `${operatorId} 姓名`, role }), 201);
  const windowAt = async (code: string) => {
    const { client } = await gw.createClient('window');
    await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
    return callerOf(client, ['cases:read', 'cases:write', 'centres:read']);
  };
  yanta = await windowAt(YANTA);
  city = await windowAt(CITY);

  const db = gw.services.db;
  subjectId = await seedSubject(db);
  const created = await seedCase(db, {
    subjectId,
    status: 'completed',
    acceptedOn: '2026-12-01',
    promisedDays: 5,
    dueOn: '2026-12-15',
    completedOn: '2026-12-10',
  });
  await db
    .update(cases)
    .set({ clientId: yanta.id, centreCode: YANTA, acceptingCentreCode: YANTA, operatorId: 'clerk-1' })
    .where(eq(cases.id, created.id));
  await seedDelivery(db, created.id, { department: 'NRB', status: 'delivered', departmentStatus: 'completed' });
  const [subject] = await db
    .select({ identifier: subjects.identifier })
    .from(subjects)
    .where(eq(subjects.id, subjectId));
  // A 差评 without a comment.
  await ok(
    await gw.request('/v1/progress/rating', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ caseNumber: created.caseNumber, check: subject!.identifier.slice(-4), score: 1 }),
    }),
    201,
  );
  const [rating] = await db.select().from(caseRatings).where(eq(caseRatings.caseId, created.id));
  await ok(
    await call(yanta, `/v1/ratings/${rating!.id}/follow-up`, {
      body: { answer: ANSWER, contacted: true },
      headers: supervising('director-y'),
    }),
  );
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

describe("review 14: a 差评's follow-up answer read by the centres above", () => {
  it("the city supervisor reads the answer without the applicant's name, and the read is on the applicant's record", async () => {
    const listed = await ok<{ ratings: { followUp: { answer: string | null } | null }[] }>(
      await call(city, `/v1/ratings?centre=${YANTA}&status=answered`, {
        headers: { ...supervising('supervisor-c'), 'x-request-id': 'req-review14-ratings' },
      }),
    );
    const answer = listed.ratings[0]?.followUp?.answer ?? '';
    // Control: the supervisor reads what the centre did.
    expect(answer).toContain('说明了补正原因并致歉');
    const audits = await gw.services.db
      .select()
      .from(auditEntries)
      .where(eq(auditEntries.requestId, 'req-review14-ratings'));
    const onApplicant = audits.filter((entry) => entry.subjectRef === subjectId).map((entry) => entry.action);
    expect({ answer, onApplicant }).toEqual({
      answer: expect.not.stringContaining(SEEDED_APPLICANT.name),
      onApplicant: ['rating.read'],
    });
  });
});
