/**
 * Starting and stopping the gateway as a process: open the database, migrate, build services and
 * the app, listen with explicit timeouts, seal the audit log in the background, and shut down
 * gracefully on SIGTERM/SIGINT (in-flight requests finish; new ones get 503).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { type GatewayApp, createApp } from './app.js';
import { startSealer } from './audit/sealer.js';
import { startKeyPurge } from './cases/idempotency.js';
import type { Config } from './config.js';
import { openDatabase, runsWithoutAutovacuum } from './db/client.js';
import { handleClientErrors } from './platform/client-errors.js';
import { type Clock, systemClock } from './platform/clock.js';
import { createLogger } from './platform/logger.js';
import { type GatewayServices, closeServices, createServices } from './services.js';
import { refuseExposedDemoClients } from './demo/exposure.js';
import { seedDemoData, type DemoClient } from './demo/seed.js';
import {
  type DemoCourier,
  type DemoSimulators,
  type DemoSmsGateway,
  startDemoCourier,
  startDemoSimulators,
  startDemoSmsGateway,
} from './demo/simulators.js';

/** How often each instance re-reads the catalogue for contract versions published elsewhere. */
const CONTRACT_REFRESH_INTERVAL_MS = 30_000;
/** How often expired idempotency keys are removed (IDEMPOTENCY_KEY_RETENTION_HOURS says which). */
const KEY_PURGE_INTERVAL_MS = 10 * 60_000;

export interface RunningGateway {
  url: string;
  app: GatewayApp;
  services: GatewayServices;
  server: Server;
  demoClients: DemoClient[];
  /** The department simulators started beside the gateway (demo only; empty otherwise). */
  demoSimulators: { code: string; url: string }[];
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes everything. */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** Where "today" comes from (default: the system clock); tests of date-dependent pages fix it. */
  clock?: Clock;
}

export async function startGateway(
  config: Config,
  logger: Logger = createLogger(config.logLevel, undefined, config.logBufferBytes),
  options: StartOptions = {},
): Promise<RunningGateway> {
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    await refuseExposedDemoClients(config, database.db);
    if (await runsWithoutAutovacuum(database))
      logger.warn(
        { setting: 'autovacuum', value: 'off' },
        'PostgreSQL runs without autovacuum: planner statistics go stale as tables grow and reads turn ' +
          'into sequential scans; analyze on a schedule (docs/operations.md, "Autovacuum on")',
      );
  } catch (error) {
    await database.close();
    throw error;
  }
  let simulators: DemoSimulators | undefined;
  let sms: DemoSmsGateway | undefined;
  let courier: DemoCourier | undefined;
  let services: GatewayServices;
  try {
    if (config.departments.demoSimulators.enabled)
      simulators = await startDemoSimulators(config.departments.demoSimulators.basePort, logger);
    // The SMS platform's simulator comes after the three departments' ports.
    if (config.notifications.demoSimulator)
      sms = await startDemoSmsGateway(
        config.departments.demoSimulators.basePort === 0 ? 0 : config.departments.demoSimulators.basePort + 3,
        logger,
      );
    // The express platform's simulator comes after the SMS platform's.
    if (config.courier.demoSimulator)
      courier = await startDemoCourier(
        config.departments.demoSimulators.basePort === 0 ? 0 : config.departments.demoSimulators.basePort + 4,
        logger,
      );
    services = await createServices(config, database, logger, {
      processMetrics: true,
      ...(sms ? { notificationChannel: sms.channel } : {}),
      ...(courier ? { courierChannel: courier.channel } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(simulators
        ? { extraDepartments: { list: simulators.departments, urlPolicyOverrides: simulators.urlPolicyOverrides } }
        : {}),
    });
  } catch (error) {
    await simulators?.close();
    await sms?.close();
    await courier?.close();
    await database.close();
    throw error;
  }
  services.publishedContracts.startPolling(CONTRACT_REFRESH_INTERVAL_MS);
  const demoClients = config.demo ? await seedDemoData(database.db, services.clientSecrets) : [];
  services.access.reference.invalidate();
  const app = createApp(services);
  const stopSealer = startSealer(
    database.db,
    services.audit.signer,
    services.audit.witness,
    config.audit.sealIntervalMs,
    logger,
  );
  if (config.cases.dispatch.workerEnabled) services.deliveryWorker.start();
  const stopKeyPurge = startKeyPurge(database.db, {
    retentionMs: config.cases.idempotencyKeyRetentionMs,
    intervalMs: KEY_PURGE_INTERVAL_MS,
    batchSize: 1000,
    maxBatches: 20,
    // The keys' own times are the wall clock's, not the (in tests fixed) calendar clock's.
    now: () => systemClock.now(),
    logger,
  });
  if (config.notifications.workerEnabled) services.notifications.start();
  if (config.courier.workerEnabled) services.courier.start();

  const server = await new Promise<Server>((resolve) => {
    const created = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        // Explicit limits: a slow client cannot hold a connection open forever. Node checks the
        // header and request timeouts every `connectionsCheckingInterval` (30 s by default).
        serverOptions: {
          headersTimeout: config.server.headersTimeoutMs,
          requestTimeout: config.server.requestTimeoutMs,
          keepAliveTimeout: config.server.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, config.server.headersTimeoutMs),
          maxHeaderSize: 16 * 1024,
        },
      },
      () => resolve(created as Server),
    );
  });
  server.maxHeadersCount = 100;
  // Bytes that are not HTTP after a request: that request's answer first, then a 400 and close.
  handleClientErrors(server, { maxWaitMs: config.server.requestTimeoutMs });

  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'shutting down: draining in-flight requests');
      services.lifecycle.draining = true;
      // Deliveries in flight finish while requests drain; nothing new is claimed.
      const workerStopped = services.deliveryWorker.stop(config.server.shutdownGraceMs);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), config.server.shutdownGraceMs).unref(),
      );
      if ((await Promise.race([closed, grace])) === 'timeout') {
        logger.warn('grace period over: closing remaining connections');
        server.closeAllConnections();
        await closed;
      }
      await workerStopped;
      await stopSealer();
      await stopKeyPurge();
      await closeServices(services);
      await simulators?.close();
      await sms?.close();
      await courier?.close();
      await database.close();
      logger.info('stopped');
      logger.flush();
    })();
    return stopping;
  };

  return {
    url,
    app,
    services,
    server,
    demoClients,
    demoSimulators: [
      ...(simulators?.simulators ?? []),
      ...(sms ? [sms.simulator] : []),
      ...(courier ? [courier.simulator] : []),
    ],
    shutdown,
  };
}
