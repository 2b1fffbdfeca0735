#!/usr/bin/env node
/**
 * `npm run build`: compiles the gateway and the adapters to dist/ (tsconfig.build.json) and copies
 * beside them the files they read at run time through import.meta.url — migrations, the shipped
 * calendars, the department contracts, the demo's sample documents, the adapter generator's
 * templates — so that `node dist/gateway/main.js` runs with production dependencies only.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
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
console.log(`built ${dist}`);
