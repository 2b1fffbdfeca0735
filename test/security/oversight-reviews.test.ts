/**
 * Reviews 3 and 4 (attacker's eye), centre tree: a supervisor above a case's centre is meant to see
 * the case's form and the certificate numbers it names masked (`readsForOversight`). These tests
 * look for the same data through other doors, for free text on the timeline shown unmasked, and
 * for parts of the notice that carry it in clear.
 *
 *   330000000 province
 *   └ 330100000 city     (window city: director-1, inspector-1 a supervisor)
 *     └ 330110000 county (window county: approver-1)
 *       ├ 330110001 town 1 (window town1: clerk-1)
 *       └ 330110002 town 2 (window town2: clerk-2)
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NRB_DEMO_CLIENT_ID,
  NRB_DEMO_CLIENT_SECRET,
  startNrbRealEstateSimulator,
} from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { auditEntries, caseEvents, caseResults, cases } from '../../gateway/db/schema.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { pdfDocument } from '../fixtures/documents.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { findResidentIdNumbers } from './support.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const MORTGAGE = 'real_estate_mortgage_cancellation';
const MOVE_IN = 'household_move_in';
const CITY = '330100000';
const COUNTY = '330110000';
const TOWN1 = '330110001';
const TOWN2 = '330110002';
const CERTIFICATE_NO = '浙(2020)杭州市不动产权第0031287号';
const clock = fixedClock('2026-12-18T02:00:00.000Z');

let gw: TestGateway;
let nrb: RunningSimulator;
let admin: string;
const windows: Record<'town1' | 'town2' | 'county' | 'city', string> = { town1: '', town2: '', county: '', city: '' };
let subjectId = '';

async function call(
  token: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  return gw.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: bearer(token, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

const put = (path: string, body: unknown) => call(admin, path, { method: 'PUT', body });
const as = (operatorId: string, extra: Record<string, string> = {}) => ({ 'onewindow-operator': operatorId, ...extra });
const supervising = (operatorId: string) => as(operatorId, { 'onewindow-purpose': 'supervision' });

/** A window of the centre `code` with a window's default scopes (no subjects:unmask) and `grants`. */
async function windowAt(code: string, grants: string[] = []): Promise<string> {
  const { client, token } = await caseWindow(gw, grants, [...CASE_WINDOW_SCOPES, 'contracts:read', 'centres:read']);
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  return token;
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'NRB',
          name: 'Real-estate registry',
          adapter: 'nrb-realestate',
          baseUrl: nrb.url,
          options: { clientId: NRB_DEMO_CLIENT_ID, clientSecret: NRB_DEMO_CLIENT_SECRET },
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock },
  );
  admin = await gw.tokenFor('admin');
  const centre = (code: string, name: string, level: string, parentCode: string | null) =>
    put(`/v1/centres/${code}`, { name, level, parentCode, address: `${name} 地址`, openingHours: '9:00-17:00' });
  await ok(await centre('330000000', '浙江省政务服务中心', 'province', null), 201);
  await ok(await centre(CITY, '杭州市民中心', 'city', '330000000'), 201);
  await ok(await centre(COUNTY, '余杭区行政服务中心', 'county', CITY), 201);
  await ok(await centre(TOWN1, '仓前街道便民服务中心', 'town', COUNTY), 201);
  await ok(await centre(TOWN2, '五常街道便民服务中心', 'town', COUNTY), 201);
  for (const [code, id, role] of [
    [TOWN1, 'clerk-1', 'acceptance_clerk'],
    [TOWN2, 'clerk-2', 'acceptance_clerk'],
    [COUNTY, 'approver-1', 'back_office_approver'],
    [CITY, 'director-1', 'centre_director'],
    [CITY, 'inspector-1', 'supervisor'],
  ] as const) {
    await ok(await put(`/v1/centres/${code}/operators/${id}`, { name: id, role }), 201);
  }
  for (const code of [TOWN1, TOWN2, COUNTY]) {
    await ok(await put(`/v1/centres/${code}/items/${MORTGAGE}`, { enabled: true }));
    await ok(await put(`/v1/centres/${code}/items/${MOVE_IN}`, { enabled: true }));
  }
  // Town 1 and the city fetch titles from the registry, as windows that handle flats do.
  windows.town1 = await windowAt(TOWN1, ['nrb.real-estate']);
  windows.town2 = await windowAt(TOWN2);
  windows.county = await windowAt(COUNTY);
  windows.city = await windowAt(CITY, ['nrb.real-estate']);
  const resolved = await call(windows.town1, '/v1/subjects/resolve', {
    body: ZHANG_SAN,
    headers: as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
  });
  subjectId = (await ok<{ id: string }>(resolved, 201)).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

