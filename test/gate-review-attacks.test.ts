/**
 * Attacks on the contract gate's event-loop bound (issue 18) after c932004, on the default embedded
 * PGlite as on PostgreSQL: documents within the publication limits, shaped against the new code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { createContractSet } from '../adapters/sdk/contract-validation.js';
import { sharedContractChecker } from '../gateway/contracts/contract-checker.js';
import { PublishedContracts } from '../gateway/departments/published-contracts.js';
import { assembleJsonSlices } from '../gateway/platform/json-slices.js';
import { rewriteOpenApi30 } from '../adapters/sdk/openapi-30-schemas.js';
import { type ContractChange, MAX_LISTED_CHANGE_CHARS, diffContracts } from '../gateway/contracts/diff.js';
import { EVENT_LOOP_BOUND_MS, leastBlock as leastBlockOf } from './event-loop.js';
import { type TestGateway, bearer, createTestGateway, testPostgresUrl } from './harness.js';

/**
 * Every one of three attempts runs: each publishing attempt has its own resource, and a next
 * version's attempt needs its first version published by the attempt of the same number.
 */
const leastBlock = <T>(work: (attempt: number) => Promise<T>) => leastBlockOf(work, 3, 0);

let gw: TestGateway;
let departmentToken: string;

beforeAll(async () => {
  // PGlite in a folder, as deployed (`pgliteOnDisk`): the in-memory one's file growth is not the gateway's.
  gw = await createTestGateway({}, { pgliteOnDisk: true });
  departmentToken = await gw.tokenFor('department', undefined, { departmentCode: 'TESTDEPT' });
});
afterAll(async () => gw?.close());

const catalogueOf = (resourceCode: string) => ({
  resourceCode,
  departmentCode: 'TESTDEPT',
  sharingType: 'unconditional',
  updateFrequency: 'daily',
  sla: { availabilityPercent: 99.9, p95LatencyMs: 800, supportHours: 'Mon-Fri' },
});

const publish = (body: string, contentType = 'application/json') =>
  gw.request('/v1/contracts', {
    method: 'POST',
    headers: bearer(departmentToken, { 'content-type': contentType, 'accept-language': 'en' }),
    body,
  });
const read = (path: string) => gw.request(path, { headers: bearer(departmentToken) });
const database = testPostgresUrl ? 'PostgreSQL' : 'PGlite';

/** One operation on a path `pathLength` characters long returning `properties` properties of `type`. */
function longPathContract(resourceCode: string, version: string, pathLength: number, properties: number, type: string) {
  const fields: Record<string, unknown> = {};
  for (let index = 0; index < properties; index += 1) fields[`f${index}`] = { type };
  const path = `/${'p'.repeat(pathLength)}`;
  return JSON.stringify({
    document: {
      openapi: '3.1.0',
      info: { title: 'Long path', version, 'x-onewindow-catalogue': catalogueOf(resourceCode) },
      paths: {
        [path]: {
          get: {
            operationId: 'getLong',
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { type: 'object', properties: fields } } },
              },
            },
          },
        },
      },
    },
  });
}

