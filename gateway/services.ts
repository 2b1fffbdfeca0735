/**
 * Everything a request handler may use, built once at start and shared by the server and the
 * tests. Handlers reach it as `c.get('services')`; service functions receive what they need.
 */
import { sealStoredCertificates } from './certificates/store.js';
import { sealStoredSubjects } from './identity/subjects.js';
import { DataProtection } from './protection/data-protection.js';
import { AccessPolicy } from './access/context.js';
import { ReferenceData } from './access/reference-data.js';
import { recordRouteRefusal } from './access/refusals.js';
import { SignInGuard } from './auth/sign-in-guard.js';
import { type SharedLimiter, SharedLimits, postgresLimitStore } from './platform/shared-limits.js';
import type { Logger } from 'pino';
import { adapterFactories, courierAdapterFactories, notificationAdapterFactories } from '../adapters/index.js';
import { loadDepartmentAdapters } from './departments/adapter-packages.js';
import { CourierService } from './results/courier.js';
import type { CourierSettings } from './results/courier-config.js';
import { shareIssuedResultsUnderTerms } from './results/electronic.js';
import { createContractSet } from '../adapters/sdk/contract-validation.js';
import { createDepartmentMetrics, type DepartmentMetricsRecorder } from '../adapters/sdk/metrics.js';
import type { UrlPolicy } from '../adapters/sdk/url-policy.js';
import { type ClientQueries, prepareClientQueries } from './auth/clients.js';
import { ClientSecrets } from './auth/secrets.js';
import { EnvelopeCache } from './certificates/envelope.js';
import { DisabledClients } from './auth/disabled-clients.js';
import { type AuditTrust, createAuditTrust } from './audit/trust.js';
import { type GatewaySeal, loadGatewaySeal } from './seals/gateway-seal.js';
import { KeyStore } from './auth/keys.js';
import { TokenService } from './auth/tokens.js';
import { CalendarService } from './calendar/service.js';
import { seedShippedCalendars } from './calendar/store.js';
import { namesOfCases } from './cases/names.js';
import { PRESENCE_FAILURES_PER_SUBJECT, PRESENCE_FAILURE_WINDOW_MS } from './identity/tracker-token.js';
import { IDENTIFIER_PROBES_PER_SHAPE, IDENTIFIER_PROBE_WINDOW_MS } from './identity/subjects.js';
import { DeliveryWorker } from './cases/dispatch.js';
import type { Config } from './config.js';
import { sharedContractChecker } from './contracts/contract-checker.js';
import { seedRepositoryContracts } from './contracts/repository.js';
import type { Database, DatabaseHandle } from './db/client.js';
import type { DepartmentConfig } from './departments/config.js';
import { PublishedContracts } from './departments/published-contracts.js';
import { DepartmentRegistry } from './departments/registry.js';
import { DepartmentCallLedger, withCallLedger } from './departments/call-ledger.js';
import type { BlobIntegrityOptions } from './materials/blob-integrity.js';
import type { BlobStore } from './materials/blob-store.js';
import { blobStoreKind, createConfiguredBlobStore } from './materials/blob-stores.js';
import { applySeedItems, listItems } from './items/catalogue.js';
import { warnUndeliverableItems } from './items/deliverability.js';
import { applySeedMaterialTypes } from './materials/catalogue.js';
import type { NotificationSettings } from './notifications/config.js';
import { NotificationService } from './notifications/service.js';
import { chinaToday } from './materials/dates.js';
import { type Clock, systemClock } from './platform/clock.js';
import { type GatewayMetrics, createMetrics } from './platform/metrics.js';
import type { Lifecycle } from './platform/context.js';

export type { Lifecycle };

