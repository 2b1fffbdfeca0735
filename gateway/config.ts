/**
 * The gateway's configuration: one zod schema, parsed once at start from the environment.
 * Nothing else in the code base reads `process.env`; everything receives a `Config`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type DepartmentConfig, parseDepartments } from './departments/config.js';
import { type NotificationSettings, parseNotifications } from './notifications/config.js';
import { type CourierSettings, parseCourier } from './results/courier-config.js';
import { type TrustedProxies, parseTrustedProxies } from './platform/client-address.js';
import type { SealSettings } from './seals/config.js';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const listFromEnv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

export const configSchema = z
  .object({
    /** TCP port the HTTP server listens on. */
    PORT: integer(0, 65535).default(8080),
    /** Interface to bind; 127.0.0.1 by default so a demo is not exposed to the network. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Public base URL of this deployment; also the token issuer (`iss`). Same for every instance. */
    PUBLIC_BASE_URL: z.url().optional(),
    /** Audience (`aud`) of the access tokens this gateway issues and accepts. */
    TOKEN_AUDIENCE: z.string().min(1).default('onewindow-api'),
    /** PostgreSQL connection string; when absent the gateway runs on embedded PGlite. */
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    /** Maximum connections in the PostgreSQL pool (ignored on PGlite). */
    DATABASE_POOL_SIZE: integer(1, 200).default(10),
    /**
     * Longest a statement may run, and a transaction sit idle, on the gateway's PostgreSQL
     * connections before the server ends it (ignored on PGlite): a stuck statement or a leaked
     * transaction must not hold a connection and its locks for good.
     */
    DATABASE_STATEMENT_TIMEOUT_MS: integer(1000, 3_600_000).default(60_000),
    /**
     * The gateway's data folder: the defaults of the PGlite database, the filesystem blob store,
     * the private key files and the audit witness file all lie under it. One folder per deployment.
     */
    DATA_DIR: z.string().min(1).default('.data'),
    /** Folder of the embedded PGlite database (default DATA_DIR/pglite); `memory://` keeps it in memory only. */
    PGLITE_DATA_DIR: z.string().min(1).optional(),
    /** pino log level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Log lines are written once this many bytes wait (at least every second, and on exit); 0: each at once. */
    LOG_BUFFER_BYTES: integer(0, 1024 * 1024).default(4096),
    /** The language of problem titles and details when a request's Accept-Language names none we have. */
    DEFAULT_LANGUAGE: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** Largest request body accepted by JSON routes, in bytes. */
    BODY_LIMIT_BYTES: integer(1024, 100 * 1024 * 1024).default(1024 * 1024),
    /** Time allowed for a client to send all request headers. */
    HEADERS_TIMEOUT_MS: integer(1000, 120_000).default(10_000),
    /** Time allowed for a whole request (headers and body) to arrive. */
    REQUEST_TIMEOUT_MS: integer(1000, 600_000).default(60_000),
    /** How long an idle keep-alive connection is kept open. */
    KEEP_ALIVE_TIMEOUT_MS: integer(100, 120_000).default(5_000),
    /**
     * Downloads of the API reference's files and the OpenAPI document in progress at once (each
     * counted until its connection closes); one more is answered 503. Bounds what slow readers
     * of these public files can make the machine hold.
     */
    DOCS_MAX_CONCURRENT_DELIVERIES: integer(1, 100_000).default(64),
    /** A download of those files the client has not taken within this time has its connection reset. */
    DOCS_SEND_TIMEOUT_MS: integer(1000, 600_000).default(60_000),
    /** On SIGTERM, how long in-flight requests may take before connections are closed. */
    SHUTDOWN_GRACE_MS: integer(0, 120_000).default(10_000),
    /** Lifetime of issued access tokens. */
    ACCESS_TOKEN_TTL_SECONDS: integer(30, 3600).default(300),
    /** Clock tolerance when checking `exp` and `nbf`. */
    TOKEN_CLOCK_TOLERANCE_SECONDS: integer(0, 120).default(30),
    /**
     * Signature algorithm of keys the gateway generates (signing keys and the audit checkpoint
     * key). `SM2` signs with SM2/SM3 (GB/T 32918, GB/T 32905) under the JWS name `SM2SM3`, which
     * is also accepted here; see docs/national-cryptography.md.
     */
    SIGNING_ALG: z
      .enum(['ES256', 'EdDSA', 'SM2', 'SM2SM3'])
      .default('ES256')
      .transform((alg) => (alg === 'SM2' ? 'SM2SM3' : alg)),
    /**
     * Comma-separated PKCS#8 PEM files with the signing keys; the first is the active one.
     * When absent, keys are generated at first start and kept in the database, their private
     * halves sealed with the key-encryption key below.
     */
    SIGNING_KEY_FILES: listFromEnv.optional(),
    /**
     * The key that seals (AES-256-GCM) the private signing keys kept in the database, so that a
     * database writer can neither read them nor add a key of their own. Created at first start
     * (mode 0600); every instance of a deployment needs the same file. Default DATA_DIR/keys/signing-keys.kek.json.
     */
    SIGNING_KEY_ENCRYPTION_KEY_FILE: z.string().min(1).optional(),
    /**
     * The pepper client secrets are hashed with (HMAC-SHA256), kept outside the database; created
     * at first start (mode 0600). Every instance of a deployment needs the same file.
     */
    CLIENT_SECRET_PEPPER_FILE: z.string().min(1).optional(),
    /** How long a rotated-out key stays in the JWKS, so its tokens and signatures still verify. */
    RETIRED_KEY_PUBLISH_SECONDS: integer(60, 10 * 365 * 86400).default(365 * 86400),
    /** How often pending audit entries are sealed into the hash chain. */
    AUDIT_SEAL_INTERVAL_MS: integer(50, 600_000).default(1000),
    /**
     * PKCS#8 PEM private key that signs audit checkpoints; never kept in the database. Created at
     * first start (mode 0600) with its public half beside it (`….pub.pem`). Default DATA_DIR/keys/audit-checkpoint.pem.
     */
    AUDIT_CHECKPOINT_KEY_FILE: z.string().min(1).optional(),
    /**
     * More public keys audit checkpoints may be signed with (comma-separated files: PEM public
     * keys or JWKS): retired checkpoint keys, other instances' keys. The key file's own public
     * half is always trusted; keys in the database never are.
     */
    AUDIT_CHECKPOINT_TRUSTED_KEYS: listFromEnv.default([]),
    /** Append-only file (JSON lines) every signed checkpoint head is written to. Default DATA_DIR/audit-witness.jsonl. */
    AUDIT_WITNESS_FILE: z.string().min(1).optional(),
    /** An HTTP witness (e.g. another department's receiver) the latest signed head is POSTed to. */
    AUDIT_WITNESS_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** Bearer token sent to AUDIT_WITNESS_URL, when the witness asks for one. */
    AUDIT_WITNESS_BEARER_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Time allowed for one POST to the HTTP witness (connect, headers and body). */
    AUDIT_WITNESS_TIMEOUT_MS: integer(100, 120_000).default(5000),
    /**
     * Personal data encrypted at rest (gateway/protection): `sm4-gcm` (GB/T 32907) or
     * `aes-256-gcm` seal subjects' identifiers and names under data keys kept in the database,
     * wrapped by the key-encryption key file below; lookups by identifier use a keyed blind index.
     * `off` keeps them in clear (values sealed earlier still open while their keys are there).
     */
    DATA_PROTECTION: z
      .enum(['off', 'sm4-gcm', 'aes-256-gcm', 'SM4', 'AES'])
      .default('off')
      .transform((mode) => (mode === 'SM4' ? 'sm4-gcm' : mode === 'AES' ? 'aes-256-gcm' : mode)),
    /**
     * The 256-bit key (a JSON JWK {"kty":"oct","k":…}) that wraps the data keys; never in the
     * database. Created at first start (mode 0600); every instance needs the same file.
     * Default DATA_DIR/keys/data-keys.kek.json.
     */
    DATA_KEY_ENCRYPTION_KEY_FILE: z.string().min(1).optional(),
    /**
     * Earlier key-encryption key files (comma-separated), kept while rotating: data keys wrapped
     * by one of them are wrapped again by the current file at start; the data is not touched.
     */
    DATA_KEY_ENCRYPTION_KEY_PREVIOUS_FILES: listFromEnv.default([]),
    /**
     * PKCS#8 PEM SM2 private key of the gateway's electronic seal (GB/T 38540), kept like the audit
     * checkpoint key: never in the database, created at first start (mode 0600), its self-signed
     * certificate (`….crt.pem`) and seal data (`….esl`) written beside it. Default DATA_DIR/keys/seal.pem.
     */
    SEAL_KEY_FILE: z.string().min(1).optional(),
    /** The seal's name (印章名称), written in the seal data. */
    SEAL_NAME: z.string().trim().min(2).max(100).default('某某市政务服务中心电子印章'),
    /** Years a seal (and its certificate) made at start are valid; a seal past its end is made again. */
    SEAL_VALID_YEARS: integer(1, 30).default(5),
    /**
     * More certificates (comma-separated PEM files) whose seals POST /v1/seals/verify accepts, e.g.
     * a department's seal certificate; the gateway's own is always trusted.
     */
    SEAL_TRUSTED_CERTIFICATES: listFromEnv.default([]),
    /** Static bearer token a Prometheus scraper may use on /metrics (besides a `metrics:read` token). */
    METRICS_SCRAPE_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
    /** Largest document accepted by the upload routes, in bytes; enforced while reading (413). */
    UPLOAD_MAX_BYTES: integer(1024, 1024 * 1024 * 1024).default(20 * 1024 * 1024),
    /** Where document content is stored: in the database (`postgres`, also PGlite) or in a directory. */
    BLOB_STORE: z.enum(['postgres', 'filesystem']).default('postgres'),
    /** Directory of the filesystem blob store (BLOB_STORE=filesystem; default DATA_DIR/blobs); shared by all instances. */
    BLOB_STORE_DIR: z.string().min(1).optional(),
    /** Also compute and keep the SM3 (GB/T 32905) digest of every document; costs upload speed. */
    CONTENT_SM3: booleanFromEnv.default(false),
    /**
     * How long a document verified by a whole read may serve byte ranges (206) without being read
     * whole again, unless it was rewritten since; 0: verify the whole document before every range.
     */
    BLOB_RANGE_VERIFICATION_MAX_AGE_SECONDS: integer(0, 7 * 86_400).default(600),
    /**
     * Purpose codes a caller may state (header `Onewindow-Purpose`) when it reads personal data
     * without a case reference. Comma-separated.
     */
    PURPOSE_CODES: listFromEnv
      .pipe(
        z
          .array(z.string().regex(/^[a-z][a-z0-9_-]{1,39}$/, 'purpose codes are lower-case words (a-z, 0-9, _ and -)'))
          .min(1),
      )
      .default([
        'case_acceptance',
        'case_review',
        'certificate_issuance',
        'eligibility_check',
        'supervision',
        'subject_request',
      ]),
    /** Lifetime of the subject-scoped tokens a portal obtains for a citizen's data tracker. */
    SUBJECT_TOKEN_TTL_SECONDS: integer(60, 3600).default(900),
    /**
     * Overall deadline of one certificate fetch across all departments it asks; a caller may ask
     * for less. A department that has not answered by then is reported unavailable.
     */
    CERTIFICATE_FETCH_DEADLINE_MS: integer(100, 60_000).default(8000),
    /**
     * Sign-in attempts (token requests and the supervision page's HTTP Basic) allowed per client
     * address per minute, across all instances. Each attempt costs a database read and a keyed hash, so this also caps the
     * CPU an anonymous caller can make the gateway spend.
     */
    SIGN_IN_ATTEMPTS_PER_MINUTE: integer(1, 100_000).default(60),
    /**
     * Failed secret checks of one client id from one address per 15 minutes, across all instances,
     * after which that id's sign-ins from that address are refused with 429 until the window ends.
     */
    SIGN_IN_FAILURES_PER_CLIENT: integer(1, 100_000).default(20),
    /**
     * Load balancers / reverse proxies (addresses or CIDR ranges, comma-separated) whose
     * X-Forwarded-For is believed when the per-address rate limits find the client's address.
     * Empty: the TCP peer is the client and the header is ignored.
     */
    TRUSTED_PROXIES: listFromEnv.default([]).transform((entries, ctx) => {
      try {
        return parseTrustedProxies(entries);
      } catch (error) {
        ctx.issues.push({
          code: 'custom',
          input: entries,
          message: error instanceof Error ? error.message : String(error),
        });
        return z.NEVER;
      }
    }),
    /** Requests one client may make to protected routes per minute, across all instances (429 beyond, with Retry-After). */
    CLIENT_REQUESTS_PER_MINUTE: integer(1, 10_000_000).default(6000),
    /**
     * Public verifications (`/v1/certificates/verify`, `/v1/seals/verify`) allowed per client address
     * per minute, across all instances: each checks signatures (an SM2 seal's two) over up to a body's
     * worth of document, so an anonymous caller could otherwise make the gateway spend its CPU on them.
     */
    VERIFICATIONS_PER_MINUTE: integer(1, 100_000).default(120),
    /** Applicant progress look-ups allowed per client address per minute (across all instances). */
    PROGRESS_LOOKUPS_PER_MINUTE: integer(1, 10_000).default(20),
    /** Failed look-ups of one case number (any address, all instances) before it is locked for 15 minutes. */
    PROGRESS_MAX_FAILURES: integer(1, 1000).default(5),
    /** Share of a case's promised working days used at which supervision warns that it is approaching its deadline. */
    SUPERVISION_WARNING_SHARE: z.coerce.number().gt(0).max(1).default(0.8),
    /** Working days a centre has to answer the follow-up of a bad rating (差评) before supervision warns. */
    RATING_FOLLOW_UP_WORKING_DAYS: integer(1, 30).default(3),
    /** Ratings a window or operator needs in a month to be ranked (群众满意窗口, 为民服务标兵). */
    RANKING_MINIMUM_RATINGS: integer(1, 10_000).default(3),
    /**
     * Seed the demo clients (with well-known secrets) at start. Turn off in production. On a
     * non-loopback HOST the demo is refused unless forced (`force`): anyone who can reach the
     * gateway could sign in as its administrator with the published secret. The same holds for
     * demo clients an earlier demo start left enabled in the database (gateway/demo/exposure.ts).
     */
    ONEWINDOW_DEMO: z.enum(['true', 'false', '1', '0', 'yes', 'no', 'force']).default('true'),
    /** JSON file listing the department systems and their adapters (see docs/departments.md). */
    DEPARTMENTS_FILE: z.string().min(1).optional(),
    /** The same list inline, as JSON text (instead of DEPARTMENTS_FILE). */
    DEPARTMENTS_JSON: z.string().min(1).optional(),
    /**
     * Hosts (names, addresses or CIDR ranges) department base URLs may point at. Empty: any public
     * address. Comma-separated.
     */
    DEPARTMENT_ALLOWED_HOSTS: listFromEnv.default([]),
    /** Allow department base URLs on loopback and private networks (refused by default: SSRF). */
    DEPARTMENT_ALLOW_PRIVATE_NETWORKS: booleanFromEnv.default(false),
    /**
     * Demo only: run the three department simulators beside the gateway on loopback and connect
     * them, when no departments are configured. Default: on when ONEWINDOW_DEMO is.
     */
    DEMO_SIMULATORS: booleanFromEnv.optional(),
    /** First of the three consecutive loopback ports of the demo simulators; 0 picks free ports. */
    DEMO_SIMULATOR_BASE_PORT: integer(0, 65533).default(7101),
    /** Run this instance's delivery worker (submitted cases → departments); several instances may. */
    DELIVERY_WORKER: booleanFromEnv.default(true),
    /** How often an idle delivery worker looks for due deliveries (a submission here wakes it at once). */
    DELIVERY_POLL_INTERVAL_MS: integer(50, 600_000).default(1000),
    /** How long a claimed delivery is reserved for its worker; a crashed worker's deliveries are retried after it. */
    DELIVERY_LEASE_MS: integer(1000, 3_600_000).default(30_000),
    /** Attempts before a delivery is dead-lettered (a department's definitive refusal is at once). */
    DELIVERY_MAX_ATTEMPTS: integer(1, 100).default(8),
    /** Backoff after a failed attempt: a random delay up to base·2^(attempt−1), at most the maximum. */
    DELIVERY_BACKOFF_BASE_MS: integer(10, 3_600_000).default(1000),
    DELIVERY_BACKOFF_MAX_MS: integer(10, 86_400_000).default(300_000),
    /** Deliveries one worker claims at a time. */
    DELIVERY_BATCH_SIZE: integer(1, 1000).default(10),
    /** How often a delivered case's status is asked of a department that offers status queries, at most. */
    STATUS_POLL_INTERVAL_MS: integer(1000, 86_400_000).default(60_000),
    /**
     * How long a submission's Idempotency-Key and its stored answer (the case with its form) are
     * kept; after that the same key is a new request. At least an hour, at most a year.
     */
    IDEMPOTENCY_KEY_RETENTION_HOURS: integer(1, 8760).default(168),
    /** The SMS platform applicants are told about their cases through, as JSON (docs/notifications.md); unset: notifications are off. */
    NOTIFICATIONS_JSON: z.string().min(1).optional(),
    /** The express company results are sent by (docs/results.md); unset: no courier, express results wait. */
    COURIER_JSON: z.string().min(1).optional(),
    COURIER_WORKER: booleanFromEnv.default(true),
    /** Run this instance's notification worker (case events → SMS); several instances may. */
    NOTIFICATION_WORKER: booleanFromEnv.default(true),
  })
  .check((ctx) => {
    if (ctx.value.RETIRED_KEY_PUBLISH_SECONDS < ctx.value.ACCESS_TOKEN_TTL_SECONDS) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value.RETIRED_KEY_PUBLISH_SECONDS,
        path: ['RETIRED_KEY_PUBLISH_SECONDS'],
        message: 'must be at least ACCESS_TOKEN_TTL_SECONDS, or tokens signed by a rotated key stop verifying',
      });
    }
    if (ctx.value.DELIVERY_BACKOFF_MAX_MS < ctx.value.DELIVERY_BACKOFF_BASE_MS) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value.DELIVERY_BACKOFF_MAX_MS,
        path: ['DELIVERY_BACKOFF_MAX_MS'],
        message: 'must be at least DELIVERY_BACKOFF_BASE_MS',
      });
    }
    if (ctx.value.DEPARTMENTS_FILE !== undefined && ctx.value.DEPARTMENTS_JSON !== undefined) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value.DEPARTMENTS_JSON,
        path: ['DEPARTMENTS_JSON'],
        message: 'set DEPARTMENTS_FILE or DEPARTMENTS_JSON, not both',
      });
    }
  });

