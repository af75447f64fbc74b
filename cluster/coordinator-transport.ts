/**
 * How a coordinator reaches a replica: the local node directly (its ReplicaService, no RPC), any other
 * node through ReplicaWrite/ReplicaRead on its committed address. Tests plug in an in-memory transport
 * with the same shape.
 */
import Long from 'long';
import type { RpcClient } from '../rpc/client.js';
import { ConnectionError } from '../rpc/errors.js';
import { Methods } from '../rpc/methods.js';
import type { RingView } from './coordinator-ring.js';
import { recordFromPb, recordToPb, type KeyedRecord, type ReplicaEndpoint } from './replica-service.js';
import type { StoredRecord } from './storage/record.js';

export interface ReplicaTransport {
  /** The endpoint of `node` under `view`; the coordinator never asks for itself (it calls its own service). */
  endpoint(node: string, view: RingView): ReplicaEndpoint;
}

export interface RpcTransportOptions {
  readonly client: RpcClient;
  readonly nodeId: string;
  readonly clusterId: string;
  /** Per-call timeout when the caller gives no signal (default 5 s). */
  readonly timeoutMs?: number;
}

/** Replicas over the RPC client; errors are the RPC layer's typed errors (WrongOwnerError carries the epoch). */
export class RpcReplicaTransport implements ReplicaTransport {
  /** Endpoints depend only on (view, node): made once per ring view, not per request. */
  private readonly endpoints = new WeakMap<RingView, Map<string, ReplicaEndpoint>>();

  constructor(private readonly opts: RpcTransportOptions) {}

  endpoint(node: string, view: RingView): ReplicaEndpoint {
    let byNode = this.endpoints.get(view);
    if (byNode === undefined) this.endpoints.set(view, (byNode = new Map<string, ReplicaEndpoint>()));
    let e = byNode.get(node);
    if (e === undefined) byNode.set(node, (e = this.makeEndpoint(node, view)));
    return e;
  }

  private makeEndpoint(node: string, view: RingView): ReplicaEndpoint {
    const address = view.addressOf(node);
    const from = { clusterId: this.opts.clusterId, nodeId: this.opts.nodeId, epoch: Long.fromNumber(view.epoch, true) };
    const client = this.opts.client;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    const opts = (signal?: AbortSignal) => (signal === undefined ? { timeoutMs } : { timeoutMs, signal });
    const unknown = () => Promise.reject(new ConnectionError(`node ${node} has no committed address`));
    return {
      async write(records: readonly KeyedRecord[], hintFor: string | undefined, sync = false): Promise<number> {
        if (address === undefined) return unknown();
        const req = { from, records: records.map((r) => recordToPb(r.record, r.key)), hintForNodeId: hintFor ?? '', sync };
        return (await client.call(address, Methods.ReplicaWrite, req, { timeoutMs })).applied;
      },
      async read(key: Uint8Array, signal?: AbortSignal): Promise<StoredRecord | undefined> {
        if (address === undefined) return unknown();
        const res = await client.call(address, Methods.ReplicaRead, { from, key }, opts(signal));
        return res.found ? recordFromPb(res.record, key).record : undefined;
      },
    };
  }
}
