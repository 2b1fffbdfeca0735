/**
 * Helpers for the common government-gateway patterns: signatures over sorted fields (SM3,
 * HMAC-SHA256), SM2 request signatures, Beijing-time stamps and nonces, `{code,msg,data}`
 * envelopes, Chinese dates, base64 documents and paging. See adapters/README.md.
 */
export * from './signing.js';
export * from './sm2.js';
export * from './wire-formats.js';
export * from './envelope.js';
export * from './pagination.js';
