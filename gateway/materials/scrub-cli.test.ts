/**
 * `npm run blobs:scrub` (gateway/cli/scrub-blobs.ts) run as a separate process on both blob
 * stores, against a real database: a file-backed PGlite folder by default, a fresh PostgreSQL
 * database when DATABASE_URL is set. Documents are uploaded through the API, then damaged behind
 * the gateway's back (a flipped byte, a truncation, a removal); the scrub must find exactly those,
 * name their materials, quarantine them once, exit 1, and exit 0 once they are repaired.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfDocument, residentId } from '../../test/fixtures/documents.js';
import { bearer, createTestGateway, testPostgresUrl, type TestGateway } from '../../test/harness.js';
import { type BlobTampering, fileTampering, rowTampering } from '../../test/support/blob-tampering.js';
import { parseConfig } from '../config.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { createConfiguredBlobStore } from './blob-stores.js';
import type { ScrubReport } from './scrub.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const PURPOSE = { 'onewindow-purpose': 'case_acceptance' };
const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function runCli(args: string[], environment: Record<string, string>): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !['DATABASE_URL', 'PGLITE_DATA_DIR', 'BLOB_STORE', 'BLOB_STORE_DIR'].includes(key),
    ),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'gateway/cli/scrub-blobs.ts', ...args],
      { env: { ...inherited, ...environment }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

for (const kind of ['filesystem', 'postgres'] as const) {
  describe(`npm run blobs:scrub on the ${kind} store (${testPostgresUrl ? 'PostgreSQL' : 'PGlite'})`, () => {
    let gw: TestGateway | undefined;
    let environment: Record<string, string>;
    const documents = new Map<string, Uint8Array>();
    /** Material id and content digest per role. */
    const uploaded: Record<'intact' | 'flipped' | 'shortened' | 'removed', { id: string; sha256: string }> =
      {} as never;
    let sharedMaterialId: string;

    /** Runs `work` on the store and database the CLI sees (on PGlite, only while nothing else has the folder open). */
    async function withStore<T>(
      work: (tampering: BlobTampering, repair: (bytes: Uint8Array) => Promise<void>) => Promise<T>,
    ): Promise<T> {
      const config = parseConfig({ ONEWINDOW_DEMO: 'false', ...environment });
      const handle: DatabaseHandle = gw && testPostgresUrl ? gw.database : await openDatabase(config.database);
      try {
        const store = createConfiguredBlobStore(config.materials, handle.db);
        const tampering =
          kind === 'filesystem' && config.materials.blobStore.kind === 'filesystem'
            ? fileTampering(config.materials.blobStore.directory)
            : rowTampering(handle.db);
        return await work(tampering, async (bytes) => {
          await store.put(Readable.from([bytes]), { maxBytes: bytes.byteLength });
        });
      } finally {
        if (handle !== gw?.database) await handle.close();
      }
    }

    beforeAll(async () => {
      environment = {
        BLOB_STORE: kind,
        ...(kind === 'filesystem' ? { BLOB_STORE_DIR: tempDir('ow-scrub-blobs-') } : {}),
      };
      if (!testPostgresUrl) environment['PGLITE_DATA_DIR'] = tempDir('ow-scrub-pglite-');
      gw = await createTestGateway(environment);
      if (testPostgresUrl && gw.config.database.kind === 'postgres')
        environment['DATABASE_URL'] = gw.config.database.url;
      // Run where the gateway runs: its data protection and key-encryption key file (sealed documents).
      environment['DATA_PROTECTION'] = gw.config.protection.mode;
      environment['DATA_KEY_ENCRYPTION_KEY_FILE'] = gw.config.protection.keyEncryptionKeyFile;
      const token = await gw.tokenFor('window');
      const subject = await gw.request('/v1/subjects/resolve', {
        method: 'POST',
        headers: bearer(token, { 'content-type': 'application/json', ...PURPOSE }),
        body: JSON.stringify({ identifierType: 'resident_id', identifier: residentId(7), name: '测试' }),
      });
      const subjectId = ((await subject.json()) as { id: string }).id;
      const upload = async (bytes: Uint8Array): Promise<{ id: string; sha256: string }> => {
        const response = await gw!.request(`/v1/subjects/${subjectId}/materials?typeCode=lease_contract`, {
          method: 'POST',
          headers: bearer(token, { 'content-type': 'application/pdf', ...PURPOSE }),
          body: bytes,
        });
        if (response.status !== 201) throw new Error(`upload: ${response.status} ${await response.text()}`);
        const material = (await response.json()) as { id: string; content: { sha256: string } };
        documents.set(material.content.sha256, bytes);
        return { id: material.id, sha256: material.content.sha256 };
      };
      for (const role of ['intact', 'flipped', 'shortened', 'removed'] as const)
        uploaded[role] = await upload(pdfDocument(`scrub ${kind} ${role}`, 150_000));
      // A second material with the same content as `flipped`: both must be named.
      sharedMaterialId = (await upload(documents.get(uploaded.flipped.sha256)!)).id;

      if (!testPostgresUrl) {
        // PGlite: one process at a time may open the folder; the CLI needs it.
        await gw.close();
        gw = undefined;
      }
      await withStore(async (tampering) => {
        await tampering.flipByte(uploaded.flipped.sha256, 100_000);
        await tampering.dropLastByte(uploaded.shortened.sha256);
        await tampering.remove(uploaded.removed.sha256);
      });
    });

    afterAll(async () => {
      await gw?.close();
    });

    it('finds exactly the corrupted and the missing blobs, names their materials, quarantines them, and exits 1', async () => {
      const result = await runCli(['--json'], environment);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as ScrubReport & { ok: boolean; store: { kind: string } };
      expect(report).toMatchObject({ ok: false, store: { kind }, checked: 3, intact: 1, released: [] });
      const bySha = (sha256: string) => report.corrupt.find((blob) => blob.sha256 === sha256);
      expect(report.corrupt.map((blob) => blob.sha256).sort()).toEqual(
        [uploaded.flipped.sha256, uploaded.shortened.sha256].sort(),
      );
      expect(bySha(uploaded.flipped.sha256)).toMatchObject({
        newlyQuarantined: true,
        materialIds: [uploaded.flipped.id, sharedMaterialId].sort(),
      });
      const flippedSize = documents.get(uploaded.flipped.sha256)!.byteLength;
      if ((environment['DATA_PROTECTION'] ?? 'off') === 'off') {
        expect(bySha(uploaded.flipped.sha256)?.size).toBe(flippedSize);
        expect(bySha(uploaded.flipped.sha256)?.actualSha256).toMatch(/^[0-9a-f]{64}$/);
      } else {
        // Sealed (the suite's SM4 pass): the read stops at the first segment that does not open.
        expect(bySha(uploaded.flipped.sha256)?.size).toBeLessThanOrEqual(flippedSize);
      }
      expect(bySha(uploaded.shortened.sha256)).toMatchObject({
        newlyQuarantined: true,
        materialIds: [uploaded.shortened.id],
      });
      expect(report.missing).toEqual([{ sha256: uploaded.removed.sha256, materialIds: [uploaded.removed.id] }]);
    });

    it('says so in plain words, and does not quarantine (or count) twice', async () => {
      const result = await runCli([], environment);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('Blob scrub: PROBLEM FOUND');
      expect(result.stdout).toMatch(/Checked: +3 blobs/);
      expect(result.stdout).toContain(`corrupt  ${uploaded.flipped.sha256}`);
      expect(result.stdout).toContain('quarantined before');
      expect(result.stdout).not.toContain('quarantined now');
      expect(result.stdout).toContain(`missing  ${uploaded.removed.sha256}  materials: ${uploaded.removed.id}`);
      expect(result.stdout).toContain(uploaded.shortened.id);
    });

    it('exits 0 once the documents are stored again', async () => {
      await withStore(async (_tampering, repair) => {
        for (const role of ['flipped', 'shortened', 'removed'] as const)
          await repair(documents.get(uploaded[role].sha256)!);
      });
      const result = await runCli([], environment);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Blob scrub: OK');
      expect(result.stdout).toMatch(/Intact: +4/);
    });
  });
}

describe('npm run blobs:scrub, usage', () => {
  it('prints its help and exits 0; refuses unknown options and an absent database with exit 2', async () => {
    const help = await runCli(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run blobs:scrub');
    expect(help.stdout).toContain('Exit codes');
    const unknown = await runCli(['--fix'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--fix'");
    const absent = await runCli([], { PGLITE_DATA_DIR: join(tmpdir(), 'ow-scrub-no-such-folder') });
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('no PGlite database');
  });
});
