/**
 * Runs the NRB real-estate registry simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/nrb-realestate/run-simulator.ts [port] [host]
 *
 * Default port 7103; OAuth client credentials are the demo pair (NRB_DEMO_CLIENT_ID /
 * NRB_DEMO_CLIENT_SECRET).
 */
import { NRB_DEMO_CLIENT_ID, NRB_SIMULATOR_DEFAULT_PORT, startNrbRealEstateSimulator } from './simulator.js';

const port = Number(process.argv[2] ?? NRB_SIMULATOR_DEFAULT_PORT);
// 127.0.0.1 unless told otherwise: in a container the simulator must listen on 0.0.0.0 to be reached.
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer 0-65535');
const simulator = await startNrbRealEstateSimulator({ port, host });
process.stdout.write(
  `NRB real-estate registry simulator listening on ${simulator.url} (OAuth client ${NRB_DEMO_CLIENT_ID}, token at ${simulator.url}/oauth/token)\n`,
);

const stop = (): void => {
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
