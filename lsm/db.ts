/**
 * The database: ties the WAL, memtables, tables, manifest and caches into an engine.
 *
 *   DB.open(dir, options) -> get / put / del / write / snapshot / iterator / close
 *
 * Writes (group commit). Every write becomes a WriteBatch (a copy of the caller's bytes) queued as a
 * Writer. One write loop at a time takes the writers at the head of the queue — up to ~1 MiB of batches
 * — concatenates them into ONE batch, appends it as ONE WAL record and, if any writer asked for sync,
 * fdatasyncs ONCE; then it applies the batch to the memtable, publishes the new last sequence and
 * resolves every writer of the group. Writers that arrive while an append or sync is in flight form the
 * next group. A sync write therefore resolves only once its bytes (and everything logged before them)
 * are durable, and a group is one checksummed record: after a crash it is replayed whole or not at all.
 * Backpressure: each writer is one awaited promise; a caller that does not await can queue without
 * bound, as with any promise API, but the engine itself never buffers more than one memtable + one
 * immutable memtable.
 *
 * Memtable full (writeBufferSize, counted as the bytes inserted). The write loop syncs the current WAL,
 * starts a new one, freezes the memtable as `imm` and starts a background flush that writes `imm` as an
 * L0 table, records it (and the new log number) in the manifest, and deletes files nothing needs any
 * more. Writes go on into the new memtable meanwhile; if that one fills too while the flush runs, the
 * write loop waits for the flush (bounded memory).
 *
 * Reads look at the memtable, the immutable memtable, then the current Version (L0 newest first, then
 * one file per deeper level), all at one sequence number. A read or iterator references the Version it
 * uses; a file is deleted only when no live Version lists it.
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
import type { Comparator } from './comparator.js';
import { bytewiseComparator } from './comparator.js';
import { InternalKeyComparator, KIND_DELETION, KIND_VALUE, TRAILER_SIZE, makeLookupKey } from './dbformat.js';
import { DBIter } from './db-iter.js';
import { DBIterator, checkIteratorOptions, type IteratorOptions } from './db-iterator.js';
import { joinPath, type FileLock, type WritableFile } from './env.js';
import { ClosedError, CorruptionError, InvalidArgumentError, IOError } from './errors.js';
import type { InternalIterator } from './iterator.js';
import { LOCK_FILE, CURRENT_FILE, CURRENT_TMP_FILE, logFileName, parseFileName, tableFileName } from './filename.js';
import { Memtable } from './memtable.js';
import { newMergingIterator } from './merging-iterator.js';
import { resolveOptions, type DBOptions, type ResolvedOptions } from './options.js';
import { SnapshotList, type Snapshot } from './snapshot.js';
import { TableBuilder } from './table/table-builder.js';
import { TableCache } from './table-cache.js';
import { VersionEdit } from './version-edit.js';
import { VersionSet } from './version-set.js';
import { openLogReader } from './wal/log-reader.js';
import { LogWriter } from './wal/log-writer.js';
import { WriteBatch, type WriteBatchHandler } from './write-batch.js';

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
  /** WAL records written (one per group commit) and how many writers they carried. */
  walRecords: number;
  walSyncs: number;
  writers: number;
  flushes: number;
  /** Times the write loop waited for a flush because both memtables were full. */
  writeStalls: number;
}

