/**
 * Security suite: server-side request forgery. The only URLs the gateway ever calls are the
 * department base URLs of its configuration (DEPARTMENTS_JSON / DEPARTMENTS_FILE); nothing a
 * client sends over the API becomes a URL the gateway calls. This file proves both halves:
 *
 * - configuration time: a base URL pointing into the gateway's own network, in every spelling
 *   WHATWG URL accepts (decimal, octal, hex, short forms, IPv6 loopback and IPv4-mapped forms,
 *   percent-encoded and full-width digits, link-local metadata, 0.0.0.0, private ranges,
 *   localhost names, userinfo and fragment tricks, other schemes), stops the gateway from
 *   starting, with a configuration error naming the department and the URL;
 * - call time: a host NAME on the allowlist that resolves to loopback is refused at connect
 *   (`department_not_allowed`) and the server behind it sees nothing; a department answering a
 *   redirect (301/302/303/307/308) to a loopback "metadata" server is not followed, and that
 *   server records no hit;
 * - adapter paths that look like network-path references (`//host/…`) stay on the department's
 *   origin, and paths naming a port or a scheme are configuration errors;
 * - contracts published through the API: remote and `file:` `$ref`s are refused unread
 *   (`contract_invalid`); `servers`, `externalDocs`, `termsOfService` and callback URLs are kept
 *   as data and never called (a recording server listens at each).
 * Status callbacks are pushed BY departments to the gateway; no API request carries a URL the
 * gateway would call back, and no adapter follows a URL from a department's answer.
 */
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import ipaddr from 'ipaddr.js';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAmrCredentials } from '../../adapters/amr-enterprise/simulator.js';
import { adapterFactories } from '../../adapters/index.js';
import { createContractSet } from '../../adapters/sdk/contract-validation.js';
import { createDepartmentMetrics } from '../../adapters/sdk/metrics.js';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../../adapters/psb-population/simulator.js';
import { nonPublicReason } from '../../adapters/sdk/url-policy.js';
import { ConfigError, parseConfig } from '../../gateway/config.js';
import { loadDepartmentAdapters } from '../../gateway/departments/adapter-packages.js';
import { DepartmentRegistry } from '../../gateway/departments/registry.js';
import { bearerHeaders, type SecurityGateway, startSecurityGateway, unmaskedIdNumberLeaks } from './support.js';

/** A loopback HTTP server that records every request it receives. */
interface Recorder {
  url: string;
  port: number;
  hits: { method: string; url: string; host: string }[];
  close(): Promise<void>;
}

