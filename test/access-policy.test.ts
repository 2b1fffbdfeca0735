/**
 * The access policy end to end (gateway/access): the attacks an outside suite ran against main
 * at d1c0bb7, replayed against real department simulators, and the proof that every route which
 * returns or changes personal data consults the policy.
 *
 * - Conditional sharing: an integrator cannot lift PSB's conditions; only PSB changes its terms,
 *   and a change of terms is in the diff and the audit log.
 * - Every door to a department-supplied material (list, metadata, content, reuse, case notice,
 *   case attach) applies the certificate route's grant rule.
 * - Provenance is authority: no window replaces or revokes a department's certificate, nor
 *   another window's document.
 * - Case reads and refusals are audited, and the citizen's access log shows them.
 * - A citizen's tracker token needs the citizen's own request and presence, and the citizen's view
 *   carries no other agency's internal references.
 * - Route coverage: every operation of the OpenAPI document is listed here as personal data (and
 *   then called, and must consult the policy and write an audit entry) or not (with the reason).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
} from '../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../adapters/sdk/simulator.js';
import type { DecisionEvent } from '../gateway/access/context.js';
import { PERSONAL_DATA_EXTENSION } from '../gateway/auth/protected-route.js';
import {
  accessRequests,
  auditEntries,
  caseRatings,
  certificates,
  materialTypeGrants,
  materials,
} from '../gateway/db/schema.js';
import { buildOpenApiDocument } from '../gateway/operations/docs-routes.js';
import { pdfDocument } from './fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
const SUBJECT_REQUEST = { 'onewindow-purpose': 'subject_request' };
const JSON_TYPE = { 'content-type': 'application/json' };

let psb: RunningSimulator;
let gw: TestGateway;
const tokens: Record<'windowA' | 'windowB' | 'windowNoCases' | 'integrator' | 'psb' | 'amr' | 'auditor', string> = {
  windowA: '',
  windowB: '',
  windowNoCases: '',
  integrator: '',
  psb: '',
  amr: '',
  auditor: '',
};
const clientIds = { windowA: '', windowB: '' };
let subjectId: string;
/** The household register window A fetched from PSB (conditional resource psb.population). */
let fetchedRegister: { id: string; certificateNumber: string };
/** A lease contract window A handed in. */
let leaseContract: string;

async function send(
  token: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; requestId?: string } = {},
): Promise<Response> {
  const isBytes = options.body instanceof Uint8Array;
  return gw.request(path, {
    method,
    headers: bearer(token, {
      ...(options.body === undefined || isBytes ? {} : JSON_TYPE),
      ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
      ...(options.headers ?? {}),
    }),
    ...(options.body === undefined
      ? {}
      : { body: isBytes ? (options.body as Uint8Array) : JSON.stringify(options.body) }),
  });
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  if (response.status !== status)
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

async function upload(token: string, typeCode: string, label: string, extra = ''): Promise<Response> {
  return send(token, 'POST', `/v1/subjects/${subjectId}/materials?typeCode=${typeCode}&fileName=${label}.pdf${extra}`, {
    body: pdfDocument(label),
    headers: { ...PURPOSE, 'content-type': 'application/pdf' },
  });
}

async function auditOf(requestId: string) {
  return gw.services.db.select().from(auditEntries).where(eq(auditEntries.requestId, requestId));
}

async function materialStatus(id: string): Promise<string | undefined> {
  const [row] = await gw.services.db.select({ status: materials.status }).from(materials).where(eq(materials.id, id));
  return row?.status;
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
        options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
        identityVerification: { identifierTypes: ['resident_id'] },
        tuning: { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
      },
    ]),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
  });
  const windowA = await gw.createClient('window');
  const windowB = await gw.createClient('window');
  clientIds.windowA = windowA.client.id;
  clientIds.windowB = windowB.client.id;
  tokens.windowA = (
    await gw.services.tokens.issue(windowA.client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'certificates:read',
      'cases:read',
      'cases:write',
      'tracker:issue',
      'contracts:read',
      'grants:request',
    ])
  ).accessToken;
  tokens.windowB = (
    await gw.services.tokens.issue(windowB.client, [
      'subjects:read',
      'subjects:write',
      'materials:read',
      'materials:write',
      'certificates:read',
      'cases:read',
      'cases:write',
      'tracker:issue',
    ])
  ).accessToken;
  tokens.windowNoCases = (
    await gw.services.tokens.issue(windowB.client, ['subjects:read', 'materials:read'])
  ).accessToken;
  tokens.integrator = await gw.tokenFor('integrator');
  tokens.psb = await gw.tokenFor('department', undefined, { departmentCode: 'PSB' });
  const amr = await gw.createClient('department', { departmentCode: 'AMR' });
  tokens.amr = (
    await gw.services.tokens.issue(amr.client, ['subjects:read', 'materials:read', 'materials:write'])
  ).accessToken;
  tokens.auditor = await gw.tokenFor('auditor');
  // Window A holds PSB's grant; window B does not. AMR was granted household registers as a type.
  const now = new Date();
  await gw.services.db.insert(accessRequests).values({
    id: 'acr_policy_window_a',
    resourceCode: 'psb.population',
    clientId: clientIds.windowA,
    purpose: 'window acceptance',
    legalBasis: 'test',
    status: 'approved',
    requestedAt: now,
    decidedAt: now,
    decidedByClientId: 'cli_psb',
  });
  await gw.services.db
    .insert(materialTypeGrants)
    .values({ typeCode: 'household_register', clientId: amr.client.id, grantedByClientId: 'cli_admin' });

  subjectId = (
    await ok<{ id: string }>(
      await send(tokens.windowA, 'POST', '/v1/subjects/resolve', { body: ZHANG_SAN, headers: PURPOSE }),
      201,
    )
  ).id;
  const fetched = await ok<{ results: { status: string; material: { id: string } | null }[] }>(
    await send(tokens.windowA, 'POST', `/v1/subjects/${subjectId}/certificates`, {
      body: { types: ['household_register'] },
      headers: PURPOSE,
    }),
  );
  const registerId = fetched.results[0]?.material?.id;
  if (!registerId) throw new Error(`window A could not fetch the household register: ${JSON.stringify(fetched)}`);
  const [certificate] = await gw.services.db.select().from(certificates).where(eq(certificates.materialId, registerId));
  fetchedRegister = { id: registerId, certificateNumber: certificate!.certificateNumber };
  leaseContract = (await ok<{ id: string }>(await upload(tokens.windowA, 'lease_contract', 'lease-a'), 201)).id;
});

