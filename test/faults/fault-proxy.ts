/**
 * A small TCP fault proxy for the fault suite: it sits between the gateway and a department
 * simulator (loopback only) and misbehaves the way networks and overloaded systems do, switchable
 * at run time. The mode is read again for every chunk, so switching it also changes connections
 * that are already open (undici keeps its connections alive; a proxy that only judged new
 * connections would let a kept-alive connection through an outage).
 *
 * Modes:
 * - `pass`: forward both ways unchanged.
 * - `latency`: wait `connectMs` before connecting upstream, and `perChunkMs` before each chunk
 *   (both directions).
 * - `drop` (blackhole): accept, then neither read, forward nor answer; never close.
 * - `reset`: destroy the client's socket with a TCP RST (new connections and the next chunk on
 *   an open one).
 * - `drip`: forward the upstream's answer `bytes` bytes every `everyMs`. With `afterHeaders`, the
 *   bytes of a chunk up to its first blank line (an HTTP answer's head) go at once and only the
 *   rest drips: the small answers of the simulators arrive as one chunk each, so this drips the
 *   body of each answer.
 * - `bandwidth`: forward the upstream's answer at `bytesPerSecond` at most.
 * - `half_open`: keep reading (and discarding) what the client sends, answer nothing, never close,
 *   not even when the client ends its side.
 */
import { type AddressInfo, type Server, type Socket, createConnection, createServer } from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'latency'; perChunkMs?: number; connectMs?: number }
  | { kind: 'drop' }
  | { kind: 'reset' }
  | { kind: 'drip'; bytes: number; everyMs: number; afterHeaders?: boolean }
  | { kind: 'bandwidth'; bytesPerSecond: number }
  | { kind: 'half_open' };

export interface FaultProxyCounts {
  /** Client connections accepted (including ones then reset or held). */
  connections: number;
  /** Sockets ended with an RST in `reset` mode (one per refused exchange). */
  resets: number;
  /** Bytes received from clients. */
  bytesFromClients: number;
  /** Bytes written to clients (the upstream's answers as they left the proxy). */
  bytesToClients: number;
}

/** Slices written per second in `bandwidth` mode: small enough to keep the rate smooth. */
const BANDWIDTH_SLICES_PER_SECOND = 10;
/** Queued upstream chunks before the upstream socket is paused (back-pressure). */
const MAX_QUEUED_CHUNKS = 64;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Forwards one direction chunk by chunk, in order, shaping each chunk by the current mode. */
class ShapedPipe {
  private readonly queue: Buffer[] = [];
  private pumping = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly mode: () => FaultMode,
    private readonly shapeAnswers: boolean,
    private readonly onWritten: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    this.queue.push(chunk);
    if (this.queue.length > MAX_QUEUED_CHUNKS) this.from.pause();
    if (!this.pumping) void this.pump();
  }

  /** Whether chunks are still queued or being written. */
  get busy(): boolean {
    return this.pumping || this.queue.length > 0;
  }

  private get finished(): boolean {
    return this.to.destroyed || this.from.destroyed;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let chunk = this.queue.shift(); chunk !== undefined && !this.finished; chunk = this.queue.shift()) {
        if (this.queue.length <= MAX_QUEUED_CHUNKS / 2 && this.from.isPaused()) this.from.resume();
        await this.forward(chunk);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async forward(chunk: Buffer): Promise<void> {
    const mode = this.mode();
    if (mode.kind === 'drop' || mode.kind === 'half_open') return; // swallowed
    if (mode.kind === 'latency' && mode.perChunkMs) await sleep(mode.perChunkMs);
    if (this.shapeAnswers && mode.kind === 'drip') {
      const headEnd = mode.afterHeaders ? chunk.indexOf('\r\n\r\n') : -1;
      const start = headEnd === -1 ? 0 : headEnd + 4;
      if (start > 0) this.write(chunk.subarray(0, start));
      for (let offset = start; offset < chunk.length && !this.finished; offset += mode.bytes) {
        if (offset > start) await sleep(mode.everyMs);
        this.write(chunk.subarray(offset, offset + mode.bytes));
      }
      return;
    }
    if (this.shapeAnswers && mode.kind === 'bandwidth') {
      const slice = Math.max(1, Math.floor(mode.bytesPerSecond / BANDWIDTH_SLICES_PER_SECOND));
      for (let offset = 0; offset < chunk.length && !this.finished; offset += slice) {
        this.write(chunk.subarray(offset, offset + slice));
        await sleep(1000 / BANDWIDTH_SLICES_PER_SECOND);
      }
      return;
    }
    this.write(chunk);
  }

  private write(bytes: Buffer): void {
    if (this.finished) return;
    this.to.write(bytes);
    this.onWritten(bytes.length);
  }
}

