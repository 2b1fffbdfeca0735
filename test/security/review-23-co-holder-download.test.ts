/**
 * Review 23 (attacker's eye): a jointly held certificate's copy read through the materials routes
 * is not a read on the co-holder's record. The certificate route records every read of a jointly
 * held certificate on the other holders' record ("A stored jointly held certificate served to one
 * holder is a read on the other holders' record too", gateway/certificates/fetch.ts; review 9) —
 * but the very same copy, downloaded through GET /v1/subjects/{id}/materials/{mid}/content (the
 * PDF names every 权利人: 「权利人：张三、王秀英」 in clear) or read as metadata / reuse answer,
 * is recorded on 张三's record only. 王秀英's access log never shows that the window took the
 * document naming her and her flat.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';
import { auditEntries } from '../../gateway/db/schema.js';
import { type TestGateway, bearer, caseWindow, createTestGateway } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const WANG_XIUYING = { identifierType: 'resident_id', identifier: '110105195203150021', name: '王秀英' };
const json = { 'content-type': 'application/json' };
const purpose = { 'onewindow-purpose': 'case_acceptance' };

let nrb: RunningSimulator | undefined;
let gw: TestGateway;
let token = '';
let zhang = '';
let wang = '';

async function resolve(person: typeof ZHANG_SAN): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...json, ...purpose }),
    body: JSON.stringify(person),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function coHolderEntriesOfWang(): Promise<{ action: string; fields: string[] }[]> {
  const rows = await gw.services.db
    .select({ action: auditEntries.action, fields: auditEntries.fields })
    .from(auditEntries)
    .where(and(eq(auditEntries.subjectRef, wang), eq(auditEntries.outcome, 'allowed')));
  return rows.filter((row) => row.fields.includes('co_holder'));
}

beforeAll(async () => {
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway({
    DEPARTMENTS_JSON: simulatedDepartmentsJson({ nrb: nrb.url }),
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_WORKER: 'false',
    NOTIFICATION_WORKER: 'false',
    COURIER_WORKER: 'false',
  });
  token = (await caseWindow(gw, ['nrb.real-estate'])).token;
  zhang = await resolve(ZHANG_SAN);
  wang = await resolve(WANG_XIUYING);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await nrb?.close();
});

describe('review 23: a joint certificate downloaded through the materials route', () => {
  it('is a read on the co-holder’s record, as the certificate route’s serve is', async () => {
    const fetched = await gw.request(`/v1/subjects/${zhang}/certificates`, {
      method: 'POST',
      headers: bearer(token, { ...json, ...purpose }),
      body: JSON.stringify({ types: ['real_estate_certificate'] }),
    });
    expect(fetched.status).toBe(200);
    const answer = (
      (await fetched.json()) as { results: { material: { id: string } | null; certificate: { holders?: unknown[] } }[] }
    ).results[0]!;
    expect(answer.certificate.holders).toHaveLength(2);
    const materialId = answer.material!.id;
    const before = (await coHolderEntriesOfWang()).length;
    expect(before).toBe(1);

    const download = await gw.request(`/v1/subjects/${zhang}/materials/${materialId}/content`, {
      headers: bearer(token, purpose),
    });
    expect(download.status).toBe(200);
    const pdf = Buffer.from(await download.arrayBuffer());
    // The document names her (「权利人：张三、王秀英」), in clear, to a window without subjects:unmask.
    // (the PDF writes CJK text as UTF-16BE hex strings, 王秀英 = 738B79C082F1)
    const utf16Hex = Buffer.from('王秀英', 'utf16le').swap16().toString('hex');
    expect(pdf.toString('latin1').toLowerCase()).toContain(utf16Hex);
    // Before a fix: still 1 — the download is on 张三's record only.
    expect((await coHolderEntriesOfWang()).length).toBe(before + 1);
  });
});
