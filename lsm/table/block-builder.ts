/**
 * Builds a block (data, index or metaindex) of sorted entries with prefix-compressed keys.
 *
 * Entry:    varint32 shared | varint32 nonShared | varint32 valueLength | key[shared..] | value
 * Trailer:  fixed32 restart[0] .. fixed32 restart[n-1] | fixed32 n        (little-endian)
 *
 * `shared` is the length of the prefix the key has in common with the previous key of the block. Every
 * `restartInterval` entries the prefix is reset (shared = 0) and the entry's offset is recorded as a
 * restart point, so a reader can binary-search the restart points and decode forward from one.
 * restart[0] is always 0, and an empty block is just `00 00 00 00 01 00 00 00`.
 *
 * Example, restartInterval 2, entries ("apple","1"), ("apply","2"), ("b","3"):
 *   00 05 01 'apple' '1'      offset 0  (restart)
 *   04 01 01 'y'     '2'      offset 9  (shares "appl")
 *   00 01 01 'b'     '3'      offset 14 (restart)
 *   00 00 00 00  0E 00 00 00  02 00 00 00
 */
import { putFixed32, putVarint } from '../coding.js';
import type { Comparator } from '../comparator.js';
import { InvalidArgumentError } from '../errors.js';

/** Key bytes up to this many are copied byte by byte: cheaper than creating a view for set(). */
const SHORT_COPY = 32;

export class BlockBuilder {
  private buf: Buffer;
  private pos = 0;
  private restarts: number[] = [0];
  private counter = 0; // entries since the last restart
  private last: Buffer = Buffer.allocUnsafe(64);
  private lastLen = 0;
  private entries = 0;
  private finished = false;

  constructor(readonly restartInterval = 16, initialCapacity = 4096) {
    if (!Number.isInteger(restartInterval) || restartInterval < 1) {
      throw new InvalidArgumentError(`restartInterval must be a positive integer, got ${restartInterval}`);
    }
    this.buf = Buffer.allocUnsafe(Math.max(64, initialCapacity + 256));
  }

  /** Appends an entry. Keys must be added in increasing order (the table builder checks the order). */
  add(key: Uint8Array, value: Uint8Array): void {
    if (this.finished) throw new InvalidArgumentError('add() after finish() without reset()');
    let shared = 0;
    if (this.entries === 0) {
      // restart[0] = 0 is already recorded; the previous block's last key is not a prefix source.
    } else if (this.counter < this.restartInterval) {
      const max = Math.min(this.lastLen, key.length);
      const last = this.last;
      while (shared < max && last[shared] === key[shared]) shared++;
    } else {
      this.restarts.push(this.pos);
      this.counter = 0;
    }
    const nonShared = key.length - shared;
    this.reserve(15 + nonShared + value.length);
    const buf = this.buf;
    let p = this.pos;
    // Single-byte varints are the common case; putVarint handles the rest.
    if (shared < 0x80 && nonShared < 0x80 && value.length < 0x80) {
      buf[p] = shared;
      buf[p + 1] = nonShared;
      buf[p + 2] = value.length;
      p += 3;
    } else {
      p = putVarint(buf, p, shared);
      p = putVarint(buf, p, nonShared);
      p = putVarint(buf, p, value.length);
    }
    if (nonShared <= SHORT_COPY) {
      for (let i = shared; i < key.length; i++) buf[p++] = key[i]!;
    } else {
      buf.set(shared === 0 ? key : key.subarray(shared), p);
      p += nonShared;
    }
    buf.set(value, p);
    this.pos = p + value.length;
    this.setLast(key, shared);
    this.counter++;
    this.entries++;
  }

  /** Appends the restart array and returns the block contents: a view valid until the next reset(). */
  finish(): Buffer {
    if (!this.finished) {
      const n = this.restarts.length;
      this.reserve(4 * (n + 1));
      for (let i = 0; i < n; i++) putFixed32(this.buf, this.pos + 4 * i, this.restarts[i]!);
      putFixed32(this.buf, this.pos + 4 * n, n);
      this.pos += 4 * (n + 1);
      this.finished = true;
    }
    return this.buf.subarray(0, this.pos);
  }

  /** Starts a new, empty block. The last key added stays readable through lastKey(). */
  reset(): void {
    this.pos = 0;
    this.restarts.length = 0;
    this.restarts.push(0);
    this.counter = 0;
    this.entries = 0;
    this.finished = false;
  }

  /** The size finish() would return now: what the table builder compares with its block size. */
  currentSizeEstimate(): number {
    return this.finished ? this.pos : this.pos + 4 * (this.restarts.length + 1);
  }

  get numEntries(): number {
    return this.entries;
  }

  empty(): boolean {
    return this.entries === 0;
  }

  /** comparator's order of key against the last key added, without creating a view where it can. */
  compareWithLast(comparator: Comparator, key: Uint8Array): number {
    if (comparator.compareRange !== undefined) return comparator.compareRange(key, 0, key.length, this.last, 0, this.lastLen);
    return comparator.compare(key, this.lastKey());
  }

  /** The last key added (kept across reset()); a view valid until the next add(). */
  lastKey(): Buffer {
    return this.last.subarray(0, this.lastLen);
  }

  private setLast(key: Uint8Array, shared: number): void {
    if (key.length > this.last.length) {
      const grown = Buffer.allocUnsafe(Math.max(key.length, 2 * this.last.length));
      this.last.copy(grown, 0, 0, shared);
      this.last = grown;
    }
    // The first `shared` bytes are already equal.
    const last = this.last;
    if (key.length - shared <= SHORT_COPY) for (let i = shared; i < key.length; i++) last[i] = key[i]!;
    else last.set(shared === 0 ? key : key.subarray(shared), shared);
    this.lastLen = key.length;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.pos + n, 2 * this.buf.length));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
