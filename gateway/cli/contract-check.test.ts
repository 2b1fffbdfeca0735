/**
 * `npm run contracts:check`: the publication checks offline, on files — a valid contract passes,
 * an invalid one lists its problems with codes and pointers, and with `--previous` a breaking
 * change without a major version bump is refused as publication refuses it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { checkContractFile } from './contract-check.js';

const fixture = new URL('../contracts/fixtures/people-1.0.0.openapi.yaml', import.meta.url);
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'ow-contract-check-'));
});
afterAll(async () => rm(directory, { recursive: true, force: true }));

// biome-ignore lint: test documents are edited freely
async function writeVariant(name: string, edit: (document: Record<string, any>) => void): Promise<string> {
  const document = parseYaml(await readFile(fixture, 'utf8')) as Record<string, unknown>;
  edit(document);
  const file = join(directory, name);
  await writeFile(file, toYaml(document));
  return file;
}

describe('contracts:check', () => {
  it('passes a contract publication would accept', async () => {
    const report = await checkContractFile(await writeVariant('ok.yaml', () => {}));
    expect(report).toMatchObject({ version: '1.0.0', problems: [] });
  });

  it('lists what publication would refuse, with codes and pointers', async () => {
    const file = await writeVariant('bad.yaml', (document) => {
      document.components.parameters.IdNumber.in = 'body';
      delete document.info['x-onewindow-catalogue'];
    });
    const report = await checkContractFile(file);
    expect(report.problems.map((problem) => problem.code)).toContain('contract_invalid');
    expect(report.problems.map((problem) => problem.path)).toContain('/components/parameters/IdNumber/in');
    // The catalogue is checked only once the document itself is valid, as publication does.
    expect(report.problems.some((problem) => problem.code === 'contract_catalogue_invalid')).toBe(false);
  });

  it('refuses catalogue data that is missing', async () => {
    const report = await checkContractFile(
      await writeVariant('nocatalogue.yaml', (document) => delete document.info['x-onewindow-catalogue']),
    );
    expect(report.problems.map((problem) => problem.code)).toContain('contract_catalogue_invalid');
    expect((await checkContractFile(join(directory, 'nocatalogue.yaml'), { catalogue: false })).problems).toEqual([]);
  });

  it('with --previous, refuses a breaking change without a major version bump, and lists the changes', async () => {
    const previousFile = await writeVariant('v1.yaml', () => {});
    const nextFile = await writeVariant('v1.1.yaml', (document) => {
      document.info.version = '1.1.0';
      document.components.securitySchemes = Object.fromEntries(
        Object.keys(document.components.securitySchemes).map((name) => [name, { type: 'http', scheme: 'basic' }]),
      );
    });
    const report = await checkContractFile(nextFile, { previousFile });
    expect(report.problems.map((problem) => problem.code)).toEqual(['contract_breaking_change']);
    expect(report.changes[0]).toMatchObject({ code: 'security_scheme_changed', severity: 'breaking' });
    const major = await writeVariant('v2.yaml', (document) => {
      document.info.version = '2.0.0';
      document.components.securitySchemes = Object.fromEntries(
        Object.keys(document.components.securitySchemes).map((name) => [name, { type: 'http', scheme: 'basic' }]),
      );
    });
    expect((await checkContractFile(major, { previousFile })).problems).toEqual([]);
  });
});
