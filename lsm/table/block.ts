/**
 * Reads a block written by BlockBuilder (layout in block-builder.ts). The constructor validates the
 * restart array once (blocks are cached and shared by many iterators); entries are validated as they are
 * decoded. A malformed block raises CorruptionError, never an out-of-bounds read or an endless loop:
 * every decoded entry advances by at least 3 bytes and stays inside the entry region.
 */
import type { Comparator } from '../comparator.js';
import { CorruptionError } from '../errors.js';
import type { InternalIterator } from '../iterator.js';

export class Block {
  readonly data: Buffer;
  /** Offset of the restart array: the entries occupy data[0, restartsOffset). */
  readonly restartsOffset: number;
  readonly numRestarts: number;
  /** The restart points, decoded once: iterators read them on every step and every seek probe. */
  readonly restartPoints: Uint32Array;

  /**
   * @param contents block contents without trailer (readBlock's result)
   * @param fileName, blockOffset where the block came from, for error messages
   */
  constructor(
    contents: Uint8Array,
    readonly fileName?: string,
    readonly blockOffset = 0,
  ) {
    const data = Buffer.isBuffer(contents)
      ? contents
      : Buffer.from(contents.buffer, contents.byteOffset, contents.length);
    this.data = data;
    if (data.length < 4) throw this.corruption('block too short for its restart count', 0);
    const n = data.readUInt32LE(data.length - 4);
    const maxRestarts = (data.length - 4) / 4;
    if (n === 0 || n > maxRestarts) throw this.corruption(`bad restart count ${n}`, data.length - 4);
    this.numRestarts = n;
    this.restartsOffset = data.length - 4 - 4 * n;
    // Restart points must start at 0, increase strictly and lie inside the entry region, so that binary
    // search and prev() always land on an entry boundary candidate inside the block.
    const points = new Uint32Array(n);
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const r = data.readUInt32LE(this.restartsOffset + 4 * i);
      if ((i === 0 && r !== 0) || r <= prev || (r >= this.restartsOffset && i > 0)) {
        throw this.corruption(`bad restart point ${i} (${r})`, this.restartsOffset + 4 * i);
      }
      points[i] = r;
      prev = r;
    }
    this.restartPoints = points;
  }

  /** Bytes this block holds in memory: its charge in the block cache. */
  get size(): number {
    return this.data.length + this.restartPoints.byteLength;
  }

  iterator(comparator: Comparator): BlockIterator {
    return new BlockIterator(this, comparator);
  }

  /** @internal */
  corruption(what: string, at: number): CorruptionError {
    return new CorruptionError(`corrupted block: ${what}`, this.fileName, this.blockOffset + at);
  }
}

/** Iterates a Block. key() is a view of an internal buffer (valid until the iterator moves). */
export class BlockIterator implements InternalIterator {
  private readonly data: Buffer;
  private readonly restarts: number;
  private readonly numRestarts: number;
  private readonly points: Uint32Array;
  /** compareRange is available: compare in place, without views. */
  private readonly inPlace: boolean;
  /** Offset of the current entry; `restarts` when not valid. */
  private current: number;
  /** Offset just past the current entry (where next() decodes). */
  private nextOffset: number;
  /** Index of the restart point at or before `current`. */
  private restartIndex: number;
  private keyBuf: Buffer = EMPTY;
  private keyLen = 0;
  private keyView: Buffer | undefined;
  private valueStart = 0;
  private valueLen = 0;
  // Outputs of decodeHeader(), kept in fields so decoding allocates nothing.
  private hShared = 0;
  private hNonShared = 0;
  private hValueLen = 0;

  constructor(
    private readonly block: Block,
    private readonly comparator: Comparator,
  ) {
    this.data = block.data;
    this.restarts = block.restartsOffset;
    this.numRestarts = block.numRestarts;
    this.points = block.restartPoints;
    this.inPlace = comparator.compareRange !== undefined;
    this.current = this.restarts;
    this.nextOffset = this.restarts;
    this.restartIndex = this.numRestarts;
  }

  valid(): boolean {
    return this.current < this.restarts;
  }

  key(): Buffer {
    if (this.current >= this.restarts) throw new Error('iterator is not valid');
    return (this.keyView ??= this.keyBuf.subarray(0, this.keyLen));
  }

  value(): Buffer {
    if (this.current >= this.restarts) throw new Error('iterator is not valid');
    return this.data.subarray(this.valueStart, this.valueStart + this.valueLen);
  }

  next(): void {
    if (this.current >= this.restarts) throw new Error('iterator is not valid');
    this.parseNextEntry();
  }

  prev(): void {
    if (this.current >= this.restarts) throw new Error('iterator is not valid');
    const original = this.current;
    // Back up to a restart point strictly before the current entry, then decode forward to the entry
    // just before it.
    while (this.restartPoint(this.restartIndex) >= original) {
      if (this.restartIndex === 0) {
        this.invalidate();
        return;
      }
      this.restartIndex--;
    }
    this.seekToRestart(this.restartIndex);
    while (this.parseNextEntry() && this.nextOffset < original) {
      // keep going
    }
    if (this.nextOffset !== original) {
      throw this.block.corruption('entries do not chain up to the current entry', this.current);
    }
  }

