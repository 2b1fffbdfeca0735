/**
 * Review 13 (attacker's eye): the file name a window gives a handed-in material
 * (「张三-身份证.pdf」, as clerks name scans) is shown to every other window that reads handed-in documents and to
 * departments granted the type, with identifiers and mobiles masked (`maskIdentifiersInNote`,
 * in `materialView` and `attachmentDisposition`) but the subject's own name in
 * clear. A caller without `subjects:unmask` is shown the subject as 「张*」, then reads 「张三」
 * from the material list, its metadata and the download's Content-Disposition. A link's `source`
 * is masked "with the subject's name too in a masked view" (review 7, docs/security.md); the
 * material's file name is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../gateway/auth/scopes.js';
import { pdfDocument } from '../fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const PERSON = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '欧阳娜娜' };
const MASKED_WINDOW: Scope[] = ['subjects:read', 'subjects:write', 'materials:read', 'materials:write', 'cases:read'];

let gw: TestGateway;
let windowA = '';
let windowB = '';
let subjectId = '';
let materialId = '';

async function windowToken(): Promise<string> {
  const { client } = await gw.createClient('window', { scopes: MASKED_WINDOW });
  return (await gw.services.tokens.issue(client, MASKED_WINDOW)).accessToken;
}

const purpose = { 'onewindow-purpose': 'case_acceptance', 'onewindow-operator': 'clerk-9' };

beforeAll(async () => {
  gw = await createTestGateway();
  windowA = await windowToken();
  windowB = await windowToken();
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowA, { ...json, 'onewindow-purpose': 'case_acceptance' }),
    body: JSON.stringify(PERSON),
  });
  expect(resolved.status).toBe(201);
  subjectId = ((await resolved.json()) as { id: string }).id;
  const upload = await gw.request(
    `/v1/subjects/${subjectId}/materials?${new URLSearchParams({
      typeCode: 'resident_id_card',
      fileName: `${PERSON.name}-身份证.pdf`,
    })}`,
    {
      method: 'POST',
      headers: bearer(windowA, { 'onewindow-purpose': 'case_acceptance', 'content-type': 'application/pdf' }),
      body: Buffer.from(pdfDocument('review 13 ID card scan')),
    },
  );
  if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
  materialId = ((await upload.json()) as { id: string }).id;
}, 60_000);

afterAll(async () => gw?.close());

describe("review 13: the subject's name in a handed-in material's texts, to a masked caller", () => {
  it('control: the subject view masks the name for window B (no subjects:unmask)', async () => {
    const subject = await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(windowB, purpose) });
    expect(subject.status).toBe(200);
    const text = await subject.text();
    expect(text).toContain('欧***');
    expect(text).not.toContain(PERSON.name);
  });

  it('the material list does not show window B the name in the file name', async () => {
    const list = await gw.request(`/v1/subjects/${subjectId}/materials`, { headers: bearer(windowB, purpose) });
    expect(list.status).toBe(200);
    const body = (await list.json()) as {
      items: { id: string; content: { fileName: string | null } }[];
    };
    const item = body.items.find((entry) => entry.id === materialId);
    expect(item).toBeDefined();
    // Before a fix: "欧阳娜娜-身份证.pdf".
    expect(item?.content.fileName).not.toContain(PERSON.name);
  });

  it("the material's metadata keeps the name masked for window B", async () => {
    const one = await gw.request(`/v1/subjects/${subjectId}/materials/${materialId}`, {
      headers: bearer(windowB, purpose),
    });
    expect(one.status).toBe(200);
    expect(await one.text()).not.toContain(PERSON.name);
  });

  it("the download's Content-Disposition keeps the name masked for window B", async () => {
    const download = await gw.request(`/v1/subjects/${subjectId}/materials/${materialId}/content`, {
      headers: bearer(windowB, purpose),
    });
    expect(download.status).toBe(200);
    await download.arrayBuffer();
    const disposition = decodeURIComponent(download.headers.get('content-disposition') ?? '');
    expect(disposition).not.toContain(PERSON.name);
  });
});
