/**
 * Status callbacks: a department client (authenticated by its token, so the department is known
 * from the credentials, never from the body) reports the status of its part of a case. Refused
 * with their own codes: an unknown case number, a case not delivered to this department, an event
 * id already received (a replay), an event dated in the future or more than a week back, or older
 * than the last one applied. Applied in one transaction with its timeline entry and audit entry.
 */
import { and, eq } from 'drizzle-orm';
import type { DepartmentCaseStatus } from '../../adapters/sdk/types.js';
import { auditAccess, auditRefusals } from '../access/audit.js';
import type { AccessContext } from '../access/context.js';
import type { WorkingCalendar } from '../calendar/calendar.js';
import { cases, deliveries } from '../db/schema.js';
import { requireItem } from '../items/catalogue.js';
import type { BlobStore } from '../materials/blob-store.js';
import { ApiError, message } from '../platform/errors.js';
import {
  type ResultCertificateInput,
  type ResultSealing,
  departmentSealFromInput,
  receiveResultCertificate,
  resultCertificateFromInput,
} from '../results/electronic.js';
import { caseFacts } from './cases.js';
import { applyDepartmentStatus } from './status.js';

const FUTURE_TOLERANCE_MS = 5 * 60_000;
const MAX_AGE_MS = 7 * 24 * 3600_000;

export interface StatusCallback {
  caseNumber: string;
  eventId: string;
  status: DepartmentCaseStatus;
  occurredAt: string;
  message?: string;
  /** With `completed`: the result document the department issued (电子证照). */
  resultCertificate?: ResultCertificateInput;
}

export interface CallbackContext extends AccessContext {
  calendar: () => Promise<WorkingCalendar>;
  /** Where a result document's bytes go (content-addressed), before the completion's transaction. */
  blobStore: BlobStore;
  /** The resource a department shares a certificate type through: an issued result is kept under its terms. */
  sharingResourceOf: (departmentCode: string, certificateType: string) => string | null;
  /** Seals a result document the gateway keeps (GB/T 38540); absent: kept unsealed. */
  sealing?: ResultSealing;
  now?: () => Date;
}

export async function receiveStatusCallback(
  context: CallbackContext,
  callback: StatusCallback,
): Promise<{ caseNumber: string; caseStatus: string; dueOn: string | null }> {
  const department = context.principal.departmentCode;
  if (context.principal.kind !== 'department' || department === null)
    throw new ApiError('forbidden', message('callback.departments_only'));
  const now = (context.now ?? (() => new Date()))();
  const occurredAt = new Date(callback.occurredAt);
  if (occurredAt.getTime() > now.getTime() + FUTURE_TOLERANCE_MS)
    throw new ApiError('callback_stale', message('callback.dated_in_future'));
  if (occurredAt.getTime() < now.getTime() - MAX_AGE_MS)
    throw new ApiError('callback_stale', message('callback.too_old'));
  const calendar = await context.calendar();

  return auditRefusals(
    context,
    { action: 'case.status_callback', subjectId: null, caseRef: callback.caseNumber },
    async () => {
      if (callback.resultCertificate && callback.status !== 'completed') {
        throw new ApiError(
          'result_certificate_invalid',
          message('callback.result_only_on_completion', { status: callback.status }),
          { problem: 'not completed' },
        );
      }
      // Checked, then its bytes stored, before the transaction: a refused document leaves the case as it was.
      const received = callback.resultCertificate
        ? await receiveResultCertificate(
            context.blobStore,
            resultCertificateFromInput(callback.resultCertificate),
            context.sharingResourceOf(department, callback.resultCertificate.certificateType),
            context.sealing,
            departmentSealFromInput(callback.resultCertificate),
          )
        : null;
      return context.db.transaction(async (tx) => {
        const [row] = await tx.select().from(cases).where(eq(cases.caseNumber, callback.caseNumber));
        const unknown = () =>
          new ApiError(
            'callback_unknown_case',
            message('callback.unknown_case', { caseNumber: callback.caseNumber, department }),
          );
        if (!row) throw unknown();
        // A case not delivered to this department is answered like an unknown one.
        const decision = await context.access.decide(tx, 'case.report_status', {
          kind: 'case',
          case: await caseFacts(tx, row),
        });
        if (!decision.allowed) {
          // The department the gateway failed to reach hears so (it was the addressee); any other, "unknown".
          const [failed] = await tx
            .select({ lastError: deliveries.lastError })
            .from(deliveries)
            .where(
              and(
                eq(deliveries.caseId, row.id),
                eq(deliveries.departmentCode, department),
                eq(deliveries.status, 'dead'),
              ),
            );
          if (!failed) throw unknown();
          throw new ApiError(
            'callback_wrong_department',
            message('callback.delivery_failed', {
              caseNumber: row.caseNumber,
              department,
              lastError: failed.lastError ?? 'dead-lettered',
            }),
          );
        }
        const item = await requireItem(tx, row.itemCode);
        const applied = await applyDepartmentStatus(tx, context.access.protection, calendar, item.statutoryDays, {
          caseId: row.id,
          departmentCode: department,
          status: callback.status,
          occurredAt,
          message: callback.message ?? null,
          source: 'callback',
          externalEventId: callback.eventId,
          resultCertificate: received,
          requestId: context.requestId,
        });
        await auditAccess(tx, context, {
          decision,
          action: 'case.status_callback',
          subjectId: row.subjectId,
          fields: [
            `status:${callback.status}`,
            `event:${callback.eventId}`,
            ...(received ? ['result_certificate'] : []),
          ],
          caseRef: row.caseNumber,
        });
        const [updated] = await tx.select({ dueOn: cases.dueOn }).from(cases).where(eq(cases.id, row.id));
        return { caseNumber: row.caseNumber, caseStatus: applied.caseStatus, dueOn: updated?.dueOn ?? null };
      });
    },
  );
}
