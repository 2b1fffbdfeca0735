/**
 * Every relative link in the README, docs/*.md, adapters/README.md and bench/README.md leads
 * somewhere: the file exists, and an anchor into a Markdown page names one of its headings (GitHub's
 * slugs). Pages move (issue 19
 * moved most of the README into docs/), and a link that silently breaks is a newcomer lost.
 * Links in code blocks and inline code are examples, not links, and are skipped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Pages another branch is adding, linked here ahead of its merge; once a page exists it is checked
 * like any other. docs/operations.md: the deployment and production checklist (Docker, compose, systemd).
 */
const PAGES_BEING_ADDED = new Set(['docs/operations.md']);

/** The README, the docs pages, and the two guides beside the code that link into them. */
const pages = [
  'README.md',
  'adapters/README.md',
  'bench/README.md',
  ...readdirSync(join(repositoryRoot, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The Markdown without fenced code blocks and inline code, whose brackets are not links. */
function proseOf(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
  for (const [, text] of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const slug = (text ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  page: string;
  target: string;
}

function relativeLinks(page: string): Link[] {
  const prose = proseOf(readFileSync(join(repositoryRoot, page), 'utf8'));
  const links: Link[] = [];
  for (const [, target] of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (target === undefined || /^[a-z][a-z+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    links.push({ page, target });
  }
  return links;
}

/** Why the link does not lead anywhere, or null when it does. */
function problemWith({ page, target }: Link): string | null {
  const [pathPart = '', anchor] = target.split('#', 2);
  const pagePath = join(repositoryRoot, page);
  const file = pathPart === '' ? pagePath : resolve(dirname(pagePath), decodeURI(pathPart));
  const fromRoot = relative(repositoryRoot, file);
  if (fromRoot.startsWith('..')) return 'points outside the repository';
  if (!existsSync(file)) return PAGES_BEING_ADDED.has(fromRoot) ? null : `${fromRoot} does not exist`;
  if (anchor === undefined || anchor === '' || !file.endsWith('.md') || statSync(file).isDirectory()) return null;
  const anchors = headingAnchors(readFileSync(file, 'utf8'));
  return anchors.has(decodeURIComponent(anchor).toLowerCase()) ? null : `${fromRoot} has no heading #${anchor}`;
}

describe('links in the README and docs/', () => {
  it('finds the pages and their links', () => {
    expect(pages).toEqual(
      expect.arrayContaining(['README.md', 'docs/walk-through.md', 'docs/configuration.md', 'docs/security.md']),
    );
    const readmeLinks = relativeLinks('README.md').map((link) => link.target);
    // The README's "Where to read more" list names every reference page.
    const referencePages = ['configuration', 'departments', 'security', 'running', 'capabilities', 'testing', 'layout'];
    for (const page of [...referencePages, 'walk-through', 'operations']) {
      expect(readmeLinks).toContain(`docs/${page}.md`);
    }
  });

  it('names no file outside the repository (the design notes live elsewhere), not even as code', () => {
    for (const page of pages) {
      expect(readFileSync(join(repositoryRoot, page), 'utf8'), page).not.toMatch(/\.\.\/shared\//);
    }
  });

  it('computes anchors as GitHub does', () => {
    const anchors = headingAnchors(
      [
        '## Walk-through: a case from a town window to its county',
        '### Attacks: `npm run test:security`',
        '## Cases',
        '## Cases',
      ].join('\n'),
    );
    expect([...anchors]).toEqual([
      'walk-through-a-case-from-a-town-window-to-its-county',
      'attacks-npm-run-testsecurity',
      'cases',
      'cases-1',
    ]);
  });

  it('every relative link points to an existing file, and every anchor to a heading there', () => {
    const broken = pages
      .flatMap(relativeLinks)
      .map((link) => ({ link, problem: problemWith(link) }))
      .filter(({ problem }) => problem !== null)
      .map(({ link, problem }) => `${link.page}: (${link.target}) ${problem}`);
    expect(broken).toEqual([]);
  });
});
