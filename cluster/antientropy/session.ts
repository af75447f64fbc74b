/**
 * One anti-entropy session: this node and one peer compare their trees of one partition's records in
 * one epoch range and repair both sides (ANTIENTROPY.md, "Sessions").
 *
 *   1. Our tree (built, or shared from the TreeCache) and TreeDiff over the peer's TreeHashes answers:
 *      equal roots end the session after one request.
 *   2. BucketRecords for the differing buckets, paged: each record is checked (partition, epoch range,
 *      bucket, its own checksum) and applied last-write-wins to our store.
 *   3. Our records of those buckets that are newer than the peer's (or that it did not send) go to the
 *      peer with ReplicaWrite, in batches.
 *
 * The session succeeds when all three steps finished and the peer's root did not move during the walk
 * (a moving root means records of the range were still arriving there: the result may be incomplete).
 * Every page and batch is charged to the service's byte budget (`throttle`), which also yields to the
 * event loop.
 */
import { compareTimestamps, type Timestamp } from '../hlc.js';
import type { KeyedRecord } from '../replica-service.js';
import { RecordCorruptError, decodeRecord, type StoredRecord } from '../storage/record.js';
import type { ReplicaStore } from '../storage/replica-store.js';
import { LEAF_COUNT, TREE_VERSION, bucketOf } from './merkle-format.js';
import type { MerkleTree } from './merkle-tree.js';
import type { AntiEntropyPeer } from './peers.js';
import { AntiEntropyPeerError } from './service-errors.js';
import { TreeDiff } from './tree-diff.js';
import type { EpochRange, ResumePoint, TreeSource } from './tree-source.js';

export interface SessionContext {
  readonly partition: number;
  readonly range: EpochRange;
  readonly peerId: string;
  readonly peer: AntiEntropyPeer;
  readonly store: ReplicaStore;
  readonly source: TreeSource;
  /** Our tree of (partition, range); `built` false when it came from the cache. */
  localTree(): Promise<{ tree: MerkleTree; built: boolean }>;
  /** The partition of a key under the committed configuration. */
  partitionOf(key: Uint8Array): number;
  /** A record of `epoch` was applied to our store (trees covering it are stale). */
  onApplied(partition: number, epoch: number): void;
  /** Charges bytes moved to the bandwidth budget; resolves when more may move. */
  throttle(bytes: number): Promise<void>;
  readonly signal?: AbortSignal;
  /** BucketRecords page budget (default 1 MiB). */
  readonly pageBytes?: number;
  /** ReplicaWrite batch budget (default 256 KiB, at most 256 records). */
  readonly pushBytes?: number;
}

export interface SessionStats {
  partition: number;
  from: number;
  to: number;
  peer: string;
  /** Trees this session built (0 when ours came from the cache). */
  treesBuilt: number;
  hashRequests: number;
  hashBytes: number;
  mismatchingBuckets: number;
  keysReceived: number;
  bytesReceived: number;
  /** Received records newer than ours, applied. */
  keysApplied: number;
  keysSent: number;
  bytesSent: number;
  /** Sent records the peer found newer than its own. */
  keysAppliedByPeer: number;
  peerChanged: boolean;
  durationMs: number;
}

const PUSH_MAX_RECORDS = 256;

function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export async function runSession(ctx: SessionContext, now: () => number): Promise<SessionStats> {
  const started = now();
  const { partition, range } = ctx;
  const stats: SessionStats = {
    partition, from: range.from, to: range.to, peer: ctx.peerId, treesBuilt: 0, hashRequests: 0, hashBytes: 0, mismatchingBuckets: 0,
    keysReceived: 0, bytesReceived: 0, keysApplied: 0, keysSent: 0, bytesSent: 0, keysAppliedByPeer: 0, peerChanged: false, durationMs: 0,
  };
  const { tree, built } = await ctx.localTree();
  if (built) stats.treesBuilt++;

  const diff = new TreeDiff(tree);
  let step = diff.start();
  while (step.kind === 'request') {
    const answer = await ctx.peer.treeHashes({ partition, range, treeVersion: TREE_VERSION, level: step.level, indices: step.indices, sparse: step.sparse, counts: step.counts }, ctx.signal);
    step = diff.receive(answer);
  }
  stats.hashRequests = step.stats.requests;
  stats.hashBytes = step.stats.hashBytes + step.stats.requestBytes;
  stats.peerChanged = step.peerChanged;
  stats.mismatchingBuckets = step.buckets.length;
  await ctx.throttle(stats.hashBytes);

  if (step.buckets.length > 0) {
    const peerVersions = await fetchAndApply(ctx, step.buckets, stats);
    await push(ctx, step.buckets, peerVersions, stats);
  }
  stats.durationMs = now() - started;
  return stats;
}

interface Version {
  readonly timestamp: Timestamp;
  readonly tombstone: boolean;
}

