/**
 * The working-day calendar as pure logic: weekends, the 2026 holidays and adjusted workdays
 * (National Day, Spring Festival), the turn into a year that is not loaded, the calendar document
 * validator, and properties checked against a day-by-day count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../platform/errors.js';
import {
  type DescribedWorkingCalendar,
  type WorkingCalendar,
  createWorkingCalendar,
  dateOfDayNumber,
  dayNumberOf,
} from './calendar.js';
import { type CalendarDocument, exceptionsOf, parseCalendarDocument } from './document.js';
import { invented2027, shipped2026 } from './test-fixtures.js';

const calendarOf = (...documents: CalendarDocument[]): DescribedWorkingCalendar =>
  createWorkingCalendar(documents.map((document) => exceptionsOf(parseCalendarDocument(document))));

const calendar2026 = calendarOf(shipped2026());

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function problemsOf(document: unknown): { path: string; message: string }[] {
  const error = thrown(() => parseCalendarDocument(document));
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect(apiError.code).toBe('calendar_invalid');
  expect(apiError.status).toBe(422);
  return apiError.extras.errors as { path: string; message: string }[];
}

describe('weekends and ordinary weeks', () => {
  it('counts Monday to Friday and skips Saturday and Sunday', () => {
    expect(calendar2026.isWorkingDay('2026-03-06')).toBe(true); // Friday
    expect(calendar2026.isWorkingDay('2026-03-07')).toBe(false); // Saturday
    expect(calendar2026.isWorkingDay('2026-03-08')).toBe(false); // Sunday
    expect(calendar2026.addWorkingDays('2026-03-06', 1)).toBe('2026-03-09');
    expect(calendar2026.addWorkingDays('2026-03-07', 1)).toBe('2026-03-09');
    expect(calendar2026.addWorkingDays('2026-03-02', 5)).toBe('2026-03-09');
    expect(calendar2026.addWorkingDays('2026-03-02', 20)).toBe('2026-03-30');
    expect(calendar2026.workingDaysBetween('2026-03-06', '2026-03-09')).toBe(1);
    expect(calendar2026.describe('2026-03-07')).toEqual({
      day: '2026-03-07',
      kind: 'weekend',
      working: false,
      name: null,
    });
  });

  it('does not count the acceptance day; zero days is the acceptance day itself', () => {
    expect(calendar2026.addWorkingDays('2026-03-04', 1)).toBe('2026-03-05');
    expect(calendar2026.addWorkingDays('2026-03-04', 0)).toBe('2026-03-04');
    expect(calendar2026.addWorkingDays('2026-03-07', 0)).toBe('2026-03-07');
    expect(calendar2026.workingDaysBetween('2026-03-04', '2026-03-04')).toBe(0);
    expect(calendar2026.workingDaysBetween('2026-03-09', '2026-03-04')).toBe(0);
  });

  it('has 248 working days in 2026: 261 weekdays, 19 of them holidays, 6 adjusted workdays', () => {
    expect(calendar2026.workingDaysBetween('2025-12-31', '2026-12-31')).toBe(248);
    expect(calendar2026.years).toEqual([2026]);
  });

  it('refuses malformed dates and day counts', () => {
    expect(() => calendar2026.isWorkingDay('2026-02-30')).toThrow(RangeError);
    expect(() => calendar2026.addWorkingDays('26-10-01', 1)).toThrow(RangeError);
    expect(() => calendar2026.addWorkingDays('2026-10-01', -1)).toThrow(RangeError);
    expect(() => calendar2026.addWorkingDays('2026-10-01', 1.5)).toThrow(RangeError);
  });
});

describe('National Day 2026', () => {
  it('accepted on 2026-09-30, 3 working days fall due on Saturday 2026-10-10, an adjusted workday', () => {
    expect(calendar2026.addWorkingDays('2026-09-30', 3)).toBe('2026-10-10');
    expect(calendar2026.workingDaysBetween('2026-09-30', '2026-10-10')).toBe(3);
    expect(calendar2026.describe('2026-10-10')).toEqual({
      day: '2026-10-10',
      kind: 'adjusted_workday',
      working: true,
      name: null,
    });
  });

  it('takes 1 to 7 October off, weekend days inside the holiday included, and works Sunday 20 September', () => {
    for (let day = 1; day <= 7; day += 1) {
      const date = `2026-10-0${day}`;
      expect(calendar2026.isWorkingDay(date), date).toBe(false);
      expect(calendar2026.describe(date).name).toBe('National Day');
    }
    expect(calendar2026.isWorkingDay('2026-10-08')).toBe(true);
    expect(calendar2026.isWorkingDay('2026-09-20')).toBe(true);
    expect(calendar2026.addWorkingDays('2026-09-30', 1)).toBe('2026-10-08');
    expect(calendar2026.addWorkingDays('2026-09-24', 1)).toBe('2026-09-28'); // Mid-Autumn 25–27 September
  });
});

describe('Spring Festival 2026', () => {
  it('works Saturdays 14 and 28 February and takes 15 to 23 February off', () => {
    expect(calendar2026.isWorkingDay('2026-02-14')).toBe(true);
    expect(calendar2026.isWorkingDay('2026-02-28')).toBe(true);
    expect(calendar2026.isWorkingDay('2026-02-15')).toBe(false);
    expect(calendar2026.isWorkingDay('2026-02-23')).toBe(false);
    expect(calendar2026.addWorkingDays('2026-02-12', 1)).toBe('2026-02-13');
    expect(calendar2026.addWorkingDays('2026-02-12', 2)).toBe('2026-02-14');
    expect(calendar2026.addWorkingDays('2026-02-12', 3)).toBe('2026-02-24');
    expect(calendar2026.addWorkingDays('2026-02-12', 7)).toBe('2026-02-28');
    expect(calendar2026.addWorkingDays('2026-02-12', 8)).toBe('2026-03-02');
    expect(calendar2026.workingDaysBetween('2026-02-13', '2026-02-27')).toBe(5); // 14th, then 24th–27th
  });

  it('counts across New Year: 4 January (Sunday) is worked, 1–3 January off', () => {
    expect(calendar2026.addWorkingDays('2025-12-31', 1)).toBe('2026-01-04');
    expect(calendar2026.addWorkingDays('2026-01-04', 1)).toBe('2026-01-05');
  });
});

describe('years that are not loaded', () => {
  it('refuses a deadline that runs into 2027 with calendar_year_missing naming 2027 (503)', () => {
    expect(calendar2026.addWorkingDays('2026-12-30', 1)).toBe('2026-12-31');
    for (const action of [
      () => calendar2026.addWorkingDays('2026-12-31', 1),
      () => calendar2026.addWorkingDays('2026-12-01', 30),
      () => calendar2026.workingDaysBetween('2026-12-01', '2027-01-05'),
      () => calendar2026.isWorkingDay('2027-01-04'),
      () => calendar2026.isWorkingDay('2025-12-31'),
    ]) {
      const error = thrown(action) as ApiError;
      expect(error).toBeInstanceOf(ApiError);
      expect(error.code).toBe('calendar_year_missing');
      expect(error.status).toBe(503);
      expect(error.extras.year).toBeTypeOf('number');
      expect(error.message).toMatch(/cannot compute a legal deadline/);
    }
    expect((thrown(() => calendar2026.addWorkingDays('2026-12-31', 1)) as ApiError).message).toMatch(
      /calendar for 2027 is not loaded/,
    );
  });

  it('works once a 2027 document is loaded', () => {
    const calendar = calendarOf(shipped2026(), invented2027());
    expect(calendar.years).toEqual([2026, 2027]);
    expect(calendar.addWorkingDays('2026-12-31', 1)).toBe('2027-01-04');
    expect(calendar.workingDaysBetween('2026-12-01', '2027-01-05')).toBe(22 + 2); // 2–31 December, then 4–5 January
    expect(calendar.addWorkingDays('2027-02-05', 1)).toBe('2027-02-15');
    expect(calendar.isWorkingDay('2027-02-20')).toBe(true);
  });

  it('does not need the year for the acceptance day alone, nor for an empty range', () => {
    expect(calendar2026.addWorkingDays('2030-05-05', 0)).toBe('2030-05-05');
    expect(calendar2026.workingDaysBetween('2030-05-05', '2030-05-01')).toBe(0);
  });
});

describe('properties', () => {
  const calendar: WorkingCalendar = calendarOf(shipped2026(), invented2027());
  const first2026 = dayNumberOf('2026-01-01');
  const last2027 = dayNumberOf('2027-12-31');
  /** Any day of 2026, and a count small enough to stay inside 2027. */
  const acceptance = fc.integer({ min: 0, max: 364 }).map((offset) => dateOfDayNumber(first2026 + offset));
  const days = fc.integer({ min: 0, max: 200 });

  /** The obvious, slow count the fast one must agree with. */
  function addOneByOne(from: string, count: number): string {
    let dayNumber = dayNumberOf(from);
    for (let found = 0; found < count && dayNumber < last2027; ) {
      dayNumber += 1;
      if (calendar.isWorkingDay(dateOfDayNumber(dayNumber))) found += 1;
    }
    return dateOfDayNumber(dayNumber);
  }

  it('addWorkingDays lands on a working day after `from`, and workingDaysBetween gives the count back', () => {
    fc.assert(
      fc.property(acceptance, days, (from, count) => {
        const due = calendar.addWorkingDays(from, count);
        if (count === 0) return due === from;
        return due > from && calendar.isWorkingDay(due) && calendar.workingDaysBetween(from, due) === count;
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with counting day by day', () => {
    fc.assert(
      fc.property(acceptance, days, (from, count) => calendar.addWorkingDays(from, count) === addOneByOne(from, count)),
      { numRuns: 200 },
    );
  });

  it('workingDaysBetween adds up over any split point', () => {
    fc.assert(
      fc.property(acceptance, fc.integer({ min: 0, max: 180 }), fc.integer({ min: 0, max: 180 }), (from, a, b) => {
        const middle = dateOfDayNumber(dayNumberOf(from) + a);
        const to = dateOfDayNumber(dayNumberOf(middle) + b);
        return (
          calendar.workingDaysBetween(from, to) ===
          calendar.workingDaysBetween(from, middle) + calendar.workingDaysBetween(middle, to)
        );
      }),
    );
  });
});

describe('calendar documents', () => {
  it('accepts the shipped 2026 calendar', () => {
    const document = parseCalendarDocument(shipped2026());
    expect(document.year).toBe(2026);
    const exceptions = exceptionsOf(document);
    expect(exceptions.holidays).toHaveLength(3 + 9 + 3 + 5 + 3 + 3 + 7);
    expect(exceptions.adjustedWorkdays).toHaveLength(6);
  });

  it('accepts a New Year holiday that runs over the weekend days of the year before', () => {
    // As announced for 2023: 31 December 2022 (a Saturday) to 2 January 2023.
    const document = {
      year: 2023,
      source: 'test',
      holidays: [{ name: "New Year's Day", from: '2022-12-31', to: '2023-01-02' }],
      adjustedWorkdays: [],
    };
    const exceptions = exceptionsOf(parseCalendarDocument(document));
    expect(exceptions.holidays.map((holiday) => holiday.day)).toEqual(['2023-01-01', '2023-01-02']);
  });

  it('lists every problem of a bad document at once', () => {
    const document = {
      year: 2026,
      source: 'test',
      holidays: [
        { name: 'Backwards', from: '2026-10-07', to: '2026-10-01' },
        { name: 'Too long', from: '2026-07-01', to: '2026-08-31' },
        { name: 'First', from: '2026-05-01', to: '2026-05-05' },
        { name: 'Overlapping', from: '2026-05-04', to: '2026-05-06' },
        { name: 'Across the year', from: '2026-12-31', to: '2027-01-01' },
        { name: 'Not a date', from: '2026-02-30', to: '2026-03-01' },
        { name: 'Elsewhere', from: '2025-12-27', to: '2025-12-28' },
      ],
      adjustedWorkdays: ['2026-05-09', '2026-05-09', '2026-05-06', '2026-05-02', '2027-01-09', 'soon'],
    };
    const problems = problemsOf(document);
    const at = (path: string) => problems.filter((problem) => problem.path === path).map((problem) => problem.message);
    expect(at('holidays.0.to')).toEqual([expect.stringMatching(/ends \(2026-10-01\) before it begins/)]);
    expect(at('holidays.1')).toEqual([expect.stringMatching(/runs 62 days.*at most 31 days/)]);
    expect(at('holidays.3')).toEqual([expect.stringMatching(/overlaps "First" \(holidays.2\) on 2026-05-04/)]);
    expect(at('holidays.4')).toEqual([expect.stringMatching(/includes 2027-01-01, outside 2026/)]);
    expect(at('holidays.5.from')).toEqual([expect.stringMatching(/"2026-02-30" is not a calendar date/)]);
    expect(at('holidays.6')).toEqual([expect.stringMatching(/lies entirely outside 2026/)]);
    expect(at('adjustedWorkdays.1')).toEqual([expect.stringMatching(/listed twice \(also adjustedWorkdays.0\)/)]);
    expect(at('adjustedWorkdays.2')).toEqual([
      expect.stringMatching(/2026-05-06 is a Wednesday, a working day anyway/),
      expect.stringMatching(/also a day off of "Overlapping" \(holidays.3\)/),
    ]);
    expect(at('adjustedWorkdays.3')).toEqual([
      expect.stringMatching(/2026-05-02 is also a day off of "First" \(holidays.2\)/),
    ]);
    expect(at('adjustedWorkdays.4')).toEqual([
      expect.stringMatching(/2027-01-09 is in 2027, not 2026: add it to the 2027 calendar/),
    ]);
    expect(at('adjustedWorkdays.5')).toEqual([expect.stringMatching(/"soon" is not a calendar date/)]);
    expect(problems).toHaveLength(12);
  });

  it('refuses unknown members, a missing source and an impossible year', () => {
    const problems = problemsOf({ year: 1999.5, holidays: [], adjustedWorkday: ['2026-02-14'] });
    const paths = problems.map((problem) => problem.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['(root)', 'year', 'source', 'adjustedWorkdays']));
    expect(problems.find((problem) => problem.path === '(root)')?.message).toMatch(/adjustedWorkday/);
  });

  it('refuses something that is not a document at all', () => {
    expect(problemsOf('2026')).toEqual([
      { path: '(root)', message: expect.any(String), messageZh: expect.stringMatching(/^无效输入：期望 object/) },
    ]);
    expect(problemsOf(null)).toHaveLength(1);
  });
});
