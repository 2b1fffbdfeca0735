/**
 * Server processes for the benchmark: spawned through tsx, each in its own process group so the
 * whole tree (tsx's wrapper plus the node process it starts) can be stopped, and registered so
 * that every one of them is killed when the benchmark ends, fails or is interrupted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process tree's root has exited. */
  exited: Promise<number | string>;
}

const running = new Set<ServerProcess>();

/** Environment variables a child inherits; everything else is set explicitly by the benchmark. */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'] as const;

export function spawnServer(options: {
  name: string;
  root: string;
  entry: string;
  /** Command-line arguments after the entry (a simulator's port, for one). */
  args?: string[];
  env: Record<string, string>;
  logFile: string;
  /** Write a V8 CPU profile of the server into this folder when it exits. */
  cpuProfileDir?: string;
}): ServerProcess {
  // Not the bench's own environment: a DATABASE_URL exported in the shell must not leak into the
  // PGlite gateway, for instance.
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env);

  // Output goes to a file, not a pipe to this process: reading a busy access log through a pipe
  // would cost the load generator CPU and skew the measurement.
  const fd = openSync(options.logFile, 'a');
  // `--cpu-prof` is refused in NODE_OPTIONS, so a profiled server is started as `node --import tsx`
  // (what tsx's wrapper does anyway) with the flag on the command line.
  // A compiled entry (`dist/…/*.js`, the production build) runs on plain node, without tsx.
  const compiled = options.entry.endsWith('.js');
  const profileFlags = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const [command, args] =
    options.cpuProfileDir || compiled
      ? [
          process.execPath,
          [...profileFlags, ...(compiled ? [] : ['--import', 'tsx']), options.entry, ...(options.args ?? [])],
        ]
      : [join(options.root, 'node_modules/.bin/tsx'), [options.entry, ...(options.args ?? [])]];
  const child = spawn(command, args, {
    cwd: options.root,
    env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn ${options.entry}`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const server: ServerProcess = { name: options.name, child, pid: child.pid, logFile: options.logFile, exited };
  running.add(server);
  void exited.then(() => running.delete(server));
  return server;
}

export function logTail(server: ServerProcess, lines = 30): string {
  try {
    return readFileSync(server.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Polls `url` until it answers 200, the process dies, or the deadline passes. */
export async function waitForHttp(server: ServerProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void server.exited.then(() => {
    died = true;
  });
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (died) throw new Error(`${server.name} exited before it was ready:\n${logTail(server)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${server.name} not ready at ${url} after ${timeoutMs} ms (${last}):\n${logTail(server)}`);
}

function killGroup(server: ServerProcess, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the process group this child leads (detached: true), i.e. tsx and its node.
    process.kill(-server.pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Graceful stop: SIGTERM to tsx's wrapper only (it relays the signal once to the server, which
 * drains and exits), then SIGKILL to the whole group if that takes longer than `graceMs`.
 */
export async function stopServer(server: ServerProcess, graceMs = 5000): Promise<void> {
  if (!running.has(server)) return;
  try {
    process.kill(server.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  const result = await Promise.race([
    server.exited,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs)),
  ]);
  // Also after a clean exit of the wrapper: a grandchild must not outlive it.
  killGroup(server, 'SIGKILL');
  if (result === 'timeout') await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
  running.delete(server);
}

/** Synchronous last resort for exit paths: SIGKILL every group still registered. */
export function killAllNow(): void {
  for (const server of running) killGroup(server, 'SIGKILL');
  running.clear();
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((server) => stopServer(server, 3000)));
}

/** A port that was free a moment ago on 127.0.0.1 (the child binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

function descendants(pid: number): number[] {
  const found = [pid];
  for (let index = 0; index < found.length; index += 1) {
    const current = found[index];
    if (current === undefined) continue;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8').trim();
        if (children) found.push(...children.split(/\s+/).map(Number));
      } catch {
        // Task ended meanwhile.
      }
    }
  }
  return found;
}

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) used so far, per pid. */
export type CpuSnapshot = Map<number, number>;

/** A process and its descendants; empty off Linux (no /proc). */
export function treeCpu(pid: number): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  if (process.platform !== 'linux') return snapshot;
  for (const each of descendants(pid)) snapshot.set(each, cpuSecondsOf(each));
  return snapshot;
}

/** These processes (e.g. the PostgreSQL backends serving one database); empty off Linux. */
export function processesCpu(pids: readonly number[]): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  if (process.platform !== 'linux') return snapshot;
  for (const pid of pids) snapshot.set(pid, cpuSecondsOf(pid));
  return snapshot;
}

/** Every process named `postgres`: the server and its backends (one per pooled connection). */
export function postgresCpu(): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  if (process.platform !== 'linux') return snapshot;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres')
        snapshot.set(Number(entry), cpuSecondsOf(Number(entry)));
    } catch {
      // Process ended meanwhile.
    }
  }
  return snapshot;
}

/**
 * CPU seconds spent between two snapshots by the processes alive at the end (a process that ended
 * in between is not counted; pooled connections live through a run, so that is rare).
 */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): number | undefined {
  if (after.size === 0) return undefined;
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}
