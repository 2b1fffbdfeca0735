/**
 * Data contracts end to end through the HTTP API: publishing (YAML text, JSON envelope, object),
 * refusals (invalid documents, Swagger 2.0, external references, size, missing catalogue data,
 * another department's resource), versions and breaking changes, the catalogue read API, access
 * requests and decisions, grant enforcement with its audit entries, and repository seeding.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Principal } from '../gateway/auth/principal.js';
import { requireResourceUse } from '../gateway/departments/calls.js';
import { seedRepositoryContracts } from '../gateway/contracts/repository.js';
import { auditEntries, contractVersionTexts, contractVersions } from '../gateway/db/schema.js';
import { TEXT_PIECE_CHARS } from '../gateway/contracts/contracts.js';
import { ApiError } from '../gateway/platform/errors.js';
import { type TestGateway, bearer, createTestGateway, problemOf } from './harness.js';

const fixtureText = readFileSync(
  new URL('../gateway/contracts/fixtures/people-1.0.0.openapi.yaml', import.meta.url),
  'utf8',
);
const registryFixtures = fileURLToPath(new URL('../gateway/contracts/fixtures/registry', import.meta.url));

// biome-ignore lint: test documents are edited freely, deep in their structure
type Doc = Record<string, any>;

let gw: TestGateway;
let departmentToken: string;
let otherDepartmentToken: string;
let integratorToken: string;
let windowToken: string;
let otherWindowToken: string;
let windowClientId: string;

/** A window client as the access policy sees it. */
function windowPrincipal(clientId: string): Principal {
  return {
    clientId,
    kind: 'window',
    scopes: new Set(['certificates:read']),
    departmentCode: null,
    subjectId: null,
    tokenId: 'test',
  };
}

const purpose = { purpose: 'case_acceptance', caseRef: null, operatorId: null };

/** The policy's answer to the client using the resource now (or at `now`). */
async function checkResourceAccess(
  _db: TestGateway['services']['db'],
  client: { clientId: string; kind?: string },
  code: string,
  now = new Date(),
) {
  return gw.services.access
    .forRequest(windowPrincipal(client.clientId), purpose, 'req-check', now)
    .decide(gw.services.db, 'resource.use', { kind: 'department_resource', code });
}

/** What a department call does first: the decision, audited, or the refusal thrown. */
async function enforceResourceAccess(
  db: TestGateway['services']['db'],
  context: { principal: { clientId: string; kind?: string }; requestId?: string },
  code: string,
) {
  const principal = windowPrincipal(context.principal.clientId);
  const requestId = context.requestId ?? 'req-enforce';
  const access = gw.services.access.forRequest(principal, purpose, requestId, new Date());
  const decision = await requireResourceUse(
    { db, principal, purpose, requestId, access, logger: gw.services.logger, subjectRef: null },
    code,
  );
  return { grantId: decision.grantId };
}

beforeAll(async () => {
  gw = await createTestGateway();
  departmentToken = await gw.tokenFor('department', undefined, { departmentCode: 'TESTDEPT' });
  const other = await gw.createClient('department', { departmentCode: 'OTHERDEPT' });
  otherDepartmentToken = (
    await gw.services.tokens.issue(other.client, ['contracts:read', 'contracts:write', 'grants:decide'])
  ).accessToken;
  integratorToken = await gw.tokenFor('integrator');
  const window = await gw.createClient('window');
  windowClientId = window.client.id;
  windowToken = (await gw.services.tokens.issue(window.client, ['contracts:read', 'grants:request'])).accessToken;
  const otherWindow = await gw.createClient('window');
  otherWindowToken = (await gw.services.tokens.issue(otherWindow.client, ['contracts:read', 'grants:request']))
    .accessToken;
});
afterAll(async () => gw?.close());

function fixture(): Doc {
  return parseYaml(fixtureText) as Doc;
}

/** The fixture as published in 1.1.0: one more optional response property. */
function fixture11(): Doc {
  const document = fixture();
  document.components.schemas.Person.properties.nationality = { type: 'string' };
  return document;
}

