/**
 * The adapter generator: what it writes typechecks, its contract is one the catalogue accepts, its
 * types are current, and the generated test — the adapter against its simulator and the SDK's
 * conformance suite — passes as generated (it is imported and run here). Bad names and codes are
 * refused with clear messages, and nothing is ever overwritten.
 *
 * The projects are generated inside the repository, so their imports of adapters/sdk resolve, under
 * `adapters/.temp/`: vitest's default exclude keeps the generated test files out of other runs and
 * tsc's globs skip dot folders. The folder is removed afterwards.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { renderContractTypes } from '../../gateway/cli/contract-types.js';
import { resolveCatalogueData } from '../../gateway/contracts/catalogue-data.js';
import { readContractDocument } from '../../gateway/contracts/document.js';
import { loadAdapterPackage } from '../../gateway/departments/adapter-packages.js';
import {
  checkRequest,
  generateAdapter,
  NewAdapterError,
  parseArguments,
  repositoryRoot,
  type GenerateLocations,
  type NewAdapterRequest,
} from './new-adapter.js';

const run = promisify(execFile);
const temporaryParent = join(repositoryRoot, 'adapters', '.temp');
const scratch = join(temporaryParent, `new-adapter-${randomBytes(6).toString('hex')}`);
const locations: GenerateLocations = {
  adaptersDirectory: scratch,
  contractsDirectory: join(scratch, 'contracts'),
  sdkDirectory: join(repositoryRoot, 'adapters', 'sdk'),
  repositoryRoot,
};

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  // Only when no other run is using it.
  await rmdir(temporaryParent).catch(() => undefined);
});
await mkdir(scratch, { recursive: true });

const personRequest: NewAdapterRequest = { name: 'xyz-records', department: 'XYZ', resource: 'xyz.records' };
const organisationRequest: NewAdapterRequest = {
  name: 'qrs-licences',
  department: 'QRS',
  resource: 'qrs.licences',
  holderKind: 'organisation',
  certificateType: 'qrs_operating_licence',
  title: "QRS operating-licence register (经营许可系统) — it's new",
};
const person = await generateAdapter(personRequest, locations);
const organisation = await generateAdapter(organisationRequest, locations);
const packagesDirectory = join(scratch, 'packages');
await mkdir(packagesDirectory);
const packageRequest: NewAdapterRequest = {
  name: 'uvw-permits',
  department: 'UVW',
  resource: 'uvw.permits',
  certificateType: 'uvw_permit',
  asPackage: true,
};
const packaged = await generateAdapter(packageRequest, { ...locations, packagesDirectory });

async function failureOf(promise: Promise<unknown>): Promise<NewAdapterError> {
  const outcome: unknown = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof NewAdapterError)) throw new Error(`expected a NewAdapterError, got ${String(outcome)}`);
  return outcome;
}

describe('new-adapter: the generated project', () => {
  it('writes the adapter folder, a starter contract and its types', async () => {
    expect((await readdir(person.adapterDirectory)).sort()).toEqual(
      [
        'README.md',
        'adapter.ts',
        'protocol.ts',
        'run-simulator.ts',
        'conformance.ts',
        'seed.ts',
        'simulator.ts',
        'xyz-records.test.ts',
      ].sort(),
    );
    expect(relative(scratch, person.contractFile)).toBe(join('contracts', 'xyz', 'xyz.records.openapi.yaml'));
    expect(relative(scratch, person.typesFile)).toBe(join('contracts', 'xyz', 'xyz.records.types.ts'));
    expect(person.files).toHaveLength(10);
  });

  it('writes types exactly as `npm run contracts:types` would (so its --check passes)', async () => {
    for (const generated of [person, organisation]) {
      expect(await readFile(generated.typesFile, 'utf8')).toBe(await renderContractTypes(generated.contractFile));
    }
  });

  it('writes a contract the catalogue accepts, with complete catalogue data', async () => {
    for (const [generated, request] of [
      [person, personRequest],
      [organisation, organisationRequest],
    ] as const) {
      const parsed = await readContractDocument(await readFile(generated.contractFile, 'utf8'));
      expect(parsed.version).toBe('1.0.0');
      const catalogue = resolveCatalogueData(parsed.document, undefined);
      expect(catalogue).toMatchObject({
        resourceCode: request.resource,
        departmentCode: request.department,
        sharingType: 'conditional',
      });
      expect(Object.keys(catalogue.fieldSensitivity)).toContain('data.holderIdentifier');
    }
    const organisationContract = await readContractDocument(await readFile(organisation.contractFile, 'utf8'));
    expect((organisationContract.document['info'] as { title: string }).title).toBe(organisationRequest.title);
  });

  it('marks every place the integrator must change with the department code', async () => {
    for (const generated of [person, organisation]) {
      const department = generated === person ? 'XYZ' : 'QRS';
      const texts = await Promise.all(
        [...generated.files.filter((file) => !file.endsWith('.types.ts'))].map((file) => readFile(file, 'utf8')),
      );
      const todos = texts.flatMap((text) => text.match(/TODO\S*/g) ?? []);
      expect(todos.length).toBeGreaterThan(5);
      for (const todo of todos) expect(todo.startsWith(`TODO(${department})`), todo).toBe(true);
      expect(texts.join('\n')).not.toMatch(/\{\{\w+\}\}/);
    }
  });

  it('typechecks under the project’s strict settings', async () => {
    const tsconfig = join(scratch, 'tsconfig.json');
    const base = relative(scratch, join(repositoryRoot, 'tsconfig.json')).split('\\').join('/');
    await writeFile(tsconfig, JSON.stringify({ extends: base, include: ['**/*.ts'] }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '--noEmit', '-p', tsconfig], { cwd: repositoryRoot }).then(
      () => ({ code: 0, output: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? '' }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 180_000);
});

describe('new-adapter --package: an adapter package outside the gateway', () => {
  it('writes packages/adapter-<name> with its manifest and entry, importing the SDK by its package name only', async () => {
    expect(relative(scratch, packaged.adapterDirectory)).toBe(join('packages', 'adapter-uvw-permits'));
    expect((await readdir(packaged.adapterDirectory)).sort()).toEqual(
      [
        'README.md',
        'adapter.ts',
        'conformance.ts',
        'index.ts',
        'package.json',
        'protocol.ts',
        'run-simulator.ts',
        'seed.ts',
        'simulator.ts',
        'uvw-permits.test.ts',
      ].sort(),
    );
    const sources = await Promise.all(
      packaged.files
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.types.ts'))
        .map((file) => readFile(file, 'utf8')),
    );
    const sdkImports = sources.flatMap((text) =>
      [...text.matchAll(/from '([^']*(?:adapter-sdk|\/sdk\/)[^']*)'/g)].map((m) => m[1]),
    );
    expect(sdkImports.length).toBeGreaterThan(5);
    for (const specifier of sdkImports)
      expect([
        '@onewindow/adapter-sdk',
        '@onewindow/adapter-sdk/conformance',
        '@onewindow/adapter-sdk/testing/pdf',
        '@onewindow/adapter-sdk/testing/run-simulator',
      ]).toContain(specifier);
    const readme = await readFile(join(packaged.adapterDirectory, 'README.md'), 'utf8');
    expect(readme).toContain('"adapterPackage": "@onewindow/adapter-uvw-permits"');
    expect(readme).toContain('npm run adapters:conformance -- @onewindow/adapter-uvw-permits');
    expect(readme).not.toContain('adapters/index.ts');
  });

  it('is loaded as the gateway loads a department’s adapter package: interface checked, its factory exported', async () => {
    const loaded = await loadAdapterPackage({ adapterPath: packaged.adapterDirectory });
    expect(loaded).toMatchObject({ name: '@onewindow/adapter-uvw-permits', adapterInterface: '1.0' });
    expect(loaded.factory.kind).toBe('uvw-permits');
  });
});

describe('new-adapter: never overwrites', () => {
  it('refuses an existing adapter folder and leaves it as it was', async () => {
    const adapterFile = join(person.adapterDirectory, 'adapter.ts');
    const before = await readFile(adapterFile, 'utf8');
    const error = await failureOf(generateAdapter(personRequest, locations));
    expect(error.message).toContain('exists already; the generator never overwrites');
    expect(await readFile(adapterFile, 'utf8')).toBe(before);
  });

  it('refuses an existing contract file without creating the new adapter folder', async () => {
    const error = await failureOf(generateAdapter({ ...personRequest, name: 'xyz-records-two' }, locations));
    expect(error.message).toMatch(/contracts\/xyz\/xyz\.records\.openapi\.yaml exists already/);
    expect(existsSync(join(scratch, 'xyz-records-two'))).toBe(false);
  });

  it('refuses a resource code another contract file describes already', async () => {
    await mkdir(join(scratch, 'contracts', 'abc'), { recursive: true });
    await writeFile(
      join(scratch, 'contracts', 'abc', 'legacy-name.openapi.yaml'),
      'openapi: 3.1.0\ninfo:\n  title: t\n  version: 1.0.0\n  x-onewindow-catalogue:\n    resourceCode: abc.things\npaths: {}\n',
    );
    const error = await failureOf(
      generateAdapter({ name: 'abc-things', department: 'ABC', resource: 'abc.things' }, locations),
    );
    expect(error.message).toMatch(/the resource abc\.things is described by .*legacy-name\.openapi\.yaml already/);
    expect(existsSync(join(scratch, 'abc-things'))).toBe(false);
    expect(existsSync(join(scratch, 'contracts', 'abc', 'abc.things.openapi.yaml'))).toBe(false);
  });
});

describe('new-adapter: bad input is refused with a clear message', () => {
  const valid: NewAdapterRequest = { name: 'cab-marriage', department: 'CAB', resource: 'cab.marriage' };

  it('accepts a good request', () => {
    expect(checkRequest(valid)).toEqual([]);
    expect(
      checkRequest({
        ...valid,
        name: 'hrss2-insurance',
        department: 'HRSS_2',
        resource: 'hrss.social-insurance.v2',
        holderKind: 'organisation',
      }),
    ).toEqual([]);
  });

  it.each([
    'Cab-Marriage',
    'cab_marriage',
    'ab',
    '-cab',
    'cab--marriage',
    'cab-',
    '2cab',
    'cab.marriage',
    'a'.repeat(41),
  ])('refuses the adapter name %j', (name) => {
    const [problem] = checkRequest({ ...valid, name });
    expect(problem).toContain(`the adapter name "${name}" is not valid`);
    expect(problem).toContain('e.g. cab-marriage');
  });

  it('refuses the SDK’s own folder names', () => {
    for (const name of ['sdk', 'cli', 'testing'])
      expect(checkRequest({ ...valid, name })).toEqual([expect.stringContaining('is reserved')]);
  });

  it.each(['cab', 'C', 'CAB-1', '1CAB', 'A234567890123456X'])('refuses the department code %j', (department) => {
    expect(checkRequest({ ...valid, department })).toEqual([
      expect.stringContaining(`the department code "${department}" is not valid: upper-case letters`),
    ]);
  });

  it.each(['marriage', 'Cab.marriage', 'cab..marriage', 'cab.', 'cab marriage', `cab.${'m'.repeat(100)}`])(
    'refuses the resource code %j',
    (resource) => {
      expect(checkRequest({ ...valid, resource })).toEqual([
        expect.stringContaining(`the resource code "${resource}" is not valid: dotted lower-case words`),
      ]);
    },
  );

  it('refuses a bad certificate type, holder kind or title', () => {
    expect(checkRequest({ ...valid, certificateType: 'Marriage-Cert' })).toEqual([
      expect.stringContaining('the certificate type "Marriage-Cert" is not valid'),
    ]);
    expect(checkRequest({ ...valid, title: 'two\nlines' })).toEqual([expect.stringContaining('the title must be')]);
    expect(checkRequest({ ...valid, title: 'ends a comment */' })).toEqual([
      expect.stringContaining('the title must be'),
    ]);
    expect(() =>
      parseArguments(['cab-marriage', '--department', 'CAB', '--resource', 'cab.marriage', '--holder', 'company']),
    ).toThrow('--holder must be person or organisation');
  });

  it('lists every problem at once', () => {
    expect(checkRequest({ name: 'X', department: 'x', resource: 'x' })).toHaveLength(3);
  });

  it('reads the command line', () => {
    expect(parseArguments(['cab-marriage', '--department', 'CAB', '--resource', 'cab.marriage'])).toEqual(valid);
    expect(
      parseArguments([
        'cab-marriage',
        '--department=CAB',
        '--resource=cab.marriage',
        '--holder',
        'organisation',
        '--certificate-type',
        'marriage_certificate',
        '--title',
        'Civil affairs',
      ]),
    ).toEqual({
      ...valid,
      holderKind: 'organisation',
      certificateType: 'marriage_certificate',
      title: 'Civil affairs',
    });
    expect(parseArguments(['--help'])).toBe('help');
    expect(() => parseArguments(['--department', 'CAB'])).toThrow(
      /the adapter name is missing[\s\S]*--resource <resource.code> is missing/,
    );
    expect(() => parseArguments(['a-b', 'c-d', '--department', 'CAB', '--resource', 'cab.x'])).toThrow(
      'one adapter name expected, got a-b c-d',
    );
    expect(() =>
      parseArguments(['cab-marriage', '--department', 'CAB', '--resource', 'cab.marriage', '--force']),
    ).toThrow(/--force/);
  });

  it('as a command: exits 1 naming the problem and writes nothing; --help exits 0', async () => {
    const command = [join('adapters', 'cli', 'new-adapter.ts')];
    const refused = await run(
      process.execPath,
      ['--import', 'tsx', ...command, 'Bad_Name', '--department', 'XYZ', '--resource', 'xyz.records'],
      { cwd: repositoryRoot },
    ).then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain('new-adapter: the adapter name "Bad_Name" is not valid');
    expect(existsSync(join(repositoryRoot, 'adapters', 'Bad_Name'))).toBe(false);
    const incomplete = await run(
      process.execPath,
      ['--import', 'tsx', ...command, 'cab-marriage', '--department', 'CAB'],
      { cwd: repositoryRoot },
    ).then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(incomplete?.code).toBe(1);
    expect(incomplete?.stderr).toContain('new-adapter: --resource <resource.code> is missing');
    expect(incomplete?.stderr).toContain(
      'Usage: npm run new-adapter <name> -- --department <CODE> --resource <resource.code>',
    );
    expect(existsSync(join(repositoryRoot, 'adapters', 'cab-marriage'))).toBe(false);
    const help = await run(process.execPath, ['--import', 'tsx', ...command, '--help'], { cwd: repositoryRoot });
    expect(help.stdout).toContain('Usage: npm run new-adapter');
  }, 60_000);
});

// The generated tests themselves, as generated: each adapter against its simulator and the SDK's
// shared conformance suite (their describe blocks register in this file).
await import(join(person.adapterDirectory, 'xyz-records.test.ts'));
await import(join(organisation.adapterDirectory, 'qrs-licences.test.ts'));
await import(join(packaged.adapterDirectory, 'uvw-permits.test.ts'));
