/**
 * The gateway as a real HTTP server: body limits for every framing on the wire, slow-header
 * clients cut off, bytes that are not HTTP (after a request, on an idle connection, inside a
 * body), graceful shutdown with requests in flight, and the process on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../gateway/db/client.js';
import { clients } from '../gateway/db/schema.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';

let gateway: RunningGateway;
let database: TestDatabase;
let adminToken: string;
let port: number;
const logs = new LogCapture();

/** Sends raw bytes and returns the raw response (or what arrived before the server closed). */
function rawExchange(
  payload: string | Buffer[],
  options: { delayMs?: number; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, options.timeoutMs ?? 5000);
    socket.on('data', (data) => {
      received += data.toString('latin1');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (received) resolve(received);
      else reject(error);
    });
    socket.on('connect', async () => {
      const parts = typeof payload === 'string' ? [Buffer.from(payload)] : payload;
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        if (options.delayMs) await new Promise((resolveDelay) => setTimeout(resolveDelay, options.delayMs));
      }
    });
  });
}

const clientCount = async () => (await gateway.services.db.select({ id: clients.id }).from(clients)).length;

beforeAll(async () => {
  database = await freshDatabase();
  const config = parseConfig({
    ...database.environment,
    PORT: '0',
    ONEWINDOW_DEMO: 'true',
    BODY_LIMIT_BYTES: '4096',
    HEADERS_TIMEOUT_MS: '1000',
    REQUEST_TIMEOUT_MS: '3000',
    SHUTDOWN_GRACE_MS: '5000',
  });
  gateway = await startGateway(config, createLogger('info', logs));
  port = Number(new URL(gateway.url).port);
  const response = await fetch(`${gateway.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('cli_demo_admin:demo-admin-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  adminToken = ((await response.json()) as { access_token: string }).access_token;
});
afterAll(async () => {
  await gateway?.shutdown('test end');
  await database?.drop();
});

const bigBody = JSON.stringify({ name: 'x'.repeat(10_000), kind: 'window' });
const head = (extra: string) =>
  `POST /v1/clients HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\n${extra}`;

describe('start', () => {
  it('warns when PostgreSQL runs without autovacuum, and only then', async () => {
    const onPostgres = database.environment.DATABASE_URL !== undefined;
    const [row] = onPostgres
      ? rowsOf<{ autovacuum: string }>(
          await gateway.services.db.execute(sql`select current_setting('autovacuum') as autovacuum`),
        )
      : [];
    if (onPostgres) expect(['on', 'off']).toContain(row?.autovacuum);
    const warned = logs.lines.some((line) => line.includes('PostgreSQL runs without autovacuum'));
    expect(warned).toBe(row?.autovacuum === 'off');
  });
});

describe('body limits on the wire', () => {
  it('refuses an oversize body announced by Content-Length', async () => {
    const before = await clientCount();
    const response = await rawExchange(
      `${head(`Content-Length: ${bigBody.length}\r\nConnection: close\r\n\r\n`)}${bigBody}`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(response).toContain('payload_too_large');
    expect(await clientCount()).toBe(before);
  });

  it('refuses an oversize chunked body', async () => {
    const before = await clientCount();
    const chunks = bigBody.match(/.{1,1000}/g) ?? [];
    const body = `${chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')}0\r\n\r\n`;
    const response = await rawExchange(`${head('Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n')}${body}`);
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(await clientCount()).toBe(before);
  });

  it('refuses a request carrying both Content-Length and chunked framing', async () => {
    const before = await clientCount();
    const chunk = bigBody.slice(0, 5000);
    const body = `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
    const response = await rawExchange(
      `${head(`Content-Length: 10\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`)}${body}`,
    );
    // Node's parser refuses the ambiguous framing (request smuggling) before the app sees it.
    expect(response).toMatch(/^HTTP\/1\.1 (400|413)/);
    expect(await clientCount()).toBe(before);
  });

  it('accepts a small body sent in chunks', async () => {
    const small = JSON.stringify({ name: 'Chunked window', kind: 'window' });
    const body = `${small.length.toString(16)}\r\n${small}\r\n0\r\n\r\n`;
    const response = await rawExchange(`${head('Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n')}${body}`);
    expect(response).toMatch(/^HTTP\/1\.1 201/);
  });
});

describe('slow clients', () => {
  it('cuts off a client that sends headers too slowly', async () => {
    const started = Date.now();
    const parts = [
      'GET /healthz HTTP/1.1\r\n',
      'Host: 127.0.0.1\r\n',
      ...Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: a\r\n`),
    ].map((part) => Buffer.from(part));
    const response = await rawExchange(parts, { delayMs: 300, timeoutMs: 8000 });
    // The server answers 408 or closes the connection once HEADERS_TIMEOUT_MS has passed.
    expect(response === '' || /^HTTP\/1\.1 408/.test(response)).toBe(true);
    expect(Date.now() - started).toBeLessThan(7000);
  });
});