describe('attack: a long path name repeated in every listed change', () => {
  it('lists changes up to a budget of characters, in order, and counts the rest', () => {
    const documentOf = (type: string, pathLength: number) =>
      (JSON.parse(longPathContract('tst.unit', '1.0.0', pathLength, 1_000, type)) as { document: unknown }).document;
    // A 2 MB path: 1,000 changes of it would be ~6 GB, past what a string can hold.
    for (const pathLength of [20_000, 2_000_000]) {
      const changes = diffContracts(documentOf('string', pathLength), documentOf('integer', pathLength));
      expect(JSON.stringify(changes).length).toBeLessThan(MAX_LISTED_CHANGE_CHARS + 1_000);
      const counted = changes.at(-1)!;
      expect(counted).toMatchObject({ code: 'changes_not_listed', severity: 'breaking' });
      const listed = changes.length - 1;
      expect(counted.message).toContain(`${1_000 - listed} more changes (${1_000 - listed} of them breaking)`);
      expect(counted.message).toContain(`the first ${listed} are`);
    }
    // Usual paths keep the whole list of 1,000.
    const usual = diffContracts(documentOf('string', 10), documentOf('integer', 10));
    expect(usual).toHaveLength(1_000);
  });

  it('next major version of a 20 KB path with 1,000 changed properties', { timeout: 300_000 }, async () => {
    const pathLength = Number(process.env.ATTACK_PATH_LENGTH ?? 20_000);
    const holds: Record<string, number[]> = {};
    const first = await leastBlock(
      async (attempt) =>
        (await publish(longPathContract(`tst.longpath${attempt}`, '1.0.0', pathLength, 1_000, 'string'))).status,
    );
    expect(first.result).toBe(201);
    holds.publish = first.all;
    const next = await leastBlock(async (attempt) => {
      const response = await publish(longPathContract(`tst.longpath${attempt}`, '2.0.0', pathLength, 1_000, 'integer'));
      return { status: response.status, text: await response.text() };
    });
    console.info(`next version answer: ${next.result.status}, ${(next.result.text.length / 1e6).toFixed(1)} MB`);
    // Before: 1,000 changes of ~40,000 characters each, a 40 MB answer (and stored list).
    const { changes } = JSON.parse(next.result.text) as { changes: ContractChange[] };
    expect(JSON.stringify(changes).length).toBeLessThan(MAX_LISTED_CHANGE_CHARS + 1_000);
    expect(changes.at(-1)).toMatchObject({ code: 'changes_not_listed', severity: 'breaking' });
    holds.nextVersion = next.all;
    holds.version = (
      await leastBlock(async () => (await read('/v1/contracts/tst.longpath1/versions/2.0.0')).text())
    ).all;
    holds.entry = (await leastBlock(async () => (await read('/v1/contracts/tst.longpath1')).text())).all;
    holds.diff = (
      await leastBlock(async () => (await read('/v1/contracts/tst.longpath1/diff?from=1.0.0&to=2.0.0')).text())
    ).all;
    console.info(`long path ${pathLength} (${database}): ${JSON.stringify(holds)}`);
    expect(next.result.status).toBe(201);
    for (const [operation, figures] of Object.entries(holds))
      expect(Math.min(...figures), operation).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });
});

/** A 3.1 contract as JSON text with `fillerJson` as its `x-filler`. */
function withFiller(resourceCode: string, version: string, fillerJson: string, extraPaths = 0): string {
  const paths: Record<string, unknown> = {};
  for (let index = 0; index <= extraPaths; index += 1)
    paths[`/a${index}`] = {
      get: {
        operationId: `getA${index}`,
        responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    };
  const head = JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'Filled', version, 'x-onewindow-catalogue': catalogueOf(resourceCode) },
    paths,
  });
  return `${head.slice(0, -1)},"x-filler":${fillerJson}}`;
}

const randomText = (length: number, seed: number) => {
  let state = seed;
  let text = '';
  while (text.length < length) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    text += state.toString(36);
  }
  return text.slice(0, length);
};

async function measureShape(
  name: string,
  fillerOf: (attempt: number) => string,
  asText: (json: string) => { body: string; type: string },
) {
  const holds: Record<string, number[]> = {};
  const code = (attempt: number) => `tst.${name}${attempt}`;
  const bodies = [1, 2, 3].map((attempt) => asText(withFiller(code(attempt), '1.0.0', fillerOf(attempt))));
  console.info(`${name}: ${(bodies[0]!.body.length / 1e6).toFixed(2)} MB`);
  const first = await leastBlock(async (attempt) => {
    const response = await publish(bodies[attempt - 1]!.body, bodies[attempt - 1]!.type);
    return { status: response.status, text: await response.text() };
  });
  expect(first.result.status, first.result.text.slice(0, 400)).toBe(201);
  holds.publish = first.all;
  const nextBodies = [1, 2, 3].map((attempt) =>
    asText(withFiller(code(1), `1.${attempt}.0`, fillerOf(attempt), attempt)),
  );
  const next = await leastBlock(async (attempt) => {
    const response = await publish(nextBodies[attempt - 1]!.body, nextBodies[attempt - 1]!.type);
    return { status: response.status, text: await response.text() };
  });
  expect(next.result.status, next.result.text.slice(0, 400)).toBe(201);
  holds.nextVersion = next.all;
  holds.json = (await leastBlock(async () => (await read(`/v1/contracts/${code(1)}/versions/1.1.0`)).text())).all;
  holds.yaml = (
    await leastBlock(async () => (await read(`/v1/contracts/${code(1)}/versions/1.1.0?format=yaml`)).text())
  ).all;
  holds.diff = (
    await leastBlock(async () => (await read(`/v1/contracts/${code(1)}/diff?from=1.0.0&to=1.1.0`)).text())
  ).all;
  holds.load = (
    await leastBlock(async () => {
      const contracts = new PublishedContracts(
        gw.database.db,
        createContractSet([]),
        gw.services.logger,
        (json, options) => sharedContractChecker.checkableSlices(json, options),
      );
      await contracts.refresh(code(1));
      return contracts.set.get(code(1))?.version;
    })
  ).all;
  console.info(`${name} (${database}): ${JSON.stringify(holds)}`);
  return holds;
}

