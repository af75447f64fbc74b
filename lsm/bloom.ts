/**
 * Bloom filter policy: one filter per table ("full filter"), built over every key of the table.
 *
 * LevelDB writes one filter per 2 KiB of data-block offsets and looks the right one up through the
 * block handle; a single filter for the whole table is simpler, needs no filter index, and a lookup is
 * one hash and k probes before any index or data block is touched. Tables are small (a few MiB), so
 * the filter (bitsPerKey/8 bytes a key) stays small and is loaded once at table open.
 *
 * Filter bytes (a durable format):
 *   [0 .. m/8)   bit array, m = max(64, n * bitsPerKey) rounded up to a multiple of 8;
 *                bit i is (byte i>>3) & (1 << (i&7))
 *   [m/8]        k, the number of probes, 1..30 (values above 30 are reserved: such a filter matches
 *                everything, so a future encoding degrades to "no filter", never to false negatives)
 *
 * Hash: MurmurHash3 x86_32 (Austin Appleby, public domain) of the key bytes with seed 0x9747b28c.
 * Test vector: murmur3("The quick brown fox jumps over the lazy dog", 0x9747b28c) = 0x2fa826cd.
 * Probes use double hashing from that one 32-bit hash h (Kirsch & Mitzenmacher): with
 * delta = h rotated right by 17 bits, probe j (0 <= j < k) tests bit ((h + j*delta) mod 2^32) mod m.
 *
 * k = round(bitsPerKey * ln 2) clamped to 1..30 minimises the false-positive rate
 * (1 - e^(-k n / m))^k: about 0.8% at 10 bits per key (k = 7).
 */
import { InvalidArgumentError } from './errors.js';

export const BLOOM_SEED = 0x9747b28c;
/** The policy's name, recorded with every filter it writes. */
export const BLOOM_POLICY_NAME = 'mydatastore.bloom1';

/** MurmurHash3 x86_32 of data[start, end). */
export function bloomHash(data: Uint8Array, start = 0, end = data.length, seed = BLOOM_SEED): number {
  let h = seed | 0;
  let i = start;
  const blocksEnd = start + ((end - start) & ~3);
  for (; i < blocksEnd; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = end - i;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[i + 2]! << 16;
    if (rest >= 2) k ^= data[i + 1]! << 8;
    k ^= data[i]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= end - start;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** True if the filter may hold a key whose bloomHash is `hash`; false means certainly absent. */
export function bloomMayContainHash(filter: Uint8Array, hash: number): boolean {
  const len = filter.length;
  if (len < 2) return true; // not a filter we wrote: do not exclude anything
  const k = filter[len - 1]!;
  if (k > 30) return true; // reserved for other encodings
  const bits = (len - 1) * 8;
  let h = hash >>> 0;
  const delta = ((h >>> 17) | (h << 15)) >>> 0;
  for (let j = 0; j < k; j++) {
    const bit = h % bits;
    if ((filter[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    h = (h + delta) >>> 0;
  }
  return true;
}

export function bloomMayContain(filter: Uint8Array, key: Uint8Array): boolean {
  return bloomMayContainHash(filter, bloomHash(key));
}

export class BloomFilterPolicy {
  /** Stored in the table's metaindex ("filter." + name): a table with another policy's filter ignores it. */
  readonly name = BLOOM_POLICY_NAME;
  readonly k: number;

  constructor(readonly bitsPerKey = 10) {
    if (!(bitsPerKey > 0) || !Number.isFinite(bitsPerKey)) {
      throw new InvalidArgumentError(`bitsPerKey must be a positive number, got ${bitsPerKey}`);
    }
    this.k = Math.min(30, Math.max(1, Math.round(bitsPerKey * Math.LN2)));
  }

  /** The filter for `keys` (duplicates are harmless). */
  build(keys: readonly Uint8Array[]): Buffer {
    const hashes = new Uint32Array(keys.length);
    for (let i = 0; i < keys.length; i++) hashes[i] = bloomHash(keys[i]!);
    return this.buildFromHashes(hashes, keys.length);
  }

  /** The filter for the first `count` bloomHash values in `hashes` (what TableBuilder collects). */
  buildFromHashes(hashes: Uint32Array, count = hashes.length): Buffer {
    let bits = Math.max(64, Math.ceil(count * this.bitsPerKey));
    const bytes = Math.ceil(bits / 8);
    bits = bytes * 8;
    const filter = Buffer.alloc(bytes + 1);
    filter[bytes] = this.k;
    const k = this.k;
    for (let i = 0; i < count; i++) {
      let h = hashes[i]!;
      const delta = ((h >>> 17) | (h << 15)) >>> 0;
      for (let j = 0; j < k; j++) {
        const bit = h % bits;
        const at = bit >>> 3;
        filter[at] = filter[at]! | (1 << (bit & 7));
        h = (h + delta) >>> 0;
      }
    }
    return filter;
  }

  mayContain(filter: Uint8Array, key: Uint8Array): boolean {
    return bloomMayContainHash(filter, bloomHash(key));
  }
}
