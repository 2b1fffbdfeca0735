/**
 * Review 18 (attacker's eye): `POST /v1/subjects/resolve` is an oracle that unmasks an ID number.
 *
 * The door: `resolveSubject` (gateway/identity/subjects.ts) answers an unknown number `404
 * not_found`, a known number with another name `422 subject_name_mismatch`, and a known number with
 * the right name `200` with the subject's id. A window without `subjects:unmask` sees a person as
 * 「110105********002X」 (GET /v1/subjects/{id}); only the 8 digits of the birth date are hidden, and
 * the check character (X) leaves about one date in eleven. It sends those candidates to resolve,
 * with any name: the one answered `subject_name_mismatch` is the clear number. Nothing limits the
 * misses (only CLIENT_REQUESTS_PER_MINUTE, 6000), and the 404 misses are audited with no subject,
 * so the person's access log shows nothing of the search.
 *
 * Promises broken:
 * - docs/access-policy.md, `subject.unmask`: only "with the `subjects:unmask` scope in the token";
 *   otherwise masked.
 * - docs/access-policy.md, "Tracker tokens": "The comparison tells a right guess from a wrong one,
 *   so a client that presented five documents that did not match a subject is refused … a window that
 *   sees 「110105********002X」 cannot try birth dates until one matches." The same comparison is
 *   open, with no such count, one route away.
 *
 * Scenario: a window (subjects:read only, no unmask, no write: it creates nothing) reads 张三's
 * subject masked, then tries the valid birth dates of one year. Expected (safe): after five misses
 * on numbers of that masked shape, the search is refused (429) — the right number is not confirmed.
 * Today: every miss is 404 and the right number answers 422 subject_name_mismatch, i.e. "exists".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residentIdCheckCharacter } from '../../gateway/identity/identifiers.js';
import { subjects } from '../../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway, ok } from '../harness.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const purpose = { 'onewindow-purpose': 'case_acceptance', 'content-type': 'application/json' };

let gw: TestGateway;
let creatorToken = '';
let snoopToken = '';
let subjectId = '';

beforeAll(async () => {
  gw = await createTestGateway();
  creatorToken = await gw.tokenFor('window', ['subjects:read', 'subjects:write']);
  // Another window system: it may read subjects, masked; it may neither unmask nor create.
  const { client } = await gw.createClient('window', { scopes: ['subjects:read'] });
  snoopToken = (await gw.services.tokens.issue(client, ['subjects:read'])).accessToken;
  subjectId = (
    await ok<{ id: string }>(
      await gw.request('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearer(creatorToken, purpose),
        body: JSON.stringify({ identifierType: 'resident_id', ...ZHANG_SAN }),
      }),
      201,
    )
  ).id;
});

afterAll(async () => {
  await gw?.close();
});

/** The numbers of the masked shape 110105********002X whose birth date lies in `year`. */
function candidates(prefix: string, suffix: string, year: number): string[] {
  const found: string[] = [];
  for (let day = new Date(Date.UTC(year, 0, 1)); day.getUTCFullYear() === year; day.setUTCDate(day.getUTCDate() + 1)) {
    const date = day.toISOString().slice(0, 10).replaceAll('-', '');
    const body = `${prefix}${date}${suffix.slice(0, 3)}`;
    if (residentIdCheckCharacter(body) === suffix.slice(3)) found.push(`${body}${suffix.slice(3)}`);
  }
  return found;
}

describe('review 18: resolve confirms a masked ID number', () => {
  it('does not let a window without subjects:unmask search the hidden birth date', async () => {
    const read = await ok<{ identifier: { value: string } | string }>(
      await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(snoopToken, purpose) }),
    );
    const shown = JSON.stringify(read);
    // Control: the window sees the number masked.
    expect(shown).toContain('110105********002X');
    expect(shown).not.toContain(ZHANG_SAN.identifier);

    const tries = candidates('110105', '002X', 1949);
    expect(tries).toContain(ZHANG_SAN.identifier);
    const answers = new Map<string, number>();
    for (const number of tries) {
      const response = await gw.request('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearer(snoopToken, purpose),
        body: JSON.stringify({ identifierType: 'resident_id', identifier: number, name: '某某' }),
      });
      await response.text();
      answers.set(number, response.status);
    }
    // Before the fix: 32 misses answered 404, and the right number alone 422 (subject_name_mismatch).
    // Now five misses on this masked shape are answered; then the search is refused, the hit unconfirmed.
    const statuses = tries.map((number) => answers.get(number));
    expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    expect(answers.get(ZHANG_SAN.identifier)).toBe(429);
  });

  it('counts numbers created for the shape too, and leaves others and the right holder alone', async () => {
    // A window that may create: each unknown number would make a subject (201), the right one 422.
    const tries = candidates('110105', '002X', 1950);
    const statuses: number[] = [];
    for (const number of tries.slice(0, 7)) {
      const response = await gw.request('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearer(creatorToken, purpose),
        body: JSON.stringify({ identifierType: 'resident_id', identifier: number, name: '某某' }),
      });
      const body = (await response.json()) as { code?: string; message?: string };
      statuses.push(response.status);
      if (response.status === 429) {
        expect(body.code).toBe('rate_limited');
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    }
    // Creating 张三 (before all) was the first of the shape's five; four more are created, then refused.
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429, 429]);
    const made = await gw.services.db.select({ id: subjects.id }).from(subjects);
    expect(made).toHaveLength(1 + 4);
    // Locked for this shape, the window cannot confirm even with the right name (no oracle either way).
    const again = await gw.request('/v1/subjects/resolve', {
      method: 'POST',
      headers: bearer(creatorToken, purpose),
      body: JSON.stringify({ identifierType: 'resident_id', ...ZHANG_SAN }),
    });
    expect(again.status).toBe(429);
    // Another masked shape is not locked.
    const other = await gw.request('/v1/subjects/resolve', {
      method: 'POST',
      headers: bearer(creatorToken, purpose),
      body: JSON.stringify({ identifierType: 'resident_id', identifier: '330106198503150120', name: '李梅' }),
    });
    expect(other.status).toBe(201);
  });
});
