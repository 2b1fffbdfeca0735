/**
 * Review 22 (attacker's eye): the multipart upload takes the document's file name from the file
 * part's own `Content-Disposition: …; filename="…"` without the checks the same name gets
 * everywhere else. `UploadMetadataSchema.fileName` is `z.string().trim().min(1).max(200)`, and the
 * raw upload (`?fileName=`) and a multipart `fileName` field are held to it (400
 * validation_failed). But `openSource` (gateway/materials/upload.ts) falls back to
 * `part.fileName` — busboy's value, never parsed by the schema — so a window stores a name of
 * up to busboy's part-header limit (about 16 kB of header: over 1 600 Han characters, eight times
 * the limit), or one of blanks only.
 *
 * Promise broken (docs/security.md, docs/http-surface.md): bad input gets a clear error and is not
 * stored. What is stored here is shown to every later reader: in every listing and metadata view
 * of the subject's materials, and in the `Content-Disposition` header of every download, where
 * 1 650 Han characters become a 15 kB header (nine bytes each, percent-encoded) — at the edge of
 * the 16 KiB response-header limit of Node's own HTTP client and of common proxies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { pdfDocument } from '../fixtures/documents.js';

const ZHANG = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };
const BOUNDARY = 'review22boundary';

let gw: TestGateway;
let token = '';
let subjectId = '';

function multipart(fileNameHeader: string, file: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="typeCode"\r\n\r\npower_of_attorney\r\n`),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; ${fileNameHeader}\r\nContent-Type: application/pdf\r\n\r\n`,
    ),
    Buffer.from(file),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

function uploadMultipart(fileNameHeader: string): Promise<Response> {
  return gw.request(`/v1/subjects/${subjectId}/materials`, {
    method: 'POST',
    headers: bearer(token, { ...purpose, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }),
    body: multipart(fileNameHeader, pdfDocument()),
  });
}

beforeAll(async () => {
  gw = await createTestGateway({ DELIVERY_WORKER: 'false' });
  token = (await caseWindow(gw, [])).token;
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...purpose, 'content-type': 'application/json' }),
    body: JSON.stringify(ZHANG),
  });
  subjectId = ((await resolved.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

describe('review 22: the file name of a multipart upload is not checked', () => {
  it('control: the same long name as ?fileName= is refused with 400 validation_failed', async () => {
    const response = await gw.request(
      `/v1/subjects/${subjectId}/materials?typeCode=power_of_attorney&fileName=${'x'.repeat(201)}.pdf`,
      {
        method: 'POST',
        headers: bearer(token, { ...purpose, 'content-type': 'application/pdf' }),
        body: Buffer.from(pdfDocument()),
      },
    );
    expect(response.status).toBe(400);
  });

  it('refuses a file part named with 1 650 Han characters, as it refuses the field (max 200)', async () => {
    const name = `${'委托书'.repeat(550)}.pdf`;
    const response = await uploadMultipart(`filename*=UTF-8''${encodeURIComponent(name)}`);
    const body = await response.text();
    // Before the fix: 201, and every later download of the document carries a
    // Content-Disposition of ~15 kB.
    expect(response.status, body.slice(0, 200)).toBe(400);
  });

  it('refuses a file part named with blanks only, as it refuses the field (trimmed, min 1)', async () => {
    const response = await uploadMultipart('filename="      "');
    const body = await response.text();
    // Before the fix: 201 with content.fileName "      ".
    expect(response.status === 400 || JSON.parse(body).content?.fileName === null, body.slice(0, 300)).toBe(true);
  });
});
