/**
 * Review 17 (attacker's eye): a revocation pushed with the certificate's number written with
 * full-width brackets (京（2015）朝阳区…, as Chinese systems and clerks commonly type it) revokes
 * nothing: the stored copy of 京(2015)朝阳区… stays `valid`, keeps being served from storage as
 * `ok` with a freshly signed envelope, and the envelope check still says `valid`.
 *
 * The door: `POST /v1/certificates/revocations` → `pushRevocation` (gateway/certificates/
 * revocations.ts) → `revokeCertificate` (gateway/certificates/store.ts) looks the materials up by
 * `protection.certificateNumberLookups(type, input.certificateNumber)` on the number exactly as
 * sent, never through `normaliseCertificateNumber` (gateway/certificates/numbers.ts), which every
 * other comparison of certificate numbers uses (a window's `numbers`, a form's `certificateNo`).
 * The revocation row is stored under the unnormalised number too, so the check that "a later
 * fetch keeps it revoked" (`revocationOf` in store.ts) and the verify endpoint miss it as well.
 *
 * Promises broken:
 * - docs/capabilities.md, Revocation: "All materials holding it are revoked in the same
 *   transaction; a later fetch keeps it revoked even if the department's system still says valid."
 * - gateway/certificates/numbers.ts: "A certificate number as compared: NFKC (full-width brackets
 *   and digits as ASCII) without spaces, so 京（2015）朝阳区… typed at a window finds 京(2015)朝阳区…".
 * - docs/walk-through.md: "every material holding it becomes revoked, it is never served as valid
 *   again, the verify endpoint says so".
 *
 * Scenario: the window fetches 张三's title certificate 京(2015)朝阳区不动产权第0031287号 (control:
 * `ok`, with an envelope). NRB revokes 京（2015）朝阳区不动产权第0031287号 — the same number, in
 * full-width brackets. Expected: one material revoked, the next fetch answers `revoked` with no
 * envelope, and the envelope issued before verifies as `revoked`. Today: 0 revoked, `ok` from
 * storage with a new envelope, `currentStatus: valid`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../harness.js';
import { type FlatSaleStage, PURPOSE, SOLE_FLAT, flatSaleStage } from '../support/flat-sale.js';

const SOLE_FLAT_FULL_WIDTH = '京（2015）朝阳区不动产权第0031287号';

let stage: FlatSaleStage;
let nrbToken = '';

beforeAll(async () => {
  stage = await flatSaleStage();
  nrbToken = await stage.gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
});

afterAll(async () => {
  await stage?.close();
});

interface Fetch {
  results: { certificateType: string; status: string; source: string | null; envelope: string | null }[];
}

describe('review 17: a revocation finds the certificate whatever the width of its brackets', () => {
  it('revokes the stored copy of 京(2015)… when 京（2015）… is revoked', async () => {
    const { call, openerToken, zhangSan } = stage;
    expect(SOLE_FLAT_FULL_WIDTH.normalize('NFKC')).toBe(SOLE_FLAT);
    const fetch = async () =>
      (
        await ok<Fetch>(
          await call(
            openerToken,
            `/v1/subjects/${zhangSan}/certificates`,
            { types: ['real_estate_certificate'], numbers: { real_estate_certificate: SOLE_FLAT } },
            PURPOSE,
          ),
        )
      ).results[0]!;

    // Control: the window fetches the certificate; it is valid and signed.
    const before = await fetch();
    expect(before.status).toBe('ok');
    expect(before.envelope).not.toBeNull();

    const revocation = await ok<{ materialsRevoked: number }>(
      await call(nrbToken, '/v1/certificates/revocations', {
        certificateType: 'real_estate_certificate',
        certificateNumber: SOLE_FLAT_FULL_WIDTH,
        reason: '登记错误，证书撤销',
      }),
      201,
    );
    const after = await fetch();
    const verified = await ok<{ valid: boolean; currentStatus: string }>(
      await call(openerToken, '/v1/certificates/verify', { envelope: before.envelope }),
    );
    expect({
      materialsRevoked: revocation.materialsRevoked,
      statusAfter: after.status,
      envelopeAfter: after.envelope === null ? null : 'signed',
      verifiedStatus: verified.currentStatus,
    }).toEqual({ materialsRevoked: 1, statusAfter: 'revoked', envelopeAfter: null, verifiedStatus: 'revoked' });
  });
});
