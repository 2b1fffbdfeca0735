/**
 * Attacks on the schema interpreter (adapters/sdk/schema-interpreter.ts) through the real entry
 * point, `compileContract`: `{ maxCompiledSchemaNodes: 0 }` forces the interpreter, the default
 * compiles small schemas with Ajv to compare. Each test asserts the GOOD outcome, so it fails
 * while the hole it names is open; the figure measured when it was written is in its comment.
 *
 * 1. Cost (issue 18): a contract publication accepts (`readContractDocument`, which runs
 *    `checkCostProblems`) and an answer of at most ~100 KB that holds the event loop longer than
 *    100 ms in one check (best of 3, the first included: it reads the schema's nodes). Refusing the
 *    answer as uncheckable is a good outcome too, if it is quick.
 * 2. Verdicts: answers the interpreter judges otherwise than JSON Schema 2020-12 (its test suite's
 *    cases where there is one), or refuses while Ajv checks them, and inputs that crash.
 */
import { describe, expect, it } from 'vitest';
import { compileContract } from '../adapters/sdk/contract-validation.js';
import { UncheckableAnswer } from '../adapters/sdk/schema-interpreter.js';
import { checkCostProblems } from '../gateway/contracts/check-cost.js';
import { readContractDocument } from '../gateway/contracts/document.js';
import { ApiError } from '../gateway/platform/errors.js';

type Json = Record<string, unknown>;

const EVENT_LOOP_BOUND_MS = 100;
const ANSWER_BOUND_BYTES = 100_000;
const meta = { department: 'TEST', resourceCode: 'test.attack', version: '1.0.0' };

function contractWith(schema: unknown, schemas: Json = {}, openapi = '3.1.0'): Json {
  return {
    openapi,
    info: { title: 'Attack', version: '1.0.0' },
    paths: {
      '/thing': {
        get: {
          operationId: 'getThing',
          responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } },
        },
      },
    },
    components: { schemas },
  };
}

/** Publication accepts the document (the gate's own checks, the cost check among them). */
/** A contract whose answer schema is a chain of `levels` one-branch `anyOf`s, each a `$ref` to the next. */
function refChain(levels: number): Json {
  const schemas: Json = {};
  for (let level = 0; level < levels; level += 1)
    schemas[`L${level}`] = { anyOf: [{ $ref: `#/components/schemas/L${level + 1}` }] };
  schemas[`L${levels}`] = { type: 'object' };
  return contractWith({ $ref: '#/components/schemas/L0' }, schemas);
}

async function expectPublishable(document: Json): Promise<void> {
  expect(checkCostProblems(document)).toEqual([]);
  // As a department sends it: compact JSON text.
  await expect(readContractDocument(JSON.stringify(document))).resolves.toBeDefined();
}

type Outcome = 'valid' | 'invalid' | 'uncheckable' | `crash: ${string}`;

function outcomeOf(check: () => unknown): Outcome {
  try {
    return check() === null ? 'valid' : 'invalid';
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof UncheckableAnswer) return 'uncheckable';
    return `crash: ${(cause as Error | undefined)?.message ?? (error as Error).message}`;
  }
}

function interpreted(document: Json) {
  const contract = compileContract(document, meta, { maxCompiledSchemaNodes: 0 });
  return (answer: unknown) => outcomeOf(() => contract.check('getThing', 200, answer));
}

function byAjv(document: Json) {
  const contract = compileContract(document, meta);
  return (answer: unknown) => outcomeOf(() => contract.check('getThing', 200, answer));
}

/** The shortest of three first checks, each of a fresh contract (`documentFor(run)` differs per run). */
function bestFirstCheckMs(documentFor: (run: number) => Json, answer: unknown): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run += 1) {
    const check = interpreted(documentFor(run));
    const started = performance.now();
    const outcome = check(answer);
    best = Math.min(best, performance.now() - started);
    expect(outcome).not.toMatch(/^crash/);
  }
  console.info(`interpreter attack, first check: best of 3 ${best.toFixed(1)} ms`);
  return best;
}

/** The shortest of three checks of `answer` on a freshly compiled contract (the first reads nodes). */
function bestOfThreeMs(document: Json, answer: unknown): number {
  expect(JSON.stringify(answer).length).toBeLessThanOrEqual(ANSWER_BOUND_BYTES);
  const check = interpreted(document);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    const outcome = check(answer);
    best = Math.min(best, performance.now() - started);
    // Whatever the verdict, never a crash.
    expect(outcome).not.toMatch(/^crash/);
  }
  console.info(`interpreter attack: best of 3 ${best.toFixed(1)} ms`);
  return best;
}

const repeat = <T>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, i) => make(i));

