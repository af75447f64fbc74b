/**
 * The memtable: recent writes, ordered by internal key in a skiplist. Every add() copies the key and
 * value into the skiplist's arena, so callers may pass views of larger buffers (a socket's, a WAL
 * record's) and reuse them afterwards.
 */
import {
  InternalKeyComparator,
  KIND_DELETION,
  KIND_FOR_SEEK,
  KIND_VALUE,
  MAX_SEQUENCE,
  putTrailer,
  TRAILER_SIZE,
  type ValueKind,
} from './dbformat.js';
import { InvalidArgumentError } from './errors.js';
import type { InternalIterator } from './iterator.js';
import { MemtableFilter } from './memtable-filter.js';
import { SkipList, xorshiftRandom, type SkipListImage } from './skiplist.js';

export type MemtableGetResult = { kind: 'value'; value: Buffer } | { kind: 'deleted' };

const DELETED: MemtableGetResult = Object.freeze({ kind: 'deleted' });

export interface MemtableOptions {
  /** Source of skiplist node heights in [0, 1); default a fixed-seed generator (repeatable runs). */
  random?: () => number;
  /**
   * Bytes of the Bloom filter over user keys that lets get() skip the skiplist for absent keys
   * (memtable-filter.ts); 0 for none. Default 64 KiB; the DB gives writeBufferSize / 64.
   */
  filterBytes?: number;
}

const DEFAULT_FILTER_BYTES = 64 << 10;

export class Memtable {
  private list: SkipList;
  private scratch = Buffer.allocUnsafe(64);
  private readonly filter: MemtableFilter | undefined;

  constructor(
    readonly comparator: InternalKeyComparator = new InternalKeyComparator(),
    options: MemtableOptions = {},
  ) {
    this.list = new SkipList(comparator, options.random ?? xorshiftRandom());
    const filterBytes = options.filterBytes ?? DEFAULT_FILTER_BYTES;
    this.filter = filterBytes > 0 ? new MemtableFilter(filterBytes) : undefined;
  }

  /**
   * A memtable over a copy of another one's contents (Memtable.exportImage), e.g. a frozen memtable
   * handed to the background thread to be written as a table. It has no key filter.
   */
  static fromImage(image: SkipListImage, comparator: InternalKeyComparator = new InternalKeyComparator()): Memtable {
    const m = new Memtable(comparator, { filterBytes: 0 });
    m.list = SkipList.fromImage(image, comparator);
    return m;
  }

  /**
   * Copies the contents into transferable buffers (see SkipListImage), the arena into `reuse` when it
   * is large enough; the memtable is unchanged.
   */
  exportImage(reuse?: ArrayBuffer): SkipListImage {
    return this.list.exportImage(reuse);
  }

  /** Number of entries (every version of every key). */
  get count(): number {
    return this.list.count;
  }

  /** Bytes used (arena and index): the DB freezes the memtable when this passes its write-buffer size. */
  approximateMemoryUsage(): number {
    return this.list.memoryUsage() + (this.filter?.byteLength ?? 0);
  }

  /** Records that userKey was set to value (KIND_VALUE) or deleted (KIND_DELETION, value ignored) at seq. */
  add(seq: number, kind: ValueKind, userKey: Uint8Array, value: Uint8Array): void {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) {
      throw new InvalidArgumentError(`sequence number out of range: ${seq}`);
    }
    const n = this.internalKey(userKey, seq, kind);
    this.list.insert(this.scratch, n, kind === KIND_VALUE ? value : EMPTY);
    this.filter?.add(userKey, 0, userKey.length);
  }

  /**
   * add() with the key and value given as ranges of one buffer (a write batch's): the commit path
   * inserts every entry this way, without creating views.
   */
  addFrom(seq: number, kind: ValueKind, buf: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) {
      throw new InvalidArgumentError(`sequence number out of range: ${seq}`);
    }
    const klen = keyEnd - keyStart;
    const n = klen + TRAILER_SIZE;
    if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
    const scratch = this.scratch;
    if (klen <= 64) for (let i = 0; i < klen; i++) scratch[i] = buf[keyStart + i]!;
    else scratch.set(buf.subarray(keyStart, keyEnd), 0);
    putTrailer(scratch, klen, seq, kind);
    if (kind === KIND_VALUE) this.list.insert(scratch, n, buf, valueStart, valueEnd);
    else this.list.insert(scratch, n, EMPTY);
    this.filter?.add(buf, keyStart, keyEnd);
  }

  /**
   * The newest version of userKey with sequence <= snapshotSeq: its value, 'deleted', or undefined if
   * the memtable knows nothing of it (look in older data). The value is a view into the memtable's
   * arena: it stays valid as long as the memtable, and must not be written to (copy before handing it
   * to a caller who might).
   */
  get(userKey: Uint8Array, snapshotSeq: number = MAX_SEQUENCE): MemtableGetResult | undefined {
    if (this.filter !== undefined && !this.filter.mayContain(userKey, 0, userKey.length)) return undefined;
    const n = this.internalKey(userKey, snapshotSeq, KIND_FOR_SEEK);
    const node = this.list.seekGE(this.scratch, n);
    if (node === 0) return undefined;
    const buf = this.list.chunkOf(node);
    const off = this.list.keyOffset(node);
    const kend = off + this.list.keyLength(node);
    if (this.comparator.compareUserRange(buf, off, kend - TRAILER_SIZE, userKey, 0, userKey.length) !== 0) {
      return undefined;
    }
    if (buf[kend - TRAILER_SIZE] === KIND_DELETION) return DELETED;
    return { kind: 'value', value: buf.subarray(kend, kend + this.list.valueLength(node)) };
  }

  /** An iterator over internal keys (see iterator.ts); it stays usable while entries are added. */
  iterator(): InternalIterator {
    return new MemtableIterator(this.list);
  }

  /** Writes userKey ‖ trailer at the start of the reused scratch buffer; returns its length. */
  private internalKey(userKey: Uint8Array, seq: number, kind: ValueKind): number {
    const n = userKey.length + TRAILER_SIZE;
    if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
    this.scratch.set(userKey, 0);
    putTrailer(this.scratch, userKey.length, seq, kind);
    return n;
  }
}

const EMPTY = new Uint8Array(0);

class MemtableIterator implements InternalIterator {
  private node = 0;

  constructor(private readonly list: SkipList) {}

  valid(): boolean {
    return this.node !== 0;
  }

  seekToFirst(): void {
    this.node = this.list.first();
  }

  seekToLast(): void {
    this.node = this.list.last();
  }

  seek(target: Uint8Array): void {
    this.node = this.list.seekGE(target);
  }

  next(): void {
    this.check();
    this.node = this.list.next(this.node);
  }

  prev(): void {
    this.check();
    this.node = this.list.prev(this.node);
  }

  key(): Uint8Array {
    this.check();
    return this.list.key(this.node);
  }

  value(): Uint8Array {
    this.check();
    return this.list.value(this.node);
  }

  private check(): void {
    if (this.node === 0) throw new Error('iterator is not valid');
  }
}
