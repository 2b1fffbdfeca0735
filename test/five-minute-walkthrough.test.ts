/**
 * The 5-minute walk-through (docs/walk-through.md, "## Walk-through"), run as written: the gateway
 * started as `npm start` starts it (demo data, the department and SMS simulators beside it on free
 * loopback ports) with its clock stopped on a fixed day, and the ```sh blocks run in order in one
 * bash process in the repository (the uploads read gateway/demo/samples/) with BASE, PSB_SIM and
 * NRB_SIM pointing at them. The blocks check themselves (set -e, curl --fail-with-body, `refused`);
 * this test checks the exit code, the lines the page says they print, and what they left in the
 * database — so the page fails here when it drifts from the gateway.
 *
 * Needs bash, curl and jq on the PATH, like the walk-through. Takes about half a minute: the PSB's
 * breaker stays open for its half-open time (10 s) twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import {
  caseEvents,
  cases,
  certificateRevocations,
  contractVersions,
  deliveries,
  materialTypes,
} from '../gateway/db/schema.js';
import { revocationView } from '../gateway/certificates/revocations.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';
import { announcedScript, runBash, type ScriptRun, walkThroughBlocks } from './support/walk-through.js';

/** Monday 30 November 2026, 10:00 in Beijing: the dates the page shows come from it. */
const clock = fixedClock('2026-11-30T02:00:00.000Z');
const WALK_THROUGH_TIMEOUT_MS = 180_000;
const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

