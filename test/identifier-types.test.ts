/**
 * Identifier types beyond the resident ID number and the credit code, through the HTTP API:
 * passport holders (with their nationality), Hong Kong, Macao and Taiwan residents by Mainland
 * Travel Permit, and foreign permanent residents by their 2023 or 2017 card, resolved once,
 * masked by default, each bad number refused with its own 422 code and nothing stored; and a
 * department that knows persons by resident ID number only is never sent another number.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import { rowsOf } from '../gateway/db/client.js';
import { accessRequests } from '../gateway/db/schema.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const PURPOSE = { 'onewindow-purpose': 'case_acceptance', 'onewindow-operator': 'clerk-7' };
const JSON_BODY = { 'content-type': 'application/json' };

/** Issued in Beijing (11) to a US citizen (840), born 1985-03-15; MOD 11-2 check 0 (sum 298). */
const PERMANENT_RESIDENCE_2023 = '911840198503150120';

let gw: TestGateway;
let psb: RunningSimulator;
let windowToken: string;
let unmaskToken: string;
let caseToken: string;

interface SubjectBody {
  id: string;
  kind: string;
  identifierType: string;
  identifier: string;
  name: string;
  masked: boolean;
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'PSB',
        name: 'Population registry',
        adapter: 'psb-population',
        baseUrl: psb.url,
        options: { appKey: PSB_DEMO_APP_KEY, appSecret: { $env: 'TEST_PSB_SECRET' } },
        identityVerification: { identifierTypes: ['resident_id'] },
      },
    ]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    TEST_PSB_SECRET: PSB_DEMO_APP_SECRET,
  });
  const window = await gw.createClient('window');
  windowToken = (await gw.services.tokens.issue(window.client, ['subjects:read', 'subjects:write'])).accessToken;
  unmaskToken = (await gw.services.tokens.issue(window.client, ['subjects:read', 'subjects:unmask'])).accessToken;
  caseToken = (
    await gw.services.tokens.issue(window.client, ['subjects:read', 'certificates:read', 'cases:read', 'cases:write'])
  ).accessToken;
  // The population register is a conditional resource: this window may use it.
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: 'acr_test_identifier_types',
    resourceCode: 'psb.population',
    clientId: window.client.id,
    purpose: 'verify applicants',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_test_psb',
  });
});

afterAll(async () => {
  await gw?.close();
  await psb?.close();
});

async function resolve(body: Record<string, unknown>, token = windowToken): Promise<Response> {
  return gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...PURPOSE, ...JSON_BODY }),
    body: JSON.stringify(body),
  });
}

async function resolved(body: Record<string, unknown>, status: 200 | 201): Promise<SubjectBody> {
  const response = await resolve(body);
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as SubjectBody;
}

async function subjectCount(): Promise<number> {
  const result = await gw.database.db.execute(sql`select count(*)::int as n from subjects`);
  return Number(rowsOf<{ n: number }>(result)[0]?.n ?? 0);
}

async function readUnmasked(id: string): Promise<SubjectBody> {
  const response = await gw.request(`/v1/subjects/${id}`, { headers: bearer(unmaskToken, PURPOSE) });
  expect(response.status).toBe(200);
  return (await response.json()) as SubjectBody;
}