  seekToFirst(): void {
    this.seekToRestart(0);
    this.parseNextEntry();
  }

  seekToLast(): void {
    this.seekToRestart(this.numRestarts - 1);
    while (this.parseNextEntry() && this.nextOffset < this.restarts) {
      // keep going
    }
  }

  seek(target: Uint8Array): void {
    // Binary search for the last restart point whose key is < target, then scan forward from it. A
    // valid current position bounds the search (seeks often land near the previous one).
    let left = 0;
    let right = this.numRestarts - 1;
    let atCurrent = 0;
    if (this.current < this.restarts) {
      atCurrent = this.compareKey(target);
      if (atCurrent === 0) return;
      if (atCurrent < 0) left = this.restartIndex;
      else right = this.restartIndex;
    }
    const cmp = this.comparator;
    while (left < right) {
      const mid = (left + right + 1) >>> 1;
      const at = this.points[mid]!;
      const p = this.decodeHeader(at);
      if (this.hShared !== 0) throw this.block.corruption('restart entry shares a prefix', at);
      const c = this.inPlace
        ? cmp.compareRange!(this.data, p, p + this.hNonShared, target, 0, target.length)
        : cmp.compare(this.data.subarray(p, p + this.hNonShared), target);
      if (c < 0) left = mid;
      else right = mid - 1;
    }
    // Already past restart `left` and still before target: keep scanning from here.
    if (!(atCurrent < 0 && left === this.restartIndex)) this.seekToRestart(left);
    while (this.parseNextEntry()) {
      if (this.compareKey(target) >= 0) return;
    }
  }

  /** The current key compared with target. */
  private compareKey(target: Uint8Array): number {
    return this.inPlace
      ? this.comparator.compareRange!(this.keyBuf, 0, this.keyLen, target, 0, target.length)
      : this.comparator.compare(this.key(), target);
  }

  private invalidate(): void {
    this.current = this.restarts;
    this.nextOffset = this.restarts;
    this.restartIndex = this.numRestarts;
    this.keyLen = 0;
    this.keyView = undefined;
  }

  private restartPoint(i: number): number {
    return this.points[i]!;
  }

  /** Positions just before the entry at restart point i (parseNextEntry() then decodes it). */
  private seekToRestart(i: number): void {
    this.restartIndex = i;
    this.keyLen = 0;
    this.keyView = undefined;
    this.nextOffset = this.restartPoint(i);
    this.current = this.nextOffset; // transiently; parseNextEntry() sets it properly
  }

  /**
   * Decodes the three varints of the entry at `at` into hShared/hNonShared/hValueLen and returns the
   * offset of its key bytes. Checks that the whole entry fits in the entry region.
   */
  private decodeHeader(at: number): number {
    const data = this.data;
    const limit = this.restarts;
    let p = at;
    if (p + 3 <= limit) {
      const a = data[p]!;
      const b = data[p + 1]!;
      const c = data[p + 2]!;
      if ((a | b | c) < 0x80) {
        this.hShared = a;
        this.hNonShared = b;
        this.hValueLen = c;
        p += 3;
        if (p + b + c > limit) throw this.block.corruption('entry runs past the restart array', at);
        return p;
      }
    }
    let v = 0;
    for (let field = 0; field < 3; field++) {
      let shift = 0;
      let result = 0;
      for (;;) {
        if (p >= limit || shift > 28) throw this.block.corruption('bad varint in entry header', at);
        const byte = data[p++]!;
        result += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) break;
        shift += 7;
      }
      if (field === 0) this.hShared = result;
      else if (field === 1) this.hNonShared = result;
      else v = result;
    }
    this.hValueLen = v;
    if (p + this.hNonShared + v > limit) throw this.block.corruption('entry runs past the restart array', at);
    return p;
  }

  /** Decodes the entry at nextOffset; returns false (and invalidates) at the end of the block. */
  private parseNextEntry(): boolean {
    const at = this.nextOffset;
    if (at >= this.restarts) {
      this.invalidate();
      return false;
    }
    this.current = at;
    const p = this.decodeHeader(at);
    const shared = this.hShared;
    const nonShared = this.hNonShared;
    if (shared > this.keyLen) throw this.block.corruption('entry shares more than the previous key', at);
    const keyLen = shared + nonShared;
    if (keyLen > this.keyBuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(keyLen, 2 * this.keyBuf.length, 32));
      this.keyBuf.copy(grown, 0, 0, shared);
      this.keyBuf = grown;
    }
    const kb = this.keyBuf;
    const data = this.data;
    if (nonShared <= 32) {
      for (let i = 0; i < nonShared; i++) kb[shared + i] = data[p + i]!;
    } else {
      data.copy(kb, shared, p, p + nonShared);
    }
    this.keyLen = keyLen;
    this.keyView = undefined;
    this.valueStart = p + nonShared;
    this.valueLen = this.hValueLen;
    this.nextOffset = this.valueStart + this.valueLen;
    while (this.restartIndex + 1 < this.numRestarts && this.points[this.restartIndex + 1]! <= at) {
      this.restartIndex++;
    }
    return true;
  }
}

const EMPTY = Buffer.alloc(0);