const asJson = (json: string) => ({ body: JSON.stringify({ document: json }), type: 'application/json' });
/** The same document with one leading space: no longer its own compact JSON, so stored twice. */
const asSpacedJson = (json: string) => ({ body: JSON.stringify({ document: ` ${json}` }), type: 'application/json' });
const asYaml = (json: string) => ({ body: toYaml(JSON.parse(json), { lineWidth: 0 }), type: 'application/yaml' });
/** One random string just under the 2 MiB limit: one value, one slice, nothing for the value limit. */
const oneLongString = (attempt: number) => JSON.stringify(randomText(2_050_000, attempt));

describe('attack: 2 MiB of text written by embedded PGlite on the event loop', () => {
  // PGlite writes a row on this thread (MEMFS growth, WAL, TOAST, garbage collection), ~50–100 ms
  // a MB in one statement. A YAML or reformatted document is stored twice, source and JSON: 4 MB in
  // one INSERT held the loop 159–420 ms (compact, stored once: 77–98). Large texts are now written
  // in pieces of 128 Ki characters, one statement each (`contract_version_texts`).
  for (const [name, format] of [
    ['compact JSON', asJson],
    ['spaced JSON', asSpacedJson],
    ['YAML', asYaml],
  ] as const) {
    it(`publishes a 2 MiB ${name} document and its next version within the bound`, { timeout: 300_000 }, async () => {
      const holds = await measureShape(`bigtext${name.replace(/\W/g, '').toLowerCase()}`, oneLongString, format);
      for (const [operation, figures] of Object.entries(holds))
        expect(Math.min(...figures), operation).toBeLessThan(EVENT_LOOP_BOUND_MS);
    });
  }

  it('publishes five objects of 19,990 keys each (cut into member slices) within the bound', {
    timeout: 300_000,
  }, async () => {
    const wide = () =>
      JSON.stringify(
        Array.from({ length: 5 }, (_, object) =>
          Object.fromEntries(Array.from({ length: 19_990 }, (_, key) => [`k${object}_${key}`, 0])),
        ),
      );
    const holds = await measureShape('wide', wide, asJson);
    for (const [operation, figures] of Object.entries(holds))
      expect(Math.min(...figures), operation).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });
});

describe('slices rebuild awkward documents as the worker cut them', () => {
  /** `__proto__` and `constructor` schemas too large for one slice, integer-like keys, empty containers. */
  const awkwardJson = (openapi: string) => {
    const properties = Object.fromEntries(
      Array.from({ length: 9_000 }, (_, index) => [`p${index}`, { type: 'string', nullable: true }]),
    );
    const schemas = `{"__proto__":{"type":"object","nullable":true,"properties":${JSON.stringify(properties)}},"constructor":{"type":"object","properties":${JSON.stringify(properties)}},"10":{},"2":{"type":"array","items":{}},"toString":{"enum":[]}}`;
    return `{"openapi":"${openapi}","info":{"title":"t","version":"1.0.0"},"paths":{},"components":{"schemas":${schemas}}}`;
  };

  for (const [openapi, rewrite] of [
    ['3.1.0', false],
    ['3.0.3', true],
  ] as const) {
    it(`keeps members, their order and prototypes (${openapi}, rewritten: ${rewrite})`, async () => {
      const json = awkwardJson(openapi);
      const slices = await sharedContractChecker.checkableSlices(json, { rewriteOpenApi30: rewrite });
      expect(slices.length).toBeGreaterThan(3);
      const rebuilt = (await assembleJsonSlices(slices)) as { components: { schemas: Record<string, unknown> } };
      const expected = rewrite ? rewriteOpenApi30(JSON.parse(json)) : JSON.parse(json);
      expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(expected));
      // Before the fix, the 3.0 rewrite assigned the `__proto__` schema as the prototype of the
      // schemas: it vanished from the slices, and the rebuilt schemas "had" a type and properties.
      const { schemas } = rebuilt.components;
      expect(Object.getPrototypeOf(schemas)).toBe(Object.prototype);
      expect(Object.keys(schemas)).toEqual(['2', '10', '__proto__', 'constructor', 'toString']);
      expect(({} as Record<string, unknown>).properties).toBeUndefined();
    });
  }
});
