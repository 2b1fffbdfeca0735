/**
 * Entry point of `npm start`: parse the configuration once, start the gateway, print where it
 * listens (and the demo credentials), and stop gracefully on SIGTERM or SIGINT.
 */
import { ConfigError, loadConfigFromProcess } from './config.js';
import { DemoClientsExposedError } from './demo/exposure.js';
import { createLogger } from './platform/logger.js';
import { startGateway } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`onewindow: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, undefined, config.logBufferBytes);
  const gateway = await startGateway(config, logger);
  logger.info({ url: gateway.url, database: gateway.services.database.kind }, 'onewindow gateway listening');

  const lines = [
    '',
    `onewindow gateway listening on ${gateway.url}  (database: ${gateway.services.database.kind === 'pglite' ? `embedded PGlite in ${config.database.kind === 'pglite' ? config.database.dataDir : ''}` : 'PostgreSQL'})`,
    `  API reference: ${gateway.url}/docs    OpenAPI: ${gateway.url}/openapi.json`,
  ];
  if (gateway.demoClients.length > 0) {
    lines.push('  Demo clients (ONEWINDOW_DEMO=true; well-known secrets, never use in production):');
    for (const client of gateway.demoClients) {
      lines.push(`    ${client.kind.padEnd(11)} client_id=${client.id}  client_secret=${client.secret}`);
    }
    if (gateway.demoSimulators.length > 0) {
      lines.push('  Department and SMS simulators (DEMO_SIMULATORS; loopback only):');
      for (const simulator of gateway.demoSimulators) lines.push(`    ${simulator.code.padEnd(11)} ${simulator.url}`);
    }
    lines.push(
      `  Try: curl -s -u cli_demo_admin:demo-admin-secret -d grant_type=client_credentials ${gateway.url}/oauth/token`,
    );
  }
  process.stderr.write(`${lines.join('\n')}\n\n`);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      gateway
        .shutdown(signal)
        .then(() => process.exit(0))
        .catch((error: unknown) => {
          logger.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'shutdown failed');
          process.exit(1);
        });
    });
  }
}

main().catch((error: unknown) => {
  // A refusal the operator resolves by a setting or a command, like a configuration error.
  if (error instanceof DemoClientsExposedError) {
    process.stderr.write(`onewindow: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`onewindow: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
