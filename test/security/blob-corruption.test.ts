/**
 * Security suite: stored documents corrupted behind the gateway's back, on both blob stores,
 * against the real server on loopback. The damage is done where an intruder with access to the
 * storage (or a failing disk) would do it: in the files of the filesystem store, by SQL in the
 * rows of the PostgreSQL store — a byte flipped, the end cut off, bytes appended, the document
 * swapped for another of the same size, and a tail exactly as long as the server's error text.
 *
 * For each: the first download may start (200 and the digest headers go out before the bytes
 * are read) but never completes — the client sees a failed transfer, never a whole body it could
 * take for the document; the detection is logged and counted once; every later request (GET,
 * HEAD, ranges) is `503 content_corrupted`. A range is never served from a document changed since
 * it was last verified, however far from the damage. Uploading the original again repairs the
 * document for every material that refers to it; uploading anything else does not. The scrub finds
 * exactly the damaged documents, including ones nobody has read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobCorruptError } from '../../gateway/materials/blob-store.js';
import { scrubBlobs } from '../../gateway/materials/scrub.js';
import { pdfDocument, residentId } from '../fixtures/documents.js';
import { type BlobTampering, fileTampering, rowTampering } from '../support/blob-tampering.js';
import { bearerHeaders, type SecurityGateway, startSecurityGateway, unmaskedIdNumberLeaks } from './support.js';

const MiB = 1024 * 1024;
const SCRAPE_TOKEN = 'security-suite-scrape-token-0123456789';
const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };

/** A PDF of exactly `size` bytes (the label keeps documents distinct). */
function pdfOfSize(label: string, size: number): Buffer {
  const bare = pdfDocument(label).byteLength;
  const document = Buffer.from(pdfDocument(label, size - bare - 2));
  if (document.byteLength !== size) throw new Error(`pdfOfSize: ${document.byteLength} instead of ${size}`);
  return document;
}

/** What a client got from a download: the status, and whether the body arrived whole. */
interface Download {
  status: number;
  headers: Headers;
  /** The body, when it arrived completely. */
  body: Buffer | undefined;
  /** Why it did not. */
  failure: unknown;
}

