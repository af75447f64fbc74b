/**
 * A replica's versions of its keys, on our LSM engine (lsm/indexed-db.ts), with the design's two
 * indexes: by key (the primary records) and by (epoch, partition, key) (a secondary index, for Merkle
 * trees and partition streaming). Each key holds one record (cluster/storage/record.ts): the newest
 * version this replica has seen, value or tombstone.
 *
 * apply() is last-write-wins: it reads the current version, compares, and writes the incoming one only
 * if it is newer. The read and the write happen under this store's per-key lock, so concurrent applies
 * of one key serialise and the newest always ends up stored whatever their order. IndexedDB locks keys
 * only inside one write() (its read-before-write of old index entries), which does not cover our
 * comparison, hence a lock of our own; writers of different keys still share the engine's group commit.
 * The record and its index change go into one WAL record (IndexedDB), so they never diverge.
 *
 * Durability (the README's "Durability" section). apply() resolves once the version is in the WAL file,
 * which survives a crash of this process (kill -9) but, until an fdatasync, not of the machine. A timer
 * fdatasyncs the WAL every syncIntervalMs (default 100 ms) when something was written, so a power loss
 * loses at most that window of this replica's applies (Cassandra's periodic commit log, Redis's
 * everysec). apply(..., { sync: true }) — a durable write — resolves only after an fdatasync covering
 * it; concurrent durable applies share one (the engine's group commit).
 *
 * Tombstones are kept for a grace period (default 10 days) before purgeTombstones() removes them. A
 * delete is a version like any other: a replica that missed it (down, partitioned) still holds the old
 * value, and anti-entropy or read repair brings it the tombstone, which wins by timestamp. Once the
 * tombstone is purged everywhere else, that stale replica's value has nothing newer to lose against and
 * would be copied back to the others: the delete is undone (a resurrection). So a tombstone must outlive
 * the longest time a replica can be away and still rejoin; a node down longer than the grace period
 * must be wiped and rebuilt from its peers, never rejoined with its old data (Cassandra's
 * gc_grace_seconds). The age is the tombstone's timestamp.physicalMs against the injected clock.
 */
import { IndexedDB, type CoverIterator, type DBStats, type FileSystem, type Logger, type Snapshot } from '../../lsm/index.js';
import { CorruptionError } from '../../lsm/errors.js';
import { KeyLocks } from '../../lsm/index-locks.js';
import { compareRecords, decodeRecord, decodeVersion, encodeRecord, readPlacement, versionBytes, type RecordVersion, type StoredRecord } from './record.js';

export const DEFAULT_TOMBSTONE_GRACE_MS = 10 * 24 * 60 * 60 * 1000;
/** Largest key a replica stores (64 KiB). */
export const MAX_KEY_BYTES = 64 * 1024;
/**
 * Name of the (epoch, partition, key) index in the IndexedDB. Its entries carry each record's version
 * (record.ts versionBytes), hence ".v2": a store written with the version-less "by-epoch-partition"
 * drops that index and builds this one from its records on its first open (logged), once.
 */
export const PLACEMENT_INDEX = 'by-epoch-partition.v2';
/** The default period of the background fdatasync of unsynced applies. */
export const DEFAULT_SYNC_INTERVAL_MS = 100;
/** The replica store's block cache: most of a server's memory beyond its write buffers. */
export const DEFAULT_BLOCK_CACHE_BYTES = 64 << 20;
/** The replica store's memtable size (two may be held at once: one filling, one being flushed). */
const WRITE_BUFFER_BYTES = 16 << 20;
const PREFIX_BYTES = 12; // epoch u64 ‖ partition u32
/** Entries per page of scanPartitionVersions (a page is one promise; the tree build pauses every 512 records). */
const VERSION_PAGE = 256;

export interface ReplicaStoreOptions {
  /** File system of the LSM database (default: the real disk; tests pass a MemFileSystem). */
  fs?: FileSystem;
  /** How long a tombstone is kept before purgeTombstones() may remove it (default 10 days). */
  tombstoneGraceMs?: number;
  /** Wall clock in ms, for tombstone ages (default Date.now). */
  now?: () => number;
  /** Longest time an unsynced apply waits for the periodic fdatasync, in ms (default 100; 0: no timer). */
  syncIntervalMs?: number;
  /** Bytes of uncompressed table blocks kept in memory (default 64 MiB). */
  blockCacheSize?: number;
  logger?: Logger;
}

