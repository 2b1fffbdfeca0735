/**
 * Review 17 (attacker's eye): a certificate its issuing department revoked stays valid — and is
 * preferred for reuse — when the gateway holds it as a document that department uploaded itself
 * (`POST /v1/subjects/{id}/materials` with `sourceRef` = the certificate's number) rather than as a
 * fetched copy.
 *
 * The door: `POST /v1/certificates/revocations` → `pushRevocation` (gateway/certificates/
 * revocations.ts) → `revokeCertificate` (gateway/certificates/store.ts) selects the materials to
 * revoke from the `certificates` table only (fetched copies and electronic results). A document the
 * department issued through the materials upload (provenance `issued`, same department, same type,
 * `sourceRef` = the number) is never looked at: `materialsRevoked` does not count it, its status
 * stays `valid`, and the reuse question (`GET /v1/subjects/{id}/reusable-materials`, the same
 * `preferredReadableMaterials` a case's notice uses) answers it as the subject's current title
 * certificate — ahead of any handed-in copy, since a department's copy is "authority".
 *
 * Promises broken:
 * - docs/capabilities.md, Revocation: "All materials holding it are revoked in the same
 *   transaction; a later fetch keeps it revoked even if the department's system still says valid."
 * - docs/walk-through.md, Revocation: "every material holding it becomes revoked, it is never
 *   served as valid again".
 *
 * Scenario: 张三 sells his flat 京(2015)朝阳区不动产权第0031287号. The window fetches the title
 * certificate for the case (a fetched copy). NRB's own system also files the same certificate in
 * 张三's record as an issued document. NRB then revokes the certificate (wrongly issued). Control:
 * the fetched copy is revoked. Expected: the issued copy too (status `revoked`, counted in
 * `materialsRevoked`, no longer offered for reuse). Today it stays `valid` and is what the reuse
 * answer offers for the revoked number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfDocument } from '../fixtures/documents.js';
import { bearer, ok } from '../harness.js';
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
  typeCode: string;
  provenance: { kind: string; sourceRef: string | null };
}

describe('review 17: a revocation reaches every material holding the certificate', () => {
  it('revokes the document the issuing department uploaded, not only the fetched copy', async () => {
    const { gw, call, openerToken, caseId, zhangSan } = stage;

    // The window fetches 张三's title certificate for the case: a fetched copy.
    const fetched = await ok<{ results: { certificateType: string; status: string }[]; case: unknown }>(
      await call(openerToken, `/v1/cases/${caseId}/certificates`, {}, PURPOSE),
    );
    expect(fetched.results.find((r) => r.certificateType === 'real_estate_certificate')?.status).toBe('ok');
    const before = await ok<{ items: MaterialView[] }>(
      await call(openerToken, `/v1/subjects/${zhangSan}/materials?types=real_estate_certificate`, undefined, PURPOSE),
    );
    const fetchedCopy = before.items.find((m) => m.provenance.kind === 'fetched');
    expect(fetchedCopy?.status).toBe('valid');

    // NRB's own system files the same certificate in 张三's record (its issuer, its type).
    const issued = await ok<MaterialView>(
      await gw.request(
        `/v1/subjects/${zhangSan}/materials?typeCode=real_estate_certificate&sourceRef=${encodeURIComponent(SOLE_FLAT)}`,
        {
          method: 'POST',
          headers: bearer(nrbToken, { 'onewindow-purpose': 'certificate_issuance', 'content-type': 'application/pdf' }),
          body: Buffer.from(pdfDocument('nrb-title-0031287')),
        },
      ),
      201,
    );
    expect(issued.provenance.kind).toBe('issued');

    // NRB revokes the certificate.
    const revocation = await ok<{ materialsRevoked: number }>(
      await call(nrbToken, '/v1/certificates/revocations', {
        certificateType: 'real_estate_certificate',
        certificateNumber: SOLE_FLAT,
        reason: '登记错误，证书撤销',
      }),
      201,
    );

    // Control: the fetched copy is revoked.
    const fetchedAfter = await ok<MaterialView>(
      await call(openerToken, `/v1/subjects/${zhangSan}/materials/${fetchedCopy!.id}`, undefined, PURPOSE),
    );
    expect(fetchedAfter.status).toBe('revoked');

    // The document NRB issued holds the same certificate: it must be revoked too.
    const issuedAfter = await ok<MaterialView>(
      await call(openerToken, `/v1/subjects/${zhangSan}/materials/${issued.id}`, undefined, PURPOSE),
    );
    const reuse = await ok<{ found: { typeCode: string; material: MaterialView }[]; missing: string[] }>(
      await call(
        openerToken,
        `/v1/subjects/${zhangSan}/reusable-materials?types=real_estate_certificate`,
        undefined,
        PURPOSE,
      ),
    );
    expect({
      issuedStatus: issuedAfter.status,
      materialsRevoked: revocation.materialsRevoked,
      offeredForReuse: reuse.found.map((entry) => entry.material.id),
    }).toEqual({ issuedStatus: 'revoked', materialsRevoked: 2, offeredForReuse: [] });
  });
});
