/**
 * Runs the express platform simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/courier-express/run-simulator.ts [port] [host]
 *
 * Default port 7105; the demo partner (EXPRESS_DEMO_PARTNER_ID / EXPRESS_DEMO_CHECK_WORD). A
 * parcel moves on with `POST /__express/advance` (see the adapter's README).
 */
import { runSimulator } from '@onewindow/adapter-sdk/testing/run-simulator';
import { EXPRESS_DEMO_PARTNER_ID, EXPRESS_SIMULATOR_DEFAULT_PORT, startExpressSimulator } from './simulator.js';

await runSimulator({
  defaultPort: EXPRESS_SIMULATOR_DEFAULT_PORT,
  start: ({ port, host }) => startExpressSimulator({ port, host }),
  describe: (simulator) =>
    `Express platform simulator listening on ${simulator.url} (partner ${EXPRESS_DEMO_PARTNER_ID})`,
});