type ParsedEnvironment = z.output<typeof configSchema>;

export interface Config {
  port: number;
  host: string;
  issuer: string;
  audience: string;
  database:
    | { kind: 'postgres'; url: string; poolSize: number; statementTimeoutMs?: number }
    | { kind: 'pglite'; dataDir: string };
  logLevel: ParsedEnvironment['LOG_LEVEL'];
  logBufferBytes: number;
  /** Problems are answered in the request's Accept-Language when it names zh or en, else in this. */
  defaultLanguage: ParsedEnvironment['DEFAULT_LANGUAGE'];
  bodyLimitBytes: number;
  server: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; shutdownGraceMs: number };
  /** Serving /docs and /openapi.json (gateway/platform/static-delivery.ts). */
  docs: { maxConcurrent: number; sendTimeoutMs: number };
  tokens: { ttlSeconds: number; clockToleranceSeconds: number };
  /** The pepper file of client secrets' keyed hashes (gateway/auth/secrets.ts). */
  clientSecretPepperFile: string;
  /** The data folder (DATA_DIR); the defaults of the paths below lie under it. */
  dataDir: string;
  signing: SigningSettings;
  audit: AuditSettings;
  /** The gateway's electronic seal (gateway/seals). */
  seals: SealSettings;
  protection: ProtectionSettings;
  metricsScrapeToken: string | undefined;
  demo: boolean;
  /**
   * ONEWINDOW_DEMO=force: the demo is exposed on purpose, so demo clients left enabled in the
   * database do not stop a start on a non-loopback HOST either.
   */
  demoForced: boolean;
  materials: {
    uploadMaxBytes: number;
    blobStore: { kind: 'postgres' } | { kind: 'filesystem'; directory: string };
    sm3: boolean;
    /** See BLOB_RANGE_VERIFICATION_MAX_AGE_SECONDS. */
    rangeVerificationMaxAgeMs: number;
  };
  purposeCodes: string[];
  subjectTokenTtlSeconds: number;
  certificates: { fetchDeadlineMs: number };
  progress: { lookupsPerMinute: number; maxFailures: number; lockMs: number };
  /** Rate limits shared by all instances (gateway/platform/shared-limits.ts, gateway/auth/sign-in-guard.ts). */
  rateLimits: {
    signInAttemptsPerMinute: number;
    signInFailuresPerClient: number;
    signInFailureWindowMs: number;
    clientRequestsPerMinute: number;
    /** Public verifications (certificate envelopes, electronic seals) per client address per minute. */
    verificationsPerMinute: number;
    trustedProxies: TrustedProxies;
  };
  /** Supervision (gateway/supervision): a case warns `approaching` once this share (0–1] of its promised time is used. */
  supervision: { warningShare: number };
  /** Satisfaction ratings (gateway/ratings): the follow-up deadline of a 差评 and the rankings' minimum volume. */
  ratings: { followUpWorkingDays: number; rankingMinimumRatings: number };
  departments: {
    list: DepartmentConfig[];
    /** Where department base URLs may point (SSRF guard). */
    urlPolicy: { allowedHosts: string[]; allowPrivateNetworks: boolean };
    /** Demo: simulators started beside the gateway when no department is configured. */
    demoSimulators: { enabled: boolean; basePort: number };
  };
  cases: {
    dispatch: DispatchSettings;
    /** How long idempotency keys and their stored answers are kept (gateway/cases/idempotency.ts). */
    idempotencyKeyRetentionMs: number;
  };
  /** Telling applicants about their cases (gateway/notifications); `channel` null: off. */
  notifications: { channel: NotificationSettings | null; workerEnabled: boolean; demoSimulator: boolean };
  /** Sending results by courier (gateway/results); `channel` null: off. */
  courier: { channel: CourierSettings | null; workerEnabled: boolean; demoSimulator: boolean };
}

