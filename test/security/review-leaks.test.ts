/**
 * Doors an independent attacker's review (2026-12-07) found reading personal data without the
 * access policy, the audit log or masking, each now closed: the auditor's entries feed, the
 * revocations feed, a handed-in material's typed-in reference, the applicant's look-up under
 * concurrent guesses, and a department's reason quoting an ID number.
 */
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealAll } from '../../gateway/audit/sealer.js';
import { auditEntries, deliveries, progressLookupFailures, subjects } from '../../gateway/db/schema.js';
import { seedCase, seedDelivery, seedSubject } from '../../gateway/supervision/test-fixtures.js';
import { pdfDocument } from '../fixtures/documents.js';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';
import { findResidentIdNumbers } from './support.js';

const json = { 'content-type': 'application/json' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance', 'onewindow-case-ref': 'CASE-ATTACK-1' };
const ZHANG_SAN = { identifier: '11010519491231002X', name: '张三' };

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway({ PROGRESS_LOOKUPS_PER_MINUTE: '10000', PROGRESS_MAX_FAILURES: '5' });
});
afterAll(async () => gw?.close());

async function resolve(token: string, person: { identifier: string; name: string }): Promise<string> {
  const response = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(token, { ...PURPOSE, ...json }),
    body: JSON.stringify({ identifierType: 'resident_id', ...person }),
  });
  if (response.status >= 300) throw new Error(`resolve: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

async function entriesBy(actorClientId: string, subjectRef?: string): Promise<number> {
  const [row] = await gw.services.db
    .select({ n: count() })
    .from(auditEntries)
    .where(
      and(
        eq(auditEntries.actorClientId, actorClientId),
        subjectRef === undefined ? undefined : eq(auditEntries.subjectRef, subjectRef),
      ),
    );
  return Number(row?.n ?? 0);
}

describe('doors found by the review (2026-12-07)', () => {
  it('GET /v1/audit/entries?subjectRef= is a read of that access log: purpose, policy, and on the subject’s own log', async () => {
    const windowToken = await gw.tokenFor('window');
    const subjectId = await resolve(windowToken, { identifier: '320102197807120033', name: '王建国' });
    await sealAll(gw.services.db, gw.services.audit.signer);

    const { client: auditor } = await gw.createClient('auditor');
    const auditorToken = (await gw.services.tokens.issue(auditor, ['audit:read'])).accessToken;
    const entries = `/v1/audit/entries?subjectRef=${subjectId}`;

    // As the tracker route for the same data: no purpose, no answer.
    const withoutPurpose = await gw.request(entries, { headers: bearer(auditorToken) });
    expect(withoutPurpose.status).toBe(400);
    expect(((await withoutPurpose.json()) as { code: string }).code).toBe('purpose_required');

    const before = await entriesBy(auditor.id, subjectId);
    const answer = await gw.request(entries, {
      headers: bearer(auditorToken, { 'onewindow-purpose': 'supervision' }),
    });
    expect(answer.status).toBe(200);
    const items = ((await answer.json()) as { items: { subjectRef: string }[] }).items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((item) => item.subjectRef === subjectId)).toBe(true);
    // On the subject's own access log, as the tracker route's read is.
    expect(await entriesBy(auditor.id, subjectId)).toBe(before + 1);

    // The whole chain: on the record too, as a read of the log.
    const whole = await entriesBy(auditor.id);
    expect((await gw.request('/v1/audit/entries', { headers: bearer(auditorToken) })).status).toBe(200);
    expect(await entriesBy(auditor.id)).toBe(whole + 1);
  });

  it('GET /v1/certificates/revocations never hands out a clear ID number, whatever the scopes', async () => {
    const psbToken = await gw.tokenFor('department', ['certificates:issue'], { departmentCode: 'PSB' });
    const pushed = await gw.request('/v1/certificates/revocations', {
      method: 'POST',
      headers: bearer(psbToken, json),
      body: JSON.stringify({
        certificateType: 'resident_id_card',
        certificateNumber: ZHANG_SAN.identifier,
        reason: `Card ${ZHANG_SAN.identifier} reported lost`,
      }),
    });
    expect(pushed.status).toBe(201);

    const { client: reader } = await gw.createClient('window');
    const readerToken = (await gw.services.tokens.issue(reader, ['certificates:read', 'subjects:unmask'])).accessToken;
    // No purpose, no subject: a province-wide feed, so no door to anyone's ID number.
    const feed = await gw.request('/v1/certificates/revocations?department=PSB', { headers: bearer(readerToken) });
    expect(feed.status).toBe(200);
    const text = await feed.text();
    expect(text).toContain('110105********002X');
    expect(findResidentIdNumbers(text)).toEqual([]);
  });

  it('a handed-in material’s sourceRef (an ID card number) is masked for another window', async () => {
    const uploaderToken = await gw.tokenFor('window', ['subjects:read', 'subjects:write', 'materials:write']);
    const subjectId = await resolve(uploaderToken, ZHANG_SAN);
    const upload = await gw.request(
      `/v1/subjects/${subjectId}/materials?${new URLSearchParams({
        typeCode: 'resident_id_card',
        sourceRef: ZHANG_SAN.identifier,
      })}`,
      {
        method: 'POST',
        headers: bearer(uploaderToken, { 'content-type': 'application/pdf', ...PURPOSE }),
        body: pdfDocument(),
      },
    );
    expect(upload.status).toBe(201);

    // Another window system, holding only the masked read scopes.
    const { client: other } = await gw.createClient('window');
    const otherToken = (await gw.services.tokens.issue(other, ['subjects:read', 'materials:read'])).accessToken;
    const subject = await gw.request(`/v1/subjects/${subjectId}`, { headers: bearer(otherToken, PURPOSE) });
    expect(((await subject.json()) as { masked: boolean }).masked).toBe(true);
    const list = await gw.request(`/v1/subjects/${subjectId}/materials`, { headers: bearer(otherToken, PURPOSE) });
    expect(list.status).toBe(200);
    // Masked by default: no clear ID number in an answer to a token without subjects:unmask.
    expect(findResidentIdNumbers(await list.text())).toEqual([]);
  });

  it('POST /v1/progress: concurrent wrong checks are held to PROGRESS_MAX_FAILURES (one proof of a case number at a time)', async () => {
    const subjectId = await seedSubject(gw.services.db);
    const { caseNumber } = await seedCase(gw.services.db, { subjectId, status: 'in_progress' });
    const [subject] = await gw.services.db
      .select({ identifier: subjects.identifier })
      .from(subjects)
      .where(eq(subjects.id, subjectId));
    const right = subject!.identifier.slice(-4);
    const wrong = Array.from({ length: 30 }, (_, index) => String(index).padStart(4, '0')).filter(
      (check) => check !== right,
    );
    const answers = await Promise.all(
      wrong.map((check) =>
        gw.request('/v1/progress', { method: 'POST', headers: json, body: JSON.stringify({ caseNumber, check }) }),
      ),
    );
    const guessed = answers.filter((answer) => answer.status === 404).length;
    const [failures] = await gw.services.db
      .select({ n: count() })
      .from(progressLookupFailures)
      .where(eq(progressLookupFailures.caseNumber, caseNumber));
    // At most 5 guesses may be checked against the ID number before the case number locks.
    expect({ checkedGuesses: guessed, recordedFailures: Number(failures?.n) }).toEqual({
      checkedGuesses: 5,
      recordedFailures: 5,
    });
  });

  it('a department’s refusal text quoting an ID number is masked in the public progress look-up (as in the SMS)', async () => {
    const subjectId = await seedSubject(gw.services.db);
    const { id: caseId, caseNumber } = await seedCase(gw.services.db, { subjectId, status: 'rejected' });
    const deliveryId = await seedDelivery(gw.services.db, caseId, {
      department: 'PSB',
      status: 'refused',
      departmentStatus: 'rejected',
    });
    // A reason stored before such reasons were masked on the way in (cases/status.ts masks them now).
    const quoted = '320102197807120033';
    await gw.services.db
      .update(deliveries)
      .set({ departmentMessage: `共有人王建国（身份证${quoted}）未到场签字` })
      .where(eq(deliveries.id, deliveryId));
    const [subject] = await gw.services.db
      .select({ identifier: subjects.identifier })
      .from(subjects)
      .where(eq(subjects.id, subjectId));
    const answer = await gw.request('/v1/progress', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ caseNumber, check: subject!.identifier.slice(-4) }),
    });
    expect(answer.status).toBe(200);
    // The look-up "carries no personal data"; the SMS path (reasonParam) masks the same text.
    expect(findResidentIdNumbers(await answer.text())).toEqual([]);
  });
});