afterAll(async () => {
  await gw?.close();
  await psb?.close();
});

describe('hole 1: conditional sharing is the owning department’s', () => {
  async function currentDocument(): Promise<Record<string, unknown> & { info: Record<string, unknown> }> {
    const entry = await ok<{ latestVersion: string }>(
      await send(tokens.integrator, 'GET', '/v1/contracts/psb.population'),
    );
    const version = await ok<{ document: Record<string, unknown> & { info: Record<string, unknown> } }>(
      await send(tokens.integrator, 'GET', `/v1/contracts/psb.population/versions/${entry.latestVersion}`),
    );
    return version.document;
  }

  function withVersion(
    document: Record<string, unknown> & { info: Record<string, unknown> },
    version: string,
    catalogue: Record<string, unknown> = {},
  ) {
    const embedded = document.info['x-onewindow-catalogue'] as Record<string, unknown>;
    return { ...document, info: { ...document.info, version, 'x-onewindow-catalogue': { ...embedded, ...catalogue } } };
  }

  it('refuses an integrator who makes psb.population unconditional, and window B stays refused', async () => {
    const lifted = await send(tokens.integrator, 'POST', '/v1/contracts', {
      body: { document: withVersion(await currentDocument(), '9.0.0', { sharingType: 'unconditional' }) },
      requestId: 'req-hole1-lift',
    });
    expect(lifted.status).toBe(403);
    expect((await problemOf(lifted)).code).toBe('sharing_terms_owner_only');
    expect(await auditOf('req-hole1-lift')).toMatchObject([{ action: 'contract.publish', outcome: 'denied' }]);
    const entry = await ok<{ sharingType: string }>(
      await send(tokens.integrator, 'GET', '/v1/contracts/psb.population'),
    );
    expect(entry.sharingType).toBe('conditional');
    const verification = await send(tokens.windowB, 'POST', `/v1/subjects/${subjectId}/identity-verification`, {
      headers: PURPOSE,
    });
    expect((await problemOf(verification)).code).toBe('resource_grant_required');
    const certificates = await ok<{ results: { status: string }[] }>(
      await send(tokens.windowB, 'POST', `/v1/subjects/${subjectId}/certificates`, {
        body: { types: ['household_register'] },
        headers: PURPOSE,
      }),
    );
    expect(certificates.results[0]?.status).toBe('denied');
  });

  it('lets an integrator publish a technical change, and only PSB change the terms — in the diff and the audit log', async () => {
    const technical = await send(tokens.integrator, 'POST', '/v1/contracts', {
      body: { document: withVersion(await currentDocument(), '1.5.0') },
    });
    expect(technical.status, await technical.clone().text()).toBe(201);
    const conditions = {
      sharingConditions: 'Window acceptance of household cases, with a purpose code and a case number.',
    };
    const byIntegrator = await send(tokens.integrator, 'POST', '/v1/contracts', {
      body: { document: withVersion(await currentDocument(), '1.6.0', conditions) },
    });
    expect((await problemOf(byIntegrator)).code).toBe('sharing_terms_owner_only');
    const byPsb = await send(tokens.psb, 'POST', '/v1/contracts', {
      body: { document: withVersion(await currentDocument(), '1.6.0', conditions) },
      requestId: 'req-hole1-terms',
    });
    const published = await ok<{ changes: { code: string }[] }>(byPsb, 201);
    expect(published.changes.map((change) => change.code)).toContain('sharing_conditions_changed');
    const diff = await ok<{ changes: { code: string }[] }>(
      await send(tokens.integrator, 'GET', '/v1/contracts/psb.population/diff?from=1.5.0&to=1.6.0'),
    );
    expect(diff.changes.map((change) => change.code)).toContain('sharing_conditions_changed');
    const audit = await auditOf('req-hole1-terms');
    expect(audit.map((entry) => entry.action).sort()).toEqual(['contract.publish', 'contract.sharing_terms_change']);
    expect(audit.find((entry) => entry.action === 'contract.sharing_terms_change')?.fields).toContain(
      'change:sharing_conditions_changed',
    );
  });
});

