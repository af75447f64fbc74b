/**
 * The engine behind the Level ecosystem's interface (abstract-level v3), so that code written for
 * `level` / `classic-level` runs on it unchanged:
 *
 *   const db = new LsmLevel('./data', { valueEncoding: 'json' });
 *   await db.put('a', { x: 1 });
 *
 * abstract-level owns the public API: argument checks, encodings (the engine stores bytes; we declare
 * 'buffer' and 'view', everything else is transcoded to them), deferred open, sublevels, hooks, events,
 * the iterator limit and the busy/closed state machine. This file maps its private methods onto the
 * engine's public API and the engine's error codes onto the LEVEL_* codes.
 *
 * Snapshots. The engine's reads and iterators fix their sequence number synchronously when called,
 * which is what abstract-level's implicit snapshots require. An iterator takes an engine snapshot when
 * it is created (cheap: a sequence number in a set) because the engine's iterator closes itself at its
 * end while abstract-level lets a seek() after the end go on reading: the adapter then builds a new
 * engine iterator on the same snapshot. Explicit snapshots (db.snapshot()) wrap engine snapshots.
 *
 * Not supported: getSync (table reads are asynchronous in the engine).
 */
import {
  AbstractIterator,
  AbstractKeyIterator,
  AbstractLevel,
  AbstractSnapshot,
  AbstractValueIterator,
  type AbstractBatchOperation,
  type AbstractBatchOptions,
  type AbstractChainedBatch,
  type AbstractDatabaseOptions,
  type AbstractDelOptions,
  type AbstractPutOptions,
} from 'abstract-level';
import { DB } from './db.js';
import type { DBIterator, IteratorOptions } from './db-iterator.js';
import { LsmError } from './errors.js';
import type { DBOptions } from './options.js';
import type { Snapshot } from './snapshot.js';
import { WriteBatch } from './write-batch.js';

/**
 * Options of the constructor (and of open()): abstract-level's, plus any of the engine's DB.open()
 * options (writeBufferSize, blockCacheSize, ...), which are forwarded to the engine as they are.
 */
export type LsmLevelOptions<K, V> = AbstractDatabaseOptions<K, V> & Omit<DBOptions, 'createIfMissing' | 'errorIfExists'>;

/** Deletes of clear() go to the engine in batches of about this many bytes. */
const CLEAR_BATCH_BYTES = 256 << 10;
/** Entries an iterator's all() reads per engine round. */
const ALL_PAGE = 1000;

const LEVEL_CODES: Record<string, string> = {
  LSM_CORRUPTION: 'LEVEL_CORRUPTION',
  LSM_LOCKED: 'LEVEL_LOCKED',
  LSM_IO: 'LEVEL_IO_ERROR',
  LSM_CLOSED: 'LEVEL_DATABASE_NOT_OPEN',
};

/** An error with a LEVEL_* code; the engine's error, if any, is its cause. */
export class LevelError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = code === 'LEVEL_ABORTED' ? 'AbortError' : 'LevelError';
  }
}

/** The engine's typed errors as the Level ecosystem's codes; anything else passes through. */
function toLevelError(err: unknown): unknown {
  if (err instanceof LsmError) {
    const code = LEVEL_CODES[err.code];
    if (code !== undefined) return new LevelError(err.message, code, { cause: err });
  }
  return err;
}

/** What abstract-level passes to the private read methods. */
interface PrivateReadOptions {
  snapshot?: AbstractSnapshot | undefined;
}

interface PrivateWriteOptions {
  sync?: unknown;
}

/** Range options as abstract-level hands them to _iterator/_keys/_values/_clear: already encoded. */
interface PrivateRangeOptions extends PrivateReadOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse: boolean;
  /** -1: no limit. */
  limit: number;
  signal?: AbortSignal | undefined;
}

interface PrivateIteratorOptions extends PrivateRangeOptions {
  keys?: boolean;
  values?: boolean;
  keyEncoding: string;
  valueEncoding?: string;
}

