/**
 * OWASP API1 (object-level), API3 (property-level: mass assignment) and API5 (function-level
 * authorisation) against the real server.
 *
 * - The role × route matrix: for every protected operation in the OpenAPI document and every
 *   client kind, a token with everything that kind may hold is let through exactly when it holds
 *   the operation's scopes, and refused with 403 `insufficient_scope` otherwise. The matrix itself
 *   is pinned in role-route-matrix.json, so widening a kind's reach shows up in review.
 * - Object level: every operation whose path carries an id is listed below, either with the test
 *   proving that another client of the same kind cannot reach the object (404 of the same shape as
 *   an id that does not exist, and nothing changes), or as shared by design with the reason.
 *   A new id-bearing route fails the sweep until it is listed.
 * - Mass assignment: fields a caller must not set (owner, status, provenance, secrets, ids) are
 *   refused or ignored, never stored.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientKind, clientKinds } from '../../gateway/auth/scopes.js';
import { pdfDocument } from '../fixtures/documents.js';
import { type SecurityGateway, basic, bearerHeaders, startSecurityGateway, unmaskedIdNumberLeaks } from './support.js';

interface Operation {
  method: string;
  path: string;
  scopes: string[];
}

const openapi = JSON.parse(
  readFileSync(new URL('../../contracts/onewindow.openapi.json', import.meta.url), 'utf8'),
) as {
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
};

/** Every operation of the document that needs a bearer token, with its scopes. */
const protectedOperations: Operation[] = Object.entries(openapi.paths).flatMap(([path, operations]) =>
  Object.entries(operations).flatMap(([method, operation]) => {
    const bearer = operation.security?.find((requirement) => requirement.bearerAuth !== undefined)?.bearerAuth;
    return bearer ? [{ method: method.toUpperCase(), path, scopes: bearer }] : [];
  }),
);