describe('hole 2: every door to a department’s material applies its grant rule', () => {
  it('hides PSB’s household register from window B at the list, the metadata, the content and the reuse answer', async () => {
    const missing = `/v1/subjects/${subjectId}/materials/mat_AAAAAAAAAAAAAAAA`;
    const listed = await send(tokens.windowB, 'GET', `/v1/subjects/${subjectId}/materials`, {
      headers: PURPOSE,
      requestId: 'req-hole2-list',
    });
    expect(listed.status).toBe(200);
    expect(await listed.text()).not.toContain(fetchedRegister.id);
    expect((await auditOf('req-hole2-list'))[0]?.fields).toContain('withheld:1');
    for (const suffix of ['', '/content']) {
      const hidden = await send(
        tokens.windowB,
        'GET',
        `/v1/subjects/${subjectId}/materials/${fetchedRegister.id}${suffix}`,
        { headers: PURPOSE },
      );
      const absent = await send(tokens.windowB, 'GET', `${missing}${suffix}`, { headers: PURPOSE });
      expect([hidden.status, absent.status]).toEqual([404, 404]);
      expect((await problemOf(hidden)).detail).toBe((await problemOf(absent)).detail);
    }
    const reuse = await ok<{ missing: string[] }>(
      await send(tokens.windowB, 'GET', `/v1/subjects/${subjectId}/reusable-materials?types=household_register`, {
        headers: PURPOSE,
      }),
    );
    expect(reuse.missing).toEqual(['household_register']);
    // Window A, which holds the grant, sees it at every door.
    expect(
      (
        await send(tokens.windowA, 'GET', `/v1/subjects/${subjectId}/materials/${fetchedRegister.id}/content`, {
          headers: PURPOSE,
        })
      ).status,
    ).toBe(200);
    const reuseA = await ok<{ found: { material: { id: string } }[] }>(
      await send(tokens.windowA, 'GET', `/v1/subjects/${subjectId}/reusable-materials?types=household_register`, {
        headers: PURPOSE,
      }),
    );
    expect(reuseA.found[0]?.material.id).toBe(fetchedRegister.id);
  });

  it('hides it from a department that was granted the type but not PSB’s resource', async () => {
    expect(
      (await send(tokens.amr, 'GET', `/v1/subjects/${subjectId}/materials/${fetchedRegister.id}`, { headers: PURPOSE }))
        .status,
    ).toBe(404);
  });

  it('does not reuse it in window B’s case notice, nor let window B attach it', async () => {
    const opened = await ok<{
      id: string;
      notice: { entries: { requirementCode: string; state: string; material: { id: string } | null }[] };
    }>(await send(tokens.windowB, 'POST', '/v1/cases', { body: { itemCode: 'household_move_in', subjectId } }), 201);
    const household = opened.notice.entries.find((entry) => entry.requirementCode === 'household');
    expect(household).toMatchObject({ state: 'fetchable', material: null });
    const attached = await send(tokens.windowB, 'POST', `/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'household', materialId: fetchedRegister.id },
    });
    expect(attached.status).toBe(422);
    expect((await problemOf(attached)).code).toBe('material_not_accepted');
    const timeline = await ok<{ items: { detail: Record<string, unknown> }[] }>(
      await send(tokens.windowB, 'GET', `/v1/cases/${opened.id}/timeline`),
    );
    expect(JSON.stringify(timeline)).not.toContain(fetchedRegister.id);
    // Window A's case reuses it.
    const ownCase = await ok<{
      notice: { entries: { requirementCode: string; state: string; material: { id: string } | null }[] };
    }>(await send(tokens.windowA, 'POST', '/v1/cases', { body: { itemCode: 'household_move_in', subjectId } }), 201);
    expect(ownCase.notice.entries.find((entry) => entry.requirementCode === 'household')).toMatchObject({
      state: 'reused',
      material: { id: fetchedRegister.id },
    });
  });
});

describe('hole 3: provenance is authority', () => {
  it('lets no window supersede or revoke PSB’s certificate, whether it can see it or not', async () => {
    const blind = await upload(tokens.windowB, 'household_register', 'forged-b', `&supersedes=${fetchedRegister.id}`);
    expect(blind.status).toBe(404);
    const seeing = await upload(tokens.windowA, 'household_register', 'forged-a', `&supersedes=${fetchedRegister.id}`);
    expect(seeing.status).toBe(403);
    expect((await problemOf(seeing)).code).toBe('provenance_authority');
    const revoke = await send(
      tokens.windowA,
      'POST',
      `/v1/subjects/${subjectId}/materials/${fetchedRegister.id}/revoke`,
      { body: { reason: 'mine now' }, headers: PURPOSE },
    );
    expect((await problemOf(revoke)).code).toBe('provenance_authority');
    expect(await materialStatus(fetchedRegister.id)).toBe('valid');
    // And a handed-in copy never takes the certificate's place for reuse.
    expect((await upload(tokens.windowA, 'household_register', 'handed-in-copy')).status).toBe(201);
    const reuse = await ok<{ found: { material: { id: string } }[] }>(
      await send(tokens.windowA, 'GET', `/v1/subjects/${subjectId}/reusable-materials?types=household_register`, {
        headers: PURPOSE,
      }),
    );
    expect(reuse.found[0]?.material.id).toBe(fetchedRegister.id);
  });

  it('lets only the window that handed a document in replace or revoke it', async () => {
    const replaced = await upload(tokens.windowB, 'lease_contract', 'lease-b', `&supersedes=${leaseContract}`);
    expect((await problemOf(replaced)).code).toBe('provenance_authority');
    const revoked = await send(tokens.windowB, 'POST', `/v1/subjects/${subjectId}/materials/${leaseContract}/revoke`, {
      body: { reason: 'not mine' },
      headers: PURPOSE,
      requestId: 'req-hole3-revoke',
    });
    expect((await problemOf(revoked)).code).toBe('provenance_authority');
    expect(await auditOf('req-hole3-revoke')).toMatchObject([
      { action: 'material.revoke', outcome: 'denied', subjectRef: subjectId },
    ]);
    expect(await materialStatus(leaseContract)).toBe('valid');
  });
});

describe('holes 5 and 6: case reads, refusals and the citizen’s own log', () => {
  let caseId: string;
  let caseNumber: string;

  beforeAll(async () => {
    const opened = await ok<{ id: string; caseNumber: string }>(
      await send(tokens.windowA, 'POST', '/v1/cases', { body: { itemCode: 'household_move_in', subjectId } }),
      201,
    );
    caseId = opened.id;
    caseNumber = opened.caseNumber;
  });

  it('audits a case read, its timeline, a fetch with nothing new and a replayed submission, with the subject', async () => {
    await ok(await send(tokens.windowA, 'GET', `/v1/cases/${caseId}`, { requestId: 'req-hole5-read' }));
    await ok(await send(tokens.windowA, 'GET', `/v1/cases/${caseId}/timeline`, { requestId: 'req-hole5-timeline' }));
    await ok(await send(tokens.windowA, 'POST', `/v1/cases/${caseId}/certificates`, { body: {} }));
    await ok(
      await send(tokens.windowA, 'POST', `/v1/cases/${caseId}/certificates`, {
        body: {},
        requestId: 'req-hole5-nothing-new',
      }),
    );
    const submit = (requestId: string) =>
      send(tokens.windowA, 'POST', `/v1/cases/${caseId}/submit`, {
        body: { form: { moveToAddress: '北京市朝阳区建国路88号' } },
        headers: { 'idempotency-key': 'policy-submit-0001' },
        requestId,
      });
    await ok(await submit('req-hole5-submit'));
    const replay = await submit('req-hole5-replay');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const expected = {
      'req-hole5-read': 'case.read',
      'req-hole5-timeline': 'case.timeline',
      'req-hole5-nothing-new': 'case.read',
      'req-hole5-replay': 'case.submit_replay',
    };
    for (const [requestId, action] of Object.entries(expected)) {
      expect(await auditOf(requestId), requestId).toMatchObject([
        { action, outcome: 'allowed', subjectRef: subjectId, caseRef: caseNumber },
      ]);
    }
  });

  it('audits refusals — a missing scope, another window, a wrong progress check — with the subject', async () => {
    expect(
      (await send(tokens.windowNoCases, 'GET', `/v1/cases/${caseId}`, { requestId: 'req-hole5-scope' })).status,
    ).toBe(403);
    expect(await auditOf('req-hole5-scope')).toMatchObject([
      { action: 'route.refused', outcome: 'denied', subjectRef: subjectId, caseRef: caseNumber },
    ]);
    expect((await send(tokens.windowB, 'GET', `/v1/cases/${caseId}`, { requestId: 'req-hole5-stranger' })).status).toBe(
      404,
    );
    expect(await auditOf('req-hole5-stranger')).toMatchObject([
      { action: 'case.read', outcome: 'not_found', subjectRef: subjectId, caseRef: caseNumber },
    ]);
    const wrongCheck = await gw.request('/v1/progress', {
      method: 'POST',
      headers: { ...JSON_TYPE, 'x-request-id': 'req-hole5-progress' },
      body: JSON.stringify({ caseNumber, check: '0000' }),
    });
    expect(wrongCheck.status).toBe(404);
    expect(await auditOf('req-hole5-progress')).toMatchObject([
      { action: 'case.progress_lookup', outcome: 'denied', subjectRef: subjectId },
    ]);
  });

  it('mints a tracker token only at the subject’s request, with the identity presented and verified', async () => {
    const path = `/v1/subjects/${subjectId}/tracker-token`;
    const identity = { identifier: ZHANG_SAN.identifier, name: ZHANG_SAN.name };
    expect((await problemOf(await send(tokens.windowA, 'POST', path, { body: identity, headers: PURPOSE }))).code).toBe(
      'purpose_required',
    );
    expect(
      (
        await problemOf(
          await send(tokens.windowA, 'POST', path, { body: { ...identity, name: '李四' }, headers: SUBJECT_REQUEST }),
        )
      ).code,
    ).toBe('presence_unproven');
    expect(
      (
        await problemOf(
          await send(tokens.windowA, 'POST', path, {
            body: { ...identity, identifier: '110105194912310021' },
            headers: SUBJECT_REQUEST,
          }),
        )
      ).code,
    ).toBe('presence_unproven');
    // Window B cannot verify the identity: PSB's resource is conditional and B holds no grant.
    expect(
      (await problemOf(await send(tokens.windowB, 'POST', path, { body: identity, headers: SUBJECT_REQUEST }))).code,
    ).toBe('resource_grant_required');
    const now = await send(tokens.windowA, 'POST', path, {
      body: identity,
      headers: SUBJECT_REQUEST,
      requestId: 'req-hole6-now',
    });
    expect(now.status, await now.clone().text()).toBe(201);
    expect((await auditOf('req-hole6-now')).map((entry) => entry.action).sort()).toEqual([
      'contract.access_check',
      'subject.identity_verification',
      'subject.tracker_token.issue',
    ]);
    // Verified earlier in the same case: no second call to the register.
    const caseRef = { ...SUBJECT_REQUEST, 'onewindow-case-ref': 'CASE-TRACKER-1' };
    await ok(
      await send(tokens.windowA, 'POST', `/v1/subjects/${subjectId}/identity-verification`, { headers: caseRef }),
    );
    const inCase = await send(tokens.windowA, 'POST', path, {
      body: identity,
      headers: caseRef,
      requestId: 'req-hole6-case',
    });
    expect(inCase.status).toBe(201);
    expect(await auditOf('req-hole6-case')).toMatchObject([
      { action: 'subject.tracker_token.issue', fields: ['access_log', 'verified:case'] },
    ]);
  });

  it('shows the citizen who used their data and why — the refusals too — without other agencies’ internal references', async () => {
    const minted = await ok<{ access_token: string }>(
      await send(tokens.windowA, 'POST', `/v1/subjects/${subjectId}/tracker-token`, {
        body: { identifier: ZHANG_SAN.identifier, name: ZHANG_SAN.name },
        headers: SUBJECT_REQUEST,
      }),
      201,
    );
    const log = await ok<{
      items: {
        action: string;
        outcome: string;
        operatorId: string | null;
        caseRef: string | null;
        client: { id: string | null; name: string | null };
      }[];
    }>(await send(minted.access_token, 'GET', '/v1/me/access-log?limit=200'));
    const seen = new Set(log.items.map((item) => `${item.action}:${item.outcome}`));
    for (const expected of [
      'case.read:allowed',
      'case.timeline:allowed',
      'case.submit_replay:allowed',
      'route.refused:denied',
      'case.read:not_found',
      'case.progress_lookup:denied',
      'material.revoke:denied',
    ]) {
      expect(seen, expected).toContain(expected);
    }
    for (const item of log.items) {
      expect(item.client.id).toBeNull();
      expect(item.operatorId).toBeNull();
      if (item.caseRef !== null) expect(item.caseRef).toMatch(/^OW\d{14}$/);
    }
    const names = new Set(log.items.map((item) => item.client.name));
    expect(names.size).toBeGreaterThan(1);
  });
});

/**
 * Every operation of the OpenAPI document: personal-data ones with a request that exercises them
 * (sent in this order), the others with the reason they carry none.
 */
interface Exercise {
  token: () => string;
  path: () => string;
  body?: () => unknown;
  headers?: Record<string, string>;
  /** Status expected (default: any 2xx). */
  status?: number;
}

const state = { caseId: '', caseNumber: '', coverageMaterial: '', citizenToken: '', ratingId: '' };

const personalOperations: Record<string, Exercise> = {
  'POST /v1/subjects/resolve': {
    token: () => tokens.windowA,
    path: () => '/v1/subjects/resolve',
    body: () => ZHANG_SAN,
    headers: PURPOSE,
  },
  'POST /v1/subjects/{subjectId}/links': {
    token: () => tokens.psb,
    path: () => `/v1/subjects/${subjectId}/links`,
    body: () => ({ identifierType: 'household_no', value: 'HH-COVERAGE-1', source: 'department-system' }),
    headers: PURPOSE,
  },
  'POST /v1/subjects/lookup': {
    token: () => tokens.windowA,
    path: () => '/v1/subjects/lookup',
    body: () => ({ departmentCode: 'PSB', identifierType: 'household_no', value: 'HH-COVERAGE-1' }),
    headers: PURPOSE,
  },
  'GET /v1/subjects/{subjectId}': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}`,
    headers: PURPOSE,
  },
  'POST /v1/subjects/{subjectId}/identity-verification': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/identity-verification`,
    headers: PURPOSE,
  },
  'POST /v1/subjects/{subjectId}/certificates': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/certificates`,
    body: () => ({ types: ['household_register'] }),
    headers: PURPOSE,
  },
  'POST /v1/subjects/{subjectId}/materials': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/materials?typeCode=lease_contract&fileName=coverage.pdf`,
    body: () => pdfDocument('coverage'),
    headers: { ...PURPOSE, 'content-type': 'application/pdf' },
  },
  'GET /v1/subjects/{subjectId}/materials': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/materials`,
    headers: PURPOSE,
  },
  'GET /v1/subjects/{subjectId}/materials/{materialId}': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/materials/${state.coverageMaterial}`,
    headers: PURPOSE,
  },
  'GET /v1/subjects/{subjectId}/materials/{materialId}/content': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/materials/${state.coverageMaterial}/content`,
    headers: PURPOSE,
  },
  'GET /v1/subjects/{subjectId}/reusable-materials': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/reusable-materials?types=lease_contract`,
    headers: PURPOSE,
  },
  'POST /v1/cases': {
    token: () => tokens.windowA,
    path: () => '/v1/cases',
    body: () => ({ itemCode: 'household_move_in', subjectId }),
  },
  'GET /v1/cases/{caseId}': { token: () => tokens.windowA, path: () => `/v1/cases/${state.caseId}` },
  'GET /v1/cases/{caseId}/timeline': { token: () => tokens.windowA, path: () => `/v1/cases/${state.caseId}/timeline` },
  'GET /v1/cases/{caseId}/notifications': {
    token: () => tokens.windowA,
    path: () => `/v1/cases/${state.caseId}/notifications`,
  },
  'POST /v1/cases/{caseId}/materials': {
    token: () => tokens.windowA,
    path: () => `/v1/cases/${state.caseId}/materials`,
    body: () => ({ requirementCode: 'residence', materialId: state.coverageMaterial }),
  },
  'POST /v1/cases/{caseId}/certificates': {
    token: () => tokens.windowA,
    path: () => `/v1/cases/${state.caseId}/certificates`,
    body: () => ({}),
  },
  'POST /v1/cases/{caseId}/submit': {
    token: () => tokens.windowA,
    path: () => `/v1/cases/${state.caseId}/submit`,
    body: () => ({ form: { moveToAddress: '北京市朝阳区建国路88号' } }),
    headers: { 'idempotency-key': 'coverage-submit-0001' },
  },
  // A window that is not a party: refused like a missing case, and the refusal is on the record.
  'POST /v1/cases/{caseId}/transfer': {
    token: () => tokens.windowB,
    path: () => `/v1/cases/${state.caseId}/transfer`,
    body: () => ({ toCentre: '610113000', reason: 'coverage' }),
    status: 404,
  },
  // A window that is not a party cannot hand the result over: refused like a missing case, on the record.
  'POST /v1/cases/{caseId}/result/collection': {
    token: () => tokens.windowB,
    path: () => `/v1/cases/${state.caseId}/result/collection`,
    body: () => ({ pickupCode: '123456' }),
    status: 404,
  },
  // A window of no centre: no centre's ratings are its to read; refused like a missing centre, on the record.
  'GET /v1/ratings': {
    token: () => tokens.windowA,
    path: () => '/v1/ratings?centre=610113000',
    headers: { 'onewindow-purpose': 'supervision' },
    status: 404,
  },
  // Another window cannot answer the follow-up of the case's 差评 (seeded in the loop): refused like a missing rating.
  'POST /v1/ratings/{ratingId}/follow-up': {
    token: () => tokens.windowB,
    path: () => `/v1/ratings/${state.ratingId}/follow-up`,
    body: () => ({ answer: '已回访', contacted: true }),
    headers: { 'onewindow-purpose': 'supervision' },
    status: 404,
  },
  'POST /v1/case-status-callbacks': {
    token: () => tokens.psb,
    path: () => '/v1/case-status-callbacks',
    body: () => ({
      caseNumber: state.caseNumber,
      eventId: 'coverage-evt-1',
      status: 'received',
      occurredAt: new Date().toISOString(),
    }),
  },
  'POST /v1/subjects/{subjectId}/materials/{materialId}/revoke': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/materials/${state.coverageMaterial}/revoke`,
    body: () => ({ reason: 'coverage' }),
    headers: PURPOSE,
  },
  'GET /v1/subjects/{subjectId}/access-log': {
    token: () => tokens.auditor,
    path: () => `/v1/subjects/${subjectId}/access-log`,
    headers: { 'onewindow-purpose': 'supervision' },
  },
  // The whole chain carries subject ids, no identifiers or names; one subject's entries are their
  // access log, read as the tracker reads it (policy, purpose, on their own log).
  'GET /v1/audit/entries': {
    token: () => tokens.auditor,
    path: () => `/v1/audit/entries?subjectRef=${subjectId}`,
    headers: { 'onewindow-purpose': 'supervision' },
  },
  'POST /v1/subjects/{subjectId}/tracker-token': {
    token: () => tokens.windowA,
    path: () => `/v1/subjects/${subjectId}/tracker-token`,
    body: () => ({ identifier: ZHANG_SAN.identifier, name: ZHANG_SAN.name }),
    headers: SUBJECT_REQUEST,
    status: 201,
  },
  'GET /v1/me/access-log': { token: () => state.citizenToken, path: () => '/v1/me/access-log' },
  // Last: it revokes the household register every other exercise may have used.
  'POST /v1/certificates/revocations': {
    token: () => tokens.psb,
    path: () => '/v1/certificates/revocations',
    body: () => ({
      certificateType: 'household_register',
      certificateNumber: fetchedRegister.certificateNumber,
      reason: 'coverage: reported lost',
    }),
  },
};

