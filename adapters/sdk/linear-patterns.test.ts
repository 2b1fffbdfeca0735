import { describe, expect, it } from 'vitest';
import { compileContract } from './contract-validation.js';
import { linearPattern, linearPatternProblem, toRe2Syntax } from './linear-patterns.js';

/** Patterns with what JavaScript (`u` flag) answers for each sample: the linear engine must agree. */
const AGREEMENT: [string, string[]][] = [
  ['^\\d{1,9}(\\.\\d{1,2})?$', ['12.5', '1234567890', '1.234', '', '١٢']],
  ['^[\\u4e00-\\u9fa5]{2,4}$', ['张三', '张', 'Zhang', '欧阳娜娜', '欧阳娜娜娜']],
  ['^\\d{17}[\\dX]$', ['11010519491231002X', '11010519491231002x', '110105194912310021']],
  ['^\\S+$', ['张\u3000三', '张三', 'a\u00a0b', 'a\tb']],
  ['^\\s*$', ['\u3000 \t', '', 'x']],
  ['^[\\s,]+$', ['\u3000,', ',,', 'a']],
  ['^.$', ['\r', '\n', '\u2028', 'a', '😀', '中']],
  ['^\\p{Script=Han}+$', ['中国', 'China']],
  ['^\\p{sc=Han}\\P{L}$', ['中1', '中a']],
  ['^\\p{Lu}', ['Abc', 'abc']],
  ['^\\w+@\\w+\\.cn$', ['a@b.cn', 'a@b.com', '中@b.cn']],
  ['^[^\\]]+$', ['abc', 'a]c']],
  ['^a$', ['a\n', 'a']],
  ['ab|cd', ['xxcdxx', 'ac']],
  ['^\\u{1F600}$', ['😀', 'x']],
  ['^(?<year>\\d{4})年(\\d{2})月(\\d{2})日$', ['2019年05月20日', '2019-05-20']],
  ['^\\/path\\/[a-z-]+$', ['/path/a-b', '/path/A']],
  ['^[\\S]+$', ['a\u3000b', 'ab', '中文']],
  ['^[^\\S\\r\\n]+$', ['\u00a0', '\u3000 ', '\r', 'a']],
  ['^\\uD83D\\uDE00$', ['😀', '\ud83d']],
  ['^[\\uD83D\\uDE00]$', ['😀', 'a']],
  ['^a[^]b$', ['a\nb', 'ab']],
  ['^a[]?b$', ['ab', 'axb']],
];

describe('patterns matched in linear time', () => {
  it.each(AGREEMENT)('%s means what it means to JavaScript', (pattern, samples) => {
    const native = new RegExp(pattern, 'u');
    for (const sample of samples)
      expect([sample, linearPattern(pattern).test(sample)]).toEqual([sample, native.test(sample)]);
  });

  it('answers nested quantifiers on crafted input at once (a backtracking engine takes seconds)', () => {
    // Linear: a million characters are matched with no more work than a few scans.
    const crafted = `${'a'.repeat(1_000_000)}!`;
    expect(linearPattern('^(a+)+$').test(crafted)).toBe(false);
    expect(linearPattern('^(a|aa)+$').test(crafted)).toBe(false);
    expect(linearPattern('^\\s*a*\\s*a*\\s*a*$').test(crafted)).toBe(false);
    expect(linearPattern('^(a+)+$').test('aaaa')).toBe(true);
  });

  it('says why a pattern cannot be matched in linear time, or is no pattern', () => {
    expect(linearPatternProblem('^\\d{1,9}(\\.\\d{1,2})?$')).toBeUndefined();
    expect(linearPatternProblem('^(a+)+$')).toBeUndefined();
    expect(linearPatternProblem('^(a)\\1$')).toMatch(/backreferences/);
    expect(linearPatternProblem('^(?=.*\\d)\\w+$')).toMatch(/lookahead/);
    expect(linearPatternProblem('(?<=a)b')).toMatch(/lookbehind/);
    expect(linearPatternProblem('^(?<a>x)\\k<a>$')).toMatch(/backreference/);
    expect(linearPatternProblem('a[ab]{1000}c')).toMatch(/1004 automaton instructions/);
    expect(linearPatternProblem(`^(?:${'w|'.repeat(1_500)}z)$`)).toMatch(/longer than/);
    expect(linearPatternProblem('a{1,5000}')).toMatch(/linear/);
    expect(linearPatternProblem('(unclosed')).toMatch(/^not a regular expression/);
  });

  it('rewrites only what RE2 reads differently', () => {
    expect(toRe2Syntax('^[a-z]\\d+$')).toBe('^[a-z]\\d+$');
    expect(toRe2Syntax('a.b')).toContain('[^\\n\\r');
    expect(toRe2Syntax('[.]')).toBe('[.]');
    expect(toRe2Syntax('\\.')).toBe('\\.');
  });
});

describe('patterns in compiled checks', () => {
  it('keeps each pattern of one schema its own (Ajv shares patterns by their text)', () => {
    const schema = {
      type: 'object',
      properties: {
        job: { type: 'string', pattern: '^job_[0-9a-z]{8}$' },
        id: { type: 'string', pattern: '^\\d{17}[\\dX]$' },
      },
    };
    const document = {
      openapi: '3.1.0',
      info: { title: 'Two patterns', version: '1.0.0' },
      paths: {
        '/a': {
          get: {
            operationId: 'getA',
            responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } },
          },
        },
      },
    };
    const contract = compileContract(document, { department: 'T', resourceCode: 't.a', version: '1.0.0' });
    expect(contract.check('getA', 200, { job: 'job_abcdefgh', id: '11010519491231002X' })).toBeNull();
    expect(contract.check('getA', 200, { job: '11010519491231002X', id: 'job_abcdefgh' })).toEqual([
      { path: '/job', keyword: 'pattern' },
      { path: '/id', keyword: 'pattern' },
    ]);
  });
});
