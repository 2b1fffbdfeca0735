/**
 * Entry of one department simulator child process for the benchmarks (see simulators.ts): starts
 * the simulator named by BENCH_SIMULATOR (PSB, AMR or NRB) on 127.0.0.1:BENCH_SIMULATOR_PORT with
 * its default options, as `adapters/<department>/run-simulator.ts` does, and closes it on SIGTERM.
 * Settings come through the environment because lib/children.ts starts a child without arguments.
 */
import { startAmrEnterpriseSimulator } from '../../adapters/amr-enterprise/simulator.js';
import { startNrbRealEstateSimulator } from '../../adapters/nrb-realestate/simulator.js';
import { startPsbPopulationSimulator } from '../../adapters/psb-population/simulator.js';
import type { RunningSimulator } from '../../adapters/sdk/simulator.js';

const HOST = '127.0.0.1';
const port = Number(process.env.BENCH_SIMULATOR_PORT);
const code = process.env.BENCH_SIMULATOR;
if (!Number.isInteger(port) || port <= 0) throw new Error('BENCH_SIMULATOR_PORT must be a port number');

let simulator: RunningSimulator;
if (code === 'PSB') simulator = await startPsbPopulationSimulator({ port, host: HOST });
else if (code === 'AMR') simulator = await startAmrEnterpriseSimulator({ port, host: HOST });
else if (code === 'NRB') simulator = await startNrbRealEstateSimulator({ port, host: HOST });
else throw new Error(`BENCH_SIMULATOR must be PSB, AMR or NRB, not ${String(code)}`);
process.stdout.write(`${code} simulator listening on ${simulator.url}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