const JSON_TYPE = { 'content-type': 'application/json' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
const WANG_WU = { identifierType: 'resident_id', identifier: '110101199003074514', name: '王五' };

let gateway: SecurityGateway;
/** One token per kind with everything the kind may hold, and the scopes the token came with. */
const tokens = new Map<ClientKind, { token: string; scopes: Set<string> }>();

async function tokenWithScopes(
  kind: ClientKind,
  departmentCode?: string,
): Promise<{ token: string; scopes: Set<string>; clientId: string }> {
  const { id, secret } = await gateway.client(kind, departmentCode ? { departmentCode } : {});
  const answer = await gateway.send('/oauth/token', {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const body = answer.json<{ access_token: string; scope: string }>();
  return { token: body.access_token, scopes: new Set(body.scope.split(' ')), clientId: id };
}

function call(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const isBytes = body instanceof Uint8Array;
  return gateway.send(path, {
    method,
    headers: bearerHeaders(token, { ...(body === undefined || isBytes ? {} : JSON_TYPE), ...headers }),
    ...(body === undefined ? {} : { body: isBytes ? body : JSON.stringify(body) }),
  });
}

beforeAll(async () => {
  gateway = await startSecurityGateway();
  for (const kind of clientKinds)
    tokens.set(kind, await tokenWithScopes(kind, kind === 'department' ? 'PSB' : undefined));
});
afterAll(async () => gateway?.close());

describe('function level: the role × route matrix', () => {
  it('lets each kind through exactly the operations whose scopes it holds, and pins that matrix', async () => {
    expect(protectedOperations.length).toBeGreaterThan(40);
    // Operation → the kinds let through, e.g. "GET /metrics": "auditor admin".
    const matrix: Record<string, string> = {};
    const wrong: string[] = [];
    for (const operation of protectedOperations) {
      const key = `${operation.method} ${operation.path}`;
      const allowedKinds: string[] = [];
      // Any id will do: the scope check comes before the id is even parsed.
      const path = operation.path.replace(/\{[^}]+\}/g, 'zz_not_an_id');
      for (const kind of clientKinds) {
        const held = tokens.get(kind);
        if (!held) throw new Error(`no token for ${kind}`);
        const shouldPass = operation.scopes.every((scope) => held.scopes.has(scope));
        const hasBody = operation.method !== 'GET' && operation.method !== 'DELETE';
        const answer = await call(held.token, operation.method, path, hasBody ? {} : undefined, PURPOSE);
        const code = answer.headers.get('content-type')?.includes('json')
          ? (answer.json<{ code?: string }>().code ?? '')
          : '';
        const refusedForScope = answer.status === 403 && code === 'insufficient_scope';
        if (!refusedForScope) allowedKinds.push(kind);
        if (answer.status === 401) wrong.push(`${key} as ${kind}: 401 with a valid token`);
        else if (shouldPass === refusedForScope)
          wrong.push(
            `${key} as ${kind}: expected ${shouldPass ? 'to pass the scope check' : '403 insufficient_scope'}, got ${answer.status} ${code}`,
          );
      }
      matrix[key] = allowedKinds.join(' ') || '(none: subject-scoped tokens only)';
    }
    expect(wrong).toEqual([]);
    await expect(`${JSON.stringify(matrix, null, 2)}\n`).toMatchFileSnapshot('./role-route-matrix.json');
  });

  it('never grants a kind a scope outside its list, even when a client asks for it', async () => {
    const window = await gateway.client('window');
    const answer = await gateway.send('/oauth/token', {
      method: 'POST',
      headers: { authorization: basic(window.id, window.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=clients:admin%20cases:read',
    });
    expect(answer.status).toBe(400);
    expect(answer.json<{ code: string }>().code).toBe('invalid_scope');
  });
});

/** Path templates with an id, and how each is protected at object level. */
const objectLevel: Record<string, string> = {
  'GET /v1/clients/{clientId}': 'shared: administrators manage every client',
  'POST /v1/clients/{clientId}/disable': 'shared: administrators manage every client',
  'GET /v1/subjects/{subjectId}':
    'shared by design with a stated purpose, audited; tested: purpose required, subject tokens refused',
  'POST /v1/subjects/{subjectId}/identity-verification': 'shared by design with a stated purpose, audited',
  'POST /v1/subjects/{subjectId}/links': 'owned: a department links identifiers of its own department only (tested)',
  'PUT /v1/material-types/{code}': 'shared: catalogue administration',
  'PUT /v1/material-types/{code}/grants/{clientId}': 'shared: catalogue administration',
  'DELETE /v1/material-types/{code}/grants/{clientId}': 'shared: catalogue administration',
  'POST /v1/subjects/{subjectId}/materials': 'shared: anyone handing in a document for a subject (with purpose)',
  'GET /v1/subjects/{subjectId}/materials':
    'windows: shared by design (a document handed in once is reused), with purpose, audited; departments: own, issued or granted only (tested)',
  'GET /v1/subjects/{subjectId}/materials/{materialId}': 'as the listing (tested)',
  'GET /v1/subjects/{subjectId}/materials/{materialId}/content': 'as the listing (tested)',
  'GET /v1/subjects/{subjectId}/reusable-materials': 'as the listing (tested)',
  'POST /v1/subjects/{subjectId}/materials/{materialId}/revoke':
    'owned: provenance decides — only the client that handed it in, or the department that supplied it (tested)',
  'GET /v1/subjects/{subjectId}/access-log': 'shared: auditors read any subject’s log',
  'POST /v1/subjects/{subjectId}/tracker-token':
    'owned by the applicant: only at their own request, with their identity document and a verified identity (tested)',
  'GET /v1/contracts/{resourceCode}': 'shared: the catalogue is public to every client',
  'GET /v1/contracts/{resourceCode}/versions/{version}': 'shared: the catalogue is public to every client',
  'GET /v1/contracts/{resourceCode}/diff': 'shared: the catalogue is public to every client',
  'POST /v1/contracts/{resourceCode}/access-requests':
    'owned: the request is the caller’s own (tested: owner cannot be assigned)',
  'POST /v1/access-requests/{id}/decision': 'owned: only the resource’s department decides (tested)',
  'GET /v1/departments/{code}': 'shared: department health',
  'POST /v1/departments/{code}/health-check': 'shared: department health',
  'POST /v1/subjects/{subjectId}/certificates': 'shared by design with a stated purpose and resource grants, audited',
  'PUT /v1/calendar/years/{year}': 'shared: catalogue administration',
  'GET /v1/calendar/years/{year}': 'shared: the calendar',
  'GET /v1/items/{code}': 'shared: the item catalogue',
  'PUT /v1/items/{code}': 'shared: catalogue administration',
  'GET /v1/cases/{caseId}': 'owned (tested)',
  'GET /v1/cases/{caseId}/timeline': 'owned (tested)',
  'GET /v1/cases/{caseId}/notifications': 'owned, as the case (tested)',
  'POST /v1/cases/{caseId}/materials': 'owned (tested)',
  'POST /v1/cases/{caseId}/certificates': 'owned (tested)',
  'POST /v1/cases/{caseId}/submit': 'owned (tested)',
  'POST /v1/cases/{caseId}/transfer': 'owned by the centre handling the case (test/centres.test.ts)',
  'POST /v1/cases/{caseId}/result/collection': 'owned, as a change of the case (test/results.test.ts)',
  'GET /v1/centres/{code}': 'shared: the centre tree',
  'PUT /v1/centres/{code}': 'shared: centre administration',
  'GET /v1/centres/{code}/operators': 'shared: the staff of a centre',
  'PUT /v1/centres/{code}/operators/{operatorId}': 'shared: centre administration',
  'GET /v1/centres/{code}/representatives': "shared: the departments' chief representatives of a centre, masked",
  'PUT /v1/centres/{code}/representatives/{department}': 'shared: centre administration',
  'GET /v1/centres/{code}/items': 'shared: how a centre offers the catalogue',
  'PUT /v1/centres/{code}/items/{itemCode}': 'shared: centre administration',
  'PUT /v1/clients/{clientId}/centres': 'shared: administrators manage every client',
  'POST /v1/deliveries/{id}/retry': 'shared: operations administration',
  'POST /v1/notifications/{id}/retry': 'shared: operations administration',
  'POST /v1/deliveries/{id}/cancellation-handled': 'shared: operations administration',
  'POST /v1/ratings/{ratingId}/follow-up':
    "owned by the rated case's centre: another centre gets the 404 of a missing rating (test/ratings.test.ts)",
};

describe('object level', () => {
  let owner: { token: string; clientId: string };
  let stranger: { token: string; clientId: string };
  let psbDepartment: { token: string; clientId: string };
  let amrDepartment: { token: string; clientId: string };
  let subjectId: string;
  let materialId: string;
  let caseId: string;

  beforeAll(async () => {
    owner = await tokenWithScopes('window');
    stranger = await tokenWithScopes('window');
    psbDepartment = await tokenWithScopes('department', 'PSB');
    amrDepartment = await tokenWithScopes('department', 'AMR');
    const resolved = await call(owner.token, 'POST', '/v1/subjects/resolve', WANG_WU, PURPOSE);
    expect(resolved.status, resolved.text).toBe(201);
    subjectId = resolved.json<{ id: string }>().id;
    const uploaded = await call(
      owner.token,
      'POST',
      `/v1/subjects/${subjectId}/materials?typeCode=household_register&fileName=hukou.pdf`,
      Buffer.from(pdfDocument('owner hukou')),
      {
        ...PURPOSE,
        'content-type': 'application/pdf',
      },
    );
    expect(uploaded.status, uploaded.text).toBe(201);
    materialId = uploaded.json<{ id: string }>().id;
    const opened = await call(
      owner.token,
      'POST',
      '/v1/cases',
      { itemCode: 'household_move_in', subjectId, form: { moveInAddress: '北京市海淀区中关村大街1号' } },
      PURPOSE,
    );
    expect(opened.status, opened.text).toBe(201);
    caseId = opened.json<{ id: string }>().id;
  });

  it('lists every id-bearing operation of the document with its object-level rule', () => {
    const idOperations = protectedOperations
      .filter((operation) => operation.path.includes('{'))
      .map((operation) => `${operation.method} ${operation.path}`);
    expect(idOperations.filter((operation) => objectLevel[operation] === undefined)).toEqual([]);
    expect(Object.keys(objectLevel).filter((operation) => !idOperations.includes(operation))).toEqual([]);
  });

  /** The answer for an object that exists but is not the caller's must look like one that does not exist. */
  async function expectSameAsMissing(
    method: string,
    path: string,
    missingPath: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = PURPOSE,
  ): Promise<void> {
    const forbidden = await call(token, method, path, body, headers);
    const missing = await call(token, method, missingPath, body, headers);
    expect(forbidden.status, `${method} ${path}: ${forbidden.text}`).toBe(404);
    expect(missing.status, `${method} ${missingPath}: ${missing.text}`).toBe(404);
    const shape = (text: string) => {
      const {
        requestId: _requestId,
        instance: _instance,
        detail: _detail,
        ...rest
      } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    expect(shape(forbidden.text)).toEqual(shape(missing.text));
  }

  it('hides a material from a department that did not issue it and was not granted its type, by id, content and listing', async () => {
    const missing = 'mat_AAAAAAAAAAAAAAAA';
    await expectSameAsMissing(
      'GET',
      `/v1/subjects/${subjectId}/materials/${materialId}`,
      `/v1/subjects/${subjectId}/materials/${missing}`,
      amrDepartment.token,
    );
    await expectSameAsMissing(
      'GET',
      `/v1/subjects/${subjectId}/materials/${materialId}/content`,
      `/v1/subjects/${subjectId}/materials/${missing}/content`,
      amrDepartment.token,
    );
    await expectSameAsMissing(
      'POST',
      `/v1/subjects/${subjectId}/materials/${materialId}/revoke`,
      `/v1/subjects/${subjectId}/materials/${missing}/revoke`,
      amrDepartment.token,
      { reason: 'not mine' },
    );
    // Another window system sees the document (reuse) but may not revoke what it did not hand in.
    const strangerRevoke = await call(
      stranger.token,
      'POST',
      `/v1/subjects/${subjectId}/materials/${materialId}/revoke`,
      { reason: 'not mine' },
      PURPOSE,
    );
    expect(strangerRevoke.status).toBe(403);
    expect(strangerRevoke.json<{ code: string }>().code).toBe('provenance_authority');
    const listed = await call(amrDepartment.token, 'GET', `/v1/subjects/${subjectId}/materials`, undefined, PURPOSE);
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(materialId);
    const reusable = await call(
      amrDepartment.token,
      'GET',
      `/v1/subjects/${subjectId}/reusable-materials`,
      undefined,
      PURPOSE,
    );
    expect(reusable.text).not.toContain(materialId);
    // Still there and valid for its owner: the refusals changed nothing.
    const own = await call(owner.token, 'GET', `/v1/subjects/${subjectId}/materials/${materialId}`, undefined, PURPOSE);
    expect(own.status).toBe(200);
    expect(own.json<{ status: string }>().status).toBe('valid');
  });

  it('shares a handed-in document with other window systems only with a purpose, and audits the read', async () => {
    expect((await call(stranger.token, 'GET', `/v1/subjects/${subjectId}/materials/${materialId}`)).status).toBe(400);
    expect(
      (await call(stranger.token, 'GET', `/v1/subjects/${subjectId}/materials/${materialId}`, undefined, PURPOSE))
        .status,
    ).toBe(200);
    const auditor = (await tokenWithScopes('auditor')).token;
    const log = await call(auditor, 'GET', `/v1/subjects/${subjectId}/access-log?limit=200`, undefined, {
      'onewindow-purpose': 'supervision',
    });
    expect(log.status, log.text).toBe(200);
    expect(log.text).toContain(stranger.clientId);
  });

  it('does not let the same bytes open someone else’s material (content addressed by digest)', async () => {
    const sameBytes = Buffer.from(pdfDocument('owner hukou'));
    const copy = await call(
      amrDepartment.token,
      'POST',
      // A type any department may hand in (no issuer in the catalogue): AMR does not issue 户口簿.
      `/v1/subjects/${subjectId}/materials?typeCode=lease_contract&fileName=copy.pdf`,
      sameBytes,
      { ...PURPOSE, 'content-type': 'application/pdf' },
    );
    expect(copy.status, copy.text).toBe(201);
    const copyId = copy.json<{ id: string }>().id;
    expect(copyId).not.toBe(materialId);
    expect(copy.text).not.toContain(materialId);
    const listed = await call(amrDepartment.token, 'GET', `/v1/subjects/${subjectId}/materials`, undefined, PURPOSE);
    expect(listed.text).toContain(copyId);
    expect(listed.text).not.toContain(materialId);
    expect(
      (await call(amrDepartment.token, 'GET', `/v1/subjects/${subjectId}/materials/${materialId}`, undefined, PURPOSE))
        .status,
    ).toBe(404);
  });

  it('hides a case from another window and from a department it was not sent to', async () => {
    const missing = 'case_AAAAAAAAAAAAAAAA';
    for (const intruder of [stranger, amrDepartment, psbDepartment]) {
      await expectSameAsMissing('GET', `/v1/cases/${caseId}`, `/v1/cases/${missing}`, intruder.token);
      await expectSameAsMissing('GET', `/v1/cases/${caseId}/timeline`, `/v1/cases/${missing}/timeline`, intruder.token);
      await expectSameAsMissing(
        'GET',
        `/v1/cases/${caseId}/notifications`,
        `/v1/cases/${missing}/notifications`,
        intruder.token,
      );
    }
    await expectSameAsMissing(
      'POST',
      `/v1/cases/${caseId}/materials`,
      `/v1/cases/${missing}/materials`,
      stranger.token,
      { requirementCode: 'household_register', materialId },
    );
    await expectSameAsMissing(
      'POST',
      `/v1/cases/${caseId}/certificates`,
      `/v1/cases/${missing}/certificates`,
      stranger.token,
      {},
    );
    const submit = (id: string, key: string) =>
      call(stranger.token, 'POST', `/v1/cases/${id}/submit`, {}, { ...PURPOSE, 'idempotency-key': key });
    const [forbiddenSubmit, missingSubmit] = [
      await submit(caseId, 'stranger-submit-1'),
      await submit(missing, 'stranger-submit-2'),
    ];
    expect([forbiddenSubmit.status, missingSubmit.status]).toEqual([404, 404]);
    expect(forbiddenSubmit.json<{ code: string }>().code).toBe(missingSubmit.json<{ code: string }>().code);
    const own = await call(owner.token, 'GET', `/v1/cases/${caseId}`, undefined, PURPOSE);
    expect(own.status).toBe(200);
    expect(own.json<{ status: string }>().status).toBe('open');
  });

  it('lets a department link identifiers for its own department only', async () => {
    const link = (token: string, departmentCode: string) =>
      call(
        token,
        'POST',
        `/v1/subjects/${subjectId}/links`,
        { departmentCode, identifierType: 'household_no', value: 'HH-0001', source: 'department-system' },
        PURPOSE,
      );
    const foreign = await link(amrDepartment.token, 'PSB');
    expect(foreign.status, foreign.text).toBe(403);
    expect(foreign.json<{ code: string }>().code).toBe('forbidden');
    expect((await link(psbDepartment.token, 'PSB')).status).toBeLessThan(300);
  });

  it('keeps a citizen’s tracker token to that citizen’s own log', async () => {
    // Minting needs the applicant's own request and presence (test/access-policy.test.ts mints one for real).
    const unproven = await call(
      owner.token,
      'POST',
      `/v1/subjects/${subjectId}/tracker-token`,
      { identifier: '110101199003074514', name: '李四' },
      { 'onewindow-purpose': 'subject_request' },
    );
    expect(unproven.status, unproven.text).toBe(403);
    expect(unproven.json<{ code: string }>().code).toBe('presence_unproven');
    // The comparison answers whether a guess was right: after five wrong documents for the subject,
    // this window's checks of it are refused for a day, the right document too (a window that sees
    // 「110105********002X」 cannot try birth dates until one matches).
    for (let guess = 1; guess < 5; guess += 1) {
      const wrong = await call(
        owner.token,
        'POST',
        `/v1/subjects/${subjectId}/tracker-token`,
        { identifier: WANG_WU.identifier, name: `${WANG_WU.name}${guess}` },
        { 'onewindow-purpose': 'subject_request' },
      );
      expect(wrong.json<{ code: string }>().code).toBe('presence_unproven');
    }
    const locked = await call(
      owner.token,
      'POST',
      `/v1/subjects/${subjectId}/tracker-token`,
      { identifier: WANG_WU.identifier, name: WANG_WU.name },
      { 'onewindow-purpose': 'subject_request' },
    );
    expect(locked.status, locked.text).toBe(429);
    expect(locked.json<{ code: string }>().code).toBe('rate_limited');
    const notTheirRequest = await call(
      owner.token,
      'POST',
      `/v1/subjects/${subjectId}/tracker-token`,
      { identifier: WANG_WU.identifier, name: WANG_WU.name },
      PURPOSE,
    );
    expect(notTheirRequest.status, notTheirRequest.text).toBe(400);
    expect(notTheirRequest.json<{ code: string }>().code).toBe('purpose_required');
    const windowClient = await gateway.client('window');
    const subjectToken = (
      await gateway.running.services.tokens.issueForSubject(
        { id: windowClient.id, kind: 'window', departmentCode: null },
        subjectId,
        300,
      )
    ).accessToken;
    const ownLog = await call(subjectToken, 'GET', '/v1/me/access-log');
    expect(ownLog.status).toBe(200);
    expect(ownLog.json<{ subjectId: string }>().subjectId).toBe(subjectId);
    for (const path of [
      `/v1/subjects/${subjectId}`,
      `/v1/subjects/${subjectId}/access-log`,
      `/v1/subjects/${subjectId}/materials`,
      `/v1/cases/${caseId}`,
    ]) {
      expect((await call(subjectToken, 'GET', path, undefined, PURPOSE)).status, path).toBe(403);
    }
  });

  it('requires a stated purpose for every personal-data read', async () => {
    const answer = await call(stranger.token, 'GET', `/v1/subjects/${subjectId}`);
    expect(answer.status).toBe(400);
  });

  it('lets only the owning department decide an access request', async () => {
    const contract = {
      openapi: '3.1.0',
      info: {
        title: 'Conditional PSB resource',
        version: '1.0.0',
        'x-onewindow-catalogue': {
          resourceCode: 'psb.bolaprobe',
          departmentCode: 'PSB',
          sharingType: 'conditional',
          updateFrequency: 'daily',
          sla: { availabilityPercent: 99, p95LatencyMs: 500, supportHours: 'office hours' },
        },
      },
      paths: { '/items': { get: { responses: { '200': { description: 'ok' } } } } },
    };
    // A department cannot publish for another department.
    const foreignPublish = await call(amrDepartment.token, 'POST', '/v1/contracts', { document: contract });
    expect(foreignPublish.status, foreignPublish.text).toBe(403);
    const published = await call(psbDepartment.token, 'POST', '/v1/contracts', { document: contract });
    expect(published.status, published.text).toBe(201);
    const requested = await call(owner.token, 'POST', '/v1/contracts/psb.bolaprobe/access-requests', {
      purpose: 'household cases',
      legalBasis: 'art. 10',
    });
    expect(requested.status, requested.text).toBe(201);
    const requestId = requested.json<{ id: string }>().id;
    const decide = (token: string) =>
      call(token, 'POST', `/v1/access-requests/${requestId}/decision`, { decision: 'approve', reason: 'fine' });
    const foreign = await decide(amrDepartment.token);
    expect(foreign.status).toBe(403);
    const strangerList = await call(stranger.token, 'GET', '/v1/access-requests');
    expect(strangerList.text).not.toContain(requestId);
    expect((await decide(psbDepartment.token)).status).toBe(200);
  });
});

describe('property level: mass assignment', () => {
  let window: { token: string; clientId: string };
  let admin: string;
  let subjectId: string;

  beforeAll(async () => {
    window = await tokenWithScopes('window');
    admin = (await tokenWithScopes('admin')).token;
    const resolved = await call(
      window.token,
      'POST',
      '/v1/subjects/resolve',
      { ...WANG_WU, id: 'sub_chosen_by_caller', createdByClientId: 'cli_someone_else' },
      PURPOSE,
    );
    expect(resolved.status).toBeLessThan(300);
    subjectId = resolved.json<{ id: string }>().id;
    expect(subjectId).not.toBe('sub_chosen_by_caller');
  });

  it('refuses a client registration carrying an id, a secret or a disabled date', async () => {
    for (const extra of [
      { id: 'cli_chosen' },
      { secret: 'chosen-secret' },
      { secretHash: 'x' },
      { disabledAt: null },
      { createdAt: '2020-01-01T00:00:00Z' },
    ]) {
      const answer = await call(admin, 'POST', '/v1/clients', {
        name: 'Mass assignment probe',
        kind: 'window',
        ...extra,
      });
      expect(answer.status, JSON.stringify(extra)).toBe(400);
    }
    const tooMuch = await call(admin, 'POST', '/v1/clients', {
      name: 'Window asking for admin',
      kind: 'window',
      scopes: ['clients:admin'],
    });
    expect(tooMuch.status).toBeGreaterThanOrEqual(400);
    expect(tooMuch.status).toBeLessThan(500);
  });

  it('refuses a case opened with its status, number or owner set by the caller', async () => {
    for (const extra of [
      { status: 'completed' },
      { caseNumber: 'OW20260101000001' },
      { clientId: 'cli_someone_else' },
      { acceptedOn: '2026-01-01' },
    ]) {
      const answer = await call(
        window.token,
        'POST',
        '/v1/cases',
        { itemCode: 'household_move_in', subjectId, form: { moveInAddress: '北京市' }, ...extra },
        PURPOSE,
      );
      expect(answer.status, JSON.stringify(extra)).toBe(400);
    }
  });

  it('ignores an owner, status or decision put into an access request', async () => {
    const answer = await call(window.token, 'POST', '/v1/contracts/psb.bolaprobe/access-requests', {
      purpose: 'probe',
      legalBasis: 'probe',
      status: 'approved',
      clientId: 'cli_someone_else',
      decidedByClientId: 'cli_someone_else',
      decision: { decision: 'approve' },
    });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.json<{ status: string; clientId: string; decision: unknown }>()).toMatchObject({
      status: 'pending',
      clientId: window.clientId,
      decision: null,
    });
  });

  it('records a window’s upload as handed in, whatever provenance the query claims', async () => {
    const uploaded = await call(
      window.token,
      'POST',
      `/v1/subjects/${subjectId}/materials?typeCode=household_register&fileName=claim.pdf&kind=issued&departmentCode=PSB&providedByClientId=cli_someone_else`,
      Buffer.from(pdfDocument('provenance claim')),
      { ...PURPOSE, 'content-type': 'application/pdf' },
    );
    expect(uploaded.status, uploaded.text).toBe(201);
    const material = uploaded.json<{
      provenance: { kind: string; departmentCode: string | null; providedByClientId?: string };
    }>();
    expect(material.provenance.kind).toBe('handed_in');
    expect(material.provenance.departmentCode).toBeNull();
  });
});

describe('what the suite saw', () => {
  it('leaks no clear ID number in responses or logs', () => {
    expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
  });
});
