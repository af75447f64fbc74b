/**
 * Reading one partition's records of an epoch range out of the replica store, through its
 * (epoch, partition, key) index only — never a scan of the whole store: the Merkle tree of the range
 * (both sides of a session build it) and the records of some leaf buckets, paged by a byte budget
 * (what BucketRecords answers). Epochs are read one after the other, each in key order. A tree
 * needs only each record's version, which the index keeps beside its entry: a build reads no record.
 * A bucket page reads only the records of its buckets.
 *
 * Both loops hand the event loop back every few hundred records and epochs (`pause`), so a large
 * build never holds up client requests.
 */
import { encodeRecord, type StoredRecord } from '../storage/record.js';
import type { ReplicaStore } from '../storage/replica-store.js';
import { bucketOf } from './merkle-format.js';
import { MerkleTree } from './merkle-tree.js';

export interface EpochRange {
  readonly from: number;
  readonly to: number;
}

/** Where a paged bucket scan stopped: continue in `epoch` after `afterKey`. */
export interface ResumePoint {
  readonly epoch: number;
  readonly afterKey: Uint8Array;
}

export interface BucketRecord {
  readonly key: Uint8Array;
  /** The encoded StoredRecord (cluster/storage/RECORD.md). */
  readonly bytes: Uint8Array;
  readonly record: StoredRecord;
}

export interface BucketPage {
  readonly records: BucketRecord[];
  /** Present when more records may follow. */
  readonly next?: ResumePoint;
  /** Keys plus encoded records, the bytes the page carries. */
  readonly bytes: number;
}

/** Hands the event loop back (a macrotask, so I/O callbacks and timers run). */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const RECORDS_PER_PAUSE = 512;
const EPOCHS_PER_PAUSE = 64;

export class TreeSource {
  constructor(
    private readonly store: ReplicaStore,
    private readonly pause: () => Promise<void> = yieldToEventLoop,
  ) {}

  /** The tree of `partition`'s records in `range`, tombstones included; `records`: how many were read. */
  async build(partition: number, range: EpochRange, signal?: AbortSignal): Promise<{ tree: MerkleTree; records: number }> {
    const tree = new MerkleTree();
    let records = 0;
    let sincePause = 0;
    for (let epoch = range.from; epoch <= range.to; epoch++) {
      if ((epoch - range.from) % EPOCHS_PER_PAUSE === EPOCHS_PER_PAUSE - 1) await this.pause();
      signal?.throwIfAborted();
      for await (const page of this.store.scanPartitionVersions(epoch, partition)) {
        for (const { key, version } of page) tree.add(key, version.timestamp, version.tombstone);
        records += page.length;
        sincePause += page.length;
        if (sincePause >= RECORDS_PER_PAUSE) {
          sincePause = 0;
          await this.pause();
          signal?.throwIfAborted();
        }
      }
    }
    return { tree, records };
  }

  /**
   * The records of `partition` in `range` whose key falls in one of `buckets`, from `resume` on, until
   * `maxBytes` (at least one record per page, whatever its size).
   */
  async buckets(partition: number, range: EpochRange, buckets: ReadonlySet<number>, maxBytes: number, resume?: ResumePoint, signal?: AbortSignal): Promise<BucketPage> {
    const records: BucketRecord[] = [];
    let bytes = 0;
    const first = resume?.epoch ?? range.from;
    for (let epoch = first; epoch <= range.to; epoch++) {
      if ((epoch - first) % EPOCHS_PER_PAUSE === EPOCHS_PER_PAUSE - 1) await this.pause();
      const after = resume !== undefined && epoch === resume.epoch ? { after: resume.afterKey } : {};
      // Keys outside the buckets are skipped on the index alone, without reading their records (the
      // engine's iterator gives the event loop its turns through a long run of them).
      const only = (key: Buffer): boolean => {
        signal?.throwIfAborted();
        return buckets.has(bucketOf(key));
      };
      for await (const { key, record } of this.store.scanPartition(epoch, partition, { ...after, only })) {
        const encoded = encodeRecord(record);
        records.push({ key, bytes: encoded, record });
        bytes += key.length + encoded.length;
        if (bytes >= maxBytes) return { records, next: { epoch, afterKey: key }, bytes };
        if (records.length % RECORDS_PER_PAUSE === 0) {
          await this.pause();
          signal?.throwIfAborted();
        }
      }
    }
    return { records, bytes };
  }
}
