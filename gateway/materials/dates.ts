/**
 * Calendar dates of materials (validity periods, "valid on date D"). Dates are plain
 * `YYYY-MM-DD` strings in China Standard Time (UTC+8, no daylight saving), the time zone every
 * certificate's dates are written in, so answers do not depend on the server's time zone.
 */
import { MAX_DATE_YEAR, MIN_DATE_YEAR } from '../platform/time-range.js';

const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Today's date in China Standard Time. */
export function chinaToday(now: Date = new Date()): string {
  return new Date(now.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 10);
}

/** `date` plus `days` calendar days. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** True for a real calendar date written `YYYY-MM-DD` (rejects 2026-02-30), of a year 1900–2199. */
export function isCalendarDate(value: string): boolean {
  const year = Number(value.slice(0, 4));
  return isRealDate(value) && year >= MIN_DATE_YEAR && year <= MAX_DATE_YEAR;
}

/** True for a real date written `YYYY-MM-DD` of any year; for a caller that names its own range. */
export function isRealDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const time = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(time) && new Date(time).toISOString().startsWith(value);
}
