/**
 * Security suite: the HTTP surface around the routes, against the real server on loopback (the
 * smaller findings of issue 14).
 *
 * - An ID number in a path — plain, in the query, percent-encoded — or in an X-Request-Id never
 *   comes back in an answer or reaches a log line (problem `instance` was the raw path).
 * - A known path with a method it does not serve is 405 with Allow.
 * - A repeated Authorization is refused (401) whichever copy is valid: Node keeps only the first
 *   copy, where a proxy in front may have looked at another; every access line is valid JSON.
 * - No answer may be framed; HTML answers carry frame-ancestors 'none' and X-Frame-Options.
 * - The public static files (/docs/assets/*, /openapi.json) are the same bytes for every reader,
 *   revalidate with 304, and slow readers are bounded: DOCS_MAX_CONCURRENT_DELIVERIES deliveries
 *   at once (each until its connection closes), and an idle connection that carried one is reset
 *   rather than closed gracefully, so the kernel drops what a reader left unread.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Socket, connect } from 'node:net';
import { join } from 'node:path';
import swaggerUiDist from 'swagger-ui-dist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearerHeaders, type SecurityGateway, startSecurityGateway, unmaskedIdNumberLeaks } from './support.js';

/** A test resident ID number (valid check character, invented person). */
const ID_NUMBER = '11010519491231002X';
const percentEncoded = (text: string) =>
  [...text].map((character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`).join('');
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
/** Two deliveries at once here, so the cap is reached with three connections. */
const MAX_DELIVERIES = 2;

let gateway: SecurityGateway;
let port: number;
let windowToken: string;

beforeAll(async () => {
  gateway = await startSecurityGateway({
    DOCS_MAX_CONCURRENT_DELIVERIES: String(MAX_DELIVERIES),
    // Node closes (here: resets) an idle connection after this plus its own one-second margin.
    KEEP_ALIVE_TIMEOUT_MS: '200',
  });
  port = Number(new URL(gateway.url).port);
  windowToken = await gateway.token('window');
}, 60_000);

afterAll(async () => {
  await gateway?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One keep-alive connection spoken to in raw HTTP/1.1: requests go out one at a time and each
 * answer is read in full (Content-Length framing, as every answer of the gateway has). `closed`
 * says how the server ended the connection: 'end' (graceful) or the socket error code.
 */
interface RawConnection {
  socket: Socket;
  request(path: string, headers?: Record<string, string>): Promise<RawResponse>;
  closed: Promise<string>;
}

async function openConnection(): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ending = 'end';
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake?.();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    ending = error.code ?? error.message;
  });
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(ending)));

  async function readResponse(): Promise<RawResponse> {
    for (let waits = 0; waits < 200; waits += 1) {
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const [statusLine = '', ...lines] = buffered.subarray(0, headEnd).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(
          lines.map((line) => [
            line.slice(0, line.indexOf(':')).toLowerCase(),
            line.slice(line.indexOf(':') + 1).trim(),
          ]),
        );
        const length = Number(headers['content-length'] ?? 0);
        if (buffered.length >= headEnd + 4 + length) {
          const body = buffered.subarray(headEnd + 4, headEnd + 4 + length);
          buffered = buffered.subarray(headEnd + 4 + length);
          return { status: Number(statusLine.split(' ')[1]), headers, body };
        }
      }
      if (socket.destroyed) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    throw new Error(`no complete answer (${buffered.length} bytes arrived)`);
  }

  return {
    socket,
    closed,
    async request(path, headers = {}) {
      const lines = Object.entries({ host: '127.0.0.1', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
      return readResponse();
    },
  };
}

/** GETs `path` on a fresh connection until it is answered 200 (slots free up as connections close). */
async function eventuallyServed(path: string): Promise<RawConnection & { answer: RawResponse }> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const connection = await openConnection();
    const answer = await connection.request(path);
    if (answer.status === 200) return { ...connection, answer };
    connection.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} was never served`);
}

