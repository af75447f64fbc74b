/**
 * Open tables by file number, through an LRU cache of at most `maxOpenFiles` tables (charge 1 each).
 * An evicted table's file is closed once nobody holds it: readers acquire() a handle and release() it
 * when done (a point lookup within one synchronous step, an iterator when it closes), so a table in use
 * is never closed under them. All tables share one block cache, charged in bytes and keyed by
 * (file number, block offset).
 */
import { BlockCache } from './block-cache.js';
import type { CacheHandle } from './cache.js';
import { LRUCache } from './cache.js';
import type { Comparator } from './comparator.js';
import { joinPath, type FileSystem } from './env.js';
import { tableFileName } from './filename.js';
import type { Logger } from './options.js';
import { Table, type TableOptions } from './table/table.js';

export interface TableCacheOptions {
  fs: FileSystem;
  dir: string;
  comparator: Comparator;
  filterKeyLength: (key: Uint8Array) => number;
  maxOpenFiles: number;
  blockCacheSize: number;
  verifyChecksums: boolean;
  logger: Logger;
}

export type TableHandle = CacheHandle<Table>;

const NS = 0;

/** Tables up to this size are opened on the reading thread when a point read needs them (~0.4 ms). */
const MAX_SYNC_OPEN_SIZE = 8 << 20;

export class TableCache {
  readonly blockCache: BlockCache;
  private readonly tables: LRUCache<Table>;
  private readonly opening = new Map<number, Promise<Table>>();

  constructor(private readonly o: TableCacheOptions) {
    this.blockCache = new BlockCache(o.blockCacheSize);
    this.tables = new LRUCache<Table>(o.maxOpenFiles, {
      onEvict: (table) => {
        table.close().catch((err: unknown) => o.logger.warn('closing a table failed', { file: table.fileName, err: String(err) }));
      },
    });
  }

  /**
   * The table, pinned, if it is open already or is small enough to open on this thread: its index and
   * filter (~3% of it) are read and checked here, ~0.1 ms for a 2 MiB table, where an open through
   * the thread pool held the read for milliseconds while compactions kept the pool busy. undefined if
   * it must be opened with acquire(): a big table, or one being opened already. Throws what opening
   * throws.
   */
  tryAcquire(number: number, fileSize: number): TableHandle | undefined {
    const h = this.tables.acquire(NS, number);
    if (h !== undefined || fileSize > MAX_SYNC_OPEN_SIZE || this.opening.has(number)) return h;
    const path = joinPath(this.o.dir, tableFileName(number));
    const file = this.o.fs.openRandomAccessSync(path);
    let table: Table;
    try {
      table = Table.openSync(file, path, this.tableOptions(number));
    } catch (err) {
      file.close().catch(() => {});
      throw err;
    }
    return this.tables.insertAndAcquire(NS, number, table, 1);
  }

  /** Opens the table if need be and pins it; give it back with release(). */
  async acquire(number: number): Promise<TableHandle> {
    for (;;) {
      const h = this.tables.acquire(NS, number);
      if (h !== undefined) return h;
      const pending = this.opening.get(number);
      if (pending !== undefined) {
        await pending; // then look again: the opener has inserted it
        continue;
      }
      const p = this.open(number);
      this.opening.set(number, p);
      try {
        const table = await p;
        return this.tables.insertAndAcquire(NS, number, table, 1);
      } finally {
        this.opening.delete(number);
      }
    }
  }

  release(handle: TableHandle): void {
    this.tables.release(handle);
  }

  /** Forgets a table whose file is being deleted: closes it once unused, drops its cached blocks. */
  evict(number: number): void {
    this.tables.erase(NS, number);
    this.blockCache.eraseNamespace(number);
  }

  /** Closes every table not in use (all of them once every reader has released its handles). */
  close(): void {
    this.tables.clear();
    this.blockCache.clear();
  }

  private async open(number: number): Promise<Table> {
    const path = joinPath(this.o.dir, tableFileName(number));
    const file = await this.o.fs.openRandomAccess(path);
    try {
      return await Table.open(file, path, this.tableOptions(number));
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
  }

  private tableOptions(number: number): TableOptions {
    return {
      comparator: this.o.comparator,
      filterKeyLength: this.o.filterKeyLength,
      blockCache: this.blockCache,
      cacheId: number,
      verifyChecksums: this.o.verifyChecksums,
    };
  }
}
