#!/usr/bin/env node
/**
 * `npm run build`: compiles the gateway and the adapters to dist/ (tsconfig.build.json) and copies
 * beside them the files they read at run time through import.meta.url — migrations, the shipped
 * calendars, the department contracts, the demo's sample documents, the adapter generator's
 * templates — so that `node dist/gateway/main.js` runs with production dependencies only. Each
 * npm workspace (the SDK, the adapter packages under packages/) gets its package.json beside its
 * compiled code: the gateway reads the SDK's exports and the packages' adapter interface versions
 * from them, and finds the shipped adapter packages in dist/adapters/<name>/ and dist/packages/<name>/
 * (npm ci --omit=dev in a folder holding only the package files and dist/ links no workspace).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const assets = [
  'gateway/db/migrations',
  'gateway/calendar/data',
  'gateway/demo/samples',
  'adapters/cli/templates',
  'contracts',
];

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const asset of assets) {
  const from = join(root, asset);
  if (!existsSync(from)) throw new Error(`build: ${asset} is missing`);
  // Contracts: the documents only (their .ts types were compiled above).
  cpSync(from, join(dist, asset), { recursive: true, filter: (path) => !path.endsWith('.ts') });
}
const { workspaces = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const pattern of workspaces) {
  // The patterns the root package.json uses: a folder, or `folder/*` for each folder in it.
  const folders = pattern.endsWith('/*')
    ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(pattern.slice(0, -2), entry.name))
    : [pattern];
  for (const folder of folders) {
    const manifest = join(root, folder, 'package.json');
    if (!existsSync(manifest)) continue;
    if (!existsSync(join(dist, folder))) throw new Error(`build: workspace ${folder} compiled to nothing`);
    cpSync(manifest, join(dist, folder, 'package.json'));
  }
}

// The shipped adapter packages import the SDK by its package name, as every adapter package does.
// Loaded by the gateway they get it through the loader's resolve hook
// (gateway/departments/adapter-packages.ts); code run without the loader (the simulators'
// run-simulator.js, as compose.yaml runs them) finds it here: npm links the workspace in
// development, and in production (npm ci --omit=dev beside dist/, no workspace links)
// dist/node_modules holds the name, each of its exports re-exporting the compiled SDK in
// dist/adapters/sdk, so there is one SDK, the gateway's.
const sdkManifest = JSON.parse(readFileSync(join(root, 'adapters/sdk/package.json'), 'utf8'));
const sdkDist = join(dist, 'adapters/sdk');
const shim = join(dist, 'node_modules', sdkManifest.name);
mkdirSync(shim, { recursive: true });
writeFileSync(
  join(shim, 'package.json'),
  `${JSON.stringify({ name: sdkManifest.name, version: sdkManifest.version, private: true, type: 'module', exports: sdkManifest.exports }, null, 2)}\n`,
);
for (const target of Object.values(sdkManifest.exports)) {
  const star = target.indexOf('*');
  const files =
    star < 0
      ? [target]
      : readdirSync(join(sdkDist, dirname(target)))
          .filter((name) => name.endsWith(target.slice(star + 1)))
          .map((name) => `${dirname(target)}/${name}`);
  for (const file of files) {
    const shimFile = join(shim, file);
    if (!existsSync(join(sdkDist, file))) throw new Error(`build: the SDK exports ${file}, which was not compiled`);
    mkdirSync(dirname(shimFile), { recursive: true });
    writeFileSync(shimFile, `export * from '${relative(dirname(shimFile), join(sdkDist, file))}';\n`);
  }
}
console.log(`built ${dist}`);
