/**
 * Uploads and downloads over real HTTP against the gateway server with the filesystem blob store:
 * the Node-stream read path, the size limit on the wire (Content-Length and chunked), multipart
 * from a real client, an upload cut off by its client, and a download.
 */
import { readdir, rm } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config.js';
import { rowsOf } from '../gateway/db/client.js';
import { countTemporaryFiles } from '../gateway/materials/blob-store-fs.js';
import { createLogger } from '../gateway/platform/logger.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { jpegImage, pdfDocument, residentId } from './fixtures/documents.js';
import { freshDatabase, LogCapture, type TestDatabase } from './harness.js';

const LIMIT = 1024 * 1024;
let gateway: RunningGateway;
let database: TestDatabase;
let blobDirectory: string;
let token: string;
let subjectId: string;

const purpose = { 'onewindow-purpose': 'case_acceptance' };

async function storedBlobFiles(): Promise<number> {
  let total = 0;
  for (const entry of await readdir(blobDirectory, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'tmp') total += (await readdir(join(blobDirectory, entry.name))).length;
  }
  return total;
}

async function materialCount(): Promise<number> {
  const result = await gateway.services.db.execute(sql`select count(*)::int as n from materials`);
  return Number(rowsOf<{ n: number }>(result)[0]?.n ?? 0);
}

beforeAll(async () => {
  database = await freshDatabase();
  blobDirectory = mkdtempSync(join(tmpdir(), 'ow-wire-blobs-'));
  gateway = await startGateway(
    parseConfig({ ...database.environment, PORT: '0', ONEWINDOW_DEMO: 'true', BLOB_STORE: 'filesystem', BLOB_STORE_DIR: blobDirectory, UPLOAD_MAX_BYTES: String(LIMIT) }),
    createLogger('info', new LogCapture()),
  );
  const tokenResponse = await fetch(`${gateway.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('cli_demo_window:demo-window-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  token = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const resolved = await fetch(`${gateway.url}/v1/subjects/resolve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...purpose },
    body: JSON.stringify({ identifierType: 'resident_id', identifier: residentId(1), name: '测试' }),
  });
  subjectId = ((await resolved.json()) as { id: string }).id;
});

afterAll(async () => {
  await gateway?.shutdown('test finished');
  await database?.drop();
  await rm(blobDirectory, { recursive: true, force: true });
});

const uploadUrl = (typeCode = 'lease_contract') => `${gateway.url}/v1/subjects/${subjectId}/materials?typeCode=${typeCode}`;

describe('uploads on the wire (filesystem store)', () => {
  it('streams a document in and out again', async () => {
    const document = pdfDocument('wire', 600 * 1024);
    const uploaded = await request(uploadUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf', ...purpose },
      body: document,
    });
    expect(uploaded.statusCode).toBe(201);
    const material = (await uploaded.body.json()) as { id: string; content: { size: number } };
    expect(material.content.size).toBe(document.byteLength);
    expect(await storedBlobFiles()).toBe(1);

    const downloaded = await request(`${gateway.url}/v1/subjects/${subjectId}/materials/${material.id}/content`, { headers: { authorization: `Bearer ${token}`, ...purpose } });
    expect(downloaded.statusCode).toBe(200);
    expect(Buffer.from(await downloaded.body.arrayBuffer())).toEqual(Buffer.from(document));
  });

  it('answers 413 for an oversize body, announced or chunked, and stores nothing', async () => {
    const materials = await materialCount();
    const files = await storedBlobFiles();
    const big = pdfDocument('too big', LIMIT + 10);
    const announced = await request(uploadUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf', ...purpose },
      body: big,
    });
    expect(announced.statusCode).toBe(413);
    expect(((await announced.body.json()) as { code: string }).code).toBe('payload_too_large');

    // Chunked: the limit can only be found while reading.
    const chunks = Array.from({ length: 40 }, (_, index) => (index === 0 ? pdfDocument('chunked') : Buffer.alloc(64 * 1024, index)));
    // The server may close the connection before the client has sent everything; a client that
    // sees the reset instead of the 413 is acceptable, a stored document is not.
    const chunked = await request(uploadUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf', ...purpose },
      body: Readable.from(chunks),
    }).catch(() => undefined);
    if (chunked) {
      expect(chunked.statusCode).toBe(413);
      await chunked.body.dump();
    }
    expect(await materialCount()).toBe(materials);
    expect(await storedBlobFiles()).toBe(files);
    expect(await countTemporaryFiles(blobDirectory)).toBe(0);
  });

  it('accepts multipart/form-data from a real client', async () => {
    const form = new FormData();
    form.set('typeCode', 'resident_id_card');
    form.set('file', new Blob([jpegImage('x'.repeat(300 * 1024))], { type: 'image/jpeg' }), 'id-front.jpg');
    const response = await fetch(`${gateway.url}/v1/subjects/${subjectId}/materials`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...purpose }, body: form });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ typeCode: 'resident_id_card', content: { mediaType: 'image/jpeg', fileName: 'id-front.jpg' } });
  });

  it('keeps nothing of an upload its client abandons', async () => {
    const materials = await materialCount();
    const files = await storedBlobFiles();
    const controller = new AbortController();
    async function* slowBody() {
      yield pdfDocument('abandoned');
      yield Buffer.alloc(64 * 1024, 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort();
    }
    await request(uploadUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf', ...purpose },
      body: Readable.from(slowBody()),
      signal: controller.signal,
    }).catch(() => undefined);
    // The server notices the closed connection asynchronously.
    for (let attempt = 0; attempt < 50 && (await countTemporaryFiles(blobDirectory)) > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await countTemporaryFiles(blobDirectory)).toBe(0);
    expect(await materialCount()).toBe(materials);
    expect(await storedBlobFiles()).toBe(files);
    const health = await fetch(`${gateway.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
