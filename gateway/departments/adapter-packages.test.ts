/**
 * Out-of-tree adapters named in the departments file: a folder outside the repository (no
 * node_modules of its own) is loaded with the gateway's own SDK; a missing package, a package.json
 * without an adapter interface, an interface of another major or a newer minor, an entry without
 * `adapter`, a kind that clashes with a shipped one and an entry outside the package's folder each
 * refuse the start, naming the department; an adapterPath that is a URL is refused as one. The
 * shipped adapters are packages too: named by package or, as older departments files do, by kind.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterFactories } from '../../adapters/index.js';
import { z } from 'zod';
import { defineAdapter, registerAdapter } from '../../adapters/sdk/adapter.js';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { ConfigError } from '../config.js';
import { loadDepartmentAdapters, locateAdapterPackage, shippedAdapterKinds } from './adapter-packages.js';
import { type DepartmentConfig, departmentsFileSchema } from './config.js';

const root = mkdtempSync(join(tmpdir(), 'ow-adapter-packages-'));

/** A folder holding a package.json and an ES module entry, as an operator would unpack an adapter. */
function adapterFolder(name: string, manifest: Record<string, unknown>, entry: string): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'package.json'),
    JSON.stringify({ name, version: '0.3.1', type: 'module', exports: './index.js', ...manifest }),
  );
  writeFileSync(join(folder, 'index.js'), entry);
  return folder;
}

const workingAdapter = (kind: string): string => `
import { DepartmentError, defineAdapter } from '@onewindow/adapter-sdk';
// No zod here: the folder has no node_modules. Any object with safeParse and parse is a schema.
const optionsSchema = {
  safeParse: (value) => typeof value.token === 'string'
    ? { success: true, data: value }
    : { success: false, error: { issues: [{ path: ['token'], message: 'a token is required' }] } },
  parse: (value) => value,
};
export { DepartmentError };
export const adapter = defineAdapter({
  kind: '${kind}',
  description: 'A test adapter outside the repository',
  optionsSchema,
  create: (options, environment) => ({
    resources: {},
    async health() {
      throw new DepartmentError('unavailable', 'down for the test', { department: environment.department, operation: 'health' });
    },
    async close() {},
  }),
});
`;

function department(code: string, source: Partial<DepartmentConfig>): DepartmentConfig {
  return { code, name: `${code} registry`, baseUrl: 'https://x.example.gov.cn', options: {}, tuning: {}, ...source };
}

