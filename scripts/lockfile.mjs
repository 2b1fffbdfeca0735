#!/usr/bin/env node
/**
 * Keeps package-lock.json complete and verifiable: every installed-from-registry entry carries its
 * `integrity`, and a platform-specific optional package its `os`, `cpu` (and `libc`), so `npm ci`
 * verifies every tarball it fetches and skips the builds for other platforms instead of
 * downloading all of them.
 *
 *   node scripts/lockfile.mjs --check   offline; exits 1 naming each incomplete entry (CI runs it)
 *   node scripts/lockfile.mjs --fill    asks the registry (`npm view`) for what an entry lacks
 *
 * Why entries go missing: a registry mirror that serves only some platforms' builds makes npm
 * write the other platforms' optional packages without their metadata (or leave them out, which
 * `npm ci` then calls out of sync). `--fill` adds them back from the registry's own metadata.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = 'package-lock.json';
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--fill') {
  console.error('usage: node scripts/lockfile.mjs --check | --fill');
  process.exit(2);
}

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages ?? {};

/** The registry name of a lock path: the part after its last node_modules/. */
const nameOf = (path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

// Optional dependencies named by some entry but absent from the lock: npm ci would refuse.
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    if (packages[`node_modules/${name}`] || packages[`${path}/node_modules/${name}`]) continue;
    if (mode === '--check') continue; // reported below as missing
    packages[`node_modules/${name}`] = { version, ...(entry.dev ? { dev: true } : {}), optional: true };
  }
}

const incomplete = [];
for (const [path, entry] of Object.entries(packages)) {
  if (path === '' || entry.link || !path.includes('node_modules/')) continue;
  if (!entry.integrity) incomplete.push(path);
}
const missing = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!packages[`node_modules/${name}`] && !packages[`${path}/node_modules/${name}`])
      missing.push(`${name} (optional dependency of ${path || 'the root'})`);
  }
}

if (mode === '--check') {
  for (const path of incomplete) console.error(`lockfile: ${path} has no integrity`);
  for (const name of missing) console.error(`lockfile: ${name} is not in the lock file`);
  if (incomplete.length + missing.length > 0) {
    console.error('lockfile: incomplete; run `node scripts/lockfile.mjs --fill` and commit package-lock.json');
    process.exit(1);
  }
  console.log(`lockfile: complete (${Object.keys(packages).length - 1} entries, each with its integrity)`);
  process.exit(0);
}

for (const path of incomplete) {
  const entry = packages[path];
  const answer = execFileSync(
    'npm',
    ['view', '--json', `${nameOf(path)}@${entry.version}`, 'dist', 'os', 'cpu', 'libc', 'license', 'engines'],
    { encoding: 'utf8' },
  );
  const view = JSON.parse(answer);
  if (!view.dist?.integrity)
    throw new Error(`lockfile: the registry gave no integrity for ${nameOf(path)}@${entry.version}`);
  const filled = { version: entry.version, resolved: entry.resolved, integrity: view.dist.integrity };
  for (const key of ['cpu', 'dev', 'engines', 'libc', 'license', 'optional', 'os']) {
    const value = key in entry ? entry[key] : view[key];
    if (value !== undefined) filled[key] = value;
  }
  if (filled.resolved === undefined) delete filled.resolved;
  packages[path] = filled;
  console.log(`lockfile: filled ${path}`);
}
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile: ${incomplete.length} entr${incomplete.length === 1 ? 'y' : 'ies'} filled`);
