/**
 * The upload pipeline: check what can be checked before reading (subject, type, dates,
 * superseded material), read the first bytes and check the real type, stream the rest into the
 * content store (size limit and digest checked while reading), then record the material. When a
 * step fails nothing is kept: the store writes nothing for a refused stream, and content stored
 * for a material that could not be recorded is removed again unless another material uses it.
 */
import type { Readable } from 'node:stream';
import type { Context } from 'hono';
import type { AccessContext } from '../access/context.js';
import type { AppEnv } from '../platform/context.js';
import { ContentDigestSyntaxError, parseContentDigest } from '../platform/content-digest.js';
import { ApiError, errorForLog, message } from '../platform/errors.js';
import { fieldProblemsOf } from '../platform/field-problems.js';
import {
  BLOB_HEAD_BYTES,
  BlobDigestMismatchError,
  type BlobStore,
  BlobTooLargeError,
  type PutResult,
} from './blob-store.js';
import { detectMediaType, normaliseDeclaredMediaType } from './media-type.js';
import {
  type MaterialView,
  insertMaterial,
  isContentReferenced,
  lockContent,
  planMaterial,
  type PlannedMaterial,
  provenanceOf,
} from './materials.js';
import { type UploadMetadata, UploadMetadataSchema } from './schemas.js';
import { peekHead, readMultipartFile, requestBodyStream } from './upload-body.js';
import { requestLogger } from '../platform/request-logger.js';

export type { UploadMetadata };

/** Content-Type values that mean "the client does not say": the detected type is used. */
const UNDECLARED = new Set(['application/octet-stream', 'binary/octet-stream']);

interface UploadSource {
  metadata: UploadMetadata;
  stream: Readable;
  declaredMediaType: string | undefined;
  fileName: string | undefined;
  expectedSha256: string | undefined;
  /** Multipart only: settles when the rest of the form has been read. */
  finished: Promise<void> | undefined;
}

function parseMetadata(values: Record<string, string | undefined>): UploadMetadata {
  const result = UploadMetadataSchema.safeParse(values);
  if (!result.success) {
    throw new ApiError('validation_failed', message('upload.fields_invalid'), {
      errors: fieldProblemsOf(result.error.issues),
    });
  }
  return result.data;
}

function expectedFromContentDigest(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let parsed: ReturnType<typeof parseContentDigest>;
  try {
    parsed = parseContentDigest(header);
  } catch (error) {
    if (error instanceof ContentDigestSyntaxError)
      throw new ApiError('invalid_content_digest', message('upload.content_digest_invalid', { reason: error.message }));
    throw error;
  }
  if (!parsed.sha256) {
    throw new ApiError(
      'unsupported_digest_algorithm',
      message('upload.digest_algorithm', { algorithms: parsed.algorithms.join(', ') }),
      {
        algorithms: parsed.algorithms,
      },
    );
  }
  return Buffer.from(parsed.sha256).toString('hex');
}

async function openSource(
  c: Context<AppEnv>,
  query: Record<string, string | undefined>,
  maxBytes: number,
): Promise<UploadSource> {
  const contentType = c.req.header('content-type');
  if (contentType?.toLowerCase().startsWith('multipart/form-data')) {
    const part = await readMultipartFile(c, maxBytes);
    const values: Record<string, string | undefined> = { ...query };
    for (const [name, value] of part.fields) if (name in UploadMetadataSchema.shape) values[name] = value;
    // The file part's own name stands in for a missing `fileName` field under the same rules (review 22).
    if (values['fileName'] === undefined && part.fileName) values['fileName'] = part.fileName;
    const metadata = parseMetadata(values);
    return {
      metadata,
      stream: part.stream,
      declaredMediaType: normaliseDeclaredMediaType(part.mediaType),
      fileName: metadata.fileName,
      expectedSha256: metadata.sha256?.toLowerCase(),
      finished: part.finished,
    };
  }
  const declaredMediaType = normaliseDeclaredMediaType(contentType);
  if (declaredMediaType === undefined) {
    throw new ApiError('unsupported_media_type', message('upload.content_type_required'));
  }
  const metadata = parseMetadata(query);
  // Refuse at once what announces itself as too large, before reading a byte.
  const length = Number(c.req.header('content-length'));
  if (Number.isFinite(length) && length > maxBytes) throw tooLarge(maxBytes);
  return {
    metadata,
    stream: requestBodyStream(c),
    declaredMediaType,
    fileName: metadata.fileName,
    expectedSha256: expectedFromContentDigest(c.req.header('content-digest')) ?? metadata.sha256?.toLowerCase(),
    finished: undefined,
  };
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    'payload_too_large',
    message('upload.too_large', { maxBytes }),
    { maxBytes },
    { headers: { Connection: 'close' } },
  );
}

