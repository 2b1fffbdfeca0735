/**
 * What a benchmark run records about where it was measured, with its results: the Node version,
 * platform and processors of this machine, and the versions of the installed packages it depends
 * on, so figures from different runs can be told apart by what was measured.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function versionOf(packageName: string): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', packageName, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Package name → installed version, in the order given. */
export function packageVersions(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, versionOf(name)]));
}

/** Node, platform and processors of this machine (the first fields of a results file's `environment`). */
export function machineFacts(): { node: string; platform: string; cpus: number; cpuModel: string } {
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
  };
}
