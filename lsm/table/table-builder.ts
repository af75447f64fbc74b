/**
 * Writes an SSTable (layout in format.ts and lsm/FORMAT.md, "SSTable"): data blocks of about `blockSize`
 * bytes, then the filter block, the metaindex block, the index block and the footer.
 *
 * add() is synchronous: finished blocks are encoded into an output buffer, and flush() hands that
 * buffer to the file. Callers that build large tables call `await flush()` whenever `pendingBytes`
 * grows past what they want to hold (explicit backpressure); otherwise everything is written by
 * finish(), and the buffer holds at most one table. finish() neither syncs nor closes the file: the
 * caller does both, then records the table in the manifest.
 *
 * Data, index and metaindex blocks are Snappy-compressed by default (`compression`); a block is stored
 * compressed only if that saves at least 1/8 of its bytes (LevelDB's rule), else raw with type 0.
 *
 * Index entries use the last key of each data block as separator (no shortening): the comparator
 * contract has no separator function, and this keeps "the first entry >= target lies in the block the
 * index points to" exact.
 */
import { BLOOM_POLICY_NAME, bloomHash, BloomFilterPolicy } from '../bloom.js';
import type { Comparator } from '../comparator.js';
import type { WritableFile } from '../env.js';
import { InvalidArgumentError, IOError } from '../errors.js';
import { BlockBuilder } from './block-builder.js';
import {
  BLOCK_TRAILER_SIZE,
  type BlockHandle,
  CompressionType,
  encodeFooter,
  MAX_BLOCK_HANDLE_LENGTH,
  putBlockHandle,
  putBlockTrailerAt,
} from './format.js';
import { returnOutputBuffer, takeOutputBuffer } from './output-buffers.js';
import { SnappyCompressor, snappyMaxCompressedLength } from './snappy.js';

export interface TableBuilderOptions {
  comparator: Comparator;
  /** Target uncompressed size of a data block (default 4096). */
  blockSize?: number;
  /** Entries between restart points in data blocks (default 16). */
  restartInterval?: number;
  /** Bloom filter bits per key (default 10); 0 writes no filter. */
  bitsPerKey?: number;
  /**
   * The filter holds key[0, filterKeyLength(key)): e.g. the user key of an internal key (default: the
   * whole key). A length, not a view, so that adding a key allocates nothing.
   */
  filterKeyLength?: (key: Uint8Array) => number;
  /** Codec of data, index and metaindex blocks (default CompressionType.Snappy; None stores all raw). */
  compression?: CompressionType;
}

const EMPTY = Buffer.alloc(0);

/** Metaindex key under which the filter block is recorded. */
export const FILTER_BLOCK_NAME = `filter.${BLOOM_POLICY_NAME}`;

export class TableBuilder {
  private readonly comparator: Comparator;
  private readonly blockSize: number;
  private readonly filterKeyLength: ((key: Uint8Array) => number) | undefined;
  private readonly policy: BloomFilterPolicy | undefined;
  private readonly dataBlock: BlockBuilder;
  private readonly indexBlock = new BlockBuilder(1);
  private readonly handleScratch = Buffer.allocUnsafe(MAX_BLOCK_HANDLE_LENGTH);
  private readonly compressor: SnappyCompressor | undefined;
  private out: Buffer;
  private outLen = 0;
  /** File offset of the next block: bytes appended plus bytes pending in `out`. */
  private offset = 0;
  private entries = 0;
  private hashes = new Uint32Array(1024);
  private hashCount = 0;
  private firstKey: Buffer | undefined;
  private writing: Promise<void> = Promise.resolve();
  private state: 'open' | 'finished' | 'abandoned' = 'open';
  private failure: Error | undefined;

  constructor(
    private readonly file: WritableFile,
    options: TableBuilderOptions,
  ) {
    this.comparator = options.comparator;
    this.blockSize = options.blockSize ?? 4096;
    const restartInterval = options.restartInterval ?? 16;
    const bitsPerKey = options.bitsPerKey ?? 10;
    if (!(this.blockSize >= 1)) throw new InvalidArgumentError(`bad blockSize ${this.blockSize}`);
    if (!(bitsPerKey >= 0)) throw new InvalidArgumentError(`bad bitsPerKey ${bitsPerKey}`);
    this.policy = bitsPerKey > 0 ? new BloomFilterPolicy(bitsPerKey) : undefined;
    this.filterKeyLength = options.filterKeyLength;
    const compression = options.compression ?? CompressionType.Snappy;
    if (compression !== CompressionType.None && compression !== CompressionType.Snappy) {
      throw new InvalidArgumentError(`bad compression type ${String(compression)}`);
    }
    this.compressor = compression === CompressionType.Snappy ? sharedCompressor() : undefined;
    this.dataBlock = new BlockBuilder(restartInterval, this.blockSize);
    this.out = takeOutputBuffer(2 * this.blockSize + 1024);
  }

  /** Adds an entry; keys must strictly increase per the comparator (InvalidArgumentError otherwise). */
  add(key: Uint8Array, value: Uint8Array): void {
    this.checkOpen();
    if (this.entries > 0) {
      if (this.dataBlock.compareWithLast(this.comparator, key) <= 0) {
        throw new InvalidArgumentError('table keys must be added in strictly increasing order');
      }
    } else {
      this.firstKey = Buffer.from(key);
    }
    if (this.policy !== undefined) {
      const h = bloomHash(key, 0, this.filterKeyLength === undefined ? key.length : this.filterKeyLength(key));
      // Equal consecutive hashes set the same bits: skipping them makes n count distinct filter keys
      // (the versions of one user key), so the filter is not oversized.
      if (this.hashCount === 0 || this.hashes[this.hashCount - 1] !== h) {
        if (this.hashCount === this.hashes.length) {
          const grown = new Uint32Array(2 * this.hashes.length);
          grown.set(this.hashes);
          this.hashes = grown;
        }
        this.hashes[this.hashCount++] = h;
      }
    }
    this.dataBlock.add(key, value);
    this.entries++;
    if (this.dataBlock.currentSizeEstimate() >= this.blockSize) this.flushDataBlock();
  }

