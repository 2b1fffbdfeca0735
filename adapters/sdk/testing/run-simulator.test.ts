import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { simulatorAddress } from './run-simulator.js';

describe('simulatorAddress', () => {
  it('reads port, host and the rest, with defaults', () => {
    expect(simulatorAddress(7101, [])).toEqual({ port: 7101, host: '127.0.0.1', more: [] });
    expect(simulatorAddress(7101, ['0', '0.0.0.0', 'x'])).toEqual({ port: 0, host: '0.0.0.0', more: ['x'] });
  });

  it('refuses a port that is not one', () => {
    expect(() => simulatorAddress(7101, ['70000'])).toThrow(RangeError);
    expect(() => simulatorAddress(7101, ['seven'])).toThrow(RangeError);
  });
});

describe('a run-simulator script', () => {
  it('listens, says where, and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
    const script = fileURLToPath(new URL('../../psb-population/run-simulator.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited early (${code}): ${output}`)));
    });
    await listening;
    expect(output).toMatch(/PSB population registry simulator listening on http:\/\/127\.0\.0\.1:\d+/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
