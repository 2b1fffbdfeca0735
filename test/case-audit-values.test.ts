/**
 * A case's row and the audit entries of its open and submit keep their own operator and centre.
 * Each is written by one statement (`insertOpenedCase`, `submitCaseWrites`: data-modifying CTEs)
 * where the case and the entry have columns of the same names; while the entry's placeholders
 * were not its own (`audit…`), the opening wrote the entry's operator and centre into the case row.
 *
 * Through the API the opening's entry holds the case's own operator and centre by construction (a
 * window serves exactly one centre; the operator is the request's), so the API test could not see
 * that mix-up: the statements are also run here with an entry whose every value differs from the
 * case's, which fails on the statements as they were before the fix. At submission the values do
 * differ through the API (another clerk at another centre submits a case transferred there), but
 * the submission writes no operator or centre on the case row.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { auditEntryValues } from '../gateway/audit/record.js';
import { insertOpenedCase, submitCaseWrites } from '../gateway/cases/statements.js';
import { auditEntries, cases, deliveries } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { pdfDocument } from './fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from './harness.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
/** One department, no deciding level: a submission takes the one-statement path (`submitCaseWrites`). */
const MOVE_IN = 'household_move_in';
const PROVINCE = '330000000';
const CITY = '330100000';
const COUNTY = '330110000';
const TOWN1 = '330110001';
const TOWN2 = '330110002';

/** A fixed Friday: acceptance days and due dates do not depend on the day the test runs. */
const clock = fixedClock('2026-12-18T02:00:00.000Z');

let psb: RunningSimulator;
let gw: TestGateway;
let admin: string;
const town1 = { id: '', token: '' };
const town2 = { id: '', token: '' };
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

async function windowAt(code: string): Promise<{ id: string; token: string }> {
  const { client } = await gw.createClient('window');
  await ok(await put(`/v1/clients/${client.id}/centres`, { centreCodes: [code] }));
  const token = (
    await gw.services.tokens.issue(client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'cases:read',
      'cases:write',
    ])
  ).accessToken;
  return { id: client.id, token };
}

async function caseRow(caseId: string) {
  const [row] = await gw.services.db
    .select({
      clientId: cases.clientId,
      operatorId: cases.operatorId,
      acceptingCentreCode: cases.acceptingCentreCode,
      centreCode: cases.centreCode,
      status: cases.status,
    })
    .from(cases)
    .where(eq(cases.id, caseId));
  return row;
}

async function auditEntry(action: string, caseNumber: string) {
  const rows = await gw.services.db
    .select({
      actorClientId: auditEntries.actorClientId,
      operatorId: auditEntries.operatorId,
      centreCode: auditEntries.centreCode,
      subjectRef: auditEntries.subjectRef,
    })
    .from(auditEntries)
    .where(
      and(eq(auditEntries.action, action), eq(auditEntries.caseRef, caseNumber), eq(auditEntries.outcome, 'allowed')),
    );
  expect(rows).toHaveLength(1);
  return rows[0];
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  // The submission is refused unless the item's department is configured (nothing is delivered: no worker).
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: JSON.stringify([
        {
          code: 'PSB',
          name: 'Population registry',
          adapter: 'psb-population',
          baseUrl: psb.url,
          options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
        },
      ]),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock },
  );
  admin = await gw.tokenFor('admin');
  for (const [code, name, level, parentCode] of [
    [PROVINCE, '浙江省政务服务中心', 'province', null],
    [CITY, '杭州市民中心', 'city', PROVINCE],
    [COUNTY, '余杭区行政服务中心', 'county', CITY],
    [TOWN1, '仓前街道便民服务中心', 'town', COUNTY],
    [TOWN2, '五常街道便民服务中心', 'town', COUNTY],
  ] as const) {
    await ok(
      await put(`/v1/centres/${code}`, { name, level, parentCode, address: name, openingHours: '9:00-17:00' }),
      201,
    );
  }
  await ok(await put(`/v1/centres/${TOWN1}/operators/clerk-1`, { name: 'clerk-1', role: 'acceptance_clerk' }), 201);
  await ok(await put(`/v1/centres/${TOWN2}/operators/clerk-2`, { name: 'clerk-2', role: 'acceptance_clerk' }), 201);
  for (const code of [TOWN1, TOWN2]) await ok(await put(`/v1/centres/${code}/items/${MOVE_IN}`, { enabled: true }));
  Object.assign(town1, await windowAt(TOWN1));
  Object.assign(town2, await windowAt(TOWN2));
  const resolved = await call(town1.token, '/v1/subjects/resolve', {
    body: ZHANG_SAN,
    headers: as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
  });
  subjectId = (await ok<{ id: string }>(resolved, 201)).id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await psb?.close();
});

