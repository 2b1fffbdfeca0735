/**
 * Clients disabled by an administrator. Their tokens are refused at once on the instance that
 * disabled them and within REFRESH_MS on every other instance, instead of living on until they
 * expire. The list is small (disabled systems), held in memory and refreshed in the background.
 */
import { isNotNull } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { clients } from '../db/schema.js';

const REFRESH_MS = 10_000;

export class DisabledClients {
  private ids = new Set<string>();
  private loadedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly db: Database) {}

  async initialise(): Promise<void> {
    await this.refresh();
  }

  /** True if the client is disabled; never waits for the database. */
  has(clientId: string): boolean {
    if (Date.now() - this.loadedAt > REFRESH_MS) void this.refresh().catch(() => undefined);
    return this.ids.has(clientId);
  }

  /** Records a disable done by this instance, effective immediately. */
  add(clientId: string): void {
    this.ids.add(clientId);
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const rows = await this.db.select({ id: clients.id }).from(clients).where(isNotNull(clients.disabledAt));
        this.ids = new Set(rows.map((row) => row.id));
        this.loadedAt = Date.now();
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
