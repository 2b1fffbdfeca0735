/**
 * Review 21 (attacker's eye): a case refused by its department (不予许可, `rejected`) is concluded,
 * but a window can still "supply" a material to a requirement that was accepted missing (容缺): the
 * refused case gets a new attachment, a `material_supplied` event the applicant reads in the look-up,
 * its counters change, and the department that refused it is shown the new document through the case.
 *
 * The door: attachMaterial (gateway/cases/cases.ts) lets a change through when
 * `current?.resolution === 'deferred' || row.status === 'awaiting_applicant'`, whatever the case's
 * status: a concluded case (completed, rejected, partially_rejected) with a deferred row is changed.
 *
 * Promise broken: docs/real-cases.md / the attach route: materials are attached "before submission,
 * or afterwards for a requirement accepted missing (容缺) or while the case awaits the applicant (补正)"
 * — a case that is over awaits nothing; its own refusal (`case.only_deferred_materials`) says only
 * 容缺 materials may be supplied to a running case. The record of a concluded case must not change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNrbSimulator, startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { type RunningPsbSimulator, startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import { fixedClock } from '../../gateway/platform/clock.js';
import { pdfDocument } from '../fixtures/documents.js';
import { CASE_WINDOW_SCOPES, type TestGateway, bearer, caseWindow, createTestGateway, ok } from '../harness.js';
import { simulatedDepartmentsJson } from '../support/simulated-departments.js';

const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };
const SOLE_FLAT = '京(2015)朝阳区不动产权第0031287号';
const LI_MEI_ID = '330106198503150120';

let psb: RunningPsbSimulator;
let nrb: RunningNrbSimulator;
let gw: TestGateway;
let windowToken = '';
let nrbToken = '';

const purpose = { 'onewindow-purpose': 'case_acceptance' };

function call(path: string, init: { body?: unknown; headers?: Record<string, string>; token?: string } = {}) {
  return gw.request(path, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: bearer(init.token ?? windowToken, {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

beforeAll(async () => {
  psb = await startPsbPopulationSimulator();
  nrb = await startNrbRealEstateSimulator();
  gw = await createTestGateway(
    {
      DEPARTMENTS_JSON: simulatedDepartmentsJson({ psb: psb.url, nrb: nrb.url }),
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_WORKER: 'false',
    },
    { clock: fixedClock('2026-12-18T02:00:00.000Z') },
  );
  windowToken = (await caseWindow(gw, ['psb.population', 'nrb.real-estate'], [...CASE_WINDOW_SCOPES])).token;
  nrbToken = await gw.tokenFor('department', undefined, { departmentCode: 'NRB' });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([psb?.close(), nrb?.close()]);
});

describe('review 21: a refused case', () => {
  it('takes no more materials, not even for a requirement accepted missing (容缺)', async () => {
    const zhangSan = (
      await ok<{ id: string }>(
        await call('/v1/subjects/resolve', { body: { identifierType: 'resident_id', ...ZHANG_SAN }, headers: purpose }),
        201,
      )
    ).id;
    const opened = await ok<{ id: string; caseNumber: string }>(
      await call('/v1/cases', {
        body: {
          itemCode: 'real_estate_transfer',
          subjectId: zhangSan,
          form: { certificateNo: SOLE_FLAT, transferee: { name: '李梅', idNumber: LI_MEI_ID }, transferReason: 'sale' },
        },
      }),
      201,
    );
    await ok(await call(`/v1/cases/${opened.id}/certificates`, { body: {} }));
    const submitted = await ok<{ notice: { entries: { requirementCode: string; state: string }[] } }>(
      await call(`/v1/cases/${opened.id}/submit`, { body: {}, headers: { 'idempotency-key': 'review21-supply-1' } }),
    );
    expect(submitted.notice.entries.find((entry) => entry.requirementCode === 'tax')?.state).toBe('deferred');
    await gw.services.deliveryWorker.runOnce();

    // NRB refuses (不予登记): the case is over.
    const refused = await ok<{ caseStatus: string }>(
      await call('/v1/case-status-callbacks', {
        token: nrbToken,
        body: {
          caseNumber: opened.caseNumber,
          eventId: 'nrb-evt-refuse-2',
          status: 'rejected',
          occurredAt: '2026-12-18T01:59:00.000Z',
          message: '不予登记',
        },
      }),
    );
    expect(refused.caseStatus).toBe('rejected');

    // The window hands in a tax certificate and "supplies" it to the refused case.
    const handedIn = await ok<{ id: string }>(
      await gw.request(`/v1/subjects/${zhangSan}/materials?typeCode=tax_clearance_certificate&fileName=tax.pdf`, {
        method: 'POST',
        headers: bearer(windowToken, { ...purpose, 'content-type': 'application/pdf' }),
        body: Buffer.from(pdfDocument('tax')),
      }),
      201,
    );
    const supplied = await call(`/v1/cases/${opened.id}/materials`, {
      body: { requirementCode: 'tax', materialId: handedIn.id },
    });
    const nrbView = await ok<{ status: string; notice: { entries: { requirementCode: string; material: unknown }[] } }>(
      await call(`/v1/cases/${opened.id}`, { token: nrbToken, headers: purpose }),
    );
    expect({
      attach: supplied.status,
      refusedCaseShowsNewMaterialToNrb:
        nrbView.notice.entries.find((entry) => entry.requirementCode === 'tax')?.material ?? null,
    }).toEqual({ attach: 409, refusedCaseShowsNewMaterialToNrb: null });
  });
});
