/**
 * The life of one benchmark run around its measurements: a scratch folder for server logs, the
 * cleanup tasks (children stopped, scratch databases dropped, the folder removed) that run
 * whatever happens — normal end, failure, Ctrl-C, SIGTERM, or the run's time budget running out —
 * and the process exit that kills any child still left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllNow, stopAll } from './children.js';

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const cleanups: (() => Promise<void>)[] = [];
let cleaningUp: Promise<void> | undefined;

/** A task for the end of the run; tasks run after the children are stopped, the last added first. */
export function addCleanup(task: () => Promise<void>): void {
  cleanups.push(task);
}

/** True once the run has begun to clean up: a child exiting from then on was stopped on purpose. */
export function cleanupStarted(): boolean {
  return cleaningUp !== undefined;
}

/** Stops every child, then runs the cleanup tasks; once, however often it is called. */
export function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    await stopAll().catch(() => killAllNow());
    for (const task of cleanups.reverse())
      await task().catch((error: unknown) => console.error(`cleanup: ${errorText(error)}`));
  })();
  return cleaningUp;
}

/** The settings a benchmark reads from its environment, or undefined after printing why they are wrong. */
export function settingsOrComplaint<T>(benchName: string, read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    console.error(`${benchName}: ${errorText(error)}`);
    return undefined;
  }
}

export interface RunOptions {
  /** Start of the scratch folder's name in the system's temporary folder, e.g. `ow-bench-cases-`. */
  workDirPrefix: string;
  budgetSeconds: number;
  /** The variable that sets the budget, named in the message when it runs out. */
  budgetVariable?: string;
  /** What the folder holds, for the message when it is kept. Default `server logs`. */
  keptWhat?: string;
  /** Also keep the folder when the run is interrupted by a signal. */
  keepOnSignal?: boolean;
}

export interface Run {
  workDir: string;
  /** Keep the scratch folder at the end (after a failure, or for the CPU profiles in it). */
  keepWorkDir(): void;
  /** Call when the run has ended on its own: the budget no longer applies. */
  clearBudget(): void;
}

/**
 * Creates the scratch folder (removed at the end unless kept), makes an exit kill every child,
 * and makes SIGINT/SIGTERM and the budget stop the run through `cleanup()`.
 */
export function startRun(options: RunOptions): Run {
  const workDir = mkdtempSync(join(tmpdir(), options.workDirPrefix));
  let keep = false;
  addCleanup(async () => {
    if (keep) console.error(`${options.keptWhat ?? 'server logs'} kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  });
  process.on('exit', () => killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping servers and cleaning up`);
      if (options.keepOnSignal) keep = true;
      void cleanup().finally(() => process.exit(130));
    });
  }
  const budget = setTimeout(() => {
    console.error(
      `\nbenchmark exceeded its ${options.budgetSeconds} s budget${options.budgetVariable ? ` (${options.budgetVariable})` : ''}; stopping`,
    );
    keep = true;
    void cleanup().finally(() => process.exit(1));
  }, options.budgetSeconds * 1000);
  budget.unref();
  return {
    workDir,
    keepWorkDir: () => {
      keep = true;
    },
    clearBudget: () => clearTimeout(budget),
  };
}
