import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accessLineWriter, createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { lines, destination };
}

const line = {
  requestId: 'req_0123456789abcdef',
  method: 'GET',
  route: '/v1/clients/{clientId}',
  status: 200,
  durationMs: 1.3,
};

describe('the access line', () => {
  it('is the line pino writes for the same fields: same keys in the same order, same values', async () => {
    const viaPino = capture();
    createLogger('info', viaPino.destination).info({ ...line }, 'request');
    const direct = capture();
    accessLineWriter(createLogger('info', direct.destination))(line);
    await new Promise((resolve) => setImmediate(resolve));

    const [expected] = viaPino.lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    const [written] = direct.lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(Object.keys(written ?? {})).toEqual(Object.keys(expected ?? {}));
    expect({ ...written, time: 't' }).toEqual({ ...expected, time: 't' });
    expect(Number.isNaN(Date.parse(String(written?.['time'])))).toBe(false);
  });

  it('escapes what it is given and is not written above info', async () => {
    const info = capture();
    accessLineWriter(createLogger('info', info.destination))({ ...line, route: 'unmatched "x"\n' });
    const warn = capture();
    accessLineWriter(createLogger('warn', warn.destination))(line);
    await new Promise((resolve) => setImmediate(resolve));
    expect(info.lines).toHaveLength(1);
    expect(JSON.parse(info.lines[0] ?? '')).toMatchObject({ route: 'unmatched "x"\n' });
    expect(warn.lines).toEqual([]);
  });
});
