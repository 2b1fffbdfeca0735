/**
 * Runs the express platform simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/courier-express/run-simulator.ts [port] [host]
 *
 * Default port 7105; the demo partner (EXPRESS_DEMO_PARTNER_ID / EXPRESS_DEMO_CHECK_WORD). A
 * parcel moves on with `POST /__express/advance` (see the adapter's README).
 */
import { EXPRESS_DEMO_PARTNER_ID, EXPRESS_SIMULATOR_DEFAULT_PORT, startExpressSimulator } from './simulator.js';

const port = Number(process.argv[2] ?? EXPRESS_SIMULATOR_DEFAULT_PORT);
// 127.0.0.1 unless told otherwise: in a container the simulator must listen on 0.0.0.0 to be reached.
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer 0-65535');
const simulator = await startExpressSimulator({ port, host });
process.stdout.write(`Express platform simulator listening on ${simulator.url} (partner ${EXPRESS_DEMO_PARTNER_ID})\n`);

const stop = (): void => {
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
