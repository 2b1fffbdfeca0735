/**
 * Runs the PSB population registry simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/psb-population/run-simulator.ts [port] [host]
 *
 * Default port 7101; credentials are the demo pair (PSB_DEMO_APP_KEY / PSB_DEMO_APP_SECRET).
 */
import { runSimulator } from '@onewindow/adapter-sdk/testing/run-simulator';
import { PSB_SIMULATOR_DEFAULT_PORT, startPsbPopulationSimulator } from './simulator.js';

await runSimulator({
  defaultPort: PSB_SIMULATOR_DEFAULT_PORT,
  start: ({ port, host }) => startPsbPopulationSimulator({ port, host }),
  describe: (simulator) => `PSB population registry simulator listening on ${simulator.url}`,
});
