/**
 * Subjects and materials end to end through the HTTP API: resolve-or-create with masking and
 * purpose, uploads (raw and multipart) with size, digest and type checks, downloads with ETag,
 * conditions and ranges, reuse, supersede/revoke, cross-subject isolation and the data tracker.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../gateway/db/client.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';
import { jpegImage, ofdDocument, pdfDocument, pngImage, residentId } from './fixtures/documents.js';

const PURPOSE = { 'onewindow-purpose': 'case_acceptance', 'onewindow-operator': 'clerk-7' };
const CASE = { 'onewindow-case-ref': 'CASE-2026-000001' };

let gw: TestGateway;
let windowToken: string;
let unmaskToken: string;
let auditorToken: string;

beforeAll(async () => {
  gw = await createTestGateway({ UPLOAD_MAX_BYTES: '65536' });
  windowToken = await gw.tokenFor('window', [
    'subjects:read',
    'subjects:write',
    'materials:read',
    'materials:write',
    'tracker:issue',
  ]);
  unmaskToken = await gw.tokenFor('window', ['subjects:read', 'subjects:unmask']);
  auditorToken = await gw.tokenFor('auditor', ['audit:read']);
});
afterAll(async () => gw?.close());

interface SubjectBody {
  id: string;
  identifier: string;
  name: string;
  masked: boolean;
  links: { departmentCode: string; identifierType: string; value: string }[];
}
interface MaterialBody {
  id: string;
  status: string;
  typeCode: string;
  validFrom: string;
  validUntil: string | null;
  content: { sha256: string; size: number; mediaType: string; fileName: string | null };
  provenance: {
    kind: string;
    providedBy: string;
    operatorId: string | null;
    departmentCode: string | null;
    caseRef: string | null;
  };
  supersedes: string | null;
  supersededBy: string | null;
}

async function resolve(
  token: string,
  identifier: string,
  name: string,
  headers: Record<string, string> = PURPOSE,
): Promise<Response> {
  return gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/json', ...headers }),
    body: JSON.stringify({
      identifierType:
        (identifier.length === 18 && /^\d{17}[\dXx]$/.test(identifier)) || identifier.length === 15
          ? 'resident_id'
          : 'credit_code',
      identifier,
      name,
    }),
  });
}

async function newSubject(serial: number, name = '张三丰'): Promise<SubjectBody> {
  const response = await resolve(windowToken, residentId(serial), name);
  expect(response.status).toBe(201);
  return (await response.json()) as SubjectBody;
}

async function upload(
  subjectId: string,
  bytes: Uint8Array,
  query: Record<string, string>,
  options: { token?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return gw.request(`/v1/subjects/${subjectId}/materials?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: bearer(options.token ?? windowToken, {
      'content-type': options.contentType ?? 'application/pdf',
      ...PURPOSE,
      ...options.headers,
    }),
    body: bytes,
  });
}

async function uploadOk(
  subjectId: string,
  bytes: Uint8Array,
  query: Record<string, string>,
  options: Parameters<typeof upload>[3] = {},
): Promise<MaterialBody> {
  const response = await upload(subjectId, bytes, query, options);
  if (response.status !== 201) throw new Error(`upload failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as MaterialBody;
}

async function count(table: 'blobs' | 'materials' | 'subjects'): Promise<number> {
  const result = await gw.database.db.execute(sql.raw(`select count(*)::int as n from ${table}`));
  return Number(rowsOf<{ n: number }>(result)[0]?.n ?? 0);
}

async function auditRows(subjectId: string): Promise<
  {
    action: string;
    purpose: string | null;
    case_ref: string | null;
    fields: string[];
    material_types: string[];
    operator_id: string | null;
    outcome: string;
  }[]
> {
  const result = await gw.database.db.execute(
    sql`select action, purpose, case_ref, fields, material_types, operator_id, outcome from audit_entries where subject_ref = ${subjectId} order by id`,
  );
  return rowsOf(result);
}

describe('subjects', () => {
  it('resolves an applicant once, masked by default, and audits the disclosure with its purpose', async () => {
    const identifier = residentId(1, '19491231');
    const first = await resolve(windowToken, identifier, '张三');
    expect(first.status).toBe(201);
    const created = (await first.json()) as SubjectBody;
    expect(created.id).toMatch(/^sub_/);
    expect(created.identifier).toBe(`${identifier.slice(0, 6)}********${identifier.slice(-4)}`);
    expect(created.name).toBe('张*');
    expect(created.masked).toBe(true);

    const again = await resolve(windowToken, identifier, ' 张三 ');
    expect(again.status).toBe(200);
    expect(((await again.json()) as SubjectBody).id).toBe(created.id);

    const audit = await auditRows(created.id);
    expect(audit.map((row) => row.action)).toEqual(['subject.create', 'subject.resolve']);
    expect(audit[0]).toMatchObject({
      purpose: 'case_acceptance',
      operator_id: 'clerk-7',
      outcome: 'allowed',
      fields: ['identifier:masked', 'name:masked', 'links:masked'],
    });
  });

  it('accepts the 15-digit form and a lower-case x as the same person', async () => {
    const first17 = '11010519491231002';
    const eighteen = residentId(2, '19491231');
    const fifteen = `${eighteen.slice(0, 6)}${eighteen.slice(8, 14)}${eighteen.slice(14, 17)}`;
    const a = (await (await resolve(windowToken, eighteen, '李四')).json()) as SubjectBody;
    const b = (await (await resolve(windowToken, fifteen, '李四')).json()) as SubjectBody;
    expect(b.id).toBe(a.id);
    const withX = '11010519491231002X';
    expect(withX.startsWith(first17)).toBe(true);
    const upper = (await (await resolve(windowToken, withX, '王五')).json()) as SubjectBody;
    const lower = (await (await resolve(windowToken, withX.toLowerCase(), '王五')).json()) as SubjectBody;
    expect(lower.id).toBe(upper.id);
  });

  it('unmasks only for a token holding subjects:unmask', async () => {
    const identifier = residentId(3);
    const { id } = (await (await resolve(windowToken, identifier, '赵六')).json()) as SubjectBody;
    const unmasked = await gw.request(`/v1/subjects/${id}`, { headers: bearer(unmaskToken, CASE) });
    expect(unmasked.status).toBe(200);
    expect(await unmasked.json()).toMatchObject({ identifier, name: '赵六', masked: false });
    const audit = await auditRows(id);
    expect(audit.at(-1)).toMatchObject({
      action: 'subject.read',
      case_ref: 'CASE-2026-000001',
      fields: ['identifier', 'name', 'links'],
    });
  });

  it('gives each identifier problem its own code, and stores nothing', async () => {
    const before = await count('subjects');
    const valid = residentId(4);
    const wrongCheck = valid.slice(0, 17) + (valid[17] === '0' ? '1' : '0');
    const cases: [string, string][] = [
      [valid.slice(0, 17), 'id_number_length'],
      [`${valid.slice(0, 16)}A${valid[17]}`, 'id_number_characters'],
      [`99${valid.slice(2)}`, 'id_number_division'],
      [`${valid.slice(0, 6)}20991231${valid.slice(14)}`, 'id_number_birth_date'],
      [wrongCheck, 'id_number_check'],
    ];
    for (const [identifier, code] of cases) {
      const response = await gw.request('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearer(windowToken, { 'content-type': 'application/json', ...PURPOSE }),
        body: JSON.stringify({ identifierType: 'resident_id', identifier, name: '某人' }),
      });
      expect(response.status, identifier).toBe(422);
      expect((await problemOf(response)).code, identifier).toBe(code);
    }
    const creditCode = await gw.request('/v1/subjects/resolve', {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/json', ...PURPOSE }),
      body: JSON.stringify({ identifierType: 'credit_code', identifier: '91350100M000100Y4O', name: '某公司' }),
    });
    expect((await problemOf(creditCode)).code).toBe('credit_code_characters');
    expect(await count('subjects')).toBe(before);
  });

  it('refuses a name that differs from the one on file without revealing it', async () => {
    const identifier = residentId(5);
    await resolve(windowToken, identifier, '孙七');
    const response = await resolve(windowToken, identifier, '孙八');
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.code).toBe('subject_name_mismatch');
    expect(JSON.stringify(problem)).not.toContain('孙七');
  });

  it('requires a purpose or case reference, and a configured purpose code', async () => {
    const missing = await resolve(windowToken, residentId(6), '周九', {});
    expect(missing.status).toBe(400);
    expect((await problemOf(missing)).code).toBe('purpose_required');
    const unknown = await resolve(windowToken, residentId(6), '周九', { 'onewindow-purpose': 'curiosity' });
    expect((await problemOf(unknown)).code).toBe('purpose_unknown');
  });

  it('does not create subjects for a caller without subjects:write', async () => {
    const readOnly = await gw.tokenFor('department', ['subjects:read'], { departmentCode: 'PSB' });
    const response = await resolve(readOnly, residentId(7), '吴十');
    expect(response.status).toBe(404);
    expect((await problemOf(response)).code).toBe('not_found');
  });

  it('links department identifiers, finds subjects by them, and refuses a link to another subject', async () => {
    const a = await newSubject(8, '郑一');
    const b = await newSubject(9, '郑二');
    const psb = await gw.tokenFor('department', ['subjects:read', 'subjects:write'], { departmentCode: 'PSB' });
    const link = (subjectId: string, body: object, token = psb) =>
      gw.request(`/v1/subjects/${subjectId}/links`, {
        method: 'POST',
        headers: bearer(token, { 'content-type': 'application/json', ...PURPOSE }),
        body: JSON.stringify(body),
      });
    const created = await link(a.id, {
      identifierType: 'household_no',
      value: 'HH-330100-0042',
      source: 'department-system',
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as SubjectBody).links).toEqual([
      expect.objectContaining({ departmentCode: 'PSB', identifierType: 'household_no', value: 'HH**********42' }),
    ]);
    expect(
      (await link(a.id, { identifierType: 'household_no', value: 'HH-330100-0042', source: 'again' })).status,
    ).toBe(200);
    const conflict = await link(b.id, { identifierType: 'household_no', value: 'HH-330100-0042', source: 'x' });
    expect(conflict.status).toBe(409);
    const otherDepartment = await link(a.id, {
      departmentCode: 'TAX',
      identifierType: 'taxpayer_no',
      value: '123',
      source: 'x',
    });
    expect(otherDepartment.status).toBe(403);
    const windowWithoutDepartment = await link(a.id, { identifierType: 'x', value: '1', source: 'x' }, windowToken);
    expect(windowWithoutDepartment.status).toBe(400);

    const lookup = await gw.request('/v1/subjects/lookup', {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/json', ...PURPOSE }),
      body: JSON.stringify({ departmentCode: 'PSB', identifierType: 'household_no', value: 'HH-330100-0042' }),
    });
    expect(lookup.status).toBe(200);
    expect(((await lookup.json()) as SubjectBody).id).toBe(a.id);
    const prefix = await gw.request('/v1/subjects/lookup', {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/json', ...PURPOSE }),
      body: JSON.stringify({ departmentCode: 'PSB', identifierType: 'household_no', value: 'HH-330100' }),
    });
    expect(prefix.status).toBe(404);
  });

  it('answers an unknown subject id with 404', async () => {
    const response = await gw.request('/v1/subjects/sub_AAAAAAAAAAAAAAAA', { headers: bearer(windowToken, PURPOSE) });
    expect(response.status).toBe(404);
  });
});

describe('material uploads', () => {
  it('stores identical bytes once, whoever uploads them for whichever subject', async () => {
    const a = await newSubject(20);
    const b = await newSubject(21);
    const document = pdfDocument('shared lease');
    const blobsBefore = await count('blobs');
    const first = await uploadOk(a.id, document, { typeCode: 'lease_contract', fileName: '租赁合同.pdf' });
    const second = await uploadOk(b.id, document, { typeCode: 'lease_contract' });
    expect(second.id).not.toBe(first.id);
    expect(second.content.sha256).toBe(first.content.sha256);
    expect(first.content).toMatchObject({
      size: document.byteLength,
      mediaType: 'application/pdf',
      fileName: '租赁合同.pdf',
    });
    expect(first.content.sha256).toBe(createHash('sha256').update(document).digest('hex'));
    expect(first.provenance).toMatchObject({ kind: 'handed_in', operatorId: 'clerk-7' });
    expect(await count('blobs')).toBe(blobsBefore + 1);
    // The second response looks exactly like a first upload: nothing says the bytes were known.
    expect(Object.keys(second).sort()).toEqual(Object.keys(first).sort());
  });

  it('accepts multipart uploads with the metadata before the file', async () => {
    const subject = await newSubject(22);
    const form = new FormData();
    form.set('typeCode', 'id_photo');
    form.set('validFrom', '2026-01-01');
    form.set('file', new Blob([pngImage()], { type: 'image/png' }), 'photo.png');
    const response = await gw.request(`/v1/subjects/${subject.id}/materials`, {
      method: 'POST',
      headers: bearer(windowToken, PURPOSE),
      body: form,
    });
    expect(response.status).toBe(201);
    const material = (await response.json()) as MaterialBody;
    expect(material).toMatchObject({ typeCode: 'id_photo', validFrom: '2026-01-01', validUntil: '2026-06-29' });
    expect(material.content).toMatchObject({ mediaType: 'image/png', fileName: 'photo.png' });
  });

  it('detects OFD and JPEG from their bytes', async () => {
    const subject = await newSubject(23);
    expect(
      (
        await uploadOk(
          subject.id,
          ofdDocument(),
          { typeCode: 'household_register' },
          { contentType: 'application/ofd' },
        )
      ).content.mediaType,
    ).toBe('application/ofd');
    expect(
      (
        await uploadOk(
          subject.id,
          jpegImage(),
          { typeCode: 'household_register' },
          { contentType: 'application/octet-stream' },
        )
      ).content.mediaType,
    ).toBe('image/jpeg');
  });

  it('refuses oversize, mislabelled and mistyped uploads and digest mismatches, storing nothing', async () => {
    const subject = await newSubject(24);
    const blobs = await count('blobs');
    const materials = await count('materials');
    const expectProblem = async (response: Response, status: number, code: string) => {
      expect(response.status, code).toBe(status);
      expect((await problemOf(response)).code).toBe(code);
    };
    await expectProblem(
      await upload(subject.id, pdfDocument('big', 70_000), { typeCode: 'lease_contract' }),
      413,
      'payload_too_large',
    );
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(pdfDocument(`chunk ${i}`, 8000));
        controller.close();
      },
    });
    await expectProblem(
      await gw.request(`/v1/subjects/${subject.id}/materials?typeCode=lease_contract`, {
        method: 'POST',
        headers: bearer(windowToken, { 'content-type': 'application/pdf', ...PURPOSE }),
        body: chunked,
        duplex: 'half',
      } as RequestInit),
      413,
      'payload_too_large',
    );
    await expectProblem(
      await upload(subject.id, pdfDocument(), { typeCode: 'lease_contract' }, { contentType: 'image/png' }),
      415,
      'material_type_mismatch',
    );
    await expectProblem(
      await upload(subject.id, pdfDocument(), { typeCode: 'id_photo' }),
      415,
      'material_type_mismatch',
    );
    await expectProblem(
      await upload(
        subject.id,
        Buffer.from('<!doctype html><script>alert(1)</script>'),
        { typeCode: 'lease_contract' },
        { contentType: 'application/octet-stream' },
      ),
      415,
      'material_type_mismatch',
    );
    await expectProblem(
      await upload(subject.id, pdfDocument(), { typeCode: 'lease_contract' }, { contentType: 'text/plain' }),
      415,
      'material_type_mismatch',
    );
    const digestOfOther = createHash('sha256').update('other').digest('base64');
    await expectProblem(
      await upload(
        subject.id,
        pdfDocument(),
        { typeCode: 'lease_contract' },
        { headers: { 'content-digest': `sha-256=:${digestOfOther}:` } },
      ),
      422,
      'digest_mismatch',
    );
    await expectProblem(
      await upload(
        subject.id,
        pdfDocument(),
        { typeCode: 'lease_contract' },
        { headers: { 'content-digest': 'sha-256=abc' } },
      ),
      400,
      'invalid_content_digest',
    );
    await expectProblem(
      await upload(
        subject.id,
        pdfDocument(),
        { typeCode: 'lease_contract' },
        { headers: { 'content-digest': `md5=:${createHash('md5').update('x').digest('base64')}:` } },
      ),
      400,
      'unsupported_digest_algorithm',
    );
    await expectProblem(
      await upload(subject.id, pdfDocument(), { typeCode: 'no_such_type' }),
      422,
      'unknown_material_type',
    );
    await expectProblem(
      await upload(subject.id, pdfDocument(), { typeCode: 'business_licence' }),
      422,
      'unprocessable',
    );
    await expectProblem(await upload(subject.id, pdfDocument(), {}), 400, 'validation_failed');
    await expectProblem(
      await upload(subject.id, pdfDocument(), { typeCode: 'lease_contract' }, { headers: { 'onewindow-purpose': '' } }),
      400,
      'purpose_required',
    );
    await expectProblem(
      await upload('sub_AAAAAAAAAAAAAAAA', pdfDocument(), { typeCode: 'lease_contract' }),
      404,
      'not_found',
    );
    expect(await count('blobs')).toBe(blobs);
    expect(await count('materials')).toBe(materials);
  });

  it('accepts a matching Content-Digest', async () => {
    const subject = await newSubject(25);
    const document = pdfDocument();
    const digest = createHash('sha256').update(document).digest('base64');
    const response = await upload(
      subject.id,
      document,
      { typeCode: 'lease_contract' },
      { headers: { 'content-digest': `sha-256=:${digest}:` } },
    );
    expect(response.status).toBe(201);
  });
});

describe('material downloads', () => {
  let subjectId: string;
  let material: MaterialBody;
  const document = pdfDocument('download me', 3000);
  const contentUrl = () => `/v1/subjects/${subjectId}/materials/${material.id}/content`;

  beforeAll(async () => {
    subjectId = (await newSubject(30)).id;
    material = await uploadOk(subjectId, document, { typeCode: 'lease_contract', fileName: '合同 "A".pdf' });
  });

  it('serves the bytes as an attachment with nosniff, a strong ETag and digests', async () => {
    const response = await gw.request(contentUrl(), { headers: bearer(windowToken, PURPOSE) });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from(document));
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="${material.id}.pdf"; filename*=UTF-8''%E5%90%88%E5%90%8C%20%22A%22.pdf`,
    );
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('etag')).toBe(`"sha256-${material.content.sha256}"`);
    expect(response.headers.get('content-digest')).toBe(
      `sha-256=:${Buffer.from(material.content.sha256, 'hex').toString('base64')}:`,
    );
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
  });

  it('answers If-None-Match with 304 and a failed If-Match with 412', async () => {
    const etag = `"sha256-${material.content.sha256}"`;
    const notModified = await gw.request(contentUrl(), {
      headers: bearer(windowToken, { ...PURPOSE, 'if-none-match': `"other", ${etag}` }),
    });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    const failed = await gw.request(contentUrl(), {
      headers: bearer(windowToken, { ...PURPOSE, 'if-match': '"sha256-0000"' }),
    });
    expect(failed.status).toBe(412);
    expect((await problemOf(failed)).code).toBe('precondition_failed');
  });

  it('serves byte ranges, honours If-Range, and refuses unsatisfiable ranges with 416', async () => {
    const partial = await gw.request(contentUrl(), {
      headers: bearer(windowToken, { ...PURPOSE, range: 'bytes=5-14' }),
    });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 5-14/${document.byteLength}`);
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(Buffer.from(document.subarray(5, 15)));
    const suffix = await gw.request(contentUrl(), { headers: bearer(windowToken, { ...PURPOSE, range: 'bytes=-6' }) });
    expect(Buffer.from(await suffix.arrayBuffer()).toString('latin1')).toBe('%%EOF\n');
    const staleIfRange = await gw.request(contentUrl(), {
      headers: bearer(windowToken, { ...PURPOSE, range: 'bytes=0-9', 'if-range': '"sha256-old"' }),
    });
    expect(staleIfRange.status).toBe(200);
    expect((await staleIfRange.arrayBuffer()).byteLength).toBe(document.byteLength);
    const beyond = await gw.request(contentUrl(), {
      headers: bearer(windowToken, { ...PURPOSE, range: `bytes=${document.byteLength}-` }),
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${document.byteLength}`);
  });

  it('answers HEAD with the headers only', async () => {
    const response = await gw.request(contentUrl(), { method: 'HEAD', headers: bearer(windowToken, PURPOSE) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(document.byteLength));
  });
});

describe('isolation between subjects and callers', () => {
  it("answers another subject's material, by id or by digest, exactly like a missing one", async () => {
    const owner = await newSubject(40);
    const other = await newSubject(41);
    const material = await uploadOk(owner.id, pdfDocument('private'), { typeCode: 'lease_contract' });
    const viaOther = await gw.request(`/v1/subjects/${other.id}/materials/${material.id}`, {
      headers: bearer(windowToken, PURPOSE),
    });
    const missing = await gw.request(`/v1/subjects/${other.id}/materials/mat_AAAAAAAAAAAAAAAA`, {
      headers: bearer(windowToken, PURPOSE),
    });
    const contentViaOther = await gw.request(`/v1/subjects/${other.id}/materials/${material.id}/content`, {
      headers: bearer(windowToken, PURPOSE),
    });
    for (const response of [viaOther, missing, contentViaOther]) {
      expect(response.status).toBe(404);
      const { requestId: _ignored, instance: _path, ...problem } = await problemOf(response);
      expect(problem).toEqual({
        type: 'urn:onewindow:problem:not_found',
        title: expect.any(String),
        status: 404,
        detail: '该主体没有这份材料。',
        code: 'not_found',
      });
    }
    // No route takes a digest: content is reachable only through a material of the subject.
    const byDigest = await gw.request(`/v1/contents/${material.content.sha256}`, {
      headers: bearer(windowToken, PURPOSE),
    });
    expect(byDigest.status).toBe(404);
    const otherList = (await (
      await gw.request(`/v1/subjects/${other.id}/materials`, { headers: bearer(windowToken, PURPOSE) })
    ).json()) as { items: MaterialBody[] };
    expect(otherList.items).toEqual([]);
  });

  it('shows a department only what it issued, provided or was granted', async () => {
    const subject = await newSubject(42);
    const handedIn = await uploadOk(subject.id, pdfDocument(), { typeCode: 'household_register' });
    const psbToken = await gw.tokenFor('department', ['subjects:read', 'materials:read', 'materials:write'], {
      departmentCode: 'PSB',
    });
    const issued = await uploadOk(
      subject.id,
      pdfDocument(),
      { typeCode: 'no_criminal_record', sourceRef: 'NCR-2026-1' },
      { token: psbToken },
    );
    expect(issued.provenance).toMatchObject({ kind: 'issued', departmentCode: 'PSB' });
    const read = (id: string) =>
      gw.request(`/v1/subjects/${subject.id}/materials/${id}`, { headers: bearer(psbToken, PURPOSE) });
    expect((await read(issued.id)).status).toBe(200);
    expect((await read(handedIn.id)).status).toBe(404);

    const psbClientId = (await gw.services.tokens.verify(psbToken)).clientId;
    const adminToken = await gw.tokenFor('admin', ['catalogue:admin']);
    const grant = await gw.request(`/v1/material-types/household_register/grants/${psbClientId}`, {
      method: 'PUT',
      headers: bearer(adminToken),
    });
    expect(grant.status).toBe(200);
    expect((await read(handedIn.id)).status).toBe(200);
    await gw.request(`/v1/material-types/household_register/grants/${psbClientId}`, {
      method: 'DELETE',
      headers: bearer(adminToken),
    });
    expect((await read(handedIn.id)).status).toBe(404);
  });
});

describe('reuse, supersede and revoke', () => {
  it('answers which types are valid on a date and which are missing', async () => {
    const subject = await newSubject(50);
    const card = await uploadOk(subject.id, pdfDocument(), {
      typeCode: 'resident_id_card',
      validFrom: '2020-05-01',
      validUntil: '2030-05-01',
    });
    await uploadOk(subject.id, pdfDocument(), { typeCode: 'no_criminal_record', validFrom: '2026-01-01' });
    const ask = async (types: string, on?: string) => {
      const query = new URLSearchParams({ types, ...(on ? { on } : {}) });
      const response = await gw.request(`/v1/subjects/${subject.id}/reusable-materials?${query}`, {
        headers: bearer(windowToken, CASE),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as {
        on: string;
        found: { typeCode: string; material: MaterialBody }[];
        missing: string[];
      };
    };
    const now = await ask('resident_id_card,no_criminal_record,household_register', '2026-02-01');
    expect(now.found.map((entry) => [entry.typeCode, entry.material.id])).toEqual([
      ['resident_id_card', card.id],
      ['no_criminal_record', expect.any(String)],
    ]);
    expect(now.missing).toEqual(['household_register']);
    // The certificate of no criminal record is valid for 90 days: 2026-01-01 to 2026-03-31.
    expect((await ask('no_criminal_record', '2026-03-31')).missing).toEqual([]);
    expect((await ask('no_criminal_record', '2026-04-01')).missing).toEqual(['no_criminal_record']);
    expect((await ask('resident_id_card', '2019-01-01')).missing).toEqual(['resident_id_card']);
    const unknown = await gw.request(`/v1/subjects/${subject.id}/reusable-materials?types=nope_type`, {
      headers: bearer(windowToken, CASE),
    });
    expect((await problemOf(unknown)).code).toBe('unknown_material_type');
    const audit = await auditRows(subject.id);
    expect(audit.find((row) => row.action === 'material.reuse_check')).toMatchObject({
      case_ref: 'CASE-2026-000001',
      material_types: ['no_criminal_record', 'resident_id_card'],
    });
  });

  it('supersedes a material with a newer version and revokes with a reason', async () => {
    const subject = await newSubject(51);
    const old = await uploadOk(subject.id, pdfDocument(), { typeCode: 'household_register', validFrom: '2020-01-01' });
    const newer = await uploadOk(subject.id, pdfDocument(), {
      typeCode: 'household_register',
      validFrom: '2026-03-01',
      supersedes: old.id,
    });
    expect(newer.supersedes).toBe(old.id);
    const oldNow = (await (
      await gw.request(`/v1/subjects/${subject.id}/materials/${old.id}`, { headers: bearer(windowToken, PURPOSE) })
    ).json()) as MaterialBody;
    expect(oldNow).toMatchObject({ status: 'superseded', supersededBy: newer.id });
    const twice = await upload(subject.id, pdfDocument(), { typeCode: 'household_register', supersedes: old.id });
    expect((await problemOf(twice)).code).toBe('material_not_current');

    const revoke = (token: string) =>
      gw.request(`/v1/subjects/${subject.id}/materials/${newer.id}/revoke`, {
        method: 'POST',
        headers: bearer(token, { 'content-type': 'application/json', ...PURPOSE }),
        body: JSON.stringify({ reason: 'reported lost' }),
      });
    const otherWindow = await gw.createClient('window');
    const otherToken = (await gw.services.tokens.issue(otherWindow.client, ['materials:read', 'materials:write']))
      .accessToken;
    expect((await revoke(otherToken)).status).toBe(403);
    const revoked = await revoke(windowToken);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ status: 'revoked', revocation: { reason: 'reported lost' } });
    expect((await revoke(windowToken)).status).toBe(409);
    const reuse = await gw.request(`/v1/subjects/${subject.id}/reusable-materials?types=household_register`, {
      headers: bearer(windowToken, PURPOSE),
    });
    expect(((await reuse.json()) as { missing: string[] }).missing).toEqual(['household_register']);
  });
});

describe('data tracker', () => {
  it('shows an auditor and the subject who read what, when and why', async () => {
    const subject = await newSubject(60, '钱多多');
    await gw.request(`/v1/subjects/${subject.id}`, { headers: bearer(unmaskToken, CASE) });
    await uploadOk(subject.id, pdfDocument(), { typeCode: 'lease_contract' });
    await gw.request(`/v1/subjects/${subject.id}/reusable-materials?types=lease_contract`, {
      headers: bearer(windowToken, CASE),
    });

    const auditorView = await gw.request(`/v1/subjects/${subject.id}/access-log`, {
      headers: bearer(auditorToken, { 'onewindow-purpose': 'supervision' }),
    });
    expect(auditorView.status).toBe(200);
    const log = (await auditorView.json()) as {
      items: { action: string; caseRef: string | null; materialTypes: string[]; client: { id: string } }[];
    };
    expect(log.items.map((item) => item.action)).toEqual([
      'material.reuse_check',
      'material.create',
      'subject.read',
      'subject.create',
    ]);
    expect(log.items[0]).toMatchObject({ caseRef: 'CASE-2026-000001', materialTypes: ['lease_contract'] });

    // Minting needs the applicant present and verified (test/access-policy.test.ts); the token is made directly here.
    const windowClient = await gw.createClient('window');
    const { accessToken: subjectToken, scopes } = await gw.services.tokens.issueForSubject(
      windowClient.client,
      subject.id,
      300,
    );
    expect(scopes).toEqual(['tracker:read']);
    const own = await gw.request('/v1/me/access-log', { headers: bearer(subjectToken) });
    expect(own.status).toBe(200);
    const ownLog = (await own.json()) as {
      subjectId: string;
      items: {
        action: string;
        operatorId: string | null;
        caseRef: string | null;
        client: { id: string | null; name: string | null };
      }[];
    };
    expect(ownLog.subjectId).toBe(subject.id);
    expect(ownLog.items.map((item) => item.action).slice(0, 2)).toEqual([
      'subject.tracker.read',
      'material.reuse_check',
    ]);
    // The citizen sees organisations and purposes, not other agencies' internal references.
    for (const item of ownLog.items) expect(item).toMatchObject({ operatorId: null, client: { id: null } });
    expect(ownLog.items.find((item) => item.action === 'material.reuse_check')?.caseRef).toBeNull();

    // The subject token opens nothing else.
    expect((await gw.request(`/v1/subjects/${subject.id}`, { headers: bearer(subjectToken, PURPOSE) })).status).toBe(
      403,
    );
    expect(
      (await gw.request(`/v1/subjects/${subject.id}/access-log`, { headers: bearer(subjectToken, PURPOSE) })).status,
    ).toBe(403);
    const windowOnOwn = await gw.request('/v1/me/access-log', { headers: bearer(windowToken) });
    expect(windowOnOwn.status).toBe(403);
  });

  it('pages through a long log', async () => {
    const subject = await newSubject(61);
    for (let i = 0; i < 5; i++)
      await gw.request(`/v1/subjects/${subject.id}`, { headers: bearer(windowToken, PURPOSE) });
    const first = (await (
      await gw.request(`/v1/subjects/${subject.id}/access-log?limit=3`, { headers: bearer(auditorToken, PURPOSE) })
    ).json()) as { items: { entryId: string }[]; nextBefore: string };
    expect(first.items).toHaveLength(3);
    const second = (await (
      await gw.request(`/v1/subjects/${subject.id}/access-log?limit=3&before=${first.nextBefore}`, {
        headers: bearer(auditorToken, PURPOSE),
      })
    ).json()) as { items: { entryId: string }[] };
    expect(second.items).toHaveLength(3);
    expect(second.items.map((item) => item.entryId)).not.toContain(first.items[0]?.entryId);
  });
});
