/**
 * Calendar documents for tests. The 2027 one is invented (the State Council had not published the
 * 2027 arrangement when it was written); it must never be shipped as data.
 */
import { readFileSync } from 'node:fs';
import type { CalendarDocument } from './document.js';

export function shipped2026(): CalendarDocument {
  return JSON.parse(readFileSync(new URL('./data/cn-calendar-2026.json', import.meta.url), 'utf8')) as CalendarDocument;
}

export function invented2027(): CalendarDocument {
  return {
    year: 2027,
    source: 'Test fixture: an invented 2027 arrangement, not the official one',
    holidays: [
      { name: "New Year's Day", from: '2027-01-01', to: '2027-01-03' },
      { name: 'Spring Festival', from: '2027-02-06', to: '2027-02-14' },
    ],
    adjustedWorkdays: ['2027-02-20'],
  };
}