describe('through the API', () => {
  it('opens at town 1 by clerk-1 and is submitted at town 2 by clerk-2: each row keeps its own', async () => {
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call(town1.token, '/v1/cases', {
        body: {
          itemCode: MOVE_IN,
          subjectId,
          form: { moveToAddress: '杭州市余杭区文一西路1号', reason: 'employment' },
        },
        headers: as('clerk-1'),
      }),
      201,
    );
    const opening = { clientId: town1.id, operatorId: 'clerk-1', acceptingCentreCode: TOWN1, centreCode: TOWN1 };
    expect(await caseRow(opened.id)).toEqual({ ...opening, status: 'open' });
    expect(await auditEntry('case.open', opened.caseNumber)).toEqual({
      actorClientId: town1.id,
      operatorId: 'clerk-1',
      centreCode: TOWN1,
      subjectRef: subjectId,
    });

    for (const [requirementCode, typeCode] of [
      ['applicant_identity', 'resident_id_card'],
      ['household', 'household_register'],
      ['residence', 'lease_contract'],
    ] as const) {
      const upload = await gw.request(
        `/v1/subjects/${subjectId}/materials?typeCode=${typeCode}&fileName=${typeCode}.pdf`,
        {
          method: 'POST',
          headers: bearer(town1.token, {
            ...as('clerk-1', { 'onewindow-purpose': 'case_acceptance' }),
            'content-type': 'application/pdf',
          }),
          body: Buffer.from(pdfDocument(typeCode)),
        },
      );
      const material = await ok<{ id: string }>(upload, 201);
      await ok(
        await call(town1.token, `/v1/cases/${opened.id}/materials`, {
          body: { requirementCode, materialId: material.id },
          headers: as('clerk-1'),
        }),
      );
    }
    await ok(
      await call(town1.token, `/v1/cases/${opened.id}/transfer`, {
        body: { toCentre: TOWN2, reason: '就近办' },
        headers: as('clerk-1'),
      }),
    );
    const submitted = await ok<{ status: string; acceptingCentreCode: string; centreCode: string }>(
      await call(town2.token, `/v1/cases/${opened.id}/submit`, {
        body: {},
        headers: as('clerk-2', { 'idempotency-key': 'audit-values-submit-1' }),
      }),
    );
    expect(submitted).toMatchObject({ status: 'submitted', acceptingCentreCode: TOWN1, centreCode: TOWN2 });
    // The one-statement path ran: one delivery, to the item's one department.
    const delivered = await gw.services.db
      .select({ departmentCode: deliveries.departmentCode })
      .from(deliveries)
      .where(eq(deliveries.caseId, opened.id));
    expect(delivered).toEqual([{ departmentCode: 'PSB' }]);
    // The case still names who opened it where; the entry names who submitted it where.
    expect(await caseRow(opened.id)).toEqual({ ...opening, centreCode: TOWN2, status: 'submitted' });
    expect(await auditEntry('case.submit', opened.caseNumber)).toEqual({
      actorClientId: town2.id,
      operatorId: 'clerk-2',
      centreCode: TOWN2,
      subjectRef: subjectId,
    });
  });
});

describe('the statements themselves', () => {
  /** An entry whose every value differs from the case's (another client, operator and centre). */
  const entryFor = (action: string, caseNumber: string) =>
    auditEntryValues({
      actor: { clientId: 'cli_audit_actor', kind: 'department' },
      operatorId: 'audit-operator',
      centreCode: COUNTY,
      action,
      subjectRef: subjectId,
      caseRef: caseNumber,
      outcome: 'allowed',
      requestId: `req_${action}`,
    });

  it('write the case row and the audit entry each with its own operator and centre', async () => {
    const caseId = 'case_audit_values_statement';
    const caseNumber = 'OW20261218999001';
    const opened = entryFor('case.open', caseNumber);
    await gw.services.db.transaction(async (tx) => {
      await insertOpenedCase(tx, {
        id: caseId,
        caseNumber,
        itemCode: MOVE_IN,
        subjectId,
        clientId: town1.id,
        operatorId: 'case-operator',
        acceptingCentreCode: TOWN1,
        centreCode: TOWN2,
        form: gw.services.access.protection.sealJson('cases.form', {}),
        promisedDays: 5,
        materialsRequired: 0,
        contactMobile: null,
        requirementRows: '[]',
        materialsUpdatedAt: '2026-12-18T02:00:00.000Z',
        eventDetail: {},
        resultMethod: 'window_pickup',
        resultAddress: null,
        ...opened,
      });
    });
    const caseOwn = {
      clientId: town1.id,
      operatorId: 'case-operator',
      acceptingCentreCode: TOWN1,
      centreCode: TOWN2,
    };
    const entryOwn = {
      actorClientId: 'cli_audit_actor',
      operatorId: 'audit-operator',
      centreCode: COUNTY,
      subjectRef: subjectId,
    };
    expect(await caseRow(caseId)).toEqual({ ...caseOwn, status: 'open' });
    expect(await auditEntry('case.open', caseNumber)).toEqual(entryOwn);

    const submittedAt = new Date('2026-12-18T02:00:00.000Z');
    const updated = await gw.services.db.transaction((tx) =>
      submitCaseWrites(tx, {
        caseId,
        form: gw.services.access.protection.sealJson('cases.form', {}),
        submittedAt,
        acceptedOn: '2026-12-18',
        promisedDays: 5,
        dueOn: '2026-12-25',
        statutoryDueOn: '2027-01-15',
        materialsRequired: 0,
        materialsHandedIn: 0,
        materialsReused: 0,
        materialsFetched: 0,
        materialsDeferred: 0,
        deliveryId: 'dlv_audit_values_statement',
        departmentCode: 'PSB',
        stage: 1,
        deliveryStatus: 'pending',
        eventDetail: {},
        ...entryFor('case.submit', caseNumber),
      }),
    );
    expect(updated).toEqual([{ id: caseId }]);
    expect(await caseRow(caseId)).toEqual({ ...caseOwn, status: 'submitted' });
    expect(await auditEntry('case.submit', caseNumber)).toEqual(entryOwn);
  });
});