describe('identifiers in what was asked', () => {
  it('never come back in an answer, nor reach a log line: path, query, percent-encoded, request id', async () => {
    const paths = [
      `/v1/subjects/${ID_NUMBER}`,
      `/v1/subjects/${ID_NUMBER}?identifier=${ID_NUMBER}`,
      `/v1/subjects/${percentEncoded(ID_NUMBER)}`,
      `/v1/subjects/${ID_NUMBER}/no-such-thing`,
      `/v1/people/${ID_NUMBER}`,
    ];
    for (const path of paths) {
      for (const method of ['GET', 'DELETE']) {
        const answer = await gateway.send(path, { method, headers: bearerHeaders(windowToken, PURPOSE) });
        expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(answer.text, `${method} ${path}`).not.toContain(ID_NUMBER);
        expect(answer.json<{ instance: string }>().instance).toMatch(/^urn:onewindow:request:req_[0-9a-f]{32}$/);
      }
    }
    // Routes whose refusals name what was asked for (`No client cli_…`): the name comes back masked.
    const adminToken = await gateway.token('admin');
    for (const path of [
      `/v1/clients/cli_${ID_NUMBER}`,
      `/v1/items/${ID_NUMBER}`,
      `/v1/departments/${ID_NUMBER}`,
      `/v1/contracts/${ID_NUMBER}`,
    ]) {
      const answer = await gateway.send(path, { headers: bearerHeaders(adminToken, PURPOSE) });
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
      expect(answer.text, path).not.toContain(ID_NUMBER);
    }
    const offered = await gateway.send('/healthz', { headers: { 'x-request-id': `trace-${ID_NUMBER}` } });
    expect(offered.headers.get('x-request-id')).toMatch(/^req_/);
    // The suite's own scan: every answer recorded so far and every log line.
    expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
    expect(gateway.logs.text()).not.toContain(ID_NUMBER);
  });
});

