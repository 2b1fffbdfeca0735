/**
 * The calendar as the rest of the gateway uses it: `current()` answers from memory, so computing a
 * deadline costs no database round trip. The copy is re-read right after this instance loads a
 * year, and otherwise when it is older than the refresh interval (60 s), so a year an
 * administrator loaded through another instance is used here within a minute. If that re-read
 * fails (database briefly away), the copy in hand is kept: calendars change a few times a year.
 */
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { Database } from '../db/client.js';
import { errorForLog } from '../platform/errors.js';
import { type DescribedProvisionalCalendar, withProvisionalYears } from './provisional.js';
import { type CalendarLoadResult, loadCalendarYear, readWorkingCalendar } from './store.js';

export const CALENDAR_REFRESH_INTERVAL_MS = 60_000;

export interface CalendarServiceOptions {
  /** How old the in-memory copy may get before `current()` re-reads it (default 60 s). */
  refreshIntervalMs?: number;
  /** The clock, in milliseconds; tests pass their own. */
  now?: () => number;
}

export class CalendarService {
  private cached: { calendar: DescribedProvisionalCalendar; readAt: number } | undefined;
  private reading: Promise<DescribedProvisionalCalendar> | undefined;
  private readonly refreshIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    options: CalendarServiceOptions = {},
  ) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? CALENDAR_REFRESH_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The working calendar over every loaded year; days of a year not loaded count by the weekday
   * rule and are reported provisional, never refused (see provisional.ts). Once read, it is answered from memory at once;
   * a copy past the refresh interval is re-read in the background. Never waiting for that read
   * matters: callers may hold a pooled connection in a transaction, and with every connection so
   * held, a read waiting for a free one would never finish.
   */
  async current(): Promise<DescribedProvisionalCalendar> {
    const cached = this.cached;
    if (!cached) return this.reload();
    if (this.now() - cached.readAt >= this.refreshIntervalMs && !this.reading) {
      // Try again only after another interval if this read fails (database briefly away).
      cached.readAt = this.now();
      this.reload().catch((error: unknown) => {
        this.logger.warn(
          { err: errorForLog(error) },
          'refreshing the working-day calendar failed; using the copy in memory',
        );
      });
    }
    return cached.calendar;
  }

  /** Re-reads the calendar now; concurrent callers share one read. */
  reload(): Promise<DescribedProvisionalCalendar> {
    this.reading ??= readWorkingCalendar(this.db)
      .then((loaded) => {
        const calendar = withProvisionalYears(loaded);
        this.cached = { calendar, readAt: this.now() };
        return calendar;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  /** Loads a year (see `loadCalendarYear`) and uses it on this instance at once. */
  async load(
    document: unknown,
    loadedBy: Principal,
    options: { requestId?: string } = {},
  ): Promise<CalendarLoadResult> {
    const result = await loadCalendarYear(this.db, document, loadedBy, options);
    // A read that started before the load committed would not see it: let it finish, then read again.
    await this.reading?.catch(() => undefined);
    await this.reload();
    return result;
  }
}