for (const kind of ['postgres', 'filesystem'] as const) {
  describe(`stored documents corrupted behind the gateway's back (${kind} store)`, () => {
    let gateway: SecurityGateway;
    let blobDirectory: string;
    let tampering: BlobTampering;
    let token: string;
    let subjectId: string;
    /** Documents damaged and not repaired since: what the scrub must find. */
    const damaged = new Set<string>();

    beforeAll(async () => {
      blobDirectory = mkdtempSync(join(tmpdir(), 'ow-security-blobs-'));
      gateway = await startSecurityGateway({
        BLOB_STORE: kind,
        BLOB_STORE_DIR: blobDirectory,
        METRICS_SCRAPE_TOKEN: SCRAPE_TOKEN,
      });
      tampering = kind === 'filesystem' ? fileTampering(blobDirectory) : rowTampering(gateway.running.services.db);
      token = await gateway.token('window');
      const subject = await gateway.send('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearerHeaders(token, { 'content-type': 'application/json', ...PURPOSE }),
        body: JSON.stringify({ identifierType: 'resident_id', identifier: residentId(42), name: '张三' }),
      });
      subjectId = subject.json<{ id: string }>().id;
    });

    afterAll(async () => {
      await gateway?.close();
      rmSync(blobDirectory, { recursive: true, force: true });
    });

    async function upload(document: Uint8Array): Promise<{ id: string; sha256: string }> {
      const answer = await gateway.send(`/v1/subjects/${subjectId}/materials?typeCode=lease_contract`, {
        method: 'POST',
        headers: bearerHeaders(token, { 'content-type': 'application/pdf', ...PURPOSE }),
        body: document,
      });
      expect(answer.status).toBe(201);
      const material = answer.json<{ id: string; content: { sha256: string } }>();
      return { id: material.id, sha256: material.content.sha256 };
    }

    async function download(
      materialId: string,
      init: { method?: string; headers?: Record<string, string> } = {},
    ): Promise<Download> {
      const response = await fetch(`${gateway.url}/v1/subjects/${subjectId}/materials/${materialId}/content`, {
        method: init.method ?? 'GET',
        headers: bearerHeaders(token, { ...PURPOSE, ...init.headers }),
        signal: AbortSignal.timeout(20_000),
      });
      try {
        return {
          status: response.status,
          headers: response.headers,
          body: Buffer.from(await response.arrayBuffer()),
          failure: undefined,
        };
      } catch (failure) {
        return { status: response.status, headers: response.headers, body: undefined, failure };
      }
    }

    async function corruptionCount(): Promise<number> {
      const answer = await gateway.send('/metrics', { headers: bearerHeaders(SCRAPE_TOKEN) });
      const line = answer.text
        .split('\n')
        .find((entry) => entry.startsWith(`onewindow_blob_corruption_total{store="${kind}"}`));
      return Number(line?.split(' ')[1]);
    }

    /**
     * Length of the text @hono/node-server writes as the end of a response whose body stream fails
     * (when it still can): a withheld tail of that length would let it complete the body.
     */
    const errorTextLength = (sha256: string): number =>
      `Error: ${new BlobCorruptError(kind === 'filesystem' ? 'filesystem blob store' : 'postgres blob store', sha256, sha256).message}`
        .length;

    const attacks: [string, (document: Buffer) => Buffer, (sha256: string, document: Buffer) => Promise<void>][] = [
      [
        'a byte flipped in the middle',
        (document) => document,
        (sha256, document) => tampering.flipByte(sha256, Math.floor(document.byteLength / 2)),
      ],
      ['the last byte cut off', (document) => document, (sha256) => tampering.dropLastByte(sha256)],
      [
        'bytes appended',
        (document) => document,
        (sha256, document) => tampering.restore(sha256, Buffer.concat([document, Buffer.from('\n%appended')])),
      ],
      [
        'the document swapped for another valid one of the same size',
        (document) => document,
        (sha256, document) => tampering.restore(sha256, pdfOfSize('an impostor', document.byteLength)),
      ],
      [
        'a withheld tail exactly as long as the server error text',
        // 1 MiB is the read size of both stores: the tail is the last read, the one held back.
        () => pdfOfSize('error-length tail', MiB + errorTextLength('0'.repeat(64))),
        (sha256) => tampering.flipByte(sha256, 1000),
      ],
    ];

    it.each(attacks)(
      '%s: the first download never completes, the detection is logged and counted once, later requests are 503',
      async (label, shape, damage) => {
        const document = shape(pdfOfSize(`${kind} ${label}`, 700 * 1024));
        const material = await upload(document);
        await damage(material.sha256, document);
        damaged.add(material.sha256);
        const countBefore = await corruptionCount();

        const first = await download(material.id);
        if (first.status === 200) {
          expect(first.body, 'a complete body of a corrupt document').toBeUndefined();
          expect(first.failure).toBeInstanceOf(Error);
        } else {
          expect(first.status).toBe(503);
        }
        expect(await corruptionCount()).toBe(countBefore + 1);
        const logged = gateway.logs.lines.filter(
          (line) => line.includes(material.sha256) && line.includes('"level":50'),
        );
        expect(logged).toHaveLength(1);
        expect(JSON.parse(logged[0] ?? '{}')).toMatchObject({
          store: kind,
          expectedSha256: material.sha256,
          detectedBy: 'read',
        });

        const laterRequests: { method?: string; headers?: Record<string, string> }[] = [
          {},
          { headers: { range: 'bytes=0-99' } },
          { headers: { range: 'bytes=-10', 'if-range': first.headers.get('etag') ?? '' } },
          { method: 'HEAD' },
        ];
        for (const init of laterRequests) {
          const again = await download(material.id, init);
          expect(again.status, JSON.stringify(init)).toBe(503);
          if (init.method !== 'HEAD')
            expect(JSON.parse(again.body?.toString() ?? '{}')).toMatchObject({
              code: 'content_corrupted',
              status: 503,
            });
        }
        expect(await corruptionCount()).toBe(countBefore + 1);
      },
    );

    it('never serves a range of a document changed since it was verified, however far from the damage', async () => {
      const document = pdfOfSize(`${kind} range`, 2 * MiB + 10);
      const material = await upload(document);
      const intact = await download(material.id, { headers: { range: 'bytes=0-9' } });
      expect(intact.status).toBe(206);
      expect(intact.body?.equals(document.subarray(0, 10))).toBe(true);

      await tampering.flipByte(material.sha256, 2 * MiB + 5);
      damaged.add(material.sha256);
      const refused = await download(material.id, { headers: { range: 'bytes=0-9' } });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body?.toString() ?? '{}')).toMatchObject({ code: 'content_corrupted' });
      const logged = gateway.logs.lines.filter((line) => line.includes(material.sha256) && line.includes('"level":50'));
      expect(JSON.parse(logged[0] ?? '{}')).toMatchObject({ detectedBy: 'range_check' });
    });

    it('is repaired by uploading the original again, for every material of that content; other bytes do not lift the quarantine', async () => {
      const document = pdfOfSize(`${kind} repair`, MiB + 333);
      const first = await upload(document);
      const second = await upload(document);
      expect(second.sha256).toBe(first.sha256);
      await tampering.flipByte(first.sha256, 10);
      expect((await download(first.id)).body).toBeUndefined();
      expect((await download(second.id)).status).toBe(503);

      await upload(pdfOfSize(`${kind} repair, something else`, MiB + 333));
      expect((await download(first.id)).status).toBe(503);

      await upload(document);
      for (const material of [first, second]) {
        const repaired = await download(material.id);
        expect(repaired.status).toBe(200);
        expect(repaired.body?.equals(document)).toBe(true);
        const range = await download(material.id, { headers: { range: 'bytes=5-14' } });
        expect(range.body?.equals(document.subarray(5, 15))).toBe(true);
      }
      expect(gateway.logs.lines.some((line) => line.includes(first.sha256) && line.includes('repaired'))).toBe(true);
    });

    it('is found by the scrub when nobody has read it, together with every other damaged document', async () => {
      const unread = await upload(pdfOfSize(`${kind} never read`, 300 * 1024));
      await tampering.dropLastByte(unread.sha256);
      damaged.add(unread.sha256);
      const report = await scrubBlobs(gateway.running.services.blobStore, gateway.running.services.db);
      expect(new Set(report.corrupt.map((blob) => blob.sha256))).toEqual(damaged);
      expect(report.corrupt.find((blob) => blob.sha256 === unread.sha256)).toMatchObject({
        newlyQuarantined: true,
        materialIds: [unread.id],
      });
      expect(report.missing).toEqual([]);
      expect((await download(unread.id)).status).toBe(503);
    });

    it('leaks no clear ID number in responses or logs', () => {
      expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
    });
  });
}
