/**
 * The replica side of anti-entropy: TreeHashes (73) and BucketRecords (74) over this node's replica
 * store (MERKLE.md has the messages, ANTIENTROPY.md the service). Both check the envelope's cluster id,
 * the tree version, the epoch range and that this node replicates the partition under its committed
 * ring (else the same WRONG_OWNER a ReplicaWrite gets); trees come from the shared TreeCache.
 *
 * The in-process methods take plain values and throw typed errors; register() adapts them to the RPC
 * server, and tests call them directly through the same error mapping (toAntiEntropyRpcError).
 */
import Long from 'long';
import type { mydatastore } from '../../proto/gen/messages.js';
import { InvalidArgumentError, PermissionDeniedError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { RpcServer } from '../../rpc/server.js';
import type { RingView } from '../coordinator-ring.js';
import { NoRingError, ReplicaWrongOwnerError, toReplicaRpcError } from '../replica-service.js';
import { MAX_KEY_BYTES } from '../storage/replica-store.js';
import { MerkleRequestError } from './errors.js';
import { TREE_VERSION, checkBuckets } from './merkle-format.js';
import type { MerkleTree } from './merkle-tree.js';
import { AntiEntropyRequestError } from './service-errors.js';
import type { TreeCache } from './tree-cache.js';
import type { HashesAnswer } from './tree-diff.js';
import type { EpochRange, ResumePoint, TreeSource } from './tree-source.js';

/** The longest epoch range a tree may cover (each epoch is one index seek per build). */
export const MAX_EPOCHS_PER_TREE = 65_536;
/** BucketRecords page budget when the request names none, and the most it may ask for. */
export const DEFAULT_PAGE_BYTES = 1024 * 1024;
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export interface TreeHashesQuery {
  readonly partition: number;
  readonly range: EpochRange;
  readonly treeVersion: number;
  readonly level: number;
  readonly indices: readonly number[];
  /** Ask for the non-empty leaves under the nodes instead of their hashes (MerkleTree.answer). */
  readonly sparse?: boolean;
  /** Dense: ask for the entry count of each node too. */
  readonly counts?: boolean;
}

export interface BucketRecordsQuery {
  readonly partition: number;
  readonly range: EpochRange;
  readonly treeVersion: number;
  readonly buckets: readonly number[];
  readonly resume?: ResumePoint;
  /** 0: DEFAULT_PAGE_BYTES. */
  readonly maxBytes: number;
}

/** What TreeHashes answers: MerkleTree.answer()'s dense or sparse answer, which TreeDiff takes. */
export type HashesReply = HashesAnswer;

export interface RecordsReply {
  readonly records: { key: Uint8Array; record: Uint8Array }[];
  readonly next?: ResumePoint;
}

export interface ResponderOptions {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly source: TreeSource;
  readonly cache: TreeCache;
  readonly view: () => RingView | undefined;
  /** Called for every tree built (here or for our own sessions, through treeOf): records read, ms taken. */
  readonly onTreeBuilt?: (records: number, ms: number) => void;
  /** Clock for the build time (default Date.now). */
  readonly now?: () => number;
}

/** Throws unless `range` is a valid inclusive epoch range of at most MAX_EPOCHS_PER_TREE epochs. */
export function checkRange(range: EpochRange | null | undefined): EpochRange {
  if (range === null || range === undefined) throw new AntiEntropyRequestError('epoch range missing');
  const { from, to } = range;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
    throw new AntiEntropyRequestError(`bad epoch range [${String(from)}, ${String(to)}]`);
  }
  if (to - from + 1 > MAX_EPOCHS_PER_TREE) throw new AntiEntropyRequestError(`epoch range [${from}, ${to}] is over ${MAX_EPOCHS_PER_TREE} epochs`);
  return { from, to };
}

function checkVersion(v: number): void {
  if (v !== TREE_VERSION) throw new AntiEntropyRequestError(`tree version ${v} is not ours (${TREE_VERSION})`);
}

export class AntiEntropyResponder {
  /** The epoch range a peer last asked about for each partition, and when (ms). */
  private readonly served = new Map<number, { from: number; to: number; at: number }>();

  constructor(private readonly opts: ResponderOptions) {}

  /**
   * Whether a peer asked about `partition` at or after `sinceMs` for a range holding all of `range`: its
   * session then compares (and repairs both sides of) everything our own job for `range` would.
   */
  servedCovering(partition: number, range: EpochRange, sinceMs: number): boolean {
    const s = this.served.get(partition);
    if (s === undefined) return false;
    if (s.at < sinceMs) {
      this.served.delete(partition);
      return false;
    }
    return s.from <= range.from && range.to <= s.to;
  }

  private noteServed(partition: number, range: EpochRange): void {
    this.served.set(partition, { from: range.from, to: range.to, at: (this.opts.now ?? Date.now)() });
  }

  async treeHashes(q: TreeHashesQuery): Promise<HashesReply> {
    checkVersion(q.treeVersion);
    const range = checkRange(q.range);
    this.checkOwned(q.partition);
    if (!Array.isArray(q.indices) || q.indices.length === 0) throw new MerkleRequestError('no indices asked');
    this.noteServed(q.partition, range);
    const tree = await this.treeOf(q.partition, range);
    return tree.answer(q.level, q.indices, { sparse: q.sparse === true, counts: q.counts === true });
  }

