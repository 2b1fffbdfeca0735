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
    const config = parseConfig({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', PORT: '', PUBLIC_BASE_URL: 'https://gw.example.gov.cn/' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@127.0.0.1:5432/db', poolSize: 10 });
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

  it('refuses a key publication window shorter than the token lifetime', () => {
    expect(() => parseConfig({ ACCESS_TOKEN_TTL_SECONDS: '600', RETIRED_KEY_PUBLISH_SECONDS: '120' })).toThrow(/RETIRED_KEY_PUBLISH_SECONDS/);
  });

  it('parses the signing key file list', () => {
    expect(parseConfig({ SIGNING_KEY_FILES: 'a.pem, b.pem' }).signing.keyFiles).toEqual(['a.pem', 'b.pem']);
  });

  it('configures documents: upload limit, blob store, SM3 and purpose codes', () => {
    const defaults = parseConfig({});
    expect(defaults.materials).toEqual({ uploadMaxBytes: 20 * 1024 * 1024, blobStore: { kind: 'postgres' }, sm3: false, rangeVerificationMaxAgeMs: 600_000 });
    expect(defaults.purposeCodes).toContain('case_acceptance');
    const custom = parseConfig({ UPLOAD_MAX_BYTES: '1048576', BLOB_STORE: 'filesystem', BLOB_STORE_DIR: '/srv/blobs', CONTENT_SM3: 'true', BLOB_RANGE_VERIFICATION_MAX_AGE_SECONDS: '0', PURPOSE_CODES: 'a_b, c-d' });
    expect(custom.materials).toEqual({ uploadMaxBytes: 1048576, blobStore: { kind: 'filesystem', directory: '/srv/blobs' }, sm3: true, rangeVerificationMaxAgeMs: 0 });
    expect(custom.purposeCodes).toEqual(['a_b', 'c-d']);
    expect(() => parseConfig({ PURPOSE_CODES: 'Bad Code' })).toThrow(/PURPOSE_CODES/);
    expect(() => parseConfig({ BLOB_STORE: 's3' })).toThrow(/BLOB_STORE/);
  });
});
