/**
 * Runs the SMS platform simulator on its own, for the demo or by hand:
 *
 *     node --import tsx adapters/sms-gateway/run-simulator.ts [port] [callback URL]
 *
 * Default port 7104; credentials and sign name are the demo's (SMS_DEMO_APP_KEY /
 * SMS_DEMO_APP_SECRET, 某某市政务服务中心). Every template code counts as approved. Receipts are
 * final two seconds after a message is accepted and, with a callback URL, pushed there.
 */
import { SMS_SIMULATOR_DEFAULT_PORT, startSmsGatewaySimulator } from './simulator.js';

const port = Number(process.argv[2] ?? SMS_SIMULATOR_DEFAULT_PORT);
const callbackUrl = process.argv[3];
const simulator = await startSmsGatewaySimulator({
  port,
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
