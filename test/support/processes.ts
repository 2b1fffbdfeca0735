/**
 * Real processes for cross-process tests: a private PostgreSQL cluster (initdb + pg_ctl on a free
 * loopback port, so a test may stop and restart it), gateway processes started as `npm start`
 * does, and a window system talking to one of them over HTTP. Every wait is bounded.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../../adapters/psb-population/simulator.js';

const run = promisify(execFile);
const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The newest installed PostgreSQL server binaries, or undefined. */
export function findPostgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((entry) => /^\d+$/.test(entry))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(base, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/** initdb refuses to run as root: then the cluster is run by the `postgres` system user. */
export function clusterUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error('running as root and there is no postgres user to run the cluster');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it holds; fails after `attempts` tries. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  attempts = 120,
  everyMs = 250,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await check()) return;
    await pause(everyMs);
  }
  throw new Error(`gave up waiting for: ${what}`);
}

export class Cluster {
  readonly directory = mkdtempSync(join(tmpdir(), 'ow-dispatch-pg-'));
  readonly dataDirectory = join(this.directory, 'data');
  private readonly user = clusterUser();
  port = 0;

  constructor(private readonly bin: string) {
    if (this.user) chownSync(this.directory, this.user.uid, this.user.gid);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private async command(program: string, args: string[]): Promise<void> {
    await run(join(this.bin, program), args, { timeout: 60_000, ...(this.user ?? {}) });
  }

  async start(): Promise<void> {
    this.port = await freePort();
    await this.command('initdb', [
      '-D',
      this.dataDirectory,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    await this.pgCtl('start');
  }

  async pgCtl(action: 'start' | 'restart' | 'stop'): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.directory} -c fsync=off -c max_connections=60`;
    const args = ['-D', this.dataDirectory, '-l', join(this.directory, 'server.log'), '-w', '-t', '30'];
    if (action === 'stop') return this.command('pg_ctl', [...args, '-m', 'immediate', 'stop']);
    return this.command('pg_ctl', [...args, '-m', 'fast', '-o', options, action]);
  }

  /** Runs one statement on a connection of its own: how a test looks at what the gateways wrote. */
  async query<Row extends Record<string, unknown>>(
    text: string,
    parameters: (string | number | string[])[] = [],
  ): Promise<Row[]> {
    const connection = postgres(this.url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      return await connection.unsafe<Row[]>(text, parameters);
    } finally {
      await connection.end({ timeout: 5 });
    }
  }

  async remove(): Promise<void> {
    await this.pgCtl('stop').catch(() => undefined);
    rmSync(this.directory, { recursive: true, force: true });
  }
}

export class GatewayProcess {
  url = '';
  private output = '';

  private constructor(readonly child: ChildProcess) {}

  static async start(environment: Record<string, string>): Promise<GatewayProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gateway = new GatewayProcess(child);
    const collect = (chunk: Buffer): void => {
      // Keep the tail only: enough to explain a failure.
      gateway.output = (gateway.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${gateway.output}`);
        const match = /onewindow gateway listening on (http:\/\/[^\s]+)/.exec(gateway.output);
        if (match?.[1]) gateway.url = match[1];
        return gateway.url !== '';
      },
      'the gateway to listen',
      240,
    );
    return gateway;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Fails with how the process ended and the tail of its output when it is not running. */
  expectAlive(): void {
    if (!this.alive)
      throw new Error(
        `gateway ${this.pid} ended (exit code ${this.child.exitCode}, signal ${this.child.signalCode}):\n${this.output.slice(-4000)}`,
      );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get log(): string {
    return this.output;
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A window system talking to one gateway process over HTTP. */
export class Window {
  constructor(
    private readonly gateway: GatewayProcess,
    private readonly token: string,
  ) {}

  static async connect(gateway: GatewayProcess, clientId: string, secret: string): Promise<Window> {
    const response = await fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
    return new Window(gateway, ((await response.json()) as { access_token: string }).access_token);
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const isBytes = body instanceof Uint8Array;
    return fetch(`${this.gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined || isBytes ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: isBytes ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  }

  async expect<T>(response: Promise<Response>, status: number): Promise<T> {
    const answer = await response;
    if (answer.status !== status) throw new Error(`expected ${status}, got ${answer.status}: ${await answer.text()}`);
    return (await answer.json()) as T;
  }
}

/**
 * A household move-in item delivered to the PSB population registry alone and needing one lease
 * on file: what the cross-process tests submit (the lease is handed in once and reused).
 */
export function householdMoveInItem(label: string, labelZh: string): Record<string, unknown> {
  return {
    name: `Household move-in (${label})`,
    nameZh: `户口迁入（${labelZh}）`,
    kind: 'promised',
    subjectKind: 'person',
    departments: ['PSB'],
    statutoryDays: 20,
    promisedDays: 5,
    formSchema: {
      type: 'object',
      required: ['moveInAddress'],
      properties: { moveInAddress: { type: 'string', minLength: 4 } },
    },
    materials: [{ requirementCode: 'residence', name: 'Proof of lawful residence', acceptedTypes: ['lease_contract'] }],
  };
}

/**
 * The data folder (DATA_DIR) shared by the gateway processes of one test file, which form one
 * deployment: the same key-encryption key, checkpoint key and witness file, as instances sharing
 * a folder do. Removed when the test process exits.
 */
let sharedDataDir: string | undefined;
function deploymentDataDir(): string {
  if (!sharedDataDir) {
    const directory = mkdtempSync(join(tmpdir(), 'ow-deployment-'));
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
    sharedDataDir = directory;
  }
  return sharedDataDir;
}

/**
 * What every gateway process of these tests is started with: loopback on a free port, one issuer,
 * the cluster's database, one data folder for the test file, demo clients (the tests sign in as
 * them), department simulators on loopback allowed; `extra` adds or overrides (departments,
 * delivery timings, limits).
 */
export function gatewayProcessEnvironment(
  databaseUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATA_DIR: deploymentDataDir(),
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: 'http://onewindow.test',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '5',
    ONEWINDOW_DEMO: 'true',
    LOG_LEVEL: 'warn',
    DEPARTMENT_ALLOWED_HOSTS: '127.0.0.1',
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: 'true',
    ...extra,
  };
}

/** The PSB population registry simulator at `url` as a configured department (DEPARTMENTS_JSON entry). */
export function psbSimulatorDepartment(
  url: string,
  tuning: Record<string, number> = { retries: 0, breakerFailures: 1000 },
): Record<string, unknown> {
  return {
    code: 'PSB',
    name: 'PSB population registry (simulator)',
    adapter: 'psb-population',
    baseUrl: url,
    options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
    tuning,
  };
}
