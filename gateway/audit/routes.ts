/**
 * Audit log API: verification of the hash chain, and reading entries (auditors).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, eq, gt } from 'drizzle-orm';
import { auditEntries } from '../db/schema.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { recordAudit } from './record.js';
import { type ChainVerification, verifyAuditChain } from './verify.js';
import { WitnessFileError } from './witness.js';
import { requestLogger } from '../platform/request-logger.js';
import {
  type AccessPurpose,
  CASE_REF_HEADER,
  OPERATOR_HEADER,
  PURPOSE_HEADER,
  type PurposeHeaders,
  PurposeHeadersSchema,
  requirePurpose,
} from '../platform/purpose.js';
import { accessContext, contextWithPurpose } from '../access/request.js';
import type { Queryable } from '../db/client.js';
import { requireTrackerRead } from './tracker-routes.js';

const ProblemSchema = z
  .object({
    kind: z.enum([
      'modified',
      'missing',
      'broken_link',
      'checkpoint_mismatch',
      'untrusted_key',
      'truncated',
      'witness_missing',
      'witness_mismatch',
    ]),
    seq: z.number().int(),
    entryId: z.string().nullable(),
    detail: z.string(),
  })
  .openapi('AuditChainProblem');

const VerificationSchema = z
  .object({
    ok: z.boolean(),
    entriesChecked: z.number().int(),
    headSeq: z.number().int(),
    headHash: z.string(),
    checkpointsChecked: z.number().int(),
    latestCheckpoint: z
      .object({ seq: z.number().int(), headHash: z.string(), kid: z.string(), createdAt: z.string() })
      .nullable(),
    pendingEntries: z.number().int(),
    firstProblem: ProblemSchema.nullable(),
    trust: z
      .object({
        signaturesChecked: z
          .boolean()
          .openapi({ description: 'Whether checkpoint signatures were checked against trusted keys' }),
        trustedKeys: z.array(z.string()).openapi({
          description:
            'RFC 7638 thumbprints of the keys checkpoints may be signed with (from files, never the database)',
        }),
        witness: z
          .object({
            recordsChecked: z.number().int(),
            latestWitnessedSeq: z.number().int().nullable(),
            problem: ProblemSchema.nullable().openapi({
              description: 'The first disagreement with the witness, even when firstProblem is an earlier one',
            }),
          })
          .nullable(),
      })
      .openapi({ description: 'What the verification relied on outside the database' }),
  })
  .openapi('AuditVerification');

const AuditEntrySchema = z
  .object({
    entryId: z.string(),
    occurredAt: z.string(),
    actorClientId: z.string(),
    actorKind: z.string(),
    operatorId: z.string().nullable(),
    centreCode: z.string().nullable().openapi({ description: 'The service centre the actor acted at' }),
    action: z.string(),
    subjectRef: z.string().nullable(),
    fields: z.array(z.string()),
    materialTypes: z.array(z.string()),
    purpose: z.string().nullable(),
    caseRef: z.string().nullable(),
    outcome: z.string(),
    requestId: z.string().nullable(),
    chainSeq: z.number().int().nullable(),
    entryHash: z.string().nullable(),
  })
  .openapi('AuditEntry');

const verifyRoute = protectedRoute({
  method: 'get',
  path: '/v1/audit/verify',
  operationId: 'verifyAuditChain',
  tags: ['audit'],
  summary: 'Verify the audit hash chain and its signed checkpoints',
  description:
    'Walks the whole chain and reports the first problem: a modified, missing, moved or inserted entry, ' +
    'a bad checkpoint or one signed by a key the gateway does not trust (checkpoint keys come from files, never the database), ' +
    'a tail cut off before the last signed checkpoint (or before `expectSeq`), or a head published to the witness ' +
    'outside the database that the database lost or changed.',
  scopes: ['audit:verify'],
  request: {
    query: z.object({
      expectSeq: z.coerce.number().int().min(1).optional().openapi({ description: 'A head position you saw earlier' }),
      expectHash: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .openapi({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
        .optional()
        .openapi({ description: 'The head hash you saw at expectSeq' }),
    }),
  },
  responses: {
    200: {
      description: 'Verification result (ok or the first problem)',
      content: { 'application/json': { schema: VerificationSchema } },
    },
    ...errorResponses(400, 401, 403, 503),
  },
});

const listEntriesRoute = protectedRoute({
  method: 'get',
  path: '/v1/audit/entries',
  operationId: 'listAuditEntries',
  tags: ['audit'],
  summary: 'Read audit entries in chain order',
  description:
    'Every read is itself on the record (`audit.read`). Filtered by `subjectRef` it is a read of that ' +
    "subject's access log: it needs a purpose (as GET /v1/subjects/{subjectId}/access-log does), the " +
    "access policy's yes, and it is on the subject's own access log (`subject.tracker.read`).",
  scopes: ['audit:read'],
  personalData: 'subject',
  request: {
    headers: PurposeHeadersSchema,
    query: z.object({
      afterSeq: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      actorClientId: z.string().max(80).optional(),
      subjectRef: z.string().max(80).optional(),
    }),
  },
  responses: {
    200: {
      description: 'Sealed entries after `afterSeq`',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(AuditEntrySchema), nextAfterSeq: z.number().int().nullable() }),
        },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

export function registerAuditRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(verifyRoute, async (c) => {
    const { expectSeq, expectHash } = c.req.valid('query');
    const { db, audit } = c.get('services');
    let result: ChainVerification;
    try {
      result = await verifyAuditChain(
        db,
        { trustedKeys: audit.trustedKeys, witness: { files: [audit.witness.file], required: false } },
        expectSeq ? { seq: expectSeq, ...(expectHash ? { hash: expectHash } : {}) } : undefined,
      );
    } catch (error) {
      if (!(error instanceof WitnessFileError)) throw error;
      // The operator's problem, not the caller's: the file's path and contents stay in the log.
      requestLogger(c).error(
        { err: { message: error.message } },
        'audit verification: the witness file cannot be read',
      );
      throw new ApiError('audit_witness_unreadable', message('audit.witness_unreadable'));
    }
    await recordAudit(db, {
      actor: c.get('principal'),
      action: 'audit.verify',
      outcome: 'allowed',
      requestId: c.get('requestId'),
    });
    return c.json(result, 200);
  });

  app.openapi(listEntriesRoute, async (c) => {
    const query = c.req.valid('query');
    const headers = c.req.valid('header');
    // One subject's entries are their access log: read as the tracker reads it. The whole chain
    // (an auditor checking the log) is on the record as a read of the log, with a purpose if sent.
    const context = query.subjectRef
      ? accessContext(c, headers)
      : contextWithPurpose(c, statedPurpose(headers, c.get('services').config.purposeCodes));
    if (query.subjectRef) await requireTrackerRead(context, query.subjectRef);
    const rows = await context.db.transaction(async (tx) => {
      await recordAudit(tx, {
        actor: context.principal,
        operatorId: context.purpose.operatorId,
        action: query.subjectRef ? 'subject.tracker.read' : 'audit.read',
        ...(query.subjectRef ? { subjectRef: query.subjectRef } : {}),
        fields: query.subjectRef ? ['access_log'] : ['audit_entries'],
        purpose: context.purpose.purpose,
        caseRef: context.purpose.caseRef,
        outcome: 'allowed',
        requestId: context.requestId,
      });
      return readEntries(tx, query);
    });
    const items = rows.map((row) => ({
      entryId: row.entryId,
      occurredAt: row.occurredAt.toISOString(),
      actorClientId: row.actorClientId,
      actorKind: row.actorKind,
      operatorId: row.operatorId,
      centreCode: row.centreCode,
      action: row.action,
      subjectRef: row.subjectRef,
      fields: row.fields,
      materialTypes: row.materialTypes,
      purpose: row.purpose,
      caseRef: row.caseRef,
      outcome: row.outcome,
      requestId: row.requestId,
      chainSeq: row.chainSeq,
      entryHash: row.entryHash,
    }));
    const last = items.at(-1);
    return c.json({ items, nextAfterSeq: items.length === query.limit && last ? last.chainSeq : null }, 200);
  });
}

/** Sealed entries after `afterSeq`, in chain order, as filtered. */
function readEntries(
  tx: Queryable,
  query: { afterSeq: number; limit: number; actorClientId?: string | undefined; subjectRef?: string | undefined },
) {
  return tx
    .select()
    .from(auditEntries)
    .where(
      and(
        gt(auditEntries.chainSeq, query.afterSeq),
        query.actorClientId ? eq(auditEntries.actorClientId, query.actorClientId) : undefined,
        query.subjectRef ? eq(auditEntries.subjectRef, query.subjectRef) : undefined,
      ),
    )
    .orderBy(asc(auditEntries.chainSeq))
    .limit(query.limit);
}

/** The purpose the headers state, checked like any other; none stated is a purpose of null. */
function statedPurpose(headers: PurposeHeaders, purposeCodes: readonly string[]): AccessPurpose {
  if (headers[PURPOSE_HEADER] !== undefined || headers[CASE_REF_HEADER] !== undefined)
    return requirePurpose(headers, purposeCodes);
  return { purpose: null, caseRef: null, operatorId: headers[OPERATOR_HEADER] ?? null };
}
