/**
 * Review 19 (attacker's eye): the revocations feed (`GET /v1/certificates/revocations`, any window
 * with `certificates:read`, no purpose, no subject) shows a department's revocation reason with
 * only identifiers and mobiles masked — the holder's name stays in clear, next to the certificate
 * number in clear. The same revocation read on the subject's material (a caller who sees the
 * subject masked) shows the name masked (「张*」).
 *
 * Promise broken (docs/security.md, "The audit log"): "A caller who sees the subject masked also
 * sees the subject's name masked in a material's file name … and in a revocation's reason"; and
 * gateway/certificates/revocations.ts `listRevocations`: "the feed is the province's, read without
 * a purpose or a subject, so it is no door … Whose certificate was revoked shows where the policy
 * decides it". Here the feed says 「京(2015)朝阳区不动产权第0031287号 — 张三…」 to every window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../harness.js';
import { type FlatSaleStage, PURPOSE, SOLE_FLAT, flatSaleStage } from '../support/flat-sale.js';

let stage: FlatSaleStage;
let nrbToken = '';

beforeAll(async () => {
  stage = await flatSaleStage();
  nrbToken = await stage.gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
});

afterAll(async () => {
  await stage?.close();
});

interface MaterialView {
  id: string;
  status: string;
  provenance: { kind: string };
  revocation: { reason: string } | null;
}

describe('review 19: the revocations feed keeps the holder anonymous', () => {
  it("masks the holder's name in a revocation reason, as the material view does", async () => {
    const { call, openerToken, caseId, zhangSan } = stage;
    // The window fetches 张三's title certificate for the case (a fetched copy held by NRB's terms).
    await ok(await call(openerToken, `/v1/cases/${caseId}/certificates`, {}, PURPOSE));

    await ok(
      await call(nrbToken, '/v1/certificates/revocations', {
        certificateType: 'real_estate_certificate',
        certificateNumber: SOLE_FLAT,
        reason: '张三名下房产登记错误，证书撤销',
      }),
      201,
    );

    // Control: on the subject's material, the window (no subjects:unmask) reads the name masked.
    const listed = await ok<{ items: MaterialView[] }>(
      await call(openerToken, `/v1/subjects/${zhangSan}/materials?types=real_estate_certificate`, undefined, PURPOSE),
    );
    const revoked = listed.items.find((m) => m.status === 'revoked');
    expect(revoked?.revocation?.reason).toBe('张*名下房产登记错误，证书撤销');

    // The feed: any window, no purpose, no subject.
    const feed = await ok<{ items: { certificateNumber: string; reason: string }[] }>(
      await call(openerToken, '/v1/certificates/revocations'),
    );
    const entry = feed.items.find((item) => item.certificateNumber === SOLE_FLAT);
    expect(entry).toBeDefined();
    expect(entry?.reason).not.toContain('张三');
  });
});
