/**
 * SM2 digital signatures (GB/T 32918.2) with SM3 (GB/T 32905) over the SM2 recommended curve
 * (GB/T 32918.5), and the key formats around them. One implementation for both users: adapters
 * signing requests to a department (`sm2Sign`/`sm2Verify` on Node key objects or PEM, DER or raw
 * signatures) and the gateway's own keys (`Sm2PrivateKey`/`Sm2PublicKey`: JWS, envelopes, audit).
 *
 * Node 20 has the curve and SM3, but no usable SM2 signature: `crypto.sign('sm3', …)` with a key
 * generated on the curve makes an ECDSA signature, and with a key read from PEM it makes an SM2
 * signature with an empty user ID that cannot be changed, where GM/T 0009 and every verifier
 * expect the default ID `1234567812345678`. So the signature arithmetic is done here with BigInt;
 * the expensive part of signing (k·G) is still done by OpenSSL through Node's ECDH on the curve,
 * and SM3 comes from Node. Verification multiplies the public key in BigInt (a 4-bit window).
 *
 * Not constant-time: BigInt arithmetic on the private scalar (in s = (1+d)⁻¹(k − r·d)) takes
 * time that depends on its value. The gateway signs on its own hosts, so this is accepted; see
 * docs/national-cryptography.md.
 */
import {
  type KeyObject,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';

/** Curve parameters, GB/T 32918.5-2017. */
const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const A = P - 3n;
const B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
export const SM2_ORDER = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const N = SM2_ORDER;
const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

/** The user ID of GM/T 0009-2012 §10, used whenever no other is agreed (OpenSSL `distid`). */
export const SM2_DEFAULT_ID = '1234567812345678';

/** Object identifiers (DER, tag and length included). */
const OID_EC_PUBLIC_KEY = Buffer.from('06072a8648ce3d0201', 'hex');
const OID_SM2_CURVE = Buffer.from('06082a811ccf5501822d', 'hex');

export interface AffinePoint {
  x: bigint;
  y: bigint;
}

/** Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = readonly [bigint, bigint, bigint];
const INFINITY: Jacobian = [1n, 1n, 0n];

function modP(value: bigint): bigint {
  const r = value % P;
  return r < 0n ? r + P : r;
}

function modN(value: bigint): bigint {
  const r = value % N;
  return r < 0n ? r + N : r;
}

/** Modular inverse by the extended Euclidean algorithm; `value` must be non-zero modulo `m`. */
function invert(value: bigint, m: bigint): bigint {
  let [a, b] = [((value % m) + m) % m, m];
  let [x, lastX] = [0n, 1n];
  while (b !== 0n) {
    const q = a / b;
    [a, b] = [b, a - q * b];
    [lastX, x] = [x, lastX - q * x];
  }
  if (a !== 1n) throw new RangeError('sm2: value is not invertible');
  return ((lastX % m) + m) % m;
}

/** Doubling for a = −3 (SM2's a is p − 3). */
function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const delta = (z * z) % P;
  const gamma = (y * y) % P;
  const beta = (x * gamma) % P;
  const alpha = modP(3n * (((x - delta) * (x + delta)) % P));
  const x3 = modP(alpha * alpha - 8n * beta);
  const z3 = modP((y + z) * (y + z) - gamma - delta);
  const y3 = modP(alpha * (4n * beta - x3) - 8n * ((gamma * gamma) % P));
  return [x3, y3, z3];
}

function add(p1: Jacobian, p2: Jacobian): Jacobian {
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  if (z1 === 0n) return p2;
  if (z2 === 0n) return p1;
  const z1z1 = (z1 * z1) % P;
  const z2z2 = (z2 * z2) % P;
  const u1 = (x1 * z2z2) % P;
  const u2 = (x2 * z1z1) % P;
  const s1 = (((y1 * z2) % P) * z2z2) % P;
  const s2 = (((y2 * z1) % P) * z1z1) % P;
  const h = modP(u2 - u1);
  const r = modP(s2 - s1);
  if (h === 0n) return r === 0n ? double(p1) : INFINITY;
  const hh = (h * h) % P;
  const hhh = (h * hh) % P;
  const v = (u1 * hh) % P;
  const x3 = modP(r * r - hhh - 2n * v);
  const y3 = modP(r * (v - x3) - s1 * hhh);
  const z3 = (((z1 * z2) % P) * h) % P;
  return [x3, y3, z3];
}

