import { describe, expect, it } from 'vitest';
import { turnsDuring } from '../../test/event-loop.js';
import { type JsonSlice, MAX_VALUES_PER_SLICE, assembleJsonSlices, sliceJson } from './json-slices.js';

/** Values in a JSON value: every object, array and scalar (members counted by their values). */
function valuesIn(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 1;
  return (
    1 + (Array.isArray(value) ? value : Object.values(value)).reduce<number>((sum, child) => sum + valuesIn(child), 0)
  );
}

/** A seeded document of nested objects and arrays, with the keys JSON slicing must keep as data. */
function documentOf(seed: number, size: number): unknown {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const awkwardKeys = ['__proto__', 'constructor', '0', '10', '2', '', 'é键', 'toString'];
  const build = (budget: number, depth: number): unknown => {
    if (budget <= 1 || depth > 6 || random() < 0.2)
      return [null, true, 3.25, -7, 'text', '键值'][Math.floor(random() * 6)];
    const children = 1 + Math.floor(random() * Math.min(budget, 12));
    const share = Math.max(1, Math.floor((budget - 1) / children));
    if (random() < 0.5) return Array.from({ length: children }, () => build(share, depth + 1));
    const object: Record<string, unknown> = {};
    for (let index = 0; index < children; index += 1) {
      const key = random() < 0.3 ? awkwardKeys[Math.floor(random() * awkwardKeys.length)]! : `k${index}`;
      Object.defineProperty(object, key, {
        value: build(share, depth + 1),
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    return object;
  };
  return build(size, 0);
}

const valuesOfSlice = (slice: JsonSlice): number => {
  if ('container' in slice) return 1;
  const text = 'json' in slice ? slice.json : 'members' in slice ? slice.members : slice.items;
  // The members' or items' own wrapper is not a value of the document.
  return valuesIn(JSON.parse(text)) - ('json' in slice ? 0 : 1);
};

describe('JSON slices', () => {
  it('rebuild every value as it was: members in order, awkward keys as data, arrays in order', async () => {
    for (let seed = 1; seed <= 60; seed += 1) {
      const document = documentOf(seed, 40 + seed * 20);
      for (const maxValues of [1, 3, 10, 100]) {
        const rebuilt = await assembleJsonSlices(sliceJson(document, maxValues));
        // The text compares values, members (own ones only) and their order.
        expect(JSON.stringify(rebuilt), `seed ${seed}, ${maxValues} values a slice`).toBe(JSON.stringify(document));
      }
    }
  });

  it('keep a `__proto__` member a member: the rebuilt object keeps its prototype', async () => {
    const document = JSON.parse(
      `{"schemas":{"__proto__":{"type":"object","properties":{"polluted":{"type":"string"}}},"a":[1,2,3]}}`,
    ) as { schemas: Record<string, unknown> };
    const rebuilt = (await assembleJsonSlices(sliceJson(document, 2))) as { schemas: Record<string, unknown> };
    expect(Object.getPrototypeOf(rebuilt.schemas)).toBe(Object.prototype);
    expect(Object.hasOwn(rebuilt.schemas, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(document));
  });

  it('hold at most the bound of values each, and a small value is one slice', () => {
    const document = documentOf(7, 5_000);
    for (const maxValues of [5, 50, 500]) {
      const slices = sliceJson(document, maxValues);
      for (const slice of slices) expect(valuesOfSlice(slice)).toBeLessThanOrEqual(maxValues);
      expect(slices.reduce((sum, slice) => sum + valuesOfSlice(slice), 0)).toBe(valuesIn(document));
    }
    expect(sliceJson({ small: [1, 2, 3] })).toEqual([{ at: [], json: '{"small":[1,2,3]}' }]);
  });

  it('cut the largest contract a publication allows into slices of the default bound', () => {
    // 60,000 objects of one distinct key each: the costliest values to parse.
    const filler = Array.from({ length: 59_950 }, (_, index) => ({ [index.toString(36)]: 0 }));
    const slices = sliceJson({ openapi: '3.1.0', paths: {}, 'x-filler': filler });
    expect(slices.length).toBeGreaterThanOrEqual(Math.ceil(valuesIn(filler) / MAX_VALUES_PER_SLICE));
    for (const slice of slices) expect(valuesOfSlice(slice)).toBeLessThanOrEqual(MAX_VALUES_PER_SLICE);
  });

  it('are parsed one per turn of the event loop', async () => {
    const slices = sliceJson(documentOf(3, 3_000), 20);
    expect(slices.length).toBeGreaterThan(50);
    const turns = await turnsDuring(() => assembleJsonSlices(slices));
    // Each slice after the first waits for the next turn, in which the counter also runs.
    expect(turns).toBeGreaterThanOrEqual(slices.length - 2);
  });
});
