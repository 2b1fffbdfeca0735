/**
 * The operators' packaging (Dockerfile, compose.yaml, deploy/) checked without Docker, which the
 * CI machine does not have (nor hadolint): the files are parsed and held to what the gateway
 * actually does — the runtime command is the one .ci/production-start.sh starts, the image runs
 * as a non-root user and probes /readyz on the port the gateway listens on by default, compose
 * runs two gateway instances over one PostgreSQL with a simulator service behind every department,
 * SMS and courier endpoint they are given, and every setting named exists in config.ts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { adapterFactories } from '../adapters/index.js';
import { createContractSet } from '../adapters/sdk/contract-validation.js';
import { createDepartmentMetrics } from '../adapters/sdk/metrics.js';
import { configSchema, parseConfig } from '../gateway/config.js';
import { demoDepartments } from '../gateway/demo/simulators.js';
import { loadDepartmentAdapters } from '../gateway/departments/adapter-packages.js';
import { DepartmentRegistry } from '../gateway/departments/registry.js';

const root = join(import.meta.dirname, '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

interface Instruction {
  keyword: string;
  argument: string;
}

/** Dockerfile instructions by stage, with `\` continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (pending === '' && (trimmed === '' || trimmed.startsWith('#'))) continue;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + trimmed);
    pending = '';
  }
  const stages: Instruction[][] = [[]];
  for (const entry of logical) {
    const [keyword = '', ...rest] = entry.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), argument: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  // The first group holds what precedes the first FROM (global ARGs): not a stage.
  return stages.slice(1);
}

/** An exec-form argument (`["a", "b"]`) as its words; shell form is refused, as it would wrap node in sh. */
function execForm(argument: string): string[] {
  const words: unknown = JSON.parse(argument);
  if (!Array.isArray(words) || !words.every((word) => typeof word === 'string')) {
    throw new Error(`not exec form: ${argument}`);
  }
  return words;
}

/** `ENV A=1 B=2` as pairs (the only ENV form the Dockerfile uses). */
function environmentOf(argument: string): Record<string, string> {
  return Object.fromEntries(
    argument
      .trim()
      .split(/\s+/)
      .map((pair) => {
        const [name = '', ...value] = pair.split('=');
        return [name, value.join('=')];
      }),
  );
}

function startProductionCommand(): string | undefined {
  return (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start:production'];
}

const settingNames = new Set(Object.keys(configSchema.shape));
/** Environment the gateway's runtime reads besides its own settings. */
const runtimeNames = new Set(['NODE_ENV']);

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1) ?? [];
const ofRuntime = (keyword: string) => runtime.filter((instruction) => instruction.keyword === keyword);
const dockerEnvironment: Record<string, string> = Object.assign(
  {},
  ...ofRuntime('ENV').map((env) => environmentOf(env.argument)),
);

