/**
 * Review 7 (attacker's eye): a department identifier link (POST /v1/subjects/{id}/links) kept the
 * caller's free-text `source` ("where the link comes from") as sent, and every subject view — read,
 * resolve, lookup, link — handed it out again, to every window and department that reads the
 * subject, masked view or not. The link's `value` is masked (two characters each end), the subject's
 * identifier and name are masked, but a `source` such as 「窗口核验 身份证110105…002X 手机138…」
 * gave the ID number and mobile in clear to a caller without `subjects:unmask`
 * ("free text that may quote an ID number is masked wherever it is shown, whatever the caller's
 * scopes", docs/security.md). Now the source is stored with identifiers and mobiles masked, and
 * shown masked again (with the subject's name too, for a masked view).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../gateway/auth/scopes.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';
import { findResidentIdNumbers } from './support.js';

const json = { 'content-type': 'application/json' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const MOBILE = '13812345678';
const MASKED_WINDOW: Scope[] = ['subjects:read', 'subjects:write', 'materials:read', 'cases:read'];

let gw: TestGateway;
let subjectId = '';
let windowB = '';
let department = '';

beforeAll(async () => {
  gw = await createTestGateway();
  const { client: a } = await gw.createClient('window', { scopes: MASKED_WINDOW });
  const windowA = (await gw.services.tokens.issue(a, MASKED_WINDOW)).accessToken;
  const { client: b } = await gw.createClient('window', { scopes: MASKED_WINDOW });
  windowB = (await gw.services.tokens.issue(b, MASKED_WINDOW)).accessToken;
  department = await gw.tokenFor('department', ['subjects:read'], { departmentCode: 'PSB' });
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowA, { ...json, 'onewindow-purpose': 'case_acceptance' }),
    body: JSON.stringify(ZHANG_SAN),
  });
  expect(resolved.status).toBe(201);
  subjectId = ((await resolved.json()) as { id: string }).id;
  // Window A's system records where the household number came from, as clerks write it.
  const linked = await gw.request(`/v1/subjects/${subjectId}/links`, {
    method: 'POST',
    headers: bearer(windowA, { ...json, 'onewindow-purpose': 'case_acceptance' }),
    body: JSON.stringify({
      departmentCode: 'PSB',
      identifierType: 'household_no',
      value: 'HH-33010200001',
      source: `窗口核验 ${ZHANG_SAN.name} 身份证${ZHANG_SAN.identifier} 手机${MOBILE}`,
    }),
  });
  if (linked.status !== 201) throw new Error(`link: ${linked.status} ${await linked.text()}`);
}, 60_000);

afterAll(async () => gw?.close());

describe('review 7: a link source quoting the ID number and mobile', () => {
  it('another window without subjects:unmask reads the link source masked, as the subject', async () => {
    const response = await gw.request(`/v1/subjects/${subjectId}`, {
      headers: bearer(windowB, { 'onewindow-purpose': 'case_acceptance' }),
    });
    expect(response.status).toBe(200);
    const view = (await response.json()) as { masked: boolean; identifier: string; links: { source: string }[] };
    expect(view.masked).toBe(true);
    expect(view.identifier).toBe('110105********002X');
    const body = JSON.stringify(view);
    // Before the fix: "source":"窗口核验 张三 身份证11010519491231002X 手机13812345678".
    expect(findResidentIdNumbers(body)).toEqual([]);
    expect(body).not.toContain(MOBILE);
    expect(view.links[0]?.source).toBe('窗口核验 张* 身份证110105********002X 手机138****5678');
  });

  it('a department looking the subject up by the link reads the source masked too', async () => {
    const response = await gw.request('/v1/subjects/lookup', {
      method: 'POST',
      headers: bearer(department, { ...json, 'onewindow-purpose': 'case_acceptance' }),
      body: JSON.stringify({ departmentCode: 'PSB', identifierType: 'household_no', value: 'HH-33010200001' }),
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(findResidentIdNumbers(body)).toEqual([]);
    expect(body).not.toContain(MOBILE);
  });
});