const withoutPersonalData: Record<string, string> = {
  'GET /healthz': 'public health',
  'GET /readyz': 'public readiness',
  'GET /metrics': 'counters, no personal data',
  'GET /openapi.json': 'the API description',
  'GET /docs': 'the API reference page',
  'GET /docs/assets/{file}': 'static files',
  'POST /oauth/token': 'client credentials for tokens',
  'GET /.well-known/jwks.json': 'public keys',
  'POST /v1/clients': 'client registry (administrators)',
  'GET /v1/clients': 'client registry (administrators)',
  'GET /v1/clients/{clientId}': 'client registry (administrators)',
  'POST /v1/clients/{clientId}/disable': 'client registry (administrators)',
  'POST /v1/keys/rotate': 'signing keys (administrators)',
  'GET /v1/audit/verify': 'chain verification: hashes and counts',
  'GET /v1/material-types': 'catalogue',
  'PUT /v1/material-types/{code}': 'catalogue administration',
  'PUT /v1/material-types/{code}/grants/{clientId}': 'catalogue administration',
  'DELETE /v1/material-types/{code}/grants/{clientId}': 'catalogue administration',
  'POST /v1/contracts': 'data contracts (the policy decides who may publish: contract.publish, tested above)',
  'GET /v1/contracts': 'the public catalogue',
  'GET /v1/contracts/{resourceCode}': 'the public catalogue',
  'GET /v1/contracts/{resourceCode}/versions/{version}': 'the public catalogue',
  'GET /v1/contracts/{resourceCode}/diff': 'the public catalogue',
  'POST /v1/contracts/{resourceCode}/access-requests': 'grant requests between clients and departments',
  'GET /v1/access-requests': 'grant requests between clients and departments',
  'POST /v1/access-requests/{id}/decision': 'grant decisions by the owning department',
  'GET /v1/departments': 'department health',
  'GET /v1/departments/{code}': 'department health',
  'POST /v1/departments/{code}/health-check': 'department health',
  'POST /v1/certificates/verify': 'public signature check of an envelope the caller already holds',
  'POST /v1/seals/verify': 'public check of an electronic seal over a document the caller already holds',
  'GET /v1/seals/gateway': "the gateway's seal certificate and seal data, no personal data",
  'GET /v1/certificates/revocations': 'revoked certificate numbers, ID numbers masked, no subjects',
  'PUT /v1/calendar/years/{year}': 'working-day calendar',
  'GET /v1/calendar/years/{year}': 'working-day calendar',
  'GET /v1/calendar/years': 'working-day calendar',
  'GET /v1/calendar/due-date': 'working-day calendar',
  'GET /v1/items': 'item catalogue',
  'GET /v1/items/{code}': 'item catalogue',
  'PUT /v1/items/{code}': 'item catalogue administration',
  'GET /v1/public/items': 'public by design: published item guides (办事指南), catalogue facts only',
  'GET /v1/public/items/{code}': 'public by design: published item guides (办事指南), catalogue facts only',
  'GET /guides/{code}': 'public by design: the Chinese guide page of an item, catalogue facts only',
  'GET /v1/supervision/warnings': 'case numbers and deadlines, no personal data',
  'GET /v1/supervision/summary': 'figures',
  'GET /v1/supervision/centres': 'figures per centre, window system and operator; no applicant data',
  'GET /v1/centres': 'the centre tree: public facts about service centres',
  'GET /v1/centres/{code}': 'the centre tree: public facts about service centres',
  'PUT /v1/centres/{code}': 'centre tree administration',
  'GET /v1/centres/{code}/operators': 'staff registered at a centre, not applicants',
  'PUT /v1/centres/{code}/operators/{operatorId}': 'centre staff administration',
  'GET /v1/centres/{code}/representatives':
    "departments' chief representatives at a centre, name and number masked; not applicants",
  'PUT /v1/centres/{code}/representatives/{department}': 'centre staff administration (answers masked, audited)',
  'GET /v1/centres/{code}/items': 'how a centre offers catalogue items',
  'PUT /v1/centres/{code}/items/{itemCode}': 'centre item administration',
  'PUT /v1/clients/{clientId}/centres': 'client system administration',
  'GET /supervision': 'figures and case numbers',
  'GET /supervision/cases':
    'the cases behind a supervision figure: case numbers, items, dates; applicants masked to 张**, no identifier or contact; every view audited',
  'GET /supervision/export':
    'the supervision tables (and case lists) as CSV/XLSX: the same figures, scope and masking as the page; every export audited',
  'POST /v1/deliveries/{id}/retry': 'outbox administration',
  'GET /v1/notifications':
    'the notification outbox for operations: case numbers, templates and statuses, numbers masked',
  'POST /v1/notifications/{id}/retry': 'outbox administration',
  'POST /v1/deliveries/{id}/cancellation-handled': 'outbox administration',
  'POST /v1/progress/rating':
    'public by design: the applicant rates their own case with the look-up’s second factor; the answer echoes only the score; refusals audited (test/ratings.test.ts)',
  'GET /v1/supervision/ratings':
    'rating figures per centre, department, window, operator or item; no comments, no applicants',
  'GET /v1/supervision/rankings': 'monthly rankings of windows and operators (staff), no applicant data',
  'POST /v1/progress':
    'public by design: the applicant’s own look-up with a second factor, no personal data in the answer; refusals audited (tested above)',
  'POST /v1/progress/result/document':
    'public by design: the applicant downloads their own electronic result with the look-up’s second factor and lock-out; every read and refusal audited (test/electronic-results.test.ts)',
};