describe('cost: one check of a ~100 KB answer holds the event loop at most 100 ms', { timeout: 120_000 }, () => {
  it('64 steps per value: an anyOf of 62 failing branches over 50,000 one-byte items', async () => {
    // Measured best of 3: 84–110 ms over four runs (marginal: passes or fails by a few ms; first
    // checks 210–250 ms). The budget grants 64 steps per value: 3.3 M steps
    // for 50,000 values, and the interpreter's own figure is 100,000 steps per 10–30 ms.
    const branches: unknown[] = repeat(62, (index) => ({ type: 'string', minLength: index }));
    branches.push({ type: 'number' });
    const document = contractWith({ type: 'array', items: { anyOf: branches } });
    await expectPublishable(document);
    expect(
      bestOfThreeMs(
        document,
        repeat(49_999, () => 0),
      ),
    ).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });

  it('enum of objects: the canonical text of one 100 KB value is built again for each of 1,000 branches', async () => {
    // Measured best of 3: 11,800–19,100 ms. Each branch's `enum` rebuilds canonicalText of the whole array
    // (~19 ms), counted as 3,125 steps; 1,000 branches fit the 3.3 M-step budget.
    const branches: unknown[] = repeat(1_000, (index) => ({ enum: [[index]] }));
    branches.push({});
    const document = contractWith({ anyOf: branches });
    await expectPublishable(document);
    expect(
      bestOfThreeMs(
        document,
        repeat(49_999, () => 0),
      ),
    ).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });

  it('unevaluatedProperties: a chain of 200 one-branch anyOfs copies 9,000 evaluated names at each level', async () => {
    // Measured best of 3: 690–1,100 ms (200 levels, 9,000 names; 300 levels took 1.8–2.1 s but publication
    // refuses them: the OpenAPI validator's dereference depth). mergeEvaluated copies the branch's
    // property set into its parent's, uncounted: 200 × 9,000 = 1.8 M insertions for ~20,000 steps.
    const schemas: Json = {};
    const levels = 200;
    for (let level = 0; level < levels; level += 1)
      schemas[`L${level}`] = { anyOf: [{ $ref: `#/components/schemas/L${level + 1}` }] };
    schemas[`L${levels}`] = { patternProperties: { '^k': {} } };
    const document = contractWith(
      { anyOf: [{ $ref: '#/components/schemas/L0' }], unevaluatedProperties: false },
      schemas,
    );
    await expectPublishable(document);
    const answer: Json = {};
    for (let index = 0; index < 9_000; index += 1) answer[`k${index}`] = 0;
    expect(bestOfThreeMs(document, answer)).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });

  it('patterns: 34 tests of a Unicode-class pattern over one 100 KB string', async () => {
    // Measured best of 3: 220–315 ms. A test costs 1 + length/32 steps (3,126) but re2js takes
    // ~5–8 ms per 100 KB with `\p{L}|\p{N}|\s` alternatives.
    const document = contractWith({ allOf: repeat(34, () => ({ pattern: '^(\\p{L}|\\p{N}|\\s)*$' })) });
    await expectPublishable(document);
    expect(bestOfThreeMs(document, 'a b '.repeat(24_990))).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });

  it('format url: one test of a 20 KB string (the regular expression backtracks quadratically)', async () => {
    // Measured best of 3: 220–300 ms (the format alone: 20 KB 390–670 ms, 50 KB 2.7–3.8 s). ajv-formats'
    // deprecated `url` is in the shared format table; Ajv runs the same expression.
    const document = contractWith({ type: 'string', format: 'url' });
    await expectPublishable(document);
    expect(bestOfThreeMs(document, `http://${'::'.repeat(10_000)}@`)).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });

  it('format regex: 30 tests of a 50 KB string compile it as a JavaScript regular expression each time', async () => {
    // Measured best of 3: 640–1,160 ms (one `new RegExp` of 50,000 "(": 60–90 ms, counted 1,564 steps).
    const document = contractWith({ allOf: repeat(30, () => ({ format: 'regex' })) });
    await expectPublishable(document);
    expect(bestOfThreeMs(document, '('.repeat(50_000))).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });
});

describe('cost: the first answer to a new contract holds the event loop at most 100 ms', { timeout: 120_000 }, () => {
  it('1,000 distinct patterns (the publication limit) compiled at one 11 KB answer', async () => {
    // Measured best of 3 first answers: 270–1,100 ms (later answers 13–70 ms).
    // Node reads are bounded (10,000 + one per value), but a node with a pattern compiles it: each
    // of these ~0.8 ms. Each run uses other patterns: compiled patterns are cached across contracts.
    const documentFor = (run: number) => {
      const properties: Json = {};
      for (let index = 0; index < 1_000; index += 1)
        properties[`p${index}`] = {
          type: 'string',
          pattern: `^(\\p{L}|\\p{N}|\\s|[${String.fromCharCode(0x4e00 + index)}-\\u9fff])*x{0,${run * 50 + (index % 50) + 1}}$`,
        };
      return contractWith({ type: 'object', properties });
    };
    await expectPublishable(documentFor(0));
    const answer: Json = {};
    for (let index = 0; index < 1_000; index += 1) answer[`p${index}`] = 'a';
    expect(bestFirstCheckMs(documentFor, answer)).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });

  it('one enum of 19,000 objects read (canonical texts) at a 23-byte answer', async () => {
    // Measured best of 3: 29 ms: this one holds (28,000 members took 235 ms, but check-cost
    // refuses that many values). One node
    // read, whatever its size: memberSetOf builds every member's canonical text.
    const documentFor = (run: number) =>
      contractWith({
        type: 'object',
        properties: { x: { enum: repeat(19_000, (index) => ({ a: index, b: run })) } },
      });
    await expectPublishable(documentFor(0));
    expect(bestFirstCheckMs(documentFor, { x: { a: 1, b: 0 } })).toBeLessThan(EVENT_LOOP_BOUND_MS);
  });
});

