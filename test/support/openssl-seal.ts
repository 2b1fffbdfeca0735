/**
 * The offline check of an electronic seal signature (GB/T 38540 SES_Signature) with nothing but
 * OpenSSL's command line, step by step as docs/national-cryptography.md ("Electronic seals")
 * writes them: list the structure with `asn1parse`, cut out TBS_Sign, the certificates and the
 * signatures with `-strparse`, verify both SM2 signatures with `pkeyutl -rawin -digest sm3 -pkeyopt
 * distid:1234567812345678`, compare `dgst -sm3` of the document with dataHash, and check the
 * certificate at the signing time with `openssl verify -attime`. No code of the gateway takes part.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OpensslSealReport {
  /** The SM2 signature over TBS_Sign verifies with the signer certificate's key. */
  signatureVerified: boolean;
  /** `openssl dgst -sm3` of the document equals dataHash. */
  documentMatches: boolean;
  /** The maker's SM2 signature over eSealInfo verifies with the maker certificate's key. */
  makerSignatureVerified: boolean;
  /** `openssl verify -attime` (the signing time) accepts the signer certificate, trusting the maker's. */
  certificateVerified: boolean;
  /** What OpenSSL printed, for assertion messages. */
  output: string;
}

interface Line {
  offset: number;
  depth: number;
  headerLength: number;
  length: number;
  type: string;
  value: string;
}

/** One line of `openssl asn1parse -i`: `  4:d=1  hl=4 l=3321 cons:  SEQUENCE`. */
function parseListing(listing: string): Line[] {
  const lines: Line[] = [];
  for (const text of listing.split('\n')) {
    const match = /^\s*(\d+):d=(\d+)\s+hl=(\d+)\s+l=\s*(\d+)\s+(?:prim|cons):\s*(.*)$/.exec(text);
    if (!match) continue;
    const [, offset, depth, headerLength, length, rest = ''] = match;
    const colon = rest.indexOf(':');
    const type = colon < 0 ? rest : rest.slice(0, colon);
    const value = colon < 0 ? '' : rest.slice(colon + 1);
    lines.push({
      offset: Number(offset),
      depth: Number(depth),
      headerLength: Number(headerLength),
      length: Number(length),
      type: (type ?? '').trim(),
      value: value ?? '',
    });
  }
  return lines;
}

/** The children (next depth) of the element at `parent`, in order. */
function childrenOf(lines: Line[], parent: Line): Line[] {
  const end = parent.offset + parent.headerLength + parent.length;
  return lines.filter((line) => line.depth === parent.depth + 1 && line.offset > parent.offset && line.offset < end);
}

export async function opensslVerifySeal(document: Uint8Array, sesSignature: Uint8Array): Promise<OpensslSealReport> {
  const folder = await mkdtemp(join(tmpdir(), 'onewindow-openssl-seal-'));
  const file = (name: string) => join(folder, name);
  const output: string[] = [];
  const openssl = async (args: string[]): Promise<{ ok: boolean; stdout: string }> => {
    try {
      const { stdout, stderr } = await run('openssl', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      output.push(`$ openssl ${args.join(' ')}\n${stdout}${stderr}`);
      return { ok: true, stdout };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      output.push(`$ openssl ${args.join(' ')} (failed)\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
      return { ok: false, stdout: failed.stdout ?? '' };
    }
  };
  const cut = async (offset: number, out: string) =>
    openssl([
      'asn1parse',
      '-inform',
      'DER',
      '-in',
      file('seal.sig'),
      '-strparse',
      String(offset),
      '-noout',
      '-out',
      file(out),
    ]);
  const verifySm2 = async (certificate: string, message: string, signature: string) => {
    await openssl([
      'x509',
      '-inform',
      'DER',
      '-in',
      file(certificate),
      '-pubkey',
      '-noout',
      '-out',
      file(`${certificate}.pub.pem`),
    ]);
    const verdict = await openssl([
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      file(`${certificate}.pub.pem`),
      '-rawin',
      '-in',
      file(message),
      '-sigfile',
      file(signature),
      '-digest',
      'sm3',
      '-pkeyopt',
      'distid:1234567812345678',
    ]);
    return verdict.ok && verdict.stdout.includes('Signature Verified Successfully');
  };
  try {
    await writeFile(file('document'), document);
    await writeFile(file('seal.sig'), sesSignature);
    // 1. The structure: SES_Signature { toSign, cert, signatureAlgID, signature }.
    const lines = parseListing((await openssl(['asn1parse', '-inform', 'DER', '-in', file('seal.sig'), '-i'])).stdout);
    const root = lines[0];
    if (!root) throw new Error(`asn1parse read nothing:\n${output.join('\n')}`);
    const [toSign, cert, , signature] = childrenOf(lines, root);
    if (!toSign || !cert || !signature) throw new Error(`not an SES_Signature:\n${output.join('\n')}`);
    // 2. TBS_Sign { version, eseal, timeInfo, dataHash, propertyInfo }; the signature over it.
    await cut(toSign.offset, 'tbs.der');
    await cut(cert.offset, 'signer.der');
    await cut(signature.offset, 'signature.der');
    const signatureVerified = await verifySm2('signer.der', 'tbs.der', 'signature.der');
    const [, eseal, timeInfo, dataHash] = childrenOf(lines, toSign);
    if (!eseal || !timeInfo || !dataHash) throw new Error(`TBS_Sign is incomplete:\n${output.join('\n')}`);
    // 3. dataHash: the BIT STRING's bytes after its unused-bits byte, against SM3 of the document.
    const bytes = await readFile(file('seal.sig'));
    const hashStart = dataHash.offset + dataHash.headerLength + 1;
    const statedHash = bytes.subarray(hashStart, dataHash.offset + dataHash.headerLength + dataHash.length);
    const digest = await openssl(['dgst', '-sm3', '-r', file('document')]);
    const documentMatches = digest.stdout.split(' ')[0] === statedHash.toString('hex');
    // 4. SES_Seal { eSealInfo, cert, signAlgID, signedValue }: the maker's signature over eSealInfo.
    const [sealInfo, makerCert, , signedValue] = childrenOf(lines, eseal);
    if (!sealInfo || !makerCert || !signedValue) throw new Error(`SES_Seal is incomplete:\n${output.join('\n')}`);
    await cut(sealInfo.offset, 'seal-info.der');
    await cut(makerCert.offset, 'maker.der');
    await cut(signedValue.offset, 'maker-signature.der');
    const makerSignatureVerified = await verifySm2('maker.der', 'seal-info.der', 'maker-signature.der');
    // 5. The signer's certificate at the signing time (timeInfo, YYYYMMDDHHMMSSZ), trusting the maker's.
    const time = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(timeInfo.value.trim());
    const signedAt = time ? Date.UTC(+time[1]!, +time[2]! - 1, +time[3]!, +time[4]!, +time[5]!, +time[6]!) / 1000 : 0;
    for (const name of ['signer', 'maker'])
      await openssl(['x509', '-inform', 'DER', '-in', file(`${name}.der`), '-out', file(`${name}.pem`)]);
    const verified = await openssl([
      'verify',
      '-attime',
      String(signedAt),
      '-partial_chain',
      '-trusted',
      file('maker.pem'),
      file('signer.pem'),
    ]);
    return {
      signatureVerified,
      documentMatches,
      makerSignatureVerified,
      certificateVerified: verified.ok && verified.stdout.includes(': OK'),
      output: output.join('\n'),
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