/** Step 2: the peer's records of the buckets, checked and applied; returns the versions it sent. */
async function fetchAndApply(ctx: SessionContext, buckets: number[], stats: SessionStats): Promise<Map<string, Version>> {
  const { partition, range } = ctx;
  const versions = new Map<string, Version>();
  for (let i = 0; i < buckets.length; i += LEAF_COUNT) {
    const chunk = buckets.slice(i, i + LEAF_COUNT);
    const asked = new Set(chunk);
    let resume: ResumePoint | undefined;
    do {
      const page = await ctx.peer.bucketRecords(
        { partition, range, treeVersion: TREE_VERSION, buckets: chunk, maxBytes: ctx.pageBytes ?? 0, ...(resume === undefined ? {} : { resume }) },
        ctx.signal,
      );
      let bytes = 0;
      const checked: { key: Uint8Array; record: StoredRecord; encoded: Uint8Array }[] = [];
      for (const { key, record: encoded } of page.records) {
        const record = checkPeerRecord(ctx, asked, key, encoded);
        checked.push({ key, record, encoded });
        versions.set(keyId(key), { timestamp: record.timestamp, tombstone: record.tombstone });
        bytes += key.length + encoded.length;
      }
      // One page's applies together: they share the engine's group commit.
      // Stored as received: decodeRecord accepted the bytes, so encoding them again would only copy them.
      const results = await Promise.all(checked.map(({ key, record, encoded }) => ctx.store.apply(key, record, { encoded })));
      results.forEach((r, j) => {
        if (!r.applied) return;
        stats.keysApplied++;
        ctx.onApplied(partition, checked[j]!.record.epoch);
      });
      stats.keysReceived += checked.length;
      stats.bytesReceived += bytes;
      await ctx.throttle(bytes);
      if (page.next !== undefined && page.records.length === 0) throw new AntiEntropyPeerError(ctx.peerId, 'an empty page that says more follow');
      resume = page.next;
    } while (resume !== undefined);
  }
  return versions;
}

function checkPeerRecord(ctx: SessionContext, asked: ReadonlySet<number>, key: Uint8Array, encoded: Uint8Array): StoredRecord {
  if (!(key instanceof Uint8Array) || key.length === 0 || key.length > 64 * 1024) throw new AntiEntropyPeerError(ctx.peerId, 'a record with an empty or over-long key');
  let record: StoredRecord;
  try {
    record = decodeRecord(encoded);
  } catch (err) {
    if (err instanceof RecordCorruptError) throw new AntiEntropyPeerError(ctx.peerId, `a damaged record: ${err.message}`);
    throw err;
  }
  if (record.partition !== ctx.partition || ctx.partitionOf(key) !== ctx.partition) throw new AntiEntropyPeerError(ctx.peerId, `a record of another partition than ${ctx.partition}`);
  if (record.epoch < ctx.range.from || record.epoch > ctx.range.to) throw new AntiEntropyPeerError(ctx.peerId, `a record of epoch ${record.epoch}, outside [${ctx.range.from}, ${ctx.range.to}]`);
  if (!asked.has(bucketOf(key))) throw new AntiEntropyPeerError(ctx.peerId, 'a record of a bucket not asked for');
  return record;
}

/** Is our version newer than the peer's (which then lacks it)? */
function newerThan(ours: StoredRecord, theirs: Version | undefined): boolean {
  if (theirs === undefined) return true;
  const c = compareTimestamps(ours.timestamp, theirs.timestamp);
  return c > 0 || (c === 0 && ours.tombstone && !theirs.tombstone);
}

/** Step 3: our records of the buckets that the peer lacks, in ReplicaWrite batches. */
async function push(ctx: SessionContext, buckets: number[], peerVersions: ReadonlyMap<string, Version>, stats: SessionStats): Promise<void> {
  const budget = ctx.pushBytes ?? 256 * 1024;
  let batch: KeyedRecord[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    stats.keysAppliedByPeer += await ctx.peer.write(batch, ctx.signal);
    stats.keysSent += batch.length;
    stats.bytesSent += batchBytes;
    await ctx.throttle(batchBytes);
    batch = [];
    batchBytes = 0;
  };
  for (let i = 0; i < buckets.length; i += LEAF_COUNT) {
    const set = new Set(buckets.slice(i, i + LEAF_COUNT));
    let resume: ResumePoint | undefined;
    do {
      const page = await ctx.source.buckets(ctx.partition, ctx.range, set, ctx.pageBytes ?? 1024 * 1024, resume, ctx.signal);
      for (const r of page.records) {
        if (!newerThan(r.record, peerVersions.get(keyId(r.key)))) continue;
        batch.push({ key: r.key, record: r.record });
        batchBytes += r.key.length + r.bytes.length;
        if (batchBytes >= budget || batch.length >= PUSH_MAX_RECORDS) await flush();
      }
      resume = page.next;
    } while (resume !== undefined);
  }
  await flush();
}
