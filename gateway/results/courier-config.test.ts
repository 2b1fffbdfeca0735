/** COURIER_JSON: parsed once at start; every mistake named where it is; secrets from the environment. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { parseCourier } from './courier-config.js';

const valid = {
  baseUrl: 'https://open.express.example.cn',
  options: { partnerId: 'ONEWINDOW_XA', checkWord: { $env: 'COURIER_CHECK_WORD' }, carrierName: '顺丰速运' },
  sender: {
    name: '未央区政务服务中心',
    mobile: '13800000000',
    province: '陕西省',
    city: '西安市',
    district: '未央区',
    detail: '凤城八路109号',
  },
};
const environment: Record<string, string> = { COURIER_CHECK_WORD: 'check-word-0123456789abcdef' };

describe('COURIER_JSON', () => {
  it('fills in the defaults and takes the check word from the environment', () => {
    const { settings, problems } = parseCourier(JSON.stringify(valid), 'COURIER_JSON', (name) => environment[name]);
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({
      adapter: 'courier-express',
      code: 'EXPRESS',
      options: { checkWord: 'check-word-0123456789abcdef' },
      contents: '政务服务办理结果',
      delivery: { maxAttempts: 8, backoffBaseMs: 5000, backoffMaxMs: 600000, leaseMs: 60000 },
      routes: { pollIntervalMs: 1800000 },
    });
  });

  it('names every problem: not JSON, a missing secret, a bad sender number, an unknown field', () => {
    expect(parseCourier('{', 'COURIER_JSON', () => undefined).problems[0]).toMatch(/^COURIER_JSON: not valid JSON/);
    expect(parseCourier(JSON.stringify(valid), 'COURIER_JSON', () => undefined).problems).toEqual([
      expect.stringContaining('COURIER_CHECK_WORD'),
    ]);
    const { problems } = parseCourier(
      JSON.stringify({ ...valid, sender: { ...valid.sender, mobile: '010-1234' }, colour: 'red' }),
      'COURIER_JSON',
      (name) => environment[name],
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'COURIER_JSON.sender.mobile: a mainland mobile number',
        expect.stringMatching(/^COURIER_JSON: .*colour/),
      ]),
    );
  });

  it('is off unless set, and stops the start when wrong', () => {
    const base = { PGLITE_DATA_DIR: 'memory://', ONEWINDOW_DEMO: 'false' };
    expect(parseConfig(base).courier).toEqual({ channel: null, workerEnabled: true, demoSimulator: false });
    expect(() => parseConfig({ ...base, COURIER_JSON: '{"baseUrl": ""}' })).toThrow(/COURIER_JSON/);
  });
});