interface Writer {
  batch: WriteBatch;
  sync: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Most bytes of batches coalesced into one WAL record (LevelDB's figure). */
const MAX_GROUP_BYTES = 1 << 20;
/** A small first batch only waits for up to this much more (keeps small writes' latency low). */
const SMALL_GROUP_EXTRA = 128 << 10;
/** Per-entry overhead counted on top of key and value bytes when sizing the memtable. */
const ENTRY_OVERHEAD = 32;
/** The flush hands table bytes to the file whenever this many are pending. */
const FLUSH_CHUNK = 1 << 20;
const EMPTY = new Uint8Array(0);

const userKeyOf = (ikey: Uint8Array): Uint8Array => ikey.subarray(0, ikey.length - TRAILER_SIZE);

/** Inserts a batch's entries into a memtable with consecutive sequence numbers; counts bytes. */
class MemtableInserter implements WriteBatchHandler {
  seq = 0;
  bytes = 0;
  mem!: Memtable;

  put(key: Uint8Array, value: Uint8Array): void {
    this.mem.add(this.seq++, KIND_VALUE, key, value);
    this.bytes += key.length + value.length + ENTRY_OVERHEAD;
  }

  del(key: Uint8Array): void {
    this.mem.add(this.seq++, KIND_DELETION, key, EMPTY);
    this.bytes += key.length + ENTRY_OVERHEAD;
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
  private mem: Memtable;
  private memBytes = 0;
  private imm: Memtable | undefined;
  private log: LogWriter | undefined;
  private logFile: WritableFile | undefined;
  private logNumber = 0;
  private readonly writers: Writer[] = [];
  private writeLoop: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private deleting: Promise<void> | undefined;
  private deleteAgain = false;
  private bgError: Error | undefined;
  private ready = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters = { walRecords: 0, walSyncs: 0, writers: 0, flushes: 0, writeStalls: 0 };

  private constructor(
    readonly dir: string,
    options: ResolvedOptions,
    private readonly lock: FileLock,
  ) {
    this.o = options;
    this.ucmp = bytewiseComparator;
    this.icmp = new InternalKeyComparator(this.ucmp);
    this.mem = new Memtable(this.icmp);
    this.versions = new VersionSet(options.fs, dir, this.icmp, options.logger, () => {
      if (this.ready && !this.closed) this.scheduleDeleteObsolete();
    });
    this.tableCache = new TableCache({
      fs: options.fs,
      dir,
      comparator: this.icmp,
      filterKey: userKeyOf,
      maxOpenFiles: options.maxOpenFiles,
      blockCacheSize: options.blockCacheSize,
      verifyChecksums: options.verifyChecksums,
      logger: options.logger,
    });
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
    const b = new WriteBatch(key.length + value.length + 32);
    b.put(key, value);
    return this.enqueue(b, sync);
  }

  async del(key: Uint8Array, options?: WriteOptions): Promise<void> {
    checkBytes('key', key);
    const sync = checkWriteOptions(options);
    const b = new WriteBatch(key.length + 32);
    b.del(key);
    return this.enqueue(b, sync);
  }

  /** Applies every entry of the batch atomically (also across a crash). The batch is copied. */
  async write(batch: WriteBatch, options?: WriteOptions): Promise<void> {
    if (!(batch instanceof WriteBatch)) throw new InvalidArgumentError('batch must be a WriteBatch');
    const sync = checkWriteOptions(options);
    const copy = new WriteBatch(batch.approximateSize());
    copy.append(batch);
    return this.enqueue(copy, sync);
  }

  private enqueue(batch: WriteBatch, sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('database is closed'));
    if (this.bgError !== undefined) return Promise.reject(this.bgError);
    return new Promise<void>((resolve, reject) => {
      this.writers.push({ batch, sync, resolve, reject });
      this.writeLoop ??= this.runWriteLoop();
    });
  }

  /** Commits groups of queued writers until the queue is empty. Never rejects. */
  private async runWriteLoop(): Promise<void> {
    try {
      while (this.writers.length > 0) {
        if (this.bgError !== undefined) {
          for (const w of this.writers.splice(0)) w.reject(this.bgError);
          break;
        }
        try {
          await this.makeRoomForWrite();
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
            await this.log!.addRecord(batch.encode());
            this.counters.walRecords++;
          }
          if (sync) {
            await this.log!.sync();
            this.counters.walSyncs++;
          }
        } catch (err) {
          this.setBgError(err, 'WAL write failed');
          for (const w of group) w.reject(this.bgError!);
          continue;
        }
        if (count > 0) {
          this.memBytes += this.insertInto(this.mem, batch, seq);
          this.versions.lastSequence = seq + count - 1;
        }
        this.counters.writers += group.length;
        for (const w of group) w.resolve();
      }
    } finally {
      this.writeLoop = undefined;
    }
  }

  /** The writers at the head of the queue that go into the next WAL record. */
  private takeGroup(): Writer[] {
    const first = this.writers[0]!;
    let size = first.batch.approximateSize();
    const max = size <= SMALL_GROUP_EXTRA ? size + SMALL_GROUP_EXTRA : MAX_GROUP_BYTES;
    let n = 1;
    while (n < this.writers.length) {
      const s = this.writers[n]!.batch.approximateSize();
      if (size + s > max) break;
      size += s;
      n++;
    }
    return this.writers.splice(0, n);
  }

  private insertInto(mem: Memtable, batch: WriteBatch, seq: number): number {
    const ins = this.inserter;
    ins.mem = mem;
    ins.seq = seq;
    ins.bytes = 0;
    batch.iterate(ins);
    return ins.bytes;
  }

  /**
   * Makes sure the memtable can take the next group: if it is full, switch to a new WAL and memtable
   * and flush the full one in the background — after waiting for the previous flush if there is one.
   */
  private async makeRoomForWrite(): Promise<void> {
    for (;;) {
      if (this.bgError !== undefined) throw this.bgError;
      if (this.memBytes < this.o.writeBufferSize || this.mem.count === 0) return;
      if (this.flushing !== undefined) {
        this.counters.writeStalls++;
        await this.flushing;
        continue;
      }
      await this.switchMemtable();
    }
  }

  private async switchMemtable(): Promise<void> {
    // Sync the old log first: after a crash the recovered state is then always a prefix of the
    // acknowledged writes, never later writes without earlier ones.
    await this.log!.sync();
    const number = this.versions.newFileNumber();
    const file = await this.o.fs.openWritable(joinPath(this.dir, logFileName(number)));
    await this.o.fs.syncDir(this.dir); // the new log's name must survive a crash before sync writes land in it
    const old = this.logFile!;
    this.logFile = file;
    this.log = new LogWriter(file);
    this.logNumber = number;
    this.imm = this.mem;
    this.mem = new Memtable(this.icmp);
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
    } catch (err) {
      this.setBgError(err, 'memtable flush failed');
    } finally {
      if (number !== undefined) this.pendingOutputs.delete(number);
      this.flushing = undefined;
    }
    if (this.bgError === undefined) this.scheduleDeleteObsolete();
  }