function toAffine([x, y, z]: Jacobian): AffinePoint | undefined {
  if (z === 0n) return undefined;
  const zInv = invert(z, P);
  const zInv2 = (zInv * zInv) % P;
  return { x: (x * zInv2) % P, y: (((y * zInv2) % P) * zInv) % P };
}

/** k·Q with a fixed 4-bit window; for public scalars and points (verification). */
function multiply(point: AffinePoint, k: bigint): Jacobian {
  const table: Jacobian[] = [INFINITY, [point.x, point.y, 1n]];
  for (let i = 2; i < 16; i++) table.push(add(table[i - 1] as Jacobian, table[1] as Jacobian));
  let result = INFINITY;
  for (let shift = 252n; shift >= 0n; shift -= 4n) {
    result = double(double(double(double(result))));
    result = add(result, table[Number((k >> shift) & 15n)] as Jacobian);
  }
  return result;
}

export function isOnCurve({ x, y }: AffinePoint): boolean {
  if (x < 0n || x >= P || y < 0n || y >= P) return false;
  return modP(y * y - (x * x * x + A * x + B)) === 0n;
}

function bytes32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** k·G by OpenSSL (constant-time there); `k` must be in [1, n − 1]. */
function multiplyGenerator(k: bigint): AffinePoint {
  const ecdh = createECDH('SM2');
  ecdh.setPrivateKey(bytes32(k));
  const encoded = ecdh.getPublicKey();
  return { x: toBigInt(encoded.subarray(1, 33)), y: toBigInt(encoded.subarray(33, 65)) };
}

/** A uniformly random scalar in [1, n − 1]. */
function randomScalar(): bigint {
  for (;;) {
    const k = toBigInt(randomBytes(32));
    if (k > 0n && k < N) return k;
  }
}

export class Sm2PublicKey {
  readonly type = 'public';
  /** Z_A for the default ID, computed once: it depends on the key only. */
  private defaultZ: Buffer | undefined;

  constructor(readonly point: AffinePoint) {
    if (!isOnCurve(point)) throw new RangeError('sm2: the public key is not a point on the SM2 curve');
  }

  /** Uncompressed point, 04 ‖ x ‖ y (65 bytes). */
  get uncompressed(): Buffer {
    return Buffer.concat([Buffer.of(4), bytes32(this.point.x), bytes32(this.point.y)]);
  }

  /** Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A), GB/T 32918.2 §5.5. */
  z(id: string = SM2_DEFAULT_ID): Buffer {
    if (id === SM2_DEFAULT_ID && this.defaultZ) return this.defaultZ;
    const idBytes = Buffer.from(id, 'utf8');
    if (idBytes.length * 8 > 0xffff) throw new RangeError('sm2: the user ID is longer than 8191 bytes');
    const entl = Buffer.alloc(2);
    entl.writeUInt16BE(idBytes.length * 8);
    const z = createHash('sm3')
      .update(entl)
      .update(idBytes)
      .update(Buffer.concat([A, B, GX, GY, this.point.x, this.point.y].map(bytes32)))
      .digest();
    if (id === SM2_DEFAULT_ID) this.defaultZ = z;
    return z;
  }

  /** SubjectPublicKeyInfo (RFC 5480 form, curve OID 1.2.156.10197.1.301), as OpenSSL reads it. */
  toSpkiDer(): Buffer {
    const algorithm = der(0x30, Buffer.concat([OID_EC_PUBLIC_KEY, OID_SM2_CURVE]));
    return der(0x30, Buffer.concat([algorithm, der(0x03, Buffer.concat([Buffer.of(0), this.uncompressed]))]));
  }

  toSpkiPem(): string {
    return pem('PUBLIC KEY', this.toSpkiDer());
  }

  /** JWK members in the form of RFC 7518 §6.2 with `crv: "SM2"` (no registered name exists). */
  toJwk(): { kty: 'EC'; crv: 'SM2'; x: string; y: string } {
    return {
      kty: 'EC',
      crv: 'SM2',
      x: bytes32(this.point.x).toString('base64url'),
      y: bytes32(this.point.y).toString('base64url'),
    };
  }

