/**
 * IndexedDB's three iterators, thin wrappers over the engine's DBIterator:
 * - PrimaryIterator yields [key, value] of primary records, the namespace byte stripped;
 * - IndexIterator yields { indexKey, key, value } of one index: it walks the index's entries and reads
 *   each entry's primary record, both at one snapshot. Index entries and their records are written in
 *   one batch, so at any snapshot an entry's record exists and is the one that produced it.
 * - CoverIterator yields { indexKey, key, cover } of a covering index: the entries alone, no record read.
 * All close (and free what they pin, the index iterator's own snapshot too) at their end, on close(),
 * and on a `break` out of `for await`.
 */
import type { DB } from './db.js';
import type { DBIterator } from './db-iterator.js';
import { CorruptionError } from './errors.js';
import { decodeIndexEntryKey, encodePrimaryKey } from './index-format.js';
import type { Snapshot } from './snapshot.js';

export interface IndexEntry {
  /** One of the keys the index function returned for this record. */
  indexKey: Buffer;
  /** The primary key and the record's value at the iterator's snapshot. */
  key: Buffer;
  value: Buffer;
}

export interface CoverEntry {
  indexKey: Buffer;
  key: Buffer;
  /** What the index's cover function returned for the record (lsm/indexed-db.ts, CoveringIndex). */
  cover: Buffer;
}

export class PrimaryIterator implements AsyncIterableIterator<[Buffer, Buffer]> {
  /** @internal created by IndexedDB.iterator() */
  constructor(private readonly inner: DBIterator) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<[Buffer, Buffer]>> {
    const r = await this.inner.next();
    if (r.done === true) return r;
    return { done: false, value: [r.value[0].subarray(1), r.value[1]] };
  }

  async return(): Promise<IteratorResult<[Buffer, Buffer]>> {
    await this.inner.close();
    return { done: true, value: undefined };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class IndexIterator implements AsyncIterableIterator<IndexEntry> {
  private closed = false;

  /**
   * @internal created by IndexedDB.indexIterator(). `ownSnapshot`: the iterator took the snapshot
   * itself and releases it when it closes (a caller's snapshot is left to the caller).
   */
  constructor(
    private readonly db: DB,
    private readonly inner: DBIterator,
    private readonly prefix: Buffer,
    private readonly snapshot: Snapshot,
    private readonly ownSnapshot: boolean,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<IndexEntry>> {
    try {
      const r = await this.inner.next();
      if (r.done === true) {
        await this.close();
        return { done: true, value: undefined };
      }
      const { indexKey, key } = decodeIndexEntryKey(this.prefix, r.value[0]);
      const value = await this.db.get(encodePrimaryKey(key), { snapshot: this.snapshot });
      if (value === undefined) throw new CorruptionError(`index entry for missing record ${key.toString('hex').slice(0, 80)}`);
      return { done: false, value: { indexKey, key, value } };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async return(): Promise<IteratorResult<IndexEntry>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** Frees what the iterator pinned. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inner.close();
    if (this.ownSnapshot) this.snapshot.release();
  }
}

export class CoverIterator implements AsyncIterableIterator<CoverEntry> {
  /** @internal created by IndexedDB.coverIterator() */
  constructor(
    private readonly inner: DBIterator,
    private readonly prefix: Buffer,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<CoverEntry>> {
    try {
      const r = await this.inner.next();
      if (r.done === true) return r;
      const { indexKey, key } = decodeIndexEntryKey(this.prefix, r.value[0]);
      return { done: false, value: { indexKey, key, cover: r.value[1] } };
    } catch (err) {
      await this.inner.close();
      throw err;
    }
  }

  /**
   * Up to `size` entries at once, fewer only at the end (then [] from there on): a scan's fast path,
   * one promise per page instead of one per entry.
   */
  async nextv(size: number): Promise<CoverEntry[]> {
    try {
      const page = await this.inner.nextv(size);
      const out: CoverEntry[] = [];
      for (const [entryKey, cover] of page) {
        const { indexKey, key } = decodeIndexEntryKey(this.prefix, entryKey);
        out.push({ indexKey, key, cover });
      }
      return out;
    } catch (err) {
      await this.inner.close();
      throw err;
    }
  }

  async return(): Promise<IteratorResult<CoverEntry>> {
    await this.inner.close();
    return { done: true, value: undefined };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