/** The keys that sign tokens and certificate envelopes (gateway/auth/keys.ts). */
export interface SigningSettings {
  /** The JWS `alg` of the keys the gateway generates; `SM2SM3` is SIGNING_ALG=SM2. */
  alg: 'ES256' | 'EdDSA' | 'SM2SM3';
  /** Key files (SIGNING_KEY_FILES); undefined: keys are kept in the database, sealed. */
  keyFiles: string[] | undefined;
  retiredKeyPublishSeconds: number;
  /** Seals the private keys kept in the database (unused with key files). */
  keyEncryptionKeyFile: string;
}

/** Personal data encrypted at rest (gateway/protection). */
export interface ProtectionSettings {
  mode: 'off' | 'sm4-gcm' | 'aes-256-gcm';
  keyEncryptionKeyFile: string;
  previousKeyEncryptionKeyFiles: string[];
}

/** Sealing and verifying the audit log (gateway/audit). */
export interface AuditSettings {
  sealIntervalMs: number;
  /** The private key that signs checkpoints; never in the database. */
  checkpointKeyFile: string;
  /** Further public keys (files) checkpoints may be signed with. */
  trustedKeyFiles: string[];
  witness: {
    /** Append-only JSON-lines file of signed heads. */
    file: string;
    /** HTTP witness the latest head is POSTed to, if any. */
    url: string | undefined;
    bearerToken: string | undefined;
    timeoutMs: number;
  };
}

