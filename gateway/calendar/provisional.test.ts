import { describe, expect, it } from 'vitest';
import { createWorkingCalendar } from './calendar.js';
import { withProvisionalYears, yearsNotLoaded } from './provisional.js';

const only2026 = createWorkingCalendar([
  {
    year: 2026,
    holidays: [
      { day: '2026-10-01', name: 'National Day' },
      { day: '2026-10-02', name: 'National Day' },
    ],
    adjustedWorkdays: ['2026-10-10'],
  },
]);

describe('provisional deadlines', () => {
  it('answers from the loaded calendar wherever it can', () => {
    const calendar = withProvisionalYears(only2026);
    expect(calendar.addWorkingDays('2026-09-30', 3)).toBe(only2026.addWorkingDays('2026-09-30', 3));
    expect(calendar.provisionalYears('2026-09-30', '2026-10-10')).toEqual([]);
  });

  it('counts a year not loaded by weekdays alone, and says so', () => {
    const calendar = withProvisionalYears(only2026);
    expect(() => only2026.addWorkingDays('2026-12-30', 5)).toThrow(/2027/);
    // 12-31 (Thu), then 2027-01-01 (Fri, a holiday in reality but not known), 01-04, 01-05, 01-06.
    expect(calendar.addWorkingDays('2026-12-30', 5)).toBe('2027-01-06');
    expect(calendar.workingDaysBetween('2026-12-30', '2027-01-06')).toBe(5);
    expect(calendar.isWorkingDay('2027-01-02')).toBe(false);
    expect(calendar.provisionalYears('2026-12-30', '2027-01-06')).toEqual([2027]);
    expect(yearsNotLoaded([2026], '2025-12-01', '2027-01-01')).toEqual([2025, 2027]);
  });
});
