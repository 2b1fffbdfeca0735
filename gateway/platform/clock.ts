/**
 * The wall clock the gateway reads "today" from. Built once at start and passed in, so a test can
 * run the gateway on a fixed day (deadlines, warnings and validity are date-dependent) instead of
 * depending on the day it happens to run.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock stopped at `instant` (tests, replays). */
export function fixedClock(instant: Date | string): Clock {
  const at = new Date(instant);
  if (Number.isNaN(at.getTime())) throw new RangeError(`Not an instant: ${String(instant)}`);
  return { now: () => new Date(at.getTime()) };
}