  static fromJwk(jwk: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown }): Sm2PublicKey {
    if (jwk.kty !== 'EC' || jwk.crv !== 'SM2' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string')
      throw new TypeError('sm2: a JWK of an SM2 key has kty "EC", crv "SM2", x and y');
    const x = Buffer.from(jwk.x, 'base64url');
    const y = Buffer.from(jwk.y, 'base64url');
    if (x.length !== 32 || y.length !== 32) throw new TypeError('sm2: JWK x and y are 32 bytes each');
    return new Sm2PublicKey({ x: toBigInt(x), y: toBigInt(y) });
  }

  /** From a DER SubjectPublicKeyInfo; undefined when it is not an SM2-curve key. */
  static fromSpkiDer(spki: Uint8Array): Sm2PublicKey | undefined {
    const [outer] = readDer(Buffer.from(spki));
    if (outer?.tag !== 0x30) return undefined;
    const [algorithm, bits] = readDer(outer.value);
    if (algorithm?.tag !== 0x30 || bits?.tag !== 0x03) return undefined;
    if (!algorithm.value.equals(Buffer.concat([OID_EC_PUBLIC_KEY, OID_SM2_CURVE]))) return undefined;
    return publicKeyOfEncoded(bits.value.subarray(1));
  }
}

export class Sm2PrivateKey {
  readonly type = 'private';
  readonly publicKey: Sm2PublicKey;
  /** (1 + d)⁻¹ mod n, used by every signature. */
  private readonly inverseOnePlusD: bigint;

  constructor(private readonly d: bigint) {
    // d = n − 1 is excluded too: 1 + d would not be invertible (GB/T 32918.1 §6.1).
    if (d < 1n || d > N - 2n) throw new RangeError('sm2: the private key is out of range');
    this.publicKey = new Sm2PublicKey(multiplyGenerator(d));
    this.inverseOnePlusD = invert(1n + d, N);
  }

  static generate(): Sm2PrivateKey {
    for (;;) {
      const d = randomScalar();
      if (d <= N - 2n) return new Sm2PrivateKey(d);
    }
  }

  /** Signature (r, s) of GB/T 32918.2 §6.1 over `message` for the signer ID `id`. */
  sign(message: Uint8Array, id: string = SM2_DEFAULT_ID): { r: bigint; s: bigint } {
    const e = toBigInt(createHash('sm3').update(this.publicKey.z(id)).update(message).digest());
    for (;;) {
      const k = randomScalar();
      const r = modN(e + multiplyGenerator(k).x);
      if (r === 0n || r + k === N) continue;
      const s = modN(this.inverseOnePlusD * modN(k - r * this.d));
      if (s !== 0n) return { r, s };
    }
  }

  /** JWK with the private scalar `d` (kept sealed; never published). */
  toJwk(): { kty: 'EC'; crv: 'SM2'; x: string; y: string; d: string } {
    return { ...this.publicKey.toJwk(), d: bytes32(this.d).toString('base64url') };
  }

  static fromJwk(jwk: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown; d?: unknown }): Sm2PrivateKey {
    if (typeof jwk.d !== 'string') throw new TypeError('sm2: a private JWK has d');
    const d = Buffer.from(jwk.d, 'base64url');
    if (d.length !== 32) throw new TypeError('sm2: JWK d is 32 bytes');
    const key = new Sm2PrivateKey(toBigInt(d));
    const stated = Sm2PublicKey.fromJwk(jwk).point;
    if (stated.x !== key.publicKey.point.x || stated.y !== key.publicKey.point.y)
      throw new TypeError('sm2: JWK x and y are not the public key of d');
    return key;
  }

  /** PKCS#8 (RFC 5208/5915, the form OpenSSL 3 writes for SM2 keys). */
  toPkcs8Der(): Buffer {
    const ecPrivateKey = der(
      0x30,
      Buffer.concat([
        Buffer.from('020101', 'hex'),
        der(0x04, bytes32(this.d)),
        der(0xa1, der(0x03, Buffer.concat([Buffer.of(0), this.publicKey.uncompressed]))),
      ]),
    );
    return der(
      0x30,
      Buffer.concat([
        Buffer.from('020100', 'hex'),
        der(0x30, Buffer.concat([OID_EC_PUBLIC_KEY, OID_SM2_CURVE])),
        der(0x04, ecPrivateKey),
      ]),
    );
  }

  toPkcs8Pem(): string {
    return pem('PRIVATE KEY', this.toPkcs8Der());
  }

  /**
   * From a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY"); undefined when it is a key on
   * another curve or of another type. OpenSSL reads the PEM, so any form it knows is accepted.
   */
  static fromPem(text: string): Sm2PrivateKey | undefined {
    const pkcs8 = createPrivateKey(text).export({ type: 'pkcs8', format: 'der' });
    const [outer] = readDer(pkcs8);
    if (outer?.tag !== 0x30) return undefined;
    const [, algorithm, wrapped] = readDer(outer.value);
    if (algorithm?.tag !== 0x30 || wrapped?.tag !== 0x04) return undefined;
    if (!algorithm.value.equals(Buffer.concat([OID_EC_PUBLIC_KEY, OID_SM2_CURVE]))) return undefined;
    const [ecPrivateKey] = readDer(wrapped.value);
    const [, scalar] = readDer(ecPrivateKey?.value ?? Buffer.alloc(0));
    if (scalar?.tag !== 0x04) throw new TypeError('sm2: the PKCS#8 key holds no private scalar');
    return new Sm2PrivateKey(toBigInt(scalar.value));
  }
}

