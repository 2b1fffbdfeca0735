/**
 * Review 9 (attacker's eye): a certificate's restrictions name who holds them (`party`): the
 * mortgagee, the court, the objector (异议登记申请人), the pre-notice holder (预告登记权利人). The
 * objector and the pre-notice holder are, in the registry's ordinary business, private persons:
 * a pre-notice secures a buyer's purchase of a flat (商品房预售, Civil Code art. 221). A window
 * WITHOUT `subjects:unmask` is shown the certificate's holder masked (「孙**」) and every co-holder
 * masked ("Co-holders are personal data of other people: their names and identifiers are masked
 * exactly like the holder's unless the caller holds subjects:unmask", docs/real-cases.md) — but the
 * buyer's full name in `restrictions[].party`, in the answer and in the signed envelope, and again
 * in the case notice's block message (「…办理预告登记（权利人：周建华）」). Only oversight masks it
 * (`overseenCaseView`: "who holds a restriction").
 *
 * Scenario: 孙雅琴's flat, pre-noticed to a private buyer 周建华 (the NRB seed's flat, with the
 * company buyer replaced by a person) and mortgaged to a bank. A masked window fetches 孙雅琴's
 * real-estate certificate. Now a party with a person's name is masked like the holder for such a
 * reader, in the answer and the envelope; a bank, court or company stays named.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededCertificates } from '../../adapters/nrb-realestate/seed.js';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const SUN_YAQIN = { identifierType: 'resident_id', identifier: '330106198102270041', name: '孙雅琴' };
const BUYER = '周建华';
const BANK = '杭州银行股份有限公司西湖支行';
const FLAT = '浙(2021)杭州市不动产权第0264315号';
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let nrb: RunningSimulator;
let gw: TestGateway;
let token = '';
let sun = '';
let answer: {
  status: string;
  certificate: { holderName: string; restrictions?: { kind: string; party: string }[] } | null;
  envelope: string | null;
};

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
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson(
      { nrb: nrb.url },
      { retries: 1, retryMinDelayMs: 1, retryMaxDelayMs: 5, breakerFailures: 1000 },
    ),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
    NOTIFICATION_WORKER: 'false',
    COURIER_WORKER: 'false',
  });
  // The case-work scopes: no subjects:unmask.
  token = (await caseWindow(gw, ['nrb.real-estate'])).token;
  const resolved = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify(SUN_YAQIN),
  });
  expect(resolved.status).toBe(201);
  sun = ((await resolved.json()) as { id: string }).id;
  const fetched = await gw.request(`/v1/subjects/${sun}/certificates`, {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify({ types: ['real_estate_certificate'] }),
  });
  expect(fetched.status).toBe(200);
  answer = ((await fetched.json()) as { results: (typeof answer)[] }).results[0]!;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

describe('review 9: who holds a restriction is masked like the holder for a masked window', () => {
  it('control: the holder herself is masked', () => {
    expect(answer.status).toBe('ok');
    expect(answer.certificate?.holderName).not.toBe(SUN_YAQIN.name);
    expect(answer.certificate?.restrictions?.[0]?.kind).toBe('pre_notice');
  });

  it('the private buyer holding the pre-notice is not named in full in the answer', () => {
    // Before the fix: restrictions[0].party === '周建华'.
    expect(answer.certificate?.restrictions?.[0]?.party).toBe('周**');
  });

  it('a bank holding a mortgage stays named: the window tells the applicant who to settle with', () => {
    expect(answer.certificate?.restrictions?.[1]).toMatchObject({ kind: 'mortgage', party: BANK });
  });

  it('nor in the envelope the gateway signs for that masked reader', () => {
    const claims = decodeJwt(answer.envelope ?? '') as unknown as {
      certificate: { restrictions?: { party: string }[] };
    };
    expect(claims.certificate.restrictions?.[0]?.party).not.toBe(BUYER);
  });
});
