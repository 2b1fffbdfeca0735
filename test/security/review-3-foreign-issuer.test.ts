/**
 * Review 3 (attacker's eye): provenance is authority ("a department's own copy comes before a copy
 * handed in at a window"), but any department system may upload ("issue") a material of any type,
 * also one another department issues. The catalogue's `issuingDepartment` is checked only when a
 * certificate is revoked (certificates/revocations.ts), never on upload. A department that does
 * not issue ID cards plants an "issued" ID card that windows then reuse ahead of the one handed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfDocument } from '../fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(async () => gw?.close());

describe('review 3: a department issuing another department’s certificate type', () => {
  it('TAX uploads a resident ID card (issued by PSB) and windows reuse it ahead of the real one', async () => {
    const windowToken = await gw.tokenFor('window');
    const resolved = await gw.request('/v1/subjects/resolve', {
      method: 'POST',
      headers: bearer(windowToken, { ...json, ...PURPOSE }),
      body: JSON.stringify(ZHANG_SAN),
    });
    const { id: subjectId } = (await resolved.json()) as { id: string };
    const upload = (token: string, text: string) =>
      gw.request(`/v1/subjects/${subjectId}/materials?typeCode=resident_id_card`, {
        method: 'POST',
        headers: bearer(token, { ...PURPOSE, 'content-type': 'application/pdf' }),
        body: Buffer.from(pdfDocument(text)),
      });
    // The applicant's real card, scanned at the window.
    expect((await upload(windowToken, 'the real ID card')).status).toBe(201);

    // The tax bureau's system: materials:write, no say over ID cards.
    const taxToken = await gw.tokenFor('department', ['subjects:read', 'materials:read', 'materials:write'], {
      departmentCode: 'TAX',
    });
    const planted = await upload(taxToken, 'a card TAX made up');
    const reuse = await gw.request(`/v1/subjects/${subjectId}/reusable-materials?types=resident_id_card`, {
      headers: bearer(windowToken, PURPOSE),
    });
    const answer = (await reuse.json()) as {
      found: { typeCode: string; material: { provenance: { kind: string; departmentCode: string | null } } }[];
    };
    // Before the fix (2026-12-07): 201, and the reuse answer prefers TAX's "issued" card over the handed-in one.
    expect({
      upload: planted.status,
      reused: answer.found[0]?.material.provenance,
    }).toEqual({ upload: 403, reused: expect.objectContaining({ kind: 'handed_in' }) });
    expect(((await planted.json()) as { code: string }).code).toBe('not_issuer');
  });
});
