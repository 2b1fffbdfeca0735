/**
 * `node --import tsx bench/slow-readers.ts`: what slow readers of the API reference's assets make
 * the gateway hold. Starts the gateway as its own process on loopback (embedded PGlite in memory),
 * opens SLOW_READERS connections (default 500) that each ask for the largest asset
 * (`/docs/assets/swagger-ui-bundle.js`, about 1.7 MB) and then read nothing, and reports what
 * they were answered and what the machine held for them: the gateway's resident memory, the
 * kernel's send queues of the gateway's connections (`ss`), and all TCP memory (/proc/net/sockstat).
 *
 * Bounded: the readers are held for HOLD_MS (default 10 000), then every socket is destroyed and the
 * gateway stopped; the whole run gives up after 120 s. Loopback only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttp } from './lib/children.js';
import { integerFromEnv } from './lib/env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const ASSET = '/docs/assets/swagger-ui-bundle.js';
const MIB = 1024 * 1024;

const readers = integerFromEnv('SLOW_READERS', 500, 1, 5000);
/** Long enough for Node's keep-alive timeout (5 s, plus its 1 s margin) to pass while they are held. */
const holdMs = integerFromEnv('HOLD_MS', 10_000, 100, 60_000);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kib / 1024) * 10) / 10;
}

/** Memory the kernel holds in TCP buffers, all sockets of the machine (send queues of slow readers included). */
function kernelTcpMiB(): number {
  const pages = Number(/TCP: .* mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? Number.NaN);
  return Math.round(((pages * 4096) / MIB) * 10) / 10;
}

/**
 * The gateway's side of its connections (`ss -tm`): how many are open, and the bytes the kernel
 * holds queued for sending on them (`skmem` field `w`), what slow readers make the server's
 * machine hold. Undefined without `ss`.
 */
function serverConnections(port: number): { open: number; sendQueuesMiB: number } | undefined {
  try {
    const lines = execFileSync('ss', ['-tmnH', 'state', 'established', `( sport = :${port} )`], {
      encoding: 'utf8',
      timeout: 5000,
    });
    let bytes = 0;
    let open = 0;
    for (const match of lines.matchAll(/skmem:\([^)]*\bw(\d+)/g)) {
      bytes += Number(match[1]);
      open += 1;
    }
    return { open, sendQueuesMiB: Math.round((bytes / MIB) * 10) / 10 };
  } catch {
    return undefined;
  }
}

function startGatewayProcess(port: number): { child: ChildProcess; pid: number; exited: Promise<unknown> } {
  // `node --import tsx` directly (not tsx's wrapper), so the pid is the gateway's own process.
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST,
      PGLITE_DATA_DIR: 'memory://',
      ONEWINDOW_DEMO: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (child.pid === undefined) throw new Error('could not start the gateway');
  return { child, pid: child.pid, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

/** One reader: sends the request, reads the status line only, then stops reading (paused socket). */
function slowReader(port: number): { socket: Socket; status: Promise<string> } {
  const socket = connect(port, HOST);
  socket.on('error', () => {});
  const status = new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => {
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 'garbled');
      socket.pause();
    });
    socket.once('close', () => resolve('closed'));
  });
  socket.write(`GET ${ASSET} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  return { socket, status };
}

async function main(): Promise<void> {
  const port = await freePort();
  const gateway = startGatewayProcess(port);
  const giveUp = setTimeout(() => {
    console.error('slow-readers: no result after 120 s; stopping');
    gateway.child.kill('SIGKILL');
    process.exit(1);
  }, 120_000);
  const sockets: Socket[] = [];
  try {
    await waitForHttp(
      {
        name: 'gateway',
        child: gateway.child,
        pid: gateway.pid,
        logFile: '/dev/null',
        exited: gateway.exited as Promise<number>,
      },
      `http://${HOST}:${port}/readyz`,
      60_000,
    );
    // Warm the asset once (the first request may load it) before the baseline figure.
    await (await fetch(`http://${HOST}:${port}${ASSET}`)).arrayBuffer();
    const before = rssMiB(gateway.pid);
    const kernelBefore = kernelTcpMiB();
    const started = Array.from({ length: readers }, () => slowReader(port));
    sockets.push(...started.map((reader) => reader.socket));
    const statuses = await Promise.all(started.map((reader) => reader.status));
    const sample = () => {
      const connections = serverConnections(port);
      return {
        rss: rssMiB(gateway.pid),
        kernel: kernelTcpMiB(),
        sendQueues: connections?.sendQueuesMiB ?? Number.NaN,
        open: connections?.open ?? Number.NaN,
      };
    };
    let peak = sample();
    let last = peak;
    for (let waited = 0; waited < holdMs; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      last = sample();
      peak = {
        rss: Math.max(peak.rss, last.rss),
        kernel: Math.max(peak.kernel, last.kernel),
        sendQueues: Math.max(peak.sendQueues, last.sendQueues),
        open: Math.max(peak.open, last.open),
      };
    }
    const tally = new Map<string, number>();
    for (const status of statuses) tally.set(status, (tally.get(status) ?? 0) + 1);
    const normal = await fetch(`http://${HOST}:${port}/healthz`, { signal: AbortSignal.timeout(5000) }).then(
      (response) => response.status,
      () => 'failed',
    );
    const rounded = (value: number) => Math.round(value * 10) / 10;
    console.log(
      `${readers} slow readers of ${ASSET}, held ${holdMs} ms; answers: ` +
        `${[...tally].map(([status, count]) => `${status}×${count}`).join(', ')}; /healthz meanwhile: ${normal}`,
    );
    console.log(
      `  gateway RSS: ${before} MiB before, peak ${peak.rss} MiB (+${rounded(peak.rss - before)} MiB, ` +
        `${Math.round(((peak.rss - before) * MIB) / readers / 1024)} KiB per reader), at the end ${last.rss} MiB`,
    );
    console.log(
      `  gateway's connections: peak ${peak.open} open with ${peak.sendQueues} MiB in the kernel's send queues; at ` +
        `the end ${last.open} open with ${last.sendQueues} MiB`,
    );
    console.log(
      `  kernel TCP memory, both ends, whole machine: ${kernelBefore} MiB before, peak ${peak.kernel} MiB, at the end ${last.kernel} MiB`,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    gateway.child.kill('SIGTERM');
    await Promise.race([gateway.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    gateway.child.kill('SIGKILL');
    clearTimeout(giveUp);
  }
}

await main();
