/**
 * Which message a case event becomes: the template for the event's kind (and for what is known:
 * a department's reason, where to collect the result) and its parameters in the configured
 * language. Pure: the worker reads the facts, this decides.
 */
import {
  type NotificationLanguage,
  type NotifiedEventKind,
  type TemplateId,
  formatDate,
  notifiedEventKinds,
  reasonParam,
} from './templates.js';

export function isNotifiedEventKind(kind: string): kind is NotifiedEventKind {
  return (notifiedEventKinds as readonly string[]).includes(kind);
}

/** The events whose message quotes a department's words (`refusalOf`, `supplementReason`). */
export const eventsQuotingDepartments: ReadonlySet<NotifiedEventKind> = new Set([
  'clock_stopped',
  'rejected',
  'partially_rejected',
]);

/** What the worker knows about an event when it plans its message. */
export interface EventFacts {
  kind: NotifiedEventKind;
  detail: Record<string, unknown>;
  caseNumber: string;
  /** The case's due date now (a submission's own detail names the one it set). */
  dueOn: string | null;
  item: { name: string; nameZh: string };
  /** The centre handling the case, when it has one. */
  centre: { name: string; address: string } | null;
  /** The case's deliveries: their status, their department's status and words, oldest news first. */
  deliveries: readonly {
    status: string;
    departmentStatus: string | null;
    departmentMessage: string | null;
    departmentUpdatedAt: Date | null;
  }[];
  /** The names the case holds (its applicant's and parties'): masked wherever a department's words repeat them. */
  names: readonly string[];
  /** How the case's result reaches the applicant (gateway/results); null: a case without one. */
  result?: {
    method: string;
    status?: string;
    pickupCode: string | null;
    carrier: string | null;
    trackingNumber: string | null;
  } | null;
}

export interface PlannedMessage {
  template: TemplateId;
  params: Record<string, string>;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The reason of the department that refused (the first to refuse), and whether it refused the submission itself. */
function refusalOf(facts: EventFacts): { reason: string; atSubmission: boolean } {
  const refusals = facts.deliveries
    .filter((delivery) => delivery.status === 'refused' || delivery.departmentStatus === 'rejected')
    .sort((a, b) => (a.departmentUpdatedAt?.getTime() ?? Infinity) - (b.departmentUpdatedAt?.getTime() ?? Infinity));
  const first = refusals[0];
  return { reason: reasonParam(first?.departmentMessage, facts.names), atSubmission: first?.status === 'refused' };
}

/** The words of the department waiting for the applicant (the latest to ask). */
function supplementReason(facts: EventFacts): string {
  const waiting = facts.deliveries
    .filter((delivery) => delivery.departmentStatus === 'awaiting_applicant')
    .sort((a, b) => (b.departmentUpdatedAt?.getTime() ?? 0) - (a.departmentUpdatedAt?.getTime() ?? 0));
  return reasonParam(waiting[0]?.departmentMessage, facts.names);
}

/** The message for an event, or null when there is nothing to say (a submission without a due date). */
export function planMessage(facts: EventFacts, language: NotificationLanguage): PlannedMessage | null {
  const base = { itemName: language === 'en' ? facts.item.name : facts.item.nameZh, caseNumber: facts.caseNumber };
  const withReason = (plain: TemplateId, reasoned: TemplateId, reason: string): PlannedMessage =>
    reason === '' ? { template: plain, params: base } : { template: reasoned, params: { ...base, reason } };
  switch (facts.kind) {
    case 'submitted': {
      const dueOn = text(facts.detail['dueOn']) ?? facts.dueOn;
      return dueOn === null
        ? null
        : { template: 'case_accepted', params: { ...base, dueOn: formatDate(dueOn, language) } };
    }
    case 'clock_stopped':
      return withReason('case_supplement', 'case_supplement_reason', supplementReason(facts));
    case 'completed':
      // A result collected at the window: its result_ready message says completed, with the code.
      if (facts.result?.method === 'window_pickup') return null;
      // A result that comes by courier is not collected: no address to come to.
      if (facts.result?.method === 'express') return { template: 'case_completed', params: base };
      // An electronic result issued at completion: its result_issued message says completed. One
      // still waiting for its document gets the plain completion now and result_issued later.
      if (facts.result?.method === 'electronic')
        return facts.result.status === 'issued' ? null : { template: 'case_completed', params: base };
      return facts.centre !== null && facts.centre.address.trim() !== ''
        ? {
            template: 'case_completed_pickup',
            params: { ...base, centreName: facts.centre.name, address: facts.centre.address.trim() },
          }
        : { template: 'case_completed', params: base };
    case 'rejected': {
      const refusal = refusalOf(facts);
      return refusal.atSubmission
        ? withReason('case_not_accepted', 'case_not_accepted_reason', refusal.reason)
        : withReason('case_rejected', 'case_rejected_reason', refusal.reason);
    }
    case 'partially_rejected':
      return withReason('case_partially_rejected', 'case_partially_rejected_reason', refusalOf(facts).reason);
    case 'result_ready': {
      const pickupCode = facts.result?.pickupCode ?? null;
      if (pickupCode === null) return null;
      return facts.centre !== null && facts.centre.address.trim() !== ''
        ? {
            template: 'result_ready_pickup',
            params: { ...base, pickupCode, centreName: facts.centre.name, address: facts.centre.address.trim() },
          }
        : { template: 'result_ready_pickup_window', params: { ...base, pickupCode } };
    }
    case 'result_shipped': {
      const carrier = text(facts.detail['carrier']) ?? facts.result?.carrier ?? null;
      const trackingNumber = text(facts.detail['trackingNumber']) ?? facts.result?.trackingNumber ?? null;
      return carrier === null || trackingNumber === null
        ? null
        : { template: 'result_shipped', params: { ...base, carrier, trackingNumber } };
    }
    case 'result_issued':
      return { template: 'result_issued_electronic', params: base };
  }
}