function publishYaml(text: string, token = departmentToken): Promise<Response> {
  return gw.request('/v1/contracts', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/yaml' }),
    body: text,
  });
}

function publishJson(body: unknown, token = departmentToken): Promise<Response> {
  return gw.request('/v1/contracts', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
}

async function get(path: string, token = windowToken): Promise<Response> {
  return gw.request(path, { headers: bearer(token) });
}

/** A small valid document for resource `code` at `version`. */
function small(code: string, version: string, sharingType = 'unconditional', department = 'TESTDEPT'): Doc {
  return {
    openapi: '3.1.0',
    info: {
      title: `Resource ${code}`,
      version,
      'x-onewindow-catalogue': {
        resourceCode: code,
        departmentCode: department,
        sharingType,
        updateFrequency: 'daily',
        sla: { availabilityPercent: 99, p95LatencyMs: 500, supportHours: 'office hours' },
      },
    },
    paths: {
      '/items': {
        get: {
          responses: {
            '200': {
              description: 'ok',
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
                },
              },
            },
          },
        },
      },
    },
  };
}

describe('publishing', () => {
  it('publishes a YAML document with its embedded catalogue data, and audits it', async () => {
    const response = await publishYaml(fixtureText);
    expect(response.status, await response.clone().text()).toBe(201);
    const body = (await response.json()) as Doc;
    expect(body).toMatchObject({
      resourceCode: 'tst.population',
      version: '1.0.0',
      previousVersion: null,
      openapiVersion: '3.1.0',
      changes: [],
      breakingChanges: 0,
      catalogue: {
        departmentCode: 'TESTDEPT',
        sharingType: 'conditional',
        title: 'Test population registry',
        fieldSensitivity: { 'person.idNumber': 'secret' },
      },
    });
    expect(body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(response.headers.get('location')).toBe('/v1/contracts/tst.population/versions/1.0.0');
    const audit = await gw.services.db.select().from(auditEntries).where(eq(auditEntries.action, 'contract.publish'));
    expect(
      audit.some((entry) => entry.fields.includes('contract:tst.population@1.0.0') && entry.outcome === 'allowed'),
    ).toBe(true);
  });

  it('publishes a JSON envelope with the document as an object and catalogue data in the body (body wins)', async () => {
    const document = small('tst.vehicles', '0.1.0', 'unconditional', 'OTHERDEPT');
    const response = await publishJson(
      { document, catalogue: { title: 'Vehicles (overridden)', sharingType: 'not_shared' } },
      integratorToken,
    );
    expect(response.status, await response.clone().text()).toBe(201);
    expect(await response.json()).toMatchObject({
      catalogue: { title: 'Vehicles (overridden)', sharingType: 'not_shared', departmentCode: 'OTHERDEPT' },
    });
  });

  it('publishes a JSON envelope with the document as text', async () => {
    const response = await publishJson({ document: toYaml(small('tst.licences', '1.0.0', 'conditional')) });
    expect(response.status, await response.clone().text()).toBe(201);
  });

  it('stores a compact JSON document once, and a reformatted one beside its source; both are served and loaded', async () => {
    const compact = small('tst.compactjson', '1.0.0');
    const pretty = small('tst.prettyjson', '1.0.0');
    expect((await publishJson({ document: JSON.stringify(compact) })).status).toBe(201);
    expect((await publishJson({ document: JSON.stringify(pretty, null, 2) })).status).toBe(201);
    const stored = await gw.services.db
      .select({ resourceCode: contractVersions.resourceCode, document: contractVersions.document })
      .from(contractVersions)
      .where(inArray(contractVersions.resourceCode, ['tst.compactjson', 'tst.prettyjson']))
      .orderBy(contractVersions.resourceCode);
    // The compact source is the document's JSON text: stored once, read through source_text.
    expect(stored).toEqual([
      { resourceCode: 'tst.compactjson', document: null },
      { resourceCode: 'tst.prettyjson', document: JSON.stringify(pretty) },
    ]);
    for (const [code, document] of [
      ['tst.compactjson', compact],
      ['tst.prettyjson', pretty],
    ] as const) {
      const version = await get(`/v1/contracts/${code}/versions/1.0.0`, departmentToken);
      expect(((await version.json()) as { document: Doc }).document).toEqual(document);
      expect(gw.services.publishedContracts.set.get(code)?.version).toBe('1.0.0');
    }
    // The next version is diffed against the stored (or source) JSON of the one before.
    const next = small('tst.compactjson', '1.1.0');
    next.paths['/extra'] = structuredClone(Object.values(next.paths)[0]);
    next.paths['/extra'].get.operationId = 'getExtra';
    const published = await publishJson({ document: JSON.stringify(next) });
    expect(published.status, await published.clone().text()).toBe(201);
    expect(await published.json()).toMatchObject({ changes: [{ code: 'path_added', severity: 'compatible' }] });
  });

  it('stores a large version in pieces, never cutting a character in two, and serves it as sent', async () => {
    // The first cut falls between the two halves of an emoji (a surrogate pair in JavaScript).
    const document = small('tst.piecesjson', '1.0.0');
    const textWith = (filler: number) => {
      document.info.description = `${'键'.repeat(filler)}😀${'x'.repeat(300_000)}`;
      return `${JSON.stringify(document, null, 1)}\n`;
    };
    const text = textWith(TEXT_PIECE_CHARS - 1 - textWith(0).indexOf('😀'));
    expect(text.charCodeAt(TEXT_PIECE_CHARS - 1)).toBe(0xd83d);
    const response = await publishJson({ document: text });
    expect(response.status, await response.clone().text()).toBe(201);
    const [row] = await gw.services.db
      .select({ id: contractVersions.id, sourceText: contractVersions.sourceText, document: contractVersions.document })
      .from(contractVersions)
      .where(eq(contractVersions.resourceCode, 'tst.piecesjson'));
    expect(row).toMatchObject({ sourceText: null, document: null });
    const pieces = await gw.services.db
      .select()
      .from(contractVersionTexts)
      .where(eq(contractVersionTexts.versionId, row!.id))
      .orderBy(contractVersionTexts.part, contractVersionTexts.seq);
    const source = pieces.filter((piece) => piece.part === 'source').map((piece) => piece.piece);
    expect(source.length).toBeGreaterThan(2);
    expect(source[0]!.endsWith('😀')).toBe(true);
    expect(source.join('')).toBe(text);
    expect(
      pieces
        .filter((piece) => piece.part === 'document')
        .map((piece) => piece.piece)
        .join(''),
    ).toBe(JSON.stringify(document));
    // Served as sent, loaded for the checks, and the next version diffed against it.
    const version = await get('/v1/contracts/tst.piecesjson/versions/1.0.0', departmentToken);
    expect(((await version.json()) as { document: Doc }).document).toEqual(document);
    const yaml = await (await get('/v1/contracts/tst.piecesjson/versions/1.0.0?format=yaml', departmentToken)).text();
    expect(parseYaml(yaml)).toEqual(document);
    expect(gw.services.publishedContracts.set.get('tst.piecesjson')?.version).toBe('1.0.0');
    const next = structuredClone(document);
    next.info.version = '1.0.1';
    const republished = await publishJson({ document: JSON.stringify(next) });
    expect(republished.status, await republished.clone().text()).toBe(201);
    expect(await republished.json()).toMatchObject({ changes: [] });
  });

  it('refuses a department publishing for another department', async () => {
    const response = await publishJson({ document: small('tst.other', '1.0.0', 'unconditional', 'OTHERDEPT') });
    expect(response.status).toBe(403);
    expect((await problemOf(response)).code).toBe('forbidden');
  });

  it('refuses taking over a resource owned by another department, even for an integrator', async () => {
    const response = await publishJson(
      { document: small('tst.population', '9.0.0', 'unconditional', 'OTHERDEPT') },
      integratorToken,
    );
    expect(response.status).toBe(403);
  });

  it('refuses clients without contracts:write', async () => {
    const response = await publishYaml(fixtureText, windowToken);
    expect(response.status).toBe(403);
    expect((await problemOf(response)).code).toBe('insufficient_scope');
  });

  it("refuses a malformed document with the validator's messages and JSON pointers", async () => {
    const document = small('tst.broken', '1.0.0');
    delete document.paths['/items'].get.responses['200'].description;
    const response = await publishJson({ document });
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.code).toBe('contract_invalid');
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: '/paths/~1items/get/responses/200',
          message: expect.stringMatching(/description/),
        }),
      ]),
    );
  });

  it('refuses YAML that is not well-formed, with the line', async () => {
    const problem = await problemOf(await publishYaml('openapi: 3.1.0\ninfo: [unclosed\n'));
    expect(problem.code).toBe('contract_invalid');
    expect((problem.errors as { path: string }[])[0]?.path).toMatch(/^line \d+/);
  });

  it('refuses YAML alias bombs', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'
        .split('')
        .map((name, index) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[index]}`).join(', ')}]`),
    ].join('\n');
    const problem = await problemOf(await publishYaml(bomb));
    expect(problem.code).toBe('contract_invalid');
  });

  it('refuses Swagger 2.0 and other OpenAPI versions', async () => {
    const swagger = await problemOf(
      await publishJson({ document: { swagger: '2.0', info: { title: 'x', version: '1.0.0' }, paths: {} } }),
    );
    expect(swagger).toMatchObject({ code: 'contract_invalid', detail: expect.stringMatching(/Swagger 2\.0/) });
    const future = await problemOf(
      await publishJson({ document: { ...small('tst.future', '1.0.0'), openapi: '4.0.0' } }),
    );
    expect(future.code).toBe('contract_invalid');
  });

  it('republishes a document whose paths differ only in template names (issue 18: it was path_removed)', async () => {
    const twins = (version: string): Doc => {
      const document = small('tst.twins', version);
      const pathParameter = (name: string) => [{ name, in: 'path', required: true, schema: { type: 'string' } }];
      document.paths['/projects/{key}'] = {
        get: { parameters: pathParameter('key'), responses: { '200': { description: 'by key' } } },
      };
      document.paths['/projects/{id}'] = {
        delete: { parameters: pathParameter('id'), responses: { '204': { description: 'deleted' } } },
      };
      return document;
    };
    expect((await publishJson({ document: twins('1.0.0') })).status).toBe(201);
    const republished = await publishJson({ document: twins('1.0.1') });
    expect(republished.status).toBe(201);
    expect(await republished.json()).toMatchObject({ version: '1.0.1', previousVersion: '1.0.0', breakingChanges: 0 });
  });

  it('refuses a $ref loop at the first version, so the resource cannot get stuck (issue 18)', async () => {
    const looping = small('tst.refloop', '1.0.0');
    looping.paths['/loop'] = {
      get: {
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/A' } } } },
        },
      },
    };
    looping.components = { schemas: { A: { $ref: '#/components/schemas/B' }, B: { $ref: '#/components/schemas/A' } } };
    const response = await publishJson({ document: looping });
    expect(response.status).toBe(422);
    expect(await problemOf(response)).toMatchObject({ code: 'contract_invalid' });
  });

  it('refuses external references without reading them', async () => {
    const document = small('tst.external', '1.0.0');
    document.paths['/items'].get.responses['200'].content['application/json'].schema = {
      $ref: 'http://127.0.0.1:9/schemas.json#/Thing',
    };
    const problem = await problemOf(await publishJson({ document }));
    expect(problem.code).toBe('contract_invalid');
    expect((problem.errors as { message: string }[])[0]?.message).toMatch(/only local references/);
  });

  it('refuses a version that is not semver, and missing catalogue data', async () => {
    const unversioned = small('tst.semver', '1.0');
    expect((await problemOf(await publishJson({ document: unversioned }))).code).toBe('contract_invalid');
    const bare = small('tst.bare', '1.0.0');
    delete bare.info['x-onewindow-catalogue'];
    const problem = await problemOf(await publishJson({ document: bare }));
    expect(problem.code).toBe('contract_catalogue_invalid');
    expect((problem.errors as { path: string }[]).map((error) => error.path)).toEqual(
      expect.arrayContaining(['resourceCode', 'sharingType']),
    );
  });

  it('refuses a document over the size cap', async () => {
    const huge = small('tst.huge', '1.0.0');
    huge.info.description = 'x'.repeat(2 * 1024 * 1024 + 10);
    const response = await publishJson({ document: huge });
    expect(response.status).toBe(413);
    expect((await problemOf(response)).code).toBe('contract_too_large');
  });
});

