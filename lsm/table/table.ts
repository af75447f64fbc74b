/**
 * An open SSTable: footer, index block and filter are read once at open; data blocks are read on demand
 * with synchronous positioned reads, through the block cache when one is given.
 *
 * Checksums of the footer, index, metaindex and filter blocks are always verified (once per open);
 * data blocks are verified when read from the file if `verifyChecksums` (default true: a flipped bit
 * must never come back as data). Blocks found in the cache were verified when they were read.
 */
import { bloomHash, bloomMayContainHash } from '../bloom.js';
import type { BlockCache } from '../block-cache.js';
import { bytewiseComparator, type Comparator } from '../comparator.js';
import type { RandomAccessFile } from '../env.js';
import { CorruptionError, InvalidArgumentError } from '../errors.js';
import type { InternalIterator } from '../iterator.js';
import { Block, type BlockIterator } from './block.js';
import {
  type BlockHandle,
  decodeBlockHandle,
  decodeFooter,
  type Footer,
  FOOTER_SIZE,
  readBlock,
  readBlockAsync,
} from './format.js';
import { FILTER_BLOCK_NAME } from './table-builder.js';
import { ReadaheadFile } from './readahead-file.js';
import { TwoLevelIterator, type DataBlockSource } from './two-level-iterator.js';

export interface TableOptions {
  comparator: Comparator;
  /**
   * Must be the function the table was built with (the DB always passes the same one): probing a
   * filter of user keys with whole keys would answer "absent" for keys that are there.
   */
  filterKeyLength?: (key: Uint8Array) => number;
  /** Shared block cache, charged in bytes. */
  blockCache?: BlockCache;
  /**
   * Namespace of this table's blocks in the cache. Pass something unique and stable (the file
   * number, >= 0) so blocks survive the table being closed and reopened; default blockCache.newId().
   */
  cacheId?: number;
  /** Verify data block checksums on reads from the file (default true). */
  verifyChecksums?: boolean;
  /** Ignore the table's filter (for tests and benchmarks). */
  ignoreFilter?: boolean;
}

/** Counters a test or benchmark can read; they only grow. */
export interface TableStats {
  /** Lookups that consulted the bloom filter. */
  filterChecks: number;
  /** Lookups the filter answered "absent" without touching a block. */
  filterNegatives: number;
  /** Data blocks read from the file. */
  blockReads: number;
  /** Data blocks found in the block cache. */
  blockCacheHits: number;
}

/** An entry found by Table.get(): views that stay valid (the block is immutable). */
export interface TableEntry {
  key: Buffer;
  value: Buffer;
}

export class Table implements DataBlockSource {
  readonly stats: TableStats = { filterChecks: 0, filterNegatives: 0, blockReads: 0, blockCacheHits: 0 };
  private readonly comparator: Comparator;
  private readonly filterKeyLength: ((key: Uint8Array) => number) | undefined;
  private readonly cache: BlockCache | undefined;
  private readonly cacheId: number;
  private readonly verifyChecksums: boolean;
  private readonly scratch = { offset: 0, size: 0 };
  /** Index iterator reused by get() and approximateOffsetOf(): both finish with it synchronously. */
  private readonly indexIter: BlockIterator;

  private constructor(
    readonly file: RandomAccessFile,
    readonly fileName: string,
    readonly footer: Footer,
    readonly indexBlock: Block,
    readonly filter: Buffer | undefined,
    options: TableOptions,
  ) {
    this.comparator = options.comparator;
    this.filterKeyLength = options.filterKeyLength;
    this.cache = options.blockCache;
    this.cacheId = options.cacheId ?? this.cache?.newId() ?? 0;
    this.verifyChecksums = options.verifyChecksums ?? true;
    this.indexIter = indexBlock.iterator(options.comparator);
  }

  /**
   * Reads footer, index and filter (asynchronously: they can be large). Throws CorruptionError if the
   * file is not a sound table (the caller still owns and closes `file` then). Once open, the Table
   * owns `file`: close() closes it.
   */
  static async open(file: RandomAccessFile, fileName: string, options: TableOptions): Promise<Table> {
    const footerAt = checkOpen(file, fileName, options);
    const footer = decodeFooter(await file.read(footerAt, FOOTER_SIZE), fileName, footerAt);
    const meta = { verifyChecksums: true, fileName };
    const index = await readBlockAsync(file, footer.index, meta);
    const fh = options.ignoreFilter === true ? undefined : filterHandle(await readBlockAsync(file, footer.metaindex, meta), fileName, footer);
    const filter = fh === undefined ? undefined : await readBlockAsync(file, fh, meta);
    return new Table(file, fileName, footer, new Block(index, fileName, footer.index.offset), filter, options);
  }

  /** open() with synchronous reads: for small tables whose index and filter are cheap to read here. */
  static openSync(file: RandomAccessFile, fileName: string, options: TableOptions): Table {
    const footerAt = checkOpen(file, fileName, options);
    const footer = decodeFooter(file.readSync(footerAt, FOOTER_SIZE), fileName, footerAt);
    const meta = { verifyChecksums: true, fileName };
    const index = readBlock(file, footer.index, meta);
    const fh = options.ignoreFilter === true ? undefined : filterHandle(readBlock(file, footer.metaindex, meta), fileName, footer);
    const filter = fh === undefined ? undefined : readBlock(file, fh, meta);
    return new Table(file, fileName, footer, new Block(index, fileName, footer.index.offset), filter, options);
  }

