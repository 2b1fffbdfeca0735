import { describe, expect, it } from 'vitest';
import { DepartmentError } from '../../adapters/sdk/errors.js';
import { checkedResult } from './verification.js';

describe('identity verification answers', () => {
  it('carries checked attributes with a match only', () => {
    expect(checkedResult('MCA', { outcome: 'match', attributes: { maritalStatus: 'married' } })).toEqual({
      outcome: 'match',
      attributes: { maritalStatus: 'married' },
    });
    expect(checkedResult('MCA', { outcome: 'match', attributes: {} })).toEqual({ outcome: 'match' });
    // An adapter breaking the types at run time: facts about a number whose name did not match are dropped.
    const mismatch = { outcome: 'name_mismatch', attributes: { maritalStatus: 'married' } } as unknown as Parameters<
      typeof checkedResult
    >[1];
    expect(checkedResult('MCA', mismatch)).toEqual({ outcome: 'name_mismatch' });
  });

  it('refuses malformed attributes as the department breaking its contract', () => {
    const bad = { outcome: 'match', attributes: { maritalStatus: 'separated' } } as unknown as Parameters<
      typeof checkedResult
    >[1];
    let thrown: unknown;
    try {
      checkedResult('MCA', bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DepartmentError);
    expect(thrown).toMatchObject({
      kind: 'contract_violation',
      details: { department: 'MCA', violations: [{ path: '/attributes/maritalStatus', keyword: 'attributes' }] },
    });
  });
});
