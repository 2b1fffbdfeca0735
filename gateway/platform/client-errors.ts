/**
 * Bytes on a connection that are not HTTP (Node's 'clientError'), and requests that came too
 * slowly or with too large a header.
 *
 * Node's own answer is a bare 400 (or 408, 431, 413) written at once, and the connection
 * destroyed. When the bad bytes follow a complete request whose answer is still being prepared
 * ("trailing garbage" on the same connection), that request was taken — a client registered, a
 * case submitted — yet its answer is lost: the client reads only the 400 and must assume that
 * nothing happened. Here:
 *  - the answers to the complete requests before the bad bytes are finished first (up to
 *    `maxWaitMs`), then the refusal follows as a problem document with a stable code, and the
 *    connection is closed;
 *  - bad bytes inside a request (its own headers or body) refuse that request at once, as Node
 *    does, since nothing of it was taken;
 *  - after the refusal, what the client still sends is read and dropped until it closes or
 *    `LINGER_MS` passes: closing a socket with unread bytes makes the kernel send a reset, which
 *    can destroy the answers still on their way to the client.
 * The bad bytes themselves are never logged or echoed: they may be anything, personal data too.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, type ErrorCode, type Message, message, problemDocument } from './errors.js';

/** How long a refused connection is drained before it is closed regardless. */
const LINGER_MS = 2000;

/** Node's clientError codes and the refusal each gets (Node's own statuses). */
function refusalFor(code: string | undefined): { status: number; reason: string; error: ApiError } {
  const refusal = (errorCode: ErrorCode, reason: string, detail: Message) => {
    const error = new ApiError(errorCode, detail);
    return { status: error.status, reason, error };
  };
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return refusal('request_timeout', 'Request Timeout', message('request.timeout'));
    case 'HPE_HEADER_OVERFLOW':
      return refusal(
        'request_header_too_large',
        'Request Header Fields Too Large',
        message('request.header_too_large'),
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return refusal('payload_too_large', 'Payload Too Large', message('request.chunk_extensions_too_large'));
    default:
      return refusal('bad_request', 'Bad Request', message('request.not_http'));
  }
}

/** The whole refusal on the wire: status line, problem document, `Connection: close`. */
function refusalBytes(code: string | undefined): string {
  const { status, reason, error } = refusalFor(code);
  const body = JSON.stringify(problemDocument(error, undefined));
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`
  );
}

export interface ClientErrorOptions {
  /** How long the answers to earlier requests on the connection may take before it is closed anyway. */
  maxWaitMs: number;
}

export function handleClientErrors(server: Server, options: ClientErrorOptions): void {
  // The last request taken on each connection: its answer, if unfinished, comes before a refusal.
  const lastResponse = new WeakMap<Duplex, ServerResponse>();
  // A connection already being refused: Node reports each further chunk as a new error.
  const refusing = new WeakSet<Duplex>();

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    lastResponse.set(request.socket, response);
  });

  const refuseAndClose = (socket: Duplex, code: string | undefined): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(refusalBytes(code));
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
    // The client has nothing more to say: what was queued for it still goes out before the close.
    socket.once('end', () => socket.destroy());
  };

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (refusing.has(socket)) return;
    refusing.add(socket);
    // A connection reset or broken by the client: nobody is left to answer.
    if (!socket.writable || error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    const pending = lastResponse.get(socket);
    if (pending === undefined || pending.writableFinished) {
      refuseAndClose(socket, error.code);
      return;
    }
    if (!pending.req.complete) {
      // The bad bytes are the pending request's own: it is refused (unless its answer has begun,
      // which nothing sane can follow), and nothing of it was taken.
      if (!pending.headersSent) socket.write(refusalBytes(error.code));
      socket.destroy();
      return;
    }
    // The request before the bad bytes was taken: its answer goes out first, then the refusal.
    const giveUp = setTimeout(() => socket.destroy(), options.maxWaitMs);
    giveUp.unref();
    pending.once('close', () => {
      clearTimeout(giveUp);
      refuseAndClose(socket, error.code);
    });
  });
}
