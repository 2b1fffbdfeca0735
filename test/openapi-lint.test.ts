/**
 * The gateway's OpenAPI document lints clean with Redocly (redocly.yaml: the recommended ruleset
 * as errors, plus example and operationId checks; exceptions in .redocly.lint-ignore.yaml and
 * docs/openapi.md), and its problem examples show a code that really answers with that status.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCatalogue } from '../gateway/platform/errors.js';

const run = promisify(execFile);
const repository = resolve(import.meta.dirname, '..');
const documentPath = join(repository, 'contracts/onewindow.openapi.json');
const redocly = join(repository, 'node_modules/.bin/redocly');
const scratch = mkdtempSync(join(tmpdir(), 'ow-lint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  exitCode: number;
  output: string;
}

async function lint(path: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(redocly, ['lint', path, '--config', join(repository, 'redocly.yaml')], {
      cwd: repository,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

type Json = Record<string, unknown>;
const document = JSON.parse(readFileSync(documentPath, 'utf8')) as { paths: Record<string, Record<string, Json>> };

describe('the OpenAPI document', () => {
  it('lints clean apart from the documented exceptions', { timeout: 60_000 }, async () => {
    const outcome = await lint(documentPath);
    expect(outcome.output).toContain('Your API description is valid');
    expect(outcome.exitCode).toBe(0);
  });

  it('fails the lint for a missing operationId or an example that does not fit its schema', {
    timeout: 60_000,
  }, async () => {
    const broken = structuredClone(document);
    const health = broken.paths['/healthz']?.['get'] as Json;
    delete health['operationId'];
    // The first documented 401 gets an example that does not fit the Problem schema.
    const unauthorised = Object.values(broken.paths)
      .flatMap((operations) => Object.values(operations))
      .map((operation) => (operation['responses'] as Record<string, Json> | undefined)?.['401'])
      .find((response) => response?.['content'] !== undefined);
    if (!unauthorised) throw new Error('the document documents no 401');
    const problem = (unauthorised['content'] as Record<string, Json>)['application/problem+json'] as Json;
    problem['example'] = { code: 'invalid_token', status: 'four hundred and one' };
    const path = join(scratch, 'broken.openapi.json');
    writeFileSync(path, JSON.stringify(broken));
    const outcome = await lint(path);
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.output).toContain('operation-operationId');
    expect(outcome.output).toContain('no-invalid-media-type-examples');
  });

  it('shows under each error status an example problem whose code answers with that status', () => {
    let examples = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries((operation['responses'] ?? {}) as Record<string, Json>)) {
          const content = (response['content'] ?? {}) as Record<string, Json>;
          const example = content['application/problem+json']?.['example'] as
            | { code?: string; status?: number }
            | undefined;
          if (!example) continue;
          examples += 1;
          const code = example.code as keyof typeof errorCatalogue;
          expect(errorCatalogue[code]?.status, `${method} ${path} ${status}: ${code}`).toBe(Number(status));
          expect(example.status).toBe(Number(status));
        }
      }
    }
    expect(examples).toBeGreaterThan(100);
  });
});
