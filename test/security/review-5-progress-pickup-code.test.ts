/**
 * Review 5 (attacker's eye), results: "The window never sees the code ... Only the applicant has it,
 * so the result is handed over only to someone the applicant gave it to" (docs/results.md). The
 * public progress look-up hands the code to whoever presents the case number and the last four
 * characters of the applicant's identifier — both of which every window system that opened the
 * case holds (it sent the full ID number to /v1/subjects/resolve and got the case number back),
 * and which, for an organisation, are public (the credit code is printed on its licence).
 *
 * And the look-up's guard against guessing that second factor does not grow: a case number is
 * locked for 15 minutes after 5 wrong checks, then 5 more are compared, forever — 480 guesses a day
 * per case number against at most 11,000 values (1,000 when the applicant's region and birth date
 * are known, since the last character is a check digit).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseResults, cases } from '../../gateway/db/schema.js';
import type { Clock } from '../../gateway/platform/clock.js';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const json = { 'content-type': 'application/json' };

let instant = new Date('2026-12-18T02:00:00.000Z').getTime();
const clock: Clock = { now: () => new Date(instant) };

let gw: TestGateway;
let windowToken = '';
let subjectId = '';

async function call(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return gw.request(path, {
    method: 'POST',
    headers: bearer(windowToken, { ...json, ...headers }),
    body: JSON.stringify(body),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function lookUp(caseNumber: string, check: string): Promise<Response> {
  return gw.request('/v1/progress', { method: 'POST', headers: json, body: JSON.stringify({ caseNumber, check }) });
}

/** A move-in case opened by the window, then completed with its result waiting under `code`. */
async function caseReadyForPickup(code: string, mobile?: string): Promise<{ id: string; caseNumber: string }> {
  const opened = await ok<{ id: string; caseNumber: string }>(
    await call('/v1/cases', {
      itemCode: 'household_move_in',
      subjectId,
      form: { moveToAddress: '北京市朝阳区建国路1号' },
      ...(mobile ? { contact: { mobile } } : {}),
    }),
    201,
  );
  // What moveCase does at completion (status.ts → results.ts prepareResult), written directly.
  await gw.services.db
    .update(cases)
    .set({ status: 'completed', acceptedOn: '2026-12-16', dueOn: '2026-12-23', completedOn: '2026-12-18' })
    .where(eq(cases.id, opened.id));
  await gw.services.db
    .update(caseResults)
    .set({ status: 'ready_for_pickup', pickupCode: code, readyAt: new Date(instant) })
    .where(eq(caseResults.caseId, opened.id));
  return opened;
}

beforeAll(async () => {
  // The per-address allowance is not what is tested here (an attacker has many addresses).
  gw = await createTestGateway({ DELIVERY_WORKER: 'false', PROGRESS_LOOKUPS_PER_MINUTE: '10000' }, { clock });
  windowToken = (await caseWindow(gw, [])).token;
  subjectId = (
    await ok<{ id: string }>(
      await call('/v1/subjects/resolve', ZHANG_SAN, { 'onewindow-purpose': 'case_acceptance' }),
      201,
    )
  ).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

describe('review 5: the pick-up code and the look-up’s second factor', () => {
  it('does not give the pick-up code to a window that knows the case number and the ID’s last four', async () => {
    // The applicant gave a mobile number: the code went to them by SMS.
    const opened = await caseReadyForPickup('048213', '13812345678');
    // Everything here is what the window system itself holds: the case number and the ID number.
    const progress = await ok<{ result: { pickupCode: string | null } }>(
      await lookUp(opened.caseNumber, ZHANG_SAN.identifier.slice(-4)),
    );
    const learned = progress.result.pickupCode;
    // Before the fix: the look-up answered the code to anyone with the case number and the ID's
    // last four, and the window collected without the applicant ever having given anyone the code.
    expect(learned).toBeNull();
    const collected = await call(`/v1/cases/${opened.id}/result/collection`, { pickupCode: '000000' });
    expect(collected.status).toBe(422);
  });

  it('shows the code in the look-up only when no SMS could carry it (no mobile given)', async () => {
    const opened = await caseReadyForPickup('552017');
    const progress = await ok<{ result: { pickupCode: string | null; howToCollect: { zh: string } } }>(
      await lookUp(opened.caseNumber, ZHANG_SAN.identifier.slice(-4)),
    );
    expect(progress.result.pickupCode).toBe('552017');
    expect(progress.result.howToCollect.zh).toContain('取件码552017');
  });

  it('compares at most 20 wrong checks of a case number a day, however the locks run out', async () => {
    const opened = await caseReadyForPickup('731904');
    let compared = 0;
    let guess = 0;
    // 20 lock periods = 5 hours, 100 wrong checks, all compared with the identifier.
    for (let period = 0; period < 20; period += 1) {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        guess += 1;
        const check = `${String(guess).padStart(3, '0')}9`;
        const answer = await lookUp(opened.caseNumber, check);
        if (answer.status === 404) compared += 1;
        await answer.body?.cancel();
      }
      instant += 15 * 60_000 + 1_000;
    }
    // Before the fix: 100 (5 every 15 minutes without end, 480 a day: the 1,000 checks left once
    // region and birth date are known fell within about two days).
    expect(compared).toBe(20);
    const next = await lookUp(opened.caseNumber, '0019');
    expect(next.status).toBe(429);
    await next.body?.cancel();
    // A day after the first wrong check, the applicant (or a guesser) may try again.
    instant += 24 * 60 * 60_000 - 20 * (15 * 60_000 + 1_000) + 1_000;
    const dayLater = await lookUp(opened.caseNumber, ZHANG_SAN.identifier.slice(-4));
    expect(dayLater.status).toBe(200);
  });
});
