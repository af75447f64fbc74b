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
  IndexFunctionError,
  IndexUnknownError,
  IOError,
  LockedError,
  LsmError,
} from './errors.js';
export type { FileSystem, FileLock, RandomAccessFile, WritableFile } from './env.js';
export { MemFileSystem } from './mem-fs.js';
export { NodeFileSystem } from './node-fs.js';
export { IndexedDB, type CoveringIndex, type IndexFunction, type IndexedDBOptions, type IndexedWrite, type IndexIteratorOptions, type PrimaryIteratorOptions } from './indexed-db.js';
export { CoverIterator, IndexIterator, PrimaryIterator, type CoverEntry, type IndexEntry } from './index-iterator.js';
export {
  META_KEY as INDEX_META_KEY,
  NS_INDEX,
  NS_META,
  NS_PRIMARY,
  decodeIndexEntryKey,
  decodeMeta as decodeIndexMeta,
  encodeIndexEntryKey,
  encodeMeta as encodeIndexMeta,
  encodePrimaryKey,
  indexBounds,
  indexPrefix,
  primaryBounds,
  type KeyBounds,
} from './index-format.js';
