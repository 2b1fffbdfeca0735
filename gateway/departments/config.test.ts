import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';

const psb = {
  code: 'PSB',
  name: 'Public security bureau',
  adapter: 'psb-population',
  baseUrl: 'https://psb.example.gov.cn',
  options: { appKey: 'ow-gateway', appSecret: { $env: 'PSB_APP_SECRET' } },
};

function problemsOf(environment: Record<string, string>): string[] {
  try {
    parseConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('departments configuration', () => {
  it('reads the departments from a file and resolves secrets from the environment', () => {
    const folder = mkdtempSync(join(tmpdir(), 'ow-departments-'));
    const file = join(folder, 'departments.json');
    writeFileSync(file, JSON.stringify([psb]));
    const config = parseConfig({ DEPARTMENTS_FILE: file, PSB_APP_SECRET: 'a-secret-from-the-vault' });
    expect(config.departments.list).toEqual([
      { ...psb, options: { appKey: 'ow-gateway', appSecret: 'a-secret-from-the-vault' }, tuning: {} },
    ]);
    // Departments are configured, so the demo simulators stay off.
    expect(config.departments.demoSimulators.enabled).toBe(false);
  });

  it('names a missing secret variable, a duplicate code and bad fields', () => {
    const problems = problemsOf({
      DEPARTMENTS_JSON: JSON.stringify([
        psb,
        { ...psb, tuning: { retries: 99 } },
        { code: 'x', name: '', adapter: 'a', baseUrl: 'u', extra: 1 },
      ]),
    });
    expect(problems.join('\n')).toContain('environment variable PSB_APP_SECRET is not set');
    expect(problems.join('\n')).toContain('department PSB is listed twice');
    expect(problems.join('\n')).toContain('DEPARTMENTS_JSON[1].tuning.retries');
    expect(problems.join('\n')).toContain('DEPARTMENTS_JSON[2].code');
  });

  it('refuses a file that cannot be read or is not JSON, and both sources at once', () => {
    expect(problemsOf({ DEPARTMENTS_FILE: '/nonexistent/departments.json' }).join()).toContain('cannot read');
    expect(problemsOf({ DEPARTMENTS_JSON: '[{' }).join()).toContain('not valid JSON');
    expect(problemsOf({ DEPARTMENTS_JSON: '[]', DEPARTMENTS_FILE: 'x.json' }).join()).toContain('not both');
  });

  it('refuses private department addresses unless allowed, and runs the demo simulators only in the demo', () => {
    const defaults = parseConfig({});
    expect(defaults.departments.urlPolicy).toEqual({ allowedHosts: [], allowPrivateNetworks: false });
    expect(defaults.departments.demoSimulators).toEqual({ enabled: true, basePort: 7101 });
    expect(parseConfig({ ONEWINDOW_DEMO: 'false' }).departments.demoSimulators.enabled).toBe(false);
    expect(parseConfig({ DEMO_SIMULATORS: 'false' }).departments.demoSimulators.enabled).toBe(false);
    const allowed = parseConfig({
      DEPARTMENT_ALLOWED_HOSTS: 'psb.gov.cn, 10.20.0.0/16',
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    expect(allowed.departments.urlPolicy).toEqual({
      allowedHosts: ['psb.gov.cn', '10.20.0.0/16'],
      allowPrivateNetworks: true,
    });
  });
});