export interface GatewayServices {
  config: Config;
  /** The wall clock "today" is read from (a fixed one in date-dependent tests). */
  clock: Clock;
  /** The one access policy every read and write of personal data asks (gateway/access). */
  access: AccessPolicy;
  /** Records a refusal at a personal-data route before its handler ran (gateway/access/refusals.ts). */
  recordRouteRefusal: typeof recordRouteRefusal;
  database: DatabaseHandle;
  db: Database;
  logger: Logger;
  /** Token and certificate envelope keys. */
  keys: KeyStore;
  /** The audit checkpoint key, the keys checkpoints are verified with, and the witnesses (never the database). */
  audit: AuditTrust;
  /** The gateway's electronic seal (GB/T 38540): its key, certificate and seal data, outside the database. */
  seal: GatewaySeal;
  tokens: TokenService;
  clientQueries: ClientQueries;
  /** Keyed hashes of client secrets (the pepper from its file). */
  clientSecrets: ClientSecrets;
  /** Certificate envelopes, signed once per certificate version and view. */
  envelopes: EnvelopeCache;
  /** Clients whose tokens are refused before they expire. */
  disabledClients: DisabledClients;
  /** Sign-in rate limits (token endpoint, supervision Basic). */
  signInGuard: SignInGuard;
  /** The rate limits' counters, shared by every instance through the database. */
  sharedLimits: SharedLimits;
  /** Requests per client on protected routes (across instances). */
  clientRequestLimiter: SharedLimiter;
  /** Applicant progress look-ups per client address (across instances). */
  progressLookupLimiter: SharedLimiter;
  /** Public verifications per client address (VERIFICATIONS_PER_MINUTE). */
  verificationLimiter: SharedLimiter;
  /** Identity documents presented for a tracker token that did not match, per client and subject. */
  presenceFailureLimiter: SharedLimiter;
  /** Answers of `POST /v1/subjects/resolve` that were not a known number with its name, per client and masked shape. */
  identifierProbeLimiter: SharedLimiter;
  metrics: GatewayMetrics;
  lifecycle: Lifecycle;
  /** Where document content lives (BLOB_STORE): the database or a directory. */
  blobStore: BlobStore;
  /** The department systems: adapters over their resilient clients. */
  departments: DepartmentRegistry;
  departmentMetrics: DepartmentMetricsRecorder;
  /** Every department call counted per day in the database (the supervision figures); flush before reading. */
  departmentCalls: DepartmentCallLedger;
  /** The contracts department answers are checked against (latest published versions). */
  publishedContracts: PublishedContracts;
  /** The working-day calendar deadlines are counted in, cached in memory. */
  calendar: CalendarService;
  /**
   * Delivers submitted cases to their departments (the outbox worker). Built here, started by the
   * server when DELIVERY_WORKER is on; call `wake()` after a submission commits.
   */
  deliveryWorker: DeliveryWorker;
  /** SMS to applicants about their cases (gateway/notifications); off without NOTIFICATIONS_JSON. */
  notifications: NotificationService;
  /** Results sent by courier (gateway/results/courier.ts); off without COURIER_JSON. */
  courier: CourierService;
}

// The request context carries all of the above: the platform declares only what it uses itself.
declare module './platform/context.js' {
  interface AppServices extends GatewayServices {}
}

/** Departments added at start besides the configured ones (the demo's simulators). */
export interface ExtraDepartments {
  list: DepartmentConfig[];
  /** Per-department URL policies replacing DEPARTMENT_ALLOWED_HOSTS / _ALLOW_PRIVATE_NETWORKS. */
  urlPolicyOverrides: Record<string, UrlPolicy>;
}

/**
 * Corrupt stored content is an incident: every detection is logged (digests only, never content
 * or personal data) and counted, and so is every repair.
 */
function blobIntegrityReporting(
  config: Config,
  logger: Logger,
  metrics: GatewayMetrics,
  clock: Clock,
): BlobIntegrityOptions {
  const store = blobStoreKind(config.materials);
  // Zero series from the start, so that an alert on their increase sees the first one.
  metrics.blobCorruption.inc({ store }, 0);
  metrics.blobRepairs.inc({ store }, 0);
  return {
    now: () => clock.now().getTime(),
    onCorruption: (corruption) => {
      metrics.blobCorruption.inc({ store });
      logger.error(
        {
          store,
          blob: corruption.sha256,
          expectedSha256: corruption.sha256,
          actualSha256: corruption.actualSha256,
          bytesRead: corruption.bytesRead,
          detectedBy: corruption.detectedBy,
        },
        'stored content does not match its SHA-256: quarantined until the same document is stored again',
      );
    },
    onRepair: (sha256) => {
      metrics.blobRepairs.inc({ store });
      logger.warn({ store, blob: sha256 }, 'corrupt stored content repaired: the same document was stored again');
    },
  };
}