interface PrivateBatchOperation {
  type: 'put' | 'del';
  key: Uint8Array;
  value?: Uint8Array;
}

/** The constructor's options merged with open()'s; abstract-level always sets the two booleans. */
interface PrivateOpenOptions extends DBOptions {
  createIfMissing: boolean;
  errorIfExists: boolean;
}

// abstract-level's .d.ts declares AbstractSnapshot without its constructor (it takes { owner }).
const SnapshotBase = AbstractSnapshot as unknown as new (options: object) => AbstractSnapshot;

/** An explicit snapshot: an engine snapshot, released when closed (also by db.close()). */
class LsmSnapshot extends SnapshotBase {
  constructor(
    options: object,
    readonly inner: Snapshot,
  ) {
    super(options);
  }

  _close(): Promise<void> {
    this.inner.release();
    return Promise.resolve();
  }
}

function syncOf(options: PrivateWriteOptions): { sync: boolean } | undefined {
  return options.sync === true ? { sync: true } : undefined;
}

/** The engine's range: where both are given, gte wins over gt and lte over lt (Level's rule). */
function rangeOf(o: PrivateRangeOptions): IteratorOptions {
  const r: IteratorOptions = { reverse: o.reverse };
  if (o.gte !== undefined) r.gte = o.gte;
  else if (o.gt !== undefined) r.gt = o.gt;
  if (o.lte !== undefined) r.lte = o.lte;
  else if (o.lt !== undefined) r.lt = o.lt;
  return r;
}

function abortError(): LevelError {
  return new LevelError('Operation has been aborted', 'LEVEL_ABORTED');
}

/**
 * The engine iterator under one adapter iterator: built on first read over a snapshot fixed at
 * creation, rebuilt (same snapshot) when seek() is called after the engine iterator reached its end.
 * Reads pages of entries for nextv()/all(); checks the abort signal after every engine step.
 */
class Cursor {
  private it: DBIterator | undefined;
  /** The engine iterator reached its end (and closed itself). */
  private ended = false;
  private seekTarget: Uint8Array | undefined;
  /** Our own engine snapshot for an implicit-snapshot iterator; released on close. */
  private readonly own: Snapshot | undefined;
  private readonly explicit: LsmSnapshot | undefined;
  private readonly range: IteratorOptions;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly engine: DB,
    options: PrivateRangeOptions,
  ) {
    this.range = rangeOf(options);
    this.signal = options.signal ?? undefined;
    if (options.snapshot instanceof LsmSnapshot) {
      // Opened lazily: a closed snapshot must fail the first read with LEVEL_SNAPSHOT_NOT_OPEN (which
      // abstract-level checks then), not the constructor.
      this.explicit = options.snapshot;
    } else {
      this.own = engine.snapshot();
    }
  }

  private open(): DBIterator {
    const snapshot = this.explicit !== undefined ? this.explicit.inner : this.own;
    const it = this.engine.iterator({ ...this.range, snapshot });
    if (this.seekTarget !== undefined) {
      it.seek(this.seekTarget);
      this.seekTarget = undefined;
    }
    this.it = it;
    this.ended = false;
    return it;
  }

  seek(target: Uint8Array): void {
    if (this.it !== undefined && !this.ended) {
      this.it.seek(target);
    } else {
      this.it = undefined;
      this.ended = false;
      this.seekTarget = target;
    }
  }

  /** Up to `size` entries; fewer (possibly none) only at the end. */
  async page(size: number): Promise<Array<[Buffer, Buffer]>> {
    if (this.ended) return [];
    try {
      // One engine call per page (not per entry): the engine fills it synchronously.
      const out = await (this.it ?? this.open()).nextv(size);
      if (this.signal?.aborted === true) throw abortError();
      if (out.length < size) this.ended = true;
      return out;
    } catch (err) {
      throw toLevelError(err);
    }
  }

  async one(): Promise<[Buffer, Buffer] | undefined> {
    if (this.ended) return undefined;
    try {
      const r = await (this.it ?? this.open()).next();
      if (this.signal?.aborted === true) throw abortError();
      if (r.done === true) {
        this.ended = true;
        return undefined;
      }
      return r.value;
    } catch (err) {
      throw toLevelError(err);
    }
  }

  /** The remaining entries, at most `max` (the iterator's limit minus what it returned so far). */
  async all(max: number): Promise<Array<[Buffer, Buffer]>> {
    const out: Array<[Buffer, Buffer]> = [];
    while (out.length < max) {
      const want = Math.min(ALL_PAGE, max - out.length);
      const p = await this.page(want);
      for (const e of p) out.push(e);
      if (p.length < want) break;
    }
    return out;
  }

  close(): Promise<void> {
    const it = this.it;
    this.it = undefined;
    this.ended = true;
    this.own?.release();
    return it === undefined ? Promise.resolve() : it.close();
  }
}

