/**
 * The seal's picture (印章图像): a red round seal — a ring and a five-pointed star — drawn as a PNG
 * with a transparent background. No text: the gateway has no font to draw the seal's name in; the
 * name is in the seal data (property.name) for every verifier to show.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** Whether (x, y) is inside the polygon (even-odd rule). */
function inside(polygon: [number, number][], x: number, y: number): boolean {
  let result = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i] as [number, number];
    const [xj, yj] = polygon[j] as [number, number];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) result = !result;
  }
  return result;
}

/** Seal red (印泥红), RGB. */
const RED = [0xd7, 0x1a, 0x21] as const;

/** A `size`×`size` PNG (RGBA) of a red ring with a star in the middle. */
export function drawSealPng(size = 240): Buffer {
  const centre = size / 2;
  const outer = size * 0.48;
  const inner = size * 0.43;
  const starOuter = size * 0.2;
  const starInner = starOuter * 0.382;
  const star: [number, number][] = Array.from({ length: 10 }, (_, i) => {
    const radius = i % 2 === 0 ? starOuter : starInner;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    return [centre + radius * Math.cos(angle), centre + radius * Math.sin(angle)];
  });
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const distance = Math.hypot(px - centre, py - centre);
      if ((distance <= outer && distance >= inner) || inside(star, px, py)) {
        row.set([...RED, 0xff], 1 + x * 4);
      }
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
