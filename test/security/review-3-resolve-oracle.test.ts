/**
 * Review 3 (attacker's eye): POST /v1/subjects/resolve compares the name before it asks the policy,
 * so a centre's window system that names no operator (refused `operator_required` on every other
 * personal-data access) still learns whether an ID number is known and whether a guessed name is
 * its holder's: three different answers where the policy would give one refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, bearer, createTestGateway } from '../harness.js';

const json = { 'content-type': 'application/json' };
const ZHANG_SAN = { identifierType: 'resident_id', identifier: '11010519491231002X', name: '张三' };
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

let gw: TestGateway;

beforeAll(async () => {
  gw = await createTestGateway();
  const windowToken = await gw.tokenFor('window');
  const created = await gw.request('/v1/subjects/resolve', {
    method: 'POST',
    headers: bearer(windowToken, { ...json, ...PURPOSE }),
    body: JSON.stringify(ZHANG_SAN),
  });
  expect(created.status).toBe(201);
});
afterAll(async () => gw?.close());

describe('review 3: resolve as an oracle before the operator check', () => {
  it('answers "unknown", "wrong name" and "right name" differently to a centre window naming no operator', async () => {
    const admin = await gw.tokenFor('admin');
    const put = (path: string, body: unknown) =>
      gw.request(path, { method: 'PUT', headers: bearer(admin, json), body: JSON.stringify(body) });
    expect(
      (
        await put('/v1/centres/330000000', {
          name: '浙江省政务服务中心',
          level: 'province',
          parentCode: null,
          address: '杭州',
          openingHours: '9:00-17:00',
        })
      ).status,
    ).toBe(201);
    const { client } = await gw.createClient('window');
    expect((await put(`/v1/clients/${client.id}/centres`, { centreCodes: ['330000000'] })).status).toBe(200);
    // subjects:read only (cannot create), a purpose, but no onewindow-operator header.
    const token = (await gw.services.tokens.issue(client, ['subjects:read'])).accessToken;
    const ask = async (identifier: string, name: string) => {
      const response = await gw.request('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearer(token, { ...json, ...PURPOSE }),
        body: JSON.stringify({ identifierType: 'resident_id', identifier, name }),
      });
      return `${response.status} ${((await response.json()) as { code?: string }).code ?? ''}`;
    };
    const answers = {
      unknownNumber: await ask('320102197807120033', '张三'),
      knownNumberWrongName: await ask(ZHANG_SAN.identifier, '李四'),
      knownNumberRightName: await ask(ZHANG_SAN.identifier, '张三'),
    };
    // The policy's refusal (operator_required) should come first, whatever the number and name.
    // Before the fix (2026-12-07): 404 not_found / 409 subject_name_mismatch / 400 operator_required.
    expect(answers).toEqual({
      unknownNumber: '400 operator_required',
      knownNumberWrongName: '400 operator_required',
      knownNumberRightName: '400 operator_required',
    });
  });
});
