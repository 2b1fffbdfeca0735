/**
 * Seeding for the supervision tests: cases, deliveries and deferred materials written straight
 * into the tables with the dates a test needs (acceptance weeks ago, a clock stopped since a given
 * day, a delivery acknowledged after so many milliseconds), which the API could only produce by
 * waiting. Test code only.
 */
import { randomBytes } from 'node:crypto';
import type { CalendarService } from '../calendar/service.js';
import { loadCalendarYear } from '../calendar/store.js';
import type { Database } from '../db/client.js';
import { calendarYears, caseMaterials, cases, deliveries, subjects } from '../db/schema.js';

type CaseStatus = (typeof cases.$inferSelect)['status'];
type DeliveryStatus = (typeof deliveries.$inferSelect)['status'];

/** A name and identifier that must never appear in a supervision answer. */
export const SEEDED_APPLICANT = { name: '监督测试申请人', identifier: '110105194912310093' };

export async function seedSubject(db: Database): Promise<string> {
  const id = `sub_${randomBytes(8).toString('hex')}`;
  // Unique per subject; the check digit does not matter here.
  const identifier = `${SEEDED_APPLICANT.identifier.slice(0, 12)}${randomBytes(3).readUIntBE(0, 3).toString().padStart(6, '0').slice(0, 6)}`;
  // Stored as a gateway with data protection off stores it (the lookup is the identifier itself).
  await db.insert(subjects).values({
    id,
    kind: 'person',
    identifierType: 'resident_id',
    identifier,
    identifierLookup: identifier,
    name: SEEDED_APPLICANT.name,
    createdByClientId: 'cli_test',
  });
  return id;
}

let caseSequence = 0;

export interface SeedCase {
  subjectId: string;
  itemCode?: string;
  status: CaseStatus;
  openedAt?: Date;
  submittedAt?: Date | null;
  acceptedOn?: string | null;
  promisedDays?: number;
  dueOn?: string | null;
  pausedOn?: string | null;
  pausedWorkingDays?: number;
  completedOn?: string | null;
  /** The centre handling it (and, unless said otherwise, the one that accepted it). */
  centreCode?: string | null;
  materials?: { required?: number; handedIn?: number; reused?: number; fetched?: number; deferred?: number };
}

export async function seedCase(db: Database, input: SeedCase): Promise<{ id: string; caseNumber: string }> {
  caseSequence += 1;
  const id = `case_${randomBytes(12).toString('base64url')}`;
  const caseNumber = `OW202600${String(caseSequence).padStart(8, '0')}`;
  await db.insert(cases).values({
    id,
    caseNumber,
    itemCode: input.itemCode ?? 'real_estate_transfer',
    subjectId: input.subjectId,
    clientId: 'cli_test_window',
    status: input.status,
    openedAt: input.openedAt ?? new Date(),
    submittedAt: input.submittedAt ?? null,
    acceptedOn: input.acceptedOn ?? null,
    promisedDays: input.promisedDays ?? 5,
    dueOn: input.dueOn ?? null,
    pausedOn: input.pausedOn ?? null,
    pausedWorkingDays: input.pausedWorkingDays ?? 0,
    completedOn: input.completedOn ?? null,
    centreCode: input.centreCode ?? null,
    acceptingCentreCode: input.centreCode ?? null,
    completedAt: input.completedOn ? new Date(`${input.completedOn}T10:00:00+08:00`) : null,
    materialsRequired: input.materials?.required ?? 0,
    materialsHandedIn: input.materials?.handedIn ?? 0,
    materialsReused: input.materials?.reused ?? 0,
    materialsFetched: input.materials?.fetched ?? 0,
    materialsDeferred: input.materials?.deferred ?? 0,
  });
  return { id, caseNumber };
}

export interface SeedDelivery {
  department: string;
  status: DeliveryStatus;
  attempts?: number;
  createdAt?: Date;
  deliveredAt?: Date | null;
  deadAt?: Date | null;
  lastError?: string | null;
  departmentStatus?: string | null;
}

export async function seedDelivery(db: Database, caseId: string, input: SeedDelivery): Promise<string> {
  const id = `dlv_${randomBytes(12).toString('base64url')}`;
  await db.insert(deliveries).values({
    id,
    caseId,
    departmentCode: input.department,
    status: input.status,
    attempts: input.attempts ?? (input.status === 'pending' ? 0 : 1),
    createdAt: input.createdAt ?? new Date(),
    deliveredAt: input.deliveredAt ?? null,
    deadAt: input.deadAt ?? null,
    lastError: input.lastError ?? null,
    departmentStatus: input.departmentStatus ?? null,
  });
  return id;
}

export async function seedDeferredMaterial(
  db: Database,
  caseId: string,
  requirementCode: string,
  dueOn: string,
): Promise<void> {
  await db.insert(caseMaterials).values({ caseId, requirementCode, resolution: 'deferred', dueOn });
}

/**
 * Makes sure the calendar covers `years`: a year not loaded gets plain weeks (no holidays), so a
 * test that counts from today still runs after the shipped years.
 */
export async function ensureCalendarYears(
  db: Database,
  calendar: CalendarService,
  years: readonly number[],
): Promise<void> {
  const loaded = new Set((await db.select({ year: calendarYears.year }).from(calendarYears)).map((row) => row.year));
  for (const year of new Set(years)) {
    if (loaded.has(year)) continue;
    await loadCalendarYear(
      db,
      { year, source: 'Test fixture: plain weeks without holidays', holidays: [], adjustedWorkdays: [] },
      null,
    );
  }
  await calendar.reload();
}
