/**
 * An HTTP witness another party runs for a gateway (another department, the supervision
 * authority): it takes the signed checkpoint heads the gateway POSTs (AUDIT_WITNESS_URL), checks
 * each signature against the gateway's checkpoint public key it was given, and appends the heads
 * to its own witness file, which any verifier can later compare the gateway's database with
 * (`npm run audit:verify -- --witness FILE`). It refuses a second, different head at a position
 * it already holds: a gateway that rewrote its history cannot make its witness agree.
 *
 *   POST /v1/audit-witness/checkpoints   { seq, headHash, createdAt, kid, signature }
 *     201 taken (200 when it already held this very head); answers { accepted, seq, headHash, receivedAt }
 *     401 unauthenticated (a bearer token is configured and missing or wrong)
 *     400 validation_failed, 422 witness_untrusted_checkpoint, 409 witness_conflict, 413 payload_too_large
 *   GET  /v1/audit-witness/heads/latest  the newest head held (404 before the first)
 */
import { timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader } from 'jose';
import { verifyCompactJws } from '../auth/jws.js';
import type { Logger } from 'pino';
import { ApiError, type ErrorCode, type Message, message, problemDocument } from '../platform/errors.js';
import { CHECKPOINT_TYPE, type CheckpointPayload } from './chain.js';
import type { TrustedKeys } from './checkpoint-keys.js';
import { type SignedCheckpoint, appendWitnessRecords, readWitnessHeads, witnessSubmissionSchema } from './witness.js';

export interface WitnessReceiverOptions {
  host: string;
  port: number;
  /** Where the taken heads are appended (JSON lines, the gateway's witness format). */
  file: string;
  /** The gateway's checkpoint public keys: only heads they signed are taken. */
  trustedKeys: TrustedKeys;
  /** When set, callers must send `Authorization: Bearer <token>`. */
  bearerToken?: string | undefined;
  logger: Logger;
}

export interface RunningWitnessReceiver {
  url: string;
  /** Heads held, by position. */
  heads: Map<number, string>;
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 16 * 1024;
const SUBMIT_PATH = '/v1/audit-witness/checkpoints';
const LATEST_PATH = '/v1/audit-witness/heads/latest';

function send(response: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

function sendProblem(response: ServerResponse, error: ApiError, path: string): void {
  send(response, error.status, problemDocument(error, undefined, path), 'application/problem+json');
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.from(chunk as Buffer);
    size += buffer.length;
    if (size > BODY_LIMIT_BYTES)
      throw new ApiError('payload_too_large', message('witness.checkpoint_too_large', { maxBytes: BODY_LIMIT_BYTES }));
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function checkSignature(trustedKeys: TrustedKeys, head: SignedCheckpoint): Promise<void> {
  const refuse = (detail: Message, code: ErrorCode = 'witness_untrusted_checkpoint') =>
    new ApiError(code, detail, { seq: head.seq });
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(head.signature).kid;
  } catch {
    throw refuse(message('witness.signature_not_jws'));
  }
  const key = typeof kid === 'string' ? trustedKeys.get(kid) : undefined;
  if (!key || kid !== head.kid) throw refuse(message('witness.untrusted_key', { kid: String(kid) }));
  let payload: CheckpointPayload;
  try {
    const verified = await verifyCompactJws(head.signature, key.verifyKey, key.alg);
    if (verified.protectedHeader.typ !== CHECKPOINT_TYPE) throw new Error('typ');
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as CheckpointPayload;
  } catch {
    throw refuse(message('witness.signature_invalid'));
  }
  if (payload.seq !== head.seq || payload.headHash !== head.headHash || payload.createdAt !== head.createdAt) {
    throw refuse(message('witness.payload_differs'));
  }
}

export async function startWitnessReceiver(options: WitnessReceiverOptions): Promise<RunningWitnessReceiver> {
  const heads = new Map<number, string>();
  for (const head of await readWitnessHeads([options.file], false)) heads.set(head.seq, head.headHash);
  // Submissions are taken one at a time, so two racing heads for one position cannot both land.
  let queue: Promise<unknown> = Promise.resolve();

  const take = async (head: SignedCheckpoint): Promise<{ status: number; body: unknown }> => {
    const held = heads.get(head.seq);
    if (held === head.headHash)
      return { status: 200, body: { accepted: true, duplicate: true, seq: head.seq, headHash: head.headHash } };
    // Signed before compared: the conflict below is the "history rewritten" alarm, and a head nobody
    // trusted signed must not raise it (review 10).
    await checkSignature(options.trustedKeys, head);
    if (held !== undefined) {
      options.logger.error(
        { seq: head.seq, held, submitted: head.headHash },
        'audit witness: a second, different head for a position already witnessed; refused',
      );
      throw new ApiError('witness_conflict', message('witness.conflict', { held, seq: head.seq }), {
        seq: head.seq,
        heldHash: held,
      });
    }
    const receivedAt = new Date().toISOString();
    await appendWitnessRecords(options.file, [{ type: 'checkpoint', ...head }]);
    heads.set(head.seq, head.headHash);
    return { status: 201, body: { accepted: true, seq: head.seq, headHash: head.headHash, receivedAt } };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://witness').pathname;
    try {
      if (path === LATEST_PATH && request.method === 'GET') {
        const latest = Math.max(0, ...heads.keys());
        if (latest === 0) throw new ApiError('not_found', message('witness.no_head'));
        send(response, 200, { seq: latest, headHash: heads.get(latest) });
        return;
      }
      if (path !== SUBMIT_PATH) throw new ApiError('route_not_found');
      if (request.method !== 'POST') throw new ApiError('method_not_allowed');
      if (options.bearerToken && !bearerMatches(request.headers.authorization, options.bearerToken))
        throw new ApiError('unauthenticated', message('witness.token_required'));
      if (!String(request.headers['content-type'] ?? '').startsWith('application/json'))
        throw new ApiError('unsupported_media_type', message('witness.json_only'));
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readBody(request));
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new ApiError('malformed_json');
      }
      const submission = witnessSubmissionSchema.strict().safeParse(parsed);
      if (!submission.success) throw new ApiError('validation_failed', message('witness.not_checkpoint'));
      const taking = queue.catch(() => undefined).then(() => take(submission.data));
      queue = taking;
      const result = await taking;
      send(response, result.status, result.body);
    } catch (error) {
      if (error instanceof ApiError) {
        sendProblem(response, error, path);
        return;
      }
      options.logger.error(
        { err: { message: error instanceof Error ? error.message : String(error) } },
        'audit witness: request failed',
      );
      sendProblem(response, new ApiError('internal_error'), path);
    }
  };

  const server: Server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${SUBMIT_PATH}`,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
