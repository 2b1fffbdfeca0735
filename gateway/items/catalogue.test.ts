import { describe, expect, it } from 'vitest';
import { seedItems } from './catalogue.js';
import { checkForm, compileFormSchema, nonLinearPatterns } from './form.js';
import { ItemGuideSchema } from './routes.js';

describe('seed items', () => {
  it('have form schemas that compile in strict mode', () => {
    for (const item of seedItems) expect(() => compileFormSchema(item.formSchema), item.code).not.toThrow();
  });

  it('are consistent: a joint item has several departments, the others one; promised within statutory; unique requirement codes', () => {
    for (const item of seedItems) {
      expect(item.departments.length > 1, item.code).toBe(item.kind === 'joint');
      expect(item.promisedDays).toBeLessThanOrEqual(item.statutoryDays);
      expect(new Set(item.materials.map((entry) => entry.requirementCode)).size).toBe(item.materials.length);
    }
  });

  it('each publish a guide (办事指南) the item API would accept, its samples naming its own requirements', () => {
    for (const item of seedItems) {
      const guide = ItemGuideSchema.parse(item.guide);
      const codes = item.materials.map((entry) => entry.requirementCode);
      for (const sample of guide.samples ?? []) expect(codes, item.code).toContain(sample.requirementCode);
      if (guide.maxTrips === 0) expect(guide.onlineLevel, item.code).toBe('fully_online');
    }
  });

  it('checks forms with every problem listed, including conditional requirements', () => {
    const moveIn = seedItems.find((item) => item.code === 'household_move_in')!;
    expect(() =>
      checkForm(moveIn.code, moveIn.formSchema, { moveToAddress: '北京市朝阳区建国路88号', reason: 'employment' }),
    ).not.toThrow();
    expect(() =>
      checkForm(moveIn.code, moveIn.formSchema, { moveToAddress: '北京市朝阳区建国路88号', reason: 'home_purchase' }),
    ).toThrow(/certificateNo/);
    expect(() => checkForm(moveIn.code, moveIn.formSchema, { reason: 'lottery', extra: 1 })).toThrow(
      /moveToAddress.*|reason|extra/,
    );
  });
});

describe('form schema patterns', () => {
  it('finds patterns no linear-time engine can match, wherever they sit in the schema', () => {
    const schema = {
      type: 'object',
      properties: {
        postcode: { type: 'string', pattern: '^[0-9]{6}$' },
        nested: { type: 'string', pattern: '^(a+)+$' },
        twice: { type: 'string', pattern: '^(\\d)\\1$' },
        rooms: { type: 'array', items: { type: 'string', pattern: '^[A-Z][0-9]{3}$' } },
      },
      patternProperties: { '^(?=x)\\w+$': { type: 'string' } },
    };
    expect(nonLinearPatterns(schema).map((found) => found.pattern)).toEqual(['^(\\d)\\1$', '^(?=x)\\w+$']);
  });

  it('matches nested and overlapping repetitions in linear time', () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'string', pattern: '^(a+)+$' }, d: { type: 'string', pattern: '^(\\d|\\d\\d)+$' } },
    };
    // A backtracking engine takes minutes on these; the check answers at once.
    expect(() => checkForm('T001', schema, { a: `${'a'.repeat(5_000)}!`, d: `${'1'.repeat(5_000)}x` })).toThrow(
      expect.objectContaining({ code: 'form_invalid' }),
    );
    expect(() => checkForm('T001', schema, { a: 'aaa', d: '123' })).not.toThrow();
  });

  it('finds none in the seed items', () => {
    for (const item of seedItems) expect(nonLinearPatterns(item.formSchema), item.code).toEqual([]);
  });
});
