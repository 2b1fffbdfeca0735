/**
 * The years a date or time the gateway is given may fall in: every date a person, a certificate
 * or a case carries, and far inside what PostgreSQL stores and JavaScript computes with. (A date
 * of year 0 or 9999 was answered with a 500 once: refused by the database, or by date arithmetic
 * running past year 9999.)
 */
import { z } from '@hono/zod-openapi';
import { bilingualCheck } from './field-problems.js';

export const MIN_DATE_YEAR = 1900;
export const MAX_DATE_YEAR = 2199;

/** An instant with its offset (RFC 3339), in a year MIN_DATE_YEAR–MAX_DATE_YEAR (UTC). */
export const InstantSchema = z.iso.datetime({ offset: true }).refine(
  (value) => {
    const year = new Date(value).getUTCFullYear();
    return year >= MIN_DATE_YEAR && year <= MAX_DATE_YEAR;
  },
  bilingualCheck(
    `a time in the years ${MIN_DATE_YEAR}–${MAX_DATE_YEAR}`,
    `应为 ${MIN_DATE_YEAR}–${MAX_DATE_YEAR} 年间的时间`,
  ),
);