describe('Dockerfile', () => {
  it('builds in one stage and runs in another with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0] ?? [];
    const runs = (stage: Instruction[]) =>
      stage.filter((instruction) => instruction.keyword === 'RUN').map((run) => run.argument);
    expect(runs(build).some((run) => /\bnpm ci\b(?!.*--omit=dev)/.test(run))).toBe(true);
    expect(runs(build)).toContain('npm run build');
    expect(runs(runtime).some((run) => run.includes('npm ci --omit=dev'))).toBe(true);
    expect(runs(runtime).some((run) => run.includes('npm run build'))).toBe(false);
    const copiesBuild = (copy: Instruction) =>
      copy.argument.startsWith('--from=') && copy.argument.includes('/app/dist');
    expect(ofRuntime('COPY').some(copiesBuild)).toBe(true);
  });

  it("copies every npm workspace's package.json before npm ci and its sources before the build", () => {
    const build = stages[0] ?? [];
    const { workspaces = [] } = JSON.parse(read('package.json')) as { workspaces?: string[] };
    const folders = workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
        : [pattern],
    );
    expect(folders.length).toBeGreaterThan(0);
    const install = build.findIndex(
      (instruction) => instruction.keyword === 'RUN' && /\bnpm ci\b/.test(instruction.argument),
    );
    const compile = build.findIndex(
      (instruction) => instruction.keyword === 'RUN' && instruction.argument === 'npm run build',
    );
    const copies = build.map((instruction, index) => ({ ...instruction, index })).filter((i) => i.keyword === 'COPY');
    for (const folder of folders) {
      const manifest = copies.find((copy) => copy.argument.startsWith(`${folder}/package.json `));
      expect(manifest?.index, `${folder}/package.json copied before npm ci`).toBeLessThan(install);
      const sources = copies.find((copy) => {
        const [from = ''] = copy.argument.split(/\s+/);
        return folder === from || folder.startsWith(`${from}/`);
      });
      expect(sources?.index, `${folder} copied before npm run build`).toBeLessThan(compile);
    }
  });

  it('runs the start command of .ci/production-start.sh, node directly', () => {
    // The CI script starts package.json's start:production command itself; the image must too.
    expect(read('.ci/production-start.sh')).toContain(`require("./package.json").scripts["start:production"]`);
    const startProduction = startProductionCommand();
    const commands = ofRuntime('CMD');
    expect(commands).toHaveLength(1);
    expect(execForm(commands[0]?.argument ?? '')).toEqual(startProduction?.split(' '));
    expect(ofRuntime('ENTRYPOINT')).toHaveLength(0);
  });

  it('runs as a user that is not root', () => {
    const users = ofRuntime('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)?.argument.split(':')[0];
    expect(['root', '0', '']).not.toContain(user);
  });

  it('checks its health on /readyz at the port it listens on, which it exposes', () => {
    const healthChecks = ofRuntime('HEALTHCHECK');
    expect(healthChecks).toHaveLength(1);
    const probe = execForm(healthChecks[0]?.argument.replace(/^(--\S+\s+)*CMD\s+/, '') ?? '').join(' ');
    expect(probe).toContain('/readyz');
    const defaultPort = parseConfig({}).port;
    const port = dockerEnvironment['PORT'] ?? String(defaultPort);
    expect(ofRuntime('EXPOSE').map((expose) => expose.argument)).toEqual([port]);
    expect(Number(port)).toBe(defaultPort);
    expect(probe).toContain(`process.env.PORT||${port}`);
  });

  it('sets only settings the gateway reads, keeps the demo off and writes only under DATA_DIR', () => {
    for (const name of Object.keys(dockerEnvironment)) {
      expect(settingNames.has(name) || runtimeNames.has(name), name).toBe(true);
    }
    expect(dockerEnvironment['ONEWINDOW_DEMO']).toBe('false');
    const volumes = ofRuntime('VOLUME').flatMap((volume) => execForm(volume.argument));
    expect(volumes).toEqual([dockerEnvironment['DATA_DIR']]);
    // The configuration the image starts with parses, with the demo off on a reachable address.
    const config = parseConfig(dockerEnvironment);
    expect(config.demo).toBe(false);
    expect(config.host).toBe('0.0.0.0');
  });

  it('keeps local data, secrets and dependencies out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['node_modules', '.data', 'dist', '.git', '.env', '*.pem']) expect(ignored).toContain(entry);
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  read_only?: boolean;
  volumes?: string[];
}

/** A simulator service's command: the compiled run-simulator of an adapter (or adapter package), port, all interfaces. */
const simulatorCommand = /^node dist\/((?:adapters|packages)\/[a-z-]+\/run-simulator)\.js (\d+) 0\.0\.0\.0$/;

describe('compose.yaml', () => {
  const compose = parseYaml(read('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> };
  const services = Object.entries(compose.services);
  const gateways = services.filter(([, service]) => service.environment?.['DATABASE_URL'] !== undefined);

  it('runs two gateway instances from the image, read-only, sharing one PostgreSQL', () => {
    expect(gateways.map(([name]) => name).sort()).toEqual(['gateway-1', 'gateway-2']);
    const databases = new Set(gateways.map(([, service]) => service.environment?.['DATABASE_URL']));
    expect(databases.size).toBe(1);
    const databaseHost = new URL([...databases][0] ?? '').hostname;
    expect(compose.services[databaseHost]?.image).toMatch(/^postgres:/);
    for (const [, gateway] of gateways) {
      expect(gateway.command).toBeUndefined();
      expect(gateway.read_only).toBe(true);
      expect(gateway.build).toBe('.');
    }
  });

  it('gives the gateways settings that exist and parse, with every department, the SMS platform and the courier at a simulator service', () => {
    for (const [name, gateway] of gateways) {
      const environment = gateway.environment ?? {};
      for (const setting of Object.keys(environment)) {
        expect(settingNames.has(setting), `${name}: ${setting}`).toBe(true);
      }
      const config = parseConfig({ ...dockerEnvironment, ...environment });
      // What `npm start` runs as its demo (gateway/demo/simulators.ts), no less.
      expect(config.departments.list.map((department) => department.code).sort()).toEqual(
        demoDepartments.map((department) => department.code).sort(),
      );
      const endpoints: [string, string | undefined][] = [
        ...config.departments.list.map((department): [string, string] => [department.code, department.baseUrl]),
        ['notifications', config.notifications.channel?.baseUrl],
        ['courier', config.courier.channel?.baseUrl],
      ];
      const dependsOn = Array.isArray(gateway.depends_on) ? gateway.depends_on : Object.keys(gateway.depends_on ?? {});
      for (const [what, baseUrl] of endpoints) {
        expect(baseUrl, `${name}: ${what} configured`).toBeDefined();
        const url = new URL(baseUrl ?? '');
        const service = compose.services[url.hostname];
        expect(service, `${name}: ${what} at ${url.hostname}, a compose service`).toBeDefined();
        // A compiled simulator of this repository, listening on all interfaces at the URL's port.
        const [, source, port] = simulatorCommand.exec(service?.command?.join(' ') ?? '') ?? [];
        expect(source, `${name}: ${what}: ${url.hostname} runs a simulator`).toBeDefined();
        expect(existsSync(join(root, `${source}.ts`)), `${source}.ts`).toBe(true);
        expect(port, `${name}: ${what}: port`).toBe(url.port);
        expect(dependsOn, `${name}: ${what}: started first`).toContain(url.hostname);
        expect(config.departments.urlPolicy.allowedHosts, `${name}: ${what}: allowed host`).toContain(url.hostname);
      }
      // The gateways share the key files (pepper, key-encryption key, checkpoint key), not their data folders.
      const keysFolder = `gateway-keys:${environment['DATA_DIR']}/keys`;
      expect(gateway.volumes).toContain(keysFolder);
    }
  });

  it('gives the gateways a departments list they start with: adapters load, one department answers identity checks', async () => {
    for (const [name, gateway] of gateways) {
      const config = parseConfig({ ...dockerEnvironment, ...(gateway.environment ?? {}) });
      const loaded = await loadDepartmentAdapters(config.departments.list, adapterFactories);
      const registry = DepartmentRegistry.create({
        departments: loaded.departments,
        urlPolicy: config.departments.urlPolicy,
        factories: loaded.factories,
        contracts: createContractSet([]),
        metrics: createDepartmentMetrics(new Registry()),
        logger: pino({ level: 'silent' }),
      });
      expect(registry.identityVerificationRoutes(), name).toEqual({ resident_id: 'PSB' });
      await registry.close();
    }
  });

  it('puts nginx in front at the one address the gateways trust for X-Forwarded-For', () => {
    const nginx = compose.services['nginx'] as ComposeService & { networks: Record<string, { ipv4_address: string }> };
    const address = Object.values(nginx.networks)[0]?.ipv4_address;
    for (const [, gateway] of gateways) expect(gateway.environment?.['TRUSTED_PROXIES']).toBe(address);
    expect(nginx.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro');
  });
});

describe('deploy/', () => {
  it('nginx sends to both instances, appends the peer to X-Forwarded-For and passes /readyz', () => {
    const nginx = read('deploy/nginx.conf');
    const upstream = /upstream onewindow \{([^}]*)\}/.exec(nginx)?.[1] ?? '';
    const servers = upstream.match(/^\s*server\s+\S+/gm)?.map((line) => line.trim().split(/\s+/)[1]);
    expect(servers).toEqual(['gateway-1:8080', 'gateway-2:8080']);
    expect(nginx).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    expect(nginx).toMatch(/listen 443 ssl;/);
    expect(nginx).toMatch(/location = \/readyz \{[^}]*proxy_pass http:\/\/onewindow;/);
  });

  it('the systemd unit starts node directly as its own user, hardened, with an environment file', () => {
    const unit = read('deploy/onewindow.service');
    const startProduction = startProductionCommand() ?? '';
    expect(unit).toMatch(new RegExp(`^ExecStart=/usr/bin/${startProduction.replace(/\./g, '\\.')}$`, 'm'));
    expect(unit).toMatch(/^User=onewindow$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/onewindow\/onewindow\.env$/m);
    for (const option of [
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'PrivateTmp=true',
      'CapabilityBoundingSet=',
    ]) {
      expect(unit).toMatch(new RegExp(`^${option}$`, 'm'));
    }
  });

  it('the example environment file names settings that exist and parses', () => {
    const pairs = read('deploy/onewindow.env.example')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
    for (const [name] of pairs) expect(settingNames.has(name), name).toBe(true);
    const { DEPARTMENTS_FILE: _departmentsFile, ...environment } = Object.fromEntries(pairs);
    expect(parseConfig(environment).demo).toBe(false);
  });
});
