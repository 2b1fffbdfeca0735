/**
 * The interpreter against Ajv on generated schemas and answers: the same verdict, and what the
 * interpreter reports among what Ajv reports. Seeded, so a failure names a case that repeats.
 */
import { describe, expect, it } from 'vitest';
import { compileContract } from './contract-validation.js';
import { SchemaInterpreter, UncheckableAnswer } from './schema-interpreter.js';

type Json = Record<string, unknown>;

/** A small seeded generator (mulberry32): the same cases on every run. */
function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const below = (count: number) => Math.floor(next() * count);
  const pick = <T>(choices: readonly T[]): T => choices[below(choices.length)] as T;
  const chance = (probability: number) => next() < probability;
  return { below, pick, chance };
}
type Random = ReturnType<typeof randomSource>;

const NAMES = ['a', 'b', 'c', 'x1', 'x2', 'a/b', 'k~0'];
const STRINGS = ['', 'a', 'ab', 'abc', 'x1', '2024-02-30', '2024-02-29', 'a@b.cn', '😀', 'AQID', 'abcdef'];
const NUMBERS = [0, 1, -1, 2, 2.5, 3, 10, 0.3, 1e20, 2 ** 40, 0.1 + 0.2];

function randomValue(random: Random, depth: number): unknown {
  const kind = random.below(depth > 2 ? 5 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick(NUMBERS);
    case 3:
    case 4:
      return random.pick(STRINGS);
    case 5: {
      const length = random.below(4);
      return Array.from({ length }, () => (random.chance(0.3) ? 'a' : randomValue(random, depth + 1)));
    }
    default: {
      const object: Json = {};
      for (let count = random.below(4); count > 0; count -= 1)
        object[random.pick(NAMES)] = randomValue(random, depth + 1);
      return object;
    }
  }
}

/**
 * Ajv lets two shapes through that JSON Schema refuses, so they are not generated together:
 * `contains` beside a tuple (`prefixItems`, draft-07's list `items`) is not checked on an empty
 * array (first-error mode), and an `if` whose subschemas use `additionalProperties` can count
 * properties as evaluated for an enclosing `unevaluatedProperties` even when its branch is not
 * taken. The interpreter follows the standard there (tested below).
 */
