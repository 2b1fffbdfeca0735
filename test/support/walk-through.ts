/**
 * Documentation walk-throughs run as written: the ```sh blocks of one section of a page (its
 * "## Walk-through…" heading), in order, in one bash process (set -e in the first block), against
 * a gateway a test started. Used by test/centres-walkthrough.test.ts,
 * test/flat-transfer-walkthrough.test.ts (the README's flat-transfer story) and
 * test/five-minute-walkthrough.test.ts (docs/walk-through.md).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The ```sh blocks of the section of `docPath` (relative to the repository) whose heading starts with `heading`, in order. */
export function walkThroughBlocks(docPath: string, heading = '## Walk-through'): string[] {
  const markdown = readFileSync(new URL(`../../${docPath}`, import.meta.url), 'utf8');
  const start = markdown.indexOf(`\n${heading}`) + 1;
  if (start <= 0) throw new Error(`${docPath} has no "${heading}" section`);
  const rest = markdown.slice(start + 1);
  const next = rest.search(/^## /m);
  const section = next < 0 ? rest : rest.slice(0, next);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with bash in its own process group; the whole group is killed after `timeoutMs`.
 * The script file goes to `scriptDir` (default `cwd`), so a walk-through can run in the repository
 * (its blocks read sample files by relative path) without leaving a file there.
 */
export function runBash(
  script: string,
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
  scriptDir: string = cwd,
): Promise<ScriptRun> {
  const file = join(scriptDir, 'walk-through.sh');
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The blocks as one script, each announcing itself so that a failure names the step that stopped the run. */
export function announcedScript(blocks: readonly string[]): string {
  return blocks.map((block, index) => `echo '--- block ${index}'\n${block}`).join('\n');
}