describe('methods', () => {
  it('a known path with a method it does not serve is 405 with Allow, an unknown one 404', async () => {
    const wrongMethod = await gateway.send('/v1/clients', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
    expect(wrongMethod.json<{ code: string }>().code).toBe('method_not_allowed');
    expect((await gateway.send('/v1/nothing-here', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('request headers read straight from Node', () => {
  it('a repeated Authorization is refused, whichever copy is the valid one (Node keeps only the first)', async () => {
    const adminToken = await gateway.token('admin');
    const connection = await openConnection();
    try {
      expect((await connection.request('/v1/clients', { authorization: `Bearer ${adminToken}` })).status).toBe(200);
      for (const [first, second] of [
        [`Bearer ${adminToken}`, 'Bearer forged'],
        ['Bearer forged', `Bearer ${adminToken}`],
        [`Bearer ${adminToken}`, `Bearer ${adminToken}`],
      ] as const) {
        // Two spellings of the name, so both lines go out.
        const answer = await connection.request('/v1/clients', { authorization: first, Authorization: second });
        expect(answer.status, `${first.slice(0, 12)} then ${second.slice(0, 12)}`).toBe(401);
      }
    } finally {
      connection.socket.destroy();
    }
  });

  it('every access line is one line of valid JSON, whatever the method and path', async () => {
    const connection = await openConnection();
    const before = gateway.logs.lines.length;
    try {
      for (const [method, path] of [
        ['PROPFIND', '/v1/clients'],
        ['M-SEARCH', '/%22%5C%0a%22'],
        ['SEARCH', '/v1/subjects/%22%0d%0a'],
      ] as const) {
        connection.socket.write(`${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n\r\n`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      connection.socket.destroy();
    }
    const lines = gateway.logs.lines.slice(before).filter((line) => line.includes('"msg":"request"'));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
  });
});

describe('framing', () => {
  it('no HTML answer may be framed, signed in or not, and neither may any other', async () => {
    const auditor = await gateway.client('auditor');
    await gateway.send('/docs');
    await gateway.send('/supervision', { headers: { accept: 'text/html' } });
    await gateway.send('/supervision', { headers: { authorization: basic(auditor.id, auditor.secret) } });
    const html = gateway.exchanges.filter((exchange) => /content-type: text\/html/.test(exchange.headers));
    expect(html.map((exchange) => `${exchange.path} ${exchange.status}`)).toEqual([
      '/docs 200',
      '/supervision 401',
      '/supervision 200',
    ]);
    // The baseline headers go on Node's response and an answer's own win: the docs page keeps its
    // policy (scripts from itself), and no answer carries two policies.
    expect(html[0]?.headers).toMatch(/content-security-policy: [^\n]*script-src 'self'/);
    for (const exchange of gateway.exchanges) {
      expect(exchange.headers.match(/content-security-policy:/g), `${exchange.path} ${exchange.status}`).toHaveLength(
        1,
      );
      expect(exchange.headers, `${exchange.path} ${exchange.status}`).toMatch(
        /content-security-policy: [^\n]*frame-ancestors 'none'/,
      );
      expect(exchange.headers, `${exchange.path} ${exchange.status}`).toContain('x-frame-options: DENY');
    }
  });
});

describe('the public static files', () => {
  it('are the very same bytes for every reader, never a copy, and revalidate with 304', async () => {
    const served: unknown[] = [];
    const capture = (request: IncomingMessage, response: ServerResponse): void => {
      if (request.url !== '/docs/assets/swagger-ui-bundle.js') return;
      const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
      response.end = ((...args: unknown[]) => {
        served.push(args[0]);
        return end(...args);
      }) as ServerResponse['end'];
    };
    gateway.running.server.on('request', capture);
    try {
      const first = await openConnection();
      const second = await openConnection();
      const answers = [
        await first.request('/docs/assets/swagger-ui-bundle.js'),
        await second.request('/docs/assets/swagger-ui-bundle.js'),
      ];
      first.socket.destroy();
      second.socket.destroy();
      const onDisk = readFileSync(join(swaggerUiDist.getAbsoluteFSPath(), 'swagger-ui-bundle.js'));
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body.equals(onDisk)).toBe(true);
        expect(answer.headers['cache-control']).toBe('public, max-age=3600');
      }
      expect(served).toHaveLength(2);
      expect(served[0]).toBeInstanceOf(Uint8Array);
      expect(served[1]).toBe(served[0]);

      const etag = answers[0]?.headers['etag'] ?? '';
      expect(etag).toMatch(/^"sha256-[0-9a-f]{64}"$/);
      const revalidating = await eventuallyServed('/openapi.json');
      const document = await revalidating.request('/openapi.json');
      const unchanged = await revalidating.request('/docs/assets/swagger-ui-bundle.js', { 'if-none-match': etag });
      revalidating.socket.destroy();
      expect(unchanged.status).toBe(304);
      expect(unchanged.body.length).toBe(0);
      expect(unchanged.headers['etag']).toBe(etag);
      expect(JSON.parse(document.body.toString('utf8'))).toMatchObject({ openapi: '3.1.0' });
      expect(document.headers['cache-control']).toBe('no-cache');
    } finally {
      gateway.running.server.off('request', capture);
    }
  });

  it(`hold one of ${MAX_DELIVERIES} slots per delivery until the connection closes; past them the answer is 503 with Retry-After`, async () => {
    const holders = [
      await eventuallyServed('/docs/assets/swagger-ui.css'),
      await eventuallyServed('/docs/assets/swagger-ui.css'),
    ];
    // Both were read in full and are idle: their bytes are delivered, but the connections stay.
    const refused = await openConnection();
    const answer = await refused.request('/docs/assets/swagger-ui.css');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ code: 'service_unavailable' });
    // Revalidation sends no bytes and needs no slot.
    expect(
      (
        await refused.request('/docs/assets/swagger-ui.css', {
          'if-none-match': holders[0]?.answer.headers['etag'] ?? '',
        })
      ).status,
    ).toBe(304);
    refused.socket.destroy();
    for (const holder of holders) holder.socket.destroy();
    // Closing the connections frees their slots.
    const next = await eventuallyServed('/docs/assets/swagger-ui.css');
    next.socket.destroy();
  });

  it('reset, rather than close gracefully, an idle connection that carried one, so no unread bytes linger', async () => {
    const reader = await eventuallyServed('/docs/assets/favicon-32x32.png');
    // Node's keep-alive timeout (200 ms here, plus its margin) finds it idle.
    expect(await reader.closed).toBe('ECONNRESET');
    // Any other idle connection is closed gracefully, as before.
    const other = await openConnection();
    expect((await other.request('/healthz')).status).toBe(200);
    expect(await other.closed).toBe('end');
  });
});
