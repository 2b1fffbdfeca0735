import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalFields, hmacSha256Sign, sm3Hex, sm3Sign, stringToSign, verifyFieldsSignature } from './signing.js';
import { SM2_DEFAULT_ID, sm2Sign, sm2UserHash, sm2Verify } from './sm2.js';

describe('SM3 (GB/T 32905-2016 examples)', () => {
  it('hashes "abc" (example 1)', () => {
    expect(sm3Hex('abc')).toBe('66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0');
  });

  it('hashes the 64-byte "abcd"×16 (example 2)', () => {
    expect(sm3Hex('abcd'.repeat(16))).toBe('DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732');
  });
});

describe('signatures over sorted fields', () => {
  const fields = {
    method: 'mca.marriage.query',
    app_id: 'MCA-DEMO',
    timestamp: '2019-05-20 10:00:00',
    nonce: '5f0c7e',
    biz_content: '{"cert_no":"J330106-2019-000123"}',
    sign: 'IGNORED',
    empty: '',
    absent: undefined,
  };

  it('sorts by name, drops the signature field and empty values, and appends &key=', () => {
    expect(canonicalFields(fields)).toBe(
      'app_id=MCA-DEMO&biz_content={"cert_no":"J330106-2019-000123"}&method=mca.marriage.query&nonce=5f0c7e&timestamp=2019-05-20 10:00:00',
    );
    expect(stringToSign(fields, 'K')).toBe(`${canonicalFields(fields)}&key=K`);
    expect(stringToSign({}, 'K')).toBe('key=K');
    // Upper case sorts before lower case (code-unit order); another signature field name is honoured.
    expect(canonicalFields({ b: '1', B: '2', a: '3', sig: 'x' }, { signatureField: 'sig' })).toBe('B=2&a=3&b=1');
  });

  it('SM3-signs in upper-case hex: the SM3 of the exact string (vectors from `openssl dgst -sm3`)', () => {
    expect(sm3Sign({ a: '1' }, 'K')).toBe('875C314FF7207E62B9475C3EBFB03799D49CB109FC10C4017E4A72D48BC8FBC8');
    expect(sm3Sign({ b: '2', a: '1', sign: 'x' }, 'secret')).toBe(
      '67639510BEE2939151C800B32AA5F1C97903D15C74469DA673C8F79840B8C83F',
    );
  });

  it('HMAC-SHA256-signs in upper-case hex (vector from `openssl dgst -sha256 -hmac K`)', () => {
    expect(hmacSha256Sign({ b: '2', a: '1' }, 'K')).toBe(
      'E876CF830B3006382756D30BE4B2EE729C4D8DB9FEC634C7B9D33DEF40C7D604',
    );
  });

  it('verifies signatures in constant time, case-insensitively, and refuses tampering', () => {
    const signed = { ...fields, sign: sm3Sign(fields, 'K') };
    expect(verifyFieldsSignature('SM3', signed, 'K')).toBe(true);
    expect(verifyFieldsSignature('SM3', { ...signed, sign: signed.sign.toLowerCase() }, 'K')).toBe(true);
    expect(verifyFieldsSignature('SM3', { ...signed, nonce: 'other' }, 'K')).toBe(false);
    expect(verifyFieldsSignature('SM3', signed, 'other-key')).toBe(false);
    expect(verifyFieldsSignature('SM3', { ...signed, sign: undefined }, 'K')).toBe(false);
    expect(verifyFieldsSignature('SM3', { ...signed, sign: 'zz' }, 'K')).toBe(false);
    const hmac = { ...fields, sign: hmacSha256Sign(fields, 'K') };
    expect(verifyFieldsSignature('HMAC-SHA256', hmac, 'K')).toBe(true);
    expect(verifyFieldsSignature('SM3', hmac, 'K')).toBe(false);
  });
});

