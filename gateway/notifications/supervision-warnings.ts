/**
 * Supervision warnings by SMS (督办提醒): each department part of an accepted, unfinished case that
 * is approaching its due date or overdue is told to the department's chief representative at the
 * case's centre (centres/representatives.ts), once per case, department and level. The Xi'an
 * centre sent about 1,500 such messages a year so that cases finished on time.
 *
 * The levels are the supervision API's own (supervision/warnings.ts, same computation, `today`
 * given), so a warning on the phone is always one a supervisor sees too. Messages go into the
 * applicants' outbox (`notifications`, recipient kind `representative`) and are sent, rate-limited,
 * retried and dead-lettered by the same worker. Each is keyed `case id:department:level`
 * (`warning_key`, unique): however many passes and workers look, a level is queued once.
 *
 * A centre without a representative for the department gets no message: the warning stays on the
 * supervision API (which then says `representative: null`). Nothing about the applicant is sent.
 */
import { eq, inArray } from 'drizzle-orm';
import type { WorkingCalendar } from '../calendar/calendar.js';
import type { Queryable } from '../db/client.js';
import { cases, centreRepresentatives, items, notifications } from '../db/schema.js';
import { type WarningDepartment, type WarningLevel, supervisionWarnings } from '../supervision/warnings.js';
import { type NotificationLanguage, SUPERVISION_WARNING, type TemplateId, formatDate } from './templates.js';

export interface SupervisionWarningPass {
  /** China Standard Time date the warnings are computed for. */
  today: string;
  /** SUPERVISION_WARNING_SHARE: share of the promised working days at which a case is approaching. */
  warningShare: number;
  language: NotificationLanguage;
  /** The platform's code of every template, in the configured language. */
  templateCodes: Record<TemplateId, string>;
  /** The outbox row id (`ntf_…`, the platform's outId). */
  newId: () => string;
}

/** A department's part that is still the department's to finish: not refused, withdrawn, decided or waiting on the applicant. */
export function departmentPartOpen(department: WarningDepartment): boolean {
  if (department.delivery === 'refused' || department.delivery === 'cancelled') return false;
  return (
    department.departmentStatus !== 'completed' &&
    department.departmentStatus !== 'rejected' &&
    department.departmentStatus !== 'awaiting_applicant'
  );
}

export function warningKeyOf(caseId: string, department: string, level: WarningLevel): string {
  return `${caseId}:${department}:${level}`;
}

/**
 * Queues the warnings due on `today` that were not queued before. Returns how many it queued.
 * Safe to run concurrently: the unique warning key lets one insert win.
 */
export async function queueSupervisionWarnings(
  db: Queryable,
  calendar: WorkingCalendar,
  pass: SupervisionWarningPass,
): Promise<{ queued: { template: TemplateId }[] }> {
  const warnings = await supervisionWarnings(db, calendar, { today: pass.today, warningShare: pass.warningShare });
  const open = warnings.cases.filter((warning) => warning.departments.some(departmentPartOpen));
  if (open.length === 0) return { queued: [] };
  const caseRows = await db
    .select({
      id: cases.id,
      caseNumber: cases.caseNumber,
      centreCode: cases.centreCode,
      itemName: items.name,
      itemNameZh: items.nameZh,
    })
    .from(cases)
    .innerJoin(items, eq(items.code, cases.itemCode))
    .where(
      inArray(
        cases.caseNumber,
        open.map((warning) => warning.caseNumber),
      ),
    );
  const caseByNumber = new Map(caseRows.map((row) => [row.caseNumber, row]));
  const centreCodes = [...new Set(caseRows.flatMap((row) => (row.centreCode === null ? [] : [row.centreCode])))];
  if (centreCodes.length === 0) return { queued: [] };
  const representatives = await db
    .select()
    .from(centreRepresentatives)
    .where(inArray(centreRepresentatives.centreCode, centreCodes));
  const representativeOf = new Map(representatives.map((row) => [`${row.centreCode}:${row.departmentCode}`, row]));

  const rows: (typeof notifications.$inferInsert)[] = [];
  for (const warning of open) {
    const found = caseByNumber.get(warning.caseNumber);
    if (!found || found.centreCode === null) continue;
    // Overdue only by days off (due on a Friday, a Saturday today) is told on the first working day
    // past the due date: nobody acts on it before, and the message can say how many days it is over.
    if (warning.level === 'overdue' && warning.workingDaysLeft > -1) continue;
    for (const department of warning.departments.filter(departmentPartOpen)) {
      const representative = representativeOf.get(`${found.centreCode}:${department.code}`);
      if (!representative) continue;
      const template: TemplateId = warning.level === 'overdue' ? 'supervision_overdue' : 'supervision_approaching';
      const params: Record<string, string> = {
        itemName: pass.language === 'en' ? found.itemName : found.itemNameZh,
        caseNumber: warning.caseNumber,
        dueOn: formatDate(warning.dueOn, pass.language),
        ...(warning.level === 'overdue' ? { days: String(-warning.workingDaysLeft) } : {}),
      };
      rows.push({
        id: pass.newId(),
        caseId: found.id,
        eventId: null,
        eventKind: SUPERVISION_WARNING,
        recipientKind: 'representative',
        warningKey: warningKeyOf(found.id, department.code, warning.level),
        warning: { department: department.code, level: warning.level, name: representative.name },
        mobile: representative.mobile,
        template,
        templateCode: pass.templateCodes[template],
        language: pass.language,
        params,
      });
    }
  }
  if (rows.length === 0) return { queued: [] };
  const queued = await db
    .insert(notifications)
    .values(rows)
    .onConflictDoNothing({ target: notifications.warningKey })
    .returning({ template: notifications.template });
  return { queued: queued.map((row) => ({ template: row.template as TemplateId })) };
}
