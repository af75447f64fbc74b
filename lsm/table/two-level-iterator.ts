/**
 * Iterates a table as two levels: an index iterator whose values are block handles, and, for the index
 * entry under the cursor, an iterator over that data block. Empty data blocks are skipped in either
 * direction. The data iterator is kept when the index moves to the same handle again (seeks within one
 * block re-use the decoded block).
 */
import type { InternalIterator } from '../iterator.js';

/** Opens the data iterator for an index value (an encoded block handle). Table implements it. */
export interface DataBlockSource {
  dataIterator(indexValue: Uint8Array): InternalIterator;
}

export class TwoLevelIterator implements InternalIterator {
  private data: InternalIterator | null = null;
  /** Copy of the index value `data` was opened from. */
  private dataHandle: Buffer = Buffer.allocUnsafe(32);
  private dataHandleLen = -1;

  constructor(
    private readonly index: InternalIterator,
    private readonly source: DataBlockSource,
  ) {}

  valid(): boolean {
    return this.data !== null && this.data.valid();
  }

  key(): Uint8Array {
    if (this.data === null) throw new Error('iterator is not valid');
    return this.data.key();
  }

  value(): Uint8Array {
    if (this.data === null) throw new Error('iterator is not valid');
    return this.data.value();
  }

  seek(target: Uint8Array): void {
    this.index.seek(target);
    this.initDataBlock();
    this.data?.seek(target);
    this.skipEmptyForward();
  }

  seekToFirst(): void {
    this.index.seekToFirst();
    this.initDataBlock();
    this.data?.seekToFirst();
    this.skipEmptyForward();
  }

  seekToLast(): void {
    this.index.seekToLast();
    this.initDataBlock();
    this.data?.seekToLast();
    this.skipEmptyBackward();
  }

  next(): void {
    if (!this.valid()) throw new Error('iterator is not valid');
    this.data!.next();
    this.skipEmptyForward();
  }

  prev(): void {
    if (!this.valid()) throw new Error('iterator is not valid');
    this.data!.prev();
    this.skipEmptyBackward();
  }

  private skipEmptyForward(): void {
    while (this.data === null || !this.data.valid()) {
      if (!this.index.valid()) {
        this.data = null;
        return;
      }
      this.index.next();
      this.initDataBlock();
      this.data?.seekToFirst();
    }
  }

  private skipEmptyBackward(): void {
    while (this.data === null || !this.data.valid()) {
      if (!this.index.valid()) {
        this.data = null;
        return;
      }
      this.index.prev();
      this.initDataBlock();
      this.data?.seekToLast();
    }
  }

  private initDataBlock(): void {
    if (!this.index.valid()) {
      this.data = null;
      return;
    }
    const handle = this.index.value();
    const n = handle.length;
    if (this.data !== null && n === this.dataHandleLen && this.dataHandle.compare(handle, 0, n, 0, n) === 0) {
      return; // same block: keep its iterator
    }
    this.data = null; // stays null if opening the block throws
    this.data = this.source.dataIterator(handle);
    if (n > this.dataHandle.length) this.dataHandle = Buffer.allocUnsafe(n);
    this.dataHandle.set(handle);
    this.dataHandleLen = n;
  }
}
