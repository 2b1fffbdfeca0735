/**
 * The README's flat-transfer story ("## Walk-through: a second-hand flat"), run as written: the
 * gateway started as `npm start` starts it (demo data, the department and SMS simulators beside it
 * on free loopback ports) with its clock stopped on a fixed day, and the ```sh blocks run in order
 * in one bash process with BASE and SMS pointing at them. The blocks check themselves (set -e,
 * curl --fail-with-body, `refused`); this test checks the exit code, the lines the README says
 * they print, and what they left in the database.
 *
 * Needs bash, curl and jq on the PATH, like the walk-through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { caseEvents, caseRatings, cases, deliveries } from '../gateway/db/schema.js';
import { fixedClock } from '../gateway/platform/clock.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';
import { announcedScript, runBash, type ScriptRun, walkThroughBlocks } from './support/walk-through.js';

/** Wednesday 16 December 2026, 10:00 in Beijing: every date of the story comes from it. */
const clock = fixedClock('2026-12-16T02:00:00.000Z');
const WALK_THROUGH_TIMEOUT_MS = 120_000;

describe("the README's flat-transfer walk-through", () => {
  let database: TestDatabase;
  let gateway: RunningGateway;
  let workDir: string;
  let run: ScriptRun;
  const blocks = walkThroughBlocks('README.md', '## Walk-through: a second-hand flat');

  beforeAll(async () => {
    database = await freshDatabase();
    workDir = mkdtempSync(join(tmpdir(), 'ow-flat-walk-'));
    gateway = await startGateway(
      parseConfig({
        ...database.environment,
        PORT: '0',
        HOST: '127.0.0.1',
        ONEWINDOW_DEMO: 'true',
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

  it('has its blocks in shape: BASE and SMS first, then the steps', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
    expect(blocks[0]).toContain('BASE=${BASE:-http://127.0.0.1:8080}');
    expect(blocks[0]).toContain('SMS=${SMS:-http://127.0.0.1:7104}');
    expect(blocks[0]).toContain('set -euo pipefail');
  });

  it(
    'runs every block in order, in one shell, against the gateway',
    async () => {
      const sms = gateway.demoSimulators.find((simulator) => simulator.code === 'SMS');
      expect(sms, 'the demo starts the SMS simulator').toBeDefined();
      run = await runBash(
        announcedScript(blocks),
        { BASE: gateway.url, SMS: sms?.url ?? '' },
        workDir,
        WALK_THROUGH_TIMEOUT_MS,
      );
      const transcript = `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      // WALK_THROUGH_TRANSCRIPT=1 prints what the blocks printed: the README's sample answers come from it.
      if (process.env['WALK_THROUGH_TRANSCRIPT'] === '1') console.log(transcript);
      expect(run.code, transcript).toBe(0);
      expect(run.stdout, transcript).toContain(`--- block ${blocks.length - 1}`);
    },
    WALK_THROUGH_TIMEOUT_MS + 10_000,
  );

  it('prints what the README says it prints', () => {
    const out = run?.stdout ?? '';
    expect(out).toContain('refused as expected: 422 id_number_check');
    // Asked by type, the newest flat and the other as a choice; asked by number, the contract's flat.
    expect(out).toContain(
      '{"number":"京(2019)朝阳区不动产权第0107652号","shareType":"joint","holders":["张*","王**"],"restrictions":["mortgage"],"choices":["京(2015)朝阳区不动产权第0031287号"]}',
    );
    expect(out).toContain(
      '{"number":"京(2015)朝阳区不动产权第0031287号","location":"北京市朝阳区建国路88号院3号楼1单元502","shareType":"sole","restrictions":[]}',
    );
    expect(out).toContain('"zh":"不予受理：该不动产已于2024年5月20日被杭州市西湖区人民法院查封。"');
    expect(out).toContain('refused as expected: 409 restriction_blocks_acceptance');
    expect(out).toContain(
      '{"requirementCode":"buyer_identity","party":"counterparty","state":"reused","reference":null}',
    );
    expect(out).toContain(
      '{"caseNumber":"OW20261216000002","status":"submitted","acceptedOn":"2026-12-16","dueOn":"2026-12-23","deferred":["marital_status","tax"]}',
    );
    expect(out).toContain(
      '您的不动产转移登记（含户口迁入）已受理，受理编号OW20261216000002，承诺2026年12月23日前办结。',
    );
    expect(out).toContain(
      '{"department":"PSB","status":"rejected","reason":"迁入地址与不动产坐落不一致，不符合落户条件"}',
    );
    expect(out).toContain('审批结果为不予许可，原因：迁入地址与不动产坐落不一致，不符合落户条件。');
    expect(out).toContain('{"department":"NRB","departmentStatus":null,"cancelStatus":"manual"}');
    // The household move-in: a pick-up code in the SMS only, never shown to the window.
    expect(out).toContain(
      '办理结果已可领取，取件码······，请携带本人有效身份证件到小寨路街道便民服务中心（西安市雁塔区小寨路）领取',
    );
    expect(out).toContain(
      '{"method":"window_pickup","status":"ready_for_pickup","collectAt":"小寨路街道便民服务中心"}',
    );
    expect(out).toContain('{"status":"ready_for_pickup","pickupCode":null}');
    // The applicant gave a mobile number: the code is in the SMS only, not in the look-up.
    expect(out).toMatch(/^null$/m);
    expect(out).toContain('refused as expected: 422 pickup_code_mismatch');
    expect(out).toContain('{"status":"collected"}');
    // 李梅 rates the collected case: a 差评, answered by the town centre's director, read back in the look-up.
    expect(out).toContain(
      '{"score":2,"followUp":{"state":"open","dueOn":"2026-12-21"},"zh":"感谢您的评价。服务中心将在2026-12-21前回访并答复您反映的问题。"}',
    );
    expect(out).toContain('refused as expected: 409 rating_exists');
    expect(out).toContain('refused as expected: 403 operator_unknown');
    expect(out).toContain('{"state":"answered","dueOn":"2026-12-21","answeredBy":"director-0013"}');
    expect(out).toContain('{"canRate":false,"rating":{"score":2,"answer":"已致电申请人致歉，取件叫号屏已修复。"}}');
  });

  it('left the case where the story says: refused on the fixed day with the PSB’s reason kept verbatim', async () => {
    expect(run?.code).toBe(0);
    const db = gateway.services.db;
    const transfers = await db.select().from(cases).where(eq(cases.itemCode, 'real_estate_transfer'));
    // The seized flat's case stays open (never submitted); the transfer was accepted and refused.
    expect(transfers.map((row) => row.status).sort()).toEqual(['open', 'rejected']);
    const refused = transfers.find((row) => row.status === 'rejected');
    expect(refused).toMatchObject({
      acceptedOn: '2026-12-16',
      form: expect.objectContaining({ certificateNo: '京(2015)朝阳区不动产权第0031287号' }),
    });
    const parts = await db
      .select()
      .from(deliveries)
      .where(eq(deliveries.caseId, refused?.id ?? ''));
    expect(parts.find((part) => part.departmentCode === 'PSB')).toMatchObject({
      departmentStatus: 'rejected',
      departmentMessage: '迁入地址与不动产坐落不一致，不符合落户条件',
    });
    expect(parts.find((part) => part.departmentCode === 'NRB')?.cancelStatus).toBe('manual');
    const kinds = (
      await db
        .select({ kind: caseEvents.kind })
        .from(caseEvents)
        .where(eq(caseEvents.caseId, refused?.id ?? ''))
    ).map((event) => event.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'opened',
        'certificate_fetched',
        'submitted',
        'delivered',
        'notified',
        'department_status',
        'joint_refusal',
        'rejected',
        'cancel_by_hand',
      ]),
    );
    const [moved] = await db.select().from(cases).where(eq(cases.itemCode, 'household_move_in'));
    expect(moved).toMatchObject({ status: 'completed', completedOn: '2026-12-16' });
    const moveKinds = (
      await db
        .select({ kind: caseEvents.kind })
        .from(caseEvents)
        .where(eq(caseEvents.caseId, moved?.id ?? ''))
    ).map((event) => event.kind);
    expect(moveKinds).toEqual(
      expect.arrayContaining(['completed', 'result_ready', 'result_collected', 'rated', 'rating_answered']),
    );
    const [rating] = await db
      .select()
      .from(caseRatings)
      .where(eq(caseRatings.caseId, moved?.id ?? ''));
    expect(rating).toMatchObject({
      score: 2,
      centreCode: '610113001',
      operatorId: 'clerk-0042',
      departments: ['PSB'],
      onTime: true,
      ratedOn: '2026-12-16',
      followUpStatus: 'answered',
      followUpDueOn: '2026-12-21',
      followUpContacted: true,
      followUpOperatorId: 'director-0013',
    });
  });
});
