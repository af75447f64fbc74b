/** Options of DB.open(), their defaults and validation. */
import type { FileSystem } from './env.js';
import { InvalidArgumentError } from './errors.js';
import { NodeFileSystem } from './node-fs.js';
import { CompressionType } from './table/format.js';

/**
 * Where the engine reports what an operator should know (a torn WAL tail, a background error). The
 * same shape as the server's logger (rpc/logger.ts), declared here so lsm/ imports nothing from rpc/.
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface DBOptions {
  /** File system (default: the real disk, NodeFileSystem; tests pass a MemFileSystem). */
  fs?: FileSystem;
  /** Create the database if the directory holds none (default true). */
  createIfMissing?: boolean;
  /** Refuse to open an existing database (default false). */
  errorIfExists?: boolean;
  /** Memtable size that triggers a flush to an L0 table (default 4 MiB). */
  writeBufferSize?: number;
  /** Target size of a table's data blocks (default 4096). */
  blockSize?: number;
  /**
   * Codec of new tables' blocks (default 'snappy': Snappy raw format, as LevelDB; 'none' stores them
   * raw). Tables written either way stay readable: the codec is recorded per block. Levels 0 and 1
   * are always written raw (see COMPRESSED_FROM_LEVEL in flush-job.ts).
   */
  compression?: 'snappy' | 'none';
  /** Bytes of decoded blocks kept in the shared LRU block cache (default 8 MiB). */
  blockCacheSize?: number;
  /** Tables kept open by the table cache (default 1000; tables used by open iterators may exceed it). */
  maxOpenFiles?: number;
  /** Bloom filter bits per key in new tables (default 10; 0 writes no filter). */
  bitsPerKey?: number;
  /** Check data-block checksums on every read from a table file (default true). */
  verifyChecksums?: boolean;
  /** Skip corrupt WAL records on recovery (reported through the logger) instead of failing (default false). */
  salvage?: boolean;
  /** L0 file count at which L0 is compacted into L1 (default 4). */
  l0CompactionTrigger?: number;
  /** L0 file count from which each write group is delayed by ~1 ms (default 8). */
  l0SlowdownTrigger?: number;
  /** L0 file count at which writers wait for compaction before a memtable switch (default 12). */
  l0StopTrigger?: number;
  /** Target size of L1 in bytes (default 10 MiB); level n+1 targets levelSizeMultiplier times level n. */
  maxBytesForLevelBase?: number;
  /** Growth factor between level targets (default 10). */
  levelSizeMultiplier?: number;
  /** Size at which compaction starts a new output table (default 2 MiB). */
  targetFileSize?: number;
  /** Bytes of batches the writer queue admits; further write() calls wait for room (default 16 MiB). */
  maxQueuedWriteBytes?: number;
  /** Run background compactions (default true; false leaves every flush in L0 — for tests and tools). */
  autoCompact?: boolean;
  /**
   * Write flushed memtables and compaction outputs on a background thread (worker_threads), so the
   * caller's thread does no merge work (default true). Used only on the real file system (the default
   * NodeFileSystem, not a subclass) with the bytewise comparator; elsewhere, and with false, the work
   * runs on the caller's thread in slices. See lsm/THREADS.md.
   */
  backgroundThread?: boolean;
  /**
   * Let a lone sync writer's fdatasync run on the calling thread while the disk syncs fast (default
   * true; lsm/sync-policy.ts). A server should say false: its next requests wait unread in socket
   * buffers the DB cannot see, and a loop blocked in fdatasync keeps them from joining the next group
   * commit (measured on a 3-node cluster: 1,425 -> 1,726 loading puts/s with false).
   */
  inlineSync?: boolean;
  logger?: Logger;
}

export interface ResolvedOptions {
  fs: FileSystem;
  createIfMissing: boolean;
  errorIfExists: boolean;
  writeBufferSize: number;
  blockSize: number;
  /** The trailer type byte new blocks are compressed with (TableBuilderOptions.compression). */
  compression: CompressionType;
  blockCacheSize: number;
  maxOpenFiles: number;
  bitsPerKey: number;
  verifyChecksums: boolean;
  salvage: boolean;
  l0CompactionTrigger: number;
  l0SlowdownTrigger: number;
  l0StopTrigger: number;
  maxBytesForLevelBase: number;
  levelSizeMultiplier: number;
  targetFileSize: number;
  maxQueuedWriteBytes: number;
  autoCompact: boolean;
  backgroundThread: boolean;
  inlineSync: boolean;
  logger: Logger;
}

function int(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InvalidArgumentError(`option ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

function bool(name: string, v: boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`option ${name} must be a boolean, got ${String(v)}`);
  return v;
}

function compression(v: 'snappy' | 'none' | undefined): CompressionType {
  if (v === undefined || v === 'snappy') return CompressionType.Snappy;
  if (v === 'none') return CompressionType.None;
  throw new InvalidArgumentError(`option compression must be 'snappy' or 'none', got ${String(v)}`);
}

export function resolveOptions(o: DBOptions = {}): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('options must be an object');
  const l0CompactionTrigger = int('l0CompactionTrigger', o.l0CompactionTrigger, 4, 1);
  const l0SlowdownTrigger = int('l0SlowdownTrigger', o.l0SlowdownTrigger, Math.max(8, l0CompactionTrigger), 1);
  const l0StopTrigger = int('l0StopTrigger', o.l0StopTrigger, Math.max(12, l0SlowdownTrigger), 1);
  if (!(l0CompactionTrigger <= l0SlowdownTrigger && l0SlowdownTrigger <= l0StopTrigger)) {
    throw new InvalidArgumentError('options must satisfy l0CompactionTrigger <= l0SlowdownTrigger <= l0StopTrigger');
  }
  return {
    fs: o.fs ?? new NodeFileSystem(),
    createIfMissing: bool('createIfMissing', o.createIfMissing, true),
    errorIfExists: bool('errorIfExists', o.errorIfExists, false),
    writeBufferSize: int('writeBufferSize', o.writeBufferSize, 4 << 20, 1024),
    blockSize: int('blockSize', o.blockSize, 4096, 64),
    compression: compression(o.compression),
    blockCacheSize: int('blockCacheSize', o.blockCacheSize, 8 << 20, 0),
    maxOpenFiles: int('maxOpenFiles', o.maxOpenFiles, 1000, 1),
    bitsPerKey: int('bitsPerKey', o.bitsPerKey, 10, 0),
    verifyChecksums: bool('verifyChecksums', o.verifyChecksums, true),
    salvage: bool('salvage', o.salvage, false),
    l0CompactionTrigger,
    l0SlowdownTrigger,
    l0StopTrigger,
    maxBytesForLevelBase: int('maxBytesForLevelBase', o.maxBytesForLevelBase, 10 << 20, 1024),
    levelSizeMultiplier: int('levelSizeMultiplier', o.levelSizeMultiplier, 10, 2),
    targetFileSize: int('targetFileSize', o.targetFileSize, 2 << 20, 1024),
    maxQueuedWriteBytes: int('maxQueuedWriteBytes', o.maxQueuedWriteBytes, 16 << 20, 1024),
    autoCompact: bool('autoCompact', o.autoCompact, true),
    backgroundThread: bool('backgroundThread', o.backgroundThread, true),
    inlineSync: bool('inlineSync', o.inlineSync, true),
    logger: o.logger ?? silentLogger,
  };
}
