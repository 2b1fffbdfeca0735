/**
 * Runs the MCA marriage registry simulator on its own, for the demo or by hand:
 *
 *     node --import tsx packages/adapter-mca-marriage/run-simulator.ts [port] [host]
 *
 * Default port 7106; the demo app (MCA_DEMO_APP_ID / MCA_DEMO_APP_KEY); the front proxy on (502
 * for about one call in ten, from the demo seed).
 */
import {
  MCA_DEMO_APP_ID,
  MCA_DEMO_PROXY_SEED,
  MCA_SIMULATOR_DEFAULT_PORT,
  startMcaMarriageSimulator,
} from './simulator.js';

const port = Number(process.argv[2] ?? MCA_SIMULATOR_DEFAULT_PORT);
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer 0-65535');
const simulator = await startMcaMarriageSimulator({ port, host, frontProxy: { seed: MCA_DEMO_PROXY_SEED } });
process.stdout.write(
  `MCA marriage registry simulator listening on ${simulator.url}/gateway (app_id ${MCA_DEMO_APP_ID}; front proxy: 502 about one call in ten)\n`,
);

const stop = (): void => {
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
