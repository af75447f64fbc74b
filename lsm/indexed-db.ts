/**
 * Secondary indexes over one DB. An index is a function from (key, value) to zero or more index keys;
 * `indexIterator(name, range)` walks an index in index-key order (then primary-key order) and yields
 * each live entry with its primary record. Primary records and index entries live in the same DB in
 * disjoint namespaces (lsm/index-format.ts, lsm/FORMAT.md "Secondary indexes").
 *
 * Consistency. A write's primary records and all its index changes go into ONE WriteBatch, so one WAL
 * record: they are applied together, also across a crash. To know which old entries an overwrite or a
 * delete makes stale, the writer reads the key's current value first (read-before-write), under a
 * per-key lock (lsm/index-locks.ts) held from that read until its batch is applied, so two writers of a
 * key cannot both read the same old value; writers of different keys still share the group commit.
 * Why read-before-write and not lazy validation at read time (write blindly, drop stale entries when a
 * scan meets them): the cluster reads the old record anyway for last-write-wins, stale entries would
 * pile up until a cleanup, and a Merkle tree over a partition wants a scan with no garbage to skip.
 *
 * The set of indexes is fixed at open and recorded in a metadata key. Opening with an index added
 * backfills it from the primary records before open() resolves; with an index removed deletes its
 * entries; both are logged when they start, every 10 s while they run and when they end. Index
 * functions must be deterministic (the old entries are found by running the function on the old
 * value). The DB must be written only through this class.
 */
import { DB, type DBStats, type ReadOptions, type WriteOptions } from './db.js';
import { checkIteratorOptions } from './db-iterator.js';
import { ClosedError, IndexFunctionError, IndexUnknownError, InvalidArgumentError } from './errors.js';
import {
  META_KEY,
  checkIndexName,
  decodeMeta,
  encodeIndexEntryKey,
  encodeMeta,
  encodePrimaryKey,
  indexBounds,
  indexPrefix,
  prefixEnd,
  primaryBounds,
  type KeyBounds,
} from './index-format.js';
import { CoverIterator, IndexIterator, PrimaryIterator } from './index-iterator.js';
import { KeyLocks } from './index-locks.js';
import { resolveOptions, type DBOptions, type Logger } from './options.js';
import type { Snapshot } from './snapshot.js';
import { WriteBatch } from './write-batch.js';

/** Index keys of a record; must depend on (key, value) only. An empty array: the record is not indexed. */
export type IndexFunction = (key: Buffer, value: Buffer) => readonly Uint8Array[];

/**
 * A covering index: each entry also stores `cover(key, value)`, a few bytes of the record (say, its
 * version), so that coverIterator() answers from the index alone, without reading the records. The
 * cover must depend on (key, value) only. Giving an index a cover, or changing it, needs a new index
 * name (the old entries hold the old covers), as changing its key function does.
 */
export interface CoveringIndex {
  keys: IndexFunction;
  cover: (key: Buffer, value: Buffer) => Uint8Array;
}

export interface IndexedDBOptions extends DBOptions {
  /** The indexes, by name (1–255 UTF-8 bytes). Fixed while the store is open. */
  indexes: Record<string, IndexFunction | CoveringIndex>;
}

export type IndexedWrite = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

export interface PrimaryIteratorOptions extends KeyBounds {
  reverse?: boolean;
  limit?: number;
  snapshot?: Snapshot;
}

/** Bounds are on index keys; limit counts index entries. */
export type IndexIteratorOptions = PrimaryIteratorOptions;

interface Index {
  name: string;
  prefix: Buffer;
  fn: IndexFunction;
  cover: CoveringIndex['cover'] | undefined;
}

/** A record's entries in one index: its distinct index keys by latin1 id, and the value they store. */
interface Entries {
  keys: Map<string, Buffer>;
  value: Buffer;
}

/** Rows of a backfill or an index removal per batch. */
const REBUILD_BATCH = 1000;
/** A backfill or removal still running logs how far it got this often, so a big store's open is not silent. */
const REBUILD_PROGRESS_MS = 10_000;
const EMPTY = Buffer.alloc(0);