describe('versions and breaking changes', () => {
  it('accepts a compatible minor version and records its changes', async () => {
    const next = fixture();
    next.info.version = '1.1.0';
    next.components.schemas.Person.properties.nationality = { type: 'string' };
    const response = await publishYaml(toYaml(next));
    expect(response.status, await response.clone().text()).toBe(201);
    const body = (await response.json()) as Doc;
    expect(body.previousVersion).toBe('1.0.0');
    expect(body.breakingChanges).toBe(0);
    expect(body.changes.map((change: Doc) => change.code)).toContain('response_property_added');
  });

  it('refuses a breaking change without a major bump, listing the breaking changes', async () => {
    const next = fixture11();
    next.info.version = '1.2.0';
    delete next.paths['/households/{householdNumber}'];
    next.components.schemas.Person.properties.gender.enum.push('unspecified');
    const response = await publishYaml(toYaml(next));
    expect(response.status).toBe(409);
    const problem = await problemOf(response);
    expect(problem.code).toBe('contract_breaking_change');
    expect((problem.breakingChanges as Doc[]).map((change) => change.code).sort()).toEqual(
      ['path_removed', 'response_enum_value_added'].sort(),
    );
  });

  it('accepts the same breaking change with a major bump and records it', async () => {
    const next = fixture11();
    next.info.version = '2.0.0';
    delete next.paths['/households/{householdNumber}'];
    const response = await publishYaml(toYaml(next));
    expect(response.status, await response.clone().text()).toBe(201);
    expect(await response.json()).toMatchObject({ previousVersion: '1.1.0', breakingChanges: 1 });
  });

  it('refuses a version already published and one older than the latest', async () => {
    const same = fixture();
    same.info.version = '2.0.0';
    expect((await problemOf(await publishYaml(toYaml(same)))).code).toBe('contract_version_exists');
    const older = fixture();
    older.info.version = '1.5.0';
    expect((await problemOf(await publishYaml(toYaml(older)))).code).toBe('contract_version_not_newer');
    const prerelease = fixture();
    prerelease.info.version = '2.0.0-rc.1';
    expect((await problemOf(await publishYaml(toYaml(prerelease)))).code).toBe('contract_version_not_newer');
  });
});

