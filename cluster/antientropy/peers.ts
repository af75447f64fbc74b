/**
 * How a session reaches the other replicas of a partition: TreeHashes and BucketRecords for reading
 * their tree and records, ReplicaWrite for pushing ours. The RPC transport below is the real one; unit
 * tests plug in one that calls the other nodes' responders and replica services directly.
 */
import Long from 'long';
import type { RpcClient } from '../../rpc/client.js';
import { ConnectionError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { RingView } from '../coordinator-ring.js';
import { recordToPb, type KeyedRecord } from '../replica-service.js';
import type { BucketRecordsQuery, HashesReply, RecordsReply, TreeHashesQuery } from './responder.js';

export interface AntiEntropyPeer {
  treeHashes(q: TreeHashesQuery, signal?: AbortSignal): Promise<HashesReply>;
  bucketRecords(q: BucketRecordsQuery, signal?: AbortSignal): Promise<RecordsReply>;
  /** ReplicaWrite (no hint): resolves with how many records were newer there. */
  write(records: readonly KeyedRecord[], signal?: AbortSignal): Promise<number>;
}

export interface AntiEntropyTransport {
  peer(node: string, view: RingView): AntiEntropyPeer;
}

export interface RpcAntiEntropyOptions {
  readonly client: RpcClient;
  readonly nodeId: string;
  readonly clusterId: string;
  /** Per-call timeout (default 10 s: a peer may build a large tree before its first answer). */
  readonly timeoutMs?: number;
}

export class RpcAntiEntropyTransport implements AntiEntropyTransport {
  constructor(private readonly opts: RpcAntiEntropyOptions) {}

  peer(node: string, view: RingView): AntiEntropyPeer {
    const address = view.addressOf(node);
    const from = { clusterId: this.opts.clusterId, nodeId: this.opts.nodeId, epoch: Long.fromNumber(view.epoch, true) };
    const client = this.opts.client;
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const opts = (signal?: AbortSignal) => (signal === undefined ? { timeoutMs } : { timeoutMs, signal });
    const where = (): string => {
      if (address === undefined) throw new ConnectionError(`node ${node} has no committed address`);
      return address;
    };
    const epochs = (q: { range: { from: number; to: number } }) => ({ fromEpoch: Long.fromNumber(q.range.from, true), toEpoch: Long.fromNumber(q.range.to, true) });
    return {
      async treeHashes(q, signal) {
        const req = { from, partition: q.partition, epochs: epochs(q), treeVersion: q.treeVersion, level: q.level, indices: [...q.indices], sparse: q.sparse === true, counts: q.counts === true };
        const res = await client.call(where(), Methods.TreeHashes, req, opts(signal));
        // proto3 sends an empty list as nothing: a sparse answer without leaves is an empty list.
        const root = res.root.length === 0 ? {} : { root: res.root };
        return { hashes: res.hashes, ...root, ...(q.counts === true ? { counts: res.counts } : {}), ...(q.sparse === true ? { leaves: res.leaves } : {}) };
      },
      async bucketRecords(q, signal) {
        const resume = q.resume === undefined ? null : { epoch: Long.fromNumber(q.resume.epoch, true), afterKey: q.resume.afterKey };
        const req = { from, partition: q.partition, epochs: epochs(q), treeVersion: q.treeVersion, buckets: [...q.buckets], resume, maxBytes: q.maxBytes };
        const res = await client.call(where(), Methods.BucketRecords, req, opts(signal));
        const records = res.records.map((r) => ({ key: r.key ?? new Uint8Array(0), record: r.record ?? new Uint8Array(0) }));
        const n = res.next;
        return n === null || n === undefined ? { records } : { records, next: { epoch: Long.fromValue(n.epoch ?? 0).toNumber(), afterKey: n.afterKey ?? new Uint8Array(0) } };
      },
      async write(records, signal) {
        // Synced: this push's ack lets the range be marked verified (ANTIENTROPY.md).
        const req = { from, records: records.map((r) => recordToPb(r.record, r.key)), hintForNodeId: '', sync: true };
        return (await client.call(where(), Methods.ReplicaWrite, req, opts(signal))).applied;
      },
    };
  }
}
