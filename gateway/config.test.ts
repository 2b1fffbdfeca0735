import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

describe('configuration', () => {
  it('starts on embedded PGlite with sensible defaults', () => {
    const config = parseConfig({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.database).toEqual({ kind: 'pglite', dataDir: '.data/pglite' });
    expect(config.issuer).toBe('http://localhost:8080');
    expect(config.tokens.ttlSeconds).toBe(300);
    expect(config.bodyLimitBytes).toBe(1024 * 1024);
  });

  it('uses PostgreSQL when DATABASE_URL is set, and treats empty variables as unset', () => {
    const config = parseConfig({
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
      PORT: '',
      PUBLIC_BASE_URL: 'https://gw.example.gov.cn/',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@127.0.0.1:5432/db',
      poolSize: 10,
      statementTimeoutMs: 60_000,
    });
    expect(config.port).toBe(8080);
    expect(config.issuer).toBe('https://gw.example.gov.cn');
  });

  it('names every bad variable in one readable error', () => {
    let error: unknown;
    try {
      parseConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', ONEWINDOW_DEMO: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'ONEWINDOW_DEMO']) expect(message).toContain(name);
  });

  it('keeps the demo (well-known secrets) on loopback unless forced', () => {
    expect(parseConfig({ HOST: '127.0.0.1' }).demo).toBe(true);
    expect(parseConfig({ HOST: '::1' }).demo).toBe(true);
    expect(parseConfig({ HOST: 'localhost' }).demo).toBe(true);
    expect(() => parseConfig({ HOST: '0.0.0.0' })).toThrow(
      /ONEWINDOW_DEMO: .*HOST=0\.0\.0\.0.*ONEWINDOW_DEMO=false.*ONEWINDOW_DEMO=force/s,
    );
    expect(() => parseConfig({ HOST: '10.20.0.5', ONEWINDOW_DEMO: 'true' })).toThrow(ConfigError);
    expect(parseConfig({ HOST: '0.0.0.0', ONEWINDOW_DEMO: 'false' }).demo).toBe(false);
    expect(parseConfig({ HOST: '0.0.0.0', ONEWINDOW_DEMO: 'force' }).demo).toBe(true);
  });

  it('refuses a key publication window shorter than the token lifetime', () => {
    expect(() => parseConfig({ ACCESS_TOKEN_TTL_SECONDS: '600', RETIRED_KEY_PUBLISH_SECONDS: '120' })).toThrow(
      /RETIRED_KEY_PUBLISH_SECONDS/,
    );
  });

  it('bounds downloads of the public docs files (64 at once, 60 s to take one) unless told otherwise', () => {
    expect(parseConfig({}).docs).toEqual({ maxConcurrent: 64, sendTimeoutMs: 60_000 });
    expect(parseConfig({ DOCS_MAX_CONCURRENT_DELIVERIES: '8', DOCS_SEND_TIMEOUT_MS: '5000' }).docs).toEqual({
      maxConcurrent: 8,
      sendTimeoutMs: 5000,
    });
    expect(() => parseConfig({ DOCS_MAX_CONCURRENT_DELIVERIES: '0' })).toThrow(/DOCS_MAX_CONCURRENT_DELIVERIES/);
  });

  it('parses the signing key file list', () => {
    expect(parseConfig({ SIGNING_KEY_FILES: 'a.pem, b.pem' }).signing.keyFiles).toEqual(['a.pem', 'b.pem']);
  });

  it('configures documents: upload limit, blob store, SM3 and purpose codes', () => {
    const defaults = parseConfig({});
    expect(defaults.materials).toEqual({
      uploadMaxBytes: 20 * 1024 * 1024,
      blobStore: { kind: 'postgres' },
      sm3: false,
      rangeVerificationMaxAgeMs: 600_000,
    });
    expect(defaults.purposeCodes).toContain('case_acceptance');
    const custom = parseConfig({
      UPLOAD_MAX_BYTES: '1048576',
      BLOB_STORE: 'filesystem',
      BLOB_STORE_DIR: '/srv/blobs',
      CONTENT_SM3: 'true',
      BLOB_RANGE_VERIFICATION_MAX_AGE_SECONDS: '0',
      PURPOSE_CODES: 'a_b, c-d',
    });
    expect(custom.materials).toEqual({
      uploadMaxBytes: 1048576,
      blobStore: { kind: 'filesystem', directory: '/srv/blobs' },
      sm3: true,
      rangeVerificationMaxAgeMs: 0,
    });
    expect(custom.purposeCodes).toEqual(['a_b', 'c-d']);
    expect(() => parseConfig({ PURPOSE_CODES: 'Bad Code' })).toThrow(/PURPOSE_CODES/);
    expect(() => parseConfig({ BLOB_STORE: 's3' })).toThrow(/BLOB_STORE/);
  });

  it('keeps the database, blobs, key files and the audit witness under one data folder', () => {
    const defaults = parseConfig({ BLOB_STORE: 'filesystem' });
    expect(defaults.dataDir).toBe('.data');
    expect(defaults.database).toEqual({ kind: 'pglite', dataDir: '.data/pglite' });
    expect(defaults.materials.blobStore).toEqual({ kind: 'filesystem', directory: '.data/blobs' });
    expect(defaults.signing.keyEncryptionKeyFile).toBe('.data/keys/signing-keys.kek.json');
    expect(defaults.audit).toEqual({
      sealIntervalMs: 1000,
      checkpointKeyFile: '.data/keys/audit-checkpoint.pem',
      trustedKeyFiles: [],
      witness: { file: '.data/audit-witness.jsonl', url: undefined, bearerToken: undefined, timeoutMs: 5000 },
    });

    const moved = parseConfig({ DATA_DIR: '/srv/onewindow', BLOB_STORE: 'filesystem' });
    expect(moved.database).toEqual({ kind: 'pglite', dataDir: '/srv/onewindow/pglite' });
    expect(moved.materials.blobStore).toEqual({ kind: 'filesystem', directory: '/srv/onewindow/blobs' });
    expect(moved.signing.keyEncryptionKeyFile).toBe('/srv/onewindow/keys/signing-keys.kek.json');
    expect(moved.audit.checkpointKeyFile).toBe('/srv/onewindow/keys/audit-checkpoint.pem');
    expect(moved.audit.witness.file).toBe('/srv/onewindow/audit-witness.jsonl');

    const explicit = parseConfig({
      DATA_DIR: '/srv/onewindow',
      AUDIT_CHECKPOINT_KEY_FILE: '/etc/onewindow/checkpoint.pem',
      AUDIT_CHECKPOINT_TRUSTED_KEYS: '/etc/onewindow/old.pub.pem, /etc/onewindow/b.jwks.json',
      AUDIT_WITNESS_FILE: '/var/log/onewindow/witness.jsonl',
      AUDIT_WITNESS_URL: 'https://witness.example.gov.cn/v1/audit-witness/checkpoints',
      AUDIT_WITNESS_BEARER_TOKEN: 'a-token-of-some-length',
      AUDIT_WITNESS_TIMEOUT_MS: '2000',
      SIGNING_KEY_ENCRYPTION_KEY_FILE: '/etc/onewindow/signing.kek.json',
    });
    expect(explicit.signing.keyEncryptionKeyFile).toBe('/etc/onewindow/signing.kek.json');
    expect(explicit.audit).toEqual({
      sealIntervalMs: 1000,
      checkpointKeyFile: '/etc/onewindow/checkpoint.pem',
      trustedKeyFiles: ['/etc/onewindow/old.pub.pem', '/etc/onewindow/b.jwks.json'],
      witness: {
        file: '/var/log/onewindow/witness.jsonl',
        url: 'https://witness.example.gov.cn/v1/audit-witness/checkpoints',
        bearerToken: 'a-token-of-some-length',
        timeoutMs: 2000,
      },
    });
    expect(() => parseConfig({ AUDIT_WITNESS_URL: 'ftp://witness.example.gov.cn/' })).toThrow(
      /AUDIT_WITNESS_URL: must be an http/,
    );
    expect(() => parseConfig({ AUDIT_WITNESS_BEARER_TOKEN: 'short' })).toThrow(/AUDIT_WITNESS_BEARER_TOKEN/);
  });
});