describe('catalogue read API', () => {
  it('lists and searches the latest versions', async () => {
    const all = (await (await get('/v1/contracts')).json()) as { items: Doc[] };
    const population = all.items.find((item) => item.resourceCode === 'tst.population');
    expect(population).toMatchObject({
      title: 'Test population registry',
      departmentCode: 'TESTDEPT',
      sharingType: 'conditional',
      latestVersion: '2.0.0',
    });
    expect(typeof population?.updatedAt).toBe('string');
    const search = (await (await get('/v1/contracts?q=TEST%20POPULATION')).json()) as { items: Doc[] };
    expect(search.items.map((item) => item.resourceCode)).toEqual(['tst.population']);
    const wildcard = (await (await get('/v1/contracts?q=%25')).json()) as { items: Doc[] };
    expect(wildcard.items).toEqual([]);
    const byDepartment = (await (await get('/v1/contracts?department=OTHERDEPT')).json()) as { items: Doc[] };
    expect(byDepartment.items.map((item) => item.resourceCode)).toEqual(['tst.vehicles']);
    const conditional = (await (await get('/v1/contracts?department=TESTDEPT&sharingType=conditional')).json()) as {
      items: Doc[];
    };
    expect(conditional.items.map((item) => item.resourceCode).sort()).toEqual(['tst.licences', 'tst.population']);
    expect((await get('/v1/contracts?sharingType=sometimes')).status).toBe(400);
  });

  it('shows an entry with its versions, newest first', async () => {
    const response = await get('/v1/contracts/tst.population');
    expect(response.status).toBe(200);
    const entry = (await response.json()) as Doc;
    expect(entry.versions.map((version: Doc) => version.version)).toEqual(['2.0.0', '1.1.0', '1.0.0']);
    expect(entry.versions[0]).toMatchObject({ breakingChanges: 1, openapiVersion: '3.1.0' });
    expect(entry.catalogue.sla).toEqual({
      availabilityPercent: 99.9,
      p95LatencyMs: 800,
      supportHours: 'Mon-Fri 08:30-17:30 CST',
    });
  });

  it('returns a version with its document, and the document as YAML', async () => {
    const response = await get('/v1/contracts/tst.population/versions/1.0.0');
    expect(response.status).toBe(200);
    const version = (await response.json()) as Doc;
    expect(version.document).toEqual(fixture());
    expect(Object.keys(version.document)).toEqual(Object.keys(fixture()));
    expect(version.catalogue.resourceCode).toBe('tst.population');
    const yaml = await get('/v1/contracts/tst.population/versions/1.0.0?format=yaml');
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(await yaml.text()).toBe(fixtureText);
    const fromJson = await get('/v1/contracts/tst.vehicles/versions/0.1.0?format=yaml');
    expect(parseYaml(await fromJson.text())).toEqual(small('tst.vehicles', '0.1.0', 'unconditional', 'OTHERDEPT'));
  });

  it('diffs any two versions', async () => {
    const response = await get('/v1/contracts/tst.population/diff?from=1.0.0&to=2.0.0');
    expect(response.status).toBe(200);
    const diff = (await response.json()) as Doc;
    expect(diff.breaking).toBe(true);
    expect(diff.changes.map((change: Doc) => change.code)).toEqual(
      expect.arrayContaining(['path_removed', 'response_property_added']),
    );
    const back = (await (await get('/v1/contracts/tst.population/diff?from=1.1.0&to=1.0.0')).json()) as Doc;
    expect(back.changes.map((change: Doc) => `${change.severity} ${change.code}`)).toContain(
      'breaking response_property_removed',
    );
  });

  it('answers 404 for unknown resources and versions, 400 for malformed codes', async () => {
    expect((await problemOf(await get('/v1/contracts/tst.nothing'))).code).toBe('unknown_contract');
    expect((await problemOf(await get('/v1/contracts/tst.population/versions/9.9.9'))).code).toBe(
      'unknown_contract_version',
    );
    expect((await problemOf(await get('/v1/contracts/tst.population/diff?from=1.0.0&to=7.0.0'))).code).toBe(
      'unknown_contract_version',
    );
    expect((await get('/v1/contracts/Not_A_Code')).status).toBe(400);
  });
});

