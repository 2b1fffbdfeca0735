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
import { SMS_SIMULATOR_DEFAULT_PORT, startSmsGatewaySimulator } from './simulator.js';

const port = Number(process.argv[2] ?? SMS_SIMULATOR_DEFAULT_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer 0-65535');
const [second, third] = process.argv.slice(3);
const secondIsUrl = second?.includes('://') === true;
const host = secondIsUrl ? '127.0.0.1' : (second ?? '127.0.0.1');
const callbackUrl = secondIsUrl ? second : third;
const simulator = await startSmsGatewaySimulator({
  port,
  host,
  receiptDelayMs: 2000,
  ...(callbackUrl ? { callbackUrl } : {}),
});
process.stdout.write(
  `SMS platform simulator listening on ${simulator.url}${callbackUrl ? ` (receipts pushed to ${callbackUrl})` : ''}\n`,
);

const stop = (): void => {
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
