/**
 * Runs the AMR enterprise registry simulator alone, for the demo or manual tries:
 *   node --import tsx adapters/amr-enterprise/run-simulator.ts [port] [host]   (default 7102)
 */
import { runSimulator } from '@onewindow/adapter-sdk/testing/run-simulator';
import { defaultAmrCredentials, startAmrEnterpriseSimulator } from './simulator.js';

await runSimulator({
  defaultPort: 7102,
  start: ({ port, host }) => startAmrEnterpriseSimulator({ port, host }),
  describe: (simulator) =>
    `AMR enterprise registry simulator at ${simulator.url}/services/EnterpriseRegistry (WS-Security ${defaultAmrCredentials.username})`,
});