function publicKeyOfEncoded(encoded: Buffer): Sm2PublicKey {
  if (encoded.length !== 65 || encoded[0] !== 4)
    throw new TypeError('sm2: expected an uncompressed point (04 ‖ x ‖ y)');
  return new Sm2PublicKey({ x: toBigInt(encoded.subarray(1, 33)), y: toBigInt(encoded.subarray(33)) });
}

/** Verifies (r, s) over `message` for the signer ID `id`, GB/T 32918.2 §7.1. */
export function sm2VerifySignature(
  key: Sm2PublicKey,
  message: Uint8Array,
  signature: { r: bigint; s: bigint },
  id: string = SM2_DEFAULT_ID,
): boolean {
  const { r, s } = signature;
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const t = modN(r + s);
  if (t === 0n) return false;
  const e = toBigInt(createHash('sm3').update(key.z(id)).update(message).digest());
  const sum = toAffine(add(toJacobian(multiplyGenerator(s)), multiply(key.point, t)));
  return sum !== undefined && modN(e + sum.x) === r;
}

function toJacobian({ x, y }: AffinePoint): Jacobian {
  return [x, y, 1n];
}

/** r ‖ s, 32 bytes each (the form JWS uses for ECDSA, RFC 7518 §3.4). */
export function signatureToRaw({ r, s }: { r: bigint; s: bigint }): Buffer {
  return Buffer.concat([bytes32(r), bytes32(s)]);
}

export function signatureFromRaw(raw: Uint8Array): { r: bigint; s: bigint } | undefined {
  if (raw.length !== 64) return undefined;
  return { r: toBigInt(raw.subarray(0, 32)), s: toBigInt(raw.subarray(32)) };
}