/** Where a scan of a partition across epochs stopped: it resumes after (epoch, key). */
export interface PartitionPosition {
  readonly epoch: number;
  readonly key: Uint8Array;
}

export interface ScanAllEpochsOptions {
  /** At most this many records. */
  limit?: number;
  /** Start after this position (exclusive). */
  after?: PartitionPosition;
}

export interface DropOptions {
  /** Keys deleted per batch (default 256). */
  batchSize?: number;
  /** Asked before each batch, under its keys' locks: true stops the drop (the partition is owned again). */
  stop?: () => boolean;
}

export interface ScanOptions {
  /** At most this many records. */
  limit?: number;
  /** Start after this key (exclusive), to resume a scan. */
  after?: Uint8Array;
  /** Only the records whose key passes: the others are skipped without being read. */
  only?: (key: Buffer) => boolean;
}

/** A call on a closed ReplicaStore. */
export class ReplicaStoreClosedError extends Error {
  readonly code = 'REPLICA_STORE_CLOSED';
  constructor() {
    super('replica store is closed');
    this.name = 'ReplicaStoreClosedError';
  }
}

/** A bad argument to a ReplicaStore method (key not bytes or too long, bad epoch, partition, limit or option). */
export class ReplicaStoreArgumentError extends Error {
  readonly code = 'REPLICA_STORE_BAD_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaStoreArgumentError';
  }
}

/** The index key: epoch u64 BE ‖ partition u32 BE ‖ key (the key included so `after` is a plain range bound). */
export function placementKey(epoch: number, partition: number, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + key.length);
  out.writeUInt32BE(Math.floor(epoch / 0x1_0000_0000), 0);
  out.writeUInt32BE(epoch >>> 0, 4);
  out.writeUInt32BE(partition, 8);
  out.set(key, PREFIX_BYTES);
  return out;
}

/** The first index key past every key of (epoch, partition): the next partition, or the next epoch. */
function placementEnd(epoch: number, partition: number): Buffer {
  return partition < 0xffff_ffff ? placementKey(epoch, partition + 1, new Uint8Array(0)) : placementKey(epoch + 1, 0, new Uint8Array(0));
}

function checkKey(key: unknown, what = 'key'): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new ReplicaStoreArgumentError(`${what} must be a Uint8Array or Buffer`);
  if (key.length > MAX_KEY_BYTES) throw new ReplicaStoreArgumentError(`${what} of ${key.length} bytes is over the ${MAX_KEY_BYTES}-byte limit`);
  return key;
}

function checkInt(what: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ReplicaStoreArgumentError(`${what} must be an integer in [0, ${max}], got ${String(v)}`);
  }
  return v;
}