async function startRecorder(
  answer: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) =>
    response.end('recorded'),
): Promise<Recorder> {
  const hits: Recorder['hits'] = [];
  const server: Server = createServer((request, response) => {
    hits.push({ method: request.method ?? '', url: request.url ?? '', host: request.headers.host ?? '' });
    request.resume();
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function psbDepartment(code: string, baseUrl: string): Record<string, unknown> {
  return {
    code,
    name: `Department ${code}`,
    adapter: 'psb-population',
    baseUrl,
    options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
    tuning: { retries: 0 },
  };
}

/**
 * The configuration problems the gateway refuses to start with, for `departments`: the
 * environment parsed as at start (`parseConfig`), then the department registry built exactly as
 * `startGateway` → `createServices` builds it (without a database, which it does not need).
 */
async function startupProblems(
  departments: Record<string, unknown>[],
  environment: Record<string, string> = {},
): Promise<string[]> {
  try {
    const config = parseConfig({
      ONEWINDOW_DEMO: 'false',
      DEPARTMENTS_JSON: JSON.stringify(departments),
      ...environment,
    });
    const loaded = await loadDepartmentAdapters(config.departments.list, adapterFactories);
    const registry = DepartmentRegistry.create({
      departments: loaded.departments,
      urlPolicy: config.departments.urlPolicy,
      factories: loaded.factories,
      contracts: createContractSet([]),
      metrics: createDepartmentMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
    });
    void registry.close();
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

/** Spellings of addresses inside the gateway's own network; every one must be refused. */
const internalBaseUrls: [string, string][] = [
  ['decimal loopback', 'http://2130706433/'],
  ['octal loopback', 'http://0177.0.0.1/'],
  ['hex loopback', 'http://0x7f000001/'],
  ['dotted hex loopback', 'http://0x7f.0x0.0x0.0x1/'],
  ['short form 127.1', 'http://127.1/'],
  ['short form 127.0.1', 'http://127.0.1:8080/'],
  ['percent-encoded host', 'http://%31%32%37.0.0.1/'],
  ['full-width digits', 'http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/'],
  ['IPv6 loopback', 'http://[::1]/'],
  ['IPv6 loopback, long form', 'http://[0:0:0:0:0:0:0:1]/'],
  ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/'],
  ['IPv4-mapped loopback in hex', 'http://[::ffff:7f00:1]/'],
  ['IPv4-compatible loopback', 'http://[::127.0.0.1]/'],
  ['NAT64 loopback', 'http://[64:ff9b::7f00:1]/'],
  ['metadata service', 'http://169.254.169.254/latest/meta-data/'],
  ['metadata service, IPv4-mapped', 'http://[::ffff:a9fe:a9fe]/'],
  ['metadata service, decimal', 'http://2852039166/'],
  ['AWS metadata over IPv6 (ULA)', 'http://[fd00:ec2::254]/'],
  ['link-local IPv6', 'http://[fe80::1]/'],
  ['unspecified 0.0.0.0', 'http://0.0.0.0:8080/'],
  ['unspecified as 0', 'http://0/'],
  ['private 10/8', 'http://10.0.0.1/'],
  ['private 172.16/12', 'http://172.16.5.4/'],
  ['private 192.168/16', 'http://192.168.1.1/'],
  ['carrier-grade NAT', 'http://100.64.0.1/'],
  ['localhost', 'http://localhost:8080/'],
  ['LOCALHOST with a trailing dot', 'http://LOCALHOST./'],
  ['a .localhost name', 'http://registry.localhost/'],
  ['userinfo before a loopback host', 'http://registry.example.gov.cn@127.0.0.1/'],
  ['userinfo with a password', 'http://registry.example.gov.cn:443@127.0.0.1/'],
  ['credentials on a public host', 'https://user:secret@registry.example.gov.cn/'],
  ['fragment hiding the real host', 'http://127.0.0.1#@registry.example.gov.cn/'],
  ['file scheme', 'file:///etc/passwd'],
  ['gopher scheme', 'gopher://127.0.0.1:6379/_INFO'],
  ['ftp scheme', 'ftp://registry.example.gov.cn/'],
  ['not a URL', '//127.0.0.1/'],
];

describe('configuration time: base URLs into the gateway’s own network stop the start', () => {
  it('every spelling is refused, each problem naming the department and its base URL', async () => {
    const departments = internalBaseUrls.map(([, url], index) =>
      psbDepartment(`D${String(index).padStart(2, '0')}`, url),
    );
    const problems = await startupProblems(departments);
    const unexplained: string[] = [];
    internalBaseUrls.forEach(([spelling, url], index) => {
      const code = `D${String(index).padStart(2, '0')}`;
      const problem = problems.find((line) => line.startsWith(`department ${code}: `));
      if (
        !problem?.includes(`baseUrl ${url}`) ||
        !/not_allowed|non-public|localhost|credentials|scheme|fragment|not a valid/.test(problem)
      ) {
        unexplained.push(`${spelling} (${url}): ${problem ?? 'accepted'}`);
      }
    });
    expect(unexplained).toEqual([]);
    expect(problems).toHaveLength(internalBaseUrls.length);
  });

  it('with an allowlist, look-alike names and userinfo/fragment tricks around the allowed name are refused', async () => {
    const tricks = [
      'http://registry.example.gov.cn.attacker.example/',
      'http://attacker.example/registry.example.gov.cn',
      'http://registry.example.gov.cn@attacker.example/',
      'http://attacker.example#registry.example.gov.cn',
      'http://127.0.0.1/?host=registry.example.gov.cn',
      'http://registry-example.gov.cn/',
    ];
    const problems = await startupProblems(
      tricks.map((url, index) => psbDepartment(`A${index}`, url)),
      { DEPARTMENT_ALLOWED_HOSTS: 'registry.example.gov.cn' },
    );
    expect(problems).toHaveLength(tricks.length);
    tricks.forEach((url, index) => {
      expect(problems.find((line) => line.startsWith(`department A${index}: baseUrl ${url}`))).toBeDefined();
    });
  });
});

/** The machine's own name, when it resolves only to non-public addresses (it does on CI runners and containers). */
const ownName = hostname().toLowerCase();
const ownNameIsInternal = await lookup(ownName, { all: true }).then(
  (addresses) =>
    addresses.length > 0 && addresses.every(({ address }) => nonPublicReason(ipaddr.parse(address)) !== null),
  () => false,
);

interface HealthCheck {
  ok: boolean;
  error: { code: string; message: string; reason: string } | null;
}

async function healthCheck(gateway: SecurityGateway, token: string, code: string): Promise<HealthCheck> {
  const answer = await gateway.send(`/v1/departments/${code}/health-check`, {
    method: 'POST',
    headers: bearerHeaders(token),
  });
  expect(answer.status, answer.text.slice(0, 300)).toBe(200);
  return answer.json<HealthCheck>();
}

describe('call time: redirects are never followed, network-path adapter paths stay on the department', () => {
  let gateway: SecurityGateway;
  let adminToken: string;
  /** The "metadata service" the redirects point at: it must never be reached. */
  let metadata: Recorder;
  /** A department answering every request with the redirect status named by its first path segment. */
  let redirecting: Recorder;
  let amrDepartment: Recorder;
  const redirectStatuses = [301, 302, 303, 307, 308];

  beforeAll(async () => {
    metadata = await startRecorder((_request, response) => response.end('{"AccessKeyId":"stolen"}'));
    redirecting = await startRecorder((request, response) => {
      const status = Number(/^\/r(\d{3})\//.exec(request.url ?? '')?.[1] ?? 302);
      response.writeHead(status, { location: `${metadata.url}/latest/meta-data/iam/security-credentials/` }).end();
    });
    amrDepartment = await startRecorder((_request, response) => response.writeHead(503).end());
    gateway = await startSecurityGateway({
      DEPARTMENTS_JSON: JSON.stringify([
        // Several population registers: one answers resident IDs by default (else the start is refused).
        ...redirectStatuses.map((status, index) => ({
          ...psbDepartment(`R${status}`, `${redirecting.url}/r${status}/`),
          ...(index === 0 ? { identityVerification: { identifierTypes: ['resident_id'] } } : {}),
        })),
        {
          code: 'AMR',
          name: 'AMR with a network-path servicePath',
          adapter: 'amr-enterprise',
          baseUrl: amrDepartment.url,
          options: {
            wsUsername: defaultAmrCredentials.username,
            wsPassword: defaultAmrCredentials.password,
            servicePath: '//elsewhere.example/steal',
          },
          tuning: { retries: 0 },
        },
      ]),
      // Departments on loopback, as in a test or the demo: only this address.
      DEPARTMENT_ALLOWED_HOSTS: '127.0.0.1',
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    adminToken = await gateway.token('admin');
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([metadata, redirecting, amrDepartment].map((recorder) => recorder?.close()));
  });

  it.each(redirectStatuses)(
    'a %i redirect to the metadata address is answered department_not_allowed and not followed',
    async (status) => {
      const before = redirecting.hits.length;
      const outcome = await healthCheck(gateway, adminToken, `R${status}`);
      expect(outcome.ok).toBe(false);
      expect(outcome.error?.code).toBe('department_not_allowed');
      expect(outcome.error?.reason).toContain(`redirect (${status})`);
      // The department was asked once (no retry of a redirect), the redirect target never.
      expect(redirecting.hits.length - before).toBe(1);
      expect(metadata.hits).toEqual([]);
    },
  );

  it('a servicePath written as a network-path reference (//host/…) is sent to the department, not to that host', async () => {
    const outcome = await healthCheck(gateway, adminToken, 'AMR');
    expect(outcome.ok).toBe(false);
    // undici sends the path as the request target on the department's own connection.
    expect(amrDepartment.hits.map((hit) => hit.url)).toContain('//elsewhere.example/steal');
    expect(amrDepartment.hits.every((hit) => hit.host === `127.0.0.1:${amrDepartment.port}`)).toBe(true);
    // A path naming a port (or any other character outside the path syntax) is refused at configuration.
    const problems = await startupProblems([
      {
        code: 'AMR',
        name: 'AMR',
        adapter: 'amr-enterprise',
        baseUrl: 'https://amr.example.gov.cn/',
        options: { wsUsername: 'u', wsPassword: 'p', servicePath: '//127.0.0.1:6379/' },
      },
      {
        code: 'NRB',
        name: 'NRB',
        adapter: 'nrb-realestate',
        baseUrl: 'https://nrb.example.gov.cn/',
        options: { clientId: 'c', clientSecret: 'secret-123', tokenPath: 'http://169.254.169.254/' },
      },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^department AMR: options\.servicePath: /),
      expect.stringMatching(/^department NRB: options\.tokenPath: /),
    ]);
  });

  it('the department list shows base URLs as origins only', async () => {
    const answer = await gateway.send('/v1/departments', { headers: bearerHeaders(adminToken) });
    expect(answer.status).toBe(200);
    const origins = answer.json<{ items: { code: string; origin: string }[] }>().items.map((item) => item.origin);
    expect(origins).toContain(redirecting.url);
    expect(answer.text).not.toContain('/r302/');
  });

  describe('URLs inside published contracts are never called', () => {
    let integratorToken: string;
    let contractServer: Recorder;

    beforeAll(async () => {
      contractServer = await startRecorder((_request, response) =>
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"type":"object"}'),
      );
      integratorToken = await gateway.token('integrator');
    });

    afterAll(async () => {
      await contractServer?.close();
    });

    /** A contract whose servers, external docs and callbacks point at the recording server; `$ref`s too when asked. */
    function contractText(version: string, remoteRefs: boolean): string {
      const target = contractServer.url;
      const schema = remoteRefs ? `{$ref: "${target}/schema.json"}` : '{type: object}';
      const missing = remoteRefs ? "{$ref: 'file:///etc/passwd'}" : '{type: object}';
      return [
        'openapi: 3.1.0',
        'info:',
        '  title: Contract with outside URLs',
        `  version: ${version}`,
        `  termsOfService: ${target}/terms`,
        '  x-onewindow-catalogue:',
        '    resourceCode: tst.urls',
        '    departmentCode: TESTDEPT',
        '    sharingType: conditional',
        '    updateFrequency: daily',
        '    sla: {availabilityPercent: 99, p95LatencyMs: 800, supportHours: "Mon-Fri"}',
        'servers:',
        `  - url: ${target}/api`,
        '  - url: http://169.254.169.254/latest/meta-data/',
        `externalDocs: {url: "${target}/docs"}`,
        'paths:',
        '  /things:',
        '    get:',
        '      operationId: listThings',
        '      responses:',
        "        '200':",
        '          description: things',
        `          content: {application/json: {schema: ${schema}}}`,
        "        '404':",
        '          description: none',
        `          content: {application/json: {schema: ${missing}}}`,
        `      callbacks: {onEvent: {"${target}/callback": {post: {responses: {'200': {description: ok}}}}}}`,
        '',
      ].join('\n');
    }

    async function publish(version: string, remoteRefs: boolean) {
      return gateway.send('/v1/contracts', {
        method: 'POST',
        headers: bearerHeaders(integratorToken, { 'content-type': 'application/yaml' }),
        body: contractText(version, remoteRefs),
      });
    }

    it('remote and file `$ref`s are refused (contract_invalid, naming each) without being fetched or read', async () => {
      const refused = await publish('0.9.0', true);
      expect(refused.status).toBe(422);
      const problem = refused.json<{ code: string; errors: { path: string; message: string }[] }>();
      expect(problem.code).toBe('contract_invalid');
      expect(problem.errors.map((error) => error.message)).toEqual(
        expect.arrayContaining([
          expect.stringContaining(`${contractServer.url}/schema.json`),
          expect.stringContaining('file:///etc/passwd'),
        ]),
      );
      expect(refused.text).not.toMatch(/root:x:0:0/);
      expect(contractServer.hits).toEqual([]);
    });

    it('servers, externalDocs, termsOfService and callback URLs are published as data and never called (publish, read, diff, run-time compilation)', async () => {
      for (const version of ['1.0.0', '1.1.0']) {
        const published = await publish(version, false);
        expect(published.status, published.text.slice(0, 400)).toBe(201);
      }
      for (const path of [
        '/v1/contracts/tst.urls',
        '/v1/contracts/tst.urls/versions/1.1.0',
        '/v1/contracts/tst.urls/versions/1.1.0?format=yaml',
        '/v1/contracts/tst.urls/diff?from=1.0.0&to=1.1.0',
      ]) {
        const read = await gateway.send(path, { headers: bearerHeaders(adminToken) });
        expect(read.status, `${path}: ${read.text.slice(0, 300)}`).toBe(200);
      }
      // Published contracts are compiled for run-time answer checks on each sync.
      await gateway.running.services.publishedContracts.sync();
      expect(contractServer.hits).toEqual([]);
    });
  });

  it('leaks no clear ID number in responses or logs', () => {
    expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
  });
});

describe('call time: a host name on the allowlist that resolves to loopback (DNS)', () => {
  let gateway: SecurityGateway;
  let adminToken: string;
  let behindName: Recorder;

  beforeAll(async () => {
    behindName = await startRecorder();
    gateway = await startSecurityGateway({
      DEPARTMENTS_JSON: JSON.stringify([psbDepartment('NAMED', `http://${ownName}:${behindName.port}/`)]),
      // The name passes the configuration check (it is on the allowlist and is not `localhost`);
      // only the connect-time lookup can tell that it leads to loopback.
      DEPARTMENT_ALLOWED_HOSTS: ownName,
      DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'false',
    });
    adminToken = await gateway.token('admin');
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await behindName?.close();
  });

  it.skipIf(!ownNameIsInternal)(
    `the machine's own name (${ownName}) is refused at connect with department_not_allowed; its server sees nothing`,
    async () => {
      const outcome = await healthCheck(gateway, adminToken, 'NAMED');
      expect(outcome.ok).toBe(false);
      expect(outcome.error?.code).toBe('department_not_allowed');
      expect(outcome.error?.reason).toContain('non-public range');
      expect(behindName.hits).toEqual([]);
    },
  );

  it('localhost itself is refused already at configuration time', async () => {
    const problems = await startupProblems([psbDepartment('LOCAL', `http://localhost:${behindName.port}/`)], {
      DEPARTMENT_ALLOWED_HOSTS: 'localhost',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^department LOCAL: baseUrl http:\/\/localhost:\d+\/: .*localhost/),
    ]);
    expect(behindName.hits).toEqual([]);
  });

  it('leaks no clear ID number in responses or logs', () => {
    expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
  });
});
