/**
 * The three department simulators as child processes of a benchmark — the PSB population
 * registry, the AMR enterprise registry and the NRB real-estate registry, each its own process
 * (lib/simulator-server.ts) on a free loopback port with its default options — and the
 * DEPARTMENTS_JSON that connects gateways to them. Separate processes rather than the gateway's
 * demo simulators (DEMO_SIMULATORS): several gateway instances then share one set, and the
 * simulators' CPU is not counted as the gateway's.
 */
import { join } from 'node:path';
import { request } from 'undici';
import { defaultAmrCredentials } from '../../adapters/amr-enterprise/simulator.js';
import { NRB_DEMO_CLIENT_ID, NRB_DEMO_CLIENT_SECRET } from '../../adapters/nrb-realestate/simulator.js';
import { PSB_DEMO_APP_KEY, PSB_DEMO_APP_SECRET } from '../../adapters/psb-population/simulator.js';
import { type ServerProcess, freePort, spawnServer, waitForHttp } from './children.js';

export type SimulatorCode = 'PSB' | 'AMR' | 'NRB';

export interface SimulatorProcess {
  code: SimulatorCode;
  server: ServerProcess;
  url: string;
}

export type SimulatorProcesses = Record<SimulatorCode, SimulatorProcess>;

const HOST = '127.0.0.1';

/** Starts the three simulators (killed with every other child by lib/children.ts) and waits until each answers. */
export async function startSimulatorProcesses(root: string, workDir: string): Promise<SimulatorProcesses> {
  const start = async (code: SimulatorCode): Promise<SimulatorProcess> => {
    const port = await freePort();
    const server = spawnServer({
      name: `${code} simulator`,
      root,
      entry: 'bench/lib/simulator-server.ts',
      logFile: join(workDir, `simulator-${code.toLowerCase()}.log`),
      env: { BENCH_SIMULATOR: code, BENCH_SIMULATOR_PORT: String(port) },
    });
    return { code, server, url: `http://${HOST}:${port}` };
  };
  const simulators: SimulatorProcesses = { PSB: await start('PSB'), AMR: await start('AMR'), NRB: await start('NRB') };
  // The simulator kit's control path answers GET with the request counts: ready when it does.
  await Promise.all(
    Object.values(simulators).map((simulator) =>
      waitForHttp(simulator.server, `${simulator.url}/__simulator/faults`, 60_000),
    ),
  );
  return simulators;
}

/** DEPARTMENTS_JSON for a gateway using these simulators with the demo credentials. */
export function departmentsJson(
  simulators: SimulatorProcesses,
  nrbPolling?: { initialMs: number; maxMs: number },
): string {
  return JSON.stringify([
    {
      code: 'PSB',
      name: 'Population registry (simulator)',
      adapter: 'psb-population',
      baseUrl: simulators.PSB.url,
      options: { appKey: PSB_DEMO_APP_KEY, appSecret: PSB_DEMO_APP_SECRET },
    },
    {
      code: 'AMR',
      name: 'Enterprise registry (simulator)',
      adapter: 'amr-enterprise',
      baseUrl: simulators.AMR.url,
      options: { wsUsername: defaultAmrCredentials.username, wsPassword: defaultAmrCredentials.password },
    },
    {
      code: 'NRB',
      name: 'Real-estate registry (simulator)',
      adapter: 'nrb-realestate',
      baseUrl: simulators.NRB.url,
      options: {
        clientId: NRB_DEMO_CLIENT_ID,
        clientSecret: NRB_DEMO_CLIENT_SECRET,
        ...(nrbPolling ? { pollInitialDelayMs: nrbPolling.initialMs, pollMaxDelayMs: nrbPolling.maxMs } : {}),
      },
    },
  ]);
}

/** Requests a simulator has received so far, per operation (the simulator kit's counters). */
export async function simulatorRequestCounts(simulator: SimulatorProcess): Promise<Record<string, number>> {
  const response = await request(`${simulator.url}/__simulator/faults`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${simulator.code} simulator counters: HTTP ${response.statusCode}`);
  return (JSON.parse(text) as { counts: Record<string, number> }).counts;
}