function checkBytes(what: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array or Buffer`);
  return v;
}

function checkSync(options: WriteOptions | undefined): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('write options must be an object');
  if (options.sync !== undefined && typeof options.sync !== 'boolean') throw new InvalidArgumentError('sync must be a boolean');
  return options.sync ?? false;
}

const id = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** The record's distinct keys in `index`, by their latin1 id; IndexFunctionError if the function misbehaves. */
function keysOf(index: Index, key: Buffer, value: Buffer): Map<string, Buffer> {
  let keys: unknown;
  try {
    keys = index.fn(key, value);
  } catch (err) {
    throw new IndexFunctionError(`index function ${index.name} threw for key ${key.toString('hex').slice(0, 80)}`, { cause: err });
  }
  if (!Array.isArray(keys)) throw new IndexFunctionError(`index function ${index.name} returned ${typeof keys}, not an array`);
  const m = new Map<string, Buffer>();
  for (const k of keys as unknown[]) {
    if (!(k instanceof Uint8Array)) throw new IndexFunctionError(`index function ${index.name} returned an index key that is not a Uint8Array`);
    m.set(id(k), Buffer.from(k));
  }
  return m;
}

/** The record's entries in `index`; the cover only if `withCover` (an old value's entries are only deleted). */
function entriesOf(index: Index, key: Buffer, value: Buffer, withCover: boolean): Entries {
  const keys = keysOf(index, key, value);
  if (!withCover || index.cover === undefined || keys.size === 0) return { keys, value: EMPTY };
  let cover: unknown;
  try {
    cover = index.cover(key, value);
  } catch (err) {
    throw new IndexFunctionError(`cover function of index ${index.name} threw for key ${key.toString('hex').slice(0, 80)}`, { cause: err });
  }
  if (!(cover instanceof Uint8Array)) throw new IndexFunctionError(`cover function of index ${index.name} returned ${typeof cover}, not a Uint8Array`);
  return { keys, value: Buffer.from(cover) };
}

export class IndexedDB {
  private readonly locks = new KeyLocks();
  private closed = false;

  private constructor(
    private readonly db: DB,
    private readonly indexes: Map<string, Index>,
    private readonly logger: Logger,
  ) {}

  /** Opens the store in `dir`, backfilling indexes added and dropping indexes removed since last open. */
  static async open(dir: string, options: IndexedDBOptions): Promise<IndexedDB> {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
    const { indexes: declared, ...dbOptions } = options;
    if (declared === null || typeof declared !== 'object') throw new InvalidArgumentError('options.indexes must be an object of index functions');
    const indexes = new Map<string, Index>();
    for (const [name, decl] of Object.entries(declared)) {
      const covering = decl !== null && typeof decl === 'object';
      const fn: unknown = covering ? decl.keys : decl;
      const cover: unknown = covering ? decl.cover : undefined;
      if (typeof fn !== 'function') throw new InvalidArgumentError(`index ${name} must be a function, or { keys, cover } functions`);
      if (covering && typeof cover !== 'function') throw new InvalidArgumentError(`index ${name}: cover must be a function`);
      indexes.set(checkIndexName(name), { name, prefix: indexPrefix(name), fn: fn as IndexFunction, cover: cover as Index['cover'] });
    }
    const logger = resolveOptions(dbOptions).logger;
    const db = await DB.open(dir, dbOptions);
    const store = new IndexedDB(db, indexes, logger);
    try {
      await store.reconcileIndexes();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  /** Names of the indexes, in declaration order. */
  get indexNames(): string[] {
    return [...this.indexes.keys()];
  }

  // ---------------------------------------------------------------- writes

  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void> {
    return this.write([{ type: 'put', key, value }], options);
  }

  del(key: Uint8Array, options?: WriteOptions): Promise<void> {
    return this.write([{ type: 'del', key }], options);
  }

  /** Makes every write acknowledged so far durable (one WAL fdatasync; none if nothing is unsynced). */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('database is closed'));
    return this.db.sync();
  }

  /**
   * Applies the operations atomically, with their index changes, in one WAL record. A later operation
   * on a key overrides an earlier one in the same call. Throws IndexFunctionError (nothing written) if
   * an index function throws or returns something other than an array of byte strings.
   */
  async write(ops: readonly IndexedWrite[], options?: WriteOptions): Promise<void> {
    if (this.closed) throw new ClosedError('database is closed');
    if (!Array.isArray(ops)) throw new InvalidArgumentError('write() takes an array of { type, key, value } operations');
    const sync = checkSync(options);
    const finals = new Map<string, { key: Buffer; value: Buffer | undefined }>();
    for (const op of ops as unknown[]) {
      if (op === null || typeof op !== 'object') throw new InvalidArgumentError('each operation must be an object');
      const o = op as IndexedWrite;
      const key = Buffer.from(checkBytes('key', o.key));
      if (o.type === 'put') finals.set(id(key), { key, value: Buffer.from(checkBytes('value', o.value)) });
      else if (o.type === 'del') finals.set(id(key), { key, value: undefined });
      else throw new InvalidArgumentError(`operation type must be 'put' or 'del', got ${String((o as { type: unknown }).type)}`);
    }
    if (finals.size === 0) return; // nothing to apply: no engine write (and no empty WAL record)
    const plans = [...finals.values()].map((f) => ({ ...f, next: f.value === undefined ? undefined : this.entriesOf(f.key, f.value, true) }));
    const release = await this.locks.acquire(plans.map((p) => p.key));
    try {
      const olds = await Promise.all(plans.map((p) => this.db.get(encodePrimaryKey(p.key))));
      const batch = new WriteBatch();
      plans.forEach((p, i) => this.addChanges(batch, p.key, olds[i], p.value, p.next));
      await this.db.writeOwned(batch, { sync });
    } finally {
      release();
    }
  }

  /**
   * Read-modify-write of one key under its lock, with one read: `decide` gets the stored value
   * (undefined if none) and returns the value to store, or undefined to leave the key as it is.
   * Resolves true if it stored one. `decide` runs synchronously between the read and the write, and
   * may throw (nothing is written). The value it returns is copied before the write is awaited.
   */
  async update(key: Uint8Array, decide: (old: Buffer | undefined) => Uint8Array | undefined, options?: WriteOptions): Promise<boolean> {
    if (this.closed) throw new ClosedError('database is closed');
    if (typeof decide !== 'function') throw new InvalidArgumentError('update() takes a function deciding the new value');
    const sync = checkSync(options);
    const k = Buffer.from(checkBytes('key', key));
    const release = await this.locks.acquire([k]);
    try {
      const old = await this.db.get(encodePrimaryKey(k));
      const decided = decide(old);
      if (decided === undefined) return false;
      const value = Buffer.from(checkBytes('value', decided).buffer, decided.byteOffset, decided.length);
      const batch = new WriteBatch(k.length + value.length + 64);
      this.addChanges(batch, k, old, value, this.entriesOf(k, value, true));
      await this.db.writeOwned(batch, { sync });
      return true;
    } finally {
      release();
    }
  }

  /**
   * Adds to `batch` the primary record of key (value, or a delete) and its index entries' changes. An
   * entry both values have is left alone, unless its index has a cover: the new value's cover replaces it.
   */
  private addChanges(batch: WriteBatch, key: Buffer, old: Buffer | undefined, value: Buffer | undefined, next: Entries[] | undefined): void {
    const before = old === undefined ? undefined : this.entriesOf(key, old, false);
    let j = 0;
    for (const index of this.indexes.values()) {
      const was = before?.[j]?.keys;
      const now = next?.[j];
      j++;
      if (was !== undefined) for (const [k, ik] of was) if (now?.keys.has(k) !== true) batch.del(encodeIndexEntryKey(index.prefix, ik, key));
      if (now !== undefined) {
        for (const [k, ik] of now.keys) if (index.cover !== undefined || was?.has(k) !== true) batch.put(encodeIndexEntryKey(index.prefix, ik, key), now.value);
      }
    }
    if (value === undefined) batch.del(encodePrimaryKey(key));
    else batch.put(encodePrimaryKey(key), value);
  }

  /** Per index (declaration order), the record's entries; their covers only if `withCover`. */
  private entriesOf(key: Buffer, value: Buffer, withCover: boolean): Entries[] {
    return [...this.indexes.values()].map((index) => entriesOf(index, key, value, withCover));
  }

  // ---------------------------------------------------------------- reads

  /** The record of key (a copy), or undefined. */
  get(key: Uint8Array, options?: ReadOptions): Promise<Buffer | undefined> {
    return this.db.get(encodePrimaryKey(checkBytes('key', key)), options);
  }

  snapshot(): Snapshot {
    return this.db.snapshot();
  }

  /** [key, value] of primary records in key order; bounds are on primary keys. */
  iterator(options?: PrimaryIteratorOptions): PrimaryIterator {
    const o = checkIteratorOptions(options);
    return new PrimaryIterator(this.db.iterator({ ...primaryBounds(o), reverse: o.reverse, limit: o.limit, snapshot: o.snapshot }));
  }

  /**
   * { indexKey, key, value } of index `name` in (indexKey, key) order, all read at one snapshot (the
   * caller's, or one taken now): every entry is live and its record is the current one at that snapshot.
   */
  indexIterator(name: string, options?: IndexIteratorOptions): IndexIterator {
    const index = this.indexes.get(name);
    if (index === undefined) throw new IndexUnknownError(`no index named ${JSON.stringify(name)} (declared: ${this.indexNames.join(', ') || 'none'})`);
    const o = checkIteratorOptions(options);
    const snapshot = o.snapshot ?? this.db.snapshot();
    try {
      const inner = this.db.iterator({ ...indexBounds(index.prefix, o), reverse: o.reverse, limit: o.limit, snapshot });
      return new IndexIterator(this.db, inner, index.prefix, snapshot, o.snapshot === undefined);
    } catch (err) {
      if (o.snapshot === undefined) snapshot.release();
      throw err;
    }
  }

  /**
   * { indexKey, key, cover } of covering index `name` in (indexKey, key) order: the entries alone, no
   * record read, so a scan costs only the index's own (small) blocks. Each cover is the one of the record
   * current at the iterator's snapshot (an entry and its record are written in one batch).
   */
  coverIterator(name: string, options?: IndexIteratorOptions): CoverIterator {
    const index = this.indexes.get(name);
    if (index === undefined) throw new IndexUnknownError(`no index named ${JSON.stringify(name)} (declared: ${this.indexNames.join(', ') || 'none'})`);
    if (index.cover === undefined) throw new InvalidArgumentError(`index ${JSON.stringify(name)} has no cover: read it with indexIterator()`);
    const o = checkIteratorOptions(options);
    return new CoverIterator(this.db.iterator({ ...indexBounds(index.prefix, o), reverse: o.reverse, limit: o.limit, ...(o.snapshot === undefined ? {} : { snapshot: o.snapshot }) }), index.prefix);
  }

  // ---------------------------------------------------------------- maintenance

  stats(): DBStats {
    return this.db.stats();
  }

  /** Compacts the whole store (primary records and index entries) down the levels. */
  compactRange(): Promise<void> {
    return this.db.compactRange();
  }

  close(): Promise<void> {
    this.closed = true;
    return this.db.close();
  }

  /**
   * Brings the stored index entries in line with the declared indexes. A new index's range is cleared
   * first (leftovers of a backfill cut short by a crash), then filled from the primary records; the
   * metadata key is written last, synced, so the change counts only once all of it is in the log.
   */
  private async reconcileIndexes(): Promise<void> {
    const meta = await this.db.get(META_KEY);
    let stored: string[] = [];
    if (meta !== undefined) {
      stored = decodeMeta(meta);
    } else {
      for await (const [k] of this.db.iterator({ limit: 1 })) {
        throw new InvalidArgumentError(`the directory holds a database not written by IndexedDB (key ${k.toString('hex').slice(0, 40)})`);
      }
    }
    const declared = this.indexNames;
    const removed = stored.filter((n) => !this.indexes.has(n));
    const added = declared.filter((n) => !stored.includes(n));
    if (meta !== undefined && removed.length === 0 && added.length === 0) return;
    for (const name of removed) {
      this.logger.info('removing an index: deleting its entries', { index: name });
      const progress = new RebuildProgress(this.logger, 'removing an index', name);
      const deleted = await this.clearRange(indexPrefix(name), progress);
      this.logger.info('index removed: its entries were deleted', { index: name, entries: deleted, ms: progress.ms() });
    }
    for (const name of added) {
      const index = this.indexes.get(name)!;
      // Open waits for this: on a big store it reads every record once, which can take minutes.
      this.logger.info('adding an index: building it from every primary record before the store opens', { index: name });
      const progress = new RebuildProgress(this.logger, 'adding an index', name);
      await this.clearRange(index.prefix, progress);
      const entries = await this.backfill(index, progress);
      this.logger.info('index added: built from the primary records', { index: name, records: progress.records, entries, ms: progress.ms() });
    }
    await this.db.put(META_KEY, encodeMeta(declared), { sync: true });
  }

  private async clearRange(prefix: Buffer, progress: RebuildProgress): Promise<number> {
    let n = 0;
    let batch = new WriteBatch();
    for await (const [k] of this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
      batch.del(k);
      if (++n % REBUILD_BATCH === 0) {
        await this.db.write(batch);
        batch = new WriteBatch();
        progress.report({ deleted: n });
      }
    }
    if (batch.count() > 0) await this.db.write(batch);
    return n;
  }

  private async backfill(index: Index, progress: RebuildProgress): Promise<number> {
    let n = 0;
    let batch = new WriteBatch();
    for await (const [key, value] of this.iterator()) {
      progress.records++;
      const entries = entriesOf(index, key, value, true);
      for (const ik of entries.keys.values()) {
        batch.put(encodeIndexEntryKey(index.prefix, ik, key), entries.value);
        if (++n % REBUILD_BATCH === 0) {
          await this.db.write(batch);
          batch = new WriteBatch();
          progress.report({ records: progress.records, entries: n });
        }
      }
    }
    if (batch.count() > 0) await this.db.write(batch);
    return n;
  }
}

/** Times an index's backfill or removal and logs how far it got every REBUILD_PROGRESS_MS. */
class RebuildProgress {
  /** Primary records read so far (a backfill counts them). */
  records = 0;
  private readonly started = performance.now();
  private nextReport = this.started + REBUILD_PROGRESS_MS;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly index: string,
  ) {}

  /** Called once per batch written: logs `counts` if the last report is REBUILD_PROGRESS_MS old. */
  report(counts: Record<string, number>): void {
    const now = performance.now();
    if (now < this.nextReport) return;
    this.nextReport = now + REBUILD_PROGRESS_MS;
    this.logger.info(`${this.what}: still working`, { index: this.index, ...counts, ms: Math.round(now - this.started) });
  }

  ms(): number {
    return Math.round(performance.now() - this.started);
  }
}
