/**
 * Calendar years in the database: loading a year (replacing its days in one transaction, audited),
 * seeding the shipped years at start, and reading the calendar back.
 *
 * Every write to a year first takes a transaction-scoped advisory lock on that year, so an
 * administrator's load and the start-up seeding of several instances on one PostgreSQL run one
 * after another: the seeding that comes second sees the year and leaves it alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Database, Transaction } from '../db/client.js';
import { calendarDays, calendarYears } from '../db/schema.js';
import { ApiError } from '../platform/errors.js';
import {
  type CalendarYearExceptions,
  type DescribedWorkingCalendar,
  createWorkingCalendar,
  dateOfDayNumber,
  dayNumberOf,
  isWeekendDayNumber,
} from './calendar.js';
import { type CalendarDocument, exceptionsOf, parseCalendarDocument } from './document.js';

/** Where the calendar years shipped with the gateway live; each `*.json` file is one year. */
export const shippedCalendarDirectory = fileURLToPath(new URL('./data', import.meta.url));

async function lockYear(tx: Transaction, year: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`onewindow:calendar:${year}`}, 0))`);
}

async function writeDays(tx: Transaction, exceptions: CalendarYearExceptions): Promise<void> {
  await tx.delete(calendarDays).where(eq(calendarDays.year, exceptions.year));
  const rows = [
    ...exceptions.holidays.map((holiday) => ({
      day: holiday.day,
      year: exceptions.year,
      kind: 'holiday' as const,
      name: holiday.name,
    })),
    ...exceptions.adjustedWorkdays.map((day) => ({ day, year: exceptions.year, kind: 'workday' as const, name: null })),
  ];
  if (rows.length > 0) await tx.insert(calendarDays).values(rows);
}

export interface CalendarLoadResult {
  year: number;
  /** True when the year was loaded before and has been replaced. */
  replaced: boolean;
}

/**
 * Validates `document` (else `calendar_invalid` listing the problems) and makes it the year's
 * calendar: the year's previous days are replaced in one transaction, with an audit entry when an
 * administrator (`loadedBy`) loads it; null is the gateway seeding a shipped year.
 */
export async function loadCalendarYear(
  db: Database,
  document: unknown,
  loadedBy: Principal | null,
  options: { requestId?: string } = {},
): Promise<CalendarLoadResult> {
  const parsed = parseCalendarDocument(document);
  const exceptions = exceptionsOf(parsed);
  return db.transaction(async (tx) => {
    await lockYear(tx, parsed.year);
    const [existing] = await tx
      .select({ year: calendarYears.year })
      .from(calendarYears)
      .where(eq(calendarYears.year, parsed.year));
    const values = { source: parsed.source, loadedByClientId: loadedBy?.clientId ?? null, loadedAt: new Date() };
    await tx
      .insert(calendarYears)
      .values({ year: parsed.year, ...values })
      .onConflictDoUpdate({ target: calendarYears.year, set: values });
    await writeDays(tx, exceptions);
    if (loadedBy) {
      await recordAudit(tx, {
        actor: loadedBy,
        action: 'calendar.load',
        fields: [`calendar:${parsed.year}`],
        outcome: 'allowed',
        requestId: options.requestId ?? null,
      });
    }
    return { year: parsed.year, replaced: existing !== undefined };
  });
}

/** Reads and validates every shipped calendar file; a bad one is a release bug and stops the start. */
export function readShippedCalendars(directory: string = shippedCalendarDirectory): CalendarDocument[] {
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const path = join(directory, file);
    try {
      return parseCalendarDocument(JSON.parse(readFileSync(path, 'utf8')) as unknown);
    } catch (error) {
      const problems = error instanceof ApiError ? JSON.stringify(error.extras.errors) : String(error);
      throw new Error(`The shipped calendar ${path} is not valid: ${problems}`, { cause: error });
    }
  });
}

/**
 * Loads each shipped year that is not loaded yet; a year already there (seeded before, or loaded
 * by an administrator, perhaps with corrections) is left as it is. Idempotent, and safe when
 * several instances start at once. Returns the years it loaded.
 */
export async function seedShippedCalendars(
  db: Database,
  logger: Logger,
  directory: string = shippedCalendarDirectory,
): Promise<number[]> {
  const seeded: number[] = [];
  for (const document of readShippedCalendars(directory)) {
    const loaded = await db.transaction(async (tx) => {
      await lockYear(tx, document.year);
      const [existing] = await tx
        .select({ year: calendarYears.year })
        .from(calendarYears)
        .where(eq(calendarYears.year, document.year));
      if (existing) return false;
      await tx.insert(calendarYears).values({ year: document.year, source: document.source, loadedByClientId: null });
      await writeDays(tx, exceptionsOf(document));
      return true;
    });
    if (loaded) seeded.push(document.year);
  }
  if (seeded.length > 0) logger.info({ years: seeded }, 'loaded the shipped working-day calendar');
  return seeded;
}

/** The working calendar over every loaded year (two small queries). */
export async function readWorkingCalendar(db: Database): Promise<DescribedWorkingCalendar> {
  const years = await db.select({ year: calendarYears.year }).from(calendarYears);
  const days = await db.select().from(calendarDays);
  const byYear = new Map<
    number,
    { year: number; holidays: { day: string; name: string | null }[]; adjustedWorkdays: string[] }
  >(years.map(({ year }) => [year, { year, holidays: [], adjustedWorkdays: [] }]));
  for (const row of days) {
    const exceptions = byYear.get(row.year);
    if (!exceptions) continue;
    if (row.kind === 'holiday') exceptions.holidays.push({ day: row.day, name: row.name });
    else exceptions.adjustedWorkdays.push(row.day);
  }
  return createWorkingCalendar([...byYear.values()]);
}

export interface CalendarYearSummary {
  year: number;
  source: string;
  /** The administrator's client, or null for a year the gateway seeded from its shipped data. */
  loadedBy: string | null;
  loadedAt: string;
  workingDayCount: number;
  /** Holiday days that fall on Monday–Friday, i.e. working days taken off. */
  holidayWeekdayCount: number;
  adjustedWorkdayCount: number;
}

/** A loaded year in the document's terms (holidays as ranges of consecutive days off), with its counts. */
export interface CalendarYearView extends CalendarYearSummary {
  holidays: { name: string | null; from: string; to: string }[];
  adjustedWorkdays: string[];
}

function summarise(
  row: typeof calendarYears.$inferSelect,
  days: readonly { day: string; kind: 'holiday' | 'workday'; name: string | null }[],
): CalendarYearSummary {
  const holidays = days.filter((day) => day.kind === 'holiday');
  const adjustedWorkdays = days.filter((day) => day.kind === 'workday').map((day) => day.day);
  const calendar = createWorkingCalendar([{ year: row.year, holidays, adjustedWorkdays }]);
  return {
    year: row.year,
    source: row.source,
    loadedBy: row.loadedByClientId,
    loadedAt: row.loadedAt.toISOString(),
    workingDayCount: calendar.workingDaysBetween(`${row.year - 1}-12-31`, `${row.year}-12-31`),
    holidayWeekdayCount: holidays.filter((day) => !isWeekendDayNumber(dayNumberOf(day.day))).length,
    adjustedWorkdayCount: adjustedWorkdays.length,
  };
}

/** Loaded years, oldest first. */
export async function listCalendarYears(db: Database): Promise<CalendarYearSummary[]> {
  const years = await db.select().from(calendarYears).orderBy(asc(calendarYears.year));
  const days = await db.select().from(calendarDays);
  return years.map((row) =>
    summarise(
      row,
      days.filter((day) => day.year === row.year),
    ),
  );
}

/** One loaded year with its holidays (as ranges of consecutive days off) and adjusted workdays; undefined when not loaded. */
export async function getCalendarYear(db: Database, year: number): Promise<CalendarYearView | undefined> {
  const [row] = await db.select().from(calendarYears).where(eq(calendarYears.year, year));
  if (!row) return undefined;
  const days = await db.select().from(calendarDays).where(eq(calendarDays.year, year)).orderBy(asc(calendarDays.day));
  const holidays: CalendarYearView['holidays'] = [];
  let previousDayNumber = Number.NaN;
  for (const day of days) {
    if (day.kind !== 'holiday') continue;
    const dayNumber = dayNumberOf(day.day);
    const last = holidays.at(-1);
    if (last && last.name === day.name && dayNumber === previousDayNumber + 1) last.to = dateOfDayNumber(dayNumber);
    else holidays.push({ name: day.name, from: day.day, to: day.day });
    previousDayNumber = dayNumber;
  }
  return {
    ...summarise(row, days),
    holidays,
    adjustedWorkdays: days.filter((day) => day.kind === 'workday').map((day) => day.day),
  };
}
