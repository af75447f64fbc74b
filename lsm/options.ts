/** Options of DB.open(), their defaults and validation. */
import type { FileSystem } from './env.js';
import { InvalidArgumentError } from './errors.js';
import { NodeFileSystem } from './node-fs.js';

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
  logger?: Logger;
}

export interface ResolvedOptions {
  fs: FileSystem;
  createIfMissing: boolean;
  errorIfExists: boolean;
  writeBufferSize: number;
  blockSize: number;
  blockCacheSize: number;
  maxOpenFiles: number;
  bitsPerKey: number;
  verifyChecksums: boolean;
  salvage: boolean;
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

export function resolveOptions(o: DBOptions = {}): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('options must be an object');
  return {
    fs: o.fs ?? new NodeFileSystem(),
    createIfMissing: bool('createIfMissing', o.createIfMissing, true),
    errorIfExists: bool('errorIfExists', o.errorIfExists, false),
    writeBufferSize: int('writeBufferSize', o.writeBufferSize, 4 << 20, 1024),
    blockSize: int('blockSize', o.blockSize, 4096, 64),
    blockCacheSize: int('blockCacheSize', o.blockCacheSize, 8 << 20, 0),
    maxOpenFiles: int('maxOpenFiles', o.maxOpenFiles, 1000, 1),
    bitsPerKey: int('bitsPerKey', o.bitsPerKey, 10, 0),
    verifyChecksums: bool('verifyChecksums', o.verifyChecksums, true),
    salvage: bool('salvage', o.salvage, false),
    logger: o.logger ?? silentLogger,
  };
}