describe('access requests and grants', () => {
  let requestId: string;

  it('lets a consumer ask for access to a conditional resource', async () => {
    const response = await gw.request('/v1/contracts/tst.population/access-requests', {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/json' }),
      body: JSON.stringify({
        purpose: 'household registration cases',
        legalBasis: 'Regulation on household registration, art. 10',
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    const body = (await response.json()) as Doc;
    expect(body).toMatchObject({
      status: 'pending',
      resourceCode: 'tst.population',
      clientId: windowClientId,
      decision: null,
    });
    requestId = body.id;
  });

  it('refuses requests for unconditional, unshared and unknown resources', async () => {
    const ask = (code: string) =>
      gw.request(`/v1/contracts/${code}/access-requests`, {
        method: 'POST',
        headers: bearer(windowToken, { 'content-type': 'application/json' }),
        body: JSON.stringify({ purpose: 'p', legalBasis: 'l' }),
      });
    expect((await problemOf(await ask('tst.vehicles'))).code).toBe('resource_not_shared');
    expect((await problemOf(await ask('tst.nothing'))).code).toBe('unknown_contract');
    await publishYaml(toYaml(small('tst.open', '1.0.0', 'unconditional')));
    expect((await ask('tst.open')).status).toBe(422);
  });

  it('shows a consumer its own requests and a department those for its resources', async () => {
    const own = (await (await get('/v1/access-requests', windowToken)).json()) as { items: Doc[] };
    expect(own.items.map((item) => item.id)).toEqual([requestId]);
    const others = (await (await get('/v1/access-requests', otherWindowToken)).json()) as { items: Doc[] };
    expect(others.items).toEqual([]);
    const owner = (await (await get('/v1/access-requests?status=pending', departmentToken)).json()) as { items: Doc[] };
    expect(owner.items.map((item) => item.id)).toContain(requestId);
    const stranger = (await (await get('/v1/access-requests', otherDepartmentToken)).json()) as { items: Doc[] };
    expect(stranger.items).toEqual([]);
    const integrator = await get('/v1/access-requests', integratorToken);
    expect(integrator.status).toBe(403);
  });

  it('enforces: no grant before approval, and the refusal is audited', async () => {
    expect(
      await checkResourceAccess(gw.services.db, { clientId: windowClientId, kind: 'window' }, 'tst.population'),
    ).toMatchObject({ allowed: false, reason: 'no_grant' });
    await expect(
      enforceResourceAccess(
        gw.services.db,
        { principal: { clientId: windowClientId, kind: 'window' }, requestId: 'req-enforce-1' },
        'tst.population',
      ),
    ).rejects.toMatchObject({
      code: 'resource_grant_required',
      status: 403,
    });
    const [entry] = await gw.services.db.select().from(auditEntries).where(eq(auditEntries.requestId, 'req-enforce-1'));
    expect(entry).toMatchObject({ action: 'contract.access_check', outcome: 'denied', actorClientId: windowClientId });
  });

  it('lets only the owning department decide, once', async () => {
    const decide = (token: string, decision: string) =>
      gw.request(`/v1/access-requests/${requestId}/decision`, {
        method: 'POST',
        headers: bearer(token, { 'content-type': 'application/json' }),
        body: JSON.stringify({ decision, reason: 'lawful purpose' }),
      });
    expect((await problemOf(await decide(otherDepartmentToken, 'approve'))).code).toBe('forbidden');
    const approved = await decide(departmentToken, 'approve');
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ status: 'approved', decision: { reason: 'lawful purpose' } });
    const again = await decide(departmentToken, 'deny');
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe('access_request_decided');
    expect(
      (
        await problemOf(
          await gw.request('/v1/access-requests/acr_AAAAAAAAAAAAAAAA/decision', {
            method: 'POST',
            headers: bearer(departmentToken, { 'content-type': 'application/json' }),
            body: JSON.stringify({ decision: 'deny', reason: 'x' }),
          }),
        )
      ).code,
    ).toBe('not_found');
    const audit = await gw.services.db
      .select()
      .from(auditEntries)
      .where(eq(auditEntries.action, 'contract.access_approve'));
    expect(audit.filter((entry) => entry.fields.includes(`access_request:${requestId}`))).toHaveLength(1);
  });

  it('grants access after approval, to that client only, and audits the allowed check', async () => {
    const access = await checkResourceAccess(
      gw.services.db,
      { clientId: windowClientId, kind: 'window' },
      'tst.population',
    );
    expect(access).toMatchObject({ allowed: true, grantId: requestId });
    expect(
      await enforceResourceAccess(
        gw.services.db,
        { principal: { clientId: windowClientId, kind: 'window' }, requestId: 'req-enforce-2' },
        'tst.population',
      ),
    ).toEqual({ grantId: requestId });
    const [entry] = await gw.services.db.select().from(auditEntries).where(eq(auditEntries.requestId, 'req-enforce-2'));
    expect(entry).toMatchObject({ outcome: 'allowed', fields: ['resource:tst.population', `grant:${requestId}`] });
    expect(
      await checkResourceAccess(gw.services.db, { clientId: 'cli_someone_else', kind: 'window' }, 'tst.population'),
    ).toMatchObject({ allowed: false, reason: 'no_grant' });
  });

  it('treats unconditional, unshared, unknown and expired cases as they should', async () => {
    const client = { clientId: windowClientId, kind: 'window' as const };
    expect(await checkResourceAccess(gw.services.db, client, 'tst.open')).toMatchObject({
      allowed: true,
      grantId: null,
    });
    expect(await checkResourceAccess(gw.services.db, client, 'tst.vehicles')).toMatchObject({
      allowed: false,
      reason: 'not_shared',
    });
    expect(await checkResourceAccess(gw.services.db, client, 'tst.nothing')).toMatchObject({
      allowed: false,
      reason: 'unknown_resource',
    });
    await expect(enforceResourceAccess(gw.services.db, { principal: client }, 'tst.vehicles')).rejects.toBeInstanceOf(
      ApiError,
    );
    await expect(enforceResourceAccess(gw.services.db, { principal: client }, 'tst.vehicles')).rejects.toMatchObject({
      code: 'resource_not_shared',
    });

    const expiring = await gw.request('/v1/contracts/tst.licences/access-requests', {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/json' }),
      body: JSON.stringify({
        purpose: 'licence checks',
        legalBasis: 'art. 1',
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
    });
    const { id } = (await expiring.json()) as { id: string };
    await gw.request(`/v1/access-requests/${id}/decision`, {
      method: 'POST',
      headers: bearer(departmentToken, { 'content-type': 'application/json' }),
      body: JSON.stringify({ decision: 'approve', reason: 'ok' }),
    });
    expect(await checkResourceAccess(gw.services.db, client, 'tst.licences')).toMatchObject({
      allowed: true,
      grantId: id,
    });
    expect(
      await checkResourceAccess(gw.services.db, client, 'tst.licences', new Date(Date.now() + 120_000)),
    ).toMatchObject({ allowed: false, reason: 'no_grant' });

    const past = await gw.request('/v1/contracts/tst.licences/access-requests', {
      method: 'POST',
      headers: bearer(windowToken, { 'content-type': 'application/json' }),
      body: JSON.stringify({ purpose: 'p', legalBasis: 'l', expiresAt: '2020-01-01T00:00:00Z' }),
    });
    expect(past.status).toBe(400);
  });
});

describe('repository contracts', () => {
  it('publishes every contract file once, and skips what is already published', async () => {
    const first = await seedRepositoryContracts(gw.services.db, { directory: registryFixtures });
    expect(first.failed).toEqual([]);
    expect(first.published).toHaveLength(1);
    const second = await seedRepositoryContracts(gw.services.db, { directory: registryFixtures });
    expect(second).toMatchObject({ published: [], failed: [] });
    expect(second.unchanged).toHaveLength(1);
    const entry = (await (await get('/v1/contracts/tst.enterprises')).json()) as Doc;
    expect(entry).toMatchObject({
      sharingType: 'unconditional',
      latestVersion: '1.1.0',
      versions: [{ publishedBy: 'system:repository' }],
    });
  });

  it("published the repository's own contracts/ at start without failures", async () => {
    const report = await seedRepositoryContracts(gw.services.db);
    expect(report.failed).toEqual([]);
    expect(report.published).toEqual([]);
  });
});
