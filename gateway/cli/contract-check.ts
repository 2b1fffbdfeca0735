/**
 * `npm run contracts:check [file …] [--previous <file>]`: checks contract documents offline with
 * the checks publication makes — size, YAML/JSON well-formedness, key and operation limits, local
 * `$ref`s only, OpenAPI 3.0/3.1 validity, a semantic `info.version`, a document later versions can
 * be compared with, and catalogue data (`info.x-onewindow-catalogue`). With `--previous` the
 * document is also diffed against the version before it, and breaking changes without a major
 * version bump are refused as `POST /v1/contracts` refuses them. Without files it checks every
 * department contract under contracts/. Exits 1 listing the problems, 0 when all pass.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../platform/errors.js';
import { resolveCatalogueData } from '../contracts/catalogue-data.js';
import { ContractDiffError, breakingChanges, diffContracts } from '../contracts/diff.js';
import { type ParsedContractDocument, readContractDocument } from '../contracts/document.js';
import { findContractFiles } from '../contracts/repository.js';
import { compareSemver, parseSemver } from '../contracts/semver.js';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const contractsDirectory = fileURLToPath(new URL('../../contracts', import.meta.url));

export interface ContractCheckProblem {
  /** The stable code publication would answer with, e.g. `contract_invalid`, `contract_breaking_change`. */
  code: string;
  path: string;
  message: string;
}

export interface ContractFileReport {
  file: string;
  version?: string;
  problems: ContractCheckProblem[];
  /** Changes against `--previous`, breaking ones first. */
  changes: { code: string; severity: string; where: string; message: string }[];
}

function problemsOf(error: unknown): ContractCheckProblem[] {
  if (error instanceof ApiError) {
    const listed = Array.isArray(error.extras.errors)
      ? (error.extras.errors as { path?: unknown; message?: unknown }[])
      : [];
    if (listed.length === 0) return [{ code: error.code, path: '(document)', message: error.message }];
    return [
      { code: error.code, path: '(document)', message: error.message },
      ...listed.map((item) => ({
        code: error.code,
        path: String(item.path ?? '(document)'),
        message: String(item.message ?? ''),
      })),
    ];
  }
  if (error instanceof ContractDiffError)
    return [{ code: 'contract_invalid', path: '(document)', message: error.message }];
  throw error;
}

async function read(file: string): Promise<{ parsed?: ParsedContractDocument; problems: ContractCheckProblem[] }> {
  try {
    const parsed = await readContractDocument(await readFile(file, 'utf8'));
    return { parsed, problems: [] };
  } catch (error) {
    return { problems: problemsOf(error) };
  }
}

/** Checks one document (and, with `previousFile`, its change from the version before). */
export async function checkContractFile(
  file: string,
  options: { previousFile?: string; catalogue?: boolean } = {},
): Promise<ContractFileReport> {
  const report: ContractFileReport = { file, problems: [], changes: [] };
  const { parsed, problems } = await read(file);
  report.problems.push(...problems);
  if (!parsed) return report;
  report.version = parsed.version;
  if (options.catalogue !== false) {
    try {
      resolveCatalogueData(parsed.document, undefined);
    } catch (error) {
      report.problems.push(...problemsOf(error));
    }
  }
  if (options.previousFile === undefined) return report;
  const previous = await read(options.previousFile);
  if (!previous.parsed) {
    report.problems.push(
      ...previous.problems.map((problem) => ({ ...problem, path: `${options.previousFile}: ${problem.path}` })),
    );
    return report;
  }
  const before = parseSemver(previous.parsed.version);
  const after = parseSemver(parsed.version);
  if (!before || !after) return report;
  if (compareSemver(after, before) <= 0) {
    const code = compareSemver(after, before) === 0 ? 'contract_version_exists' : 'contract_version_not_newer';
    report.problems.push({
      code,
      path: '/info/version',
      message: `${parsed.version} is not greater than the previous version ${previous.parsed.version}`,
    });
  }
  let changes;
  try {
    changes = diffContracts(previous.parsed.document, parsed.document);
  } catch (error) {
    report.problems.push(...problemsOf(error));
    return report;
  }
  const where = (change: (typeof changes)[number]) =>
    [change.location.method, change.location.path, change.location.pointer]
      .filter((part) => part !== undefined)
      .join(' ') || '(document)';
  const ordered = [...breakingChanges(changes), ...changes.filter((change) => change.severity !== 'breaking')];
  report.changes = ordered.map((change) => ({
    code: change.code,
    severity: change.severity,
    where: where(change),
    message: change.message,
  }));
  const breaking = breakingChanges(changes);
  if (breaking.length > 0 && after.major === before.major) {
    report.problems.push({
      code: 'contract_breaking_change',
      path: '/info/version',
      message: `${breaking.length} breaking change(s) without raising the major version; publish ${before.major + 1}.0.0 or undo them`,
    });
  }
  return report;
}

function argumentsOf(argv: string[]): { files: string[]; previousFile?: string; catalogue: boolean } {
  const files: string[] = [];
  let previousFile: string | undefined;
  let catalogue = true;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--previous') {
      previousFile = argv[index + 1];
      index += 1;
    } else if (argument === '--no-catalogue') {
      catalogue = false;
    } else {
      files.push(argument);
    }
  }
  return { files, previousFile, catalogue };
}

async function main(): Promise<number> {
  const { files: named, previousFile, catalogue } = argumentsOf(process.argv.slice(2));
  if (previousFile !== undefined && named.length !== 1) {
    process.stderr.write(
      'usage: npm run contracts:check [file …] [--no-catalogue] | npm run contracts:check <file> --previous <file>\n',
    );
    return 2;
  }
  const files = named.length > 0 ? named : await findContractFiles(contractsDirectory);
  let failed = 0;
  for (const file of files) {
    const report = await checkContractFile(file, { previousFile, catalogue });
    const name = relative(repositoryRoot, file) || file;
    for (const change of report.changes)
      process.stdout.write(`  ${change.severity.padEnd(10)} ${change.code} at ${change.where}\n`);
    if (report.problems.length === 0) {
      process.stdout.write(`ok   ${name}${report.version ? ` ${report.version}` : ''}\n`);
      continue;
    }
    failed += 1;
    process.stdout.write(`FAIL ${name}\n`);
    for (const problem of report.problems)
      process.stdout.write(`  ${problem.code} ${problem.path}: ${problem.message}\n`);
  }
  process.stdout.write(`${files.length - failed} of ${files.length} contract(s) pass the publication checks\n`);
  return failed > 0 ? 1 : 0;
}

// Run only as a command, so tests can import the check.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
