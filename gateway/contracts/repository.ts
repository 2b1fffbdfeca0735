/**
 * The repository's own contract files, `contracts/<department>/<name>.openapi.yaml|yml|json`,
 * published at start when their version is not yet in the catalogue (catalogue data from
 * `info.x-onewindow-catalogue`). Idempotent; a file that cannot be published is logged and skipped
 * so one bad file never keeps the gateway from starting.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { contractVersions } from '../db/schema.js';
import { ApiError, errorForLog } from '../platform/errors.js';
import { resolveCatalogueData } from './catalogue-data.js';
import { type Publisher, publishContract } from './contracts.js';
import { readContractDocument } from './document.js';
import { compareSemver, parseSemver } from './semver.js';

/** The repository's `contracts/` folder. */
export const repositoryContractsDirectory = fileURLToPath(new URL('../../contracts', import.meta.url));

/** The gateway itself, as the publisher of repository contracts. */
const repositoryPublisher: Publisher = { clientId: 'system:repository', kind: 'integrator', departmentCode: null };

const CONTRACT_FILE = /\.openapi\.(ya?ml|json)$/;

/** Every `<department>/<name>.openapi.*` file under `directory` (one level of department folders). */
export async function findContractFiles(directory: string): Promise<string[]> {
  let departments: string[];
  try {
    departments = (await readdir(directory, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const department of departments.sort()) {
    const entries = await readdir(join(directory, department), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.isFile() && CONTRACT_FILE.test(entry.name)) files.push(join(directory, department, entry.name));
    }
  }
  return files.sort();
}

export interface SeedReport {
  published: string[];
  unchanged: string[];
  failed: { file: string; code: string; detail: string }[];
}

export async function seedRepositoryContracts(
  db: Database,
  options: { directory?: string; logger?: Logger } = {},
): Promise<SeedReport> {
  const directory = options.directory ?? repositoryContractsDirectory;
  const report: SeedReport = { published: [], unchanged: [], failed: [] };
  const candidates: { file: string; text: string; resourceCode: string; version: string }[] = [];
  const fail = (file: string, error: unknown) => {
    const code = error instanceof ApiError ? error.code : 'internal_error';
    const detail = error instanceof ApiError ? error.message : 'unexpected error';
    report.failed.push({ file, code, detail });
    options.logger?.warn(
      {
        file,
        code,
        detail,
        errors: error instanceof ApiError ? error.extras.errors : undefined,
        err: error instanceof ApiError ? undefined : errorForLog(error),
      },
      'repository contract not published',
    );
  };
  for (const file of await findContractFiles(directory)) {
    try {
      const text = await readFile(file, 'utf8');
      const parsed = await readContractDocument(text);
      const catalogue = resolveCatalogueData(parsed.document, undefined);
      candidates.push({ file, text, resourceCode: catalogue.resourceCode, version: parsed.version });
    } catch (error) {
      fail(file, error);
    }
  }
  // Older versions first, so several versions of one resource in the folder publish in order.
  candidates.sort(
    (a, b) =>
      a.resourceCode.localeCompare(b.resourceCode) || compareSemver(parseSemver(a.version)!, parseSemver(b.version)!),
  );
  for (const candidate of candidates) {
    const existing = await db
      .select({ id: contractVersions.id })
      .from(contractVersions)
      .where(
        and(eq(contractVersions.resourceCode, candidate.resourceCode), eq(contractVersions.version, candidate.version)),
      );
    if (existing.length > 0) {
      report.unchanged.push(candidate.file);
      continue;
    }
    try {
      await publishContract(db, repositoryPublisher, { document: candidate.text }, 'operator');
      report.published.push(candidate.file);
    } catch (error) {
      // Another instance starting at the same moment may have published it first.
      if (error instanceof ApiError && error.code === 'contract_version_exists') report.unchanged.push(candidate.file);
      else fail(candidate.file, error);
    }
  }
  if (report.published.length > 0)
    options.logger?.info({ published: report.published.length }, 'repository contracts published');
  return report;
}