function randomSchema(random: Random, depth: number, modern: boolean, withIf: boolean): unknown {
  if (random.chance(0.08)) return random.chance(0.7);
  const schema: Json = {};
  const keywords = 1 + random.below(depth > 1 ? 2 : 4);
  const sub = () => randomSchema(random, depth + 1, modern, withIf);
  for (let count = 0; count < keywords; count += 1) {
    const options: Array<() => void> = [
      () => {
        schema['type'] = random.chance(0.7)
          ? random.pick(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'])
          : [random.pick(['string', 'integer']), random.pick(['null', 'object', 'array'])];
      },
      () => {
        schema['enum'] = [random.pick(STRINGS), random.pick(NUMBERS), null, { a: 1 }];
      },
      () => {
        schema['const'] = random.chance(0.5) ? random.pick(STRINGS) : { a: random.pick(NUMBERS) };
      },
      () => {
        schema[random.pick(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'])] = random.pick(NUMBERS);
      },
      () => {
        schema['multipleOf'] = random.pick([0.01, 0.1, 2, 3, 2.5]);
      },
      () => {
        schema[random.pick(['minLength', 'maxLength'])] = random.below(4);
      },
      () => {
        schema['pattern'] = random.pick(['^a', 'b$', '^[a-z]+$', '\\d', '^\\S*$', '\\p{Script=Han}|😀']);
      },
      () => {
        schema['format'] = random.pick(['date', 'email', 'byte', 'int32', 'uuid', 'no-such-format']);
      },
      () => {
        schema[random.pick(['minItems', 'maxItems', 'minProperties', 'maxProperties'])] = random.below(3);
      },
      () => {
        schema['uniqueItems'] = random.chance(0.8);
      },
      () => {
        schema['items'] = sub();
      },
      () => {
        // OpenAPI 3.0 has no tuples (`items` is one schema).
        if (modern && schema['contains'] === undefined) schema['prefixItems'] = [sub(), sub()];
      },
      () => {
        if (schema['prefixItems'] !== undefined) return;
        schema['contains'] = sub();
        if (modern && random.chance(0.4)) schema[random.pick(['minContains', 'maxContains'])] = random.below(3);
      },
      () => {
        schema['required'] = [random.pick(NAMES), random.pick(NAMES)].filter(
          (name, index, names) => names.indexOf(name) === index,
        );
      },
      () => {
        const properties: Json = {};
        for (let count = 1 + random.below(3); count > 0; count -= 1) properties[random.pick(NAMES)] = sub();
        schema['properties'] = properties;
      },
      () => {
        schema['patternProperties'] = { [random.pick(['^x', '^a', '/'])]: sub() };
      },
      () => {
        schema['additionalProperties'] = random.chance(0.5) ? false : sub();
      },
      () => {
        schema['propertyNames'] = random.chance(0.5) ? { maxLength: 1 } : { pattern: '^[a-z]' };
      },
      () => {
        const trigger = random.pick(NAMES);
        const form = modern ? random.below(3) : 2;
        if (form === 0) schema['dependentRequired'] = { [trigger]: [random.pick(NAMES)] };
        else if (form === 1) schema['dependentSchemas'] = { [trigger]: sub() };
        else schema['dependencies'] = { [trigger]: random.chance(0.5) ? [random.pick(NAMES)] : sub() };
      },
      () => {
        schema[random.pick(['allOf', 'anyOf', 'oneOf'])] = [sub(), sub()];
      },
      () => {
        schema['not'] = sub();
      },
      () => {
        if (!withIf) return;
        schema['if'] = sub();
        if (random.chance(0.8)) schema['then'] = sub();
        if (random.chance(0.5)) schema['else'] = sub();
      },
      () => {
        if (modern && !withIf)
          schema[random.pick(['unevaluatedProperties', 'unevaluatedItems'])] = random.chance(0.6) ? false : sub();
      },
      () => {
        schema['$ref'] = random.pick(['#/components/schemas/Shared', '#/components/schemas/Tree']);
      },
    ];
    random.pick(options)();
  }
  return schema;
}

const meta = { department: 'TEST', resourceCode: 'test.generated', version: '1.0.0' };

function contractWith(modern: boolean, schema: unknown): Json {
  return {
    openapi: modern ? '3.1.0' : '3.0.3',
    info: { title: 'Generated', version: '1.0.0' },
    paths: {
      '/thing': {
        get: {
          operationId: 'getThing',
          responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } },
        },
      },
    },
    components: {
      schemas: {
        Shared: { type: 'object', properties: { a: { type: 'string' } }, required: ['b'] },
        Tree: { type: ['object', 'string'], additionalProperties: { $ref: '#/components/schemas/Tree' } },
      },
    },
  };
}

function findings(check: () => Array<{ path: string; keyword: string }> | null): string[] | null | 'throws' {
  try {
    const found = check();
    return found === null ? null : found.map((violation) => `${violation.path} ${violation.keyword}`).sort();
  } catch {
    return 'throws';
  }
}

describe('the interpreter gives the verdicts Ajv gives', () => {
  for (const modern of [true, false]) {
    it(`on 1,000 generated ${modern ? 'JSON Schema 2020-12' : 'OpenAPI 3.0 (draft-07)'} schemas`, () => {
      const random = randomSource(Number(process.env['INTERPRETER_FUZZ_SEED'] ?? (modern ? 2026 : 1206)));
      let compared = 0;
      const mismatches: string[] = [];
      for (let index = 0; index < 1_000; index += 1) {
        const document = contractWith(modern, randomSchema(random, 0, modern, random.chance(0.5)));
        const compiled = compileContract(document, meta);
        const interpreted = compileContract(document, meta, { maxCompiledSchemaNodes: 0 });
        for (let answerIndex = 0; answerIndex < 6; answerIndex += 1) {
          const answer = randomValue(random, 0);
          const byAjv = findings(() => compiled.check('getThing', 200, answer));
          if (byAjv === 'throws') break; // a schema Ajv cannot compile is not compared
          const byInterpreter = findings(() => interpreted.check('getThing', 200, answer));
          const label = JSON.stringify({ schema: (document['paths'] as Json)['/thing'], answer });
          const same =
            byAjv === null
              ? byInterpreter === null
              : Array.isArray(byInterpreter) &&
                byInterpreter.length > 0 &&
                byInterpreter.every((found) => byAjv.includes(found));
          if (!same)
            mismatches.push(`${label}\n  ajv ${JSON.stringify(byAjv)} interpreter ${JSON.stringify(byInterpreter)}`);
          compared += 1;
        }
      }
      expect(mismatches.slice(0, 8).join('\n')).toBe('');
      expect(compared).toBeGreaterThan(3_000);
    });
  }
});

describe('the interpreter at bounded cost', () => {
  it('walks the answer, not the schema: 5,000 properties over 20,000 empty objects', () => {
    const properties: Json = {};
    for (let index = 0; index < 5_000; index += 1) properties[`p${index}`] = { type: 'string' };
    const interpreter = new SchemaInterpreter({}, '2020-12');
    const schema = { type: 'array', items: { type: 'object', properties } };
    // Counted in steps, not time: each object is one step plus its (no) keys.
    expect(
      interpreter.check(
        schema,
        Array.from({ length: 20_000 }, () => ({})),
      ),
    ).toEqual([]);
  });

  it('refuses as uncheckable an answer whose schema asks for more steps than its budget', () => {
    const branches = Array.from({ length: 5_000 }, (_, index) => ({
      properties: { [`k${index}`]: { type: 'string' } },
    }));
    const interpreter = new SchemaInterpreter({}, '2020-12');
    const schema = { type: 'array', items: { allOf: branches } };
    // 200 values × 5,000 branches: a million steps against a budget of ~103,000.
    expect(() =>
      interpreter.check(
        schema,
        Array.from({ length: 200 }, () => ({})),
      ),
    ).toThrow(UncheckableAnswer);
    // The same schema over an answer it can check within the budget.
    expect(interpreter.check(schema, [{}])).toEqual([]);
  });

  it('reads a bounded number of new schema nodes per answer, and goes on at the next', () => {
    const branches = Array.from({ length: 25_000 }, (_, index) => ({ required: [`k${index}`] }));
    const interpreter = new SchemaInterpreter({}, '2020-12');
    const schema = { anyOf: [...branches, { type: 'object' }] };
    // One value meets 25,000 schemas: the first answers stop at 10,001 new nodes each.
    expect(() => interpreter.check(schema, {})).toThrow(UncheckableAnswer);
    expect(() => interpreter.check(schema, {})).toThrow(UncheckableAnswer);
    expect(interpreter.check(schema, {})).toEqual([]);
  });

  it('checks a 2,000-deep tree, and refuses one nested past the stack as uncheckable', () => {
    const document = {
      components: {
        schemas: { Tree: { type: 'object', properties: { child: { $ref: '#/components/schemas/Tree' } } } },
      },
    };
    const interpreter = new SchemaInterpreter(document, '2020-12');
    const schema = { $ref: '#/components/schemas/Tree' };
    const tree = (depth: number) => {
      let node: Json = {};
      for (let level = 0; level < depth; level += 1) node = { child: node };
      return node;
    };
    expect(interpreter.check(schema, tree(2_000))).toEqual([]);
    expect(() => interpreter.check(schema, tree(200_000))).toThrow(UncheckableAnswer);
  });

  it('agrees with Ajv on floating-point multipleOf', () => {
    const interpreter = new SchemaInterpreter({}, '2020-12');
    for (const [value, divisor, valid] of [
      [1.13, 0.01, true],
      [0.1 + 0.2, 0.01, true],
      [1e20, 3, true],
      [0.3, 0.2, false],
    ] as const) {
      expect(interpreter.check({ multipleOf: divisor }, value).length === 0, `${value} / ${divisor}`).toBe(valid);
    }
  });
});
