/**
 * The database: ties the WAL, memtables, tables, manifest and caches into an engine.
 *
 *   DB.open(dir, options) -> get / put / del / write / snapshot / iterator / close
 *
 * Writes (group commit). Every write becomes a WriteBatch (a copy of the caller's bytes; writeOwned()
 * takes the caller's own) queued as a Writer. One write loop at a time takes the writers at the head of
 * the queue — up to ~1 MiB of batches — concatenates them into ONE batch, appends it as ONE WAL record
 * and, if any writer asked for sync, fdatasyncs ONCE; then it applies the batch to the memtable,
 * publishes the new last sequence and resolves every writer of the group. The append is a synchronous
 * write (to the page cache: microseconds, less than the thread-pool round trip an async one costs);
 * writers that arrive while a pooled fdatasync is in flight form the next group. A sync write therefore
 * resolves only once its bytes (and everything logged before them) are durable, and a group is one
 * checksummed record: after a crash it is replayed whole or not at all.
 * Inline commit: an unsynced write that finds the queue empty (the usual case for a caller that awaits
 * each write) skips the queue — its record goes to the WAL with one synchronous append (a page-cache
 * write of microseconds, cheaper than a thread-pool round trip) and into the memtable before put()
 * returns, in the caller's task. Ordering is the queue's, since nothing was ahead of it. Where the
 * fdatasync of a sync group runs (this thread or the pool) is sync-policy.ts's choice, by the disk's speed.
 * Backpressure: the writer queue admits at most maxQueuedWriteBytes of batches (one larger batch always
 * gets in alone); further writers wait in an admission FIFO and join the queue in arrival order as
 * groups are taken. A caller that awaits its writes (or keeps a bounded number in flight) is thus paced
 * by the engine. A caller that fires writes without awaiting them holds their copied batches in its own
 * pending promises — memory the engine cannot refuse without failing writes, as with any promise API —
 * but the engine's own work in flight stays bounded: one memtable + one immutable memtable, the queue's
 * bytes, and (through the throttling below) the number of L0 tables.
 *
 * Memtable full (writeBufferSize, counted as the bytes inserted). The write loop syncs the current WAL,
 * starts a new one, freezes the memtable as `imm` and starts a background flush that writes `imm` as an
 * L0 table, records it (and the new log number) in the manifest, and deletes files nothing needs any
 * more. Writes go on into the new memtable meanwhile; if that one fills too while the flush runs, the
 * write loop waits for the flush (bounded memory).
 *
 * Compaction and throttling (compaction.ts picks, compaction-job.ts runs). After a flush or compaction
 * is installed, a background loop compacts while some level scores >= 1, one compaction at a time,
 * concurrently with writes, flushes and reads, installing each result with logAndApply. Writes are
 * throttled on the L0 file count: from l0SlowdownTrigger files, each write group is delayed ~1 ms
 * (once per group, handing the CPU to the compaction); at l0StopTrigger files, a full memtable is not
 * switched until a compaction step finishes. compactRange() flushes the memtable, compacts every level
 * overlapping a key range down to the deepest level holding such keys, and rewrites that level's
 * files in the range (unlike LevelDB), so the range's garbage is gone when it resolves.
 *
 * Reads look at the memtable, the immutable memtable, then the current Version (L0 newest first, then
 * one file per deeper level), all at one sequence number. A read or iterator references the Version it
 * uses; a file is deleted only when no live Version lists it. A point read never leaves the caller's
 * task while its tables are open: blocks come from the block cache or from one synchronous positioned
 * read of a few KiB (a page-cache hit costs microseconds, a thread-pool hop tens). The price is that a
 * read the OS must fetch from the device blocks the event loop for that device read; the store is
 * meant to live in RAM plus page cache, and the bench reports the event-loop delay that follows.
 * Opening a table (footer, index and filter) is asynchronous.
 *
 * Recovery (open). CURRENT -> MANIFEST -> Version; then every WAL numbered >= the manifest's log number
 * is replayed into memtables that are written as L0 tables; a new WAL is started and one manifest edit
 * records the tables and the new log number, so the replayed WALs become obsolete and are deleted. A
 * torn WAL tail is dropped and reported through the logger; damage before the tail is CorruptionError
 * naming the file and offset, unless `salvage` skips it (reported too).
 *
 * A failed WAL or manifest write stops the engine from taking writes (the failure is returned to every
 * later write, as LevelDB's background error): the log's tail is unknown, and acknowledging writes
 * after it would be lying. Reads keep working.
 */
import { performance } from 'node:perf_hooks';
import { compactionScore, inPlaceCompaction, overlappingInputs, pickCompaction, rangeCompaction, totalBytes, type Compaction } from './compaction.js';
import { CompactionAbortedError, runCompaction, type CompactionContext } from './compaction-job.js';
import type { Comparator } from './comparator.js';
import { bytewiseComparator } from './comparator.js';
import { InternalKeyComparator, KIND_DELETION, KIND_VALUE, makeLookupKey, userKeyLength } from './dbformat.js';
import { DBIter } from './db-iter.js';
import { DBIterator, checkIteratorOptions, scanBounds, type IteratorOptions, type ScanBounds } from './db-iterator.js';
import { joinPath, type FileLock, type WritableFile } from './env.js';
import { ClosedError, CorruptionError, InvalidArgumentError, IOError } from './errors.js';
import type { InternalIterator } from './iterator.js';
import { LOCK_FILE, CURRENT_FILE, CURRENT_TMP_FILE, logFileName, parseFileName, tableFileName } from './filename.js';
import { Memtable } from './memtable.js';
import { newMergingIterator } from './merging-iterator.js';
import { resolveOptions, type DBOptions, type ResolvedOptions } from './options.js';
import { SnapshotList, type Snapshot } from './snapshot.js';
import { SyncPolicy } from './sync-policy.js';
import { LoopTurns } from './loop-turns.js';
import { TableCache } from './table-cache.js';
import { NUM_LEVELS, VersionEdit } from './version-edit.js';
import { BackgroundThread } from './background-thread.js';
import { writeTableFile } from './flush-job.js';
import { NodeFileSystem } from './node-fs.js';
import { VersionSet } from './version-set.js';
import { openLogReader } from './wal/log-reader.js';
import { LogWriter } from './wal/log-writer.js';
import { WriteBatch, type WriteBatchRangeHandler } from './write-batch.js';

