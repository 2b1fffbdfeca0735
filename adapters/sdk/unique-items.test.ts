import { describe, expect, it } from 'vitest';
import { hasDuplicateItems } from './unique-items.js';

describe('uniqueItems in linear time', () => {
  it('tells equal JSON values whatever their key order, and never confuses types', () => {
    expect(
      hasDuplicateItems([
        { a: 1, b: [1, { c: 2 }] },
        { b: [1, { c: 2 }], a: 1 },
      ]),
    ).toBe(true);
    expect(hasDuplicateItems([{ a: 1 }, { a: '1' }, { a: true }, { a: null }, { a: [1] }, [1], '[1]'])).toBe(false);
    expect(hasDuplicateItems([1, '1', true, 'true', null, 'null', 0, false, ''])).toBe(false);
    expect(hasDuplicateItems([1, 1.0])).toBe(true);
    expect(
      hasDuplicateItems([
        [1, 2],
        [2, 1],
      ]),
    ).toBe(false);
    expect(hasDuplicateItems([{ 'a"b': 1 }, { 'a\\"b': 1 }])).toBe(false);
    expect(hasDuplicateItems([])).toBe(false);
  });

  it('checks 100,000 objects without comparing every pair', () => {
    const items = Array.from({ length: 100_000 }, (_, index) => ({ id: index, tags: [index % 7] }));
    expect(hasDuplicateItems(items)).toBe(false);
    expect(hasDuplicateItems([...items, { tags: [1], id: 1 }])).toBe(true);
  });
});
