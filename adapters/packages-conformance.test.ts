/**
 * The SDK's conformance suite for every adapter package: by default each npm workspace of the
 * repository that is one (the SDK as a peer: the three shipped under adapters/ and those in
 * packages/*), or the packages and folders given to
 * `npm run adapters:conformance -- <package-or-folder> …` (scripts/adapters-conformance.mjs passes
 * them in ADAPTER_CONFORMANCE_TARGETS). Each is loaded exactly as the gateway loads it at start
 * (found, its interface version checked, its `adapter` export) and must export a harness from
 * `./conformance` (`export const conformanceHarness: ConformanceHarness`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFromAdapterPackage, loadAdapterPackage } from '../gateway/departments/adapter-packages.js';
import { describeConformance } from './sdk/conformance.js';
import type { ConformanceHarness } from './sdk/conformance-types.js';

const repository = resolve(import.meta.dirname, '..');

/** The repository's workspaces that are adapter packages: those with the SDK as a peer (the SDK itself is not one). */
function workspaceAdapterPackages(): string[] {
  const { workspaces = [] } = JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8')) as {
    workspaces?: string[];
  };
  const folders = workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(repository, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(pattern.slice(0, -2), entry.name))
      : [pattern],
  );
  return folders.flatMap((folder) => {
    const manifest = JSON.parse(readFileSync(join(repository, folder, 'package.json'), 'utf8')) as {
      name: string;
      peerDependencies?: Record<string, string>;
    };
    return manifest.peerDependencies?.['@onewindow/adapter-sdk'] !== undefined ? [manifest.name] : [];
  });
}

function targets(): string[] {
  const given = process.env['ADAPTER_CONFORMANCE_TARGETS'];
  if (given) return JSON.parse(given) as string[];
  return workspaceAdapterPackages();
}

if (process.env['ADAPTER_CONFORMANCE_TARGETS'] === undefined) {
  describe('the workspace', () => {
    // At least the four shipped ones: a package an integrator generates (`new-adapter --package`)
    // joins them here without editing this test.
    it('holds the four shipped adapter packages, each for the conformance suite', () => {
      expect(workspaceAdapterPackages()).toEqual(
        expect.arrayContaining([
          '@onewindow/adapter-amr-enterprise',
          '@onewindow/adapter-mca-marriage',
          '@onewindow/adapter-nrb-realestate',
          '@onewindow/adapter-psb-population',
        ]),
      );
    });
  });
}

/** A folder when it looks like a path (./x, ../x, /x), a package name otherwise. */
const sourceOf = (target: string): { adapterPackage: string } | { adapterPath: string } =>
  /^(\.{1,2}\/|\/)/.test(target) ? { adapterPath: target } : { adapterPackage: target };

const listed = targets();

describe('adapter packages under the conformance suite', () => {
  it('has at least one package to check', () => {
    expect(listed.length).toBeGreaterThan(0);
  });
});

for (const target of listed) {
  const loaded = await loadAdapterPackage(sourceOf(target), process.env['INIT_CWD'] ?? repository);
  const module = (await importFromAdapterPackage(loaded.location, './conformance')) as {
    conformanceHarness?: ConformanceHarness;
  };
  const harness = module.conformanceHarness;
  if (!harness) throw new Error(`${target}: its ./conformance export has no conformanceHarness`);
  describeConformance({
    ...harness,
    name: `${harness.name} (${loaded.name}@${loaded.version}, adapter ${loaded.factory.kind})`,
  });
}
