/**
 * A small scriptable HTTP server on loopback for the SDK's own tests: each path behaves in one
 * way (answer, stall, reset, redirect, fail N times) and every request is counted by path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestServer {
  url: string;
  port: number;
  count(path?: string): number;
  seen: SeenRequest[];
  /** Makes `path` answer with `behaviour` from now on. */
  on(path: string, behaviour: Behaviour): void;
  reset(): void;
  close(): Promise<void>;
}

export type Behaviour = (request: IncomingMessage, response: ServerResponse, body: string) => void;

export const behaviours = {
  json(status: number, value: unknown): Behaviour {
    return (_request, response) => {
      const text = JSON.stringify(value);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
  },
  /** Never answers (headers timeout). */
  hold(): Behaviour {
    return () => undefined;
  },
  /** Sends headers and a first chunk, then stalls (body timeout). */
  stallBody(): Behaviour {
    return (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"partial":');
    };
  },
  /** A chunked answer of `bytes` bytes with no content-length. */
  chunked(bytes: number): Behaviour {
    return (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1024, 0x61);
      let sent = 0;
      while (sent < bytes) {
        const size = Math.min(chunk.length, bytes - sent);
        response.write(chunk.subarray(0, size));
        sent += size;
      }
      response.end();
    };
  },
  declaredLength(bytes: number): Behaviour {
    return (_request, response) => {
      response.writeHead(200, { 'content-length': bytes });
      response.write(Buffer.alloc(16, 0x61));
    };
  },
  redirect(location: string): Behaviour {
    return (_request, response) => {
      response.writeHead(302, { location, 'content-length': 0 });
      response.end();
    };
  },
  reset(): Behaviour {
    return (request) => request.socket.destroy();
  },
  /** Answers `status` for the first `times` requests, then `then`. */
  failTimes(times: number, status: number, then: Behaviour): Behaviour {
    let failed = 0;
    return (request, response, body) => {
      if (failed < times) {
        failed += 1;
        return behaviours.json(status, { error: 'simulated' })(request, response, body);
      }
      then(request, response, body);
    };
  },
  echoHeaders(): Behaviour {
    return (request, response) => behaviours.json(200, { headers: request.headers })(request, response, '');
  },
};

export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, Behaviour>();
  const seen: SeenRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://test.invalid').pathname;
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ path, headers: request.headers, body });
      const behaviour = routes.get(path) ?? behaviours.json(404, { error: 'no such path' });
      behaviour(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    count: (path) => (path === undefined ? seen.length : seen.filter((request) => request.path === path).length),
    on: (path, behaviour) => routes.set(path, behaviour),
    reset: () => {
      seen.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