describe('the 5-minute walk-through (docs/walk-through.md)', () => {
  let database: TestDatabase;
  let gateway: RunningGateway;
  let scratchDir: string;
  let run: ScriptRun;
  const blocks = walkThroughBlocks('docs/walk-through.md');

  beforeAll(async () => {
    database = await freshDatabase();
    scratchDir = mkdtempSync(join(tmpdir(), 'ow-five-minute-walk-'));
    gateway = await startGateway(
      parseConfig({
        ...database.environment,
        PORT: '0',
        HOST: '127.0.0.1',
        ONEWINDOW_DEMO: 'true',
        DEMO_SIMULATORS: 'true',
        DEMO_SIMULATOR_BASE_PORT: '0',
        // The page shows the default key (ES256) in the JWKS it prints, whatever the suite's pass.
        SIGNING_ALG: 'ES256',
      }),
      createLogger('warn', new LogCapture()),
      { clock },
    );
  });

  afterAll(async () => {
    await gateway?.shutdown('test finished');
    await database?.drop();
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  });

  it('has its blocks in shape: the setup first, then the steps', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(20);
    expect(blocks[0]).toContain('set -euo pipefail');
    expect(blocks[0]).toContain('BASE=${BASE:-http://127.0.0.1:8080}');
    expect(blocks[0]).toContain('PSB_SIM=${PSB_SIM:-http://127.0.0.1:7101}');
    expect(blocks[0]).toContain('NRB_SIM=${NRB_SIM:-http://127.0.0.1:7103}');
    // Issue 19: no macOS-only commands, no fixed contract version, no GNU-only in-place sed.
    const script = blocks.join('\n');
    expect(script).not.toMatch(/^\s*open\s/m);
    expect(script).not.toMatch(/versions\/1\.\d+\.\d+/);
    expect(script).not.toMatch(/sed -i/);
    expect(script).not.toContain('127.0.0.1:8080/v1');
  });

  it(
    'runs every block in order, in one shell, against the demo',
    async () => {
      const simulatorUrl = (code: string): string => {
        const simulator = gateway.demoSimulators.find((candidate) => candidate.code === code);
        expect(simulator, `the demo starts the ${code} simulator`).toBeDefined();
        return simulator?.url ?? '';
      };
      const environment = { BASE: gateway.url, PSB_SIM: simulatorUrl('PSB'), NRB_SIM: simulatorUrl('NRB') };
      run = await runBash(announcedScript(blocks), environment, repositoryRoot, WALK_THROUGH_TIMEOUT_MS, scratchDir);
      const transcript = `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      // WALK_THROUGH_TRANSCRIPT=1 prints what the blocks printed: the page's sample answers come from it.
      if (process.env['WALK_THROUGH_TRANSCRIPT'] === '1') console.log(transcript);
      expect(run.code, transcript).toBe(0);
      expect(run.stdout, transcript).toContain(`--- block ${blocks.length - 1}`);
    },
    WALK_THROUGH_TIMEOUT_MS + 10_000,
  );

  it('prints what the page says it prints', () => {
    const out = run?.stdout ?? '';
    // Every `# {…}`, `# […]` and `# header: value` sample answer under a command is a line they printed.
    for (const block of blocks) {
      for (const [, expected] of block.matchAll(/^# (\{.*\}|\[.*\]|[a-z][a-z-]*: \S.*)$/gm)) {
        expect(out, `the page shows: ${expected}`).toContain(expected);
      }
    }
  });

  it('shows what issue 19 found broken, working', () => {
    const out = run?.stdout ?? '';
    // Step 1 prints the API reference's address instead of opening a browser.
    expect(out).toContain(`API reference (interactive, works offline): ${gateway.url}/docs`);
    // Step 11: five failures open the PSB's breaker, the sixth call is refused without reaching it,
    // and the step waits until it is closed again; so do the later steps that switch the PSB off.
    expect(out).toMatch(
      /(department_unavailable\n){5}department_circuit_open\n\{"breakerState":"open"\}\nPSB breaker: closed\n/,
    );
    expect(out.match(/^PSB breaker: closed$/gm)).toHaveLength(3);
    // Step 12 asks for the version that ships, whatever it is, and refuses the breaking minor one.
    expect(out).toContain('refused as expected: 409 contract_breaking_change');
    // Step 13: the tampered signature is always a different one.
    expect(out).toMatch(/\nenvelope_signature_invalid\n/);
    expect(out).toContain('the downloaded household register is the one the signature names');
    // How long the slow NRB's fetch took is printed, not checked: the test does not depend on timing.
    expect(out).toMatch(/^answered in \d+\.\d s$/m);
  });

  it('left the demo where the page says: cases done, one certificate revoked, the catalogue as it was', async () => {
    expect(run?.code).toBe(0);
    const db = gateway.services.db;
    const [established] = await db.select().from(cases).where(eq(cases.itemCode, 'enterprise_establishment'));
    expect(established).toMatchObject({ status: 'submitted', acceptedOn: '2026-11-30' });
    const [toAmr] = await db
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, established?.id ?? ''));
    expect(toAmr).toMatchObject({ departmentCode: 'AMR', status: 'delivered' });

    const [moved] = await db.select().from(cases).where(eq(cases.itemCode, 'household_move_in'));
    expect(moved).toMatchObject({ status: 'completed', acceptedOn: '2026-11-30' });
    const [toPsb] = await db
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, moved?.id ?? ''));
    // Delivered once the PSB was back, after at least one failed attempt while it was down.
    expect(toPsb).toMatchObject({ departmentCode: 'PSB', status: 'delivered' });
    expect(toPsb?.attempts).toBeGreaterThanOrEqual(2);
    const events = await db
      .select({ kind: caseEvents.kind })
      .from(caseEvents)
      .where(eq(caseEvents.caseId, moved?.id ?? ''));
    expect(events.map((event) => event.kind)).toEqual(
      expect.arrayContaining(['submitted', 'delivered', 'clock_stopped', 'clock_restarted', 'completed']),
    );

    // Only the third applicant's household register is revoked: 张三's and 李梅's stay usable.
    const revocations = await Promise.all(
      (await db.select().from(certificateRevocations)).map((row) =>
        revocationView(gateway.services.access.protection, row),
      ),
    );
    expect(revocations.map((row) => [row.certificateType, row.certificateNumber, row.reason])).toEqual([
      ['household_register', 'HJ510107334455', 'Household moved'],
    ]);
    // The step that made household registers "ask every time" put the policy back.
    const [householdType] = await db.select().from(materialTypes).where(eq(materialTypes.code, 'household_register'));
    expect(householdType?.freshForSeconds).toBe(30 * 24 * 3600);
    const published = await db
      .select({ version: contractVersions.version })
      .from(contractVersions)
      .where(eq(contractVersions.resourceCode, 'psb.population'));
    const versions = published.map((row) => row.version);
    // Step 12 published the next major version beside the one that ships.
    expect(versions.filter((version) => version.endsWith('.0.0')).length).toBeGreaterThanOrEqual(1);
    expect(versions.length).toBeGreaterThanOrEqual(2);
  });
});