/** A test-only SM2 key (generated with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2`). */
const TEST_SM2_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgBNd0a3a5hKE3aHD5
YN7DrrVv0731L8IZXd/v8LnzEnihRANCAASLaCX5EgMj/gVGoXf24YjYW+o40kWm
UzFQAyeOy4mdKOa3L9DSKHKlSKVruScop2tvBK0M28mPRcg52fmLeWAH
-----END PRIVATE KEY-----`;
const TEST_SM2_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEi2gl+RIDI/4FRqF39uGI2FvqONJF
plMxUAMnjsuJnSjmty/Q0ihypUila7knKKdrbwStDNvJj0XIOdn5i3lgBw==
-----END PUBLIC KEY-----`;
const SIGNED_MESSAGE = 'app_id=MCA-DEMO&method=mca.marriage.query&nonce=5f0c7e&timestamp=2019-05-20 10:00:00';
/** `openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678` over SIGNED_MESSAGE. */
const OPENSSL_SIGNATURE =
  '3046022100b51473febed5b8413fe55f0ecf9d17224894d4c011b66c535626080484fa50b2022100f644efadcf884de1217d40f50af547dadbb6844e7819cfe232987db363ea0876';

describe('SM2 signatures with the default ID 1234567812345678', () => {
  it('verifies a signature OpenSSL made with distid 1234567812345678, and nothing else', () => {
    const signature = Buffer.from(OPENSSL_SIGNATURE, 'hex');
    expect(SM2_DEFAULT_ID).toBe('1234567812345678');
    expect(sm2Verify(SIGNED_MESSAGE, signature, TEST_SM2_PUBLIC_KEY)).toBe(true);
    expect(sm2Verify(`${SIGNED_MESSAGE}x`, signature, TEST_SM2_PUBLIC_KEY)).toBe(false);
    expect(sm2Verify(SIGNED_MESSAGE, signature, TEST_SM2_PUBLIC_KEY, { id: 'ALICE123@YAHOO.COM' })).toBe(false);
    const tampered = Buffer.from(signature);
    tampered[10] = (tampered[10] as number) ^ 1;
    expect(sm2Verify(SIGNED_MESSAGE, tampered, TEST_SM2_PUBLIC_KEY)).toBe(false);
    expect(sm2Verify(SIGNED_MESSAGE, Buffer.from('3000', 'hex'), TEST_SM2_PUBLIC_KEY)).toBe(false);
  });

  it('signs so that the signature verifies (DER and raw), differently each time (random k)', () => {
    const first = sm2Sign(SIGNED_MESSAGE, TEST_SM2_PRIVATE_KEY);
    const second = sm2Sign(SIGNED_MESSAGE, createPrivateKey(TEST_SM2_PRIVATE_KEY));
    expect(first.equals(second)).toBe(false);
    expect(sm2Verify(SIGNED_MESSAGE, first, TEST_SM2_PUBLIC_KEY)).toBe(true);
    expect(sm2Verify(SIGNED_MESSAGE, second, createPublicKey(TEST_SM2_PUBLIC_KEY))).toBe(true);
    expect(sm2Verify(SIGNED_MESSAGE, first, TEST_SM2_PUBLIC_KEY, { id: '' })).toBe(false);
    const raw = sm2Sign(SIGNED_MESSAGE, TEST_SM2_PRIVATE_KEY, { format: 'raw' });
    expect(raw).toHaveLength(64);
    expect(sm2Verify(SIGNED_MESSAGE, raw, TEST_SM2_PUBLIC_KEY, { format: 'raw' })).toBe(true);
  });

  it("agrees with Node's own SM2 (OpenSSL, empty ID) when signing with the empty ID", () => {
    // Keys Node/OpenSSL read from PEM are typed SM2 and sign with an empty distinguishing ID.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicKey = createPublicKey(createPrivateKey(pem));
    const ours = sm2Sign('abc', pem, { id: '' });
    expect(verify('sm3', Buffer.from('abc'), publicKey, ours)).toBe(true);
    expect(verify('sm3', Buffer.from('abd'), publicKey, ours)).toBe(false);
    // …and with the default ID our signature is not what an empty-ID verifier accepts.
    expect(verify('sm3', Buffer.from('abc'), publicKey, sm2Sign('abc', pem))).toBe(false);
  });

  it('computes Z_A over the ID length in bits, the ID, the curve and the public key', () => {
    const withDefault = sm2UserHash(TEST_SM2_PUBLIC_KEY);
    expect(withDefault).toHaveLength(32);
    expect(sm2UserHash(TEST_SM2_PUBLIC_KEY, SM2_DEFAULT_ID).equals(withDefault)).toBe(true);
    expect(sm2UserHash(TEST_SM2_PUBLIC_KEY, '').equals(withDefault)).toBe(false);
  });

  it('refuses keys that are not SM2 keys', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => sm2Sign('abc', privateKey)).toThrow(/SM2/);
  });
});
