/**
 * The file-system interface: every byte the engine reads or writes goes through it. Two
 * implementations: `NodeFileSystem` (node-fs.ts, the real disk) and `MemFileSystem` (mem-fs.ts, in
 * memory, able to simulate a crash by dropping whatever was not synced). Paths are plain strings joined
 * with '/'.
 */

/** A file written from start to end (WAL, SSTable under construction, manifest). */
export interface WritableFile {
  /**
   * Appends bytes. They are in the OS page cache (or memory) after this, durable only after sync().
   * The file does not keep `data`: the caller may reuse it once the promise settles.
   */
  append(data: Uint8Array): Promise<void>;
  /**
   * The same, done before it returns (throws instead of rejecting). Offered by files whose small appends
   * cost less on this thread than a thread-pool round trip (the page cache, memory); the WAL uses it to
   * commit an unsynced write without leaving the caller's task.
   */
  appendSync?(data: Uint8Array): void;
  /** Makes everything appended so far durable (fdatasync). */
  sync(): Promise<void>;
  /** The same, on the calling thread (see sync-policy.ts for when the WAL uses it). */
  syncSync?(): void;
  close(): Promise<void>;
  /** Bytes appended so far. */
  readonly size: number;
}

/** A file read at arbitrary offsets (SSTables). */
export interface RandomAccessFile {
  /** Reads exactly `length` bytes at `offset`; a short read (file too small) throws CorruptionError. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * The same, synchronously (for reads the caller knows to be cheap, e.g. page-cache hits). With
   * `into` (at least `length` bytes), may read into it and return a view of it instead of a new buffer.
   */
  readSync(offset: number, length: number, into?: Buffer): Buffer;
  readonly size: number;
  close(): Promise<void>;
}

/** A held directory lock; release() frees it. */
export interface FileLock {
  release(): Promise<void>;
}

export interface FileSystem {
  /** Creates (or truncates) a file for appending. */
  openWritable(path: string): Promise<WritableFile>;
  openRandomAccess(path: string): Promise<RandomAccessFile>;
  /** The same, on the calling thread (an open and an fstat: for a point read, cheaper than a round trip). */
  openRandomAccessSync(path: string): RandomAccessFile;
  /** The whole file (WAL and manifest replay, CURRENT). */
  readFile(path: string): Promise<Buffer>;
  /** Atomic replacement of `to` by `from` (POSIX rename). Durable once syncDir() of the directory returns. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  /** File names (not paths) in a directory; [] if the directory does not exist. */
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Size of a file in bytes. */
  size(path: string): Promise<number>;
  /** Creates a directory and its parents; an existing directory is fine. */
  mkdir(dir: string): Promise<void>;
  /** Makes the directory's entries (creates, renames, removes) durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
  /**
   * Takes an exclusive lock on `path` (the database's LOCK file) for this process. Throws LockedError if a
   * live holder has it, in this process or another; a lock left by a dead process is taken over.
   */
  lock(path: string): Promise<FileLock>;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}
