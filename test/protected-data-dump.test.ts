/**
 * Personal data at rest (issue 21): the README's flat-transfer story run on a gateway with
 * SM2 signatures and SM4 data protection, then the whole database dumped as an attacker with the
 * database alone would take it — `pg_dump` on PostgreSQL, every row of every table as text on
 * PGlite (which has no pg_dump) — and searched for what must not be there: an 18-character
 * resident ID number with a valid check digit, a name or identifier of any subject it stored,
 * and the bytes of any document it kept (a run of each document, in clear or as bytea hex).
 *
 * Needs bash, curl and jq on the PATH, like the walk-through.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { rowsOf } from '../gateway/db/client.js';
import { certificates, materials, subjects } from '../gateway/db/schema.js';
import { parseResidentIdNumber } from '../gateway/identity/identifiers.js';
import { openSubjectValues } from '../gateway/identity/subjects.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { freshDatabase, LogCapture, type TestDatabase, testPostgresUrl } from './harness.js';
import { announcedScript, runBash, walkThroughBlocks } from './support/walk-through.js';

const clock = fixedClock('2026-12-16T02:00:00.000Z');
const WALK_THROUGH_TIMEOUT_MS = 120_000;

/** pg_dump of the server's major version, where Debian puts it (or on the PATH). */
function pgDumpBinary(): string {
  const folder = '/usr/lib/postgresql';
  const versions = existsSync(folder) ? readdirSync(folder).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const binary = join(folder, version, 'bin', 'pg_dump');
    if (existsSync(binary)) return binary;
  }
  return 'pg_dump';
}

/** Every 18-character run shaped like a resident ID number whose check digit is right. */
/** A far-off reference day: "not born in the future" must not make the test depend on today. */
const NOT_A_BOUND = new Date('2999-12-31T00:00:00Z');

/**
 * Every 18-character run that IS a resident ID number: a real birth date and the right check
 * character (one random 18-digit run in eleven has the right check digit alone: sequence values
 * and timestamps in a dump made this test fail by chance).
 */
function validResidentIds(text: string): string[] {
  return [...text.matchAll(/(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])/g)]
    .map((match) => match[0].toUpperCase())
    .filter((candidate) => parseResidentIdNumber(candidate, { today: NOT_A_BOUND }).ok);
}

describe('a database dump of a gateway with SM4 data protection', () => {
  let database: TestDatabase;
  let gateway: RunningGateway;
  let workDir: string;
  let dump = '';

  beforeAll(async () => {
    database = await freshDatabase();
    workDir = mkdtempSync(join(tmpdir(), 'ow-dump-walk-'));
    gateway = await startGateway(
      parseConfig({
        ...database.environment,
        PORT: '0',
        HOST: '127.0.0.1',
        ONEWINDOW_DEMO: 'true',
        DEMO_SIMULATORS: 'true',
        DEMO_SIMULATOR_BASE_PORT: '0',
        DATA_PROTECTION: 'sm4-gcm',
        SIGNING_ALG: 'SM2',
      }),
      createLogger('warn', new LogCapture()),
      { clock },
    );
  });

  afterAll(async () => {
    await gateway?.shutdown('test finished');
    await database?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it(
    'runs the flat-transfer story as written',
    async () => {
      const sms = gateway.demoSimulators.find((simulator) => simulator.code === 'SMS');
      const run = await runBash(
        announcedScript(walkThroughBlocks('README.md', '## Walk-through: a second-hand flat')),
        { BASE: gateway.url, SMS: sms?.url ?? '' },
        workDir,
        WALK_THROUGH_TIMEOUT_MS,
      );
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    },
    WALK_THROUGH_TIMEOUT_MS + 10_000,
  );

  it('dumps the database', async () => {
    if (testPostgresUrl) {
      const url = database.environment.DATABASE_URL ?? '';
      dump = execFileSync(pgDumpBinary(), ['--no-owner', url], { maxBuffer: 1 << 30 }).toString('utf8');
    } else {
      const db = gateway.services.db;
      const tables = rowsOf<{ name: string }>(
        await db.execute(
          sql`select quote_ident(table_schema) || '.' || quote_ident(table_name) as name from information_schema.tables
               where table_schema in ('public', 'drizzle') and table_type = 'BASE TABLE'`,
        ),
      );
      const parts: string[] = [];
      for (const { name } of tables) {
        const rows = rowsOf<{ line: string }>(
          await db.execute(sql.raw(`select to_jsonb(t)::text as line from ${name} t`)),
        );
        parts.push(`-- ${name}`, ...rows.map((row) => row.line));
      }
      dump = parts.join('\n');
    }
    if (process.env.DUMP_FILE) (await import('node:fs')).writeFileSync(process.env.DUMP_FILE, dump);
    expect(dump.length).toBeGreaterThan(10_000);
    // What the story stored is in the dump: the case numbers it printed (not personal data).
    expect(dump).toContain('OW20261216000002');
  });

  it('holds no resident ID number with a valid check digit', () => {
    expect(validResidentIds(dump)).toEqual([]);
  });

  it('holds no name or identifier of a subject it stored', async () => {
    const rows = await gateway.services.db.select().from(subjects);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const protection = gateway.services.access.protection;
    const opened = await Promise.all(rows.map((row) => openSubjectValues(protection, row.id, row)));
    // And the certificates' holders and co-owners (王秀英 is known only from the flat's certificate).
    const held = await gateway.services.db.select({ metadata: certificates.metadata }).from(certificates);
    const holders = held.flatMap(({ metadata }) => [
      { name: String(metadata.holderName), identifier: String(metadata.holderIdentifier) },
      ...((metadata.holders ?? []) as { name: string; identifier: string }[]),
    ]);
    expect(holders.map((holder) => holder.name)).toContain('王秀英');
    const found = [...opened, ...holders].flatMap((person) =>
      [person.name, person.identifier].filter((value) => dump.includes(value)),
    );
    expect(found).toEqual([]);
  });

  it('holds no bytes of a document it kept', async () => {
    const kept = await gateway.services.db.selectDistinct({ sha256: materials.contentSha256 }).from(materials);
    expect(kept.length).toBeGreaterThan(0);
    const inClear: string[] = [];
    for (const { sha256 } of kept) {
      const chunks: Buffer[] = [];
      const stream = await gateway.services.blobStore.get(sha256);
      if (!stream) throw new Error(`the blob ${sha256} is missing`);
      for await (const chunk of stream) chunks.push(Buffer.from(chunk));
      const content = Buffer.concat(chunks);
      // 48 bytes from the middle: as text (a clear file), and as bytea's hex in a dump.
      const middle = content.subarray(Math.floor(content.length / 2), Math.floor(content.length / 2) + 48);
      if (dump.includes(middle.toString('latin1')) || dump.includes(middle.toString('hex'))) inClear.push(sha256);
    }
    expect(inClear).toEqual([]);
  });
});