export class FaultProxy {
  private currentMode: FaultMode = { kind: 'pass' };
  private readonly sockets = new Set<Socket>();
  private readonly counters: FaultProxyCounts = { connections: 0, resets: 0, bytesFromClients: 0, bytesToClients: 0 };
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy on 127.0.0.1 (a free port) forwarding to `target` (`http://host:port` or host and port). */
  static async start(target: string | { host: string; port: number }): Promise<FaultProxy> {
    const { host, port } =
      typeof target === 'string' ? { host: new URL(target).hostname, port: Number(new URL(target).port) } : target;
    // allowHalfOpen: a client's FIN must not end our side by itself (`half_open` keeps it open).
    const server = createServer({ allowHalfOpen: true });
    const proxy = new FaultProxy(server, host, port);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get mode(): FaultMode {
    return this.currentMode;
  }

  setMode(mode: FaultMode): void {
    this.currentMode = mode;
  }

  counts(): FaultProxyCounts {
    return { ...this.counters };
  }

  resetCounts(): void {
    this.counters.connections = 0;
    this.counters.resets = 0;
    this.counters.bytesFromClients = 0;
    this.counters.bytesToClients = 0;
  }

  /** Sockets open right now (client and upstream sides). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Closes every open connection (the listener stays): the next request needs a new connection. */
  disconnectAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await stopped;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // A reset or a vanished peer is the point of this proxy, not a failure of the test process.
    socket.on('error', () => undefined);
  }

  private reset(socket: Socket, upstream?: Socket): void {
    this.counters.resets += 1;
    socket.resetAndDestroy();
    upstream?.destroy();
  }

  private accept(client: Socket): void {
    this.track(client);
    this.counters.connections += 1;
    if (this.closed) return void client.destroy();
    const mode = this.currentMode;
    if (mode.kind === 'reset') return this.reset(client);
    if (mode.kind === 'drop') {
      // A blackhole: nothing is read, so the client's bytes pile up in the kernel's buffers.
      client.pause();
      return;
    }
    if (mode.kind === 'half_open') {
      client.on('data', (chunk: Buffer) => {
        this.counters.bytesFromClients += chunk.length;
      });
      return;
    }
    const connectDelay = mode.kind === 'latency' ? (mode.connectMs ?? 0) : 0;
    // Hold what the client sends until the upstream connection is there.
    client.pause();
    const open = (): void => {
      if (client.destroyed || this.closed) return;
      this.connectUpstream(client);
    };
    if (connectDelay > 0) setTimeout(open, connectDelay);
    else open();
  }

  private connectUpstream(client: Socket): void {
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    this.track(upstream);
    const toUpstream = new ShapedPipe(
      client,
      upstream,
      () => this.currentMode,
      false,
      () => undefined,
    );
    const toClient = new ShapedPipe(
      upstream,
      client,
      () => this.currentMode,
      true,
      (bytes) => {
        this.counters.bytesToClients += bytes;
      },
    );
    client.on('data', (chunk: Buffer) => {
      this.counters.bytesFromClients += chunk.length;
      if (this.currentMode.kind === 'reset') return this.reset(client, upstream);
      toUpstream.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk));
    // Ends travel on unless the mode says the proxy never closes; errors end both sides.
    client.on('end', () => {
      if (this.currentMode.kind !== 'half_open' && this.currentMode.kind !== 'drop') upstream.end();
    });
    // The client's side ends once the (possibly shaped) answer has been written.
    upstream.on('end', () => void this.endAfterDrain(toClient, client));
    client.on('close', () => upstream.destroy());
    upstream.on('close', (hadError) => {
      if (hadError) client.destroy();
    });
    upstream.on('connect', () => client.resume());
    upstream.on('error', () => client.destroy());
  }

  /** Ends `client` once `pipe` has nothing queued (drip and bandwidth finish their answer first). */
  private async endAfterDrain(pipe: ShapedPipe, client: Socket): Promise<void> {
    for (let waited = 0; pipe.busy && !client.destroyed && waited < 600_000; waited += 100) await sleep(100);
    const mode = this.currentMode.kind;
    if (mode !== 'drop' && mode !== 'half_open') client.end();
  }
}
