/**
 * The pieces of blob-integrity.ts on their own: the verifying read (what it withholds, when it
 * stops its source) and the memory of verified blobs (fingerprint, age, bound). The drivers'
 * use of them is in the conformance suite (blob-store.conformance.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VerifiedBlobs, blobIntegrity, measure, verifiedRead } from './blob-integrity.js';

const sha256Of = (...parts: Uint8Array[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

const chunks = [Buffer.from('first chunk,'), Buffer.from('second chunk,'), Buffer.from('last chunk')];

async function* source(parts: Uint8Array[], onClose?: () => void): AsyncGenerator<Uint8Array> {
  try {
    for (const part of parts) yield part;
  } finally {
    onClose?.();
  }
}

describe('verifiedRead', () => {
  it('passes every chunk on when the digest matches, and says so before the last one', async () => {
    const events: string[] = [];
    const read = verifiedRead(source(chunks), sha256Of(...chunks), {
      intact: () => events.push('intact'),
      corrupt: async () => new Error('not expected'),
    });
    for await (const part of read) events.push(Buffer.from(part).toString());
    expect(events).toEqual(['first chunk,', 'second chunk,', 'intact', 'last chunk']);
  });

  it('withholds the last chunk of bytes that do not match and throws what `corrupt` answers', async () => {
    const received: string[] = [];
    const failure = new Error('corrupt');
    let measured: unknown;
    const read = verifiedRead(source(chunks), sha256Of(Buffer.from('other bytes')), {
      intact: () => received.push('intact'),
      corrupt: async (bytes) => {
        measured = bytes;
        return failure;
      },
    });
    await expect(
      (async () => {
        for await (const part of read) received.push(Buffer.from(part).toString());
      })(),
    ).rejects.toBe(failure);
    expect(received).toEqual(['first chunk,', 'second chunk,']);
    expect(measured).toEqual({ sha256: sha256Of(...chunks), size: Buffer.concat(chunks).byteLength });
  });

  it('passes nothing of a one-chunk source that does not match', async () => {
    const received: Uint8Array[] = [];
    const read = verifiedRead(source([Buffer.from('only')]), sha256Of(Buffer.from('else')), {
      intact: () => {},
      corrupt: async () => new Error('corrupt'),
    });
    await expect(
      (async () => {
        for await (const part of read) received.push(part);
      })(),
    ).rejects.toThrow('corrupt');
    expect(received).toEqual([]);
  });

  it('checks an empty source too', async () => {
    const empty = verifiedRead(source([]), sha256Of(), { intact: () => {}, corrupt: async () => new Error('corrupt') });
    expect(await measure(empty)).toEqual({ sha256: sha256Of(), size: 0 });
    const notEmpty = verifiedRead(source([]), sha256Of(Buffer.from('x')), {
      intact: () => {},
      corrupt: async () => new Error('corrupt'),
    });
    await expect(measure(notEmpty)).rejects.toThrow('corrupt');
  });

  it('stops its source when the consumer stops early', async () => {
    let closed = false;
    const read = verifiedRead(
      source(chunks, () => (closed = true)),
      sha256Of(...chunks),
      { intact: () => {}, corrupt: async () => new Error('corrupt') },
    );
    for await (const _part of read) break;
    expect(closed).toBe(true);
  });
});

describe('VerifiedBlobs', () => {
  const blob = 'a'.repeat(64);

  it('remembers a verification for the fingerprint it was made with, until the maximum age', () => {
    let now = 1000;
    const verified = new VerifiedBlobs(500, () => now, 10);
    expect(verified.recent(blob, 'v1')).toBe(false);
    verified.record(blob, 'v1');
    expect(verified.recent(blob, 'v1')).toBe(true);
    expect(verified.recent(blob, 'v2')).toBe(false); // rewritten since
    expect(verified.recent(blob, 'v1')).toBe(false); // and forgotten
    verified.record(blob, 'v1');
    now += 499;
    expect(verified.recent(blob, 'v1')).toBe(true);
    now += 1;
    expect(verified.recent(blob, 'v1')).toBe(false);
  });

  it('trusts nothing when the clock went backwards', () => {
    let now = 10_000;
    const verified = new VerifiedBlobs(500, () => now, 10);
    verified.record(blob, 'v1');
    now -= 1;
    expect(verified.recent(blob, 'v1')).toBe(false);
  });

  it('remembers nothing with a maximum age of 0, and forgets the oldest beyond its capacity', () => {
    const never = new VerifiedBlobs(0, () => 0, 10);
    never.record(blob, 'v1');
    expect(never.recent(blob, 'v1')).toBe(false);

    const small = new VerifiedBlobs(1000, () => 0, 2);
    small.record('1'.repeat(64), 'v');
    small.record('2'.repeat(64), 'v');
    small.record('3'.repeat(64), 'v');
    expect(small.recent('1'.repeat(64), 'v')).toBe(false);
    expect(small.recent('2'.repeat(64), 'v')).toBe(true);
    expect(small.recent('3'.repeat(64), 'v')).toBe(true);
    small.forget('3'.repeat(64));
    expect(small.recent('3'.repeat(64), 'v')).toBe(false);
  });
});

describe('blobIntegrity', () => {
  it('checks its options and keeps a throwing hook from breaking the store', () => {
    expect(() => blobIntegrity('test store', { rangeVerificationMaxAgeMs: -1 })).toThrow(
      /test store: rangeVerificationMaxAgeMs/,
    );
    expect(() => blobIntegrity('test store', { verifiedBlobsRemembered: 0 })).toThrow(TypeError);
    const integrity = blobIntegrity('test store', {
      onCorruption: () => {
        throw new Error('logger down');
      },
      onRepair: () => {
        throw new Error('metrics down');
      },
    });
    expect(() =>
      integrity.reportCorruption({ sha256: 'b'.repeat(64), actualSha256: null, bytesRead: 0, detectedBy: 'read' }),
    ).not.toThrow();
    expect(() => integrity.reportRepair('b'.repeat(64))).not.toThrow();
  });
});
