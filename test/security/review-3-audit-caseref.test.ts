/**
 * Review 3 (attacker's eye): the `onewindow-case-ref` header is free text a window system fills
 * with its own reference — often the applicant's ID number. It is stored in the audit entry as
 * sent and handed out in clear by the auditor's whole-chain feed (`GET /v1/audit/entries`, no
 * purpose needed), although "auditors never see personal data" and problem documents already mask
 * identifier-shaped runs for exactly this reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealAll } from '../../gateway/audit/sealer.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';
import { findResidentIdNumbers } from './support.js';

const json = { 'content-type': 'application/json' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(async () => gw?.close());

describe('review 3: caller-supplied references in the audit feed', () => {
  it('an ID number sent as onewindow-case-ref is shown in clear to an auditor reading the whole chain', async () => {
    const windowToken = await gw.tokenFor('window');
    const resolved = await gw.request('/v1/subjects/resolve', {
      method: 'POST',
      // A window system that uses the applicant's ID number as its business reference.
      headers: bearer(windowToken, { ...json, 'onewindow-case-ref': ZHANG_SAN.identifier }),
      body: JSON.stringify(ZHANG_SAN),
    });
    expect(resolved.status).toBe(201);
    await sealAll(gw.services.db, gw.services.audit.signer);

    const { client: auditor } = await gw.createClient('auditor');
    const auditorToken = (await gw.services.tokens.issue(auditor, ['audit:read'])).accessToken;
    // The whole chain: no purpose, no subject.
    const feed = await gw.request('/v1/audit/entries', { headers: bearer(auditorToken) });
    expect(feed.status).toBe(200);
    // Before the fix (2026-12-07): caseRef "11010519491231002X" in clear.
    expect(findResidentIdNumbers(await feed.text())).toEqual([]);
  });
});
