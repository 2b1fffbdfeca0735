/**
 * Deadline warnings on a controlled "today" and the shipped 2026 calendar: the share of promised
 * working days used, across the National Day holiday and its adjusted workday; a stopped clock;
 * items promised on the day; the configured share; and the warnings the database selects
 * (only unfinished accepted cases, deferred materials past due, no personal data), checked day by
 * day against a count over every seeded case.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkingCalendar, dayNumberOf, dateOfDayNumber } from '../calendar/calendar.js';
import { exceptionsOf, parseCalendarDocument } from '../calendar/document.js';
import { shipped2026 } from '../calendar/test-fixtures.js';
import { ConfigError, parseConfig } from '../config.js';
import { cases } from '../db/schema.js';
import { createTestGateway, type TestGateway } from '../../test/harness.js';
import { SEEDED_APPLICANT, seedCase, seedDeferredMaterial, seedDelivery, seedSubject } from './test-fixtures.js';
import { type CaseClock, deadlinePosition, supervisionWarnings, warningLevelOf } from './warnings.js';

const calendar = createWorkingCalendar([exceptionsOf(parseCalendarDocument(shipped2026()))]);

const nationalDayCase: CaseClock = {
  acceptedOn: '2026-09-28',
  promisedDays: 5,
  dueOn: calendar.addWorkingDays('2026-09-28', 5),
  pausedOn: null,
  pausedWorkingDays: 0,
};

function levelOn(clock: CaseClock, today: string, share = 0.8) {
  const position = deadlinePosition(calendar, clock, today);
  return { ...position, level: warningLevelOf(position, share) };
}

describe('the share of promised working days used', () => {
  it('counts across the 2026 National Day holiday: accepted 2026-09-28 with 5 promised days, due 2026-10-10', () => {
    expect(nationalDayCase.dueOn).toBe('2026-10-10');
    expect(levelOn(nationalDayCase, '2026-09-28')).toMatchObject({
      workingDaysUsed: 0,
      shareUsed: 0,
      workingDaysLeft: 5,
      overdue: false,
      level: null,
    });
    expect(levelOn(nationalDayCase, '2026-09-30')).toMatchObject({
      workingDaysUsed: 2,
      workingDaysLeft: 3,
      level: null,
    });
    // The holiday uses no time.
    expect(levelOn(nationalDayCase, '2026-10-05')).toMatchObject({
      workingDaysUsed: 2,
      workingDaysLeft: 3,
      level: null,
    });
    expect(levelOn(nationalDayCase, '2026-10-08')).toMatchObject({
      workingDaysUsed: 3,
      shareUsed: 0.6,
      workingDaysLeft: 2,
      level: null,
    });
    expect(levelOn(nationalDayCase, '2026-10-09')).toMatchObject({
      workingDaysUsed: 4,
      shareUsed: 0.8,
      workingDaysLeft: 1,
      level: 'approaching',
    });
    // Saturday 10 October is an adjusted workday, the fifth and last.
    expect(levelOn(nationalDayCase, '2026-10-10')).toMatchObject({
      workingDaysUsed: 5,
      shareUsed: 1,
      workingDaysLeft: 0,
      overdue: false,
      level: 'approaching',
    });
    // Sunday: no working day has passed, but the due date has.
    expect(levelOn(nationalDayCase, '2026-10-11')).toMatchObject({
      workingDaysUsed: 5,
      workingDaysLeft: 0,
      overdue: true,
      level: 'overdue',
    });
    expect(levelOn(nationalDayCase, '2026-10-12')).toMatchObject({
      workingDaysUsed: 6,
      shareUsed: 1.2,
      workingDaysLeft: -1,
      level: 'overdue',
    });
  });

  it('warns at the configured share', () => {
    expect(levelOn(nationalDayCase, '2026-10-08', 0.5).level).toBe('approaching');
    expect(levelOn(nationalDayCase, '2026-10-09', 0.9).level).toBeNull();
    expect(levelOn(nationalDayCase, '2026-10-10', 1).level).toBe('approaching');
    // 7 of 10 is 0.7 even though 0.7 × 10 is 7.000000000000001 in floating point.
    const tenDays: CaseClock = {
      acceptedOn: '2026-03-02',
      promisedDays: 10,
      dueOn: calendar.addWorkingDays('2026-03-02', 10),
      pausedOn: null,
      pausedWorkingDays: 0,
    };
    expect(levelOn(tenDays, '2026-03-11', 0.7)).toMatchObject({ workingDaysUsed: 7, level: 'approaching' });
  });

  it('does not advance a stopped clock: a case awaiting the applicant is read on the day it stopped', () => {
    const stopped: CaseClock = { ...nationalDayCase, pausedOn: '2026-09-30' };
    expect(levelOn(stopped, '2026-10-12')).toMatchObject({
      clockDay: '2026-09-30',
      workingDaysUsed: 2,
      workingDaysLeft: 3,
      overdue: false,
      level: null,
    });
    expect(levelOn(stopped, '2026-12-31').level).toBeNull();
    // Restarted on 2026-10-09: it stood for 2 working days (8 and 9 October), which moved the due date.
    const restarted: CaseClock = {
      ...nationalDayCase,
      pausedWorkingDays: 2,
      dueOn: calendar.addWorkingDays('2026-09-28', 7),
    };
    expect(restarted.dueOn).toBe('2026-10-13');
    expect(levelOn(restarted, '2026-10-12')).toMatchObject({
      workingDaysUsed: 4,
      shareUsed: 0.8,
      workingDaysLeft: 1,
      level: 'approaching',
    });
    expect(levelOn(restarted, '2026-10-14')).toMatchObject({ workingDaysLeft: -1, level: 'overdue' });
    // A case already overdue when its clock stopped stays overdue, by the days it was over then.
    const lateThenStopped: CaseClock = { ...nationalDayCase, pausedOn: '2026-10-13' };
    expect(levelOn(lateThenStopped, '2026-11-02')).toMatchObject({
      clockDay: '2026-10-13',
      workingDaysLeft: -2,
      level: 'overdue',
    });
  });

  it('treats an item promised on the day as fully used at once', () => {
    const immediate: CaseClock = {
      acceptedOn: '2026-10-09',
      promisedDays: 0,
      dueOn: '2026-10-09',
      pausedOn: null,
      pausedWorkingDays: 0,
    };
    expect(levelOn(immediate, '2026-10-09')).toMatchObject({ shareUsed: 1, workingDaysLeft: 0, level: 'approaching' });
    expect(levelOn(immediate, '2026-10-10')).toMatchObject({ workingDaysLeft: -1, level: 'overdue' });
  });
});

describe('SUPERVISION_WARNING_SHARE', () => {
  it('defaults to 0.8 and accepts a share in (0, 1]', () => {
    expect(parseConfig({}).supervision.warningShare).toBe(0.8);
    expect(parseConfig({ SUPERVISION_WARNING_SHARE: '0.5' }).supervision.warningShare).toBe(0.5);
    expect(parseConfig({ SUPERVISION_WARNING_SHARE: '1' }).supervision.warningShare).toBe(1);
    for (const bad of ['0', '1.5', '-0.2', 'most']) {
      expect(() => parseConfig({ SUPERVISION_WARNING_SHARE: bad }), bad).toThrow(ConfigError);
    }
  });
});

describe('the warnings the database selects', () => {
  let gw: TestGateway;
  let subjectId: string;
  const seeded: { caseNumber: string; status: string; clock: CaseClock | null }[] = [];
  const numbers: Record<string, string> = {};

  async function addCase(name: string, input: Omit<Parameters<typeof seedCase>[1], 'subjectId'>): Promise<string> {
    const { id, caseNumber } = await seedCase(gw.services.db, { subjectId, ...input });
    numbers[name] = caseNumber;
    const clock =
      input.acceptedOn && input.dueOn
        ? {
            acceptedOn: input.acceptedOn,
            promisedDays: input.promisedDays ?? 5,
            dueOn: input.dueOn,
            pausedOn: input.pausedOn ?? null,
            pausedWorkingDays: input.pausedWorkingDays ?? 0,
          }
        : null;
    seeded.push({ caseNumber, status: input.status, clock });
    return id;
  }

  beforeAll(async () => {
    gw = await createTestGateway({ DELIVERY_WORKER: 'false' });
    subjectId = await seedSubject(gw.services.db);
    const db = gw.services.db;
    const due = (acceptedOn: string, days: number, paused = 0) => calendar.addWorkingDays(acceptedOn, days + paused);

    const nationalDay = await addCase('nationalDay', {
      status: 'in_progress',
      acceptedOn: '2026-09-28',
      promisedDays: 5,
      dueOn: due('2026-09-28', 5),
    });
    await seedDelivery(db, nationalDay, { department: 'NRB', status: 'delivered', departmentStatus: 'in_progress' });
    await seedDelivery(db, nationalDay, { department: 'PSB', status: 'pending' });
    await addCase('lateSubmitted', {
      status: 'submitted',
      acceptedOn: '2026-09-14',
      promisedDays: 5,
      dueOn: due('2026-09-14', 5),
    });
    await addCase('stopped', {
      status: 'awaiting_applicant',
      acceptedOn: '2026-09-14',
      promisedDays: 5,
      dueOn: due('2026-09-14', 5),
      pausedOn: '2026-09-16',
    });
    await addCase('restarted', {
      status: 'in_progress',
      acceptedOn: '2026-09-28',
      promisedDays: 5,
      dueOn: due('2026-09-28', 5, 2),
      pausedWorkingDays: 2,
    });
    await addCase('longItem', {
      itemCode: 'household_move_in',
      status: 'submitted',
      acceptedOn: '2026-10-09',
      promisedDays: 20,
      dueOn: due('2026-10-09', 20),
    });
    await addCase('immediate', {
      itemCode: 'business_licence_reissue',
      status: 'submitted',
      acceptedOn: '2026-10-12',
      promisedDays: 0,
      dueOn: '2026-10-12',
    });
    // Finished, not accepted, or rejected: never warned about.
    const completedLate = await addCase('completedLate', {
      status: 'completed',
      acceptedOn: '2026-09-01',
      promisedDays: 5,
      dueOn: due('2026-09-01', 5),
      completedOn: '2026-10-20',
    });
    await addCase('rejected', {
      status: 'rejected',
      acceptedOn: '2026-09-01',
      promisedDays: 5,
      dueOn: due('2026-09-01', 5),
      completedOn: '2026-09-03',
    });
    await addCase('open', { status: 'open' });

    await seedDeferredMaterial(db, nationalDay, 'tax', '2026-10-09');
    await seedDeferredMaterial(db, nationalDay, 'marital_status', '2026-10-20');
    await seedDeferredMaterial(db, completedLate, 'tax', '2026-09-08');
    const rejectedId = (
      await seedCase(db, {
        subjectId,
        status: 'rejected',
        acceptedOn: '2026-09-01',
        dueOn: '2026-09-08',
        completedOn: '2026-09-02',
      })
    ).id;
    await seedDeferredMaterial(db, rejectedId, 'tax', '2026-09-03');
  });

  afterAll(async () => gw?.close());

  it('lists overdue cases first, then those approaching, with their departments and nothing personal', async () => {
    const warnings = await supervisionWarnings(gw.services.db, calendar, { today: '2026-10-12', warningShare: 0.8 });
    expect(warnings.cases.map((warning) => [warning.caseNumber, warning.level, warning.workingDaysLeft])).toEqual([
      // Due Sunday 2026-09-20 (an adjusted workday); 11 working days since, across two holidays.
      [numbers['lateSubmitted'], 'overdue', -11],
      [numbers['nationalDay'], 'overdue', -1],
      [numbers['immediate'], 'approaching', 0],
      [numbers['restarted'], 'approaching', 1],
    ]);
    expect(warnings.counts).toEqual({
      overdue: 2,
      approaching: 2,
      deferredMaterialsOverdue: 2,
      cancellationsByHand: 0,
      ratingFollowUpsOverdue: 0,
    });
    expect(warnings.provisionalYears).toEqual([]);
    const nationalDay = warnings.cases.find((warning) => warning.caseNumber === numbers['nationalDay']);
    expect(nationalDay).toMatchObject({
      kind: 'case_deadline',
      itemCode: 'real_estate_transfer',
      status: 'in_progress',
      acceptedOn: '2026-09-28',
      dueOn: '2026-10-10',
      workingDaysUsed: 6,
      shareUsed: 1.2,
      clockStopped: false,
      provisional: false,
      departments: [
        { code: 'NRB', delivery: 'delivered', departmentStatus: 'in_progress' },
        { code: 'PSB', delivery: 'pending', departmentStatus: null },
      ],
    });
    expect(
      warnings.deferredMaterials.map((warning) => [
        warning.caseNumber,
        warning.requirementCode,
        warning.dueOn,
        warning.workingDaysOver,
      ]),
    ).toEqual([
      [numbers['completedLate'], 'tax', '2026-09-08', 20],
      [numbers['nationalDay'], 'tax', '2026-10-09', 2],
    ]);
    expect(warnings.deferredMaterials[1]?.requirementName).toBe('Deed tax payment certificate');
    const text = JSON.stringify(warnings);
    expect(text).not.toContain(subjectId);
    expect(text).not.toContain(SEEDED_APPLICANT.name);
  });

  it('counts days of a year whose holidays are not loaded by weekday alone, and says the warning is provisional', async () => {
    // Accepted 2026-12-28 with 5 promised days: 29, 30, 31 December, Friday 1 January (a holiday
    // once 2027 is loaded, a weekday until then) and Monday 4 January.
    const acceptedOn = '2026-12-28';
    const { caseNumber } = await seedCase(gw.services.db, {
      subjectId,
      status: 'submitted',
      acceptedOn,
      promisedDays: 5,
      dueOn: '2027-01-04',
    });
    const onDueDate = await supervisionWarnings(gw.services.db, calendar, { today: '2027-01-04', warningShare: 0.8 });
    expect(onDueDate.cases.find((warning) => warning.caseNumber === caseNumber)).toMatchObject({
      level: 'approaching',
      workingDaysUsed: 5,
      workingDaysLeft: 0,
      provisional: true,
    });
    expect(onDueDate.provisionalYears).toEqual([2027]);
    const after = await supervisionWarnings(gw.services.db, calendar, { today: '2027-01-06', warningShare: 0.8 });
    expect(after.cases.find((warning) => warning.caseNumber === caseNumber)).toMatchObject({
      level: 'overdue',
      workingDaysLeft: -2,
      provisional: true,
    });
    // A case due in 2026 is counted provisionally too once its days over run into 2027; in December it is not.
    expect(after.cases.find((warning) => warning.caseNumber === numbers['lateSubmitted'])?.provisional).toBe(true);
    const inDecember = await supervisionWarnings(gw.services.db, calendar, { today: '2026-12-31', warningShare: 0.5 });
    expect(inDecember.cases.find((warning) => warning.caseNumber === caseNumber)).toMatchObject({
      workingDaysUsed: 3,
      provisional: true,
    });
    expect(inDecember.cases.find((warning) => warning.caseNumber === numbers['lateSubmitted'])?.provisional).toBe(
      false,
    );
    await gw.services.db.delete(cases).where(eq(cases.caseNumber, caseNumber));
  });

  it('selects exactly the cases a count over every case warns about, on every day from September to November', async () => {
    const first = dayNumberOf('2026-09-14');
    for (let day = first; day <= dayNumberOf('2026-11-15'); day += 1) {
      const today = dateOfDayNumber(day);
      const warnings = await supervisionWarnings(gw.services.db, calendar, { today, warningShare: 0.8 });
      const expected = seeded
        // Cases accepted by then (the sweep runs through days before some were accepted).
        .filter(
          (entry) =>
            entry.clock !== null &&
            entry.clock.acceptedOn <= today &&
            ['submitted', 'in_progress', 'awaiting_applicant'].includes(entry.status),
        )
        .flatMap((entry) => {
          const level = warningLevelOf(deadlinePosition(calendar, entry.clock as CaseClock, today), 0.8);
          return level ? [`${entry.caseNumber}:${level}`] : [];
        })
        .sort();
      expect(warnings.cases.map((warning) => `${warning.caseNumber}:${warning.level}`).sort(), today).toEqual(expected);
    }
  });
});
