/**
 * The fault proxy itself, against a plain TCP echo server and a plain HTTP server: each mode does
 * what the fault tests rely on. Times are only checked from below (a shaped answer cannot arrive
 * sooner than its shaping allows); a loaded machine can only make them later.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, type Server, type Socket, createConnection, createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

let echo: Server;
let http: HttpServer;
let echoProxy: FaultProxy;
let httpProxy: FaultProxy;

function portOf(server: Server | HttpServer): number {
  return (server.address() as AddressInfo).port;
}

/** Connects, sends `payload`, and collects what comes back until `expectedBytes` or `waitMs`. */
async function exchange(
  port: number,
  payload: string,
  expectedBytes: number,
  waitMs: number,
): Promise<{ received: string; error: string | undefined; closed: boolean; elapsedMs: number }> {
  const started = performance.now();
  const socket = createConnection({ host: '127.0.0.1', port });
  let received = '';
  let error: string | undefined;
  let closed = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.length >= expectedBytes) {
        clearTimeout(timer);
        resolve();
      }
    });
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      error = cause.code ?? cause.message;
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve();
    });
  });
  const elapsedMs = performance.now() - started;
  socket.destroy();
  return { received, error, closed, elapsedMs };
}

beforeAll(async () => {
  echo = createServer((socket: Socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  http = createHttpServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('x'.repeat(2000));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  echoProxy = await FaultProxy.start({ host: '127.0.0.1', port: portOf(echo) });
  httpProxy = await FaultProxy.start(`http://127.0.0.1:${portOf(http)}`);
});

afterEach(() => {
  echoProxy.setMode({ kind: 'pass' });
  httpProxy.setMode({ kind: 'pass' });
  echoProxy.resetCounts();
  httpProxy.resetCounts();
});

afterAll(async () => {
  await echoProxy?.close();
  await httpProxy?.close();
  http?.closeAllConnections();
  await new Promise<void>((resolve) => http?.close(() => resolve()));
  await new Promise<void>((resolve) => echo?.close(() => resolve()));
});

describe('fault proxy', () => {
  it('passes HTTP through and counts connections and bytes', async () => {
    const response = await fetch(`${httpProxy.url}/`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect((await response.text()).length).toBe(2000);
    const counts = httpProxy.counts();
    expect(counts.connections).toBe(1);
    expect(counts.bytesFromClients).toBeGreaterThan(0);
    expect(counts.bytesToClients).toBeGreaterThan(2000);
  });

  it('adds latency at connect and per chunk', async () => {
    echoProxy.setMode({ kind: 'latency', connectMs: 200, perChunkMs: 100 });
    const result = await exchange(echoProxy.port, 'hello', 5, 5000);
    expect(result.received).toBe('hello');
    // 200 ms to connect, 100 ms each way for the one chunk.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(390);
  });

  it('resets new connections and the next chunk of open ones with an RST', async () => {
    echoProxy.setMode({ kind: 'reset' });
    const result = await exchange(echoProxy.port, 'hello', 5, 5000);
    expect(result.received).toBe('');
    expect(result.error).toBe('ECONNRESET');
    expect(echoProxy.counts().resets).toBe(1);

    // An HTTP keep-alive connection opened before the switch is reset at its next request.
    echoProxy.setMode({ kind: 'pass' });
    const socket = createConnection({ host: '127.0.0.1', port: echoProxy.port });
    const errored = new Promise<string>((resolve) =>
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? '')),
    );
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('one');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    echoProxy.setMode({ kind: 'reset' });
    socket.write('two');
    expect(await errored).toBe('ECONNRESET');
  });

  it('drops (blackhole): accepts, never answers, never closes', async () => {
    echoProxy.setMode({ kind: 'drop' });
    const result = await exchange(echoProxy.port, 'hello', 5, 400);
    expect(result).toMatchObject({ received: '', error: undefined, closed: false });
    expect(echoProxy.counts()).toMatchObject({ connections: 1, bytesToClients: 0 });
  });

  it('drips the answer a few bytes per interval', async () => {
    echoProxy.setMode({ kind: 'drip', bytes: 2, everyMs: 50 });
    const result = await exchange(echoProxy.port, '0123456789', 10, 5000);
    expect(result.received).toBe('0123456789');
    // Five slices of two bytes, four waits of 50 ms between them.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(190);
  });

  it('drips only the body of an HTTP answer with afterHeaders', async () => {
    httpProxy.setMode({ kind: 'drip', bytes: 500, everyMs: 100, afterHeaders: true });
    const started = performance.now();
    const response = await fetch(`${httpProxy.url}/`, { signal: AbortSignal.timeout(10_000) });
    const headersAfterMs = performance.now() - started;
    expect((await response.text()).length).toBe(2000);
    const bodyAfterMs = performance.now() - started;
    // Four slices of 500 bytes, three waits of 100 ms, all after the head.
    expect(bodyAfterMs - headersAfterMs).toBeGreaterThanOrEqual(250);
  });

  it('caps the bandwidth of the answer', async () => {
    httpProxy.setMode({ kind: 'bandwidth', bytesPerSecond: 5000 });
    const started = performance.now();
    const response = await fetch(`${httpProxy.url}/`, { signal: AbortSignal.timeout(10_000) });
    expect((await response.text()).length).toBe(2000);
    // Over 2000 bytes at 5000 B/s: at least 0.4 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('half-open: reads what the client sends, answers nothing and keeps the connection after the client ends', async () => {
    echoProxy.setMode({ kind: 'half_open' });
    const socket = createConnection({ host: '127.0.0.1', port: echoProxy.port, allowHalfOpen: true });
    let ended = false;
    let received = 0;
    socket.on('end', () => {
      ended = true;
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.end('hello');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect({ ended, received }).toEqual({ ended: false, received: 0 });
    expect(echoProxy.counts().bytesFromClients).toBe(5);
    expect(echoProxy.openSockets).toBeGreaterThanOrEqual(1);
    socket.destroy();
  });

  it('closes every socket it holds on close()', async () => {
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: portOf(echo) });
    proxy.setMode({ kind: 'drop' });
    const pending = exchange(proxy.port, 'hello', 5, 5000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await proxy.close();
    const result = await pending;
    expect(result.closed).toBe(true);
    expect(result.elapsedMs).toBeLessThan(5000);
  });
});