export interface WriteOptions {
  /** Resolve only once the write is durable (fdatasync of the WAL). Default false. */
  sync?: boolean;
}

export interface ReadOptions {
  /** Read as of this snapshot (default: the latest state). */
  snapshot?: Snapshot;
}

export interface DBStats {
  /** Tables per level. */
  levelFiles: number[];
  /** Bytes of the tables per level. */
  levelBytes: number[];
  /** WAL records written (one per group commit) and how many writers they carried. */
  walRecords: number;
  walSyncs: number;
  writers: number;
  flushes: number;
  /** Times the write loop waited for a flush because both memtables were full. */
  writeStalls: number;
  /** Write groups delayed ~1 ms because L0 had >= l0SlowdownTrigger files. */
  slowdowns: number;
  /** Times a full memtable waited for a compaction because L0 had >= l0StopTrigger files. */
  stops: number;
  /** writeStalls + slowdowns + stops, and the milliseconds the write loop spent in them. */
  stallCount: number;
  stallMs: number;
  /** Compactions that rewrote tables, and single tables moved down a level without rewriting. */
  compactions: number;
  trivialMoves: number;
  /** Key and value bytes of user writes (since open). */
  userBytesWritten: number;
  /** Table bytes written by memtable flushes and by compactions; bytes compactions read. */
  flushBytesWritten: number;
  compactionBytesWritten: number;
  compactionBytesRead: number;
  /** (flushBytesWritten + compactionBytesWritten) / userBytesWritten (0 before any write). */
  writeAmplification: number;
  /** Batch bytes in the writer queue now, and writers that waited for room in it. */
  queuedWriteBytes: number;
  queueWaits: number;
}

interface Writer {
  batch: WriteBatch;
  size: number;
  sync: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A FIFO with O(1) push and shift (an array with a moving head, compacted now and then). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head]!;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return out;
  }
}

/** Most bytes of batches coalesced into one WAL record (LevelDB's figure). */
const MAX_GROUP_BYTES = 1 << 20;
/** A small first batch only waits for up to this much more (keeps small writes' latency low). */
const SMALL_GROUP_EXTRA = 128 << 10;
/** Batches up to this size may be committed inline (see canCommitInline); larger ones take the queue. */
const INLINE_MAX_BYTES = 256 << 10;
/** Per-entry overhead counted on top of key and value bytes when sizing the memtable. */
const ENTRY_OVERHEAD = 32;


/** Inserts a batch's entries into a memtable with consecutive sequence numbers; counts bytes. */
class MemtableInserter implements WriteBatchRangeHandler {
  seq = 0;
  bytes = 0;
  userBytes = 0;
  mem!: Memtable;

  putRange(rep: Uint8Array, ks: number, ke: number, vs: number, ve: number): void {
    this.mem.addFrom(this.seq++, KIND_VALUE, rep, ks, ke, vs, ve);
    this.bytes += ke - ks + ve - vs + ENTRY_OVERHEAD;
    this.userBytes += ke - ks + ve - vs;
  }

  delRange(rep: Uint8Array, ks: number, ke: number): void {
    this.mem.addFrom(this.seq++, KIND_DELETION, rep, ks, ke, 0, 0);
    this.bytes += ke - ks + ENTRY_OVERHEAD;
    this.userBytes += ke - ks;
  }
}