/** The detected type, when it is a document the material type allows and the one declared. */
function checkMediaType(head: Uint8Array, declared: string | undefined, plan: PlannedMaterial): string {
  const detected = detectMediaType(head);
  const allowed = plan.type.allowedMediaTypes;
  const extras = {
    detectedMediaType: detected?.mediaType ?? null,
    declaredMediaType: declared ?? null,
    allowedMediaTypes: allowed,
  };
  if (!detected?.document) {
    throw new ApiError(
      'material_type_mismatch',
      message('upload.format_not_allowed', {
        detected: detected ? detected.mediaType : 'none',
        allowed: allowed.join(', '),
      }),
      extras,
    );
  }
  if (declared !== undefined && !UNDECLARED.has(declared) && declared !== detected.mediaType) {
    throw new ApiError(
      'material_type_mismatch',
      message('upload.format_not_declared', { detected: detected.mediaType, declared }),
      extras,
    );
  }
  if (!allowed.includes(detected.mediaType)) {
    throw new ApiError(
      'material_type_mismatch',
      message('upload.format_not_for_type', {
        typeCode: plan.type.code,
        allowed: allowed.join(', '),
        detected: detected.mediaType,
      }),
      extras,
    );
  }
  return detected.mediaType;
}

async function store(
  blobStore: BlobStore,
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  expectedSha256: string | undefined,
): Promise<PutResult> {
  try {
    return await blobStore.put(body, expectedSha256 === undefined ? { maxBytes } : { maxBytes, expectedSha256 });
  } catch (error) {
    if (error instanceof BlobTooLargeError) throw tooLarge(maxBytes);
    if (error instanceof BlobDigestMismatchError) {
      throw new ApiError('digest_mismatch', message('upload.digest_mismatch'), {
        expectedSha256: error.expectedSha256,
      });
    }
    throw error;
  }
}

/** Removes content this upload stored, unless a material (of anyone) references it by now. */
async function removeIfUnreferenced(context: AccessContext, blobStore: BlobStore, sha256: string): Promise<void> {
  await context.db.transaction(async (tx) => {
    await lockContent(tx, sha256);
    if (!(await isContentReferenced(tx, sha256))) await blobStore.delete(sha256, tx);
  });
}

/**
 * A refused upload usually leaves part of the body unread. The answer then closes the connection:
 * reading on just to drain the body could mean reading a gigabyte, and what is left unread cannot
 * be mistaken for the next request.
 */
function closeConnectionAfter(error: unknown): void {
  if (error instanceof ApiError) error.headers.Connection = 'close';
}

export async function uploadMaterial(
  c: Context<AppEnv>,
  context: AccessContext,
  subjectId: string,
  query: Record<string, string | undefined>,
): Promise<MaterialView> {
  const { blobStore, config } = c.get('services');
  const maxBytes = config.materials.uploadMaxBytes;
  let source: UploadSource | undefined;
  let stored: PutResult | undefined;
  try {
    source = await openSource(c, query, maxBytes);
    const provenance = provenanceOf(context.principal, source.metadata.typeCode, (department, type) =>
      c.get('services').departments.sharingResourceOf(department, type),
    );
    const plan = await planMaterial(context, subjectId, source.metadata, provenance);
    const { head, body } = await peekHead(source.stream, BLOB_HEAD_BYTES);
    const mediaType = checkMediaType(head, source.declaredMediaType, plan);
    stored = await store(blobStore, body, maxBytes, source.expectedSha256);
    await source.finished;
    return await insertMaterial(
      context,
      subjectId,
      { ...source.metadata, fileName: source.fileName },
      plan,
      { sha256: stored.sha256, sm3: stored.sm3, size: stored.size, mediaType },
      provenance,
    );
  } catch (error) {
    closeConnectionAfter(error);
    if (stored?.created)
      await removeIfUnreferenced(context, blobStore, stored.sha256).catch((cleanupError: unknown) => {
        requestLogger(c).error(
          { err: errorForLog(cleanupError), sha256: stored?.sha256 },
          'removing the content of a failed upload failed',
        );
      });
    throw error;
  }
}