export async function createServices(
  config: Config,
  database: DatabaseHandle,
  logger: Logger,
  options: {
    processMetrics?: boolean;
    /** Where the repository's contract files are published from at start (default `contracts/`); false: none. */
    contractsDirectory?: string | false;
    extraDepartments?: ExtraDepartments;
    /** Where "today" comes from (default: the system clock). */
    clock?: Clock;
    /** A notification channel replacing NOTIFICATIONS_JSON (the demo's SMS simulator), with its URL policy. */
    notificationChannel?: { settings: NotificationSettings; urlPolicy: UrlPolicy };
    /** The demo's courier (its simulator on loopback) when COURIER_JSON is not set. */
    courierChannel?: { settings: CourierSettings; urlPolicy: UrlPolicy };
  } = {},
): Promise<GatewayServices> {
  const clock = options.clock ?? systemClock;
  const keys = new KeyStore(database.db, config.signing, { logger });
  const clientSecrets = await ClientSecrets.open(config.clientSecretPepperFile);
  const reference = new ReferenceData(database.db, logger);
  await reference.start(database);
  const protection = await DataProtection.start(database.db, config.protection, logger);
  if (protection.mode !== 'off') {
    // Subjects written while protection was off are sealed before the first request is served.
    const { sealed, left } = await sealStoredSubjects(database.db, protection);
    const certificateRows = await sealStoredCertificates(database.db, protection);
    if (sealed + certificateRows > 0)
      logger.info({ subjects: sealed, certificateRows }, 'personal data kept in clear was sealed (DATA_PROTECTION)');
    if (left.length > 0)
      logger.error(
        { subjects: left },
        'subjects left in clear: the same identifier is also stored sealed (two subjects of one holder); merge them',
      );
  }
  const access = new AccessPolicy(reference, protection);
  await keys.initialise();
  const audit = await createAuditTrust(config.audit, config.signing.alg, logger);
  const seal = await loadGatewaySeal(config.seals, clock.now());
  const disabledClients = new DisabledClients(database.db);
  await disabledClients.initialise();
  await applySeedMaterialTypes(database.db);
  await applySeedItems(database.db);
  if (options.contractsDirectory !== false)
    await seedRepositoryContracts(database.db, { directory: options.contractsDirectory, logger });
  await seedShippedCalendars(database.db, logger);
  const calendar = new CalendarService(database.db, logger);
  await calendar.reload();
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? false });
  const departmentCalls = new DepartmentCallLedger({ db: database.db, now: () => clock.now(), logger });
  const departmentMetrics = withCallLedger(createDepartmentMetrics(metrics.registry), departmentCalls);
  const publishedContracts = new PublishedContracts(
    database.db,
    createContractSet([], { metrics: departmentMetrics }),
    logger,
    (json, options) => sharedContractChecker.checkableSlices(json, options),
  );
  await publishedContracts.sync();
  // Out-of-tree adapters (adapterPackage, adapterPath) are imported now, before the registry needs them.
  const departmentAdapters = await loadDepartmentAdapters(
    [...config.departments.list, ...(options.extraDepartments?.list ?? [])],
    adapterFactories,
  );
  for (const loaded of departmentAdapters.packages)
    logger.info(
      {
        adapterPackage: loaded.name,
        version: loaded.version,
        adapterInterface: loaded.adapterInterface,
        kind: loaded.factory.kind,
      },
      'adapter package loaded',
    );
  const departments = DepartmentRegistry.create({
    departments: departmentAdapters.departments,
    urlPolicy: config.departments.urlPolicy,
    urlPolicyOverrides: options.extraDepartments?.urlPolicyOverrides ?? {},
    factories: departmentAdapters.factories,
    contracts: publishedContracts.set,
    metrics: departmentMetrics,
    logger,
  });
  const resultsShared = await shareIssuedResultsUnderTerms(database.db, departments);
  if (resultsShared > 0)
    logger.info({ materials: resultsShared }, 'issued results stored without sharing terms now read under them');
  // An item a changed department can no longer take is said at start; submitting its cases is refused.
  warnUndeliverableItems(
    (await listItems(database.db)).filter((item) => item.active),
    departments,
    logger,
  );
  // Documents are sealed at rest with the same data keys as subjects (DATA_PROTECTION).
  const blobStore = createConfiguredBlobStore(
    config.materials,
    database.db,
    blobIntegrityReporting(config, logger, metrics, clock),
    protection,
  );
  const sharedLimits = new SharedLimits({
    store: postgresLimitStore(database),
    now: () => clock.now().getTime(),
    logger,
    fallbackCounter: metrics.sharedLimitsFallback,
  });
  return {
    blobStore,
    disabledClients,
    sharedLimits,
    signInGuard: new SignInGuard(config.rateLimits, sharedLimits),
    clientRequestLimiter: sharedLimits.limiter({
      name: 'client-requests',
      limit: config.rateLimits.clientRequestsPerMinute,
      windowMs: 60_000,
    }),
    presenceFailureLimiter: sharedLimits.limiter({
      name: 'presence-failures',
      limit: PRESENCE_FAILURES_PER_SUBJECT,
      windowMs: PRESENCE_FAILURE_WINDOW_MS,
    }),
    identifierProbeLimiter: sharedLimits.limiter({
      name: 'identifier-probes',
      limit: IDENTIFIER_PROBES_PER_SHAPE,
      windowMs: IDENTIFIER_PROBE_WINDOW_MS,
    }),
    verificationLimiter: sharedLimits.limiter({
      name: 'verifications',
      limit: config.rateLimits.verificationsPerMinute,
      windowMs: 60_000,
    }),
    progressLookupLimiter: sharedLimits.limiter({
      name: 'progress-lookups',
      limit: config.progress.lookupsPerMinute,
      windowMs: 60_000,
    }),
    config,
    clock,
    access,
    recordRouteRefusal,
    database,
    db: database.db,
    logger,
    keys,
    audit,
    seal,
    tokens: new TokenService(
      keys,
      {
        issuer: config.issuer,
        audience: config.audience,
        ...config.tokens,
        subjectTokenTtlSeconds: config.subjectTokenTtlSeconds,
      },
      clock,
    ),
    clientQueries: prepareClientQueries(database),
    clientSecrets,
    envelopes: new EnvelopeCache(),
    metrics,
    lifecycle: { draining: false },
    departments,
    departmentMetrics,
    departmentCalls,
    publishedContracts,
    calendar,
    deliveryWorker: new DeliveryWorker({
      db: database.db,
      protection,
      departments,
      calendar,
      metrics: metrics.registry,
      logger,
      settings: config.cases.dispatch,
      blobStore,
      sealing: { seal, now: () => clock.now() },
    }),
    notifications: NotificationService.create({
      settings: options.notificationChannel?.settings ?? config.notifications.channel,
      urlPolicy: options.notificationChannel?.urlPolicy ?? config.departments.urlPolicy,
      factories: notificationAdapterFactories,
      db: database.db,
      registry: metrics.registry,
      departmentMetrics,
      logger,
      caseNames: (tx, caseIds) => namesOfCases(tx, protection, caseIds),
      supervision: {
        calendar: () => calendar.current(),
        warningShare: config.supervision.warningShare,
        today: () => chinaToday(clock.now()),
      },
    }),
    courier: CourierService.create({
      settings: options.courierChannel?.settings ?? config.courier.channel,
      urlPolicy: options.courierChannel?.urlPolicy ?? config.departments.urlPolicy,
      factories: courierAdapterFactories,
      db: database.db,
      departmentMetrics,
      logger,
      now: () => clock.now(),
    }),
  };
}

/** Releases what the services hold besides the database: department connections, timers. */
export async function closeServices(services: GatewayServices): Promise<void> {
  // Before the departments close: deliveries in flight finish and are recorded first.
  await services.deliveryWorker.stop(services.config.server.shutdownGraceMs);
  await services.notifications.close(services.config.server.shutdownGraceMs);
  await services.courier.close();
  services.publishedContracts.stop();
  await services.access.reference.stop();
  await services.departments.close();
  // After every call has finished: the last counts are written before the database closes.
  await services.departmentCalls.close();
  await services.audit.witness.close();
  await services.sharedLimits.settled();
}
