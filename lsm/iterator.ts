/**
 * The engine's internal iterator: positioned over sorted (key, value) entries. Memtable, block, table,
 * two-level and merging iterators all implement it, and one shared test suite checks each against a
 * sorted model (test/lsm/iterator-suite.ts).
 *
 * It is synchronous on purpose: memtable and cached blocks answer without a thread-pool hop, and a
 * block that is not cached is read with a synchronous positioned read (a page-cache hit costs
 * microseconds). The DB's public async iterator wraps it and yields to the event loop between pages.
 *
 * key() and value() may return views into internal buffers: valid until the iterator moves; copy to keep.
 * Errors (corruption, I/O) are thrown from the method that hit them.
 */
export interface InternalIterator {
  valid(): boolean;
  seekToFirst(): void;
  seekToLast(): void;
  /** Positions at the first entry with key >= target (per the iterator's comparator). */
  seek(target: Uint8Array): void;
  next(): void;
  prev(): void;
  key(): Uint8Array;
  value(): Uint8Array;
}

/** An iterator over nothing. */
export const emptyIterator: InternalIterator = {
  valid: () => false,
  seekToFirst() {},
  seekToLast() {},
  seek() {},
  next() {},
  prev() {},
  key: () => {
    throw new Error('iterator is not valid');
  },
  value: () => {
    throw new Error('iterator is not valid');
  },
};