  /**
   * An iterator over all entries (index block -> data blocks). With fillCache false, blocks not in
   * the block cache are read without being added to it (a compaction's one-off pass over its inputs
   * should not evict what readers use), and read ahead in large chunks (ReadaheadFile).
   */
  iterator(options?: { fillCache?: boolean }): InternalIterator {
    if (options?.fillCache !== false) return new TwoLevelIterator(this.indexBlock.iterator(this.comparator), this);
    const file = new ReadaheadFile(this.file);
    const source = {
      dataIterator: (indexValue: Uint8Array): BlockIterator =>
        this.readDataBlock(this.decodeIndexValue(indexValue), false, file).iterator(this.comparator),
    };
    return new TwoLevelIterator(this.indexBlock.iterator(this.comparator), source);
  }

  /**
   * The first entry with key >= target, or undefined if there is none or the filter rules out
   * target's filter key. The caller checks whether the entry's key is the one it wants.
   */
  get(target: Uint8Array): TableEntry | undefined {
    if (!this.mayContain(target)) return undefined;
    const index = this.indexIter;
    for (index.seek(target); index.valid(); index.next()) {
      const it = this.dataIterator(index.value());
      it.seek(target);
      if (it.valid()) return { key: it.key(), value: it.value() };
    }
    return undefined;
  }

  /** What the filter says of target's filter key; counts the check. */
  mayContain(target: Uint8Array): boolean {
    if (this.filter === undefined) return true;
    this.stats.filterChecks++;
    const end = this.filterKeyLength === undefined ? target.length : this.filterKeyLength(target);
    if (bloomMayContainHash(this.filter, bloomHash(target, 0, end))) return true;
    this.stats.filterNegatives++;
    return false;
  }

  /** Roughly where in the file the data for `key` begins (for compaction and size estimates). */
  approximateOffsetOf(key: Uint8Array): number {
    const index = this.indexIter;
    index.seek(key);
    if (index.valid()) return decodeHandle(index.value(), this.fileName, this.footer.index.offset).offset;
    // Past the last key: the data ends where the metaindex (preceded by the filter) begins.
    return this.footer.metaindex.offset;
  }

  /** DataBlockSource: an iterator over the data block whose encoded handle is `indexValue`. */
  dataIterator(indexValue: Uint8Array): BlockIterator {
    return this.readDataBlock(this.decodeIndexValue(indexValue)).iterator(this.comparator);
  }

  /** Closes the file. Cached blocks stay until evicted (or blockCache.eraseNamespace(cacheId)). */
  async close(): Promise<void> {
    await this.file.close();
  }

  get id(): number {
    return this.cacheId;
  }

  /** Decodes an index value into `scratch` (no allocation on this per-lookup path). */
  private decodeIndexValue(v: Uint8Array): BlockHandle {
    const h = this.scratch;
    let p = 0;
    for (let field = 0; field < 2; field++) {
      let result = 0;
      let scale = 1;
      for (;;) {
        if (p >= v.length || scale > 2 ** 49) {
          throw new CorruptionError('bad block handle in index', this.fileName, this.footer.index.offset);
        }
        const b = v[p++]!;
        result += (b & 0x7f) * scale;
        if (b < 0x80) break;
        scale *= 128;
      }
      if (field === 0) h.offset = result;
      else h.size = result;
    }
    return h;
  }

  private readDataBlock(h: BlockHandle, fillCache = true, file: RandomAccessFile = this.file): Block {
    const cache = this.cache;
    if (cache !== undefined) {
      const cached = cache.get(this.cacheId, h.offset);
      if (cached !== undefined) {
        this.stats.blockCacheHits++;
        return cached;
      }
    }
    const toCache = fillCache ? cache : undefined;
    const contents = readBlock(file, h, { verifyChecksums: this.verifyChecksums, fileName: this.fileName, alloc: toCache?.allocate });
    this.stats.blockReads++;
    const block = new Block(contents, this.fileName, h.offset);
    toCache?.insertBlock(this.cacheId, h.offset, block);
    return block;
  }
}

/** Checks the options and the file's size; returns where the footer starts. */
function checkOpen(file: RandomAccessFile, fileName: string, options: TableOptions): number {
  if (options.cacheId !== undefined && !(Number.isSafeInteger(options.cacheId) && options.cacheId >= 0)) {
    throw new InvalidArgumentError(`cacheId must be an integer >= 0, got ${options.cacheId}`);
  }
  const size = file.size;
  if (size < FOOTER_SIZE) throw new CorruptionError(`file too short (${size} bytes) to be an sstable`, fileName, 0);
  return size - FOOTER_SIZE;
}

/** The filter block's handle, from the metaindex block's contents; undefined if the table has none. */
function filterHandle(metaContents: Buffer, fileName: string, footer: Footer): BlockHandle | undefined {
  const it = new Block(metaContents, fileName, footer.metaindex.offset).iterator(bytewiseComparator);
  const name = Buffer.from(FILTER_BLOCK_NAME);
  it.seek(name);
  if (!(it.valid() && name.equals(it.key()))) return undefined;
  return decodeHandle(it.value(), fileName, footer.metaindex.offset);
}

function decodeHandle(bytes: Uint8Array, fileName: string, at: number): BlockHandle {
  try {
    return decodeBlockHandle(bytes);
  } catch {
    throw new CorruptionError('bad block handle in index', fileName, at);
  }
}
