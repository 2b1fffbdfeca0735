/**
 * Runs the NRB real-estate registry simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/nrb-realestate/run-simulator.ts [port] [host]
 *
 * Default port 7103; OAuth client credentials are the demo pair (NRB_DEMO_CLIENT_ID /
 * NRB_DEMO_CLIENT_SECRET).
 */
import { runSimulator } from '@onewindow/adapter-sdk/testing/run-simulator';
import { NRB_DEMO_CLIENT_ID, NRB_SIMULATOR_DEFAULT_PORT, startNrbRealEstateSimulator } from './simulator.js';

await runSimulator({
  defaultPort: NRB_SIMULATOR_DEFAULT_PORT,
  start: ({ port, host }) => startNrbRealEstateSimulator({ port, host }),
  describe: (simulator) =>
    `NRB real-estate registry simulator listening on ${simulator.url} (OAuth client ${NRB_DEMO_CLIENT_ID}, token at ${simulator.url}/oauth/token)`,
});
