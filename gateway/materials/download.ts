/**
 * Downloading a material's document: the stored media type, always as an attachment and with
 * `nosniff` (a browser must never render an uploaded file inline as HTML), a strong ETag from the
 * SHA-256, conditional requests (RFC 9110 §13) and single byte ranges (§14). Every download,
 * including a 304, is an audited access.
 *
 * The blob store checks what it reads against the digest (blob-integrity.ts). A document known to
 * be corrupt is answered `503 content_corrupted` (GET, HEAD and ranges alike); one found corrupt
 * while its 200 streams is cut off before its last bytes and the connection reset, so the client
 * sees a failed transfer, never a complete body. A 304 is still answered: it tells the client that
 * the copy it holds, which matched the digest, is current.
 */
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { AccessContext } from '../access/context.js';
import type { AppEnv } from '../platform/context.js';
import { formatContentDigest } from '../platform/content-digest.js';
import { ApiError, message } from '../platform/errors.js';
import { contentRangeHeader, decideRange, unsatisfiedRangeHeader } from '../platform/http-range.js';
import {
  type ConditionalRequestHeaders,
  evaluatePreconditions,
  ifRangeAllowsPartial,
  strongEtagForDigest,
} from '../platform/preconditions.js';
import { BlobCorruptError, type BlobStore, type ByteRange } from './blob-store.js';
import { type AlsoOnRecord, type MaterialRow, materialFileName, readMaterial } from './materials.js';

const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'application/ofd': 'ofd',
  'image/jpeg': 'jpg',
  'image/png': 'png',
};

/** RFC 6266 attachment with an ASCII fallback name and the real name in RFC 8187 encoding. */
export function attachmentDisposition(
  row: Pick<MaterialRow, 'id' | 'fileName' | 'mediaType'>,
  names: readonly string[] = [],
): string {
  const fallback = `${row.id}.${EXTENSIONS[row.mediaType] ?? 'bin'}`;
  // Masked as the material's view masks it: headers end up in proxy logs and download histories.
  const fileName = materialFileName(row, names);
  if (!fileName) return `attachment; filename="${fallback}"`;
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

function conditionalHeaders(c: Context<AppEnv>): ConditionalRequestHeaders {
  const headers: ConditionalRequestHeaders = {};
  const ifMatch = c.req.header('if-match');
  const ifNoneMatch = c.req.header('if-none-match');
  const ifModifiedSince = c.req.header('if-modified-since');
  const ifUnmodifiedSince = c.req.header('if-unmodified-since');
  if (ifMatch !== undefined) headers.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) headers.ifNoneMatch = ifNoneMatch;
  if (ifModifiedSince !== undefined) headers.ifModifiedSince = ifModifiedSince;
  if (ifUnmodifiedSince !== undefined) headers.ifUnmodifiedSince = ifUnmodifiedSince;
  return headers;
}

const corrupted = (): ApiError => new ApiError('content_corrupted', message('material.content_corrupted'));

const missing = (logger: Logger, row: Pick<MaterialRow, 'id' | 'contentSha256'>): ApiError => {
  logger.error(
    { materialId: row.id, sha256: row.contentSha256 },
    'the content of a material is missing from the blob store',
  );
  return new ApiError('internal_error', message('material.content_missing'));
};

/** Whether the content can be served, for HEAD: the same status as a GET would have. */
async function checkContentServable(
  blobStore: BlobStore,
  logger: Logger,
  row: Pick<MaterialRow, 'id' | 'contentSha256'>,
): Promise<void> {
  const stored = await blobStore.stat(row.contentSha256);
  if (!stored) throw missing(logger, row);
  if (stored.quarantined) throw corrupted();
}

/** The stored bytes (checked while they stream), or the error the client gets instead. */
async function openContent(
  blobStore: BlobStore,
  logger: Logger,
  row: Pick<MaterialRow, 'id' | 'contentSha256'>,
  range: ByteRange | undefined,
): Promise<AsyncIterable<Uint8Array>> {
  let content: AsyncIterable<Uint8Array> | null;
  try {
    content = await blobStore.get(row.contentSha256, range);
  } catch (error) {
    if (error instanceof BlobCorruptError) throw corrupted();
    throw error;
  }
  if (!content) throw missing(logger, row);
  return content;
}

export async function downloadMaterial(
  c: Context<AppEnv>,
  context: AccessContext,
  subjectId: string,
  materialId: string,
  alsoOnRecord?: AlsoOnRecord,
): Promise<Response> {
  const { row, names } = await readMaterial(context, subjectId, materialId, 'material.download', alsoOnRecord);
  const { blobStore, logger } = c.get('services');
  const etag = strongEtagForDigest(row.contentSha256);
  const lastModified = row.createdAt;
  const size = row.contentSize;
  const headers = new Headers({
    ETag: etag,
    'Last-Modified': lastModified.toUTCString(),
    // Personal data: no shared caches; the client revalidates (and so is audited) every time.
    'Cache-Control': 'private, no-cache',
    'Accept-Ranges': 'bytes',
    'Repr-Digest': formatContentDigest(row.contentSha256),
  });

  const precondition = evaluatePreconditions({
    method: c.req.method,
    etag,
    lastModified,
    headers: conditionalHeaders(c),
  });
  if (precondition === 'precondition_failed')
    throw new ApiError('precondition_failed', message('material.precondition_failed'), {}, { headers: { ETag: etag } });
  if (precondition === 'not_modified') return new Response(null, { status: 304, headers });

  const range = ifRangeAllowsPartial(c.req.header('if-range'), etag, lastModified)
    ? decideRange(c.req.header('range'), size)
    : { kind: 'full' as const };
  if (range.kind === 'unsatisfiable') {
    throw new ApiError(
      'range_not_satisfiable',
      message('material.range_not_satisfiable', { size }),
      { size },
      { headers: { 'Content-Range': unsatisfiedRangeHeader(size) } },
    );
  }
  headers.set('Content-Type', row.mediaType);
  headers.set('Content-Disposition', attachmentDisposition(row, names));
  headers.set('X-Content-Type-Options', 'nosniff');
  const partial = range.kind === 'partial';
  if (partial) headers.set('Content-Range', contentRangeHeader(range, size));
  else headers.set('Content-Digest', formatContentDigest(row.contentSha256));
  headers.set('Content-Length', String(partial ? range.end - range.start + 1 : size));
  const status = partial ? 206 : 200;
  if (c.req.method === 'HEAD') {
    await checkContentServable(blobStore, logger, row);
    return new Response(null, { status, headers });
  }

  const content = await openContent(
    blobStore,
    logger,
    row,
    partial ? { start: range.start, end: range.end } : undefined,
  );
  // A read that finds the bytes corrupt errors this stream; the server then resets the connection.
  const body = Readable.toWeb(Readable.from(content)) as ReadableStream<Uint8Array>;
  return new Response(body, { status, headers });
}
