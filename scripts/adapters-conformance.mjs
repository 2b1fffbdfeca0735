#!/usr/bin/env node
/**
 * `npm run adapters:conformance [-- <package-or-folder> …]`: the SDK's conformance suite for
 * adapter packages, loaded as the gateway loads them (interface version checked). With no argument,
 * every adapter package of the repository's workspaces (adapters/<name>, packages/*); otherwise
 * the npm packages (by name: a shipped one, or from node_modules) and folders (a path: ./x, ../x or /x, relative to where npm was run)
 * given. Each must export `./conformance` with a `conformanceHarness` (adapters/README.md, step 6).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const targets = process.argv.slice(2);
if (targets.includes('--help') || targets.includes('-h')) {
  console.log('usage: npm run adapters:conformance [-- <npm package name | ./folder> …]');
  process.exit(0);
}
const vitest = createRequire(import.meta.url).resolve('vitest/vitest.mjs');
const result = spawnSync(process.execPath, [vitest, 'run', 'adapters/packages-conformance.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    ...(targets.length > 0 ? { ADAPTER_CONFORMANCE_TARGETS: JSON.stringify(targets) } : {}),
    // Folders given relative to where the command was run (npm sets INIT_CWD).
    INIT_CWD: process.env.INIT_CWD ?? process.cwd(),
  },
});
process.exit(result.status ?? 1);
