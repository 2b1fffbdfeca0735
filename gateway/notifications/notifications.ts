/**
 * Service functions over the notification outbox: a case's notifications for whoever may read the
 * case, the dead letters for operations, and requeueing one. Numbers are masked in every view.
 */
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { auditAccess, auditRefusal } from '../access/audit.js';
import { type AccessContext, refusal, withPurpose } from '../access/context.js';
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import { caseFacts } from '../cases/cases.js';
import type { Database } from '../db/client.js';
import { caseEvents, cases, notifications } from '../db/schema.js';
import { ApiError, message } from '../platform/errors.js';
import { maskIdentifiersInNote } from '../platform/identifier-masking.js';
import { maskMobile } from './mobile.js';

export type NotificationRow = typeof notifications.$inferSelect;

export interface NotificationView {
  id: string;
  caseId: string;
  caseNumber: string;
  about: string;
  template: string;
  templateCode: string;
  language: string;
  mobile: string;
  status: NotificationRow['status'];
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  messageId: string | null;
  sentAt: string | null;
  receipt: { code: string | null; at: string | null } | null;
  createdAt: string;
}

export function notificationView(row: NotificationRow, caseNumber: string): NotificationView {
  return {
    id: row.id,
    caseId: row.caseId,
    caseNumber,
    about: row.eventKind,
    template: row.template,
    templateCode: row.templateCode,
    language: row.language,
    mobile: maskMobile(row.mobile),
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    // An SMS provider's error may quote the number or the text sent: masked as a department's error is.
    lastError: maskIdentifiersInNote(row.lastError),
    messageId: row.bizId,
    sentAt: row.sentAt?.toISOString() ?? null,
    receipt:
      row.receiptCode === null && row.receiptAt === null
        ? null
        : { code: row.receiptCode, at: row.receiptAt?.toISOString() ?? null },
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * The notifications of a case, oldest first, for whoever may read the case (the same rule and the
 * same 404 as the case itself); the read is audited, a refusal with the case's subject.
 */
export async function caseNotifications(context: AccessContext, caseId: string): Promise<NotificationView[]> {
  let refusedCase: { subjectId: string; caseNumber: string } | null = null;
  try {
    return await context.db.transaction(async (tx) => {
      const [row] = await tx.select().from(cases).where(eq(cases.id, caseId));
      if (!row) throw new ApiError('not_found', message('case.not_found'));
      const caseContext = withPurpose(context, { ...context.purpose, caseRef: row.caseNumber });
      const facts = await caseFacts(tx, row);
      const decision = await caseContext.access.decide(tx, 'case.read', { kind: 'case', case: facts });
      if (!decision.allowed) {
        refusedCase = row;
        throw decision.reason === 'not_visible'
          ? new ApiError('not_found', message('case.not_found'))
          : refusal(decision, { kind: 'case', case: facts });
      }
      const rows = await tx
        .select()
        .from(notifications)
        .where(eq(notifications.caseId, caseId))
        .orderBy(asc(notifications.eventId));
      await auditAccess(tx, caseContext, {
        decision,
        action: 'case.notifications',
        subjectId: row.subjectId,
        fields: ['notifications', 'contact.mobile:masked'],
      });
      return rows.map((notification) => notificationView(notification, row.caseNumber));
    });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      const refused = refusedCase as { subjectId: string; caseNumber: string } | null;
      await auditRefusal(context, {
        action: 'case.notifications',
        subjectId: refused?.subjectId ?? null,
        caseRef: refused?.caseNumber ?? context.purpose.caseRef,
        outcome: error.status === 404 ? 'not_found' : 'denied',
        fields: [`refused:${error.code}`],
      });
    }
    throw error;
  }
}

/** Notifications in one status across all cases, newest first (operations: dead letters, a backlog). */
export async function listNotifications(
  db: Database,
  query: { status: NotificationRow['status']; limit: number },
): Promise<NotificationView[]> {
  const rows = await db
    .select({ notification: notifications, caseNumber: cases.caseNumber })
    .from(notifications)
    .innerJoin(cases, eq(cases.id, notifications.caseId))
    .where(eq(notifications.status, query.status))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(query.limit);
  return rows.map((row) => notificationView(row.notification, row.caseNumber));
}

/**
 * Puts a dead-lettered notification back in the queue with a fresh set of attempts (after whatever
 * made the platform refuse it was fixed: a template approved, the account topped up). The same id,
 * and so the same outId, is used again. Recorded on the case's timeline and in the audit log.
 */
export async function requeueDeadNotification(
  db: Database,
  input: { principal: Principal; requestId: string; notificationId: string },
): Promise<NotificationView> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ notification: notifications, caseNumber: cases.caseNumber })
      .from(notifications)
      .innerJoin(cases, eq(cases.id, notifications.caseId))
      .where(eq(notifications.id, input.notificationId))
      .for('update', { of: notifications });
    if (!found)
      throw new ApiError('not_found', message('notification.not_found', { notificationId: input.notificationId }));
    if (found.notification.status !== 'dead') {
      throw new ApiError(
        'conflict',
        message('notification.requeue_not_dead', {
          notificationId: input.notificationId,
          status: found.notification.status,
        }),
        { notificationStatus: found.notification.status },
      );
    }
    const [requeued] = await tx
      .update(notifications)
      .set({
        status: 'pending',
        attempts: 0,
        nextAttemptAt: sql`now()`,
        deadAt: null,
        leaseOwner: null,
        leaseUntil: null,
      })
      .where(and(eq(notifications.id, input.notificationId), eq(notifications.status, 'dead')))
      .returning();
    if (!requeued)
      throw new ApiError('not_found', message('notification.not_found', { notificationId: input.notificationId }));
    await tx.insert(caseEvents).values({
      caseId: requeued.caseId,
      kind: 'notification_requeued',
      detail: {
        notificationId: requeued.id,
        template: requeued.template,
        previousAttempts: found.notification.attempts,
        lastError: maskIdentifiersInNote(found.notification.lastError),
        byClientId: input.principal.clientId,
      },
    });
    await recordAudit(tx, {
      actor: input.principal,
      action: 'notification.requeue',
      fields: [`notification:${requeued.id}`],
      caseRef: found.caseNumber,
      outcome: 'allowed',
      requestId: input.requestId,
    });
    return notificationView(requeued, found.caseNumber);
  });
}
