/**
 * xxHash32 (Yann Collet, https://github.com/Cyan4973/xxHash, spec in doc/xxhash_spec.md), the hash that
 * maps keys to partitions. Chosen because it is fast, has a public specification and implementations in
 * every common language, so a client in another language can compute a key's partition itself:
 *
 *   partition = floor(xxh32(key bytes, seed 0) * P / 2^32)      (see ring.ts `partitionOf`)
 *
 * Strings are hashed as their UTF-8 bytes. Reference values (test/cluster/hash.test.ts checks them):
 *   xxh32("", 0)    = 0x02cc5d05        xxh32("a", 0)   = 0x550d7456
 *   xxh32("abc", 0) = 0x32d153ff        xxh32("Nobody inspects the spammish repetition", 0) = 0xe2293b2f
 * plus the sanity-buffer values of the reference test program (xxhsum's sanity check).
 *
 * All arithmetic is on unsigned 32-bit values: Math.imul for the multiplications, `>>> 0` to stay unsigned.
 */
const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const encoder = new TextEncoder();

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, PRIME2)) | 0;
  return Math.imul(rotl(acc, 13), PRIME1);
}

function readU32(b: Uint8Array, i: number): number {
  // Little-endian, as the specification requires regardless of the platform.
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** xxHash32 of `input` (a string is hashed as UTF-8) with a 32-bit seed; returns an unsigned 32-bit integer. */
export function xxh32(input: Uint8Array | string, seed = 0): number {
  const b = typeof input === 'string' ? encoder.encode(input) : input;
  const len = b.length;
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const limit = len - 16;
    while (i <= limit) {
      v1 = round(v1, readU32(b, i));
      v2 = round(v2, readU32(b, i + 4));
      v3 = round(v3, readU32(b, i + 8));
      v4 = round(v4, readU32(b, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= len) {
    h = (h + Math.imul(readU32(b, i), PRIME3)) | 0;
    h = Math.imul(rotl(h, 17), PRIME4);
    i += 4;
  }
  while (i < len) {
    h = (h + Math.imul(b[i]!, PRIME5)) | 0;
    h = Math.imul(rotl(h, 11), PRIME1);
    i++;
  }
  // Avalanche: every input bit affects every output bit.
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