describe('resolving persons by the new identifier types', () => {
  it('a passport holder: NATIONALITY:NUMBER, one subject per state and number, masked by default', async () => {
    const created = await resolved(
      { identifierType: 'passport', identifier: '123456789', nationality: 'USA', name: 'John Smith' },
      201,
    );
    expect(created).toMatchObject({
      kind: 'person',
      identifierType: 'passport',
      identifier: 'USA:1******89',
      name: 'J*********',
      masked: true,
    });
    // The same passport, typed differently: the same subject.
    const again = await resolved(
      { identifierType: 'passport', identifier: ' 123456789 ', nationality: 'usa', name: 'John Smith' },
      200,
    );
    expect(again.id).toBe(created.id);
    // The same number from another state is another person.
    const canadian = await resolved(
      { identifierType: 'passport', identifier: '123456789', nationality: 'CAN', name: 'Jean Tremblay' },
      201,
    );
    expect(canadian.id).not.toBe(created.id);
    expect(canadian.identifier).toBe('CAN:1******89');
    expect(await readUnmasked(created.id)).toMatchObject({
      identifier: 'USA:123456789',
      name: 'John Smith',
      masked: false,
    });
  });

  it('a PRC passport holder (E + 8 digits)', async () => {
    const created = await resolved(
      { identifierType: 'passport', identifier: 'e12345678', nationality: 'CHN', name: '王小明' },
      201,
    );
    expect(created).toMatchObject({ kind: 'person', identifier: 'CHN:E******78' });
    expect((await readUnmasked(created.id)).identifier).toBe('CHN:E12345678');
  });

  it('Hong Kong, Macao and Taiwan residents by Mainland Travel Permit', async () => {
    const hongKong = await resolved(
      { identifierType: 'mainland_travel_permit', identifier: 'h12345678', name: '陈大文' },
      201,
    );
    expect(hongKong).toMatchObject({
      kind: 'person',
      identifierType: 'mainland_travel_permit',
      identifier: 'H******78',
      name: '陈**',
      masked: true,
    });
    expect(
      (await resolved({ identifierType: 'mainland_travel_permit', identifier: 'H12345678', name: '陈大文' }, 200)).id,
    ).toBe(hongKong.id);
    expect((await readUnmasked(hongKong.id)).identifier).toBe('H12345678');
    const macao = await resolved(
      { identifierType: 'mainland_travel_permit', identifier: 'M87654321', name: '何美玲' },
      201,
    );
    expect(macao.identifier).toBe('M******21');
    const taiwan = await resolved(
      { identifierType: 'mainland_travel_permit', identifier: '01234567', name: '林志明' },
      201,
    );
    expect(taiwan.identifier).toBe('******67');
  });

  it('foreign permanent residents by their 2023 card (18 characters) and their 2017 card (15)', async () => {
    const card2023 = await resolved(
      { identifierType: 'foreign_permanent_residence', identifier: PERMANENT_RESIDENCE_2023, name: 'Anna Müller' },
      201,
    );
    expect(card2023).toMatchObject({
      kind: 'person',
      identifierType: 'foreign_permanent_residence',
      identifier: '911840********0120',
      masked: true,
    });
    expect((await readUnmasked(card2023.id)).identifier).toBe(PERMANENT_RESIDENCE_2023);
    const card2017 = await resolved(
      { identifierType: 'foreign_permanent_residence', identifier: 'deu310002290017', name: 'Karl Weber' },
      201,
    );
    expect(card2017.identifier).toBe('DEU31********17');
    expect((await readUnmasked(card2017.id)).identifier).toBe('DEU310002290017');
  });
});

describe('bad numbers', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['passport_length', { identifierType: 'passport', identifier: 'E123', nationality: 'CHN' }],
    ['passport_characters', { identifierType: 'passport', identifier: 'E1234 5678', nationality: 'CHN' }],
    ['passport_nationality_missing', { identifierType: 'passport', identifier: 'E12345678' }],
    ['passport_nationality', { identifierType: 'passport', identifier: 'E12345678', nationality: 'XXA' }],
    [
      'nationality_not_applicable',
      { identifierType: 'resident_id', identifier: '11010519491231002X', nationality: 'CHN' },
    ],
    ['travel_permit_renewal_count', { identifierType: 'mainland_travel_permit', identifier: 'H1234567801' }],
    ['travel_permit_format', { identifierType: 'mainland_travel_permit', identifier: 'HK1234567' }],
    ['permanent_residence_length', { identifierType: 'foreign_permanent_residence', identifier: '91184019850315012' }],
    [
      'permanent_residence_characters',
      { identifierType: 'foreign_permanent_residence', identifier: '91184019850315012A' },
    ],
    ['permanent_residence_prefix', { identifierType: 'foreign_permanent_residence', identifier: '11010519491231002X' }],
    ['permanent_residence_division', { identifierType: 'foreign_permanent_residence', identifier: 'USA718503150012' }],
    [
      'permanent_residence_nationality',
      { identifierType: 'foreign_permanent_residence', identifier: 'CHN118503150012' },
    ],
    // Born 2999-01-01: in the future whatever day the test runs.
    [
      'permanent_residence_birth_date',
      { identifierType: 'foreign_permanent_residence', identifier: '911840299901010126' },
    ],
    ['permanent_residence_check', { identifierType: 'foreign_permanent_residence', identifier: '911840198503150121' }],
    ['id_number_permanent_residence', { identifierType: 'resident_id', identifier: PERMANENT_RESIDENCE_2023 }],
  ];

  it.each(bad)('%s: 422 with that code, the number not echoed, and no subject written', async (code, body) => {
    const before = await subjectCount();
    const response = await resolve({ ...body, name: '测试' });
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem).toMatchObject({ status: 422, code });
    const identifier = String(body['identifier']);
    expect(JSON.stringify(problem)).not.toContain(identifier.slice(-6));
    expect(await subjectCount()).toBe(before);
  });

  it('an unknown identifier type is a 400 validation failure', async () => {
    const response = await resolve({ identifierType: 'drivers_licence', identifier: '123456789', name: '测试' });
    expect(await problemOf(response)).toMatchObject({ status: 400, code: 'validation_failed' });
  });
});