/** DER SEQUENCE { r INTEGER, s INTEGER } (GB/T 35276), the form OpenSSL reads and writes. */
export function signatureToDer({ r, s }: { r: bigint; s: bigint }): Buffer {
  const integer = (value: bigint) => {
    let bytes = Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
    while (bytes.length > 1 && bytes[0] === 0 && (bytes[1] ?? 0) < 0x80) bytes = bytes.subarray(1);
    if ((bytes[0] ?? 0) >= 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
    return der(0x02, bytes);
  };
  return der(0x30, Buffer.concat([integer(r), integer(s)]));
}

/** Whether Node's OpenSSL has the SM2 curve and SM3 at all. */
export function sm2Supported(): boolean {
  try {
    createHash('sm3');
    createECDH('SM2');
    return true;
  } catch {
    return false;
  }
}

/** A freshly generated SM2 key pair on OpenSSL's generator, returned as our key. */
export function generateSm2PrivateKey(): Sm2PrivateKey {
  // OpenSSL draws the scalar; our own type re-derives the public key from it.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'SM2' });
  const pemText = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = Sm2PrivateKey.fromPem(pemText);
  return key ?? Sm2PrivateKey.generate();
}

function der(tag: number, value: Buffer): Buffer {
  const length = value.length;
  const header =
    length < 0x80
      ? Buffer.of(tag, length)
      : length < 0x100
        ? Buffer.of(tag, 0x81, length)
        : Buffer.of(tag, 0x82, length >> 8, length & 0xff);
  return Buffer.concat([header, value]);
}

/** The DER elements one after another in `input` (definite lengths only). */
function readDer(input: Buffer): { tag: number; value: Buffer }[] {
  const elements: { tag: number; value: Buffer }[] = [];
  let offset = 0;
  while (offset + 2 <= input.length) {
    const tag = input[offset] as number;
    let length = input[offset + 1] as number;
    offset += 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3 || offset + count > input.length) break;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (input[offset + i] as number);
      offset += count;
    }
    if (offset + length > input.length) break;
    elements.push({ tag, value: input.subarray(offset, offset + length) });
    offset += length;
  }
  return elements;
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** (r, s) from DER SEQUENCE { r INTEGER, s INTEGER }; undefined when it is not exactly that. */
export function signatureFromDer(encoded: Uint8Array): { r: bigint; s: bigint } | undefined {
  const bytes = Buffer.from(encoded);
  const [sequence, ...rest] = readDer(bytes);
  if (sequence?.tag !== 0x30 || rest.length > 0 || sequence.value.length + 2 > bytes.length) return undefined;
  const integers = readDer(sequence.value);
  const [r, s] = integers;
  if (integers.length !== 2 || r?.tag !== 0x02 || s?.tag !== 0x02) return undefined;
  if (r.value.length > 33 || s.value.length > 33) return undefined;
  return { r: toBigInt(r.value), s: toBigInt(s.value) };
}

export interface Sm2Options {
  /** The signer's distinguishing ID. Default `1234567812345678`. */
  id?: string;
  /** `der` (default): ASN.1 SEQUENCE of r and s; `raw`: r ‖ s, 32 bytes each. */
  format?: 'der' | 'raw';
}

function privateKeyOf(key: KeyObject | string): Sm2PrivateKey {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.type !== 'private') throw new TypeError('sm2: expected an SM2 private key');
  const ours = Sm2PrivateKey.fromPem(object.export({ type: 'pkcs8', format: 'pem' }).toString());
  if (!ours) throw new TypeError('sm2: the private key is not an SM2 (EC, curve SM2) key');
  return ours;
}

function publicKeyOf(key: KeyObject | string): Sm2PublicKey {
  // A private key (object or PEM) stands for its public half.
  const object = typeof key === 'string' || key.type === 'private' ? createPublicKey(key) : key;
  const spki = object.export({ type: 'spki', format: 'der' });
  const ours = Sm2PublicKey.fromSpkiDer(spki);
  if (!ours) throw new TypeError('sm2: the public key is not an SM2 (EC, curve SM2) key');
  return ours;
}

const messageBytes = (message: string | Uint8Array) =>
  typeof message === 'string' ? Buffer.from(message, 'utf8') : message;

/** Z_A of GB/T 32918.2 for a Node key object or PEM: SM3 over the ID and the curve and key parameters. */
export function sm2UserHash(publicKey: KeyObject | string, id: string = SM2_DEFAULT_ID): Buffer {
  return publicKeyOf(publicKey).z(id);
}

/** Signs `message` with an SM2 private key (KeyObject or PEM) and the signer's ID (request signing). */
export function sm2Sign(
  message: string | Uint8Array,
  privateKey: KeyObject | string,
  options: Sm2Options = {},
): Buffer {
  const signature = privateKeyOf(privateKey).sign(messageBytes(message), options.id ?? SM2_DEFAULT_ID);
  return options.format === 'raw' ? signatureToRaw(signature) : signatureToDer(signature);
}

/** Whether `signature` is an SM2 signature of `message` by the holder of `publicKey` with that ID. */
export function sm2Verify(
  message: string | Uint8Array,
  signature: Uint8Array,
  publicKey: KeyObject | string,
  options: Sm2Options = {},
): boolean {
  const decoded = options.format === 'raw' ? signatureFromRaw(signature) : signatureFromDer(signature);
  if (!decoded) return false;
  return sm2VerifySignature(publicKeyOf(publicKey), messageBytes(message), decoded, options.id ?? SM2_DEFAULT_ID);
}
