/**
 * Files served from memory exactly as they are (the API reference's assets, the OpenAPI
 * document), and a bound on what slow readers of them can hold.
 *
 * Bytes: each file is copied once, at start, into memory of its own; every response sends those
 * very bytes (Node writes a Uint8Array to the socket without copying it), with a strong ETag so a
 * browser's revalidation is a 304 without a body.
 *
 * Slow readers: the public reference page is the largest thing anyone may fetch without a token
 * (swagger-ui-bundle.js, 1.7 MB). A reader that asks and never reads makes the machine hold the
 * file for it: in the gateway while Node cannot hand it to the kernel, then in the kernel's send
 * queue of the connection (up to net.ipv4.tcp_wmem, 4 MiB by default, per connection). So:
 *  - deliveries are counted from the answer until their connection closes, and past
 *    `maxConcurrent` the answer is 503 with Retry-After: what asset readers can make the machine
 *    hold is at most `maxConcurrent` files, however many connections they open;
 *  - a delivery not handed to the kernel within `sendTimeoutMs` has its connection reset;
 *  - a connection that carried a delivery is reset (RST), not closed gracefully (FIN), when it
 *    goes idle (Node's keep-alive timeout): a graceful close would leave the unread bytes in an
 *    orphaned socket the kernel keeps retrying for minutes, a reset discards them at once. A
 *    client that read its answer sees the same thing as any idle close.
 * Outside a real server (`app.request` in tests) there is no connection and nothing to hold.
 */
import { createHash } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { strongEtagForDigest } from './preconditions.js';

/** A file served as it is: the same bytes for every request, and their entity tag. */
export interface StaticFile {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Strong entity tag of the bytes (`"sha256-…"`). */
  etag: string;
}

export function staticFile(content: string | Uint8Array, contentType: string): StaticFile {
  // The one copy: into an ArrayBuffer of its own, so no response ever copies it again.
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : new Uint8Array(content);
  return { bytes, contentType, etag: strongEtagForDigest(createHash('sha256').update(bytes).digest('hex')) };
}

export interface DeliveryLimits {
  /** Deliveries whose connections are still open, server-wide; one more is refused. */
  maxConcurrent: number;
  /** A delivery Node still holds bytes of after this long has its connection reset. */
  sendTimeoutMs: number;
}

/** What a delivery needs of its connection (a net.Socket). */
export interface DeliveryConnection {
  readonly destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
  prependListener(event: 'timeout', listener: () => void): unknown;
  resetAndDestroy(): unknown;
}

/** What a delivery needs of its response (a ServerResponse). */
export interface DeliveryResponse {
  /** True once every byte is handed to the connection. */
  readonly writableFinished: boolean;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/** The connection and the Node response behind a request, when it came over a real server. */
export interface NodeExchange {
  socket: DeliveryConnection;
  response: DeliveryResponse;
}

/** The Node objects @hono/node-server passes as the app's `env` (`{ incoming, outgoing }`), if any. */
export function nodeExchangeOf(env: unknown): NodeExchange | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  const { incoming, outgoing } = env as { incoming?: unknown; outgoing?: unknown };
  if (!(incoming instanceof IncomingMessage) || !(outgoing instanceof ServerResponse)) return undefined;
  const socket: Socket = incoming.socket;
  return { socket, response: outgoing };
}

/** setTimeout and clearTimeout, injectable so tests need no waiting. */
export interface Timers {
  set(callback: () => void, ms: number): { unref?(): unknown };
  clear(timer: { unref?(): unknown }): void;
}

const systemTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

export class DeliverySlots {
  #inUse = 0;
  /** Deliveries held per connection (several when requests are pipelined). */
  readonly #heldBy = new WeakMap<DeliveryConnection, number>();

  constructor(
    private readonly limits: DeliveryLimits,
    private readonly timers: Timers = systemTimers,
  ) {}

  /** Deliveries counted now. */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * Counts a delivery over `exchange` until its connection closes. False when every slot is
   * taken (answer 503). Without a connection (in-process requests) nothing is held.
   */
  claim(exchange: NodeExchange | undefined): boolean {
    if (exchange === undefined) return true;
    const { socket, response } = exchange;
    // Already gone: nothing will be written, and 'close' will not come again to release a slot.
    if (socket.destroyed) return true;
    if (this.#inUse >= this.limits.maxConcurrent) return false;
    this.#inUse += 1;
    const held = this.#heldBy.get(socket);
    this.#heldBy.set(socket, (held ?? 0) + 1);
    if (held === undefined) this.#watch(socket);

    const deadline = this.timers.set(() => {
      if (!response.writableFinished) socket.resetAndDestroy();
    }, this.limits.sendTimeoutMs);
    deadline.unref?.();
    const disarm = () => this.timers.clear(deadline);
    response.once('finish', disarm);
    response.once('close', disarm);
    return true;
  }

  #watch(socket: DeliveryConnection): void {
    socket.once('close', () => {
      this.#inUse -= this.#heldBy.get(socket) ?? 0;
      this.#heldBy.delete(socket);
    });
    // Node's keep-alive timeout fires 'timeout' on an idle connection and then closes it
    // gracefully; a reset in its place discards what a slow reader left unread. Node disarms the
    // timeout while a request is in progress, so this never cuts one short.
    socket.prependListener('timeout', () => socket.resetAndDestroy());
  }
}
