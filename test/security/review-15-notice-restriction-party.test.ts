/**
 * Review 15 (attacker's eye): the case notice names a private pre-notice holder in clear.
 *
 * The door: `GET /v1/cases/{id}` (and every answer carrying the case view: `POST /v1/cases`,
 * `POST /v1/cases/{id}/certificates`, attach) builds `notice.entries[].blocks[]` in `buildNotice` /
 * `blocksOf` (gateway/cases/cases.ts) from the attached certificate's restrictions, with
 * `restriction.party` and the bilingual `message` quoting the party verbatim. Only the oversight
 * view (`overseenCaseView`) masks them; `maskedCaseView` does not touch the notice, and the
 * opening window (for whom `namesHiddenFrom` returns null) gets no masking at all.
 *
 * The promise it breaks (docs/security.md, "The audit log"): "A certificate's restriction held by
 * a person (a private buyer's pre-notice) names them masked like the certificate's holders for a
 * caller without `subjects:unmask`". Review 9 fixed the certificate answer and its envelope
 * (`objectFacts` in certificates/fetch.ts) but the same restriction reaches the same reader,
 * unmasked, through the case notice: 「不予受理：该不动产已于2025年6月30日办理预告登记（权利人：周建华）」.
 * The buyer 周建华 is not a subject or party of the case: the window never typed the name, so the
 * "it typed them" exception for the opening window does not apply.
 *
 * Scenario: 孙雅琴's flat is pre-noticed to a private buyer 周建华 and mortgaged to a bank. A window
 * WITHOUT `subjects:unmask` opens a transfer of the flat and fetches the title into the case. The
 * certificate answer masks the buyer (control: review 9's fix); the case view's notice must too.
 * A bank stays named (control: legitimate business information).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededCertificates } from '../../adapters/nrb-realestate/seed.js';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const SUN_YAQIN = { identifierType: 'resident_id', identifier: '330106198102270041', name: '孙雅琴' };
const BUYER = '周建华';
const BANK = '杭州银行股份有限公司西湖支行';
const FLAT = '浙(2021)杭州市不动产权第0264315号';
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

interface Block {
  code: string;
  restriction: { kind: string; party: string } | null;
  message: { zh: string; en: string };
}
interface CaseBody {
  id: string;
  notice: { entries: { requirementCode: string; blocks: Block[] }[] };
}

let nrb: RunningSimulator;
let psb: RunningSimulator;
let gw: TestGateway;
let token = '';
let fetchedAnswer = '';
let caseRead: CaseBody;

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator({
    certificates: seededCertificates.map((record) =>
      record.certificateNo === FLAT
        ? {
            ...record,
            restrictions: [
              { type: 'PRE_NOTICE', registeredAt: '2025-06-30', party: BUYER },
              { type: 'MORTGAGE', registeredAt: '2025-07-01', party: BANK },
            ],
          }
        : record,
    ),
  });
  psb = await startPsbPopulationSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson({ nrb: nrb.url, psb: psb.url }),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
    NOTIFICATION_WORKER: 'false',
    COURIER_WORKER: 'false',
  });
  // The case-work scopes: no subjects:unmask.
  token = (await caseWindow(gw, ['nrb.real-estate', 'psb.population'])).token;
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify(SUN_YAQIN),
  });
  expect(resolved.status).toBe(201);
  const sun = ((await resolved.json()) as { id: string }).id;
  const fetched = await gw.request(`/v1/subjects/${sun}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ types: ['real_estate_certificate'], numbers: { real_estate_certificate: FLAT } }),
  });
  expect(fetched.status).toBe(200);
  fetchedAnswer = await fetched.text();
  const opened = await gw.request('/v1/cases', {
    method: 'POST',
    headers: bearer(token, json),
    body: JSON.stringify({
      itemCode: 'real_estate_transfer',
      subjectId: sun,
      form: {
        certificateNo: FLAT,
        transferee: { name: '王小明', idNumber: '110101199003070038' },
        transferReason: 'sale',
      },
    }),
  });
  if (opened.status !== 201) throw new Error(`open: ${opened.status} ${await opened.text()}`);
  const caseId = ((await opened.json()) as CaseBody).id;
  const read = await gw.request(`/v1/cases/${caseId}`, { headers: bearer(token) });
  if (read.status !== 200) throw new Error(`read: ${read.status} ${await read.text()}`);
  caseRead = (await read.json()) as CaseBody;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
  await psb?.close();
});

function titleBlocks(): Block[] {
  return caseRead.notice.entries.find((entry) => entry.requirementCode === 'title')?.blocks ?? [];
}

describe('review 15: the case notice masks a private restriction holder like the certificate answer does', () => {
  it('control: the certificate answer to the same masked window does not name the buyer (review 9)', () => {
    expect(fetchedAnswer).toContain('pre_notice');
    expect(fetchedAnswer).not.toContain(BUYER);
  });

  it('control: the case is blocked by the pre-notice (the notice names the restriction)', () => {
    const blocks = titleBlocks();
    expect(blocks.map((block) => block.restriction?.kind)).toContain('pre_notice');
  });

  it("the notice's restriction does not name the private buyer in full", () => {
    const preNotice = titleBlocks().find((block) => block.restriction?.kind === 'pre_notice');
    expect(preNotice?.restriction?.party).not.toBe(BUYER);
  });

  it("nor does the notice's message, in either language", () => {
    const preNotice = titleBlocks().find((block) => block.restriction?.kind === 'pre_notice');
    expect(preNotice?.message.zh).not.toContain(BUYER);
    expect(preNotice?.message.en).not.toContain(BUYER);
    expect(JSON.stringify(caseRead)).not.toContain(BUYER);
  });
});
