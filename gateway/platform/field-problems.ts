/**
 * What is wrong with one field, in English and in Simplified Chinese: the entries of a problem's
 * `errors[]` (`{ path, message, messageZh }`), read by the clerk at the window and the integrator.
 *
 * zod words its own issues (a missing field, a number too large) in Chinese through its zh-CN
 * locale. A check of ours (`.regex(re, text)`, `.refine(fn, text)`) says what is wrong in words
 * that locale cannot know, so it is written `bilingualCheck(en, zh)`: zod gets the English, and
 * the Chinese is recorded under it for `issueInChinese`. The table holds the texts written in
 * the schemas, once each, when their modules load. A text built per value (a refinement naming
 * the date it refuses) carries its Chinese in the issue instead (`bilingualIssue`), so requests
 * never grow the table. A problem found outside zod is written `fieldProblem(path, en, zh)`.
 */
import { z } from 'zod';

/** One entry of a problem's `errors[]`. */
export interface FieldProblem {
  /** The field, dotted (`contact.mobile`), or the whole in brackets (`(root)`, `(body)`, `(document)`). */
  path: string;
  /** What is wrong, in English. */
  message: string;
  /** What is wrong, in Simplified Chinese. */
  messageZh: string;
}

/** A zod issue as far as it is read here (`params` is set by a custom issue only). */
export interface CheckIssue {
  path: PropertyKey[];
  message: string;
  params?: Record<string, unknown>;
}

/** The Chinese of each check's English text, as the schemas wrote them. */
const chineseOfCheck = new Map<string, string>();

/**
 * The English text of a check of ours, for zod (`.regex(re, bilingualCheck(en, zh))`), with its
 * Chinese recorded for the answer's `messageZh`. One English text has one Chinese: writing it
 * again with other Chinese is a mistake, refused when the module loads.
 */
export function bilingualCheck(en: string, zh: string): string {
  const recorded = chineseOfCheck.get(en);
  if (recorded !== undefined && recorded !== zh) {
    throw new Error(`bilingualCheck: "${en}" is already "${recorded}" in Chinese, not "${zh}"`);
  }
  chineseOfCheck.set(en, zh);
  return en;
}

/**
 * The members of a custom issue whose text is built per value, for `context.addIssue({ code:
 * 'custom', path, ...bilingualIssue(en, zh) })`: the Chinese travels in the issue's `params`.
 */
export function bilingualIssue(en: string, zh: string): { message: string; params: { messageZh: string } } {
  return { message: en, params: { messageZh: zh } };
}

/** An `errors[]` entry for a problem found by hand, outside zod. */
export function fieldProblem(path: string, en: string, zh: string): FieldProblem {
  return { path, message: en, messageZh: zh };
}

/** zod's own wording in Simplified Chinese (its zh-CN locale), for any issue it raised. */
const chineseIssueText = z.locales.zhCN().localeError;

/**
 * What is wrong with one field in Chinese: the Chinese the issue carries, else the recorded
 * Chinese of its English text, else zod's wording of the issue's kind.
 */
export function issueInChinese(issue: CheckIssue): string {
  const carried = issue.params?.['messageZh'];
  if (typeof carried === 'string') return carried;
  const recorded = chineseOfCheck.get(issue.message);
  if (recorded !== undefined) return recorded;
  const worded = chineseIssueText(issue as unknown as Parameters<typeof chineseIssueText>[0]);
  const text = typeof worded === 'string' ? worded : worded?.message;
  return text || '无效输入';
}

/** zod's issues as `errors[]` entries; `whole` names a problem of the value as a whole. */
export function fieldProblemsOf(issues: readonly CheckIssue[], whole = '(root)'): FieldProblem[] {
  return issues.map((issue) =>
    fieldProblem(issue.path.map(String).join('.') || whole, issue.message, issueInChinese(issue)),
  );
}