/** Sends `parts` (`pauseMs` apart) on one connection and collects everything until the server closes it. */
function untilServerCloses(parts: string[], pauseMs = 0): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByServer: false });
    }, 10_000);
    socket.on('data', (data: Buffer) => {
      text += data.toString('utf8');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        if (pauseMs) await new Promise((wait) => setTimeout(wait, pauseMs));
      }
    });
  });
}

/** Splits raw HTTP/1.1 answers framed by Content-Length (what the gateway sends) into status and body. */
function answersIn(text: string): { status: number; body: string }[] {
  const answers: { status: number; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`an incomplete answer: ${JSON.stringify(rest.slice(0, 200))}`);
    const head = rest.slice(0, headEnd);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const body = Buffer.from(rest.slice(headEnd + 4))
      .subarray(0, length)
      .toString('utf8');
    answers.push({ status: Number(head.split(' ')[1]), body });
    rest = Buffer.from(rest.slice(headEnd + 4))
      .subarray(length)
      .toString('utf8');
  }
  return answers;
}

describe('bytes that are not HTTP on a connection', () => {
  const creation = (name: string) => {
    const body = JSON.stringify({ name, kind: 'window' });
    return `${head(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`)}${body}`;
  };

  it('after a request whose answer is in progress: that answer arrives intact, then a 400, then the close', async () => {
    const before = await clientCount();
    // In one write: the request is taken, and the parser fails on what follows before its answer is ready.
    const { text, closedByServer } = await untilServerCloses([
      `${creation('Window before garbage')}\u0000\u0001GARBAGE not http\r\n\r\n`,
    ]);
    const answers = answersIn(text);
    expect(answers.map((answer) => answer.status)).toEqual([201, 400]);
    const created = JSON.parse(answers[0]?.body ?? '{}') as {
      client: { id: string; name: string };
      clientSecret: string;
    };
    expect(created.client).toMatchObject({ name: 'Window before garbage' });
    expect(JSON.parse(answers[1]?.body ?? '{}')).toMatchObject({ status: 400, code: 'bad_request' });
    expect(closedByServer).toBe(true);
    expect(await clientCount()).toBe(before + 1);
  });

  it('after pipelined requests: every answer in order, then the 400', async () => {
    const before = await clientCount();
    const { text } = await untilServerCloses([
      `${creation('Pipelined one')}${creation('Pipelined two')}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nnot http at all\r\n\r\n`,
    ]);
    expect(answersIn(text).map((answer) => answer.status)).toEqual([201, 201, 200, 400]);
    expect(await clientCount()).toBe(before + 2);
  });

  it('on an idle kept-alive connection: a 400 and the close', async () => {
    const { text, closedByServer } = await untilServerCloses(
      ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '\u0016\u0003\u0001 a TLS hello, say\r\n\r\n'],
      300,
    );
    expect(answersIn(text).map((answer) => answer.status)).toEqual([200, 400]);
    expect(closedByServer).toBe(true);
  });

  it("inside a request's own body: that request is refused with 400 and nothing is written", async () => {
    const before = await clientCount();
    const { text, closedByServer } = await untilServerCloses([
      `${head('Transfer-Encoding: chunked\r\n\r\n')}zz-not-a-chunk-size\r\n{}\r\n0\r\n\r\n`,
    ]);
    expect(answersIn(text).map((answer) => answer.status)).toEqual([400]);
    expect(closedByServer).toBe(true);
    expect(await clientCount()).toBe(before);
  });
});

describe('graceful shutdown', () => {
  it('lets in-flight requests finish and answers new ones on open connections with 503', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Second gateway so this test does not stop the one the other tests use.
    const second = await freshDatabase();
    const other = await startGateway(
      parseConfig({ ...second.environment, PORT: '0', ONEWINDOW_DEMO: 'false', SHUTDOWN_GRACE_MS: '5000' }),
      createLogger('silent'),
    );
    try {
      other.app.get('/__test/slow', async (c) => {
        await held;
        return c.json({ finished: true });
      });
      const inFlight = fetch(`${other.url}/__test/slow`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const stopping = other.shutdown('test');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(other.services.lifecycle.draining).toBe(true);
      const ready = await other.app.request('/readyz');
      expect(ready.status).toBe(503);
      const refused = await other.app.request('/healthz');
      expect(refused.status).toBe(503);
      release();
      const finished = await inFlight;
      expect(finished.status).toBe(200);
      expect(await finished.json()).toEqual({ finished: true });
      await stopping;
      await expect(fetch(`${other.url}/healthz`)).rejects.toThrow();
    } finally {
      release();
      await other.shutdown('cleanup');
      await second.drop();
    }
  });
});

describe('the process', () => {
  it('starts with `npm start`, serves, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ow-proc-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        PORT: '0',
        DATA_DIR: dataDir,
        PGLITE_DATA_DIR: join(dataDir, 'db'),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`gateway did not start:\n${output}`)), 45_000);
        const poll = setInterval(() => {
          const match = /listening on (http:\/\/[^\s]+)/.exec(output);
          if (match?.[1]) {
            clearInterval(poll);
            clearTimeout(deadline);
            resolve(match[1]);
          }
        }, 100);
      });
      expect(output).toContain('client_secret=demo-window-secret');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('"msg":"stopped"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