function checkBytes(what: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array or Buffer, got ${v === null ? 'null' : typeof v}`);
}

function checkWriteOptions(o: unknown): boolean {
  if (o === undefined) return false;
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('write options must be an object');
  const sync = (o as WriteOptions).sync;
  if (sync !== undefined && typeof sync !== 'boolean') throw new InvalidArgumentError('sync must be a boolean');
  return sync ?? false;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new IOError(String(err));
}

export class DB {
  private readonly o: ResolvedOptions;
  private readonly icmp: InternalKeyComparator;
  private readonly ucmp: Comparator;
  private readonly versions: VersionSet;
  private readonly tableCache: TableCache;
  private readonly snapshots = new SnapshotList();
  private readonly iterators = new Set<DBIterator>();
  /** Tables being written and not yet in a Version: never deleted as obsolete. */
  private readonly pendingOutputs = new Set<number>();
  private readonly inserter = new MemtableInserter();
  private readonly syncPolicy = new SyncPolicy();
  private readonly loopTurns = new LoopTurns();
  /** The batch put()/del()/write() encode into when they commit inline (reused: never queued). */
  private readonly inlineBatch = new WriteBatch(1024);
  private mem: Memtable;
  private memBytes = 0;
  private imm: Memtable | undefined;
  private log: LogWriter | undefined;
  private logFile: WritableFile | undefined;
  private logNumber = 0;
  private readonly writers = new Fifo<Writer>();
  /** Writers waiting for room in `writers` (see maxQueuedWriteBytes). */
  private readonly admission = new Fifo<Writer>();
  private queuedBytes = 0;
  private writeLoop: Promise<void> | undefined;
  private writeLoopRunning = false;
  private flushing: Promise<void> | undefined;
  /** The running compaction work (background loop or a compactRange step); never rejects. */
  private compacting: Promise<void> | undefined;
  private compactionListeners: (() => void)[] = [];
  /** Set by compactRange: the next write-loop turn switches memtables even if the current one is not full. */
  private forceSwitch = false;
  private readonly compactionCtx: CompactionContext;
  /** Where flushes and compactions run when not on this thread (THREADS.md); undefined: in this thread. */
  private readonly background: BackgroundThread | undefined;
  private deleting: Promise<void> | undefined;
  private deleteAgain = false;
  private bgError: Error | undefined;
  private ready = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Records were appended to the WAL since its last fdatasync: sync() has work to do. */
  private walUnsynced = false;
  private readonly counters = {
    walRecords: 0,
    walSyncs: 0,
    writers: 0,
    flushes: 0,
    writeStalls: 0,
    slowdowns: 0,
    stops: 0,
    stallMs: 0,
    compactions: 0,
    trivialMoves: 0,
    userBytesWritten: 0,
    flushBytesWritten: 0,
    compactionBytesWritten: 0,
    compactionBytesRead: 0,
    queueWaits: 0,
  };

  private constructor(
    readonly dir: string,
    options: ResolvedOptions,
    private readonly lock: FileLock,
  ) {
    this.o = options;
    this.ucmp = bytewiseComparator;
    this.icmp = new InternalKeyComparator(this.ucmp);
    this.mem = this.newMemtable();
    this.versions = new VersionSet(options.fs, dir, this.icmp, options.logger, () => {
      if (this.ready && !this.closed) this.scheduleDeleteObsolete();
    });
    this.tableCache = new TableCache({
      fs: options.fs,
      dir,
      comparator: this.icmp,
      filterKeyLength: userKeyLength,
      maxOpenFiles: options.maxOpenFiles,
      blockCacheSize: options.blockCacheSize,
      verifyChecksums: options.verifyChecksums,
      logger: options.logger,
    });
    this.compactionCtx = {
      fs: options.fs,
      dir,
      icmp: this.icmp,
      tableCache: this.tableCache,
      blockSize: options.blockSize,
      bitsPerKey: options.bitsPerKey,
      compression: options.compression,
      targetFileSize: options.targetFileSize,
      newFileNumber: () => this.versions.newFileNumber(),
      pendingOutputs: this.pendingOutputs,
      aborted: () => this.closed,
    };
    // The worker opens files itself: only the real file system (not a subclass that changes what it
    // does) and a comparator it can rebuild (a JS function cannot cross threads) qualify.
    const canUseWorker = Object.getPrototypeOf(options.fs) === NodeFileSystem.prototype && this.ucmp === bytewiseComparator;
    this.background =
      options.backgroundThread && canUseWorker
        ? new BackgroundThread({
            config: {
              dir,
              verifyChecksums: options.verifyChecksums,
              blockSize: options.blockSize,
              bitsPerKey: options.bitsPerKey,
              compression: options.compression,
              levels: {
                l0CompactionTrigger: options.l0CompactionTrigger,
                maxBytesForLevelBase: options.maxBytesForLevelBase,
                levelSizeMultiplier: options.levelSizeMultiplier,
                targetFileSize: options.targetFileSize,
              },
            },
            logger: options.logger,
            reserveFileNumber: () => {
              const n = this.versions.newFileNumber();
              this.pendingOutputs.add(n);
              return n;
            },
            releaseFileNumber: (n) => this.pendingOutputs.delete(n),
          })
        : undefined;
  }

  /** @internal The background thread (undefined when work runs on this thread), for tests. */
  get backgroundThreadForTests(): BackgroundThread | undefined {
    return this.background;
  }

  /**
   * Opens (by default creating) the database in `dir`. Throws LockedError if another open — in this
   * process or a live other one — holds it, CorruptionError if its files are damaged.
   */
  static async open(dir: string, options: DBOptions = {}): Promise<DB> {
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('dir must be a non-empty string');
    const o = resolveOptions(options);
    await o.fs.mkdir(dir);
    const lock = await o.fs.lock(joinPath(dir, LOCK_FILE));
    const db = new DB(dir, o, lock);
    try {
      await db.recover();
    } catch (err) {
      await db.abortOpen();
      throw err;
    }
    return db;
  }

  // ---------------------------------------------------------------- writes

  /** Sets key to value. Resolves once logged (and durable, with sync). */
  async put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void> {
    checkBytes('key', key);
    checkBytes('value', value);
    const sync = checkWriteOptions(options);
    if (!sync && this.canCommitInline()) {
      const b = this.inlineBatch;
      b.clear();
      b.put(key, value);
      this.commitInline(b);
      return;
    }
    const b = new WriteBatch(key.length + value.length + 32);
    b.put(key, value);
    return this.enqueue(b, sync);
  }

  async del(key: Uint8Array, options?: WriteOptions): Promise<void> {
    checkBytes('key', key);
    const sync = checkWriteOptions(options);
    if (!sync && this.canCommitInline()) {
      const b = this.inlineBatch;
      b.clear();
      b.del(key);
      this.commitInline(b);
      return;
    }
    const b = new WriteBatch(key.length + 32);
    b.del(key);
    return this.enqueue(b, sync);
  }

  /** Applies every entry of the batch atomically (also across a crash). The batch is copied. */
  async write(batch: WriteBatch, options?: WriteOptions): Promise<void> {
    return this.commitBatch(batch, options, false);
  }

  /**
   * write() of a batch the caller built for this call alone and never touches again (IndexedDB's
   * writes): it is committed as it is, without the copy write() makes.
   */
  async writeOwned(batch: WriteBatch, options?: WriteOptions): Promise<void> {
    return this.commitBatch(batch, options, true);
  }

  private commitBatch(batch: WriteBatch, options: WriteOptions | undefined, owned: boolean): Promise<void> {
    if (!(batch instanceof WriteBatch)) throw new InvalidArgumentError('batch must be a WriteBatch');
    const sync = checkWriteOptions(options);
    if (!sync && batch.approximateSize() <= INLINE_MAX_BYTES && this.canCommitInline()) {
      let b = batch;
      if (!owned) {
        b = this.inlineBatch;
        b.clear();
        b.append(batch);
      }
      this.commitInline(b);
      return Promise.resolve();
    }
    if (owned) return this.enqueue(batch, sync);
    const copy = new WriteBatch(batch.approximateSize());
    copy.append(batch);
    return this.enqueue(copy, sync);
  }

  /**
   * Makes every write acknowledged before the call durable: one fdatasync of the WAL, queued like a
   * sync write with nothing in it (so it shares a group's fdatasync if one is due). Resolves at once when
   * nothing was logged since the last fdatasync. For callers that write unsynced and sync on a timer
   * (a bounded window of loss on power failure instead of an fdatasync per write).
   */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('database is closed'));
    if (!this.walUnsynced) return Promise.resolve();
    return this.enqueue(new WriteBatch(0), true);
  }

  /**
   * True when an unsynced write can be committed at once, in the caller's task: nothing is queued or
   * being committed ahead of it (so order is kept), the memtable has room, and the WAL appends
   * synchronously. The write is then in the WAL file (the OS's page cache) and the memtable before the
   * call returns, with no promise hops and no queue entry: the one-write-at-a-time case costs one write
   * syscall plus the memtable insert. Anything else takes the group-commit queue.
   */
  private canCommitInline(): boolean {
    return (
      !this.loopTurns.due() &&
      this.writeLoop === undefined &&
      this.writers.length === 0 &&
      this.admission.length === 0 &&
      !this.closed &&
      this.log?.canAddSync === true &&
      this.roomForWrite()
    );
  }

  /** Commits `b` (the reused inline batch) as the write loop would commit a group of one; throws bgError. */
  private commitInline(b: WriteBatch): void {
    const count = b.count();
    if (count === 0) return;
    const seq = this.versions.lastSequence + 1;
    b.setSequence(seq);
    try {
      this.log!.addRecordSync(b.encode());
    } catch (err) {
      this.setBgError(err, 'WAL write failed');
      throw this.bgError!;
    }
    this.counters.walRecords++;
    this.walUnsynced = true;
    this.memBytes += this.insertInto(this.mem, b, seq);
    this.counters.userBytesWritten += this.inserter.userBytes;
    this.versions.lastSequence = seq + count - 1;
    this.counters.writers++;
  }

  private enqueue(batch: WriteBatch, sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('database is closed'));
    if (this.bgError !== undefined) return Promise.reject(this.bgError);
    return new Promise<void>((resolve, reject) => {
      const w: Writer = { batch, size: batch.approximateSize(), sync, resolve, reject };
      if (this.admission.length > 0 || (this.queuedBytes > 0 && this.queuedBytes + w.size > this.o.maxQueuedWriteBytes)) {
        this.counters.queueWaits++;
        this.admission.push(w);
      } else {
        this.writers.push(w);
        this.queuedBytes += w.size;
      }
      if (this.writeLoop === undefined) {
        const loop = this.runWriteLoop();
        // The loop can finish synchronously (nothing to await, e.g. an empty unsynced batch): keep it only
        // while it runs, or every later writer would wait on a loop that has already ended.
        if (this.writeLoopRunning) this.writeLoop = loop;
      }
    });
  }

  /** Moves waiting writers into the queue, in order, while they fit. */
  private admit(): void {
    for (let w = this.admission.peek(); w !== undefined; w = this.admission.peek()) {
      if (this.queuedBytes > 0 && this.queuedBytes + w.size > this.o.maxQueuedWriteBytes) return;
      this.admission.shift();
      this.writers.push(w);
      this.queuedBytes += w.size;
    }
  }

  /** Commits groups of queued writers until the queue is empty. Never rejects. */
  private async runWriteLoop(): Promise<void> {
    this.writeLoopRunning = true;
    try {
      // One microtask before the first group: writers issued in the same turn (the continuations of
      // a group just acknowledged, each sending its next write) all join it, instead of the first one
      // syncing alone and the rest forming the group after it.
      await Promise.resolve();
      while (this.writers.length > 0) {
        // Inline commits stop when a turn of the event loop is due (loop-turns.ts); the group that
        // queued instead gives the loop its turn here.
        if (this.loopTurns.due()) await this.loopTurns.turn();
        if (this.bgError !== undefined) {
          for (const w of [...this.writers.drain(), ...this.admission.drain()]) w.reject(this.bgError);
          this.queuedBytes = 0;
          break;
        }
        try {
          if (!this.roomForWrite()) await this.makeRoomForWrite();
        } catch (err) {
          this.setBgError(err, 'could not switch to a new memtable');
          continue;
        }
        const group = this.takeGroup();
        let batch = group[0]!.batch;
        let sync = group[0]!.sync;
        if (group.length > 1) {
          let size = 0;
          for (const w of group) size += w.batch.approximateSize();
          batch = new WriteBatch(size);
          for (const w of group) {
            batch.append(w.batch);
            sync ||= w.sync;
          }
        }
        const count = batch.count();
        const seq = this.versions.lastSequence + 1;
        try {
          if (count > 0) {
            batch.setSequence(seq);
            // A write to the page cache costs less than the thread-pool round trip an async one pays.
            if (this.log!.canAddSync) this.log!.addRecordSync(batch.encode());
            else await this.log!.addRecord(batch.encode());
            this.counters.walRecords++;
            this.walUnsynced = true;
          }
          if (sync) {
            // Inline only for a lone writer: while a pooled fdatasync runs, other writers' next
            // writes queue up and share the next one (group commit); an inline sync would stop them.
            if (group.length === 1 && this.writers.length === 0 && this.log!.canSyncSync && this.o.inlineSync && this.syncPolicy.inline()) {
              const t0 = performance.now();
              this.log!.syncSync();
              this.syncPolicy.record(performance.now() - t0);
            } else {
              await this.log!.sync();
            }
            this.counters.walSyncs++;
            this.walUnsynced = false; // the loop is the only appender while it runs: everything logged is synced
          }
        } catch (err) {
          this.setBgError(err, 'WAL write failed');
          for (const w of group) w.reject(this.bgError!);
          continue;
        }
        if (count > 0) {
          this.memBytes += this.insertInto(this.mem, batch, seq);
          this.counters.userBytesWritten += this.inserter.userBytes;
          this.versions.lastSequence = seq + count - 1;
        }
        this.counters.writers += group.length;
        for (const w of group) w.resolve();
      }
    } finally {
      this.writeLoopRunning = false;
      this.writeLoop = undefined;
    }
  }

  /** The writers at the head of the queue that go into the next WAL record. */
  private takeGroup(): Writer[] {
    const first = this.writers.shift()!;
    const group = [first];
    let size = first.size;
    const max = size <= SMALL_GROUP_EXTRA ? size + SMALL_GROUP_EXTRA : MAX_GROUP_BYTES;
    for (let w = this.writers.peek(); w !== undefined && size + w.size <= max; w = this.writers.peek()) {
      group.push(this.writers.shift()!);
      size += w.size;
    }
    this.queuedBytes -= size;
    this.admit();
    return group;
  }

  private insertInto(mem: Memtable, batch: WriteBatch, seq: number): number {
    const ins = this.inserter;
    ins.mem = mem;
    ins.seq = seq;
    ins.bytes = 0;
    ins.userBytes = 0;
    batch.iterateRanges(ins);
    return ins.bytes;
  }

  /** True when makeRoomForWrite() would return at once: the common case, checked without an await. */
  private roomForWrite(): boolean {
    if (this.bgError !== undefined || this.forceSwitch) return false;
    if (this.o.autoCompact && !this.closed && this.versions.current.numFiles(0) >= this.o.l0SlowdownTrigger) return false;
    return this.memBytes < this.o.writeBufferSize || this.mem.count === 0;
  }

  /**
   * Makes sure the memtable can take the next group: if it is full, switch to a new WAL and memtable
   * and flush the full one in the background — after waiting for the previous flush if there is one.
   */
  private async makeRoomForWrite(): Promise<void> {
    let allowDelay = true;
    for (;;) {
      if (this.bgError !== undefined) throw this.bgError;
      const l0 = this.versions.current.numFiles(0);
      const throttle = this.o.autoCompact && !this.closed;
      if (allowDelay && throttle && l0 >= this.o.l0SlowdownTrigger) {
        // Close to the stop: hand ~1 ms to the compaction rather than stop writes for seconds later.
        allowDelay = false;
        this.counters.slowdowns++;
        const t0 = performance.now();
        await new Promise<void>((resolve) => setTimeout(resolve, 1));
        this.counters.stallMs += performance.now() - t0;
        continue;
      }
      if (this.mem.count === 0 || (this.memBytes < this.o.writeBufferSize && !this.forceSwitch)) {
        if (this.mem.count === 0) this.forceSwitch = false;
        return;
      }
      if (this.flushing !== undefined) {
        this.counters.writeStalls++;
        const t0 = performance.now();
        await this.flushing;
        this.counters.stallMs += performance.now() - t0;
        continue;
      }
      if (throttle && l0 >= this.o.l0StopTrigger) {
        this.maybeScheduleCompaction();
        // If no compaction can run (closing, or a failure that bgError reports above), do not wait.
        if (this.compacting !== undefined) {
          this.counters.stops++;
          const t0 = performance.now();
          await new Promise<void>((resolve) => this.compactionListeners.push(resolve));
          this.counters.stallMs += performance.now() - t0;
          continue;
        }
      }
      this.forceSwitch = false;
      await this.switchMemtable();
    }
  }

  private async switchMemtable(): Promise<void> {
    // Sync the old log first: after a crash the recovered state is then always a prefix of the
    // acknowledged writes, never later writes without earlier ones.
    await this.log!.sync();
    this.walUnsynced = false;
    const number = this.versions.newFileNumber();
    const file = await this.o.fs.openWritable(joinPath(this.dir, logFileName(number)));
    await this.o.fs.syncDir(this.dir); // the new log's name must survive a crash before sync writes land in it
    const old = this.logFile!;
    this.logFile = file;
    this.log = new LogWriter(file);
    this.logNumber = number;
    this.imm = this.mem;
    this.mem = this.newMemtable();
    this.memBytes = 0;
    this.flushing = this.flushImmutable(number);
    await old.close();
  }

  /** Writes `imm` as an L0 table and records it with the new log number. Never rejects. */
  private async flushImmutable(logNumber: number): Promise<void> {
    const imm = this.imm!;
    const edit = new VersionEdit();
    edit.logNumber = logNumber;
    let number: number | undefined;
    try {
      number = await this.writeLevel0(imm, edit);
      await this.versions.logAndApply(edit, () => {
        // Synchronously with the install: no reader ever sees both imm and its table.
        this.imm = undefined;
        if (number !== undefined) this.pendingOutputs.delete(number);
      });
      this.counters.flushes++;
      for (const n of edit.newFiles) this.counters.flushBytesWritten += n.file.size;
    } catch (err) {
      this.setBgError(err, 'memtable flush failed');
    } finally {
      if (number !== undefined) this.pendingOutputs.delete(number);
      this.flushing = undefined;
    }
    if (this.bgError === undefined) {
      this.scheduleDeleteObsolete();
      this.maybeScheduleCompaction();
    }
  }

  /**
   * Writes a memtable's entries to a new L0 table, synced and named durably (flush-job.ts; on the
   * background thread if there is one, over a copy of the memtable), and adds it to `edit`. Returns the
   * table's number (undefined if the memtable was empty). The caller keeps reading `mem` meanwhile.
   */
  private async writeLevel0(mem: Memtable, edit: VersionEdit): Promise<number | undefined> {
    if (mem.count === 0) return undefined;
    const number = this.versions.newFileNumber();
    this.pendingOutputs.add(number);
    try {
      const file =
        this.background !== undefined
          ? await this.background.flush(mem, number)
          : await writeTableFile(this.compactionCtx, mem.iterator(), number);
      edit.addFile(0, file);
      return number;
    } catch (err) {
      this.pendingOutputs.delete(number);
      throw err;
    }
  }

  private setBgError(err: unknown, what: string): void {
    if (this.bgError !== undefined) return;
    this.bgError = asError(err);
    this.o.logger.error(`${what}; the database takes no more writes`, { dir: this.dir, error: this.bgError.message });
  }

  // ---------------------------------------------------------------- compaction

  /** Starts the background compaction loop if some level needs compacting and nothing is running. */
  private maybeScheduleCompaction(): void {
    if (this.compacting !== undefined || !this.ready || this.closed || this.bgError !== undefined || !this.o.autoCompact) return;
    if (compactionScore(this.versions.current, this.o).score < 1) return;
    void this.runCompactionWork(this.backgroundCompactions());
  }

  /** Makes `work` the running compaction work; the returned promise settles (never rejects) with it. */
  private runCompactionWork(work: Promise<void>): Promise<void> {
    const p = work.finally(() => {
      if (this.compacting === p) this.compacting = undefined;
      this.notifyCompaction();
      this.maybeScheduleCompaction();
    });
    this.compacting = p;
    return p;
  }

  private notifyCompaction(): void {
    const ls = this.compactionListeners;
    this.compactionListeners = [];
    for (const l of ls) l();
  }

  /** Compacts while some level scores >= 1. Never rejects. */
  private async backgroundCompactions(): Promise<void> {
    while (!this.closed && this.bgError === undefined) {
      const c = pickCompaction(this.versions.current, this.versions.compactPointers, this.o, this.icmp);
      if (c === undefined) return;
      await this.doCompaction(c);
      this.notifyCompaction();
    }
  }

  /** Runs one compaction and installs its result. Never rejects: a failure becomes the bgError. */
  private async doCompaction(c: Compaction): Promise<void> {
    const edit = c.edit;
    const outputs: number[] = [];
    c.version.ref();
    try {
      c.deleteInputs(edit);
      if (c.isTrivialMove()) {
        edit.addFile(c.outputLevel, c.inputs[0][0]!);
        await this.versions.logAndApply(edit);
        this.counters.trivialMoves++;
      } else {
        // Every snapshot, iterator and get in flight reads at or above this sequence.
        const smallestSnapshot = this.snapshots.oldest(this.versions.lastSequence);
        const r =
          this.background !== undefined
            ? await this.background.compact(c, smallestSnapshot)
            : await runCompaction(c, this.compactionCtx, smallestSnapshot);
        for (const f of r.outputs) {
          outputs.push(f.number);
          edit.addFile(c.outputLevel, f);
        }
        await this.versions.logAndApply(edit, () => {
          for (const n of outputs) this.pendingOutputs.delete(n);
        });
        this.counters.compactions++;
        this.counters.compactionBytesRead += r.bytesRead;
        this.counters.compactionBytesWritten += r.bytesWritten;
      }
    } catch (err) {
      if (err instanceof CompactionAbortedError || this.closed) return;
      this.setBgError(err, `compaction ${c.describe()} failed`);
    } finally {
      for (const n of outputs) this.pendingOutputs.delete(n);
      c.version.unref();
    }
    if (this.bgError === undefined) this.scheduleDeleteObsolete();
  }

  /**
   * Compacts the key range [start, end] (inclusive; undefined: unbounded): flushes the memtable, then
   * compacts each level's files overlapping the range into the next level, down to the deepest level
   * that holds any of them, and rewrites that level's files in the range. Afterwards the range's data sits in one level, without overwritten versions
   * no snapshot can see, and without tombstones if that level is the bottom one for their keys.
   */
  async compactRange(start?: Uint8Array, end?: Uint8Array): Promise<void> {
    this.checkOpen();
    if (start !== undefined) checkBytes('start', start);
    if (end !== undefined) checkBytes('end', end);
    if (this.mem.count > 0) {
      this.forceSwitch = true;
      await this.enqueue(new WriteBatch(), false);
    }
    await this.waitForFlush();
    let deepest = 1;
    for (let level = 1; level < NUM_LEVELS; level++) {
      if (overlappingInputs(this.versions.current, level, start, end, this.ucmp).length > 0) deepest = level;
    }
    for (let level = 0; level < deepest; level++) {
      // L0 in one step (files flushed meanwhile are newer than the request); deeper levels until done.
      for (let step = 0; level > 0 || step < 1; step++) {
        while (this.compacting !== undefined) await this.compacting;
        this.checkOpen();
        if (this.bgError !== undefined) throw this.bgError;
        const c = rangeCompaction(this.versions.current, level, start, end, this.o, this.icmp);
        if (c === undefined) break;
        await this.runCompactionWork(this.doCompaction(c));
      }
    }
    // Then rewrite the deepest level's files in the range: the garbage there goes too.
    const toRewrite = new Set(overlappingInputs(this.versions.current, deepest, start, end, this.ucmp).map((f) => f.number));
    while (toRewrite.size > 0) {
      while (this.compacting !== undefined) await this.compacting;
      this.checkOpen();
      if (this.bgError !== undefined) throw this.bgError;
      const c = inPlaceCompaction(this.versions.current, deepest, toRewrite, this.o, this.icmp);
      if (c === undefined) break;
      for (const f of c.inputs[1]) toRewrite.delete(f.number);
      await this.runCompactionWork(this.doCompaction(c));
    }
    if (this.bgError !== undefined) throw this.bgError;
    await this.deleteObsoleteFiles().catch(() => {}); // so the space is back when this resolves
  }

  /** Resolves once no flush or compaction is running and no level needs compacting. */
  async waitForCompaction(): Promise<void> {
    for (;;) {
      await this.waitForFlush();
      this.maybeScheduleCompaction();
      if (this.compacting === undefined) {
        if (this.flushing === undefined) return;
        continue;
      }
      await this.compacting;
    }
  }

  // ---------------------------------------------------------------- reads

  /** The value of key (a copy), or undefined if it is not set. */
  async get(key: Uint8Array, options?: ReadOptions): Promise<Buffer | undefined> {
    this.checkOpen();
    checkBytes('key', key);
    // A read at a snapshot does not wait for a turn: its caller may release the snapshot right after
    // calling get(), and the read must have taken its sequence by then.
    if (options?.snapshot === undefined && this.loopTurns.due()) {
      await this.loopTurns.turn();
      this.checkOpen();
    }
    const seq = options?.snapshot === undefined ? this.versions.lastSequence : this.snapshots.sequenceOf(options.snapshot);
    let r = this.mem.get(key, seq) ?? this.imm?.get(key, seq);
    if (r !== undefined) return r.kind === 'value' ? Buffer.from(r.value) : undefined;
    const version = this.versions.current;
    if (version.numFiles(0) === 0 && version.files.every((f) => f.length === 0)) return undefined;
    const lookupKey = makeLookupKey(key, seq);
    // Tables already open are searched in this task (no await, no ref: nothing can install a new
    // Version and delete files before it returns).
    const found = version.getIfOpen(lookupKey, key, this.icmp, this.tableCache);
    if (found?.kind !== 'open') return found?.kind === 'value' ? found.value : undefined;
    version.ref();
    try {
      r = await version.get(lookupKey, key, this.icmp, this.tableCache);
    } finally {
      version.unref();
    }
    return r?.kind === 'value' ? r.value : undefined;
  }

  /** A frozen view of the current state for get() and iterator(); release() it when done. */
  snapshot(): Snapshot {
    this.checkOpen();
    return this.snapshots.create(this.versions.lastSequence);
  }

  /** An async iterator of [key, value] over a range; see IteratorOptions. */
  iterator(options?: IteratorOptions): DBIterator {
    this.checkOpen();
    const opts = checkIteratorOptions(options);
    const view = this.captureView(opts.snapshot, scanBounds(opts));
    const it: DBIterator = new DBIterator(
      {
        open: view.open,
        onClose: () => {
          this.iterators.delete(it);
          view.done();
        },
      },
      this.ucmp,
      opts,
    );
    this.iterators.add(it);
    return it;
  }

  /**
   * @internal The synchronous user-key iterator under iterator(), for the shared iterator suite.
   * close() it when done.
   */
  async internalIterator(options?: ReadOptions): Promise<{ iter: InternalIterator; close: () => void }> {
    this.checkOpen();
    const view = this.captureView(options?.snapshot);
    try {
      const { iter, release } = await view.open();
      return {
        iter,
        close: () => {
          release();
          view.done();
        },
      };
    } catch (err) {
      view.done();
      throw err;
    }
  }

  /**
   * Pins what an iterator reads — the sequence, both memtables and the current Version — right now;
   * open() builds the merged iterator (opening and pinning the tables), done() unpins the Version.
   */
  private captureView(snapshot: Snapshot | undefined, bounds: ScanBounds = { iter: {}, files: {} }): {
    open: () => Promise<{ iter: DBIter; release: () => void }>;
    done: () => void;
  } {
    const seq = snapshot === undefined ? this.versions.lastSequence : this.snapshots.sequenceOf(snapshot);
    const mem = this.mem;
    const imm = this.imm;
    const version = this.versions.current;
    version.ref();
    let done = false;
    return {
      open: async () => {
        const { iters, handles } = await version.iterators(this.icmp, this.tableCache, bounds.files);
        const children = [mem.iterator()];
        if (imm !== undefined) children.push(imm.iterator());
        children.push(...iters);
        return {
          iter: new DBIter(newMergingIterator(this.icmp, children), this.ucmp, seq, bounds.iter),
          release: () => {
            for (const h of handles) this.tableCache.release(h);
          },
        };
      },
      done: () => {
        if (done) return;
        done = true;
        version.unref();
      },
    };
  }

  /** A memtable whose key filter is 1/64 of the write buffer (~15 bits per key at db_bench sizes). */
  private newMemtable(): Memtable {
    return new Memtable(this.icmp, { filterBytes: this.o.writeBufferSize >>> 6 });
  }

  /** Counters and the level layout, for tests and monitoring. */
  stats(): DBStats {
    const v = this.versions.current;
    const c = this.counters;
    const written = c.flushBytesWritten + c.compactionBytesWritten;
    return {
      levelFiles: v.files.map((f) => f.length),
      levelBytes: v.files.map((f) => totalBytes(f)),
      ...c,
      stallCount: c.writeStalls + c.slowdowns + c.stops,
      writeAmplification: c.userBytesWritten === 0 ? 0 : written / c.userBytesWritten,
      queuedWriteBytes: this.queuedBytes,
    };
  }

  /** "L0: 12 11" — the current version's files per level. */
  describeVersion(): string {
    return this.versions.current.describe();
  }

  /** Resolves when no memtable flush (nor the file deletion after it) is in progress. */
  async waitForFlush(): Promise<void> {
    while (this.flushing !== undefined || this.deleting !== undefined) {
      if (this.flushing !== undefined) await this.flushing;
      else await this.deleting?.catch(() => {});
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Waits for queued writes and a running flush, closes open iterators (their next() then rejects with
   * ClosedError), syncs and closes the WAL and manifest, and releases the LOCK. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.background?.beginShutdown(); // a running compaction stops at its next slice
    while (this.writeLoop !== undefined) await this.writeLoop;
    while (this.flushing !== undefined) await this.flushing;
    while (this.compacting !== undefined) await this.compacting; // it stops at its next yield
    await this.background?.close();
    for (const it of [...this.iterators]) it.closeForDb();
    this.snapshots.releaseAll();
    await this.deleting?.catch(() => {});
    let firstError: unknown;
    if (this.bgError === undefined) {
      try {
        await this.log?.sync();
      } catch (err) {
        firstError = err;
      }
    }
    await this.logFile?.close().catch(() => {});
    await this.versions.close().catch(() => {});
    this.tableCache.close();
    await this.lock.release().catch((err: unknown) => {
      firstError ??= err;
    });
    if (firstError !== undefined) throw asError(firstError);
  }

  private async abortOpen(): Promise<void> {
    this.closed = true;
    await this.background?.close();
    await this.logFile?.close().catch(() => {});
    await this.versions.close().catch(() => {});
    this.tableCache.close();
    await this.lock.release().catch(() => {});
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('database is closed');
  }

  // ---------------------------------------------------------------- recovery and file hygiene

  private async recover(): Promise<void> {
    const { fs, logger } = this.o;
    if (!(await fs.exists(joinPath(this.dir, CURRENT_FILE)))) {
      if (!this.o.createIfMissing) throw new InvalidArgumentError(`${this.dir}: no database here (createIfMissing is false)`);
      await this.versions.create();
    } else if (this.o.errorIfExists) {
      throw new InvalidArgumentError(`${this.dir}: a database exists already (errorIfExists)`);
    }
    await this.versions.recover();

    const names = await fs.list(this.dir);
    const present = new Set<number>();
    const logs: number[] = [];
    for (const name of names) {
      const p = parseFileName(name);
      // A number already on disk is never given to a new file: a table written before a crash but never
      // logged in the manifest (its number above the recorded next one) would otherwise share its name
      // with a new table, and the sweep that deletes the orphan could delete the new table instead.
      if (p !== undefined) this.versions.markFileNumberUsed(p.number);
      if (p?.kind === 'table') present.add(p.number);
      if (p?.kind === 'log' && p.number >= this.versions.logNumber) logs.push(p.number);
    }
    for (const [, f] of this.versions.current.allFiles()) {
      if (!present.has(f.number)) throw new CorruptionError('table listed in the manifest is missing', joinPath(this.dir, tableFileName(f.number)));
    }
    logs.sort((a, b) => a - b);
    const edit = new VersionEdit();
    for (const n of logs) await this.replayLog(n, edit);
    const number = this.versions.newFileNumber();
    this.logFile = await fs.openWritable(joinPath(this.dir, logFileName(number)));
    await fs.syncDir(this.dir);
    this.log = new LogWriter(this.logFile);
    this.logNumber = number;
    edit.logNumber = number;
    await this.versions.logAndApply(edit);
    for (const n of edit.newFiles) this.pendingOutputs.delete(n.file.number);
    if (logs.length > 0) logger.info('recovered write-ahead logs', { dir: this.dir, logs: logs.map(logFileName), tables: edit.newFiles.length });
    this.ready = true;
    await fs.remove(joinPath(this.dir, CURRENT_TMP_FILE));
    await this.deleteObsoleteFiles();
    this.maybeScheduleCompaction();
  }

  /** Replays one WAL into memtables written as L0 tables (added to `edit`). */
  private async replayLog(number: number, edit: VersionEdit): Promise<void> {
    const path = joinPath(this.dir, logFileName(number));
    const reader = await openLogReader(this.o.fs, path, {
      salvage: this.o.salvage,
      reporter: (bytes, reason) => this.o.logger.warn('WAL recovery dropped bytes', { file: path, bytes, reason }),
    });
    let mem: Memtable | undefined;
    let bytes = 0;
    for (let rec = reader.readRecord(); rec !== undefined; rec = reader.readRecord()) {
      let batch: WriteBatch;
      try {
        batch = WriteBatch.decode(rec);
      } catch (err) {
        const msg = `bad write batch in WAL: ${asError(err).message}`;
        if (!this.o.salvage) throw new CorruptionError(msg, path, reader.lastRecordOffset);
        this.o.logger.warn('WAL recovery skipped a record', { file: path, offset: reader.lastRecordOffset, reason: msg });
        continue;
      }
      const count = batch.count();
      if (count === 0) continue;
      mem ??= this.newMemtable();
      bytes += this.insertInto(mem, batch, batch.sequence);
      const last = batch.sequence + count - 1;
      if (last > this.versions.lastSequence) this.versions.lastSequence = last;
      if (bytes >= this.o.writeBufferSize) {
        await this.writeLevel0(mem, edit);
        mem = undefined;
        bytes = 0;
      }
    }
    if (mem !== undefined) await this.writeLevel0(mem, edit);
  }

  private scheduleDeleteObsolete(): void {
    this.deleteObsoleteFiles().catch((err: unknown) =>
      this.o.logger.warn('deleting obsolete files failed', { dir: this.dir, error: asError(err).message }),
    );
  }

  /** Deletes WALs, tables and manifests that nothing references any more. Runs one pass at a time. */
  private deleteObsoleteFiles(): Promise<void> {
    if (this.deleting !== undefined) {
      this.deleteAgain = true;
      return this.deleting;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.deleteAgain = false;
          await this.deleteObsoleteOnce();
        } while (this.deleteAgain && !this.closed);
      } finally {
        this.deleting = undefined;
      }
    };
    this.deleting = run();
    return this.deleting;
  }

  private async deleteObsoleteOnce(): Promise<void> {
    const names = await this.o.fs.list(this.dir);
    // Computed after the listing: a table created since is in pendingOutputs or a live version.
    const live = this.versions.liveFiles();
    for (const n of this.pendingOutputs) live.add(n);
    for (const name of names) {
      const p = parseFileName(name);
      if (p === undefined) continue;
      let keep: boolean;
      switch (p.kind) {
        case 'log':
          keep = p.number >= this.versions.logNumber;
          break;
        case 'table':
          keep = live.has(p.number);
          break;
        case 'manifest':
          keep = this.versions.isLiveManifest(p.number);
          break;
        default:
          keep = true;
      }
      if (keep) continue;
      if (p.kind === 'table') this.tableCache.evict(p.number);
      await this.o.fs.remove(joinPath(this.dir, name));
    }
  }
}