  async bucketRecords(q: BucketRecordsQuery): Promise<RecordsReply> {
    checkVersion(q.treeVersion);
    const range = checkRange(q.range);
    this.checkOwned(q.partition);
    const buckets = checkBuckets(q.buckets);
    if (!Number.isSafeInteger(q.maxBytes) || q.maxBytes < 0 || q.maxBytes > MAX_PAGE_BYTES) {
      throw new AntiEntropyRequestError(`max_bytes must be in [0, ${MAX_PAGE_BYTES}], got ${String(q.maxBytes)}`);
    }
    const resume = q.resume;
    if (resume !== undefined) {
      if (!Number.isSafeInteger(resume.epoch) || resume.epoch < range.from || resume.epoch > range.to) {
        throw new AntiEntropyRequestError(`resume epoch ${String(resume.epoch)} is outside [${range.from}, ${range.to}]`);
      }
      if (!(resume.afterKey instanceof Uint8Array) || resume.afterKey.length > MAX_KEY_BYTES) throw new AntiEntropyRequestError('resume key must be at most 64 KiB of bytes');
    }
    this.noteServed(q.partition, range);
    const page = await this.opts.source.buckets(q.partition, range, buckets, q.maxBytes === 0 ? DEFAULT_PAGE_BYTES : q.maxBytes, resume);
    const records = page.records.map((r) => ({ key: r.key, record: r.bytes }));
    return page.next === undefined ? { records } : { records, next: page.next };
  }

  /** The tree of our records of (partition, range), cached. */
  treeOf(partition: number, range: EpochRange): Promise<MerkleTree> {
    return this.opts.cache.get(partition, range, async () => {
      const now = this.opts.now ?? Date.now;
      const started = now();
      const { tree, records } = await this.opts.source.build(partition, range);
      tree.root(); // hash now, so the build time includes the hashing
      this.opts.onTreeBuilt?.(records, now() - started);
      return tree;
    });
  }

  register(server: RpcServer): void {
    server.handle(Methods.TreeHashes, async (req) => {
      try {
        this.checkEnvelope(req.from);
        const reply = await this.treeHashes({ partition: req.partition, range: checkRange(rangeFromPb(req.epochs)), treeVersion: req.treeVersion, level: req.level, indices: req.indices, sparse: req.sparse, counts: req.counts });
        return { hashes: reply.hashes, root: reply.root ?? new Uint8Array(0), counts: [...(reply.counts ?? [])], leaves: [...(reply.leaves ?? [])] };
      } catch (err) {
        throw toAntiEntropyRpcError(err);
      }
    });
    server.handle(Methods.BucketRecords, async (req) => {
      try {
        this.checkEnvelope(req.from);
        const r = req.resume;
        const resume = r === null || r === undefined ? undefined : { epoch: Long.fromValue(r.epoch ?? 0).toNumber(), afterKey: r.afterKey ?? new Uint8Array(0) };
        const reply = await this.bucketRecords({
          partition: req.partition,
          range: checkRange(rangeFromPb(req.epochs)),
          treeVersion: req.treeVersion,
          buckets: req.buckets,
          maxBytes: req.maxBytes,
          ...(resume === undefined ? {} : { resume }),
        });
        const next = reply.next === undefined ? undefined : { epoch: Long.fromNumber(reply.next.epoch, true), afterKey: reply.next.afterKey };
        return { records: reply.records, ...(next === undefined ? {} : { next }) };
      } catch (err) {
        throw toAntiEntropyRpcError(err);
      }
    });
  }

  private checkOwned(partition: number): void {
    const view = this.opts.view();
    if (view === undefined) throw new NoRingError(this.opts.nodeId);
    if (!Number.isInteger(partition) || partition < 0 || partition >= view.state.config.partitions) {
      throw new AntiEntropyRequestError(`partition ${String(partition)} is outside 0..${view.state.config.partitions - 1}`);
    }
    if (!view.ring.preferenceList(partition).includes(this.opts.nodeId)) throw new ReplicaWrongOwnerError(this.opts.nodeId, partition, view.epoch);
  }

  private checkEnvelope(from: mydatastore.cluster.IEnvelope | null | undefined): void {
    const id = from?.clusterId ?? '';
    if (id !== this.opts.clusterId) throw new PermissionDeniedError(`cluster id mismatch: request from cluster '${id}', this node is in '${this.opts.clusterId}'`);
  }
}

/** A wire EpochRange as numbers (undefined when absent; checkRange refuses it). */
export function rangeFromPb(r: mydatastore.antientropy.IEpochRange | null | undefined): EpochRange | undefined {
  if (r === null || r === undefined) return undefined;
  const num = (v: Long | number | null | undefined): number => (v === null || v === undefined ? 0 : Long.fromValue(v).toNumber());
  return { from: num(r.fromEpoch), to: num(r.toEpoch) };
}

/** The RPC error a responder failure travels as. */
export function toAntiEntropyRpcError(err: unknown): unknown {
  if (err instanceof MerkleRequestError || err instanceof AntiEntropyRequestError) return new InvalidArgumentError(err.message);
  return toReplicaRpcError(err);
}