describe('route coverage: every personal-data route consults the access policy', () => {
  const document = () =>
    buildOpenApiDocument(gw.app) as unknown as { paths: Record<string, Record<string, Record<string, unknown>>> };

  it('lists every operation, and marks exactly the personal-data ones in the OpenAPI document', () => {
    const operations = Object.entries(document().paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path}`,
        personal: operation[PERSONAL_DATA_EXTENSION] !== undefined,
      })),
    );
    const unlisted = operations
      .filter(({ key }) => !(key in personalOperations) && !(key in withoutPersonalData))
      .map(({ key }) => key);
    expect(
      unlisted,
      'a new operation must be listed here: personal data (with a request) or not (with the reason)',
    ).toEqual([]);
    expect(
      operations
        .filter(({ personal }) => personal)
        .map(({ key }) => key)
        .sort(),
    ).toEqual(Object.keys(personalOperations).sort());
    for (const key of Object.keys(personalOperations)) expect(key in withoutPersonalData, key).toBe(false);
  });

  it('sees each personal-data operation ask the policy and write an audit entry', async () => {
    const decisions: DecisionEvent[] = [];
    gw.services.access.observer = (event) => decisions.push(event);
    try {
      let index = 0;
      for (const [key, exercise] of Object.entries(personalOperations)) {
        index += 1;
        const method = key.split(' ')[0]!;
        const requestId = `req-coverage-${String(index).padStart(2, '0')}`;
        if (key === 'GET /v1/me/access-log') {
          const minted = await gw.services.tokens.issueForSubject(
            { id: clientIds.windowA, kind: 'window', departmentCode: null },
            subjectId,
            300,
          );
          state.citizenToken = minted.accessToken;
        }
        if (key === 'POST /v1/ratings/{ratingId}/follow-up') {
          // A 差评 of the coverage case, written as the applicant's rating would be (the case is not completed here).
          state.ratingId = 'rat_coverage00000000';
          await gw.services.db.insert(caseRatings).values({
            id: state.ratingId,
            caseId: state.caseId,
            caseNumber: state.caseNumber,
            score: 1,
            itemCode: 'household_move_in',
            clientId: clientIds.windowA,
            completedOn: '2026-12-18',
            onTime: true,
            ratedAt: new Date(),
            ratedOn: '2026-12-18',
            followUpStatus: 'open',
            followUpDueOn: '2026-12-23',
          });
        }
        const response = await send(exercise.token(), method, exercise.path(), {
          ...(exercise.body ? { body: exercise.body() } : {}),
          headers: exercise.headers ?? {},
          requestId,
        });
        const text = await response.text();
        if (exercise.status !== undefined) expect(response.status, `${key}: ${text}`).toBe(exercise.status);
        else expect(response.status, `${key}: ${text}`).toBeLessThan(300);
        if (key === 'POST /v1/subjects/{subjectId}/materials')
          state.coverageMaterial = (JSON.parse(text) as { id: string }).id;
        if (key === 'POST /v1/cases') {
          const opened = JSON.parse(text) as { id: string; caseNumber: string };
          state.caseId = opened.id;
          state.caseNumber = opened.caseNumber;
        }
        expect(
          decisions.filter((event) => event.requestId === requestId).length,
          `${key} consulted the access policy`,
        ).toBeGreaterThan(0);
        expect((await auditOf(requestId)).length, `${key} wrote an audit entry`).toBeGreaterThan(0);
      }
    } finally {
      gw.services.access.observer = undefined;
    }
    const [revoked] = await gw.services.db
      .select({ status: materials.status })
      .from(materials)
      .where(and(eq(materials.id, fetchedRegister.id), eq(materials.subjectId, subjectId)));
    expect(revoked?.status).toBe('revoked');
  });
});