type Db = LsmLevel<unknown, unknown>;

export class LsmIterator extends AbstractIterator<Db, Uint8Array, Uint8Array> {
  private readonly cursor: Cursor;

  constructor(db: Db, engine: DB, options: PrivateIteratorOptions) {
    super(db, options);
    this.cursor = new Cursor(engine, options);
  }

  // abstract-level replaces the key or value by undefined when keys/values is false.
  _next(): Promise<[Buffer, Buffer] | undefined> {
    return this.cursor.one();
  }

  _nextv(size: number): Promise<Array<[Buffer, Buffer]>> {
    return this.cursor.page(size);
  }

  _all(): Promise<Array<[Buffer, Buffer]>> {
    return this.cursor.all(this.limit - this.count);
  }

  _seek(target: Uint8Array): void {
    this.cursor.seek(target);
  }

  _close(): Promise<void> {
    return this.cursor.close();
  }
}

export class LsmKeyIterator extends AbstractKeyIterator<Db, Uint8Array> {
  private readonly cursor: Cursor;

  constructor(db: Db, engine: DB, options: PrivateIteratorOptions) {
    super(db, options);
    this.cursor = new Cursor(engine, options);
  }

  async _next(): Promise<Buffer | undefined> {
    return (await this.cursor.one())?.[0];
  }

  async _nextv(size: number): Promise<Buffer[]> {
    return (await this.cursor.page(size)).map((e) => e[0]);
  }

  async _all(): Promise<Buffer[]> {
    return (await this.cursor.all(this.limit - this.count)).map((e) => e[0]);
  }

  _seek(target: Uint8Array): void {
    this.cursor.seek(target);
  }

  _close(): Promise<void> {
    return this.cursor.close();
  }
}

export class LsmValueIterator extends AbstractValueIterator<Db, Uint8Array, Uint8Array> {
  private readonly cursor: Cursor;

  constructor(db: Db, engine: DB, options: PrivateIteratorOptions) {
    super(db, options);
    this.cursor = new Cursor(engine, options);
  }

  async _next(): Promise<Buffer | undefined> {
    return (await this.cursor.one())?.[1];
  }

  async _nextv(size: number): Promise<Buffer[]> {
    return (await this.cursor.page(size)).map((e) => e[1]);
  }

  async _all(): Promise<Buffer[]> {
    return (await this.cursor.all(this.limit - this.count)).map((e) => e[1]);
  }

  _seek(target: Uint8Array): void {
    this.cursor.seek(target);
  }

  _close(): Promise<void> {
    return this.cursor.close();
  }
}

/** `sync: true` resolves only once the write is durable (fdatasync of the WAL), as in classic-level. */
export interface LsmWriteOptions {
  sync?: boolean | undefined;
}

/**
 * The public write methods with the `sync` option in their types. Declaration merging only widens
 * option types of methods AbstractLevel implements (and forwards options of) at run time.
 */
