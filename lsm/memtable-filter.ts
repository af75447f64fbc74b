/**
 * A Bloom filter over the user keys in a memtable. Most point reads look for a key the memtable does
 * not hold (it holds the last few MiB of writes), and the skiplist search that says so walks ~20
 * levels of nodes spread over the arena: about 4 µs of cache misses per memtable at 1M keys. One
 * hash and a few bit probes answer "not here" first. (RocksDB's memtable whole-key filtering does the
 * same.) In memory only: a memtable's filter is rebuilt as the WAL is replayed.
 *
 * The size is fixed when the memtable is created (a share of the write buffer), so bits per key fall
 * as the memtable fills with small entries; at 16-byte keys and 100-byte values the default share
 * gives ~15 bits per key, a false-positive rate well under 1%. A false positive costs the search it
 * would have cost anyway; there are never false negatives.
 */
import { bloomHash } from './bloom.js';

/** Probes per key: near the best for 8-16 bits per key. */
const PROBES = 6;

export class MemtableFilter {
  private readonly words: Uint32Array;
  private readonly mask: number;

  /** @param bytes the filter's size, rounded up to a power of two (at least 64 bytes) */
  constructor(bytes: number) {
    let words = 16;
    while (words * 4 < bytes && words < 1 << 26) words *= 2;
    this.words = new Uint32Array(words);
    this.mask = words * 32 - 1;
  }

  /** Adds the key key[start, end). */
  add(key: Uint8Array, start: number, end: number): void {
    const words = this.words;
    let h = bloomHash(key, start, end);
    const delta = (h >>> 17) | (h << 15);
    for (let j = 0; j < PROBES; j++) {
      const bit = h & this.mask;
      words[bit >>> 5]! |= 1 << (bit & 31);
      h = (h + delta) | 0;
    }
  }

  /** False only if key[start, end) was never added. */
  mayContain(key: Uint8Array, start: number, end: number): boolean {
    const words = this.words;
    let h = bloomHash(key, start, end);
    const delta = (h >>> 17) | (h << 15);
    for (let j = 0; j < PROBES; j++) {
      const bit = h & this.mask;
      if ((words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      h = (h + delta) | 0;
    }
    return true;
  }

  get byteLength(): number {
    return this.words.byteLength;
  }
}