describe('verdicts: as JSON Schema 2020-12 reads them, never a crash', () => {
  it('unevaluatedProperties sees the annotations of a passing `if` (test suite: "with if/then/else")', () => {
    // JSON-Schema-Test-Suite draft2020-12 unevaluatedProperties.json, "unevaluatedProperties with
    // if/then/else", "when if is true and has no unevaluated properties": valid. Measured:
    // interpreter invalid (it drops the annotations of `if`); the schema is always interpreted
    // (ajvMisreads: if + unevaluatedProperties).
    const document = contractWith({
      type: 'object',
      if: { properties: { foo: { const: 'then' } }, required: ['foo'] },
      then: { properties: { bar: { type: 'string' } }, required: ['bar'] },
      else: { properties: { baz: { type: 'string' } }, required: ['baz'] },
      unevaluatedProperties: false,
    });
    expect(interpreted(document)({ foo: 'then', bar: 'bar' })).toBe('valid');
  });

  it('unevaluatedProperties sees the annotations of `if` without then/else (test suite)', () => {
    // draft2020-12 unevaluatedProperties.json, "unevaluatedProperties can see annotations from if
    // without then and else", "valid in case if is evaluated". Measured: interpreter invalid (Ajv
    // ignores `if` alone, and the interpreter follows it).
    const document = contractWith({
      if: { patternProperties: { foo: { type: 'string' } } },
      unevaluatedProperties: false,
    });
    expect(interpreted(document)({ foo: 'a' })).toBe('valid');
    expect(interpreted(document)({ bar: 'a' })).toBe('invalid');
  });

  it('contains marks only the items it matched evaluated (test suite: "depends on multiple nested contains")', () => {
    // draft2020-12 unevaluatedItems.json, "unevaluatedItems depends on multiple nested contains":
    // [2, 3, 4, 7, 8] is invalid (7 is matched by neither contains, and is no multiple of 5).
    // Measured: interpreter valid (a passing contains marks every item evaluated, as in Ajv).
    const document = contractWith({
      allOf: [{ contains: { multipleOf: 2 } }, { contains: { multipleOf: 3 } }],
      unevaluatedItems: { multipleOf: 5 },
    });
    const check = interpreted(document);
    expect(check([2, 3, 4, 5, 6])).toBe('valid');
    expect(check([2, 3, 4, 7, 8])).toBe('invalid');
  });

  it('`contains: true` evaluates every item, so unevaluatedItems: false holds', () => {
    // Every item meets `true`, so every item is in contains' annotation. Measured: interpreter
    // invalid (a schema every item meets "only counts items" and marks none evaluated).
    const document = contractWith({ contains: true, unevaluatedItems: false });
    expect(interpreted(document)([1])).toBe('valid');
  });

  it('a 2,000-deep tree of arrays (4 KB) that Ajv checks is not refused as uncheckable', () => {
    // Measured: interpreter uncheckable ("nests too deeply", from 2,000 levels of arrays in a
    // scratch run), Ajv valid. Arrays now nest as deep as objects in the interpreter (about 2,500
    // levels on Node's default stack; deeper answers are refused as uncheckable, Ajv's limit is
    // about 10,000).
    const document = contractWith(
      { $ref: '#/components/schemas/Tree' },
      { Tree: { type: 'array', items: { $ref: '#/components/schemas/Tree' } } },
    );
    let tree: unknown = [];
    for (let level = 0; level < 2_000; level += 1) tree = [tree];
    expect(byAjv(document)(tree)).toBe('valid');
    expect(interpreted(document)(tree)).toBe('valid');
  });

  it('publication refuses a 1,500-long $ref chain with ApiError, not a stack overflow', async () => {
    // Outside the interpreter, found on the way: 300 chained anyOf $refs make readContractDocument
    // reject with the OpenAPI validator's raw RangeError ("Maximum dereference depth (500)
    // exceeded"), and 1,500 make checkCostProblems itself overflow the stack.
    // The OpenAPI validator refuses the chain before the walk runs; either way a clear refusal.
    await expect(readContractDocument(refChain(1_500))).rejects.toBeInstanceOf(ApiError);
  });

  it('publication refuses a 300-long $ref chain with ApiError, not a raw RangeError', async () => {
    const refusal = await readContractDocument(refChain(300)).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (refusal !== undefined) expect(refusal).toBeInstanceOf(ApiError);
  });
});
