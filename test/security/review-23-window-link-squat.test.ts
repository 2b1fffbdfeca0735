/**
 * Review 23 (attacker's eye): a window system may link any department's identifier to any subject
 * (POST /v1/subjects/{id}/links with `departmentCode`, gateway/identity/subjects.ts `linkDepartment`),
 * and a link is first-come: the same (department, type, value) linked to another subject is a
 * `409 conflict`. So a window links PSB's household number HH-… to the wrong person (李梅); PSB,
 * whose number it is, can then no longer link it to its real holder (张三): refused 409. And PSB's
 * own look-up by its own number (POST /v1/subjects/lookup) answers 李梅 — PSB reads, and is
 * recorded as reading, the wrong person's file. A department's identifiers are its own (the
 * department-links suite): nobody else should fix what they point at (compare review 20, a
 * resource code squatted by another department).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residentId } from '../fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const LI_MEI = { identifierType: 'resident_id', identifier: residentId(7, '19900307'), name: '李梅' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const HOUSEHOLD = 'HH-44010200023';

let gw: TestGateway;
let windowToken = '';
let psb = '';
let liMei = '';
let zhang = '';

async function resolve(person: typeof LI_MEI): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...json, ...purpose }),
    body: JSON.stringify(person),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

beforeAll(async () => {
  gw = await createTestGateway();
  windowToken = await gw.tokenFor('window', ['subjects:read', 'subjects:write']);
  psb = await gw.tokenFor('department', ['subjects:read', 'subjects:write'], { departmentCode: 'PSB' });
  liMei = await resolve(LI_MEI);
  zhang = await resolve(ZHANG_SAN);
}, 60_000);

afterAll(async () => gw?.close());

describe("review 23: a window squats a department's identifier", () => {
  it('PSB can still link its own household number to its real holder after a window linked it to someone else', async () => {
    const squat = await gw.request(`/v1/subjects/${liMei}/links`, {
      method: 'POST',
      headers: bearer(windowToken, { ...json, ...purpose }),
      body: JSON.stringify({
        departmentCode: 'PSB',
        identifierType: 'household_no',
        value: HOUSEHOLD,
        source: 'window',
      }),
    });
    // The window's link of PSB's number is accepted today (201).
    expect([201, 403]).toContain(squat.status);

    const own = await gw.request(`/v1/subjects/${zhang}/links`, {
      method: 'POST',
      headers: bearer(psb, { ...json, ...purpose }),
      body: JSON.stringify({ identifierType: 'household_no', value: HOUSEHOLD, source: 'department-system' }),
    });
    // Before a fix: 409 conflict — PSB's own number is held by the window's link to 李梅.
    expect(own.status).toBe(201);

    const found = await gw.request('/v1/subjects/lookup', {
      method: 'POST',
      headers: bearer(psb, { ...json, ...purpose }),
      body: JSON.stringify({ departmentCode: 'PSB', identifierType: 'household_no', value: HOUSEHOLD }),
    });
    expect(found.status).toBe(200);
    expect(((await found.json()) as { id: string }).id).toBe(zhang);
  });
});
