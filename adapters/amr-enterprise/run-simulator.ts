/**
 * Runs the AMR enterprise registry simulator alone, for the demo or manual tries:
 *   node --import tsx adapters/amr-enterprise/run-simulator.ts [port] [host]   (default 7102)
 */
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from './simulator.js';

const port = Number(process.argv[2] ?? 7102);
// 127.0.0.1 unless told otherwise: in a container the simulator must listen on 0.0.0.0 to be reached.
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer 0-65535');
const simulator = await startAmrEnterpriseSimulator({ port, host });
process.stdout.write(
  `AMR enterprise registry simulator at ${simulator.url}/services/EnterpriseRegistry (WS-Security ${defaultAmrCredentials.username})\n`,
);
const stop = () => void simulator.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
