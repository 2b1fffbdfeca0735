import { describe, expect, it } from 'vitest';
import { checkIdentityAttributes } from './identity.js';

describe('identity attributes', () => {
  it('passes typed facts through, dropping nothing the types declare', () => {
    expect(
      checkIdentityAttributes({
        maritalStatus: 'divorced',
        maritalStatusSince: '2024-02-29',
        householdDivision: '110105',
      }),
    ).toEqual({
      ok: true,
      attributes: { maritalStatus: 'divorced', maritalStatusSince: '2024-02-29', householdDivision: '110105' },
    });
    expect(checkIdentityAttributes({})).toEqual({ ok: true, attributes: {} });
  });

  it('refuses unknown facts, unknown statuses and impossible dates, naming where without the value', () => {
    const checked = checkIdentityAttributes({
      maritalStatus: '已婚',
      maritalStatusSince: '2023-02-29',
      householdDivision: '1101',
      religion: 'x',
    });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problems.map((problem) => problem.split(':')[0])).toEqual(
      expect.arrayContaining([
        '/attributes/maritalStatus',
        '/attributes/maritalStatusSince',
        '/attributes/householdDivision',
        '/attributes/',
      ]),
    );
    expect(checked.problems.join(' ')).not.toContain('已婚');
    expect(checked.problems.join(' ')).toContain('religion');
  });
});