/** How submitted cases reach the departments (gateway/cases/dispatch.ts). */
export interface DispatchSettings {
  /** Whether this instance runs a delivery worker. */
  workerEnabled: boolean;
  pollIntervalMs: number;
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  batchSize: number;
  /** Least time between two status queries about one delivered case. */
  statusPollIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Whether a listening address is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Parses an environment (a plain record) into a Config, or throws a ConfigError naming each bad variable. */
export function parseConfig(environment: Record<string, string | undefined>): Config {
  // Empty strings count as unset, so `FOO= npm start` behaves like not setting FOO.
  const present = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = configSchema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const env = {
    ...result.data,
    ONEWINDOW_DEMO: result.data.ONEWINDOW_DEMO === 'force' || booleanFromEnv.parse(result.data.ONEWINDOW_DEMO),
  };
  if (env.ONEWINDOW_DEMO && result.data.ONEWINDOW_DEMO !== 'force' && !isLoopbackHost(env.HOST)) {
    throw new ConfigError([
      'ONEWINDOW_DEMO: the demo creates clients with well-known secrets (an administrator among them), and ' +
        `HOST=${env.HOST} makes the gateway reachable from other machines. ` +
        'Set ONEWINDOW_DEMO=false for a real deployment (create clients with `npm run clients:create`), or ' +
        'ONEWINDOW_DEMO=force to expose the demo anyway.',
    ]);
  }
  const departments = readDepartments(env.DEPARTMENTS_FILE, env.DEPARTMENTS_JSON, (name) => present[name]);
  if (departments.problems.length > 0) throw new ConfigError(departments.problems);
  const notifications =
    env.NOTIFICATIONS_JSON === undefined
      ? { settings: null, problems: [] }
      : parseNotifications(env.NOTIFICATIONS_JSON, 'NOTIFICATIONS_JSON', (name) => present[name]);
  if (notifications.problems.length > 0) throw new ConfigError(notifications.problems);
  const courier =
    env.COURIER_JSON === undefined
      ? { settings: null, problems: [] }
      : parseCourier(env.COURIER_JSON, 'COURIER_JSON', (name) => present[name]);
  if (courier.problems.length > 0) throw new ConfigError(courier.problems);
  const demoSimulators = (env.DEMO_SIMULATORS ?? env.ONEWINDOW_DEMO) && departments.departments.length === 0;
  const issuer = (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  const underDataDir = (...parts: string[]) => join(env.DATA_DIR, ...parts);
  return {
    port: env.PORT,
    host: env.HOST,
    issuer,
    audience: env.TOKEN_AUDIENCE,
    database: env.DATABASE_URL
      ? {
          kind: 'postgres',
          url: env.DATABASE_URL,
          poolSize: env.DATABASE_POOL_SIZE,
          statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
        }
      : { kind: 'pglite', dataDir: env.PGLITE_DATA_DIR ?? underDataDir('pglite') },
    logLevel: env.LOG_LEVEL,
    logBufferBytes: env.LOG_BUFFER_BYTES,
    defaultLanguage: env.DEFAULT_LANGUAGE,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    server: {
      headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.KEEP_ALIVE_TIMEOUT_MS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    },
    docs: { maxConcurrent: env.DOCS_MAX_CONCURRENT_DELIVERIES, sendTimeoutMs: env.DOCS_SEND_TIMEOUT_MS },
    tokens: { ttlSeconds: env.ACCESS_TOKEN_TTL_SECONDS, clockToleranceSeconds: env.TOKEN_CLOCK_TOLERANCE_SECONDS },
    dataDir: env.DATA_DIR,
    clientSecretPepperFile: env.CLIENT_SECRET_PEPPER_FILE ?? underDataDir('keys', 'client-secrets.pepper'),
    signing: {
      alg: env.SIGNING_ALG,
      keyFiles: env.SIGNING_KEY_FILES,
      retiredKeyPublishSeconds: env.RETIRED_KEY_PUBLISH_SECONDS,
      keyEncryptionKeyFile: env.SIGNING_KEY_ENCRYPTION_KEY_FILE ?? underDataDir('keys', 'signing-keys.kek.json'),
    },
    audit: {
      sealIntervalMs: env.AUDIT_SEAL_INTERVAL_MS,
      checkpointKeyFile: env.AUDIT_CHECKPOINT_KEY_FILE ?? underDataDir('keys', 'audit-checkpoint.pem'),
      trustedKeyFiles: env.AUDIT_CHECKPOINT_TRUSTED_KEYS,
      witness: {
        file: env.AUDIT_WITNESS_FILE ?? underDataDir('audit-witness.jsonl'),
        url: env.AUDIT_WITNESS_URL,
        bearerToken: env.AUDIT_WITNESS_BEARER_TOKEN,
        timeoutMs: env.AUDIT_WITNESS_TIMEOUT_MS,
      },
    },
    protection: {
      mode: env.DATA_PROTECTION,
      keyEncryptionKeyFile: env.DATA_KEY_ENCRYPTION_KEY_FILE ?? underDataDir('keys', 'data-keys.kek.json'),
      previousKeyEncryptionKeyFiles: env.DATA_KEY_ENCRYPTION_KEY_PREVIOUS_FILES,
    },
    seals: {
      keyFile: env.SEAL_KEY_FILE ?? underDataDir('keys', 'seal.pem'),
      name: env.SEAL_NAME,
      validYears: env.SEAL_VALID_YEARS,
      trustedCertificateFiles: env.SEAL_TRUSTED_CERTIFICATES,
    },
    metricsScrapeToken: env.METRICS_SCRAPE_TOKEN,
    demo: env.ONEWINDOW_DEMO,
    demoForced: result.data.ONEWINDOW_DEMO === 'force',
    materials: {
      uploadMaxBytes: env.UPLOAD_MAX_BYTES,
      blobStore:
        env.BLOB_STORE === 'filesystem'
          ? { kind: 'filesystem', directory: env.BLOB_STORE_DIR ?? underDataDir('blobs') }
          : { kind: 'postgres' },
      sm3: env.CONTENT_SM3,
      rangeVerificationMaxAgeMs: env.BLOB_RANGE_VERIFICATION_MAX_AGE_SECONDS * 1000,
    },
    purposeCodes: env.PURPOSE_CODES,
    subjectTokenTtlSeconds: env.SUBJECT_TOKEN_TTL_SECONDS,
    certificates: { fetchDeadlineMs: env.CERTIFICATE_FETCH_DEADLINE_MS },
    progress: {
      lookupsPerMinute: env.PROGRESS_LOOKUPS_PER_MINUTE,
      maxFailures: env.PROGRESS_MAX_FAILURES,
      lockMs: 15 * 60_000,
    },
    rateLimits: {
      signInAttemptsPerMinute: env.SIGN_IN_ATTEMPTS_PER_MINUTE,
      signInFailuresPerClient: env.SIGN_IN_FAILURES_PER_CLIENT,
      signInFailureWindowMs: 15 * 60_000,
      clientRequestsPerMinute: env.CLIENT_REQUESTS_PER_MINUTE,
      verificationsPerMinute: env.VERIFICATIONS_PER_MINUTE,
      trustedProxies: env.TRUSTED_PROXIES,
    },
    supervision: { warningShare: env.SUPERVISION_WARNING_SHARE },
    ratings: {
      followUpWorkingDays: env.RATING_FOLLOW_UP_WORKING_DAYS,
      rankingMinimumRatings: env.RANKING_MINIMUM_RATINGS,
    },
    departments: {
      list: departments.departments,
      urlPolicy: {
        allowedHosts: env.DEPARTMENT_ALLOWED_HOSTS,
        allowPrivateNetworks: env.DEPARTMENT_ALLOW_PRIVATE_NETWORKS,
      },
      demoSimulators: {
        enabled: demoSimulators,
        basePort: env.DEMO_SIMULATOR_BASE_PORT,
      },
    },
    cases: {
      dispatch: {
        workerEnabled: env.DELIVERY_WORKER,
        pollIntervalMs: env.DELIVERY_POLL_INTERVAL_MS,
        leaseMs: env.DELIVERY_LEASE_MS,
        maxAttempts: env.DELIVERY_MAX_ATTEMPTS,
        backoffBaseMs: env.DELIVERY_BACKOFF_BASE_MS,
        backoffMaxMs: env.DELIVERY_BACKOFF_MAX_MS,
        batchSize: env.DELIVERY_BATCH_SIZE,
        statusPollIntervalMs: env.STATUS_POLL_INTERVAL_MS,
      },
      idempotencyKeyRetentionMs: env.IDEMPOTENCY_KEY_RETENTION_HOURS * 3_600_000,
    },
    notifications: {
      channel: notifications.settings,
      workerEnabled: env.NOTIFICATION_WORKER,
      demoSimulator: demoSimulators && notifications.settings === null,
    },
    courier: {
      channel: courier.settings,
      workerEnabled: env.COURIER_WORKER,
      demoSimulator: demoSimulators && courier.settings === null,
    },
  };
}

function readDepartments(
  file: string | undefined,
  inline: string | undefined,
  lookup: (name: string) => string | undefined,
): { departments: DepartmentConfig[]; problems: string[] } {
  if (inline !== undefined) return parseDepartments(inline, 'DEPARTMENTS_JSON', lookup);
  if (file === undefined) return { departments: [], problems: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return {
      departments: [],
      problems: [`DEPARTMENTS_FILE: cannot read ${file} (${error instanceof Error ? error.message : String(error)})`],
    };
  }
  return parseDepartments(text, 'DEPARTMENTS_FILE', lookup);
}

/** The one place that reads the process environment. */
export function loadConfigFromProcess(): Config {
  return parseConfig(process.env);
}
