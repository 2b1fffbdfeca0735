/**
 * National cryptography micro-benchmark (issue 21): SM2 (JWS alg SM2SM3, gateway/auth/jws.ts) vs
 * ES256 (jose) signatures per second, signing and verifying the same compact JWS the gateway
 * makes for a certificate envelope, and SM3 vs SHA-256 digest throughput (Node's OpenSSL).
 *
 *   npm run bench:sm2            # about 15 seconds
 *   BENCH_SECONDS=3 npm run bench:sm2
 *
 * Every signature made is verified once before timing, so a broken implementation cannot look fast.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import {
  SM2_JWS_ALG,
  type SigningAlg,
  generateSigningJwks,
  importSignKey,
  importVerifyKey,
  signCompactJws,
  verifyCompactJws,
} from '../gateway/auth/jws.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 2);

/** Runs `task` repeatedly for `seconds`; operations per second. */
async function perSecond(task: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await task(); // warm up
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  while (performance.now() < until) {
    await task();
    count += 1;
  }
  return count / ((performance.now() - started) / 1000);
}

// A certificate envelope's payload, about the size the gateway signs.
const payload = new TextEncoder().encode(
  JSON.stringify({
    iss: 'https://gateway.example',
    iat: 1_760_000_000,
    materialId: 'mat_0123456789abcdef',
    subjectId: 'sub_0123456789abcdef',
    certificate: {
      certificateType: 'resident_id_card',
      certificateNumber: '110105********002X',
      holderName: '张*',
      holderIdentifier: '110105********002X',
      issuingAuthority: '北京市公安局朝阳分局',
      issueDate: '2020-01-01',
      validFrom: '2020-01-01',
      validUntil: '2040-01-01',
      status: 'valid',
    },
    content: { sha256: 'a'.repeat(64), sm3: 'b'.repeat(64), mediaType: 'application/pdf', size: 123_456 },
    source: { department: 'PSB', contractResource: null, contractVersion: null, fetchedAt: '', checkedAt: '' },
    stale: false,
  }),
);

async function signatures(alg: SigningAlg): Promise<{ sign: number; verify: number }> {
  const { privateJwk, publicJwk } = await generateSigningJwks(alg);
  const signKey = await importSignKey(privateJwk, alg);
  const verifyKey = await importVerifyKey(publicJwk, alg);
  const header = { alg, kid: 'bench', typ: 'onewindow-certificate+jws' };
  const jws = await signCompactJws(header, payload, signKey);
  await verifyCompactJws(jws, verifyKey, alg);
  const sign = await perSecond(() => signCompactJws(header, payload, signKey));
  const verify = await perSecond(() => verifyCompactJws(jws, verifyKey, alg));
  return { sign, verify };
}

function digestThroughput(algorithm: 'sm3' | 'sha256', size: number): Promise<number> {
  const data = randomBytes(size);
  return perSecond(() => createHash(algorithm).update(data).digest()).then((perSec) => (perSec * size) / 2 ** 20);
}

const round = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(1));

const es256 = await signatures('ES256');
const sm2 = await signatures(SM2_JWS_ALG);
const digests: { size: string; sha256: number; sm3: number }[] = [];
for (const [label, size] of [
  ['1 KiB', 1024],
  ['1 MiB', 2 ** 20],
] as const) {
  digests.push({
    size: label,
    sha256: await digestThroughput('sha256', size),
    sm3: await digestThroughput('sm3', size),
  });
}

console.log(
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${seconds} s per figure\n`,
);
console.log('| compact JWS (envelope payload) | sign / s | verify / s |');
console.log('|---|---|---|');
console.log(`| ES256 (jose, OpenSSL P-256) | ${round(es256.sign)} | ${round(es256.verify)} |`);
console.log(`| SM2SM3 (gateway/auth/jws.ts) | ${round(sm2.sign)} | ${round(sm2.verify)} |`);
console.log(`| SM2 / ES256 | ${(sm2.sign / es256.sign).toFixed(3)} | ${(sm2.verify / es256.verify).toFixed(3)} |`);
console.log('\n| digest | SHA-256 MiB/s | SM3 MiB/s | SM3 / SHA-256 |');
console.log('|---|---|---|---|');
for (const row of digests)
  console.log(
    `| ${row.size} blocks | ${round(row.sha256)} | ${round(row.sm3)} | ${(row.sm3 / row.sha256).toFixed(2)} |`,
  );
