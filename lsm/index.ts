/** The storage engine's public API. */
export { DB, type DBStats, type ReadOptions, type WriteOptions } from './db.js';
export { DBIterator, type IteratorOptions } from './db-iterator.js';
export { Snapshot } from './snapshot.js';
export { WriteBatch } from './write-batch.js';
export { LsmLevel, LevelError, type LsmLevelOptions, type LsmWriteOptions } from './level.js';
export { type DBOptions, type Logger, silentLogger } from './options.js';
export {
  ALL_LSM_ERRORS,
  ClosedError,
  CorruptionError,
  InvalidArgumentError,
  IOError,
  LockedError,
  LsmError,
} from './errors.js';
export type { FileSystem, FileLock, RandomAccessFile, WritableFile } from './env.js';
export { MemFileSystem } from './mem-fs.js';
export { NodeFileSystem } from './node-fs.js';
