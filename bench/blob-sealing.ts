/**
 * `npm run bench:blob-sealing`: throughput of documents encrypted at rest (issue 21). Puts and
 * gets a 5 MiB document through the filesystem blob store and the PostgreSQL one (PGlite in
 * this process, or DATABASE_URL) with protection off, AES-256-GCM and SM4-GCM, and prints MB/s
 * (median of BENCH_ROUNDS rounds after one to warm up, default 5). The AEADs alone are measured too, to show what the
 * cipher costs apart from the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../gateway/config.js';
import { openDatabase } from '../gateway/db/client.js';
import type { BlobStore } from '../gateway/materials/blob-store.js';
import { createFilesystemBlobStore } from '../gateway/materials/blob-store-fs.js';
import { createPostgresBlobStore } from '../gateway/materials/blob-store-postgres.js';
import { aeadSeal, KEY_BYTES } from '../gateway/platform/aead.js';
import { freshDatabase } from '../test/harness.js';
import { type BlobProtection, testBlobKeys } from '../test/support/blob-keys.js';

const SIZE = 5 * 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PROTECTIONS: readonly BlobProtection[] = ['off', 'aes-256-gcm', 'sm4-gcm'];

const megabytesPerSecond = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function* piecesOf(bytes: Uint8Array, pieceBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += pieceBytes)
    yield bytes.subarray(offset, offset + pieceBytes);
}

async function measureStore(store: BlobStore): Promise<{ put: number; get: number }> {
  const puts: number[] = [];
  const gets: number[] = [];
  // Round 0 warms up (JIT, tables, connections) and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const document = randomBytes(SIZE); // new each round: a put of stored bytes would be a dedup hit
    let started = performance.now();
    const { sha256 } = await store.put(piecesOf(document), { maxBytes: 20 * 1024 * 1024 });
    if (round > 0) puts.push(megabytesPerSecond(SIZE, performance.now() - started));
    started = performance.now();
    let received = 0;
    for await (const part of (await store.get(sha256)) ?? []) received += part.byteLength;
    if (received !== SIZE) throw new Error('short read');
    if (round > 0) gets.push(megabytesPerSecond(SIZE, performance.now() - started));
    await store.delete(sha256);
  }
  return { put: median(puts), get: median(gets) };
}

function measureCipher(algorithm: 'aes-256-gcm' | 'sm4-gcm'): number {
  const key = randomBytes(KEY_BYTES[algorithm]);
  const segment = randomBytes(64 * 1024);
  const associated = randomBytes(50);
  const segments = SIZE / segment.length;
  const rates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const started = performance.now();
    for (let index = 0; index < segments; index++) aeadSeal(algorithm, key, segment, associated);
    if (round > 0) rates.push(megabytesPerSecond(SIZE, performance.now() - started));
  }
  return median(rates);
}

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'onewindow-bench-sealing-'));
  const fresh = await freshDatabase();
  const database = await openDatabase(parseConfig({ ONEWINDOW_DEMO: 'false', ...fresh.environment }).database);
  await database.migrate();
  try {
    const rows: string[] = [];
    for (const algorithm of ['aes-256-gcm', 'sm4-gcm'] as const)
      rows.push(`cipher alone   ${algorithm.padEnd(12)} seal ${measureCipher(algorithm).toFixed(1)} MB/s`);
    for (const protection of PROTECTIONS) {
      const stores: [string, BlobStore][] = [
        ['filesystem', createFilesystemBlobStore({ directory, keys: testBlobKeys(protection) })],
        [
          process.env.DATABASE_URL ? 'postgresql' : 'pglite',
          createPostgresBlobStore({ db: database.db, keys: testBlobKeys(protection) }),
        ],
      ];
      for (const [name, store] of stores) {
        const { put, get } = await measureStore(store);
        rows.push(`${name.padEnd(14)} ${protection.padEnd(12)} put ${put.toFixed(1)} MB/s, get ${get.toFixed(1)} MB/s`);
      }
    }
    process.stdout.write(`5 MiB document, median of ${ROUNDS}\n${rows.join('\n')}\n`);
  } finally {
    await database.close();
    await fresh.drop();
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
