/**
 * A department's identifiers are its own: it links only its own (POST /v1/subjects/{id}/links),
 * and since this test it also looks subjects up only by its own (POST /v1/subjects/lookup) and sees
 * only its own links in a subject view. Before, the NRB holding a PSB household number found the
 * person by it, and every subject view listed every department's internal numbers, which let one
 * department's file be matched with another's. A window sees all links, as it did.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../gateway/db/client.js';
import { residentId } from '../fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const LI_MEI = { identifierType: 'resident_id', identifier: residentId(7, '19900307'), name: '李梅' };
const PSB_LINK = { departmentCode: 'PSB', identifierType: 'household_no', value: 'HH-44010200007' };

let gw: TestGateway;
let subjectId = '';
let windowToken = '';
let psb = '';
let nrb = '';

interface LinkedView {
  id: string;
  links: { departmentCode: string }[];
}

beforeAll(async () => {
  gw = await createTestGateway();
  windowToken = await gw.tokenFor('window', ['subjects:read', 'subjects:write']);
  psb = await gw.tokenFor('department', ['subjects:read', 'subjects:write'], { departmentCode: 'PSB' });
  nrb = await gw.tokenFor('department', ['subjects:read', 'subjects:write'], { departmentCode: 'NRB' });
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...json, ...purpose }),
    body: JSON.stringify(LI_MEI),
  });
  expect(resolved.status).toBe(201);
  subjectId = ((await resolved.json()) as { id: string }).id;
  for (const [token, link] of [
    [psb, { identifierType: 'household_no', value: PSB_LINK.value, source: 'department-system' }],
    [nrb, { identifierType: 'owner_no', value: 'NRB-OWNER-31', source: 'department-system' }],
  ] as const) {
    const linked = await gw.request(`/v1/subjects/${subjectId}/links`, {
      method: 'POST',
      headers: bearer(token, { ...json, ...purpose }),
      body: JSON.stringify(link),
    });
    if (linked.status !== 201) throw new Error(`link: ${linked.status} ${await linked.text()}`);
  }
}, 60_000);

afterAll(async () => gw?.close());

const lookUp = (token: string, link: typeof PSB_LINK, language?: string) =>
  gw.request('/v1/subjects/lookup', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose, ...(language ? { 'accept-language': language } : {}) }),
    body: JSON.stringify(link),
  });

describe("a department and other departments' identifiers", () => {
  it("refuses a department's look-up by another department's identifier, in Chinese by default", async () => {
    const response = await lookUp(nrb, PSB_LINK);
    expect(response.status).toBe(403);
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem.code).toBe('forbidden');
    expect(problem.detail).toBe('部门只能按本部门的标识查找。');
    const english = (await (await lookUp(nrb, PSB_LINK, 'en')).json()) as { detail: string };
    expect(english.detail).toBe('A department looks up identifiers of its own department only.');
  });

  it('audits the refused look-up', async () => {
    await lookUp(nrb, PSB_LINK);
    // The newest look-up entry: a refusal naming no subject, so nothing about the person is recorded as disclosed.
    const [entry] = rowsOf<{ outcome: string; subject_ref: string | null }>(
      await gw.database.db.execute(
        sql`select outcome, subject_ref from audit_entries where action = 'subject.lookup' order by id desc limit 1`,
      ),
    );
    expect(entry?.subject_ref).toBeNull();
    expect(entry?.outcome).not.toBe('allowed');
  });

  it('lets a department look up by its own identifier, and shows it its own links only', async () => {
    const response = await lookUp(psb, PSB_LINK);
    expect(response.status).toBe(200);
    const view = (await response.json()) as LinkedView;
    expect(view.id).toBe(subjectId);
    expect(view.links.map((link) => link.departmentCode)).toEqual(['PSB']);
    const read = await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(nrb, purpose) });
    expect(read.status).toBe(200);
    expect(((await read.json()) as LinkedView).links.map((link) => link.departmentCode)).toEqual(['NRB']);
  });

  it("shows a window every department's links, and lets it look up by any", async () => {
    const read = await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(windowToken, purpose) });
    expect(((await read.json()) as LinkedView).links.map((link) => link.departmentCode).sort()).toEqual(['NRB', 'PSB']);
    expect((await lookUp(windowToken, PSB_LINK)).status).toBe(200);
  });
});
