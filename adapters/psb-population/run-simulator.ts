/**
 * Runs the PSB population registry simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/psb-population/run-simulator.ts [port] [host]
 *
 * Default port 7101; credentials are the demo pair (PSB_DEMO_APP_KEY / PSB_DEMO_APP_SECRET).
 */
import { PSB_SIMULATOR_DEFAULT_PORT, startPsbPopulationSimulator } from './simulator.js';

const port = Number(process.argv[2] ?? PSB_SIMULATOR_DEFAULT_PORT);
// 127.0.0.1 unless told otherwise: in a container the simulator must listen on 0.0.0.0 to be reached.
const host = process.argv[3] ?? '127.0.0.1';
const simulator = await startPsbPopulationSimulator({ port, host });
process.stdout.write(`PSB population registry simulator listening on ${simulator.url}\n`);

const stop = (): void => {
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