  /**
   * Writes a memtable's entries to a new L0 table, synced and named durably, and adds it to `edit`.
   * Returns the table's number (undefined if the memtable was empty).
   */
  private async writeLevel0(mem: Memtable, edit: VersionEdit): Promise<number | undefined> {
    if (mem.count === 0) return undefined;
    const number = this.versions.newFileNumber();
    this.pendingOutputs.add(number);
    const path = joinPath(this.dir, tableFileName(number));
    let file: WritableFile | undefined;
    try {
      file = await this.o.fs.openWritable(path);
      const builder = new TableBuilder(file, {
        comparator: this.icmp,
        blockSize: this.o.blockSize,
        bitsPerKey: this.o.bitsPerKey,
        filterKey: userKeyOf,
      });
      const it = mem.iterator();
      let n = 0;
      for (it.seekToFirst(); it.valid(); it.next()) {
        builder.add(it.key(), it.value());
        if (builder.pendingBytes >= FLUSH_CHUNK) await builder.flush();
        // Let foreground work in between: building a 4 MiB table is tens of milliseconds of CPU.
        if (++n % 4096 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const smallest = Buffer.from(builder.smallestKey()!);
      const largest = Buffer.from(builder.largestKey()!);
      await builder.finish();
      await file.sync();
      await file.close();
      file = undefined;
      await this.o.fs.syncDir(this.dir);
      edit.addFile(0, { number, size: builder.fileSize, smallest, largest });
      return number;
    } catch (err) {
      await file?.close().catch(() => {});
      await this.o.fs.remove(path).catch(() => {});
      this.pendingOutputs.delete(number);
      throw err;
    }
  }

  private setBgError(err: unknown, what: string): void {
    if (this.bgError !== undefined) return;
    this.bgError = asError(err);
    this.o.logger.error(`${what}; the database takes no more writes`, { dir: this.dir, error: this.bgError.message });
  }

  // ---------------------------------------------------------------- reads

  /** The value of key (a copy), or undefined if it is not set. */
  async get(key: Uint8Array, options?: ReadOptions): Promise<Buffer | undefined> {
    this.checkOpen();
    checkBytes('key', key);
    const seq = options?.snapshot === undefined ? this.versions.lastSequence : this.snapshots.sequenceOf(options.snapshot);
    let r = this.mem.get(key, seq) ?? this.imm?.get(key, seq);
    if (r !== undefined) return r.kind === 'value' ? Buffer.from(r.value) : undefined;
    const version = this.versions.current;
    if (version.numFiles(0) === 0 && version.files.every((f) => f.length === 0)) return undefined;
    version.ref();
    try {
      r = await version.get(makeLookupKey(key, seq), key, this.icmp, this.tableCache);
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
    const view = this.captureView(opts.snapshot);
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
  private captureView(snapshot: Snapshot | undefined): {
    open: () => Promise<{ iter: InternalIterator; release: () => void }>;
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
        const { iters, handles } = await version.iterators(this.icmp, this.tableCache);
        const children = [mem.iterator()];
        if (imm !== undefined) children.push(imm.iterator());
        children.push(...iters);
        return {
          iter: new DBIter(newMergingIterator(this.icmp, children), this.ucmp, seq),
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

  /** Counters and the level layout, for tests and monitoring. */
  stats(): DBStats {
    const v = this.versions.current;
    return { levelFiles: v.files.map((f) => f.length), ...this.counters };
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
    while (this.writeLoop !== undefined) await this.writeLoop;
    while (this.flushing !== undefined) await this.flushing;
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
      if (p?.kind === 'table') present.add(p.number);
      if (p?.kind === 'log' && p.number >= this.versions.logNumber) logs.push(p.number);
    }
    for (const [, f] of this.versions.current.allFiles()) {
      if (!present.has(f.number)) throw new CorruptionError('table listed in the manifest is missing', joinPath(this.dir, tableFileName(f.number)));
    }
    logs.sort((a, b) => a - b);
    const edit = new VersionEdit();
    for (const n of logs) {
      this.versions.markFileNumberUsed(n);
      await this.replayLog(n, edit);
    }
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
      mem ??= new Memtable(this.icmp);
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