export interface LsmLevel<KDefault = string, VDefault = string> {
  put(key: KDefault, value: VDefault): Promise<void>;
  put<K = KDefault, V = VDefault>(key: K, value: V, options: AbstractPutOptions<K, V> & LsmWriteOptions): Promise<void>;
  del(key: KDefault): Promise<void>;
  del<K = KDefault>(key: K, options: AbstractDelOptions<K> & LsmWriteOptions): Promise<void>;
  batch(operations: Array<AbstractBatchOperation<this, KDefault, VDefault>>): Promise<void>;
  batch<K = KDefault, V = VDefault>(
    operations: Array<AbstractBatchOperation<this, K, V>>,
    options: AbstractBatchOptions<K, V> & LsmWriteOptions,
  ): Promise<void>;
  batch(): AbstractChainedBatch<this, KDefault, VDefault>;
}

/**
 * An abstract-level database over the LSM engine. `location` is the engine's directory; options are
 * abstract-level's (keyEncoding, valueEncoding, createIfMissing, errorIfExists) plus the engine's
 * (writeBufferSize, blockCacheSize, ...). put/del/batch take `{ sync: true }` for durable writes.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class LsmLevel<KDefault = string, VDefault = string> extends AbstractLevel<Buffer | Uint8Array, KDefault, VDefault> {
  private readonly dir: string;
  private db: DB | undefined;
  /** Reads and writes in flight: _close() waits for them before closing the engine. */
  private inflight = 0;
  private drained: (() => void) | undefined;

  constructor(location: string, options?: LsmLevelOptions<KDefault, VDefault>) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError("The first argument 'location' must be a non-empty string");
    }
    super(
      {
        encodings: { buffer: true, view: true },
        has: true,
        implicitSnapshots: true,
        explicitSnapshots: true,
        permanence: true,
        seek: true,
        createIfMissing: true,
        errorIfExists: true,
        signals: { iterators: true },
      },
      options,
    );
    this.dir = location;
  }

  get location(): string {
    return this.dir;
  }

  private get engine(): DB {
    // abstract-level only calls the private methods while the database is open.
    if (this.db === undefined) throw new LevelError('Database is not open', 'LEVEL_DATABASE_NOT_OPEN');
    return this.db;
  }

  async _open(options: PrivateOpenOptions): Promise<void> {
    try {
      // The engine takes the options it knows (and checks them); others (userland ones) it ignores.
      this.db = await DB.open(this.dir, options);
    } catch (err) {
      // The engine refuses both cases with InvalidArgumentError naming the option.
      if (err instanceof LsmError && err.code === 'LSM_INVALID_ARGUMENT') {
        if (!options.createIfMissing && err.message.includes('createIfMissing')) {
          throw new Error(`Database ${this.dir} does not exist (createIfMissing is false)`, { cause: err });
        }
        if (options.errorIfExists && err.message.includes('errorIfExists')) {
          throw new Error(`Database ${this.dir} exists already (errorIfExists is true)`, { cause: err });
        }
      }
      throw toLevelError(err);
    }
  }

  async _close(): Promise<void> {
    const db = this.db;
    if (db === undefined) return;
    while (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.db = undefined;
    try {
      await db.close();
    } catch (err) {
      throw toLevelError(err);
    }
  }

  private begin(): DB {
    const db = this.engine;
    this.inflight++;
    return db;
  }

  private end(): void {
    if (--this.inflight === 0 && this.drained !== undefined) {
      const d = this.drained;
      this.drained = undefined;
      d();
    }
  }

  private static snapshotOf(options: PrivateReadOptions): { snapshot: Snapshot } | undefined {
    const s = options.snapshot;
    return s instanceof LsmSnapshot ? { snapshot: s.inner } : undefined;
  }

  async _get(key: Uint8Array, options: PrivateReadOptions): Promise<Buffer | undefined> {
    const db = this.begin();
    try {
      return await db.get(key, LsmLevel.snapshotOf(options));
    } catch (err) {
      throw toLevelError(err);
    } finally {
      this.end();
    }
  }

  async _getMany(keys: Uint8Array[], options: PrivateReadOptions): Promise<Array<Buffer | undefined>> {
    const db = this.begin();
    // One engine snapshot for all keys, taken now (implicit snapshot semantics).
    const own = options.snapshot instanceof LsmSnapshot ? undefined : db.snapshot();
    const ro = own !== undefined ? { snapshot: own } : LsmLevel.snapshotOf(options);
    try {
      return await Promise.all(keys.map((k) => db.get(k, ro)));
    } catch (err) {
      throw toLevelError(err);
    } finally {
      own?.release();
      this.end();
    }
  }

  // The engine has no existence check that skips copying the value; get() stands in for it.
  async _has(key: Uint8Array, options: PrivateReadOptions): Promise<boolean> {
    return (await this._get(key, options)) !== undefined;
  }

  async _hasMany(keys: Uint8Array[], options: PrivateReadOptions): Promise<boolean[]> {
    return (await this._getMany(keys, options)).map((v) => v !== undefined);
  }

  async _put(key: Uint8Array, value: Uint8Array, options: PrivateWriteOptions): Promise<void> {
    const db = this.begin();
    try {
      await db.put(key, value, syncOf(options));
    } catch (err) {
      throw toLevelError(err);
    } finally {
      this.end();
    }
  }

  async _del(key: Uint8Array, options: PrivateWriteOptions): Promise<void> {
    const db = this.begin();
    try {
      await db.del(key, syncOf(options));
    } catch (err) {
      throw toLevelError(err);
    } finally {
      this.end();
    }
  }

  async _batch(operations: PrivateBatchOperation[], options: PrivateWriteOptions): Promise<void> {
    const db = this.begin();
    try {
      let size = 0;
      for (const op of operations) size += op.key.length + (op.value?.length ?? 0) + 8;
      const batch = new WriteBatch(size + 16);
      for (const op of operations) {
        if (op.type === 'put') batch.put(op.key, op.value!);
        else batch.del(op.key);
      }
      await db.write(batch, syncOf(options));
    } catch (err) {
      throw toLevelError(err);
    } finally {
      this.end();
    }
  }

  /** Deletes the range through an engine iterator (a snapshot of now) in batches. Not atomic. */
  async _clear(options: PrivateRangeOptions & PrivateWriteOptions): Promise<void> {
    const db = this.begin();
    try {
      const snap = LsmLevel.snapshotOf(options);
      const it = db.iterator({ ...rangeOf(options), limit: options.limit, ...snap });
      let batch = new WriteBatch(CLEAR_BATCH_BYTES + 1024);
      try {
        for await (const [key] of it) {
          batch.del(key);
          if (batch.approximateSize() >= CLEAR_BATCH_BYTES) {
            await db.write(batch, syncOf(options));
            batch = new WriteBatch(CLEAR_BATCH_BYTES + 1024);
          }
        }
      } finally {
        await it.close();
      }
      if (batch.count() > 0) await db.write(batch, syncOf(options));
    } catch (err) {
      throw toLevelError(err);
    } finally {
      this.end();
    }
  }

  _iterator(options: PrivateIteratorOptions): LsmIterator {
    return new LsmIterator(this as Db, this.engine, options);
  }

  _keys(options: PrivateIteratorOptions): LsmKeyIterator {
    return new LsmKeyIterator(this as Db, this.engine, options);
  }

  _values(options: PrivateIteratorOptions): LsmValueIterator {
    return new LsmValueIterator(this as Db, this.engine, options);
  }

  _snapshot(options: object): AbstractSnapshot {
    return new LsmSnapshot(options, this.engine.snapshot());
  }
}