export class ReplicaStore {
  private readonly locks = new KeyLocks();
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly syncTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly db: IndexedDB,
    private readonly graceMs: number,
    private readonly now: () => number,
    syncIntervalMs: number,
    logger: Logger | undefined,
  ) {
    if (syncIntervalMs > 0) {
      let failed = false; // the engine refuses writes after a WAL failure and says why: log it once here
      this.syncTimer = setInterval(() => {
        this.db.sync().catch((err: unknown) => {
          if (!failed) logger?.error(`periodic WAL sync failed (later failures not logged): ${(err as Error).message}`);
          failed = true;
        });
      }, syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  static async open(dir: string, options: ReplicaStoreOptions = {}): Promise<ReplicaStore> {
    const graceMs = options.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS;
    checkInt('tombstoneGraceMs', graceMs, Number.MAX_SAFE_INTEGER);
    const now = options.now ?? Date.now;
    if (typeof now !== 'function') throw new ReplicaStoreArgumentError('now must be a function');
    const syncIntervalMs = checkInt('syncIntervalMs', options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS, 3_600_000);
    const db = await IndexedDB.open(dir, {
      ...(options.fs !== undefined ? { fs: options.fs } : {}),
      // Applies come from many connections at once: fdatasync on the pool, so they share group commits.
      inlineSync: false,
      // Each write reads the stored version first (LWW): a server's cache is larger than the engine's
      // embedded default of 8 MiB, so that the read mostly finds its block in memory.
      blockCacheSize: options.blockCacheSize ?? DEFAULT_BLOCK_CACHE_BYTES,
      // Each flushed L0 table overlaps all of L1 (keys arrive at random), so every L0 -> L1 compaction
      // rewrites L1: larger memtables mean fewer such rewrites. 16 MiB instead of the engine's 4 MiB cut
      // the CPU of an apply of a 1 KiB record (both threads) from ~95 to ~68 us; 32 MiB gained no more.
      writeBufferSize: WRITE_BUFFER_BYTES,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      indexes: {
        [PLACEMENT_INDEX]: {
          keys: (key, value) => {
            const { epoch, partition } = readPlacement(value);
            return [placementKey(epoch, partition, key)];
          },
          cover: (_key, value) => versionBytes(value),
        },
      },
    });
    return new ReplicaStore(db, graceMs, now, syncIntervalMs, options.logger);
  }

  /** Makes every apply so far durable (one WAL fdatasync, none if nothing is unsynced). */
  sync(): Promise<void> {
    return this.track(() => this.db.sync());
  }

  /** The engine's counters (levels, compactions, stalls), for the node's metrics. */
  stats(): DBStats {
    return this.db.stats();
  }

  /** The stored version of key, tombstones included (the coordinator resolves and repairs with them). */
  get(key: Uint8Array): Promise<StoredRecord | undefined> {
    return this.track(async () => {
      const bytes = await this.db.get(checkKey(key));
      return bytes === undefined ? undefined : decodeRecord(bytes);
    });
  }

  /**
   * Stores `record` as key's version if it is newer (LWW) than the stored one. `applied`: it was
   * written; `current`: the version stored afterwards. `encoded` is encodeRecord(record) when the caller
   * has it already (it is stored as given). Resolves once in the WAL, or with `sync` once
   * fdatasynced too (a durable write; also when the record was older and nothing was written, so that
   * the ack still means the stored version is on disk).
   */
  apply(key: Uint8Array, record: StoredRecord, options: { sync?: boolean; encoded?: Uint8Array } = {}): Promise<{ applied: boolean; current: StoredRecord }> {
    return this.track(async () => {
      checkKey(key);
      const sync = options.sync ?? false;
      if (typeof sync !== 'boolean') throw new ReplicaStoreArgumentError('sync must be a boolean');
      // Validates the record before anything is locked; `encoded` was, by the encodeRecord that made it.
      const bytes = options.encoded ?? encodeRecord(record);
      const release = await this.locks.acquire([key]);
      try {
        let current: StoredRecord | undefined;
        // One read: the stored version decides LWW and, in the same step, which index entries change.
        const applied = await this.db.update(
          key,
          (old) => {
            current = old === undefined ? undefined : decodeRecord(old);
            return current !== undefined && compareRecords(record, current) <= 0 ? undefined : bytes;
          },
          { sync },
        );
        // Not written (older than the stored version): the stored one may still be unsynced.
        if (!applied && sync) await this.db.sync();
        return applied ? { applied: true, current: record } : { applied: false, current: current! };
      } finally {
        release();
      }
    });
  }

  /**
   * The records of (epoch, partition) in key order, tombstones included, read at one snapshot: the
   * index path, for bucket transfers and streaming. `after` resumes after a key, `limit` bounds the
   * count, `only` skips keys before their records are read.
   */
  async *scanPartition(epoch: number, partition: number, options: ScanOptions = {}): AsyncIterable<{ key: Buffer; record: StoredRecord }> {
    const only = options?.only;
    if (only !== undefined && typeof only !== 'function') throw new ReplicaStoreArgumentError('only must be a function');
    const limit = options?.limit ?? Number.MAX_SAFE_INTEGER;
    let count = 0;
    if (this.closed) throw new ReplicaStoreClosedError();
    const snapshot = this.db.snapshot();
    try {
      for await (const { key } of this.scanEntries(epoch, partition, options, snapshot)) {
        if (only !== undefined && !only(key)) continue;
        const bytes = await this.db.get(key, { snapshot });
        // The entry and its record are written in one batch: at one snapshot, one never exists alone.
        if (bytes === undefined) throw new CorruptionError(`index entry for missing record ${key.toString('hex').slice(0, 80)}`);
        yield { key, record: decodeRecord(bytes) };
        if (++count >= limit) return;
      }
    } finally {
      snapshot.release();
    }
  }

  /**
   * The versions (timestamp, tombstone) of the records of (epoch, partition) in key order, in pages of
   * up to VERSION_PAGE, from the index alone: no record is read, so this costs a fraction of
   * scanPartition (Merkle tree builds). A page costs one promise where an entry each cost three (the
   * engine's iterator, the index's, this generator's): ~25% less CPU per entry read.
   */
  async *scanPartitionVersions(epoch: number, partition: number, options: Omit<ScanOptions, 'only'> = {}): AsyncIterable<Array<{ key: Buffer; version: RecordVersion }>> {
    const entries = this.scanEntries(epoch, partition, options);
    try {
      for (let page = await entries.nextv(VERSION_PAGE); page.length > 0; page = await entries.nextv(VERSION_PAGE)) {
        yield page.map(({ key, cover }) => ({ key, version: decodeVersion(cover) }));
      }
    } finally {
      await entries.close();
    }
  }

  /** The index entries of (epoch, partition), with the checks both scans share. */
  private scanEntries(epoch: number, partition: number, options: ScanOptions, snapshot?: Snapshot): CoverIterator {
    if (this.closed) throw new ReplicaStoreClosedError();
    checkInt('epoch', epoch, Number.MAX_SAFE_INTEGER - 1);
    checkInt('partition', partition, 0xffff_ffff);
    if (options === null || typeof options !== 'object') throw new ReplicaStoreArgumentError('scan options must be an object');
    if (options.limit !== undefined) checkInt('limit', options.limit, Number.MAX_SAFE_INTEGER);
    const lower = options.after === undefined ? { gte: placementKey(epoch, partition, new Uint8Array(0)) } : { gt: placementKey(epoch, partition, checkKey(options.after, 'after')) };
    // With `only`, the limit counts the records kept, not the entries seen: the caller applies it.
    const limit = options.only === undefined ? options.limit : undefined;
    return this.db.coverIterator(PLACEMENT_INDEX, { ...lower, lt: placementEnd(epoch, partition), limit, ...(snapshot === undefined ? {} : { snapshot }) });
  }

  /**
   * The records of `partition` in every epoch, in (epoch, key) order, tombstones included: partition
   * streaming's read. The (epoch, partition, key) index interleaves partitions within an epoch, so the
   * scan seeks: after the last entry of (e, partition) it jumps to the next epoch that has any entry,
   * costing one seek per epoch that holds data rather than one per epoch number. All seeks of one call
   * read one snapshot. A key whose version moves to an older epoch between two calls (a late, newer
   * version stamped with an old epoch) can be missed by that page; the reader then gets it as a write.
   * `encoded` is the record's stored bytes (what encodeRecord(record) gives), for callers that send or
   * count them: no need to encode the record again.
   */
  async *scanPartitionAllEpochs(partition: number, options: ScanAllEpochsOptions = {}): AsyncIterable<{ key: Buffer; record: StoredRecord; epoch: number; encoded: Buffer }> {
    if (this.closed) throw new ReplicaStoreClosedError();
    checkInt('partition', partition, 0xffff_ffff);
    if (options === null || typeof options !== 'object') throw new ReplicaStoreArgumentError('scan options must be an object');
    const limit = options.limit === undefined ? Number.MAX_SAFE_INTEGER : checkInt('limit', options.limit, Number.MAX_SAFE_INTEGER);
    let epoch = options.after === undefined ? 0 : checkInt('epoch', options.after.epoch, Number.MAX_SAFE_INTEGER - 1);
    let lower: { gt: Buffer } | { gte: Buffer } =
      options.after === undefined ? { gte: placementKey(0, partition, new Uint8Array(0)) } : { gt: placementKey(epoch, partition, checkKey(options.after.key, 'after key')) };
    let count = 0;
    const snapshot = this.db.snapshot();
    try {
      while (count < limit) {
        let next: Buffer | undefined;
        for await (const { indexKey, key, value } of this.db.indexIterator(PLACEMENT_INDEX, { ...lower, snapshot })) {
          const e = indexKey.readUInt32BE(0) * 0x1_0000_0000 + indexKey.readUInt32BE(4);
          const p = indexKey.readUInt32BE(8);
          if (p === partition) {
            epoch = e;
            yield { key, record: decodeRecord(value), epoch, encoded: value };
            if (++count >= limit) return;
            continue;
          }
          // Past this epoch's slice of the partition (or before it): seek to the partition in the right epoch.
          if (p > partition && e >= Number.MAX_SAFE_INTEGER - 1) return;
          next = placementKey(p < partition ? e : e + 1, partition, new Uint8Array(0));
          break;
        }
        if (next === undefined) return;
        lower = { gte: next };
      }
    } finally {
      snapshot.release();
    }
  }

  /**
   * Deletes every record of `partition` (all epochs) with its index entries: a node that no longer owns
   * the partition in either ring drops it (cluster/STREAMING.md). Each batch holds the keys' locks, so a
   * concurrent apply() of one of them is ordered before or after, never interleaved, and `stop` is asked
   * under them before each batch. Unsynced: a drop lost in a crash is simply done again. Resolves with
   * the count and bytes (keys + records) dropped, and whether `stop` ended it early.
   */
  dropPartition(partition: number, options: DropOptions = {}): Promise<{ keys: number; bytes: number; stopped: boolean }> {
    return this.track(async () => {
      checkInt('partition', partition, 0xffff_ffff);
      const batchSize = checkInt('batchSize', options.batchSize ?? 256, 1 << 20);
      let keys = 0;
      let bytes = 0;
      for (;;) {
        const batch: Buffer[] = [];
        for await (const { key, encoded } of this.scanPartitionAllEpochs(partition, { limit: batchSize })) {
          batch.push(key);
          bytes += key.length + encoded.length;
        }
        if (batch.length === 0) return { keys, bytes, stopped: false };
        const release = await this.locks.acquire(batch);
        try {
          // Asked under the locks: a write accepted because the node owns the partition again was
          // checked against a newer state before it applied, so `stop` sees that state too.
          if (options.stop?.() === true) return { keys, bytes, stopped: true };
          await this.db.write(batch.map((key) => ({ type: 'del' as const, key })), { sync: false });
        } finally {
          release();
        }
        keys += batch.length;
      }
    });
  }

  /**
   * Deletes the tombstones older than the grace period (now - physicalMs > grace), with their index
   * entries; returns how many. Each is re-checked under its key's lock, so a newer version applied
   * meanwhile is never removed. Unsynced: a purge lost in a crash is simply done again.
   */
  purgeTombstones(): Promise<number> {
    return this.track(async () => {
      const cutoff = this.now() - this.graceMs;
      let purged = 0;
      for await (const [key, bytes] of this.db.iterator()) {
        if (!this.expired(decodeRecord(bytes), cutoff)) continue;
        const release = await this.locks.acquire([key]);
        try {
          const again = await this.db.get(key);
          if (again === undefined || !this.expired(decodeRecord(again), cutoff)) continue;
          await this.db.del(key);
          purged++;
        } finally {
          release();
        }
      }
      return purged;
    });
  }

  /** Waits for the calls in flight, then closes the database. Later calls get ReplicaStoreClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.syncTimer);
    await Promise.allSettled([...this.inflight]);
    await this.db.close();
  }

  private expired(r: StoredRecord, cutoff: number): boolean {
    return r.tombstone && r.timestamp.physicalMs < cutoff;
  }

  /** Runs op unless closed, and remembers it until it settles so close() can wait for it. */
  private track<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ReplicaStoreClosedError());
    const p = op();
    this.inflight.add(p);
    const forget = (): void => {
      this.inflight.delete(p);
    };
    void p.then(forget, forget);
    return p;
  }
}
