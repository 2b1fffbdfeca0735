/**
 * Random identifiers (`case_…`, `aud_…`): 12 bytes from the system's CSPRNG, base64url.
 *
 * `randomBytes(12)` per identifier cost ~30 µs of the gateway's CPU each on the case path (five
 * identifiers per case, bench:cases profile): every call goes down into OpenSSL. The bytes are
 * drawn 4 KiB at a time instead and each byte is handed out once, so the identifiers are as
 * random and as unique as before.
 */
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 12;
const pool = Buffer.alloc(4096 - (4096 % ID_BYTES));
let offset = pool.length;

/** `<prefix>_` and 12 random bytes in base64url (16 characters). */
export function newRandomId(prefix: string): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `${prefix}_${id}`;
}
