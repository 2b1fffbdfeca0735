/**
 * Review 6 (attacker's eye): the references a calling system sends with an upload — the
 * `onewindow-case-ref` header (free text, often the applicant's ID number, as review 3 found for
 * the audit log) and the file name it gives — were kept on the material and handed out again:
 *
 * - `provenance.caseRef` in every material view (list, metadata, reuse answers) was the header as
 *   sent, to every window that reads handed-in documents and to departments granted the type.
 *   A window without `subjects:unmask` was shown the subject's ID number masked, and then read it
 *   in clear from the material's caseRef. Now the references are stored masked, as the audit entry
 *   stores them, and masked again in the view for rows written before.
 * - the download's `Content-Disposition` carried the file name as typed, while the view masked it
 *   ("a handed-in material's sourceRef and fileName masked wherever shown, whatever the caller's
 *   scopes", docs/security.md). Now the header names the file as the view does.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../gateway/auth/scopes.js';
import { materials } from '../../gateway/db/schema.js';
import { pdfDocument } from '../fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';
import { findResidentIdNumbers } from './support.js';

const json = { 'content-type': 'application/json' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
/** A window system's scopes without subjects:unmask (masked by default). */
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

beforeAll(async () => {
  gw = await createTestGateway();
  windowA = await windowToken();
  windowB = await windowToken();
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowA, { ...json, 'onewindow-purpose': 'case_acceptance' }),
    body: JSON.stringify(ZHANG_SAN),
  });
  expect(resolved.status).toBe(201);
  subjectId = ((await resolved.json()) as { id: string }).id;
  // Window A's system uses the applicant's ID number as its own case reference, and names the
  // scan after the applicant, as clerks do.
  const upload = await gw.request(
    `/v1/subjects/${subjectId}/materials?${new URLSearchParams({
      typeCode: 'resident_id_card',
      fileName: `张三-${ZHANG_SAN.identifier}-身份证.pdf`,
    })}`,
    {
      method: 'POST',
      headers: bearer(windowA, {
        'onewindow-case-ref': ZHANG_SAN.identifier,
        'onewindow-operator': 'clerk-7',
        'content-type': 'application/pdf',
      }),
      body: Buffer.from(pdfDocument('ID card scan')),
    },
  );
  if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
  materialId = ((await upload.json()) as { id: string }).id;
}, 60_000);

afterAll(async () => gw?.close());

describe('review 6: caller references kept on a material', () => {
  it('another window without subjects:unmask finds no ID number in any material view (provenance.caseRef)', async () => {
    const headers = bearer(windowB, { 'onewindow-purpose': 'case_acceptance', 'onewindow-operator': 'clerk-9' });
    // The subject itself: masked for window B, as promised.
    const subject = await gw.request(`/v1/subjects/${subjectId}`, { headers });
    expect(subject.status).toBe(200);
    expect(findResidentIdNumbers(await subject.text())).toEqual([]);

    const list = await gw.request(`/v1/subjects/${subjectId}/materials`, { headers });
    expect(list.status).toBe(200);
    const listed = await list.text();
    // Before a fix: "provenance":{…,"caseRef":"11010519491231002X"}.
    expect(listed).not.toContain(`"caseRef":"${ZHANG_SAN.identifier}"`);
    expect(findResidentIdNumbers(listed)).toEqual([]);

    const one = await gw.request(`/v1/subjects/${subjectId}/materials/${materialId}`, { headers });
    expect(one.status).toBe(200);
    expect(findResidentIdNumbers(await one.text())).toEqual([]);

    const reuse = await gw.request(`/v1/subjects/${subjectId}/reusable-materials?types=resident_id_card`, { headers });
    expect(reuse.status).toBe(200);
    expect(findResidentIdNumbers(await reuse.text())).toEqual([]);
  });

  it('the material row itself keeps the references masked, as the audit entry does', async () => {
    const rows = await gw.database.db
      .select({ caseRef: materials.caseRef, operatorId: materials.operatorId })
      .from(materials)
      .where(eq(materials.id, materialId));
    expect(rows).toEqual([{ caseRef: '110105********002X', operatorId: 'clerk-7' }]);
  });

  it('the download names the file as the view does, the ID number masked', async () => {
    const headers = bearer(windowB, { 'onewindow-purpose': 'case_acceptance', 'onewindow-operator': 'clerk-9' });
    const one = await gw.request(`/v1/subjects/${subjectId}/materials/${materialId}`, { headers });
    const view = (await one.json()) as { content: { fileName: string } };
    expect(findResidentIdNumbers(view.content.fileName)).toEqual([]);

    const download = await gw.request(`/v1/subjects/${subjectId}/materials/${materialId}/content`, {
      method: 'HEAD',
      headers,
    });
    expect(download.status).toBe(200);
    const disposition = download.headers.get('content-disposition') ?? '';
    // Before a fix: attachment; filename="mat_….pdf"; filename*=UTF-8''%E5%BC%A0%E4%B8%89-11010519491231002X-….pdf
    expect(findResidentIdNumbers(disposition)).toEqual([]);
  });
});