interface CaseBody {
  id: string;
  form: Record<string, unknown>;
  notice: { entries: { requirementCode: string; material: { id: string } | null; reference: string | null }[] };
}

async function openWithTitleDeed(): Promise<{ caseId: string; materialId: string }> {
  const opened = await ok<CaseBody>(
    await call(windows.town1, '/v1/cases', {
      body: { itemCode: MORTGAGE, subjectId, form: { certificateNo: CERTIFICATE_NO } },
      headers: as('clerk-1'),
    }),
    201,
  );
  // The clerk scans the title deed the applicant brought and types its number in, as a clerk does.
  const upload = await gw.request(
    `/v1/subjects/${subjectId}/materials?${new URLSearchParams({
      typeCode: 'real_estate_certificate',
      sourceRef: CERTIFICATE_NO,
      fileName: '张三-建国路88号院3号楼502-title.pdf',
    })}`,
    {
      method: 'POST',
      headers: bearer(windows.town1, {
        ...as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
        'content-type': 'application/pdf',
      }),
      body: Buffer.from(pdfDocument(`title deed ${CERTIFICATE_NO} 0031287`)),
    },
  );
  const material = await ok<{ id: string }>(upload, 201);
  await ok(
    await call(windows.town1, `/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'title', materialId: material.id },
      headers: as('clerk-1'),
    }),
  );
  return { caseId: opened.id, materialId: material.id };
}

// First: the applicant has no title handed in yet, so the clerk fetches it and its choices.
describe('review 4: the notice as a supervisor above the centre reads it', () => {
  it('masks the addresses of the applicant’s other flats (choices[].location)', async () => {
    // Moving in: the form names no title number (only needed for a home purchase).
    const opened = await ok<{ id: string }>(
      await call(windows.town1, '/v1/cases', {
        body: { itemCode: MOVE_IN, subjectId, form: { moveToAddress: '浙江省杭州市余杭区仓前街道文一西路1号' } },
        headers: as('clerk-1'),
      }),
      201,
    );
    // The clerk fetches the title from the registry; it lists the applicant's other certificates.
    const fetched = await ok<{ case: { notice: { entries: { requirementCode: string; choices: unknown[] }[] } } }>(
      await call(windows.town1, `/v1/cases/${opened.id}/certificates`, { body: {}, headers: as('clerk-1') }),
    );
    const residence = fetched.case.notice.entries.find((entry) => entry.requirementCode === 'residence');
    expect(residence?.choices.length).toBeGreaterThan(0);

    const overseen = await call(windows.city, `/v1/cases/${opened.id}`, { headers: supervising('director-1') });
    expect(overseen.status).toBe(200);
    const text = await overseen.text();
    expect(text).not.toContain('文一西路1号');
    // Before the fix: overseenCaseView masked each choice's certificateNumber but not its location
    // (北京市朝阳区建国路88号院3号楼1单元502).
    expect(text).not.toContain('建国路88号院3号楼1单元502');
  });
});

describe('review 3: a supervisor above the centre', () => {
  it('sees the form masked on the case, and cannot read the documents it names by their ids', async () => {
    const { caseId } = await openWithTitleDeed();
    // The case read for supervision: the form and the number it names masked (as 4311b7c promises).
    const overseenText = await (
      await call(windows.city, `/v1/cases/${caseId}`, { headers: supervising('director-1') })
    ).text();
    expect(overseenText).not.toContain('0031287');
    const overseen = JSON.parse(overseenText) as CaseBody;
    const titleEntry = overseen.notice.entries.find((entry) => entry.requirementCode === 'title');
    // ...yet the view hands the supervisor the attached material's id and the subject's id.
    const materialId = titleEntry?.material?.id;
    expect(materialId).toBeTruthy();

    // Same client, same operator, same purpose ('supervision'): the material's metadata, its
    // content (the scanned title deed) and the subject's whole list are refused — oversight reads
    // cases, not documents — and nothing of the number or the address shows in the answers.
    const routes = [
      `/v1/subjects/${subjectId}/materials/${materialId}`,
      `/v1/subjects/${subjectId}/materials/${materialId}/content`,
      `/v1/subjects/${subjectId}/materials`,
    ];
    for (const route of routes) {
      const response = await call(windows.city, route, { headers: supervising('director-1') });
      const text = await response.text();
      expect({ route, status: response.status, code: (JSON.parse(text) as { code?: string }).code }).toEqual({
        route,
        status: 403,
        code: 'oversight_only',
      });
      expect(text).not.toContain('0031287');
      expect(text).not.toContain('建国路88号');
    }
  });

  it('a transfer reason typed by a clerk is shown masked on the timeline to the other centre and to supervisors', async () => {
    const { caseId } = await openWithTitleDeed();
    const reason = '申请人张三（身份证11010519491231002X，电话13812345678）要求就近办理';
    await ok(
      await call(windows.town1, `/v1/cases/${caseId}/transfer`, {
        body: { toCentre: TOWN2, reason },
        headers: as('clerk-1'),
      }),
    );
    const readers = {
      town2: await call(windows.town2, `/v1/cases/${caseId}/timeline`, { headers: as('clerk-2') }),
      city: await call(windows.city, `/v1/cases/${caseId}/timeline`, { headers: supervising('director-1') }),
    };
    const shown: Record<string, { ids: string[]; mobile: boolean }> = {};
    for (const [who, response] of Object.entries(readers)) {
      expect(response.status).toBe(200);
      const text = await response.text();
      shown[who] = { ids: findResidentIdNumbers(text), mobile: text.includes('13812345678') };
    }
    // docs/security.md: "Free text that may quote an ID number is masked wherever it is shown,
    // whatever the caller's scopes". Before the fix (2026-12-07): the `transferred` event's `reason` is shown verbatim.
    expect(shown).toEqual({ town2: { ids: [], mobile: false }, city: { ids: [], mobile: false } });
  });

  it('does not see the applicant’s name whole where a reason starts with it', async () => {
    const { caseId } = await openWithTitleDeed();
    // 8 characters: the leading third alone would keep 「张三要」, the whole name.
    await ok(
      await call(windows.town1, `/v1/cases/${caseId}/transfer`, {
        body: { toCentre: TOWN2, reason: '张三要求就近办理' },
        headers: as('clerk-1'),
      }),
    );
    type Timeline = { items: { kind: string; detail: { reason?: string } }[] };
    const reasonIn = (timeline: Timeline) =>
      timeline.items.find((event) => event.kind === 'transferred')?.detail.reason;
    const overseen = await ok<Timeline>(
      await call(windows.city, `/v1/cases/${caseId}/timeline`, { headers: supervising('director-1') }),
    );
    expect(reasonIn(overseen)).toBe('张*要*****');
    // The centre the case went to works it and reads the reason whole, but for the case's names:
    // its window holds no subjects:unmask and did not open the case, so it reads them masked, as in
    // the form and the subject view.
    const worked = await ok<Timeline>(
      await call(windows.town2, `/v1/cases/${caseId}/timeline`, { headers: as('clerk-2') }),
    );
    expect(reasonIn(worked)).toBe('张*要求就近办理');
  });

  it('keeps every text of an event to its leading third for a supervisor, whatever its field is called', async () => {
    const { caseId } = await openWithTitleDeed();
    // As an operator's note on a part withdrawn by hand is stored (review 18's suspicion: only
    // `message` and `reason` were cut for supervisors); one nested text too.
    const note = '已电话告知申请人，材料退回北京市海淀区中关村大街27号2单元301室';
    await gw.services.db.insert(caseEvents).values({
      caseId,
      kind: 'cancel_handled',
      departmentCode: 'NRB',
      detail: { deliveryId: 'dlv_review18', note, courier: { error: '收件人地址：海淀区中关村大街27号' } },
    });
    type Timeline = { items: { kind: string; detail: Record<string, unknown> }[] };
    const overseen = await ok<Timeline>(
      await call(windows.city, `/v1/cases/${caseId}/timeline`, { headers: supervising('director-1') }),
    );
    const detail = overseen.items.find((event) => event.kind === 'cancel_handled')?.detail;
    expect(detail?.deliveryId).toBe('dlv_review18');
    expect(detail?.note).toBe(`${[...note].slice(0, 6).join('')}${'*'.repeat([...note].length - 6)}`);
    expect(JSON.stringify(detail)).not.toContain('中关村大街27号');
    // The centre that works the case reads the note whole.
    const worked = await ok<Timeline>(
      await call(windows.town1, `/v1/cases/${caseId}/timeline`, { headers: as('clerk-1') }),
    );
    expect(worked.items.find((event) => event.kind === 'cancel_handled')?.detail.note).toBe(note);
  });
});

/**
 * Review 4: `oversight_only` held only while the request stated the purpose `supervision`; the same
 * window and operator stating `case_acceptance` read the documents the masked view named. It is now
 * decided by who is at the window as well: a supervisor (督查人员) handles no case and reads no
 * subject or document directly, whatever purpose is stated. A centre director handles cases at
 * their own centre, and reads handed-in documents as every window does ("read all, with a
 * purpose"): that read is recorded under the director's name and the purpose stated.
 */
describe('review 4: oversight decided by who is at the window, not by the purpose stated', () => {
  it('a supervisor reads no subject or document directly under another purpose', async () => {
    const { caseId, materialId } = await openWithTitleDeed();
    const overseen = await ok<{ notice: CaseBody['notice'] }>(
      await call(windows.city, `/v1/cases/${caseId}`, { headers: supervising('inspector-1') }),
    );
    expect(overseen.notice.entries.find((entry) => entry.requirementCode === 'title')?.material?.id).toBe(materialId);
    const asWork = as('inspector-1', { 'onewindow-purpose': 'case_acceptance' });
    const answers: Record<string, unknown> = {};
    for (const [door, response] of Object.entries({
      metadata: await call(windows.city, `/v1/subjects/${subjectId}/materials/${materialId}`, { headers: asWork }),
      content: await call(windows.city, `/v1/subjects/${subjectId}/materials/${materialId}/content`, {
        headers: asWork,
      }),
      list: await call(windows.city, `/v1/subjects/${subjectId}/materials`, { headers: asWork }),
      subject: await call(windows.city, `/v1/subjects/${subjectId}`, { headers: asWork }),
      resolve: await call(windows.city, '/v1/subjects/resolve', { body: ZHANG_SAN, headers: asWork }),
    })) {
      const text = await response.text();
      expect(text).not.toContain('0031287');
      answers[door] = { status: response.status, code: (JSON.parse(text) as { code?: string }).code };
    }
    const refused = { status: 403, code: 'operator_unknown' };
    // Before the fix: 200 for all five.
    expect(answers).toEqual({ metadata: refused, content: refused, list: refused, subject: refused, resolve: refused });
  });

  it('a director reading a document for case work is recorded under that purpose and name', async () => {
    const { materialId } = await openWithTitleDeed();
    const read = await call(windows.city, `/v1/subjects/${subjectId}/materials/${materialId}`, {
      headers: as('director-1', { 'onewindow-purpose': 'case_acceptance' }),
    });
    expect(read.status).toBe(200);
    const recorded = await gw.services.db
      .select({ purpose: auditEntries.purpose, outcome: auditEntries.outcome })
      .from(auditEntries)
      .where(and(eq(auditEntries.operatorId, 'director-1'), eq(auditEntries.action, 'material.read')));
    expect(recorded).toContainEqual({ purpose: 'case_acceptance', outcome: 'allowed' });
  });
});

/**
 * Review 5: two more free texts a supervisor above the centre reads — a carrier's route remark on
 * the case's result, and the applicant's rating comment listed to the centres above — kept the
 * applicant's name whole.
 */
describe('review 5: free text with the applicant’s name, read from above', () => {
  async function completedMoveIn(): Promise<{ id: string; caseNumber: string }> {
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call(windows.town1, '/v1/cases', {
        body: { itemCode: MOVE_IN, subjectId, form: { moveToAddress: '浙江省杭州市余杭区仓前街道文一西路1号' } },
        headers: as('clerk-1'),
      }),
      201,
    );
    await gw.services.db
      .update(cases)
      .set({ status: 'completed', acceptedOn: '2026-12-16', dueOn: '2026-12-23', completedOn: '2026-12-18' })
      .where(eq(cases.id, opened.id));
    return opened;
  }

  it('masks the name in a carrier’s route remark', async () => {
    const opened = await completedMoveIn();
    // The courier worker stores the newest route node as the carrier sent it (courier.ts).
    await gw.services.db
      .update(caseResults)
      .set({
        method: 'express',
        status: 'delivered',
        carrier: '顺丰速运',
        trackingNumber: 'SF1400000000001',
        lastRoute: {
          at: '2026-12-18T01:30:00.000Z',
          place: '杭州市余杭区',
          remark: '签收人：张三，已签收',
          state: 'delivered',
        },
        deliveredAt: new Date('2026-12-18T01:30:00.000Z'),
      })
      .where(eq(caseResults.caseId, opened.id));
    const overseen = await ok<{ result: { lastRoute: { remark: string } } }>(
      await call(windows.city, `/v1/cases/${opened.id}`, { headers: supervising('director-1') }),
    );
    // Before the fix: overseenCaseView passed `result` through as the window sees it.
    expect(overseen.result.lastRoute.remark).not.toContain('张三');
  });

  it('masks the applicant’s name in a rating comment listed to the centres above, keeping the words', async () => {
    const opened = await completedMoveIn();
    const rated = await gw.request('/v1/progress/rating', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        caseNumber: opened.caseNumber,
        check: ZHANG_SAN.identifier.slice(-4),
        score: 1,
        comment: '我是张三，窗口让我跑了三趟。',
      }),
    });
    expect(rated.status).toBe(201);
    const listed = await ok<{ ratings: { caseNumber: string; comment: string | null }[] }>(
      await call(windows.city, `/v1/ratings?centre=${TOWN1}`, { headers: supervising('director-1') }),
    );
    // Before the fix: 「我是张三，…」 in clear.
    expect(listed.ratings.find((rating) => rating.caseNumber === opened.caseNumber)?.comment).toBe(
      '我是张*，窗口让我跑了三趟。',
    );
  });
});
