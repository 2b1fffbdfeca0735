/**
 * Department answers crafted against a contract's own keywords (issue 18: no contract under the
 * size limit may hold the event loop over 100 ms). Before the linear checks, `^(a+)+$` on a
 * 30-character answer held it 0.3–0.6 s in both validators, and `uniqueItems` over 5,000 objects
 * 0.3–0.9 s. Each check runs on the event loop synchronously, so its duration is the hold; the
 * best of five runs measures the code, not a loaded machine's scheduler.
 */
import { describe, expect, it } from 'vitest';
import { type ContractCheck, compileContract } from './contract-validation.js';

const EVENT_LOOP_BOUND_MS = 100;

type Json = Record<string, unknown>;

function contractWith(openapi: '3.0.3' | '3.1.0', schema: unknown): Json {
  return {
    openapi,
    info: { title: 'Crafted answers', version: '1.0.0' },
    paths: {
      '/thing': {
        get: {
          operationId: 'getThing',
          responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } },
        },
      },
    },
  };
}

const meta = { department: 'TEST', resourceCode: 'test.crafted', version: '1.0.0' };

/** The verdict on `answer` and the longest a check of it took, best of five. */
function timedCheck(document: Json, answer: unknown, interpreted: boolean): { found: string[] | null; ms: number } {
  const contract = compileContract(document, meta, interpreted ? { maxCompiledSchemaNodes: 0 } : {});
  let best = Number.POSITIVE_INFINITY;
  let found: ContractCheck = null;
  for (let attempt = 0; attempt < 5 && best >= EVENT_LOOP_BOUND_MS / 2; attempt += 1) {
    const started = performance.now();
    found = contract.check('getThing', 200, answer);
    best = Math.min(best, performance.now() - started);
  }
  return { found: found && found.map((violation) => `${violation.path} ${violation.keyword}`), ms: best };
}

const nested = '^(a+)+$';
const crafted = `${'a'.repeat(40)}!`;
const longCrafted = `${'a'.repeat(500_000)}!`;
const distinctObjects = (count: number) => Array.from({ length: count }, (_, index) => ({ id: index, tags: ['x'] }));

const attacks: Array<{
  name: string;
  openapi: '3.0.3' | '3.1.0';
  schema: unknown;
  answer: unknown;
  found: string[] | null;
}> = [
  {
    name: 'nested quantifiers',
    openapi: '3.1.0',
    schema: { type: 'string', pattern: nested },
    answer: crafted,
    found: [' pattern'],
  },
  {
    name: 'nested quantifiers, half a million characters',
    openapi: '3.0.3',
    schema: { type: 'string', pattern: nested },
    answer: longCrafted,
    found: [' pattern'],
  },
  {
    name: 'alternation that overlaps',
    openapi: '3.1.0',
    schema: { type: 'object', properties: { name: { type: 'string', pattern: '^(a|aa)+$' } } },
    answer: { name: crafted },
    found: ['/name pattern'],
  },
  {
    name: 'polynomial backtracking',
    openapi: '3.1.0',
    schema: { type: 'string', pattern: '^\\s*a*\\s*a*\\s*a*\\s*$' },
    answer: `${'a'.repeat(20_000)}!`,
    found: [' pattern'],
  },
  {
    name: 'a pattern on property names',
    openapi: '3.1.0',
    schema: { type: 'object', propertyNames: { pattern: nested } },
    answer: { [crafted]: 1 },
    // Ajv also reports the name's `pattern` (at the object: a name has no path of its own).
    found: expect.arrayContaining([' propertyNames']) as unknown as string[],
  },
  {
    name: 'uniqueItems over 5,000 distinct objects',
    openapi: '3.1.0',
    schema: { type: 'array', uniqueItems: true },
    answer: distinctObjects(5_000),
    found: null,
  },
  {
    name: 'uniqueItems over 20,000 objects with one repeat at the end',
    openapi: '3.0.3',
    schema: { type: 'array', items: { type: 'object' }, uniqueItems: true },
    answer: [...distinctObjects(20_000), { tags: ['x'], id: 0 }],
    found: [' uniqueItems'],
  },
];

describe('answers crafted against a contract hold the event loop briefly', () => {
  for (const attack of attacks) {
    it(`${attack.name} (compiled check)`, () => {
      const { found, ms } = timedCheck(contractWith(attack.openapi, attack.schema), attack.answer, false);
      expect(found).toEqual(attack.found);
      expect(ms).toBeLessThan(EVENT_LOOP_BOUND_MS);
    });
  }

  for (const interpreted of [false, true]) {
    it(`patternProperties (${interpreted ? 'interpreted' : 'compiled'} check)`, () => {
      const schema = { type: 'object', patternProperties: { [nested]: { type: 'integer' } } };
      const { found, ms } = timedCheck(contractWith('3.1.0', schema), { [crafted]: 'x', aaa: 'y' }, interpreted);
      expect(found).toEqual(['/aaa type']);
      expect(ms).toBeLessThan(EVENT_LOOP_BOUND_MS);
    });
  }

  for (const attack of attacks) {
    it(`${attack.name} (interpreted check)`, () => {
      const { found, ms } = timedCheck(contractWith(attack.openapi, attack.schema), attack.answer, true);
      expect(found).toEqual(attack.found);
      expect(ms).toBeLessThan(EVENT_LOOP_BOUND_MS);
    });
  }
});
