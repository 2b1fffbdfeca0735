/**
 * Runs the MCA marriage registry simulator on its own, for the demo or by hand:
 *
 *     node --import tsx packages/adapter-mca-marriage/run-simulator.ts [port] [host]
 *
 * Default port 7106; the demo app (MCA_DEMO_APP_ID / MCA_DEMO_APP_KEY); the front proxy on (502
 * for about one call in ten, from the demo seed).
 */
import { runSimulator } from '@onewindow/adapter-sdk/testing/run-simulator';
import {
  MCA_DEMO_APP_ID,
  MCA_DEMO_PROXY_SEED,
  MCA_SIMULATOR_DEFAULT_PORT,
  startMcaMarriageSimulator,
} from './simulator.js';

await runSimulator({
  defaultPort: MCA_SIMULATOR_DEFAULT_PORT,
  start: ({ port, host }) => startMcaMarriageSimulator({ port, host, frontProxy: { seed: MCA_DEMO_PROXY_SEED } }),
  describe: (simulator) =>
    `MCA marriage registry simulator listening on ${simulator.url}/gateway (app_id ${MCA_DEMO_APP_ID}; front proxy: 502 about one call in ten)`,
});
