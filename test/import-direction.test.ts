/**
 * Imports run one way (issue 20, "the house"): a capability imports the platform, the database
 * layer and the configuration; those never import a capability, and nothing below the top imports
 * the composition root. The test reads every import and export of the gateway's source with the
 * TypeScript parser, type-only ones included: a type import is still a dependency a reader must
 * follow, and it is how the old 45-file cycle through platform/services.ts was held together.
 *
 * Layers, bottom to top:
 * - foundation: gateway/platform/, gateway/db/ and gateway/config.ts (config.ts uses the parsers
 *   that capabilities own for their part of the configuration, e.g. departments/config.ts; those
 *   must not import config.ts back, which the cycle check below enforces);
 * - capabilities: every other folder under gateway/ (auth, cases, items, operations, …);
 * - the top: gateway/services.ts (the composition root), app.ts, server.ts, main.ts, and the
 *   entry points in cli/.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repository = resolve(import.meta.dirname, '..');
const gatewayFolder = join(repository, 'gateway');

interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) found.push(path);
  }
  return found;
}

/** `./x.js` written in TypeScript source names `./x.ts` or `./x.tsx`. */
function resolveSpecifier(file: string, specifier: string): string {
  const base = resolve(dirname(file), specifier).replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return relative(repository, candidate);
    } catch {
      // not this one
    }
  }
  return relative(repository, base);
}

function isTypeOnly(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(statement)) return statement.isTypeOnly;
  const clause = statement.importClause;
  if (!clause) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return (
    !clause.name &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

function importEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(gatewayFolder)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    const visit = (node: ts.Node): void => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        const specifier = node.moduleSpecifier.text;
        if (specifier.startsWith('.'))
          edges.push({
            from: relative(repository, file),
            to: resolveSpecifier(file, specifier),
            typeOnly: isTypeOnly(node),
          });
      }
      // `declare module '../platform/context.js'` augments a lower layer: a dependency of this file on it.
      if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name) && node.name.text.startsWith('.')) {
        edges.push({ from: relative(repository, file), to: resolveSpecifier(file, node.name.text), typeOnly: true });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

type Layer = 'foundation' | 'capability' | 'top' | 'outside';

function layerOf(path: string): Layer {
  if (!path.startsWith('gateway/')) return 'outside';
  const inside = path.slice('gateway/'.length);
  if (inside === 'config.ts' || inside.startsWith('platform/') || inside.startsWith('db/')) return 'foundation';
  if (!inside.includes('/') || inside.startsWith('cli/')) return 'top';
  return 'capability';
}

/** Strongly connected components of more than one file (Tarjan), i.e. the import cycles. */
function cycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const connect = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of next.get(file) ?? []) {
      if (!index.has(target)) {
        connect(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (next.get(file) ?? []).includes(file)) found.push(component.sort());
    }
  };
  for (const file of next.keys()) if (!index.has(file)) connect(file);
  return found;
}

const describeEdge = (edge: ImportEdge) => `${edge.from} → ${edge.to}${edge.typeOnly ? ' (type only)' : ''}`;

describe('imports run one way', () => {
  const edges = importEdges();

  it('reads the whole gateway (the parser found the imports)', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges.some((edge) => edge.from === 'gateway/app.ts' && edge.to === 'gateway/services.ts')).toBe(true);
  });

  it('the foundation (platform/, db/, config.ts) imports no capability and not the top', () => {
    const upward = edges.filter(
      (edge) =>
        layerOf(edge.from) === 'foundation' && edge.from !== 'gateway/config.ts' && layerOf(edge.to) !== 'foundation',
    );
    expect(upward.map(describeEdge)).toEqual([]);
  });

  it('config.ts imports only configuration parsers and the foundation', () => {
    const parsers = edges.filter((edge) => edge.from === 'gateway/config.ts' && layerOf(edge.to) !== 'foundation');
    expect(parsers.map(describeEdge).filter((line) => !/\/(config|courier-config)\.ts/.test(line))).toEqual([]);
  });

  it('no capability imports the composition root, the app or an entry point', () => {
    const upward = edges.filter((edge) => layerOf(edge.from) === 'capability' && layerOf(edge.to) === 'top');
    expect(upward.map(describeEdge)).toEqual([]);
  });

  it('there is no import cycle, type-only imports included', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('the gateway links no department adapter in: the shipped adapter packages are loaded from the departments file', () => {
    const shippedPackage = /^(adapters\/(psb-population|amr-enterprise|nrb-realestate)|packages)\//;
    expect(edges.filter((edge) => shippedPackage.test(edge.to)).map(describeEdge)).toEqual([]);
  });

  it('the checks can fail: a cycle and an upward import are found in a made-up graph', () => {
    const madeUp: ImportEdge[] = [
      { from: 'gateway/platform/a.ts', to: 'gateway/cases/b.ts', typeOnly: true },
      { from: 'gateway/cases/b.ts', to: 'gateway/platform/a.ts', typeOnly: false },
    ];
    expect(cycles(madeUp)).toEqual([['gateway/cases/b.ts', 'gateway/platform/a.ts']]);
    expect(
      madeUp.filter((edge) => layerOf(edge.from) === 'foundation' && layerOf(edge.to) !== 'foundation'),
    ).toHaveLength(1);
  });
});
