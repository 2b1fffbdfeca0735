/**
 * A throw-away PostgreSQL database per benchmark run, dropped afterwards (`with (force)`, so the
 * connections of a child that was killed do not keep it alive).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface BenchDatabase {
  url: string;
  name: string;
}

/** Creates `<prefix>_<time>_<random>` next to `adminUrl`'s database; `onCleanup` receives its drop. */
export async function createBenchDatabase(
  adminUrl: string,
  prefix: string,
  onCleanup: (drop: () => Promise<void>) => void,
): Promise<BenchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  onCleanup(async () => {
    const dropper = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      await dropper.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await dropper.end({ timeout: 5 });
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

/**
 * Gathers planner statistics once the warm-up has filled the tables, as a deployment's autovacuum
 * would (PostgreSQL's default; this machine kind runs with it off). Without them the planner takes
 * those tables for empty and keeps choosing sequential scans (bench/README.md, 2026-12-07).
 */
export async function analyzeAfterWarmUp(sql: postgres.Sql): Promise<void> {
  await sql`analyze`;
}

/** The server's version as `show server_version` gives it, on an open client. */
export async function serverVersion(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ server_version: string }[]>`show server_version`;
  return row?.server_version ?? 'unknown';
}

/** The same through a short-lived connection of its own. */
export async function postgresVersion(adminUrl: string): Promise<string> {
  const client = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return await serverVersion(client);
  } finally {
    await client.end({ timeout: 5 });
  }
}