async function problemsOf(departments: DepartmentConfig[]): Promise<string[]> {
  try {
    await loadDepartmentAdapters(departments, adapterFactories, root);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('adapter packages and folders', () => {
  it("loads a folder from outside the repository, giving it the gateway's own SDK", async () => {
    const folder = adapterFolder(
      'cab-adapter',
      { onewindow: { adapterInterface: '1.0' } },
      workingAdapter('cab-marriage'),
    );
    const loaded = await loadDepartmentAdapters(
      [department('PSB', { adapter: 'psb-population' }), department('CAB', { adapterPath: folder })],
      adapterFactories,
      root,
    );
    expect(loaded.departments.map((entry) => entry.adapter)).toEqual(['psb-population', 'cab-marriage']);
    expect(loaded.packages).toMatchObject([
      { name: '@onewindow/adapter-psb-population', adapterInterface: '1.0' },
      { name: 'cab-adapter', version: '0.3.1', adapterInterface: '1.0' },
    ]);
    const module = (await import(join(folder, 'index.js'))) as { DepartmentError: unknown };
    expect(module.DepartmentError).toBe(DepartmentError);
    // A relative adapterPath is taken from the working directory.
    const relative = await loadDepartmentAdapters([department('CAB', { adapterPath: './cab-adapter' })], [], root);
    expect(relative.factories.map((factory) => factory.kind)).toEqual(['cab-marriage']);
  });

  it('gives the same folder the SDK under plain Node too (the resolve hook, as npm start runs the gateway)', () => {
    // vitest resolves modules itself (vitest.config.ts aliases the SDK); Node runs the hook.
    const folder = adapterFolder('hooked', { onewindow: { adapterInterface: '1.0' } }, workingAdapter('hooked-kind'));
    const script = join(root, 'load-hooked.mts');
    const loader = new URL('./adapter-packages.ts', import.meta.url).href;
    const errors = new URL('../../adapters/sdk/errors.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { loadDepartmentAdapters } from '${loader}';
import { DepartmentError } from '${errors}';
const loaded = await loadDepartmentAdapters([{ code: 'HK', name: 'h', adapterPath: '${folder}', baseUrl: 'https://x.example.gov.cn', options: {}, tuning: {} }], []);
const module = await import('${join(folder, 'index.js')}');
console.log(JSON.stringify({ kind: loaded.departments[0].adapter, sameSdk: module.DepartmentError === DepartmentError }));
`,
    );
    const output = execFileSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      cwd: new URL('../..', import.meta.url),
    });
    expect(JSON.parse(output)).toEqual({ kind: 'hooked-kind', sameSdk: true });
  });

  it('refuses the start, naming the department, for each thing wrong with an adapter package', async () => {
    const newerMinor = adapterFolder(
      'newer-minor',
      { onewindow: { adapterInterface: '1.9' } },
      workingAdapter('a-kind'),
    );
    const otherMajor = adapterFolder(
      'other-major',
      { onewindow: { adapterInterface: '2.0' } },
      workingAdapter('b-kind'),
    );
    const undeclared = adapterFolder('undeclared', {}, workingAdapter('c-kind'));
    const noExport = adapterFolder(
      'no-export',
      { onewindow: { adapterInterface: '1.0' } },
      'export const other = 1;\n',
    );
    const clash = adapterFolder('clash', { onewindow: { adapterInterface: '1.0' } }, workingAdapter('psb-population'));
    adapterFolder('elsewhere', {}, workingAdapter('d-kind'));
    const leaving = adapterFolder(
      'leaving',
      { onewindow: { adapterInterface: '1.0' }, exports: undefined, main: '../elsewhere/index.js' },
      'export const other = 1;\n',
    );
    const problems = await problemsOf([
      department('AAA', { adapterPackage: '@acme/onewindow-adapter-nowhere' }),
      department('BBB', { adapterPath: newerMinor }),
      department('CCC', { adapterPath: otherMajor }),
      department('DDD', { adapterPath: undeclared }),
      department('EEE', { adapterPath: noExport }),
      department('FFF', { adapterPath: clash }),
      department('GGG', { adapterPath: join(root, 'not-there') }),
      department('HHH', { adapterPath: leaving }),
    ]);
    expect(problems).toHaveLength(8);
    expect(problems[0]).toMatch(/^department AAA: adapterPackage "@acme\/onewindow-adapter-nowhere" is not installed/);
    expect(problems[1]).toMatch(
      /^department BBB: .*written for adapter interface 1\.9, newer than this gateway's SDK \(1\.0\)/,
    );
    expect(problems[2]).toMatch(/^department CCC: .*adapter interface 2\.0.*another major version/);
    expect(problems[3]).toMatch(/^department DDD: .*does not say which adapter interface.*"adapterInterface": "1\.0"/);
    expect(problems[4]).toMatch(/^department EEE: .*exports no adapter/);
    expect(problems[5]).toMatch(
      /^department FFF: .*kind "psb-population" is already a shipped adapter \(@onewindow\/adapter-psb-population\).*"adapterPackage": "@onewindow\/adapter-psb-population"/,
    );
    expect(problems[6]).toMatch(/^department GGG: adapterPath ".*not-there": no package\.json/);
    expect(problems[7]).toMatch(/^department HHH: .*"\.\.\/elsewhere\/index\.js" for \., outside the package's folder/);
  });

  it('loads a package named by several departments once', async () => {
    const folder = adapterFolder('shared', { onewindow: { adapterInterface: '1.0' } }, workingAdapter('shared-kind'));
    const loaded = await loadDepartmentAdapters(
      [department('ONE', { adapterPath: folder }), department('TWO', { adapterPath: folder })],
      [],
      root,
    );
    expect(loaded.packages).toHaveLength(1);
    expect(loaded.departments.map((entry) => entry.adapter)).toEqual(['shared-kind', 'shared-kind']);
  });
});

describe('the shipped adapters are packages', () => {
  const shippedFolder = (name: string): string => new URL(`../../${name}`, import.meta.url).pathname.replace(/\/$/, '');

  it('loads each by package name from beside the gateway, its interface checked, none compiled in', async () => {
    expect(adapterFactories).toEqual([]);
    const loaded = await loadDepartmentAdapters(
      Object.values(shippedAdapterKinds).map((name, index) => department(`D${index}`, { adapterPackage: name })),
      adapterFactories,
      root,
    );
    expect(loaded.departments.map((entry) => entry.adapter)).toEqual(Object.keys(shippedAdapterKinds));
    expect(loaded.packages.map(({ name, adapterInterface }) => ({ name, adapterInterface }))).toEqual(
      Object.values(shippedAdapterKinds).map((name) => ({ name, adapterInterface: '1.0' })),
    );
    // The gateway's own copies (here the sources), whatever node_modules holds.
    expect(locateAdapterPackage('@onewindow/adapter-psb-population', root)?.folder).toBe(
      shippedFolder('adapters/psb-population'),
    );
    expect(locateAdapterPackage('@onewindow/adapter-mca-marriage', root)?.folder).toBe(
      shippedFolder('packages/adapter-mca-marriage'),
    );
  });

  it('never takes a shipped package from node_modules, even when the build lacks it', () => {
    const base = join(root, 'squatted');
    for (const name of ['@onewindow/adapter-psb-population', '@example/adapter-other']) {
      const folder = join(base, 'node_modules', ...name.split('/'));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'package.json'), JSON.stringify({ name, onewindow: { adapterInterface: '1.0' } }));
    }
    // With the build's folders, the shipped package is the one beside the gateway.
    expect(locateAdapterPackage('@onewindow/adapter-psb-population', base)?.folder).not.toContain('node_modules');
    // A build without it finds nothing rather than a package of the same name from elsewhere.
    expect(locateAdapterPackage('@onewindow/adapter-psb-population', base, [])).toBeUndefined();
    expect(locateAdapterPackage('@example/adapter-other', base, [])?.folder).toBe(
      join(base, 'node_modules', '@example', 'adapter-other'),
    );
  });

  it('takes a shipped kind, as departments files written before the packages name it, for its package', async () => {
    const loaded = await loadDepartmentAdapters(
      [
        department('PSB', { adapter: 'psb-population' }),
        department('AMR', { adapter: 'amr-enterprise' }),
        department('NRB', { adapter: 'nrb-realestate' }),
        department('PS2', { adapterPackage: '@onewindow/adapter-psb-population' }),
      ],
      adapterFactories,
      root,
    );
    expect(loaded.departments.map((entry) => entry.adapter)).toEqual([
      'psb-population',
      'amr-enterprise',
      'nrb-realestate',
      'psb-population',
    ]);
    // Loaded once each, with the same check as a package named by name.
    expect(loaded.packages.map((entry) => [entry.source, entry.name, entry.adapterInterface])).toEqual([
      ['@onewindow/adapter-psb-population', '@onewindow/adapter-psb-population', '1.0'],
      ['@onewindow/adapter-amr-enterprise', '@onewindow/adapter-amr-enterprise', '1.0'],
      ['@onewindow/adapter-nrb-realestate', '@onewindow/adapter-nrb-realestate', '1.0'],
    ]);
    expect(loaded.factories.map((factory) => factory.kind)).toEqual([
      'psb-population',
      'amr-enterprise',
      'nrb-realestate',
    ]);
  });

  it('leaves a kind it does not know to the registry, and a compiled-in kind as it is', async () => {
    const compiled = registerAdapter(
      defineAdapter({
        kind: 'fork-kind',
        description: "A fork's compiled-in adapter",
        optionsSchema: z.object({}),
        create: (_options, environment) => ({
          kind: 'fork-kind',
          department: environment.department,
          resources: {},
          health: async () => ({ ok: true }),
          close: async () => {},
        }),
      }),
    );
    const loaded = await loadDepartmentAdapters(
      [department('XYZ', { adapter: 'no-such-adapter' }), department('FRK', { adapter: 'fork-kind' })],
      [compiled],
      root,
    );
    expect(loaded.packages).toEqual([]);
    expect(loaded.departments.map((entry) => entry.adapter)).toEqual(['no-such-adapter', 'fork-kind']);
    expect(loaded.factories).toEqual([compiled]);
  });
});

describe('the departments file names each adapter once', () => {
  const base = { code: 'CAB', name: 'CAB registry', baseUrl: 'https://x.example.gov.cn' };
  it('takes a kind, a package or a folder', () => {
    for (const source of [{ adapter: 'psb-population' }, { adapterPackage: '@acme/cab' }, { adapterPath: './cab' }])
      expect(departmentsFileSchema.safeParse([{ ...base, ...source }]).success).toBe(true);
  });
  it('refuses none, two, or a package name npm would not accept', () => {
    const messages = (entry: Record<string, unknown>) =>
      departmentsFileSchema.safeParse([entry]).error?.issues.map((issue) => issue.message) ?? [];
    expect(messages(base)).toEqual([
      expect.stringMatching(/name the adapter: "adapterPackage".*"adapterPath".*"adapter"/),
    ]);
    expect(messages({ ...base, adapter: 'psb-population', adapterPath: './x' })).toEqual([
      'name the adapter once: adapter and adapterPath are both given',
    ]);
    expect(messages({ ...base, adapterPackage: 'Not A Name' })).toEqual([expect.stringMatching(/an npm package name/)]);
    for (const url of [
      'https://adapters.example.com/cab.js',
      'data:text/javascript,export const adapter = 1',
      'file:///opt/cab',
    ])
      expect(messages({ ...base, adapterPath: url }), url).toEqual([
        expect.stringMatching(/a folder on this machine.*not a URL/),
      ]);
    expect(messages({ ...base, adapterPath: 'C:\\adapters\\cab' })).toEqual([]);
  });
});
