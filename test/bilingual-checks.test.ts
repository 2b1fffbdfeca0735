/**
 * Every input check of ours says what is wrong in Chinese too (docs/messages.md, "Not in the
 * catalogues yet"): a `.regex()`, `.refine()`, `.min()`… given an English text of its own writes it
 * with `bilingualCheck(en, zh)`, and a custom issue with `bilingualIssue(en, zh)`. A bare text
 * would answer zod's generic `无效输入` as `messageZh`. The test reads the gateway's source with the
 * TypeScript parser and lists every check whose text is a bare string.
 *
 * Left out: the operator's configuration (read at start, logged, never answered to a request).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repository = resolve(import.meta.dirname, '..');

const CONFIGURATION = new Set([
  'gateway/config.ts',
  'gateway/departments/config.ts',
  'gateway/notifications/config.ts',
  'gateway/results/courier-config.ts',
  'gateway/platform/content-digest.ts',
]);

/** zod's methods that take an error text after their own argument. */
const CHECKS_WITH_TEXT = new Set([
  'regex',
  'refine',
  'min',
  'max',
  'length',
  'gt',
  'gte',
  'lt',
  'lte',
  'startsWith',
  'endsWith',
  'includes',
  'nonempty',
]);

function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (/\.ts$/.test(name) && !/\.test\.ts$/.test(name)) found.push(path);
  }
  return found;
}

const isText = (node: ts.Node): boolean =>
  ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node);

/** An object literal with a `message` or `error` member written as text: `{ message: 'bad' }`. */
const hasTextMember = (node: ts.Node): boolean =>
  ts.isObjectLiteralExpression(node) &&
  node.properties.some(
    (member) =>
      ts.isPropertyAssignment(member) &&
      ts.isIdentifier(member.name) &&
      (member.name.text === 'message' || member.name.text === 'error') &&
      isText(member.initializer),
  );

/** `file:line method(…)` of every check whose own text is a bare string. */
function bareChecks(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(join(repository, 'gateway'))) {
    const name = relative(repository, file);
    if (CONFIGURATION.has(name)) continue;
    const text = readFileSync(file, 'utf8');
    if (!/\bzod\b/.test(text)) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const method = node.expression.name.text;
        const [first, ...rest] = node.arguments;
        const bare =
          (CHECKS_WITH_TEXT.has(method) && rest.some((argument) => isText(argument) || hasTextMember(argument))) ||
          (method === 'addIssue' && first !== undefined && hasTextMember(first));
        if (bare) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          found.push(`${name}:${line + 1} ${method}(…)`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('input checks in both languages', () => {
  it('writes every check text of ours with its Chinese', () => {
    expect(bareChecks()).toEqual([]);
  });
});