  /** Bytes encoded but not yet handed to the file. */
  get pendingBytes(): number {
    return this.outLen;
  }

  /** Appends the pending bytes to the file. Appends happen in call order. */
  async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.outLen > 0) {
      const full = this.out;
      const chunk = full.subarray(0, this.outLen);
      // Another buffer for what follows while the file takes `chunk`; `full` is reusable once it has.
      this.out = takeOutputBuffer(full.length);
      this.outLen = 0;
      this.writing = this.writing.then(async () => {
        await this.file.append(chunk);
        returnOutputBuffer(full);
      });
    }
    try {
      await this.writing;
    } catch (e) {
      this.failure ??= e instanceof Error ? e : new IOError(String(e));
      throw this.failure;
    }
  }

  /** Writes the last data block, filter, metaindex, index and footer, and flushes. */
  async finish(): Promise<void> {
    this.checkOpen();
    if (!this.dataBlock.empty()) this.flushDataBlock();
    const meta = new BlockBuilder(1, 64);
    if (this.policy !== undefined) {
      const filter = this.policy.buildFromHashes(this.hashes, this.hashCount);
      const h = this.writeBlock(filter, false);
      meta.add(Buffer.from(FILTER_BLOCK_NAME), this.encodeHandle(h));
    }
    const metaindex = this.writeBlock(meta.finish());
    const index = this.writeBlock(this.indexBlock.finish());
    this.emit(encodeFooter({ metaindex, index }));
    this.state = 'finished';
    await this.flush();
    this.releaseOutput();
  }

  /** Gives up on the table: nothing more is written. The caller closes and removes the file. */
  abandon(): void {
    this.checkOpen();
    this.state = 'abandoned';
    this.outLen = 0;
    this.releaseOutput(); // pending bytes only: what is in flight went to the file from another buffer
  }

  /** The builder is done with `out`: it goes back for the next table. */
  private releaseOutput(): void {
    returnOutputBuffer(this.out);
    this.out = EMPTY;
  }

  get numEntries(): number {
    return this.entries;
  }

  /** Size of the file so far, counting completed blocks (the total size once finished). */
  get fileSize(): number {
    return this.offset;
  }

  /** fileSize plus the data block under construction: what to compare with a target table size. */
  get estimatedSize(): number {
    return this.offset + (this.dataBlock.empty() ? 0 : this.dataBlock.currentSizeEstimate() + BLOCK_TRAILER_SIZE);
  }

  /** The first key added (a copy), or undefined before any add(). */
  smallestKey(): Uint8Array | undefined {
    return this.firstKey;
  }

  /** The last key added: a view valid until the next add(). */
  largestKey(): Uint8Array | undefined {
    return this.entries === 0 ? undefined : this.dataBlock.lastKey();
  }

  private flushDataBlock(): void {
    const handle = this.writeBlock(this.dataBlock.finish());
    this.indexBlock.add(this.dataBlock.lastKey(), this.encodeHandle(handle));
    this.dataBlock.reset();
  }

  private encodeHandle(h: BlockHandle): Buffer {
    return this.handleScratch.subarray(0, putBlockHandle(this.handleScratch, 0, h));
  }

  /**
   * Appends contents (compressed straight into the output buffer when that pays) and its trailer;
   * returns the block's handle, whose size is the stored size.
   */
  private writeBlock(contents: Uint8Array, compressible = true): BlockHandle {
    const n = contents.length;
    let stored = n;
    let type: CompressionType = CompressionType.None;
    if (compressible && this.compressor !== undefined) {
      this.reserve(snappyMaxCompressedLength(n) + BLOCK_TRAILER_SIZE);
      const size = this.compressor.compress(contents, this.out, this.outLen) - this.outLen;
      if (size < n - (n >>> 3)) {
        stored = size;
        type = CompressionType.Snappy;
      }
    }
    if (type === CompressionType.None) {
      this.reserve(n + BLOCK_TRAILER_SIZE);
      this.out.set(contents, this.outLen);
    }
    putBlockTrailerAt(this.out, this.outLen, stored, type);
    this.outLen += stored + BLOCK_TRAILER_SIZE;
    const handle = { offset: this.offset, size: stored };
    this.offset += stored + BLOCK_TRAILER_SIZE;
    return handle;
  }

  private emit(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.out.set(bytes, this.outLen);
    this.outLen += bytes.length;
    this.offset += bytes.length;
  }

  private reserve(n: number): void {
    if (this.outLen + n <= this.out.length) return;
    const grown = takeOutputBuffer(Math.max(this.outLen + n, 2 * this.out.length));
    this.out.copy(grown, 0, 0, this.outLen);
    returnOutputBuffer(this.out);
    this.out = grown;
  }

  private checkOpen(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.state !== 'open') throw new InvalidArgumentError(`table builder already ${this.state}`);
  }
}

let compressorOfThisThread: SnappyCompressor | undefined;

/** One compressor (64 KiB hash table) per thread, shared by its builders: add() never yields mid-block. */
function sharedCompressor(): SnappyCompressor {
  compressorOfThisThread ??= new SnappyCompressor();
  return compressorOfThisThread;
}
