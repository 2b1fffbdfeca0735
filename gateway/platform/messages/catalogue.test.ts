import { IntlMessageFormat } from 'intl-messageformat';
import { describe, expect, it } from 'vitest';
import { ApiError, bilingualError, errorCatalogue, problemDocument } from '../errors.js';
import { LANGUAGES, type Language } from '../language.js';
import { catalogues, compiledMessage, formatMessage, message } from './catalogue.js';

const CHINESE = /[\u4e00-\u9fff]/;

interface MessageNode {
  type: number;
  value?: unknown;
  options?: Record<string, { value: MessageNode[] }>;
  children?: MessageNode[];
}

/** The argument names an ICU message uses, however deeply nested in plurals and selects. */
function argumentsOf(text: string, language: Language, paired = true): string[] {
  const names = new Set<string>();
  const walk = (nodes: MessageNode[]): void => {
    for (const node of nodes) {
      // 0 is literal text and 7 the `#` of a plural branch; every other element names an argument.
      // A name in the language's own words pairs with the English one: {itemNameZh} with {itemName}.
      if (node.type !== 0 && node.type !== 7 && typeof node.value === 'string')
        names.add(paired ? node.value.replace(/Zh$/, '') : node.value);
      for (const option of Object.values(node.options ?? {})) walk(option.value);
      if (node.children) walk(node.children);
    }
  };
  walk(new IntlMessageFormat(text, language).getAst() as MessageNode[]);
  return [...names].sort();
}

type Catalogue = Readonly<Record<string, string>>;

/** What is wrong between the catalogues: a key missing in a language, or arguments that differ. */
function catalogueProblems(byLanguage: Readonly<Record<Language, Catalogue>>): string[] {
  const problems: string[] = [];
  const keys = new Set(LANGUAGES.flatMap((language) => Object.keys(byLanguage[language])));
  for (const key of keys) {
    const missing = LANGUAGES.filter((language) => byLanguage[language][key] === undefined);
    if (missing.length > 0) {
      problems.push(`${key}: no ${missing.join(', ')} text`);
      continue;
    }
    const [first, ...others] = LANGUAGES.map((language) => ({
      language,
      names: argumentsOf(byLanguage[language][key] as string, language).join(','),
    }));
    for (const other of others)
      if (other.names !== first?.names)
        problems.push(`${key}: ${first?.language} uses (${first?.names}), ${other.language} (${other.names})`);
    if (!CHINESE.test(byLanguage['zh-CN'][key] as string)) problems.push(`${key}: the zh-CN text has no Chinese`);
  }
  return problems;
}

describe('the message catalogues', () => {
  it('have every title and every detail in both languages, with the same arguments', () => {
    expect(catalogueProblems(catalogues.titles)).toEqual([]);
    expect(catalogueProblems(catalogues.details)).toEqual([]);
    expect(Object.keys(catalogues.titles.en).sort()).toEqual(Object.keys(errorCatalogue).sort());
    // Titles are fixed text: no arguments.
    for (const [code, title] of Object.entries(catalogues.titles.en))
      expect(argumentsOf(title, 'en'), code).toEqual([]);
  });

  it('notices a missing translation and arguments that differ (the check can fail)', () => {
    const problems = catalogueProblems({
      en: {
        a: 'Case {caseNumber} is {status}.',
        b: 'Only in English.',
        c: '{count, plural, one {# try} other {# tries}}',
      },
      'zh-CN': { a: '办件 {caseNumber} 当前状态为 {state}。', c: '已错 {count} 次', d: 'only here' },
    });
    expect(problems).toEqual([
      'a: zh-CN uses (caseNumber,state), en (caseNumber,status)',
      'd: no en text',
      'b: no zh-CN text',
    ]);
  });

  it('compiles a message once per language and formats plurals and numbers in the reader’s locale', () => {
    const key = 'case.proof_locked';
    expect(compiledMessage(key, 'en')).toBe(compiledMessage(key, 'en'));
    expect(compiledMessage(key, 'en')).not.toBe(compiledMessage(key, 'zh-CN'));
    expect(formatMessage(message(key, { minutes: 1 }), 'en')).toBe(
      'Too many wrong look-ups of this case number; try again in 1 minute.',
    );
    expect(formatMessage(message(key, { minutes: 3 }), 'en')).toBe(
      'Too many wrong look-ups of this case number; try again in 3 minutes.',
    );
    expect(formatMessage(message(key, { minutes: 3 }), 'zh-CN')).toBe('此办件编号查询错误次数过多，请 3 分钟后再试。');
  });

  it('formats every detail in both languages with its arguments filled', () => {
    for (const key of Object.keys(catalogues.details.en) as (keyof typeof catalogues.details.en)[]) {
      const names = LANGUAGES.flatMap((language) => argumentsOf(catalogues.details[language][key], language, false));
      const args = Object.fromEntries(names.map((name) => [name, 2]));
      for (const language of LANGUAGES) {
        const text = formatMessage({ key, args }, language);
        expect(text, `${key} ${language}`).not.toMatch(/[{}]/);
      }
    }
  });

  it('answers a problem detail in the request’s language, and a bilingual error carries both', () => {
    const error = new ApiError('rating_exists', message('rating.exists', { caseNumber: 'XA20261205000123' }));
    expect(problemDocument(error, 'req-1', undefined, 'zh-CN')).toMatchObject({
      title: '该办件已经评价过：每个办件只能评价一次',
      detail: '办件XA20261205000123已评价过，每件只能评价一次。',
    });
    expect(problemDocument(error, 'req-1', undefined, 'en').detail).toBe(
      'Case XA20261205000123 has been rated already; a case is rated once.',
    );
    expect(error.message).toBe('Case XA20261205000123 has been rated already; a case is rated once.');
    const both = bilingualError(
      'case_not_rateable',
      message('rating.case_not_rateable', { caseNumber: 'N1', status: 'in_progress' }),
    );
    expect(both.extras['message']).toEqual({
      zh: '办件N1当前状态为“办理中”，办结后才能评价。',
      en: 'Case N1 is in_progress: only a completed case is rated.',
    });
  });
});
