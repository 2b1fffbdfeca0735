/**
 * Department call figures that survive a restart: every finished call (to a department system, the
 * SMS channel or the courier) is counted per department, China Standard Time day and outcome in
 * `department_call_days`. The call path only adds to a Map; a timer writes what accumulated in one
 * batched upsert a second, so a call never waits for the database and a busy second costs one
 * statement. Readers flush first (`flush`), so what they read includes every call finished so far;
 * closing flushes what is left. A crash loses at most the last second's counts.
 */
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { DepartmentMetricsRecorder } from '../../adapters/sdk/metrics.js';
import { type Queryable, reportRows } from '../db/client.js';
import { chinaToday } from '../materials/dates.js';

interface Pending {
  department: string;
  day: string;
  outcome: string;
  calls: number;
  lastAt: Date;
}

export interface DepartmentCallLedgerOptions {
  db: Queryable;
  /** The clock that dates each call (tests stop it). */
  now: () => Date;
  logger: Logger;
  /** How often accumulated counts are written; default 1 s. 0: only on flush (tests). */
  flushIntervalMs?: number;
}

export class DepartmentCallLedger {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  /** The write in progress: flushes run one after another, never two upserts of the same rows at once. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: DepartmentCallLedgerOptions) {
    const interval = options.flushIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.flush().catch((error: unknown) =>
          options.logger.warn({ err: error }, 'department call figures not written; kept for the next flush'),
        );
      }, interval);
      // The figures never keep the process alive.
      this.timer.unref();
    }
  }

  /** Counts one finished call; `outcome` is `ok` or a DepartmentError kind. */
  record(department: string, outcome: string): void {
    const at = this.options.now();
    const day = chinaToday(at);
    const key = `${department}\u0000${day}\u0000${outcome}`;
    const entry = this.pending.get(key);
    if (entry) {
      entry.calls += 1;
      if (at > entry.lastAt) entry.lastAt = at;
    } else this.pending.set(key, { department, day, outcome, calls: 1, lastAt: at });
  }

  /** Writes the counts accumulated so far; resolves once they are in the database. */
  flush(): Promise<void> {
    const next = this.writing.then(() => this.write());
    // A failed write does not block the ones after it (its counts were put back).
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const rows = sql.join(
      batch.map(
        (entry) =>
          sql`(${entry.department}, ${entry.day}::date, ${entry.outcome}, ${entry.calls}::bigint, ${entry.lastAt.toISOString()}::timestamptz)`,
      ),
      sql`, `,
    );
    try {
      await reportRows(
        this.options.db,
        sql`
          insert into department_call_days (department_code, day, outcome, calls, last_at)
          values ${rows}
          on conflict (department_code, day, outcome)
          do update set calls = department_call_days.calls + excluded.calls,
                        last_at = greatest(department_call_days.last_at, excluded.last_at)`,
      );
    } catch (error) {
      // Put the counts back, added to whatever arrived meanwhile, for the next flush.
      for (const entry of batch) {
        const key = `${entry.department}\u0000${entry.day}\u0000${entry.outcome}`;
        const current = this.pending.get(key);
        if (current) {
          current.calls += entry.calls;
          if (entry.lastAt > current.lastAt) current.lastAt = entry.lastAt;
        } else this.pending.set(key, entry);
      }
      throw error;
    }
  }

  /** Stops the timer and writes what is left (a failure is logged: shutting down goes on). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush().catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'department call figures of the last second lost at shutdown'),
    );
  }
}

/** The recorder the departments report to, with every call also counted in the ledger. */
export function withCallLedger(
  metrics: DepartmentMetricsRecorder,
  ledger: DepartmentCallLedger,
): DepartmentMetricsRecorder {
  return {
    observeCall(department, operation, outcome, seconds) {
      metrics.observeCall(department, operation, outcome, seconds);
      ledger.record(department, outcome);
    },
    observeAttempt: (department, operation, outcome, attempt) =>
      metrics.observeAttempt(department, operation, outcome, attempt),
    observeResult: (department, capability, outcome) => metrics.observeResult(department, capability, outcome),
    setBreakerState: (department, state) => metrics.setBreakerState(department, state),
    countContractViolation: (department, resourceCode, operation) =>
      metrics.countContractViolation(department, resourceCode, operation),
    snapshot: (department) => metrics.snapshot(department),
    snapshots: () => metrics.snapshots(),
  };
}

export interface DepartmentCallFigures {
  department: string;
  calls: number;
  errors: number;
  errorsByKind: Record<string, number>;
  /** The latest failed call of the period. */
  lastError: { kind: string; at: string } | null;
}

/** The calls of each department over days `from`..`to` (China Standard Time, both included), from the database. */
export async function departmentCallFigures(
  db: Queryable,
  period: { from: string; to: string },
): Promise<Map<string, DepartmentCallFigures>> {
  const rows = await reportRows<{ department_code: string; outcome: string; calls: unknown; last_at: Date | string }>(
    db,
    sql`
      select department_code, outcome, sum(calls)::bigint as calls, max(last_at) as last_at
        from department_call_days
       where day between ${period.from}::date and ${period.to}::date
       group by department_code, outcome`,
  );
  const figures = new Map<string, DepartmentCallFigures>();
  for (const row of rows) {
    let entry = figures.get(row.department_code);
    if (!entry) {
      entry = { department: row.department_code, calls: 0, errors: 0, errorsByKind: {}, lastError: null };
      figures.set(row.department_code, entry);
    }
    const calls = Number(row.calls);
    entry.calls += calls;
    if (row.outcome === 'ok') continue;
    entry.errors += calls;
    entry.errorsByKind[row.outcome] = calls;
    const at = new Date(row.last_at).toISOString();
    if (entry.lastError === null || at > entry.lastError.at) entry.lastError = { kind: row.outcome, at };
  }
  return figures;
}
