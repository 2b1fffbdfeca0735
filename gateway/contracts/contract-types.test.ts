/** The contract types generator renders a typed module with its header from a contract file. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERATED_HEADER, renderContractTypes, typesFileFor } from '../cli/contract-types.js';

const yamlFixture = fileURLToPath(new URL('./fixtures/people-1.0.0.openapi.yaml', import.meta.url));
const jsonFixture = fileURLToPath(new URL('./fixtures/registry/tst/register.openapi.json', import.meta.url));

describe('contract types generator', () => {
  it('puts the types next to the contract', () => {
    expect(typesFileFor('/r/contracts/psb/psb.population.openapi.yaml')).toBe(
      '/r/contracts/psb/psb.population.types.ts',
    );
    expect(typesFileFor('/r/contracts/amr/x.openapi.json')).toBe('/r/contracts/amr/x.types.ts');
  });

  it('renders paths, operations and schemas from YAML and JSON contracts, deterministically', async () => {
    const rendered = await renderContractTypes(yamlFixture);
    expect(rendered.startsWith(GENERATED_HEADER)).toBe(true);
    expect(rendered).toContain('export interface paths');
    expect(rendered).toContain('getPerson');
    expect(rendered).toMatch(/Person: \{/);
    expect(rendered).toMatch(/gender: "male" \| "female"/);
    expect(await renderContractTypes(yamlFixture)).toBe(rendered);
    expect(await renderContractTypes(jsonFixture)).toContain('"/enterprises/{creditCode}"');
  });
});
