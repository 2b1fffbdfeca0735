/**
 * The walk-through of docs/centres.md, run as written: the gateway started as `npm start` starts
 * it (startGateway, demo data, the department simulators beside it on free loopback ports) with
 * its clock stopped on a fixed day, and the ```sh blocks of the walk-through section run in order
 * in one bash process with BASE pointing at it. The blocks check themselves (set -e, curl
 * --fail-with-body, `refused` for the expected refusals); this test checks the exit code, a few
 * lines they print, and what they left in the database.
 *
 * Needs bash, curl and jq on the PATH, like the walk-through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { auditEntries, cases } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';
import { announcedScript, runBash, type ScriptRun, walkThroughBlocks } from './support/walk-through.js';

/** A Wednesday, 10:00 in Beijing: the case's dates come from it, never from the day the test runs. */
const clock = fixedClock('2026-12-16T02:00:00.000Z');
const WALK_THROUGH_TIMEOUT_MS = 90_000;

describe('docs/centres.md walk-through', () => {
  let database: TestDatabase;
  let gateway: RunningGateway;
  let workDir: string;
  let run: ScriptRun;
  const blocks = walkThroughBlocks('docs/centres.md');

  beforeAll(async () => {
    database = await freshDatabase();
    workDir = mkdtempSync(join(tmpdir(), 'ow-centres-walk-'));
    gateway = await startGateway(
      parseConfig({
        ...database.environment,
        PORT: '0',
        HOST: '127.0.0.1',
        ONEWINDOW_DEMO: 'true',
        // The NRB simulator receives the escalated case, as under `npm start`; free ports.
        DEMO_SIMULATORS: 'true',
        DEMO_SIMULATOR_BASE_PORT: '0',
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

  it('has its blocks in shape: BASE first, then the steps', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(blocks[0]).toContain('BASE=${BASE:-http://127.0.0.1:8080}');
    expect(blocks[0]).toContain('set -euo pipefail');
  });

  it(
    'runs every block in order, in one shell, against the gateway',
    async () => {
      run = await runBash(announcedScript(blocks), { BASE: gateway.url }, workDir, WALK_THROUGH_TIMEOUT_MS);
      const transcript = `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      expect(run.code, transcript).toBe(0);
      expect(run.stdout, transcript).toContain(`--- block ${blocks.length - 1}`);
    },
    WALK_THROUGH_TIMEOUT_MS + 10_000,
  );

  it('prints what the documentation says it prints', () => {
    const out = run?.stdout ?? '';
    expect(out).toContain('610113001 town 小寨路街道便民服务中心');
    expect(out).toContain('"acceptingCentreCode":"610113001","centreCode":"610113001","promisedDays":3');
    // Submitted on the fixed day, and escalated to the county that decides the item.
    expect(out).toMatch(
      /"status":"submitted","acceptingCentreCode":"610113001","centreCode":"610113000","transfers":1,"acceptedOn":"2026-12-16"/,
    );
    expect(out).toContain('{"reader":"county (handles it)"');
    expect(out).toContain('refused as expected: 404 not_found');
    expect(out).toContain('refused as expected: 403 supervision_only');
    expect(out).toContain('{"reader":"city (supervision)"');
    expect(out).toContain('refused as expected: 403 case_handled_elsewhere');
    expect(out).toContain('{"code":"610113000","name":"雁塔区政务服务中心","accepted":1,"transfers":1}');
    expect(out).toContain('{"centreCode":"610113001","operatorId":"clerk-0042","accepted":1}');
    expect(out).toContain('refused as expected: 403 centre_outside_your_tree');
    expect(out).toContain('雁塔区政务服务中心 (610113000): accepted 1');
    expect(out).toContain('refused as expected: 403 operator_unknown');
    expect(out).toContain('refused as expected: 400 operator_required');
    expect(out).toContain('"centre":"长安区政务服务中心","acceptedAt":"小寨路街道便民服务中心"');
  });

  it('left the case where the walk-through says, with the town’s deadline and the actor’s centre on the record', async () => {
    expect(run?.code).toBe(0);
    const db = gateway.services.db;
    const rows = await db.select().from(cases).where(eq(cases.itemCode, 'real_estate_mortgage_cancellation'));
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      acceptingCentreCode: '610113001',
      centreCode: '610116000',
      transfers: 2,
      operatorId: 'clerk-0042',
      acceptedOn: '2026-12-16',
      promisedDays: 3,
    });
    // 3 working days from Wednesday 16 December 2026; the two moves did not change it.
    expect(row?.dueOn).toBe('2026-12-21');
    const [opened] = await db
      .select({ centreCode: auditEntries.centreCode, operatorId: auditEntries.operatorId })
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.open'),
          eq(auditEntries.caseRef, row?.caseNumber ?? ''),
          eq(auditEntries.outcome, 'allowed'),
        ),
      );
    expect(opened).toEqual({ centreCode: '610113001', operatorId: 'clerk-0042' });
    const [transferred] = await db
      .select({ centreCode: auditEntries.centreCode, fields: auditEntries.fields })
      .from(auditEntries)
      .where(
        and(
          eq(auditEntries.action, 'case.transfer'),
          eq(auditEntries.caseRef, row?.caseNumber ?? ''),
          eq(auditEntries.outcome, 'allowed'),
        ),
      );
    expect(transferred).toEqual({
      centreCode: '610113000',
      fields: ['centre:610113000->610116000', 'form', 'materials', 'deliveries'],
    });
  });
});
