/**
 * The registry's request signature, tested on the wire with undici directly (no adapter): unsigned,
 * badly signed, stale and replayed requests are refused; and the adapter's retries get through a
 * registry that has already seen the first attempt's nonce, because `prepare` signs every attempt.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '@onewindow/adapter-sdk';
import { psbPopulationAdapter, psbPopulationOptionsSchema } from './adapter.js';
import { NonceCache } from './nonce-cache.js';
import {
  canonicalString,
  computeSignature,
  PSB_PATHS,
  sha256Hex,
  signatureHeaders,
  signatureMatches,
} from './protocol.js';
import {
  PSB_DEMO_APP_KEY,
  PSB_DEMO_APP_SECRET,
  startPsbPopulationSimulator,
  type PsbSimulatorOptions,
} from './simulator.js';
import { psbTestEnvironment } from './test-environment.js';

const credentials = { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET };
const ZHANG_SAN_BODY = Buffer.from(JSON.stringify({ xm: '张三', sfzh: '11010519491231002X' }), 'utf8');

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function simulator(options: PsbSimulatorOptions = {}): Promise<RunningSimulator> {
  const running = await startPsbPopulationSimulator(options);
  closers.push(() => running.close());
  return running;
}

interface WireAnswer {
  status: number;
  code: string;
  data: unknown;
}

async function send(
  baseUrl: string,
  method: 'GET' | 'POST',
  target: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<WireAnswer> {
  const response = await request(`${baseUrl}${target}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json;charset=UTF-8' } : {}) },
    ...(body ? { body } : {}),
  });
  const parsed = (await response.body.json()) as { code: string; data: unknown };
  return { status: response.statusCode, code: parsed.code, data: parsed.data };
}

function signed(
  target: string,
  body: Buffer = Buffer.alloc(0),
  method = 'POST',
  nowMs = Date.now(),
): Record<string, string> {
  return signatureHeaders(credentials, { method, target, body }, nowMs);
}

describe('PSB signature: canonical string', () => {
  it('joins method, target, time stamp, nonce and the body hash with newlines', () => {
    const input = {
      method: 'get',
      target: '/api/v1/zzxx/jmsfz?sfzh=11010519491231002X',
      timestamp: '1700000000000',
      nonce: 'n'.repeat(16),
      body: new Uint8Array(0),
    };
    expect(canonicalString(input)).toBe(
      `GET\n/api/v1/zzxx/jmsfz?sfzh=11010519491231002X\n1700000000000\n${'n'.repeat(16)}\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`,
    );
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const signature = computeSignature('0123456789abcdef', input);
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signatureMatches(signature, signature.toUpperCase())).toBe(true);
    expect(signatureMatches(signature, signature.slice(0, 63))).toBe(false);
    expect(signatureMatches(signature, `${signature.slice(0, 63)}${signature.endsWith('0') ? '1' : '0'}`)).toBe(false);
  });

  it('gives every signing a fresh nonce', () => {
    const first = signed('/x');
    const second = signed('/x');
    expect(first['x-nonce']).not.toBe(second['x-nonce']);
    expect(first['x-nonce']!.length).toBeGreaterThanOrEqual(16);
  });
});

describe('PSB signature: the simulator refuses', () => {
  it('accepts a correctly signed request', async () => {
    const { url } = await simulator();
    const answer = await send(
      url,
      'POST',
      PSB_PATHS.verifyIdentity,
      signed(PSB_PATHS.verifyIdentity, ZHANG_SAN_BODY),
      ZHANG_SAN_BODY,
    );
    expect(answer).toEqual({ status: 200, code: '0000', data: { sfzh: '11010519491231002X', pp: '1' } });
  });

  it('refuses an unsigned request (1001, HTTP 200)', async () => {
    const { url } = await simulator();
    expect(await send(url, 'POST', PSB_PATHS.verifyIdentity, {}, ZHANG_SAN_BODY)).toEqual({
      status: 200,
      code: '1001',
      data: null,
    });
    expect((await send(url, 'GET', PSB_PATHS.health, {})).code).toBe('1001');
  });

  it('refuses a signature over another body, another target, or with another secret (1001)', async () => {
    const { url } = await simulator();
    const otherBody = Buffer.from(JSON.stringify({ xm: '李梅', sfzh: '330106198503150120' }));
    expect(
      (await send(url, 'POST', PSB_PATHS.verifyIdentity, signed(PSB_PATHS.verifyIdentity, ZHANG_SAN_BODY), otherBody))
        .code,
    ).toBe('1001');
    const cardOfZhang = `${PSB_PATHS.residentIdCard}?sfzh=11010519491231002X`;
    const cardOfLi = `${PSB_PATHS.residentIdCard}?sfzh=330106198503150120`;
    expect((await send(url, 'GET', cardOfLi, signed(cardOfZhang, Buffer.alloc(0), 'GET'))).code).toBe('1001');
    const wrongSecret = signatureHeaders(
      { appKey: PSB_DEMO_APP_KEY, appSecret: 'another-secret-of-16+' },
      { method: 'GET', target: PSB_PATHS.health, body: Buffer.alloc(0) },
      Date.now(),
    );
    expect((await send(url, 'GET', PSB_PATHS.health, wrongSecret)).code).toBe('1001');
    const garbage = { ...signed(PSB_PATHS.health, Buffer.alloc(0), 'GET'), 'x-signature': 'not-hex' };
    expect((await send(url, 'GET', PSB_PATHS.health, garbage)).code).toBe('1001');
  });

  it('refuses a short nonce (1001) and an unknown app key (1004)', async () => {
    const { url } = await simulator();
    const timestamp = String(Date.now());
    const nonce = 'short';
    const shortNonce = {
      'x-app-key': PSB_DEMO_APP_KEY,
      'x-timestamp': timestamp,
      'x-nonce': nonce,
      'x-signature': computeSignature(PSB_DEMO_APP_SECRET, {
        method: 'GET',
        target: PSB_PATHS.health,
        timestamp,
        nonce,
        body: Buffer.alloc(0),
      }),
    };
    expect((await send(url, 'GET', PSB_PATHS.health, shortNonce)).code).toBe('1001');
    const unknownKey = signatureHeaders(
      { appKey: 'stranger', appSecret: PSB_DEMO_APP_SECRET },
      { method: 'GET', target: PSB_PATHS.health, body: Buffer.alloc(0) },
      Date.now(),
    );
    expect((await send(url, 'GET', PSB_PATHS.health, unknownKey)).code).toBe('1004');
  });

  it('refuses time stamps outside ±window (1002), either way', async () => {
    const registryNow = 1_800_000_000_000;
    const { url } = await simulator({ now: () => registryNow, signatureWindowSeconds: 300 });
    const at = (nowMs: number) => signed(PSB_PATHS.health, Buffer.alloc(0), 'GET', nowMs);
    expect((await send(url, 'GET', PSB_PATHS.health, at(registryNow - 301_000))).code).toBe('1002');
    expect((await send(url, 'GET', PSB_PATHS.health, at(registryNow + 301_000))).code).toBe('1002');
    expect((await send(url, 'GET', PSB_PATHS.health, at(registryNow - 299_000))).code).toBe('0000');
    expect((await send(url, 'GET', PSB_PATHS.health, at(registryNow + 299_000))).code).toBe('0000');
    expect((await send(url, 'GET', PSB_PATHS.health, { ...at(registryNow), 'x-timestamp': 'yesterday' })).code).toBe(
      '1002',
    );
  });

  it('refuses the same signed request sent twice (1003 replay)', async () => {
    const { url } = await simulator();
    const headers = signed(PSB_PATHS.verifyIdentity, ZHANG_SAN_BODY);
    expect((await send(url, 'POST', PSB_PATHS.verifyIdentity, headers, ZHANG_SAN_BODY)).code).toBe('0000');
    expect(await send(url, 'POST', PSB_PATHS.verifyIdentity, headers, ZHANG_SAN_BODY)).toEqual({
      status: 200,
      code: '1003',
      data: null,
    });
  });

  it('does not let a badly signed request burn a nonce', async () => {
    const { url } = await simulator();
    const headers = signed(PSB_PATHS.verifyIdentity, ZHANG_SAN_BODY);
    expect(
      (await send(url, 'POST', PSB_PATHS.verifyIdentity, { ...headers, 'x-signature': '0'.repeat(64) }, ZHANG_SAN_BODY))
        .code,
    ).toBe('1001');
    expect((await send(url, 'POST', PSB_PATHS.verifyIdentity, headers, ZHANG_SAN_BODY)).code).toBe('0000');
  });

  it('answers busy (9999) rather than forget live nonces when its cache is full', async () => {
    const { url } = await simulator({ nonceCapacity: 2 });
    const health = () => send(url, 'GET', PSB_PATHS.health, signed(PSB_PATHS.health, Buffer.alloc(0), 'GET'));
    expect((await health()).code).toBe('0000');
    expect((await health()).code).toBe('0000');
    expect((await health()).code).toBe('9999');
  });
});

describe('PSB signature: nonce cache', () => {
  it('forgets a nonce once its time stamp has left the window, and frees room', () => {
    const cache = new NonceCache(2, 1000);
    expect(cache.remember('k', 'a', 0, 0)).toBe('fresh');
    expect(cache.remember('k', 'a', 0, 500)).toBe('replayed');
    expect(cache.remember('other', 'a', 0, 500)).toBe('fresh');
    expect(cache.remember('k', 'b', 0, 500)).toBe('full');
    expect(cache.remember('k', 'b', 1500, 1500)).toBe('fresh');
    expect(cache.size).toBe(1);
  });
});

describe('PSB signature: retries are re-signed', () => {
  /**
   * A front proxy that forwards each request to the registry and, for the first `failures`
   * requests, throws the registry's answer away and answers 502 — the registry has seen (and
   * remembered) that attempt's nonce. It records the nonces it forwarded.
   */
  async function lossyProxy(target: string, failures: number): Promise<{ url: string; nonces: string[] }> {
    const nonces: string[] = [];
    let remaining = failures;
    const server: Server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const headers = Object.fromEntries(
          Object.entries(incoming.headers).filter(([name]) => name.startsWith('x-') || name === 'content-type'),
        ) as Record<string, string>;
        nonces.push(headers['x-nonce'] ?? '');
        const body = Buffer.concat(chunks);
        request(`${target}${incoming.url ?? '/'}`, {
          method: incoming.method === 'POST' ? 'POST' : 'GET',
          headers,
          ...(body.byteLength > 0 ? { body } : {}),
        })
          .then(async (answer) => {
            const answerBody = Buffer.from(await answer.body.arrayBuffer());
            if (remaining > 0) {
              remaining -= 1;
              outgoing.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
              return;
            }
            outgoing
              .writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type']) })
              .end(answerBody);
          })
          .catch(() => outgoing.writeHead(500).end());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, nonces };
  }

  it('succeeds after 5xx answers although the registry saw the earlier nonces', async () => {
    const registry = await simulator();
    const proxy = await lossyProxy(registry.url, 2);
    const environment = await psbTestEnvironment(proxy.url, { retries: 2, retryMinDelayMs: 1, retryMaxDelayMs: 5 });
    const adapter = psbPopulationAdapter.create(psbPopulationOptionsSchema.parse(credentials), environment);
    closers.push(() => adapter.close());

    await expect(
      adapter.verifyIdentity!({ idNumber: '11010519491231002X', name: '张三' }, { requestId: 'req_resign' }),
    ).resolves.toEqual({ outcome: 'match' });
    expect(registry.requestCount('verifyIdentity')).toBe(3);
    expect(new Set(proxy.nonces).size).toBe(3);
  });
});
