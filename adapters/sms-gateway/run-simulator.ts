/**
 * Runs the SMS platform simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/sms-gateway/run-simulator.ts [port] [host] [callback URL]
 *
 * Default port 7104 on 127.0.0.1 (0.0.0.0 in a container, to be reached); a callback URL in the
 * host's place (`[port] [callback URL]`, the older form) still works. Credentials and sign name
 * are the demo's (SMS_DEMO_APP_KEY / SMS_DEMO_APP_SECRET, 某某市政务服务中心). Every template code
 * counts as approved. Receipts are final two seconds after a message is accepted and, with a
 * callback URL, pushed there.
 */
import { runSimulator } from '@onewindow/adapter-sdk/testing/run-simulator';
import { SMS_SIMULATOR_DEFAULT_PORT, startSmsGatewaySimulator } from './simulator.js';

// `[port] [host] [callbackUrl]` or `[port] [callbackUrl]`: a second argument that is a URL is the callback.
const [port, second, third] = process.argv.slice(2);
const secondIsUrl = second?.includes('://') === true;
const callbackUrl = secondIsUrl ? second : third;
await runSimulator({
  defaultPort: SMS_SIMULATOR_DEFAULT_PORT,
  argv: [port ?? String(SMS_SIMULATOR_DEFAULT_PORT), ...(secondIsUrl || second === undefined ? [] : [second])],
  start: ({ port: listenPort, host }) =>
    startSmsGatewaySimulator({ port: listenPort, host, receiptDelayMs: 2000, ...(callbackUrl ? { callbackUrl } : {}) }),
  describe: (simulator) =>
    `SMS platform simulator listening on ${simulator.url}${callbackUrl ? ` (receipts pushed to ${callbackUrl})` : ''}`,
});
