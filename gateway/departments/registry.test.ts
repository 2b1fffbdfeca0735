/**
 * Who answers identity verification: the departments configuration routes each identifier type to
 * one department; the start is refused when the routing is ambiguous (two claims on one type, or
 * several verifiers and no claim at all) or names a department that cannot answer, and a
 * department offering verifyIdentity without being routed never answers by default, whatever its
 * place in the list.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerAdapter, defineAdapter } from '../../adapters/sdk/adapter.js';
import { createDepartmentMetrics } from '../../adapters/sdk/metrics.js';
import type { DepartmentAdapter, PersonIdentifierType } from '../../adapters/sdk/types.js';
import { ConfigError } from '../config.js';
import { z } from 'zod';
import { departmentsFileSchema, type DepartmentConfig } from './config.js';
import { DepartmentRegistry } from './registry.js';

/** A verifier of the given identifier types (absent: the SDK's default, resident IDs). */
const verifierAdapter = defineAdapter({
  kind: 'fake-verifier',
  description: 'verifies identities without calling anyone',
  optionsSchema: z.object({ types: z.array(z.string()).optional() }).strict(),
  create(options, environment): DepartmentAdapter {
    return {
      department: environment.department,
      kind: 'fake-verifier',
      resources: {},
      ...(options.types ? { identityIdentifierTypes: options.types as PersonIdentifierType[] } : {}),
      async verifyIdentity() {
        return { outcome: 'match' };
      },
      async close() {},
    };
  },
});

const certificateOnlyAdapter = defineAdapter({
  kind: 'fake-certificates',
  description: 'issues certificates, verifies nobody',
  optionsSchema: z.object({}).strict(),
  create(_options, environment): DepartmentAdapter {
    return {
      department: environment.department,
      kind: 'fake-certificates',
      resources: {},
      certificateTypes: ['business_licence'],
      async fetchCertificate() {
        return { outcome: 'not_found' };
      },
      async close() {},
    };
  },
});

function department(code: string, extra: Partial<DepartmentConfig> = {}): DepartmentConfig {
  return {
    code,
    name: code,
    adapter: 'fake-verifier',
    baseUrl: `https://${code.toLowerCase()}.example.gov.cn`,
    options: {},
    tuning: {},
    ...extra,
  };
}

function build(departments: DepartmentConfig[]): DepartmentRegistry {
  return DepartmentRegistry.create({
    departments,
    urlPolicy: { allowedHosts: [], allowPrivateNetworks: false },
    factories: [registerAdapter(verifierAdapter), registerAdapter(certificateOnlyAdapter)],
    contracts: { checkResponse: () => '1.0.0' },
    metrics: createDepartmentMetrics(new Registry()),
    logger: pino({ level: 'silent' }),
  });
}

function problemsOf(departments: DepartmentConfig[]): string[] {
  try {
    void build(departments).close();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('identity verification routing', () => {
  it('routes each identifier type to the department configured for it, not to the first verifier listed', async () => {
    const registry = build([
      // Listed first and able to verify: it used to answer every window's checks.
      department('MCA'),
      department('PSB', { identityVerification: { identifierTypes: ['resident_id'] } }),
      department('NIA', {
        options: { types: ['passport', 'foreign_permanent_residence'] },
        identityVerification: { identifierTypes: ['passport', 'foreign_permanent_residence'] },
      }),
    ]);
    expect(registry.identityVerifiers().map((verifier) => verifier.code)).toEqual(['MCA', 'PSB', 'NIA']);
    expect(registry.identityVerifierFor('resident_id')?.code).toBe('PSB');
    expect(registry.identityVerifierFor('passport')?.code).toBe('NIA');
    expect(registry.identityVerifierFor('foreign_permanent_residence')?.code).toBe('NIA');
    expect(registry.identityVerifierFor('mainland_travel_permit')).toBeUndefined();
    expect(registry.identityVerificationRoutes()).toEqual({
      resident_id: 'PSB',
      passport: 'NIA',
      foreign_permanent_residence: 'NIA',
    });
    expect(registry.get('MCA')?.answersIdentityVerification).toEqual([]);
    expect(registry.get('NIA')?.answersIdentityVerification).toEqual(['passport', 'foreign_permanent_residence']);
    await registry.close();
  });

  it('refuses to start when several departments can verify and none names what it answers, naming the key', () => {
    expect(
      problemsOf([department('PSB'), department('NRB', { adapter: 'fake-certificates' }), department('MCA')]),
    ).toEqual([
      'departments PSB, MCA can all verify identities and none names what it answers: set ' +
        'identityVerification.identifierTypes on the department that answers each identifier type (e.g. ' +
        '"identityVerification": {"identifierTypes":["resident_id"]} on PSB); the others answer only when a caller names them',
    ]);
  });

  it('starts when one of several verifiers is named: the others answer only when a caller names them', async () => {
    const registry = build([
      department('MCA'),
      department('PSB', { identityVerification: { identifierTypes: ['resident_id'] } }),
    ]);
    expect(registry.identityVerifierFor('resident_id')?.code).toBe('PSB');
    expect(registry.get('MCA')?.answersIdentityVerification).toEqual([]);
    await registry.close();
  });

  it('lets the only department able to verify answer what it verifies when none is named', async () => {
    const registry = build([department('PSB'), department('NRB', { adapter: 'fake-certificates' })]);
    expect(registry.identityVerifierFor('resident_id')?.code).toBe('PSB');
    expect(registry.get('PSB')?.answersIdentityVerification).toEqual(['resident_id']);
    await registry.close();
  });

  it('refuses to start when two departments claim the same identifier type, naming the key and both', () => {
    expect(
      problemsOf([
        department('PSB', { identityVerification: { identifierTypes: ['resident_id'] } }),
        department('MCA', { identityVerification: { identifierTypes: ['resident_id'] } }),
      ]),
    ).toEqual([
      'department MCA: identityVerification.identifierTypes: resident_id is already answered by PSB; exactly one ' +
        'department may answer each identifier type',
    ]);
  });

  it('refuses a route to a department whose adapter does not verify identities', () => {
    expect(
      problemsOf([
        department('AMR', { adapter: 'fake-certificates', identityVerification: { identifierTypes: ['resident_id'] } }),
      ]),
    ).toEqual([
      'department AMR: identityVerification.identifierTypes: its adapter fake-certificates does not verify identities',
    ]);
  });

  it('refuses a route for an identifier type the adapter does not declare (default: resident IDs only)', () => {
    expect(
      problemsOf([department('PSB', { identityVerification: { identifierTypes: ['resident_id', 'passport'] } })]),
    ).toEqual([
      'department PSB: identityVerification.identifierTypes: its adapter fake-verifier does not verify passport (it verifies resident_id)',
    ]);
  });

  it('the file refuses unknown or organisation identifier types and an empty list, naming the key', () => {
    const result = departmentsFileSchema.safeParse([
      { ...department('PSB'), identityVerification: { identifierTypes: ['credit_code'] } },
      { ...department('NIA'), identityVerification: { identifierTypes: [] } },
      { ...department('MCA'), identityVerification: { identifierTypes: ['resident_id'], fallback: 'PSB' } },
    ]);
    expect(result.success).toBe(false);
    const issues = (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(issues).toEqual([
      '0.identityVerification.identifierTypes.0: an identifier type of persons: resident_id, passport, ' +
        'mainland_travel_permit, foreign_permanent_residence (organisations are not verified)',
      '1.identityVerification.identifierTypes: name at least one identifier type, or leave identityVerification out',
      expect.stringMatching(/^2\.identityVerification: .*fallback/),
    ]);
  });
});
