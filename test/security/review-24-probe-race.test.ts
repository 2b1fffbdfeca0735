/**
 * Review 24: the identifier-probes limit (review 18) is checked inside the resolve's transaction
 * (`identifierProbes.blocked`) but counted only after it (`identifierProbes.take`). A window that
 * sends its candidate numbers at once gets every answer before any of them is counted: the whole
 * year of birth dates is answered (404 misses, 422 for the right number), not five.
 *
 * Promise broken: docs/access-policy.md "Resolving a subject": five answers per day per masked shape,
 * then 429 for that shape, "the right number with the right name too, so a locked client learns nothing".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residentIdCheckCharacter } from '../../gateway/identity/identifiers.js';
import { type TestGateway, bearer, createTestGateway, ok, testPostgresUrl } from '../harness.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const purpose = { 'onewindow-purpose': 'case_acceptance', 'content-type': 'application/json' };

let gw: TestGateway;
let snoopToken = '';

beforeAll(async () => {
  gw = await createTestGateway();
  const creatorToken = await gw.tokenFor('window', ['subjects:read', 'subjects:write']);
  await ok(
    await gw.request('/v1/subjects/resolve', {
      method: 'POST',
      headers: bearer(creatorToken, purpose),
      body: JSON.stringify({ identifierType: 'resident_id', ...ZHANG_SAN }),
    }),
    201,
  );
  const { client } = await gw.createClient('window', { scopes: ['subjects:read'] });
  snoopToken = (await gw.services.tokens.issue(client, ['subjects:read'])).accessToken;
});

afterAll(async () => {
  await gw?.close();
});

function candidates(year: number): string[] {
  const found: string[] = [];
  for (let day = new Date(Date.UTC(year, 0, 1)); day.getUTCFullYear() === year; day.setUTCDate(day.getUTCDate() + 1)) {
    const body = `110105${day.toISOString().slice(0, 10).replaceAll('-', '')}002`;
    if (residentIdCheckCharacter(body) === 'X') found.push(`${body}X`);
  }
  return found;
}

// PostgreSQL only (DATABASE_URL): PGlite runs one statement at a time, so nothing overlaps there.
describe.skipIf(!testPostgresUrl)('review 24: identifier-probes limit raced', () => {
  it('answers at most five misses of one masked shape even when the candidates come at once', async () => {
    const tries = candidates(1949);
    expect(tries).toContain(ZHANG_SAN.identifier);
    const statuses = await Promise.all(
      tries.map(async (number) => {
        const response = await gw.request('/v1/subjects/resolve', {
          method: 'POST',
          headers: bearer(snoopToken, purpose),
          body: JSON.stringify({ identifierType: 'resident_id', identifier: number, name: '某某' }),
        });
        await response.text();
        return [number, response.status] as const;
      }),
    );
    const answered = statuses.filter(([, status]) => status !== 429);
    // Safe: five answers, the rest 429; the right number is not confirmed by a 422.
    expect(answered.length).toBeLessThanOrEqual(5);
    expect(new Map(statuses).get(ZHANG_SAN.identifier)).not.toBe(422);
  });
});
