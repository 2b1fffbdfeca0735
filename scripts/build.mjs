#!/usr/bin/env node
/**
 * `npm run build`: compiles the gateway and the adapters to dist/ (tsconfig.build.json) and copies
 * beside them the files they read at run time through import.meta.url — migrations, the shipped
 * calendars, the department contracts, the demo's sample documents, the adapter generator's
 * templates — so that `node dist/gateway/main.js` runs with production dependencies only. Each
 * npm workspace (the SDK, the adapter packages under packages/) gets its package.json beside its
 * compiled code: the gateway reads the SDK's exports and the packages' adapter interface versions
 * from them, and finds the shipped adapter packages in dist/packages/ (npm ci --omit=dev in a
 * folder holding only the package files and dist/ links no workspace).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
console.log(`built ${dist}`);