describe('departments that know persons by resident ID number only', () => {
  function verify(subjectId: string): Promise<Response> {
    return gw.request(`/v1/subjects/${subjectId}/identity-verification`, {
      method: 'POST',
      headers: bearer(windowToken, PURPOSE),
    });
  }

  it('are never sent a passport, travel permit or permanent resident card number: 422 identifier_type_not_supported_by_department', async () => {
    const subjects = [
      await resolved(
        { identifierType: 'passport', identifier: 'X9876543', nationality: 'FRA', name: 'Marie Dubois' },
        201,
      ),
      await resolved({ identifierType: 'mainland_travel_permit', identifier: 'M11223344', name: '梁嘉欣' }, 201),
      await resolved(
        { identifierType: 'foreign_permanent_residence', identifier: 'JPN440002290031', name: 'Sato Yuki' },
        201,
      ),
    ];
    psb.resetCounts();
    for (const subject of subjects) {
      const problem = await problemOf(await verify(subject.id));
      expect(problem).toMatchObject({
        status: 422,
        code: 'identifier_type_not_supported_by_department',
        identifierType: subject.identifierType,
      });
    }
    expect(psb.requestCount()).toBe(0);
  });

  it('are not asked for a certificate of such a person: the answer says why, the department is not called, the refusal is on record', async () => {
    const person = await resolved(
      { identifierType: 'passport', identifier: 'K7654321', nationality: 'DEU', name: 'Anna Weber' },
      201,
    );
    psb.resetCounts();
    const response = await gw.request(`/v1/subjects/${person.id}/certificates`, {
      method: 'POST',
      headers: bearer(caseToken, { ...PURPOSE, ...JSON_BODY }),
      body: JSON.stringify({ types: ['household_register'] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      results: { status: string; error: { code: string } | null; certificate: unknown }[];
    };
    expect(body.results[0]).toMatchObject({
      status: 'denied',
      certificate: null,
      error: { code: 'identifier_type_not_supported_by_department' },
    });
    expect(psb.requestCount()).toBe(0);
    const audited = await gw.database.db.execute(
      sql`select count(*)::int as n from audit_entries where subject_ref = ${person.id} and 'refused:identifier_type_not_supported_by_department' = any(fields)`,
    );
    expect(Number(rowsOf<{ n: number }>(audited)[0]?.n)).toBe(1);
  });

  it('cannot open a case for such a person: the case would go to such a department; 422 and no case written', async () => {
    const person = await resolved(
      { identifierType: 'mainland_travel_permit', identifier: 'H87654321', name: '陈志明' },
      201,
    );
    const before = await gw.database.db.execute(sql`select count(*)::int as n from cases`);
    const response = await gw.request('/v1/cases', {
      method: 'POST',
      headers: bearer(caseToken, { ...PURPOSE, ...JSON_BODY }),
      body: JSON.stringify({ itemCode: 'household_move_in', subjectId: person.id }),
    });
    expect(await problemOf(response)).toMatchObject({
      status: 422,
      code: 'identifier_type_not_supported_by_department',
      identifierType: 'mainland_travel_permit',
    });
    const after = await gw.database.db.execute(sql`select count(*)::int as n from cases`);
    expect(rowsOf<{ n: number }>(after)[0]?.n).toBe(rowsOf<{ n: number }>(before)[0]?.n);
  });

  it('still verify a resident ID number (the refusal is about the type, not the route)', async () => {
    const person = await resolved(
      { identifierType: 'resident_id', identifier: '11010519491231002X', name: '王芳' },
      201,
    );
    psb.resetCounts();
    const response = await verify(person.id);
    expect(response.status).toBe(200);
    expect(psb.requestCount()).toBeGreaterThan(0);
  });
});
