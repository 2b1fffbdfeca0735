/**
 * Reading an upload: the request body as a Node stream (raw document, or the file part of a
 * multipart form), and its first bytes for type detection before anything is stored.
 *
 * Why Node streams: on @hono/node-server the incoming request is a Node `IncomingMessage`;
 * reading it through the web `Request` (arrayBuffer or the web stream) cost 25-60 % of upload
 * throughput here. The web body is only used where there is no Node request (`app.request` in
 * tests and other runtimes).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import type { Context } from 'hono';
import { ApiError, message } from '../platform/errors.js';

function isIncomingMessage(value: unknown): value is IncomingMessage {
  return value instanceof Readable && 'headers' in value && 'method' in value;
}

/** The request body as a Node readable stream. */
export function requestBodyStream(c: Context): Readable {
  const bindings: unknown = c.env;
  if (
    typeof bindings === 'object' &&
    bindings !== null &&
    'incoming' in bindings &&
    isIncomingMessage(bindings.incoming)
  ) {
    return bindings.incoming;
  }
  const body = c.req.raw.body;
  if (!body) return Readable.from([]);
  return Readable.fromWeb(body as NodeWebReadableStream<Uint8Array>);
}

export interface PeekedBody {
  /** At least `bytes` leading bytes (fewer only when the body is shorter). */
  head: Uint8Array;
  /** The whole body again, head included, for storing. */
  body: AsyncIterable<Uint8Array>;
}

/**
 * Reads the first `bytes` bytes of `source` without losing them: they are pushed back onto the
 * stream (`unshift`), so the store reads the original stream. (Replaying them through an async
 * generator instead cost about 15 % of upload throughput for 1 MiB documents.)
 */
export async function peekHead(source: Readable, bytes: number): Promise<PeekedBody> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const chunk: unknown = source.read();
    if (chunk === null) {
      if (!(await readableOrEnded(source))) break;
      continue;
    }
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    length += buffer.byteLength;
  }
  const read = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  const head = read.subarray(0, bytes);
  // After 'end' a stream refuses unshift; the whole (short) body is then what was read.
  if (source.readableEnded) return { head, body: Readable.from(read.byteLength > 0 ? [read] : []) };
  if (read.byteLength > 0) source.unshift(read);
  return { head, body: source };
}

/** Waits until `source` has data to read (true) or has ended (false); rejects on its error. */
function readableOrEnded(source: Readable): Promise<boolean> {
  if (source.readableEnded) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const settle = (result: boolean, error?: unknown): void => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      if (error === undefined) resolve(result);
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onReadable = (): void => settle(source.readableLength > 0 || !source.readableEnded);
    const onEnd = (): void => settle(false);
    const onError = (error: unknown): void => settle(false, error);
    const onClose = (): void =>
      settle(false, source.readableEnded ? undefined : new Error('the request body was closed before its end'));
    source.on('readable', onReadable);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('close', onClose);
  });
}

export interface MultipartFile {
  /** Text fields sent before the file part. */
  fields: Map<string, string>;
  stream: Readable;
  /** The part's Content-Type (busboy reports `text/plain` when the part has none). */
  mediaType: string;
  fileName: string | undefined;
  /** Settles once the whole multipart body has been read; rejects on a malformed body. */
  finished: Promise<void>;
}

const MULTIPART_LIMITS = { files: 1, fields: 20, parts: 21, fieldSize: 4096, fieldNameSize: 100 };

/**
 * Parses a multipart/form-data body up to its file part (the field `file`). Metadata fields must
 * come before the file, because the material type decides which formats are acceptable before the
 * bytes are stored. The file stream is cut at `maxBytes + 1` bytes so the store's limit check sees
 * the excess.
 */
export function readMultipartFile(c: Context, maxBytes: number): Promise<MultipartFile> {
  const fields = new Map<string, string>();
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': c.req.header('content-type') ?? '' },
      limits: { ...MULTIPART_LIMITS, fileSize: maxBytes + 1 },
    });
  } catch (error) {
    return Promise.reject(
      new ApiError(
        'invalid_multipart',
        message('upload.multipart_header', { reason: error instanceof Error ? error.message : 'none' }),
      ),
    );
  }
  return new Promise<MultipartFile>((resolve, reject) => {
    let fileSeen = false;
    let settleFinished: { resolve: () => void; reject: (error: Error) => void } | undefined;
    const finished = new Promise<void>((resolveFinished, rejectFinished) => {
      settleFinished = { resolve: resolveFinished, reject: rejectFinished };
    });
    finished.catch(() => {}); // observed by the caller after the file is stored
    const fail = (error: Error) => {
      const problem =
        error instanceof ApiError
          ? error
          : new ApiError('invalid_multipart', message('upload.multipart_malformed', { reason: error.message }));
      if (fileSeen) settleFinished?.reject(problem);
      else reject(problem);
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) {
        fail(new ApiError('invalid_multipart', message('upload.field_too_long', { name })));
        return;
      }
      fields.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || fileSeen) {
        stream.resume();
        if (name !== 'file') fail(new ApiError('invalid_multipart', message('upload.file_field_name', { name })));
        return;
      }
      fileSeen = true;
      resolve({ fields, stream, mediaType: info.mimeType, fileName: info.filename || undefined, finished });
    });
    parser.on('partsLimit', () => fail(new ApiError('invalid_multipart', message('upload.too_many_parts'))));
    parser.on('fieldsLimit', () => fail(new ApiError('invalid_multipart', message('upload.too_many_fields'))));
    parser.on('filesLimit', () => fail(new ApiError('invalid_multipart', message('upload.one_file'))));
    parser.on('error', (error: Error) => fail(error));
    parser.on('close', () => {
      if (!fileSeen) reject(new ApiError('invalid_multipart', message('upload.no_file_part')));
      settleFinished?.resolve();
    });
    requestBodyStream(c).pipe(parser);
  });
}
