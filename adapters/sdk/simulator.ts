/**
 * The simulator kit: a real HTTP server on a loopback port standing in for a department's own
 * system, with fault switches. Each department's simulator supplies the protocol (its handler);
 * the kit supplies the server, request counting and the faults every department system shows in
 * real life, so the conformance suite can drive all simulators the same way.
 *
 * Generic faults (`http_4xx`, `http_5xx`, `timeout`, `reset`, `delay`) are applied by the kit
 * before the handler runs. Protocol-shaped faults (`business_error`, `malformed`, `oversized`,
 * `wrong_subject`) are passed to the handler as `fault`, because only it knows what a business
 * error or an answer about someone else looks like in its protocol.
 *
 * Faults are switched in-process (`setFault`) or, for a simulator running beside the demo, with
 * `POST /__simulator/faults` and a JSON `Fault` (or `null` to clear). Simulators listen on
 * loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const faultKinds = [
  'business_error',
  'http_4xx',
  'http_5xx',
  'timeout',
  'reset',
  'malformed',
  'oversized',
  'wrong_subject',
  'delay',
] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface Fault {
  kind: FaultKind;
  /** Apply to this many matching requests, then behave normally again. Default: until cleared. */
  times?: number;
  /** Apply only to requests of this operation (as the handler names it). Default: all. */
  operation?: string;
  /** `delay`: milliseconds before the handler runs. `timeout` holds the request until the client gives up. */
  delayMs?: number;
}

/** What the kit hands to a simulator's handler for one request. */
export interface SimulatorRequest {
  request: IncomingMessage;
  response: ServerResponse;
  /** The whole request body (simulators are small; bodies are capped at 16 MiB). */
  body: Buffer;
  url: URL;
  /** A protocol-shaped fault the handler must produce, if one is switched on for this request. */
  fault: Extract<FaultKind, 'business_error' | 'malformed' | 'oversized' | 'wrong_subject'> | null;
}

export interface SimulatorDefinition {
  name: string;
  /**
   * Names the operation of a request (for counting and for faults limited to one operation). It
   * gets the whole body too, so a single-URL protocol can name the operation by the `method` field
   * of a form-encoded body (`formMethodOperation`).
   */
  operationOf(request: IncomingMessage, url: URL, body: Buffer): string;
  handle(request: SimulatorRequest): Promise<void> | void;
}

export interface RunningSimulator {
  name: string;
  url: string;
  port: number;
  setFault(fault: Fault | null): void;
  /** Requests received (all, or of one operation) since start or the last `resetCounts`. */
  requestCount(operation?: string): number;
  resetCounts(): void;
  close(): Promise<void>;
}

const MAX_SIMULATOR_BODY_BYTES = 16 * 1024 * 1024;
const CONTROL_PATH = '/__simulator/faults';

function isFault(value: unknown): value is Fault {
  if (typeof value !== 'object' || value === null) return false;
  const kind: unknown = (value as { kind?: unknown }).kind;
  return typeof kind === 'string' && (faultKinds as readonly string[]).includes(kind);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    length += buffer.byteLength;
    if (length > MAX_SIMULATOR_BODY_BYTES) throw new Error('request body too large for the simulator');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

export interface StartSimulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  host?: string;
}

export async function startSimulator(
  definition: SimulatorDefinition,
  options: StartSimulatorOptions = {},
): Promise<RunningSimulator> {
  let fault: Fault | null = null;
  let counts = new Map<string, number>();
  const held = new Set<ServerResponse>();

  /** The fault for this request, consuming one of its `times`. */
  function takeFault(operation: string): Fault | null {
    if (!fault || (fault.operation !== undefined && fault.operation !== operation)) return null;
    const current = fault;
    if (current.times !== undefined) {
      current.times -= 1;
      if (current.times <= 0) fault = null;
    }
    return current;
  }

  async function onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://simulator.invalid');
    if (url.pathname === CONTROL_PATH && request.method === 'POST') {
      const parsed: unknown = JSON.parse((await readBody(request)).toString('utf8') || 'null');
      if (parsed !== null && !isFault(parsed))
        return sendJson(response, 400, { error: `a fault is null or {kind: ${faultKinds.join('|')}}` });
      fault = parsed;
      return sendJson(response, 200, { fault });
    }
    if (url.pathname === CONTROL_PATH && request.method === 'GET')
      return sendJson(response, 200, { fault, counts: Object.fromEntries(counts) });

    const body = await readBody(request);
    const operation = definition.operationOf(request, url, body);
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const active = takeFault(operation);
    switch (active?.kind) {
      case 'http_5xx':
        return sendJson(response, 503, { error: 'service temporarily unavailable (simulated)' });
      case 'http_4xx':
        return sendJson(response, 400, { error: 'bad request (simulated)' });
      case 'reset':
        request.socket.destroy();
        return;
      case 'timeout':
        // Hold the request without answering; released when the client gives up or at close.
        held.add(response);
        response.on('close', () => held.delete(response));
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, active.delayMs ?? 1000));
        break;
      default:
        break;
    }
    const protocolFault =
      active &&
      (active.kind === 'business_error' ||
        active.kind === 'malformed' ||
        active.kind === 'oversized' ||
        active.kind === 'wrong_subject')
        ? active.kind
        : null;
    await definition.handle({ request, response, body, url, fault: protocolFault });
  }

  const server: Server = createServer((request, response) => {
    onRequest(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        sendJson(response, 500, { error: error instanceof Error ? error.message : String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    name: definition.name,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    setFault(next) {
      fault = next === null ? null : { ...next };
    },
    requestCount(operation) {
      if (operation !== undefined) return counts.get(operation) ?? 0;
      let total = 0;
      for (const count of counts.values()) total += count;
      return total;
    },
    resetCounts() {
      counts = new Map();
    },
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a form-encoded request body holds, as a plain object (the last value of a repeated field). */
export function readFormBody(body: Buffer): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

/**
 * `operationOf` for a single-URL method-dispatch protocol: the operation is the `method` field
 * (or `field`) of the form-encoded body posted to `path`; anything else is named `other:<path>`
 * (unknown or missing methods: `unknown-method`).
 */
export function formMethodOperation(
  path: string,
  field = 'method',
): (request: IncomingMessage, url: URL, body: Buffer) => string {
  return (request, url, body) => {
    if (url.pathname !== path || request.method !== 'POST') return `other:${url.pathname}`;
    const value = readFormBody(body)[field];
    return value === undefined || value === '' ? 'unknown-method' : value;
  };
}
